"""`kumulus up`: the whole control plane in one process tree on one machine.

Starts the embedded API server (TLS, bearer tokens), installs the CRDs found in crds/, writes a
kubeconfig, then runs the operators and a local hostd (when those packages provide an entry point) as
child processes that talk to the API over HTTPS with their own tokens, as they would in a cluster.
With the real data plane (--data-plane real, or auto when the packages are there and we are root), it
first starts libvirtd, Open vSwitch, OVN and a one-OSD Ceph (kumulus.dataplane, detached: they outlive a crash
of `kumulus up` and are adopted by the next start) and runs hostd with the libvirt driver for this machine,
also as the storage role of every zone on that one Ceph (the operators then use its reports,
KUMULUS_STORAGE_BACKEND=hostd); docs/dataplane.md, docs/hostd-storage.md. Each child serves Prometheus metrics on a port of the API server's address: the ports of the last start
when they are free, else free ones; printed, and kept in <state dir>/metrics.yaml (component -> URL).
"""

from __future__ import annotations

import asyncio
import base64
import gc
import importlib.util
import logging
import os
import re
import secrets
import signal
import socket
import ssl
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from . import children as children_mod
from .apiserver.app import ApiServer, ServerConfig
from .apiserver.core import ApiCore
from .apiserver.errors import ApiError
from .apiserver.registry import CRD_SKEY, NAMESPACE_SKEY
from .dataplane import ceph
from .dataplane.supervisor import DataPlane
from .pki import ensure_pki

log = logging.getLogger("kumulus.up")

DEFAULT_STATE_DIR = Path.home() / ".local" / "share" / "kumulus"
PROJECT_CRDS = Path(__file__).resolve().parent.parent / "crds"
USERS = ("admin", "kumulus-operators", "kumulus-hostd")
# Child components: name -> (user, module). A module that does not exist yet is skipped.
COMPONENTS = {"operators": ("kumulus-operators", "operators.main"), "hostd": ("kumulus-hostd", "hostd.main")}


@dataclass
class UpOptions:
    state_dir: Path = DEFAULT_STATE_DIR
    port: int = 6443
    address: str = "127.0.0.1"
    crds_dir: Path = PROJECT_CRDS
    # Which child components to run: "operators", "hostd" (those that exist); empty for the API server alone.
    components: tuple[str, ...] = ("operators", "hostd")
    sim_hosts: int = 0
    data_plane: str = "auto"  # auto | real | sim


def ensure_tokens(state_dir: Path) -> dict[str, str]:
    """user -> bearer token, generated at first start and kept (static token file, kube's format)."""
    path = state_dir / "tokens.csv"
    tokens: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            parts = line.strip().split(",")
            if len(parts) >= 2 and parts[0]:
                tokens[parts[1]] = parts[0]
    changed = False
    for user in USERS:
        if user not in tokens:
            tokens[user] = secrets.token_urlsafe(32)
            changed = True
    if changed:
        tmp = path.with_suffix(".tmp")
        tmp.write_text("".join(f"{tok},{user},{user}\n" for user, tok in tokens.items()))
        tmp.chmod(0o600)
        os.replace(tmp, path)
    return tokens


def kubeconfig(server: str, ca_pem: bytes, user: str, token: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "kumulus",
                "cluster": {
                    "server": server,
                    "certificate-authority-data": base64.b64encode(ca_pem).decode(),
                },
            }
        ],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [
            {"name": "kumulus", "context": {"cluster": "kumulus", "user": user, "namespace": "default"}}
        ],
        "current-context": "kumulus",
    }


def write_file(path: Path, text: str, mode: int = 0o600) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    tmp.chmod(mode)
    os.replace(tmp, path)


def ensure_namespaces(core: ApiCore) -> None:
    info = core.registry.storage_info(NAMESPACE_SKEY)
    assert info is not None
    for name in ("default", "kube-system", "kube-public", "kumulus-system"):
        if core.store.get(NAMESPACE_SKEY, "", name) is None:
            core.create(info, "", {"metadata": {"name": name}})


def install_crds(core: ApiCore, directory: Path) -> int:
    """Create or update every CustomResourceDefinition found in directory/*.yaml; return how many."""
    info = core.registry.storage_info(CRD_SKEY)
    assert info is not None
    count = 0
    for path in sorted(directory.glob("*.y*ml")) if directory.is_dir() else ():
        for doc in yaml.safe_load_all(path.read_text()):
            if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
                continue
            name = (doc.get("metadata") or {}).get("name", "")
            entry = core.store.get(CRD_SKEY, "", name)
            try:
                if entry is None:
                    core.create(info, "", doc)
                else:
                    current = entry.load()
                    if current.get("spec") != doc.get("spec"):
                        doc.setdefault("metadata", {})["resourceVersion"] = str(entry.rv)
                        core.update(info, "", name, doc)
            except ApiError as exc:
                raise SystemExit(f"kumulus: cannot install {path.name} ({name}): {exc.message}") from exc
            count += 1
    return count


def _port_free(address: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family) as s:
        try:
            s.bind((address, port))
        except OSError:
            return False
    return True


def _free_port(address: str) -> int:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family) as s:
        s.bind((address, 0))
        return int(s.getsockname()[1])


def metrics_ports(state: Path, names: tuple[str, ...], address: str) -> dict[str, int]:
    """component -> metrics port: the one of the last start (metrics.yaml) if it is free, else a free one."""
    path = state / "metrics.yaml"
    try:
        last = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError):
        last = {}
    ports: dict[str, int] = {}
    for name in names:
        url = str(last.get(name) or "") if isinstance(last, dict) else ""
        port = url.rsplit(":", 1)[-1].split("/", 1)[0]
        kept = int(port) if port.isdigit() else 0
        ports[name] = kept if kept and kept not in ports.values() and _port_free(address, kept) else 0
        while not ports[name] or list(ports.values()).count(ports[name]) > 1:
            ports[name] = _free_port(address)
    return ports


def host_name() -> str:
    """This machine's Host name, as hostd would pick it (lower-case hostname, [a-z0-9-])."""
    name = re.sub(r"[^a-z0-9-]+", "-", socket.gethostname().split(".")[0].lower()).strip("-")
    return name or "localhost"


def resolve_data_plane(opts: UpOptions, missing: list[str]) -> tuple[str, str]:
    """("real" | "sim", why): auto is real when the binaries are there, we are root and hostd runs."""
    if opts.data_plane in ("real", "sim"):
        return opts.data_plane, f"--data-plane {opts.data_plane}"
    if "hostd" not in opts.components:
        return "sim", "hostd is not among --components"
    if opts.sim_hosts:
        return "sim", "--sim-hosts given (add --data-plane real for both)"
    if os.geteuid() != 0:
        return "sim", "not root"
    if missing:
        return "sim", f"missing {', '.join(missing)} (scripts/setup.sh installs them)"
    return "real", "packages present and root"


def hostd_real_args(dp: DataPlane) -> list[str]:
    """hostd for this machine with the real drivers, on the daemons the data plane started."""
    return [
        "--host",
        dp.host,
        "--roles",
        "compute,storage",
        # One Ceph for the whole machine: its storage role serves every Zone (their pools share it).
        "--storage-zones",
        "*",
        "--driver",
        "libvirt",
        "--libvirt-uri",
        dp.libvirt_uri,
        "--virt-type",
        "qemu",  # TCG: libvirtd sees no /dev/kvm (kumulus/dataplane/libvirt.py)
        "--state-dir",
        str(dp.root / "hostd"),
        "--ceph-conf",
        str(dp.ceph_conf),
        "--ceph-pool",
        ceph.POOL,
        "--ovn-sb-remote",
        dp.ovn_sb,
        "--encap-ip",
        "127.0.0.1",
        "--ovs-db",
        dp.ovs_remote,
        "--datapath-type",
        "netdev",
    ]


def _component_commands(
    opts: UpOptions, ports: dict[str, int] | None = None, dp: DataPlane | None = None
) -> list[tuple[str, str, list[str]]]:
    """(child name, user, command): with a real data plane, hostd runs this machine and `hostd-sim` the
    simulated hosts; else hostd runs the simulated hosts (if any)."""
    out = []
    for name in opts.components:
        user, module = COMPONENTS[name]
        if not (importlib.util.find_spec(module.rsplit(".", 1)[0]) and importlib.util.find_spec(module)):
            continue
        cmds = {name: [sys.executable, "-m", module]}
        if name == "hostd" and dp is not None:
            cmds[name] += hostd_real_args(dp)
            if opts.sim_hosts:
                cmds["hostd-sim"] = [sys.executable, "-m", module, "--sim-hosts", str(opts.sim_hosts)]
        elif name == "hostd" and opts.sim_hosts:
            cmds[name] += ["--sim-hosts", str(opts.sim_hosts)]
        for child, cmd in cmds.items():
            if ports and child in ports:
                cmd += ["--metrics-port", str(ports[child]), "--metrics-address", opts.address]
            out.append((child, user, cmd))
    return out


async def serve(opts: UpOptions) -> int:
    state = opts.state_dir.expanduser()
    state.mkdir(parents=True, exist_ok=True)
    tokens = ensure_tokens(state)
    hosts = [opts.address] if opts.address not in ("0.0.0.0", "::") else []
    ca_crt, crt, key = ensure_pki(state / "pki", hosts)
    connect_host = "127.0.0.1" if opts.address in ("0.0.0.0", "::") else opts.address
    url = (
        f"https://{connect_host}:{opts.port}"
        if ":" not in connect_host
        else f"https://[{connect_host}]:{opts.port}"
    )
    ca_pem = ca_crt.read_bytes()
    write_file(state / "kubeconfig", yaml.safe_dump(kubeconfig(url, ca_pem, "admin", tokens["admin"])))
    for user in USERS[1:]:
        write_file(state / f"kubeconfig-{user}", yaml.safe_dump(kubeconfig(url, ca_pem, user, tokens[user])))

    server = ApiServer(str(state / "kumulus.db"), ServerConfig(tokens={t: u for u, t in tokens.items()}))
    ensure_namespaces(server.core)
    installed = install_crds(server.core, opts.crds_dir)

    # Start-up leaves ~60,000 long-lived objects (modules, schemas); moving them out of the collector's
    # reach shortens full collections, which otherwise stall every request in flight (bench/README.md).
    gc.collect()
    gc.freeze()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(crt), str(key))
    # Open watches are ended on shutdown; a client that stopped reading gets a few seconds, not a minute.
    runner = web.AppRunner(server.app, handle_signals=False, access_log=None, shutdown_timeout=3.0)
    await runner.setup()
    site = web.TCPSite(runner, opts.address, opts.port, ssl_context=ctx, backlog=1024)
    await site.start()
    print(f"export KUBECONFIG={state / 'kubeconfig'}", flush=True)
    print(f"kumulus: API server at {url} ({installed} CRDs installed)", flush=True)

    loop = asyncio.get_running_loop()
    dp = DataPlane(state, host_name())
    mode, why = resolve_data_plane(opts, dp.missing())
    print(f"kumulus: data plane: {mode} ({why})", flush=True)
    env_base = dict(os.environ)
    if mode == "real":
        try:
            await loop.run_in_executor(None, dp.start, _say)
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            print(f"kumulus: data plane failed to start: {exc}", flush=True)
            await loop.run_in_executor(None, dp.stop, _say)
            await runner.cleanup()
            server.close()
            return 1
        # The operators program this OVN (the network and load-balancer operators read these).
        env_base.update(KUMULUS_OVN_NB=dp.ovn_nb, KUMULUS_OVN_SB=dp.ovn_sb)
        # The storage operator reads what hostd's storage role does on this Ceph, instead of simulating it.
        env_base.setdefault("KUMULUS_STORAGE_BACKEND", "hostd")
        print(f"kumulus: libvirt {dp.libvirt_uri}, OVN NB {dp.ovn_nb}, Ceph {dp.ceph_conf}", flush=True)

    procs = []
    commands = _component_commands(opts, None, dp if mode == "real" else None)
    ports = metrics_ports(state, tuple(name for name, _, _ in commands), opts.address)
    host = f"[{connect_host}]" if ":" in connect_host else connect_host
    endpoints = {}
    for name, user, cmd in _component_commands(opts, ports, dp if mode == "real" else None):
        env = dict(env_base, KUBECONFIG=str(state / f"kubeconfig-{user}"), KUMULUS_STATE_DIR=str(state))
        log_name = f"{user}.log" if name != "hostd-sim" else f"{user}-sim.log"
        procs.append(children_mod.spawn(cmd, env, str(state / log_name)))
        endpoints[name] = f"http://{host}:{ports[name]}/metrics"
        what = user if name != "hostd-sim" else f"{user} for the simulated hosts"
        print(f"kumulus: started {what} (pid {procs[-1].pid}), metrics at {endpoints[name]}", flush=True)
    if endpoints:
        write_file(state / "metrics.yaml", yaml.safe_dump(endpoints), mode=0o644)
    print(f"kumulus: ready (state in {state})", flush=True)

    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    print("kumulus: stopping", flush=True)
    # Children may still call the API while they stop, so the loop keeps serving meanwhile.
    await loop.run_in_executor(None, children_mod.stop, procs)
    if mode == "real":
        await loop.run_in_executor(None, dp.stop, _say)
    await runner.cleanup()
    server.close()
    print("kumulus: stopped", flush=True)
    return 0


def _say(message: str) -> None:
    print(f"kumulus: data plane: {message}", flush=True)


def up(opts: UpOptions) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return asyncio.run(serve(opts))

"""`kumulus up`: the whole control plane in one process tree on one machine.

Starts the embedded API server (TLS, bearer tokens), installs the CRDs found in crds/, writes a
kubeconfig, then runs the operators and a local hostd (when those packages provide an entry point) as
child processes that talk to the API over HTTPS with their own tokens, as they would in a cluster.
Each child serves Prometheus metrics on a port of the API server's address: the ports of the last start
when they are free, else free ones; printed, and kept in <state dir>/metrics.yaml (component -> URL).
"""

from __future__ import annotations

import asyncio
import base64
import gc
import importlib.util
import logging
import os
import secrets
import signal
import socket
import ssl
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


def _component_commands(
    opts: UpOptions, ports: dict[str, int] | None = None
) -> list[tuple[str, str, list[str]]]:
    out = []
    for name in opts.components:
        user, module = COMPONENTS[name]
        if importlib.util.find_spec(module.rsplit(".", 1)[0]) and importlib.util.find_spec(module):
            cmd = [sys.executable, "-m", module]
            if name == "hostd" and opts.sim_hosts:
                cmd += ["--sim-hosts", str(opts.sim_hosts)]
            if ports and name in ports:
                cmd += ["--metrics-port", str(ports[name]), "--metrics-address", opts.address]
            out.append((name, user, cmd))
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

    procs = []
    env_base = dict(os.environ)
    ports = metrics_ports(state, opts.components, opts.address)
    host = f"[{connect_host}]" if ":" in connect_host else connect_host
    endpoints = {}
    for name, user, cmd in _component_commands(opts, ports):
        env = dict(env_base, KUBECONFIG=str(state / f"kubeconfig-{user}"), KUMULUS_STATE_DIR=str(state))
        procs.append(children_mod.spawn(cmd, env, str(state / f"{user}.log")))
        endpoints[name] = f"http://{host}:{ports[name]}/metrics"
        print(f"kumulus: started {user} (pid {procs[-1].pid}), metrics at {endpoints[name]}", flush=True)
    if endpoints:
        write_file(state / "metrics.yaml", yaml.safe_dump(endpoints), mode=0o644)
    print(f"kumulus: ready (state in {state})", flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    print("kumulus: stopping", flush=True)
    # Children may still call the API while they stop, so the loop keeps serving meanwhile.
    await loop.run_in_executor(None, children_mod.stop, procs)
    await runner.cleanup()
    server.close()
    print("kumulus: stopped", flush=True)
    return 0


def up(opts: UpOptions) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return asyncio.run(serve(opts))

"""`python -m hostd.main`: run hostd for one host, or for N simulated hosts in one process.

    python -m hostd.main --host cmp-1 --zone az1 --site dc1 --roles compute --driver sim
    python -m hostd.main --sim-hosts 4
    python -m hostd.main --config /etc/kumulus/hostd.yaml     # the same keys, e.g. ram-mib: 262144
    python -m hostd.main --driver libvirt --virt-type qemu --state-dir /var/lib/kumulus/hostd \
        --ceph-conf /etc/ceph/ceph.conf --ovn-sb-remote tcp:10.0.0.1:6642 --encap-ip 10.0.0.5
    python -m hostd.main --roles compute,storage --ceph-conf /etc/ceph/ceph.conf   # + the zone's RBD

With the storage role (needs --ceph-conf), hostd also drives the Ceph RBD of its zone (--storage-zones:
the zones that cluster serves, "*" for every Zone) for the storage operator: hostd/storage/worker.py.

Under `kumulus up` (KUMULUS_STATE_DIR set), `<state dir>/hostd.yaml` is read when no --config is given.

The API server is found through KUBECONFIG (or --kubeconfig). SIGTERM stops hostd; guests keep running.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import signal
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from controllers.api.infra import HostRole

from . import metrics
from .agent import HostAgent
from .config import (
    DRIVERS,
    HostConfig,
    LibvirtConfig,
    NetworkConfig,
    StorageConfig,
    parse_list,
    parse_roles,
    sim_hosts,
)
from .drivers import make_driver
from .flavors import FlavorCache
from .kube import Kube, KubeConfig
from .network_role import network_role

log = logging.getLogger("hostd")
DEFAULT_STATE_DIR = Path("/var/lib/kumulus/hostd")


def _default_host() -> str:
    name = re.sub(r"[^a-z0-9-]+", "-", socket.gethostname().split(".")[0].lower()).strip("-")
    return name or "localhost"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hostd", description="Kumulus host agent.")
    p.add_argument("--config", type=Path, help="YAML file with any of these options (flags override it)")
    p.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG", ""), help="default: $KUBECONFIG")
    p.add_argument("--host", default=_default_host(), help="Host name (default: the hostname)")
    p.add_argument("--zone", default="az1")
    p.add_argument("--site", default="dc1")
    p.add_argument("--roles", default="compute", help="comma-separated: compute,network,storage")
    p.add_argument("--driver", default="sim", choices=list(DRIVERS))
    p.add_argument("--vcpus", type=int, default=64)
    p.add_argument("--ram-mib", type=int, default=262144)
    p.add_argument("--disk-gib", type=int, default=2000)
    p.add_argument("--traits", default="", help="comma-separated, e.g. HW_CPU_X86_AVX2,CUSTOM_GPU")
    p.add_argument("--boot-delay", type=float, default=0.5, help="sim: seconds a guest takes to boot")
    p.add_argument("--lease-seconds", type=float, default=10.0, help="Lease renewal interval")
    p.add_argument("--sim-hosts", type=int, default=0, help="run N simulated hosts instead of --host")
    p.add_argument("--metrics-port", type=int, default=0, help="Prometheus metrics port (0: off)")
    p.add_argument("--metrics-address", default="0.0.0.0", help="the metrics server's address")
    p.add_argument("--log-level", default="INFO")
    lv = p.add_argument_group("libvirt driver (--driver libvirt)")
    lv.add_argument("--libvirt-uri", default="qemu:///system")
    lv.add_argument("--virt-type", default="kvm", help="kvm, or qemu (TCG) where KVM is unusable")
    lv.add_argument("--state-dir", type=Path, default=None, help=f"default: {DEFAULT_STATE_DIR}")
    lv.add_argument("--shutdown-timeout", type=float, default=60.0, help="seconds of ACPI before destroy")
    lv.add_argument("--volume-backend", default="rbd", help="rbd, or file: raw files under --volume-dir")
    lv.add_argument("--volume-dir", type=Path, default=None, help="default: <state dir>/volumes")
    lv.add_argument(
        "--ceph-conf",
        type=Path,
        default=None,
        help="the Ceph cluster's ceph.conf (libvirt: read for `mon host`)",
    )
    lv.add_argument("--ceph-monitors", default="", help="comma-separated host[:port]")
    lv.add_argument("--ceph-pool", default="volumes", help="pool of a backend id that names none")
    lv.add_argument("--ceph-user", default=None)
    lv.add_argument("--ceph-secret-uuid", default=None, help="libvirt secret with the ceph user's key")
    st = p.add_argument_group("storage role (--roles ...,storage; needs --ceph-conf)")
    st.add_argument(
        "--storage-zones", default="", help='zones its Ceph serves (default: --zone; "*": every Zone)'
    )
    st.add_argument("--storage-resync-seconds", type=float, default=15.0, help="pass this often when idle")
    st.add_argument("--storage-lease-seconds", type=float, default=15.0, help="duration of the zone Leases")
    st.add_argument("--image-max-gib", type=int, default=64, help="largest image file downloaded")
    net = p.add_argument_group("network (OVS + ovn-controller; off unless --ovn-sb-remote is set)")
    net.add_argument("--ovn-sb-remote", default="", help="e.g. tcp:10.0.0.1:6642")
    net.add_argument("--encap-ip", default="", help="this host's geneve tunnel address")
    net.add_argument("--ovs-db", default="unix:/var/run/openvswitch/db.sock")
    net.add_argument("--datapath-type", default="system", help="system, or netdev (userspace)")
    net.add_argument("--bridge-mappings", default="physnet1:br-ex", help="physnet:bridge (Network role)")
    net.add_argument("--uplink", default=None, help="NIC plugged into the external bridge (Network role)")
    return p


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = parser()
    args = p.parse_args(argv)
    state_config = Path(os.environ.get("KUMULUS_STATE_DIR", "")) / "hostd.yaml"
    if args.config is None and os.environ.get("KUMULUS_STATE_DIR") and state_config.is_file():
        args.config = state_config  # `kumulus up` state directory: its hostd.yaml, if any
    if args.config:
        data: Any = yaml.safe_load(args.config.read_text()) or {}
        if not isinstance(data, dict):
            p.error(f"{args.config}: expected a mapping of options")
        known = {a.dest for a in p._actions}
        defaults = {}
        for key, value in data.items():
            dest = str(key).replace("-", "_")
            if dest not in known or dest == "config":
                p.error(f"{args.config}: unknown option {key!r}")
            if isinstance(value, list):
                value = ",".join(str(v) for v in value)
            defaults[dest] = value
        p.set_defaults(**defaults)
        args = p.parse_args(argv)  # flags given on the command line still win
    return args


def _state_dir(args: argparse.Namespace) -> Path:
    if args.state_dir is not None:
        return Path(args.state_dir).absolute()
    if os.environ.get("KUMULUS_STATE_DIR"):
        return Path(os.environ["KUMULUS_STATE_DIR"]).absolute() / "hostd"
    return DEFAULT_STATE_DIR


def libvirt_config(args: argparse.Namespace) -> LibvirtConfig | None:
    if args.driver != "libvirt":
        return None
    return LibvirtConfig(
        uri=str(args.libvirt_uri),
        virt_type=str(args.virt_type),
        state_dir=_state_dir(args),
        shutdown_timeout=float(args.shutdown_timeout),
        volume_backend=str(args.volume_backend),
        volume_dir=Path(args.volume_dir).absolute() if args.volume_dir else None,
        ceph_conf=Path(args.ceph_conf) if args.ceph_conf else None,
        ceph_monitors=parse_list(str(args.ceph_monitors)),
        ceph_pool=str(args.ceph_pool),
        ceph_user=args.ceph_user or None,
        ceph_secret_uuid=args.ceph_secret_uuid or None,
    )


def network_config(args: argparse.Namespace) -> NetworkConfig | None:
    if not args.ovn_sb_remote:
        if args.encap_ip:
            raise ValueError("encap-ip: set only with ovn-sb-remote")
        return None
    if not args.encap_ip:
        raise ValueError("encap-ip: needed with ovn-sb-remote (this host's tunnel address)")
    return NetworkConfig(
        ovn_sb_remote=str(args.ovn_sb_remote),
        encap_ip=str(args.encap_ip),
        ovs_db=str(args.ovs_db),
        datapath_type=str(args.datapath_type),
        bridge_mappings=str(args.bridge_mappings),
        uplink=args.uplink or None,
    )


def storage_config(args: argparse.Namespace, roles: tuple[HostRole, ...]) -> StorageConfig | None:
    if HostRole.STORAGE not in roles:
        return None
    if not args.ceph_conf:
        raise ValueError(
            "ceph-conf: the storage role needs --ceph-conf, the ceph.conf of its zone's Ceph cluster"
        )
    if args.sim_hosts:
        raise ValueError("sim-hosts: the storage role runs for one host, not for simulated hosts")
    return StorageConfig(
        ceph_conf=Path(args.ceph_conf).absolute(),
        state_dir=_state_dir(args) / "storage",
        zones=parse_list(str(args.storage_zones)) or (str(args.zone),),
        ceph_client=str(args.ceph_user or "admin"),
        resync=float(args.storage_resync_seconds),
        lease_seconds=float(args.storage_lease_seconds),
        max_image_gib=int(args.image_max_gib),
    )


def host_configs(args: argparse.Namespace) -> list[HostConfig]:
    if args.sim_hosts and args.driver != "sim":
        raise ValueError("sim-hosts: only with driver sim")
    roles = parse_roles(str(args.roles))
    template = HostConfig(
        name=args.host,
        zone=args.zone,
        site=args.site,
        roles=roles,
        driver=args.driver,
        vcpus=int(args.vcpus),
        ram_mib=int(args.ram_mib),
        disk_gib=int(args.disk_gib),
        traits=parse_list(str(args.traits)),
        boot_delay=float(args.boot_delay),
        lease_seconds=float(args.lease_seconds),
        libvirt=libvirt_config(args),
        network=network_config(args),
        storage=storage_config(args, roles),
    )
    return sim_hosts(int(args.sim_hosts), template) if args.sim_hosts else [template]


def storage_worker(kube: Kube, cfg: HostConfig) -> Any:
    """The storage role (imported only when used: it needs the Ceph bindings)."""
    try:
        from .storage.worker import StorageWorker
    except ImportError as exc:
        raise ValueError(
            f"roles: the storage role needs the Ceph Python bindings (python3-rados, python3-rbd): {exc}"
        ) from exc

    assert cfg.storage is not None
    return StorageWorker(kube, cfg.storage, cfg.name)


async def run(args: argparse.Namespace) -> int:
    if not args.kubeconfig:
        log.error("no kubeconfig: set KUBECONFIG or pass --kubeconfig")
        return 2
    configs = host_configs(args)  # bad options fail here, before anything connects
    kube = Kube(KubeConfig.load(args.kubeconfig))
    flavors = FlavorCache(kube)
    agents = [HostAgent(kube, cfg, make_driver(cfg, kube), flavors, network_role(cfg)) for cfg in configs]
    workers = [storage_worker(kube, cfg) for cfg in configs if cfg.storage is not None]
    metrics.declare(a.name for a in agents)
    metrics.serve(int(args.metrics_port), str(args.metrics_address))
    log.info("hostd: running %d host(s): %s", len(agents), ", ".join(a.name for a in agents))
    main = asyncio.gather(*(a.run() for a in agents), *(w.run() for w in workers))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, main.cancel)
    try:
        await main
    except asyncio.CancelledError:
        log.info("hostd: stopping (guests keep running)")
    finally:
        for agent in agents:
            agent.close()
        for worker in workers:
            worker.close()
        await kube.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=str(args.log_level).upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        return asyncio.run(run(args))
    except ValueError as exc:
        print(f"hostd: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""A one-monitor, one-manager, one-OSD Ceph in memory (memstore), as machine-recipes.md and
tests/integration/ceph_cluster.py: authentication off, pool size one, v1 messenger on a free port, every path
(data, run, log, admin sockets) under this directory; clients use <dir>/ceph.conf.

The OSD keeps its objects in memory: they survive a crash of `kumulus up` (the daemons keep running and are
adopted) but not a stop. The three daemons are one group: if any of them cannot be adopted, the cluster is
made afresh (new fsid), because a memstore OSD cannot rejoin with its data.

Pools, made once the OSD is up (idempotently: what exists is kept): `rbd` (the default pool of a backend id
naming none), and the pools the examples' Zones and VolumeTypes name, `volumes` and `volumes-stretched`,
where the storage-role hostd makes images and volumes.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

from .service import Service, ok, run

GROUP = "ceph"
POOL = "rbd"
POOLS = (POOL, "volumes", "volumes-stretched")
CONF = """[global]
fsid = {fsid}
mon_host = [v1:127.0.0.1:{port}]
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
mon_allow_pool_delete = true
osd_objectstore = memstore
memstore_device_bytes = 2147483648
ms_bind_msgr2 = false
ms_bind_ipv4 = true
ms_bind_ipv6 = false
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
osd_crush_chooseleaf_type = 0
mon_warn_on_pool_no_redundancy = false
run_dir = {dir}/run
admin_socket = {dir}/run/$name.asok
pid_file = {dir}/run/$name.pid
log_file = {dir}/log/$name.log
crash_dir = {dir}/crash
exporter_sock_dir = {dir}/run
[mon]
mon_data = {dir}/mon-$id
[mgr]
mgr_data = {dir}/mgr-$id
[osd]
osd_data = {dir}/osd-$id
osd_journal = {dir}/osd-$id/journal
"""


def conf_path(directory: Path) -> Path:
    return directory / "ceph.conf"


TRANSIENT = ("problem getting command descriptions", "EAGAIN", "error connecting to the cluster")
"""Answers of a monitor that has just started (seen in a full test run): worth asking again."""


def ceph(directory: Path, *args: str, timeout: float = 30.0, attempts: int = 5) -> str:
    """A `ceph` command (every one used here is idempotent), asked again on a transient monitor error."""
    argv = ["ceph", "-c", str(conf_path(directory)), "--connect-timeout", "10", *args]
    for attempt in range(attempts):
        try:
            return run(argv, timeout=timeout)
        except RuntimeError as exc:
            if attempt == attempts - 1 or not any(t in str(exc) for t in TRANSIENT):
                raise
            time.sleep(1.0)
    raise AssertionError("unreachable")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class CephService(Service):
    group = GROUP
    binaries = ("ceph-mon", "ceph-mgr", "ceph-osd", "ceph", "monmaptool", "rbd")

    @property
    def conf(self) -> str:
        return str(conf_path(self.dir))

    @property
    def log_path(self) -> Path:
        return self.dir / "log" / f"{self.name}.out"

    def stale_files(self) -> list[Path]:
        short = self.name.removeprefix("ceph-")
        return list((self.dir / "run").glob(f"{short}.*"))


class Mon(CephService):
    name = "ceph-mon"

    def argv(self) -> list[str]:
        return ["ceph-mon", "-f", "-i", "a", "-c", self.conf]

    def prepare(self) -> None:
        """A new cluster: the whole directory is made afresh (the group is never started in part)."""
        shutil.rmtree(self.dir, ignore_errors=True)
        for sub in ("run", "log", "crash", "mon-a", "mgr-x", "osd-0"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        fsid = str(uuid.uuid4())
        port = _free_port()
        conf_path(self.dir).write_text(CONF.format(fsid=fsid, port=port, dir=self.dir))
        monmap = str(self.dir / "monmap")
        # v1 spelled out: a bare address on a port other than 6789 would be taken for msgr2, which is off.
        run(["monmaptool", "--create", "--addv", "a", f"[v1:127.0.0.1:{port}]", "--fsid", fsid, monmap])
        run(["ceph-mon", "--mkfs", "-i", "a", "--monmap", monmap, "-c", self.conf], timeout=60)

    def ready(self, pid: int) -> bool:
        return ok(["ceph", "-c", self.conf, "--connect-timeout", "3", "mon", "stat"], timeout=10)


class Mgr(CephService):
    name = "ceph-mgr"
    settle = 0.2

    def argv(self) -> list[str]:
        return ["ceph-mgr", "-f", "-i", "x", "-c", self.conf]

    def prepare(self) -> None:
        (self.dir / "mgr-x").mkdir(parents=True, exist_ok=True)

    def ready(self, pid: int) -> bool:
        return True  # the cluster does not wait for the manager; `ceph status` answers without it


class Osd(CephService):
    name = "ceph-osd"
    # Right after `osd create` the OSD sometimes finds its new entry not yet committed and exits at once
    # ("wrong fsid"); starting it again a moment later works.
    start_attempts = 5
    settle = 1.0
    ready_timeout = 60.0

    def argv(self) -> list[str]:
        return ["ceph-osd", "-f", "-i", "0", "-c", self.conf]

    def prepare(self) -> None:
        osd_uuid = str(uuid.uuid4())
        osd_id = ceph(self.dir, "osd", "create", osd_uuid).strip()
        if osd_id != "0":
            raise RuntimeError(f"ceph osd create gave id {osd_id}, expected 0 in a new cluster")
        run(["ceph-osd", "-i", "0", "--mkfs", "--osd-uuid", osd_uuid, "-c", self.conf], timeout=60)

    def ready(self, pid: int) -> bool:
        try:
            return (
                int(json.loads(ceph(self.dir, "osd", "stat", "-f", "json", timeout=10))["num_up_osds"]) >= 1
            )
        except (RuntimeError, subprocess.TimeoutExpired, ValueError, KeyError):
            return False

    def configure(self) -> None:
        existing = ceph(self.dir, "osd", "pool", "ls").split()
        for pool in POOLS:
            if pool not in existing:
                ceph(self.dir, "osd", "pool", "create", pool, "8")
            # A pool made by a start that stopped before `pool init` is initialised now.
            apps = json.loads(ceph(self.dir, "osd", "pool", "application", "get", pool, "-f", "json") or "{}")
            if "rbd" not in apps:
                run(["rbd", "-c", self.conf, "pool", "init", pool], timeout=60)


def services(directory: Path) -> list[Service]:
    return [Mon(directory), Mgr(directory), Osd(directory)]

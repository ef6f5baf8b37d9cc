"""A real one-monitor, one-manager, one-OSD Ceph cluster in memory (memstore) under a temporary directory.

As machine-recipes.md describes, but on a free port instead of 6789 (other test runs may have a Ceph of
their own), with every path (data, run, log, admin sockets) under the directory. The daemons run in the
foreground as children of the test process, so they are known by PID and stopped by PID; nothing is looked
up or killed by name. Missing binaries are an error, not a skip: scripts/setup.sh installs them.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from kumulus.dataplane import ceph as dataplane_ceph

BINARIES = ("ceph-mon", "ceph-mgr", "ceph-osd", "ceph", "monmaptool", "rbd")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(what: str, check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.1)


class CephCluster:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.conf = directory / "ceph.conf"
        self.port = 0
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def ceph(self, *args: str, timeout: float = 60.0) -> str:
        out = subprocess.run(
            ["ceph", "-c", str(self.conf), *args], check=True, capture_output=True, timeout=timeout
        )
        return out.stdout.decode()

    def rbd(self, *args: str) -> str:
        out = subprocess.run(
            ["rbd", "-c", str(self.conf), *args], check=True, capture_output=True, timeout=60
        )
        return out.stdout.decode()

    def start(self) -> None:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        missing = [b for b in BINARIES if shutil.which(b) is None]
        if missing:
            raise RuntimeError(
                f"Ceph is not installed (missing {', '.join(missing)}): run scripts/setup.sh "
                "(apt packages ceph-mon ceph-osd ceph-mgr ceph-common python3-rbd python3-rados)"
            )
        for sub in ("run", "log", "crash", "mon-a", "mgr-x", "osd-0"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        fsid = str(uuid.uuid4())
        self.port = free_port()
        self.conf.write_text(dataplane_ceph.CONF.format(fsid=fsid, port=self.port, dir=self.dir))
        conf = str(self.conf)
        monmap = str(self.dir / "monmap")
        # v1 spelled out: a bare address on a port other than 6789 would be taken for msgr2, which is off.
        addr = f"[v1:127.0.0.1:{self.port}]"
        self._run("monmaptool", "--create", "--addv", "a", addr, "--fsid", fsid, monmap)
        self._run("ceph-mon", "--mkfs", "-i", "a", "--monmap", monmap, "-c", conf)
        self._spawn("mon", ["ceph-mon", "-f", "-i", "a", "-c", conf])
        self._spawn("mgr", ["ceph-mgr", "-f", "-i", "x", "-c", conf])
        # `osd create` fails at once while the monitor is still starting (seen in CI): wait until it answers,
        # as kumulus.dataplane.ceph does.
        wait_for("the monitor to answer", self._mon_up)
        osd_uuid = str(uuid.uuid4())
        osd_id = self.ceph("osd", "create", osd_uuid).strip()
        self._run("ceph-osd", "-i", osd_id, "--mkfs", "--osd-uuid", osd_uuid, "-c", conf)
        # Right after `osd create` the OSD sometimes finds its new entry not yet committed and exits at
        # once ("wrong fsid"); starting it again a moment later works.
        for attempt in range(5):
            try:
                self._spawn("osd", ["ceph-osd", "-f", "-i", osd_id, "-c", conf], settle=1.0)
                break
            except RuntimeError:
                if attempt == 4:
                    raise
                time.sleep(1.0)
        wait_for("the OSD to be up", self._osd_up)

    def _mon_up(self) -> bool:
        try:
            self.ceph("--connect-timeout", "3", "mon", "stat", timeout=10)
            return True
        except subprocess.SubprocessError:
            return False

    def _osd_up(self) -> bool:
        try:
            return int(json.loads(self.ceph("osd", "stat", "-f", "json", timeout=10))["num_up_osds"]) >= 1
        except (subprocess.SubprocessError, ValueError, KeyError):
            return False  # the monitor may still be electing itself

    def create_pool(self, name: str) -> None:
        self.ceph("osd", "pool", "create", name, "8")
        self.rbd("pool", "init", name)

    def _run(self, *argv: str) -> None:
        subprocess.run(list(argv), check=True, capture_output=True, timeout=60)

    def _spawn(self, name: str, argv: list[str], settle: float = 0.2) -> None:
        log = (self.dir / "log" / f"{name}.out").open("wb")
        self.procs[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        time.sleep(settle)
        if self.procs[name].poll() is not None:
            raise RuntimeError(f"{name} exited at once; see {self.dir / 'log'}")

    def stop(self) -> None:
        for name in ("osd", "mgr", "mon"):
            proc = self.procs.pop(name, None)
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)

"""What the supervisor needs to know about one daemon: how to prepare, start, check and tidy it.

Subclasses live in libvirt.py, ovs.py, ovn.py and ceph.py. Every path is under `self.dir`
(<state dir>/dataplane/<family>/); nothing on the machine outside it is written, except the kernel devices
OVS's userspace datapath creates (removed by ovs.VSwitchd.before_stop).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
from pathlib import Path


class Service:
    name = ""
    # Services of one group cannot be restarted alone (Ceph's memstore OSD loses its data): if any of them
    # cannot be adopted, the whole group is started afresh.
    group = ""
    binaries: tuple[str, ...] = ()
    start_attempts = 1
    ready_timeout = 30.0

    # Seconds to wait after the start before checking the process is still there (and, failing that,
    # starting it again when start_attempts allows).
    settle = 0.0

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.pid = 0  # the running process, set by the supervisor (started or adopted)

    def argv(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str] | None:
        return None

    def prepare(self) -> None:
        """Before a fresh start: directories, configuration, databases; remove stale pid and socket files."""
        self.dir.mkdir(parents=True, exist_ok=True)
        for path in self.stale_files():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def stale_files(self) -> list[Path]:
        return []

    def ready(self, pid: int) -> bool:
        raise NotImplementedError

    def configure(self) -> None:
        """After it answers, started or adopted: idempotent settings."""

    def before_stop(self, pid: int) -> None:
        """While it still runs, before SIGTERM: remove what it created outside its directory."""

    @property
    def log_path(self) -> Path:
        return self.dir / f"{self.name}.out"

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return ""


def missing_binaries(services: list[Service]) -> list[str]:
    return sorted({b for s in services for b in s.binaries if shutil.which(b) is None})


def socket_answers(path: Path) -> bool:
    """A Unix socket someone accepts connections on (not a stale file)."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(1.0)
        try:
            s.connect(str(path))
        except OSError:
            return False
    return True


def run(argv: list[str], timeout: float = 30.0, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {(result.stderr or result.stdout).strip()}")
    return result.stdout


def ok(argv: list[str], timeout: float = 10.0, env: dict[str, str] | None = None) -> bool:
    try:
        run(argv, timeout, env)
    except (RuntimeError, subprocess.TimeoutExpired, OSError):
        return False
    return True


def dir_env(directory: Path) -> dict[str, str]:
    """OVS and OVN tools' run/db/log/config directories, all this one."""
    d = str(directory)
    keys = ("RUNDIR", "DBDIR", "LOGDIR", "SYSCONFDIR")
    return {**os.environ, **{f"OVS_{k}": d for k in keys}, **{f"OVN_{k}": d for k in keys}}

"""Process identity and lifecycle by PID: detached start, "is this still the process we started", stop.

A PID alone can be reused; (boot id, start time from /proc/PID/stat, command line) names one process.
Daemons are started in a session of their own and without PR_SET_PDEATHSIG, so they outlive `kumulus up`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path


def boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def start_time(pid: int) -> int | None:
    """Field 22 of /proc/PID/stat (clock ticks after boot), or None when the process is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after its closing one.
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0")[:-1]]


def alive(pid: int) -> bool:
    return start_time(pid) is not None


def spawn_detached(
    argv: Sequence[str], env: dict[str, str] | None, log_path: Path
) -> subprocess.Popen[bytes]:
    """Start a daemon in a new session (no controlling terminal, no signal from `kumulus up`'s group)."""
    with log_path.open("ab") as out:
        return subprocess.Popen(
            list(argv),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _reap(pid: int) -> None:
    """Collect the exit status if the process is our child (else it is not ours to wait for)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def stop_pid(pid: int, expected_start: int, grace: float = 10.0) -> bool:
    """SIGTERM, then SIGKILL after `grace` seconds; only while the PID is still the process that started at
    `expected_start`. True when it is gone (or was already)."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        if start_time(pid) != expected_start:
            return True
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            _reap(pid)
            if start_time(pid) != expected_start:
                return True
            time.sleep(0.05)
    return start_time(pid) != expected_start

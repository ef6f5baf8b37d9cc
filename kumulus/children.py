"""Child processes of `kumulus up` (operators, hostd) that die with their parent, even on SIGKILL.

Linux's PR_SET_PDEATHSIG makes the kernel send SIGTERM to the child when the parent thread exits;
children are also stopped in order, by PID, on a clean shutdown.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
from collections.abc import Sequence

PR_SET_PDEATHSIG = 1


def _die_with_parent(parent_pid: int) -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def spawn(
    cmd: Sequence[str], env: dict[str, str] | None = None, log_path: str | None = None
) -> subprocess.Popen[bytes]:
    parent = os.getpid()
    out = open(log_path, "ab") if log_path else None  # noqa: SIM115 - handed to the child
    try:
        return subprocess.Popen(
            list(cmd),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            preexec_fn=lambda: _die_with_parent(parent),
        )
    finally:
        if out is not None:
            out.close()


def stop(children: Sequence[subprocess.Popen[bytes]], timeout: float = 10.0) -> None:
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()

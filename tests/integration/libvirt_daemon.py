"""A real, private libvirtd (+ virtlogd) under a temporary directory, for the libvirt driver's tests.

Nothing is shared with a system libvirtd or another test run: both daemons run in a private mount namespace
where /etc/libvirt, /run/libvirt, /var/lib/libvirt, /var/cache/libvirt and /var/log/libvirt are this
directory's own (bind mounts), the client socket is in `<dir>/sock` (connect with
qemu:///system?socket=...), and each daemon has its own pid file. Daemons are started as child processes
(virtlogd by `unshare`, libvirtd joining its namespace with `nsenter`) and stopped by PID.

/dev/kvm is absent in that namespace (a tmpfs /dev holding every other node of the host's /dev): nested
KVM hangs guests here (machine-recipes.md), so QEMU runs with TCG. A /dev/null bound over /dev/kvm is not
enough: libvirt then finds /dev/kvm accessible, disagrees with its cached probe and probes QEMU again on
every call (20 s each). The QEMU capabilities cache is seeded from, and saved to, a per-user cache
directory, so only the first run on a machine pays the probe.

The configuration, the namespace script, the command lines, readiness and the capabilities cache are
kumulus.dataplane.libvirt's (what `kumulus up` runs); this fixture only runs them as its own children.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

from kumulus.dataplane import libvirt
from kumulus.dataplane.service import missing_binaries

from .ovn_daemons import wait_for


class LibvirtDaemon:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.virtlogd = libvirt.Virtlogd(directory)
        self.libvirtd = libvirt.Libvirtd(directory, self.virtlogd)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def uri(self) -> str:
        return libvirt.uri(self.dir)

    @property
    def run_dir(self) -> Path:
        """Seen by libvirtd as /run/libvirt (qemu/<domain>.pid holds each QEMU's PID)."""
        return self.dir / "run"

    def qemu_pid(self, domain_name: str) -> int:
        return int((self.run_dir / "qemu" / f"{domain_name}.pid").read_text().strip())

    def start(self) -> None:
        missing = missing_binaries([self.virtlogd, self.libvirtd])
        if missing:
            raise RuntimeError(
                f"libvirt/QEMU is not installed (missing {', '.join(missing)}): run scripts/setup.sh"
            )
        self.virtlogd.prepare()
        self._spawn("virtlogd", self.virtlogd.argv())
        self.virtlogd.pid = self.procs["virtlogd"].pid
        wait_for("virtlogd", lambda: self.virtlogd.ready(self.virtlogd.pid) or self._dead())
        self._check_alive()
        self._start_libvirtd()

    def _start_libvirtd(self) -> None:
        """libvirtd, joining virtlogd's mount namespace (so both see the same private directories)."""
        self.libvirtd.prepare()
        self._spawn("libvirtd", self.libvirtd.argv())
        wait_for("libvirtd's socket", lambda: self.libvirtd.ready(0) or self._dead(), 30)
        self._check_alive()

    def _spawn(self, name: str, argv: list[str]) -> None:
        log = (self.dir / f"{name}.out").open("wb")
        self.procs[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)

    def _dead(self) -> bool:
        return any(p.poll() is not None for p in self.procs.values())

    def _check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                out = (self.dir / f"{name}.out").read_text(errors="replace")
                raise RuntimeError(f"{name} exited with {proc.returncode}: {out[-2000:]}")

    def qemu_pids(self) -> list[int]:
        pids = []
        for f in (self.run_dir / "qemu").glob("*.pid"):
            with contextlib.suppress(ValueError, OSError):
                pids.append(int(f.read_text().strip()))
        return pids

    def stop(self) -> None:
        """Stop the guests' QEMUs (they outlive libvirtd otherwise), then libvirtd, then virtlogd."""
        for pid in self.qemu_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for name in ("libvirtd", "virtlogd"):
            proc = self.procs.get(name)
            if proc is None or proc.poll() is not None:
                continue
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        self.libvirtd.before_stop(0)  # saves the QEMU capabilities probe for the next run

    def restart_libvirtd(self) -> None:
        """Stop libvirtd alone (guests keep running) and start it again in the same namespace."""
        proc = self.procs["libvirtd"]
        proc.terminate()
        proc.wait(timeout=10)
        self._start_libvirtd()  # its prepare() removes the stale pid and socket files

    def wait_gone(self, pid: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        raise TimeoutError(f"process {pid} still alive")

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
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from .ovn_daemons import wait_for

BINARIES = ("/usr/sbin/libvirtd", "/usr/sbin/virtlogd", "/usr/bin/qemu-system-x86_64", "unshare", "nsenter")
PRIVATE_DIRS = {
    "etc": "/etc/libvirt",
    "run": "/run/libvirt",
    "lib": "/var/lib/libvirt",
    "cache": "/var/cache/libvirt",
    "log": "/var/log/libvirt",
}
CAPS_CACHE = Path(tempfile.gettempdir()) / "kumulus-libvirt-qemu-capabilities"

NAMESPACE_SETUP = """set -e
D="$1"
# A /dev without kvm: every other entry of the host's /dev, bound into a tmpfs.
mkdir -p "$D/hostdev"
mount --rbind /dev "$D/hostdev"
mount -t tmpfs -o mode=755,nosuid tmpfs /dev
for e in "$D"/hostdev/*; do
  n="${e##*/}"
  [ "$n" = kvm ] && continue
  if [ -L "$e" ]; then cp -P "$e" "/dev/$n"
  elif [ -d "$e" ]; then mkdir "/dev/$n" && mount --rbind "$e" "/dev/$n"
  else touch "/dev/$n" && mount --bind "$e" "/dev/$n"; fi
done
umount -l "$D/hostdev"
%(binds)s
touch "$D/namespace-ready"
exec /usr/sbin/virtlogd -f /etc/libvirt/virtlogd.conf -p "$D/virtlogd.pid"
"""


class LibvirtDaemon:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.sock_dir = directory / "sock"
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def uri(self) -> str:
        return f"qemu:///system?socket={self.sock_dir / 'libvirt-sock'}"

    @property
    def run_dir(self) -> Path:
        """Seen by libvirtd as /run/libvirt (qemu/<domain>.pid holds each QEMU's PID)."""
        return self.dir / "run"

    def qemu_pid(self, domain_name: str) -> int:
        return int((self.run_dir / "qemu" / f"{domain_name}.pid").read_text().strip())

    def start(self) -> None:
        missing = [b for b in BINARIES if shutil.which(b) is None]
        if missing:
            raise RuntimeError(
                f"libvirt/QEMU is not installed (missing {', '.join(missing)}): run scripts/setup.sh"
            )
        os.chmod(self.dir, 0o755)
        for name in (*PRIVATE_DIRS, "sock"):
            (self.dir / name).mkdir(exist_ok=True)
        self._write_config()
        self._seed_caps()
        binds = "\n".join(
            f'mkdir -p {target} && mount --bind "$D/{name}" {target}' for name, target in PRIVATE_DIRS.items()
        )
        script = self.dir / "namespace.sh"
        script.write_text(NAMESPACE_SETUP % {"binds": binds})
        self._spawn(
            "virtlogd", ["unshare", "--mount", "--propagation", "private", "sh", str(script), str(self.dir)]
        )
        wait_for("the private namespace", lambda: (self.dir / "namespace-ready").exists() or self._dead())
        self._check_alive()
        self._start_libvirtd()

    def _start_libvirtd(self) -> None:
        """libvirtd, joining virtlogd's mount namespace (so both see the same private directories)."""
        ns = f"/proc/{self.procs['virtlogd'].pid}/ns/mnt"
        pidfile = str(self.dir / "libvirtd.pid")
        self._spawn(
            "libvirtd",
            [
                "nsenter",
                f"--mount={ns}",
                "/usr/sbin/libvirtd",
                "-f",
                "/etc/libvirt/libvirtd.conf",
                "-p",
                pidfile,
            ],
        )
        wait_for("libvirtd's socket", lambda: (self.sock_dir / "libvirt-sock").exists() or self._dead(), 30)
        self._check_alive()

    def _write_config(self) -> None:
        etc = self.dir / "etc"
        (etc / "libvirtd.conf").write_text(
            f'unix_sock_dir = "{self.sock_dir}"\n'
            'unix_sock_rw_perms = "0700"\n'
            'auth_unix_rw = "none"\n'
            'auth_unix_ro = "none"\n'
            f'log_outputs = "3:file:{self.dir / "libvirtd.log"}"\n'
        )
        # QEMU as root without relabelling: the test's files are root's, in a private directory.
        (etc / "qemu.conf").write_text(
            'user = "root"\ngroup = "root"\ndynamic_ownership = 0\nsecurity_driver = "none"\n'
            'stdio_handler = "logd"\n'
        )
        (etc / "virtlogd.conf").write_text(f'log_outputs = "3:file:{self.dir / "virtlogd.log"}"\n')

    def _seed_caps(self) -> None:
        target = self.dir / "cache" / "qemu" / "capabilities"
        target.mkdir(parents=True, exist_ok=True)
        if CAPS_CACHE.is_dir():
            for f in CAPS_CACHE.glob("*.xml"):
                shutil.copy2(f, target / f.name)

    def _save_caps(self) -> None:
        source = self.dir / "cache" / "qemu" / "capabilities"
        with contextlib.suppress(OSError):
            CAPS_CACHE.mkdir(mode=0o700, exist_ok=True)
            for f in source.glob("*.xml"):
                tmp = CAPS_CACHE / f".{f.name}.{os.getpid()}.tmp"
                shutil.copy2(f, tmp)
                tmp.replace(CAPS_CACHE / f.name)  # atomic: concurrent runs never read half a file

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
        self._save_caps()

    def restart_libvirtd(self) -> None:
        """Stop libvirtd alone (guests keep running) and start it again in the same namespace."""
        proc = self.procs["libvirtd"]
        proc.terminate()
        proc.wait(timeout=10)
        (self.sock_dir / "libvirt-sock").unlink(missing_ok=True)
        self._start_libvirtd()

    def wait_gone(self, pid: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        raise TimeoutError(f"process {pid} still alive")

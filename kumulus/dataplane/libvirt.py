"""libvirtd and virtlogd in a private mount namespace where QEMU finds no /dev/kvm, so guests run with TCG.

As tests/integration/libvirt_daemon.py (machine-recipes.md: nested KVM hangs guests here): /etc/libvirt,
/run/libvirt, /var/lib/libvirt, /var/cache/libvirt and /var/log/libvirt are bind mounts of this directory's
own, the client socket is <dir>/s/libvirt-sock. virtlogd is started by `unshare` (which execs it, so its
PID is the daemon's) and libvirtd joins virtlogd's namespace with `nsenter` (which also execs).
With `ovs_dir`, that directory (our ovsdb-server's db.sock) is also bound on /run/openvswitch there:
libvirt plugs a guest's `virtualport type='openvswitch'` NIC by running `ovs-vsctl` with its default
database, which must be ours, not the machine's.
Guests (QEMU) are libvirtd's children, not ours: they keep running when libvirtd or `kumulus up` stops, and a
libvirtd started again over the same directories reconnects to them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from .service import Service, socket_answers

PRIVATE_DIRS = {
    "etc": "/etc/libvirt",
    "run": "/run/libvirt",
    "lib": "/var/lib/libvirt",
    "cache": "/var/cache/libvirt",
    "log": "/var/log/libvirt",
}
# Shared with the test fixture: the QEMU capabilities probe (20 s) is paid once per machine.
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
exec /usr/sbin/virtlogd -f /etc/libvirt/virtlogd.conf -p "$D/virtlogd.pid"
"""


def uri(directory: Path) -> str:
    return f"qemu:///system?socket={directory / 's' / 'libvirt-sock'}"


def longest_socket(directory: Path) -> Path:
    return directory / "s" / "libvirt-admin-sock"


class Virtlogd(Service):
    name = "virtlogd"

    def __init__(self, directory: Path, ovs_dir: Path | None = None) -> None:
        super().__init__(directory)
        self.ovs_dir = ovs_dir

    binaries = (
        "/usr/sbin/virtlogd",
        "/usr/sbin/libvirtd",
        "/usr/bin/qemu-system-x86_64",
        "unshare",
        "nsenter",
    )

    def argv(self) -> list[str]:
        return [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            str(self.dir / "namespace.sh"),
            str(self.dir),
        ]

    def prepare(self) -> None:
        super().prepare()
        os.chmod(self.dir, 0o755)
        for name in (*PRIVATE_DIRS, "s"):
            (self.dir / name).mkdir(exist_ok=True)
        self._write_config()
        self._seed_caps()
        binds = "\n".join(
            f'mkdir -p {target} && mount --bind "$D/{name}" {target}' for name, target in PRIVATE_DIRS.items()
        )
        if self.ovs_dir is not None:
            self.ovs_dir.mkdir(parents=True, exist_ok=True)
            binds += f'\nmkdir -p /run/openvswitch && mount --bind "{self.ovs_dir}" /run/openvswitch'
        (self.dir / "namespace.sh").write_text(NAMESPACE_SETUP % {"binds": binds})

    def stale_files(self) -> list[Path]:
        return [
            self.dir / "virtlogd.pid",
            self.dir / "run" / "virtlogd-sock",
            self.dir / "run" / "virtlogd-admin-sock",
        ]

    def ready(self, pid: int) -> bool:
        return socket_answers(self.dir / "run" / "virtlogd-sock")

    def _write_config(self) -> None:
        etc = self.dir / "etc"
        sock = self.dir / "s"
        (etc / "libvirtd.conf").write_text(
            f'unix_sock_dir = "{sock}"\n'
            'unix_sock_rw_perms = "0700"\n'
            'auth_unix_rw = "none"\n'
            'auth_unix_ro = "none"\n'
            f'log_outputs = "3:file:{self.dir / "libvirtd.log"}"\n'
        )
        # QEMU as root without relabelling: the files are root's, in a private directory.
        (etc / "qemu.conf").write_text(
            'user = "root"\ngroup = "root"\ndynamic_ownership = 0\nsecurity_driver = "none"\n'
            'stdio_handler = "logd"\n'
        )
        (etc / "virtlogd.conf").write_text(f'log_outputs = "3:file:{self.dir / "virtlogd.log"}"\n')

    def _seed_caps(self) -> None:
        target = self.dir / "cache" / "qemu" / "capabilities"
        target.mkdir(parents=True, exist_ok=True)
        if CAPS_CACHE.is_dir() and not any(target.glob("*.xml")):
            for f in CAPS_CACHE.glob("*.xml"):
                shutil.copy2(f, target / f.name)


class Libvirtd(Service):
    name = "libvirtd"
    ready_timeout = 60.0  # the first start on a machine probes QEMU

    def __init__(self, directory: Path, virtlogd: Virtlogd) -> None:
        super().__init__(directory)
        self.virtlogd = virtlogd

    @property
    def uri(self) -> str:
        return uri(self.dir)

    def argv(self) -> list[str]:
        ns = f"/proc/{self.virtlogd.pid}/ns/mnt"
        pidfile = str(self.dir / "libvirtd.pid")
        return [
            "nsenter",
            f"--mount={ns}",
            "/usr/sbin/libvirtd",
            "-f",
            "/etc/libvirt/libvirtd.conf",
            "-p",
            pidfile,
        ]

    def stale_files(self) -> list[Path]:
        sock = self.dir / "s"
        return [
            self.dir / "libvirtd.pid",
            sock / "libvirt-sock",
            sock / "libvirt-sock-ro",
            sock / "libvirt-admin-sock",
        ]

    def ready(self, pid: int) -> bool:
        return socket_answers(self.dir / "s" / "libvirt-sock")

    def before_stop(self, pid: int) -> None:
        """Keep the QEMU capabilities probe for the next start on this machine (atomic per file)."""
        source = self.dir / "cache" / "qemu" / "capabilities"
        with contextlib.suppress(OSError):
            CAPS_CACHE.mkdir(mode=0o700, exist_ok=True)
            for f in source.glob("*.xml"):
                tmp = CAPS_CACHE / f".{f.name}.{os.getpid()}.tmp"
                shutil.copy2(f, tmp)
                tmp.replace(CAPS_CACHE / f.name)


def services(directory: Path, ovs_dir: Path | None = None) -> list[Service]:
    logd = Virtlogd(directory, ovs_dir)
    return [logd, Libvirtd(directory, logd)]

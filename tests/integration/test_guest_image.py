"""The test guest image, end to end: build it, serve it over HTTP, boot it under plain QEMU (TCG) with a
config drive made by hostd/configdrive.py, and check what docs/guest-image.md promises: the ready marker
with the configured hostname and address, HTTP answering the hostname, the SSH keys stored, the pings
user data asks for, graceful power-off on the ACPI button; and DHCP when there is no config drive.

Each QEMU runs under the test's temp dir, with user-mode networking (slirp: the guest is 10.0.2.15/24,
the gateway 10.0.2.2) and port 80 forwarded to a free local port; it is stopped by PID.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hostd.configdrive import (
    ConfigDriveError,
    ConfigDriveSpec,
    NicConfig,
    ensure_config_drive,
    remove_config_drive,
    render,
    write_config_drive,
)

from .image_server import ensure_guest_image, serve_directory

pytestmark = pytest.mark.integration

QEMU = shutil.which("qemu-system-x86_64")
MAC = "52:54:00:4b:4d:01"
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKumulusTestKeyOnlyForTheGuestImage0000 test@kumulus"
BOOT_TIMEOUT = 180.0  # TCG on a loaded 2-core machine; a boot takes about 6-10 s


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Qemu:
    """One QEMU guest with its serial console in a file and its HMP monitor on a unix socket."""

    def __init__(self, workdir: Path, disk: Path, config_drive: Path | None) -> None:
        self.workdir = workdir
        self.serial = workdir / "serial.log"
        self.monitor = workdir / "monitor.sock"
        self.http_port = free_port()
        self.argv = [
            QEMU or "qemu-system-x86_64",
            "-accel", "tcg",
            "-m", "256",
            "-display", "none",
            "-no-reboot",
            "-serial", f"file:{self.serial}",
            "-monitor", f"unix:{self.monitor},server,nowait",
            # The boot disk as IDE (what any BIOS boots); snapshot: the image file is shared by tests.
            "-drive", f"file={disk},format=raw,if=ide,snapshot=on",
            "-nic", f"user,model=virtio-net-pci,mac={MAC},hostfwd=tcp:127.0.0.1:{self.http_port}-:80",
        ]  # fmt: skip
        if config_drive is not None:
            self.argv += ["-drive", f"file={config_drive},format=raw,if=virtio,readonly=on"]
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0.0

    def start(self) -> None:
        self.started = time.monotonic()
        log = (self.workdir / "qemu.log").open("wb")
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()

    def console(self) -> str:
        try:
            return self.serial.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_for(self, pattern: str, timeout: float = BOOT_TIMEOUT) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern, re.MULTILINE)
        while time.monotonic() < deadline:
            found = regex.search(self.console())
            if found:
                return found
            assert self.proc is not None
            if self.proc.poll() is not None:
                qemu_log = (self.workdir / "qemu.log").read_text(errors="replace")
                pytest.fail(
                    f"QEMU exited ({self.proc.returncode}) before {pattern!r}:\n{qemu_log}\n{self.console()}"
                )
            time.sleep(0.1)
        pytest.fail(f"no {pattern!r} on the console after {timeout} s:\n{self.console()}")

    def http_get(self, path: str = "/") -> tuple[int, str]:
        deadline = time.monotonic() + 30
        while True:
            conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=10)
            try:
                conn.request("GET", path)
                resp = conn.getresponse()
                return resp.status, resp.read().decode()
            except (OSError, http.client.HTTPException):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
            finally:
                conn.close()

    def powerdown(self) -> None:
        """Press the ACPI power button through the monitor (what `virsh shutdown` does)."""
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(str(self.monitor))
            self._read_prompt(s)  # the banner
            s.sendall(b"system_powerdown\n")
            # Closing before the monitor has read the whole line drops the command: wait for its prompt.
            self._read_prompt(s)

    @staticmethod
    def _read_prompt(s: socket.socket) -> None:
        buf = b""
        while not buf.endswith(b"(qemu) "):
            chunk = s.recv(4096)
            if not chunk:
                raise ConnectionError(f"QEMU monitor closed: {buf[-200:]!r}")
            buf += chunk

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def guest_image() -> Path:
    if QEMU is None:
        pytest.skip("qemu-system-x86_64 is not installed (scripts/setup.sh installs it)")
    started = time.monotonic()
    image = ensure_guest_image()
    print(f"\nguest image: {image.stat().st_size >> 20} MiB, build/check {time.monotonic() - started:.1f} s")
    return image


@pytest.fixture
def qemu_guests() -> Iterator[list[Qemu]]:
    guests: list[Qemu] = []
    yield guests
    for g in guests:
        g.stop()


def mtype(image: Path, name: str) -> bytes:
    env = {**os.environ, "MTOOLS_SKIP_CHECK": "1"}
    return subprocess.run(
        ["mtype", "-i", str(image), f"::{name}"], capture_output=True, check=True, env=env
    ).stdout


def test_config_drive_writer(tmp_path: Path) -> None:
    files = render(ConfigDriveSpec(uid="u-1", name="db-0", namespace="ns", user_data=b"ping: 10.0.0.1\n"))
    drive = tmp_path / "drives" / "u-1.img"
    assert ensure_config_drive(drive, files) is True
    with drive.open("rb") as f:
        boot_sector = f.read(512)
    assert boot_sector[43:54] == b"cidata     "  # the FAT label the guest looks for
    assert boot_sector[54:62] == b"FAT12   "
    assert drive.stat().st_mode & 0o777 == 0o600  # user data may hold secrets
    for name, data in files.items():
        assert mtype(drive, name) == data
    assert sorted(p.name for p in drive.parent.iterdir()) == ["u-1.img", "u-1.img.digest"]  # no temp files

    # Level-based: the same content is not written again; new content is.
    mtime = drive.stat().st_mtime_ns
    assert ensure_config_drive(drive, files) is False
    assert drive.stat().st_mtime_ns == mtime
    changed = {**files, "user-data": b"ping: 10.0.0.2\n"}
    assert ensure_config_drive(drive, changed) is True
    assert mtype(drive, "user-data") == b"ping: 10.0.0.2\n"

    # A refused write leaves the drive as it was.
    with pytest.raises(ConfigDriveError):
        write_config_drive(drive, {"../escape": b"x"})
    assert mtype(drive, "user-data") == b"ping: 10.0.0.2\n"
    assert sorted(p.name for p in drive.parent.iterdir()) == ["u-1.img", "u-1.img.digest"]

    remove_config_drive(drive)
    assert list(drive.parent.iterdir()) == []


def test_image_is_small_checksummed_and_rebuilt_only_when_stale(guest_image: Path) -> None:
    size = guest_image.stat().st_size
    assert 4 << 20 < size <= 64 << 20
    recorded = (guest_image.parent / (guest_image.name + ".sha256")).read_text().split()
    assert recorded == [hashlib.sha256(guest_image.read_bytes()).hexdigest(), guest_image.name]
    mtime = guest_image.stat().st_mtime_ns
    ensure_guest_image()
    assert guest_image.stat().st_mtime_ns == mtime, "an up-to-date image was rebuilt"


def test_image_server_serves_the_image(guest_image: Path, tmp_path: Path) -> None:
    with serve_directory(guest_image.parent) as base:
        host, port = base.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        conn.request("GET", f"/{guest_image.name}.sha256")
        resp = conn.getresponse()
        assert resp.status == 200
        want = resp.read().decode().split()[0]
        conn.request("GET", f"/{guest_image.name}")
        resp = conn.getresponse()
        assert resp.status == 200
        body = resp.read()
        conn.request("GET", "/../../pyproject.toml")
        outside = conn.getresponse()
        outside.read()
        conn.close()
    assert hashlib.sha256(body).hexdigest() == want
    assert outside.status == 404, "the server must not leave its directory"


def test_guest_boots_with_config_drive(guest_image: Path, tmp_path: Path, qemu_guests: list[Qemu]) -> None:
    # The image goes through the local HTTP server first, as an Image import would fetch it.
    disk = tmp_path / "disk.img"
    with serve_directory(guest_image.parent) as base:
        host, port = base.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        conn.request("GET", f"/{guest_image.name}")
        disk.write_bytes(conn.getresponse().read())
        conn.close()

    files = render(
        ConfigDriveSpec(
            uid="6f1c2a8e-0000-4000-8000-00000000b001",
            name="web-1",
            namespace="guest-test",
            hostname="web-1.guest-test",
            nics=(NicConfig(mac=MAC, addresses=("10.0.2.15/24",), gateways=("10.0.2.2",), mtu=1500),),
            ssh_keys=(SSH_KEY,),
            # 10.0.2.2 is slirp's gateway, which answers ping; nothing has 10.0.2.99.
            user_data="#cloud-config\nping: 10.0.2.2\nping: 10.0.2.99\n",
            nameservers=("10.0.2.3",),
        )
    )
    drive = tmp_path / "config.img"
    write_config_drive(drive, files)

    guest = Qemu(tmp_path, disk, drive)
    qemu_guests.append(guest)
    guest.start()
    guest.wait_for(r"^KUMULUS-GUEST-READY web-1\.guest-test 10\.0\.2\.15\s*$")
    ready = time.monotonic() - guest.started
    status, body = guest.http_get("/")
    print(f"\nboot to KUMULUS-GUEST-READY: {ready:.1f} s")
    assert status == 200
    assert body.strip() == "web-1.guest-test"
    assert re.search(r"^KUMULUS-SSH-KEYS 1\s*$", guest.console(), re.MULTILINE)
    guest.wait_for(r"^KUMULUS-PING 10\.0\.2\.2 ok\s*$", timeout=60)
    guest.wait_for(r"^KUMULUS-PING 10\.0\.2\.99 fail\s*$", timeout=60)

    # Graceful shutdown: the ACPI power button powers the guest off and QEMU exits on its own.
    guest.powerdown()
    guest.wait_for(r"^KUMULUS-GUEST-POWEROFF web-1\.guest-test\s*$", timeout=60)
    assert guest.proc is not None
    assert guest.proc.wait(timeout=60) == 0


def test_guest_without_config_drive_uses_dhcp(
    guest_image: Path, tmp_path: Path, qemu_guests: list[Qemu]
) -> None:
    guest = Qemu(tmp_path, guest_image, None)
    qemu_guests.append(guest)
    guest.start()
    guest.wait_for(r"^KUMULUS-GUEST-READY kumulus-guest 10\.0\.2\.15\s*$")
    assert "kumulus: no config drive" in guest.console()
    assert guest.http_get("/") == (200, "kumulus-guest\n")


def test_guest_ignores_unsafe_kumulus_env(guest_image: Path, tmp_path: Path, qemu_guests: list[Qemu]) -> None:
    # A drive not made by configdrive.py: the guest parses kumulus.env and drops what is not safe.
    hostile = (
        "HOSTNAME=$(echo pwned)\n"
        "bad key=1\n"
        "NIC_COUNT=1\n"
        f"NIC0_MAC={MAC}\n"
        "NIC0_ADDRESSES=10.0.2.15/24\n"
        "NIC0_GATEWAY4=10.0.2.2;reboot\n"
    )
    drive = tmp_path / "config.img"
    meta = b"instance-id: x\nlocal-hostname: from-meta-data\n"
    write_config_drive(drive, {"kumulus.env": hostile.encode(), "meta-data": meta})
    guest = Qemu(tmp_path, guest_image, drive)
    qemu_guests.append(guest)
    guest.start()
    guest.wait_for(r"^KUMULUS-GUEST-READY from-meta-data 10\.0\.2\.15\s*$")
    console = guest.console()
    assert "kumulus: ignoring unsafe value of HOSTNAME" in console
    assert "kumulus: ignoring unsafe value of NIC0_GATEWAY4" in console
    assert "kumulus: ignoring kumulus.env line with a bad key" in console
    assert "pwned" not in console
    assert guest.http_get("/") == (200, "from-meta-data\n")

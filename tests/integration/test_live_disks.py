"""Live disk changes seen from inside the guest: the libvirt driver against a real, private libvirtd (QEMU
with TCG), with hostd's own resolver (hostd/resolve.py) reading the Server and its Volumes from an in-memory
API and the `file` volume backend (sparse raw files, as tests/integration/test_hostd_libvirt.py uses).

The boot Volume's file is the test guest image (make guest-image), whose init prints
`KUMULUS-DISKS <dev>=<bytes> ...` on the serial console whenever its block devices change. A Volume added
to spec.volumes must show up in the guest, grow when the Volume's size grows, and go away when removed;
a disk that is not ours must stay. A guest that ignores ACPI hot-unplug (SeaBIOS, nothing booted) times the
detach out, and the disk goes with the next power-off.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import re
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import libvirt
import pytest

from controllers.scheduling import Resources
from hostd.config import LibvirtConfig
from hostd.drivers.base import GuestPhase, GuestSpec
from hostd.drivers.libvirt import LibvirtDriver
from hostd.drivers.libvirt_disks import DiskDetachTimeout, observe
from hostd.drivers.libvirt_setup import plan_settings
from hostd.kube import ApiError, path_for
from hostd.libvirt.builders import domain_name, wanted_disks
from hostd.libvirt.config import GuestDisk, GuestDomain
from hostd.libvirt.disk_changes import plan_disks
from hostd.resolve import ApiResolver

from .image_server import ensure_guest_image
from .libvirt_daemon import LibvirtDaemon

pytestmark = pytest.mark.integration

GiB = 1 << 30
RESOURCES = Resources(1, 256, 0)
STORAGE = "storage.kumulus.dev/v1alpha1"
NS = "demo"
BOOT_TIMEOUT = 180.0  # TCG on a loaded 2-core machine; a boot takes about 8 s
CONFIG_DRIVE_MAX = 64 << 20
"""Disks smaller than this in the guest's report are its config drive (hostd's are a few MiB)."""
CHANGE_TIMEOUT = 60.0  # a hot-plug shows in the guest within about 1 s (its poll); generous for a loaded host


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LibvirtDaemon]:
    d = LibvirtDaemon(Path(tmp_path_factory.mktemp("libvirt")))
    try:
        d.start()
        yield d
    finally:
        d.stop()


@pytest.fixture(scope="module")
def guest_image() -> Path:
    return ensure_guest_image()


class Api:
    """The API objects the resolver reads (Volumes), by path; what hostd.resolve.ApiResolver calls."""

    def __init__(self) -> None:
        self.objs: dict[str, dict[str, Any]] = {}

    async def get(self, path: str) -> dict[str, Any]:
        if path not in self.objs:
            raise ApiError(404, "NotFound", path)
        return copy.deepcopy(self.objs[path])

    def volume(self, name: str, size_gib: int) -> dict[str, Any]:
        uid = str(uuid.uuid4())
        vol = {
            "metadata": {"name": name, "namespace": NS, "uid": uid},
            "spec": {"sizeGiB": size_gib},
            "status": {"backendId": f"rbd/volumes/volume-{uid}", "sizeGiB": size_gib},
        }
        self.objs[path_for(STORAGE, "volumes", name, NS)] = vol
        return vol

    def resize(self, name: str, size_gib: int) -> None:
        vol = self.objs[path_for(STORAGE, "volumes", name, NS)]
        vol["spec"]["sizeGiB"] = vol["status"]["sizeGiB"] = size_gib


class Guest:
    """One Server: its spec as hostd would get it, and its serial console."""

    def __init__(self, driver: LibvirtDriver, name: str) -> None:
        self.driver = driver
        self.uid = str(uuid.uuid4())
        self.server: dict[str, Any] = {
            "metadata": {"uid": self.uid, "name": name, "namespace": NS},
            "spec": {"flavor": "small", "image": "kumulus-guest", "volumes": []},
            "status": {"flavor": "small"},
        }

    def spec(self, power_on: bool = True) -> GuestSpec:
        return GuestSpec(
            self.uid, f"{NS}/{self.server['metadata']['name']}", RESOURCES, power_on, self.server
        )

    async def ensure(self, power_on: bool = True) -> GuestPhase:
        return (await self.driver.ensure_guest(copy.deepcopy(self.spec(power_on)))).phase

    def console(self) -> str:
        log = self.driver.console_dir / f"{self.uid}.log"
        return log.read_text(errors="replace") if log.exists() else ""

    def disks(self) -> list[int] | None:
        """The sizes of the guest's virtio disks in its last KUMULUS-DISKS report, sorted, without the config
        drive (a small read-only virtio disk). By size, not name: the guest names disks in probe order (the
        config drive, present at boot, is its vdb), not after libvirt's target devices."""
        lines = re.findall(r"^KUMULUS-DISKS(.*)$", self.console(), re.MULTILINE)
        if not lines:
            return None
        pairs = (p.split("=") for p in lines[-1].split())
        return sorted(
            int(size) for dev, size in pairs if dev.startswith("vd") and int(size) >= CONFIG_DRIVE_MAX
        )

    async def wait_disks(self, want: dict[str, int], timeout: float = CHANGE_TIMEOUT) -> float:
        """Until the guest reports disks of the sizes of `want` (libvirt target device -> bytes)."""
        started = time.monotonic()
        while self.disks() != sorted(want.values()):
            if time.monotonic() - started > timeout:
                pytest.fail(f"the guest reports {self.disks()}, not {want}:\n{self.console()[-3000:]}")
            await asyncio.sleep(0.1)
        return time.monotonic() - started

    def dom(self) -> libvirt.virDomain:
        return self.driver._conn().lookupByUUIDString(self.uid)

    def xml(self, inactive: bool = False) -> GuestDomain:
        flags = libvirt.VIR_DOMAIN_XML_INACTIVE if inactive else 0
        return GuestDomain.from_string(self.dom().XMLDesc(flags))

    async def pending(self) -> list[Any]:
        """What the driver would still do to the disks (the plan on the domain as it is): [] once applied."""
        plan = await self.driver.resolver(copy.deepcopy(self.spec()))
        wanted = wanted_disks(plan)
        meta = self.xml().metadata
        assert meta is not None
        sized = {w.key for w in wanted if w.size_bytes is not None}
        config, live = await asyncio.to_thread(observe, self.dom(), sized)
        return list(plan_disks(wanted, meta.disks, config, live))


@pytest.fixture
async def env(
    daemon: LibvirtDaemon, tmp_path: Path
) -> AsyncIterator[tuple[LibvirtDriver, Api, LibvirtConfig]]:
    cfg = LibvirtConfig(
        uri=daemon.uri,
        virt_type="qemu",
        state_dir=tmp_path / "state",
        volume_backend="file",
        shutdown_timeout=30.0,
    )
    api = Api()
    driver = LibvirtDriver(daemon.uri, cfg.state_dir, host="h1", virt_type="qemu", detach_timeout=30.0)
    driver.resolver = ApiResolver(api, plan_settings(cfg))  # type: ignore[arg-type]
    yield driver, api, cfg
    for uid in await driver.list_guests():
        await driver.destroy_guest(uid)
    driver.close()


def volume_file(cfg: LibvirtConfig, vol: dict[str, Any]) -> Path:
    return cfg.volumes / "volumes" / f"volume-{vol['metadata']['uid']}"


def boot_from(image: Path, cfg: LibvirtConfig, api: Api, guest: Guest) -> None:
    """The boot Volume <server>-root, its file a copy of the guest image (the resolver grows it to 1 GiB)."""
    root = api.volume(f"{guest.server['metadata']['name']}-root", 1)
    path = volume_file(cfg, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(image, path)


async def test_attach_grow_detach_seen_by_the_guest(
    env: tuple[LibvirtDriver, Api, LibvirtConfig], guest_image: Path, daemon: LibvirtDaemon
) -> None:
    driver, api, cfg = env
    guest = Guest(driver, "web")
    boot_from(guest_image, cfg, api, guest)
    assert await guest.ensure() == GuestPhase.RUNNING
    await guest.wait_disks({"vda": GiB}, timeout=BOOT_TIMEOUT)
    pid = daemon.qemu_pid(domain_name(guest.uid))
    root_key = f"serial:{guest.xml().disks[0].serial}"
    meta = guest.xml().metadata
    assert meta is not None and meta.disks == (root_key,)

    # Attach: a new Volume in spec.volumes.
    data = api.volume("data", 1)
    guest.server["spec"]["volumes"] = [{"volume": "data"}]
    started = time.monotonic()
    assert await guest.ensure() == GuestPhase.RUNNING
    took = await guest.wait_disks({"vda": GiB, "vdb": GiB})
    print(
        f"\nattach: ensure_guest {time.monotonic() - started - took:.2f} s, seen by the guest after {took:.2f} s"
    )
    serial = data["metadata"]["uid"][:20]
    for inactive in (False, True):  # live and persistent
        vdb = next(d for d in guest.xml(inactive).disks if d.target_dev == "vdb")
        assert (vdb.serial, vdb.source_path) == (serial, str(volume_file(cfg, data)))
    meta = guest.xml().metadata
    assert meta is not None and meta.disks == (root_key, f"serial:{serial}")
    assert await guest.pending() == []
    assert daemon.qemu_pid(domain_name(guest.uid)) == pid  # live: the same QEMU

    # Grow: the Volume extended (status.sizeGiB), its file grown, QEMU told, the guest sees the new size.
    api.resize("data", 2)
    started = time.monotonic()
    await guest.ensure()
    took = await guest.wait_disks({"vda": GiB, "vdb": 2 * GiB})
    print(f"grow: seen by the guest {took:.2f} s after ensure_guest")
    assert volume_file(cfg, data).stat().st_size == 2 * GiB
    assert await guest.pending() == []

    # A disk that is not ours (attached by someone else) is never detached.
    foreign = GuestDisk("vdc", source_path=str(cfg.state_dir / "foreign.img"), serial="someone-else")
    with open(foreign.source_path or "", "wb") as f:
        f.truncate(GiB // 2)
    flags = libvirt.VIR_DOMAIN_AFFECT_LIVE | libvirt.VIR_DOMAIN_AFFECT_CONFIG
    await asyncio.to_thread(guest.dom().attachDeviceFlags, foreign.to_string(), flags)
    await guest.wait_disks({"vda": GiB, "vdb": 2 * GiB, "vdc": GiB // 2})

    # Detach: the Volume removed from spec.volumes; ensure_guest returns once the guest released it.
    guest.server["spec"]["volumes"] = []
    started = time.monotonic()
    await guest.ensure()
    detach = time.monotonic() - started
    assert not any(d.target_dev == "vdb" for d in guest.xml().disks)
    took = await guest.wait_disks({"vda": GiB, "vdc": GiB // 2})
    print(f"detach: ensure_guest {detach:.2f} s, gone from the guest's report {took:.2f} s later")
    assert any(alias.startswith("virtio-disk") and u == guest.uid for u, alias, _ in driver.disks.removed)
    for inactive in (False, True):
        assert [d.target_dev for d in guest.xml(inactive).disks if d.device == "disk" and not d.readonly] == [
            "vda",
            "vdc",
        ]
    meta = guest.xml().metadata
    assert meta is not None and meta.disks == (root_key,)
    assert volume_file(cfg, data).exists()  # detached, not deleted: the Volume is the storage's business
    assert await guest.pending() == []
    assert daemon.qemu_pid(domain_name(guest.uid)) == pid
    assert "KUMULUS-GUEST-READY" in guest.console() and guest.console().count("kumulus: init at") == 1


async def test_a_stopped_guest_gets_the_change_in_its_definition_and_boots_with_it(
    env: tuple[LibvirtDriver, Api, LibvirtConfig], guest_image: Path
) -> None:
    driver, api, cfg = env
    guest = Guest(driver, "db")
    boot_from(guest_image, cfg, api, guest)
    assert await guest.ensure() == GuestPhase.RUNNING
    await guest.wait_disks({"vda": GiB}, timeout=BOOT_TIMEOUT)
    # Powered off with a Volume added meanwhile: the guest goes down first (ACPI), then the definition
    # gets the disk; nothing is hot-plugged into a guest shutting down.
    api.volume("logs", 3)
    guest.server["spec"]["volumes"] = [{"volume": "logs", "device": "vdd"}]
    assert await guest.ensure(power_on=False) == GuestPhase.STOPPED
    assert "KUMULUS-GUEST-POWEROFF" in guest.console()
    assert [
        d.target_dev for d in guest.xml(inactive=True).disks if d.device == "disk" and not d.readonly
    ] == ["vda", "vdd"]
    assert await guest.pending() == []
    assert await guest.ensure() == GuestPhase.RUNNING
    # libvirt's device name is a hint: the guest's kernel names virtio disks in the order it finds them.
    await guest.wait_disks({"vda": GiB, "vdb": 3 * GiB}, timeout=BOOT_TIMEOUT)


async def test_a_guest_that_ignores_hot_unplug_times_out_and_loses_the_disk_at_power_off(
    env: tuple[LibvirtDriver, Api, LibvirtConfig],
) -> None:
    """Nothing boots from a blank disk: SeaBIOS never answers ACPI hot-unplug (nor ACPI shutdown)."""
    driver, api, cfg = env
    driver.disks.detach_timeout = 2.0
    # SeaBIOS ignores the ACPI shutdown too: a short deadline before the destroy.
    driver.resolver = ApiResolver(api, plan_settings(dataclasses.replace(cfg, shutdown_timeout=2.0)))  # type: ignore[arg-type]
    guest = Guest(driver, "blank")
    api.volume("blank-root", 1)
    api.volume("scratch", 1)
    guest.server["spec"]["volumes"] = [{"volume": "scratch"}]
    assert await guest.ensure() == GuestPhase.RUNNING
    guest.server["spec"]["volumes"] = []
    started = time.monotonic()
    with pytest.raises(DiskDetachTimeout, match="did not release disk vdb"):
        await guest.ensure()
    took = time.monotonic() - started
    print(f"\ndetach from a guest ignoring it: DiskDetachTimeout after {took:.1f} s")
    assert took >= 2.0
    assert [d.target_dev for d in guest.xml().disks if d.device == "disk" and not d.readonly] == [
        "vda",
        "vdb",
    ]  # still live
    assert [
        d.target_dev for d in guest.xml(inactive=True).disks if d.device == "disk" and not d.readonly
    ] == ["vda"]
    assert [type(a).__name__ for a in await guest.pending()] == ["Detach", "Own"]  # the live side left
    with pytest.raises(DiskDetachTimeout):
        await guest.ensure()  # asked again, still ignored
    # Powered off (the deadline destroys it): the disk went with the QEMU; nothing left to do.
    assert await guest.ensure(power_on=False) == GuestPhase.STOPPED
    assert [d.target_dev for d in guest.xml().disks if d.device == "disk" and not d.readonly] == ["vda"]
    assert await guest.ensure() == GuestPhase.RUNNING
    assert await guest.pending() == []
    meta = guest.xml().metadata
    assert meta is not None and meta.disks is not None and len(meta.disks) == 1

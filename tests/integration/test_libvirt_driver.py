"""The libvirt driver against a real, private libvirtd (QEMU with TCG): diskless guests, which sit in
SeaBIOS and so ignore ACPI shutdown requests, which is exactly what the power-off deadline is for."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import libvirt
import pytest

from controllers.scheduling import Resources
from hostd.drivers.base import GuestPhase, GuestSpec
from hostd.drivers.libvirt import ForeignDomainError, LibvirtDriver
from hostd.guest_devices import CrashPolicy, PowerPolicy
from hostd.libvirt.builders import domain_name
from hostd.libvirt.config import GuestDomain
from hostd.libvirt.resolver import ServerOnlyResolver
from hostd.local_record import GuestRecord

from .libvirt_daemon import LibvirtDaemon

pytestmark = pytest.mark.integration

TINY = Resources(1, 64, 0)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LibvirtDaemon]:
    d = LibvirtDaemon(Path(tmp_path_factory.mktemp("libvirt")))
    try:
        d.start()
        yield d
    finally:
        d.stop()


class Wakes:
    """What the driver's on_event calls: counts, and lets a test wait for the next one."""

    def __init__(self) -> None:
        self.count = 0
        self.event = asyncio.Event()

    def __call__(self) -> None:
        self.count += 1
        self.event.set()


def make_driver(
    daemon: LibvirtDaemon, state: Path, wakes: Wakes | None = None, **power: object
) -> LibvirtDriver:
    driver = LibvirtDriver(daemon.uri, state, host="h1", virt_type="qemu", on_event=wakes)
    driver.resolver = ServerOnlyResolver(driver.console_dir, PowerPolicy(**power))  # type: ignore[arg-type]
    return driver


@pytest.fixture
async def driver(daemon: LibvirtDaemon, tmp_path: Path) -> AsyncIterator[LibvirtDriver]:
    d = make_driver(daemon, tmp_path / "state", Wakes(), shutdown_timeout=2.0)
    yield d
    for uid in await d.list_guests():
        await d.destroy_guest(uid)
    d.close()


def spec(
    uid: str | None = None, power_on: bool = True, name: str = "web", resources: Resources = TINY
) -> GuestSpec:
    server = {"metadata": {"uid": uid, "name": name, "namespace": "demo"}, "spec": {"flavor": "tiny"}}
    return GuestSpec(uid or str(uuid.uuid4()), f"demo/{name}", resources, power_on, server)


def conn(daemon: LibvirtDaemon) -> libvirt.virConnect:
    return libvirt.open(daemon.uri)


async def test_create_runs_a_marked_domain(daemon: LibvirtDaemon, driver: LibvirtDriver) -> None:
    s = spec()
    guest = await driver.ensure_guest(s)
    assert guest.phase == GuestPhase.RUNNING and guest.boot_time
    dom = conn(daemon).lookupByUUIDString(s.uid)
    assert dom.name() == domain_name(s.uid) and dom.isActive()
    read = GuestDomain.from_string(dom.XMLDesc(0))
    assert read.virt_type == "qemu" and read.vcpus == 1 and read.memory_kib == 64 * 1024
    assert read.metadata is not None
    assert (read.metadata.uid, read.metadata.consumer, read.metadata.host) == (s.uid, "demo/web", "h1")
    assert read.metadata.flavor == "tiny" and read.metadata.resources == TINY
    assert read.serials[0].path == str(driver.console_dir / f"{s.uid}.log")
    assert (driver.console_dir / f"{s.uid}.log").exists()
    listed = await driver.list_guests()
    assert listed[s.uid].phase == GuestPhase.RUNNING and listed[s.uid].consumer == "demo/web"
    # Ensuring again changes nothing: the same QEMU keeps running.
    pid = daemon.qemu_pid(domain_name(s.uid))
    assert (await driver.ensure_guest(s)).phase == GuestPhase.RUNNING
    assert daemon.qemu_pid(domain_name(s.uid)) == pid


async def test_power_off_destroys_a_guest_that_ignores_acpi_at_the_deadline(
    daemon: LibvirtDaemon, driver: LibvirtDriver
) -> None:
    s = spec()
    await driver.ensure_guest(s)
    started = time.monotonic()
    guest = await driver.ensure_guest(spec(s.uid, power_on=False))
    took = time.monotonic() - started
    assert guest.phase == GuestPhase.STOPPED
    assert 2.0 <= took < 8.0, took  # waited for ACPI until the deadline (2 s), then destroyed
    dom = conn(daemon).lookupByUUIDString(s.uid)
    assert dom.state()[0] == libvirt.VIR_DOMAIN_SHUTOFF and dom.isPersistent()
    record = driver.record.get(s.uid)
    assert record is not None and record.shutdown_deadline is None
    assert (await driver.list_guests())[s.uid].phase == GuestPhase.STOPPED
    # Power on again.
    assert (await driver.ensure_guest(s)).phase == GuestPhase.RUNNING
    assert dom.isActive()


async def test_power_off_deadline_survives_a_restart(daemon: LibvirtDaemon, driver: LibvirtDriver) -> None:
    """A hostd that died while waiting finds the recorded deadline (here already past) and keeps it, instead
    of granting the guest a new grace period (60 s in this plan)."""
    s = spec()
    await driver.ensure_guest(s)
    driver.record.update(s.uid, shutdown_deadline=time.time() - 1)
    restarted = make_driver(daemon, driver.state_dir, shutdown_timeout=60.0)
    started = time.monotonic()
    guest = await restarted.ensure_guest(spec(s.uid, power_on=False))
    assert guest.phase == GuestPhase.STOPPED
    assert time.monotonic() - started < 3.0
    restarted.close()


async def test_reboot(daemon: LibvirtDaemon, driver: LibvirtDriver) -> None:
    s = spec()
    await driver.ensure_guest(s)
    name = domain_name(s.uid)
    first = daemon.qemu_pid(name)
    guest = await driver.reboot_guest(s.uid, hard=True)
    assert guest.phase == GuestPhase.RUNNING
    second = daemon.qemu_pid(name)
    assert second != first
    daemon.wait_gone(first)
    started = time.monotonic()
    guest = await driver.reboot_guest(s.uid, hard=False, timeout=1.0)  # ACPI ignored: destroyed at 1 s
    assert guest.phase == GuestPhase.RUNNING and time.monotonic() - started >= 1.0
    assert daemon.qemu_pid(name) != second


async def test_crash_is_reported_and_restarted_by_policy(
    daemon: LibvirtDaemon, driver: LibvirtDriver
) -> None:
    wakes = driver.on_event
    assert isinstance(wakes, Wakes)
    s = spec()
    await driver.ensure_guest(s)
    name = domain_name(s.uid)
    await asyncio.sleep(0.2)
    wakes.event.clear()
    pid = daemon.qemu_pid(name)
    os.kill(pid, signal.SIGKILL)
    await asyncio.wait_for(wakes.event.wait(), 10)  # the lifecycle event woke hostd
    assert any(u == s.uid and e == libvirt.VIR_DOMAIN_EVENT_STOPPED for u, e, _ in driver.events)
    assert (await driver.list_guests())[s.uid].phase == GuestPhase.CRASHED
    # Policy StayDown: ensure leaves it crashed (for someone to look at).
    driver.resolver = ServerOnlyResolver(driver.console_dir, PowerPolicy(on_crash=CrashPolicy.STAY_DOWN))
    assert (await driver.ensure_guest(s)).phase == GuestPhase.CRASHED
    assert not conn(daemon).lookupByUUIDString(s.uid).isActive()
    # Policy Restart: started again.
    driver.resolver = ServerOnlyResolver(driver.console_dir, PowerPolicy(on_crash=CrashPolicy.RESTART))
    assert (await driver.ensure_guest(s)).phase == GuestPhase.RUNNING
    assert daemon.qemu_pid(name) != pid


async def test_resize_redefines_and_restarts(daemon: LibvirtDaemon, driver: LibvirtDriver) -> None:
    s = spec()
    await driver.ensure_guest(s)
    pid = daemon.qemu_pid(domain_name(s.uid))
    bigger = Resources(2, 96, 0)
    guest = await driver.ensure_guest(spec(s.uid, resources=bigger))
    assert guest.phase == GuestPhase.RUNNING and guest.resources == bigger
    assert daemon.qemu_pid(domain_name(s.uid)) != pid
    dom = conn(daemon).lookupByUUIDString(s.uid)
    read = GuestDomain.from_string(dom.XMLDesc(0))
    assert (read.vcpus, read.memory_kib) == (2, 96 * 1024)
    assert (await driver.list_guests())[s.uid].resources == bigger
    # Stopped: resized without being started.
    await driver.ensure_guest(spec(s.uid, power_on=False, resources=bigger))
    guest = await driver.ensure_guest(spec(s.uid, power_on=False, resources=TINY))
    assert guest.phase == GuestPhase.STOPPED and guest.resources == TINY and not dom.isActive()


UNMARKED = """<domain type='qemu'><name>{name}</name><uuid>{uuid}</uuid><memory unit='MiB'>64</memory>
<vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>"""


async def test_unmarked_domains_are_never_touched(daemon: LibvirtDaemon, driver: LibvirtDriver) -> None:
    c = conn(daemon)
    foreign_uid = str(uuid.uuid4())
    foreign = c.defineXML(UNMARKED.format(name=f"someone-else-{foreign_uid[:8]}", uuid=foreign_uid))
    foreign.create()
    try:
        ours = spec()
        await driver.ensure_guest(ours)
        listed = await driver.list_guests()
        assert ours.uid in listed and foreign_uid not in listed
        with pytest.raises(ForeignDomainError):
            await driver.destroy_guest(foreign_uid)
        with pytest.raises(ForeignDomainError):
            await driver.ensure_guest(spec(foreign_uid, power_on=False))
        assert foreign.isActive() and foreign.isPersistent()
        # Destroying ours removes only ours: its domain, console log and record.
        other = spec()
        await driver.ensure_guest(other)
        log = driver.console_dir / f"{ours.uid}.log"
        assert log.exists()
        await driver.destroy_guest(ours.uid)
        with pytest.raises(libvirt.libvirtError):
            c.lookupByUUIDString(ours.uid)
        assert not log.exists() and driver.record.get(ours.uid) is None
        assert c.lookupByUUIDString(other.uid).isActive()
        assert foreign.isActive()
        assert set(await driver.list_guests()) == {other.uid}
        await driver.destroy_guest(ours.uid)  # idempotent
    finally:
        foreign.destroy()
        foreign.undefine()


async def test_a_restarted_driver_adopts_its_guests_and_lists_orphans(
    daemon: LibvirtDaemon, driver: LibvirtDriver
) -> None:
    a, b = spec(name="a"), spec(name="b")
    await driver.ensure_guest(a)
    await driver.ensure_guest(spec(b.uid, power_on=False, name="b"))
    pid = daemon.qemu_pid(domain_name(a.uid))
    before = await driver.list_guests()
    driver.close()
    # hostd restarted (a new driver on the same state directory); a crash also left a record of a guest
    # whose domain was never defined.
    c = str(uuid.uuid4())
    restarted = make_driver(daemon, driver.state_dir, shutdown_timeout=2.0)
    restarted.record.put(GuestRecord(c, "demo/c", TINY, domain_name(c)))
    guests = await restarted.list_guests()
    assert guests[a.uid] == before[a.uid] and guests[a.uid].phase == GuestPhase.RUNNING
    assert guests[b.uid].phase == GuestPhase.STOPPED
    assert guests[c].phase == GuestPhase.STOPPED
    assert (await restarted.ensure_guest(a)).phase == GuestPhase.RUNNING
    assert daemon.qemu_pid(domain_name(a.uid)) == pid  # adopted, not recreated
    assert await restarted.orphans({a.uid}) == sorted([b.uid, c])
    assert [r.uid for r in restarted.record.orphans({a.uid, b.uid})] == [c]
    await restarted.destroy_guest(c)
    assert restarted.record.get(c) is None
    # A record lost with the crash: the domain's own mark is enough to adopt it.
    restarted.record.remove(a.uid)
    assert (await restarted.list_guests())[a.uid].phase == GuestPhase.RUNNING
    driver._conn_obj = None  # the fixture's clean-up uses the original driver: let it reconnect
    restarted.close()


async def test_a_libvirtd_restart_keeps_guests(daemon: LibvirtDaemon, driver: LibvirtDriver) -> None:
    s = spec()
    await driver.ensure_guest(s)
    pid = daemon.qemu_pid(domain_name(s.uid))
    daemon.restart_libvirtd()
    assert (await driver.list_guests())[s.uid].phase == GuestPhase.RUNNING  # reconnected
    assert daemon.qemu_pid(domain_name(s.uid)) == pid


async def test_host_capacity_and_health(daemon: LibvirtDaemon, driver: LibvirtDriver, tmp_path: Path) -> None:
    assert driver.data_plane() == {"libvirt": "Ready"}
    cap = driver.capacity()
    assert cap.vcpus == os.cpu_count()
    assert cap.ram_mib > 1024 and cap.disk_gib > 0
    gone = LibvirtDriver(
        f"qemu:///system?socket={tmp_path / 'none'}",
        tmp_path / "s2",
        fallback_capacity=Resources(4, 8192, 10),
    )
    assert gone.data_plane() == {"libvirt": "NotReady"}
    assert gone.capacity() == Resources(4, 8192, 10)

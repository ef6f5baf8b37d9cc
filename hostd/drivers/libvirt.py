"""The libvirt driver: guests are persistent libvirt domains (QEMU, KVM or TCG), one per Server.

- The domain's UUID is the Server's uid and its name kumulus-<uid>; it carries the Kumulus metadata
  (hostd/libvirt/config_metadata.py). Only marked domains are listed, changed or destroyed: a domain
  without the mark is never touched, even one whose UUID is a Server's (ForeignDomainError).
- ensure_guest defines the domain if missing (XML from the resolver's plan, hostd/libvirt/builders.py),
  then starts it or powers it off: an ACPI shutdown, then a destroy at a deadline kept in the local record,
  so that a hostd restarted meanwhile keeps the same deadline instead of granting a new one.
- A resize (spec.resources differing from the domain's) powers the guest off, defines it again from the
  plan and starts it again if it should run.
- Disks follow the plan's Volumes without a restart (hostd/drivers/libvirt_disks.py): a new one is attached
  live and persistently, a removed one detached (once the guest has released it), a grown one resized; only
  disks listed in the domain's mark as ours are ever detached, never the boot disk or the config drive.
  A guest being powered off gets the change in its definition only, after it stopped. The guest's state
  shows its Volumes (hostd/drivers/libvirt_volumes.py), which hostd compares with the Server's.
- A guest whose QEMU died is Crashed (libvirt's shut-off reason); ensure_guest starts it again only when the
  plan's crash policy says Restart. Lifecycle events arrive on libvirt's event-loop thread and wake hostd
  (`on_event`); the next list_guests is what reports them (level-based: events only make it sooner).
- Every domain, config drive and console log is written to the local record (hostd/local_record.py) before
  it is made, so what a crash leaves behind is found (`orphans`) and removed by destroy_guest.
- Nothing here destroys a guest on its own initiative: only destroy_guest and the power-off deadline do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import threading
import time
from collections.abc import Callable, Set
from pathlib import Path
from typing import Any, TypeVar

import libvirt

from controllers.conditions import now
from controllers.scheduling import Resources

from ..guest_devices import CrashPolicy, GuestPlan
from ..libvirt.builders import DomainSettings, domain_config, domain_name, wanted_disks
from ..libvirt.config_metadata import NAMESPACE, KumulusMetadata
from ..libvirt.resolver import Resolver, ServerOnlyResolver
from ..local_record import GuestRecord, LocalRecord
from .base import GuestPhase, GuestSpec, GuestState
from .libvirt_disks import DiskSync
from .libvirt_volumes import guest_volumes

log = logging.getLogger("hostd.libvirt")

T = TypeVar("T")
SHUTDOWN_RESEND = 10.0  # seconds between ACPI shutdown requests (a guest may miss the first, as in Nova)
POLL = 0.2  # seconds between state checks while waiting for a guest to stop
CONSOLE_LOG = "consoleLog"
CONFIG_DRIVE = "configDrive"

_RUNNING_STATES = {
    libvirt.VIR_DOMAIN_RUNNING,
    libvirt.VIR_DOMAIN_BLOCKED,
    libvirt.VIR_DOMAIN_PAUSED,
    libvirt.VIR_DOMAIN_SHUTDOWN,  # being shut down: still running
    libvirt.VIR_DOMAIN_PMSUSPENDED,
}
_CRASH_REASONS = {libvirt.VIR_DOMAIN_SHUTOFF_CRASHED, libvirt.VIR_DOMAIN_SHUTOFF_FAILED}


class ForeignDomainError(RuntimeError):
    """A domain with the Server's UUID exists but is not marked as Kumulus's: hostd leaves it alone."""


def phase_of(state: int, reason: int) -> GuestPhase:
    """libvirt's (state, reason) as a guest phase."""
    if state in _RUNNING_STATES:
        return GuestPhase.RUNNING
    if state == libvirt.VIR_DOMAIN_CRASHED:
        return GuestPhase.CRASHED
    if state == libvirt.VIR_DOMAIN_SHUTOFF:
        return GuestPhase.CRASHED if reason in _CRASH_REASONS else GuestPhase.STOPPED
    return GuestPhase.BUILDING  # NOSTATE: being created


def _is(exc: libvirt.libvirtError, *codes: int) -> bool:
    return exc.get_error_code() in codes


# -- libvirt's event loop: one thread per process, registered before the first connection ----------------

_event_loop_lock = threading.Lock()
_event_loop_started = False


def start_event_loop() -> None:
    global _event_loop_started
    with _event_loop_lock:
        if _event_loop_started:
            return
        libvirt.virEventRegisterDefaultImpl()
        # libvirt prints every error to stderr by default; they are raised as libvirtError and handled.
        libvirt.registerErrorHandler(lambda _ctx, _err: None, None)

        def run() -> None:
            while True:
                libvirt.virEventRunDefaultImpl()

        threading.Thread(target=run, name="libvirt-events", daemon=True).start()
        _event_loop_started = True


class LibvirtDriver:
    name = "libvirt"

    def __init__(
        self,
        uri: str,
        state_dir: Path,
        host: str | None = None,
        virt_type: str = "kvm",
        resolver: Resolver | None = None,
        on_event: Callable[[], None] | None = None,
        fallback_capacity: Resources | None = None,
        detach_timeout: float = 60.0,
    ) -> None:
        self.uri = uri
        self.state_dir = state_dir
        self.console_dir = state_dir / "console"
        self.settings = DomainSettings(virt_type=virt_type, host=host)
        self.record = LocalRecord(state_dir / "records")
        self.resolver: Resolver = resolver or ServerOnlyResolver(self.console_dir)
        self.on_event = on_event
        self.events: list[tuple[str, int, int]] = []  # (uid, event, detail), newest last; for logs/tests
        self._capacity = fallback_capacity or Resources()
        self._conn_obj: libvirt.virConnect | None = None
        self._conn_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.disks = DiskSync(detach_timeout)
        start_event_loop()

    # -- connection -----------------------------------------------------------------------------------

    def _conn(self) -> libvirt.virConnect:
        with self._conn_lock:
            conn = self._conn_obj
            if conn is not None and conn.isAlive():
                return conn
            conn = libvirt.open(self.uri)
            conn.setKeepAlive(5, 3)  # notice a dead libvirtd within ~15 s
            conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._lifecycle, None)
            for event, failed in (
                (libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED, False),
                (libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_REMOVAL_FAILED, True),
            ):
                conn.domainEventRegisterAny(None, event, self._device_removed, failed)
            self._conn_obj = conn
            return conn

    def close(self) -> None:
        with self._conn_lock:
            if self._conn_obj is not None:
                with contextlib.suppress(libvirt.libvirtError):
                    self._conn_obj.close()
                self._conn_obj = None

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        """A blocking libvirt call, off the event loop."""
        self._loop = asyncio.get_running_loop()
        return await asyncio.to_thread(fn, *args)

    def _lifecycle(self, _conn: Any, dom: Any, event: int, detail: int, _opaque: Any) -> None:
        """On libvirt's event thread: note the event and wake hostd, which relists."""
        name = dom.name()
        if not name.startswith(domain_name("")):
            return
        uid = dom.UUIDString()
        self.events.append((uid, event, detail))
        del self.events[:-1000]
        if event == libvirt.VIR_DOMAIN_EVENT_STOPPED and detail in (
            libvirt.VIR_DOMAIN_EVENT_STOPPED_CRASHED,
            libvirt.VIR_DOMAIN_EVENT_STOPPED_FAILED,
        ):
            log.warning("guest %s crashed", uid)
        loop, wake = self._loop, self.on_event
        if loop is not None and wake is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wake)

    def _device_removed(self, _conn: Any, dom: Any, alias: str, failed: bool) -> None:
        """On libvirt's event thread: a device left one of our domains (or the guest refused): a detach
        waiting on it looks again."""
        if dom.name().startswith(domain_name("")):
            self.disks.device_event(dom.UUIDString(), alias, failed)

    # -- host -----------------------------------------------------------------------------------------

    def capacity(self) -> Resources:
        """From the host (libvirt's node info, the state directory's file system); the last known value
        when libvirtd does not answer."""
        try:
            info = self._conn().getInfo()  # [model, memory MiB, cpus, mhz, nodes, sockets, cores, threads]
            disk = shutil.disk_usage(self.state_dir).total // 2**30
            self._capacity = Resources(int(info[2]), int(info[1]), int(disk))
        except (libvirt.libvirtError, OSError) as exc:
            log.warning("capacity: libvirt does not answer: %s", exc)
        return self._capacity

    def data_plane(self) -> dict[str, str]:
        try:
            self._conn().getLibVersion()
            return {"libvirt": "Ready"}
        except libvirt.libvirtError:
            return {"libvirt": "NotReady"}

    # -- domains --------------------------------------------------------------------------------------

    def _marked(self, dom: libvirt.virDomain) -> KumulusMetadata | None:
        try:
            xml = dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, NAMESPACE, 0)
        except libvirt.libvirtError as exc:
            if _is(exc, libvirt.VIR_ERR_NO_DOMAIN_METADATA, libvirt.VIR_ERR_NO_DOMAIN):
                return None
            raise
        meta = KumulusMetadata.from_string(xml)
        return meta if meta.uid == dom.UUIDString() else None

    def _lookup(self, uid: str) -> tuple[libvirt.virDomain, KumulusMetadata] | None:
        """Our domain for `uid`, None if there is none; ForeignDomainError if it is not ours."""
        try:
            dom = self._conn().lookupByUUIDString(uid)
        except libvirt.libvirtError as exc:
            if _is(exc, libvirt.VIR_ERR_NO_DOMAIN):
                return None
            raise
        meta = self._marked(dom)
        if meta is None:
            raise ForeignDomainError(f"domain {dom.name()} ({uid}) is not marked as Kumulus's: left alone")
        return dom, meta

    def _observe(self, dom: libvirt.virDomain, meta: KumulusMetadata) -> GuestState:
        state, reason = dom.state()
        record = self.record.get(meta.uid)
        return GuestState(
            meta.uid,
            meta.consumer,
            meta.resources,
            phase_of(state, reason),
            boot_time=record.boot_time if record else None,
            volumes=guest_volumes(dom, meta.disks),
        )

    def _list(self) -> dict[str, GuestState]:
        out = {}
        for dom in self._conn().listAllDomains(0):
            try:
                meta = self._marked(dom)
                if meta is not None:
                    out[meta.uid] = self._observe(dom, meta)
            except libvirt.libvirtError as exc:
                if not _is(exc, libvirt.VIR_ERR_NO_DOMAIN):  # undefined meanwhile
                    raise
        return out

    async def list_guests(self) -> dict[str, GuestState]:
        guests = await self._call(self._list)
        # What a crash left half made (recorded, no domain yet) shows as a stopped guest: a Server that
        # still wants it gets it created, and one that does not gets it cleaned up by destroy_guest.
        for record in self.record:
            if record.uid not in guests:
                guests[record.uid] = GuestState(
                    record.uid, record.consumer, record.resources, GuestPhase.STOPPED
                )
        return guests

    async def orphans(self, wanted: Set[str]) -> list[str]:
        """Uids of guests (domains or records) that no wanted Server owns."""
        return sorted(uid for uid in await self.list_guests() if uid not in wanted)

    # -- ensure ---------------------------------------------------------------------------------------

    async def ensure_guest(self, spec: GuestSpec) -> GuestState:
        plan = await self.resolver(spec)
        found = await self._call(self._lookup, spec.uid)
        if found is None:
            found = await self._define(plan)
        dom, meta = found
        if meta.resources != plan.resources:
            dom, meta = await self._resize(dom, meta, plan)
        guest = await self._call(self._observe, dom, meta)
        stopping = not spec.power_on and guest.phase not in (GuestPhase.STOPPED, GuestPhase.CRASHED)
        if not stopping:
            # Live and persistent on a running guest; persistent only on a stopped one (it boots with them).
            meta = await self.disks.sync(dom, meta, wanted_disks(plan))
            guest = await self._call(self._observe, dom, meta)  # with its disks as they are now
        if spec.power_on:
            if guest.phase == GuestPhase.RUNNING:
                self.record.update(spec.uid, shutdown_deadline=None)
                return guest
            if guest.phase == GuestPhase.CRASHED and plan.power.on_crash == CrashPolicy.STAY_DOWN:
                return guest
            return await self._start(dom, meta)
        if not stopping:
            self.record.update(spec.uid, shutdown_deadline=None)
            return guest
        await self._power_off(dom, meta, plan.power.shutdown_timeout)
        await self.disks.sync(dom, meta, wanted_disks(plan))  # no hot-unplug to wait for: it is off now
        return await self._call(self._observe, dom, meta)

    async def _define(self, plan: GuestPlan) -> tuple[libvirt.virDomain, KumulusMetadata]:
        created = now()
        files = {}
        if plan.console_log:
            files[CONSOLE_LOG] = plan.console_log
        if plan.config_drive:
            files[CONFIG_DRIVE] = plan.config_drive
        existing = self.record.get(plan.uid)
        # Intent first: once this is durable, whatever follows can be found after a crash.
        self.record.put(
            GuestRecord(
                uid=plan.uid,
                consumer=plan.consumer,
                resources=plan.resources,
                domain=domain_name(plan.uid),
                files={**(existing.files if existing else {}), **files},
                created=existing.created if existing and existing.created else created,
                boot_time=existing.boot_time if existing else None,
            )
        )
        if plan.console_log:
            Path(plan.console_log).parent.mkdir(parents=True, exist_ok=True)
        domain = domain_config(plan, self.settings, created)
        dom = await self._call(self._conn().defineXML, domain.to_string())
        assert domain.metadata is not None
        log.info("defined %s for %s", domain.name, plan.consumer)
        return dom, domain.metadata

    async def _resize(
        self, dom: libvirt.virDomain, meta: KumulusMetadata, plan: GuestPlan
    ) -> tuple[libvirt.virDomain, KumulusMetadata]:
        """An approved resize: power the guest off (ACPI, then the deadline) and define it again from the
        plan; ensure_guest then starts it again if it should run."""
        log.info("resizing %s from %s to %s", dom.name(), meta.resources, plan.resources)
        if await self._call(dom.isActive):
            await self._power_off(dom, meta, plan.power.shutdown_timeout)
        domain = domain_config(plan, self.settings, meta.created)
        dom = await self._call(self._conn().defineXML, domain.to_string())
        self._record(meta, resources=plan.resources)
        assert domain.metadata is not None
        return dom, domain.metadata

    async def _start(self, dom: libvirt.virDomain, meta: KumulusMetadata) -> GuestState:
        await self._call(dom.create)
        self._record(meta, boot_time=now(), shutdown_deadline=None)
        log.info("started %s (%s)", dom.name(), meta.consumer)
        return await self._call(self._observe, dom, meta)

    def _record(self, meta: KumulusMetadata, **changes: Any) -> None:
        """Update the guest's record, making one for a domain adopted without (its record was lost)."""
        if self.record.update(meta.uid, **changes) is None:
            self.record.put(
                GuestRecord(
                    meta.uid, meta.consumer, meta.resources, domain_name(meta.uid), created=meta.created
                ).with_changes(**changes)
            )

    async def _power_off(self, dom: libvirt.virDomain, meta: KumulusMetadata, timeout: float) -> None:
        """ACPI shutdown, then destroy at the deadline. The deadline is durable: a hostd restarted while
        waiting finds it in the record and keeps it."""
        record = self.record.get(meta.uid)
        deadline = record.shutdown_deadline if record and record.shutdown_deadline else None
        if deadline is None:
            deadline = time.time() + timeout
            self._record(meta, shutdown_deadline=deadline)
        next_request = 0.0
        while time.time() < deadline:
            if not await self._call(dom.isActive):
                break
            if time.monotonic() >= next_request:
                try:
                    await self._call(dom.shutdown)
                except libvirt.libvirtError as exc:
                    if not _is(exc, libvirt.VIR_ERR_OPERATION_INVALID):  # stopped meanwhile
                        raise
                next_request = time.monotonic() + SHUTDOWN_RESEND
            await asyncio.sleep(min(POLL, max(0.0, deadline - time.time())))
        if await self._call(dom.isActive):
            log.info("%s ignored the ACPI shutdown: destroying it at its deadline", dom.name())
            await self._destroy_domain(dom)
        self._record(meta, shutdown_deadline=None)

    async def _destroy_domain(self, dom: libvirt.virDomain) -> None:
        try:
            await self._call(dom.destroy)
        except libvirt.libvirtError as exc:
            if not _is(exc, libvirt.VIR_ERR_OPERATION_INVALID):  # not running any more
                raise

    async def reboot_guest(self, uid: str, hard: bool = False, timeout: float = 60.0) -> GuestState:
        """Soft: ACPI shutdown, destroy at the deadline, start (Nova's soft reboot). Hard: destroy, start."""
        found = await self._call(self._lookup, uid)
        if found is None:
            raise LookupError(f"no guest {uid}")
        dom, meta = found
        if hard:
            await self._destroy_domain(dom)
        else:
            await self._power_off(dom, meta, timeout)
        return await self._start(dom, meta)

    def console_log(self, uid: str) -> str | None:
        """The serial console's log file, as recorded when the domain was defined (None: no record)."""
        record = self.record.get(uid)
        return record.files.get(CONSOLE_LOG) if record else None

    # -- destroy --------------------------------------------------------------------------------------

    async def destroy_guest(self, uid: str) -> None:
        """Destroy and undefine our domain, then remove the files recorded for it (console log, config
        drive: the Server is gone, nothing can read them through the API any more) and the record."""
        found = await self._call(self._lookup, uid)
        if found is not None:
            dom, meta = found
            await self._destroy_domain(dom)
            flags = (
                libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
                | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
                | libvirt.VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA
                | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM
            )
            try:
                await self._call(dom.undefineFlags, flags)
            except libvirt.libvirtError as exc:
                if not _is(exc, libvirt.VIR_ERR_NO_DOMAIN):
                    raise
            log.info("destroyed %s (%s)", dom.name(), meta.consumer)
        record = self.record.get(uid)
        if record is not None:
            for kind, path in record.files.items():
                self._remove_owned(Path(path))
                if kind == CONFIG_DRIVE:  # hostd/configdrive.py keeps the content's digest beside it
                    self._remove_owned(Path(path + ".digest"))
        self.record.remove(uid)

    def _remove_owned(self, path: Path) -> None:
        """Remove a recorded file, only inside hostd's state directory (never someone else's file)."""
        if not path.resolve().is_relative_to(self.state_dir.resolve()):
            log.warning("not removing %s: outside %s", path, self.state_dir)
            return
        path.unlink(missing_ok=True)

"""Applying a domain's disk changes (planned by hostd/libvirt/disk_changes.py) through libvirt: attach,
detach, grow, and the list of our disks in the domain's Kumulus mark. The libvirt driver calls `sync` from
ensure_guest: on a running guest the changes are live and persistent, on a stopped one persistent only.

A running guest's disk is detached only when the guest lets go of it (ACPI PCI hot-unplug): libvirt
returns once QEMU has asked, the disk leaves the live XML when the guest has ejected it, and libvirt then
emits VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED (or ..._REMOVAL_FAILED when the guest refuses). The wait polls
the live XML, the truth, and the events only end it sooner. Past `detach_timeout` DiskDetachTimeout is
raised: the agent retries ensure_guest later, and the plan then asks only for the live detach still
pending (the persistent definition no longer has the disk).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time

import libvirt

from ..libvirt.config_metadata import NAMESPACE, PREFIX, KumulusMetadata
from ..libvirt.disk_changes import (
    Attach,
    Detach,
    DiskView,
    Grow,
    Own,
    WantedDisk,
    alias_of,
    key_of,
    plan_disks,
    view_of,
)

log = logging.getLogger("hostd.libvirt")

DETACH_POLL = 0.5  # seconds between looks at the live XML while a detach is pending (events end it sooner)


class DiskDetachTimeout(RuntimeError):
    """The guest did not release a disk in time (it ignores ACPI hot-unplug, or is still booting)."""


class DiskDetachRefused(RuntimeError):
    """The guest refused to release a disk (libvirt's DEVICE_REMOVAL_FAILED)."""


def _flags(live: bool, config: bool) -> int:
    return (libvirt.VIR_DOMAIN_AFFECT_LIVE if live else 0) | (
        libvirt.VIR_DOMAIN_AFFECT_CONFIG if config else 0
    )


def observe(dom: libvirt.virDomain, sized: set[str]) -> tuple[DiskView, DiskView | None]:
    """The persistent definition's disks, and the live one's (with the capacity of the disks in `sized`,
    by key) when the domain runs. Blocking: call it off the event loop."""
    config = view_of(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    if not dom.isActive():
        return config, None
    live = view_of(dom.XMLDesc(0))
    sizes = {d.target_dev: int(dom.blockInfo(d.target_dev)[0]) for d in live.disks if key_of(d) in sized}
    return config, dataclasses.replace(live, sizes=sizes)


class DiskSync:
    def __init__(self, detach_timeout: float = 60.0) -> None:
        self.detach_timeout = detach_timeout
        self.removed: list[tuple[str, str, bool]] = []  # (uid, alias, failed), newest last; logs and tests
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakers: dict[str, asyncio.Event] = {}
        self._refused: dict[str, set[str]] = {}

    # -- libvirt's event thread -------------------------------------------------------------------------

    def device_event(self, uid: str, alias: str, failed: bool) -> None:
        """DEVICE_REMOVED / DEVICE_REMOVAL_FAILED of one of our domains: wake a detach waiting on it."""
        self.removed.append((uid, alias, failed))
        del self.removed[:-1000]
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._wake, uid, alias, failed)

    def _wake(self, uid: str, alias: str, failed: bool) -> None:
        if failed:
            self._refused.setdefault(uid, set()).add(alias)
        waker = self._wakers.get(uid)
        if waker is not None:
            waker.set()

    # -- sync -------------------------------------------------------------------------------------------

    async def sync(
        self, dom: libvirt.virDomain, meta: KumulusMetadata, wanted: tuple[WantedDisk, ...]
    ) -> KumulusMetadata:
        """Bring the domain's disks to `wanted`; returns the mark as it now is (its list of our disks)."""
        self._loop = asyncio.get_running_loop()
        sized = {w.key for w in wanted if w.size_bytes is not None}
        config, live = await asyncio.to_thread(observe, dom, sized)
        running = live is not None
        for action in plan_disks(wanted, meta.disks, config, live):
            if isinstance(action, Own):
                meta = dataclasses.replace(meta, disks=action.keys)
                await asyncio.to_thread(
                    dom.setMetadata,
                    libvirt.VIR_DOMAIN_METADATA_ELEMENT,
                    meta.to_plain_string(),
                    PREFIX,
                    NAMESPACE,
                    _flags(running, True),
                )
            elif isinstance(action, Attach):
                await asyncio.to_thread(
                    dom.attachDeviceFlags, action.disk.to_string(), _flags(action.live, action.config)
                )
                log.info("attached %s (%s) to %s", action.disk.target_dev, key_of(action.disk), dom.name())
            elif isinstance(action, Detach):
                await self._detach(dom, meta.uid, action)
            elif isinstance(action, Grow):
                await asyncio.to_thread(
                    dom.blockResize,
                    action.target_dev,
                    action.size_bytes,
                    libvirt.VIR_DOMAIN_BLOCK_RESIZE_BYTES,
                )
                log.info("grew %s of %s to %d bytes", action.target_dev, dom.name(), action.size_bytes)
        return meta

    async def _detach(self, dom: libvirt.virDomain, uid: str, action: Detach) -> None:
        dev, key = action.disk.target_dev, key_of(action.disk)
        alias = alias_of(await asyncio.to_thread(dom.XMLDesc, 0), dev) if action.live else None
        waker = self._wakers.setdefault(uid, asyncio.Event())
        waker.clear()
        if alias is not None:
            self._refused.get(uid, set()).discard(alias)
        started = time.monotonic()
        await asyncio.to_thread(
            dom.detachDeviceFlags, action.disk.to_string(), _flags(action.live, action.config)
        )
        if not action.live:
            log.info("detached %s (%s) from %s's definition", dev, key, dom.name())
            return
        deadline = started + self.detach_timeout
        while True:
            # The live XML of a domain stopped meanwhile is its definition, which no longer has the disk.
            still = any(key_of(d) == key for d in view_of(await asyncio.to_thread(dom.XMLDesc, 0)).disks)
            if not still:
                break
            if alias is not None and alias in self._refused.get(uid, set()):
                raise DiskDetachRefused(f"{dom.name()}: the guest refused to release disk {dev} ({key})")
            left = deadline - time.monotonic()
            if left <= 0:
                raise DiskDetachTimeout(
                    f"{dom.name()}: the guest did not release disk {dev} ({key}) within "
                    f"{self.detach_timeout:.0f} s (ACPI hot-unplug ignored?); retried later"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waker.wait(), min(DETACH_POLL, left))
            waker.clear()
        log.info("detached %s (%s) from %s in %.2f s", dev, key, dom.name(), time.monotonic() - started)

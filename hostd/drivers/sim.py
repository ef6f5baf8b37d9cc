"""The sim driver: guests are records in memory; starting one takes `boot_delay` seconds. A resize
(`spec.resources` differing from the guest's) is applied to the record at once, without a restart. A
reboot goes through Building for `boot_delay` and gets a new boot time; `reboots` lists them (uid, hard)
for tests and logs. The sim keeps no console log. A guest's Volumes are what it was last given
(`spec.volumes`, when hostd resolved them): attach, detach and grow are instant."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from controllers.conditions import now
from controllers.scheduling import Resources

from .base import GuestPhase, GuestSpec, GuestState


class SimDriver:
    name = "sim"

    def __init__(self, capacity: tuple[int, int, int], boot_delay: float = 0.5) -> None:
        self._capacity = Resources(*capacity)
        self.boot_delay = boot_delay
        self.guests: dict[str, GuestState] = {}
        self.reboots: list[tuple[str, bool]] = []

    def capacity(self) -> Resources:
        return self._capacity

    def data_plane(self) -> dict[str, str]:
        return {"libvirt": "Ready", "ovn": "Ready", "ceph": "Ready"}

    async def ensure_guest(self, spec: GuestSpec) -> GuestState:
        guest = self.guests.get(spec.uid)
        if guest is None:
            guest = GuestState(spec.uid, spec.consumer, spec.resources, GuestPhase.STOPPED)
        elif guest.resources != spec.resources:
            guest = replace(guest, resources=spec.resources)
        if spec.volumes is not None:
            guest = replace(guest, volumes=spec.volumes)
        if spec.power_on and guest.phase != GuestPhase.RUNNING:
            self.guests[spec.uid] = replace(guest, phase=GuestPhase.BUILDING)
            await asyncio.sleep(self.boot_delay)
            if spec.uid not in self.guests:  # destroyed while booting
                return replace(guest, phase=GuestPhase.STOPPED)
            guest = replace(guest, phase=GuestPhase.RUNNING, boot_time=now())
        elif not spec.power_on and guest.phase != GuestPhase.STOPPED:
            guest = replace(guest, phase=GuestPhase.STOPPED)
        self.guests[spec.uid] = guest
        return guest

    async def destroy_guest(self, uid: str) -> None:
        self.guests.pop(uid, None)

    async def list_guests(self) -> dict[str, GuestState]:
        return dict(self.guests)

    async def reboot_guest(self, uid: str, hard: bool = False, timeout: float = 60.0) -> GuestState:
        guest = self.guests.get(uid)
        if guest is None or guest.phase != GuestPhase.RUNNING:
            raise LookupError(f"no running guest {uid}")
        self.reboots.append((uid, hard))
        self.guests[uid] = replace(guest, phase=GuestPhase.BUILDING)
        await asyncio.sleep(self.boot_delay)
        if uid not in self.guests:  # destroyed while rebooting
            raise LookupError(f"guest {uid} was destroyed while rebooting")
        guest = replace(self.guests[uid], phase=GuestPhase.RUNNING, boot_time=now())
        self.guests[uid] = guest
        return guest

    def console_log(self, uid: str) -> str | None:
        return None

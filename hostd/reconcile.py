"""The heart of hostd, as a pure function: Servers assigned to the host (desired) and the driver's
guests (observed) in, the actions that bring them together out.

    actions = plan(desired, observed, host_info, busy)

- a guest no Server wants any more is destroyed (the Server was deleted, is being deleted, or moved);
- a Server without a guest is admitted if its placement still fits the host (`Placement.verify`, against
  the allocations of the guests the host runs), then created; if not, it is rejected (PlacementRejected)
  and the operator schedules it again. A Server hostd already reported (restart of a driver without
  persistent state) is adopted without a new check;
- an admitted Server whose VolumesReady or NetworkReady condition (the operator's) is not True gets no
  guest yet: the disk or the port it needs is missing. It is a `Wait` action (counted, logged, nothing
  written: the Server's conditions already say what it waits for), its room on the host is kept, and
  the guest is created once both are True;
- a guest whose power state differs from `spec.powerState` is started or stopped;
- a crashed guest (its QEMU died) is reported Crashed first (phase Error, powerState Crashed); once the
  Server shows it, it is started again if `restart_on_crash` (the default: the Server API has no policy field
  yet, so every Server gets it) and left crashed otherwise;
- a guest whose Volume disks differ from the Server's (`Desired.volumes`, resolved by the agent: the boot
  Volume and the attached Volumes the storage operator attached to it, with their status.sizeGiB) gets an
  `Ensure` carrying them: a Volume to attach, one to detach, or one grown (a disk smaller than its Volume;
  never shrunk). The driver applies it live on a running guest. Unknown on either side (None) is no change;
- a resize the operator approved (`status.resizeFlavor`, with its resources in `Desired.resize_to`) is
  applied to the guest (`Ensure` with the new resources), then reported with `status.flavor` set;
- a reboot request (`spec.reboot`) later than the last one served (`status.lastReboot`, or the one hostd
  served itself and has not read back yet: `Desired.served`) reboots a guest that runs and should run
  (`Reboot`); for a guest that does not run (none yet, powered off, crashed) there is nothing to reboot:
  the request is recorded as served with result NotRunning (`RecordReboot`), its next start being a fresh
  boot. A request already served is never served again, whatever restarts;
- a guest whose state the Server's status does not show yet is reported.

Uids in `busy` (an action in flight) are left alone. Once the actions are done and the reports written,
a second pass returns nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from controllers.compute_deps import NETWORK_READY, VOLUMES_READY
from controllers.conditions import find
from controllers.scheduling import Allocation, HostInfo, HostSnapshot, Placement, Resources

from .drivers.base import GuestPhase, GuestSpec, GuestState, GuestVolume
from .reboot import NOT_RUNNING, RebootRequest, is_pending, later, newest
from .status import guest_status, rejected_status, reported_crashed, started_before


@dataclass(frozen=True, slots=True)
class Desired:
    """A Server assigned to this host, reduced to what reconciling needs."""

    uid: str
    consumer: str  # "namespace/name"
    resources: Resources | None  # None while its Flavor is unknown
    power_on: bool = True
    zone: str | None = None
    status: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    server: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), compare=False)
    resize_to: Resources | None = None
    """The resources of an approved resize not applied yet (status.resizeFlavor's Flavor)."""
    restart_on_crash: bool = True
    """What to do with a crashed guest once reported (no Server field yet: always the default)."""
    reboot: RebootRequest | None = None
    """spec.reboot."""
    served: Mapping[str, Any] | None = None
    """The lastReboot of the last request hostd served (kept in memory while the Server is assigned here)."""
    volumes: tuple[GuestVolume, ...] | None = None
    """The guest's Volume disks (hostd/resolve_plan.py `wanted_volumes`); None: not known yet."""

    @classmethod
    def from_server(
        cls,
        server: Mapping[str, Any],
        resources: Resources | None,
        resize_to: Resources | None = None,
        served: Mapping[str, Any] | None = None,
        volumes: tuple[GuestVolume, ...] | None = None,
    ) -> Desired:
        meta = server["metadata"]
        status = server.get("status") or {}
        return cls(
            uid=meta["uid"],
            consumer=f"{meta.get('namespace', '')}/{meta['name']}",
            resources=resources,
            power_on=(server.get("spec") or {}).get("powerState", "On") != "Off",
            zone=status.get("zone"),
            status=status,
            server=server,
            resize_to=resize_to,
            reboot=RebootRequest.from_server(server),
            served=served,
            volumes=volumes,
        )

    @property
    def reboot_pending(self) -> bool:
        """Whether spec.reboot asks for a reboot not served yet."""
        return is_pending(self.reboot, newest(self.status.get("lastReboot"), self.served))

    @property
    def unreported_reboot(self) -> Mapping[str, Any] | None:
        """A request hostd served whose record the status read does not show yet."""
        return self.served if later(self.served, self.status.get("lastReboot")) else None

    @property
    def waiting_for(self) -> str | None:
        """Why the guest cannot be created yet (VolumesReady or NetworkReady not True), else None."""
        for kind in (VOLUMES_READY, NETWORK_READY):
            cond = find(list(self.status.get("conditions") or ()), kind)
            if cond is None or cond.get("status") != "True":
                reason = (cond or {}).get("reason") or f"no condition {kind}"
                message = (cond or {}).get("message")
                return f"{kind}: {reason}" + (f" ({message})" if message else "")
        return None

    def guest_spec(self, resources: Resources, power_on: bool) -> GuestSpec:
        """The GuestSpec of this Server with these resources and power state (and its Volumes)."""
        return GuestSpec(self.uid, self.consumer, resources, power_on, self.server, self.volumes)


def volume_changes(
    wanted: tuple[GuestVolume, ...] | None, observed: tuple[GuestVolume, ...] | None
) -> tuple[str, ...]:
    """What differs between the Volume disks a guest should have and those it has, in words (for logs):
    attach, detach, grow. Nothing when either side is unknown; a size only when both sides know it, and
    only a disk smaller than its Volume (disks are never shrunk)."""
    if wanted is None or observed is None:
        return ()
    want = {v.serial: v.size_bytes for v in wanted}
    have = {v.serial: v.size_bytes for v in observed}
    out = [f"attach {s}" for s in want if s not in have]
    out += [f"detach {s}" for s in have if s not in want]
    for serial, size in want.items():
        had = have.get(serial)
        if size is not None and had is not None and had < size:
            out.append(f"grow {serial} from {had} to {size} bytes")
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Ensure:
    spec: GuestSpec
    disks: tuple[str, ...] = ()
    """The Volume changes this Ensure is for (volume_changes), if it is for them: for the logs."""

    @property
    def uid(self) -> str:
        return self.spec.uid


@dataclass(frozen=True, slots=True)
class Destroy:
    uid: str


@dataclass(frozen=True, slots=True)
class Report:
    uid: str
    guest: GuestState
    resized: bool = False
    """The guest runs with the approved resize: report status.flavor too."""


@dataclass(frozen=True, slots=True)
class Reboot:
    """Reboot the running guest for `request`, then record it in status.lastReboot."""

    uid: str
    request: RebootRequest
    server: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), compare=False)


@dataclass(frozen=True, slots=True)
class RecordReboot:
    """Write `record` as status.lastReboot (a request served without a reboot, or one not written yet)."""

    uid: str
    record: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Wait:
    """No guest yet: what it needs is not ready (the Server's conditions say so; nothing is written)."""

    uid: str
    why: str


@dataclass(frozen=True, slots=True)
class Reject:
    uid: str
    message: str


Action = Ensure | Destroy | Report | Reject | Wait | Reboot | RecordReboot


def plan(
    desired: Mapping[str, Desired],
    observed: Mapping[str, GuestState],
    host: HostInfo | None,
    busy: Set[str] = frozenset(),
) -> list[Action]:
    actions: list[Action] = [
        Destroy(uid) for uid in sorted(observed) if uid not in desired and uid not in busy
    ]
    # Allocations on the host: its guests, then the Servers admitted in this pass.
    allocations = [
        Allocation(g.consumer, host.name if host else "", g.resources)
        for g in observed.values()
        if g.uid in desired
    ]
    for d in sorted(desired.values(), key=lambda d: d.consumer):
        if d.uid in busy:
            continue
        guest = observed.get(d.uid)
        building = guest is not None and guest.phase == GuestPhase.BUILDING
        if d.reboot is not None and d.reboot_pending and not building:
            if guest is not None and guest.phase == GuestPhase.RUNNING and d.power_on:
                actions.append(Reboot(d.uid, d.reboot, d.server))
                continue
            actions.append(RecordReboot(d.uid, d.reboot.record(NOT_RUNNING)))
        elif d.unreported_reboot is not None:
            actions.append(RecordReboot(d.uid, d.unreported_reboot))
        if guest is None:
            if d.resources is None or host is None:
                continue  # not enough known yet; a later pass decides
            if not started_before(d.status):
                placement = Placement(d.consumer, host.name, d.zone or host.zone, host.site, d.resources)
                refusal = placement.verify(HostSnapshot(host, tuple(allocations)))
                if refusal is not None:
                    if rejected_status(d.status, refusal) != d.status:
                        actions.append(Reject(d.uid, refusal))
                    continue
            allocations.append(Allocation(d.consumer, host.name, d.resources))
            why = d.waiting_for
            if why is not None:
                actions.append(Wait(d.uid, why))  # its room stays counted: it was admitted
                continue
            actions.append(Ensure(d.guest_spec(d.resources, d.power_on)))
            continue
        if guest.phase == GuestPhase.BUILDING:
            continue
        if guest.phase == GuestPhase.CRASHED and d.power_on:
            if not reported_crashed(d.status):
                actions.append(Report(d.uid, guest))  # tell first: a restart would hide the crash
            elif d.restart_on_crash:
                actions.append(Ensure(d.guest_spec(guest.resources, True)))
            continue
        resized = d.resize_to is not None and guest.resources == d.resize_to
        disks = volume_changes(d.volumes, guest.volumes)
        if d.resize_to is not None and not resized:
            actions.append(Ensure(d.guest_spec(d.resize_to, d.power_on)))
        elif guest.power_on != d.power_on:
            actions.append(Ensure(d.guest_spec(guest.resources, d.power_on)))
        elif disks:
            actions.append(Ensure(d.guest_spec(guest.resources, d.power_on), disks))
        elif guest_status(d.status, guest, resized=resized) != d.status:
            actions.append(Report(d.uid, guest, resized))
    return actions

"""What the compute operator does with one Server, or one Host's heartbeat, as data: pure and level-based.

    actions = plan_server(server, flavor, decide, group=group, excluded=hosts_that_refused,
                          volumes=volume_views, ports=port_views, resize_flavor=target, now=now)

The operator observes (a Server, the Flavor it runs with, its ServerGroup with where the other members
run, the views of the Volumes and Ports of its namespace, the Flavor a resize asks for), plans here, and
applies `ServerActions` in order: index bookkeeping (`release`, `allocate`, `exclude`), then ONE metadata
merge patch (the host label and our finalizer, with the resourceVersion read), then ONE status write (the
whole status, PUT with the resourceVersion), then the Events. Planning again on the result gives no
writes. The Server's life, as the operator sees it:

- not placed (no `status.host`): the Flavor is missing -> Scheduled=False FlavorNotFound; the
  ServerGroup is missing -> Scheduled=False ServerGroupNotFound; else `decide` (the scheduler) places
  it -> label + finalizer, then status phase Scheduled, host, zone, flavor, Scheduled=True Placed; or
  it fits nowhere -> phase Pending, Scheduled=False Unschedulable with the scheduler's message, tried
  again later. `decide` records the placement in the index at once (in flight), see the operator.
- hostd refused the placement (Scheduled=False PlacementRejected, `status.host` still set): placed
  again without that host (and the hosts that refused before); the label moves or is removed.
- placed: the allocation is (re)recorded, label and finalizer repaired.
- always: VolumesReady and NetworkReady (`controllers.compute_deps`) and `status.addresses` follow the
  Volumes and Ports, and Ready = Scheduled && VolumesReady && NetworkReady && Running (hostd writes
  Running, and Ready with it through `with_ready`, so a Server turning Running costs one write): True
  reason Running, else False with the reason of the first condition that is not True. All in the one
  status write, made only when something changed.
- resize (`spec.resize.flavor` differs from `status.flavor`, see `desired_flavor`): `decide` is asked
  about the Server's own host only (`ScheduleRequest.only_host`), its own allocation left out. It fits:
  `status.resizeFlavor` is set (Resized=False Resizing, phase Resizing) and the allocation becomes the
  larger of the old and new Flavor per resource until hostd applied it and set `status.flavor` (so the
  host is never overcommitted meanwhile). It does not fit: Resized=False ResizeUnschedulable with the
  scheduler's message, a Warning Event, the Server keeps running with its flavor (no cold migration).
  Removing `spec.resize` before hostd applied it cancels it.
- being deleted: the allocation is released and our finalizer removed (hostd destroys the guest).

Events are posted only for what users must act on or would otherwise miss: Warnings (Unschedulable,
FlavorNotFound, PlacementRejected..., ResizeUnschedulable, NotReady after Ready). A Server that goes
well costs no Event (each is an API write).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from controllers.compute_deps import (
    NETWORK_READY,
    VOLUMES_READY,
    PortView,
    VolumeView,
    addresses,
    network_ready,
    volumes_ready,
)
from controllers.conditions import changed, find, set_condition
from controllers.scheduling import Allocation, Decision, GroupInfo, Resources, ScheduleRequest

HOST_LABEL = "infra.kumulus.dev/host"
FINALIZER = "compute.kumulus.dev/server"
HEARTBEAT_LOST = "HeartbeatLost"
RESIZED = "Resized"
READY_PARTS = (
    ("Scheduled", "Scheduling"),
    (VOLUMES_READY, "WaitingForVolumes"),
    (NETWORK_READY, "WaitingForNetwork"),
    ("Running", "Starting"),
)
"""The conditions Ready is made of, in order, with the reason given while one is absent."""

Decide = Callable[[ScheduleRequest], Decision]
Obj = Mapping[str, Any]
NO_VOLUMES: Mapping[str, VolumeView] = {}
NO_PORTS: Mapping[str, PortView] = {}


@dataclass(frozen=True, slots=True)
class Event:
    """A Kubernetes Event to post on the object: type Normal or Warning."""

    type: str
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class ServerActions:
    release: bool = False
    """Forget the Server's allocation in the index."""
    allocate: Allocation | None = None
    """Record (or confirm) the Server's allocation in the index."""
    exclude: str | None = None
    """A host that refused the Server: never place it there again."""
    metadata: dict[str, Any] | None = None
    """A merge patch of the metadata (host label, finalizers), with the resourceVersion read."""
    status: dict[str, Any] | None = None
    """The whole new status, to write with the resourceVersion read."""
    events: tuple[Event, ...] = ()
    pending: bool = False
    """Not placed: plan again later (when Hosts or allocations change, and periodically)."""

    @property
    def writes(self) -> int:
        return (self.metadata is not None) + (self.status is not None)


def consumer(obj: Obj) -> str:
    """The allocation key of a Server: "namespace/name"."""
    meta = obj["metadata"]
    return f"{meta.get('namespace', '')}/{meta['name']}"


def flavor_name(server: Obj) -> str:
    """The Flavor the Server's allocation is sized by: the one it runs with, else the one it asks for."""
    return str((server.get("status") or {}).get("flavor") or server["spec"]["flavor"])


def desired_flavor(server: Obj) -> str:
    """The Flavor the user wants: `spec.resize.flavor` when set, else `spec.flavor` (immutable: a resize
    is asked for with spec.resize, as Nova's resize action; removing spec.resize goes back)."""
    spec = server["spec"]
    return str((spec.get("resize") or {}).get("flavor") or spec["flavor"])


def resize_flavor(server: Obj) -> str | None:
    """The Flavor of a resize the operator approved and hostd has not applied yet."""
    status = server.get("status") or {}
    target = status.get("resizeFlavor")
    return str(target) if target and target != status.get("flavor") else None


def resources(flavor: Obj) -> Resources:
    spec = flavor["spec"]
    return Resources(int(spec["vcpus"]), int(spec["ramMiB"]), int(spec.get("ephemeralGiB", 0)))


def larger(a: Resources, b: Resources) -> Resources:
    """Per resource, the larger amount: what a Server being resized holds on its host."""
    return Resources(max(a.vcpus, b.vcpus), max(a.ram_mib, b.ram_mib), max(a.disk_gib, b.disk_gib))


def allocation_of(server: Obj, flavor: Obj | None, resizing_to: Obj | None = None) -> Allocation | None:
    """What a placed Server takes on its host (None: not placed, or its Flavor is unknown); during an
    approved resize (`resizing_to`: the Flavor of status.resizeFlavor) the larger of both."""
    host = (server.get("status") or {}).get("host")
    if not host or flavor is None or (server["metadata"].get("deletionTimestamp")):
        return None
    amount = resources(flavor)
    if resizing_to is not None and resize_flavor(server):
        amount = larger(amount, resources(resizing_to))
    return Allocation(consumer(server), host, amount)


def is_rejected(status: Obj) -> bool:
    cond = find(status.get("conditions"), "Scheduled")
    return bool(
        status.get("host")
        and cond is not None
        and cond.get("status") == "False"
        and cond.get("reason") == "PlacementRejected"
    )


def ready_of(conditions: list[dict[str, Any]] | None) -> tuple[bool, str, str]:
    """Ready = Scheduled && VolumesReady && NetworkReady && Running: (status, reason, message)."""
    for kind, absent in READY_PARTS:
        cond = find(conditions, kind)
        if cond is None:
            return False, absent, f"waiting for condition {kind}"
        if cond.get("status") != "True":
            return False, str(cond.get("reason") or f"Not{kind}"), str(cond.get("message") or "")
    return True, "Running", ""


def with_ready(
    conditions: list[dict[str, Any]], generation: int | None, now: str | None
) -> tuple[list[dict[str, Any]], tuple[Event, ...]]:
    """The conditions with Ready derived from them, changed only when its status, reason or message
    changes (hostd uses it too, so whoever writes last leaves it right and the other has nothing to do);
    a Warning Event when it turns False from True."""
    ok, reason, message = ready_of(conditions)
    old = find(conditions, "Ready")
    text = "True" if ok else "False"
    if old is not None and (old.get("status"), old.get("reason"), old.get("message")) == (
        text,
        reason,
        message,
    ):
        return conditions, ()
    new = set_condition(conditions, "Ready", ok, reason, message, generation, now)
    if old is not None and old.get("status") == "True" and not ok:
        return new, (Event("Warning", "NotReady", f"{reason}: {message}" if message else reason),)
    return new, ()


def finish_resize(status: Mapping[str, Any], generation: int | None, now: str | None) -> dict[str, Any]:
    """The status once the guest runs with `status.resizeFlavor` (hostd writes it): that is the flavor,
    Resized=True; the same condition the operator would set, so it has nothing to add."""
    out = dict(status)
    target = out.pop("resizeFlavor", None)
    if not target:
        return out
    out["flavor"] = target
    if out.get("phase") == "Resizing":
        out["phase"] = "Running"
    message = f"running with flavor {target}"
    out["conditions"] = _set(out.get("conditions") or [], RESIZED, True, "Resized", message, generation, now)
    return out


def plan_server(
    server: Obj,
    flavor: Obj | None,
    decide: Decide,
    *,
    group: GroupInfo | None = None,
    excluded: Iterable[str] = (),
    volumes: Mapping[str, VolumeView] = NO_VOLUMES,
    ports: Mapping[str, PortView] = NO_PORTS,
    target: Obj | None = None,
    now: str | None = None,
) -> ServerActions:
    """`flavor`: the Flavor named by `flavor_name(server)`, None if it does not exist. `group`: the
    Server's ServerGroup with its other members' hosts (None: no group, or it does not exist).
    `volumes`, `ports`: views of the Volumes and Ports of the Server's namespace, by name (only those
    it needs are read). `target`: the Flavor named by `desired_flavor(server)` (None: missing)."""
    meta = server["metadata"]
    if meta.get("deletionTimestamp"):
        finalizers = list(meta.get("finalizers") or ())
        if FINALIZER not in finalizers:
            return ServerActions(release=True)
        patch = {"finalizers": [f for f in finalizers if f != FINALIZER]}
        return ServerActions(release=True, metadata=_with_rv(meta, patch))
    status = dict(server.get("status") or {})
    deps = _Deps(volumes, ports)
    if status.get("host") and not is_rejected(status):
        return _plan_placed(server, status, flavor, target, decide, group, deps, now)
    return _plan_unplaced(server, status, flavor, decide, group, frozenset(excluded), deps, now)


@dataclass(frozen=True, slots=True)
class _Deps:
    volumes: Mapping[str, VolumeView]
    ports: Mapping[str, PortView]

    def apply(
        self,
        server: Obj,
        new: dict[str, Any],
        conditions: list[dict[str, Any]],
        generation: int | None,
        now: str | None,
    ) -> list[dict[str, Any]]:
        """Set VolumesReady, NetworkReady (and status.addresses) in `new` / the conditions returned."""
        view = {**server, "status": new}
        ok, reason, message = volumes_ready(view, self.volumes)
        conditions = _set(conditions, VOLUMES_READY, ok, reason, message, generation, now)
        ok, reason, message = network_ready(view, self.ports)
        conditions = _set(conditions, NETWORK_READY, ok, reason, message, generation, now)
        found = addresses(view, self.ports)
        if found or new.get("addresses"):
            new["addresses"] = found
        return conditions


def _set(
    conditions: list[dict[str, Any]],
    kind: str,
    ok: bool,
    reason: str,
    message: str,
    generation: int | None,
    now: str | None,
) -> list[dict[str, Any]]:
    """set_condition, unless the condition already says this (so an unchanged pass writes nothing)."""
    old = find(conditions, kind)
    text = "True" if ok else "False"
    if old is not None and (old.get("status"), old.get("reason"), old.get("message")) == (
        text,
        reason,
        message,
    ):
        return conditions
    return set_condition(conditions, kind, ok, reason, message, generation, now)


def _plan_placed(
    server: Obj,
    status: dict[str, Any],
    flavor: Obj | None,
    target: Obj | None,
    decide: Decide,
    group: GroupInfo | None,
    deps: _Deps,
    now: str | None,
) -> ServerActions:
    meta = server["metadata"]
    generation = meta.get("generation")
    host = str(status["host"])
    conditions = status.get("conditions") or []
    new = dict(status)
    allocation = allocation_of(server, flavor)
    events: list[Event] = []
    running = flavor_name(server)
    wanted = desired_flavor(server)
    if wanted == running:
        new.pop("resizeFlavor", None)
        resized = find(conditions, RESIZED)
        if resized is not None:
            conditions = _set(
                conditions, RESIZED, True, "Resized", f"running with flavor {running}", generation, now
            )
        if new.get("phase") == "Resizing":
            new["phase"] = "Running"
    elif status.get("resizeFlavor") == wanted:
        allocation = allocation_of(server, flavor, target)  # approved: hostd applies it
    elif flavor is not None:
        conditions, allocation, event = _plan_resize(
            server, new, conditions, flavor, target, decide, group, now
        )
        if event is not None:
            events.append(event)
    conditions = deps.apply(server, new, conditions, generation, now)
    conditions, ready_events = with_ready(conditions, generation, now)
    events.extend(ready_events)
    new["conditions"] = conditions
    status_changed = changed(status.get("conditions"), conditions) or _fields(new) != _fields(status)
    return ServerActions(
        allocate=allocation,
        metadata=_metadata_patch(meta, host, finalizer=True),
        status=new if status_changed else None,
        events=tuple(events) if status_changed else (),
    )


def _plan_resize(
    server: Obj,
    new: dict[str, Any],
    conditions: list[dict[str, Any]],
    flavor: Obj,
    target: Obj | None,
    decide: Decide,
    group: GroupInfo | None,
    now: str | None,
) -> tuple[list[dict[str, Any]], Allocation | None, Event | None]:
    """A resize not approved yet: ask the scheduler about the Server's own host (its own allocation left
    out). Returns the conditions, the allocation to hold and a Warning Event if it does not fit."""
    generation = server["metadata"].get("generation")
    host = str(new["host"])
    wanted = desired_flavor(server)
    running = flavor_name(server)
    old = allocation_of(server, flavor)
    new.pop("resizeFlavor", None)
    if target is None:
        reason, message = "FlavorNotFound", f"flavor {wanted} (spec.resize.flavor) not found"
        conditions = _set(conditions, RESIZED, False, reason, message, generation, now)
        return conditions, old, None
    request = ScheduleRequest.from_server(server, target, group=group, only_host=host)
    decision = decide(request)
    if decision.placement is None:
        reason = "ResizeUnschedulable"
        message = f"flavor {wanted} does not fit on host {host}: {decision.message}"
        before = find(conditions, RESIZED)
        conditions = _set(conditions, RESIZED, False, reason, message, generation, now)
        fresh = before is None or before.get("reason") != reason
        return conditions, old, Event("Warning", reason, message) if fresh else None
    new["resizeFlavor"] = wanted
    new["phase"] = "Resizing"
    message = f"resizing from {running} to {wanted} on host {host}"
    conditions = _set(conditions, RESIZED, False, "Resizing", message, generation, now)
    amount = larger(resources(flavor), resources(target))
    return conditions, Allocation(consumer(server), host, amount), None


def _fields(status: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in status.items() if k != "conditions"}


def _plan_unplaced(
    server: Obj,
    status: dict[str, Any],
    flavor: Obj | None,
    decide: Decide,
    group: GroupInfo | None,
    excluded: frozenset[str],
    deps: _Deps,
    now: str | None,
) -> ServerActions:
    meta = server["metadata"]
    spec = server["spec"]
    generation = meta.get("generation")
    rejected = str(status["host"]) if status.get("host") else None
    if rejected:
        excluded |= {rejected}
    new = {k: v for k, v in status.items() if k not in ("host", "zone", "resizeFlavor")}
    decision = None
    if flavor is None:
        reason, message = "FlavorNotFound", f"flavor {spec['flavor']} not found"
    elif spec.get("serverGroup") and group is None:
        reason, message = "ServerGroupNotFound", f"server group {spec['serverGroup']} not found"
    else:
        request = ScheduleRequest.from_server(server, flavor, group=group, exclude_hosts=excluded)
        decision = decide(request)
        reason, message = ("Placed", decision.message) if decision.ok else ("Unschedulable", decision.message)
    old = find(status.get("conditions"), "Scheduled")
    conditions = status.get("conditions") or []
    placement = decision.placement if decision is not None else None
    if placement is not None:
        new.pop("message", None)
        new.update(phase="Scheduled", host=placement.host, zone=placement.zone, flavor=spec["flavor"])
        conditions = set_condition(conditions, "Scheduled", True, reason, message, generation, now)
    else:
        new.update(phase="Pending", message=message)
        conditions = set_condition(conditions, "Scheduled", False, reason, message, generation, now)
    conditions = deps.apply(server, new, conditions, generation, now)
    conditions, ready_events = with_ready(conditions, generation, now)
    new["conditions"] = conditions
    if generation is not None:
        new["observedGeneration"] = generation
    events: list[Event] = []
    if placement is None and (old is None or (old.get("status"), old.get("reason")) != ("False", reason)):
        events.append(Event("Warning", reason, message))
    events.extend(ready_events)
    status_changed = changed(status.get("conditions"), conditions) or _fields(new) != _fields(status)
    return ServerActions(
        release=placement is None,
        allocate=placement.allocation if placement is not None else None,
        exclude=rejected,
        metadata=_metadata_patch(
            meta, placement.host if placement else None, finalizer=placement is not None
        ),
        status=new if status_changed else None,
        events=tuple(events) if status_changed else (),
        pending=placement is None,
    )


def _metadata_patch(meta: Obj, host: str | None, *, finalizer: bool) -> dict[str, Any] | None:
    """The merge patch putting the host label (None: removing it) and, if `finalizer`, our finalizer."""
    patch: dict[str, Any] = {}
    if (meta.get("labels") or {}).get(HOST_LABEL) != host:
        patch["labels"] = {HOST_LABEL: host}
    finalizers = list(meta.get("finalizers") or ())
    if finalizer and FINALIZER not in finalizers:
        patch["finalizers"] = [*finalizers, FINALIZER]
    return _with_rv(meta, patch) if patch else None


def _with_rv(meta: Obj, patch: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {**patch, "resourceVersion": meta.get("resourceVersion")}}


# -- Hosts ------------------------------------------------------------------------------------------------


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def plan_host_heartbeat(host: Obj, lease: Obj | None, now: datetime) -> dict[str, Any] | None:
    """The Host's new status when its Lease (kumulus-system/host-NAME) disagrees with its Ready condition;
    None when there is nothing to write. A Lease not renewed within leaseDurationSeconds makes the Host
    Ready=False HeartbeatLost; a renewed one lifts only that reason. No Lease: hostd does not use one."""
    spec = (lease or {}).get("spec") or {}
    renewed = spec.get("renewTime") or spec.get("acquireTime")
    duration = spec.get("leaseDurationSeconds")
    if not renewed or not duration:
        return None
    status = dict(host.get("status") or {})
    conditions = status.get("conditions") or []
    ready = find(conditions, "Ready")
    lost = ready is not None and ready.get("status") == "False" and ready.get("reason") == HEARTBEAT_LOST
    at = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    generation = host["metadata"].get("generation")
    if parse_time(renewed) + timedelta(seconds=int(duration)) < now:
        message = f"no heartbeat since {renewed} (lease duration {duration}s)"
        if lost and ready is not None and ready.get("message") == message:
            return None
        new = set_condition(conditions, "Ready", False, HEARTBEAT_LOST, message, generation, at)
    elif lost:
        new = set_condition(
            conditions, "Ready", True, "HeartbeatRestored", f"heartbeat at {renewed}", generation, at
        )
    else:
        return None
    return {**status, "conditions": new}

"""What the compute operator does with one Server, or one Host's heartbeat, as data: pure and level-based.

    actions = plan_server(server, flavor, decide, group=group, excluded=hosts_that_refused, now=now)

The operator observes (a Server, the Flavor it needs, its ServerGroup with where the other members run),
plans here, and applies `ServerActions` in order: index bookkeeping (`release`, `allocate`, `exclude`),
then ONE metadata merge patch (the host label and our finalizer, with the resourceVersion read), then
ONE status write (the whole status, PUT with the resourceVersion), then the Events. Planning again on
the result gives no writes. The Server's life, as the operator sees it:

- not placed (no `status.host`): the Flavor is missing -> Scheduled=False FlavorNotFound; the
  ServerGroup is missing -> Scheduled=False ServerGroupNotFound; else `decide` (the scheduler) places
  it -> label + finalizer, then status phase Scheduled, host, zone, flavor, Scheduled=True Placed; or
  it fits nowhere -> phase Pending, Scheduled=False Unschedulable with the scheduler's message, tried
  again later. `decide` records the placement in the index at once (in flight), see the operator.
- hostd refused the placement (Scheduled=False PlacementRejected, `status.host` still set): placed
  again without that host (and the hosts that refused before); the label moves or is removed.
- placed: the allocation is (re)recorded, label and finalizer repaired, and Ready kept equal to
  Scheduled && Running (hostd writes Running): True reason Running, else False with the reason of the
  first condition that is not True.
- being deleted: the allocation is released and our finalizer removed (hostd destroys the guest).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from controllers.conditions import changed, find, set_condition
from controllers.scheduling import Allocation, Decision, GroupInfo, Resources, ScheduleRequest

HOST_LABEL = "infra.kumulus.dev/host"
FINALIZER = "compute.kumulus.dev/server"
HEARTBEAT_LOST = "HeartbeatLost"

Decide = Callable[[ScheduleRequest], Decision]
Obj = Mapping[str, Any]


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


def resources(flavor: Obj) -> Resources:
    spec = flavor["spec"]
    return Resources(int(spec["vcpus"]), int(spec["ramMiB"]), int(spec.get("ephemeralGiB", 0)))


def allocation_of(server: Obj, flavor: Obj | None) -> Allocation | None:
    """What a placed Server takes on its host (None: not placed, or its Flavor is unknown)."""
    host = (server.get("status") or {}).get("host")
    if not host or flavor is None or (server["metadata"].get("deletionTimestamp")):
        return None
    return Allocation(consumer(server), host, resources(flavor))


def is_rejected(status: Obj) -> bool:
    cond = find(status.get("conditions"), "Scheduled")
    return bool(
        status.get("host")
        and cond is not None
        and cond.get("status") == "False"
        and cond.get("reason") == "PlacementRejected"
    )


def ready_of(conditions: list[dict[str, Any]] | None) -> tuple[bool, str, str]:
    """Ready = Scheduled && Running: (status, reason, message)."""
    for kind, absent in (("Scheduled", "Scheduling"), ("Running", "Starting")):
        cond = find(conditions, kind)
        if cond is None:
            return False, absent, f"waiting for condition {kind}"
        if cond.get("status") != "True":
            return False, str(cond.get("reason") or f"Not{kind}"), str(cond.get("message") or "")
    return True, "Running", ""


def plan_server(
    server: Obj,
    flavor: Obj | None,
    decide: Decide,
    *,
    group: GroupInfo | None = None,
    excluded: Iterable[str] = (),
    now: str | None = None,
) -> ServerActions:
    """`flavor`: the Flavor named by `flavor_name(server)`, None if it does not exist. `group`: the
    Server's ServerGroup with its other members' hosts (None: no group, or it does not exist)."""
    meta = server["metadata"]
    if meta.get("deletionTimestamp"):
        finalizers = list(meta.get("finalizers") or ())
        if FINALIZER not in finalizers:
            return ServerActions(release=True)
        patch = {"finalizers": [f for f in finalizers if f != FINALIZER]}
        return ServerActions(release=True, metadata=_with_rv(meta, patch))
    status = dict(server.get("status") or {})
    if status.get("host") and not is_rejected(status):
        return _plan_placed(server, status, flavor, now)
    return _plan_unplaced(server, status, flavor, decide, group, frozenset(excluded), now)


def _plan_placed(server: Obj, status: dict[str, Any], flavor: Obj | None, now: str | None) -> ServerActions:
    meta = server["metadata"]
    host = str(status["host"])
    conditions = status.get("conditions") or []
    new_conditions, events = _with_ready(conditions, meta.get("generation"), now)
    new_status = {**status, "conditions": new_conditions} if changed(conditions, new_conditions) else None
    return ServerActions(
        allocate=allocation_of(server, flavor),
        metadata=_metadata_patch(meta, host, finalizer=True),
        status=new_status,
        events=events,
    )


def _plan_unplaced(
    server: Obj,
    status: dict[str, Any],
    flavor: Obj | None,
    decide: Decide,
    group: GroupInfo | None,
    excluded: frozenset[str],
    now: str | None,
) -> ServerActions:
    meta = server["metadata"]
    spec = server["spec"]
    generation = meta.get("generation")
    rejected = str(status["host"]) if status.get("host") else None
    if rejected:
        excluded |= {rejected}
    new = {k: v for k, v in status.items() if k not in ("host", "zone")}
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
    conditions, ready_events = _with_ready(conditions, generation, now)
    new["conditions"] = conditions
    if generation is not None:
        new["observedGeneration"] = generation
    events: list[Event] = []
    now_scheduled = "True" if placement is not None else "False"
    if old is None or (old.get("status"), old.get("reason")) != (now_scheduled, reason):
        kind = "Normal" if placement is not None else "Warning"
        events.append(Event(kind, "Scheduled" if placement is not None else reason, message))
    events.extend(ready_events)
    status_changed = changed(status.get("conditions"), conditions) or {
        k: v for k, v in new.items() if k != "conditions"
    } != {k: v for k, v in status.items() if k != "conditions"}
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


def _with_ready(
    conditions: list[dict[str, Any]], generation: int | None, now: str | None
) -> tuple[list[dict[str, Any]], tuple[Event, ...]]:
    """The conditions with Ready derived from them, written only when its status, reason or message
    changes; an Event when it turns True, or turns False from True."""
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
    was_true = old is not None and old.get("status") == "True"
    if ok and not was_true:
        return new, (Event("Normal", "Ready", "the Server is scheduled and running"),)
    if was_true and not ok:
        return new, (Event("Warning", "NotReady", f"{reason}: {message}" if message else reason),)
    return new, ()


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

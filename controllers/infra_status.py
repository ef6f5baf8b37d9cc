"""The status of Zones and HostAggregates, from the compute operator's host inventory: pure functions.

    status = zone_status(zone, hosts_of_the_zone, now)          # None: nothing to write
    status = aggregate_status(aggregate, member_names, zone_exists, now)
    status = host_allocated_status(host, usage)

A Zone counts its Hosts (total, ready = taking new Servers, notReady, maintenance), sums what its Compute
Hosts may give (allocatable) and what is placed on them (allocated, in-flight placements included), and is
Ready when at least one Host takes new Servers. A HostAggregate lists its member Hosts and is Ready unless
its spec.zone names a Zone that does not exist. Both carry observedGeneration. The result is None when the
status already says all this, so a level-based pass writes only what changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from controllers.conditions import changed, find, set_condition
from controllers.scheduling import Health, HostInfo, HostUsage, Resources

Obj = Mapping[str, Any]


def zone_status(
    zone: Obj, hosts: Iterable[tuple[HostInfo, HostUsage]], now: str | None = None
) -> dict[str, Any] | None:
    """`hosts`: the Hosts whose spec.zone is this Zone, with what is allocated on each."""
    total = ready = not_ready = maintenance = servers = 0
    allocatable = allocated = Resources()
    for info, usage in hosts:
        total += 1
        health = info.health
        ready += health == Health.OK
        not_ready += health in (Health.NOT_READY, Health.FENCED)
        maintenance += info.maintenance
        if info.compute:
            allocatable += info.allocatable
        allocated += usage.resources
        servers += usage.servers
    counts = {"total": total, "ready": ready, "notReady": not_ready, "maintenance": maintenance}
    fields = {
        "hosts": counts,
        "allocatable": allocatable.to_wire(),
        "allocated": {**allocated.to_wire(), "servers": servers},
    }
    if ready:
        cond = (True, "HostsReady", f"{ready} of {total} hosts take new Servers")
    elif total:
        cond = (
            False,
            "NoHostReady",
            f"none of the {total} hosts takes new Servers ({not_ready} not ready, "
            f"{maintenance} in maintenance)",
        )
    else:
        cond = (False, "NoHosts", "no Host is registered in the zone")
    return _status(zone, fields, *cond, now)


def host_allocated_status(host: Obj, usage: HostUsage) -> dict[str, Any] | None:
    """The Host's status with `allocated` (the scheduler's part of it: what the Servers placed there
    use, in-flight placements included); None when it already says so. Everything else is hostd's."""
    old = dict(host.get("status") or {})
    allocated = {**usage.resources.to_wire(), "servers": usage.servers}
    if old.get("allocated") == allocated:
        return None
    return {**old, "allocated": allocated}


def aggregate_status(
    aggregate: Obj, members: Iterable[str], zone_exists: bool, now: str | None = None
) -> dict[str, Any] | None:
    """`members`: the names of the Hosts its selector (and zone) picks; `zone_exists`: whether its
    spec.zone, if any, names a Zone."""
    names = sorted(members)
    zone = (aggregate.get("spec") or {}).get("zone")
    if zone and not zone_exists:
        cond = (False, "ZoneNotFound", f"zone {zone} does not exist")
    else:
        cond = (True, "HostsSelected", f"{len(names)} hosts")
    return _status(aggregate, {"hosts": names, "hostCount": len(names)}, *cond, now)


def _status(
    obj: Obj, fields: dict[str, Any], ok: bool, reason: str, message: str, now: str | None
) -> dict[str, Any] | None:
    old = dict(obj.get("status") or {})
    generation = obj["metadata"].get("generation")
    conditions = old.get("conditions") or []
    ready = find(conditions, "Ready")
    same_ready = ready is not None and (
        ready.get("status"),
        ready.get("reason"),
        ready.get("message"),
        ready.get("observedGeneration"),
    ) == ("True" if ok else "False", reason, message, generation)
    new = {**old, **fields}
    if not same_ready:
        conditions = set_condition(conditions, "Ready", ok, reason, message, generation, now)
    new["conditions"] = conditions
    if generation is not None:
        new["observedGeneration"] = generation
    if not changed(old.get("conditions"), conditions) and {
        k: v for k, v in new.items() if k != "conditions"
    } == {k: v for k, v in old.items() if k != "conditions"}:
        return None
    return new

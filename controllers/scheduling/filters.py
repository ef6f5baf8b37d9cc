"""The filters, in order, each counting the Hosts it removes (a Host is counted by the first that does).

1. zone: the Server's zone (or `default_zone`) by the Host's `spec.zone`; no zone: every zone, sz1's
   Hosts included. A Server naming a zone without a Zone object fits nowhere, and a Host naming one
   (misregistered) takes no Servers.
2. role: Hosts without the Compute role.
3. health: fenced, then not Ready, then in maintenance.
4. excluded: Hosts the request excludes (they refused the Server before); with `only_host` (a resize
   in place), every other Host.
5. resources: free = floor((capacity - reserved) x ratio) - allocated, for vCPUs, then RAM, then disk
   (the ephemeral disk only; not checked when the Flavor has none).
6. traits: each required trait (Flavor's and Server's), in name order.
7. aggregates: Hosts in no HostAggregate whose metadata carries all of the Flavor's aggregateMetadata.
8. group: Affinity keeps the Hosts of the members placed so far (if any); AntiAffinity removes Hosts
   already running maxServersPerHost members (default 1). Soft policies are weighers, not filters.

Steps 1-4 read precomputed counts and sets; step 5 is the only loop over Hosts in Python; 6-8 are set
operations.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from controllers.api.compute import ServerGroupPolicy

from .config import SchedulerConfig
from .decision import FilterCount
from .hosts import Health
from .index import HostIndex
from .request import ScheduleRequest

_Count = Callable[[str, str, int], None]
_NOT_ASKED = -(1 << 62)  # a request of 0 for a resource ignores it, even on an overcommitted Host


@dataclass(frozen=True, slots=True)
class Filtered:
    hosts: int
    removed: tuple[FilterCount, ...]
    slots: set[int]


def run_filters(request: ScheduleRequest, index: HostIndex, config: SchedulerConfig) -> Filtered:
    removed: list[FilterCount] = []
    count = _counter(removed)
    total = len(index)
    zone = request.zone or config.default_zone
    if zone is not None and index.zone(zone) is None:
        count("zone", f"not in zone {zone} (no such zone)", total)
        return Filtered(total, tuple(removed), set())
    in_zone, health, ok = index.health_counts(zone)
    count("zone", f"not in zone {zone}" if zone else "in a zone that does not exist", total - in_zone)
    count("role", "without the Compute role", health[Health.NOT_COMPUTE])
    count("health", "fenced", health[Health.FENCED])
    count("health", "not ready", health[Health.NOT_READY])
    count("health", "in maintenance", health[Health.MAINTENANCE])

    slots: set[int] = ok  # the index's own set: read, never modified
    excluded = {s for h in request.exclude_hosts if (s := index.slot(h)) is not None and s in ok}
    if excluded:
        slots = slots - excluded
        count("excluded", "excluded (refused the Server before)", len(excluded))
    if request.only_host is not None:
        own = index.slot(request.only_host)
        kept = slots & {own} if own is not None else set()
        count("host", f"not the Server's host {request.only_host}", len(slots) - len(kept))
        slots = kept

    fit = _fitting(request, index, slots, count)
    for trait in sorted(request.required_traits):
        before = len(fit)
        fit &= index.with_trait(trait)
        count("traits", f"missing trait {trait}", before - len(fit))
    if request.aggregate_metadata:
        before = len(fit)
        fit &= index.in_aggregates_with(request.aggregate_metadata)
        wanted = ",".join(f"{k}={v}" for k, v in sorted(request.aggregate_metadata))
        count("aggregates", f"not in an aggregate with {wanted}", before - len(fit))
    group = request.group
    if group is not None and group.hard and group.member_hosts:
        before = len(fit)
        if group.policy == ServerGroupPolicy.AFFINITY:
            fit &= {s for h in group.member_hosts if (s := index.slot(h)) is not None}
            reason = f"not running the members of server group {group.name}"
        else:
            per_host = Counter(group.member_hosts)
            full = {
                s for h, n in per_host.items() if n >= group.max_per_host and (s := index.slot(h)) is not None
            }
            fit.difference_update(full)
            many = "a member" if group.max_per_host == 1 else f"{group.max_per_host} members"
            reason = f"already running {many} of server group {group.name}"
        count("group", reason, before - len(fit))
    return Filtered(total, tuple(removed), fit)


def _fitting(request: ScheduleRequest, index: HostIndex, slots: set[int], count: _Count) -> set[int]:
    """The slots with room for the request; counts the others by the first resource short."""
    free_vcpus, free_ram, free_disk = index.free_columns()
    res = request.resources
    vcpus = res.vcpus if res.vcpus > 0 else _NOT_ASKED
    ram = res.ram_mib if res.ram_mib > 0 else _NOT_ASKED
    if res.disk_gib > 0:
        disk = res.disk_gib
        fit = [s for s in slots if free_vcpus[s] >= vcpus and free_ram[s] >= ram and free_disk[s] >= disk]
    else:
        fit = [s for s in slots if free_vcpus[s] >= vcpus and free_ram[s] >= ram]
    if len(fit) == len(slots):
        return set(fit)
    result = set(fit)
    missing = slots.difference(result)
    no_vcpus = [s for s in missing if free_vcpus[s] < vcpus]
    missing.difference_update(no_vcpus)
    no_ram = [s for s in missing if free_ram[s] < ram]
    count("resources", "insufficient vCPUs", len(no_vcpus))
    count("resources", "insufficient RAM", len(no_ram))
    count("resources", "insufficient disk", len(missing) - len(no_ram))
    return result


def _counter(removed: list[FilterCount]) -> _Count:
    def count(filter_: str, reason: str, n: int) -> None:
        if n:
            removed.append(FilterCount(filter_, reason, n))

    return count

"""The Server scheduler: Nova's filter/weigher model, pure and explainable.

    index = HostIndex(hosts, zones=zones, aggregates=aggregates, allocations=allocations)
    decision = schedule(ScheduleRequest.from_server(server, flavor, group=group), index, config)
    if decision.ok:
        index.add_allocation(decision.placement.allocation)   # in flight until committed
    else:
        ...  # Unschedulable, with decision.message: "0/40 hosts fit: 12 not in zone az1, ..."

Inputs are frozen dataclasses built from API objects (`HostInfo.from_host`, `ZoneInfo.from_zone`,
`AggregateInfo.from_aggregate`, `GroupInfo.from_server_group`, `ScheduleRequest.from_server`). The
`HostIndex` keeps what a decision needs and is updated incrementally as Hosts, aggregates and allocations
change. Filters (`filters`) remove Hosts and count why; weighers (`weighers`) rank the rest. Committing a
placement without overcommitting, even with two schedulers, is described in `allocation`.
"""

from __future__ import annotations

from .allocation import (
    Allocation,
    DoesNotFit,
    HostUsage,
    apply_allocation,
    fits,
    free,
    release_allocation,
    total,
)
from .config import DEFAULT_CONFIG, SchedulerConfig, Strategy
from .decision import Decision, FilterCount
from .hosts import Health, HostInfo
from .index import HostIndex
from .placement import HostSnapshot, Placement
from .request import GroupInfo, ScheduleRequest
from .resources import Resources
from .scheduler import schedule
from .topology import AggregateInfo, ZoneInfo

__all__ = [
    "DEFAULT_CONFIG",
    "AggregateInfo",
    "Allocation",
    "Decision",
    "DoesNotFit",
    "FilterCount",
    "GroupInfo",
    "Health",
    "HostIndex",
    "HostInfo",
    "HostSnapshot",
    "HostUsage",
    "Placement",
    "Resources",
    "ScheduleRequest",
    "SchedulerConfig",
    "Strategy",
    "ZoneInfo",
    "apply_allocation",
    "fits",
    "free",
    "release_allocation",
    "schedule",
    "total",
]

"""Allocations and the arithmetic that keeps two schedulers from overcommitting a Host.

The scheduler decides on a snapshot (its HostIndex); another operator replica may have placed a Server on
the same Host meanwhile. So a decision is committed like this, with optimistic concurrency:

1. `schedule(...)` picks a Host; the operator adds `decision.placement.allocation` to its index at once
   (in flight), so its next decision already counts it.
2. It reads the Host (with its resourceVersion) and computes
   `apply_allocation(HostInfo.from_host(obj), HostUsage.from_host(obj), resources)`: the new
   `status.allocated`, or `DoesNotFit` if the Host no longer has room (drop the in-flight allocation and
   schedule again).
3. It writes `status.allocated` with that resourceVersion as a precondition; on 409 Conflict it re-reads
   the Host and goes back to 2. Only then is the Server's `status.host` set.

Two replicas racing for the last slot both pass step 1; the second one's write fails with 409, and its
re-check in step 2 (against totals that now include the first) refuses. hostd checks again before
starting the guest (`Placement.verify`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .hosts import HostInfo
from .resources import ZERO, Resources


class DoesNotFit(ValueError):
    """The request does not fit on the Host any more; the message says which resources are short."""


@dataclass(frozen=True, slots=True)
class Allocation:
    """The resources a Server (the consumer, "namespace/name") takes on a Host."""

    consumer: str
    host: str
    resources: Resources


@dataclass(frozen=True, slots=True)
class HostUsage:
    """The totals of a Host's allocations, as recorded in its `status.allocated`."""

    resources: Resources = ZERO
    servers: int = 0

    @classmethod
    def from_host(cls, obj: Mapping[str, Any]) -> HostUsage:
        allocated = (obj.get("status") or {}).get("allocated") or {}
        return cls(Resources.from_wire(allocated), int(allocated.get("servers", 0)))

    def to_status(self) -> dict[str, int]:
        """The wire form of `status.allocated`."""
        return {**self.resources.to_wire(), "servers": self.servers}


def total(allocations: Iterable[Allocation]) -> HostUsage:
    """Sum allocations (e.g. to recount a Host's usage from the Servers placed on it)."""
    resources, servers = ZERO, 0
    for a in allocations:
        resources += a.resources
        servers += 1
    return HostUsage(resources, servers)


def free(host: HostInfo, allocated: Resources | HostUsage) -> Resources:
    """What the Host may still give: allocatable minus allocated (negative when overcommitted)."""
    used = allocated.resources if isinstance(allocated, HostUsage) else allocated
    return host.allocatable - used


def fits(host: HostInfo, allocated: Resources | HostUsage, request: Resources) -> bool:
    """Whether `request` fits on the Host beside what is already allocated there."""
    return free(host, allocated).covers(request)


def apply_allocation(host: HostInfo, usage: HostUsage, request: Resources) -> HostUsage:
    """The Host's totals with `request` added; raises DoesNotFit when it does not fit any more."""
    short = free(host, usage).shortfall(request)
    if short:
        raise DoesNotFit(f"host {host.name} has no room: " + "; ".join(short))
    return HostUsage(usage.resources + request, usage.servers + 1)


def release_allocation(usage: HostUsage, request: Resources) -> HostUsage:
    """The Host's totals with `request` removed (a Server deleted or moved away), never below zero."""
    left = usage.resources - request
    return HostUsage(
        Resources(max(left.vcpus, 0), max(left.ram_mib, 0), max(left.disk_gib, 0)), max(usage.servers - 1, 0)
    )

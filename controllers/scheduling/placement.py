"""A scheduling result: which Host (and zone) a Server goes to, and what to allocate there.

hostd calls `Placement.verify` before starting the guest, with the Host as it is now and the allocations
of the Servers it knows on it: a placement made on a stale view (or raced by another scheduler) that no
longer fits is refused, and the Server is scheduled again without that Host.
"""

from __future__ import annotations

from dataclasses import dataclass

from .allocation import Allocation, total
from .hosts import Health, HostInfo
from .resources import Resources

_REFUSALS = {
    Health.NOT_COMPUTE: "it does not have the Compute role",
    Health.FENCED: "it is fenced",
    Health.NOT_READY: "it is not ready",
    Health.MAINTENANCE: "it is in maintenance",
}


@dataclass(frozen=True, slots=True)
class HostSnapshot:
    """A Host now, with the allocations on it (this Server's own, if present, is not counted twice)."""

    host: HostInfo
    allocations: tuple[Allocation, ...] = ()


@dataclass(frozen=True, slots=True)
class Placement:
    consumer: str
    host: str
    zone: str
    site: str
    resources: Resources

    @property
    def allocation(self) -> Allocation:
        """What to record on the Host for this Server."""
        return Allocation(self.consumer, self.host, self.resources)

    def verify(self, snapshot: HostSnapshot) -> str | None:
        """None if the Server may start on this Host, else why it must be refused."""
        host = snapshot.host
        if host.name != self.host:
            return f"placed on host {self.host}, not on {host.name}"
        if host.zone != self.zone:
            return f"placed in zone {self.zone}, but host {host.name} is in zone {host.zone}"
        if host.health != Health.OK:
            return f"host {host.name} cannot take new Servers: {_REFUSALS[host.health]}"
        others = total(a for a in snapshot.allocations if a.consumer != self.consumer and a.host == host.name)
        short = (host.allocatable - others.resources).shortfall(self.resources)
        if short:
            return f"host {host.name} has no room: " + "; ".join(short)
        return None

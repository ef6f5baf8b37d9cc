"""The outcome of scheduling one Server: where it goes, or why it cannot go anywhere.

The message counts what each filter removed, in filter order, listing only filters that removed some:
`0/40 hosts fit: 12 not in zone az1, 3 not ready, 2 in maintenance, 20 insufficient RAM, 3 missing trait
CUSTOM_GPU`. It goes into the Server's `status.message` and Scheduled condition.
"""

from __future__ import annotations

from dataclasses import dataclass

from .placement import Placement


@dataclass(frozen=True, slots=True)
class FilterCount:
    """How many Hosts one filter removed, and why: e.g. FilterCount("resources", "insufficient RAM", 20)."""

    filter: str
    reason: str
    removed: int

    def __str__(self) -> str:
        return f"{self.removed} {self.reason}"


@dataclass(frozen=True, slots=True)
class Decision:
    placement: Placement | None
    hosts: int
    """Hosts known to the scheduler."""
    fit: int
    """Hosts that passed every filter."""
    removed: tuple[FilterCount, ...] = ()
    weighed: int = 0
    """Hosts weighed (at most SchedulerConfig.max_candidates of those that fit)."""
    ranking: tuple[tuple[str, float], ...] = ()
    """The best Hosts weighed, best first, with their weights."""

    @property
    def ok(self) -> bool:
        return self.placement is not None

    @property
    def message(self) -> str:
        text = f"{self.fit}/{self.hosts} hosts fit"
        if self.removed:
            text += ": " + ", ".join(str(c) for c in self.removed)
        elif not self.hosts:
            text += ": no Hosts registered"
        if self.placement is not None:
            p = self.placement
            text += f"; placed on {p.host} in zone {p.zone} (best of {self.weighed} weighed)"
        return text

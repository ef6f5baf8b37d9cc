"""Which Hosts each HostAggregate selects, kept up to date as Hosts and aggregates change.

Membership is computed when something changes (a Host: against every aggregate; an aggregate: against
every Host), never per decision. A Flavor's required metadata is answered with the union of the members
of the aggregates carrying it, cached until membership or aggregates change.
"""

from __future__ import annotations

from collections.abc import Iterable

from .hosts import HostInfo
from .topology import AggregateInfo


class AggregateMembership:
    def __init__(self) -> None:
        self._aggregates: dict[str, AggregateInfo] = {}
        self._members: dict[str, set[int]] = {}
        self._answers: dict[frozenset[tuple[str, str]], frozenset[int]] = {}

    def __len__(self) -> int:
        return len(self._aggregates)

    def get(self, name: str) -> AggregateInfo | None:
        return self._aggregates.get(name)

    def members(self, name: str) -> frozenset[int]:
        return frozenset(self._members.get(name, ()))

    def upsert(self, aggregate: AggregateInfo, hosts: Iterable[tuple[int, HostInfo]]) -> None:
        """Add or replace an aggregate; `hosts` are every (slot, Host) of the index."""
        if self._aggregates.get(aggregate.name) == aggregate:
            return
        self._aggregates[aggregate.name] = aggregate
        self._members[aggregate.name] = {i for i, h in hosts if aggregate.selects(h)}
        self._answers.clear()

    def remove(self, name: str) -> None:
        if self._aggregates.pop(name, None) is not None:
            del self._members[name]
            self._answers.clear()

    def host_changed(self, slot: int, host: HostInfo | None) -> None:
        """Re-evaluate one Host (None: removed) against every aggregate."""
        changed = False
        for name, aggregate in self._aggregates.items():
            members = self._members[name]
            now = host is not None and aggregate.selects(host)
            if now != (slot in members):
                changed = True
                if now:
                    members.add(slot)
                else:
                    members.discard(slot)
        if changed:
            self._answers.clear()

    def members_with(self, required: frozenset[tuple[str, str]]) -> frozenset[int]:
        """Slots of the Hosts in at least one aggregate whose metadata carries all of `required`."""
        answer = self._answers.get(required)
        if answer is None:
            found: set[int] = set()
            for name, aggregate in self._aggregates.items():
                if aggregate.carries(required):
                    found |= self._members[name]
            answer = self._answers[required] = frozenset(found)
        return answer

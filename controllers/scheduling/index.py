"""HostIndex: everything the scheduler needs per Host, precomputed once and updated incrementally.

A decision must stay cheap at 10,000 Hosts, so nothing is derived per decision that can be kept:
- each Host has a slot (a small int); free vCPUs, RAM and disk are columns indexed by slot, updated when
  an allocation or the Host changes;
- per zone, the count of Hosts by `Health` and the set of slots that take new Servers;
- per trait, the set of slots that have it; per aggregate, its members (see `AggregateMembership`);
- a fixed pseudo-random order of the slots (by CRC-32 of the name) to sample candidates from.
Updates with an unchanged HostInfo cost a comparison (hostd rewrites its Host on every heartbeat).
Allocations are kept per consumer, also for Hosts not (yet) known, so that they count once they are.
"""

from __future__ import annotations

import bisect
import zlib
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain, islice
from typing import cast

from .aggregates import AggregateMembership
from .allocation import Allocation, HostUsage
from .hosts import Health, HostInfo
from .resources import ZERO, Resources
from .topology import AggregateInfo, ZoneInfo

EMPTY: frozenset[int] = frozenset()


class HostIndex:
    def __init__(
        self,
        hosts: Iterable[HostInfo] = (),
        *,
        zones: Iterable[ZoneInfo] = (),
        aggregates: Iterable[AggregateInfo] = (),
        allocations: Iterable[Allocation] = (),
    ) -> None:
        self._slots: dict[str, int] = {}
        self._infos: list[HostInfo | None] = []
        self._names: list[str] = []  # by slot ("" when vacant), for the weighers' tie-break
        self._vacant: list[int] = []
        # Free resources by slot: allocatable - allocated.
        self._free_vcpus: list[int] = []
        self._free_ram: list[int] = []
        self._free_disk: list[int] = []
        # Per zone: Hosts counted by Health, and the slots taking new Servers.
        self._health: dict[str, list[int]] = {}
        self._ok: dict[str, set[int]] = {}
        self._ok_known: set[int] = set()  # those of every zone that has a Zone object
        self._traits: dict[str, set[int]] = {}
        self._order_keys: list[tuple[int, str]] = []
        self._order: list[int] = []
        self._zones: dict[str, ZoneInfo] = {}
        self._aggregates = AggregateMembership()
        # Allocations by consumer, and their totals by host name.
        self._allocations: dict[str, Allocation] = {}
        self._consumers: dict[str, set[str]] = {}
        self._used: dict[str, Resources] = {}
        for zone in zones:
            self.upsert_zone(zone)
        for allocation in allocations:
            self.add_allocation(allocation)
        for host in hosts:
            self.upsert_host(host)
        for aggregate in aggregates:
            self.upsert_aggregate(aggregate)

    # -- reading --------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._slots)

    def __contains__(self, name: object) -> bool:
        return name in self._slots

    def hosts(self) -> Iterator[HostInfo]:
        return (h for h in self._infos if h is not None)

    def host(self, name: str) -> HostInfo | None:
        slot = self._slots.get(name)
        return None if slot is None else self._infos[slot]

    def zone(self, name: str) -> ZoneInfo | None:
        return self._zones.get(name)

    def usage(self, host: str) -> HostUsage:
        """What is allocated on the host (in-flight placements included)."""
        return HostUsage(self._used.get(host, ZERO), len(self._consumers.get(host, ())))

    def free(self, host: str) -> Resources:
        slot = self._slots[host]
        return Resources(self._free_vcpus[slot], self._free_ram[slot], self._free_disk[slot])

    def allocation(self, consumer: str) -> Allocation | None:
        return self._allocations.get(consumer)

    def allocations_on(self, host: str) -> tuple[Allocation, ...]:
        return tuple(self._allocations[c] for c in sorted(self._consumers.get(host, ())))

    def aggregate_hosts(self, name: str) -> list[str]:
        """The member Hosts of an aggregate, sorted (what its status.hosts lists)."""
        return sorted(self.name_at(s) for s in self._aggregates.members(name))

    # -- for the filters and weighers (slot-level; the sets returned must not be modified) --------------

    def slot(self, name: str) -> int | None:
        return self._slots.get(name)

    def info_at(self, slot: int) -> HostInfo:
        info = self._infos[slot]
        assert info is not None
        return info

    def name_at(self, slot: int) -> str:
        return self._names[slot]

    def info_column(self) -> Sequence[HostInfo]:
        """HostInfos indexed by slot (a vacant slot holds None: index it only with slots of Hosts)."""
        return cast(Sequence[HostInfo], self._infos)

    def name_column(self) -> list[str]:
        """Host names indexed by slot."""
        return self._names

    def health_counts(self, zone: str | None) -> tuple[int, list[int], set[int]]:
        """(Hosts in the zone, their counts by Health, the slots of those taking Servers). None: every
        zone that has a Zone object (a Host naming a zone that does not exist takes no Servers)."""
        if zone is None:
            known = [c for z, c in self._health.items() if z in self._zones]
            counts = [sum(c[h] for c in known) for h in Health]
            return sum(counts), counts, self._ok_known
        counts = self._health.get(zone, [0] * len(Health))
        return sum(counts), counts, self._ok.get(zone, set())

    def free_columns(self) -> tuple[list[int], list[int], list[int]]:
        """Free vCPUs, RAM (MiB) and disk (GiB), indexed by slot."""
        return self._free_vcpus, self._free_ram, self._free_disk

    def with_trait(self, trait: str) -> set[int] | frozenset[int]:
        return self._traits.get(trait, EMPTY)

    def in_aggregates_with(self, metadata: frozenset[tuple[str, str]]) -> frozenset[int]:
        return self._aggregates.members_with(metadata)

    def sample(self, slots: set[int], limit: int, seed: str) -> list[int]:
        """At most `limit` of `slots`, the same for the same hosts and seed: those met first walking the
        fixed pseudo-random order of all Hosts from a point chosen by the seed."""
        if len(slots) <= limit:
            return list(slots)
        start = zlib.crc32(seed.encode()) % len(self._order)
        walk = chain(self._order[start:], self._order[:start])
        return list(islice(filter(slots.__contains__, walk), limit))

    # -- updating -------------------------------------------------------------------------------------

    def upsert_zone(self, zone: ZoneInfo) -> None:
        if zone.name not in self._zones:
            self._ok_known |= self._ok.get(zone.name, set())
        self._zones[zone.name] = zone

    def remove_zone(self, name: str) -> None:
        if self._zones.pop(name, None) is not None:
            self._ok_known -= self._ok.get(name, set())

    def upsert_aggregate(self, aggregate: AggregateInfo) -> None:
        self._aggregates.upsert(aggregate, ((s, h) for s, h in enumerate(self._infos) if h is not None))

    def remove_aggregate(self, name: str) -> None:
        self._aggregates.remove(name)

    def upsert_host(self, host: HostInfo) -> bool:
        """Add or update a Host; False if nothing the scheduler uses changed."""
        slot = self._slots.get(host.name)
        old = None if slot is None else self._infos[slot]
        if old == host:
            return False
        if slot is None:
            slot = self._new_slot(host.name)
        self._infos[slot] = host
        if old is not None:
            self._unindex(slot, old)
        self._index(slot, host)
        self._refresh_free(slot)
        self._aggregates.host_changed(slot, host)
        return True

    def remove_host(self, name: str) -> None:
        """Forget a Host; allocations recorded on it stay until removed (its Servers still exist)."""
        slot = self._slots.pop(name, None)
        if slot is None:
            return
        info = self._infos[slot]
        assert info is not None
        self._unindex(slot, info)
        self._aggregates.host_changed(slot, None)
        self._infos[slot] = None
        self._names[slot] = ""
        key = (zlib.crc32(name.encode()), name)
        at = bisect.bisect_left(self._order_keys, key)
        del self._order_keys[at], self._order[at]
        self._vacant.append(slot)

    def add_allocation(self, allocation: Allocation) -> None:
        """Record (or replace) the allocation of a consumer, e.g. right after placing it (in flight)."""
        self.remove_allocation(allocation.consumer)
        self._allocations[allocation.consumer] = allocation
        self._consumers.setdefault(allocation.host, set()).add(allocation.consumer)
        self._used[allocation.host] = self._used.get(allocation.host, ZERO) + allocation.resources
        self._refresh_free(self._slots.get(allocation.host))

    def remove_allocation(self, consumer: str) -> Allocation | None:
        allocation = self._allocations.pop(consumer, None)
        if allocation is None:
            return None
        host = allocation.host
        self._consumers[host].discard(consumer)
        if self._consumers[host]:
            self._used[host] -= allocation.resources
        else:
            del self._consumers[host], self._used[host]
        self._refresh_free(self._slots.get(host))
        return allocation

    # -- internals ------------------------------------------------------------------------------------

    def _new_slot(self, name: str) -> int:
        if self._vacant:
            slot = self._vacant.pop()
        else:
            slot = len(self._infos)
            self._infos.append(None)
            self._names.append("")
            self._free_vcpus.append(0)
            self._free_ram.append(0)
            self._free_disk.append(0)
        self._slots[name] = slot
        self._names[slot] = name
        key = (zlib.crc32(name.encode()), name)
        at = bisect.bisect_left(self._order_keys, key)
        self._order_keys.insert(at, key)
        self._order.insert(at, slot)
        return slot

    def _index(self, slot: int, host: HostInfo) -> None:
        health = host.health
        self._health.setdefault(host.zone, [0] * len(Health))[health] += 1
        if health == Health.OK:
            self._ok.setdefault(host.zone, set()).add(slot)
            if host.zone in self._zones:
                self._ok_known.add(slot)
        for trait in host.traits:
            self._traits.setdefault(trait, set()).add(slot)

    def _unindex(self, slot: int, host: HostInfo) -> None:
        self._health[host.zone][host.health] -= 1
        if host.health == Health.OK:
            self._ok[host.zone].discard(slot)
            self._ok_known.discard(slot)
        for trait in host.traits:
            members = self._traits[trait]
            members.discard(slot)
            if not members:
                del self._traits[trait]

    def _refresh_free(self, slot: int | None) -> None:
        if slot is None:
            return
        info = self._infos[slot]
        assert info is not None
        free = info.allocatable - self._used.get(info.name, ZERO)
        self._free_vcpus[slot], self._free_ram[slot], self._free_disk[slot] = (
            free.vcpus,
            free.ram_mib,
            free.disk_gib,
        )

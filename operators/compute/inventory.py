"""What the compute operator keeps in memory: the scheduler's HostIndex and the objects it plans from.

Fed by the watch events (and a full list at start): Hosts, Zones and HostAggregates go into the index;
Flavors, ServerGroups, Hosts and Servers are kept as the latest bodies seen; each placed Server's
allocation (status.host, sized by its Flavor) is in the index, and so is each placement in flight (made,
not yet written). Volumes and Ports are kept only as small views (`VolumeView`, `PortView`: a few fields,
not the bodies) with, per name, the Servers that need them, so that a Volume or Port event replans only
those. No I/O here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from controllers.compute_deps import PortView, VolumeView, port_needs, volume_needs
from controllers.compute_plan import (
    allocation_of,
    consumer,
    desired_flavor,
    flavor_name,
    is_rejected,
    resize_flavor,
)
from controllers.scheduling import (
    DEFAULT_CONFIG,
    AggregateInfo,
    Decision,
    GroupInfo,
    HostIndex,
    HostInfo,
    SchedulerConfig,
    ScheduleRequest,
    ZoneInfo,
    schedule,
)

log = logging.getLogger("kumulus.compute")
Obj = dict[str, Any]


def _rv(obj: Obj) -> int:
    text = str(obj["metadata"].get("resourceVersion") or "0")
    return int(text) if text.isdigit() else 0


class Inventory:
    def __init__(
        self, config: SchedulerConfig = DEFAULT_CONFIG, on_decision: Callable[[float], None] | None = None
    ) -> None:
        self.index = HostIndex()
        self.config = config
        self.flavors: dict[str, Obj] = {}
        self.groups: dict[tuple[str, str], Obj] = {}
        self.hosts: dict[str, Obj] = {}
        self.zones: dict[str, Obj] = {}
        self.aggregates: dict[str, Obj] = {}
        self.servers: dict[str, Obj] = {}
        self.excluded: dict[str, set[str]] = {}
        self._members: dict[tuple[str, str], set[str]] = {}  # (namespace, group) -> Server names
        # Per namespace, by name: the views of Volumes and Ports, and the Servers needing each name.
        self.volumes: dict[str, dict[str, VolumeView]] = {}
        self.ports: dict[str, dict[str, PortView]] = {}
        self._needs: dict[tuple[str, str, str], set[str]] = {}  # (kind, namespace, name) -> Server keys
        self._needed: dict[str, tuple[tuple[str, str, str], ...]] = {}  # Server key -> its needs
        self._on_decision = on_decision

    # -- infrastructure --------------------------------------------------------------------------------

    def upsert_host(self, obj: Obj) -> bool:
        """Keep the Host; True if something the scheduler uses changed."""
        self.hosts[obj["metadata"]["name"]] = obj
        try:
            return self.index.upsert_host(HostInfo.from_host(obj))
        except (ValidationError, KeyError) as exc:
            log.warning("ignoring Host %s: %s", obj["metadata"].get("name"), exc)
            return False

    def remove_host(self, name: str) -> None:
        self.hosts.pop(name, None)
        self.index.remove_host(name)

    def upsert_zone(self, obj: Obj) -> None:
        self.zones[obj["metadata"]["name"]] = obj
        self.index.upsert_zone(ZoneInfo.from_zone(obj))

    def remove_zone(self, name: str) -> None:
        self.zones.pop(name, None)
        self.index.remove_zone(name)

    def upsert_aggregate(self, obj: Obj) -> None:
        self.aggregates[obj["metadata"]["name"]] = obj
        self.index.upsert_aggregate(AggregateInfo.from_aggregate(obj))

    def remove_aggregate(self, name: str) -> None:
        self.aggregates.pop(name, None)
        self.index.remove_aggregate(name)

    def upsert_flavor(self, obj: Obj) -> None:
        name = obj["metadata"]["name"]
        self.flavors[name] = obj
        for server in self.servers.values():  # allocations of placed Servers seen before their Flavor
            if name in (flavor_name(server), resize_flavor(server)):
                self._record(server)

    # -- Volumes and Ports (views only) -----------------------------------------------------------------

    def upsert_dep(self, kind: str, obj: Obj) -> list[str]:
        """Keep the view of a Volume or Port ("volumes"/"ports"); the Servers to plan again if it changed."""
        meta = obj["metadata"]
        ns, name = str(meta.get("namespace") or ""), str(meta["name"])
        table: dict[str, Any] = (self.volumes if kind == "volumes" else self.ports).setdefault(ns, {})
        view = VolumeView.of(obj) if kind == "volumes" else PortView.of(obj)
        if table.get(name) == view:
            return []
        table[name] = view
        return sorted(self._needs.get((kind, ns, name), ()))

    def remove_dep(self, kind: str, namespace: str, name: str) -> list[str]:
        table = (self.volumes if kind == "volumes" else self.ports).get(namespace, {})
        if table.pop(name, None) is None:
            return []
        if not table:
            (self.volumes if kind == "volumes" else self.ports).pop(namespace, None)
        return sorted(self._needs.get((kind, namespace, name), ()))

    def volumes_of(self, server: Obj) -> dict[str, VolumeView]:
        return self.volumes.get(server["metadata"].get("namespace") or "", {})

    def ports_of(self, server: Obj) -> dict[str, PortView]:
        return self.ports.get(server["metadata"].get("namespace") or "", {})

    def _index_needs(self, key: str, obj: Obj | None) -> None:
        """Record which Volumes and Ports the Server needs (None: forget it)."""
        new: tuple[tuple[str, str, str], ...] = ()
        if obj is not None:
            ns = str(obj["metadata"].get("namespace") or "")
            new = tuple(("volumes", ns, n.name) for n in volume_needs(obj)) + tuple(
                ("ports", ns, n.name) for n in port_needs(obj)
            )
        old = self._needed.get(key, ())
        if old == new:
            return
        for need in old:
            users = self._needs.get(need)
            if users is not None:
                users.discard(key)
                if not users:
                    del self._needs[need]
        for need in new:
            self._needs.setdefault(need, set()).add(key)
        if new:
            self._needed[key] = new
        else:
            self._needed.pop(key, None)

    def remove_flavor(self, name: str) -> None:
        self.flavors.pop(name, None)

    def upsert_group(self, obj: Obj) -> None:
        self.groups[(obj["metadata"]["namespace"], obj["metadata"]["name"])] = obj

    def remove_group(self, namespace: str, name: str) -> None:
        self.groups.pop((namespace, name), None)

    # -- Servers ---------------------------------------------------------------------------------------

    def observe_server(self, obj: Obj) -> Obj:
        """Keep the newer of this body and the one kept (a late watch event may be older than what we
        wrote); returns the body kept."""
        key = consumer(obj)
        kept = self.servers.get(key)
        if kept is not None and _rv(kept) > _rv(obj):
            return kept
        self.servers[key] = obj
        self._index_needs(key, obj)
        group = obj["spec"].get("serverGroup")
        if group:
            self._members.setdefault((obj["metadata"]["namespace"], group), set()).add(
                obj["metadata"]["name"]
            )
        self._record(obj)
        return obj

    def forget_server(self, key: str) -> None:
        obj = self.servers.pop(key, None)
        self._index_needs(key, None)
        self.index.remove_allocation(key)
        self.excluded.pop(key, None)
        if obj is not None and obj["spec"].get("serverGroup"):
            group = (obj["metadata"]["namespace"], obj["spec"]["serverGroup"])
            self._members.get(group, set()).discard(obj["metadata"]["name"])

    def _record(self, server: Obj) -> None:
        """Count a placed Server's allocation (those not placed keep their in-flight one, if any)."""
        status = server.get("status") or {}
        if status.get("host") and not is_rejected(status):
            target = resize_flavor(server)
            allocation = allocation_of(
                server, self.flavors.get(flavor_name(server)), self.flavors.get(target) if target else None
            )
            if allocation is not None and self.index.allocation(allocation.consumer) != allocation:
                self.index.add_allocation(allocation)

    def pending(self) -> list[str]:
        """Servers not placed (or refused by their host), to plan again."""
        out = []
        for key, obj in self.servers.items():
            status = obj.get("status") or {}
            if not status.get("host") or is_rejected(status):
                out.append(key)
        return out

    def flavor_for(self, server: Obj) -> Obj | None:
        return self.flavors.get(flavor_name(server))

    def target_flavor_for(self, server: Obj) -> Obj | None:
        """The Flavor the user wants (spec.resize.flavor, else spec.flavor)."""
        return self.flavors.get(desired_flavor(server))

    def group_for(self, server: Obj) -> GroupInfo | None:
        """The Server's ServerGroup with where its other members are placed (in flight included)."""
        meta = server["metadata"]
        name = server["spec"].get("serverGroup")
        obj = self.groups.get((meta["namespace"], name)) if name else None
        if obj is None:
            return None
        hosts: dict[str, str | None] = {}
        for member in self._members.get((meta["namespace"], name), ()):
            allocation = self.index.allocation(f"{meta['namespace']}/{member}")
            hosts[member] = allocation.host if allocation is not None else None
        return GroupInfo.from_server_group(obj, hosts, exclude=meta["name"])

    def decide(self, request: ScheduleRequest) -> Decision:
        """Schedule, and record the placement in the index at once (before it is written), so that the
        next decision already counts it; the request's own earlier in-flight allocation is dropped."""
        started = time.perf_counter()
        self.index.remove_allocation(request.consumer)
        decision = schedule(request, self.index, self.config)
        if decision.placement is not None:
            self.index.add_allocation(decision.placement.allocation)
        if self._on_decision is not None:
            self._on_decision(time.perf_counter() - started)
        return decision

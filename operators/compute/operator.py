"""The compute operator's runtime: a full list at start, the watch events, and the periodic resync.

At start every Zone, Host, HostAggregate, Flavor, ServerGroup and Server is listed, so the index holds
every allocation before the first decision (level-based: nothing is remembered across restarts). Then
kopf's watch events keep it current, each Server event plans that Server, and a resync loop plans every
Server each `resync` seconds, and the unplaced ones as soon as something that could let them fit
changes (a Host, Zone, aggregate, Flavor or ServerGroup, or an allocation released). Volumes and Ports
are watched read-only: a change of one that a Server needs plans that Server (VolumesReady,
NetworkReady). Zones and HostAggregates get their status from the inventory (`infra_status`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from controllers.api.compute import ServerPhase
from controllers.compute_plan import consumer
from operators import metrics as operators_metrics
from operators.kube import AGGREGATES, FLAVORS, HOSTS, SERVER_GROUPS, SERVERS, ZONES, Kube, Resource

from . import metrics
from .heartbeats import heartbeat_loop
from .infra import infra_status_loop
from .inventory import Inventory
from .servers import ServerReconciler

log = logging.getLogger("kumulus.compute")
CONCURRENCY = 16
# Read only: the compute operator never writes them (the storage and network operators own them).
DEPS = {
    "volumes": Resource("storage.kumulus.dev", "v1alpha1", "volumes", "Volume"),
    "ports": Resource("network.kumulus.dev", "v1alpha1", "ports", "Port"),
}


@dataclass(frozen=True, slots=True)
class Options:
    resync: float = 30.0
    heartbeat: float = 5.0


class ComputeOperator:
    def __init__(self, kube: Kube, options: Options = Options()) -> None:
        self.kube = kube
        self.options = options
        self.inv = Inventory(on_decision=metrics.observe_decision)
        self.servers = ServerReconciler(kube, self.inv)
        self.wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        await self.load()
        phases = [p.value for p in ServerPhase]
        operators_metrics.register_phases(
            "compute", lambda: operators_metrics.count_phases("Server", self.inv.servers.values(), phases)
        )
        self._tasks = [
            asyncio.create_task(self._resync_loop()),
            asyncio.create_task(heartbeat_loop(self.kube, self.inv, self.options.heartbeat, self.wake)),
            asyncio.create_task(infra_status_loop(self.kube, self.inv, self.options.heartbeat)),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.kube.close()

    async def load(self) -> None:
        inv, kube = self.inv, self.kube
        for obj in await kube.list(ZONES.path()):
            inv.upsert_zone(obj)
        for obj in await kube.list(HOSTS.path()):
            inv.upsert_host(obj)
        for obj in await kube.list(AGGREGATES.path()):
            inv.upsert_aggregate(obj)
        for obj in await kube.list(FLAVORS.path()):
            inv.upsert_flavor(obj)
        for obj in await kube.list(SERVER_GROUPS.path()):
            inv.upsert_group(obj)
        for kind, resource in DEPS.items():
            for obj in await kube.list(resource.path()):
                inv.upsert_dep(kind, obj)
        for obj in await kube.list(SERVERS.path()):
            inv.observe_server(obj)
        log.info("loaded %d hosts, %d servers", len(inv.index), len(inv.servers))

    # -- watch events ---------------------------------------------------------------------------------

    async def on_server(self, kind: str | None, obj: dict[str, Any]) -> None:
        key = consumer(obj)
        if kind == "DELETED":
            self.inv.forget_server(key)
            self.wake.set()
            return
        self.inv.observe_server(obj)
        await self.servers.reconcile(key)

    async def on_dep(self, kind: str, event: str | None, obj: dict[str, Any]) -> None:
        """A Volume or Port changed: plan the Servers that need it (none when its view is unchanged)."""
        meta = obj["metadata"]
        if event == "DELETED":
            keys = self.inv.remove_dep(kind, str(meta.get("namespace") or ""), str(meta["name"]))
        else:
            keys = self.inv.upsert_dep(kind, obj)
        for key in keys:
            await self.servers.reconcile(key)

    def on_infra(self, resource: str, kind: str | None, obj: dict[str, Any]) -> None:
        inv, meta = self.inv, obj["metadata"]
        changed = True
        if kind == "DELETED":
            if resource == "servergroups":
                inv.remove_group(meta["namespace"], meta["name"])
            else:
                {
                    "hosts": inv.remove_host,
                    "zones": inv.remove_zone,
                    "hostaggregates": inv.remove_aggregate,
                    "flavors": inv.remove_flavor,
                }[resource](meta["name"])
        elif resource == "hosts":
            changed = inv.upsert_host(obj)
        else:
            {
                "zones": inv.upsert_zone,
                "hostaggregates": inv.upsert_aggregate,
                "flavors": inv.upsert_flavor,
                "servergroups": inv.upsert_group,
            }[resource](obj)
        if changed and inv.pending():
            self.wake.set()

    # -- resync ---------------------------------------------------------------------------------------

    async def _resync_loop(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.options.resync
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), max(deadline - loop.time(), 0))
            everything = loop.time() >= deadline
            if not everything:
                await asyncio.sleep(0.2)  # let a burst of changes settle into one pass
            self.wake.clear()
            keys = list(self.inv.servers) if everything else self.inv.pending()
            if everything:
                deadline = loop.time() + self.options.resync
            await self._reconcile_all(keys)

    async def _reconcile_all(self, keys: list[str]) -> None:
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(key: str) -> None:
            async with gate:
                await self.servers.reconcile(key)

        await asyncio.gather(*(one(k) for k in keys))

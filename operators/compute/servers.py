"""Reconcile one Server: observe (the latest body and what it refers to), plan (pure), apply.

Applying is: index bookkeeping, ONE metadata merge patch, ONE status PUT, each with the resourceVersion
read; a 409 (hostd wrote its conditions meanwhile) re-reads the Server and plans again, so nobody's
conditions are lost. Passes over one Server are serialised by a lock per Server.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any

from controllers.compute_plan import ServerActions, consumer, plan_server
from controllers.conditions import now
from operators.events import EventPoster
from operators.kube import SERVERS, Conflict, Kube, NotFound, object_path

from . import metrics
from .inventory import Inventory

log = logging.getLogger("kumulus.compute")
ATTEMPTS = 5


class ServerReconciler:
    def __init__(self, kube: Kube, inventory: Inventory) -> None:
        self.kube = kube
        self.inv = inventory
        self.events = EventPoster(kube, "kumulus-compute")
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    def plan(self, body: dict[str, Any]) -> ServerActions:
        inv = self.inv
        return plan_server(
            body,
            inv.flavor_for(body),
            inv.decide,
            group=inv.group_for(body),
            excluded=inv.excluded.get(consumer(body), ()),
            volumes=inv.volumes_of(body),
            ports=inv.ports_of(body),
            target=inv.target_flavor_for(body),
            now=now(),
        )

    async def reconcile(self, key: str) -> None:
        async with self._locks[key]:
            metrics.RECONCILES.labels("Server").inc()
            try:
                await self._reconcile(key)
            except Exception:
                metrics.ERRORS.labels("Server").inc()
                log.exception("reconciling Server %s failed (retried at the next resync)", key)
        if key not in self.inv.servers:
            self._locks.pop(key, None)

    async def _reconcile(self, key: str) -> None:
        body = self.inv.servers.get(key)
        for _ in range(ATTEMPTS):
            if body is None:
                return
            try:
                await self._apply(body, self.plan(body))
                return
            except NotFound:  # deleted before its DELETED event came (e.g. a Volume event planned it)
                self.inv.forget_server(key)
                return
            except Conflict:
                try:
                    body = self.inv.observe_server(await self.kube.get(object_path(SERVERS, body)))
                except NotFound:
                    self.inv.forget_server(key)
                    return
        log.warning("Server %s: still conflicting after %d attempts", key, ATTEMPTS)

    async def _apply(self, body: dict[str, Any], actions: ServerActions) -> None:
        inv, key = self.inv, consumer(body)
        if actions.exclude:
            inv.excluded.setdefault(key, set()).add(actions.exclude)
        if actions.release:
            inv.index.remove_allocation(key)
        if actions.allocate is not None and inv.index.allocation(key) != actions.allocate:
            inv.index.add_allocation(actions.allocate)
        if actions.metadata is not None:
            body = await self.kube.merge_patch(object_path(SERVERS, body), actions.metadata)
            metrics.WRITES.labels("Server", "metadata").inc()
            if body["metadata"].get("deletionTimestamp") and not body["metadata"].get("finalizers"):
                inv.forget_server(key)  # our finalizer was the last: the Server is gone
            else:
                inv.observe_server(body)
        if actions.status is not None:
            new = SERVERS.typed({**body, "status": actions.status})
            body = await self.kube.put(object_path(SERVERS, body, "status"), new)
            inv.observe_server(body)
            metrics.WRITES.labels("Server", "status").inc()
        await self.events.post(body, actions.events)

"""status.used and the Ready condition of every Quota, from the cache; written only when they change.

A write that brings a resource to its limit (from below) posts a Warning Event LimitReached on the Quota,
one that brings it back below posts BelowLimit: requests are refused at admission (the webhook's answer
tells the requester), the Events tell whoever watches the Quota. A limit changed in the spec does not
post one by itself (the usage it compares did not change).
"""

from __future__ import annotations

import logging
from typing import Any

from controllers.compute_plan import Event
from controllers.conditions import changed, set_condition
from controllers.quota import UNLIMITED, effective_limits, usage_of
from operators.events import EventPoster
from operators.kube import Conflict, Kube, NotFound, object_path

from .cache import Cache
from .resources import QUOTAS

log = logging.getLogger("kumulus.quota")
ATTEMPTS = 5


def desired_status(quota: dict[str, Any], used: dict[str, int]) -> dict[str, Any] | None:
    """The Quota's new status, None if it is current."""
    status = quota.get("status") or {}
    conditions = set_condition(status.get("conditions"), "Ready", True, "Counted", "usage is counted")
    generation = quota["metadata"].get("generation")
    if (
        status.get("used") == used
        and not changed(status.get("conditions"), conditions)
        and status.get("observedGeneration") == generation
    ):
        return None
    out = {**status, "used": used, "conditions": conditions}
    if generation is not None:
        out["observedGeneration"] = generation
    return out


def at_limit(quota: dict[str, Any], used: dict[str, int]) -> dict[str, tuple[int, int]]:
    """resource -> (used, limit) of the resources the Quota's own limits allow no more of. A limit of 0
    with nothing used is not reported: nothing was ever allowed."""
    limits = effective_limits([quota])
    out = {}
    for resource, limit in limits.items():
        n = int(used.get(resource, 0))
        if limit != UNLIMITED and n >= limit and n > 0:
            out[resource] = (n, limit)
    return out


def limit_events(quota: dict[str, Any], old_used: dict[str, int], used: dict[str, int]) -> tuple[Event, ...]:
    """The Events of a usage change on a Quota: resources that reached their limit, or went below it."""
    before, now = at_limit(quota, old_used), at_limit(quota, used)
    events = [
        Event("Warning", "LimitReached", f"{r}: {n} used of {lim}; more is refused at admission")
        for r, (n, lim) in now.items()
        if r not in before
    ]
    limits = effective_limits([quota])
    events += [
        Event("Normal", "BelowLimit", f"{r}: {used.get(r, 0)} used of {limits[r]}")
        for r in before
        if r not in now
    ]
    return tuple(events)


class StatusWriter:
    def __init__(self, kube: Kube, cache: Cache) -> None:
        self.kube = kube
        self.cache = cache
        self.writes = 0
        self.events = EventPoster(kube, "kumulus-quota")

    async def sync(self) -> None:
        for ns in self.cache.namespaces_with_quotas():
            used = usage_of(self.cache.counted(ns), self.cache.flavors()).to_status()
            for quota in self.cache.quotas(ns):
                await self._write(quota, used)

    async def _write(self, quota: dict[str, Any], used: dict[str, int]) -> None:
        for _ in range(ATTEMPTS):
            status = desired_status(quota, used)
            if status is None:
                return
            try:
                stored = await self.kube.put(
                    object_path(QUOTAS, quota, "status"), {**quota, "status": status}
                )
                self.writes += 1
                self.cache.upsert("Quota", QUOTAS.typed(stored))
                old_used = (quota.get("status") or {}).get("used") or {}
                await self.events.post(QUOTAS.typed(stored), limit_events(quota, old_used, used))
                return
            except Conflict:
                try:
                    quota = QUOTAS.typed(await self.kube.get(object_path(QUOTAS, quota)))
                except NotFound:
                    self.cache.remove("Quota", quota)
                    return
            except NotFound:
                self.cache.remove("Quota", quota)
                return
        log.warning("Quota %s: still conflicting after %d attempts", quota["metadata"]["name"], ATTEMPTS)

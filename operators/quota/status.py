"""status.used and the Ready condition of every Quota, from the cache; written only when they change."""

from __future__ import annotations

import logging
from typing import Any

from controllers.conditions import changed, set_condition
from controllers.quota import usage_of
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


class StatusWriter:
    def __init__(self, kube: Kube, cache: Cache) -> None:
        self.kube = kube
        self.cache = cache
        self.writes = 0

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

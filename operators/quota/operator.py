"""The quota operator's runtime: a full list at start, then the webhook, then watch events and passes.

Start: every watched object is listed into the cache, the webhook server starts and its configuration is
registered (so no request is judged on an empty cache). Every change wakes a status pass (after 0.2 s,
so a burst makes one pass); a pass also runs every `resync` seconds.

Metrics: the pass loop's (operators.passes), admission reviews by result (webhook), and
kumulus_objects{operator="quota", kind="Quota"}: Quotas by state, AtLimit (some resource allows no more),
Counted, or Unset (no status yet).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from operators import metrics
from operators.kube import Kube
from operators.passes import Wake, run_passes

from .admission import Admission
from .cache import Cache
from .resources import WATCHED
from .status import StatusWriter, at_limit
from .webhook import WebhookServer, register

log = logging.getLogger("kumulus.quota")
DEBOUNCE = 0.2


class QuotaOperator:
    def __init__(self, kube: Kube, resync: float = 30.0) -> None:
        self.kube = kube
        self.resync = resync
        self.cache = Cache()
        self.admission = Admission(self.cache)
        self.webhook = WebhookServer(self.admission.review)
        self.status = StatusWriter(kube, self.cache)
        self.wake: asyncio.Event = Wake()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        for kind, resource in WATCHED.items():
            for obj in await self.kube.list(resource.path()):
                self.cache.upsert(kind, resource.typed(obj))
        await self.webhook.start()
        await register(self.kube, self.webhook.configuration())
        metrics.register_phases("quota", self.phase_counts)
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        metrics.unregister_phases("quota")
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.webhook.stop()
        await self.kube.close()

    def phase_counts(self) -> dict[tuple[str, str], int]:
        """("Quota", state) -> Quotas, for kumulus_objects (called from the metrics server's thread)."""
        out = {("Quota", state): 0 for state in ("AtLimit", "Counted", metrics.UNSET)}
        for ns in list(self.cache.objects):
            for quota in self.cache.quotas(ns):
                used = (quota.get("status") or {}).get("used")
                state = metrics.UNSET if used is None else "AtLimit" if at_limit(quota, used) else "Counted"
                out["Quota", state] += 1
        return out

    def on_event(self, kind: str, event_type: str | None, obj: dict[str, Any]) -> None:
        typed = WATCHED[kind].typed(obj)
        if event_type == "DELETED":
            self.cache.remove(kind, typed)
        else:
            self.cache.upsert(kind, typed)
        self.admission.observe(kind, typed)
        self.wake.set()

    async def _loop(self) -> None:
        await run_passes(self.wake, self.status.sync, resync=self.resync, debounce=DEBOUNCE, name="quota")

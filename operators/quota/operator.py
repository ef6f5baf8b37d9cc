"""The quota operator's runtime: a full list at start, then the webhook, then watch events and passes.

Start: every watched object is listed into the cache, the webhook server starts and its configuration is
registered (so no request is judged on an empty cache). Every change wakes a status pass (after 0.2 s,
so a burst makes one pass); a pass also runs every `resync` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from operators.kube import Kube
from operators.passes import run_passes

from .admission import Admission
from .cache import Cache
from .resources import WATCHED
from .status import StatusWriter
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
        self.wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        for kind, resource in WATCHED.items():
            for obj in await self.kube.list(resource.path()):
                self.cache.upsert(kind, resource.typed(obj))
        await self.webhook.start()
        await register(self.kube, self.webhook.configuration())
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.webhook.stop()
        await self.kube.close()

    def on_event(self, kind: str, event_type: str | None, obj: dict[str, Any]) -> None:
        typed = WATCHED[kind].typed(obj)
        if event_type == "DELETED":
            self.cache.remove(kind, typed)
        else:
            self.cache.upsert(kind, typed)
        self.admission.observe(kind, typed)
        self.wake.set()

    async def _loop(self) -> None:
        await run_passes(
            self.wake, self.status.sync, resync=self.resync, debounce=DEBOUNCE, name="quota status"
        )

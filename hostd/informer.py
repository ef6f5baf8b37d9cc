"""A list-then-watch cache of objects matching a label selector, keyed by uid.

Lists, then watches from the list's resourceVersion, resuming from the last version seen when a watch
ends and relisting when the server answers with an ERROR event (410 Gone). On connection errors the
cache is kept as it is (never emptied because the API is unreachable) and the client backs off.
`on_change` is called after each list and each event; with `relevant`, only for events whose object it
accepts (the cache keeps every object either way).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from .kube import RETRYABLE, ApiError, Backoff, Gone, Kube, Obj

log = logging.getLogger("hostd.informer")


class Informer:
    def __init__(
        self,
        kube: Kube,
        path: str,
        label_selector: str,
        on_change: Callable[[], None],
        relevant: Callable[[Obj], bool] | None = None,
    ) -> None:
        self.kube = kube
        self.path = path
        self.label_selector = label_selector
        self.on_change = on_change
        self.relevant = relevant
        self.items: dict[str, Obj] = {}
        self.synced = asyncio.Event()

    async def run(self) -> None:
        backoff = Backoff()
        rv = ""
        while True:
            try:
                if not rv:
                    items, rv = await self.kube.list(self.path, self.label_selector)
                    self.items = {i["metadata"]["uid"]: i for i in items}
                    self.synced.set()
                    self.on_change()
                async for kind, obj in self.kube.watch(self.path, rv, self.label_selector):
                    backoff.reset()
                    rv = str((obj.get("metadata") or {}).get("resourceVersion") or rv)
                    if kind == "BOOKMARK":
                        continue
                    uid = obj["metadata"]["uid"]
                    if kind == "DELETED":
                        self.items.pop(uid, None)
                    else:
                        self.items[uid] = obj
                    if self.relevant is None or self.relevant(obj):
                        self.on_change()
            except Gone as exc:
                log.info("watch of %s expired (%s): relisting", self.path, exc)
                rv = ""
            except (*RETRYABLE, ApiError) as exc:
                log.warning("watch of %s failed: %s; retrying", self.path, exc)
                await backoff.wait()

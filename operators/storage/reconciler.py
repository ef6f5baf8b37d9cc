"""Apply the plan of one storage object: the finalizers (merge patch), the backend requests, the status
(PUT), then the plan's Events. A status planned with `hold` (a boot Volume's Creating) waits up to HOLD
seconds for the backend, then is planned again: a quick clone is written once, as Available; a slow
one shows Creating after HOLD. Every write carries the resourceVersion read; a 409 re-reads the object
and plans again. A failure is reported once as a Warning Event (ReconcileFailed) on the object, again
only if the error changes, so a pass retried after an outage does not post it every time."""

from __future__ import annotations

import logging
from typing import Any

from controllers.compute_plan import Event
from controllers.storage_plan import Key, key_of, plan
from operators.events import EventPoster
from operators.kube import Conflict, Kube, NotFound, object_path

from .backend import StorageBackend
from .resources import RESOURCES
from .world import StorageWorld

log = logging.getLogger("kumulus.storage")
ATTEMPTS = 8
HOLD = 1.0
"""How long a held status waits for the backend before it is written as it stands."""


class Reconciler:
    def __init__(self, kube: Kube, world: StorageWorld, backend: StorageBackend) -> None:
        self.kube = kube
        self.world = world
        self.backend = backend
        self.writes = 0
        self.events = EventPoster(kube, "kumulus-storage")
        self.failing: dict[str, str] = {}
        """uid -> the error last reported on the object (until it reconciles again)."""
        self.asked: dict[str, tuple[str, Key]] = {}
        """backend id -> the object whose plan submitted work on it (reconciled when the work ends)."""

    async def reconcile(self, kind: str, key: Key) -> None:
        kept = self.world.objects[kind].get(key)
        uid = str(kept["metadata"].get("uid") or "") if kept is not None else ""
        try:
            await self._reconcile(kind, key)
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}"
            if kept is not None and self.failing.get(uid) != message:
                self.failing[uid] = message
                await self.events.post(kept, (Event("Warning", "ReconcileFailed", message),))
            raise
        self.failing.pop(uid, None)

    async def _reconcile(self, kind: str, key: Key) -> None:
        w = self.world
        held = False
        for _ in range(ATTEMPTS):
            kept = w.objects[kind].get(key)
            if kept is None:
                return
            obj = dict(kept)
            actions = plan(kind, obj, w.objects, self.backend.state(), self.backend.failures())
            try:
                if actions.finalizers is not None:
                    written = await self.set_finalizers(kind, obj, actions.finalizers)
                    await self.events.post(RESOURCES[kind].typed(written), actions.events)
                    continue
                for op in actions.ops:
                    self.asked[op.backend_id] = (kind, key)
                    self.backend.submit(op)
                if actions.hold and not held:
                    held = True
                    await self.backend.wait([op.backend_id for op in actions.ops], HOLD)
                    continue
                if actions.status is not None:
                    new = RESOURCES[kind].typed({**obj, "status": actions.status})
                    written = RESOURCES[kind].typed(
                        await self.kube.put(object_path(RESOURCES[kind], obj, "status"), new)
                    )
                    self.writes += 1
                    # The Events first: what the operator reports (kumulus_objects) follows them. Nothing
                    # else reconciles this object meanwhile (the work queue runs an item once at a time).
                    await self.events.post(written, actions.events)
                    w.upsert(written)
                return
            except Conflict:
                await self.refresh(kind, obj)
            except NotFound:
                w.remove(kind, key)
                return
        log.warning("%s %s: still conflicting after %d attempts", kind, "/".join(key), ATTEMPTS)

    async def set_finalizers(self, kind: str, obj: dict[str, Any], finalizers: list[str]) -> dict[str, Any]:
        patch = {
            "metadata": {"finalizers": finalizers, "resourceVersion": obj["metadata"]["resourceVersion"]}
        }
        written = await self.kube.merge_patch(object_path(RESOURCES[kind], obj), patch)
        self.writes += 1
        if written["metadata"].get("deletionTimestamp") and not written["metadata"].get("finalizers"):
            self.world.remove(kind, key_of(obj))  # our finalizer was the last: it is gone
        else:
            self.world.upsert(RESOURCES[kind].typed(written))
        return written

    async def create(self, kind: str, body: dict[str, Any]) -> None:
        """An object the operator makes (a Server's boot Volume); 409: it exists."""
        ns, _ = key_of(body)
        try:
            self.world.upsert(
                RESOURCES[kind].typed(
                    await self.kube.request("POST", RESOURCES[kind].path(namespace=ns), body)
                )
            )
            self.writes += 1
        except Conflict:
            pass

    async def refresh(self, kind: str, obj: dict[str, Any]) -> None:
        try:
            self.world.upsert(RESOURCES[kind].typed(await self.kube.get(object_path(RESOURCES[kind], obj))))
        except NotFound:
            self.world.remove(kind, key_of(obj))

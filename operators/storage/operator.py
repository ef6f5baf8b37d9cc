"""The storage operator's runtime: a full list at start, the watch events, and a work queue of objects.

Level-based: a watch event queues the objects the change can affect (controllers.storage_deps: the
object itself, the Volumes a Server lists, the snapshots of a Volume, ...), the backend finishing some
work queues the object that asked for it, and each queued object is reconciled on its own (a Server:
make its boot Volume; an image, Volume or VolumeSnapshot: plan and apply, controllers.storage_plan),
up to LIMIT at a time (queue.WorkQueue). So a change costs the work of the objects it touches, not of
everything, and independent writes run concurrently. A full pass, queueing everything, still runs every
`resync` seconds (operators.passes, also at start) and catches anything the links missed.

Metrics: the full pass loop's (operators.passes; the queue depth is the work queue's) and
kumulus_objects{operator="storage"}: Volumes, VolumeSnapshots, Images and ClusterImages by phase.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from typing import Any

from controllers.storage_deps import Item, affected, everything
from controllers.storage_plan import ORDER, boot_volume, key_of
from operators import metrics
from operators.kube import Kube
from operators.passes import Wake, run_passes

from .backend import StorageBackend
from .queue import WorkQueue
from .reconciler import Reconciler
from .reported_backend import ReportedBackend
from .resources import RESOURCES
from .sim_backend import SimBackend
from .world import StorageWorld

log = logging.getLogger("kumulus.storage")
DEBOUNCE = 0.2
"""Only for the full pass's retries (operators.passes): objects are queued without delay."""
LIMIT = 16
"""Objects reconciled at once: each is mostly waiting on the API server or the backend."""
PHASES = {
    "Volume": ("Creating", "Available", "InUse", "Extending", "Deleting", "Error"),
    "VolumeSnapshot": ("Creating", "Available", "Deleting"),
    "Image": ("Pending", "Downloading", "Available"),
    "ClusterImage": ("Pending", "Downloading", "Available"),
}
"""The phases exported as 0 when no object is in them."""
BACKEND_ENV = "KUMULUS_STORAGE_BACKEND"
BACKENDS = ("sim", "hostd")


def backend_name() -> str:
    """$KUMULUS_STORAGE_BACKEND: sim (the default) or hostd; ValueError naming the variable otherwise."""
    name = os.environ.get(BACKEND_ENV, "") or "sim"
    if name not in BACKENDS:
        raise ValueError(f"{BACKEND_ENV}: {name!r} is not one of {', '.join(BACKENDS)}")
    return name


def make_backend(kube: Kube) -> StorageBackend:
    """The backend $KUMULUS_STORAGE_BACKEND names: the simulation, or the storage-role hostds' reports."""
    return ReportedBackend(kube) if backend_name() == "hostd" else SimBackend()


class StorageOperator:
    def __init__(self, kube: Kube, resync: float = 30.0, backend: StorageBackend | None = None) -> None:
        self.kube = kube
        self.resync = resync
        self.world = StorageWorld()
        self.backend: StorageBackend = backend or make_backend(kube)
        self.backend.on_change = self.on_backend
        self.reconciler = Reconciler(kube, self.world, self.backend)
        self.queue: WorkQueue[Item] = WorkQueue(self.reconcile, limit=LIMIT, name="storage")
        self.wake: asyncio.Event = Wake()
        """Wakes the full pass early (operators.passes retries a failed pass through it)."""
        self._task: asyncio.Task[None] | None = None

    def on_backend(self, backend_id: str) -> None:
        """The backend finished work on backend_id: reconcile the object that asked for it."""
        item = self.reconciler.asked.pop(backend_id, None)
        if item is not None:
            self.queue.add(item)

    async def start(self) -> None:
        await self.backend.start()
        await self.load()
        metrics.register_phases("storage", self.phase_counts)
        self.queue.start()
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        metrics.unregister_phases("storage")
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.queue.stop()
        await self.backend.close()
        await self.kube.close()

    async def load(self) -> None:
        for resource in RESOURCES.values():
            for obj in await self.kube.list(resource.path()):
                self.world.upsert(resource.typed(obj))
        if isinstance(self.backend, SimBackend):  # the simulation forgets; a real backend finds its images
            for kind in ORDER:
                for kept in self.world.objects[kind].values():
                    self._adopt(self.backend, kept)

    @staticmethod
    def _adopt(backend: SimBackend, obj: Any) -> None:
        status = obj.get("status") or {}
        if status.get("phase") in ("Available", "InUse", "Extending") and status.get("backendId"):
            backend.adopt(status["backendId"], int(status.get("sizeGiB") or 0))
        for entry in status.get("zones") or ():
            if entry.get("phase") == "Available" and entry.get("backendId"):
                backend.adopt(entry["backendId"], 0)

    def phase_counts(self) -> dict[tuple[str, str], int]:
        """(kind, phase) -> objects, for kumulus_objects (called from the metrics server's thread)."""
        out: dict[tuple[str, str], int] = {}
        for kind, phases in PHASES.items():
            out.update(metrics.count_phases(kind, list(self.world.objects[kind].values()), phases))
        return out

    # -- watch events ---------------------------------------------------------------------------------

    def on_event(self, kind: str, event_type: str | None, obj: dict[str, Any]) -> None:
        typed = RESOURCES[kind].typed(obj)
        key = key_of(typed)
        old = self.world.objects[kind].get(key)
        if event_type == "DELETED":
            self.world.remove(kind, key, typed["metadata"].get("uid"))
            new = None
        else:
            self.world.upsert(typed)
            new = self.world.objects[kind].get(key)
        self.queue.add_all(affected(kind, old, new or typed, self.world.objects))

    # -- reconciling ----------------------------------------------------------------------------------

    async def reconcile(self, item: Item) -> None:
        """One object: a Server's boot Volume made, or an image, Volume or VolumeSnapshot planned and applied."""
        kind, key = item
        if kind != "Server":
            await self.reconciler.reconcile(kind, key)
            return
        server = self.world.objects["Server"].get(key)
        body = boot_volume(server, self.world.objects) if server is not None else None
        if body is not None:
            await self.reconciler.create("Volume", body)
            self.queue.add(("Volume", key_of(body)))  # start its clone now, not on the watch event

    async def _loop(self) -> None:
        await run_passes(self.wake, self.run_pass, resync=self.resync, debounce=DEBOUNCE, name="storage")

    async def run_pass(self) -> int:
        """The full pass: queue everything and wait for it; returns the API writes made meanwhile."""
        # The loop's queue depth is the work queue's (run_passes set it to the full pass's wake-ups).
        metrics.QUEUE_DEPTH.labels("storage").set_function(lambda: len(self.queue))
        before = self.reconciler.writes
        items = everything(self.world.objects)
        self.queue.add_all(items)
        await self.queue.join(items)
        writes = self.reconciler.writes - before
        if writes:
            log.info("storage full pass: %d writes", writes)
        return writes

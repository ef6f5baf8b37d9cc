"""The storage operator's runtime: a full list at start, the watch events, and passes over everything.

Level-based, as the network operator: every change (a watch event, or the backend finishing some work)
wakes a pass after 0.2 s, and a pass also runs every `resync` seconds. A pass creates the boot Volumes of
Servers booting from an image, then plans and applies every image, Volume and VolumeSnapshot
(controllers.storage_plan).

Metrics: the pass loop's (operators.passes) and kumulus_objects{operator="storage"}: Volumes,
VolumeSnapshots, Images and ClusterImages by phase.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from controllers.storage_plan import ORDER, boot_volume, key_of
from operators import metrics
from operators.kube import Kube
from operators.passes import Wake, run_passes

from .backend import StorageBackend
from .reconciler import Reconciler
from .resources import RESOURCES
from .sim_backend import SimBackend
from .world import StorageWorld

log = logging.getLogger("kumulus.storage")
DEBOUNCE = 0.2
PHASES = {
    "Volume": ("Creating", "Available", "InUse", "Extending", "Deleting", "Error"),
    "VolumeSnapshot": ("Creating", "Available", "Deleting"),
    "Image": ("Pending", "Downloading", "Available"),
    "ClusterImage": ("Pending", "Downloading", "Available"),
}
"""The phases exported as 0 when no object is in them."""


class StorageOperator:
    def __init__(self, kube: Kube, resync: float = 30.0, backend: StorageBackend | None = None) -> None:
        self.kube = kube
        self.resync = resync
        self.world = StorageWorld()
        self.backend: StorageBackend = backend or SimBackend()
        self.backend.on_change = self.wake_up
        self.reconciler = Reconciler(kube, self.world, self.backend)
        self.wake: asyncio.Event = Wake()
        self._task: asyncio.Task[None] | None = None

    def wake_up(self) -> None:
        self.wake.set()

    async def start(self) -> None:
        await self.load()
        metrics.register_phases("storage", self.phase_counts)
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        metrics.unregister_phases("storage")
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
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
        if event_type == "DELETED":
            self.world.remove(kind, key_of(typed), typed["metadata"].get("uid"))
        else:
            self.world.upsert(typed)
        self.wake.set()

    # -- passes ---------------------------------------------------------------------------------------

    async def _loop(self) -> None:
        await run_passes(self.wake, self.run_pass, resync=self.resync, debounce=DEBOUNCE, name="storage")

    async def run_pass(self) -> int:
        """One pass over everything; returns the API writes made."""
        w, r = self.world, self.reconciler
        before = r.writes
        for server in list(w.objects["Server"].values()):
            body = boot_volume(server, w.objects)
            if body is not None:
                await r.create("Volume", body)
        for kind in ORDER:
            for key in list(w.objects[kind]):
                await r.reconcile(kind, key)
        writes = r.writes - before
        if writes:
            log.info("storage pass: %d writes", writes)
        return writes

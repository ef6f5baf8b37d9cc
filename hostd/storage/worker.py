"""The storage role of hostd: drives the zone's Ceph RBD for the storage operator (docs/hostd-storage.md).

The operator decides (controllers.storage_plan: finalizers, statuses, deletion blocking); this role does
the work, derived from the same objects, and reports back:

- one active per zone: it holds the Lease `kumulus-storage-<zone>` (election.py) of every zone it serves,
  and acts only while it holds them all;
- it lists and watches Images, ClusterImages, Volumes, VolumeSnapshots, VolumeTypes, Zones and Servers
  (hostd.informer), and is level-based: on a change (debounced) and every `resync` seconds, in its one
  storage thread, it observes the pools, builds what is desired (desired.py), plans and applies
  (cycle.py). Nothing happens before every initial list is complete: an empty cache must never read as
  "nothing is desired, purge everything";
- it writes each zone's report ConfigMap `kumulus-storage-<zone>` (controllers.storage_report: held,
  failures, heartbeat) when it changes, or as a heartbeat (reporter.py).

A Ceph failure (cluster unreachable, a librados error) is logged, the connection dropped and made again on
the next pass; the API going away only delays the reports. Nothing is torn down for either.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import rados
import rbd

from controllers.storage_plan import Obj as PlanObj
from controllers.storage_plan import World

from ..config import ALL_ZONES, StorageConfig
from ..informer import Informer
from ..kube import RETRYABLE, ApiError, Backoff, Kube, path_for
from . import election
from .cycle import CommandKey, Cycle, Outcome, Retry, Store
from .rbd_store import GIB, RbdStore, StoreError
from .reporter import Reporter

log = logging.getLogger("hostd.storage")
DEBOUNCE = 0.3
"""Seconds a change waits for the ones that come with it (a kubectl apply of several objects)."""
KINDS = {
    "Image": ("image.kumulus.dev/v1alpha1", "images"),
    "ClusterImage": ("image.kumulus.dev/v1alpha1", "clusterimages"),
    "Volume": ("storage.kumulus.dev/v1alpha1", "volumes"),
    "VolumeSnapshot": ("storage.kumulus.dev/v1alpha1", "volumesnapshots"),
    "VolumeType": ("storage.kumulus.dev/v1alpha1", "volumetypes"),
    "Zone": ("infra.kumulus.dev/v1alpha1", "zones"),
    "Server": ("compute.kumulus.dev/v1alpha1", "servers"),
}


def rbd_store(cfg: StorageConfig) -> Store:
    """The real store: librados/librbd on the zone's cluster (connects at once: called in the storage thread)."""
    return RbdStore(
        cfg.ceph_conf,
        cfg.state_dir / "fetch",
        max_image_bytes=cfg.max_image_gib * GIB,
        client=cfg.ceph_client,
        state_dir=cfg.state_dir,
    )


class StorageWorker:
    def __init__(
        self,
        kube: Kube,
        cfg: StorageConfig,
        identity: str,
        store_factory: Callable[[StorageConfig], Store] = rbd_store,
    ) -> None:
        self.kube = kube
        self.cfg = cfg
        self.identity = identity
        self.store_factory = store_factory
        self.trigger = asyncio.Event()
        self.informers = {
            kind: Informer(kube, path_for(api, plural), "", self.trigger.set)
            for kind, (api, plural) in KINDS.items()
        }
        self.reporter = Reporter(kube, identity)
        self.held_until: dict[str, float] = {}
        """zone -> monotonic time until which our Lease of it is ours for sure."""
        self.renew_every = cfg.lease_seconds / 3
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="storage")
        self._cycle: Cycle | None = None
        self._retry: dict[CommandKey, Retry] = {}
        """The backoffs of failed commands, kept across reconnections."""
        self._running = False

    # -- who acts ---------------------------------------------------------------------------------------

    def zones(self) -> list[str]:
        """The zones served: the configured ones, or with "*" every Zone in the API."""
        if self.cfg.zones == (ALL_ZONES,):
            return sorted(str(z["metadata"]["name"]) for z in self.informers["Zone"].items.values())
        return sorted(self.cfg.zones)

    def leading(self, zones: list[str]) -> bool:
        now = time.monotonic()
        return bool(zones) and all(self.held_until.get(z, 0.0) > now for z in zones)

    async def _leases(self) -> None:
        await self.informers["Zone"].synced.wait()
        while True:
            for zone in self.zones():
                started = time.monotonic()
                try:
                    ours = await election.hold(self.kube, zone, self.identity, self.cfg.lease_seconds)
                except (*RETRYABLE, ApiError) as exc:
                    log.warning("storage: Lease of zone %s not renewed: %s", zone, exc)
                    continue  # held_until runs out by itself if this lasts
                if ours:
                    if self.held_until.get(zone, 0.0) <= started:
                        log.info("storage: %s holds the Lease of zone %s", self.identity, zone)
                        self.trigger.set()
                    # Another hostd takes it only once leaseDurationSeconds have passed since this renewal:
                    # stop acting a renewal interval before that.
                    self.held_until[zone] = started + self.cfg.lease_seconds - self.renew_every
                elif self.held_until.pop(zone, None) is not None:
                    log.warning("storage: the Lease of zone %s is another hostd's now", zone)
                    self.reporter.forget()
            await asyncio.sleep(self.renew_every)

    # -- the passes -------------------------------------------------------------------------------------

    def world(self) -> World:
        """What the informers hold, as controllers.storage_plan reads it (bodies with their kind)."""
        out: dict[str, dict[tuple[str, str], PlanObj]] = {}
        for kind, informer in self.informers.items():
            table = out.setdefault(kind, {})
            for obj in list(informer.items.values()):
                meta = obj.get("metadata") or {}
                table[(str(meta.get("namespace") or ""), str(meta.get("name")))] = {**obj, "kind": kind}
        return out

    def synced(self) -> bool:
        return all(i.synced.is_set() for i in self.informers.values())

    async def _loop(self) -> None:
        backoff = Backoff(first=1.0, cap=30.0)
        loop = asyncio.get_running_loop()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.trigger.wait(), self.cfg.resync)
            await asyncio.sleep(DEBOUNCE)
            self.trigger.clear()
            zones = self.zones()
            if not self.synced() or not self.leading(zones):
                continue
            try:
                outcome = await loop.run_in_executor(self._executor, self._pass, self.world(), zones)
            except (rados.Error, rbd.Error, StoreError) as exc:  # Ceph unreachable, ...: reconnect next pass
                log.warning("storage: pass failed (%s: %s); retrying", type(exc).__name__, exc)
                await backoff.wait()
                self.trigger.set()
                continue
            except Exception:
                log.exception("storage: pass failed; retrying")
                await backoff.wait()
                self.trigger.set()
                continue
            backoff.reset()
            if self.leading(zones):  # else another hostd holds a zone now: it reports
                await self._report(outcome)

    def _pass(self, world: World, zones: list[str]) -> Outcome:
        """In the storage thread: connect if needed, run one pass; drop the connection if it fails."""
        self._running = True
        try:
            if self._cycle is None:
                self._cycle = Cycle(self.store_factory(self.cfg))
                self._cycle.retry = self._retry
            return self._cycle.run(world, zones, lambda: self.leading(zones))
        except Exception:
            self._drop()
            raise
        finally:
            self._running = False

    def _drop(self) -> None:
        if self._cycle is not None:
            with contextlib.suppress(Exception):
                self._cycle.store.close()
            self._cycle = None

    async def _report(self, outcome: Outcome) -> None:
        for report in outcome.reports.values():
            try:
                if await self.reporter.publish(report):
                    log.debug("storage: report of zone %s written", report.zone)
            except (*RETRYABLE, ApiError) as exc:
                log.warning("storage: report of zone %s not written: %s", report.zone, exc)
                self.trigger.set()

    # -- lifetime ---------------------------------------------------------------------------------------

    async def run(self) -> None:
        log.info(
            "storage: serving zone(s) %s with %s (identity %s)",
            ",".join(self.cfg.zones),
            self.cfg.ceph_conf,
            self.identity,
        )
        async with asyncio.TaskGroup() as tg:
            for informer in self.informers.values():
                tg.create_task(informer.run())
            tg.create_task(self._leases())
            tg.create_task(self._loop())

    def close(self) -> None:
        """Stop the storage thread (a command running finishes on its own) and close the connection."""
        self._executor.shutdown(wait=False, cancel_futures=True)
        if not self._running:  # closing the connection under a running command could crash librados
            self._drop()

"""One host's hostd: register the Host, renew its Lease, watch the Servers placed on it and reconcile
them with the driver's guests. Several agents (simulated hosts) share one process and one client.

Every loop is level-based and survives the API server going away: it backs off and retries, and keeps
the guests running meanwhile (nothing is torn down because the API is unreachable).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from controllers.compute_plan import resize_flavor
from controllers.scheduling import HostInfo

from . import host as host_mod
from . import lease, metrics
from .config import HostConfig
from .drivers.base import Driver, GuestState
from .flavors import FlavorCache, server_flavor
from .informer import Informer
from .kube import RETRYABLE, ApiError, Backoff, Kube, Obj, path_for
from .reconcile import Action, Desired, Destroy, Ensure, Reject, Report, Wait, plan
from .status import guest_status, rejected_status

HOST_LABEL = "infra.kumulus.dev/host"
SERVERS_API = "compute.kumulus.dev/v1alpha1"
HEARTBEAT_EVERY = 60.0  # seconds between heartbeatTime writes of an otherwise unchanged Host
RESYNC = 30.0  # seconds between reconcile passes when nothing happens

log = logging.getLogger("hostd.agent")


class HostAgent:
    def __init__(self, kube: Kube, cfg: HostConfig, driver: Driver, flavors: FlavorCache) -> None:
        self.kube = kube
        self.cfg = cfg
        self.name = cfg.name
        self.driver = driver
        self.flavors = flavors
        self.host_obj: Obj | None = None
        self.trigger = asyncio.Event()
        self.busy: set[str] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.informer = Informer(
            kube, path_for(SERVERS_API, "servers"), f"{HOST_LABEL}={cfg.name}", self.trigger.set
        )

    @property
    def host_path(self) -> str:
        return path_for(host_mod.API_VERSION, "hosts", self.name)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._every(self.cfg.lease_seconds, self.sync_host, "host"))
            tg.create_task(self._every(self.cfg.lease_seconds, self.renew_lease, "lease"))
            tg.create_task(self.informer.run())
            tg.create_task(self.reconcile_loop())

    async def _every(self, interval: float, step: Any, op: str) -> None:
        backoff = Backoff()
        while True:
            try:
                await step()
                backoff.reset()
                await asyncio.sleep(interval)
            except (*RETRYABLE, ApiError) as exc:
                metrics.ERRORS.labels(self.name, op).inc()
                log.warning("%s: %s failed: %s", self.name, op, exc)
                await backoff.wait()

    # -- the Host and its Lease -----------------------------------------------------------------------

    async def sync_host(self) -> None:
        """Register the Host (create, or set what hostd owns) and bring its status up to date."""
        capacity = self.driver.capacity()
        cap = (capacity.vcpus, capacity.ram_mib, capacity.disk_gib)
        try:
            obj = await self.kube.get(self.host_path)
        except ApiError as exc:
            if exc.code != 404:
                raise
            obj = await self.kube.create(
                path_for(host_mod.API_VERSION, "hosts"), host_mod.new_host(self.cfg, cap)
            )
            log.info("%s: registered Host", self.name)
        patch = host_mod.registration_patch(obj, self.cfg, cap)
        if patch is not None:
            obj = await self.kube.patch(self.host_path, patch)
        seen: list[Obj] = [obj]

        def mutate(current: Obj) -> Obj:
            seen.append(current)
            return host_mod.host_status(current, self.driver.data_plane(), HEARTBEAT_EVERY)

        written = await self.kube.update_status(self.host_path, mutate)
        latest = written or seen[-1]
        before = HostInfo.from_host(self.host_obj) if self.host_obj else None
        self.host_obj = latest
        if HostInfo.from_host(latest) != before:
            self.trigger.set()  # e.g. maintenance lifted: rejected Servers may fit now

    async def renew_lease(self) -> None:
        await lease.renew(self.kube, self.name, self.cfg.lease_seconds)

    # -- Servers --------------------------------------------------------------------------------------

    async def reconcile_loop(self) -> None:
        backoff = Backoff()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.trigger.wait(), RESYNC)
            self.trigger.clear()
            if not self.informer.synced.is_set():
                continue
            try:
                await self.reconcile_once()
                backoff.reset()
            except (*RETRYABLE, ApiError) as exc:
                metrics.ERRORS.labels(self.name, "reconcile").inc()
                log.warning("%s: reconcile failed: %s", self.name, exc)
                await backoff.wait()
                self.trigger.set()

    async def desired(self) -> dict[str, Desired]:
        out = {}
        for uid, server in list(self.informer.items.items()):
            status = server.get("status") or {}
            if status.get("host") != self.name or (server.get("metadata") or {}).get("deletionTimestamp"):
                continue
            resources = await self.flavors.resources(server_flavor(server))
            target = resize_flavor(server)
            resize_to = await self.flavors.resources(target) if target else None
            out[uid] = Desired.from_server(server, resources, resize_to)
        return out

    async def reconcile_once(self) -> list[Action]:
        with metrics.timed_reconcile(self.name):
            return await self._reconcile_once()

    async def _reconcile_once(self) -> list[Action]:
        metrics.RECONCILES.labels(self.name).inc()
        desired = await self.desired()
        observed = await self.driver.list_guests()
        info = HostInfo.from_host(self.host_obj) if self.host_obj else None
        actions = plan(desired, observed, info, self.busy)
        for action in actions:
            metrics.ACTIONS.labels(self.name, type(action).__name__).inc()
            if isinstance(action, Ensure | Destroy):
                self._start(action)
            elif isinstance(action, Report):
                await self._write(
                    desired[action.uid],
                    lambda s, gen, a=action: guest_status(s, a.guest, gen, resized=a.resized),
                )
            elif isinstance(action, Reject):
                log.info("%s: rejecting %s: %s", self.name, desired[action.uid].consumer, action.message)
                await self._write(desired[action.uid], lambda s, gen, m=action.message: rejected_status(s, m))
            elif isinstance(action, Wait):
                log.debug("%s: %s waits: %s", self.name, desired[action.uid].consumer, action.why)
        metrics.observe_guests(self.name, (g.phase.value for g in (await self.driver.list_guests()).values()))
        return actions

    def _start(self, action: Ensure | Destroy) -> None:
        self.busy.add(action.uid)
        task = asyncio.create_task(self._drive(action))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _drive(self, action: Ensure | Destroy) -> None:
        try:
            if isinstance(action, Ensure):
                guest: GuestState = await self.driver.ensure_guest(action.spec)
                log.info("%s: guest %s is %s", self.name, action.spec.consumer, guest.phase.value)
            else:
                await self.driver.destroy_guest(action.uid)
                log.info("%s: destroyed guest %s", self.name, action.uid)
        except Exception:
            metrics.ERRORS.labels(self.name, "driver").inc()
            log.exception("%s: driver failed on %s", self.name, action)
        finally:
            self.busy.discard(action.uid)
            self.trigger.set()

    async def _write(self, d: Desired, change: Any) -> None:
        meta = d.server["metadata"]
        path = path_for(SERVERS_API, "servers", meta["name"], meta.get("namespace"))

        def mutate(obj: Obj) -> Obj | None:
            status = obj.get("status") or {}
            m = obj.get("metadata") or {}
            if m.get("uid") != d.uid or status.get("host") != self.name or m.get("deletionTimestamp"):
                return None  # deleted, replaced or moved meanwhile
            new: Obj = change(status, m.get("generation"))
            return new

        await self.kube.update_status(path, mutate)

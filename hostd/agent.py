"""One host's hostd: register the Host, renew its Lease, watch the Servers placed on it and reconcile
them with the driver's guests. Several agents (simulated hosts) share one process and one client.

Every loop is level-based and survives the API server going away: it backs off and retries, and keeps
the guests running meanwhile (nothing is torn down because the API is unreachable).

A driver that fails on a Server (e.g. a Port or Volume the resolver cannot find) has the error written on
the Server (Running=False GuestFailed, the message naming what is missing) and is retried after a per-Server
backoff, not at once. With a network role (an OVN SB configured), every Host sync also ensures the OVS
settings (at start, then every RESYNC seconds) and reports the chassis' health as status.dataPlane["ovn"].
A driver with lifecycle events (libvirt) wakes the reconcile loop through `on_event`.

A reboot request (spec.reboot, see hostd/reboot.py) is written first (phase Rebooting, a Rebooting Event),
then the driver reboots the guest in a task, then the status shows it Running with `lastReboot` (and a
Rebooted Event, or RebootFailed). The last request served per Server is kept in memory (`reboots`) while
the Server is assigned here, so a stale read never serves one twice (a read showing the record and then an
older version of the Server, from a lagging watch, did: seen in an integration run); after a restart the
status alone says it.
The driver's console log path of each guest is reported as `status.console`.

The disks of each guest follow its Server's Volumes: the agent watches the Volumes of its Servers'
namespaces (hostd/volume_cache.py; a change of one they name wakes it), tells which each guest should have
(`wanted_volumes`: the boot Volume and those the storage operator attached to the Server, at their
status.sizeGiB) and the plan compares them with the driver's guest (attach, detach, grow). An Ensure after
which the driver's guest still differs is treated as a failure (written on the Server, retried after the
backoff), so that a driver that cannot apply a change is not asked again in a loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from controllers.compute_deps import volume_needs
from controllers.compute_plan import resize_flavor
from controllers.conditions import now as utc_now
from controllers.scheduling import HostInfo

from . import events, lease, metrics
from . import host as host_mod
from .config import HostConfig
from .drivers.base import Driver, GuestState
from .flavors import FlavorCache, server_flavor
from .informer import Informer
from .kube import RETRYABLE, ApiError, Backoff, Kube, Obj, path_for
from .network_role import NetworkRole
from .reboot import REBOOTED, with_last_reboot
from .reconcile import (
    Action,
    Desired,
    Destroy,
    Ensure,
    Reboot,
    RecordReboot,
    Reject,
    Report,
    Wait,
    plan,
    volume_changes,
)
from .resolve_plan import wanted_volumes
from .status import failed_status, guest_status, rebooting_status, rejected_status
from .volume_cache import VolumeCache

HOST_LABEL = "infra.kumulus.dev/host"
SERVERS_API = "compute.kumulus.dev/v1alpha1"
HEARTBEAT_EVERY = 60.0  # seconds between heartbeatTime writes of an otherwise unchanged Host
RESYNC = 30.0  # seconds between reconcile passes when nothing happens
RETRY_FIRST = 2.0  # seconds before a failed driver action is tried again; doubles up to RETRY_CAP
RETRY_CAP = 60.0
SHUTDOWN_TIMEOUT = 60.0  # seconds a soft reboot's ACPI shutdown may take, without libvirt settings

log = logging.getLogger("hostd.agent")


class DisksNotApplied(RuntimeError):
    """The driver returned from ensure_guest, but the guest's Volume disks still differ from the spec's."""


class HostAgent:
    def __init__(
        self,
        kube: Kube,
        cfg: HostConfig,
        driver: Driver,
        flavors: FlavorCache,
        network: NetworkRole | None = None,
    ) -> None:
        self.kube = kube
        self.cfg = cfg
        self.name = cfg.name
        self.driver = driver
        self.flavors = flavors
        self.host_obj: Obj | None = None
        self.trigger = asyncio.Event()
        self.busy: set[str] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.network = network
        self.network_ensured = -RESYNC  # monotonic time of the last OVS ensure
        self.retry: dict[str, tuple[float, float]] = {}  # uid -> (not before, monotonic; last delay)
        self.reboots: dict[str, Mapping[str, Any]] = {}  # uid -> lastReboot served, until the status shows it
        self.shutdown_timeout = cfg.libvirt.shutdown_timeout if cfg.libvirt else SHUTDOWN_TIMEOUT
        if hasattr(driver, "on_event"):
            # Called on hostd's loop (the driver hops threads with call_soon_threadsafe).
            driver.on_event = self.trigger.set
        self.informer = Informer(
            kube, path_for(SERVERS_API, "servers"), f"{HOST_LABEL}={cfg.name}", self.trigger.set
        )
        self.volumes = VolumeCache(kube, self.trigger.set)

    @property
    def host_path(self) -> str:
        return path_for(host_mod.API_VERSION, "hosts", self.name)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._every(self.cfg.lease_seconds, self.sync_host, "host"))
            tg.create_task(self._every(self.cfg.lease_seconds, self.renew_lease, "lease"))
            tg.create_task(self.informer.run())
            tg.create_task(self.volumes.run())
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

        data_plane = await self.data_plane()

        def mutate(current: Obj) -> Obj:
            seen.append(current)
            return host_mod.host_status(current, data_plane, HEARTBEAT_EVERY)

        written = await self.kube.update_status(self.host_path, mutate)
        latest = written or seen[-1]
        before = HostInfo.from_host(self.host_obj) if self.host_obj else None
        self.host_obj = latest
        if HostInfo.from_host(latest) != before:
            self.trigger.set()  # e.g. maintenance lifted: rejected Servers may fit now

    async def data_plane(self) -> dict[str, str]:
        """The driver's services, and with a network role the OVN chassis (OVS settings ensured first)."""
        plane = await asyncio.to_thread(self.driver.data_plane)
        if self.network is None:
            return plane
        if time.monotonic() - self.network_ensured >= RESYNC:
            try:
                await asyncio.to_thread(self.network.ensure)
                self.network_ensured = time.monotonic()
            except Exception as exc:
                metrics.ERRORS.labels(self.name, "network").inc()
                log.warning("%s: OVS settings not applied: %s", self.name, exc)
        ovn = await asyncio.to_thread(self.network.health, time.monotonic())
        return {**plane, "ovn": ovn}

    def close(self) -> None:
        if self.network is not None:
            self.network.close()
        close = getattr(self.driver, "close", None)
        if close is not None:
            close()

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
        servers = {
            uid: server
            for uid, server in list(self.informer.items.items())
            if (server.get("status") or {}).get("host") == self.name
            and not (server.get("metadata") or {}).get("deletionTimestamp")
        }
        used: dict[str, set[str]] = {}
        for server in servers.values():
            ns = str(server["metadata"].get("namespace") or "")
            used.setdefault(ns, set()).update(n.name for n in volume_needs(server))
        self.volumes.track(used)
        volumes = {ns: self.volumes.by_name(ns) for ns in used}
        out = {}
        for uid, server in servers.items():
            vols = volumes[str(server["metadata"].get("namespace") or "")]
            resources = await self.flavors.resources(server_flavor(server))
            target = resize_flavor(server)
            resize_to = await self.flavors.resources(target) if target else None
            # Kept while the Server is here, not only until a read shows it: an older version of the Server
            # can still arrive after that (a watch event behind hostd's own write) and would ask again.
            served = self.reboots.get(uid)
            wanted = wanted_volumes(server, vols) if vols is not None else None
            out[uid] = Desired.from_server(server, resources, resize_to, served, wanted)
        for uid in [u for u in self.reboots if u not in out]:
            del self.reboots[uid]
        return out

    async def observed(self) -> dict[str, GuestState]:
        """The driver's guests, each with where its console is logged."""
        guests = await self.driver.list_guests()
        return {uid: replace(g, console_log=self.driver.console_log(uid)) for uid, g in guests.items()}

    async def reconcile_once(self) -> list[Action]:
        with metrics.timed_reconcile(self.name):
            return await self._reconcile_once()

    async def _reconcile_once(self) -> list[Action]:
        metrics.RECONCILES.labels(self.name).inc()
        desired = await self.desired()
        observed = await self.observed()
        info = HostInfo.from_host(self.host_obj) if self.host_obj else None
        now = time.monotonic()
        for uid in [u for u in self.retry if u not in desired and u not in observed]:
            del self.retry[uid]  # gone: nothing to retry
        waiting = {uid for uid, (at, _) in self.retry.items() if at > now}
        actions = plan(desired, observed, info, self.busy | waiting)
        for action in actions:
            metrics.ACTIONS.labels(self.name, type(action).__name__).inc()
            if isinstance(action, Ensure | Destroy):
                self._start(action)
            elif isinstance(action, Report):
                await self._write(
                    desired[action.uid].server,
                    lambda s, gen, a=action: guest_status(s, a.guest, gen, resized=a.resized),
                )
            elif isinstance(action, Reject):
                log.info("%s: rejecting %s: %s", self.name, desired[action.uid].consumer, action.message)
                await self._write(
                    desired[action.uid].server, lambda s, gen, m=action.message: rejected_status(s, m)
                )
            elif isinstance(action, Wait):
                log.debug("%s: %s waits: %s", self.name, desired[action.uid].consumer, action.why)
            elif isinstance(action, Reboot):
                await self._begin_reboot(action)
            elif isinstance(action, RecordReboot):
                await self._record_reboot(desired[action.uid].server, action.record)
        metrics.observe_guests(self.name, (g.phase.value for g in (await self.driver.list_guests()).values()))
        return actions

    async def _begin_reboot(self, action: Reboot) -> None:
        """Show the reboot on the Server (phase Rebooting, an Event), then reboot in a task."""
        request = action.request
        await self._write(action.server, lambda s, gen: rebooting_status(s, request, gen))
        message = f"{request.type} reboot requested at {request.requested_at}"
        log.info("%s: rebooting %s: %s", self.name, consumer_of(action.server), message)
        await events.post(self.kube, action.server, "Normal", "Rebooting", message, self.name)
        self._start(action)

    async def _record_reboot(self, server: Mapping[str, Any], record: Mapping[str, Any]) -> None:
        """A request served without a reboot (the guest does not run), or one whose record is not written."""
        uid = server["metadata"]["uid"]
        fresh = self.reboots.get(uid) != record
        self.reboots[uid] = record  # served, whether or not the write below gets through
        await self._write(server, lambda s, gen: with_last_reboot(s, record))
        if fresh:
            message = (
                f"{record['type']} reboot requested at {record['requestedAt']}: the guest is not running, "
                "nothing to reboot (its next start is a fresh boot)"
            )
            await events.post(self.kube, server, "Normal", "RebootSkipped", message, self.name)

    async def _reboot(self, action: Reboot) -> None:
        request = action.request
        guest = await self.driver.reboot_guest(action.uid, request.hard, self.shutdown_timeout)
        guest = replace(guest, console_log=self.driver.console_log(action.uid))
        record = request.record(REBOOTED, utc_now())
        self.reboots[action.uid] = record
        log.info("%s: rebooted %s (%s)", self.name, consumer_of(action.server), request.type)
        # A failed write is not a failed reboot: the record kept in `reboots` is written by the next pass.
        with contextlib.suppress(*RETRYABLE, ApiError):
            await self._write(
                action.server, lambda s, gen: guest_status(with_last_reboot(s, record), guest, gen)
            )
        message = (
            f"{request.type} reboot requested at {request.requested_at} done; booted at {guest.boot_time}"
        )
        await events.post(self.kube, action.server, "Normal", "Rebooted", message, self.name)

    def _start(self, action: Ensure | Destroy | Reboot) -> None:
        self.busy.add(action.uid)
        task = asyncio.create_task(self._drive(action))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _drive(self, action: Ensure | Destroy | Reboot) -> None:
        try:
            if isinstance(action, Ensure):
                if action.disks:
                    log.info("%s: disks of %s: %s", self.name, action.spec.consumer, "; ".join(action.disks))
                guest: GuestState = await self.driver.ensure_guest(action.spec)
                log.info("%s: guest %s is %s", self.name, action.spec.consumer, guest.phase.value)
                left = volume_changes(action.spec.volumes, guest.volumes)
                if left:
                    raise DisksNotApplied(f"the guest's disks still differ: {'; '.join(left)}")
            elif isinstance(action, Reboot):
                await self._reboot(action)
            else:
                await self.driver.destroy_guest(action.uid)
                log.info("%s: destroyed guest %s", self.name, action.uid)
            self.retry.pop(action.uid, None)
        except Exception as exc:
            metrics.ERRORS.labels(self.name, "driver").inc()
            delay = self._backoff(action.uid)
            # What the Server names is missing or wrong, or disks not applied (said in full): no traceback.
            if isinstance(exc, ValueError | DisksNotApplied):
                log.warning("%s: %s failed (retry in %.0fs): %s", self.name, action, delay, exc)
            else:
                log.exception("%s: driver failed on %s (retry in %.0fs)", self.name, action, delay)
            server = (
                action.spec.server
                if isinstance(action, Ensure)
                else action.server
                if isinstance(action, Reboot)
                else None
            )
            if server:
                message = f"{type(exc).__name__}: {exc}"[:1000]
                with contextlib.suppress(*RETRYABLE, ApiError):
                    await self._write(server, lambda s, gen: failed_status(s, message, gen))
                if isinstance(action, Reboot):
                    await events.post(self.kube, server, "Warning", "RebootFailed", message, self.name)
            asyncio.get_running_loop().call_later(delay, self.trigger.set)
        finally:
            self.busy.discard(action.uid)
            self.trigger.set()

    def _backoff(self, uid: str) -> float:
        """Not before when the failed uid is tried again: RETRY_FIRST, doubling up to RETRY_CAP."""
        _, last = self.retry.get(uid, (0.0, 0.0))
        delay = min(RETRY_CAP, last * 2) if last else RETRY_FIRST
        self.retry[uid] = (time.monotonic() + delay, delay)
        return delay

    async def _write(self, server: Mapping[str, Any], change: Any) -> None:
        meta = server["metadata"]
        uid = meta["uid"]
        path = path_for(SERVERS_API, "servers", meta["name"], meta.get("namespace"))

        def mutate(obj: Obj) -> Obj | None:
            status = obj.get("status") or {}
            m = obj.get("metadata") or {}
            if m.get("uid") != uid or status.get("host") != self.name or m.get("deletionTimestamp"):
                return None  # deleted, replaced or moved meanwhile
            new: Obj = change(status, m.get("generation"))
            return new

        await self.kube.update_status(path, mutate)


def consumer_of(server: Mapping[str, Any]) -> str:
    meta = server["metadata"]
    return f"{meta.get('namespace', '')}/{meta['name']}"

"""The network operator's runtime: a full list at start, the watch events, and passes over everything.

Level-based: the world (controllers.network_world) holds the latest body of every network object, Server
and claim; every change wakes a pass (after 0.2 s, so a burst of changes makes one pass), and a pass also
runs every `resync` seconds. A pass: the Ports of Servers' NICs and the default SecurityGroups are created,
every object is planned and its actions applied (controllers.network_plan, in dependency order), claims of
owners that are gone are deleted, then the OVN Northbound database is synced from the world (which repairs
drift and removes the rows of deleted objects), and only then the finalizers of released objects go.
A successful sync records which LoadBalancer generations it wrote (`World.lb_synced`) and wakes another
pass when that changed, so their provisioningStatus turns Active. A poller reads the OVN Southbound
database every HEALTH_POLL seconds (a local replica, rebuilt only when it changed): the members' health and
the Port_Binding rows go into the world and wake a pass when they changed (so a Port turns Active about a
second after ovn-controller binds it); each chassis' nb_cfg lag goes to /metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from controllers.network_plan import (
    ORDER,
    Actions,
    default_security_groups,
    ovn_objects,
    server_ports,
    sweep_claims,
)
from controllers.network_world import CLAIM, KINDS, Key, World, key_of, uid_of
from controllers.ovn.bindings import chassis_lag
from operators import metrics
from operators.kube import Kube
from operators.passes import Wake, run_passes

from .metrics import CHASSIS_LAG
from .ovn import OvnSync
from .reconciler import Reconciler
from .resources import RESOURCES
from .southbound import OvnSouthbound

log = logging.getLogger("kumulus.network")
DEBOUNCE = 0.2
HEALTH_POLL = 1.0


class NetworkOperator:
    def __init__(
        self,
        kube: Kube,
        resync: float = 30.0,
        ovn: OvnSync | None = None,
        southbound: OvnSouthbound | None = None,
    ) -> None:
        self.kube = kube
        self.resync = resync
        self.world = World()
        self.reconciler = Reconciler(kube, self.world)
        self.ovn = ovn or OvnSync()
        self.southbound = southbound or OvnSouthbound()
        self.chassis_lag: dict[str, int] = {}
        self.wake = Wake()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        await self.load()
        metrics.register_phases("network", self._phases)
        CHASSIS_LAG.set_source(lambda: self.chassis_lag)
        self._tasks = [asyncio.create_task(self._loop())]
        if self.southbound.remote is not None:
            self._tasks.append(asyncio.create_task(self._poll_southbound()))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        CHASSIS_LAG.set_source(None)
        await self.ovn.close()
        await self.southbound.close()
        await self.kube.close()

    async def load(self) -> None:
        for kind in KINDS:  # claims last: their owners are known when the sweep judges them
            resource = RESOURCES[kind]
            for obj in await self.kube.list(resource.path()):
                self.world.upsert(resource.typed(obj))
        log.info("loaded %d claims", len(self.world.objects[CLAIM]))

    def _phases(self) -> metrics.PhaseCounts:
        """Objects by phase for /metrics: LoadBalancers by provisioningStatus, the others by Ready."""
        counts: dict[tuple[str, str], int] = {}
        for kind, objects in list(self.world.objects.items()):
            for obj in list(objects.values()):
                status = obj.get("status") or {}
                if kind == "LoadBalancer":
                    phase = str(status.get("provisioningStatus") or metrics.UNSET)
                else:
                    ready = next(
                        (c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None
                    )
                    phase = "Ready" if ready and ready.get("status") == "True" else "NotReady"
                counts[(kind, phase)] = counts.get((kind, phase), 0) + 1
        return counts

    # -- watch events ---------------------------------------------------------------------------------

    def on_event(self, kind: str, event_type: str | None, obj: dict[str, Any]) -> None:
        typed = RESOURCES[kind].typed(obj)
        if event_type == "DELETED":
            kept = self.world.objects[kind].get(key_of(typed))
            if kept is not None and uid_of(kept) == uid_of(typed):
                self.world.remove(kind, key_of(typed))
        else:
            self.world.upsert(typed)
        self.wake.set()

    # -- passes ---------------------------------------------------------------------------------------

    async def _loop(self) -> None:
        await run_passes(self.wake, self.run_pass, resync=self.resync, debounce=DEBOUNCE, name="network")

    async def poll_southbound(self) -> bool:
        """Read the Southbound database once; True (and a pass woken) when the members' health or the Port
        bindings changed. Unreadable: both unknown (None), and no chassis lag is exported."""
        state = await self.southbound.read()
        w = self.world
        if state is None:
            self.chassis_lag = {}
            monitors, bindings = None, None
        else:
            # The NB value we wrote is the target: if ovn-northd is behind, every chassis is too.
            target = max(self.ovn.nb_cfg or 0, state.nb_cfg)
            self.chassis_lag = chassis_lag(target, state.chassis_nb_cfg)
            monitors, bindings = state.monitors, state.bindings
        if monitors == w.service_monitors and bindings == w.port_bindings:
            return False
        w.service_monitors, w.port_bindings = monitors, bindings
        self.wake.set()
        return True

    async def _poll_southbound(self) -> None:
        while True:
            try:
                await self.poll_southbound()
            except Exception:
                log.exception("OVN Southbound poll failed (retried)")
            await asyncio.sleep(HEALTH_POLL)

    async def run_pass(self) -> int:
        """One pass over everything; returns the API writes made."""
        w, r = self.world, self.reconciler
        before = r.writes
        for server in list(w.all("Server")):
            for body in server_ports(server, w):
                await r.create("Port", body)
        for body in default_security_groups(w):
            await r.create("SecurityGroup", body)
        released: list[tuple[str, Key, Actions]] = []
        for kind in ORDER:
            for key in list(w.objects[kind]):
                actions = await r.reconcile(kind, key)
                if actions is not None:
                    released.append((kind, key, actions))
        await r.delete_claims(tuple(sweep_claims(w)))
        gone = [uid_of(o) for kind, key, _ in released if (o := w.objects[kind].get(key)) is not None]
        objects = ovn_objects(w, gone)
        if await self.ovn.sync(objects):
            synced = {
                uid_of(o): o["metadata"].get("generation") for o in objects if o.get("kind") == "LoadBalancer"
            }
            if synced != w.lb_synced:
                w.lb_synced = synced
                self.wake.set()  # their provisioningStatus turns Active in the next pass
            for kind, key, actions in released:
                await r.release(kind, actions, key)
        writes = r.writes - before
        if writes:
            log.info("network pass: %d writes", writes)
        return writes

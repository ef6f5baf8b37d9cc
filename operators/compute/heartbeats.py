"""Host lifecycle: a Host whose Lease (kumulus-system/host-NAME) is not renewed in time turns NotReady.

Every `interval` seconds: list the Leases, plan each known Host against its Lease (pure,
`plan_host_heartbeat`), write the Host's status with the resourceVersion read (a 409 re-reads and plans
again), and feed the result to the scheduler's index at once.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from controllers.compute_plan import HEARTBEAT_LOST, Event, plan_host_heartbeat
from controllers.conditions import find
from operators.events import EventPoster
from operators.kube import HOSTS, LEASES, Conflict, Kube, NotFound, object_path

from . import metrics
from .inventory import Inventory

log = logging.getLogger("kumulus.compute")
LEASE_NAMESPACE = "kumulus-system"


async def check_hosts(kube: Kube, inv: Inventory, events: EventPoster) -> int:
    """One pass; returns the number of Hosts written."""
    leases = {
        lease["metadata"]["name"]: lease for lease in await kube.list(LEASES.path(namespace=LEASE_NAMESPACE))
    }
    written = 0
    for name in list(inv.hosts):
        lease = leases.get(f"host-{name}")
        if lease is None:
            continue
        metrics.RECONCILES.labels("Host").inc()
        try:
            written += await _check_host(kube, inv, name, lease, events)
        except Exception:
            metrics.ERRORS.labels("Host").inc()
            log.exception("checking the heartbeat of Host %s failed", name)
    return written


async def _check_host(
    kube: Kube, inv: Inventory, name: str, lease: dict[str, Any], events: EventPoster
) -> int:
    host = inv.hosts.get(name)
    for _ in range(5):
        if host is None:
            return 0
        status = plan_host_heartbeat(host, lease, datetime.now(UTC))
        if status is None:
            return 0
        try:
            written = await kube.put(
                object_path(HOSTS, host, "status"), HOSTS.typed({**host, "status": status})
            )
        except Conflict:
            try:
                host = await kube.get(object_path(HOSTS, host))
            except NotFound:
                return 0
            continue
        metrics.WRITES.labels("Host", "status").inc()
        inv.upsert_host(written)
        ready = find(status["conditions"], "Ready") or {}
        lost = ready.get("reason") == HEARTBEAT_LOST
        event = Event("Warning" if lost else "Normal", str(ready.get("reason")), str(ready.get("message")))
        await events.post(written, (event,))
        return 1
    return 0


async def heartbeat_loop(kube: Kube, inv: Inventory, interval: float, wake: asyncio.Event) -> None:
    events = EventPoster(kube, "kumulus-compute")
    while True:
        try:
            if await check_hosts(kube, inv, events):
                wake.set()  # not strictly needed (no Server fits on a NotReady Host), keeps Pending fresh
        except Exception:
            log.exception("host heartbeat pass failed")
        await asyncio.sleep(interval)

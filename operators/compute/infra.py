"""Zone, HostAggregate and Host (allocated) status, from the inventory: one pass every `interval` seconds (and at start).

Each pass plans every Zone and HostAggregate (pure, `controllers.infra_status`) and writes the status of
those whose status differs, with the resourceVersion read; a 409 (an admin changed the spec meanwhile)
is left to the next pass, which sees the new body through the watch. Allocations change with every
placement, so a busy zone is written at most once a pass, not once a Server.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any

from controllers.conditions import now
from controllers.infra_status import aggregate_status, host_allocated_status, zone_status
from controllers.scheduling import HostInfo, HostUsage
from operators.kube import AGGREGATES, HOSTS, ZONES, Conflict, Kube, NotFound, Resource, object_path

from . import metrics
from .inventory import Inventory

log = logging.getLogger("kumulus.compute")


def plan(inv: Inventory, at: str | None = None) -> list[tuple[Resource, dict[str, Any], dict[str, Any]]]:
    """(resource, object, new status) for every Zone, HostAggregate and Host whose status must change."""
    by_zone: defaultdict[str, list[tuple[HostInfo, HostUsage]]] = defaultdict(list)
    out: list[tuple[Resource, dict[str, Any], dict[str, Any]]] = []
    for info in inv.index.hosts():
        usage = inv.index.usage(info.name)
        by_zone[info.zone].append((info, usage))
        host = inv.hosts.get(info.name)
        if host is not None and (allocated := host_allocated_status(host, usage)) is not None:
            out.append((HOSTS, host, allocated))
    for name, zone in sorted(inv.zones.items()):
        status = zone_status(zone, by_zone.get(name, ()), at)
        if status is not None:
            out.append((ZONES, zone, status))
    for _name, agg in sorted(inv.aggregates.items()):
        zone_name = (agg.get("spec") or {}).get("zone")
        members = inv.index.aggregate_hosts(agg["metadata"]["name"])
        status = aggregate_status(agg, members, not zone_name or zone_name in inv.zones, at)
        if status is not None:
            out.append((AGGREGATES, agg, status))
    return out


async def write_once(kube: Kube, inv: Inventory) -> int:
    written = 0
    for resource, obj, status in plan(inv, now()):
        kind = resource.kind
        try:
            body = await kube.put(
                object_path(resource, obj, "status"), resource.typed({**obj, "status": status})
            )
        except (Conflict, NotFound):
            continue  # changed or gone meanwhile: the watch brings the new body, the next pass plans it
        metrics.WRITES.labels(kind, "status").inc()
        written += 1
        if kind == "Host":
            inv.upsert_host(body)
        else:
            (inv.zones if kind == "Zone" else inv.aggregates)[body["metadata"]["name"]] = body
    return written


async def infra_status_loop(kube: Kube, inv: Inventory, interval: float) -> None:
    while True:
        try:
            await write_once(kube, inv)
        except Exception:
            log.exception("zone and aggregate status pass failed")
        await asyncio.sleep(interval)

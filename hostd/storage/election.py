"""One active storage-role hostd per zone: a coordination.k8s.io/v1 Lease `kumulus-storage-<zone>` in
kumulus-system, taken when free or expired and renewed by its holder (client-go's leader election, in
small). Every write is a PUT carrying the resourceVersion read (or a create), so of two hostds racing for
the same Lease exactly one wins; the other gets 409 and waits.

    state = decide(lease, "host-a", now)      # pure: create | renew | take | wait
    held = await hold(kube, "az1", "host-a", 15.0)

The holder acts only while its last renewal is younger than the Lease's duration (less a margin, see
hostd/storage/worker.py); a holder that stops renewing is replaced once the duration has passed.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from controllers.storage_report import NAMESPACE, name

from ..kube import ApiError, Kube, Obj, path_for
from ..lease import API_VERSION, ensure_namespace, micro_time

Decision = Literal["create", "renew", "take", "wait"]


def _parse(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")) if text else None
    except ValueError:
        return None


def decide(lease: Obj | None, identity: str, now: datetime) -> Decision:
    """What `identity` does with the zone's Lease: create it (none), renew it (ours), take it (free or
    expired) or wait (another holder renewed it within its duration)."""
    if lease is None:
        return "create"
    spec = lease.get("spec") or {}
    holder = spec.get("holderIdentity") or ""
    if holder == identity:
        return "renew"
    renewed = _parse(spec.get("renewTime") or spec.get("acquireTime"))
    duration = spec.get("leaseDurationSeconds")
    if not holder or renewed is None or not duration:
        return "take"
    return "take" if renewed + timedelta(seconds=float(duration)) < now else "wait"


def lease_body(zone: str, identity: str, duration: float, now: datetime, lease: Obj | None) -> Obj:
    """The Lease written to create, renew or take it."""
    spec = dict((lease or {}).get("spec") or {})
    taking = spec.get("holderIdentity") != identity
    spec.update(
        holderIdentity=identity,
        leaseDurationSeconds=max(1, math.ceil(duration)),
        renewTime=micro_time(now),
    )
    if taking:
        spec["acquireTime"] = micro_time(now)
        spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + (1 if lease is not None else 0)
    meta = dict((lease or {}).get("metadata") or {"name": name(zone), "namespace": NAMESPACE})
    return {"apiVersion": API_VERSION, "kind": "Lease", "metadata": meta, "spec": spec}


async def hold(kube: Kube, zone: str, identity: str, duration: float) -> bool:
    """Create, renew or take the zone's Lease; True if identity holds it now."""
    path = path_for(API_VERSION, "leases", name(zone), NAMESPACE)
    try:
        lease: Obj | None = await kube.get(path)
    except ApiError as exc:
        if exc.code != 404:
            raise
        lease = None
    now = datetime.now(UTC)
    decision = decide(lease, identity, now)
    if decision == "wait":
        return False
    body = lease_body(zone, identity, duration, now, lease)
    try:
        if lease is None:
            await ensure_namespace(kube, NAMESPACE)
            await kube.create(path_for(API_VERSION, "leases", namespace=NAMESPACE), body)
        else:
            await kube.replace(path, body)
    except ApiError as exc:
        if exc.code == 409:
            return False  # another hostd wrote it first
        raise
    return True

"""The host's heartbeat: a coordination.k8s.io/v1 Lease `host-<name>` in kumulus-system, renewed every
interval; the operator's host-lifecycle controller marks the Host NotReady when it expires."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from .kube import ApiError, Kube, path_for

NAMESPACE = "kumulus-system"
API_VERSION = "coordination.k8s.io/v1"


def micro_time(at: datetime | None = None) -> str:
    return (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def lease_name(host: str) -> str:
    return f"host-{host}"


def lease_spec(host: str, interval: float, at: datetime | None = None) -> dict[str, Any]:
    return {
        "holderIdentity": host,
        "leaseDurationSeconds": max(1, math.ceil(4 * interval)),
        "renewTime": micro_time(at),
    }


async def ensure_namespace(kube: Kube, name: str = NAMESPACE) -> None:
    try:
        await kube.get(path_for("v1", "namespaces", name))
    except ApiError as exc:
        if exc.code != 404:
            raise
        try:
            await kube.create(path_for("v1", "namespaces"), {"metadata": {"name": name}})
        except ApiError as exc2:
            if exc2.code != 409:
                raise


async def renew(kube: Kube, host: str, interval: float) -> dict[str, Any]:
    """Create or renew the Lease (PUT with the resourceVersion read; a conflict surfaces as ApiError 409
    and is retried on the next renewal)."""
    path = path_for(API_VERSION, "leases", lease_name(host), NAMESPACE)
    try:
        lease = await kube.get(path)
    except ApiError as exc:
        if exc.code != 404:
            raise
        await ensure_namespace(kube)
        spec = {**lease_spec(host, interval), "acquireTime": micro_time()}
        body = {
            "apiVersion": API_VERSION,
            "kind": "Lease",
            "metadata": {"name": lease_name(host), "namespace": NAMESPACE},
            "spec": spec,
        }
        return await kube.create(path_for(API_VERSION, "leases", namespace=NAMESPACE), body)
    lease["spec"] = {**(lease.get("spec") or {}), **lease_spec(host, interval)}
    return await kube.replace(path, lease)

"""The Host object hostd registers, as pure functions: the spec and labels it owns, and its status.

hostd owns spec.zone, site, roles, capacity and traits and the zone/site labels; admins own everything
else (maintenance, overcommit, reserved, other labels), which registration leaves as it finds it.
In the status hostd owns allocatable, heartbeatTime, dataPlane, nodeInfo.hostdVersion and the Ready
condition; `allocated` belongs to the scheduler.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from controllers.conditions import now, set_condition
from controllers.scheduling import HostInfo

from .config import HostConfig

API_VERSION = "infra.kumulus.dev/v1alpha1"
ZONE_LABEL = "infra.kumulus.dev/zone"
SITE_LABEL = "infra.kumulus.dev/site"
HOSTD_VERSION = "0.1.0"


def owned_spec(cfg: HostConfig, capacity: tuple[int, int, int]) -> dict[str, Any]:
    vcpus, ram, disk = capacity
    return {
        "zone": cfg.zone,
        "site": cfg.site,
        "roles": [r.value for r in cfg.roles],
        "capacity": {"vcpus": vcpus, "ramMiB": ram, "diskGiB": disk},
        "traits": sorted(cfg.traits),
    }


def labels(cfg: HostConfig) -> dict[str, str]:
    return {ZONE_LABEL: cfg.zone, SITE_LABEL: cfg.site}


def new_host(cfg: HostConfig, capacity: tuple[int, int, int]) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "Host",
        "metadata": {"name": cfg.name, "labels": labels(cfg)},
        "spec": owned_spec(cfg, capacity),
    }


def registration_patch(
    obj: Mapping[str, Any], cfg: HostConfig, capacity: tuple[int, int, int]
) -> dict[str, Any] | None:
    """A merge patch setting what hostd owns, or None when the Host already says it."""
    spec = obj.get("spec") or {}
    current_labels = (obj.get("metadata") or {}).get("labels") or {}
    patch: dict[str, Any] = {}
    want = owned_spec(cfg, capacity)
    spec_patch = {}
    for key, value in want.items():
        have = spec.get(key)
        same = sorted(have or []) == sorted(value) if key in ("traits", "roles") else have == value
        if not same:
            spec_patch[key] = value
    if spec_patch:
        patch["spec"] = spec_patch
    label_patch = {k: v for k, v in labels(cfg).items() if current_labels.get(k) != v}
    if label_patch:
        patch["metadata"] = {"labels": label_patch}
    return patch or None


SERVICE_STATES = ("Ready", "NotReady", "Unknown")
"""What status.dataPlane may say of a service (the Host CRD's enum)."""


def host_status(
    obj: Mapping[str, Any],
    data_plane: Mapping[str, str],
    heartbeat_every: float,
    at: datetime | None = None,
) -> dict[str, Any]:
    """The Host's status with what hostd reports; heartbeatTime is renewed when older than
    `heartbeat_every` seconds (so that an unchanged Host is written that rarely)."""
    status = dict(obj.get("status") or {})
    info = HostInfo.from_host({**obj, "status": {}})
    status["allocatable"] = info.allocatable.to_wire()
    # The API allows only Ready/NotReady/Unknown per service; a service's detail (e.g. the chassis'
    # "Stale: ovn-controller at nb_cfg 0 < 2 for 73s") goes into the Ready condition's message.
    status["dataPlane"] = {k: v if v in SERVICE_STATES else "NotReady" for k, v in data_plane.items()}
    status["nodeInfo"] = {**(status.get("nodeInfo") or {}), "hostdVersion": HOSTD_VERSION}
    moment = at or datetime.now(UTC)
    last = _parse_time(status.get("heartbeatTime"))
    if last is None or (moment - last).total_seconds() >= heartbeat_every:
        status["heartbeatTime"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    ready = all(v == "Ready" for v in data_plane.values())
    problems = "; ".join(f"{k}: {v}" for k, v in sorted(data_plane.items()) if v != "Ready")
    conditions = set_condition(
        status.get("conditions"),
        "Ready",
        ready,
        "HostdRunning" if ready else "DataPlaneNotReady",
        "hostd is running" if ready else f"a data-plane service is not ready ({problems})",
        at=now(),
    )
    before = status.get("conditions") or []
    by_type = {c.get("type"): c for c in conditions}
    status["conditions"] = [by_type.pop(c.get("type")) for c in before if c.get("type") in by_type] + list(
        by_type.values()
    )
    return status


def _parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None

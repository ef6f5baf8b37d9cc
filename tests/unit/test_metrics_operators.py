"""What each component exports: the storage and quota operators' objects by phase, the quota's limit
Events, hostd's metrics, and how `kumulus up` picks and keeps the children's metrics ports."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import REGISTRY

from hostd import metrics as hostd_metrics
from kumulus.up import UpOptions, _component_commands, metrics_ports
from operators.kube import Kube
from operators.quota.operator import QuotaOperator
from operators.quota.status import at_limit, limit_events
from operators.storage.operator import StorageOperator

KUBE = Kube("http://127.0.0.1:9", None, None)  # never called by these tests


def sample(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def body(kind: str, name: str, phase: str | None = None, ns: str = "default", **extra: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {"kind": kind, "metadata": {"name": name, "namespace": ns, "uid": f"u-{name}"}}
    if phase:
        obj["status"] = {"phase": phase}
    return {**obj, **extra}


def test_storage_objects_by_phase() -> None:
    async def go() -> dict[tuple[str, str], int]:
        op = StorageOperator(KUBE)
        for o in (
            body("Volume", "a", "Available"),
            body("Volume", "b", "Available"),
            body("Volume", "c", "InUse"),
            body("Volume", "d"),
            body("VolumeSnapshot", "s", "Creating"),
            body("ClusterImage", "debian", "Available", ns=""),
        ):
            op.world.upsert(o)
        return op.phase_counts()

    counts = asyncio.run(go())
    assert counts[("Volume", "Available")] == 2 and counts[("Volume", "InUse")] == 1
    assert counts[("Volume", "Unset")] == 1 and counts[("Volume", "Error")] == 0
    assert counts[("VolumeSnapshot", "Creating")] == 1 and counts[("ClusterImage", "Available")] == 1
    assert counts[("Image", "Available")] == 0


def quota(used: dict[str, int] | None = None, **limits: int) -> dict[str, Any]:
    q: dict[str, Any] = {"kind": "Quota", "metadata": {"name": "q", "namespace": "team", "generation": 1}}
    q["spec"] = {"limits": limits}
    if used is not None:
        q["status"] = {"used": used}
    return q


def test_limit_events_on_crossing_only() -> None:
    q = quota(routers=2, cores=8)
    assert limit_events(q, {"routers": 1}, {"routers": 1}) == ()
    reached = limit_events(q, {"routers": 1, "cores": 4}, {"routers": 2, "cores": 4})
    assert [(e.type, e.reason) for e in reached] == [("Warning", "LimitReached")]
    assert reached[0].message.startswith("routers: 2 used of 2")
    assert limit_events(q, {"routers": 2}, {"routers": 2, "cores": 5}) == ()  # still at it: nothing new
    below = limit_events(q, {"routers": 2}, {"routers": 1})
    assert [(e.type, e.reason, e.message) for e in below] == [
        ("Normal", "BelowLimit", "routers: 1 used of 2")
    ]
    assert at_limit(quota(routers=0), {"routers": 0}) == {}  # a zero limit with nothing used is no news
    assert at_limit(quota(routers=0), {"routers": 1}) == {"routers": (1, 0)}


def test_quota_objects_by_state() -> None:
    async def go() -> dict[tuple[str, str], int]:
        op = QuotaOperator(KUBE)
        op.cache.upsert("Quota", quota({"routers": 2}, routers=2))
        other = quota({"routers": 0}, routers=2)
        other["metadata"] = {"name": "q", "namespace": "other"}
        op.cache.upsert("Quota", other)
        fresh = quota(None, routers=2)
        fresh["metadata"] = {"name": "q", "namespace": "new"}
        op.cache.upsert("Quota", fresh)
        return op.phase_counts()

    assert asyncio.run(go()) == {("Quota", "AtLimit"): 1, ("Quota", "Counted"): 1, ("Quota", "Unset"): 1}


def test_hostd_declares_zeros_and_times_reconciles() -> None:
    hostd_metrics.declare(["t-host"])
    assert sample("hostd_reconciles_total", host="t-host") == 0
    assert sample("hostd_errors_total", host="t-host", op="driver") == 0
    assert sample("hostd_guests", host="t-host", phase="Running") == 0
    with hostd_metrics.timed_reconcile("t-host"):
        pass
    assert sample("hostd_reconcile_duration_seconds_count", host="t-host") == 1


def test_up_gives_each_child_a_metrics_port_and_keeps_it_across_starts(tmp_path: Path) -> None:
    names = ("operators", "hostd")
    first = metrics_ports(tmp_path, names, "127.0.0.1")
    assert set(first) == set(names) and len(set(first.values())) == 2
    (tmp_path / "metrics.yaml").write_text(
        yaml.safe_dump({n: f"http://127.0.0.1:{p}/metrics" for n, p in first.items()})
    )
    assert metrics_ports(tmp_path, names, "127.0.0.1") == first  # free: kept
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", first["hostd"]))
        again = metrics_ports(tmp_path, names, "127.0.0.1")
    assert again["operators"] == first["operators"] and again["hostd"] != first["hostd"]
    commands = dict((n, cmd) for n, _, cmd in _component_commands(UpOptions(state_dir=tmp_path), first))
    for name in names:
        i = commands[name].index("--metrics-port")
        assert commands[name][i + 1 : i + 4] == [str(first[name]), "--metrics-address", "127.0.0.1"]

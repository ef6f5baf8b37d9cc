"""The storage role's pieces around the planner: its options (--roles storage needs --ceph-conf), the zone
Lease decisions, the report ConfigMap's format and when it is written, a pass's failures, backoff and
report (hostd.storage.cycle, with a store in memory), and the operator's side of the reports
(operators.storage.reported_backend) and its choice of backend. tests/integration/test_hostd_storage.py
runs them all against a real Ceph and API server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from controllers.api.infra import HostRole
from controllers.storage_plan import FINALIZERS, BackendFailure, BackendOp
from controllers.storage_report import Report, configmap, decode
from hostd.main import host_configs, parse_args
from hostd.storage import election
from hostd.storage import plan as p
from hostd.storage.cycle import Cycle, command_id
from hostd.storage.rbd_store import Failure, StoreError
from hostd.storage.reporter import Reporter
from kumulus.up import hostd_real_args
from operators.storage.operator import backend_name
from operators.storage.reported_backend import ReportedBackend

NOW = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)


# -- options --------------------------------------------------------------------------------------------


def test_the_storage_role_needs_a_ceph_conf(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^ceph-conf: the storage role needs --ceph-conf"):
        host_configs(parse_args(["--roles=compute,storage"]))
    with pytest.raises(ValueError, match=r"^ceph-conf: .* is not a file"):
        host_configs(parse_args(["--roles=storage", f"--ceph-conf={tmp_path / 'missing.conf'}"]))
    conf = tmp_path / "ceph.conf"
    conf.write_text("[global]\n")
    with pytest.raises(ValueError, match=r"^sim-hosts"):
        host_configs(parse_args(["--roles=storage", f"--ceph-conf={conf}", "--sim-hosts=2"]))
    with pytest.raises(ValueError, match=r"^storage-zones"):
        host_configs(parse_args(["--roles=storage", f"--ceph-conf={conf}", "--storage-zones=a b"]))
    (cfg,) = host_configs(
        parse_args(["--roles=storage", f"--ceph-conf={conf}", "--zone=az2", f"--state-dir={tmp_path}"])
    )
    assert cfg.storage is not None
    assert (cfg.storage.zones, cfg.storage.ceph_conf, cfg.storage.state_dir) == (
        ("az2",),
        conf,
        tmp_path / "storage",
    )
    (cfg,) = host_configs(parse_args(["--roles=storage", f"--ceph-conf={conf}", "--storage-zones=*"]))
    assert cfg.storage is not None and cfg.storage.zones == ("*",)
    (cfg,) = host_configs(parse_args([f"--ceph-conf={conf}"]))
    assert cfg.storage is None  # compute only: no storage role


def test_kumulus_up_runs_the_storage_role_of_every_zone_on_its_ceph(tmp_path: Path) -> None:
    conf = tmp_path / "ceph.conf"
    conf.write_text("mon host = [v1:127.0.0.1:6789]\n")
    dp = SimpleNamespace(
        host="m1",
        libvirt_uri="qemu:///system",
        root=tmp_path,
        ceph_conf=conf,
        ovn_sb="tcp:127.0.0.1:6642",
        ovs_remote="unix:/run/ovs.sock",
    )
    (cfg,) = host_configs(parse_args(hostd_real_args(dp)))  # type: ignore[arg-type]
    assert cfg.roles == (HostRole.COMPUTE, HostRole.STORAGE)
    assert cfg.storage is not None and cfg.storage.zones == ("*",) and cfg.storage.ceph_conf == conf
    assert cfg.storage.state_dir == tmp_path / "hostd" / "storage"


# -- the zone Lease -------------------------------------------------------------------------------------


def lease(holder: str, renewed: datetime, duration: int = 15) -> dict[str, Any]:
    spec = {
        "holderIdentity": holder,
        "leaseDurationSeconds": duration,
        "renewTime": election.micro_time(renewed),
    }
    return {"metadata": {"name": "kumulus-storage-az1", "resourceVersion": "7"}, "spec": spec}


def test_lease_decisions() -> None:
    assert election.decide(None, "a", NOW) == "create"
    assert election.decide(lease("a", NOW - timedelta(hours=1)), "a", NOW) == "renew"
    assert election.decide(lease("b", NOW - timedelta(seconds=5)), "a", NOW) == "wait"
    assert election.decide(lease("b", NOW - timedelta(seconds=16)), "a", NOW) == "take"
    assert election.decide(lease("", NOW), "a", NOW) == "take"
    taken = election.lease_body("az1", "a", 15, NOW, lease("b", NOW - timedelta(seconds=16)))
    assert taken["spec"]["holderIdentity"] == "a" and taken["spec"]["leaseTransitions"] == 1
    assert taken["metadata"]["resourceVersion"] == "7"  # the write is guarded by the version read
    renewed = election.lease_body("az1", "a", 15, NOW, taken)
    assert (
        renewed["spec"]["leaseTransitions"] == 1
        and renewed["spec"]["acquireTime"] == taken["spec"]["acquireTime"]
    )
    created = election.lease_body("az1", "a", 15, NOW, None)
    assert created["metadata"] == {"name": "kumulus-storage-az1", "namespace": "kumulus-system"}
    assert created["spec"]["leaseTransitions"] == 0


# -- the report -----------------------------------------------------------------------------------------


def test_report_round_trip_and_bad_data_reads_empty() -> None:
    failure = BackendFailure("UnsafeImage", "backing file /etc/passwd")
    report = Report(
        "az1", {"rbd/volumes/volume-a": 20, "rbd/volumes/image-b": 0}, {"rbd/volumes/image-c": failure}
    )
    body = configmap(report, "2024-05-01T10:00:00.000000Z", "host-1")
    assert body["metadata"]["labels"] == {
        "storage.kumulus.dev/report": "backend",
        "storage.kumulus.dev/zone": "az1",
    }
    assert body["metadata"]["name"] == "kumulus-storage-az1" and body["data"]["holder"] == "host-1"
    assert decode(body) == report
    broken = {"metadata": {"name": "kumulus-storage-az9"}, "data": {"held": "{not json", "failures": "[1]"}}
    assert decode(broken) == Report("az9")
    odd = {"metadata": {}, "data": {"held": '{"a": "x", "b": true, "c": 3}', "failures": '{"d": {}}'}}
    assert decode(odd).held == {"c": 3} and decode(odd).failures == {
        "d": BackendFailure("BackendFailure", "")
    }


def test_report_written_on_change_or_as_heartbeat() -> None:
    now = [100.0]
    writes: list[tuple[str, str]] = []

    class Kube:
        async def get(self, path: str) -> dict[str, Any]:
            return {"metadata": {"name": "x", "resourceVersion": "1", "labels": {"keep": "me"}}}

        async def replace(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
            writes.append((path, body["data"]["held"]))
            assert body["metadata"]["resourceVersion"] == "1" and body["metadata"]["labels"]["keep"] == "me"
            return body

    reporter = Reporter(Kube(), "h1", heartbeat=30, clock=lambda: now[0])  # type: ignore[arg-type]
    report = Report("az1", {"rbd/volumes/volume-a": 1})

    async def go() -> list[bool]:
        out = [await reporter.publish(report), await reporter.publish(report)]
        now[0] += 31
        out.append(await reporter.publish(report))
        out.append(await reporter.publish(Report("az1", {"rbd/volumes/volume-a": 2})))
        return out

    assert asyncio.run(go()) == [True, False, True, True]
    assert writes[0][0] == "/api/v1/namespaces/kumulus-system/configmaps/kumulus-storage-az1"


# -- a pass: failures, backoff, report ------------------------------------------------------------------


class MemoryStore:
    """Pools in memory; ImportImage of a url containing "evil" is refused (as image_inspect refuses it)."""

    def __init__(self) -> None:
        self.images: dict[p.Key, p.RbdImage] = {}
        self.ran: list[str] = []

    def observe(self, pools: Any) -> p.Observed:
        pools = set(pools)
        if "missing" in pools:
            raise StoreError("PoolNotFound", "Ceph pool missing does not exist")
        return p.Observed({k: i for k, i in self.images.items() if k[0] in pools})

    def apply(self, plan: p.Plan) -> list[Failure]:
        failures = []
        for cmd in plan.commands:
            self.ran.append(type(cmd).__name__)
            if isinstance(cmd, p.ImportImage) and "evil" in cmd.url:
                failures.append(Failure(cmd, "UnsafeImage", "backing file /etc/passwd"))
            elif isinstance(cmd, p.ImportImage | p.CreateVolume):
                size = cmd.size_bytes if isinstance(cmd, p.CreateVolume) else 1 << 30
                snaps = (p.RbdSnap(p.BASE_SNAP, True),) if isinstance(cmd, p.ImportImage) else ()
                meta = cmd.owner.metadata(p.READY)
                self.images[(cmd.pool, cmd.name)] = p.RbdImage(cmd.pool, cmd.name, size, meta, snaps)
            elif isinstance(cmd, p.Purge):
                self.images.pop((cmd.pool, cmd.name), None)
        return failures

    def close(self) -> None:
        pass

    def state(self, pools: Any) -> dict[str, int]:
        pools = set(pools)
        return {
            p.backend_id(i.pool, i.name): (i.size >> 30 if i.name.startswith("volume-") else 0)
            for i in self.images.values()
            if i.pool in pools
        }


def image(name: str, url: str) -> dict[str, Any]:
    meta = {"name": name, "namespace": "default", "uid": f"uid-{name}", "finalizers": [FINALIZERS["Image"]]}
    spec = {"source": {"url": url}, "sha256": "a" * 64, "diskFormat": "qcow2"}
    return {"kind": "Image", "metadata": meta, "spec": spec}


def test_a_pass_reports_held_and_failures_with_backoff() -> None:
    now = [0.0]
    store = MemoryStore()
    cycle = Cycle(store, clock=lambda: now[0])
    zone = {
        "kind": "Zone",
        "metadata": {"name": "az1", "namespace": "", "uid": "z"},
        "spec": {"cephPool": "volumes"},
    }
    good, evil = image("good", "http://x/good.qcow2"), image("evil", "http://x/evil.qcow2")
    world = {"Zone": {("", "az1"): zone}, "Image": {("default", "good"): good, ("default", "evil"): evil}}
    report = cycle.run(world, ["az1"]).reports["az1"]
    assert report.held == {"rbd/volumes/image-uid-good": 0}
    assert report.failures == {
        "rbd/volumes/image-uid-evil": BackendFailure("UnsafeImage", "backing file /etc/passwd")
    }
    # within the backoff: not tried again, still reported
    store.ran.clear()
    now[0] = 4.0
    assert cycle.run(world, ["az1"]).reports["az1"].failures == report.failures
    assert store.ran == []
    now[0] = 6.0
    cycle.run(world, ["az1"])
    assert store.ran == ["ImportImage"]
    # the object gone: no longer planned, its failure is dropped; the good image is purged as an orphan
    world["Image"] = {}
    report = cycle.run(world, ["az1"]).reports["az1"]
    assert report.failures == {} and report.held == {} and not cycle.retry


def test_a_missing_pool_is_a_failure_not_a_crash() -> None:
    store = MemoryStore()
    zone = {
        "kind": "Zone",
        "metadata": {"name": "az1", "namespace": "", "uid": "z"},
        "spec": {"cephPool": "missing"},
    }
    world = {
        "Zone": {("", "az1"): zone},
        "Image": {("default", "good"): image("good", "http://x/good.qcow2")},
    }
    report = Cycle(store).run(world, ["az1"]).reports["az1"]
    assert report.failures["rbd/missing/image-uid-good"].reason == "PoolNotFound" and store.ran == []


def test_command_ids_are_the_operators_backend_ids() -> None:
    owner = p.Owner("u", "Volume", "ns", "n")
    assert command_id(p.CreateVolume("volumes", "volume-u", owner, 1)) == "rbd/volumes/volume-u"
    assert (
        command_id(p.CreateSnapshot("volumes", "volume-u", "snapshot-s")) == "rbd/volumes/volume-u@snapshot-s"
    )
    assert command_id(p.CreateSnapshot("volumes", "image-u", p.BASE_SNAP)) == "rbd/volumes/image-u"


# -- the operator's side --------------------------------------------------------------------------------


def test_the_reported_backend_reads_every_zones_report() -> None:
    reports = [
        configmap(Report("az1", {"rbd/volumes/image-a": 0, "rbd/volumes/volume-v": 5}), "t", "h1"),
        configmap(
            Report(
                "sz1",
                {"rbd/volumes/image-a": 0},
                {"rbd/stretched/image-a": BackendFailure("UnsafeImage", "m")},
            ),
            "t",
            "h1",
        ),
    ]

    class Kube:
        async def list(self, path: str, **params: str) -> list[dict[str, Any]]:
            assert path == "/api/v1/namespaces/kumulus-system/configmaps"
            assert params == {"labelSelector": "storage.kumulus.dev/report=backend"}
            return reports

    changed: list[str] = []
    backend = ReportedBackend(Kube(), poll=3600)  # type: ignore[arg-type]
    backend.on_change = changed.append

    async def go() -> None:
        await backend.start()
        assert backend.state() == {"rbd/volumes/image-a": 0, "rbd/volumes/volume-v": 5}
        assert backend.failures()["rbd/stretched/image-a"].reason == "UnsafeImage"
        assert changed == ["rbd/stretched/image-a", "rbd/volumes/image-a", "rbd/volumes/volume-v"]
        changed.clear()
        await backend.refresh()
        assert changed == []  # nothing changed: nothing reconciled
        backend.submit(BackendOp("resize", "rbd/volumes/volume-v", "az1", 8))
        reports[0] = configmap(
            Report("az1", {"rbd/volumes/image-a": 0, "rbd/volumes/volume-v": 8}), "t", "h1"
        )
        waiter = asyncio.create_task(backend.wait(["rbd/volumes/volume-v"], 5))
        await asyncio.sleep(0)
        assert not waiter.done()
        await backend.refresh()
        await asyncio.wait_for(waiter, 1)
        assert changed == ["rbd/volumes/volume-v"]
        await backend.close()

    asyncio.run(go())


def test_backend_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUMULUS_STORAGE_BACKEND", raising=False)
    assert backend_name() == "sim"
    monkeypatch.setenv("KUMULUS_STORAGE_BACKEND", "hostd")
    assert backend_name() == "hostd"
    monkeypatch.setenv("KUMULUS_STORAGE_BACKEND", "ceph")
    with pytest.raises(ValueError, match=r"^KUMULUS_STORAGE_BACKEND: 'ceph'"):
        backend_name()

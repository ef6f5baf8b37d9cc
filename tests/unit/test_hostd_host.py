"""hostd's Host registration and status, its configuration and the sim driver."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from controllers.api.infra import HostRole
from controllers.scheduling import Resources
from hostd.config import HostConfig, parse_roles, sim_hosts
from hostd.drivers.base import GuestPhase, GuestSpec
from hostd.drivers.sim import SimDriver
from hostd.host import host_status, new_host, registration_patch
from hostd.lease import lease_spec
from hostd.main import host_configs, parse_args

CFG = HostConfig(name="h1", zone="az1", site="dc1", roles=(HostRole.COMPUTE,), traits=("HW_CPU_X86_AVX2",))
CAP = (64, 262144, 2000)
READY = {"libvirt": "Ready", "ovn": "Ready", "ceph": "Ready"}


def test_registration_keeps_admin_fields() -> None:
    obj = new_host(CFG, CAP)
    assert obj["metadata"]["labels"] == {"infra.kumulus.dev/zone": "az1", "infra.kumulus.dev/site": "dc1"}
    assert registration_patch(obj, CFG, CAP) is None
    obj["spec"].update(maintenance=True, overcommit={"cpuRatio": 2.0})
    obj["metadata"]["labels"]["kumulus.dev/gpu"] = "true"
    assert registration_patch(obj, CFG, CAP) is None
    patch = registration_patch(obj, CFG, (32, 262144, 2000))
    assert patch == {"spec": {"capacity": {"vcpus": 32, "ramMiB": 262144, "diskGiB": 2000}}}


def test_host_status_is_stable_and_heartbeat_rare() -> None:
    obj = new_host(CFG, CAP)
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    status = host_status(obj, READY, 60, at=t0)
    assert status["allocatable"] == {"vcpus": 256, "ramMiB": 262144 - 512, "diskGiB": 2000}
    assert status["dataPlane"] == READY and status["heartbeatTime"] == "2024-01-01T00:00:00Z"
    ready = [c for c in status["conditions"] if c["type"] == "Ready"]
    assert ready[0]["status"] == "True" and ready[0]["reason"] == "HostdRunning"
    obj["status"] = status
    assert host_status(obj, READY, 60, at=t0 + timedelta(seconds=30)) == status
    assert (
        host_status(obj, READY, 60, at=t0 + timedelta(seconds=61))["heartbeatTime"] != status["heartbeatTime"]
    )


def test_host_status_keeps_a_service_detail_out_of_the_enum() -> None:
    """status.dataPlane only takes Ready/NotReady/Unknown (the CRD's enum); the detail goes to the message."""
    stale = {"libvirt": "Ready", "ovn": "Stale: ovn-controller at nb_cfg 0 < 2 for 73s"}
    status = host_status(new_host(CFG, CAP), stale, 60)
    assert status["dataPlane"] == {"libvirt": "Ready", "ovn": "NotReady"}
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False" and ready["reason"] == "DataPlaneNotReady"
    assert "ovn: Stale: ovn-controller at nb_cfg 0 < 2 for 73s" in ready["message"]


def test_sim_layout() -> None:
    hosts = sim_hosts(8, CFG)
    assert [h.name for h in hosts[:5]] == ["sim-az1-1", "sim-az2-1", "sim-az3-1", "sim-sz1-1", "sim-az1-2"]
    assert [(h.zone, h.site) for h in hosts if h.zone == "sz1"] == [("sz1", "dc1"), ("sz1", "dc2")]
    assert {h.site for h in hosts if h.zone == "az2"} == {"dc2"}


def test_roles_and_config_file(tmp_path: Path) -> None:
    assert parse_roles("compute,Network,storage") == (HostRole.COMPUTE, HostRole.NETWORK, HostRole.STORAGE)
    cfg = tmp_path / "hostd.yaml"
    cfg.write_text("host: cmp-9\nzone: az2\nsite: dc2\nram-mib: 1024\ntraits: [A_B, C]\n")
    args = parse_args(["--config", str(cfg), "--vcpus", "8"])
    [host] = host_configs(args)
    assert (host.name, host.zone, host.site, host.ram_mib, host.vcpus) == ("cmp-9", "az2", "dc2", 1024, 8)
    assert host.traits == ("A_B", "C")


def test_lease_spec() -> None:
    spec = lease_spec("h1", 10, at=datetime(2024, 1, 2, 3, 4, 5, 6000, tzinfo=UTC))
    assert spec == {
        "holderIdentity": "h1",
        "leaseDurationSeconds": 40,
        "renewTime": "2024-01-02T03:04:05.006000Z",
    }


def test_sim_driver_boots_stops_destroys() -> None:
    async def scenario() -> None:
        drv = SimDriver(CAP, boot_delay=0.01)
        spec = GuestSpec("u1", "ns/a", Resources(1, 512, 0))
        state = await drv.ensure_guest(spec)
        assert state.phase == GuestPhase.RUNNING and state.boot_time
        off = await drv.ensure_guest(GuestSpec("u1", "ns/a", Resources(1, 512, 0), power_on=False))
        assert off.phase == GuestPhase.STOPPED and off.boot_time == state.boot_time
        assert (await drv.list_guests())["u1"].phase == GuestPhase.STOPPED
        await drv.destroy_guest("u1")
        assert await drv.list_guests() == {}

    asyncio.run(scenario())


def test_guest_metrics() -> None:
    from hostd import metrics

    metrics.observe_guests("mh", ["Running", "Running", "Stopped"])
    assert metrics.GUESTS.labels("mh", "Running")._value.get() == 2
    assert metrics.GUESTS.labels("mh", "Building")._value.get() == 0

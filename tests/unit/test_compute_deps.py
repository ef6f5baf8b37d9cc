"""VolumesReady, NetworkReady, resize and Zone/HostAggregate status as data: inputs -> conditions and
writes, and a second pass that writes nothing."""

from __future__ import annotations

import copy
from typing import Any

from controllers.compute_deps import PortView, VolumeView, network_ready, volumes_ready
from controllers.compute_plan import allocation_of, finish_resize, plan_server
from controllers.conditions import find
from controllers.infra_status import aggregate_status, host_allocated_status, zone_status
from controllers.scheduling import (
    Decision,
    HostIndex,
    HostInfo,
    HostUsage,
    Resources,
    ScheduleRequest,
    ZoneInfo,
    schedule,
)

NOW = "2025-01-01T00:00:00Z"
SMALL = {"metadata": {"name": "m1.small"}, "spec": {"vcpus": 1, "ramMiB": 2048}}
LARGE = {"metadata": {"name": "m1.large"}, "spec": {"vcpus": 2, "ramMiB": 4096}}
READY_VOL = VolumeView(True, "Available", phase="Available")


def server(name: str = "web", **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "ns", "generation": 1, "resourceVersion": "5"},
        "spec": {"flavor": "m1.small", "image": "debian-12", **spec},
    }


def placed(s: dict[str, Any], host: str = "h1", **status: Any) -> dict[str, Any]:
    out = copy.deepcopy(s)
    out["status"] = {"host": host, "zone": "az1", "flavor": "m1.small", "phase": "Running", **status}
    return out


def test_volumes_ready_names_the_first_volume_not_ready() -> None:
    s = server(volumes=[{"volume": "data"}])
    assert volumes_ready(s, {}) == (False, "VolumeCreating", "boot volume web-root is being created")
    creating = VolumeView(False, "Creating", "the volume is being created", phase="Creating")
    # Its progress reads the same (no Server write per step); a problem is named in full.
    assert volumes_ready(s, {"web-root": creating}) == (
        False,
        "VolumeCreating",
        "boot volume web-root is being created",
    )
    no_image = VolumeView(False, "ImageNotFound", "image debian-12 does not exist", phase="Creating")
    assert volumes_ready(s, {"web-root": no_image}) == (
        False,
        "VolumeNotReady",
        "boot volume web-root is not ready (ImageNotFound: image debian-12 does not exist)",
    )
    assert volumes_ready(s, {"web-root": READY_VOL}) == (
        False,
        "VolumeNotFound",
        "attached volume data does not exist",
    )
    vols = {"web-root": READY_VOL, "data": READY_VOL}
    assert volumes_ready(s, vols) == (True, "VolumesReady", "")  # not placed: Available is enough
    p = placed(s)
    assert volumes_ready(p, vols) == (False, "VolumeAttaching", "attached volume data is not attached yet")
    attached = VolumeView(True, "InUse", phase="InUse", attached=frozenset({"web"}))
    assert volumes_ready(p, {**vols, "data": attached}) == (True, "VolumesReady", "")
    refused = VolumeView(
        True, "Available", phase="Available", refused="Server web: the Server is in az1, the Volume in az2"
    )
    assert volumes_ready(p, {**vols, "data": refused})[:2] == (False, "AttachmentRefused")
    boot = server(image=None, bootVolume="disk")
    elsewhere = VolumeView(True, "InUse", phase="InUse", attached=frozenset({"other"}))
    assert volumes_ready(boot, {"disk": elsewhere}) == (
        False,
        "VolumeInUse",
        "boot volume disk is attached to Server other",
    )
    assert volumes_ready(server(image=None, bootVolume="disk"), {"disk": READY_VOL}) == (
        True,
        "VolumesReady",
        "",
    )


def test_network_ready_and_addresses() -> None:
    s = server(networks=[{"network": "net"}, {"port": "mine"}])
    assert network_ready(s, {}) == (False, "PortCreating", "port web-nic0 (nic0) is being created")
    up = PortView(True, "net", "Allocated", addresses=("10.0.0.5",), mac="fa:16:3e:00:00:01")
    assert network_ready(s, {"web-nic0": up}) == (False, "PortNotFound", "port mine (nic1) does not exist")
    down = PortView(False, "net2", "AddressInUse", "10.1.0.9 is taken")
    assert network_ready(s, {"web-nic0": up, "mine": down}) == (
        False,
        "PortNotReady",
        "port mine (nic1) is not ready (AddressInUse: 10.1.0.9 is taken)",
    )
    assert network_ready(server(), {}) == (True, "NoNetworks", "")
    ports = {"web-nic0": up, "mine": PortView(True, "net2", "Allocated", addresses=("10.1.0.2",))}
    actions = plan_server(placed(s), SMALL, _never, volumes={"web-root": READY_VOL}, ports=ports, now=NOW)
    assert actions.status is not None
    assert actions.status["addresses"] == [
        {"network": "net", "ip": "10.0.0.5", "type": "Fixed", "mac": "fa:16:3e:00:00:01"},
        {"network": "net2", "ip": "10.1.0.2", "type": "Fixed"},
    ]
    cond = find(actions.status["conditions"], "NetworkReady")
    assert cond is not None and (cond["status"], cond["reason"]) == ("True", "PortsReady")


def test_one_status_write_when_a_volume_turns_ready_then_nothing() -> None:
    s = placed(server())
    first = plan_server(s, SMALL, _never, now=NOW)
    assert first.status is not None and first.metadata is not None  # label + finalizer repaired too
    s["status"] = first.status
    s["metadata"]["labels"] = {"infra.kumulus.dev/host": "h1"}
    s["metadata"]["finalizers"] = ["compute.kumulus.dev/server"]
    assert plan_server(s, SMALL, _never, now=NOW).writes == 0  # the volume still missing: nothing new
    turned = plan_server(s, SMALL, _never, volumes={"web-root": READY_VOL}, now=NOW)
    assert turned.writes == 1 and turned.status is not None
    cond = find(turned.status["conditions"], "VolumesReady")
    assert cond is not None and cond["status"] == "True"
    s["status"] = turned.status
    assert plan_server(s, SMALL, _never, volumes={"web-root": READY_VOL}, now=NOW).writes == 0


def _never(request: ScheduleRequest) -> Decision:
    raise AssertionError("must not schedule")


def _index(ram: int) -> HostIndex:
    h = HostInfo("h1", "az1", "dc1", Resources(8, ram + 512, 0), Resources(0, 512, 0))
    other = HostInfo("h2", "az1", "dc1", Resources(8, 1 << 20, 0), Resources(0, 512, 0))
    return HostIndex([h, other], zones=[ZoneInfo("az1", sites=("dc1",))])


class Decide:
    def __init__(self, index: HostIndex) -> None:
        self.index = index

    def __call__(self, request: ScheduleRequest) -> Decision:
        self.index.remove_allocation(request.consumer)
        decision = schedule(request, self.index)
        if decision.placement is not None:
            self.index.add_allocation(decision.placement.allocation)
        return decision


def resized_server(target: str = "m1.large") -> dict[str, Any]:
    s = placed(server(resize={"flavor": target}))
    s["metadata"]["labels"] = {"infra.kumulus.dev/host": "h1"}
    s["metadata"]["finalizers"] = ["compute.kumulus.dev/server"]
    return s


def test_resize_in_place_holds_the_larger_allocation_until_hostd_applied_it() -> None:
    idx = _index(ram=4096)  # m1.small now, room for m1.large once its own 2 GiB are left out
    decide = Decide(idx)
    s = resized_server()
    idx.add_allocation(allocation_of(s, SMALL))  # type: ignore[arg-type]
    actions = plan_server(s, SMALL, decide, volumes={"web-root": READY_VOL}, target=LARGE, now=NOW)
    assert actions.status is not None and actions.status["resizeFlavor"] == "m1.large"
    assert actions.status["phase"] == "Resizing"
    assert actions.allocate is not None and actions.allocate.resources == Resources(2, 4096, 0)
    assert actions.allocate.host == "h1"  # never another host: in place
    cond = find(actions.status["conditions"], "Resized")
    assert cond is not None and (cond["status"], cond["reason"]) == ("False", "Resizing")
    s["status"] = actions.status
    again = plan_server(s, SMALL, _never, volumes={"web-root": READY_VOL}, target=LARGE, now=NOW)
    assert again.writes == 0 and again.allocate == actions.allocate  # approved: waits for hostd
    assert allocation_of(s, SMALL, LARGE) == actions.allocate  # what the inventory records from the body
    # hostd applied it: status.flavor follows, Resized=True; the operator has nothing to add.
    s["status"] = finish_resize(s["status"], 1, NOW)
    done = plan_server(s, LARGE, _never, volumes={"web-root": READY_VOL}, target=LARGE, now=NOW)
    assert done.writes == 0 and done.allocate is not None and done.allocate.resources == Resources(2, 4096, 0)


def test_resize_that_does_not_fit_keeps_the_server_and_says_why() -> None:
    idx = _index(ram=3072)
    s = resized_server()
    idx.add_allocation(allocation_of(s, SMALL))  # type: ignore[arg-type]
    actions = plan_server(s, SMALL, Decide(idx), volumes={"web-root": READY_VOL}, target=LARGE, now=NOW)
    assert actions.status is not None and "resizeFlavor" not in actions.status
    cond = find(actions.status["conditions"], "Resized")
    assert cond is not None and (cond["status"], cond["reason"]) == ("False", "ResizeUnschedulable")
    assert cond["message"] == (
        "flavor m1.large does not fit on host h1: 0/2 hosts fit: 1 not the Server's host h1, 1 insufficient RAM"
    )
    assert [e.reason for e in actions.events] == ["ResizeUnschedulable"]
    assert actions.allocate == allocation_of(s, SMALL)  # the old allocation is kept, nothing moves
    s["status"] = actions.status
    again = plan_server(s, SMALL, Decide(idx), volumes={"web-root": READY_VOL}, target=LARGE, now=NOW)
    assert again.writes == 0 and not again.events
    missing = plan_server(resized_server("m9"), SMALL, _never, volumes={"web-root": READY_VOL}, now=NOW)
    assert missing.status is not None
    cond = find(missing.status["conditions"], "Resized")
    assert cond is not None and cond["reason"] == "FlavorNotFound"


def zone(name: str = "az1", status: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": name, "generation": 2}, "spec": {"sites": ["dc1"]}, "status": status or {}}


def test_zone_status_counts_hosts_and_sums_resources() -> None:
    ok = HostInfo("h1", "az1", "dc1", Resources(8, 8704, 0), Resources(0, 512, 0))
    cordoned = HostInfo("h2", "az1", "dc1", Resources(8, 8704, 0), Resources(0, 512, 0), maintenance=True)
    down = HostInfo("h3", "az1", "dc1", Resources(8, 8704, 0), Resources(0, 512, 0), ready=False)
    hosts = [(ok, HostUsage(Resources(1, 1024, 0), 1)), (cordoned, HostUsage()), (down, HostUsage())]
    status = zone_status(zone(), hosts, NOW)
    assert status is not None
    assert status["hosts"] == {"total": 3, "ready": 1, "notReady": 1, "maintenance": 1}
    assert status["allocatable"] == {"vcpus": 96, "ramMiB": 24576, "diskGiB": 0}
    assert status["allocated"] == {"vcpus": 1, "ramMiB": 1024, "diskGiB": 0, "servers": 1}
    cond = find(status["conditions"], "Ready")
    assert cond is not None and (cond["status"], cond["reason"], cond["observedGeneration"]) == (
        "True",
        "HostsReady",
        2,
    )
    assert status["observedGeneration"] == 2
    assert zone_status(zone(status=status), hosts, NOW) is None  # unchanged: nothing to write
    empty = zone_status(zone(), [], NOW)
    assert empty is not None
    cond = find(empty["conditions"], "Ready")
    assert cond is not None and (cond["status"], cond["reason"]) == ("False", "NoHosts")


def test_aggregate_status_lists_members() -> None:
    agg = {"metadata": {"name": "ssd", "generation": 1}, "spec": {"hostSelector": {}, "zone": "az1"}}
    status = aggregate_status(agg, ["h2", "h1"], True, NOW)
    assert status is not None and status["hosts"] == ["h1", "h2"] and status["hostCount"] == 2
    assert aggregate_status({**agg, "status": status}, ["h1", "h2"], True, NOW) is None
    gone = aggregate_status({**agg, "status": status}, ["h1", "h2"], False, NOW)
    assert gone is not None
    cond = find(gone["conditions"], "Ready")
    assert cond is not None and (cond["status"], cond["reason"]) == ("False", "ZoneNotFound")


def test_host_allocated_status_is_written_once_and_keeps_hostds_fields() -> None:
    host: dict[str, Any] = {
        "metadata": {"name": "h1", "generation": 1},
        "status": {"heartbeatTime": "2026-11-21T10:00:00Z", "dataPlane": {"libvirt": "Ready"}},
    }
    status = host_allocated_status(host, HostUsage(Resources(2, 2048, 10), 2))
    assert status == {
        "heartbeatTime": "2026-11-21T10:00:00Z",
        "dataPlane": {"libvirt": "Ready"},
        "allocated": {"vcpus": 2, "ramMiB": 2048, "diskGiB": 10, "servers": 2},
    }
    assert host_allocated_status({**host, "status": status}, HostUsage(Resources(2, 2048, 10), 2)) is None
    emptied = host_allocated_status({**host, "status": status}, HostUsage())
    assert emptied is not None and emptied["allocated"] == {
        "vcpus": 0,
        "ramMiB": 0,
        "diskGiB": 0,
        "servers": 0,
    }

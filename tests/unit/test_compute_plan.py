"""The compute operator's plans as data: (Server, what it refers to) -> actions, and a second pass that
writes nothing."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from controllers.api.compute import ServerGroupPolicy
from controllers.compute_deps import VolumeView
from controllers.compute_plan import (
    FINALIZER,
    HEARTBEAT_LOST,
    HOST_LABEL,
    Event,
    ServerActions,
    allocation_of,
    plan_host_heartbeat,
    plan_server,
    ready_of,
)
from controllers.conditions import find, set_condition
from controllers.scheduling import (
    Decision,
    GroupInfo,
    HostIndex,
    HostInfo,
    Resources,
    ScheduleRequest,
    ZoneInfo,
    schedule,
)
from controllers.scheduling.decision import FilterCount

NOW = "2025-01-01T00:00:00Z"
LATER = "2025-01-01T00:05:00Z"
FLAVOR = {"metadata": {"name": "m1.small"}, "spec": {"vcpus": 1, "ramMiB": 2048}}


def server(name: str = "web-1", **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "default", "generation": 1, "resourceVersion": "10"},
        "spec": {"flavor": "m1.small", "image": "debian-12", **spec},
    }


def index(*hosts: HostInfo) -> HostIndex:
    zones = [ZoneInfo("az1", sites=("dc1",)), ZoneInfo("az2", sites=("dc2",))]
    return HostIndex(hosts, zones=zones)


def host(name: str, zone: str = "az1", ram: int = 4096) -> HostInfo:
    return HostInfo(
        name, zone, "dc1" if zone == "az1" else "dc2", Resources(8, ram + 512, 0), Resources(0, 512, 0)
    )


class Scheduler:
    """The operator's decide(): schedule, record the placement at once."""

    def __init__(self, idx: HostIndex) -> None:
        self.index = idx
        self.requests: list[ScheduleRequest] = []

    def __call__(self, request: ScheduleRequest) -> Decision:
        self.requests.append(request)
        self.index.remove_allocation(request.consumer)
        decision = schedule(request, self.index)
        if decision.placement is not None:
            self.index.add_allocation(decision.placement.allocation)
        return decision


def never(request: ScheduleRequest) -> Decision:
    raise AssertionError("must not schedule")


def applied(obj: dict[str, Any], actions: ServerActions) -> dict[str, Any]:
    """The Server after the writes (as the API would return it)."""
    out = copy.deepcopy(obj)
    if actions.metadata is not None:
        meta = out["metadata"]
        patch = actions.metadata["metadata"]
        for key, value in (patch.get("labels") or {}).items():
            labels = meta.setdefault("labels", {})
            if value is None:
                labels.pop(key, None)
            else:
                labels[key] = value
        if "finalizers" in patch:
            meta["finalizers"] = patch["finalizers"]
    if actions.status is not None:
        out["status"] = copy.deepcopy(actions.status)
    out["metadata"]["resourceVersion"] = str(int(out["metadata"]["resourceVersion"]) + actions.writes)
    return out


def hostd_running(obj: dict[str, Any], running: bool = True) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    status = out["status"]
    reason = "Started" if running else "Stopped"
    status["conditions"] = set_condition(status["conditions"], "Running", running, reason, at=NOW)
    status["phase"] = "Running" if running else "Stopped"
    return out


def test_schedules_with_one_metadata_and_one_status_write_then_nothing() -> None:
    sched = Scheduler(index(host("h1"), host("h2", "az2")))
    s = server(zone="az2")
    actions = plan_server(s, FLAVOR, sched, now=NOW)
    assert actions.writes == 2
    assert actions.allocate is not None and actions.allocate.host == "h2"
    assert sched.index.allocation("default/web-1") == actions.allocate  # recorded at once, in flight
    assert actions.metadata == {
        "metadata": {"labels": {HOST_LABEL: "h2"}, "finalizers": [FINALIZER], "resourceVersion": "10"}
    }
    status = actions.status
    assert status is not None
    assert (status["phase"], status["host"], status["zone"], status["flavor"]) == (
        "Scheduled",
        "h2",
        "az2",
        "m1.small",
    )
    assert status["observedGeneration"] == 1
    scheduled = find(status["conditions"], "Scheduled")
    assert scheduled is not None and (scheduled["status"], scheduled["reason"]) == ("True", "Placed")
    assert scheduled["message"].startswith("1/2 hosts fit: 1 not in zone az2; placed on h2 in zone az2")
    ready = find(status["conditions"], "Ready")
    # Its boot Volume (web-1-root, made by the storage operator once the Server has a zone) is missing.
    assert ready is not None and (ready["status"], ready["reason"], ready["message"]) == (
        "False",
        "VolumeCreating",
        "boot volume web-1-root is being created",
    )
    assert actions.events == ()  # a placement that goes well costs no Event (an API write)

    again = plan_server(applied(s, actions), FLAVOR, never, now=LATER)
    assert again.writes == 0 and not again.events and not again.pending
    assert again.allocate == actions.allocate


def test_unschedulable_message_is_exact_and_stable() -> None:
    sched = Scheduler(index(host("h1", ram=1024), host("h2", "az2", ram=1024)))
    s = server()
    actions = plan_server(s, FLAVOR, sched, now=NOW)
    assert actions.pending and actions.release and actions.metadata is None and actions.allocate is None
    status = actions.status
    assert status is not None
    message = "0/2 hosts fit: 2 insufficient RAM"
    assert (status["phase"], status["message"]) == ("Pending", message)
    scheduled = find(status["conditions"], "Scheduled")
    assert scheduled == {
        "type": "Scheduled",
        "status": "False",
        "reason": "Unschedulable",
        "message": message,
        "observedGeneration": 1,
        "lastTransitionTime": NOW,
    }
    ready = find(status["conditions"], "Ready")
    assert ready is not None and (ready["status"], ready["reason"], ready["message"]) == (
        "False",
        "Unschedulable",
        message,
    )
    assert actions.events == (Event("Warning", "Unschedulable", message),)
    again = plan_server(applied(s, actions), FLAVOR, sched, now=LATER)
    assert again.pending and again.writes == 0 and not again.events


def test_flavor_missing_and_group_missing() -> None:
    actions = plan_server(server(), None, never, now=NOW)
    assert actions.status is not None and actions.pending
    cond = find(actions.status["conditions"], "Scheduled")
    assert cond is not None and (cond["reason"], cond["message"]) == (
        "FlavorNotFound",
        "flavor m1.small not found",
    )
    assert plan_server(applied(server(), actions), None, never, now=LATER).writes == 0

    grouped = plan_server(server(serverGroup="db"), FLAVOR, never, now=NOW)
    assert grouped.status is not None
    cond = find(grouped.status["conditions"], "Scheduled")
    assert cond is not None and cond["reason"] == "ServerGroupNotFound"


def test_group_members_are_passed_to_the_scheduler() -> None:
    sched = Scheduler(index(host("h1"), host("h2")))
    group = GroupInfo("db", ServerGroupPolicy.ANTI_AFFINITY, ("h1",))
    actions = plan_server(server(serverGroup="db"), FLAVOR, sched, group=group, now=NOW)
    assert actions.allocate is not None and actions.allocate.host == "h2"
    assert sched.requests[0].group == group


def test_rejected_placement_is_rescheduled_without_that_host() -> None:
    sched = Scheduler(index(host("h1"), host("h2")))
    s = applied(server(), plan_server(server(), FLAVOR, sched, now=NOW))
    first = s["status"]["host"]
    other = "h2" if first == "h1" else "h1"
    # hostd refuses: Scheduled=False PlacementRejected, status.host still set.
    s["status"]["conditions"] = set_condition(
        s["status"]["conditions"],
        "Scheduled",
        False,
        "PlacementRejected",
        f"host {first} has no room",
        at=NOW,
    )
    actions = plan_server(s, FLAVOR, sched, now=LATER)
    assert actions.exclude == first
    assert sched.requests[-1].exclude_hosts == frozenset({first})
    assert actions.allocate is not None and actions.allocate.host == other
    assert actions.metadata == {"metadata": {"labels": {HOST_LABEL: other}, "resourceVersion": "12"}}
    assert actions.status is not None and actions.status["host"] == other
    cond = find(actions.status["conditions"], "Scheduled")
    assert cond is not None and (cond["status"], cond["reason"]) == ("True", "Placed")
    assert "1 excluded (refused the Server before)" in cond["message"]


def test_rejected_placement_with_no_other_host_clears_host_and_label() -> None:
    sched = Scheduler(index(host("h1")))
    s = applied(server(), plan_server(server(), FLAVOR, sched, now=NOW))
    s["status"]["conditions"] = set_condition(
        s["status"]["conditions"], "Scheduled", False, "PlacementRejected", "no room", at=NOW
    )
    actions = plan_server(s, FLAVOR, sched, now=LATER)
    assert actions.pending and actions.release and actions.exclude == "h1"
    assert actions.metadata == {"metadata": {"labels": {HOST_LABEL: None}, "resourceVersion": "12"}}
    assert actions.status is not None and "host" not in actions.status and "zone" not in actions.status
    assert actions.status["message"] == "0/1 hosts fit: 1 excluded (refused the Server before)"
    # Later passes keep it excluded (the operator remembers it) and write nothing.
    after = applied(s, actions)
    assert plan_server(after, FLAVOR, sched, excluded={"h1"}, now=LATER).writes == 0


def test_ready_follows_scheduled_volumes_network_and_running() -> None:
    sched = Scheduler(index(host("h1")))
    vols = {"web-1-root": VolumeView(True, "Available", phase="Available")}
    s = applied(server(), plan_server(server(), FLAVOR, sched, volumes=vols, now=NOW))
    running = hostd_running(s)
    actions = plan_server(running, FLAVOR, never, volumes=vols, now=LATER)
    assert actions.metadata is None and actions.status is not None
    ready = find(actions.status["conditions"], "Ready")
    assert ready is not None and (ready["status"], ready["reason"]) == ("True", "Running")
    assert actions.status["phase"] == "Running"  # hostd's phase is kept
    assert actions.events == ()
    now_ready = applied(running, actions)
    assert plan_server(now_ready, FLAVOR, never, volumes=vols, now=LATER).writes == 0
    stopped = plan_server(hostd_running(now_ready, running=False), FLAVOR, never, volumes=vols, now=LATER)
    assert stopped.status is not None
    ready = find(stopped.status["conditions"], "Ready")
    assert ready is not None and (ready["status"], ready["reason"]) == ("False", "Stopped")
    assert stopped.events[0].reason == "NotReady"


def test_ready_of() -> None:
    assert ready_of([]) == (False, "Scheduling", "waiting for condition Scheduled")
    conds = set_condition([], "Scheduled", True, "Placed", at=NOW)
    assert ready_of(conds) == (False, "WaitingForVolumes", "waiting for condition VolumesReady")
    conds = set_condition(conds, "VolumesReady", False, "VolumeNotReady", "boot volume x: Creating", at=NOW)
    assert ready_of(conds) == (False, "VolumeNotReady", "boot volume x: Creating")
    conds = set_condition(conds, "VolumesReady", True, "VolumesReady", at=NOW)
    assert ready_of(conds) == (False, "WaitingForNetwork", "waiting for condition NetworkReady")
    conds = set_condition(conds, "NetworkReady", True, "NoNetworks", at=NOW)
    assert ready_of(conds) == (False, "Starting", "waiting for condition Running")
    conds = set_condition(conds, "Running", False, "ImagePullFailed", "no image", at=NOW)
    assert ready_of(conds) == (False, "ImagePullFailed", "no image")
    assert ready_of(set_condition(conds, "Running", True, "Started", at=NOW)) == (True, "Running", "")


def test_placed_server_label_and_finalizer_are_repaired() -> None:
    sched = Scheduler(index(host("h1")))
    s = applied(server(), plan_server(server(), FLAVOR, sched, now=NOW))
    s["metadata"]["labels"] = {}
    s["metadata"]["finalizers"] = ["other"]
    actions = plan_server(s, FLAVOR, never, now=LATER)
    assert actions.status is None
    assert actions.metadata == {
        "metadata": {
            "labels": {HOST_LABEL: "h1"},
            "finalizers": ["other", FINALIZER],
            "resourceVersion": "12",
        }
    }


def test_deletion_releases_and_removes_only_our_finalizer() -> None:
    sched = Scheduler(index(host("h1")))
    s = applied(server(), plan_server(server(), FLAVOR, sched, now=NOW))
    s["metadata"]["finalizers"] = ["hostd.kumulus.dev/guest", FINALIZER]
    s["metadata"]["deletionTimestamp"] = LATER
    assert allocation_of(s, FLAVOR) is None
    actions = plan_server(s, FLAVOR, never, now=LATER)
    assert actions.release and actions.status is None and actions.allocate is None
    assert actions.metadata == {
        "metadata": {"finalizers": ["hostd.kumulus.dev/guest"], "resourceVersion": "12"}
    }
    s["metadata"]["finalizers"] = ["hostd.kumulus.dev/guest"]
    again = plan_server(s, FLAVOR, never, now=LATER)
    assert again.release and again.writes == 0


def test_in_flight_placements_take_the_last_slot_once() -> None:
    sched = Scheduler(index(host("h1", ram=2048)))  # room for one m1.small
    a = plan_server(server("a"), FLAVOR, sched, now=NOW)
    b = plan_server(server("b"), FLAVOR, sched, now=NOW)
    assert a.allocate is not None and b.allocate is None and b.pending
    assert b.status is not None and b.status["message"] == "0/1 hosts fit: 1 insufficient RAM"


def lease(renewed: str, duration: int = 40) -> dict[str, Any]:
    return {"metadata": {"name": "host-h1"}, "spec": {"renewTime": renewed, "leaseDurationSeconds": duration}}


def test_host_heartbeat_lost_and_restored() -> None:
    ready = set_condition([], "Ready", True, "HostdReady", at=NOW)
    obj = {"metadata": {"name": "h1", "generation": 1}, "status": {"conditions": ready}}
    at = datetime(2025, 1, 1, 0, 1, 0, tzinfo=UTC)
    assert plan_host_heartbeat(obj, None, at) is None
    assert plan_host_heartbeat(obj, lease("2025-01-01T00:00:30.000000Z"), at) is None
    status = plan_host_heartbeat(obj, lease("2025-01-01T00:00:10.000000Z"), at)
    assert status is not None
    cond = find(status["conditions"], "Ready")
    assert cond is not None and (cond["status"], cond["reason"]) == ("False", HEARTBEAT_LOST)
    assert cond["message"] == "no heartbeat since 2025-01-01T00:00:10.000000Z (lease duration 40s)"
    lost = {**obj, "status": status}
    assert (
        HostInfo.from_host(
            {
                **lost,
                "spec": {
                    "zone": "az1",
                    "site": "dc1",
                    "roles": ["Compute"],
                    "capacity": {"vcpus": 4, "ramMiB": 4096},
                },
            }
        ).ready
        is False
    )
    assert plan_host_heartbeat(lost, lease("2025-01-01T00:00:10.000000Z"), at) is None
    restored = plan_host_heartbeat(lost, lease("2025-01-01T00:00:59.000000Z"), at)
    assert restored is not None
    cond = find(restored["conditions"], "Ready")
    assert cond is not None and (cond["status"], cond["reason"]) == ("True", "HeartbeatRestored")


def test_filter_count_message_shape() -> None:
    # The message the Server shows comes from the scheduler unchanged.
    d = Decision(
        None,
        40,
        0,
        (FilterCount("zone", "not in zone az1", 12), FilterCount("resources", "insufficient RAM", 28)),
    )
    assert d.message == "0/40 hosts fit: 12 not in zone az1, 28 insufficient RAM"

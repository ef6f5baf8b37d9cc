"""hostd's pure reconcile: desired Servers and observed guests in, actions out; a second pass is empty."""

from __future__ import annotations

from typing import Any

from controllers.conditions import find, set_condition
from controllers.scheduling import HostInfo, Resources
from hostd.drivers.base import GuestPhase, GuestState
from hostd.reconcile import Desired, Destroy, Ensure, Reject, Report, Wait, plan
from hostd.status import guest_status, rejected_status

HOST = HostInfo(name="h1", zone="az1", site="dc1", capacity=Resources(8, 16384, 100), cpu_ratio=1.0)
SMALL = Resources(2, 4096, 0)


def deps_ready(volumes: bool = True, network: bool = True) -> list[dict[str, Any]]:
    """The operator's conditions: the Server's Volumes and Ports ready (or not)."""
    conds = set_condition([], "Scheduled", True, "Placed", at="2024-01-01T00:00:00Z")
    vol = ("VolumesReady", "VolumeNotReady", "boot volume s-a-root is not ready (Creating)")
    conds = set_condition(conds, vol[0], volumes, vol[0] if volumes else vol[1], "" if volumes else vol[2])
    return set_condition(conds, "NetworkReady", network, "NoNetworks" if network else "PortCreating")


def server(uid: str, power: str = "On", status: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "metadata": {"uid": uid, "name": f"s-{uid}", "namespace": "ns", "generation": 1},
        "spec": {"flavor": "m1.small", "powerState": power},
        "status": {
            "host": "h1",
            "zone": "az1",
            "flavor": "m1.small",
            "conditions": deps_ready(),
            **(status or {}),
        },
    }


def desired(*servers: dict[str, Any], resources: Resources | None = SMALL) -> dict[str, Desired]:
    return {s["metadata"]["uid"]: Desired.from_server(s, resources) for s in servers}


def guest(uid: str, phase: GuestPhase = GuestPhase.RUNNING, res: Resources = SMALL) -> GuestState:
    return GuestState(uid, f"ns/s-{uid}", res, phase, boot_time="2024-01-01T00:00:00Z")


def reported(uid: str, phase: GuestPhase = GuestPhase.RUNNING, power: str = "On") -> dict[str, Any]:
    """The Server as it is once hostd's report of the guest has been written."""
    s = server(uid, power)
    s["status"] = guest_status(s["status"], guest(uid, phase))
    return s


def test_new_server_is_created_then_reported_then_nothing() -> None:
    want = desired(server("a"))
    actions = plan(want, {}, HOST)
    assert [type(a) for a in actions] == [Ensure]
    assert isinstance(actions[0], Ensure) and actions[0].spec.power_on and actions[0].spec.resources == SMALL

    observed = {"a": guest("a")}
    actions = plan(want, observed, HOST)
    assert actions == [Report("a", observed["a"])]

    status = guest_status(want["a"].status, observed["a"])
    assert status["phase"] == "Running" and status["powerState"] == "On"
    assert status["bootTime"] == "2024-01-01T00:00:00Z"
    cond = next(c for c in status["conditions"] if c["type"] == "Running")
    assert (cond["status"], cond["reason"]) == ("True", "GuestRunning")
    assert "observedGeneration" not in status

    assert plan(desired(reported("a")), observed, HOST) == []


def test_building_and_busy_guests_are_left_alone() -> None:
    want = desired(server("a"))
    assert plan(want, {"a": guest("a", GuestPhase.BUILDING)}, HOST) == []
    assert plan(want, {}, HOST, busy={"a"}) == []
    assert plan({}, {"a": guest("a")}, HOST, busy={"a"}) == []


def test_power_off_then_on() -> None:
    off = server("a", power="Off", status=reported("a")["status"])
    actions = plan(desired(off), {"a": guest("a")}, HOST)
    assert len(actions) == 1 and isinstance(actions[0], Ensure) and not actions[0].spec.power_on

    stopped = {"a": guest("a", GuestPhase.STOPPED)}
    actions = plan(desired(off), stopped, HOST)
    assert actions == [Report("a", stopped["a"])]
    status = guest_status(off["status"], stopped["a"])
    assert status["phase"] == "Stopped" and status["powerState"] == "Off"
    cond = next(c for c in status["conditions"] if c["type"] == "Running")
    assert (cond["status"], cond["reason"]) == ("False", "PoweredOff")
    assert plan(desired(reported("a", GuestPhase.STOPPED, "Off")), stopped, HOST) == []

    on = server("a", power="On", status=status)
    actions = plan(desired(on), stopped, HOST)
    assert len(actions) == 1 and isinstance(actions[0], Ensure) and actions[0].spec.power_on


def test_created_powered_off() -> None:
    actions = plan(desired(server("a", power="Off")), {}, HOST)
    assert len(actions) == 1 and isinstance(actions[0], Ensure) and not actions[0].spec.power_on


def test_guest_of_a_server_gone_is_destroyed_once() -> None:
    assert plan({}, {"a": guest("a")}, HOST) == [Destroy("a")]
    assert plan({}, {}, HOST) == []


def test_placement_that_does_not_fit_is_rejected_once() -> None:
    # 8 vCPUs (ratio 1.0): three guests of 2 run, a fourth fits, a fifth does not.
    running = {u: guest(u) for u in "abc"}
    servers = [reported(u) for u in "abc"] + [server("d"), server("e")]
    actions = plan(desired(*servers), running, HOST)
    assert [type(a) for a in actions] == [Ensure, Reject]
    reject = actions[1]
    assert isinstance(reject, Reject) and reject.uid == "e" and "vCPUs" in reject.message

    rejected = server("e", status=rejected_status(server("e")["status"], reject.message))
    cond = next(c for c in rejected["status"]["conditions"] if c["type"] == "Scheduled")
    assert (cond["status"], cond["reason"]) == ("False", "PlacementRejected")
    assert rejected["status"]["host"] == "h1"  # nothing else cleared
    running["d"] = guest("d")
    again = desired(*[reported(u) for u in "abcd"], rejected)
    assert plan(again, running, HOST) == []


def test_host_in_maintenance_rejects_new_but_keeps_running() -> None:
    host = HostInfo(name="h1", zone="az1", site="dc1", capacity=Resources(8, 16384, 100), maintenance=True)
    actions = plan(desired(reported("a"), server("b")), {"a": guest("a")}, host)
    assert len(actions) == 1 and isinstance(actions[0], Reject) and "maintenance" in actions[0].message


def test_reported_server_without_guest_is_adopted_without_check() -> None:
    """After a restart of a driver that keeps no state, a Server hostd already ran is recreated even if
    the host is in maintenance: its placement was verified when it was admitted."""
    host = HostInfo(name="h1", zone="az1", site="dc1", capacity=Resources(8, 16384, 100), maintenance=True)
    actions = plan(desired(reported("a")), {}, host)
    assert [type(a) for a in actions] == [Ensure]


def test_unknown_flavor_or_host_waits() -> None:
    assert plan(desired(server("a"), resources=None), {}, HOST) == []
    assert plan(desired(server("a")), {}, None) == []


def test_report_keeps_other_writers_conditions() -> None:
    s = server("a", status={"phase": "Building", "conditions": [{"type": "Scheduled", "status": "True"}]})
    status = guest_status(s["status"], guest("a"))
    assert [c["type"] for c in status["conditions"]] == ["Scheduled", "Running", "Ready"]
    assert status["host"] == "h1" and status["zone"] == "az1"


def test_guest_waits_for_volumes_and_network_then_starts() -> None:
    """hostd needs the disk and the port: no guest before VolumesReady and NetworkReady are True."""
    waiting = server("a", status={"conditions": deps_ready(volumes=False)})
    actions = plan(desired(waiting), {}, HOST)
    assert actions == [
        Wait("a", "VolumesReady: VolumeNotReady (boot volume s-a-root is not ready (Creating))")
    ]
    no_port = server("a", status={"conditions": deps_ready(network=False)})
    assert [type(a) for a in plan(desired(no_port), {}, HOST)] == [Wait]
    unknown = server("a", status={"conditions": []})  # no operator conditions yet: wait too
    assert plan(desired(unknown), {}, HOST) == [Wait("a", "VolumesReady: no condition VolumesReady")]
    # Its room is kept while it waits: a second Server that only fits without it is refused.
    big = Resources(7, 4096, 0)
    want = {**desired(waiting), **desired(server("b"), resources=big)}
    actions = plan(want, {}, HOST)
    assert [type(a) for a in actions] == [Wait, Reject]
    # A placement that does not fit is refused at once, without waiting for the volumes.
    assert [type(a) for a in plan(desired(waiting, resources=Resources(9, 1, 0)), {}, HOST)] == [Reject]
    # Once both are True the guest is created.
    assert [type(a) for a in plan(desired(server("a")), {}, HOST)] == [Ensure]


def test_report_sets_ready_as_the_operator_would() -> None:
    s = server("a")
    status = guest_status(s["status"], guest("a"), 1)
    ready = find(status["conditions"], "Ready")
    assert ready is not None and (ready["status"], ready["reason"], ready["observedGeneration"]) == (
        "True",
        "Running",
        1,
    )
    not_ready = guest_status(
        server("a", status={"conditions": deps_ready(volumes=False)})["status"], guest("a")
    )
    ready = find(not_ready["conditions"], "Ready")
    assert ready is not None and (ready["status"], ready["reason"]) == ("False", "VolumeNotReady")


def test_approved_resize_is_applied_then_reported_then_nothing() -> None:
    big = Resources(4, 8192, 0)
    s = server("a", status={"resizeFlavor": "m1.large", "phase": "Resizing"})
    s["status"] = guest_status(s["status"], guest("a"))  # running, with the old flavor
    want = {"a": Desired.from_server(s, SMALL, resize_to=big)}
    observed = {"a": guest("a")}
    actions = plan(want, observed, HOST)
    assert actions == [Ensure(actions[0].spec)] and isinstance(actions[0], Ensure)
    assert actions[0].spec.resources == big
    applied = {"a": guest("a", res=big)}
    actions = plan(want, applied, HOST)
    assert actions == [Report("a", applied["a"], resized=True)]
    status = guest_status(s["status"], applied["a"], 1, resized=True)
    assert status["flavor"] == "m1.large" and "resizeFlavor" not in status and status["phase"] == "Running"
    resized = find(status["conditions"], "Resized")
    assert resized is not None and (resized["status"], resized["reason"]) == ("True", "Resized")
    s["status"] = status
    after = {"a": Desired.from_server(s, big)}
    assert plan(after, applied, HOST) == []


def test_crashed_guest_is_reported_then_restarted_then_reported_running() -> None:
    want = desired(reported("a"))
    crashed = {"a": guest("a", GuestPhase.CRASHED)}
    actions = plan(want, crashed, HOST)
    assert actions == [Report("a", crashed["a"])]  # reported first: no restart hides the crash
    status = guest_status(want["a"].status, crashed["a"])
    assert (status["phase"], status["powerState"]) == ("Error", "Crashed")
    assert find(status["conditions"], "Running")["reason"] == "GuestCrashed"  # type: ignore[index]

    s = reported("a")
    s["status"] = status
    want = desired(s)
    actions = plan(want, crashed, HOST)  # the default policy: restart
    assert [type(a) for a in actions] == [Ensure]
    assert isinstance(actions[0], Ensure) and actions[0].spec.power_on

    running = {"a": guest("a")}
    actions = plan(want, running, HOST)
    assert [type(a) for a in actions] == [Report]
    s["status"] = guest_status(s["status"], running["a"])
    assert plan(desired(s), running, HOST) == []


def test_crashed_guest_stays_down_when_the_policy_says_so() -> None:
    from dataclasses import replace

    crashed = {"a": guest("a", GuestPhase.CRASHED)}
    s = reported("a")
    s["status"] = guest_status(s["status"], crashed["a"])
    want = {"a": replace(Desired.from_server(s, SMALL), restart_on_crash=False)}
    assert plan(want, crashed, HOST) == []  # reported, left crashed


def test_crashed_guest_of_a_server_powered_off_is_reported_stopped_not_restarted() -> None:
    want = desired(reported("a", GuestPhase.STOPPED, "Off"))
    crashed = {"a": guest("a", GuestPhase.CRASHED)}
    actions = plan(want, crashed, HOST)
    assert all(not isinstance(a, Ensure) for a in actions)


def test_failed_status_names_the_error_and_is_replaced_by_the_next_report() -> None:
    from hostd.status import failed_status

    s = server("a")
    status = failed_status(s["status"], "Port s-a-nic0 (nic0): not found", 1)
    cond = find(status["conditions"], "Running")
    assert cond is not None and (cond["status"], cond["reason"]) == ("False", "GuestFailed")
    assert "s-a-nic0" in cond["message"]
    assert find(status["conditions"], "Ready")["status"] == "False"  # type: ignore[index]
    assert failed_status(status, "Port s-a-nic0 (nic0): not found", 1) == status  # idempotent
    after = guest_status(status, guest("a"))
    assert find(after["conditions"], "Running")["reason"] == "GuestRunning"  # type: ignore[index]

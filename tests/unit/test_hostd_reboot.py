"""Reboot requests in hostd's pure reconcile: a request later than the last one served reboots a running
guest once; the status (or, until it is read back, hostd's memory) is the record; a guest that does not
run has nothing to reboot and the request is recorded NotRunning; planning again after applying is empty."""

from __future__ import annotations

from typing import Any

from controllers.conditions import find
from hostd.drivers.base import GuestPhase, GuestState
from hostd.reboot import NOT_RUNNING, REBOOTED, RebootRequest, is_pending, later, parse_time, with_last_reboot
from hostd.reconcile import Desired, Ensure, Reboot, RecordReboot, Report, plan
from hostd.status import guest_status, rebooting_status, started_before

from .test_hostd_reconcile import HOST, SMALL, guest, reported, server

T0 = "2025-01-01T10:00:00Z"
T1 = "2025-01-01T11:00:00Z"


def with_reboot(s: dict[str, Any], at: str = T1, type_: str | None = None) -> dict[str, Any]:
    reboot: dict[str, Any] = {"requestedAt": at, **({"type": type_} if type_ else {})}
    return {**s, "spec": {**s["spec"], "reboot": reboot}}


def want(s: dict[str, Any], served: dict[str, Any] | None = None) -> dict[str, Desired]:
    return {s["metadata"]["uid"]: Desired.from_server(s, SMALL, None, served)}


def rebooted(uid: str, at: str = T1, boot: str = "2025-01-01T11:00:05Z") -> GuestState:
    return GuestState(uid, f"ns/s-{uid}", SMALL, GuestPhase.RUNNING, boot_time=boot)


def after_reboot(s: dict[str, Any], g: GuestState, completed: str = "2025-01-01T11:00:05Z") -> dict[str, Any]:
    """The Server once hostd's reboot and its report are written."""
    request = RebootRequest.from_server(s)
    assert request is not None
    status = guest_status(with_last_reboot(s["status"], request.record(REBOOTED, completed)), g)
    return {**s, "status": status}


def test_times_are_compared_as_instants() -> None:
    assert parse_time("2025-01-01t10:00:00.5z") is not None
    assert parse_time("2025-01-01T10:00:00") is None  # no offset: not RFC 3339
    assert parse_time("yesterday") is None and parse_time(None) is None
    # 11:30+02:00 is 09:30Z: earlier than T0 although the string sorts after it.
    assert not later({"requestedAt": "2025-01-01T11:30:00+02:00"}, {"requestedAt": T0})
    assert later({"requestedAt": T1}, {"requestedAt": T0}) and later({"requestedAt": T1}, None)
    assert not later({"requestedAt": T0}, {"requestedAt": T0})
    request = RebootRequest(T1)
    assert is_pending(request, None) and is_pending(request, {"requestedAt": T0})
    assert not is_pending(request, {"requestedAt": T1}) and not is_pending(None, None)


def test_request_parsed_from_the_spec() -> None:
    s = with_reboot(server("a"), type_="Hard")
    assert RebootRequest.from_server(s) == RebootRequest(T1, hard=True)
    assert RebootRequest.from_server(with_reboot(server("a"))) == RebootRequest(T1, hard=False)
    assert RebootRequest.from_server(server("a")) is None
    assert RebootRequest.from_server(with_reboot(server("a"), at="soon")) is None


def test_running_guest_is_rebooted_once_then_nothing() -> None:
    s = with_reboot(reported("a"))
    observed = {"a": guest("a")}
    actions = plan(want(s), observed, HOST)
    assert actions == [Reboot("a", RebootRequest(T1))]

    # While rebooting: phase Rebooting, Running=False Rebooting, Ready follows.
    status = rebooting_status(s["status"], RebootRequest(T1), 1)
    assert status["phase"] == "Rebooting"
    cond = find(status["conditions"], "Running")
    assert cond is not None and (cond["status"], cond["reason"]) == ("False", "Rebooting")
    assert T1 in cond["message"] and "soft reboot" in cond["message"]
    ready = find(status["conditions"], "Ready")
    assert ready is not None and (ready["status"], ready["reason"]) == ("False", "Rebooting")
    assert started_before(status)  # a sim hostd restarted meanwhile adopts it without a placement check

    g = rebooted("a")
    done = after_reboot({**s, "status": status}, g)
    assert done["status"]["phase"] == "Running" and done["status"]["bootTime"] == g.boot_time
    assert done["status"]["lastReboot"] == {
        "requestedAt": T1,
        "type": "Soft",
        "result": REBOOTED,
        "completedAt": "2025-01-01T11:00:05Z",
    }
    assert plan(want(done), {"a": g}, HOST) == []
    # A hostd restarted (nothing in memory) reads the record: no second reboot.
    assert plan(want(done, served=None), {"a": g}, HOST) == []


def test_a_stale_read_after_the_reboot_does_not_reboot_again() -> None:
    s = with_reboot(reported("a"))
    g = rebooted("a")
    record = RebootRequest(T1).record(REBOOTED, "2025-01-01T11:00:05Z")
    # The informer still holds the Server read before hostd's write; hostd remembers what it served.
    actions = plan(want(s, served=record), {"a": g}, HOST)
    assert [type(a) for a in actions] == [RecordReboot, Report]
    assert actions[0] == RecordReboot("a", record)
    # Once the status shows it, memory adds nothing.
    done = after_reboot(s, g)
    assert plan(want(done, served=record), {"a": g}, HOST) == []


def test_earlier_or_equal_request_is_already_served() -> None:
    done = after_reboot(with_reboot(reported("a")), rebooted("a"))
    for at in (T1, T0, "2025-01-01T12:00:00+02:00"):  # 10:00Z
        again = with_reboot(done, at=at)
        assert plan(want(again), {"a": rebooted("a")}, HOST) == [], at
    later_one = with_reboot(done, at="2025-01-01T12:00:00Z", type_="Hard")
    assert plan(want(later_one), {"a": rebooted("a")}, HOST) == [
        Reboot("a", RebootRequest("2025-01-01T12:00:00Z", hard=True))
    ]


def test_powered_off_guest_has_nothing_to_reboot() -> None:
    off = with_reboot(reported("a", GuestPhase.STOPPED, "Off"))
    off["spec"]["powerState"] = "Off"
    stopped = {"a": guest("a", GuestPhase.STOPPED)}
    record = RebootRequest(T1).record(NOT_RUNNING)
    assert plan(want(off), stopped, HOST) == [RecordReboot("a", record)]
    assert record == {"requestedAt": T1, "type": "Soft", "result": "NotRunning"}
    served = {**off, "status": with_last_reboot(off["status"], record)}
    assert plan(want(served), stopped, HOST) == []
    # Powered on later: started (a fresh boot), not rebooted after.
    on = {**served, "spec": {**served["spec"], "powerState": "On"}}
    actions = plan(want(on), stopped, HOST)
    assert len(actions) == 1 and isinstance(actions[0], Ensure) and actions[0].spec.power_on


def test_power_off_and_reboot_asked_together_powers_off() -> None:
    s = with_reboot(reported("a"))
    s["spec"]["powerState"] = "Off"
    actions = plan(want(s), {"a": guest("a")}, HOST)
    assert [type(a) for a in actions] == [RecordReboot, Ensure]
    assert isinstance(actions[1], Ensure) and not actions[1].spec.power_on


def test_server_created_with_a_request_boots_once() -> None:
    s = with_reboot(server("a"))
    actions = plan(want(s), {}, HOST)
    assert [type(a) for a in actions] == [RecordReboot, Ensure]
    assert isinstance(actions[0], RecordReboot) and actions[0].record["result"] == NOT_RUNNING
    # hostd remembers it even if the write has not been read back: the new guest is not rebooted.
    g = guest("a")
    actions = plan(want(s, served=actions[0].record), {"a": g}, HOST)
    assert [type(a) for a in actions] == [RecordReboot, Report]


def test_building_or_busy_guest_waits() -> None:
    s = with_reboot(reported("a"))
    assert plan(want(s), {"a": guest("a", GuestPhase.BUILDING)}, HOST) == []
    assert plan(want(s), {"a": guest("a")}, HOST, busy={"a"}) == []


def test_console_reported_with_the_host_and_removed_without() -> None:
    s = reported("a")
    g = GuestState("a", "ns/s-a", SMALL, GuestPhase.RUNNING, console_log="/var/lib/x/console/a.log")
    status = guest_status(s["status"], g)
    assert status["console"] == {"host": "h1", "path": "/var/lib/x/console/a.log"}
    assert plan(want(s), {"a": g}, HOST) == [Report("a", g)]
    assert plan(want({**s, "status": status}), {"a": g}, HOST) == []
    assert "console" not in guest_status(status, guest("a"))

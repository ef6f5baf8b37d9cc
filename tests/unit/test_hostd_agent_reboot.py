"""The agent serving reboot requests with the sim driver: status and Events follow the reboot (Rebooting,
then Running with lastReboot), a stale read or a restarted agent never reboots twice, a failed reboot is
written on the Server and retried."""

from __future__ import annotations

import asyncio
from typing import Any

from controllers.conditions import find, set_condition
from controllers.scheduling import Resources
from hostd.agent import HostAgent
from hostd.config import HostConfig
from hostd.drivers.base import GuestSpec, GuestState
from hostd.drivers.sim import SimDriver
from hostd.flavors import FlavorCache
from hostd.reconcile import Reboot, RecordReboot

UID = "5d0c7b1e-8a47-4d5c-9f3e-2a6b1c0d9e8f"
TINY = Resources(1, 64, 0)
REQUESTED = "2025-03-01T09:00:00Z"


def conditions() -> list[dict[str, Any]]:
    conds: list[dict[str, Any]] = []
    for kind in ("Scheduled", "VolumesReady", "NetworkReady"):
        conds = set_condition(conds, kind, True, kind, at="2025-01-01T00:00:00Z")
    return conds


def new_server(reboot: dict[str, Any] | None = None, power: str = "On") -> dict[str, Any]:
    spec: dict[str, Any] = {"flavor": "tiny", "powerState": power}
    if reboot is not None:
        spec["reboot"] = reboot
    return {
        "apiVersion": "compute.kumulus.dev/v1alpha1",
        "kind": "Server",
        "metadata": {"uid": UID, "name": "web", "namespace": "demo", "generation": 2},
        "spec": spec,
        "status": {"host": "h1", "zone": "az1", "flavor": "tiny", "conditions": conditions()},
    }


class FakeKube:
    """The Server's status writes (update_status with the agent's mutate) and the Events posted."""

    def __init__(self, server: dict[str, Any]) -> None:
        self.server = server
        self.statuses: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []

    async def update_status(self, path: str, mutate: Any) -> Any:
        status = mutate(self.server)
        if status is not None and status != self.server.get("status"):
            self.server = {**self.server, "status": status}
            self.statuses.append(status)
        return None

    async def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        assert path == "/api/v1/namespaces/demo/events"
        self.events.append(body)
        return body


def make_agent(kube: FakeKube, driver: SimDriver) -> HostAgent:
    flavors = FlavorCache(kube)  # type: ignore[arg-type]
    flavors.cache["tiny"] = TINY
    agent = HostAgent(kube, HostConfig(name="h1"), driver, flavors)  # type: ignore[arg-type]
    agent.informer.items = {UID: kube.server}
    return agent


async def settle(agent: HostAgent) -> None:
    while agent.tasks:
        await asyncio.gather(*list(agent.tasks))


async def running_driver() -> SimDriver:
    driver = SimDriver((8, 8192, 100), boot_delay=0)
    await driver.ensure_guest(GuestSpec(UID, "demo/web", TINY))
    return driver


def reasons(kube: FakeKube) -> list[tuple[str, str]]:
    return [(e["type"], e["reason"]) for e in kube.events]


async def test_reboot_is_shown_done_and_recorded_once() -> None:
    driver = await running_driver()
    kube = FakeKube(new_server({"requestedAt": REQUESTED, "type": "Hard"}))
    agent = make_agent(kube, driver)
    stale = kube.server  # what the informer holds until hostd's writes come back

    actions = await agent.reconcile_once()
    assert [type(a) for a in actions] == [Reboot]
    assert kube.statuses[0]["phase"] == "Rebooting"
    cond = find(kube.statuses[0]["conditions"], "Running")
    assert cond is not None and (cond["status"], cond["reason"]) == ("False", "Rebooting")
    await settle(agent)
    assert driver.reboots == [(UID, True)]

    status = kube.server["status"]
    assert status["phase"] == "Running" and status["powerState"] == "On"
    assert status["lastReboot"]["requestedAt"] == REQUESTED
    assert (status["lastReboot"]["type"], status["lastReboot"]["result"]) == ("Hard", "Rebooted")
    assert status["lastReboot"]["completedAt"] and status["bootTime"] == driver.guests[UID].boot_time
    cond = find(status["conditions"], "Running")
    assert cond is not None and (cond["status"], cond["reason"]) == ("True", "GuestRunning")
    assert reasons(kube) == [("Normal", "Rebooting"), ("Normal", "Rebooted")]
    event = kube.events[0]
    assert event["involvedObject"]["uid"] == UID and event["involvedObject"]["kind"] == "Server"
    assert event["source"]["component"] == "kumulus-hostd" and REQUESTED in event["message"]

    # The informer has not seen the writes yet: no second reboot, nothing more written.
    agent.informer.items = {UID: stale}
    writes = len(kube.statuses)
    await agent.reconcile_once()
    await settle(agent)
    assert driver.reboots == [(UID, True)] and len(kube.statuses) == writes

    # Read back, then the stale version again (a lagging watch event): no second reboot (at most the record
    # is written again, which changes nothing).
    agent.informer.items = {UID: kube.server}
    assert await agent.reconcile_once() == []
    agent.informer.items = {UID: stale}
    actions = await agent.reconcile_once()
    await settle(agent)
    assert not [a for a in actions if isinstance(a, Reboot)]
    assert driver.reboots == [(UID, True)] and kube.server["status"]["lastReboot"]["requestedAt"] == REQUESTED
    # The Server gone from this host: its memory goes too.
    agent.informer.items = {}
    await agent.reconcile_once()
    await settle(agent)
    assert agent.reboots == {}

    # hostd restarted (nothing in memory, the guests as they are): the record says it was done.
    restarted = make_agent(kube, driver)
    assert await restarted.reconcile_once() == []
    assert driver.reboots == [(UID, True)] and len(kube.events) == 2


async def test_request_for_a_powered_off_server_is_recorded_not_running() -> None:
    driver = SimDriver((8, 8192, 100), boot_delay=0)
    await driver.ensure_guest(GuestSpec(UID, "demo/web", TINY, power_on=False))
    kube = FakeKube(new_server({"requestedAt": REQUESTED}, power="Off"))
    agent = make_agent(kube, driver)
    actions = await agent.reconcile_once()
    assert [type(a) for a in actions][:1] == [RecordReboot]
    await settle(agent)
    assert kube.server["status"]["lastReboot"] == {
        "requestedAt": REQUESTED,
        "type": "Soft",
        "result": "NotRunning",
    }
    assert reasons(kube) == [("Normal", "RebootSkipped")]
    agent.informer.items = {UID: kube.server}
    await agent.reconcile_once()
    await settle(agent)
    agent.informer.items = {UID: kube.server}
    assert await agent.reconcile_once() == []
    assert driver.reboots == [] and len(kube.events) == 1


class FailingReboot(SimDriver):
    async def reboot_guest(self, uid: str, hard: bool = False, timeout: float = 60.0) -> GuestState:
        raise RuntimeError("libvirt: domain is locked")


async def test_failed_reboot_is_written_and_retried_later() -> None:
    driver = FailingReboot((8, 8192, 100), boot_delay=0)
    await driver.ensure_guest(GuestSpec(UID, "demo/web", TINY))
    kube = FakeKube(new_server({"requestedAt": REQUESTED}))
    agent = make_agent(kube, driver)
    await agent.reconcile_once()
    await settle(agent)
    cond = find(kube.server["status"]["conditions"], "Running")
    assert cond is not None and (cond["reason"], cond["message"]) == (
        "GuestFailed",
        "RuntimeError: libvirt: domain is locked",
    )
    assert "lastReboot" not in kube.server["status"]  # not served: still pending
    assert reasons(kube) == [("Normal", "Rebooting"), ("Warning", "RebootFailed")]
    assert UID in agent.retry
    agent.informer.items = {UID: kube.server}
    assert await agent.reconcile_once() == []  # backing off, not rebooting in a loop


async def test_console_log_of_the_driver_is_reported() -> None:
    class Logged(SimDriver):
        def console_log(self, uid: str) -> str | None:
            return f"/srv/hostd/console/{uid}.log"

    driver = Logged((8, 8192, 100), boot_delay=0)
    await driver.ensure_guest(GuestSpec(UID, "demo/web", TINY))
    kube = FakeKube(new_server())
    agent = make_agent(kube, driver)
    await agent.reconcile_once()
    assert kube.server["status"]["console"] == {"host": "h1", "path": f"/srv/hostd/console/{UID}.log"}

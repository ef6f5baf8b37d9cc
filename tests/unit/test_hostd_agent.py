"""The agent's wiring: a driver failure is written on the Server and retried after a backoff (not in a
loop); the driver's lifecycle events wake the reconcile loop; a network role's chassis health is reported
in the Host's data plane, and its OVS settings ensured at start and then every resync."""

from __future__ import annotations

import asyncio
from typing import Any

from controllers.conditions import find
from controllers.scheduling import Resources
from hostd import agent as agent_mod
from hostd.agent import HostAgent
from hostd.config import HostConfig
from hostd.drivers.base import GuestSpec, GuestState
from hostd.drivers.sim import SimDriver
from hostd.reconcile import Ensure
from hostd.resolve_plan import ResolveError

UID = "0b4c3f4e-2f7a-4f0e-9a51-0c5a1b1e2d3f"
SERVER = {
    "metadata": {"uid": UID, "name": "web", "namespace": "demo", "generation": 1},
    "spec": {"flavor": "tiny"},
    "status": {"host": "h1", "conditions": []},
}


class FakeKube:
    def __init__(self) -> None:
        self.server: dict[str, Any] = {**SERVER}
        self.writes = 0

    async def update_status(self, path: str, mutate: Any) -> Any:
        status = mutate(self.server)
        if status is not None and status != self.server.get("status"):
            self.server = {**self.server, "status": status}
            self.writes += 1
        return None


class FailingDriver(SimDriver):
    def __init__(self) -> None:
        super().__init__((8, 8192, 100), boot_delay=0)
        self.calls = 0
        self.on_event: Any = None

    async def ensure_guest(self, spec: GuestSpec) -> GuestState:
        self.calls += 1
        raise ResolveError("Port web-nic0 (nic0): not found")


def make_agent(driver: Any, network: Any = None) -> tuple[HostAgent, FakeKube]:
    kube = FakeKube()
    a = HostAgent(kube, HostConfig(name="h1"), driver, flavors=None, network=network)  # type: ignore[arg-type]
    return a, kube


async def test_driver_failure_is_reported_on_the_server_and_backed_off() -> None:
    driver = FailingDriver()
    a, kube = make_agent(driver)
    assert driver.on_event == a.trigger.set  # lifecycle events wake the reconcile loop
    spec = GuestSpec(UID, "demo/web", Resources(1, 64, 0), True, SERVER)
    await a._drive(Ensure(spec))
    cond = find(kube.server["status"]["conditions"], "Running")
    assert cond is not None and (cond["status"], cond["reason"]) == ("False", "GuestFailed")
    assert cond["message"] == "ResolveError: Port web-nic0 (nic0): not found"
    _, delay = a.retry[UID]
    assert delay == agent_mod.RETRY_FIRST and UID not in a.busy
    await a._drive(Ensure(spec))
    assert a.retry[UID][1] == 2 * agent_mod.RETRY_FIRST  # doubling
    assert kube.writes == 1  # the same error is not written again
    assert driver.calls == 2


class FakeNetwork:
    def __init__(self) -> None:
        self.ensures = 0
        self.fail = False

    def ensure(self) -> list[Any]:
        self.ensures += 1
        if self.fail:
            raise ConnectionError("ovsdb down")
        return []

    def health(self, now: float) -> str:
        return "NoChassis: ovn-controller has not registered"

    def close(self) -> None:
        pass


async def test_data_plane_with_a_network_role() -> None:
    net = FakeNetwork()
    a, _ = make_agent(SimDriver((8, 8192, 100)), net)
    plane = await a.data_plane()
    assert plane == {
        "libvirt": "Ready",
        "ovn": "NoChassis: ovn-controller has not registered",
        "ceph": "Ready",
    }
    assert net.ensures == 1
    await a.data_plane()
    assert net.ensures == 1  # not again before RESYNC
    a.network_ensured -= agent_mod.RESYNC
    net.fail = True
    plane = await a.data_plane()  # an OVS failure is logged, the health still reported
    assert net.ensures == 2 and plane["ovn"].startswith("NoChassis")
    plane = await a.data_plane()
    assert net.ensures == 3  # failed: tried again at the next sync


async def test_data_plane_without_a_network_role_is_the_drivers() -> None:
    a, _ = make_agent(SimDriver((8, 8192, 100)))
    assert await a.data_plane() == {"libvirt": "Ready", "ovn": "Ready", "ceph": "Ready"}
    await asyncio.sleep(0)

"""hostd follows a running Server's Volumes: which disks a guest should have (wanted_volumes: the boot Volume
and those the storage operator attached to the Server, at status.sizeGiB), the plan as data ((desired,
observed) -> Ensure with them; applied, a second plan is empty), the resolver planning exactly those, the
agent end to end with the sim driver, and the per-namespace Volume watch that wakes it."""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from controllers.conditions import find, set_condition
from controllers.scheduling import HostInfo, Resources
from hostd.agent import HostAgent
from hostd.config import HostConfig, LibvirtConfig
from hostd.drivers.base import GuestPhase, GuestSpec, GuestState, GuestVolume, volume_serial
from hostd.drivers.libvirt_setup import plan_settings
from hostd.drivers.sim import SimDriver
from hostd.flavors import FlavorCache
from hostd.kube import ApiError
from hostd.reconcile import Action, Desired, Ensure, Report, plan, volume_changes
from hostd.resolve import ApiResolver
from hostd.resolve_plan import wanted_volumes
from hostd.status import guest_status
from hostd.volume_cache import VolumeCache

GiB = 1 << 30
HOST = HostInfo(name="h1", zone="az1", site="dc1", capacity=Resources(8, 16384, 100), cpu_ratio=1.0)
TINY = Resources(1, 64, 0)
UID = "7f1e2d3c-4b5a-4697-8877-665544332211"
ROOT_UID = "0a0a0a0a-1111-4222-8333-444455556666"
DATA_UID = "0b0b0b0b-1111-4222-8333-444455556666"
ROOT = GuestVolume(volume_serial(ROOT_UID), GiB)
STORAGE = "/apis/storage.kumulus.dev/v1alpha1/namespaces/demo/volumes"


def conditions() -> list[dict[str, Any]]:
    conds: list[dict[str, Any]] = []
    for kind in ("Scheduled", "VolumesReady", "NetworkReady"):
        conds = set_condition(conds, kind, True, kind, at="2025-01-01T00:00:00Z")
    return conds


def server(*volumes: str, power: str = "On") -> dict[str, Any]:
    return {
        "metadata": {"uid": UID, "name": "web", "namespace": "demo", "generation": 1},
        "spec": {
            "flavor": "tiny",
            "image": "img",
            "powerState": power,
            "volumes": [{"volume": v} for v in volumes],
        },
        "status": {"host": "h1", "zone": "az1", "flavor": "tiny", "conditions": conditions()},
    }


def volume(name: str, uid: str, size: int = 1, attached: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "demo", "uid": uid},
        "spec": {"sizeGiB": size},
        "status": {
            "phase": "InUse" if attached else "Available",
            "backendId": f"rbd/volumes/volume-{uid}",
            "sizeGiB": size,
            "attachments": [{"server": s, "host": "h1"} for s in attached],
        },
    }


# -- volume_changes and the plan, as data ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("wanted", "observed", "changes"),
    [
        (None, (ROOT,), ()),  # not resolved yet: no change
        ((ROOT,), None, ()),  # the driver does not say: no change
        ((ROOT,), (ROOT,), ()),
        ((ROOT, GuestVolume("d", GiB)), (ROOT,), ("attach d",)),
        ((ROOT,), (ROOT, GuestVolume("d", GiB)), ("detach d",)),
        (
            (ROOT, GuestVolume("d", 2 * GiB)),
            (ROOT, GuestVolume("d", GiB)),
            (f"grow d from {GiB} to {2 * GiB} bytes",),
        ),
        ((ROOT, GuestVolume("d", GiB)), (ROOT, GuestVolume("d", 2 * GiB)), ()),  # never shrunk
        ((ROOT, GuestVolume("d", 2 * GiB)), (ROOT, GuestVolume("d", None)), ()),  # off: no live size
        ((ROOT, GuestVolume("d", None)), (ROOT, GuestVolume("d", GiB)), ()),  # size unknown: not grown
        ((GuestVolume("d", GiB), ROOT), (ROOT, GuestVolume("d", GiB)), ()),  # order does not matter
    ],
)
def test_volume_changes(
    wanted: tuple[GuestVolume, ...] | None, observed: tuple[GuestVolume, ...] | None, changes: tuple[str, ...]
) -> None:
    assert volume_changes(wanted, observed) == changes


def desired(srv: dict[str, Any], volumes: tuple[GuestVolume, ...] | None) -> dict[str, Desired]:
    return {UID: Desired.from_server(srv, TINY, volumes=volumes)}


def reported(srv: dict[str, Any], guest: GuestState) -> dict[str, Any]:
    """The Server once hostd's report of the guest is written."""
    return {**srv, "status": guest_status(srv["status"], guest)}


def running(*volumes: GuestVolume, phase: GuestPhase = GuestPhase.RUNNING) -> GuestState:
    return GuestState(UID, "demo/web", TINY, phase, boot_time="2025-01-01T00:00:00Z", volumes=volumes)


async def apply_with_sim(actions: list[Action], guest: GuestState) -> GuestState:
    """What the sim driver makes of the plan's Ensure: the guest as it is after."""
    sim = SimDriver((8, 8192, 100), boot_delay=0)
    sim.guests[UID] = guest
    for action in actions:
        assert isinstance(action, Ensure)
        await sim.ensure_guest(action.spec)
    return sim.guests[UID]


DATA1 = GuestVolume(volume_serial(DATA_UID), GiB)
DATA2 = GuestVolume(volume_serial(DATA_UID), 2 * GiB)


@pytest.mark.parametrize(
    ("name", "wanted", "have", "power", "disks"),
    [
        ("attach", (ROOT, DATA1), (ROOT,), "On", (f"attach {DATA1.serial}",)),
        ("grow", (ROOT, DATA2), (ROOT, DATA1), "On", (f"grow {DATA1.serial} from {GiB} to {2 * GiB} bytes",)),
        ("detach", (ROOT,), (ROOT, DATA2), "On", (f"detach {DATA1.serial}",)),
        ("stopped guest: definition only", (ROOT, DATA1), (GuestVolume(ROOT.serial),), "Off", None),
    ],
)
async def test_a_volume_change_is_one_ensure_then_nothing(
    name: str,
    wanted: tuple[GuestVolume, ...],
    have: tuple[GuestVolume, ...],
    power: str,
    disks: tuple[str, ...] | None,
) -> None:
    phase = GuestPhase.RUNNING if power == "On" else GuestPhase.STOPPED
    guest = running(*have, phase=phase)
    srv = reported(server(power=power), guest)
    actions = plan(desired(srv, wanted), {UID: guest}, HOST)
    assert len(actions) == 1 and isinstance(actions[0], Ensure), actions
    ensure = actions[0]
    assert ensure.spec.volumes == wanted and ensure.spec.power_on == (power == "On")
    assert ensure.spec.resources == TINY
    if disks is not None:
        assert ensure.disks == disks
    after = await apply_with_sim(actions, guest)
    assert after.volumes == wanted and after.phase == phase
    assert plan(desired(srv, wanted), {UID: after}, HOST) == []


def test_every_ensure_carries_the_volumes() -> None:
    wanted = (ROOT, DATA1)
    # A new guest: created with them.
    (create,) = plan(desired(server(), wanted), {}, HOST)
    assert isinstance(create, Ensure) and create.spec.volumes == wanted and create.disks == ()
    # A power change on a guest whose disks differ too: one Ensure, with both.
    guest = running(ROOT)
    off = reported(server(power="Off"), guest)
    (ensure,) = plan(desired(off, wanted), {UID: guest}, HOST)
    assert isinstance(ensure, Ensure) and not ensure.spec.power_on and ensure.spec.volumes == wanted


def test_unknown_volumes_change_nothing_and_the_report_still_goes() -> None:
    guest = running(ROOT, DATA1)
    srv = server()
    assert plan(desired(srv, None), {UID: guest}, HOST) == [Report(UID, guest)]
    assert plan(desired(reported(srv, guest), None), {UID: replace(guest, volumes=None)}, HOST) == []
    assert plan(desired(reported(srv, guest), (ROOT,)), {UID: guest}, HOST, busy={UID}) == []


def test_a_crashed_guest_is_reported_before_its_disks_are_touched() -> None:
    guest = running(ROOT, phase=GuestPhase.CRASHED)
    (action,) = plan(desired(server(), (ROOT, DATA1)), {UID: guest}, HOST)
    assert isinstance(action, Report)


# -- which Volumes a guest should have ----------------------------------------------------------------


def test_wanted_volumes_are_the_boot_one_and_those_attached_to_the_server() -> None:
    vols = {
        "web-root": volume("web-root", ROOT_UID),
        "data": volume("data", DATA_UID, size=3, attached=("web",)),
        "new": {**volume("new", str(uuid.uuid4())), "status": {"phase": "Creating"}},
        "theirs": volume("theirs", str(uuid.uuid4()), attached=("db",)),  # refused to web: attached to db
        "free": volume("free", str(uuid.uuid4())),  # not attached (yet) by the storage operator
    }
    srv = server("data", "new", "theirs", "free", "missing")
    assert wanted_volumes(srv, vols) == (ROOT, GuestVolume(volume_serial(DATA_UID), 3 * GiB))
    assert wanted_volumes(server(), vols) == (ROOT,)
    assert wanted_volumes(server("data"), {"data": vols["data"]}) is None  # no boot Volume: unknown
    bad = copy.deepcopy(vols)
    bad["data"]["status"]["sizeGiB"] = "3"
    assert wanted_volumes(srv, bad) == (ROOT, GuestVolume(volume_serial(DATA_UID), None))


class Objects:
    """GETs of API objects by path (what ApiResolver reads)."""

    def __init__(self, objs: dict[str, dict[str, Any]]) -> None:
        self.objs = objs

    async def get(self, path: str) -> dict[str, Any]:
        if path not in self.objs:
            raise ApiError(404, "NotFound", path)
        return self.objs[path]


async def test_the_resolver_plans_exactly_the_wanted_volumes_at_their_sizes(tmp_path: Path) -> None:
    data = volume("data", DATA_UID, size=2, attached=("web",))
    other = volume("other", str(uuid.uuid4()))  # named by the Server, not attached to it
    objs = {
        f"{STORAGE}/web-root": volume("web-root", ROOT_UID),
        f"{STORAGE}/data": data,
        f"{STORAGE}/other": other,
    }
    cfg = LibvirtConfig(state_dir=tmp_path, volume_backend="file")
    resolver = ApiResolver(Objects(objs), plan_settings(cfg))  # type: ignore[arg-type]
    srv = server("other", "data")
    wanted = wanted_volumes(srv, {"web-root": objs[f"{STORAGE}/web-root"], "data": data, "other": other})
    assert wanted == (ROOT, DATA2)

    # Without `volumes` (a driver called directly): every Volume the Server names.
    everything = await resolver(GuestSpec(UID, "demo/web", TINY, True, srv))
    assert [d.serial for d in everything.disks] == [ROOT.serial, other["metadata"]["uid"][:20], DATA2.serial]

    # With them: the boot Volume and `data` only, at the wanted size (its file grown to it).
    plan_ = await resolver(GuestSpec(UID, "demo/web", TINY, True, srv, wanted))
    assert [(d.target_dev, d.serial, d.size_bytes) for d in plan_.disks] == [
        ("vda", ROOT.serial, GiB),
        ("vdb", DATA2.serial, 2 * GiB),
    ]
    data_file = tmp_path / "volumes" / "volumes" / f"volume-{DATA_UID}"
    assert data_file.stat().st_size == 2 * GiB

    # The size hostd compares with is the one planned, even if the API says more meanwhile.
    data["status"]["sizeGiB"] = 5
    plan_ = await resolver(GuestSpec(UID, "demo/web", TINY, True, srv, wanted))
    assert plan_.disks[1].size_bytes == 2 * GiB


# -- the agent, end to end with the sim driver ------------------------------------------------------------


class FakeKube:
    """The Server's status writes and Events."""

    def __init__(self, srv: dict[str, Any]) -> None:
        self.server = srv
        self.statuses: list[dict[str, Any]] = []

    async def update_status(self, path: str, mutate: Any) -> Any:
        status = mutate(self.server)
        if status is not None and status != self.server.get("status"):
            self.server = {**self.server, "status": status}
            self.statuses.append(status)
        return None

    async def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return body


def make_agent(kube: FakeKube, driver: Any, volumes: list[dict[str, Any]]) -> HostAgent:
    flavors = FlavorCache(kube)  # type: ignore[arg-type]
    flavors.cache["tiny"] = TINY
    agent = HostAgent(kube, HostConfig(name="h1"), driver, flavors)  # type: ignore[arg-type]
    agent.informer.items = {UID: kube.server}
    set_volumes(agent, volumes)
    return agent


def set_volumes(agent: HostAgent, volumes: list[dict[str, Any]]) -> None:
    """What the namespace's Volume watch would hold."""
    agent.volumes.track({"demo": ()})
    informer = agent.volumes.informers["demo"]
    informer.items = {v["metadata"]["uid"]: v for v in volumes}
    informer.synced.set()


async def pass_(agent: HostAgent) -> list[Action]:
    """One reconcile pass, its driver tasks done; the Server read back as the watch would bring it."""
    agent.informer.items = {UID: agent.kube.server}  # type: ignore[attr-defined]
    actions = await agent.reconcile_once()
    while agent.tasks:
        await asyncio.gather(*list(agent.tasks))
    return actions


async def test_the_agent_attaches_grows_and_detaches_on_a_running_guest() -> None:
    driver = SimDriver((8, 8192, 100), boot_delay=0)
    await driver.ensure_guest(GuestSpec(UID, "demo/web", TINY, True, volumes=(ROOT,)))
    kube = FakeKube(server())
    root = volume("web-root", ROOT_UID)
    agent = make_agent(kube, driver, [root])
    await pass_(agent)  # reported Running
    assert await pass_(agent) == [] and driver.guests[UID].volumes == (ROOT,)

    def update(srv: dict[str, Any], *vols: dict[str, Any]) -> None:
        kube.server = {**srv, "status": kube.server["status"]}
        set_volumes(agent, [root, *vols])

    # Attach: in spec.volumes, but not wanted until the storage operator attached it to the Server.
    data = volume("data", DATA_UID)
    update(server("data"), data)
    assert await pass_(agent) == []
    data = volume("data", DATA_UID, attached=("web",))
    update(server("data"), data)
    (ensure,) = await pass_(agent)
    assert isinstance(ensure, Ensure) and ensure.disks == (f"attach {DATA1.serial}",)
    assert driver.guests[UID].volumes == (ROOT, DATA1) and driver.guests[UID].phase == GuestPhase.RUNNING
    assert await pass_(agent) == []

    # Grow: the Volume extended (status.sizeGiB, as the storage operator writes it once done).
    update(server("data"), volume("data", DATA_UID, size=2, attached=("web",)))
    (ensure,) = await pass_(agent)
    assert isinstance(ensure, Ensure) and ensure.disks[0].startswith("grow")
    assert driver.guests[UID].volumes == (ROOT, DATA2)
    assert await pass_(agent) == []

    # Detach: removed from spec.volumes (the storage operator ends the attachment later).
    update(server(), volume("data", DATA_UID, size=2, attached=("web",)))
    (ensure,) = await pass_(agent)
    assert isinstance(ensure, Ensure) and ensure.disks == (f"detach {DATA1.serial}",)
    assert driver.guests[UID].volumes == (ROOT,)
    assert await pass_(agent) == []
    assert not agent.retry and driver.guests[UID].phase == GuestPhase.RUNNING


class IgnoringDriver(SimDriver):
    """A driver that returns without applying the disks (a bug, or a change it cannot make)."""

    async def ensure_guest(self, spec: GuestSpec) -> GuestState:
        return await super().ensure_guest(replace(spec, volumes=None))


async def test_disks_not_applied_are_a_failure_backed_off_not_a_loop() -> None:
    driver = IgnoringDriver((8, 8192, 100), boot_delay=0)
    await SimDriver.ensure_guest(driver, GuestSpec(UID, "demo/web", TINY, True, volumes=(ROOT,)))
    data = volume("data", DATA_UID, attached=("web",))
    kube = FakeKube(server("data"))
    agent = make_agent(kube, driver, [volume("web-root", ROOT_UID), data])
    actions = await pass_(agent)
    assert [type(a) for a in actions] == [Ensure]
    cond = find(kube.server["status"]["conditions"], "Running")
    assert cond is not None and (cond["status"], cond["reason"]) == ("False", "GuestFailed")
    assert "DisksNotApplied" in cond["message"] and f"attach {DATA1.serial}" in cond["message"]
    assert UID in agent.retry
    assert await pass_(agent) == []  # backing off: not asked again at once


# -- the Volume watch -----------------------------------------------------------------------------------


class WatchKube:
    """list + watch of Volumes per namespace: events are pushed by the test."""

    def __init__(self) -> None:
        self.objs: dict[str, list[dict[str, Any]]] = {}
        self.queues: dict[str, asyncio.Queue[tuple[str, dict[str, Any]]]] = {}
        self.watching: set[str] = set()

    async def list(self, path: str, label_selector: str = "") -> tuple[list[dict[str, Any]], str]:
        return list(self.objs.get(path, [])), "1"

    async def watch(
        self, path: str, resource_version: str, label_selector: str = ""
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        queue = self.queues.setdefault(path, asyncio.Queue())
        self.watching.add(path)
        try:
            while True:
                yield await queue.get()
        finally:
            self.watching.discard(path)


async def test_volume_cache_watches_the_servers_namespaces_and_wakes_for_their_volumes() -> None:
    kube = WatchKube()
    demo = f"{STORAGE}"
    kube.objs[demo] = [volume("web-root", ROOT_UID), volume("unrelated", str(uuid.uuid4()))]
    wakes: list[int] = []
    cache = VolumeCache(kube, lambda: wakes.append(1))  # type: ignore[arg-type]
    cache.track({"demo": {"web-root", "data"}})
    assert cache.by_name("demo") is None  # not listed yet
    runner = asyncio.create_task(cache.run())
    try:
        for _ in range(100):
            if demo in kube.watching:
                break
            await asyncio.sleep(0.01)
        listed = cache.by_name("demo")
        assert listed is not None and set(listed) == {"web-root", "unrelated"}
        assert len(wakes) == 1  # the list

        queue = kube.queues[demo]
        await queue.put(("MODIFIED", volume("unrelated", str(uuid.uuid4()), size=9)))
        await queue.put(("ADDED", volume("data", DATA_UID, attached=("web",))))
        for _ in range(100):
            if "data" in (cache.by_name("demo") or {}):
                break
            await asyncio.sleep(0.01)
        assert len(wakes) == 2  # for `data` only: nobody here uses `unrelated`

        # Another namespace appears, the first goes: its watch stops.
        other = "/apis/storage.kumulus.dev/v1alpha1/namespaces/other/volumes"
        cache.track({"other": {"x"}})
        for _ in range(100):
            if other in kube.watching and demo not in kube.watching:
                break
            await asyncio.sleep(0.01)
        assert kube.watching == {other} and set(cache.informers) == {"other"}
        assert cache.by_name("demo") is None
    finally:
        runner.cancel()
        with pytest.raises(asyncio.CancelledError):
            await runner
    assert kube.watching == set()

"""The Server scheduler: filters and their counts, weighers, the candidate cap, the index, allocations."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from controllers.api.compute import ServerGroupPolicy
from controllers.scheduling import (
    AggregateInfo,
    Allocation,
    Decision,
    DoesNotFit,
    FilterCount,
    GroupInfo,
    HostIndex,
    HostInfo,
    HostSnapshot,
    HostUsage,
    Placement,
    Resources,
    SchedulerConfig,
    ScheduleRequest,
    Strategy,
    ZoneInfo,
    apply_allocation,
    fits,
    free,
    release_allocation,
    schedule,
    total,
)

ROOT = Path(__file__).resolve().parents[2]
SITES = {"az1": "dc1", "az2": "dc2", "az3": "dc3"}
ZONE_OBJECTS = [
    *(
        {"metadata": {"name": z}, "spec": {"type": "Physical", "sites": [s]}}
        for z, s in sorted(SITES.items())
    ),
    {"metadata": {"name": "sz1"}, "spec": {"type": "Stretched", "sites": ["dc1", "dc2", "dc3"]}},
]
ZONES = [ZoneInfo.from_zone(z) for z in ZONE_OBJECTS]
GiB = 1024


def host_obj(
    name: str,
    zone: str = "az1",
    *,
    site: str | None = None,
    vcpus: int = 16,
    ram: int = 64 * GiB,
    disk: int = 0,
    reserved: Mapping[str, int] | None = None,
    overcommit: Mapping[str, float] | None = None,
    roles: Iterable[str] = ("Compute",),
    traits: Iterable[str] = (),
    labels: Mapping[str, str] | None = None,
    ready: bool = True,
    maintenance: bool = False,
    fenced: bool = False,
) -> dict[str, Any]:
    """A Host object as hostd writes it; reserved defaults to nothing, so capacity = allocatable."""
    return {
        "metadata": {"name": name, "labels": dict(labels or {})},
        "spec": {
            "zone": zone,
            "site": site or SITES.get(zone, "dc1"),
            "roles": list(roles),
            "capacity": {"vcpus": vcpus, "ramMiB": ram, "diskGiB": disk},
            "reserved": dict(reserved or {"vcpus": 0, "ramMiB": 0, "diskGiB": 0}),
            "overcommit": dict(overcommit or {"cpuRatio": 1.0, "ramRatio": 1.0, "diskRatio": 1.0}),
            "traits": list(traits),
            "maintenance": maintenance,
        },
        "status": {
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "fenced": fenced,
        },
    }


def host(name: str, zone: str = "az1", **kw: Any) -> HostInfo:
    return HostInfo.from_host(host_obj(name, zone, **kw))


def aggregate(
    name: str, metadata: Mapping[str, str], match_labels: Mapping[str, str], zone: str | None = None
) -> AggregateInfo:
    spec: dict[str, Any] = {"hostSelector": {"matchLabels": dict(match_labels)}, "metadata": dict(metadata)}
    if zone:
        spec["zone"] = zone
    return AggregateInfo.from_aggregate({"metadata": {"name": name}, "spec": spec})


def index(
    hosts: Iterable[HostInfo],
    aggregates: Iterable[AggregateInfo] = (),
    allocations: Iterable[Allocation] = (),
) -> HostIndex:
    return HostIndex(hosts, zones=ZONES, aggregates=aggregates, allocations=allocations)


def req(
    consumer: str = "default/vm",
    *,
    vcpus: int = 1,
    ram: int = 1 * GiB,
    disk: int = 0,
    zone: str | None = None,
    traits: Iterable[str] = (),
    metadata: Mapping[str, str] | None = None,
    group: GroupInfo | None = None,
    exclude: Iterable[str] = (),
) -> ScheduleRequest:
    return ScheduleRequest(
        consumer,
        Resources(vcpus, ram, disk),
        zone=zone,
        required_traits=frozenset(traits),
        aggregate_metadata=frozenset((metadata or {}).items()),
        group=group,
        exclude_hosts=frozenset(exclude),
    )


def removed(decision: Decision) -> list[tuple[str, str, int]]:
    return [(c.filter, c.reason, c.removed) for c in decision.removed]


def place(idx: HostIndex, request: ScheduleRequest, config: SchedulerConfig | None = None) -> str:
    """Schedule, record the allocation in flight, and return the host chosen."""
    decision = schedule(request, idx, config or SchedulerConfig())
    assert decision.placement is not None, decision.message
    idx.add_allocation(decision.placement.allocation)
    return decision.placement.host


def where(idx: HostIndex, name: str) -> tuple[str, str]:
    info = idx.host(name)
    assert info is not None
    return info.zone, info.site


def chosen(decision: Decision) -> str:
    assert decision.placement is not None, decision.message
    return decision.placement.host


def examples(relative: str) -> dict[str, dict[str, Any]]:
    docs = yaml.safe_load_all((ROOT / "examples" / relative).read_text())
    return {d["metadata"]["name"]: d for d in docs if isinstance(d, dict)}


# -- converters -----------------------------------------------------------------------------------------


def test_converters_read_the_example_objects() -> None:
    hosts = examples("infrastructure/hosts.yaml")
    cmp = HostInfo.from_host(hosts["cmp-dc1-01"])
    # (64 - 4) x 4 vCPUs, (512 GiB - 16 GiB) x 1 RAM, (1800 - 100) x 1 GiB disk.
    assert cmp.allocatable == Resources(240, 507904, 1700)
    assert (cmp.zone, cmp.site, cmp.compute) == ("az1", "dc1", True)
    assert cmp.traits == {"HW_CPU_X86_AVX2", "STORAGE_DISK_SSD"}
    assert dict(cmp.labels) == {"kumulus.dev/ssd": "true"}
    assert not cmp.ready  # no status yet: a Host that never reported takes no Servers
    gpu = HostInfo.from_host(hosts["gpu-dc2-01"])
    assert gpu.allocatable.vcpus == 138  # (96 - 4) x 1.5

    zones = {n: ZoneInfo.from_zone(z) for n, z in examples("infrastructure/zones.yaml").items()}
    assert zones["sz1"] == ZoneInfo("sz1", True, ("dc1", "dc2", "dc3"))
    assert not zones["az2"].stretched

    aggs = {n: AggregateInfo.from_aggregate(a) for n, a in examples("infrastructure/aggregates.yaml").items()}
    assert aggs["gpu"].selects(gpu) and not aggs["gpu"].selects(cmp)
    assert aggs["ssd-az1"].selects(cmp)
    retiring = HostInfo.from_host(
        {
            **hosts["cmp-dc1-01"],
            "metadata": {"name": "x", "labels": {"kumulus.dev/ssd": "true", "kumulus.dev/retiring": "y"}},
        }
    )
    assert not aggs["ssd-az1"].selects(retiring)  # DoesNotExist
    assert not aggs["ssd-az1"].selects(
        HostInfo.from_host(
            {**hosts["gpu-dc2-01"], "metadata": {"name": "y", "labels": {"kumulus.dev/ssd": "true"}}}
        )
    )  # zone


def test_request_from_server_and_flavor() -> None:
    flavors = examples("launch-an-instance/flavors.yaml")
    server = {
        "metadata": {"name": "gpu-1", "namespace": "ml"},
        "spec": {
            "flavor": "g1.large",
            "image": "debian-12",
            "zone": "az2",
            "requiredTraits": ["HW_CPU_X86_AVX2"],
        },
    }
    request = ScheduleRequest.from_server(server, flavors["g1.large"], exclude_hosts=["h9"])
    assert request.consumer == "ml/gpu-1"
    # The 100 GiB root disk is a Ceph volume: only ephemeral disk is taken from the Host.
    assert request.resources == Resources(8, 32768, 0)
    assert request.zone == "az2"
    assert request.required_traits == {"CUSTOM_GPU", "HW_CPU_X86_AVX2"}
    assert request.aggregate_metadata == {("gpu", "true")}
    assert request.exclude_hosts == {"h9"}
    eph = {"metadata": {"name": "e"}, "spec": {"vcpus": 2, "ramMiB": 4096, "ephemeralGiB": 40}}
    assert ScheduleRequest.from_server(server, eph).resources == Resources(2, 4096, 40)


def test_group_from_server_group_leaves_out_the_server_itself() -> None:
    obj = {"metadata": {"name": "db"}, "spec": {"policy": "AntiAffinity", "maxServersPerHost": 2}}
    group = GroupInfo.from_server_group(
        obj, {"db-1": "h1", "db-2": None, "db-3": "h1", "db-4": "h2"}, exclude="db-4"
    )
    assert group == GroupInfo("db", ServerGroupPolicy.ANTI_AFFINITY, ("h1", "h1"), 2)
    assert group.hard and group.anti


def test_the_examples_place_a_gpu_server_on_the_gpu_host() -> None:
    hosts = [
        HostInfo.from_host({**h, "status": {"conditions": [{"type": "Ready", "status": "True"}]}})
        for h in examples("infrastructure/hosts.yaml").values()
    ]
    idx = HostIndex(
        hosts,
        zones=[ZoneInfo.from_zone(z) for z in examples("infrastructure/zones.yaml").values()],
        aggregates=[
            AggregateInfo.from_aggregate(a) for a in examples("infrastructure/aggregates.yaml").values()
        ],
    )
    flavors = examples("launch-an-instance/flavors.yaml")
    server = {"metadata": {"name": "g", "namespace": "default"}, "spec": {"flavor": "g1.large", "image": "i"}}
    decision = schedule(ScheduleRequest.from_server(server, flavors["g1.large"]), idx)
    assert decision.placement is not None and decision.placement.host == "gpu-dc2-01", decision.message
    assert decision.placement.zone == "az2"
    assert (
        decision.message
        == "1/2 hosts fit: 1 missing trait CUSTOM_GPU; placed on gpu-dc2-01 in zone az2 (best of 1 weighed)"
    )
    assert idx.aggregate_hosts("gpu") == ["gpu-dc2-01"]
    assert idx.aggregate_hosts("ssd-az1") == ["cmp-dc1-01"]


# -- each filter removes and counts ------------------------------------------------------------------------


def test_zone_filter() -> None:
    idx = index([host("a1", "az1"), host("a2", "az1"), host("b1", "az2"), host("s1", "sz1", site="dc2")])
    decision = schedule(req(zone="az1"), idx)
    assert removed(decision) == [("zone", "not in zone az1", 2)]
    assert decision.fit == 2 and decision.placement is not None and decision.placement.zone == "az1"
    # No zone: any zone's Hosts, the stretched zone's included.
    assert schedule(req(), idx).fit == 4
    # A zone that does not exist removes everything and says so.
    unknown = schedule(req(zone="az9"), idx)
    assert not unknown.ok
    assert unknown.message == "0/4 hosts fit: 4 not in zone az9 (no such zone)"
    # default_zone applies to zoneless Servers only.
    config = SchedulerConfig(default_zone="az2")
    assert schedule(req(), idx, config).fit == 1
    assert schedule(req(zone="az1"), idx, config).fit == 2


def test_hosts_of_a_zone_that_does_not_exist_take_no_servers() -> None:
    idx = HostIndex([host("a1", "az1"), host("typo", "az4", site="dc1")], zones=ZONES[:1])
    decision = schedule(req(), idx)
    assert removed(decision) == [("zone", "in a zone that does not exist", 1)]
    assert chosen(decision) == "a1"
    idx.upsert_zone(ZoneInfo("az4", False, ("dc1",)))
    assert schedule(req(), idx).fit == 2
    idx.remove_zone("az4")
    assert schedule(req(), idx).fit == 1


def test_data_plane_not_ready_makes_the_host_not_ready() -> None:
    obj = host_obj("h")
    obj["status"]["dataPlane"] = {"libvirt": "Ready", "ovn": "Unknown", "ceph": "Ready"}
    assert HostInfo.from_host(obj).ready
    obj["status"]["dataPlane"]["ceph"] = "NotReady"
    assert not HostInfo.from_host(obj).ready


def test_role_and_health_filters_count_each_host_once() -> None:
    idx = index(
        [
            host("ok"),
            host("net", roles=["Network"]),
            host("storage-down", roles=["Storage"], ready=False),  # counted as not Compute
            host("fenced", ready=False, fenced=True, maintenance=True),  # counted as fenced
            host("down", ready=False, maintenance=True),  # counted as not ready
            host("cordoned", maintenance=True),
        ]
    )
    decision = schedule(req(), idx)
    assert removed(decision) == [
        ("role", "without the Compute role", 2),
        ("health", "fenced", 1),
        ("health", "not ready", 1),
        ("health", "in maintenance", 1),
    ]
    assert decision.placement is not None and decision.placement.host == "ok"


def test_excluded_hosts_filter() -> None:
    idx = index([host("h1"), host("h2"), host("h3", maintenance=True)])
    decision = schedule(req(exclude=["h1", "h3", "gone"]), idx)
    # h3 was already removed as in maintenance; unknown names count for nothing.
    assert removed(decision) == [
        ("health", "in maintenance", 1),
        ("excluded", "excluded (refused the Server before)", 1),
    ]
    assert decision.placement is not None and decision.placement.host == "h2"


def test_resource_filter_counts_the_first_resource_short() -> None:
    idx = index(
        [
            host("fits", vcpus=8, ram=16 * GiB, disk=100),
            host("few-cpus", vcpus=2, ram=4 * GiB, disk=0),  # short of vCPUs and RAM and disk: counted once
            host("little-ram", vcpus=8, ram=4 * GiB, disk=100),
            host("no-disk", vcpus=8, ram=16 * GiB, disk=0),
        ]
    )
    decision = schedule(req(vcpus=4, ram=8 * GiB, disk=50), idx)
    assert removed(decision) == [
        ("resources", "insufficient vCPUs", 1),
        ("resources", "insufficient RAM", 1),
        ("resources", "insufficient disk", 1),
    ]
    assert decision.placement is not None and decision.placement.host == "fits"
    # Without ephemeral disk, disk is not a host resource: no-disk fits.
    assert schedule(req(vcpus=4, ram=8 * GiB), idx).fit == 2


def test_allocations_are_counted_by_the_resource_filter() -> None:
    idx = index(
        [host("h1", vcpus=4, ram=8 * GiB)],
        allocations=[Allocation("default/old", "h1", Resources(2, 6 * GiB))],
    )
    assert removed(schedule(req(vcpus=2, ram=4 * GiB), idx)) == [("resources", "insufficient RAM", 1)]
    assert schedule(req(vcpus=2, ram=2 * GiB), idx).ok
    assert not schedule(req(vcpus=3, ram=2 * GiB), idx).ok


def test_traits_filter_counts_per_missing_trait() -> None:
    idx = index(
        [
            host("gpu-avx", traits=["CUSTOM_GPU", "HW_CPU_X86_AVX2"]),
            host("gpu", traits=["CUSTOM_GPU"]),
            host("avx", traits=["HW_CPU_X86_AVX2"]),
            host("plain"),
        ]
    )
    decision = schedule(req(traits=["HW_CPU_X86_AVX2", "CUSTOM_GPU"]), idx)
    assert removed(decision) == [
        ("traits", "missing trait CUSTOM_GPU", 2),
        ("traits", "missing trait HW_CPU_X86_AVX2", 1),
    ]
    assert decision.placement is not None and decision.placement.host == "gpu-avx"
    assert (
        schedule(req(traits=["CUSTOM_NOWHERE"]), idx).message
        == "0/4 hosts fit: 4 missing trait CUSTOM_NOWHERE"
    )


def test_aggregate_metadata_must_be_carried_by_one_aggregate() -> None:
    hosts = [
        host("gpu-ssd", labels={"gpu": "1", "ssd": "1"}),
        host("gpu", labels={"gpu": "1"}),
        host("ssd", labels={"ssd": "1"}),
        host("ssd-az2", "az2", labels={"ssd": "1"}),
    ]
    aggs = [
        aggregate("gpu", {"gpu": "true"}, {"gpu": "1"}),
        aggregate("ssd-az1", {"ssd": "true"}, {"ssd": "1"}, zone="az1"),
        aggregate("fast", {"gpu": "true", "ssd": "true", "tier": "gold"}, {"gpu": "1", "ssd": "1"}),
    ]
    idx = index(hosts, aggs)
    decision = schedule(req(metadata={"ssd": "true"}), idx)
    assert removed(decision) == [("aggregates", "not in an aggregate with ssd=true", 2)]
    assert decision.fit == 2  # gpu-ssd (in ssd-az1 and fast) and ssd; ssd-az2 is outside ssd-az1's zone
    both = schedule(req(metadata={"gpu": "true", "ssd": "true"}), idx)
    assert both.fit == 1 and both.placement is not None and both.placement.host == "gpu-ssd"
    # gpu's {gpu} and ssd-az1's {ssd} together do not make one aggregate carrying both: only "fast" does.
    assert removed(both) == [("aggregates", "not in an aggregate with gpu=true,ssd=true", 3)]
    assert schedule(req(metadata={"gpu": "false"}), idx).fit == 0


def test_hard_affinity_follows_the_members() -> None:
    idx = index([host("h1", ram=128 * GiB), host("h2"), host("h3")])
    first = GroupInfo("web", ServerGroupPolicy.AFFINITY)
    assert schedule(req(group=first), idx).fit == 3  # no members yet: anywhere
    group = GroupInfo("web", ServerGroupPolicy.AFFINITY, ("h2",))
    decision = schedule(req(group=group), idx)
    assert decision.placement is not None and decision.placement.host == "h2"
    assert removed(decision) == [("group", "not running the members of server group web", 2)]
    # The members' host full: unschedulable, not placed elsewhere.
    full = schedule(req(ram=100 * GiB, group=group), idx)
    assert full.message == "0/3 hosts fit: 2 insufficient RAM, 1 not running the members of server group web"


def test_hard_anti_affinity_avoids_member_hosts_up_to_max_per_host() -> None:
    idx = index([host("h1", ram=128 * GiB), host("h2", ram=96 * GiB), host("h3")])
    group = GroupInfo("db", ServerGroupPolicy.ANTI_AFFINITY, ("h1", "h2"))
    decision = schedule(req(group=group), idx)
    assert decision.placement is not None and decision.placement.host == "h3"
    assert removed(decision) == [("group", "already running a member of server group db", 2)]
    two = GroupInfo("db", ServerGroupPolicy.ANTI_AFFINITY, ("h1", "h1", "h2"), max_per_host=2)
    decision = schedule(req(group=two), idx)
    assert removed(decision) == [("group", "already running 2 members of server group db", 1)]
    assert decision.placement is not None and decision.placement.host == "h2"
    everywhere = GroupInfo("db", ServerGroupPolicy.ANTI_AFFINITY, ("h1", "h2", "h3"))
    assert (
        schedule(req(group=everywhere), idx).message
        == "0/3 hosts fit: 3 already running a member of server group db"
    )


# -- the message ------------------------------------------------------------------------------------------


def test_unschedulable_message_counts_every_filter_in_order() -> None:
    hosts = [host(f"b{i:02}", "az2") for i in range(12)]
    hosts += [host(f"down{i}", ready=False) for i in range(3)]
    hosts += [host(f"maint{i}", maintenance=True) for i in range(2)]
    hosts += [host(f"small{i:02}", ram=8 * GiB, traits=["CUSTOM_GPU"]) for i in range(20)]
    hosts += [host(f"cpu{i}", ram=64 * GiB) for i in range(3)]
    decision = schedule(req(zone="az1", ram=16 * GiB, traits=["CUSTOM_GPU"]), index(hosts))
    assert not decision.ok and decision.placement is None
    assert decision.message == (
        "0/40 hosts fit: 12 not in zone az1, 3 not ready, 2 in maintenance, 20 insufficient RAM, "
        "3 missing trait CUSTOM_GPU"
    )
    assert str(decision.removed[0]) == "12 not in zone az1"
    assert decision.removed[-1] == FilterCount("traits", "missing trait CUSTOM_GPU", 3)


def test_message_with_no_hosts_and_on_success() -> None:
    assert schedule(req(), index([])).message == "0/0 hosts fit: no Hosts registered"
    decision = schedule(req(), index([host("h1"), host("h2", maintenance=True)]))
    assert decision.message == "1/2 hosts fit: 1 in maintenance; placed on h1 in zone az1 (best of 1 weighed)"


# -- overcommit and allocations ------------------------------------------------------------------------------


def test_overcommit_arithmetic() -> None:
    h = host(
        "h",
        vcpus=16,
        ram=32 * GiB,
        disk=100,
        reserved={"vcpus": 2, "ramMiB": 512, "diskGiB": 10},
        overcommit={"cpuRatio": 4.0, "ramRatio": 1.5, "diskRatio": 1.0},
    )
    # (16 - 2) x 4 = 56; (32768 - 512) x 1.5 = 48384; (100 - 10) x 1 = 90
    assert h.allocatable == Resources(56, 48384, 90)
    used = Resources(50, 40000, 80)
    assert free(h, used) == Resources(6, 8384, 10)
    assert fits(h, used, Resources(6, 8384, 10))
    assert not fits(h, used, Resources(7, 1, 0))
    assert not fits(h, used, Resources(1, 8385, 0))
    assert not fits(h, used, Resources(1, 1, 11))
    # Floors, and does not lose a unit to float rounding: 60 x 1.1 = 66 (66.00000000000001 or 65.999...).
    assert (
        host("f", vcpus=60, overcommit={"cpuRatio": 1.1, "ramRatio": 1.0, "diskRatio": 1.0}).allocatable.vcpus
        == 66
    )
    assert (
        host("g", vcpus=3, overcommit={"cpuRatio": 1.5, "ramRatio": 1.0, "diskRatio": 1.0}).allocatable.vcpus
        == 4
    )
    # The index computes the same.
    idx = index([h], allocations=[Allocation("ns/a", "h", used)])
    assert idx.free("h") == Resources(6, 8384, 10)
    assert schedule(req(vcpus=6, ram=8384, disk=10), idx).ok
    assert removed(schedule(req(vcpus=7, ram=1024), idx)) == [("resources", "insufficient vCPUs", 1)]


def test_an_overcommitted_host_still_takes_a_request_for_no_disk() -> None:
    h = host("h", disk=10)
    idx = index([h], allocations=[Allocation("ns/a", "h", Resources(1, 1024, 10))])
    # An admin lowered the disk ratio: free disk is now negative, which only matters to disk requests.
    idx.upsert_host(host("h", disk=10, overcommit={"cpuRatio": 1.0, "ramRatio": 1.0, "diskRatio": 0.5}))
    assert idx.free("h").disk_gib == -5
    assert schedule(req(), idx).ok
    assert not schedule(req(disk=1), idx).ok


def test_fits_refuses_the_last_slot_twice() -> None:
    h = host("h", vcpus=4, ram=8 * GiB)
    snapshot = HostUsage.from_host(
        {"status": {"allocated": {"vcpus": 2, "ramMiB": 4096, "diskGiB": 0, "servers": 1}}}
    )
    request = Resources(2, 4 * GiB)
    # Two schedulers see the same snapshot: the request fits for both...
    assert fits(h, snapshot, request) and fits(h, snapshot.resources, request)
    # ...the first commits; re-checked against the totals that include it, the second no longer fits.
    after_first = apply_allocation(h, snapshot, request)
    assert after_first == HostUsage(Resources(4, 8 * GiB, 0), 2)
    assert after_first.to_status() == {"vcpus": 4, "ramMiB": 8192, "diskGiB": 0, "servers": 2}
    assert not fits(h, after_first, request)
    with pytest.raises(
        DoesNotFit,
        match=r"host h has no room: vCPUs: 2 requested, 0 free; RAM: 4096 MiB requested, 0 MiB free",
    ):
        apply_allocation(h, after_first, request)
    assert release_allocation(after_first, request) == snapshot
    assert release_allocation(HostUsage(), request) == HostUsage()
    assert total([Allocation("a", "h", request), Allocation("b", "h", request)]) == after_first


def test_in_flight_allocations_steer_the_next_decision() -> None:
    idx = index([host("h1", vcpus=4, ram=8 * GiB), host("h2", vcpus=4, ram=8 * GiB)])
    request = req("ns/a", vcpus=4, ram=8 * GiB)
    first = place(idx, request)
    second = place(idx, req("ns/b", vcpus=4, ram=8 * GiB))
    assert {first, second} == {"h1", "h2"}
    third = schedule(req("ns/c", vcpus=4, ram=8 * GiB), idx)
    assert third.message == "0/2 hosts fit: 2 insufficient vCPUs"
    # Re-placing a consumer replaces its allocation rather than adding a second one.
    idx.add_allocation(Allocation("ns/a", first, Resources(1, 1024)))
    assert idx.usage(first) == HostUsage(Resources(1, 1024, 0), 1)


def test_placement_verify() -> None:
    h = host("h", vcpus=4, ram=8 * GiB)
    placement = Placement("ns/vm", "h", "az1", "dc1", Resources(2, 4 * GiB))
    assert placement.allocation == Allocation("ns/vm", "h", Resources(2, 4 * GiB))
    other = Allocation("ns/other", "h", Resources(2, 4 * GiB))
    assert placement.verify(HostSnapshot(h, (other,))) is None
    # Its own allocation, already recorded, is not counted twice.
    assert placement.verify(HostSnapshot(h, (other, placement.allocation))) is None
    crowded = (other, Allocation("ns/late", "h", Resources(1, 1 * GiB)))
    assert placement.verify(HostSnapshot(h, crowded)) == (
        "host h has no room: vCPUs: 2 requested, 1 free; RAM: 4096 MiB requested, 3072 MiB free"
    )
    assert placement.verify(HostSnapshot(host("x"))) == "placed on host h, not on x"
    assert placement.verify(HostSnapshot(host("h", "az2"))) == "placed in zone az1, but host h is in zone az2"
    assert placement.verify(HostSnapshot(host("h", maintenance=True))) == (
        "host h cannot take new Servers: it is in maintenance"
    )
    assert (
        placement.verify(HostSnapshot(host("h", fenced=True)))
        == "host h cannot take new Servers: it is fenced"
    )


# -- stretched zone ------------------------------------------------------------------------------------------


def test_stretched_zone_hosts_span_sites() -> None:
    hosts = [host("a1", "az1", ram=256 * GiB)] + [
        host(f"s-{s}", "sz1", site=s) for s in ("dc1", "dc2", "dc3")
    ]
    idx = index(hosts)
    decision = schedule(req(zone="sz1"), idx)
    assert decision.fit == 3 and removed(decision) == [("zone", "not in zone sz1", 1)]
    assert decision.placement is not None and decision.placement.zone == "sz1"
    assert decision.placement.host.startswith("s-")
    # A site's physical zone does not include the stretched zone's Hosts at that site.
    assert schedule(req(zone="az1"), idx).fit == 1


def test_anti_affinity_in_the_stretched_zone_spreads_over_sites() -> None:
    hosts = [
        host(f"s-{s}-{n}", "sz1", site=s, ram=(256 if s == "dc1" else 64) * GiB)
        for s in ("dc1", "dc2", "dc3")
        for n in (1, 2)
    ]
    idx = index(hosts)
    members: list[str] = []
    for k in range(3):
        group = GroupInfo("db", ServerGroupPolicy.ANTI_AFFINITY, tuple(members))
        members.append(place(idx, req(f"ns/db-{k}", zone="sz1", group=group)))
    assert sorted(where(idx, h)[1] for h in members) == ["dc1", "dc2", "dc3"]


# -- soft policies and spreading over zones ------------------------------------------------------------------


def test_soft_affinity_prefers_the_members_host_but_does_not_require_it() -> None:
    idx = index([host("big", ram=256 * GiB, vcpus=64), host("member", ram=16 * GiB)])
    group = GroupInfo("web", ServerGroupPolicy.SOFT_AFFINITY, ("member",))
    decision = schedule(req(group=group), idx)
    assert decision.placement is not None and decision.placement.host == "member"
    assert not decision.removed
    # When the members' host is full, it goes elsewhere rather than failing.
    decision = schedule(req(ram=32 * GiB, group=group), idx)
    assert decision.placement is not None and decision.placement.host == "big"


def test_soft_anti_affinity_prefers_hosts_without_members() -> None:
    idx = index([host("member", ram=256 * GiB, vcpus=64), host("small", ram=16 * GiB)])
    group = GroupInfo("web", ServerGroupPolicy.SOFT_ANTI_AFFINITY, ("member",))
    decision = schedule(req(group=group), idx)
    assert decision.placement is not None and decision.placement.host == "small"
    # Every host has members: still placed (best effort), on the one with fewer.
    crowded = GroupInfo("web", ServerGroupPolicy.SOFT_ANTI_AFFINITY, ("member", "member", "small"))
    decision = schedule(req(group=crowded), idx)
    assert decision.placement is not None and decision.placement.host == "small"


@pytest.mark.parametrize("policy", [ServerGroupPolicy.ANTI_AFFINITY, ServerGroupPolicy.SOFT_ANTI_AFFINITY])
def test_anti_affinity_groups_without_zone_spread_over_hosts_and_zones(policy: ServerGroupPolicy) -> None:
    # az1 has far more free RAM: without the group, every Server would go there.
    hosts = [host(f"a{n}", "az1", ram=512 * GiB, vcpus=64) for n in range(4)]
    hosts += [host(f"b{n}", "az2") for n in range(2)] + [host(f"c{n}", "az3") for n in range(2)]
    idx = index(hosts)
    assert {place(idx, req(f"ns/plain-{k}")) for k in range(3)} <= {"a0", "a1", "a2", "a3"}
    members: list[str] = []
    for k in range(6):
        group = GroupInfo("db", policy, tuple(members))
        members.append(place(idx, req(f"ns/db-{k}", group=group)))
    assert len(set(members)) == 6  # different hosts
    zones = [where(idx, h)[0] for h in members]
    assert sorted(zones[:3]) == ["az1", "az2", "az3"]  # the first three in three zones
    assert sorted(zones[3:]) == ["az1", "az2", "az3"]  # then round again


def test_zone_spreading_does_not_apply_to_affinity_groups() -> None:
    idx = index([host("a", "az1"), host("b", "az2", ram=128 * GiB)])
    group = GroupInfo("g", ServerGroupPolicy.SOFT_AFFINITY, ("a",))
    decision = schedule(req(group=group), idx)
    assert decision.placement is not None and decision.placement.host == "a"


# -- spread, pack, determinism, the cap -------------------------------------------------------------------------


def test_spread_and_pack() -> None:
    idx = index(
        [host("empty", ram=64 * GiB, vcpus=32), host("half", ram=64 * GiB, vcpus=32)],
        allocations=[Allocation("ns/x", "half", Resources(16, 32 * GiB))],
    )
    spread = schedule(req(), idx)
    assert spread.placement is not None and spread.placement.host == "empty"
    assert spread.ranking == (("empty", 2.0), ("half", 0.0))
    pack = schedule(req(), idx, SchedulerConfig(strategy=Strategy.PACK))
    assert pack.placement is not None and pack.placement.host == "half"
    # Pack fills one host before using the next; spread alternates.
    idx = index([host(f"h{n}", vcpus=4, ram=4 * GiB) for n in range(3)])
    packed = [place(idx, req(f"ns/p{k}"), SchedulerConfig(strategy=Strategy.PACK)) for k in range(6)]
    assert packed == ["h0"] * 4 + ["h1"] * 2
    idx = index([host(f"h{n}", vcpus=4, ram=4 * GiB) for n in range(3)])
    assert [place(idx, req(f"ns/s{k}")) for k in range(6)] == ["h0", "h1", "h2", "h0", "h1", "h2"]


def test_ties_go_to_the_first_host_name_whatever_the_index_order() -> None:
    names = ["cmp-c", "cmp-a", "cmp-d", "cmp-b"]
    decisions = set()
    for order in (names, sorted(names), sorted(names, reverse=True)):
        idx = index([host(n) for n in order])
        for _ in range(3):
            decision = schedule(req(), idx)
            assert decision.placement is not None
            decisions.add((decision.placement.host, decision.ranking))
    ranking = (("cmp-a", 0.0), ("cmp-b", 0.0), ("cmp-c", 0.0), ("cmp-d", 0.0))
    assert decisions == {("cmp-a", ranking)}


def test_candidate_cap_samples_deterministically() -> None:
    hosts = [host(f"h{n:03}", ram=64 * GiB) for n in range(200)]
    config = SchedulerConfig(max_candidates=10)
    idx = index(hosts)
    decision = schedule(req("ns/a"), idx, config)
    assert (decision.fit, decision.weighed) == (200, 10)
    # The same request on an index built in another order samples the same hosts.
    again = schedule(req("ns/a"), index(reversed(hosts)), config)
    assert again.placement == decision.placement and again.ranking == decision.ranking
    # Other consumers sample other hosts, so equal Servers do not all pile onto one.
    assert len({chosen(schedule(req(f"ns/vm-{k}"), idx, config)) for k in range(20)}) >= 10
    # The sample is taken from the hosts that fit only.
    idx.upsert_host(host("h007", ram=64 * GiB, maintenance=True))
    assert all(chosen(schedule(req(f"ns/vm-{k}"), idx, config)) != "h007" for k in range(50))


def test_candidate_cap_keeps_the_soft_affinity_hosts() -> None:
    hosts = [host(f"h{n:03}", ram=64 * GiB) for n in range(200)]
    idx = index(hosts, allocations=[Allocation("ns/m", "h123", Resources(8, 32 * GiB))])
    group = GroupInfo("g", ServerGroupPolicy.SOFT_AFFINITY, ("h123",))
    for k in range(10):
        decision = schedule(req(f"ns/vm-{k}", group=group), idx, SchedulerConfig(max_candidates=5))
        assert decision.placement is not None and decision.placement.host == "h123"
        assert decision.weighed == 5


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="max_candidates"):
        SchedulerConfig(max_candidates=0)
    with pytest.raises(ValueError, match="Pack"):
        SchedulerConfig(ram_weight=-1)


# -- the index, updated incrementally --------------------------------------------------------------------------


def test_index_host_updates() -> None:
    idx = index([host("h1"), host("h2", "az2")])
    assert len(idx) == 2 and "h1" in idx
    assert not idx.upsert_host(host("h1"))  # unchanged (a heartbeat): nothing to do
    assert idx.upsert_host(host("h1", maintenance=True))
    assert removed(schedule(req(), idx)) == [("health", "in maintenance", 1)]
    assert idx.upsert_host(host("h1", traits=["CUSTOM_GPU"]))
    assert schedule(req(traits=["CUSTOM_GPU"]), idx).fit == 1
    idx.upsert_host(host("h1", traits=[]))
    assert schedule(req(traits=["CUSTOM_GPU"]), idx).fit == 0
    idx.remove_host("h2")
    idx.remove_host("nonexistent")
    assert len(idx) == 1 and schedule(req(zone="az2"), idx).message == "0/1 hosts fit: 1 not in zone az2"
    idx.upsert_host(host("h3", "az2"))  # reuses h2's slot
    decision = schedule(req(zone="az2"), idx)
    assert decision.placement is not None and decision.placement.host == "h3"
    assert sorted(h.name for h in idx.hosts()) == ["h1", "h3"]


def test_index_allocation_updates() -> None:
    # An allocation recorded before its Host is known counts once the Host registers.
    idx = index([], allocations=[Allocation("ns/a", "h1", Resources(4, 8 * GiB))])
    assert idx.usage("h1") == HostUsage(Resources(4, 8 * GiB, 0), 1)
    idx.upsert_host(host("h1", vcpus=8, ram=16 * GiB))
    assert idx.free("h1") == Resources(4, 8 * GiB, 0)
    idx.add_allocation(Allocation("ns/b", "h1", Resources(4, 8 * GiB)))
    assert idx.free("h1") == Resources(0, 0, 0)
    assert not schedule(req(), idx).ok
    assert idx.allocations_on("h1") == (idx.allocation("ns/a"), idx.allocation("ns/b"))
    assert idx.remove_allocation("ns/a") == Allocation("ns/a", "h1", Resources(4, 8 * GiB))
    assert idx.remove_allocation("ns/a") is None
    assert idx.free("h1") == Resources(4, 8 * GiB, 0)
    # A capacity change keeps the allocations.
    idx.upsert_host(host("h1", vcpus=16, ram=32 * GiB))
    assert idx.free("h1") == Resources(12, 24 * GiB, 0)
    idx.remove_allocation("ns/b")
    assert idx.usage("h1") == HostUsage() and idx.free("h1") == Resources(16, 32 * GiB, 0)


def test_index_aggregate_updates() -> None:
    idx = index(
        [host("h1", labels={"gpu": "1"}), host("h2")], [aggregate("gpu", {"gpu": "true"}, {"gpu": "1"})]
    )
    gpu = req(metadata={"gpu": "true"})
    assert idx.aggregate_hosts("gpu") == ["h1"]
    assert schedule(gpu, idx).fit == 1  # cached answer...
    idx.upsert_host(host("h2", labels={"gpu": "1"}))  # ...invalidated by a label change
    assert idx.aggregate_hosts("gpu") == ["h1", "h2"] and schedule(gpu, idx).fit == 2
    idx.remove_host("h1")
    assert idx.aggregate_hosts("gpu") == ["h2"] and schedule(gpu, idx).fit == 1
    idx.upsert_aggregate(aggregate("gpu", {"gpu": "true"}, {"gpu": "2"}))  # a new selector
    assert idx.aggregate_hosts("gpu") == [] and schedule(gpu, idx).fit == 0
    idx.upsert_aggregate(aggregate("any", {"gpu": "true"}, {}))  # {} selects every Host
    assert schedule(gpu, idx).fit == 1
    idx.remove_aggregate("any")
    assert schedule(gpu, idx).fit == 0
    idx.remove_zone("az1")
    assert schedule(req(zone="az1"), idx).message == "0/1 hosts fit: 1 not in zone az1 (no such zone)"

"""The quota operator's admission decisions against a fake cache: allowed, denied, reservations."""

from __future__ import annotations

import asyncio
from typing import Any

from operators.quota.admission import RESERVATION_SECONDS, Admission
from operators.quota.cache import Cache
from operators.quota.status import desired_status

NS = "team-a"


def obj(kind: str, name: str, spec: dict[str, Any] | None = None, rv: str = "1") -> dict[str, Any]:
    group = {"Router": "network", "Server": "compute", "Volume": "storage"}[kind]
    return {
        "apiVersion": f"{group}.kumulus.dev/v1alpha1",
        "kind": kind,
        "metadata": {"name": name, "namespace": NS, "uid": f"u-{name}", "resourceVersion": rv},
        "spec": spec or {},
    }


def quota(**limits: int) -> dict[str, Any]:
    return {"metadata": {"name": "q", "namespace": NS, "generation": 1}, "spec": {"limits": limits}}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def setup(**limits: int) -> tuple[Cache, Admission, Clock]:
    cache, clock = Cache(), Clock()
    if limits:
        cache.upsert("Quota", quota(**limits))
    cache.upsert(
        "Flavor", {"metadata": {"name": "m1.small", "uid": "f"}, "spec": {"vcpus": 2, "ramMiB": 1024}}
    )
    return cache, Admission(cache, clock), clock


def create(kind: str, o: dict[str, Any]) -> dict[str, Any]:
    return {"uid": "x", "kind": {"kind": kind}, "namespace": NS, "operation": "CREATE", "object": o}


def review(adm: Admission, request: dict[str, Any]) -> str | None:
    return asyncio.run(adm.review(request))


def test_default_quota_allows_one_router_then_denies() -> None:
    cache, adm, _ = setup()
    assert review(adm, create("Router", obj("Router", "r1"))) is None
    cache.upsert("Router", obj("Router", "r1"))
    adm.observe("Router", obj("Router", "r1"))
    assert adm.reserved(NS).routers == 0
    message = review(adm, create("Router", obj("Router", "r2")))
    assert message == 'quota exceeded in namespace "team-a": routers: limit 1, used 1, requested 1'


def test_reservation_blocks_a_concurrent_create_until_it_expires() -> None:
    _, adm, clock = setup(routers=1)
    assert review(adm, create("Router", obj("Router", "r1"))) is None
    # r1 is not in the cache yet: its reservation holds the only slot.
    assert "routers: limit 1, used 1, requested 1" in (
        review(adm, create("Router", obj("Router", "r2"))) or ""
    )
    clock.now += RESERVATION_SECONDS + 1  # r1 was refused later and never appeared
    assert review(adm, create("Router", obj("Router", "r2"))) is None


def test_concurrent_creates_take_exactly_the_limit() -> None:
    _, adm, _ = setup(instances=5, cores=-1, ramMiB=-1)

    async def all_at_once() -> list[str | None]:
        reqs = [create("Server", obj("Server", f"s{i}", {"flavor": "m1.small"})) for i in range(10)]
        return await asyncio.gather(*(adm.review(r) for r in reqs))

    answers = asyncio.run(all_at_once())
    assert sum(a is None for a in answers) == 5


def test_cores_from_the_flavor() -> None:
    _, adm, _ = setup(cores=3)
    assert review(adm, create("Server", obj("Server", "s1", {"flavor": "m1.small"}))) is None
    message = review(adm, create("Server", obj("Server", "s2", {"flavor": "m1.small"})))
    assert message is not None and "cores: limit 3, used 2, requested 2" in message


def test_unknown_flavor_is_left_to_the_compute_operator() -> None:
    _, adm, _ = setup()
    assert review(adm, create("Server", obj("Server", "s1", {"flavor": "m9.none"}))) is None


def test_volume_grow_is_checked_and_shrink_passes() -> None:
    cache, adm, _ = setup(gigabytes=50)
    old = obj("Volume", "v1", {"sizeGiB": 20}, rv="5")
    cache.upsert("Volume", old)

    def update(size: int) -> dict[str, Any]:
        new = obj("Volume", "v1", {"sizeGiB": size}, rv="5")
        return {**create("Volume", new), "operation": "UPDATE", "oldObject": old}

    message = review(adm, update(60))
    assert message is not None and "gigabytes: limit 50, used 20, requested 40" in message
    assert review(adm, update(50)) is None
    assert adm.reserved(NS).gigabytes == 30
    adm.observe("Volume", obj("Volume", "v1", {"sizeGiB": 20}, rv="5"))  # the old version: still held
    assert adm.reserved(NS).gigabytes == 30
    cache.upsert("Volume", obj("Volume", "v1", {"sizeGiB": 50}, rv="6"))
    adm.observe("Volume", obj("Volume", "v1", {"sizeGiB": 50}, rv="6"))
    assert adm.reserved(NS).gigabytes == 0
    assert review(adm, update(10)) is None  # a shrink, even at the limit


def test_dry_run_and_other_kinds_reserve_nothing() -> None:
    _, adm, _ = setup(routers=1)
    assert review(adm, {**create("Router", obj("Router", "r1")), "dryRun": True}) is None
    assert adm.reserved(NS).routers == 0
    assert review(adm, create("Flavor", {"metadata": {"name": "x"}})) is None


def test_deleting_frees_usage() -> None:
    cache, adm, _ = setup(routers=1)
    r1 = obj("Router", "r1")
    cache.upsert("Router", r1)
    assert review(adm, create("Router", obj("Router", "r2"))) is not None
    cache.remove("Router", r1)
    assert review(adm, create("Router", obj("Router", "r2"))) is None


def test_status_written_only_when_changed() -> None:
    q = quota(routers=1)
    status = desired_status(q, {"routers": 1})
    assert status is not None and status["used"] == {"routers": 1} and status["observedGeneration"] == 1
    assert desired_status({**q, "status": status}, {"routers": 1}) is None
    assert desired_status({**q, "status": status}, {"routers": 0}) is not None

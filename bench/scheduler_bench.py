"""Benchmark of the Server scheduler (controllers.scheduling) at 10,000 Hosts: the cost of one decision.

It builds a region of `--hosts` Hosts over az1, az2, az3 and the stretched sz1 (each Host from a Host
object, through HostInfo.from_host), with a mix of sizes, roles, health, traits, labels and aggregates,
fills them about half full with allocations, then times `schedule()` for several request shapes. Each
decision's allocation is added to the index as the operator does (in flight), so the state moves. It is a
benchmark, not a test: it prints figures and PASS/MISS against the target (p99 <= 5 ms per decision).

    .venv/bin/python bench/scheduler_bench.py            # 10,000 hosts, 1,000 decisions per shape
    .venv/bin/python bench/scheduler_bench.py --quick    # 2,000 hosts, 200 decisions per shape
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from controllers.api.compute import ServerGroupPolicy
from controllers.scheduling import (
    AggregateInfo,
    Allocation,
    Decision,
    GroupInfo,
    HostIndex,
    HostInfo,
    Resources,
    SchedulerConfig,
    ScheduleRequest,
    ZoneInfo,
    schedule,
)

TARGET_MS = 5.0
SHAPE_BUDGET_S = 8.0  # per request shape, so that a slow machine still finishes in well under a minute
ZONES = [
    ZoneInfo("az1", False, ("dc1",)),
    ZoneInfo("az2", False, ("dc2",)),
    ZoneInfo("az3", False, ("dc3",)),
    ZoneInfo("sz1", True, ("dc1", "dc2", "dc3")),
]
SIZES = [  # (vcpus, ramMiB, diskGiB, share)
    (64, 512 * 1024, 0, 0.5),
    (128, 1024 * 1024, 3600, 0.3),
    (96, 768 * 1024, 1800, 0.2),
]
FLAVORS = [
    Resources(1, 2048),
    Resources(2, 4096),
    Resources(4, 8192),
    Resources(8, 32768),
    Resources(16, 65536),
]


def host_object(n: int, rng: random.Random) -> dict[str, Any]:
    zone = "sz1" if n % 10 == 9 else f"az{n % 3 + 1}"  # 10 % in sz1, spread over its three sites
    site = f"dc{rng.randint(1, 3)}" if zone == "sz1" else f"dc{zone[-1]}"
    vcpus, ram, disk, _ = rng.choices(SIZES, weights=[s[3] for s in SIZES])[0]
    roll = rng.random()
    roles = ["Network"] if roll < 0.02 else ["Storage"] if roll < 0.03 else ["Compute"]
    gpu = rng.random() < 0.05
    ssd = disk > 0
    traits = ["HW_CPU_X86_AVX2"] if rng.random() < 0.9 else []
    traits += ["CUSTOM_GPU"] if gpu else []
    traits += ["STORAGE_DISK_SSD"] if ssd else []
    labels = {"kumulus.dev/rack": f"r{n % 40:02}"}
    if gpu:
        labels["kumulus.dev/gpu"] = "true"
    if ssd:
        labels["kumulus.dev/ssd"] = "true"
    health = rng.random()
    return {
        "metadata": {"name": f"cmp-{site}-{n:05}", "labels": labels},
        "spec": {
            "zone": zone,
            "site": site,
            "roles": roles,
            "capacity": {"vcpus": vcpus, "ramMiB": ram, "diskGiB": disk},
            "reserved": {"vcpus": 4, "ramMiB": 16384, "diskGiB": 100 if disk else 0},
            "overcommit": {"cpuRatio": 1.5 if gpu else 4.0, "ramRatio": 1.0, "diskRatio": 1.0},
            "traits": traits,
            "maintenance": 0.02 <= health < 0.03,
        },
        "status": {
            "conditions": [{"type": "Ready", "status": "False" if health < 0.02 else "True"}],
            "fenced": health < 0.005,
        },
    }


def aggregates() -> list[AggregateInfo]:
    def agg(
        name: str, match: dict[str, str], metadata: dict[str, str], zone: str | None = None
    ) -> AggregateInfo:
        spec: dict[str, Any] = {"hostSelector": {"matchLabels": match}, "metadata": metadata}
        if zone:
            spec["zone"] = zone
        return AggregateInfo.from_aggregate({"metadata": {"name": name}, "spec": spec})

    out = [agg("gpu", {"kumulus.dev/gpu": "true"}, {"gpu": "true"})]
    out += [
        agg(f"ssd-{z}", {"kumulus.dev/ssd": "true"}, {"ssd": "true"}, z) for z in ("az1", "az2", "az3", "sz1")
    ]
    out += [agg(f"rack-r{r:02}", {"kumulus.dev/rack": f"r{r:02}"}, {"rack": f"r{r:02}"}) for r in range(40)]
    return out


def build(hosts: int, rng: random.Random) -> tuple[HostIndex, list[HostInfo], float, float]:
    objects = [host_object(n, rng) for n in range(hosts)]
    t0 = time.perf_counter()
    infos = [HostInfo.from_host(o) for o in objects]
    t1 = time.perf_counter()
    index = HostIndex(infos, zones=ZONES, aggregates=aggregates())
    t2 = time.perf_counter()
    return index, infos, t1 - t0, t2 - t1


def fill(index: HostIndex, infos: list[HostInfo], rng: random.Random, target: float) -> int:
    """Allocate Servers until each Compute Host's RAM is about `target` used; returns how many."""
    count = 0
    for info in infos:
        if not info.compute:
            continue
        budget = info.allocatable.ram_mib * rng.uniform(target - 0.3, target + 0.3)
        used = 0
        while True:
            flavor = rng.choice(FLAVORS)
            if used + flavor.ram_mib > budget:
                break
            index.add_allocation(Allocation(f"fill/vm-{count}", info.name, flavor))
            used += flavor.ram_mib
            count += 1
    return count


def timed(n: int, once: Callable[[int], object]) -> list[float]:
    """Run once(k) up to n times (or until the shape's time budget is spent); milliseconds each."""
    out = []
    deadline = time.perf_counter() + SHAPE_BUDGET_S
    for k in range(n):
        t0 = time.perf_counter_ns()
        once(k)
        out.append((time.perf_counter_ns() - t0) / 1e6)
        if time.perf_counter() > deadline:
            break
    return out


def run_shape(
    index: HostIndex, config: SchedulerConfig, make: Callable[[str], ScheduleRequest], prefix: str, n: int
) -> tuple[list[float], list[Decision]]:
    """Schedule n requests of one shape, each placement recorded in flight; times and decisions."""
    decisions: list[Decision] = []

    def once(k: int) -> None:
        decision = schedule(make(f"{prefix}-vm-{k}"), index, config)
        if decision.placement is not None:
            index.add_allocation(decision.placement.allocation)
        decisions.append(decision)

    return timed(n, once), decisions


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--decisions", type=int, default=1000, help="decisions timed per request shape")
    parser.add_argument("--fill", type=float, default=0.5, help="how full (RAM) the Hosts start, 0..1")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="2,000 hosts, 200 decisions per shape")
    args = parser.parse_args()
    if args.quick:
        args.hosts, args.decisions = 2000, 200
    rng = random.Random(args.seed)
    started = time.perf_counter()

    index, infos, t_parse, t_index = build(args.hosts, rng)
    t0 = time.perf_counter()
    allocations = fill(index, infos, rng, args.fill)
    t_fill = time.perf_counter() - t0
    print(f"{len(index)} hosts, {allocations} allocations ({args.fill:.0%} RAM used on average)")
    print(
        f"  HostInfo.from_host: {t_parse * 1e6 / len(infos):.0f} us/host; HostIndex build: {t_index:.2f} s; "
        f"add_allocation: {t_fill * 1e6 / max(allocations, 1):.1f} us each"
    )

    config = SchedulerConfig()
    members = tuple(rng.choice([h.name for h in infos if h.compute]) for _ in range(10))
    group = GroupInfo("db", ServerGroupPolicy.ANTI_AFFINITY, members)
    soft = GroupInfo("web", ServerGroupPolicy.SOFT_ANTI_AFFINITY, members)
    gpu_meta = frozenset({("gpu", "true")})
    shapes: dict[str, Callable[[str], ScheduleRequest]] = {
        "plain (2 vCPU / 4 GiB, any zone)": lambda c: ScheduleRequest(c, Resources(2, 4096)),
        "zone-pinned (4 vCPU / 8 GiB, az2)": lambda c: ScheduleRequest(c, Resources(4, 8192), zone="az2"),
        "stretched (2 vCPU / 4 GiB, sz1)": lambda c: ScheduleRequest(c, Resources(2, 4096), zone="sz1"),
        "trait + aggregate (CUSTOM_GPU, gpu=true)": lambda c: ScheduleRequest(
            c, Resources(8, 32768), required_traits=frozenset({"CUSTOM_GPU"}), aggregate_metadata=gpu_meta
        ),
        "ephemeral disk + AVX2 (4 vCPU / 8 GiB / 200 GiB)": lambda c: ScheduleRequest(
            c, Resources(4, 8192, 200), required_traits=frozenset({"HW_CPU_X86_AVX2"})
        ),
        "anti-affinity group of 10 members, any zone": lambda c: ScheduleRequest(
            c, Resources(2, 4096), group=group
        ),
        "soft anti-affinity group of 10, any zone": lambda c: ScheduleRequest(
            c, Resources(2, 4096), group=soft
        ),
        "unschedulable (512 vCPU): every filter counts": lambda c: ScheduleRequest(c, Resources(512, 4096)),
        "plain, weighing every host (no candidate cap)": lambda c: ScheduleRequest(c, Resources(2, 4096)),
    }
    uncapped = SchedulerConfig(max_candidates=1_000_000)
    print(
        f"\n{'request shape':<50} {'n':>5} {'fit':>6} {'weighed':>7} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}"
    )
    worst_p99 = 0.0
    sample_messages: dict[str, str] = {}
    for s, (name, make) in enumerate(shapes.items()):
        gc.collect()  # each shape starts without the previous one's garbage
        shape_config = uncapped if "no candidate cap" in name else config
        ms, decisions = run_shape(index, shape_config, make, f"bench/s{s}", args.decisions)
        fit = statistics.median(d.fit for d in decisions)
        weighed = statistics.median(d.weighed for d in decisions)
        sample_messages[name] = decisions[-1].message
        p50, p99 = statistics.median(ms), percentile(ms, 99)
        if shape_config is config:  # the uncapped run is for comparison, not held to the target
            worst_p99 = max(worst_p99, p99)
        print(f"{name:<50} {len(ms):>5} {fit:>6.0f} {weighed:>7.0f} {p50:>7.2f} {p99:>7.2f} {max(ms):>7.2f}")

    # Incremental updates: a heartbeat (unchanged Host), a real change, an allocation added and removed.
    probe = infos[7]
    cordoned = dataclasses.replace(probe, maintenance=not probe.maintenance)

    def churn_allocation(k: int) -> None:
        index.add_allocation(Allocation("bench/probe", probe.name, Resources(1, 1024)))
        index.remove_allocation("bench/probe")

    up = timed(2000, lambda k: index.upsert_host(probe))
    flip = timed(2000, lambda k: index.upsert_host(cordoned if k % 2 == 0 else probe))
    alloc = timed(2000, churn_allocation)
    print("\nincremental index updates (p50 / p99):")
    for label, ms in (
        ("upsert_host, unchanged (heartbeat)", up),
        ("upsert_host, maintenance toggled", flip),
        ("add_allocation + remove_allocation", alloc),
    ):
        print(f"  {label:<36} {statistics.median(ms) * 1000:.1f} / {percentile(ms, 99) * 1000:.1f} us")
    print("\nlast message per shape:")
    for name, message in sample_messages.items():
        print(f"  {name}: {message}")
    verdict = "PASS" if worst_p99 <= TARGET_MS else "MISS"
    print(
        f"\nworst p99 per decision, default config: {worst_p99:.2f} ms (target <= {TARGET_MS} ms): {verdict}"
    )
    print(f"run time {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

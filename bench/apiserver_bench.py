"""Benchmark of the Kumulus API server against the performance targets (prints figures; not a test).

Starts a real `kumulus up` (`python -m kumulus.cli up`) in a subprocess with a fresh temporary state
directory and no project CRDs, installs the test Widget CRD (a schema with defaults, an enum, a pattern
and a CEL transition rule) through the API, then drives it from this process with aiohttp over HTTPS
keep-alive connections to 127.0.0.1:

1. idle RSS of the server process (VmRSS from /proc/PID/status);
2. sustained creates/s of Widgets (~1 KiB each) with a few concurrent clients, until `--objects`
   objects are stored, then the server's RSS at that many objects;
3. sustained creates/s of ConfigMaps (`--creates` of them) with the same clients;
4. a steady open-loop `--rate` writes/s (create/update/patch/delete mix on Widgets) for `--duration`
   seconds while `--watchers` watch streams on that resource are connected and draining: p50/p99 latency
   of the mutating requests, and watch-delivery latency (from the client receiving a write's response
   to each watcher receiving the event with that resourceVersion).

Every phase is bounded in requests and in time, so the whole run stops by itself (about 40 s at full
size on a 2-core machine, under 3 minutes even against a slow server). It ends with a table of each
figure next to its target and PASS/MISS. Garbage collection is paused in this process while it times
requests, so that its own pauses are not charged to the server.

    .venv/bin/python bench/apiserver_bench.py            # full size (what `make bench` runs)
    .venv/bin/python bench/apiserver_bench.py --quick    # a small smoke run (~8 s)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from benchlib import JSON, Api, cpu_seconds, free_port, make_session, percentile, quiet_client_gc

ROOT = Path(__file__).resolve().parent.parent
WIDGETS_CRD = ROOT / "tests" / "integration" / "data" / "widgets-crd.yaml"
WIDGET_API = "test.kumulus.dev/v1alpha1"
WIDGETS_PATH = "/apis/test.kumulus.dev/v1alpha1/namespaces/{ns}/widgets"
CONFIGMAPS_PATH = "/api/v1/namespaces/{ns}/configmaps"
MERGE_PATCH = "application/merge-patch+json"
MiB = 1024 * 1024

TARGET_CREATES_PER_S = 300.0
TARGET_WRITE_P99_S = 0.050
TARGET_RSS_BYTES = 200 * MiB


# -- the server under test ---------------------------------------------------------------------------------


class Server:
    """One `kumulus up` subprocess on 127.0.0.1 with its own state directory."""

    def __init__(self, state_dir: Path, port: int) -> None:
        self.state_dir = state_dir
        self.port = port
        self.proc: subprocess.Popen[str] | None = None
        self.output: list[str] = []

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 30.0) -> None:
        crds = self.state_dir / "no-crds"
        crds.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "kumulus.cli", "up", "--state-dir", str(self.state_dir)]
        cmd += ["--port", str(self.port), "--address", "127.0.0.1", "--crds-dir", str(crds)]
        cmd += ["--components", "none"]  # the API server alone: operators and hostd are measured elsewhere
        self.proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )
        ready = threading.Event()
        proc = self.proc

        def pump() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                self.output.append(line)
                if "kumulus: ready" in line:
                    ready.set()

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not ready.wait(0.1):
            if proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit("kumulus up did not become ready:\n" + "".join(self.output))

    def token_and_ca(self) -> tuple[str, Path]:
        cfg = yaml.safe_load((self.state_dir / "kubeconfig").read_text())
        return str(cfg["users"][0]["user"]["token"]), self.state_dir / "pki" / "ca.crt"

    def _status_kib(self, key: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        return 0

    def rss_bytes(self) -> int:
        return self._status_kib("VmRSS") * 1024

    def hwm_bytes(self) -> int:
        return self._status_kib("VmHWM") * 1024

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None


# -- statistics ---------------------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


@dataclass
class CpuMeter:
    """CPU used by the server and by this load generator over a phase, as % of one core."""

    server: Server
    t0: float = 0.0
    server0: float = 0.0
    client0: float = 0.0

    def __enter__(self) -> CpuMeter:
        self.t0 = time.perf_counter()
        self.server0 = self.server.cpu_seconds()
        self.client0 = time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def report(self) -> str:
        wall = max(time.perf_counter() - self.t0, 1e-9)
        server = (self.server.cpu_seconds() - self.server0) / wall * 100
        client = (time.process_time() - self.client0) / wall * 100
        return f"server CPU {server:.0f}% of a core, load generator {client:.0f}%"


# -- the client -------------------------------------------------------------------------------------------


def widget(name: str, i: int, padding: int) -> dict[str, Any]:
    return {
        "apiVersion": WIDGET_API,
        "kind": "Widget",
        "metadata": {
            "name": name,
            "labels": {"app": "bench", "shard": str(i % 16)},
            "annotations": {"bench.kumulus.dev/padding": "p" * padding},
        },
        "spec": {
            "size": 1 + i % 100,
            "color": ("red", "green", "blue")[i % 3],
            "shape": "round",
            "tags": ["a"],
        },
    }


def configmap(name: str, i: int, padding: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": {"app": "bench", "shard": str(i % 16)}},
        "data": {"index": str(i), "payload": "p" * padding},
    }


async def ensure_namespace(api: Api, ns: str) -> None:
    await api.must(
        "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
    )


async def install_widget_crd(api: Api) -> None:
    crd = yaml.safe_load(WIDGETS_CRD.read_text())
    await api.must("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status, _ = await api.call("GET", WIDGETS_PATH.format(ns="default") + "?limit=1")
        if status == 200:
            return
        await asyncio.sleep(0.05)
    raise SystemExit("the Widget CRD was not served within 10 s")


# -- phase: sustained creates ------------------------------------------------------------------------------


@dataclass
class CreateResult:
    what: str
    requested: int
    created: int = 0
    errors: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    object_bytes: int = 0
    cpu: str = ""
    timed_out: bool = False

    @property
    def rate(self) -> float:
        return self.created / self.elapsed if self.elapsed > 0 else 0.0


async def create_phase(
    api: Api,
    server: Server,
    what: str,
    path: str,
    bodies: list[bytes],
    clients: int,
    time_limit: float,
) -> CreateResult:
    """POST every body with `clients` concurrent workers (one keep-alive connection each)."""
    result = CreateResult(what, len(bodies))
    todo: Iterator[bytes] = iter(bodies)
    deadline = time.perf_counter() + time_limit

    async def worker() -> None:
        for body in todo:
            if time.perf_counter() > deadline:
                result.timed_out = True
                return
            t0 = time.perf_counter()
            status, raw = await api.call("POST", path, body)
            result.latencies.append(time.perf_counter() - t0)
            if status == 201:
                result.created += 1
                result.object_bytes = result.object_bytes or len(raw)
            else:
                result.errors += 1
                if result.errors <= 3:
                    print(f"  create failed ({status}): {raw[:300]!r}", file=sys.stderr)

    with CpuMeter(server) as cpu:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        result.elapsed = time.perf_counter() - t0
        result.cpu = cpu.report()
    print(
        f"  {what}: {result.created} created in {result.elapsed:.1f} s = {result.rate:.0f}/s "
        f"({clients} clients; latency p50 {ms(percentile(result.latencies, 50))}, "
        f"p99 {ms(percentile(result.latencies, 99))}; {result.errors} errors"
        f"{'; TIME LIMIT HIT' if result.timed_out else ''}); {result.cpu}"
    )
    return result


# -- phase: steady writes with watchers -----------------------------------------------------------------


@dataclass
class MixResult:
    scheduled: int = 0
    ok: int = 0
    errors: int = 0
    elapsed: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=dict)
    delivery: list[float] = field(default_factory=list)
    before_ack: int = 0
    expected_deliveries: int = 0
    watchers_connected: int = 0
    cpu: str = ""

    @property
    def all_latencies(self) -> list[float]:
        return [x for values in self.latencies.values() for x in values]


class Pool:
    """Widgets not currently being written, with the last version the client saw of each."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.objects: dict[str, dict[str, Any]] = {}

    def put(self, obj: dict[str, Any]) -> None:
        name = obj["metadata"]["name"]
        if name not in self.objects:
            self.names.append(name)
        self.objects[name] = obj

    def take(self, rng: random.Random) -> dict[str, Any] | None:
        if not self.names:
            return None
        i = rng.randrange(len(self.names))
        self.names[i], self.names[-1] = self.names[-1], self.names[i]
        return self.objects.pop(self.names.pop())

    def __len__(self) -> int:
        return len(self.names)


async def watcher(
    api: Api, path: str, rv: str, timeout_s: int, seen: list[tuple[int, float]], connected: asyncio.Event
) -> None:
    """Drain one watch stream, recording (resourceVersion, arrival time) of every event."""
    url = f"{path}?watch=1&resourceVersion={rv}&timeoutSeconds={timeout_s}"
    key = b'"resourceVersion":"'
    async with api.session.get(api.base + url) as resp:
        if resp.status != 200:
            print(f"  watch failed ({resp.status}): {(await resp.read())[:300]!r}", file=sys.stderr)
            return
        connected.set()
        async for line in resp.content:
            now = time.perf_counter()
            i = line.find(key)
            if i < 0:
                continue
            i += len(key)
            seen.append((int(line[i : line.index(b'"', i)]), now))


async def mix_phase(
    api: Api,
    watch_api: Api,
    server: Server,
    ns: str,
    rate: float,
    duration: float,
    watchers: int,
    padding: int,
    seed: int = 7,
) -> MixResult:
    """Open-loop `rate` writes/s of a create/update/patch/delete mix while `watchers` streams drain."""
    rng = random.Random(seed)
    path = WIDGETS_PATH.format(ns=ns)
    res = MixResult()
    pool = Pool()
    serial = 0

    # A working set to update, patch and delete (not timed).
    last_rv = "0"
    for _ in range(100):
        serial += 1
        obj = await api.must("POST", path, widget(f"mix-{serial}", serial, padding))
        pool.put(obj)
        last_rv = obj["metadata"]["resourceVersion"]

    seen: list[list[tuple[int, float]]] = [[] for _ in range(watchers)]
    connected = [asyncio.Event() for _ in range(watchers)]
    timeout_s = int(duration) + 60
    watch_tasks = [
        asyncio.create_task(watcher(watch_api, path, last_rv, timeout_s, seen[i], connected[i]))
        for i in range(watchers)
    ]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*(c.wait() for c in connected)), 15)
    res.watchers_connected = sum(c.is_set() for c in connected)

    acked: dict[int, float] = {}

    async def one(op: str) -> None:
        nonlocal serial
        obj: dict[str, Any] | None = None
        if op != "create":
            obj = pool.take(rng)
            if obj is None:
                op = "create"
        if op == "create":
            serial += 1
            method, url = "POST", path
            body = json.dumps(widget(f"mix-{serial}", serial, padding)).encode()
            ctype = JSON
        else:
            assert obj is not None
            name = obj["metadata"]["name"]
            url = f"{path}/{name}"
            size = 1 + (int(obj["spec"]["size"]) % 100)  # always a change, so always an event
            if op == "update":
                method, ctype = "PUT", JSON
                obj["spec"]["size"] = size
                body = json.dumps(obj).encode()
            elif op == "patch":
                method, ctype = "PATCH", MERGE_PATCH
                body = json.dumps({"spec": {"size": size}}).encode()
            else:
                method, ctype, body = "DELETE", JSON, b""
        t0 = time.perf_counter()
        try:
            status, raw = await api.call(method, url, body or None, ctype)
        except aiohttp.ClientError as exc:
            res.errors += 1
            print(f"  {op} failed: {exc!r}", file=sys.stderr)
            return
        t1 = time.perf_counter()
        res.latencies.setdefault(op, []).append(t1 - t0)
        if status >= 300:
            res.errors += 1
            if res.errors <= 3:
                print(f"  {op} failed ({status}): {raw[:300]!r}", file=sys.stderr)
            return
        res.ok += 1
        out = json.loads(raw)
        acked[int(out["metadata"]["resourceVersion"])] = t1
        if op != "delete":
            pool.put(out)

    ops = ("create", "update", "patch", "delete")
    total = int(rate * duration)
    tasks: set[asyncio.Task[None]] = set()
    with CpuMeter(server) as cpu:
        start = time.perf_counter() + 0.05
        for i in range(total):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            # Keep the working set between 50 and 200 objects: creates and deletes balance out.
            op = rng.choice(ops)
            if len(pool) < 50 and op == "delete":
                op = "create"
            elif len(pool) > 200 and op == "create":
                op = "delete"
            task = asyncio.create_task(one(op))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            res.scheduled += 1
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=15)
            for task in late:  # bounded: a request still unanswered now counts as an error
                task.cancel()
            res.errors += len(late)
        res.elapsed = time.perf_counter() - start
        # Let the watchers drain what was acknowledged (bounded).
        want = set(acked)
        drain_deadline = time.perf_counter() + 5
        while time.perf_counter() < drain_deadline:
            if all(want <= {rv for rv, _ in s} for s in seen[: res.watchers_connected]):
                break
            await asyncio.sleep(0.1)
        res.cpu = cpu.report()
    for task in watch_tasks:
        task.cancel()
    await asyncio.gather(*watch_tasks, return_exceptions=True)

    res.expected_deliveries = len(acked) * res.watchers_connected
    for events in seen:
        for rv, t in events:
            ack = acked.get(rv)
            if ack is None:
                continue
            if t < ack:
                res.before_ack += 1
            res.delivery.append(max(0.0, t - ack))
    lat = res.all_latencies
    print(
        f"  mix: {res.ok} writes ok, {res.errors} errors in {res.elapsed:.1f} s = {res.ok / res.elapsed:.0f}/s "
        f"with {res.watchers_connected} watchers; latency p50 {ms(percentile(lat, 50))}, "
        f"p99 {ms(percentile(lat, 99))}, max {ms(max(lat, default=float('nan')))}; {res.cpu}"
    )
    for op in ops:
        values = res.latencies.get(op, [])
        print(
            f"    {op:<7} n={len(values):<5} p50 {ms(percentile(values, 50)):>9}  "
            f"p99 {ms(percentile(values, 99)):>9}"
        )
    print(
        f"  watch delivery: {len(res.delivery)}/{res.expected_deliveries} events delivered; "
        f"p50 {ms(percentile(res.delivery, 50))}, p99 {ms(percentile(res.delivery, 99))} "
        f"after the write's response ({res.before_ack} arrived before the response, counted as 0)"
    )
    return res


# -- the run -----------------------------------------------------------------------------------------------


@dataclass
class Options:
    objects: int
    creates: int
    clients: int
    duration: float
    rate: float
    watchers: int
    object_size: int
    keep_state: bool


@dataclass
class Row:
    name: str
    value: str
    target: str
    verdict: str


async def run(opts: Options, server: Server) -> list[Row]:
    token, ca = server.token_and_ca()
    rows: list[Row] = []
    await asyncio.sleep(1.0)  # let start-up allocations settle before the idle figure
    idle_rss = server.rss_bytes()
    print(f"server pid {server.pid} at {server.url}; idle RSS {idle_rss / MiB:.1f} MiB")
    rows.append(Row("RSS idle at start", f"{idle_rss / MiB:.1f} MiB", "-", "-"))

    api = Api(server.url, make_session(token, ca, opts.clients))
    watch_api = Api(server.url, make_session(token, ca, opts.watchers + 2))
    # The steady writes get more connections than the creating clients, so that a stall of the server
    # queues requests on it rather than in this process.
    mix_api = Api(server.url, make_session(token, ca, 16))
    try:
        await install_widget_crd(api)
        for ns in ("bench", "bench-cm", "bench-mix"):
            await ensure_namespace(api, ns)

        # Widgets of about object_size bytes as stored: measure what the server adds to an unpadded one.
        path = WIDGETS_PATH.format(ns="bench")
        probe = await api.must("POST", path, widget("w-probe", 0, 0))
        await api.must("DELETE", f"{path}/w-probe")
        padding = max(0, opts.object_size - len(json.dumps(probe, separators=(",", ":"))))
        print(f"phase 1: create {opts.objects} Widgets (~{opts.object_size} B) with {opts.clients} clients")
        bodies = [json.dumps(widget(f"w-{i:05d}", i, padding)).encode() for i in range(opts.objects)]
        with quiet_client_gc():
            wres = await create_phase(api, server, "Widgets", path, bodies, opts.clients, 75)
        del bodies
        await asyncio.sleep(1.0)
        rss = server.rss_bytes()
        stored = wres.created
        print(
            f"  RSS with {stored} Widgets of {wres.object_bytes} B stored: {rss / MiB:.1f} MiB "
            f"(peak so far {server.hwm_bytes() / MiB:.1f} MiB)"
        )
        rows.append(verdict_rate(f"Widget creates/s ({opts.clients} clients)", wres))
        rows.append(
            Row(
                f"RSS at {stored} objects (~{wres.object_bytes} B)",
                f"{rss / MiB:.1f} MiB",
                f"< {TARGET_RSS_BYTES / MiB:.0f} MiB",
                "PASS" if rss < TARGET_RSS_BYTES and stored >= opts.objects else "MISS",
            )
        )

        print(f"phase 2: create {opts.creates} ConfigMaps with {opts.clients} clients")
        cm_padding = max(0, opts.object_size - 400)
        bodies = [json.dumps(configmap(f"cm-{i:05d}", i, cm_padding)).encode() for i in range(opts.creates)]
        with quiet_client_gc():
            cres = await create_phase(
                api, server, "ConfigMaps", CONFIGMAPS_PATH.format(ns="bench-cm"), bodies, opts.clients, 25
            )
        rows.append(verdict_rate(f"ConfigMap creates/s ({opts.clients} clients)", cres))

        print(
            f"phase 3: {opts.rate:.0f} writes/s (create/update/patch/delete) for {opts.duration:.0f} s "
            f"with {opts.watchers} watchers"
        )
        with quiet_client_gc():
            mix = await mix_phase(
                mix_api, watch_api, server, "bench-mix", opts.rate, opts.duration, opts.watchers, padding
            )
        lat = mix.all_latencies
        achieved = mix.ok / mix.elapsed if mix.elapsed else 0.0
        rows.append(
            Row(
                "write rate achieved (mix)",
                f"{achieved:.0f}/s",
                f"{opts.rate:.0f}/s",
                "PASS" if achieved >= 0.95 * opts.rate and not mix.errors else "MISS",
            )
        )
        rows.append(Row("mutating request p50", ms(percentile(lat, 50)), "-", "-"))
        slow = sum(x > TARGET_WRITE_P99_S for x in lat)
        rows.append(
            Row(
                f"mutating request max ({slow} over {TARGET_WRITE_P99_S * 1000:.0f} ms)",
                ms(max(lat, default=0.0)),
                "-",
                "-",
            )
        )
        p99 = percentile(lat, 99)
        rows.append(
            Row(
                "mutating request p99",
                ms(p99),
                f"<= {TARGET_WRITE_P99_S * 1000:.0f} ms",
                "PASS" if p99 <= TARGET_WRITE_P99_S else "MISS",
            )
        )
        rows.append(
            Row(
                f"watch delivery p50 ({mix.watchers_connected} watchers)",
                ms(percentile(mix.delivery, 50)),
                "-",
                "-",
            )
        )
        rows.append(
            Row(
                f"watch delivery p99 ({mix.watchers_connected} watchers)",
                ms(percentile(mix.delivery, 99)),
                "-",
                "-",
            )
        )
        complete = len(mix.delivery) >= mix.expected_deliveries and mix.watchers_connected == opts.watchers
        rows.append(
            Row(
                "watch events delivered",
                f"{len(mix.delivery)}/{mix.expected_deliveries}",
                "all",
                "PASS" if complete else "MISS",
            )
        )
        rows.append(Row("RSS peak (VmHWM) over the run", f"{server.hwm_bytes() / MiB:.1f} MiB", "-", "-"))
    finally:
        await api.session.close()
        await watch_api.session.close()
        await mix_api.session.close()
    return rows


def verdict_rate(name: str, res: CreateResult) -> Row:
    ok = res.rate >= TARGET_CREATES_PER_S and not res.errors and not res.timed_out
    return Row(name, f"{res.rate:.0f}/s", f">= {TARGET_CREATES_PER_S:.0f}/s", "PASS" if ok else "MISS")


def print_table(rows: list[Row], opts: Options) -> None:
    cores = os.cpu_count()
    print()
    print(
        f"Kumulus API server benchmark ({cores} cores; {opts.objects} objects, {opts.creates} ConfigMaps, "
        f"{opts.clients} clients, {opts.rate:.0f} writes/s for {opts.duration:.0f} s, {opts.watchers} watchers)"
    )
    widths = [
        max(len(getattr(r, f)) for r in [*rows, Row("figure", "value", "target", "result")])
        for f in ("name", "value", "target", "verdict")
    ]
    header = Row("figure", "value", "target", "result")
    line = "-+-".join("-" * w for w in widths)
    for r in (header, None, *rows):
        if r is None:
            print(line)
            continue
        print(
            f"{r.name:<{widths[0]}} | {r.value:>{widths[1]}} | {r.target:<{widths[2]}} | {r.verdict:<{widths[3]}}"
        )


def parse_args(argv: list[str] | None) -> Options:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--objects", type=int, default=10000, help="Widgets to store (default: %(default)s)")
    p.add_argument("--creates", type=int, default=2000, help="ConfigMaps to create (default: %(default)s)")
    p.add_argument(
        "--clients", type=int, default=4, help="concurrent creating clients (default: %(default)s)"
    )
    p.add_argument(
        "--duration", type=float, default=20.0, help="seconds of steady writes (default: %(default)s)"
    )
    p.add_argument(
        "--rate", type=float, default=100.0, help="steady writes per second (default: %(default)s)"
    )
    p.add_argument("--watchers", type=int, default=20, help="watch streams (default: %(default)s)")
    p.add_argument(
        "--object-size", type=int, default=1024, help="bytes per stored Widget (default: %(default)s)"
    )
    p.add_argument("--quick", action="store_true", help="a small smoke run: 500 objects, 300 ConfigMaps, 3 s")
    p.add_argument("--keep-state", action="store_true", help="keep the temporary state directory")
    a = p.parse_args(argv)
    if a.quick:
        a.objects, a.creates, a.duration, a.watchers = 500, 300, 3.0, 5
    return Options(
        objects=a.objects,
        creates=a.creates,
        clients=max(1, a.clients),
        duration=min(max(1.0, a.duration), 60.0),
        rate=max(1.0, a.rate),
        watchers=max(0, a.watchers),
        object_size=a.object_size,
        keep_state=a.keep_state,
    )


def peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    state = Path(tempfile.mkdtemp(prefix="kumulus-bench-"))
    server = Server(state, free_port())
    started = time.perf_counter()
    try:
        server.start()
        rows = asyncio.run(run(opts, server))
    finally:
        if server.proc is not None and server.proc.poll() is not None:
            print("the server exited during the run:\n" + "".join(server.output[-40:]), file=sys.stderr)
        server.stop()
        if opts.keep_state:
            print(f"state kept in {state}")
        else:
            shutil.rmtree(state, ignore_errors=True)
    print_table(rows, opts)
    print(
        f"total run time {time.perf_counter() - started:.0f} s; load generator peak RSS {peak_rss_mib():.0f} MiB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

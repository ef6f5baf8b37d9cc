"""KubeVirt's density protocol for Kumulus: Servers to Ready, writes per Server, operator memory.

Prints figures next to targets (PASS/MISS); it is a benchmark, not a test, and fails nothing.

Each phase starts a real `kumulus up --components operators,hostd --sim-hosts N` (`python -m
kumulus.cli up`) in a subprocess with a fresh temporary state directory (removed afterwards), the project
CRDs and a free port on 127.0.0.1, with `<state dir>/hostd.yaml` setting the sim's `boot-delay` (default
0: the sim's boot is pure waiting, so none is added) and `lease-seconds` (default 10, hostd's own). It
reads the admin token and CA from the state directory, creates Zones az1..az3 and sz1, the Flavors
m1.small (1 vCPU, 1 GiB) and m1.huge (1 vCPU, 1 TiB: fits no simulated host) and, in each namespace it
uses, a Quota with every limit -1 (a namespace without one is held to 10 instances), waits until every
Host is registered and Ready, boots one warm-up Server (not counted), then drives the load from this
process with aiohttp over HTTPS keep-alive connections:

1. small: `--small` (100) Servers created open-loop at `--small-rate` (10/s) on `--small-hosts` (20)
   hosts: creation-to-Ready latency p50/p95, from the create's response to the watch event that shows
   condition Ready=True (targets 1 s / 2 s; KubeVirt's budget is 45 s / 60 s);
2. large: `--large` (1,000) Servers at `--large-rate` (10/s: KubeVirt's pause of 100 ms between creates)
   on `--large-hosts` (200) hosts, in a new cluster: the same latency figures, the total time (first
   create sent to last Ready seen), and the scheduler's spread (Servers per Host, min/max over every Host);
3. writes: for every Server of phases 1 and 2, the distinct resourceVersions seen through the watch
   between its creation and Ready (each MODIFIED is one write by a component), plus the writes to other
   objects attributable to it until the phase ends: Events about it (involvedObject.uid) and objects it
   owns (ownerReferences: a boot Volume, Ports): mean/max, target <= 5 in all (KubeVirt's budget is
   2 PATCH + 10 UPDATE). Server writes after Ready, within `--settle` seconds, are reported too;
4. memory: in the large cluster, `--objects` (10,000) Servers in all: the rest are created with m1.huge,
   `--per-namespace` (500) to a namespace, so they stay Pending (the operator schedules each, writes its
   Unschedulable status and keeps it cached); once the operator has written every one, the RSS (VmRSS)
   of the operators process (pid from kumulus up's `started kumulus-operators (pid N)` line), of hostd
   and of the API server.

If kumulus up's hostd stalls before every Host is Ready (it does past ~95 sim hosts: HOSTD_POOL_WORKAROUND
below), the stall is reported as a MISS and, with `--hostd auto` (the default), the cluster is started
again with hostd run by this benchmark, its connection pool raised. Every phase is bounded in time and
phase 4 stops creating when `--time-limit` (340 s) is near, so a run stops by itself (about 5 minutes at
full size on a 2-core machine; `--quick`, about 1.5). Garbage collection is paused in this process while
it times.

    .venv/bin/python bench/density_bench.py            # full size
    .venv/bin/python bench/density_bench.py --quick    # smoke run: 30 + 200 Servers, 10 + 40 hosts
    .venv/bin/python bench/density_bench.py --small-only  # phase 1 and its writes (~40 s)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from benchlib import Api, cpu_seconds, free_port, make_session, percentile, quiet_client_gc

ROOT = Path(__file__).resolve().parent.parent
COMPUTE = "/apis/compute.kumulus.dev/v1alpha1"
INFRA = "/apis/infra.kumulus.dev/v1alpha1"
MiB = 1024 * 1024

ZONES = {"az1": ["dc1"], "az2": ["dc2"], "az3": ["dc3"], "sz1": ["dc1", "dc2", "dc3"]}
FLAVORS = {"m1.small": (1, 1024), "m1.huge": (1, 1 << 20)}  # a sim host has 64 vCPUs, 256 GiB

# hostd shares one aiohttp session among its hosts, and each host holds a watch open on it: past ~100 hosts
# aiohttp's default pool of 100 connections is all watches, and every other request waits for good (the
# README's density section). This runs hostd with the pool raised to 100 + one per host (argv[1]), changing
# nothing else. (Unlimited would do too, but then every burst of lease renewals leaves idle TLS connections
# behind, ~1,200 for 200 hosts at 128 KiB of buffer each, in hostd and in the API server.)
HOSTD_POOL_WORKAROUND = """
import sys
import aiohttp
LIMIT = int(sys.argv[1])
_init = aiohttp.TCPConnector.__init__
def _raised(self, *args, **kwargs):
    kwargs["limit"] = LIMIT
    _init(self, *args, **kwargs)
aiohttp.TCPConnector.__init__ = _raised
from hostd.main import main
sys.exit(main(sys.argv[2:]))
"""

STORAGE = {
    "/apis/storage.kumulus.dev/v1alpha1/volumetypes": {
        "apiVersion": "storage.kumulus.dev/v1alpha1",
        "kind": "VolumeType",
        "metadata": {"name": "standard"},
        "spec": {"isDefault": True, "backends": [{"zone": z, "pool": "volumes"} for z in ZONES]},
    },
    "/apis/image.kumulus.dev/v1alpha1/clusterimages": {
        "apiVersion": "image.kumulus.dev/v1alpha1",
        "kind": "ClusterImage",
        "metadata": {"name": "debian-12"},
        "spec": {
            "source": {"url": "https://cloud.debian.org/images/cloud/bookworm/latest/debian-12.qcow2"},
            "diskFormat": "qcow2",
            "sha256": "c20a65411a99b6ad0f5d5162b0da7d6bf1d0ee1c8d051d6fa0cd5e7094a43719",
        },
    },
}

# Kinds an operator may create for a Server, counted through their ownerReferences: (plural, group/version).
OWNED = (("volumes", "storage.kumulus.dev/v1alpha1"), ("ports", "network.kumulus.dev/v1alpha1"))
QUOTA_CRD = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/quotas.infra.kumulus.dev"

TARGET_P50_S = 1.0
TARGET_P95_S = 2.0
TARGET_WRITES = 5
TARGET_OPERATOR_RSS = 250 * MiB


# -- the cluster under test --------------------------------------------------------------------------------


def status_kib(pid: int, key: str) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


class Cluster:
    """One `kumulus up` with operators and `hosts` simulated hosts, in its own state directory."""

    def __init__(
        self, state_dir: Path, hosts: int, boot_delay: float, lease_seconds: float, own_hostd: bool = False
    ) -> None:
        self.state_dir = state_dir
        self.hosts = hosts
        self.boot_delay = boot_delay
        self.lease_seconds = lease_seconds
        # True: hostd is run by this benchmark with its HTTP connection pool raised (HOSTD_POOL_WORKAROUND)
        # instead of by `kumulus up`.
        self.own_hostd = own_hostd
        self.port = free_port()
        self.proc: subprocess.Popen[str] | None = None
        self.hostd_proc: subprocess.Popen[bytes] | None = None
        self.output: list[str] = []
        self.pids: dict[str, int] = {}

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        (self.state_dir / "hostd.yaml").write_text(
            f"boot-delay: {self.boot_delay}\nlease-seconds: {self.lease_seconds}\n"
        )
        cmd = [sys.executable, "-m", "kumulus.cli", "up", "--state-dir", str(self.state_dir)]
        cmd += ["--port", str(self.port), "--address", "127.0.0.1", "--crds-dir", str(ROOT / "crds")]
        if self.own_hostd:
            cmd += ["--components", "operators"]
        else:
            cmd += ["--components", "operators,hostd", "--sim-hosts", str(self.hosts)]
        self.proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )
        proc = self.proc
        self.pids["apiserver"] = proc.pid
        ready = threading.Event()
        started = re.compile(r"started kumulus-(\S+) \(pid (\d+)\)")

        def pump() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                self.output.append(line)
                m = started.search(line)
                if m:
                    self.pids[m.group(1)] = int(m.group(2))
                if "kumulus: ready" in line:
                    ready.set()

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not ready.wait(0.1):
            if proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit("kumulus up did not become ready:\n" + "".join(self.output))
        if self.own_hostd:
            self._start_hostd()
        for name in ("operators", "hostd"):
            if name not in self.pids:
                self.stop()
                raise SystemExit(f"kumulus up did not start {name}:\n" + "".join(self.output))

    def _start_hostd(self) -> None:
        """hostd for `hosts` sim hosts as `kumulus up` would start it, but with a connection pool of 100 + hosts."""
        env = dict(
            os.environ,
            KUBECONFIG=str(self.state_dir / "kubeconfig-kumulus-hostd"),
            KUMULUS_STATE_DIR=str(self.state_dir),
        )
        with open(self.state_dir / "kumulus-hostd.log", "ab") as log:
            self.hostd_proc = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    HOSTD_POOL_WORKAROUND,
                    str(100 + self.hosts),
                    "--sim-hosts",
                    str(self.hosts),
                ],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.pids["hostd"] = self.hostd_proc.pid

    def hostd_sockets(self) -> int:
        """Open sockets of the hostd process (its connections to the API server)."""
        fd_dir = Path(f"/proc/{self.pids.get('hostd', 0)}/fd")
        count = 0
        with contextlib.suppress(OSError):
            for fd in fd_dir.iterdir():
                with contextlib.suppress(OSError):
                    count += os.readlink(fd).startswith("socket:")
        return count

    def token_and_ca(self) -> tuple[str, Path]:
        cfg = yaml.safe_load((self.state_dir / "kubeconfig").read_text())
        return str(cfg["users"][0]["user"]["token"]), self.state_dir / "pki" / "ca.crt"

    def rss(self, who: str) -> int:
        return status_kib(self.pids[who], "VmRSS") * 1024

    def hwm(self, who: str) -> int:
        return status_kib(self.pids[who], "VmHWM") * 1024

    def cpu(self) -> dict[str, float]:
        return {who: cpu_seconds(pid) for who, pid in self.pids.items()}

    def log_tail(self, who: str, lines: int = 30) -> str:
        path = self.state_dir / f"kumulus-{who}.log"
        return "\n".join(path.read_text().splitlines()[-lines:]) if path.exists() else ""

    def tracebacks(self) -> list[str]:
        out = []
        for who in ("operators", "hostd"):
            path = self.state_dir / f"kumulus-{who}.log"
            if path.exists() and "Traceback" in path.read_text():
                out.append(who)
        return out

    def stop(self) -> None:
        if self.hostd_proc is not None:
            if self.hostd_proc.poll() is None:
                self.hostd_proc.terminate()
                try:
                    self.hostd_proc.wait(20)
                except subprocess.TimeoutExpired:
                    self.hostd_proc.kill()
                    self.hostd_proc.wait(10)
            self.hostd_proc = None
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None


@dataclass
class CpuMeter:
    """CPU used by each process of the cluster and by this load generator, as % of one core."""

    cluster: Cluster
    t0: float = 0.0
    before: dict[str, float] = field(default_factory=dict)
    client0: float = 0.0

    def __enter__(self) -> CpuMeter:
        self.t0 = time.perf_counter()
        self.before = self.cluster.cpu()
        self.client0 = time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def report(self) -> str:
        wall = max(time.perf_counter() - self.t0, 1e-9)
        after = self.cluster.cpu()
        parts = [f"{who} {(after[who] - self.before.get(who, 0.0)) / wall * 100:.0f}%" for who in after]
        parts.append(f"bench {(time.process_time() - self.client0) / wall * 100:.0f}%")
        return "CPU (% of a core): " + ", ".join(parts)


# -- statistics ---------------------------------------------------------------------------------------------


def secs(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.1f} s"


def mean(values: list[int] | list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


# -- the client -------------------------------------------------------------------------------------------


def servers_path(ns: str) -> str:
    return f"{COMPUTE}/namespaces/{ns}/servers"


def events_path(ns: str) -> str:
    return f"/api/v1/namespaces/{ns}/events"


def server_body(name: str, flavor: str) -> dict[str, Any]:
    return {
        "apiVersion": "compute.kumulus.dev/v1alpha1",
        "kind": "Server",
        "metadata": {"name": name, "labels": {"app": "density"}},
        "spec": {"flavor": flavor, "image": "debian-12"},
    }


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    for cond in (obj.get("status") or {}).get("conditions") or ():
        if isinstance(cond, dict) and cond.get("type") == kind:
            return cond
    return {}


async def setup_infrastructure(api: Api, namespaces: list[str]) -> None:
    for ns in namespaces:
        await api.must(
            "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
        )
    await unlimited_quotas(api, namespaces)
    for name, sites in ZONES.items():
        spec = {"type": "Stretched" if len(sites) > 1 else "Physical", "sites": sites}
        body = {"apiVersion": "infra.kumulus.dev/v1alpha1", "kind": "Zone", "metadata": {"name": name}}
        await api.must("POST", f"{INFRA}/zones", {**body, "spec": spec})
    for name, (vcpus, ram) in FLAVORS.items():
        body = {"apiVersion": "compute.kumulus.dev/v1alpha1", "kind": "Flavor", "metadata": {"name": name}}
        await api.must("POST", f"{COMPUTE}/flavors", {**body, "spec": {"vcpus": vcpus, "ramMiB": ram}})
    # A Server is Ready once its boot Volume (<server>-root, cloned from the image by the storage operator
    # on its simulated backend) is: a default VolumeType in every zone and the image it boots from.
    for path, body in STORAGE.items():
        await api.must("POST", path, body)


async def unlimited_quotas(api: Api, namespaces: list[str]) -> None:
    """A Quota with every limit -1 (unlimited) in each namespace, when Quotas exist: a namespace without
    one is held to the defaults (10 instances)."""
    status, raw = await api.call("GET", QUOTA_CRD)
    if status != 200:
        return
    crd = json.loads(raw)
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    limits = schema["properties"]["spec"]["properties"]["limits"]["properties"]
    for ns in namespaces:
        body = {
            "apiVersion": f"{crd['spec']['group']}/{crd['spec']['versions'][0]['name']}",
            "kind": "Quota",
            "metadata": {"name": "density-unlimited"},
            "spec": {"limits": dict.fromkeys(limits, -1)},
        }
        await api.must("POST", f"{INFRA}/namespaces/{ns}/quotas", body)


async def wait_hosts_ready(api: Api, count: int, timeout: float, stall: float) -> tuple[list[str], int]:
    """(names of the Hosts Ready, Hosts registered) once `count` are Ready, or when none more registered
    or turned Ready for `stall` seconds, or after `timeout`."""
    t0 = time.perf_counter()
    ready: list[str] = []
    progress, last_change = (-1, -1), t0
    while True:
        items = (await api.must("GET", f"{INFRA}/hosts"))["items"]
        ready = [h["metadata"]["name"] for h in items if condition(h, "Ready").get("status") == "True"]
        now = time.perf_counter()
        if len(ready) >= count or now - t0 > timeout:
            break
        if (len(items), len(ready)) != progress:
            progress, last_change = (len(items), len(ready)), now
        elif now - last_change > stall:
            break
        await asyncio.sleep(0.25)
    return sorted(ready), len(items)


async def warm_up(api: Api, ns: str, timeout: float) -> float:
    """One Server to Ready through the whole chain (polled); its time, or nan if it never got there."""
    t0 = time.perf_counter()
    body = json.dumps(server_body("warmup", "m1.small")).encode()
    while True:  # an admission webhook may still be starting
        status, raw = await api.call("POST", servers_path(ns), body)
        if status == 201:
            break
        if time.perf_counter() - t0 > timeout:
            raise SystemExit(f"the warm-up Server cannot be created ({status}): {raw[:300]!r}")
        await asyncio.sleep(0.25)
    while time.perf_counter() - t0 < timeout:
        obj = await api.must("GET", servers_path(ns) + "/warmup")
        if condition(obj, "Ready").get("status") == "True":
            return time.perf_counter() - t0
        await asyncio.sleep(0.05)
    return float("nan")


# -- watching ----------------------------------------------------------------------------------------------


@dataclass
class Track:
    """One Server as this benchmark saw it."""

    name: str
    uid: str = ""
    sent_at: float = 0.0
    created_at: float = 0.0  # the create's response
    scheduled_at: float | None = None  # Scheduled=True seen (the operator placed it)
    running_at: float | None = None  # Running=True seen (hostd started the guest)
    ready_at: float | None = None  # Ready=True seen (the operator's verdict)
    processed_at: float | None = None  # any Scheduled condition seen (Pending Servers)
    writes: set[str] = field(default_factory=set)  # MODIFIED resourceVersions up to Ready
    after_ready: set[str] = field(default_factory=set)  # MODIFIED resourceVersions after Ready
    host: str | None = None
    phase: str | None = None


class Watch:
    """One watch stream (resumed from the last resourceVersion if it ends), feeding `handle`."""

    def __init__(self, api: Api, path: str, rv: str) -> None:
        self.api = api
        self.path = path
        self.rv = rv
        self.connected = asyncio.Event()
        self.errors = 0
        self.task: asyncio.Task[None] | None = None

    def handle(self, kind: str, obj: dict[str, Any], now: float) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            url = f"{self.path}?watch=1&resourceVersion={self.rv}&timeoutSeconds=600&allowWatchBookmarks=true"
            try:
                async with self.api.session.get(self.api.base + url) as resp:
                    if resp.status != 200:
                        raise RuntimeError(f"watch {self.path}: {resp.status} {(await resp.read())[:200]!r}")
                    self.connected.set()
                    async for line in resp.content:
                        now = time.perf_counter()
                        if not line.strip():
                            continue
                        event = json.loads(line)
                        obj = event.get("object") or {}
                        if event.get("type") == "ERROR":
                            raise RuntimeError(f"watch {self.path}: {obj.get('message')}")
                        self.rv = str((obj.get("metadata") or {}).get("resourceVersion") or self.rv)
                        if event.get("type") != "BOOKMARK":
                            self.handle(str(event.get("type")), obj, now)
            except (aiohttp.ClientError, RuntimeError, ValueError) as exc:
                self.errors += 1
                print(f"  watch error ({exc!r}); resuming", file=sys.stderr)
                await asyncio.sleep(0.5)


class ServerWatch(Watch):
    """The Servers of a namespace ("": of all), by name."""

    def __init__(self, api: Api, ns: str, rv: str) -> None:
        super().__init__(api, servers_path(ns) if ns else f"{COMPUTE}/servers", rv)
        self.tracks: dict[str, Track] = {}
        self.ready = 0
        self.processed = 0
        self.changed = asyncio.Event()

    def track(self, name: str) -> Track:
        t = self.tracks.get(name)
        if t is None:
            t = self.tracks[name] = Track(name)
        return t

    def handle(self, kind: str, obj: dict[str, Any], now: float) -> None:
        meta = obj.get("metadata") or {}
        t = self.track(str(meta.get("name")))
        t.uid = t.uid or str(meta.get("uid"))
        status = obj.get("status") or {}
        t.host, t.phase = status.get("host"), status.get("phase")
        if kind == "MODIFIED":
            (t.after_ready if t.ready_at is not None else t.writes).add(str(meta.get("resourceVersion")))
        scheduled = condition(obj, "Scheduled")
        if scheduled and t.processed_at is None:
            t.processed_at = now
            self.processed += 1
        if t.scheduled_at is None and scheduled.get("status") == "True":
            t.scheduled_at = now
        if t.running_at is None and condition(obj, "Running").get("status") == "True":
            t.running_at = now
        if t.ready_at is None and condition(obj, "Ready").get("status") == "True":
            t.ready_at = now
            self.ready += 1
        self.changed.set()


class EventWatch(Watch):
    """Kubernetes Events of a namespace: distinct writes per involved object's uid."""

    def __init__(self, api: Api, ns: str, rv: str) -> None:
        super().__init__(api, events_path(ns), rv)
        self.writes: dict[str, set[str]] = {}
        self.reasons: Counter[str] = Counter()

    def handle(self, kind: str, obj: dict[str, Any], now: float) -> None:
        if kind not in ("ADDED", "MODIFIED"):
            return
        uid = str((obj.get("involvedObject") or {}).get("uid"))
        self.writes.setdefault(uid, set()).add(str((obj.get("metadata") or {}).get("resourceVersion")))
        self.reasons[str(obj.get("reason"))] += 1


class OwnedWatch(Watch):
    """Objects of one kind in a namespace made for a Server (a boot Volume, a Port): distinct writes per
    owner uid (metadata.ownerReferences), until they are deleted."""

    def __init__(self, api: Api, path: str, rv: str) -> None:
        super().__init__(api, path, rv)
        self.writes: dict[str, set[str]] = {}
        self.objects = 0

    def handle(self, kind: str, obj: dict[str, Any], now: float) -> None:
        if kind not in ("ADDED", "MODIFIED"):
            return
        meta = obj.get("metadata") or {}
        self.objects += kind == "ADDED"
        for ref in meta.get("ownerReferences") or ():
            self.writes.setdefault(str(ref.get("uid")), set()).add(str(meta.get("resourceVersion")))


async def list_rv(api: Api, path: str) -> str:
    return str((await api.must("GET", path + "?limit=1"))["metadata"]["resourceVersion"])


# -- phases ----------------------------------------------------------------------------------------------


@dataclass
class DensityResult:
    label: str
    count: int
    rate: float
    hosts: int
    created: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    to_scheduled: list[float] = field(default_factory=list)
    scheduled_to_running: list[float] = field(default_factory=list)
    running_to_ready: list[float] = field(default_factory=list)
    total_time: float = float("nan")
    server_writes: list[int] = field(default_factory=list)
    event_writes: list[int] = field(default_factory=list)
    owned_writes: list[int] = field(default_factory=list)  # to objects the Server owns (Volumes, Ports)
    owned_kinds: dict[str, int] = field(default_factory=dict)  # plural -> objects created
    after_ready: int = 0
    event_reasons: Counter[str] = field(default_factory=Counter)
    per_host: list[int] = field(default_factory=list)
    create_send_lag: float = 0.0
    cpu: str = ""

    @property
    def ready(self) -> int:
        return len(self.latencies)

    @property
    def total_writes(self) -> list[int]:
        return [
            a + b + c
            for a, b, c in zip(self.server_writes, self.event_writes, self.owned_writes, strict=True)
        ]


async def density_phase(
    api: Api,
    watch_api: Api,
    cluster: Cluster,
    ns: str,
    label: str,
    count: int,
    rate: float,
    hosts: list[str],
    timeout: float,
    settle: float,
) -> DensityResult:
    """Create `count` Servers open-loop at `rate`/s and follow each to Ready through a watch."""
    res = DensityResult(label, count, rate, len(hosts))
    sw = ServerWatch(watch_api, ns, await list_rv(api, servers_path(ns)))
    ew = EventWatch(watch_api, ns, await list_rv(api, events_path(ns)))
    owned: dict[str, OwnedWatch] = {}
    for plural, group in OWNED:
        path = f"/apis/{group}/namespaces/{ns}/{plural}"
        status, raw = await api.call("GET", path + "?limit=1")
        if status == 200:  # served (its CRD is installed)
            owned[plural] = OwnedWatch(watch_api, path, str(json.loads(raw)["metadata"]["resourceVersion"]))
    watches: list[Watch] = [sw, ew, *owned.values()]
    for w in watches:
        w.start()
    await asyncio.wait_for(asyncio.gather(*(w.connected.wait() for w in watches)), 15)
    bodies = [
        (f"vm-{i:05d}", json.dumps(server_body(f"vm-{i:05d}", "m1.small")).encode()) for i in range(count)
    ]

    async def create(name: str, body: bytes) -> None:
        t = sw.track(name)
        t.sent_at = time.perf_counter()
        status, raw = await api.call("POST", servers_path(ns), body)
        t.created_at = time.perf_counter()
        if status == 201:
            res.created += 1
            t.uid = json.loads(raw)["metadata"]["uid"]
        else:
            res.errors += 1
            t.created_at = 0.0
            if res.errors <= 3:
                print(f"  create failed ({status}): {raw[:300]!r}", file=sys.stderr)

    tasks: set[asyncio.Task[None]] = set()
    with CpuMeter(cluster) as cpu:
        start = time.perf_counter() + 0.05
        deadline = start + count / rate + timeout
        for i, (name, body) in enumerate(bodies):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            res.create_send_lag = max(res.create_send_lag, -delay)
            task = asyncio.create_task(create(name, body))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.wait(tasks, timeout=max(1.0, deadline - time.perf_counter()))
        while sw.ready < res.created and time.perf_counter() < deadline:
            sw.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(sw.changed.wait(), max(0.01, deadline - time.perf_counter()))
        mine = [sw.tracks[n] for n, _ in bodies if sw.tracks[n].created_at]
        last_ready = max((t.ready_at for t in mine if t.ready_at is not None), default=float("nan"))
        res.total_time = last_ready - start
        res.cpu = cpu.report()
        await asyncio.sleep(settle)  # the Ready Events, and any write after Ready
    for w in watches:
        await w.stop()

    for t in mine:
        if t.ready_at is None:
            continue
        res.latencies.append(max(0.0, t.ready_at - t.created_at))
        if t.scheduled_at is not None and t.running_at is not None:
            res.to_scheduled.append(max(0.0, t.scheduled_at - t.created_at))
            res.scheduled_to_running.append(t.running_at - t.scheduled_at)
            res.running_to_ready.append(t.ready_at - t.running_at)
        res.server_writes.append(len(t.writes))
        res.event_writes.append(len(ew.writes.get(t.uid, ())))
        res.owned_writes.append(sum(len(w.writes.get(t.uid, ())) for w in owned.values()))
        res.after_ready += len(t.after_ready)
    res.event_reasons = ew.reasons
    res.owned_kinds = {plural: w.objects for plural, w in owned.items()}
    by_host = Counter(t.host for t in mine if t.host)
    res.per_host = [by_host.get(h, 0) for h in hosts]
    lat = res.latencies
    print(
        f"  {label}: {res.created}/{count} created ({res.errors} errors), {res.ready} Ready; "
        f"creation-to-Ready p50 {secs(percentile(lat, 50))}, p95 {secs(percentile(lat, 95))}, "
        f"max {secs(max(lat, default=float('nan')))}; first create to last Ready {secs(res.total_time)}"
    )
    print(
        f"    breakdown p50/p95: to Scheduled {secs(percentile(res.to_scheduled, 50))}/"
        f"{secs(percentile(res.to_scheduled, 95))}, Scheduled->Running (hostd) "
        f"{secs(percentile(res.scheduled_to_running, 50))}/{secs(percentile(res.scheduled_to_running, 95))}, "
        f"Running->Ready (operator) {secs(percentile(res.running_to_ready, 50))}/"
        f"{secs(percentile(res.running_to_ready, 95))}"
    )
    print(
        f"    writes per Server to Ready: Server {mean(res.server_writes):.2f} mean / "
        f"{max(res.server_writes, default=0)} max, Events {mean(res.event_writes):.2f} / "
        f"{max(res.event_writes, default=0)} ({dict(res.event_reasons)}), owned objects "
        f"{mean(res.owned_writes):.2f} / {max(res.owned_writes, default=0)} (created: {res.owned_kinds}); "
        f"{res.after_ready} Server writes "
        f"after Ready within {settle:.0f} s"
    )
    if res.per_host:
        print(
            f"    spread over {len(hosts)} hosts: min {min(res.per_host)}, max {max(res.per_host)}, "
            f"{sum(1 for n in res.per_host if n)} hosts used"
        )
    print(f"    {res.cpu}; create send lag max {res.create_send_lag * 1000:.0f} ms")
    return res


@dataclass
class MemoryResult:
    objects: int
    existing: int = 0
    created: int = 0
    errors: int = 0
    create_time: float = 0.0
    processed: int = 0
    process_time: float = float("nan")
    rss_before: dict[str, int] = field(default_factory=dict)
    rss: dict[str, int] = field(default_factory=dict)
    hwm: dict[str, int] = field(default_factory=dict)
    cpu: str = ""


async def memory_phase(
    api: Api, watch_api: Api, cluster: Cluster, objects: int, per_namespace: int, clients: int, timeout: float
) -> MemoryResult:
    """Bring the cluster to `objects` Servers with unschedulable ones, `per_namespace` to a namespace; RSS
    once the operator wrote the status of every one."""
    listed = await api.must("GET", f"{COMPUTE}/servers")
    res = MemoryResult(objects, existing=len(listed["items"]))
    res.rss_before = {who: cluster.rss(who) for who in ("operators", "hostd", "apiserver")}
    todo = max(0, objects - res.existing)
    namespaces = [f"pending-{k:03d}" for k in range(math.ceil(todo / per_namespace))]
    for ns in namespaces:
        await api.must(
            "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
        )
    await unlimited_quotas(api, namespaces)
    sw = ServerWatch(watch_api, "", await list_rv(api, f"{COMPUTE}/servers"))
    sw.start()
    await asyncio.wait_for(sw.connected.wait(), 15)
    await asyncio.sleep(1.0)  # the new Quotas reach the quota webhook's cache
    names = iter(range(todo))
    t0 = time.perf_counter()
    deadline = t0 + timeout

    async def worker() -> None:
        for i in names:
            if time.perf_counter() > deadline:
                return
            body = json.dumps(server_body(f"pending-{i:05d}", "m1.huge")).encode()
            status, raw = await api.call("POST", servers_path(namespaces[i // per_namespace]), body)
            if status == 201:
                res.created += 1
            else:
                res.errors += 1
                if res.errors <= 3:
                    print(f"  create failed ({status}): {raw[:300]!r}", file=sys.stderr)

    with CpuMeter(cluster) as cpu:
        await asyncio.gather(*(worker() for _ in range(clients)))
        res.create_time = time.perf_counter() - t0
        while sw.processed < res.created and time.perf_counter() < deadline:
            sw.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(sw.changed.wait(), max(0.01, deadline - time.perf_counter()))
        res.processed = sw.processed
        if res.processed >= res.created:
            res.process_time = time.perf_counter() - t0
        res.cpu = cpu.report()
    await sw.stop()
    await asyncio.sleep(3.0)  # let the last writes and Events go out
    phases = Counter(t.phase for t in sw.tracks.values() if t.name.startswith("pending-"))
    for who in ("operators", "hostd", "apiserver"):
        res.rss[who] = cluster.rss(who)
        res.hwm[who] = cluster.hwm(who)
    print(
        f"  memory: {res.existing} Servers existed, {res.created} unschedulable created ({per_namespace} to a "
        f"namespace) in "
        f"{res.create_time:.1f} s ({res.errors} errors); operator status on {res.processed}/{res.created} "
        f"after {secs(res.process_time)} (phases {dict(phases)})"
    )
    print(
        "    RSS: "
        + ", ".join(
            f"{who} {res.rss_before[who] / MiB:.1f} -> {res.rss[who] / MiB:.1f} MiB (peak {res.hwm[who] / MiB:.1f})"
            for who in res.rss
        )
    )
    print(f"    {res.cpu}")
    return res


# -- the run -----------------------------------------------------------------------------------------------


@dataclass
class Options:
    small: int
    small_rate: float
    small_hosts: int
    large: int
    large_rate: float
    large_hosts: int
    objects: int
    per_namespace: int
    boot_delay: float
    lease_seconds: float
    settle: float
    hostd: str
    keep_state: bool
    quick: bool
    time_limit: float
    small_only: bool = False


@dataclass
class Row:
    name: str
    value: str
    target: str
    verdict: str


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def latency_rows(res: DensityResult) -> list[Row]:
    p50, p95 = percentile(res.latencies, 50), percentile(res.latencies, 95)
    tag = f"{res.count} @ {res.rate:g}/s, {res.hosts} hosts"
    complete = res.ready == res.count
    return [
        Row(f"Servers Ready ({tag})", f"{res.ready}/{res.count}", "all", verdict(complete)),
        Row(
            f"creation-to-Ready p50 ({tag})",
            secs(p50),
            f"<= {TARGET_P50_S:g} s",
            verdict(complete and p50 <= TARGET_P50_S),
        ),
        Row(
            f"creation-to-Ready p95 ({tag})",
            secs(p95),
            f"<= {TARGET_P95_S:g} s",
            verdict(complete and p95 <= TARGET_P95_S),
        ),
    ]


class Run:
    def __init__(self, opts: Options, base: Path) -> None:
        self.opts = opts
        self.base = base
        self.rows: list[Row] = []
        self.densities: list[DensityResult] = []
        self.cluster: Cluster | None = None
        self.deadline = time.perf_counter() + opts.time_limit

    async def with_cluster(self, name: str, hosts: int) -> tuple[Cluster, Api, Api, list[str]] | None:
        """A cluster with `hosts` sim hosts all Ready and one warm-up Server run; None if hostd cannot
        bring them up (and `--hostd up`). With `--hostd auto`, a hostd that stalls is replaced by one run
        with HOSTD_POOL_WORKAROUND, and the stall is reported."""
        o = self.opts
        own = o.hostd == "bench"
        while True:
            cluster = Cluster(
                self.base / (name + ("-own-hostd" if own else "")), hosts, o.boot_delay, o.lease_seconds, own
            )
            self.cluster = cluster
            t0 = time.perf_counter()
            await asyncio.get_running_loop().run_in_executor(None, cluster.start)
            token, ca = cluster.token_and_ca()
            api = Api(cluster.url, make_session(token, ca, 16))
            watch_api = Api(cluster.url, make_session(token, ca, 8))
            try:
                await setup_infrastructure(api, ["density", "warmup"])
                names, registered = await wait_hosts_ready(api, hosts, 120, 6)
            except BaseException:
                await api.session.close()
                await watch_api.session.close()
                raise
            up = time.perf_counter() - t0
            who = f"hostd with a pool of {100 + hosts} (workaround)" if own else "kumulus up's hostd"
            if len(names) >= hosts:
                break
            sockets = cluster.hostd_sockets()
            print(
                f"cluster {name}: {who} stalled: {registered}/{hosts} Hosts registered, {len(names)} Ready "
                f"after {up:.0f} s; hostd holds {sockets} sockets"
            )
            self.rows.append(
                Row(f"Hosts Ready ({hosts} sim hosts, {who})", f"{len(names)}/{hosts}", "all", "MISS")
            )
            await api.session.close()
            await watch_api.session.close()
            self.finish(cluster)
            if own or o.hostd == "up":
                return None
            own = True
            print(
                f"cluster {name}: starting again with hostd run by the benchmark, its pool raised to {100 + hosts}"
            )
        try:
            warm = await warm_up(api, "warmup", 30)
        except BaseException:
            await api.session.close()
            await watch_api.session.close()
            raise
        print(
            f"cluster {name}: {hosts} sim hosts Ready {up:.1f} s after start ({who}; pids {cluster.pids}); "
            f"warm-up Server Ready in {secs(warm)}"
        )
        self.rows.append(Row(f"Hosts Ready ({hosts} sim hosts, {who})", f"{hosts}/{hosts}", "all", "PASS"))
        return cluster, api, watch_api, names

    async def small(self) -> None:
        o = self.opts
        got = await self.with_cluster("small", o.small_hosts)
        if got is None:
            return
        cluster, api, watch_api, hosts = got
        try:
            print(f"phase 1: {o.small} Servers at {o.small_rate:g}/s on {o.small_hosts} hosts")
            with quiet_client_gc():
                res = await density_phase(
                    api, watch_api, cluster, "density", "small", o.small, o.small_rate, hosts, 30, o.settle
                )
            self.densities.append(res)
            self.rows += latency_rows(res)
        finally:
            await api.session.close()
            await watch_api.session.close()
            self.finish(cluster)

    async def large(self) -> None:
        o = self.opts
        got = await self.with_cluster("large", o.large_hosts)
        if got is None:
            self.write_rows()
            return
        cluster, api, watch_api, hosts = got
        try:
            print(f"phase 2: {o.large} Servers at {o.large_rate:g}/s on {o.large_hosts} hosts")
            with quiet_client_gc():
                res = await density_phase(
                    api, watch_api, cluster, "density", "large", o.large, o.large_rate, hosts, 60, o.settle
                )
            self.densities.append(res)
            self.rows += latency_rows(res)
            self.rows.append(
                Row(f"first create to last Ready ({res.count} Servers)", secs(res.total_time), "-", "-")
            )
            if res.per_host:
                self.rows.append(
                    Row(
                        f"Servers per Host, min / max ({res.hosts} hosts)",
                        f"{min(res.per_host)} / {max(res.per_host)}",
                        f"~{res.count / max(res.hosts, 1):g} each",
                        "-",
                    )
                )
            self.write_rows()
            print(f"phase 4: {o.objects} Servers in all (the rest unschedulable): RSS")
            with quiet_client_gc():
                budget = max(30.0, self.deadline - time.perf_counter() - 20)  # 20 s: RSS, stopping
                mem = await memory_phase(api, watch_api, cluster, o.objects, o.per_namespace, 4, budget)
            total = mem.existing + mem.created
            complete = total >= o.objects and mem.processed >= mem.created
            rss = mem.rss["operators"]
            self.rows.append(
                Row(
                    f"operators RSS at {total} Servers ({mem.existing} placed)",
                    f"{rss / MiB:.1f} MiB",
                    f"<= {TARGET_OPERATOR_RSS / MiB:.0f} MiB",
                    verdict(complete and rss <= TARGET_OPERATOR_RSS),
                )
            )
            if not complete and mem.processed:
                # The time limit came first: the growth per Server seen so far, carried on to `objects`.
                slope = (rss - mem.rss_before["operators"]) / max(1, mem.created)
                guess = rss + slope * (o.objects - total)
                self.rows.append(
                    Row(
                        f"  extrapolated to {o.objects} ({slope / 1024:.1f} KiB per Server seen)",
                        f"~{guess / MiB:.0f} MiB",
                        f"<= {TARGET_OPERATOR_RSS / MiB:.0f} MiB",
                        "(est.)",
                    )
                )
            for who, label in (
                ("operators", "operators"),
                ("hostd", f"hostd ({o.large_hosts} hosts)"),
                ("apiserver", "API server"),
            ):
                self.rows.append(
                    Row(
                        f"{label} RSS at {mem.existing} -> {total} Servers (peak)",
                        f"{mem.rss_before[who] / MiB:.0f} -> {mem.rss[who] / MiB:.0f} MiB ({mem.hwm[who] / MiB:.0f})",
                        "-",
                        "-",
                    )
                )
            seen = (
                secs(mem.process_time)
                if complete
                else f"incomplete: {mem.processed}/{o.objects - mem.existing}"
            )
            self.rows.append(
                Row(f"{mem.created} unschedulable Servers: created + operator status", seen, "-", "-")
            )
        finally:
            await api.session.close()
            await watch_api.session.close()
            self.finish(cluster)

    def write_rows(self) -> None:
        server = [w for r in self.densities for w in r.server_writes]
        events = [w for r in self.densities for w in r.event_writes]
        owned = [w for r in self.densities for w in r.owned_writes]
        total = [w for r in self.densities for w in r.total_writes]
        after = sum(r.after_ready for r in self.densities)
        n = len(total)
        self.rows += [
            Row(
                f"Server writes to Ready, mean / max ({n} Servers)",
                f"{mean(server):.2f} / {max(server, default=0)}",
                "-",
                "-",
            ),
            Row(
                "Event writes per Server, mean / max",
                f"{mean(events):.2f} / {max(events, default=0)}",
                "-",
                "-",
            ),
            Row(
                "writes to objects it owns (Volumes, Ports), mean / max",
                f"{mean(owned):.2f} / {max(owned, default=0)}",
                "-",
                "-",
            ),
            Row(
                "API writes per Server in all, mean / max",
                f"{mean(total):.2f} / {max(total, default=0)}",
                f"<= {TARGET_WRITES}",
                verdict(bool(total) and max(total) <= TARGET_WRITES),
            ),
            Row(
                f"Server writes after Ready (within {self.opts.settle:g} s)",
                str(after),
                "0",
                verdict(after == 0),
            ),
        ]

    def finish(self, cluster: Cluster) -> None:
        if cluster.proc is not None and cluster.proc.poll() is not None:
            print("kumulus up exited during the run:\n" + "".join(cluster.output[-40:]), file=sys.stderr)
        bad = cluster.tracebacks()
        cluster.stop()
        self.cluster = None
        for who in bad:
            print(f"  Traceback in the {who} log:\n{cluster.log_tail(who)}", file=sys.stderr)


def print_table(rows: list[Row], opts: Options) -> None:
    print()
    print(
        f"Kumulus density benchmark ({os.cpu_count()} cores; sim boot-delay {opts.boot_delay:g} s, "
        f"lease-seconds {opts.lease_seconds:g})"
    )
    header = Row("figure", "value", "target", "result")
    widths = [
        max(len(getattr(r, f)) for r in [*rows, header]) for f in ("name", "value", "target", "verdict")
    ]
    for r in (header, None, *rows):
        if r is None:
            print("-+-".join("-" * w for w in widths))
            continue
        print(f"{r.name:<{widths[0]}} | {r.value:>{widths[1]}} | {r.target:<{widths[2]}} | {r.verdict}")


def parse_args(argv: list[str] | None) -> Options:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--small", type=int, default=100, help="Servers in phase 1 (default: %(default)s)")
    p.add_argument(
        "--small-rate", type=float, default=10.0, help="creates/s in phase 1 (default: %(default)s)"
    )
    p.add_argument("--small-hosts", type=int, default=20, help="sim hosts in phase 1 (default: %(default)s)")
    p.add_argument("--large", type=int, default=1000, help="Servers in phase 2 (default: %(default)s)")
    p.add_argument(
        "--large-rate", type=float, default=10.0, help="creates/s in phase 2 (default: %(default)s)"
    )
    p.add_argument("--large-hosts", type=int, default=200, help="sim hosts in phase 2 (default: %(default)s)")
    p.add_argument(
        "--objects", type=int, default=10000, help="Servers in all for the RSS (default: %(default)s)"
    )
    p.add_argument(
        "--per-namespace",
        type=int,
        default=500,
        help="unschedulable Servers to a namespace in phase 4 (default: %(default)s)",
    )
    p.add_argument("--boot-delay", type=float, default=0.0, help="sim boot delay, s (default: %(default)s)")
    p.add_argument(
        "--lease-seconds", type=float, default=10.0, help="hostd lease interval (default: %(default)s)"
    )
    p.add_argument(
        "--settle", type=float, default=3.0, help="s to wait after the last Ready (default: %(default)s)"
    )
    p.add_argument(
        "--hostd",
        choices=("auto", "up", "bench"),
        default="auto",
        help="who runs hostd: kumulus up (up), this benchmark with its connection pool raised to 100 + hosts (bench), or "
        "kumulus up, then the benchmark if kumulus up's hostd stalls (auto, the default)",
    )
    p.add_argument(
        "--quick", action="store_true", help="smoke run: 30 + 200 Servers, 10 + 40 hosts, 2,000 objects"
    )
    p.add_argument(
        "--time-limit",
        type=float,
        default=340.0,
        help="s for the whole run; phase 4 stops creating when it is near (default: %(default)s)",
    )
    p.add_argument("--keep-state", action="store_true", help="keep the temporary state directories")
    p.add_argument(
        "--small-only",
        action="store_true",
        help="phase 1 only, with phase 3's writes over its Servers (about 40 s)",
    )
    a = p.parse_args(argv)
    if a.quick:
        a.small, a.small_hosts, a.large, a.large_hosts, a.objects = 30, 10, 200, 40, 2000
    return Options(
        small=max(1, a.small),
        small_rate=max(0.1, a.small_rate),
        small_hosts=max(1, a.small_hosts),
        large=max(1, a.large),
        large_rate=max(0.1, a.large_rate),
        large_hosts=max(1, a.large_hosts),
        objects=max(0, a.objects),
        per_namespace=max(1, a.per_namespace),
        boot_delay=max(0.0, a.boot_delay),
        lease_seconds=max(0.5, a.lease_seconds),
        settle=max(0.0, a.settle),
        hostd=a.hostd,
        keep_state=a.keep_state,
        time_limit=max(60.0, a.time_limit),
        quick=a.quick,
        small_only=a.small_only,
    )


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    base = Path(tempfile.mkdtemp(prefix="kumulus-density-"))
    run = Run(opts, base)
    started = time.perf_counter()

    async def phases() -> None:
        await run.small()
        if opts.small_only:
            run.write_rows()  # phase 3 over phase 1's Servers only
        else:
            await run.large()

    try:
        asyncio.run(phases())
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
    finally:
        if run.cluster is not None:
            run.cluster.stop()
        if opts.keep_state:
            print(f"state kept in {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    print_table(run.rows, opts)
    print(f"total run time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

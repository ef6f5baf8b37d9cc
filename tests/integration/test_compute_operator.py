"""The compute operator under `kumulus up --components operators`: scheduling, Ready (which waits for the
boot Volume the storage operator clones on its simulated backend), resize, Zone and HostAggregate status,
deletion, Host heartbeats, and how few writes a Server costs. The tests play hostd: they register Hosts
and write the Servers' Running condition (and Ready, as hostd does) through the status subresource."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from controllers.compute_plan import finish_resize, with_ready
from controllers.conditions import find, set_condition

from .cluster import ROOT, Cluster, running, wait_for

pytestmark = pytest.mark.integration

RESYNC = 2.0
ZONES = {"az1": ["dc1"], "az2": ["dc2"], "az3": ["dc3"], "sz1": ["dc1", "dc2", "dc3"]}
HOSTS = {"h1": ("az1", "dc1"), "h2": ("az2", "dc2"), "h3": ("sz1", "dc3"), "h4": ("az3", "dc3")}
FLAVORS = {"m1.small": (1, 1024), "m1.full": (1, 8192), "m1.huge": (1, 1 << 20)}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    env = {"KUMULUS_RESYNC_SECONDS": str(RESYNC), "KUMULUS_STORAGE_SIM_DELAY": "0.1"}
    c = Cluster(Path(tmp_path_factory.mktemp("s")), crds_dir=ROOT / "crds", components="operators", env=env)
    with running(c):
        register_infrastructure(c)
        yield c


def apply(c: Cluster, *docs: dict[str, Any]) -> None:
    c.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(docs))


def ready_condition() -> list[dict[str, Any]]:
    return set_condition([], "Ready", True, "HostdReady", "hostd is running")


STORAGE = (
    {
        "apiVersion": "storage.kumulus.dev/v1alpha1",
        "kind": "VolumeType",
        "metadata": {"name": "standard"},
        "spec": {"isDefault": True, "backends": [{"zone": z, "pool": "volumes"} for z in ZONES]},
    },
    {
        "apiVersion": "image.kumulus.dev/v1alpha1",
        "kind": "ClusterImage",
        "metadata": {"name": "debian-12"},
        "spec": {
            "source": {"url": "https://cloud.debian.org/images/cloud/bookworm/latest/debian-12.qcow2"},
            "diskFormat": "qcow2",
            "sha256": "c20a65411a99b6ad0f5d5162b0da7d6bf1d0ee1c8d051d6fa0cd5e7094a43719",
        },
    },
)


def register_infrastructure(c: Cluster) -> None:
    api = "infra.kumulus.dev/v1alpha1"
    apply(c, *STORAGE)
    for name, sites in ZONES.items():
        kind = "Stretched" if len(sites) > 1 else "Physical"
        apply(
            c,
            {
                "apiVersion": api,
                "kind": "Zone",
                "metadata": {"name": name},
                "spec": {"type": kind, "sites": sites},
            },
        )
    for name, (vcpus, ram) in FLAVORS.items():
        flavor = {"vcpus": vcpus, "ramMiB": ram}
        apply(
            c,
            {
                "apiVersion": "compute.kumulus.dev/v1alpha1",
                "kind": "Flavor",
                "metadata": {"name": name},
                "spec": flavor,
            },
        )
    for name, (zone, site) in HOSTS.items():
        spec = {"zone": zone, "site": site, "roles": ["Compute"], "capacity": {"vcpus": 8, "ramMiB": 8704}}
        apply(c, {"apiVersion": api, "kind": "Host", "metadata": {"name": name}, "spec": spec})
        status = json.dumps({"status": {"conditions": ready_condition()}})
        c.kubectl("patch", "host", name, "--subresource=status", "--type=merge", "-p", status)


def get(c: Cluster, ns: str, name: str, kind: str = "server") -> dict[str, Any]:
    args = [kind, name, "-o", "json"] + (["-n", ns] if ns else [])
    res = c.kubectl("get", *args, check=False)
    return json.loads(res.stdout) if res.returncode == 0 else {}


def create_server(c: Cluster, ns: str, name: str, flavor: str = "m1.small", **spec: Any) -> None:
    body = {"flavor": flavor, "image": "debian-12", **spec}
    apply(
        c,
        {
            "apiVersion": "compute.kumulus.dev/v1alpha1",
            "kind": "Server",
            "metadata": {"name": name, "namespace": ns},
            "spec": body,
        },
    )


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    return find((obj.get("status") or {}).get("conditions"), kind) or {}


def scheduled(c: Cluster, ns: str, name: str, timeout: float = 20) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        obj = get(c, ns, name)
        return obj if condition(obj, "Scheduled").get("status") == "True" else None

    result: dict[str, Any] = wait_for(check, timeout=timeout)
    return result


def volumes_ready(c: Cluster, ns: str, name: str, timeout: float = 20) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        obj = get(c, ns, name)
        return obj if condition(obj, "VolumesReady").get("status") == "True" else None

    result: dict[str, Any] = wait_for(check, timeout=timeout)
    return result


def play_hostd_running(c: Cluster, ns: str, name: str, resized: bool = False) -> None:
    """What hostd does once the guest runs: condition Running=True and phase Running, keeping the others,
    and Ready derived as the operator would (`with_ready`); `resized`: the approved resize applied."""
    for _ in range(10):
        obj = get(c, ns, name)
        status = obj["status"]
        if resized:
            status = finish_resize(status, obj["metadata"]["generation"], None)
        conditions = set_condition(status.get("conditions"), "Running", True, "Started", "the guest runs")
        conditions, _ = with_ready(conditions, obj["metadata"]["generation"], None)
        patch = {
            "metadata": {"resourceVersion": obj["metadata"]["resourceVersion"]},
            "status": {**status, "conditions": conditions, "phase": "Running"},
        }
        res = c.kubectl(
            "patch",
            "server",
            name,
            "-n",
            ns,
            "--subresource=status",
            "--type=merge",
            "-p",
            json.dumps(patch),
            check=False,
        )
        if res.returncode == 0:
            return
        assert "conflict" in (res.stderr + res.stdout).lower(), res.stderr
    raise AssertionError("could not write Running")


def test_delete_frees_the_slot(cluster: Cluster, namespace: str) -> None:
    create_server(cluster, namespace, "a", "m1.full", zone="az3")
    a = scheduled(cluster, namespace, "a")
    assert a["status"]["host"] == "h4"
    assert "compute.kumulus.dev/server" in a["metadata"]["finalizers"]
    create_server(cluster, namespace, "b", "m1.full", zone="az3")
    b = wait_for(
        lambda: (
            condition(obj := get(cluster, namespace, "b"), "Scheduled").get("reason") == "Unschedulable"
            and obj
        )
    )
    assert b["status"]["phase"] == "Pending"
    assert b["status"]["message"].startswith("0/4 hosts fit: 3 not in zone az3, 1 insufficient RAM")
    cluster.kubectl("delete", "server", "a", "-n", namespace, "--timeout=20s")
    assert get(cluster, namespace, "a") == {}
    b = scheduled(cluster, namespace, "b")
    assert b["status"]["host"] == "h4" and "message" not in b["status"]
    cluster.kubectl("delete", "server", "b", "-n", namespace, "--timeout=20s")


def test_server_is_scheduled_labelled_and_zone_pinned(cluster: Cluster, namespace: str) -> None:
    create_server(cluster, namespace, "web-1", zone="az2")
    obj = scheduled(cluster, namespace, "web-1")
    status = obj["status"]
    assert (status["host"], status["zone"], status["flavor"], status["phase"]) == (
        "h2",
        "az2",
        "m1.small",
        "Scheduled",
    )
    assert obj["metadata"]["labels"]["infra.kumulus.dev/host"] == "h2"
    cond = condition(obj, "Scheduled")
    assert cond["reason"] == "Placed" and "placed on h2 in zone az2" in cond["message"]
    assert status["observedGeneration"] == obj["metadata"]["generation"]
    assert condition(obj, "Ready")["status"] == "False"
    labelled = cluster.kubectl(
        "get", "servers", "-n", namespace, "-l", "infra.kumulus.dev/host=h2", "-o", "name"
    )
    assert labelled.stdout.split() == ["server.compute.kumulus.dev/web-1"]
    # The boot Volume web-1-root is cloned by the storage operator: VolumesReady follows it.
    obj = volumes_ready(cluster, namespace, "web-1")
    assert condition(obj, "NetworkReady")["reason"] == "NoNetworks"
    assert get(cluster, namespace, "web-1-root", "volume")["status"]["phase"] == "Available"
    assert condition(obj, "Ready")["reason"] == "Starting"  # only the guest missing now


def test_ready_waits_for_the_boot_volume(cluster: Cluster, namespace: str) -> None:
    create_server(cluster, namespace, "noimage", zone="az1", image="no-such-image")
    obj = scheduled(cluster, namespace, "noimage")

    def named() -> dict[str, Any] | None:
        o = get(cluster, namespace, "noimage")
        return o if condition(o, "VolumesReady").get("reason") == "VolumeNotReady" else None

    obj = wait_for(named, timeout=20)
    cond = condition(obj, "VolumesReady")
    assert cond["status"] == "False"
    assert cond["message"].startswith("boot volume noimage-root is not ready (ImageNotFound")
    play_hostd_running(cluster, namespace, "noimage")  # even a guest running does not make it Ready
    time.sleep(RESYNC * 1.5)
    ready = condition(get(cluster, namespace, "noimage"), "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "VolumeNotReady")


def test_resize_in_place_and_refused(cluster: Cluster, namespace: str) -> None:
    create_server(cluster, namespace, "grow", "m1.small", zone="az3")
    assert scheduled(cluster, namespace, "grow")["status"]["host"] == "h4"
    volumes_ready(cluster, namespace, "grow")
    play_hostd_running(cluster, namespace, "grow")
    cluster.kubectl(
        "patch",
        "server",
        "grow",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        '{"spec":{"resize":{"flavor":"m1.full"}}}',
    )

    def resizing() -> dict[str, Any] | None:
        o = get(cluster, namespace, "grow")
        return o if (o.get("status") or {}).get("resizeFlavor") == "m1.full" else None

    obj = wait_for(resizing, timeout=20)
    assert condition(obj, "Resized")["reason"] == "Resizing" and obj["status"]["flavor"] == "m1.small"
    # No overcommit meanwhile: h4 holds the larger flavor (8 GiB of 8 GiB), nothing else fits there.
    create_server(cluster, namespace, "squeeze", "m1.small", zone="az3")
    obj = wait_for(lambda: condition(o := get(cluster, namespace, "squeeze"), "Scheduled") and o)
    assert condition(obj, "Scheduled")["reason"] == "Unschedulable"
    play_hostd_running(cluster, namespace, "grow", resized=True)  # hostd applied it
    obj = get(cluster, namespace, "grow")
    assert obj["status"]["flavor"] == "m1.full" and "resizeFlavor" not in obj["status"]
    rv = obj["metadata"]["resourceVersion"]
    time.sleep(RESYNC * 1.5)
    assert get(cluster, namespace, "grow")["metadata"]["resourceVersion"] == rv  # nothing to add
    quota = {"apiVersion": "infra.kumulus.dev/v1alpha1", "kind": "Quota", "spec": {"limits": {"ramMiB": -1}}}
    apply(cluster, {**quota, "metadata": {"name": "quota", "namespace": namespace}})
    wait_for(
        lambda: (get(cluster, namespace, "quota", "quota.infra.kumulus.dev").get("status") or {}).get("used")
    )
    cluster.kubectl(
        "patch",
        "server",
        "grow",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        '{"spec":{"resize":{"flavor":"m1.huge"}}}',
    )

    def refused() -> dict[str, Any] | None:
        o = get(cluster, namespace, "grow")
        return o if condition(o, "Resized").get("reason") == "ResizeUnschedulable" else None

    obj = wait_for(refused, timeout=20)
    assert condition(obj, "Resized")["message"].startswith("flavor m1.huge does not fit on host h4: ")
    assert obj["status"]["flavor"] == "m1.full" and obj["status"]["host"] == "h4"
    for name in ("grow", "squeeze"):
        cluster.kubectl("delete", "server", name, "-n", namespace, "--timeout=20s")


def test_zone_and_aggregate_status(cluster: Cluster) -> None:
    def zone_ok() -> dict[str, Any] | None:
        o = get(cluster, "", "az2", "zone")
        hosts = (o.get("status") or {}).get("hosts") or {}
        return o if hosts.get("total") == 1 and condition(o, "Ready").get("status") == "True" else None

    obj = wait_for(zone_ok, timeout=20)
    status = obj["status"]
    assert status["hosts"] == {"total": 1, "ready": 1, "notReady": 0, "maintenance": 0}
    assert status["allocatable"]["ramMiB"] == 8192 and status["observedGeneration"] == 1
    apply(
        cluster,
        {
            "apiVersion": "infra.kumulus.dev/v1alpha1",
            "kind": "HostAggregate",
            "metadata": {"name": "az1-all"},
            "spec": {"hostSelector": {}, "zone": "az1", "metadata": {"ssd": "true"}},
        },
    )

    def members() -> dict[str, Any] | None:
        o = get(cluster, "", "az1-all", "hostaggregate")
        return o if (o.get("status") or {}).get("hostCount") is not None else None

    obj = wait_for(members, timeout=20)
    assert obj["status"]["hosts"] == ["h1"] and obj["status"]["hostCount"] == 1
    assert condition(obj, "Ready")["status"] == "True"
    rv = obj["metadata"]["resourceVersion"]
    time.sleep(6)  # a pass later: unchanged, not written
    assert get(cluster, "", "az1-all", "hostaggregate")["metadata"]["resourceVersion"] == rv


def test_anti_affinity_group_spreads(cluster: Cluster, namespace: str) -> None:
    apply(
        cluster,
        {
            "apiVersion": "compute.kumulus.dev/v1alpha1",
            "kind": "ServerGroup",
            "metadata": {"name": "db", "namespace": namespace},
            "spec": {"policy": "AntiAffinity"},
        },
    )
    for i in range(3):
        create_server(cluster, namespace, f"db-{i}", serverGroup="db")
    hosts = [scheduled(cluster, namespace, f"db-{i}")["status"]["host"] for i in range(3)]
    assert len(set(hosts)) == 3, hosts


def test_too_big_server_is_unschedulable(cluster: Cluster, namespace: str) -> None:
    # m1.huge is beyond the default RAM quota: lift it, and wait until the quota operator counts the Quota.
    quota = {"limits": {"ramMiB": -1}}
    meta = {"name": "quota", "namespace": namespace}
    apply(
        cluster,
        {"apiVersion": "infra.kumulus.dev/v1alpha1", "kind": "Quota", "metadata": meta, "spec": quota},
    )
    wait_for(
        lambda: (get(cluster, namespace, "quota", "quota.infra.kumulus.dev").get("status") or {}).get("used")
    )
    create_server(cluster, namespace, "big", "m1.huge")

    def check() -> dict[str, Any] | None:
        obj = get(cluster, namespace, "big")
        return obj if condition(obj, "Scheduled").get("reason") == "Unschedulable" else None

    obj = wait_for(check, timeout=20)
    cond = condition(obj, "Scheduled")
    assert cond["status"] == "False" and "hosts fit" in cond["message"]
    assert cond["message"] == obj["status"]["message"] == "0/4 hosts fit: 4 insufficient RAM"
    assert obj["status"]["phase"] == "Pending" and "host" not in obj["status"]
    assert condition(obj, "Ready")["reason"] == "Unschedulable"
    rv = obj["metadata"]["resourceVersion"]
    time.sleep(RESYNC * 2.5)  # resync passes over it: the message is stable, nothing is written
    assert get(cluster, namespace, "big")["metadata"]["resourceVersion"] == rv
    create_server(cluster, namespace, "nowhere", zone="az9")
    obj = wait_for(lambda: condition(o := get(cluster, namespace, "nowhere"), "Scheduled") and o)
    assert condition(obj, "Scheduled")["message"] == "0/4 hosts fit: 4 not in zone az9 (no such zone)"
    create_server(cluster, namespace, "noflavor", "m9.none")
    obj = wait_for(lambda: condition(o := get(cluster, namespace, "noflavor"), "Scheduled") and o)
    assert condition(obj, "Scheduled")["reason"] == "FlavorNotFound"


def watch_events(text: str) -> list[dict[str, Any]]:
    decoder, out, at = json.JSONDecoder(), [], 0
    text = text.strip()
    while at < len(text):
        event, end = decoder.raw_decode(text, at)
        out.append(event)
        at = end
        while at < len(text) and text[at].isspace():
            at += 1
    return out


def test_ready_and_writes_per_server(cluster: Cluster, namespace: str) -> None:
    watch = cluster.kubectl_bg(
        "get", "servers", "-n", namespace, "--watch", "--output-watch-events", "-o", "json"
    )
    try:
        time.sleep(1.0)
        create_server(cluster, namespace, "app", zone="az1")
        obj = scheduled(cluster, namespace, "app")
        assert obj["status"]["host"] == "h1"
        volumes_ready(cluster, namespace, "app")  # hostd starts no guest before
        play_hostd_running(cluster, namespace, "app")

        def ready() -> dict[str, Any] | None:
            o = get(cluster, namespace, "app")
            return o if condition(o, "Ready").get("status") == "True" else None

        obj = wait_for(ready, timeout=20)
        assert condition(obj, "Ready")["reason"] == "Running"
        assert obj["status"]["phase"] == "Running"  # hostd's phase and condition are kept
        assert condition(obj, "Running")["status"] == "True"
        assert condition(obj, "Scheduled")["status"] == "True"
        time.sleep(RESYNC * 2.5)  # resync passes write nothing
        cluster.kubectl("delete", "server", "app", "-n", namespace, "--timeout=20s")
        time.sleep(1.0)
    finally:
        watch.terminate()
        out, _ = watch.communicate(timeout=10)
    events = watch_events(out)
    versions = [e["object"]["metadata"]["resourceVersion"] for e in events]
    assert len(set(versions)) == len(versions)
    # ADDED (user), MODIFIED: label+finalizer, Scheduled (+ VolumesReady), VolumesReady once the boot
    # Volume is (unless it already was: spec.zone lets the storage operator start at once), Running and
    # Ready (the test as hostd), deletionTimestamp (user), then DELETED when the operator removes its
    # finalizer. No Events on this path.
    writes, kinds = count_writes(events)
    assert kinds in (["ADDED", *["MODIFIED"] * n, "DELETED"] for n in (4, 5)), kinds
    hostd_writes = 1
    print(f"writes per Server: operator {writes - hostd_writes}, hostd {hostd_writes}")
    assert writes - hostd_writes in (3, 4)


def test_host_heartbeat_lost(cluster: Cluster) -> None:
    cluster.kubectl("create", "namespace", "kumulus-system", check=False)
    spec = {"zone": "az1", "site": "dc1", "roles": ["Compute"], "capacity": {"vcpus": 8, "ramMiB": 8704}}
    apply(
        cluster,
        {
            "apiVersion": "infra.kumulus.dev/v1alpha1",
            "kind": "Host",
            "metadata": {"name": "h5"},
            "spec": spec,
        },
    )
    cluster.kubectl(
        "patch",
        "host",
        "h5",
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps({"status": {"conditions": ready_condition()}}),
    )
    lease = {
        "holderIdentity": "hostd-h5",
        "leaseDurationSeconds": 10,
        "renewTime": "2020-01-01T00:00:00.000000Z",
    }
    apply(
        cluster,
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": "host-h5", "namespace": "kumulus-system"},
            "spec": lease,
        },
    )

    def lost() -> dict[str, Any] | None:
        obj = get(cluster, "", "h5", "host")
        return obj if condition(obj, "Ready").get("reason") == "HeartbeatLost" else None

    obj = wait_for(lost, timeout=20)
    assert condition(obj, "Ready")["status"] == "False"
    assert "no heartbeat since 2020-01-01T00:00:00" in condition(obj, "Ready")["message"]
    cluster.kubectl("delete", "host", "h5")


def count_writes(events: list[dict[str, Any]]) -> tuple[int, list[str]]:
    """Writes by the components over a Server's life: the MODIFIED events before the user's delete, plus
    the finalizer removal that ends it (DELETED)."""
    kinds = [e["type"] for e in events]
    modified = [e for e in events if e["type"] == "MODIFIED"]
    before_delete = [e for e in modified if not e["object"]["metadata"].get("deletionTimestamp")]
    return len(before_delete) + (kinds[-1] == "DELETED"), kinds


@pytest.mark.skipif(not (ROOT / "hostd" / "main.py").exists(), reason="hostd not in the tree")
def test_e2e_with_hostd_sim(tmp_path: Path) -> None:
    state = tmp_path / "e2e"
    state.mkdir()
    (state / "hostd.yaml").write_text("lease-seconds: 0.5\nboot-delay: 0.3\n")
    c = Cluster(state, crds_dir=ROOT / "crds", components="operators,hostd", extra_args=("--sim-hosts", "4"))
    c.start()
    try:
        api = "infra.kumulus.dev/v1alpha1"
        for name, sites in ZONES.items():
            kind = "Stretched" if len(sites) > 1 else "Physical"
            apply(
                c,
                {
                    "apiVersion": api,
                    "kind": "Zone",
                    "metadata": {"name": name},
                    "spec": {"type": kind, "sites": sites},
                },
            )
        for fname, ram in (("m1.small", 1024), ("m1.medium", 4096)):
            apply(
                c,
                {
                    "apiVersion": "compute.kumulus.dev/v1alpha1",
                    "kind": "Flavor",
                    "metadata": {"name": fname},
                    "spec": {"vcpus": 1, "ramMiB": ram},
                },
            )
        apply(c, *STORAGE)
        wait_for(
            lambda: len(json.loads(c.kubectl("get", "hosts", "-o", "json").stdout)["items"]) == 4, timeout=20
        )
        ns = "e2e"
        c.kubectl("create", "namespace", ns)
        watch = c.kubectl_bg("get", "servers", "-n", ns, "--watch", "--output-watch-events", "-o", "json")
        try:
            time.sleep(1.0)
            create_server(c, ns, "vm", zone="az2")

            def ready() -> dict[str, Any] | None:
                o = get(c, ns, "vm")
                return o if condition(o, "Ready").get("status") == "True" else None

            obj = wait_for(ready, timeout=30)
            assert obj["status"]["host"] == "sim-az2-1" and obj["status"]["phase"] == "Running"
            assert condition(obj, "VolumesReady")["status"] == "True"
            time.sleep(3.0)
            c.kubectl("delete", "server", "vm", "-n", ns, "--timeout=30s")
            time.sleep(1.0)
        finally:
            watch.terminate()
            out, _ = watch.communicate(timeout=10)
        writes, kinds = count_writes(watch_events(out))
        print(f"e2e writes per Server (operator + hostd): {writes}, kinds {kinds}")
        assert kinds[-1] == "DELETED"
        assert writes <= 5, kinds
        # Resize with the real (sim) hostd: approved on its host, applied, status.flavor follows.
        create_server(c, ns, "grow", zone="az2")
        wait_for(lambda: condition(get(c, ns, "grow"), "Ready").get("status") == "True", timeout=30)
        c.kubectl(
            "patch",
            "server",
            "grow",
            "-n",
            ns,
            "--type=merge",
            "-p",
            '{"spec":{"resize":{"flavor":"m1.medium"}}}',
        )

        def resized() -> dict[str, Any] | None:
            o = get(c, ns, "grow")
            return o if (o.get("status") or {}).get("flavor") == "m1.medium" else None

        obj = wait_for(resized, timeout=30)
        assert condition(obj, "Resized")["status"] == "True" and "resizeFlavor" not in obj["status"]
        assert condition(obj, "Ready")["status"] == "True" and obj["status"]["phase"] == "Running"
    finally:
        c.stop()
    log = (state / "kumulus-operators.log").read_text()
    assert "Traceback" not in log, log[-5000:]

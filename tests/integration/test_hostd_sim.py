"""hostd with the sim driver under a real `kumulus up --components hostd --sim-hosts 4`: Hosts register,
Leases renew, Servers placed on a host (the test plays the scheduler) run, power off and on, and reboot
(spec.reboot: served once, shown in status and Events), Servers placed elsewhere are left alone, and hostd
dies with `kumulus up`."""

from __future__ import annotations

import json
import re
import signal
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from .cluster import ROOT, Cluster, wait_for

pytestmark = pytest.mark.integration

COMPUTE = ("compute.kumulus.dev", "v1alpha1")
INFRA = ("infra.kumulus.dev", "v1alpha1")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    state = Path(tmp_path_factory.mktemp("hostd")) / "s"
    state.mkdir()
    (state / "hostd.yaml").write_text("lease-seconds: 0.5\nboot-delay: 0.3\n")
    c = Cluster(state, crds_dir=ROOT / "crds", components="hostd", extra_args=("--sim-hosts", "4"))
    c.start()
    yield c
    if c.proc is not None:
        c.stop()


@pytest.fixture(scope="module")
def api(cluster: Cluster) -> Any:
    from kubernetes import client

    c = cluster.api_client()
    return client.CustomObjectsApi(c), client.CoordinationV1Api(c), client.CoreV1Api(c)


def hosts(api: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api[0].list_cluster_custom_object(*INFRA, "hosts")["items"]
    return items


def ready(obj: dict[str, Any], kind: str = "Ready") -> dict[str, Any] | None:
    return next((c for c in (obj.get("status") or {}).get("conditions", []) if c["type"] == kind), None)


def test_hosts_register_ready_with_labels(api: Any) -> None:
    def all_ready() -> list[dict[str, Any]] | None:
        found = hosts(api)
        ok = len(found) == 4 and all((ready(h) or {}).get("status") == "True" for h in found)
        return found if ok else None

    found = wait_for(all_ready, timeout=20)
    assert {h["spec"]["zone"] for h in found} == {"az1", "az2", "az3", "sz1"}
    for h in found:
        labels = h["metadata"]["labels"]
        assert labels["infra.kumulus.dev/zone"] == h["spec"]["zone"]
        assert labels["infra.kumulus.dev/site"] == h["spec"]["site"]
        assert h["metadata"]["name"] == f"sim-{h['spec']['zone']}-1"
        assert ready(h)["reason"] == "HostdRunning"  # type: ignore[index]
        assert h["status"]["dataPlane"] == {"libvirt": "Ready", "ovn": "Ready", "ceph": "Ready"}
        assert h["status"]["heartbeatTime"]


def test_leases_renew(api: Any) -> None:
    coord = api[1]

    def leases() -> dict[str, str] | None:
        items = coord.list_namespaced_lease("kumulus-system").items
        found = {i.metadata.name: i for i in items if i.metadata.name.startswith("host-sim-")}
        if len(found) != 4:
            return None
        for name, lease in found.items():
            assert lease.spec.holder_identity == name.removeprefix("host-")
            assert lease.spec.lease_duration_seconds == 2
        return {n: str(i.spec.renew_time) for n, i in found.items()}

    first = wait_for(leases, timeout=20)
    time.sleep(1.5)
    later = leases()
    assert later is not None
    assert all(later[n] > first[n] for n in first), (first, later)


def make_server(api: Any, namespace: str, name: str, host: str, zone: str, volumes: bool = True) -> None:
    """Create a Server and place it on `host` as the scheduler does: its label, then its status."""
    objs = api[0]
    body = {
        "apiVersion": "compute.kumulus.dev/v1alpha1",
        "kind": "Server",
        "metadata": {"name": name},
        "spec": {"flavor": "m1.small", "image": "debian-12", "zone": zone},
    }
    objs.create_namespaced_custom_object(*COMPUTE, namespace, "servers", body)
    labels = {"metadata": {"labels": {"infra.kumulus.dev/host": host}}}
    objs.patch_namespaced_custom_object(*COMPUTE, namespace, "servers", name, labels)
    # As the operator: placed, and what the guest needs (boot Volume, Ports) ready, or hostd waits.
    conditions = [
        {
            "type": kind,
            "status": "True" if volumes or kind != "VolumesReady" else "False",
            "reason": kind,
            "message": "",
            "lastTransitionTime": "2025-01-01T00:00:00Z",
        }
        for kind in ("Scheduled", "VolumesReady", "NetworkReady")
    ]
    status = {"status": {"host": host, "zone": zone, "phase": "Scheduled", "conditions": conditions}}
    objs.patch_namespaced_custom_object_status(*COMPUTE, namespace, "servers", name, status)


@pytest.fixture(scope="module")
def namespace(api: Any) -> str:
    from kubernetes import client

    name = "t-" + uuid.uuid4().hex[:8]
    api[2].create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    flavor = {
        "apiVersion": "compute.kumulus.dev/v1alpha1",
        "kind": "Flavor",
        "metadata": {"name": "m1.small"},
        "spec": {"vcpus": 1, "ramMiB": 2048, "diskGiB": 20},
    }
    api[0].create_cluster_custom_object(*COMPUTE, "flavors", flavor)
    return name


def get_server(api: Any, namespace: str, name: str) -> dict[str, Any]:
    obj: dict[str, Any] = api[0].get_namespaced_custom_object(*COMPUTE, namespace, "servers", name)
    return obj


def test_server_runs_and_powers_off(api: Any, namespace: str) -> None:
    wait_for(lambda: len(hosts(api)) == 4, timeout=20)
    make_server(api, namespace, "web-1", "sim-az1-1", "az1")

    def phase(want: str) -> dict[str, Any] | None:
        obj = get_server(api, namespace, "web-1")
        return obj if (obj.get("status") or {}).get("phase") == want else None

    obj = wait_for(lambda: phase("Running"), timeout=10)
    assert obj["status"]["powerState"] == "On" and obj["status"]["bootTime"]
    cond = ready(obj, "Running")
    assert cond is not None and (cond["status"], cond["reason"]) == ("True", "GuestRunning")
    assert obj["status"]["host"] == "sim-az1-1" and obj["status"]["zone"] == "az1"

    # Level-based: nothing more is written while nothing changes.
    rv = obj["metadata"]["resourceVersion"]
    time.sleep(1.5)
    assert get_server(api, namespace, "web-1")["metadata"]["resourceVersion"] == rv

    api[0].patch_namespaced_custom_object(
        *COMPUTE, namespace, "servers", "web-1", {"spec": {"powerState": "Off"}}
    )
    obj = wait_for(lambda: phase("Stopped"), timeout=10)
    assert obj["status"]["powerState"] == "Off"
    cond = ready(obj, "Running")
    assert cond is not None and (cond["status"], cond["reason"]) == ("False", "PoweredOff")

    api[0].patch_namespaced_custom_object(
        *COMPUTE, namespace, "servers", "web-1", {"spec": {"powerState": "On"}}
    )
    wait_for(lambda: phase("Running"), timeout=10)


def test_placement_that_does_not_fit_is_rejected(api: Any, namespace: str) -> None:
    big = {
        "apiVersion": "compute.kumulus.dev/v1alpha1",
        "kind": "Flavor",
        "metadata": {"name": "huge"},
        "spec": {"vcpus": 1024, "ramMiB": 16 * 1024 * 1024},
    }
    api[0].create_cluster_custom_object(*COMPUTE, "flavors", big)
    body = {
        "apiVersion": "compute.kumulus.dev/v1alpha1",
        "kind": "Server",
        "metadata": {"name": "huge-1", "labels": {"infra.kumulus.dev/host": "sim-az2-1"}},
        "spec": {"flavor": "huge", "image": "debian-12", "zone": "az2"},
    }
    api[0].create_namespaced_custom_object(*COMPUTE, namespace, "servers", body)
    api[0].patch_namespaced_custom_object_status(
        *COMPUTE, namespace, "servers", "huge-1", {"status": {"host": "sim-az2-1", "zone": "az2"}}
    )

    def rejected() -> dict[str, Any] | None:
        cond = ready(get_server(api, namespace, "huge-1"), "Scheduled")
        return cond if cond and cond["reason"] == "PlacementRejected" else None

    cond = wait_for(rejected, timeout=10)
    assert cond["status"] == "False" and "no room" in cond["message"]
    obj = get_server(api, namespace, "huge-1")
    assert obj["status"]["host"] == "sim-az2-1" and "phase" not in obj["status"]


def test_server_of_another_host_is_untouched(api: Any, namespace: str) -> None:
    make_server(api, namespace, "elsewhere", "other-host", "az1")
    before = get_server(api, namespace, "elsewhere")
    time.sleep(2)
    after = get_server(api, namespace, "elsewhere")
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert ready(after, "Running") is None


def test_guest_waits_for_its_volumes(api: Any, namespace: str) -> None:
    make_server(api, namespace, "waits", "sim-az3-1", "az3", volumes=False)
    time.sleep(2)  # hostd creates no guest, writes nothing
    obj = get_server(api, namespace, "waits")
    assert obj["status"]["phase"] == "Scheduled" and ready(obj, "Running") is None, obj["status"]
    conditions = [{**c, "status": "True"} for c in obj["status"]["conditions"]]
    api[0].patch_namespaced_custom_object_status(
        *COMPUTE, namespace, "servers", "waits", {"status": {"conditions": conditions}}
    )
    wait_for(lambda: get_server(api, namespace, "waits")["status"].get("phase") == "Running", timeout=10)


def stamp(offset: float = 0.0) -> str:
    return (datetime.now(UTC) + timedelta(seconds=offset)).strftime("%Y-%m-%dT%H:%M:%SZ")


def server_events(api: Any, namespace: str, name: str) -> list[tuple[str, str, str]]:
    items = api[2].list_namespaced_event(namespace).items
    return [
        (e.type, e.reason, e.source.component)
        for e in sorted(items, key=lambda e: e.metadata.creation_timestamp)
        if e.involved_object.name == name
    ]


def test_reboot_is_served_once_and_shown(cluster: Cluster, api: Any, namespace: str) -> None:
    make_server(api, namespace, "rb-1", "sim-az1-1", "az1")

    def phase(want: str) -> dict[str, Any] | None:
        obj = get_server(api, namespace, "rb-1")
        return obj if (obj.get("status") or {}).get("phase") == want else None

    first = wait_for(lambda: phase("Running"), timeout=10)
    time.sleep(1.1)  # bootTime has a one-second resolution: the reboot's must be later
    watch = cluster.kubectl_bg("get", "server", "rb-1", "-n", namespace, "-w", "-o", "json")
    at = stamp()
    reboot = {"spec": {"reboot": {"requestedAt": at, "type": "Soft"}}}
    api[0].patch_namespaced_custom_object(*COMPUTE, namespace, "servers", "rb-1", reboot)

    def served() -> dict[str, Any] | None:
        obj = get_server(api, namespace, "rb-1")
        done = (obj["status"].get("lastReboot") or {}).get("requestedAt") == at
        return obj if done and obj["status"].get("phase") == "Running" else None

    obj = wait_for(served, timeout=10)
    watch.terminate()
    seen, _ = watch.communicate(timeout=10)
    assert '"phase": "Rebooting"' in seen and '"reason": "Rebooting"' in seen
    last = obj["status"]["lastReboot"]
    assert (last["type"], last["result"]) == ("Soft", "Rebooted") and last["completedAt"] >= at
    assert obj["status"]["bootTime"] > first["status"]["bootTime"]
    cond = ready(obj, "Running")
    assert cond is not None and (cond["status"], cond["reason"]) == ("True", "GuestRunning")
    events = wait_for(lambda: server_events(api, namespace, "rb-1")[-2:] or None)
    # Both in one second is usual: Events' timestamps have seconds only, so their order is not checked here
    # (the watched status above saw Rebooting before the result).
    assert sorted(events) == [
        ("Normal", "Rebooted", "kumulus-hostd"),
        ("Normal", "Rebooting", "kumulus-hostd"),
    ]

    # The same request applied again with another change, then an earlier one: nothing is rebooted.
    label = {"metadata": {"labels": {"touched": "yes"}}}
    api[0].patch_namespaced_custom_object(*COMPUTE, namespace, "servers", "rb-1", label)
    earlier = {"spec": {"reboot": {"requestedAt": stamp(-3600), "type": "Hard"}}}
    api[0].patch_namespaced_custom_object(*COMPUTE, namespace, "servers", "rb-1", earlier)
    time.sleep(1.5)
    again = get_server(api, namespace, "rb-1")
    assert again["status"]["lastReboot"] == last and again["status"]["bootTime"] == obj["status"]["bootTime"]
    assert len(server_events(api, namespace, "rb-1")) == 2

    # Powered off, a later request has nothing to reboot: recorded NotRunning; powered on, booted once.
    api[0].patch_namespaced_custom_object(
        *COMPUTE, namespace, "servers", "rb-1", {"spec": {"powerState": "Off"}}
    )
    wait_for(lambda: phase("Stopped"), timeout=10)
    later_at = stamp(1)
    reboot = {"spec": {"reboot": {"requestedAt": later_at, "type": None}}}  # removed: the default, Soft
    api[0].patch_namespaced_custom_object(*COMPUTE, namespace, "servers", "rb-1", reboot)

    def skipped() -> dict[str, Any] | None:
        last = get_server(api, namespace, "rb-1")["status"].get("lastReboot") or {}
        return last if last.get("requestedAt") == later_at else None

    assert wait_for(skipped, timeout=10) == {"requestedAt": later_at, "type": "Soft", "result": "NotRunning"}
    assert phase("Stopped") is not None
    wait_for(lambda: server_events(api, namespace, "rb-1")[-1][1] == "RebootSkipped")
    api[0].patch_namespaced_custom_object(
        *COMPUTE, namespace, "servers", "rb-1", {"spec": {"powerState": "On"}}
    )
    wait_for(lambda: phase("Running"), timeout=10)
    time.sleep(1.0)
    assert server_events(api, namespace, "rb-1")[-1][1] == "RebootSkipped"  # started, not rebooted after


def test_bad_reboot_request_names_the_field(api: Any, namespace: str) -> None:
    from kubernetes.client.exceptions import ApiException

    cases = (
        ({"requestedAt": "tomorrow"}, "spec.reboot.requestedAt"),
        ({"type": "Hard"}, "spec.reboot.requestedAt"),
        ({"requestedAt": stamp(), "type": "Warm"}, "spec.reboot.type"),
    )
    for reboot, field in cases:
        body = {
            "apiVersion": "compute.kumulus.dev/v1alpha1",
            "kind": "Server",
            "metadata": {"name": "bad-reboot"},
            "spec": {"flavor": "m1.small", "image": "debian-12", "reboot": reboot},
        }
        try:
            api[0].create_namespaced_custom_object(*COMPUTE, namespace, "servers", body)
        except ApiException as exc:
            assert exc.status == 422, exc.body
            message = json.loads(exc.body)["message"]
            assert field in message, message
        else:
            raise AssertionError(f"{reboot} was accepted")


def test_hostd_dies_with_kumulus_up(cluster: Cluster) -> None:
    text = "".join(cluster.output)
    match = re.search(r"started kumulus-hostd \(pid (\d+)\)", text)
    assert match, text
    pid = int(match.group(1))
    assert Path(f"/proc/{pid}").exists()
    assert cluster.proc is not None
    cluster.proc.send_signal(signal.SIGKILL)
    cluster.proc.wait(10)
    cluster.proc = None

    def gone() -> bool:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        return state == "Z"  # exited, waiting for init to reap it

    wait_for(gone, timeout=10)

"""The storage operator under `kumulus up --components operators` (simulated storage backend): Volume
lifecycle, attachment rules (same zone, sz1, multi-attach), extend, deletion blocking, snapshots and
restores, images per zone, boot volumes, a refusal's Warning Event, and no finalizer left once everything is
deleted. The tests play hostd for the compute operator: they register Ready Hosts so Servers get placed."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from controllers.conditions import find, set_condition

from .cluster import ROOT, Cluster, wait_for

pytestmark = pytest.mark.integration

EXAMPLES = ROOT / "examples"
HOSTS = {"h1": ("az1", "dc1"), "h2": ("az2", "dc2"), "h3": ("sz1", "dc3")}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    c = Cluster(Path(tmp_path_factory.mktemp("st")), crds_dir=ROOT / "crds", components="operators")
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(os.environ, "KUMULUS_RESYNC_SECONDS", "2")
        mp.setitem(os.environ, "KUMULUS_STORAGE_SIM_DELAY", "0.2")
        c.start()
    try:
        yield c
    finally:
        if c.proc is not None:
            c.stop()
        log = c.state_dir / "kumulus-operators.log"
        if log.exists():
            text = log.read_text()
            assert "Traceback" not in text, text[-5000:]


def apply(c: Cluster, *docs: dict[str, Any]) -> None:
    c.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(docs))


def get(c: Cluster, kind: str, name: str, ns: str | None = "default") -> dict[str, Any]:
    res = c.kubectl("get", kind, name, "-o", "json", *(["-n", ns] if ns else []), check=False)
    return json.loads(res.stdout) if res.returncode == 0 else {}


def condition(obj: dict[str, Any], kind: str = "Ready") -> dict[str, Any]:
    return find((obj.get("status") or {}).get("conditions"), kind) or {}


def when(
    c: Cluster, kind: str, name: str, check: Any, ns: str | None = "default", timeout: float = 20
) -> Any:
    def probe() -> dict[str, Any] | None:
        obj = get(c, kind, name, ns)
        return obj if obj and check(obj) else None

    return wait_for(probe, timeout=timeout)


def phase(value: str) -> Any:
    return lambda o: (o.get("status") or {}).get("phase") == value


def server(name: str, zone: str, *volumes: str, image: str = "debian-12") -> dict[str, Any]:
    spec = {"flavor": "m1.small", "image": image, "zone": zone, "volumes": [{"volume": v} for v in volumes]}
    return {
        "apiVersion": "compute.kumulus.dev/v1alpha1",
        "kind": "Server",
        "metadata": {"name": name, "namespace": "default"},
        "spec": spec,
    }


def volume(name: str, zone: str, vtype: str = "standard", size: int = 5) -> dict[str, Any]:
    return {
        "apiVersion": "storage.kumulus.dev/v1alpha1",
        "kind": "Volume",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"sizeGiB": size, "volumeType": vtype, "zone": zone},
    }


def warning_events(c: Cluster, name: str, ns: str = "default") -> list[dict[str, Any]]:
    items = json.loads(c.kubectl("get", "events", "-n", ns, "-o", "json").stdout)["items"]
    return [e for e in items if e["involvedObject"].get("name") == name and e["type"] == "Warning"]


def register_hosts(c: Cluster) -> None:
    apply(
        c,
        {
            "apiVersion": "compute.kumulus.dev/v1alpha1",
            "kind": "Flavor",
            "metadata": {"name": "m1.small"},
            "spec": {"vcpus": 1, "ramMiB": 1024, "diskGiB": 12},
        },
    )
    for name, (zone, site) in HOSTS.items():
        spec = {"zone": zone, "site": site, "roles": ["Compute"], "capacity": {"vcpus": 8, "ramMiB": 8704}}
        apply(
            c,
            {
                "apiVersion": "infra.kumulus.dev/v1alpha1",
                "kind": "Host",
                "metadata": {"name": name},
                "spec": spec,
            },
        )
        ready = set_condition([], "Ready", True, "HostdReady", "hostd is running")
        status = json.dumps({"status": {"conditions": ready}})
        c.kubectl("patch", "host", name, "--subresource=status", "--type=merge", "-p", status)


def test_volume_and_image_lifecycles(cluster: Cluster) -> None:
    c = cluster
    c.kubectl("apply", "-f", str(EXAMPLES / "infrastructure" / "zones.yaml"))
    register_hosts(c)
    c.kubectl("apply", "-f", str(EXAMPLES / "images"))
    for kind, name, ns in (("clusterimage", "debian-12", None), ("image", "appliance", "default")):
        img = when(c, kind, name, phase("Available"), ns)
        assert condition(img)["status"] == "True"
        assert sorted(z["zone"] for z in img["status"]["zones"]) == ["az1", "az2", "az3", "sz1"]
        assert all(
            z["phase"] == "Available" and z["backendId"].startswith("rbd/") for z in img["status"]["zones"]
        )

    c.kubectl("apply", "-f", str(EXAMPLES / "attach-and-extend-a-volume"))
    c.kubectl("apply", "-f", str(EXAMPLES / "stretched-zone-server"))
    data = when(c, "volume", "data", phase("InUse"))
    assert data["status"]["attachments"] == [{"server": "app-1", "host": "h1"}]
    assert data["status"]["backendId"] == f"rbd/volumes/volume-{data['metadata']['uid']}"
    assert data["status"]["zone"] == "az1" and data["status"]["sizeGiB"] == 20
    snap = when(c, "volumesnapshot", "data-before-upgrade", phase("Available"))
    assert snap["status"]["backendId"].startswith(data["status"]["backendId"] + "@snapshot-")
    when(c, "volume", "data-restored", phase("Available"))
    ha = when(c, "volume", "ha-data", phase("InUse"))
    assert ha["status"]["attachments"] == [{"server": "ha-db", "host": "h3"}]

    # boot volumes: owned by the Server, in its zone, of the flavor's disk size
    root = when(c, "volume", "app-1-root", phase("Available"))
    assert root["metadata"]["ownerReferences"][0]["name"] == "app-1"
    assert root["spec"]["zone"] == "az1" and root["spec"]["sizeGiB"] == 12
    assert root["spec"]["source"] == {"image": "debian-12"}
    ha_root = when(c, "volume", "ha-db-root", phase("Available"))
    assert ha_root["status"]["zone"] == "sz1" and ha_root["spec"]["volumeType"] == "replicated"

    # attachment rules: another zone, sz1 from a physical zone, a second attachment without multiAttach
    apply(c, volume("az1-only", "az1"), server("wrong-zone", "az2", "az1-only"))
    refused = when(
        c, "volume", "az1-only", lambda o: condition(o, "AttachmentRefused").get("status") == "True"
    )
    assert "Server wrong-zone" in condition(refused, "AttachmentRefused")["message"]
    assert refused["status"]["phase"] == "Available"
    warnings = wait_for(lambda: warning_events(c, "az1-only"))
    assert [e["reason"] for e in warnings] == ["AttachmentRefused"]
    assert "Server wrong-zone" in warnings[0]["message"]
    apply(c, server("not-stretched", "az1", "ha-data"))
    ha = when(c, "volume", "ha-data", lambda o: condition(o, "AttachmentRefused").get("status") == "True")
    assert "volumes in sz1 attach only to Servers in sz1" in condition(ha, "AttachmentRefused")["message"]
    apply(c, server("second", "az1", "data"))
    data = when(
        c, "volume", "data", lambda o: "Server second" in condition(o, "AttachmentRefused").get("message", "")
    )
    assert "multiAttach" in condition(data, "AttachmentRefused")["message"]
    assert [a["server"] for a in data["status"]["attachments"]] == ["app-1"]

    # extend while attached; shrinking is refused by the API
    c.kubectl("patch", "volume", "data", "-n", "default", "--type=merge", "-p", '{"spec":{"sizeGiB":40}}')
    data = when(c, "volume", "data", lambda o: o["status"].get("sizeGiB") == 40 and phase("InUse")(o))
    shrink = c.kubectl(
        "patch",
        "volume",
        "data",
        "-n",
        "default",
        "--type=merge",
        "-p",
        '{"spec":{"sizeGiB":10}}',
        check=False,
    )
    assert shrink.returncode != 0 and "never shrink" in shrink.stderr

    # deletion blocked while attached (and while a snapshot exists)
    c.kubectl("delete", "volume", "data", "-n", "default", "--wait=false")
    blocked = when(c, "volume", "data", lambda o: condition(o, "DeletionBlocked").get("status") == "True")
    message = condition(blocked, "DeletionBlocked")["message"]
    assert "Server app-1" in message and "VolumeSnapshot data-before-upgrade" in message
    c.kubectl("delete", "clusterimage", "debian-12", "--wait=false")
    blocked = when(
        c,
        "clusterimage",
        "debian-12",
        lambda o: condition(o, "DeletionBlocked").get("status") == "True",
        ns=None,
    )
    assert "Volume default/app-1-root" in condition(blocked, "DeletionBlocked")["message"]

    # everything deleted: no finalizer left
    c.kubectl("delete", "server", "--all", "-n", "default", "--wait=false")
    c.kubectl("delete", "volume,volumesnapshot,image", "--all", "-n", "default", "--wait=false")
    c.kubectl("delete", "clusterimage", "--all", "--wait=false")

    def empty() -> bool:
        left = json.loads(c.kubectl("get", "volume,volumesnapshot,image,server", "-A", "-o", "json").stdout)[
            "items"
        ]
        left += json.loads(c.kubectl("get", "clusterimage", "-o", "json").stdout)["items"]
        return not left

    wait_for(empty, timeout=40)

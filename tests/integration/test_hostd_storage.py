"""The storage role end to end, on real daemons: a one-OSD Ceph (ceph_cluster.py), `kumulus up
--components operators,hostd` with the storage operator reading hostd's reports (KUMULUS_STORAGE_BACKEND=
hostd) and hostd running `--roles storage` on that Ceph for zone az1 (sim compute driver), and images
served over local HTTP (image_server.py).

An Image becomes Available with its RBD image and protected `base` snapshot; a Volume from it is a COW
clone; extend grows it; a VolumeSnapshot, and a Volume restored from it (a clone of the snapshot); a
malicious qcow2 (backing file /etc/passwd) leaves its Image Ready=False naming the problem, and nothing in
RBD; the report ConfigMap and the zone Lease are hostd's; deleting everything leaves no RBD image of ours
(and an unmarked one untouched) and no finalizer.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from controllers.conditions import find

from .ceph_cluster import CephCluster
from .cluster import ROOT, Cluster, running, wait_for
from .image_server import GUEST_IMAGE, serve_directory

pytestmark = pytest.mark.integration

POOL = "volumes"
HOST = "storage-1"
GIB = 1 << 30
TIMEOUT = 30.0


@pytest.fixture(scope="module")
def ceph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CephCluster]:
    cluster = CephCluster(tmp_path_factory.mktemp("ceph"))
    cluster.start()
    try:
        cluster.create_pool(POOL)
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A served directory holding `guest.img` (the test guest image if built, else a small qcow2) and
    `evil.qcow2` (backed by /etc/passwd); yields (directory, base URL)."""
    root = tmp_path_factory.mktemp("www")
    if GUEST_IMAGE.is_file():
        shutil.copyfile(GUEST_IMAGE, root / "guest.img")  # a copy: a rebuild meanwhile cannot change it
        (root / "guest.format").write_text("raw")
    else:
        raw = root / "seed.raw"
        raw.write_bytes(hashlib.sha256(b"seed").digest() * (8 << 15))  # 8 MiB
        qemu_img("convert", "-f", "raw", "-O", "qcow2", str(raw), str(root / "guest.img"))
        raw.unlink()
        (root / "guest.format").write_text("qcow2")
    qemu_img("create", "-f", "qcow2", "-b", "/etc/passwd", "-F", "raw", str(root / "evil.qcow2"), "64M")
    with serve_directory(root) as base:
        yield root, base


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, ceph: CephCluster) -> Iterator[Cluster]:
    state = Path(tmp_path_factory.mktemp("kumulus"))
    hostd = {
        "host": HOST,
        "zone": "az1",
        "roles": ["storage"],
        "ceph-conf": str(ceph.conf),
        "state-dir": str(state / "hostd-state"),
        "storage-resync-seconds": 2,
        "storage-lease-seconds": 6,
        "lease-seconds": 2,
    }
    (state / "hostd.yaml").write_text(yaml.safe_dump(hostd))
    c = Cluster(
        state,
        crds_dir=ROOT / "crds",
        components="operators,hostd",
        extra_args=("--data-plane", "sim"),
        env={"KUMULUS_STORAGE_BACKEND": "hostd", "KUMULUS_RESYNC_SECONDS": "2"},
    )
    with running(c, logs=("kumulus-operators.log", "kumulus-hostd.log")):
        yield c


def qemu_img(*args: str) -> None:
    subprocess.run(["qemu-img", *args], check=True, capture_output=True, timeout=60)


def apply(c: Cluster, *docs: dict[str, Any]) -> None:
    c.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(docs))


def get(c: Cluster, kind: str, name: str, ns: str | None = "default") -> dict[str, Any]:
    res = c.kubectl("get", kind, name, "-o", "json", *(["-n", ns] if ns else []), check=False)
    return json.loads(res.stdout) if res.returncode == 0 else {}


def when(c: Cluster, kind: str, name: str, check: Any, ns: str | None = "default") -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        obj = get(c, kind, name, ns)
        return obj if obj and check(obj) else None

    try:
        found: dict[str, Any] = wait_for(probe, timeout=TIMEOUT, interval=0.2)
    except AssertionError:
        raise AssertionError(f"{kind} {name} never got there: {json.dumps(get(c, kind, name, ns))}") from None
    return found


def phase(value: str) -> Any:
    return lambda o: (o.get("status") or {}).get("phase") == value


def ready(obj: dict[str, Any]) -> dict[str, Any]:
    return find((obj.get("status") or {}).get("conditions"), "Ready") or {}


def rbd_info(ceph: CephCluster, spec: str) -> dict[str, Any]:
    info: dict[str, Any] = json.loads(ceph.rbd("info", spec, "--format", "json"))
    return info


def rbd_snaps(ceph: CephCluster, spec: str) -> dict[str, bool]:
    return {
        s["name"]: s["protected"] == "true"
        for s in json.loads(ceph.rbd("snap", "ls", spec, "--format", "json"))
    }


def rbd_names(ceph: CephCluster) -> set[str]:
    return set(ceph.rbd("ls", POOL).split())


def setup_zone(c: Cluster) -> None:
    apply(
        c,
        {
            "apiVersion": "infra.kumulus.dev/v1alpha1",
            "kind": "Zone",
            "metadata": {"name": "az1"},
            "spec": {"type": "Physical", "sites": ["dc1"], "cephPool": POOL},
        },
        {
            "apiVersion": "storage.kumulus.dev/v1alpha1",
            "kind": "VolumeType",
            "metadata": {"name": "standard"},
            "spec": {"backends": [{"zone": "az1", "pool": POOL}], "isDefault": True},
        },
    )


def image(name: str, url: str, sha256: str, disk_format: str) -> dict[str, Any]:
    return {
        "apiVersion": "image.kumulus.dev/v1alpha1",
        "kind": "Image",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"source": {"url": url}, "diskFormat": disk_format, "sha256": sha256},
    }


def volume(name: str, size: int, source: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"sizeGiB": size, "volumeType": "standard", "zone": "az1"}
    if source:
        spec["source"] = source
    return {
        "apiVersion": "storage.kumulus.dev/v1alpha1",
        "kind": "Volume",
        "metadata": {"name": name, "namespace": "default"},
        "spec": spec,
    }


def report(c: Cluster) -> dict[str, Any]:
    cm = json.loads(
        c.kubectl("get", "configmap", "kumulus-storage-az1", "-n", "kumulus-system", "-o", "json").stdout
    )
    data = cm["data"]
    return {
        "labels": cm["metadata"]["labels"],
        "held": json.loads(data["held"]),
        "failures": json.loads(data["failures"]),
        "holder": data["holder"],
    }


def test_images_volumes_snapshots_on_rbd_and_everything_deleted(
    cluster: Cluster, ceph: CephCluster, images: tuple[Path, str]
) -> None:
    c = cluster
    root, base = images
    setup_zone(c)
    ceph.rbd("create", "--size", "1M", f"{POOL}/volume-notours1")  # named like ours, but not marked
    guest_sum = hashlib.sha256((root / "guest.img").read_bytes()).hexdigest()
    evil_sum = hashlib.sha256((root / "evil.qcow2").read_bytes()).hexdigest()
    apply(
        c,
        image("guest", f"{base}/guest.img", guest_sum, (root / "guest.format").read_text()),
        image("evil", f"{base}/evil.qcow2", evil_sum, "qcow2"),
    )

    # the Image: an RBD image with a protected `base` snapshot
    guest = when(c, "image", "guest", phase("Available"))
    image_id = f"rbd/{POOL}/image-{guest['metadata']['uid']}"
    assert guest["status"]["zones"] == [{"zone": "az1", "phase": "Available", "backendId": image_id}]
    assert guest["status"]["checksumVerified"] is True and ready(guest)["status"] == "True"
    image_spec = image_id.removeprefix("rbd/")
    assert rbd_snaps(ceph, image_spec) == {"base": True}

    # the malicious qcow2: refused, named, nothing in RBD
    evil = when(c, "image", "evil", phase("Error"))
    cond = ready(evil)
    assert cond["status"] == "False" and cond["reason"] == "UnsafeImage", cond
    assert "backing file" in cond["message"], cond
    assert evil["status"]["zones"][0]["phase"] == "Error"
    assert f"image-{evil['metadata']['uid']}" not in rbd_names(ceph)

    # a Volume from the image: a COW clone of its base
    apply(c, volume("root", 1, {"image": "guest"}))
    vol = when(c, "volume", "root", phase("Available"))
    volume_id = f"rbd/{POOL}/volume-{vol['metadata']['uid']}"
    assert vol["status"]["backendId"] == volume_id and vol["status"]["sizeGiB"] == 1
    info = rbd_info(ceph, volume_id.removeprefix("rbd/"))
    assert info["parent"]["pool"] == POOL and info["parent"]["snapshot"] == "base"
    assert info["parent"]["image"] == f"image-{guest['metadata']['uid']}"
    assert info["size"] == GIB

    # extend grows it
    c.kubectl("patch", "volume", "root", "-n", "default", "--type=merge", "-p", '{"spec":{"sizeGiB":2}}')
    when(c, "volume", "root", lambda o: o["status"].get("sizeGiB") == 2 and phase("Available")(o))
    assert rbd_info(ceph, volume_id.removeprefix("rbd/"))["size"] == 2 * GIB

    # a snapshot, and a volume restored from it (a clone of the snapshot)
    apply(
        c,
        {
            "apiVersion": "storage.kumulus.dev/v1alpha1",
            "kind": "VolumeSnapshot",
            "metadata": {"name": "snap", "namespace": "default"},
            "spec": {"volume": "root"},
        },
    )
    snap = when(c, "volumesnapshot", "snap", phase("Available"))
    snap_name = f"snapshot-{snap['metadata']['uid']}"
    assert snap["status"]["backendId"] == f"{volume_id}@{snap_name}"
    assert rbd_snaps(ceph, volume_id.removeprefix("rbd/")) == {snap_name: True}
    apply(c, volume("restored", 2, {"snapshot": "snap"}))
    restored = when(c, "volume", "restored", phase("Available"))
    parent = rbd_info(ceph, f"{POOL}/volume-{restored['metadata']['uid']}")["parent"]
    assert (parent["image"], parent["snapshot"]) == (f"volume-{vol['metadata']['uid']}", snap_name)

    # what hostd reports, and the zone's Lease
    rep = report(c)
    assert rep["labels"]["storage.kumulus.dev/zone"] == "az1" and rep["holder"] == HOST
    assert rep["held"][image_id] == 0 and rep["held"][volume_id] == 2
    assert rep["held"][f"{volume_id}@{snap_name}"] == 0
    evil_id = f"rbd/{POOL}/image-{evil['metadata']['uid']}"
    assert rep["failures"][evil_id]["reason"] == "UnsafeImage"
    lease = json.loads(
        c.kubectl("get", "lease", "kumulus-storage-az1", "-n", "kumulus-system", "-o", "json").stdout
    )
    assert lease["spec"]["holderIdentity"] == HOST

    # deleting everything: the blocked deletions resolve in turn; nothing of ours is left in RBD
    c.kubectl("delete", "volume,volumesnapshot,image", "--all", "-n", "default", "--wait=false")

    def gone() -> bool:
        left = json.loads(c.kubectl("get", "volume,volumesnapshot,image", "-A", "-o", "json").stdout)["items"]
        return not left

    try:
        wait_for(gone, timeout=60, interval=0.5)
    except AssertionError:
        left = c.kubectl("get", "volume,volumesnapshot,image", "-A", "-o", "yaml").stdout
        raise AssertionError(f"objects left:\n{left}") from None
    wait_for(lambda: rbd_names(ceph) == {"volume-notours1"}, timeout=TIMEOUT)
    assert report(c)["held"] == {} or wait_for(
        lambda: report(c)["held"] == {} and report(c)["failures"] == {}
    )

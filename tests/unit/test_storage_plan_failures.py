"""controllers.storage_plan with backend failures: the object asking for work the backend refused or failed
on shows it (Ready=False with the backend's reason and message, phase Error; a failed deletion keeps
Deleting with DeletionFailed), with one Warning Event, planning again writes nothing, and the object
recovers once the failure is gone and the work done."""

from __future__ import annotations

from typing import Any

from controllers.conditions import find
from controllers.storage_plan import BackendFailure, Failures, key_of, plan

Obj = dict[str, Any]
IMAGE_ID = "rbd/volumes/image-uid-evil"
VOLUME_ID = "rbd/volumes/volume-uid-data"
UNSAFE = BackendFailure(
    "UnsafeImage", "the qcow2 file is refused: backing_file: has a backing file /etc/passwd"
)


def obj(kind: str, name: str, spec: Obj, ns: str = "default") -> Obj:
    meta = {"name": name, "namespace": ns, "uid": f"uid-{name}", "generation": 1}
    return {"kind": kind, "metadata": meta, "spec": spec}


def world(*objs: Obj) -> dict[str, dict[tuple[str, str], Obj]]:
    out: dict[str, dict[tuple[str, str], Obj]] = {}
    for o in objs:
        out.setdefault(o["kind"], {})[key_of(o)] = o
    return out


def settle(kind: str, o: Obj, w: Any, backend: dict[str, int], failures: Failures) -> list[tuple[str, str]]:
    """Apply plans (finalizers, status; never the backend's work) until none writes; the Events planned."""
    events: list[tuple[str, str]] = []
    for _ in range(10):
        actions = plan(kind, o, w, backend, failures)
        events += [(e.type, e.reason) for e in actions.events]
        if actions.finalizers is None and actions.status is None:
            return events
        if actions.finalizers is not None:
            o["metadata"]["finalizers"] = actions.finalizers
        if actions.status is not None:
            o["status"] = actions.status
    raise AssertionError("does not settle")


def ready(o: Obj) -> dict[str, Any]:
    return find(o["status"]["conditions"], "Ready") or {}


def test_a_rejected_image_is_an_error_naming_the_problem_and_recovers() -> None:
    zones = [obj("Zone", z, {"cephPool": "volumes"}, ns="") for z in ("az1", "az2")]
    image = obj("Image", "evil", {})
    w = world(*zones, image)
    events = settle("Image", image, w, {}, {IMAGE_ID: UNSAFE})
    assert image["status"]["phase"] == "Error"
    assert (ready(image)["status"], ready(image)["reason"]) == ("False", "UnsafeImage")
    assert ready(image)["message"] == f"in az1, az2: {UNSAFE.message}"
    assert [z["phase"] for z in image["status"]["zones"]] == ["Error", "Error"]
    assert ("Warning", "Error") in events
    # planning again: the same request, nothing written, no Event
    again = plan("Image", image, w, {}, {IMAGE_ID: UNSAFE})
    assert again.status is None and not again.events and [o.op for o in again.ops] == ["create", "create"]
    # the failure gone and the import done: Available
    settle("Image", image, w, {IMAGE_ID: 0}, {})
    assert image["status"]["phase"] == "Available" and image["status"]["checksumVerified"] is True


def test_a_checksum_mismatch_marks_the_checksum_not_verified() -> None:
    image = obj("ClusterImage", "bad", {}, ns="")
    w = world(obj("Zone", "az1", {"cephPool": "volumes"}, ns=""), image)
    mismatch = BackendFailure("ChecksumMismatch", "GET http://x/bad: SHA-256 is 00.., spec.sha256 says ff..")
    settle("ClusterImage", image, w, {}, {"rbd/volumes/image-uid-bad": mismatch})
    assert image["status"]["checksumVerified"] is False and ready(image)["reason"] == "ChecksumMismatch"
    assert "spec.sha256" in ready(image)["message"]


def test_a_failed_volume_is_an_error_not_creating_forever() -> None:
    vtype = obj("VolumeType", "standard", {"backends": [{"zone": "az1", "pool": "volumes"}]}, ns="")
    vol = obj("Volume", "data", {"sizeGiB": 1, "volumeType": "standard", "zone": "az1"})
    w = world(vtype, vol)
    settle("Volume", vol, w, {}, {})
    assert vol["status"]["phase"] == "Creating"
    failure = BackendFailure("PoolNotFound", "Ceph pool volumes does not exist")
    events = settle("Volume", vol, w, {}, {VOLUME_ID: failure})
    assert vol["status"]["phase"] == "Error" and vol["status"]["backendId"] == VOLUME_ID
    assert (ready(vol)["reason"], ready(vol)["message"]) == ("PoolNotFound", failure.message)
    assert events == [("Warning", "Error")]
    assert plan("Volume", vol, w, {}, {VOLUME_ID: failure}).status is None
    settle("Volume", vol, w, {VOLUME_ID: 1}, {})
    assert vol["status"]["phase"] == "Available"
    # a failed extend
    vol["spec"]["sizeGiB"] = 5
    settle("Volume", vol, w, {VOLUME_ID: 1}, {VOLUME_ID: BackendFailure("CephError", "resize: no space")})
    assert vol["status"]["phase"] == "Error" and ready(vol)["reason"] == "CephError"
    settle("Volume", vol, w, {VOLUME_ID: 5}, {})
    assert vol["status"]["phase"] == "Available" and vol["status"]["sizeGiB"] == 5


def test_a_failed_snapshot_and_a_failed_deletion() -> None:
    vol = obj("Volume", "data", {"sizeGiB": 1})
    vol["status"] = {"phase": "Available", "backendId": VOLUME_ID, "zone": "az1", "sizeGiB": 1}
    snap = obj("VolumeSnapshot", "s", {"volume": "data"})
    w = world(vol, snap)
    snap_id = f"{VOLUME_ID}@snapshot-uid-s"
    settle(
        "VolumeSnapshot", snap, w, {VOLUME_ID: 1}, {snap_id: BackendFailure("CephError", "snap_create: EIO")}
    )
    assert snap["status"]["phase"] == "Error" and ready(snap)["message"] == "snap_create: EIO"
    settle("VolumeSnapshot", snap, w, {VOLUME_ID: 1, snap_id: 0}, {})
    assert snap["status"]["phase"] == "Available"
    # deleting: HasClones from the backend keeps Deleting, with the reason
    snap["metadata"]["deletionTimestamp"] = "x"
    clones = BackendFailure(
        "HasClones", "volumes/volume-uid-data@snapshot-uid-s has clones: volumes/volume-x"
    )
    events = settle("VolumeSnapshot", snap, w, {VOLUME_ID: 1, snap_id: 0}, {snap_id: clones})
    assert snap["status"]["phase"] == "Deleting"
    assert (ready(snap)["reason"], ready(snap)["message"]) == (
        "DeletionFailed",
        f"HasClones: {clones.message}",
    )
    assert ("Warning", "DeletionFailed") in events
    assert plan("VolumeSnapshot", snap, w, {VOLUME_ID: 1, snap_id: 0}, {snap_id: clones}).status is None
    # gone from the backend: the finalizer is released
    released = plan("VolumeSnapshot", snap, w, {VOLUME_ID: 1}, {})
    assert released.finalizers == []


def test_failures_of_other_ids_change_nothing() -> None:
    vtype = obj("VolumeType", "standard", {"backends": [{"zone": "az1", "pool": "volumes"}]}, ns="")
    vol = obj("Volume", "data", {"sizeGiB": 1, "volumeType": "standard", "zone": "az1"})
    w = world(vtype, vol)
    settle("Volume", vol, w, {VOLUME_ID: 1}, {"rbd/volumes/volume-other": UNSAFE})
    assert vol["status"]["phase"] == "Available"

"""hostd.storage.desired: the zone's desired RBD state from the objects the storage operator sees, with the
operator's ids, pools, sources and deletion rules (controllers.storage_plan), pure.

The world is the one the operator would have made: statuses as controllers.storage_plan writes them.
"""

from __future__ import annotations

from typing import Any

from controllers.storage_plan import FINALIZERS
from hostd.storage import desired as d
from hostd.storage import plan as p

GIB = 1 << 30
SHA = "ab" * 32
Obj = dict[str, Any]


def obj(kind: str, name: str, spec: Obj, ns: str = "default", status: Obj | None = None, **meta: Any) -> Obj:
    body: Obj = {
        "kind": kind,
        "metadata": {
            "name": name,
            "namespace": ns,
            "uid": f"uid-{name}",
            "finalizers": [FINALIZERS[kind]] if kind in FINALIZERS else [],
            **meta,
        },
        "spec": spec,
    }
    if status is not None:
        body["status"] = status
    return body


def zone(name: str, pool: str) -> Obj:
    return obj("Zone", name, {"type": "Physical", "cephPool": pool}, ns="")


def vtype(name: str = "standard", **zones: str) -> Obj:
    backends = [{"zone": z, "pool": pool} for z, pool in (zones or {"az1": "volumes"}).items()]
    return obj("VolumeType", name, {"backends": backends, "isDefault": name == "standard"}, ns="")


def image(name: str, kind: str = "Image", ns: str = "default", zones: tuple[str, ...] = ()) -> Obj:
    spec = {"source": {"url": f"http://img/{name}.qcow2"}, "diskFormat": "qcow2", "sha256": SHA}
    entries = [{"zone": z, "phase": "Available", "backendId": f"rbd/volumes/image-uid-{name}"} for z in zones]
    return obj(kind, name, spec, ns=ns if kind == "Image" else "", status={"zones": entries})


def volume(name: str, size: int = 10, status: Obj | None = None, **spec: Any) -> Obj:
    return obj(
        "Volume", name, {"sizeGiB": size, "volumeType": "standard", "zone": "az1", **spec}, status=status
    )


def available(name: str, pool: str = "volumes", size: int = 10) -> Obj:
    return {
        "phase": "Available",
        "zone": "az1",
        "backendId": f"rbd/{pool}/volume-uid-{name}",
        "sizeGiB": size,
    }


def world(*objs: Obj) -> dict[str, dict[tuple[str, str], Obj]]:
    out: dict[str, dict[tuple[str, str], Obj]] = {}
    for o in objs:
        out.setdefault(o["kind"], {})[(o["metadata"]["namespace"], o["metadata"]["name"])] = o
    return out


def deleting(o: Obj) -> Obj:
    o["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    return o


def test_images_volumes_and_snapshots_of_the_zone_with_the_operators_ids() -> None:
    w = world(
        zone("az1", "volumes"),
        zone("sz1", "volumes-stretched"),
        vtype(),
        image("debian", "ClusterImage", zones=("az1",)),
        volume("root", status=available("root"), source={"image": "debian"}),
        volume("data", size=20, status=available("data", size=20)),
        obj("VolumeSnapshot", "snap", {"volume": "data"}),
        volume("restored", source={"snapshot": "snap"}),
        volume("copy", source={"volume": "data"}),
    )
    w["VolumeSnapshot"][("default", "snap")]["status"] = {
        "phase": "Available",
        "backendId": "rbd/volumes/volume-uid-data@snapshot-uid-snap",
    }
    zd = d.for_zone(w, "az1")
    assert zd.pools == {"volumes"}
    (img,) = zd.desired.images
    assert (img.pool, img.owner, img.url, img.sha256, img.disk_format) == (
        "volumes",
        p.Owner("uid-debian", "ClusterImage", "", "debian"),
        "http://img/debian.qcow2",
        SHA,
        "qcow2",
    )
    vols = {v.owner.name: v for v in zd.desired.volumes}
    assert vols["root"].source == p.VolumeSource("image", "volumes", "uid-debian")
    assert vols["data"].size_bytes == 20 * GIB and vols["data"].source is None
    assert vols["restored"].source == p.VolumeSource("snapshot", "volumes", "uid-data", "uid-snap")
    assert vols["copy"].source == p.VolumeSource("volume", "volumes", "uid-data")
    assert vols["restored"].key == ("volumes", "volume-uid-restored")  # id computed as the operator does
    (snap,) = zd.desired.snapshots
    assert snap.key == ("volumes", "volume-uid-data", "snapshot-uid-snap")
    assert (
        "rbd/volumes/image-uid-debian" in zd.ids and "rbd/volumes/volume-uid-data@snapshot-uid-snap" in zd.ids
    )
    # the stretched zone gets the image in its own pool, and none of az1's volumes
    sz1 = d.for_zone(w, "sz1")
    assert [i.key for i in sz1.desired.images] == [("volumes-stretched", "image-uid-debian")]
    assert not sz1.desired.volumes and not sz1.desired.snapshots and sz1.pools == {"volumes-stretched"}
    # planning from nothing imports, then clones and copies in dependency order
    commands = p.plan(zd.desired, p.Observed()).commands
    assert [type(c).__name__ for c in commands][:1] == ["ImportImage"]


def test_not_desired_before_the_finalizer_nor_without_a_pool() -> None:
    fresh = volume("fresh")
    fresh["metadata"]["finalizers"] = []
    nowhere = volume("nowhere", volumeType="other")
    w = world(zone("az1", "volumes"), vtype(), vtype("other", az2="volumes"), fresh, nowhere)
    zd = d.for_zone(w, "az1")
    assert not zd.desired.volumes
    assert "uid-fresh" in zd.uids  # still the zone's: its RBD image is never another zone's business


def test_deletion_stops_desire_only_when_nothing_blocks_it() -> None:
    data = deleting(volume("data", status=available("data")))
    server = obj(
        "Server",
        "app",
        {"zone": "az1", "volumes": [{"volume": "data"}]},
        status={"zone": "az1", "host": "h1"},
    )
    w = world(vtype(), data, server)
    assert [v.owner.name for v in d.for_zone(w, "az1").desired.volumes] == ["data"]  # attached: kept
    del w["Server"][("default", "app")]
    zd = d.for_zone(w, "az1")
    assert not zd.desired.volumes and "rbd/volumes/volume-uid-data" in zd.ids  # its failures still reported
    # an image still cloned from is kept; once its volumes are gone, it goes
    img = deleting(image("debian", zones=("az1",)))
    root = volume("root", status=available("root"), source={"image": "debian"})
    w = world(zone("az1", "volumes"), vtype(), img, root)
    assert len(d.for_zone(w, "az1").desired.images) == 1
    del w["Volume"][("default", "root")]
    assert not d.for_zone(w, "az1").desired.images


def test_snapshot_blocked_by_a_restored_volume_and_the_operators_snapshot_id() -> None:
    data = volume("data", status=available("data"))
    snap = deleting(obj("VolumeSnapshot", "s", {"volume": "data"}))
    snap["status"] = {"phase": "Available", "backendId": "rbd/volumes/volume-uid-data@snapshot-uid-s"}
    restored = volume("r", source={"snapshot": "s"})
    w = world(vtype(), data, snap, restored)
    assert len(d.for_zone(w, "az1").desired.snapshots) == 1
    del w["Volume"][("default", "r")]
    assert not d.for_zone(w, "az1").desired.snapshots
    # no backendId yet: named after the Available volume's, as the operator names it
    fresh = obj("VolumeSnapshot", "t", {"volume": "data"})
    w = world(vtype(), data, fresh)
    (s,) = d.for_zone(w, "az1").desired.snapshots
    assert s.key == ("volumes", "volume-uid-data", "snapshot-uid-t")


def test_a_volume_whose_source_is_not_ready_is_never_made_blank() -> None:
    img = image("debian", "ClusterImage")  # no zone entry: not available in az1 yet
    vol = volume("root", source={"image": "debian"})
    w = world(zone("az1", "volumes"), vtype(), img, vol)
    assert not d.for_zone(w, "az1").desired.volumes
    # one that already exists is kept (its source only mattered for the creation)
    (kept,) = d.for_zone(w, "az1", existing={("volumes", "volume-uid-root")}).desired.volumes
    assert kept.source is None and kept.key == ("volumes", "volume-uid-root")


def test_recorded_ids_win_and_bad_ids_are_left_alone() -> None:
    moved = volume("moved", status={**available("moved", pool="fast"), "zone": "az1"})
    bogus = volume(
        "bogus", status={"phase": "Available", "zone": "az1", "backendId": "rbd/volumes/volume-other"}
    )
    zd = d.for_zone(world(vtype(), moved, bogus), "az1")
    assert [v.key for v in zd.desired.volumes] == [("fast", "volume-uid-moved")]
    assert zd.pools == {"fast", "volumes"}


def test_other_zones_owners_are_foreign_and_hidden_from_the_plan() -> None:
    az2 = obj("Volume", "far", {"sizeGiB": 1, "volumeType": "shared", "zone": "az2"})
    near = obj("Volume", "near", {"sizeGiB": 1, "volumeType": "shared", "zone": "az1"})
    w = world(vtype("shared", az1="volumes", az2="volumes"), az2, near)
    zds = [d.for_zone(w, "az1")]
    foreign = d.foreign_uids(w, zds)
    assert foreign == {"uid-far"}
    meta = p.Owner("uid-far", "Volume", "default", "far").metadata(p.READY)
    orphan_meta = p.Owner("uid-gone", "Volume", "default", "gone").metadata(p.READY)
    observed = p.Observed(
        {
            ("volumes", "volume-uid-far"): p.RbdImage("volumes", "volume-uid-far", GIB, meta),
            ("volumes", "volume-uid-gone"): p.RbdImage("volumes", "volume-uid-gone", GIB, orphan_meta),
        }
    )
    commands = p.plan(d.merge(zds), d.visible(observed, foreign)).commands
    # az2's volume in the shared pool is untouched; an orphan (no object at all) is purged
    assert p.Purge("volumes", "volume-uid-gone") in commands
    assert all(getattr(c, "name", "") != "volume-uid-far" for c in commands)
    # both zones served together: one image shared by their pool appears once
    img = image("debian", "ClusterImage")
    w2 = world(zone("az1", "volumes"), zone("az2", "volumes"), img)
    merged = d.merge([d.for_zone(w2, "az1"), d.for_zone(w2, "az2")])
    assert [i.key for i in merged.images] == [("volumes", "image-uid-debian")]


def test_parse_id() -> None:
    assert d.parse_id("rbd/volumes/volume-abc@snapshot-def") == d.ParsedId(
        "volumes", "volume-abc", "snapshot-def"
    )
    assert d.parse_id("rbd/volumes/image-abc") == d.ParsedId("volumes", "image-abc")
    for bad in ("", "rbd/volumes", "nfs/volumes/volume-a", "rbd//volume-a", "rbd/volumes/other-a"):
        assert d.parse_id(bad) is None

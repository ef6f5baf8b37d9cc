"""What the storage-role hostd should hold in a zone's Ceph pools, from the objects the storage operator sees:
pure, and built with controllers.storage_plan so both sides agree on backend ids, pools, sources and when
something may go.

    zd = for_zone(world, "az1", existing=observed.images.keys())
    zd.desired          # hostd.storage.plan.Desired: the Images, Volumes and VolumeSnapshots of the zone
    zd.pools            # the pools to observe (the Zone's cephPool, its VolumeTypes' pools, recorded ids')

`world` is controllers.storage_plan's World (kind -> (namespace, name) -> body with its `kind`), from the
API: Images, ClusterImages, Volumes, VolumeSnapshots, VolumeTypes, Zones and Servers (attachments block a
Volume's deletion).

Rules (the operator's, controllers.storage_plan):
- an object is desired once it carries the operator's finalizer; it stops being desired when it is being
  deleted and the operator's plan for it would issue its delete op, or release it (nothing blocks it: no
  attachment, snapshot, clone or volume made from it); a deletion blocked by a user keeps it desired;
- backend ids: the one the status records, else the one the operator would record
  (rbd/<pool>/image-<uid>, rbd/<pool>/volume-<uid>, rbd/<pool>/volume-<uid>@snapshot-<uid>);
- a Volume is made from its source as the operator names it (storage_plan.source_id: an image's base, a
  snapshot, a volume copy). While its source cannot be resolved it is not made; if it already exists it
  is kept (desired without a source, which only matters for a creation);
- an Image is in every zone there is a Zone object for (as the operator imports it into each); a Volume
  in its zone (storage_plan.volume_zone), a VolumeSnapshot in its volume's.

`uids` are the owner uids of every object of the zone, desired or not: a hostd serving some zones leaves
alone an RBD image whose owner belongs to another zone (`foreign_uids`), even in a pool they share.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from controllers import storage_plan as sp

from . import plan as p

GIB = 1 << 30
KINDS = ("Image", "ClusterImage", "Volume", "VolumeSnapshot")
"""The kinds that own RBD images or snapshots."""


@dataclass(frozen=True)
class ZoneDesired:
    zone: str
    desired: p.Desired
    pools: frozenset[str]
    ids: frozenset[str]
    """Backend ids of the zone's objects (desired or being deleted): the failures reported for the zone."""
    uids: frozenset[str]
    """Owner uids of the zone's objects, desired or not."""


@dataclass(frozen=True, slots=True)
class ParsedId:
    pool: str
    name: str
    snap: str | None = None


def parse_id(backend_id: str) -> ParsedId | None:
    """rbd/<pool>/<name>[@<snap>] -> its parts; None for anything else."""
    scheme, _, rest = backend_id.partition("/")
    pool, _, image = rest.partition("/")
    name, _, snap = image.partition("@")
    if scheme != "rbd" or not pool or not name or "/" in name or p.uid_of(name) is None:
        return None
    return ParsedId(pool, name, snap or None)


def _meta(obj: sp.Obj) -> dict[str, Any]:
    return dict(obj.get("metadata") or {})


def _owner(obj: sp.Obj, kind: str) -> p.Owner:
    meta = _meta(obj)
    return p.Owner(str(meta["uid"]), kind, str(meta.get("namespace") or ""), str(meta["name"]))


def _kept(kind: str, obj: sp.Obj, w: sp.World, backend_id: str, size_gib: int = 0) -> bool:
    """Desired: carries the operator's finalizer and, if being deleted, its deletion is blocked (the operator
    would neither ask for its delete nor release it were the backend holding it)."""
    if sp.FINALIZERS[kind] not in (_meta(obj).get("finalizers") or ()):
        return False
    if not _meta(obj).get("deletionTimestamp"):
        return True
    actions = sp.plan(kind, obj, w, {backend_id: size_gib})
    deletes = any(op.op == "delete" and op.backend_id == backend_id for op in actions.ops)
    return not deletes and actions.finalizers is None


def _source(backend_id: str | None) -> p.VolumeSource | None:
    parsed = parse_id(backend_id) if backend_id else None
    if parsed is None:
        return None
    uid = p.uid_of(parsed.name) or ""
    if parsed.name.startswith("image-"):
        return p.VolumeSource("image", parsed.pool, uid)
    if parsed.snap is not None:
        return p.VolumeSource("snapshot", parsed.pool, uid, parsed.snap.removeprefix(p.SNAP_PREFIX))
    return p.VolumeSource("volume", parsed.pool, uid)


class _Builder:
    def __init__(self, w: sp.World, zone: str, existing: Collection[p.Key]) -> None:
        self.w = w
        self.zone = zone
        self.existing = existing
        self.images: list[p.DesiredImage] = []
        self.volumes: list[p.DesiredVolume] = []
        self.snapshots: list[p.DesiredSnapshot] = []
        self.pools: set[str] = set()
        self.ids: set[str] = set()
        self.uids: set[str] = set()

    def _claim(self, backend_id: str, name: str, snap: str | None = None) -> ParsedId | None:
        """The parsed backend id, counted as the zone's, if it names the RBD image (and snapshot) expected."""
        parsed = parse_id(backend_id)
        if parsed is None or parsed.snap != snap or (snap is None and parsed.name != name):
            return None  # not an id of ours: nothing is made, nothing observed for it
        if snap is not None and not parsed.name.startswith("volume-"):
            return None
        self.ids.add(backend_id)
        self.pools.add(parsed.pool)
        return parsed

    def image(self, kind: str, obj: sp.Obj) -> None:
        backend_id = sp.image_backend_ids(obj, self.w).get(self.zone)
        if backend_id is None:
            return  # no such Zone: the operator imports into none
        owner = _owner(obj, kind)
        self.uids.add(owner.uid)
        parsed = self._claim(backend_id, p.image_name(owner.uid))
        spec = obj.get("spec") or {}
        url, sha256, fmt = (spec.get("source") or {}).get("url"), spec.get("sha256"), spec.get("diskFormat")
        if parsed is None or not (url and sha256 and fmt) or not _kept(kind, obj, self.w, backend_id):
            return
        self.images.append(p.DesiredImage(owner, parsed.pool, str(url), str(sha256), str(fmt)))

    def volume(self, obj: sp.Obj) -> None:
        vtype = sp.volume_type(self.w, obj)
        if sp.volume_zone(obj, vtype) != self.zone:
            return
        owner = _owner(obj, "Volume")
        self.uids.add(owner.uid)
        backend_id = str((obj.get("status") or {}).get("backendId") or "")
        if not backend_id:
            backends = ((vtype or {}).get("spec") or {}).get("backends") or ()
            pool = next((b.get("pool") for b in backends if b.get("zone") == self.zone), None)
            if not pool:
                return  # the operator reports InvalidSpec: nothing to make
            backend_id = p.backend_id(str(pool), p.volume_name(owner.uid))
        parsed = self._claim(backend_id, p.volume_name(owner.uid))
        size_gib = int((obj.get("spec") or {}).get("sizeGiB") or 1)
        if parsed is None or not _kept("Volume", obj, self.w, backend_id, size_gib):
            return
        source: p.VolumeSource | None = None
        if (obj.get("spec") or {}).get("source"):
            source = _source(sp.source_id(obj, self.zone, self.w)[0])
            if source is None and (parsed.pool, parsed.name) not in self.existing:
                return  # not made until its source is known (never made blank instead)
        self.volumes.append(p.DesiredVolume(owner, parsed.pool, size_gib * GIB, source))

    def snapshot(self, obj: sp.Obj) -> None:
        ns = str(_meta(obj).get("namespace") or "")
        vol = self.w.get("Volume", {}).get((ns, str((obj.get("spec") or {}).get("volume") or "")))
        if vol is None or sp.volume_zone(vol, sp.volume_type(self.w, vol)) != self.zone:
            return
        owner = _owner(obj, "VolumeSnapshot")
        self.uids.add(owner.uid)
        snap = p.snapshot_name(owner.uid)
        backend_id = str((obj.get("status") or {}).get("backendId") or "")
        vst = vol.get("status") or {}
        if not backend_id and vst.get("backendId") and vst.get("phase") in ("Available", "InUse"):
            backend_id = f"{vst['backendId']}@{snap}"  # as the operator names it
        parsed = self._claim(backend_id, "", snap) if backend_id else None
        if parsed is None or not _kept("VolumeSnapshot", obj, self.w, backend_id):
            return
        volume_uid = p.uid_of(parsed.name) or ""
        self.snapshots.append(p.DesiredSnapshot(owner, parsed.pool, volume_uid))

    def zone_pools(self) -> None:
        zone = self.w.get("Zone", {}).get(("", self.zone))
        if zone is not None:
            self.pools.add(str((zone.get("spec") or {}).get("cephPool") or sp.DEFAULT_POOL))
        for vtype in self.w.get("VolumeType", {}).values():
            for b in (vtype.get("spec") or {}).get("backends") or ():
                if b.get("zone") == self.zone and b.get("pool"):
                    self.pools.add(str(b["pool"]))


def for_zone(w: sp.World, zone: str, existing: Collection[p.Key] = ()) -> ZoneDesired:
    """The zone's desired RBD state; `existing`: the (pool, name) of the RBD images observed (a Volume whose
    source cannot be resolved is kept only if it exists)."""
    b = _Builder(w, zone, existing)
    b.zone_pools()
    for kind in ("ClusterImage", "Image"):
        for obj in _sorted(w.get(kind, {}).values()):
            b.image(kind, obj)
    for obj in _sorted(w.get("Volume", {}).values()):
        b.volume(obj)
    for obj in _sorted(w.get("VolumeSnapshot", {}).values()):
        b.snapshot(obj)
    desired = p.Desired(tuple(b.images), tuple(b.volumes), tuple(b.snapshots))
    return ZoneDesired(zone, desired, frozenset(b.pools), frozenset(b.ids), frozenset(b.uids))


def merge(zones: Iterable[ZoneDesired]) -> p.Desired:
    """One Desired for zones served together (an image shared by zones on one pool appears once)."""
    images: dict[p.Key, p.DesiredImage] = {}
    volumes: dict[p.Key, p.DesiredVolume] = {}
    snapshots: dict[tuple[str, str, str], p.DesiredSnapshot] = {}
    for zd in zones:
        for i in zd.desired.images:
            images.setdefault(i.key, i)
        for v in zd.desired.volumes:
            volumes.setdefault(v.key, v)
        for s in zd.desired.snapshots:
            snapshots.setdefault(s.key, s)
    return p.Desired(tuple(images.values()), tuple(volumes.values()), tuple(snapshots.values()))


def foreign_uids(w: sp.World, zones: Iterable[ZoneDesired]) -> frozenset[str]:
    """Owner uids of objects the API holds that belong to none of the zones: their RBD images are another
    storage hostd's, never ours to change or purge."""
    mine: set[str] = set()
    for zd in zones:
        mine |= zd.uids
    known = {str(_meta(o).get("uid")) for kind in KINDS for o in w.get(kind, {}).values()}
    return frozenset(known - mine)


def visible(observed: p.Observed, foreign: Collection[str]) -> p.Observed:
    """observed without the images and intents of foreign owners."""
    images = {k: i for k, i in observed.images.items() if p.uid_of(i.name) not in foreign}
    intents = {k: u for k, u in observed.intents.items() if u not in foreign}
    return p.Observed(images, intents)


def _sorted(objs: Iterable[sp.Obj]) -> list[sp.Obj]:
    return sorted(objs, key=lambda o: (str(_meta(o).get("namespace") or ""), str(_meta(o).get("name"))))

"""What the storage-role hostd does to one Ceph cluster (a zone), as data: pure and level-based.

    commands = plan(desired, observed, flatten_children=...).commands

`desired` lists the Images, Volumes and VolumeSnapshots that should exist in the zone; `observed` is what
the pools hold that is ours (rbd_store.observe). Applying the commands and observing again gives an empty
plan.

Names are deterministic from the owner's UID (`image-<uid>`, `volume-<uid>`, snapshot `snapshot-<uid>`,
the image's COW base snapshot `base`), the same backend ids controllers.storage_plan records, so a retry
after a crash finds what the first try made instead of making a second one.

What is ours: an RBD image named `image-<uid>`/`volume-<uid>` whose metadata `kumulus.owner-uid` is that
uid, or for which an intent is recorded. Creation is crash-safe by its order: (1) an intent
`kumulus.intent.<name>` in the pool's metadata, BEFORE anything exists under the name; (2) the image is
made (create, clone, copy, import); (3) metadata `kumulus.state=creating`, then owner uid, kind, namespace,
name (a clone or copy inherits its parent's metadata, so the state is overwritten first); (4) the rest of
the work (data, resize, base snapshot); (5) `kumulus.state=ready`, the last write; (6) the intent is
dropped. An image of ours that is not ready (or not even marked, yet has an intent) is half-made: it is
purged and made again. An image that is not ours is never listed, so never changed or removed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

META_PREFIX = "kumulus."
OWNER_KEY = "kumulus.owner-uid"
KIND_KEY = "kumulus.kind"
NAMESPACE_KEY = "kumulus.namespace"
NAME_KEY = "kumulus.name"
STATE_KEY = "kumulus.state"
INTENT_PREFIX = "kumulus.intent."
READY = "ready"
CREATING = "creating"
DELETING = "deleting"
BASE_SNAP = "base"
SNAP_PREFIX = "snapshot-"
_PREFIX = {"Image": "image", "ClusterImage": "image", "Volume": "volume"}
_NAME = re.compile(r"^(image|volume)-([0-9A-Za-z][0-9A-Za-z-]{0,62})$")

Key = tuple[str, str]
"""(pool, RBD image name)."""


def image_name(uid: str) -> str:
    return f"image-{uid}"


def volume_name(uid: str) -> str:
    return f"volume-{uid}"


def snapshot_name(uid: str) -> str:
    return f"{SNAP_PREFIX}{uid}"


def uid_of(name: str) -> str | None:
    """The owner uid an RBD image name of ours carries, or None for a name that is not one of ours."""
    m = _NAME.match(name)
    return m.group(2) if m else None


def backend_id(pool: str, name: str, snap: str | None = None) -> str:
    """The id controllers.storage_plan records: rbd/<pool>/<name>[@<snap>]."""
    return f"rbd/{pool}/{name}" + (f"@{snap}" if snap else "")


# -- desired --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Owner:
    """The Kubernetes object an RBD image belongs to; written into the image's metadata."""

    uid: str
    kind: str
    namespace: str
    name: str

    def metadata(self, state: str) -> dict[str, str]:
        return {
            STATE_KEY: state,
            OWNER_KEY: self.uid,
            KIND_KEY: self.kind,
            NAMESPACE_KEY: self.namespace,
            NAME_KEY: self.name,
        }


@dataclass(frozen=True, slots=True)
class DesiredImage:
    owner: Owner
    pool: str
    url: str
    sha256: str
    disk_format: str

    @property
    def key(self) -> Key:
        return self.pool, image_name(self.owner.uid)


@dataclass(frozen=True, slots=True)
class VolumeSource:
    """Where a Volume is filled from: an image's base (by image uid), a snapshot (by volume and snapshot
    uid) or a whole volume (by volume uid), in `pool`."""

    kind: Literal["image", "snapshot", "volume"]
    pool: str
    uid: str
    snapshot_uid: str | None = None


@dataclass(frozen=True, slots=True)
class DesiredVolume:
    owner: Owner
    pool: str
    size_bytes: int
    source: VolumeSource | None = None

    @property
    def key(self) -> Key:
        return self.pool, volume_name(self.owner.uid)


@dataclass(frozen=True, slots=True)
class DesiredSnapshot:
    owner: Owner
    pool: str
    volume_uid: str

    @property
    def key(self) -> tuple[str, str, str]:
        return self.pool, volume_name(self.volume_uid), snapshot_name(self.owner.uid)


@dataclass(frozen=True)
class Desired:
    images: tuple[DesiredImage, ...] = ()
    volumes: tuple[DesiredVolume, ...] = ()
    snapshots: tuple[DesiredSnapshot, ...] = ()


# -- observed -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RbdSnap:
    name: str
    protected: bool


@dataclass(frozen=True, slots=True)
class RbdImage:
    """An RBD image as observed: its kumulus.* metadata, size, snapshots and parent (pool, image, snap)."""

    pool: str
    name: str
    size: int
    meta: Mapping[str, str] = field(default_factory=dict)
    snaps: tuple[RbdSnap, ...] = ()
    parent: tuple[str, str, str] | None = None

    @property
    def key(self) -> Key:
        return self.pool, self.name

    @property
    def marked(self) -> bool:
        """Its metadata names the uid its name carries (an inherited parent's mark does not count)."""
        uid = uid_of(self.name)
        return uid is not None and self.meta.get(OWNER_KEY) == uid

    @property
    def complete(self) -> bool:
        return self.marked and self.meta.get(STATE_KEY) == READY

    def snap(self, name: str) -> RbdSnap | None:
        return next((s for s in self.snaps if s.name == name), None)


def is_ours(image: RbdImage, intents: Mapping[Key, str]) -> bool:
    """Marked, or named after the uid of an intent recorded before it was made (a half-made image)."""
    uid = uid_of(image.name)
    return uid is not None and (image.marked or intents.get(image.key) == uid)


@dataclass(frozen=True)
class Observed:
    images: Mapping[Key, RbdImage] = field(default_factory=dict)
    """Only images that are ours (is_ours)."""
    intents: Mapping[Key, str] = field(default_factory=dict)
    """Creations begun: (pool, name) -> owner uid."""


# -- commands -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportImage:
    """Download, inspect, create the RBD image, convert into it, snapshot `base` and protect it."""

    pool: str
    name: str
    owner: Owner
    url: str
    sha256: str
    disk_format: str


@dataclass(frozen=True, slots=True)
class RbdSource:
    """clone: copy-on-write from pool/image@snap; copy: a full copy of pool/image."""

    mode: Literal["clone", "copy"]
    pool: str
    image: str
    snap: str | None = None


@dataclass(frozen=True, slots=True)
class CreateVolume:
    pool: str
    name: str
    owner: Owner
    size_bytes: int
    source: RbdSource | None = None


@dataclass(frozen=True, slots=True)
class Resize:
    """Grow to size_bytes (never shrinks)."""

    pool: str
    name: str
    size_bytes: int


@dataclass(frozen=True, slots=True)
class CreateSnapshot:
    """Create the snapshot unless it exists, and protect it (clones need a protected parent)."""

    pool: str
    name: str
    snap: str


@dataclass(frozen=True, slots=True)
class DeleteSnapshot:
    """Unprotect and remove; refused while it has clones unless flatten_children."""

    pool: str
    name: str
    snap: str
    flatten_children: bool = False


@dataclass(frozen=True, slots=True)
class Purge:
    """Remove an image of ours with its snapshots, then its intent; refused while a snapshot of it has
    clones unless flatten_children. `why`: "half-made" or "not desired"."""

    pool: str
    name: str
    flatten_children: bool = False
    why: str = "not desired"


@dataclass(frozen=True, slots=True)
class ForgetIntent:
    pool: str
    name: str


Command = ImportImage | CreateVolume | Resize | CreateSnapshot | DeleteSnapshot | Purge | ForgetIntent


@dataclass(frozen=True)
class Plan:
    commands: tuple[Command, ...] = ()
    errors: Mapping[str, str] = field(default_factory=dict)
    """Owner uid -> why its desired state is refused (a shrink, a source larger than the volume)."""
    waiting: Mapping[str, str] = field(default_factory=dict)
    """Owner uid -> what it waits for (a source that does not exist yet)."""

    @property
    def empty(self) -> bool:
        return not self.commands


# -- planning -------------------------------------------------------------------------------------------


def plan(desired: Desired, observed: Observed, *, flatten_children: bool = False) -> Plan:
    """Commands that bring the zone's pools from observed to desired, in an order that applies."""
    cmds: list[Command] = []
    errors: dict[str, str] = {}
    waiting: dict[str, str] = {}
    want: set[Key] = {i.key for i in desired.images} | {v.key for v in desired.volumes}

    # Recovery: purge what a crash left half-made; drop intents whose creation finished or is moot.
    live = {k: img for k, img in observed.images.items() if img.complete}
    for key, img in sorted(observed.images.items()):
        if not img.complete:
            cmds.append(Purge(*key, flatten_children=False, why="half-made"))
    for key in sorted(observed.intents):
        seen = observed.images.get(key)
        if (seen is not None and seen.complete) or (seen is None and key not in want):
            cmds.append(ForgetIntent(*key))

    cmds += _creations(desired, live, errors, waiting)
    cmds += _resizes(desired, live, errors)
    cmds += _deletions(desired, live, want, flatten_children)
    return Plan(tuple(cmds), errors, waiting)


def _creations(
    desired: Desired, live: Mapping[Key, RbdImage], errors: dict[str, str], waiting: dict[str, str]
) -> list[Command]:
    cmds: list[Command] = []
    exists: set[Key] = set(live)
    snaps: set[tuple[str, str, str]] = {(*k, s.name) for k, img in live.items() for s in img.snaps}
    for image in desired.images:
        if image.key not in exists:
            cmds.append(ImportImage(*image.key, image.owner, image.url, image.sha256, image.disk_format))
            exists.add(image.key)
    for snap in desired.snapshots:
        img = live.get(snap.key[:2])
        have = img.snap(snap.key[2]) if img is not None else None
        if have is not None and not have.protected:
            cmds.append(CreateSnapshot(*snap.key))
    # Volumes and snapshots depend on one another (a volume from a snapshot of a volume from ...):
    # emit whatever has its source, until nothing more can be.
    volumes = [v for v in desired.volumes if v.key not in live]
    todo_snaps = [s for s in desired.snapshots if s.key not in snaps]
    progress = True
    while progress:
        progress = False
        for vol in list(volumes):
            source, missing = _rbd_source(vol, exists, snaps)
            if missing:
                continue
            parent = live.get((source.pool, source.image)) if source else None
            if parent is not None and parent.size > vol.size_bytes:
                errors[vol.owner.uid] = (
                    f"sizeGiB: {vol.size_bytes} bytes is smaller than the source ({parent.size} bytes)"
                )
            else:
                cmds.append(CreateVolume(*vol.key, vol.owner, vol.size_bytes, source))
                exists.add(vol.key)
            volumes.remove(vol)
            progress = True
        for snap in list(todo_snaps):
            if snap.key[:2] in exists:
                cmds.append(CreateSnapshot(*snap.key))
                snaps.add(snap.key)
                todo_snaps.remove(snap)
                progress = True
    for vol in volumes:
        waiting[vol.owner.uid] = f"waits for its source {_rbd_source(vol, exists, snaps)[1]}"
    for snap in todo_snaps:
        waiting[snap.owner.uid] = f"waits for its volume {snap.key[0]}/{snap.key[1]}"
    return cmds


def _rbd_source(
    vol: DesiredVolume, exists: set[Key], snaps: set[tuple[str, str, str]]
) -> tuple[RbdSource | None, str]:
    """The RBD source of vol, and what is missing of it ("" when nothing)."""
    src = vol.source
    if src is None:
        return None, ""
    if src.kind == "image":
        key = (src.pool, image_name(src.uid))
        return RbdSource("clone", *key, BASE_SNAP), "" if key in exists else f"image {key[0]}/{key[1]}"
    if src.kind == "snapshot":
        snap = (src.pool, volume_name(src.uid), snapshot_name(src.snapshot_uid or ""))
        return RbdSource("clone", *snap), "" if snap in snaps else f"snapshot {snap[0]}/{snap[1]}@{snap[2]}"
    key = (src.pool, volume_name(src.uid))
    return RbdSource("copy", *key), "" if key in exists else f"volume {key[0]}/{key[1]}"


def _resizes(desired: Desired, live: Mapping[Key, RbdImage], errors: dict[str, str]) -> list[Command]:
    cmds: list[Command] = []
    for vol in desired.volumes:
        img = live.get(vol.key)
        if img is None:
            continue
        if img.size < vol.size_bytes:
            cmds.append(Resize(*vol.key, vol.size_bytes))
        elif img.size > vol.size_bytes:
            errors[vol.owner.uid] = (
                f"sizeGiB: volumes can grow but never shrink ({img.size} bytes now, {vol.size_bytes} asked)"
            )
    return cmds


def _deletions(
    desired: Desired, live: Mapping[Key, RbdImage], want: set[Key], flatten: bool
) -> list[Command]:
    """Volumes (clones before their parents), then snapshots of kept volumes, then images."""
    cmds: list[Command] = []

    def depth(img: RbdImage) -> int:
        n = 0
        seen = {img.key}
        while img.parent is not None and (parent := live.get(img.parent[:2])) and parent.key not in seen:
            seen.add(parent.key)
            img, n = parent, n + 1
        return n

    doomed = [img for k, img in live.items() if k not in want]
    volumes = [img for img in doomed if img.name.startswith("volume-")]
    for img in sorted(volumes, key=lambda i: (-depth(i), i.key)):
        cmds.append(Purge(*img.key, flatten_children=flatten))
    keep_snaps = {s.key for s in desired.snapshots}
    for key, img in sorted(live.items()):
        if key not in want:
            continue
        for snap in img.snaps:
            if snap.name.startswith(SNAP_PREFIX) and (*key, snap.name) not in keep_snaps:
                cmds.append(DeleteSnapshot(*key, snap.name, flatten_children=flatten))
    for img in sorted((i for i in doomed if i.name.startswith("image-")), key=lambda i: i.key):
        cmds.append(Purge(*img.key, flatten_children=flatten))
    return cmds

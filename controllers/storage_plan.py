"""What the storage operator does with each Volume, VolumeSnapshot, Image and ClusterImage, as data: pure
and level-based.

    actions = plan(kind, obj, world, backend, failures)

`world` holds the latest body of every object by kind and (namespace, name); `backend` is what the storage
backend holds: backend id -> size in GiB (0 for images and snapshots), only for finished work. The operator
applies `Actions` in order: the finalizer list (ONE metadata merge patch), the backend `ops` (idempotent
requests: the backend does the Ceph work and reports completion, which wakes another pass), ONE status
PUT. Planning again on the result gives no actions.

Boot Volumes (`boot_volume`) are created with their finalizer and marked by the annotation
`BOOT_VOLUME_FOR` (the Server's uid). Their Creating status is planned with `hold`: the applier may keep
it back for a moment while the backend clones, then plan again, so a quick clone costs ONE status write
(straight to Available) while a slow one still shows Creating. A user's Volume shows Creating at once.

Backend ids are RBD names: `rbd/<pool>/volume-<uid>`, `rbd/<pool>/image-<uid>` and
`<volume id>@snapshot-<uid>`.

Attachment rules (Cinder's, with the stretched zone): a Server listing a Volume in spec.volumes gets it
once the Server is placed (status.host) if it is in the Volume's zone (an sz1 Volume only with sz1
Servers) and, unless the VolumeType has multiAttach, nothing else holds it. A violating Server is named
by the Volume's condition AttachmentRefused (the compute operator reads it). Deletion is blocked, as
Cinder's "in use" errors, while a Volume is attached or has snapshots or clones, while a VolumeSnapshot
has volumes restored from it, and while an image has volumes cloned from it: condition DeletionBlocked.

Backend failures (`failures`: backend id -> BackendFailure, what the storage backend refused or failed
on, e.g. a rejected image file or a checksum mismatch) reach the user: the object asking for that work gets
Ready=False with the backend's reason and message, and phase Error (a failed deletion keeps Deleting, with
reason DeletionFailed). The request is still submitted: the backend retries it, and clears the failure
once it succeeds or is no longer asked for.

Events (controllers.compute_plan.Event) come with the status write that makes a transition, so planning
again plans none: a phase change (Warning for Error), a Ready reason that is not the phase (a wait or a
failure, e.g. ImageNotFound), attachments made and ended, AttachmentRefused and DeletionBlocked raised
or changed (Warning), and the finalizer's removal of a deleted object (Deleted).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from controllers.compute_plan import Event
from controllers.conditions import changed, find, set_condition

Obj = Mapping[str, Any]
Key = tuple[str, str]
World = Mapping[str, Mapping[Key, Obj]]
Backend = Mapping[str, int]

GROUP = "storage.kumulus.dev"
BOOT_VOLUME_FOR = f"{GROUP}/boot-volume-for"
"""Annotation on the boot Volumes the operator makes: the uid of the Server it was made for."""
FINALIZERS = {
    "Volume": f"{GROUP}/volume",
    "VolumeSnapshot": f"{GROUP}/snapshot",
    "Image": "image.kumulus.dev/image",
    "ClusterImage": "image.kumulus.dev/image",
}
STRETCHED_ZONE = "sz1"
DEFAULT_POOL = "volumes"
DEFAULT_ROOT_GIB = 10
_MAX_NAMED = 10


@dataclass(frozen=True, slots=True)
class BackendOp:
    """One request to the storage backend, idempotent: `create` (from `source`, a backend id, if set),
    `resize` to `size_gib`, `delete`."""

    op: str
    backend_id: str
    zone: str
    size_gib: int = 0
    source: str | None = None


@dataclass(frozen=True, slots=True)
class BackendFailure:
    """Work the backend refused or failed on: a condition reason (ChecksumMismatch, UnsafeImage,
    HasClones, ...) and a message naming the problem."""

    reason: str
    message: str


Failures = Mapping[str, BackendFailure]
"""backend id -> the failure of the work on it (only while it fails)."""
NO_FAILURES: Failures = {}


@dataclass(frozen=True)
class Actions:
    finalizers: list[str] | None = None
    """The new finalizer list, when it changes."""
    ops: tuple[BackendOp, ...] = ()
    status: dict[str, Any] | None = None
    """The whole new status, when it changes."""
    events: tuple[Event, ...] = ()
    """To post once the finalizers or the status are written (only transitions: none when nothing changes)."""
    hold: bool = False
    """The status only reports the work `ops` start: the applier may wait a moment for the backend and plan
    again instead of writing it (the status written is then the finished one)."""

    @property
    def empty(self) -> bool:
        return self.finalizers is None and not self.ops and self.status is None


# -- helpers --------------------------------------------------------------------------------------------


def key_of(obj: Obj) -> Key:
    meta = obj["metadata"]
    return str(meta.get("namespace") or ""), str(meta["name"])


def _deleting(obj: Obj) -> bool:
    return bool(obj["metadata"].get("deletionTimestamp"))


def _spec(obj: Obj) -> Mapping[str, Any]:
    return obj.get("spec") or {}


def _status(obj: Obj) -> Mapping[str, Any]:
    return obj.get("status") or {}


def _get(w: World, kind: str, namespace: str, name: str | None) -> Obj | None:
    return None if not name else w.get(kind, {}).get((namespace, name))


def _named(what: Iterable[str]) -> str:
    names = sorted(set(what))
    more = f" and {len(names) - _MAX_NAMED} more" if len(names) > _MAX_NAMED else ""
    return ", ".join(names[:_MAX_NAMED]) + more


def _finalizers(obj: Obj, kind: str, present: bool) -> list[str] | None:
    have = list(obj["metadata"].get("finalizers") or [])
    mine = FINALIZERS[kind]
    if present and mine not in have:
        return [*have, mine]
    if not present and mine in have:
        return [f for f in have if f != mine]
    return None


def _status_actions(
    obj: Obj,
    fields: Mapping[str, Any],
    conditions: list[dict[str, Any]],
    ops: tuple[BackendOp, ...] = (),
    hold: bool = False,
) -> Actions:
    old = dict(_status(obj))
    new = {k: v for k, v in {**old, **fields}.items() if v is not None}
    new["conditions"] = conditions
    new["observedGeneration"] = obj["metadata"].get("generation")
    if new.get("observedGeneration") is None:
        new.pop("observedGeneration")
    same = {k: v for k, v in new.items() if k != "conditions"} == {
        k: v for k, v in old.items() if k != "conditions"
    } and not changed(old.get("conditions"), conditions)
    if same:
        return Actions(ops=ops)
    return Actions(ops=ops, status=new, events=transition_events(old, new), hold=hold and bool(ops))


# -- events ---------------------------------------------------------------------------------------------

FAILED_PHASES = frozenset({"Error"})
FAILURE_REASONS = frozenset({"InvalidSpec", "ImageNotFound", "DeletionFailed"})
"""Ready reasons that need the user (the others are waits that end by themselves)."""
RAISED = {"AttachmentRefused": "AttachmentRefused", "DeletionBlocked": "DeletionBlocked"}
"""Conditions that report a refusal while True: condition type -> Event reason."""


def _cond(status: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
    return find(status.get("conditions"), kind) or {}


def _servers(status: Mapping[str, Any]) -> dict[str, str]:
    return {str(a.get("server")): str(a.get("host") or "") for a in status.get("attachments") or ()}


def transition_events(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[Event, ...]:
    """The Events of a status change old -> new (none if nothing an Event reports changed)."""
    events: list[Event] = []
    ready, was_ready = _cond(new, "Ready"), _cond(old, "Ready")
    phase, old_phase = new.get("phase"), old.get("phase")
    failed = phase in FAILED_PHASES
    # A Ready reason other than the phase (a wait, a failure) gets its own Event, but in Error the
    # phase's Warning already carries it.
    explained = ready.get("status") == "False" and ready.get("reason") not in (None, phase) and not failed
    if phase and phase != old_phase:
        detail = ""
        if ready.get("message") and not explained:
            detail = f": {ready['reason']}: {ready['message']}" if failed else f": {ready['message']}"
        kind = "Warning" if failed else "Normal"
        events.append(Event(kind, str(phase), f"{old_phase or 'new'} -> {phase}{detail}"))
    if explained and (ready.get("reason"), ready.get("message")) != (
        was_ready.get("reason"),
        was_ready.get("message"),
    ):
        kind = "Warning" if ready["reason"] in FAILURE_REASONS else "Normal"
        events.append(Event(kind, str(ready["reason"]), str(ready.get("message") or "")))
    attached, was_attached = _servers(new), _servers(old)
    for server in sorted(set(attached) - set(was_attached)):
        events.append(Event("Normal", "Attached", f"attached to Server {server} on Host {attached[server]}"))
    for server in sorted(set(was_attached) - set(attached)):
        events.append(Event("Normal", "Detached", f"detached from Server {server}"))
    for ctype, reason in RAISED.items():
        now, before = _cond(new, ctype), _cond(old, ctype)
        if now.get("status") == "True" and (before.get("status"), before.get("message")) != (
            "True",
            now.get("message"),
        ):
            events.append(Event("Warning", reason, str(now.get("message") or "")))
        elif before.get("status") == "True" and now.get("status") != "True":
            events.append(Event("Normal", f"{reason}Cleared", f"no longer {_spaced(reason)}"))
    return tuple(events)


def _spaced(name: str) -> str:
    """AttachmentRefused -> attachment refused."""
    return "".join(f" {c.lower()}" if c.isupper() else c for c in name).strip()


def _released(obj: Obj, kind: str) -> Actions:
    """A deleted object's finalizer removed: it is gone once this is written."""
    return Actions(
        finalizers=_finalizers(obj, kind, False),
        events=(Event("Normal", "Deleted", f"the {kind} is deleted"),),
    )


def _conditions(
    obj: Obj, *sets: tuple[str, bool, str, str], drop: Iterable[str] = ()
) -> list[dict[str, Any]]:
    gen = obj["metadata"].get("generation")
    out = [c for c in _status(obj).get("conditions") or () if c.get("type") not in set(drop)]
    for kind, status, reason, message in sets:
        out = set_condition(out, kind, status, reason, message, gen)
    return out


def _deleting_actions(
    obj: Obj, what: str, fields: Mapping[str, Any], op: tuple[BackendOp, ...], failure: BackendFailure | None
) -> Actions:
    """The status of an object whose backend work is being deleted (or failed to be)."""
    if failure is None:
        ready = ("Ready", False, "Deleting", f"the {what} is being deleted")
    else:
        ready = ("Ready", False, "DeletionFailed", f"{failure.reason}: {failure.message}")
    return _status_actions(obj, {"phase": "Deleting", **fields}, _conditions(obj, ready), op)


def _blocked(obj: Obj, kind: str, users: list[str], phase: str | None) -> Actions:
    conds = _conditions(obj, ("DeletionBlocked", True, "InUse", f"{kind} is in use by {_named(users)}"))
    return _status_actions(obj, {"phase": phase}, conds)


# -- references -----------------------------------------------------------------------------------------


def resolve_image(w: World, namespace: str, name: str | None) -> Obj | None:
    """An Image of that name in the namespace, else the ClusterImage."""
    return _get(w, "Image", namespace, name) or _get(w, "ClusterImage", "", name)


def volume_type(w: World, vol: Obj) -> Obj | None:
    name = _spec(vol).get("volumeType") or _status(vol).get("volumeType")
    if name:
        return _get(w, "VolumeType", "", name)
    defaults = [t for t in w.get("VolumeType", {}).values() if _spec(t).get("isDefault")]
    return sorted(defaults, key=lambda t: t["metadata"]["name"])[0] if defaults else None


def _pool(vtype: Obj, zone: str) -> str | None:
    return next((b["pool"] for b in _spec(vtype).get("backends") or () if b.get("zone") == zone), None)


def volume_zone(vol: Obj, vtype: Obj | None) -> str | None:
    zone = _status(vol).get("zone") or _spec(vol).get("zone")
    if zone:
        return str(zone)
    backends = _spec(vtype).get("backends") if vtype else None
    return str(backends[0]["zone"]) if backends else None


def server_zone(server: Obj) -> str | None:
    zone = _status(server).get("zone") or _spec(server).get("zone")
    return str(zone) if zone else None


def _created(obj: Obj) -> tuple[str, str]:
    return str(obj["metadata"].get("creationTimestamp") or ""), str(obj["metadata"]["name"])


# -- attachments ----------------------------------------------------------------------------------------


def attachments(
    vol: Obj, zone: str, multi_attach: bool, servers: Iterable[Obj]
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The attachments of a Volume and the Servers refused (name -> the rule), from the Servers listing it.

    Servers already attached keep their place; then the oldest first. A Server not yet placed waits."""
    name = vol["metadata"]["name"]
    held = {a.get("server") for a in _status(vol).get("attachments") or ()}
    wanting = [
        s
        for s in servers
        if not _deleting(s) and any(v.get("volume") == name for v in _spec(s).get("volumes") or ())
    ]
    wanting.sort(key=lambda s: (s["metadata"]["name"] not in held, _created(s)))
    out: list[dict[str, Any]] = []
    refused: dict[str, str] = {}
    for server in wanting:
        sname = server["metadata"]["name"]
        szone = server_zone(server)
        if szone is None:
            continue
        if zone == STRETCHED_ZONE and szone != STRETCHED_ZONE:
            refused[sname] = f"volumes in {STRETCHED_ZONE} attach only to Servers in {STRETCHED_ZONE}"
        elif szone != zone:
            refused[sname] = f"the Server is in {szone}, the Volume in {zone}: volumes attach in their zone"
        elif out and not multi_attach:
            refused[sname] = f"already attached to {out[0]['server']} and its VolumeType is not multiAttach"
        elif _status(server).get("host"):
            out.append({"server": sname, "host": _status(server)["host"]})
    return out, refused


# -- Volume ---------------------------------------------------------------------------------------------


class _Wait(Exception):
    def __init__(self, reason: str, message: str, terminal: bool = False) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.terminal = terminal


def source_id(vol: Obj, zone: str, w: World) -> tuple[str | None, str]:
    """(the backend id the Volume is made from, or None for a blank one; "" or why its source is not ready)."""
    try:
        return _source_id(vol, zone, w), ""
    except _Wait as wait:
        return None, wait.message


def _source_id(vol: Obj, zone: str, w: World) -> str | None:
    """The backend id the Volume is cloned from (None: blank); _Wait while the source is not ready."""
    ns = key_of(vol)[0]
    source = _spec(vol).get("source") or {}
    if source.get("image"):
        image = resolve_image(w, ns, source["image"])
        if image is None:
            raise _Wait("ImageNotFound", f"image {source['image']} does not exist")
        entry = next((z for z in _status(image).get("zones") or () if z.get("zone") == zone), None)
        if entry is None or entry.get("phase") != "Available" or not entry.get("backendId"):
            raise _Wait("ImageNotAvailable", f"image {source['image']} is not yet available in {zone}")
        return str(entry["backendId"])
    if source.get("snapshot"):
        snap = _get(w, "VolumeSnapshot", ns, source["snapshot"])
        if snap is None or _status(snap).get("phase") != "Available":
            raise _Wait("SnapshotNotAvailable", f"snapshot {source['snapshot']} is not available")
        return str(_status(snap)["backendId"])
    if source.get("volume"):
        src = _get(w, "Volume", ns, source["volume"])
        if src is None or _status(src).get("phase") not in ("Available", "InUse"):
            raise _Wait("SourceNotAvailable", f"volume {source['volume']} is not available")
        return str(_status(src)["backendId"])
    return None


def _volume_users(vol: Obj, w: World, attached: list[dict[str, Any]]) -> list[str]:
    ns, name = key_of(vol)
    users = [f"Server {a['server']}" for a in attached]
    users += [
        f"VolumeSnapshot {k[1]}"
        for k, s in w.get("VolumeSnapshot", {}).items()
        if k[0] == ns and _spec(s).get("volume") == name
    ]
    users += [
        f"Volume {k[1]}"
        for k, v in w.get("Volume", {}).items()
        if k[0] == ns and (_spec(v).get("source") or {}).get("volume") == name
    ]
    return users


def plan_volume(vol: Obj, w: World, backend: Backend, failures: Failures = NO_FAILURES) -> Actions:
    st = _status(vol)
    vtype = volume_type(w, vol)
    zone = volume_zone(vol, vtype)
    backend_id = st.get("backendId")
    if _deleting(vol):
        if FINALIZERS["Volume"] not in (vol["metadata"].get("finalizers") or ()):
            return Actions()
        multi = bool(vtype and _spec(vtype).get("multiAttach"))
        attached, _ = attachments(vol, zone or "", multi, w.get("Server", {}).values()) if zone else ([], {})
        users = _volume_users(vol, w, attached)
        if users:
            return _blocked(vol, "Volume", users, st.get("phase"))
        if backend_id and backend_id in backend:
            op = BackendOp("delete", str(backend_id), str(zone or ""))
            return _deleting_actions(vol, "volume", {"attachments": []}, (op,), failures.get(backend_id))
        return _released(vol, "Volume")
    fins = _finalizers(vol, "Volume", True)
    if fins is not None:
        return Actions(finalizers=fins)
    size = int(_spec(vol).get("sizeGiB") or 1)
    type_name = vtype["metadata"]["name"] if vtype else None
    try:
        if vtype is None:
            raise _Wait(
                "InvalidSpec",
                f"VolumeType {_spec(vol).get('volumeType') or '(default)'} does not exist",
                True,
            )
        pool = _pool(vtype, zone or "")
        if zone is None or pool is None:
            raise _Wait("InvalidSpec", f"VolumeType {type_name} has no backend in zone {zone}", True)
        if not backend_id:
            backend_id = f"rbd/{pool}/volume-{vol['metadata']['uid']}"
        if backend_id not in backend:
            source = _source_id(vol, zone, w)
            op = BackendOp("create", backend_id, zone, size, source)
            creating = {"phase": "Creating", "zone": zone, "volumeType": type_name, "backendId": backend_id}
            failure = failures.get(backend_id)
            if failure is not None:
                conds = _conditions(vol, ("Ready", False, failure.reason, failure.message))
                return _status_actions(vol, {**creating, "phase": "Error"}, conds, (op,))
            conds = _conditions(vol, ("Ready", False, "Creating", "the volume is being created"))
            return _status_actions(vol, creating, conds, (op,), hold=is_boot_volume(vol))
    except _Wait as wait:
        conds = _conditions(vol, ("Ready", False, wait.reason, wait.message))
        phase = "Error" if wait.terminal else "Creating"
        return _status_actions(vol, {"phase": phase, "zone": zone, "volumeType": type_name}, conds)
    have = backend[backend_id]
    fields: dict[str, Any] = {"zone": zone, "volumeType": type_name, "backendId": backend_id, "sizeGiB": have}
    multi = bool(_spec(vtype).get("multiAttach"))
    attached, refused = attachments(vol, zone, multi, w.get("Server", {}).values())
    fields["attachments"] = attached
    refusal: list[tuple[str, bool, str, str]] = []
    if refused:
        text = "; ".join(f"Server {s}: {rule}" for s, rule in sorted(refused.items()))
        refusal = [("AttachmentRefused", True, "AttachmentRuleViolated", text)]
    drop = ["DeletionBlocked"] + ([] if refused else ["AttachmentRefused"])
    ops: tuple[BackendOp, ...] = ()
    failure = failures.get(backend_id)
    if have < size and failure is not None:
        ops = (BackendOp("resize", backend_id, zone, size),)
        fields["phase"] = "Error"
        ready = ("Ready", False, failure.reason, failure.message)
    elif have < size:
        ops = (BackendOp("resize", backend_id, zone, size),)
        fields["phase"] = "Extending"
        ready = ("Ready", False, "Extending", f"extending from {have} to {size} GiB")
    else:
        phase = "InUse" if attached else "Available"
        fields["phase"] = phase
        ready = ("Ready", True, phase, "")
    return _status_actions(vol, fields, _conditions(vol, ready, *refusal, drop=drop), ops)


# -- VolumeSnapshot -------------------------------------------------------------------------------------


def plan_snapshot(snap: Obj, w: World, backend: Backend, failures: Failures = NO_FAILURES) -> Actions:
    ns, name = key_of(snap)
    st = _status(snap)
    backend_id = st.get("backendId")
    if _deleting(snap):
        if FINALIZERS["VolumeSnapshot"] not in (snap["metadata"].get("finalizers") or ()):
            return Actions()
        users = [
            f"Volume {k[1]}"
            for k, v in w.get("Volume", {}).items()
            if k[0] == ns and (_spec(v).get("source") or {}).get("snapshot") == name
        ]
        if users:
            return _blocked(snap, "VolumeSnapshot", users, st.get("phase"))
        if backend_id and backend_id in backend:
            op = BackendOp("delete", str(backend_id), "")
            return _deleting_actions(snap, "snapshot", {}, (op,), failures.get(backend_id))
        return _released(snap, "VolumeSnapshot")
    fins = _finalizers(snap, "VolumeSnapshot", True)
    if fins is not None:
        return Actions(finalizers=fins)
    if backend_id and backend_id in backend:
        conds = _conditions(snap, ("Ready", True, "Available", ""))
        return _status_actions(snap, {"phase": "Available"}, conds)
    vol = _get(w, "Volume", ns, _spec(snap).get("volume"))
    vst = _status(vol) if vol else {}
    if vol is None or vst.get("phase") not in ("Available", "InUse") or not vst.get("backendId"):
        message = f"volume {_spec(snap).get('volume')} is not available"
        conds = _conditions(snap, ("Ready", False, "VolumeNotAvailable", message))
        return _status_actions(snap, {"phase": "Creating"}, conds)
    backend_id = f"{vst['backendId']}@snapshot-{snap['metadata']['uid']}"
    op = BackendOp("create", backend_id, str(vst.get("zone") or ""), int(vst.get("sizeGiB") or 0))
    fields = {"phase": "Creating", "backendId": backend_id, "sizeGiB": vst.get("sizeGiB")}
    failure = failures.get(backend_id)
    if failure is not None:
        conds = _conditions(snap, ("Ready", False, failure.reason, failure.message))
        return _status_actions(snap, {**fields, "phase": "Error"}, conds, (op,))
    conds = _conditions(snap, ("Ready", False, "Creating", "the snapshot is being taken"))
    return _status_actions(snap, fields, conds, (op,))


# -- Image and ClusterImage -----------------------------------------------------------------------------


def _image_users(image: Obj, w: World) -> list[str]:
    ns, name = key_of(image)
    cluster = image.get("kind") == "ClusterImage"
    users = []
    for (vns, vname), vol in w.get("Volume", {}).items():
        if (_spec(vol).get("source") or {}).get("image") != name:
            continue
        if (cluster and _get(w, "Image", vns, name) is None) or (not cluster and vns == ns):
            users.append(f"Volume {vns}/{vname}" if cluster else f"Volume {vname}")
    return users


def image_backend_ids(image: Obj, w: World) -> dict[str, str]:
    """zone -> the backend id of the image's copy in that zone, for every Zone: the one its status records,
    else rbd/<the Zone's cephPool>/image-<uid>."""
    recorded = {e.get("zone"): e.get("backendId") for e in _status(image).get("zones") or ()}
    uid = image["metadata"]["uid"]
    out = {}
    for z in sorted(w.get("Zone", {}).values(), key=lambda z: z["metadata"]["name"]):
        name = z["metadata"]["name"]
        pool = _spec(z).get("cephPool") or DEFAULT_POOL
        out[name] = str(recorded.get(name) or f"rbd/{pool}/image-{uid}")
    return out


def plan_image(image: Obj, w: World, backend: Backend, failures: Failures = NO_FAILURES) -> Actions:
    kind = str(image.get("kind") or "Image")
    st = _status(image)
    recorded = {e.get("zone"): e.get("backendId") for e in st.get("zones") or ()}
    if _deleting(image):
        if FINALIZERS[kind] not in (image["metadata"].get("finalizers") or ()):
            return Actions()
        users = _image_users(image, w)
        if users:
            return _blocked(image, kind, users, st.get("phase"))
        ops = tuple(BackendOp("delete", str(i), str(z)) for z, i in recorded.items() if i and i in backend)
        if ops:
            failing = [f for f in (failures.get(o.backend_id) for o in ops) if f is not None]
            ready = ("Ready", False, "Deleting", "the image is being deleted")
            if failing:
                ready = ("Ready", False, "DeletionFailed", f"{failing[0].reason}: {failing[0].message}")
            return _status_actions(image, {}, _conditions(image, ready), ops)
        return _released(image, kind)
    fins = _finalizers(image, kind, True)
    if fins is not None:
        return Actions(finalizers=fins)
    entries = []
    ops_list = []
    failed: dict[BackendFailure, list[str]] = {}
    for zone, backend_id in image_backend_ids(image, w).items():
        done = backend_id in backend
        failure = None if done else failures.get(backend_id)
        phase = "Available" if done else "Error" if failure else "Downloading"
        entries.append({"zone": zone, "phase": phase, "backendId": backend_id})
        if not done:
            ops_list.append(BackendOp("create", backend_id, zone))
        if failure is not None:
            failed.setdefault(failure, []).append(zone)
    if not entries:
        conds = _conditions(image, ("Ready", False, "Pending", "no Zone to import the image into"))
        return _status_actions(image, {"phase": "Pending"}, conds)
    available = not ops_list
    verified: bool | None = True if available else None
    if failed:
        phase = "Error"
        first = next(iter(failed))
        message = "; ".join(f"in {_named(zones)}: {f.message}" for f, zones in failed.items())
        ready = ("Ready", False, first.reason, message)
        if any(f.reason == "ChecksumMismatch" for f in failed):
            verified = False
    elif available:
        phase = "Available"
        ready = ("Ready", True, "Available", "")
    else:
        phase = "Downloading"
        ready = ("Ready", False, "Downloading", "importing into " + _named(o.zone for o in ops_list))
    fields = {"phase": phase, "zones": entries, "checksumVerified": verified}
    return _status_actions(image, fields, _conditions(image, ready), tuple(ops_list))


# -- boot volumes ---------------------------------------------------------------------------------------


def is_boot_volume(vol: Obj) -> bool:
    """A boot Volume this operator made (marked with BOOT_VOLUME_FOR)."""
    return bool((vol["metadata"].get("annotations") or {}).get(BOOT_VOLUME_FOR))


def boot_volume(server: Obj, w: World) -> dict[str, Any] | None:
    """The boot Volume `<server>-root` a Server booting from an image needs, when it does not exist yet.

    It is created with its finalizer (no patch to add it) and marked as ours (BOOT_VOLUME_FOR)."""
    spec = _spec(server)
    ns, name = key_of(server)
    zone = server_zone(server)
    if not spec.get("image") or _deleting(server) or zone is None:
        return None
    if _get(w, "Volume", ns, f"{name}-root") is not None:
        return None
    root = spec.get("rootDisk") or {}
    flavor = _get(w, "Flavor", "", spec.get("flavor"))
    size = root.get("sizeGiB") or (_spec(flavor).get("diskGiB") if flavor else None) or DEFAULT_ROOT_GIB
    body_spec: dict[str, Any] = {
        "sizeGiB": int(size),
        "zone": zone,
        "source": {"image": spec["image"]},
        "bootable": True,
    }
    if root.get("volumeType"):
        body_spec["volumeType"] = root["volumeType"]
    meta: dict[str, Any] = {
        "name": f"{name}-root",
        "namespace": ns,
        "finalizers": [FINALIZERS["Volume"]],
        "annotations": {BOOT_VOLUME_FOR: str(server["metadata"]["uid"])},
    }
    if root.get("deleteWithServer", True):
        meta["ownerReferences"] = [
            {
                "apiVersion": server.get("apiVersion", "compute.kumulus.dev/v1alpha1"),
                "kind": "Server",
                "name": name,
                "uid": server["metadata"]["uid"],
            }
        ]
    return {"apiVersion": f"{GROUP}/v1alpha1", "kind": "Volume", "metadata": meta, "spec": body_spec}


# -- dispatch -------------------------------------------------------------------------------------------

ORDER = ("ClusterImage", "Image", "Volume", "VolumeSnapshot")


def plan(kind: str, obj: Obj, w: World, backend: Backend, failures: Failures = NO_FAILURES) -> Actions:
    if kind == "Volume":
        return plan_volume(obj, w, backend, failures)
    if kind == "VolumeSnapshot":
        return plan_snapshot(obj, w, backend, failures)
    return plan_image(obj, w, backend, failures)

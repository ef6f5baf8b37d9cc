"""controllers.storage_plan: Volume, VolumeSnapshot and image plans as data, attachment rules (zone, sz1,
multi-attach), extend, deletion blocking, boot volumes, the Events of transitions (and none without one),
and that a second pass yields nothing."""

from __future__ import annotations

from typing import Any

from controllers.conditions import find
from controllers.storage_plan import Actions, attachments, boot_volume, key_of, plan, transition_events

Obj = dict[str, Any]


def obj(kind: str, name: str, spec: Obj, ns: str = "default", **meta: Any) -> Obj:
    return {
        "kind": kind,
        "metadata": {"name": name, "namespace": ns, "uid": f"uid-{name}", "generation": 1, **meta},
        "spec": spec,
    }


def vtype(name: str = "standard", zones: tuple[str, ...] = ("az1", "az2"), multi: bool = False) -> Obj:
    return obj(
        "VolumeType",
        name,
        {"backends": [{"zone": z, "pool": "volumes"} for z in zones], "multiAttach": multi},
        ns="",
    )


def server(name: str, zone: str, *volumes: str, host: str | None = "h1") -> Obj:
    body = obj("Server", name, {"flavor": "m1", "zone": zone, "volumes": [{"volume": v} for v in volumes]})
    body["status"] = {"zone": zone, "host": host} if host else {}
    return body


class World:
    """The world and the backend, with the plans' actions applied as the operator would."""

    def __init__(self, *objs: Obj) -> None:
        self.objects: dict[str, dict[tuple[str, str], Obj]] = {}
        self.backend: dict[str, int] = {}
        self.events: list[tuple[str, str, str]] = []
        """(object name, Event type, reason) of every Event planned, in order."""
        for o in objs:
            self.put(o)

    def put(self, o: Obj) -> None:
        self.objects.setdefault(o["kind"], {})[key_of(o)] = o

    def get(self, kind: str, name: str, ns: str = "default") -> Obj:
        return self.objects[kind][(ns, name)]

    def step(self, kind: str, name: str, ns: str = "default", backend_done: bool = True) -> Actions:
        o = self.get(kind, name, ns)
        actions = plan(kind, o, self.objects, self.backend)
        self.events += [(name, e.type, e.reason) for e in actions.events]
        if actions.finalizers is not None:
            o["metadata"]["finalizers"] = actions.finalizers
        if actions.status is not None:
            o["status"] = actions.status
        if backend_done:
            for op in actions.ops:
                if op.op == "delete":
                    self.backend.pop(op.backend_id, None)
                else:
                    self.backend[op.backend_id] = op.size_gib
        return actions

    def settle(self, kind: str, name: str, ns: str = "default") -> Obj:
        for _ in range(10):
            if self.step(kind, name, ns).empty:
                return self.get(kind, name, ns)
        raise AssertionError(f"{kind} {name} does not settle")


def test_volume_created_then_available_and_second_pass_is_empty() -> None:
    w = World(vtype(), obj("Volume", "data", {"sizeGiB": 20, "volumeType": "standard", "zone": "az1"}))
    first = w.step("Volume", "data", backend_done=False)
    assert first.finalizers == ["storage.kumulus.dev/volume"]
    creating = w.step("Volume", "data", backend_done=False)
    assert creating.ops[0].op == "create" and creating.ops[0].backend_id == "rbd/volumes/volume-uid-data"
    assert w.get("Volume", "data")["status"]["phase"] == "Creating"
    vol = w.settle("Volume", "data")
    assert vol["status"]["phase"] == "Available" and vol["status"]["sizeGiB"] == 20
    assert find(vol["status"]["conditions"], "Ready")["status"] == "True"  # type: ignore[index]
    assert plan("Volume", vol, w.objects, w.backend).empty


def test_zone_defaults_to_the_types_first_backend_and_invalid_zone_is_terminal() -> None:
    w = World(vtype(zones=("az2", "az3")), obj("Volume", "a", {"sizeGiB": 1, "volumeType": "standard"}))
    assert w.settle("Volume", "a")["status"]["zone"] == "az2"
    w.put(obj("Volume", "b", {"sizeGiB": 1, "volumeType": "standard", "zone": "sz1"}))
    w.put(obj("Volume", "c", {"sizeGiB": 1, "volumeType": "missing", "zone": "az1"}))
    for name in ("b", "c"):
        vol = w.settle("Volume", name)
        ready = find(vol["status"]["conditions"], "Ready") or {}
        assert (vol["status"]["phase"], ready["reason"]) == ("Error", "InvalidSpec")


def test_source_waits_for_the_image_in_the_zone() -> None:
    image = obj("ClusterImage", "debian", {}, ns="")
    image["status"] = {"zones": [{"zone": "az2", "phase": "Available", "backendId": "rbd/volumes/image-x"}]}
    w = World(
        vtype(),
        image,
        obj(
            "Volume",
            "v",
            {"sizeGiB": 1, "zone": "az1", "volumeType": "standard", "source": {"image": "debian"}},
        ),
    )
    vol = w.settle("Volume", "v")
    assert (find(vol["status"]["conditions"], "Ready") or {})["reason"] == "ImageNotAvailable"
    image["status"]["zones"].append({"zone": "az1", "phase": "Available", "backendId": "rbd/volumes/image-x"})
    creating = w.step("Volume", "v")
    assert creating.ops[0].source == "rbd/volumes/image-x"


def test_attach_rules() -> None:
    vol = obj("Volume", "v", {})
    ok, refused = attachments(vol, "az1", False, [server("a", "az1", "v"), server("b", "az2", "v")])
    assert ok == [{"server": "a", "host": "h1"}] and "in az2" in refused["b"]
    _, refused = attachments(vol, "sz1", False, [server("c", "az1", "v")])
    assert refused["c"] == "volumes in sz1 attach only to Servers in sz1"
    servers = [server("a", "az1", "v"), server("b", "az1", "v")]
    ok, refused = attachments(vol, "az1", False, servers)
    assert [a["server"] for a in ok] == ["a"] and "multiAttach" in refused["b"]
    ok, refused = attachments(vol, "az1", True, servers)
    assert [a["server"] for a in ok] == ["a", "b"] and not refused
    ok, refused = attachments(vol, "az1", False, [server("p", "az1", "v", host=None)])
    assert ok == [] and refused == {}  # not placed yet: waits


def test_in_use_refusal_condition_and_extend() -> None:
    w = World(
        vtype(),
        obj("Volume", "v", {"sizeGiB": 10, "volumeType": "standard", "zone": "az1"}),
        server("a", "az1", "v"),
        server("b", "az2", "v"),
    )
    vol = w.settle("Volume", "v")
    assert vol["status"]["phase"] == "InUse"
    refusal = find(vol["status"]["conditions"], "AttachmentRefused") or {}
    assert refusal["status"] == "True" and "Server b" in refusal["message"]
    vol["spec"]["sizeGiB"] = 30
    extending = w.step("Volume", "v", backend_done=False)
    assert extending.ops[0].op == "resize" and vol["status"]["phase"] == "Extending"
    w.backend[extending.ops[0].backend_id] = 30
    vol = w.settle("Volume", "v")
    assert vol["status"]["phase"] == "InUse" and vol["status"]["sizeGiB"] == 30


def test_deletion_blocked_while_attached_or_snapshotted() -> None:
    w = World(
        vtype(),
        obj("Volume", "v", {"sizeGiB": 10, "volumeType": "standard", "zone": "az1"}),
        server("a", "az1", "v"),
    )
    w.settle("Volume", "v")
    w.put(obj("VolumeSnapshot", "s", {"volume": "v"}))
    snap = w.settle("VolumeSnapshot", "s")
    assert snap["status"]["phase"] == "Available" and snap["status"]["backendId"].endswith("@snapshot-uid-s")
    vol = w.get("Volume", "v")
    vol["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    vol = w.settle("Volume", "v")
    message = (find(vol["status"]["conditions"], "DeletionBlocked") or {})["message"]
    assert "Server a" in message and "VolumeSnapshot s" in message
    del w.objects["Server"][("default", "a")]
    del w.objects["VolumeSnapshot"][("default", "s")]
    w.settle("Volume", "v")
    assert vol["metadata"]["finalizers"] == [] and "rbd/volumes/volume-uid-v" not in w.backend


def test_snapshot_blocked_by_restored_volume() -> None:
    snap = obj(
        "VolumeSnapshot",
        "s",
        {"volume": "v"},
        deletionTimestamp="x",
        finalizers=["storage.kumulus.dev/snapshot"],
    )
    w = World(snap, obj("Volume", "r", {"sizeGiB": 1, "source": {"snapshot": "s"}}))
    assert (
        "Volume r"
        in (find(w.settle("VolumeSnapshot", "s")["status"]["conditions"], "DeletionBlocked") or {})["message"]
    )


def test_image_available_per_zone_and_blocked_by_clones() -> None:
    zones = [obj("Zone", z, {"cephPool": "volumes"}, ns="") for z in ("az1", "sz1")]
    w = World(*zones, obj("ClusterImage", "debian", {}, ns=""))
    image = w.settle("ClusterImage", "debian", ns="")
    assert image["status"]["phase"] == "Available"
    assert [z["zone"] for z in image["status"]["zones"]] == ["az1", "sz1"]
    w.put(obj("Volume", "root", {"sizeGiB": 1, "source": {"image": "debian"}}, ns="team"))
    image["metadata"]["deletionTimestamp"] = "x"
    image = w.settle("ClusterImage", "debian", ns="")
    assert "Volume team/root" in (find(image["status"]["conditions"], "DeletionBlocked") or {})["message"]


def test_boot_volume() -> None:
    flavor = obj("Flavor", "m1", {"diskGiB": 25}, ns="")
    srv = obj("Server", "web", {"flavor": "m1", "image": "debian"})
    w = World(flavor, srv)
    assert boot_volume(srv, w.objects) is None  # no zone yet
    srv["status"] = {"zone": "az2"}
    body = boot_volume(srv, w.objects)
    assert body is not None
    assert (
        body["metadata"]["name"] == "web-root" and body["metadata"]["ownerReferences"][0]["uid"] == "uid-web"
    )
    assert body["spec"] == {"sizeGiB": 25, "zone": "az2", "source": {"image": "debian"}, "bootable": True}
    srv["spec"]["rootDisk"] = {"deleteWithServer": False, "sizeGiB": 40}
    kept = boot_volume(srv, w.objects)
    assert kept is not None and "ownerReferences" not in kept["metadata"] and kept["spec"]["sizeGiB"] == 40
    w.put({**kept, "metadata": {**kept["metadata"], "uid": "u"}})
    assert boot_volume(srv, w.objects) is None


def boot_world() -> tuple[World, Obj]:
    image = obj("ClusterImage", "debian", {}, ns="")
    image["status"] = {"zones": [{"zone": "az1", "phase": "Available", "backendId": "rbd/volumes/image-x"}]}
    srv = obj("Server", "web", {"flavor": "m1", "image": "debian"})
    srv["status"] = {"zone": "az1"}
    w = World(vtype(), image, srv)
    body = boot_volume(srv, w.objects)
    assert body is not None
    body["metadata"]["uid"] = "uid-web-root"
    w.put({**body, "spec": {**body["spec"], "volumeType": "standard"}})
    return w, body


def test_boot_volume_is_created_with_its_finalizer_and_a_quick_clone_writes_one_status() -> None:
    w, body = boot_world()
    assert body["metadata"]["finalizers"] == ["storage.kumulus.dev/volume"]
    assert body["metadata"]["annotations"] == {"storage.kumulus.dev/boot-volume-for": "uid-web"}
    creating = plan("Volume", w.get("Volume", "web-root"), w.objects, w.backend)
    # no finalizer patch; the Creating status may be held while the clone runs
    assert creating.finalizers is None and creating.hold and creating.status is not None
    assert [(op.op, op.source) for op in creating.ops] == [("create", "rbd/volumes/image-x")]
    w.backend[creating.ops[0].backend_id] = creating.ops[0].size_gib  # the clone ends while held
    done = w.step("Volume", "web-root")
    assert done.status is not None and done.status["phase"] == "Available" and not done.ops and not done.hold
    assert [(e.type, e.reason, e.message) for e in done.events] == [
        ("Normal", "Available", "new -> Available")
    ]
    assert plan("Volume", w.get("Volume", "web-root"), w.objects, w.backend).empty


def test_a_slow_clone_still_shows_creating_and_a_users_volume_is_not_held() -> None:
    w, _ = boot_world()
    held = w.step("Volume", "web-root", backend_done=False)  # the hold ran out: written as it stands
    assert held.hold and w.get("Volume", "web-root")["status"]["phase"] == "Creating"
    assert plan("Volume", w.get("Volume", "web-root"), w.objects, w.backend).status is None  # written once
    assert w.settle("Volume", "web-root")["status"]["phase"] == "Available"
    w.put(obj("Volume", "data", {"sizeGiB": 1, "volumeType": "standard", "zone": "az1"}))
    w.step("Volume", "data")  # its finalizer
    mine = plan("Volume", w.get("Volume", "data"), w.objects, w.backend)
    assert mine.status is not None and mine.status["phase"] == "Creating" and not mine.hold


# -- Events ---------------------------------------------------------------------------------------------


def reasons(w: World) -> list[str]:
    return [f"{t}:{r}" for _, t, r in w.events]


def test_volume_life_posts_one_event_per_transition_and_none_when_settled() -> None:
    w = World(
        vtype(),
        obj("Volume", "v", {"sizeGiB": 10, "volumeType": "standard", "zone": "az1"}),
        server("a", "az1", "v"),
    )
    vol = w.settle("Volume", "v")
    assert reasons(w) == ["Normal:Creating", "Normal:InUse", "Normal:Attached"]
    assert w.events[-1][0] == "v"
    for _ in range(3):  # level-based passes over a settled object plan no Event
        assert plan("Volume", vol, w.objects, w.backend).events == ()
    w.events.clear()
    vol["spec"]["sizeGiB"] = 20
    w.settle("Volume", "v")
    assert reasons(w) == ["Normal:Extending", "Normal:InUse"]
    w.events.clear()
    vol["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    w.settle("Volume", "v")
    assert reasons(w) == ["Warning:DeletionBlocked"]  # attached: blocked, said once
    w.events.clear()
    del w.objects["Server"][("default", "a")]
    w.settle("Volume", "v")
    assert reasons(w) == ["Normal:Deleting", "Normal:Detached", "Normal:Deleted"]


def test_failures_are_warnings_and_waits_are_normal() -> None:
    w = World(
        vtype(),
        obj("Volume", "bad", {"sizeGiB": 1, "volumeType": "missing", "zone": "az1"}),
        obj(
            "Volume",
            "orphan",
            {"sizeGiB": 1, "volumeType": "standard", "zone": "az1", "source": {"image": "gone"}},
        ),
        obj(
            "Volume",
            "early",
            {"sizeGiB": 1, "volumeType": "standard", "zone": "az1", "source": {"volume": "bad"}},
        ),
    )
    for name in ("bad", "orphan", "early"):
        w.settle("Volume", name)
    assert w.events == [
        ("bad", "Warning", "Error"),
        ("orphan", "Normal", "Creating"),
        ("orphan", "Warning", "ImageNotFound"),
        ("early", "Normal", "Creating"),
        ("early", "Normal", "SourceNotAvailable"),
    ]


def test_attachment_refused_is_a_warning_once_and_its_end_is_reported() -> None:
    w = World(
        vtype(),
        obj("Volume", "v", {"sizeGiB": 1, "volumeType": "standard", "zone": "az1"}),
        server("a", "az1", "v"),
        server("b", "az2", "v"),
    )
    w.settle("Volume", "v")
    assert reasons(w).count("Warning:AttachmentRefused") == 1
    w.events.clear()
    w.settle("Volume", "v")
    assert w.events == []
    del w.objects["Server"][("default", "b")]
    w.settle("Volume", "v")
    assert reasons(w) == ["Normal:AttachmentRefusedCleared"]


def test_image_and_snapshot_events() -> None:
    zones = [obj("Zone", z, {"cephPool": "volumes"}, ns="") for z in ("az1", "az2")]
    w = World(*zones, obj("ClusterImage", "debian", {}, ns=""))
    image = w.step("ClusterImage", "debian", ns="", backend_done=False)
    assert image.events == ()  # the finalizer only
    w.step("ClusterImage", "debian", ns="", backend_done=False)
    w.settle("ClusterImage", "debian", ns="")
    assert reasons(w) == ["Normal:Downloading", "Normal:Available"]
    w = World(vtype(), obj("Volume", "v", {"sizeGiB": 1, "volumeType": "standard", "zone": "az1"}))
    w.put(obj("VolumeSnapshot", "s", {"volume": "v"}))
    w.settle("VolumeSnapshot", "s")
    w.settle("Volume", "v")
    w.settle("VolumeSnapshot", "s")
    snap_events = [r for n, _, r in w.events if n == "s"]
    assert snap_events == ["Creating", "VolumeNotAvailable", "Available"]


def test_transition_events_of_unchanged_statuses_is_empty() -> None:
    status = {
        "phase": "Available",
        "conditions": [{"type": "Ready", "status": "True", "reason": "Available"}],
    }
    assert transition_events(status, dict(status)) == ()
    assert transition_events({}, {"phase": "Error"})[0].type == "Warning"

"""controllers.storage_deps: a change to one object queues the objects whose plan reads it, both ways, and
nothing unrelated."""

from __future__ import annotations

from typing import Any

from controllers.storage_deps import affected, everything

Obj = dict[str, Any]


def obj(kind: str, name: str, spec: Obj, ns: str = "default", **extra: Any) -> Obj:
    return {
        "kind": kind,
        "metadata": {"name": name, "namespace": ns, "uid": f"uid-{name}"},
        "spec": spec,
        **extra,
    }


def world(*objs: Obj) -> dict[str, dict[tuple[str, str], Obj]]:
    w: dict[str, dict[tuple[str, str], Obj]] = {}
    for o in objs:
        w.setdefault(o["kind"], {})[(o["metadata"]["namespace"], o["metadata"]["name"])] = o
    return w


ROOT = obj("Volume", "web-root", {"source": {"image": "debian"}})
ROOT["metadata"]["ownerReferences"] = [{"kind": "Server", "name": "web", "uid": "uid-web"}]
DATA = obj("Volume", "data", {}, status={"attachments": [{"server": "old", "host": "h1"}]})
CLONE = obj("Volume", "clone", {"source": {"volume": "data"}})
SNAP = obj("VolumeSnapshot", "snap", {"volume": "data"})
RESTORED = obj("Volume", "restored", {"source": {"snapshot": "snap"}})
OTHER_NS = obj("Volume", "data", {}, ns="other")
W = world(ROOT, DATA, CLONE, SNAP, RESTORED, OTHER_NS, obj("Server", "web", {"image": "debian"}))


def test_server_change_queues_its_boot_volume_and_the_volumes_it_lists_or_held() -> None:
    old = obj("Server", "old", {"volumes": [{"volume": "clone"}]})
    new = obj("Server", "old", {"volumes": []})
    assert affected("Server", old, new, W) == [
        ("Server", ("default", "old")),
        ("Volume", ("default", "data")),  # held by it (status.attachments)
        ("Volume", ("default", "clone")),  # listed before the change
    ]
    web = affected("Server", None, W["Server"][("default", "web")], W)
    assert web == [("Server", ("default", "web")), ("Volume", ("default", "web-root"))]


def test_volume_change_queues_its_users_and_what_it_uses() -> None:
    assert affected("Volume", None, DATA, W) == [
        ("Volume", ("default", "data")),
        ("Volume", ("default", "clone")),
        ("VolumeSnapshot", ("default", "snap")),
    ]
    assert affected("Volume", ROOT, None, W) == [
        ("Volume", ("default", "web-root")),
        ("Image", ("default", "debian")),
        ("ClusterImage", ("", "debian")),
        ("Server", ("default", "web")),  # remade if deleted under its Server
    ]
    assert affected("Volume", None, CLONE, W) == [
        ("Volume", ("default", "clone")),
        ("Volume", ("default", "data")),
    ]


def test_snapshot_and_image_changes() -> None:
    assert affected("VolumeSnapshot", SNAP, SNAP, W) == [
        ("VolumeSnapshot", ("default", "snap")),
        ("Volume", ("default", "data")),
        ("Volume", ("default", "restored")),
    ]
    image = obj("ClusterImage", "debian", {}, ns="")
    assert affected("ClusterImage", None, image, W) == [
        ("ClusterImage", ("", "debian")),
        ("Volume", ("default", "web-root")),
    ]
    assert affected("Image", None, obj("Image", "debian", {}, ns="other"), W) == [
        ("Image", ("other", "debian"))
    ]


def test_shared_settings_queue_everything() -> None:
    items = affected("VolumeType", None, obj("VolumeType", "standard", {}, ns=""), W)
    assert items == everything(W) and len(items) == 7
    assert items[0] == ("Server", ("default", "web"))

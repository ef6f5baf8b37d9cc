"""Which storage objects a change to one object can affect, as a pure function: the storage operator
reconciles those (and only those) when a watch event arrives, its periodic full pass being the backstop.

    items = affected(kind, old, new, world)

`old` and `new` are the bodies before and after the change (None when created or deleted); `world` is
what the operator knows (controllers.storage_plan's World). An item is (kind, (namespace, name)) with kind
one of the planned kinds (controllers.storage_plan.ORDER) or "Server" (the Server's boot Volume to make).
The links are the reads of controllers.storage_plan, both ways:

- a Volume reads its Servers (attachments), its source (image, snapshot or volume) and its VolumeType;
  deletion blocking reads its snapshots and the volumes cloned from it;
- a VolumeSnapshot reads its volume; its deletion blocking reads the volumes restored from it;
- an Image's or ClusterImage's deletion blocking reads the volumes cloned from it, and a Volume waits
  for its image;
- a Server's boot Volume is made from the Server (and the Flavor), and remade if deleted under it.

VolumeType, Zone and Flavor changes are rare and read by many: they affect everything (`EVERYTHING`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controllers.storage_plan import ORDER, Key, Obj, World, key_of

Item = tuple[str, Key]
EVERYTHING = frozenset({"VolumeType", "Zone", "Flavor"})


def _spec(obj: Obj | None) -> Mapping[str, Any]:
    return (obj or {}).get("spec") or {}


def _source(obj: Obj | None) -> Mapping[str, Any]:
    return _spec(obj).get("source") or {}


def everything(w: World) -> list[Item]:
    """Every planned object and every Server, in plan order (images before the volumes cloned from them)."""
    return [(kind, key) for kind in ("Server", *ORDER) for key in w.get(kind, {})]


def affected(kind: str, old: Obj | None, new: Obj | None, w: World) -> list[Item]:
    if kind in EVERYTHING:
        return everything(w)
    bodies = [b for b in (old, new) if b is not None]
    if not bodies:
        return []
    ns, name = key_of(bodies[0])
    volumes = w.get("Volume", {})
    out: list[Item] = []
    if kind == "Server":
        out.append(("Server", (ns, name)))
        listed = {str(v.get("volume")) for b in bodies for v in _spec(b).get("volumes") or ()}
        listed.add(f"{name}-root")
        for (vns, vname), vol in volumes.items():
            held = any(a.get("server") == name for a in (vol.get("status") or {}).get("attachments") or ())
            if vns == ns and (vname in listed or held):
                out.append(("Volume", (vns, vname)))
    elif kind == "Volume":
        out.append(("Volume", (ns, name)))
        for b in bodies:
            src = _source(b)
            if src.get("volume"):
                out.append(("Volume", (ns, str(src["volume"]))))
            if src.get("snapshot"):
                out.append(("VolumeSnapshot", (ns, str(src["snapshot"]))))
            if src.get("image"):
                out += [("Image", (ns, str(src["image"]))), ("ClusterImage", ("", str(src["image"])))]
            owners = b["metadata"].get("ownerReferences") or ()
            out += [("Server", (ns, str(o["name"]))) for o in owners if o.get("kind") == "Server"]
        out += [("Volume", k) for k, v in volumes.items() if k[0] == ns and _source(v).get("volume") == name]
        out += [
            ("VolumeSnapshot", k)
            for k, s in w.get("VolumeSnapshot", {}).items()
            if k[0] == ns and _spec(s).get("volume") == name
        ]
    elif kind == "VolumeSnapshot":
        out.append(("VolumeSnapshot", (ns, name)))
        out += [("Volume", (ns, str(_spec(b)["volume"]))) for b in bodies if _spec(b).get("volume")]
        out += [
            ("Volume", k) for k, v in volumes.items() if k[0] == ns and _source(v).get("snapshot") == name
        ]
    elif kind in ("Image", "ClusterImage"):
        out.append((kind, (ns, name)))
        cluster = kind == "ClusterImage"
        out += [
            ("Volume", k)
            for k, v in volumes.items()
            if (cluster or k[0] == ns) and _source(v).get("image") == name
        ]
    # Once each, in order; an item naming an object not known is harmless (its reconcile does nothing).
    return list(dict.fromkeys(out))

"""hostd.storage.plan: (desired, observed RBD images) -> commands, pure.

A tiny model of the commands' effects (`simulate`) checks that planning again after applying is empty;
tests/integration/test_rbd_store.py checks the same against a real Ceph.
"""

from __future__ import annotations

from dataclasses import replace

from hostd.storage import plan as p

MIB = 1 << 20
POOL = "zone1"


def owner(uid: str, kind: str = "Volume") -> p.Owner:
    return p.Owner(uid, kind, "ns", f"obj-{uid}")


def image(uid: str) -> p.DesiredImage:
    return p.DesiredImage(owner(uid, "Image"), POOL, f"http://x/{uid}.raw", "0" * 64, "raw")


def volume(uid: str, size: int = 64 * MIB, source: p.VolumeSource | None = None) -> p.DesiredVolume:
    return p.DesiredVolume(owner(uid), POOL, size, source)


def snapshot(uid: str, volume_uid: str) -> p.DesiredSnapshot:
    return p.DesiredSnapshot(owner(uid, "VolumeSnapshot"), POOL, volume_uid)


def ready(name: str, size: int, uid: str | None = None, **kw: object) -> p.RbdImage:
    kind = "Image" if name.startswith("image-") else "Volume"
    meta = owner(uid or p.uid_of(name) or "", kind).metadata(p.READY)
    return p.RbdImage(POOL, name, size, meta, **kw)  # type: ignore[arg-type]


def simulate(observed: p.Observed, commands: tuple[p.Command, ...], image_size: int = 32 * MIB) -> p.Observed:
    """What the pools would hold after the commands succeed."""
    images = dict(observed.images)
    intents = dict(observed.intents)
    for cmd in commands:
        key = (cmd.pool, cmd.name)
        if isinstance(cmd, p.ImportImage):
            images[key] = p.RbdImage(
                cmd.pool, cmd.name, image_size, cmd.owner.metadata(p.READY), (p.RbdSnap("base", True),)
            )
        elif isinstance(cmd, p.CreateVolume):
            src = cmd.source
            parent = (src.pool, src.image, src.snap) if src and src.mode == "clone" and src.snap else None
            images[key] = p.RbdImage(
                cmd.pool, cmd.name, cmd.size_bytes, cmd.owner.metadata(p.READY), (), parent
            )
        elif isinstance(cmd, p.Resize):
            images[key] = replace(images[key], size=cmd.size_bytes)
        elif isinstance(cmd, p.CreateSnapshot):
            img = images[key]
            others = tuple(s for s in img.snaps if s.name != cmd.snap)
            images[key] = replace(img, snaps=(*others, p.RbdSnap(cmd.snap, True)))
        elif isinstance(cmd, p.DeleteSnapshot):
            images[key] = replace(
                images[key], snaps=tuple(s for s in images[key].snaps if s.name != cmd.snap)
            )
        elif isinstance(cmd, p.Purge):
            images.pop(key, None)
            intents.pop(key, None)
        elif isinstance(cmd, p.ForgetIntent):
            intents.pop(key, None)
    return p.Observed(images, intents)


def everything() -> p.Desired:
    return p.Desired(
        images=(image("i1"),),
        volumes=(
            volume("blank"),
            volume("fromimage", source=p.VolumeSource("image", POOL, "i1")),
            volume("fromsnap", source=p.VolumeSource("snapshot", POOL, "blank", "s1")),
            volume("copy", source=p.VolumeSource("volume", POOL, "fromimage")),
        ),
        snapshots=(snapshot("s1", "blank"),),
    )


def test_from_nothing_everything_is_created_in_an_order_that_applies() -> None:
    result = p.plan(everything(), p.Observed())
    ops = [(type(c).__name__, c.name) for c in result.commands]
    assert ops[0] == ("ImportImage", "image-i1")
    assert ops.index(("CreateVolume", "volume-blank")) < ops.index(("CreateSnapshot", "volume-blank"))
    assert ops.index(("CreateSnapshot", "volume-blank")) < ops.index(("CreateVolume", "volume-fromsnap"))
    assert ops.index(("CreateVolume", "volume-fromimage")) < ops.index(("CreateVolume", "volume-copy"))
    sources = {c.name: c.source for c in result.commands if isinstance(c, p.CreateVolume)}
    assert sources["volume-blank"] is None
    assert sources["volume-fromimage"] == p.RbdSource("clone", POOL, "image-i1", "base")
    assert sources["volume-fromsnap"] == p.RbdSource("clone", POOL, "volume-blank", "snapshot-s1")
    assert sources["volume-copy"] == p.RbdSource("copy", POOL, "volume-fromimage")
    assert not result.errors and not result.waiting


def test_second_plan_after_apply_is_empty() -> None:
    desired = everything()
    observed = simulate(p.Observed(), p.plan(desired, p.Observed()).commands)
    again = p.plan(desired, observed)
    assert again.empty, again.commands
    # and deleting everything converges to nothing, in one pass
    gone = simulate(observed, p.plan(p.Desired(), observed).commands)
    assert gone.images == {} and gone.intents == {}
    assert p.plan(p.Desired(), gone).empty


def test_grow_is_a_resize_and_shrink_is_refused_naming_the_field() -> None:
    observed = p.Observed({(POOL, "volume-v"): ready("volume-v", 64 * MIB)})
    grow = p.plan(p.Desired(volumes=(volume("v", 128 * MIB),)), observed)
    assert grow.commands == (p.Resize(POOL, "volume-v", 128 * MIB),)
    shrink = p.plan(p.Desired(volumes=(volume("v", 32 * MIB),)), observed)
    assert shrink.empty
    assert "sizeGiB" in shrink.errors["v"] and "never shrink" in shrink.errors["v"]


def test_a_volume_smaller_than_its_source_is_refused() -> None:
    observed = p.Observed({(POOL, "image-i1"): ready("image-i1", 64 * MIB, snaps=(p.RbdSnap("base", True),))})
    desired = p.Desired(
        images=(image("i1"),), volumes=(volume("v", 32 * MIB, p.VolumeSource("image", POOL, "i1")),)
    )
    result = p.plan(desired, observed)
    assert result.empty
    assert "smaller than the source" in result.errors["v"]


def test_a_volume_whose_source_does_not_exist_waits() -> None:
    desired = p.Desired(volumes=(volume("v", source=p.VolumeSource("volume", POOL, "nope")),))
    result = p.plan(desired, p.Observed())
    assert result.empty
    assert "volume-nope" in result.waiting["v"]


def test_half_made_images_are_purged_and_made_again() -> None:
    creating = p.RbdImage(POOL, "volume-v", 64 * MIB, owner("v").metadata(p.CREATING))
    observed = p.Observed({(POOL, "volume-v"): creating}, {(POOL, "volume-v"): "v"})
    result = p.plan(p.Desired(volumes=(volume("v"),)), observed)
    assert [type(c).__name__ for c in result.commands] == ["Purge", "CreateVolume"]
    assert result.commands[0] == p.Purge(POOL, "volume-v", why="half-made")
    after = simulate(observed, result.commands)
    assert p.plan(p.Desired(volumes=(volume("v"),)), after).empty


def test_a_clone_that_still_carries_its_parents_mark_is_half_made() -> None:
    # a clone inherits its parent's metadata: marked for the image's uid, not its own, and "ready"
    inherited = p.RbdImage(POOL, "volume-v", 64 * MIB, owner("i1", "Image").metadata(p.READY))
    assert not inherited.marked and not inherited.complete
    assert p.is_ours(inherited, {(POOL, "volume-v"): "v"})
    assert not p.is_ours(inherited, {})  # without an intent it is someone else's: never touched
    result = p.plan(
        p.Desired(volumes=(volume("v"),)),
        p.Observed({(POOL, "volume-v"): inherited}, {(POOL, "volume-v"): "v"}),
    )
    assert result.commands[0] == p.Purge(POOL, "volume-v", why="half-made")


def test_intents_are_dropped_when_the_creation_finished_or_is_no_longer_wanted() -> None:
    observed = p.Observed(
        {(POOL, "volume-done"): ready("volume-done", 64 * MIB)},
        {(POOL, "volume-done"): "done", (POOL, "volume-gone"): "gone"},
    )
    result = p.plan(p.Desired(volumes=(volume("done"),)), observed)
    assert set(result.commands) == {p.ForgetIntent(POOL, "volume-done"), p.ForgetIntent(POOL, "volume-gone")}
    # an intent for a wanted volume that does not exist yet: the creation is simply done (again)
    retry = p.plan(p.Desired(volumes=(volume("gone"),)), p.Observed({}, {(POOL, "volume-gone"): "gone"}))
    assert [type(c).__name__ for c in retry.commands] == ["CreateVolume"]


def test_deletion_order_clones_first_then_snapshots_then_images() -> None:
    base = (p.RbdSnap("base", True),)
    observed = p.Observed(
        {
            (POOL, "image-i1"): ready("image-i1", 32 * MIB, snaps=base),
            (POOL, "volume-a"): ready("volume-a", 64 * MIB, parent=(POOL, "image-i1", "base")),
            (POOL, "volume-b"): ready("volume-b", 64 * MIB, parent=(POOL, "volume-a", "snapshot-s")),
            (POOL, "volume-keep"): ready(
                "volume-keep", 64 * MIB, snaps=(p.RbdSnap("snapshot-old", True), p.RbdSnap("manual", False))
            ),
        }
    )
    result = p.plan(p.Desired(volumes=(volume("keep"),)), observed, flatten_children=True)
    assert result.commands == (
        p.Purge(POOL, "volume-b", flatten_children=True),
        p.Purge(POOL, "volume-a", flatten_children=True),
        p.DeleteSnapshot(POOL, "volume-keep", "snapshot-old", flatten_children=True),
        p.Purge(POOL, "image-i1", flatten_children=True),
    )  # the snapshot "manual" is not ours: not in the plan


def test_names_that_are_not_ours_are_not_parsed_as_ours() -> None:
    assert p.uid_of("volume-1234") == "1234"
    assert p.uid_of("my-disk") is None
    assert p.uid_of("volume-") is None
    assert p.uid_of("volume-a/b") is None
    assert p.backend_id(POOL, "volume-x", "snapshot-y") == "rbd/zone1/volume-x@snapshot-y"

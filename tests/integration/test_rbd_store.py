"""hostd.storage.rbd_store against a real one-OSD Ceph (memstore) and images served by a local HTTP server.

Every test uses fresh uids, so tests share the session's cluster without seeing each other's images.
"""

from __future__ import annotations

import hashlib
import http.server
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from hostd.storage import plan as p
from hostd.storage.rbd_store import RbdStore, StoreError

from .ceph_cluster import CephCluster, free_port

pytestmark = pytest.mark.integration

MIB = 1 << 20
IMAGES = "images"
VOLUMES = "volumes"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def ceph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CephCluster]:
    cluster = CephCluster(tmp_path_factory.mktemp("ceph"))
    cluster.start()
    try:
        cluster.create_pool(IMAGES)
        cluster.create_pool(VOLUMES)
        yield cluster
    finally:
        cluster.stop()


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A directory served over HTTP on a free port: (directory, base URL)."""
    root = tmp_path_factory.mktemp("www")
    handler = partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def store(ceph: CephCluster, tmp_path: Path) -> Iterator[RbdStore]:
    s = RbdStore(ceph.conf, tmp_path / "fetch")
    yield s
    s.close()


def uid() -> str:
    return uuid.uuid4().hex[:12]


def owner(u: str, kind: str = "Volume") -> p.Owner:
    return p.Owner(u, kind, "ns", f"obj-{u}")


def pattern(size: int, seed: bytes) -> bytes:
    block = hashlib.sha256(seed).digest() * (MIB // 32)
    return (block * (size // MIB + 1))[:size]


def publish(served: tuple[Path, str], name: str, data: bytes) -> tuple[str, str]:
    (served[0] / name).write_bytes(data)
    return f"{served[1]}/{name}", hashlib.sha256(data).hexdigest()


def publish_file(served: tuple[Path, str], path: Path) -> tuple[str, str]:
    return publish(served, path.name, path.read_bytes())


def converge(store: RbdStore, desired: p.Desired, flatten: bool = False) -> p.Observed:
    """Apply until the plan is empty (at most 3 passes); fail on any command failure."""
    pools = (IMAGES, VOLUMES)
    for _ in range(3):
        result = p.plan(desired, store.observe(pools), flatten_children=flatten)
        if result.empty:
            return store.observe(pools)
        failures = store.apply(result)
        assert not failures, "\n".join(f"{f.reason}: {f.message}" for f in failures)
    raise AssertionError(f"no convergence: {p.plan(desired, store.observe(pools)).commands}")


def read(store: RbdStore, pool: str, name: str, length: int) -> bytes:
    with store.open(pool, name, read_only=True) as image:
        return bytes(image.read(0, length))


def all_names(ceph: CephCluster, pool: str) -> set[str]:
    return set(ceph.rbd("ls", pool).split())


def test_import_clone_snapshot_copy_grow(store: RbdStore, served: tuple[Path, str], tmp_path: Path) -> None:
    raw_data = pattern(4 * MIB, b"raw")
    raw_url, raw_sum = publish(served, "good.raw", raw_data)
    (tmp_path / "q.raw").write_bytes(pattern(3 * MIB, b"qcow2"))
    subprocess.run(
        [
            "qemu-img",
            "convert",
            "-f",
            "raw",
            "-O",
            "qcow2",
            str(tmp_path / "q.raw"),
            str(tmp_path / "good.qcow2"),
        ],
        check=True,
    )
    q_url, q_sum = publish_file(served, tmp_path / "good.qcow2")
    i_raw, i_q, blank, fromimg, fromq, snap, fromsnap, copy = (uid() for _ in range(8))
    desired = p.Desired(
        images=(
            p.DesiredImage(owner(i_raw, "Image"), IMAGES, raw_url, raw_sum, "raw"),
            p.DesiredImage(owner(i_q, "Image"), IMAGES, q_url, q_sum, "qcow2"),
        ),
        volumes=(
            p.DesiredVolume(owner(blank), VOLUMES, 8 * MIB),
            p.DesiredVolume(owner(fromimg), VOLUMES, 8 * MIB, p.VolumeSource("image", IMAGES, i_raw)),
            p.DesiredVolume(owner(fromq), VOLUMES, 8 * MIB, p.VolumeSource("image", IMAGES, i_q)),
            p.DesiredVolume(
                owner(fromsnap), VOLUMES, 8 * MIB, p.VolumeSource("snapshot", VOLUMES, fromimg, snap)
            ),
            p.DesiredVolume(owner(copy), VOLUMES, 16 * MIB, p.VolumeSource("volume", VOLUMES, fromimg)),
        ),
        snapshots=(p.DesiredSnapshot(owner(snap, "VolumeSnapshot"), VOLUMES, fromimg),),
    )
    observed = converge(store, desired)
    assert p.plan(desired, observed).empty

    imgs = observed.images
    base = imgs[(IMAGES, f"image-{i_raw}")]
    assert base.size == 4 * MIB and base.snap("base") == p.RbdSnap("base", True)
    assert dict(base.meta) == owner(i_raw, "Image").metadata(p.READY)
    assert imgs[(IMAGES, f"image-{i_q}")].size == 3 * MIB  # the qcow2's virtual size, converted to raw
    clone = imgs[(VOLUMES, f"volume-{fromimg}")]
    assert clone.parent == (IMAGES, f"image-{i_raw}", "base")
    assert clone.size == 8 * MIB
    assert dict(clone.meta) == owner(fromimg).metadata(p.READY)  # not the image's inherited mark
    assert clone.snap(f"snapshot-{snap}") == p.RbdSnap(f"snapshot-{snap}", True)
    assert imgs[(VOLUMES, f"volume-{fromsnap}")].parent == (VOLUMES, f"volume-{fromimg}", f"snapshot-{snap}")
    assert imgs[(VOLUMES, f"volume-{copy}")].parent is None
    assert read(store, VOLUMES, f"volume-{fromimg}", 4 * MIB) == raw_data
    assert read(store, VOLUMES, f"volume-{fromsnap}", 4 * MIB) == raw_data
    assert read(store, VOLUMES, f"volume-{copy}", 4 * MIB) == raw_data
    assert read(store, VOLUMES, f"volume-{fromq}", 3 * MIB) == pattern(3 * MIB, b"qcow2")
    assert read(store, VOLUMES, f"volume-{blank}", MIB) == b"\0" * MIB

    state = store.state((IMAGES, VOLUMES))
    assert state[f"rbd/{VOLUMES}/volume-{copy}"] == 1  # GiB, rounded up
    assert state[f"rbd/{IMAGES}/image-{i_raw}"] == 0
    assert f"rbd/{VOLUMES}/volume-{fromimg}@snapshot-{snap}" in state

    # grow only
    grown = replace_volume(desired, blank, 32 * MIB)
    result = p.plan(grown, observed)
    assert result.commands == (p.Resize(VOLUMES, f"volume-{blank}", 32 * MIB),)
    assert not store.apply(result)
    assert store.observe((VOLUMES,)).images[(VOLUMES, f"volume-{blank}")].size == 32 * MIB
    shrunk = p.plan(replace_volume(desired, blank, 16 * MIB), store.observe((IMAGES, VOLUMES)))
    assert shrunk.empty and "never shrink" in shrunk.errors[blank]
    with pytest.raises(StoreError) as e:
        store.resize(VOLUMES, f"volume-{blank}", 16 * MIB)
    assert e.value.reason == "ShrinkRefused" and "sizeGiB" in e.value.message

    # deleting every object leaves no RBD image of theirs behind
    before_images = all_names_of(store)
    empty = converge(store, p.Desired(), flatten=False)
    assert not {n for n in all_names_of(store) if n in before_images}
    assert not [k for k in empty.images if k[1] in before_images]
    assert not store.intents(IMAGES) and not store.intents(VOLUMES)


def replace_volume(desired: p.Desired, u: str, size: int) -> p.Desired:
    vols = tuple(
        p.DesiredVolume(v.owner, v.pool, size, v.source) if v.owner.uid == u else v for v in desired.volumes
    )
    return p.Desired(desired.images, vols, desired.snapshots)


def all_names_of(store: RbdStore) -> set[str]:
    return {str(n) for pool in (IMAGES, VOLUMES) for n in store._rbd.list(store.ioctx(pool))}


def test_delete_is_refused_while_clones_exist_unless_flattening(
    store: RbdStore, served: tuple[Path, str]
) -> None:
    data = pattern(2 * MIB, b"parent")
    url, digest = publish(served, "parent.raw", data)
    img, vol, snap, child = uid(), uid(), uid(), uid()
    image = p.DesiredImage(owner(img, "Image"), IMAGES, url, digest, "raw")
    volume = p.DesiredVolume(owner(vol), VOLUMES, 4 * MIB, p.VolumeSource("image", IMAGES, img))
    snapshot = p.DesiredSnapshot(owner(snap, "VolumeSnapshot"), VOLUMES, vol)
    restored = p.DesiredVolume(owner(child), VOLUMES, 4 * MIB, p.VolumeSource("snapshot", VOLUMES, vol, snap))
    converge(store, p.Desired((image,), (volume, restored), (snapshot,)))

    # refuse: the image's base and the volume's snapshot have clones
    keep = p.Desired((), (volume, restored), ())
    failures = store.apply(p.plan(keep, store.observe((IMAGES, VOLUMES))))
    reasons = {(f.reason, type(f.command).__name__) for f in failures}
    assert reasons == {("HasClones", "Purge"), ("HasClones", "DeleteSnapshot")}
    assert any(f"volume-{vol}" in f.message for f in failures)
    observed = store.observe((IMAGES, VOLUMES))
    assert (IMAGES, f"image-{img}") in observed.images
    assert observed.images[(IMAGES, f"image-{img}")].complete  # a refused delete leaves it whole
    assert observed.images[(VOLUMES, f"volume-{vol}")].snap(f"snapshot-{snap}") is not None

    # flatten: the children are flattened first, then the parents go
    observed = converge(store, keep, flatten=True)
    assert (IMAGES, f"image-{img}") not in observed.images
    assert observed.images[(VOLUMES, f"volume-{vol}")].parent is None
    assert observed.images[(VOLUMES, f"volume-{child}")].parent is None
    assert observed.images[(VOLUMES, f"volume-{vol}")].snaps == ()
    assert read(store, VOLUMES, f"volume-{child}", 2 * MIB) == data
    converge(store, p.Desired())
    assert not {f"volume-{vol}", f"volume-{child}", f"image-{img}"} & all_names_of(store)


def test_unmarked_images_are_never_touched(store: RbdStore, ceph: CephCluster) -> None:
    stranger, lookalike = f"disk-{uid()}", f"volume-{uid()}"
    ceph.rbd("create", "--size", "4", f"{VOLUMES}/{stranger}")
    ceph.rbd("create", "--size", "4", f"{VOLUMES}/{lookalike}")  # our naming, but not marked
    ceph.rbd("snap", "create", f"{VOLUMES}/{lookalike}@snapshot-x")
    observed = store.observe((VOLUMES,))
    assert (VOLUMES, lookalike) not in observed.images and (VOLUMES, stranger) not in observed.images
    result = p.plan(p.Desired(), observed)
    assert not [c for c in result.commands if c.name in (stranger, lookalike)]
    for call in (
        lambda: store.purge(VOLUMES, lookalike, True),
        lambda: store.delete_snapshot(VOLUMES, lookalike, "snapshot-x", True),
        lambda: store.resize(VOLUMES, lookalike, 8 * MIB),
    ):
        with pytest.raises(StoreError) as e:
            call()
        assert e.value.reason == "NotOurs"
    converge(store, p.Desired())
    assert {stranger, lookalike} <= set(ceph.rbd("ls", VOLUMES).split())
    assert "snapshot-x" in ceph.rbd("snap", "ls", f"{VOLUMES}/{lookalike}")


def test_a_crash_between_any_two_steps_converges_without_duplicate_or_leak(
    store: RbdStore, served: tuple[Path, str]
) -> None:
    url, digest = publish(served, "crash.raw", pattern(MIB, b"crash"))
    img = uid()
    image = p.DesiredImage(owner(img, "Image"), IMAGES, url, digest, "raw")
    converge(store, p.Desired((image,)))
    source = p.VolumeSource("image", IMAGES, img)
    clone_src = p.RbdSource("clone", IMAGES, f"image-{img}", "base")
    vols = {name: uid() for name in ("intent", "made", "creating", "unforgotten", "deleting")}
    want = tuple(p.DesiredVolume(owner(u), VOLUMES, 4 * MIB, source) for u in vols.values())
    cmds = {u: p.CreateVolume(VOLUMES, f"volume-{u}", owner(u), 4 * MIB, clone_src) for u in vols.values()}

    # stop after: the intent; the clone (it carries the image's inherited mark); the "creating" mark;
    # everything but dropping the intent
    store.begin(VOLUMES, f"volume-{vols['intent']}", vols["intent"])
    for step in ("made", "creating", "unforgotten"):
        u = vols[step]
        store.begin(VOLUMES, f"volume-{u}", u)
        store.make_volume(cmds[u])
        if step != "made":
            store.mark(VOLUMES, f"volume-{u}", owner(u), p.CREATING)
        if step == "unforgotten":
            store.set_state(VOLUMES, f"volume-{u}", p.READY)
    # a delete stopped after marking "deleting", with its snapshot still there
    u = vols["deleting"]
    store.create_volume(cmds[u])
    store.create_snapshot(VOLUMES, f"volume-{u}", "snapshot-zz")
    store.set_state(VOLUMES, f"volume-{u}", p.DELETING)
    # and a half-made image import: created and marked, no data, no base snapshot
    img2 = uid()
    store.begin(IMAGES, f"image-{img2}", img2)
    store._rbd.create(store.ioctx(IMAGES), f"image-{img2}", MIB)
    store.mark(IMAGES, f"image-{img2}", owner(img2, "Image"), p.CREATING)

    observed = store.observe((IMAGES, VOLUMES))
    made = observed.images[(VOLUMES, f"volume-{vols['made']}")]
    assert not made.marked and p.is_ours(made, observed.intents)  # found again through its intent

    image2 = p.DesiredImage(owner(img2, "Image"), IMAGES, url, digest, "raw")
    desired = p.Desired((image, image2), want)
    observed = converge(store, desired)
    names = sorted(all_names_of(store))
    for u in vols.values():
        assert names.count(f"volume-{u}") == 1
        vol = observed.images[(VOLUMES, f"volume-{u}")]
        assert vol.complete and vol.parent == (IMAGES, f"image-{img}", "base") and vol.snaps == ()
    assert observed.images[(IMAGES, f"image-{img2}")].snap("base") is not None
    assert not store.intents(IMAGES) and not store.intents(VOLUMES)
    converge(store, p.Desired())
    assert not {f"volume-{u}" for u in vols.values()} & set(names) & all_names_of(store)


def test_a_malicious_qcow2_is_refused_before_any_rbd_write(
    store: RbdStore, ceph: CephCluster, served: tuple[Path, str], tmp_path: Path
) -> None:
    evil = tmp_path / "evil.qcow2"
    subprocess.run(
        ["qemu-img", "create", "-f", "qcow2", "-b", "/etc/passwd", "-F", "raw", str(evil), "1M"], check=True
    )
    url, digest = publish_file(served, evil)
    img = uid()
    desired = p.Desired((p.DesiredImage(owner(img, "Image"), IMAGES, url, digest, "qcow2"),))
    before = set(ceph.rbd("ls", IMAGES).split())
    failures = store.apply(p.plan(desired, store.observe((IMAGES,))))
    assert [(f.reason, f.owner_uid) for f in failures] == [("UnsafeImage", img)]
    assert "backing_file" in failures[0].message
    assert set(ceph.rbd("ls", IMAGES).split()) == before
    assert not store.intents(IMAGES)
    assert not list((tmp_path / "fetch").iterdir())  # the refused download is not kept

    # and a wrong checksum never gets as far as inspection
    good_url, _ = publish(served, "fine.raw", pattern(MIB, b"fine"))
    bad = p.Desired((p.DesiredImage(owner(img, "Image"), IMAGES, good_url, "0" * 64, "raw"),))
    failures = store.apply(p.plan(bad, store.observe((IMAGES,))))
    assert [f.reason for f in failures] == ["ChecksumMismatch"]
    assert set(ceph.rbd("ls", IMAGES).split()) == before


# Last in the file: when the race below bites, it leaves an unowned clone of its image behind, which the
# store rightly refuses to touch, and the other tests' "nothing else in the pools" checks would see it.
KILLER = """
import sys, time
sys.path.insert(0, {root!r})
from hostd.storage import plan as p
from hostd.storage.rbd_store import RbdStore
from pathlib import Path
store = RbdStore(Path({conf!r}), Path({fetch!r}), state_dir=Path({state!r}))
uids = {uids!r}
source = p.VolumeSource("image", "images", {img!r})
i = 0
while True:  # create some volumes, delete them, again, until killed
    n = i % len(uids) + 1
    want = tuple(p.DesiredVolume(p.Owner(u, "Volume", "ns", u), "volumes", 4 << 20, source) for u in uids[:n])
    image = p.DesiredImage(p.Owner({img!r}, "Image", "ns", "img"), "images", {url!r}, {digest!r}, "raw")
    store.apply(p.plan(p.Desired((image,), want if i % 2 else ()), store.observe(("images", "volumes"))))
    print(i, flush=True)
    i += 1
"""


@pytest.mark.xfail(
    strict=False,
    reason="known race, seen in full-suite runs only: a clone begun by the killed process can appear after "
    "the restarted store observed and forgot its intent, unowned (inherits its parent's marks), so it is never "
    "removed; fencing + waiting for the osdmap did not close it (docs/hostd-storage.md)",
)
def test_kill_9_while_creating_and_deleting_converges(
    store: RbdStore, ceph: CephCluster, served: tuple[Path, str], tmp_path: Path
) -> None:
    url, digest = publish(served, "kill.raw", pattern(MIB, b"kill"))
    img = uid()
    image = p.DesiredImage(p.Owner(img, "Image", "ns", "img"), IMAGES, url, digest, "raw")
    converge(store, p.Desired((image,)))
    uids = [uid() for _ in range(6)]
    script = KILLER.format(
        root=str(ROOT),
        conf=str(ceph.conf),
        fetch=str(tmp_path / "f"),
        state=str(tmp_path / "state"),
        uids=uids,
        img=img,
        url=url,
        digest=digest,
    )
    for delay in (0.6, 1.1, 1.7, 2.3):
        proc = subprocess.Popen(
            [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        time.sleep(delay + 1.0)  # about 1 s to import and connect
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL, proc.stderr.read() if proc.stderr else b""
        want = tuple(
            p.DesiredVolume(
                p.Owner(u, "Volume", "ns", u), VOLUMES, 4 * MIB, p.VolumeSource("image", IMAGES, img)
            )
            for u in uids[:3]
        )
        # hostd restarts: it fences its killed predecessor, whose watches would otherwise keep the
        # images it had open busy (EBUSY on remove) for 30 s
        restarted = RbdStore(ceph.conf, tmp_path / "f", state_dir=tmp_path / "state")
        try:
            observed = converge(restarted, p.Desired((image,), want))
        finally:
            restarted.close()
        names = sorted(all_names_of(store))
        assert [n for n in names if n.startswith("volume-") and p.uid_of(n) in uids] == sorted(
            f"volume-{u}" for u in uids[:3]
        )
        assert all(observed.images[(VOLUMES, f"volume-{u}")].complete for u in uids[:3])
        assert not store.intents(VOLUMES)
    converge(store, p.Desired())
    assert not {f"volume-{u}" for u in uids} & all_names_of(store)
    assert f"image-{img}" not in all_names_of(store)

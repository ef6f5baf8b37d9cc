"""The storage role's hands on one Ceph cluster (a zone): observe our RBD images, apply plan commands.

Blocking (librados/librbd and qemu-img); hostd runs it in a worker thread. Each command is idempotent and
follows the crash-safe order plan.py describes, so whatever step a kill -9 interrupts, observing and
planning again finishes the work without a duplicate or a leak. Every command re-checks at apply time
that what it removes or changes is ours (marked, or named by an intent): an unmarked image is never
touched, even if a plan names it.

Images are imported with `qemu-img convert -n -f <declared> -O raw FILE rbd:POOL/NAME:conf=CONF` into an
RBD image made and marked beforehand, only after image_fetch verified the file's SHA-256 and
image_inspect accepted its format: nothing is written to RBD for a refused file.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rados
import rbd

from . import plan as p
from .image_fetch import FetchError, fetch
from .image_inspect import UnsafeImage, inspect_image

log = logging.getLogger(__name__)

GIB = 1 << 30
DEFAULT_MAX_IMAGE_BYTES = 64 * GIB
CONVERT_TIMEOUT = 3600.0
FENCE_SECONDS = 3600


class StoreError(Exception):
    """A command was refused or failed; `reason` is a condition reason (HasClones, ShrinkRefused, ...)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class Failure:
    command: p.Command
    reason: str
    message: str

    @property
    def owner_uid(self) -> str | None:
        owner = getattr(self.command, "owner", None)
        return owner.uid if owner is not None else p.uid_of(self.command.name)


class RbdStore:
    """One connection to a cluster; `conf` is its ceph.conf (also handed to qemu-img)."""

    def __init__(
        self,
        conf: Path,
        fetch_dir: Path,
        *,
        max_image_bytes: int = DEFAULT_MAX_IMAGE_BYTES,
        client: str = "admin",
        qemu_img: str = "qemu-img",
        state_dir: Path | None = None,
    ) -> None:
        self.conf = conf
        self.fetch_dir = fetch_dir
        self.max_image_bytes = max_image_bytes
        self.client = client
        self.qemu_img = qemu_img
        self._rbd = rbd.RBD()
        self._cluster = rados.Rados(conffile=str(conf), rados_id=client)
        self._cluster.connect(timeout=30)
        self._ioctxs: dict[str, Any] = {}
        if state_dir is not None:
            self.fence_previous(state_dir)

    def fence_previous(self, state_dir: Path) -> None:
        """Blocklist the Ceph client of this hostd's previous run, and record this one's.

        A hostd killed -9 leaves its watches and exclusive locks on the images it had open until the OSDs
        time them out (30 s): removing such an image fails with EBUSY meanwhile. Fencing the dead client
        (as ceph-csi does after a node failure) drops them at once, and keeps a not-quite-dead previous
        instance from writing behind our back. Needs the mon capability to blocklist (profile rbd has it).
        """
        state_dir.mkdir(parents=True, exist_ok=True)
        path = state_dir / "rados-client-addr"
        previous = path.read_text().strip() if path.exists() else ""
        mine = str(self._cluster.get_addrs())
        if previous and previous != mine:
            try:
                self._cluster.blocklist_add(previous, expire_seconds=FENCE_SECONDS)
                # Our next ops then carry the osdmap epoch holding the blocklist, and an OSD serves them only
                # once it has that map: an op of the dead client still queued there is refused, instead of
                # landing after we observed (a clone appearing after its intent was forgotten, unowned).
                self._cluster.wait_for_latest_osdmap()
            except rados.Error as e:
                # not fatal: what the predecessor holds is released by the OSDs' timeout instead
                log.warning("could not blocklist the previous Ceph client %s: %s", previous, e)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(mine)
        os.replace(tmp, path)

    def close(self) -> None:
        for ioctx in self._ioctxs.values():
            ioctx.close()
        self._ioctxs.clear()
        self._cluster.shutdown()

    def ioctx(self, pool: str) -> Any:
        if pool not in self._ioctxs:
            try:
                self._ioctxs[pool] = self._cluster.open_ioctx(pool)
            except rados.ObjectNotFound as e:
                raise StoreError("PoolNotFound", f"Ceph pool {pool} does not exist") from e
        return self._ioctxs[pool]

    @contextlib.contextmanager
    def open(self, pool: str, name: str, read_only: bool = False) -> Iterator[Any]:
        image = rbd.Image(self.ioctx(pool), name, read_only=read_only)
        try:
            yield image
        finally:
            image.close()

    # -- observe --------------------------------------------------------------------------------------

    def intents(self, pool: str) -> dict[p.Key, str]:
        return {
            (pool, key.removeprefix(p.INTENT_PREFIX)): value
            for key, value in self._rbd.pool_metadata_list(self.ioctx(pool))
            if key.startswith(p.INTENT_PREFIX)
        }

    def observe(self, pools: Iterable[str]) -> p.Observed:
        """Our images (marked, or half-made under an intent) and the intents, in the given pools."""
        images: dict[p.Key, p.RbdImage] = {}
        intents: dict[p.Key, str] = {}
        for pool in sorted(set(pools)):
            pool_intents = self.intents(pool)
            intents.update(pool_intents)
            for name in self._rbd.list(self.ioctx(pool)):
                if p.uid_of(name) is None:
                    continue  # not named as ours: not even opened
                img = self._describe(pool, name)
                if img is not None and p.is_ours(img, pool_intents):
                    images[img.key] = img
        return p.Observed(images, intents)

    def _describe(self, pool: str, name: str) -> p.RbdImage | None:
        try:
            with self.open(pool, name, read_only=True) as image:
                meta = {k: v for k, v in image.metadata_list() if k.startswith(p.META_PREFIX)}
                snaps = tuple(
                    p.RbdSnap(s["name"], bool(image.is_protected_snap(s["name"]))) for s in image.list_snaps()
                )
                try:
                    spec = image.get_parent_image_spec()
                    parent = (str(spec["pool_name"]), str(spec["image_name"]), str(spec["snap_name"]))
                except rbd.ImageNotFound:
                    parent = None
                return p.RbdImage(pool, name, int(image.size()), meta, snaps, parent)
        except rbd.ImageNotFound:
            return None  # removed between the listing and the opening

    def state(self, pools: Iterable[str]) -> dict[str, int]:
        """What is finished, as storage backends report it (operators/storage/backend.py): backend id ->
        size in GiB (0 for images and snapshots)."""
        out: dict[str, int] = {}
        for img in self.observe(pools).images.values():
            if not img.complete:
                continue
            is_volume = img.name.startswith("volume-")
            out[p.backend_id(img.pool, img.name)] = math.ceil(img.size / GIB) if is_volume else 0
            for snap in img.snaps:
                if is_volume and snap.name.startswith(p.SNAP_PREFIX) and snap.protected:
                    out[p.backend_id(img.pool, img.name, snap.name)] = 0
        return out

    # -- apply ----------------------------------------------------------------------------------------

    def apply(self, plan: p.Plan) -> list[Failure]:
        """Run every command in order; a failed one is reported and the others still run (a later
        command that needed it fails in turn and is reported too)."""
        failures = []
        for cmd in plan.commands:
            try:
                self.run(cmd)
            except StoreError as e:
                failures.append(Failure(cmd, e.reason, e.message))
        return failures

    def run(self, cmd: p.Command) -> None:
        try:
            if isinstance(cmd, p.ImportImage):
                self.import_image(cmd)
            elif isinstance(cmd, p.CreateVolume):
                self.create_volume(cmd)
            elif isinstance(cmd, p.Resize):
                self.resize(cmd.pool, cmd.name, cmd.size_bytes)
            elif isinstance(cmd, p.CreateSnapshot):
                self.create_snapshot(cmd.pool, cmd.name, cmd.snap)
            elif isinstance(cmd, p.DeleteSnapshot):
                self.delete_snapshot(cmd.pool, cmd.name, cmd.snap, cmd.flatten_children)
            elif isinstance(cmd, p.Purge):
                self.purge(cmd.pool, cmd.name, cmd.flatten_children)
            else:
                self.forget(cmd.pool, cmd.name)
        except rbd.Error as e:
            raise StoreError("CephError", f"{type(cmd).__name__} {cmd.pool}/{cmd.name}: {e}") from e

    # -- the steps, each idempotent (tests call them one by one to simulate a crash between two) ------

    def begin(self, pool: str, name: str, uid: str) -> None:
        """Record the intent to create name, before anything exists under it."""
        self._rbd.pool_metadata_set(self.ioctx(pool), p.INTENT_PREFIX + name, uid)

    def forget(self, pool: str, name: str) -> None:
        with contextlib.suppress(KeyError, rbd.ObjectNotFound):
            self._rbd.pool_metadata_remove(self.ioctx(pool), p.INTENT_PREFIX + name)

    def mark(self, pool: str, name: str, owner: p.Owner, state: str) -> None:
        """Write the ownership metadata, the state first (it overrides a mark inherited from a parent)."""
        with self.open(pool, name) as image:
            for key, value in owner.metadata(state).items():
                image.metadata_set(key, value)

    def set_state(self, pool: str, name: str, state: str) -> None:
        with self.open(pool, name) as image:
            image.metadata_set(p.STATE_KEY, state)

    def download(self, cmd: p.ImportImage) -> Path:
        """Fetch and inspect (no RBD write happens before both passed); return the file and its size."""
        self.fetch_dir.mkdir(parents=True, exist_ok=True)
        dest = self.fetch_dir / f"{cmd.name}.{cmd.sha256[:16]}"
        try:
            return fetch(cmd.url, dest, sha256=cmd.sha256, max_bytes=self.max_image_bytes)
        except FetchError as e:
            raise StoreError(e.reason, e.message) from e

    def import_image(self, cmd: p.ImportImage) -> None:
        path = self.download(cmd)
        try:
            info = inspect_image(path, cmd.disk_format, qemu_img=self.qemu_img)
        except UnsafeImage as e:
            path.unlink(missing_ok=True)
            raise StoreError(e.reason, e.message) from e
        if self._exists(cmd.pool, cmd.name):
            raise StoreError("AlreadyExists", f"{cmd.pool}/{cmd.name} exists; observe and plan again")
        self.begin(cmd.pool, cmd.name, cmd.owner.uid)
        self._rbd.create(self.ioctx(cmd.pool), cmd.name, info.virtual_size)
        self.mark(cmd.pool, cmd.name, cmd.owner, p.CREATING)
        self.convert(path, cmd.disk_format, cmd.pool, cmd.name)
        self.create_snapshot(cmd.pool, cmd.name, p.BASE_SNAP)
        self.set_state(cmd.pool, cmd.name, p.READY)
        self.forget(cmd.pool, cmd.name)
        path.unlink(missing_ok=True)

    def convert(self, path: Path, disk_format: str, pool: str, name: str) -> None:
        # -n: write into the image made and marked beforehand; -f: never let qemu-img probe the format.
        target = f"rbd:{pool}/{name}:id={self.client}:conf={_escape(str(self.conf))}"
        argv = [self.qemu_img, "convert", "-n", "-f", disk_format, "-O", "raw", str(path), target]
        try:
            subprocess.run(argv, check=True, capture_output=True, timeout=CONVERT_TIMEOUT)
        except subprocess.CalledProcessError as e:
            raise StoreError("ConvertFailed", f"qemu-img convert: {e.stderr.decode(errors='replace')}") from e
        except subprocess.TimeoutExpired as e:
            raise StoreError("ConvertFailed", f"qemu-img convert took more than {e.timeout} s") from e

    def create_volume(self, cmd: p.CreateVolume) -> None:
        if self._exists(cmd.pool, cmd.name):
            raise StoreError("AlreadyExists", f"{cmd.pool}/{cmd.name} exists; observe and plan again")
        src = cmd.source
        if src is not None:
            self._check_source(src, cmd.size_bytes)
        self.begin(cmd.pool, cmd.name, cmd.owner.uid)
        self.make_volume(cmd)
        self.mark(cmd.pool, cmd.name, cmd.owner, p.CREATING)
        self.resize(cmd.pool, cmd.name, cmd.size_bytes)
        self.set_state(cmd.pool, cmd.name, p.READY)
        self.forget(cmd.pool, cmd.name)

    def make_volume(self, cmd: p.CreateVolume) -> None:
        """The RBD image itself: blank, a COW clone, or a full copy (size set by the resize that follows)."""
        ioctx = self.ioctx(cmd.pool)
        src = cmd.source
        if src is None:
            self._rbd.create(ioctx, cmd.name, cmd.size_bytes)
        elif src.mode == "clone":
            self._rbd.clone(self.ioctx(src.pool), src.image, src.snap, ioctx, cmd.name)
        else:
            with self.open(src.pool, src.image, read_only=True) as image:
                image.copy(ioctx, cmd.name)

    def _check_source(self, src: p.RbdSource, size: int) -> None:
        try:
            with self.open(src.pool, src.image, read_only=True) as image:
                if src.snap is not None and not (
                    image.snap_exists(src.snap) and image.is_protected_snap(src.snap)
                ):
                    raise StoreError("SourceNotFound", f"{src.pool}/{src.image}@{src.snap} is not ready")
                have = int(image.size())
        except rbd.ImageNotFound as e:
            raise StoreError("SourceNotFound", f"{src.pool}/{src.image} does not exist") from e
        if have > size:
            raise StoreError(
                "SourceTooLarge", f"sizeGiB: {size} bytes is smaller than the source ({have} bytes)"
            )

    def resize(self, pool: str, name: str, size: int) -> None:
        self._require_ours(pool, name)
        with self.open(pool, name) as image:
            have = int(image.size())
            if size < have:
                raise StoreError(
                    "ShrinkRefused",
                    f"sizeGiB: {pool}/{name} can grow but never shrink ({have} bytes now, {size} asked)",
                )
            if size > have:
                image.resize(size)

    def create_snapshot(self, pool: str, name: str, snap: str) -> None:
        self._require_ours(pool, name)
        with self.open(pool, name) as image:
            if not image.snap_exists(snap):
                image.create_snap(snap)
            if not image.is_protected_snap(snap):
                image.protect_snap(snap)

    def delete_snapshot(self, pool: str, name: str, snap: str, flatten_children: bool) -> None:
        self._require_ours(pool, name)
        with self.open(pool, name) as image:
            if not image.snap_exists(snap):
                return
            if image.is_protected_snap(snap):
                self._release_children(image, pool, name, snap, flatten_children)
                image.unprotect_snap(snap)
            image.remove_snap(snap)

    def purge(self, pool: str, name: str, flatten_children: bool) -> None:
        """Remove an image of ours and its snapshots (children first checked, then flattened or refused)."""
        if not self._exists(pool, name):
            self.forget(pool, name)
            return
        owner = self._require_ours(pool, name)
        with self.open(pool, name) as image:
            snaps = [s["name"] for s in image.list_snaps()]
            foreign = [s for s in snaps if s != p.BASE_SNAP and not s.startswith(p.SNAP_PREFIX)]
            if foreign:
                raise StoreError(
                    "ForeignSnapshots",
                    f"{pool}/{name} has snapshots Kumulus did not make: {', '.join(foreign)}",
                )
            for snap in snaps:
                if image.is_protected_snap(snap):
                    self._release_children(image, pool, name, snap, flatten_children)
            if owner:
                image.metadata_set(p.STATE_KEY, p.DELETING)
            for snap in snaps:
                if image.is_protected_snap(snap):
                    image.unprotect_snap(snap)
                image.remove_snap(snap)
        self._rbd.remove(self.ioctx(pool), name)
        self.forget(pool, name)

    def _release_children(self, image: Any, pool: str, name: str, snap: str, flatten: bool) -> None:
        image.set_snap(snap)
        try:
            children = [(c["pool"], c["image"]) for c in image.list_children2() if not c.get("trash")]
        finally:
            image.set_snap(None)
        if not children:
            return
        names = ", ".join(f"{cp}/{ci}" for cp, ci in children)
        if not flatten:
            raise StoreError("HasClones", f"{pool}/{name}@{snap} has clones: {names}")
        unowned = [f"{cp}/{ci}" for cp, ci in children if not self._is_ours(cp, ci)]
        if unowned:
            raise StoreError(
                "HasClones", f"{pool}/{name}@{snap} has clones Kumulus does not own: {', '.join(unowned)}"
            )
        for child_pool, child in children:
            with self.open(child_pool, child) as c:
                c.flatten()

    def _exists(self, pool: str, name: str) -> bool:
        try:
            with self.open(pool, name, read_only=True):
                return True
        except rbd.ImageNotFound:
            return False

    def _is_ours(self, pool: str, name: str) -> bool:
        img = self._describe(pool, name)
        return img is not None and p.is_ours(img, self.intents(pool))

    def _require_ours(self, pool: str, name: str) -> bool:
        """Refuse to touch an image that is not ours; True if marked (False: half-made under an intent)."""
        img = self._describe(pool, name)
        if img is None:
            raise StoreError("NotFound", f"{pool}/{name} does not exist")
        if not p.is_ours(img, self.intents(pool)):
            raise StoreError("NotOurs", f"{pool}/{name} is not marked as Kumulus's: left untouched")
        return img.marked


def _escape(value: str) -> str:
    """Escape the separators of a qemu rbd: filename."""
    return value.replace("\\", "\\\\").replace(":", "\\:").replace("@", "\\@")

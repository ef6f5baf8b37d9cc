"""A domain's disk changes as a pure function: the disks its guest should have (the plan's Volumes) and the
disks its domain has (persistent and, when running, live definition) in; attach / detach / grow out.

    actions = plan_disks(wanted, owned, config_view, live_view)   # live_view None: the domain is off

- Identity: a disk is its serial (the Volume's uid, which the guest sees too) or, without one, its target
  device. A wanted disk present under another device stays where it is: the resolver numbers attached
  Volumes in order, so removing one renames the next in the plan, but not in the guest.
- Ownership: only disks whose key is in `owned` (recorded in the domain's Kumulus mark) are ever detached;
  the boot disk (it has a boot order) never is, and a CD-ROM (the config drive) is never touched.
- A missing Volume is attached to the definitions lacking it (LIVE|CONFIG when both do) at its planned
  device, or the first free vdX when another disk holds it; an unwanted disk of ours is detached from the
  definitions holding it. A definition that already agrees is left alone: a half-applied change (live done,
  persistent not) is finished, not redone.
- Growing: a running guest's disk smaller than its Volume is grown to it (blockResize); never shrunk.
- `Own` keeps the mark in step: the wanted disks are recorded before anything is attached (intent first: a
  crash in between leaves a key without a disk, which is harmless) and detached ones are dropped after.

Applying the actions in order and planning again yields no action (tests/unit/test_libvirt_disk_changes.py).
"""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .config_devices import GuestDisk

DEVICES = tuple(f"vd{c}" for c in "abcdefghijklmnopqrstuvwxyz")
CONFIG = "config"
LIVE = "live"


def disk_key(serial: str | None, target_dev: str) -> str:
    """What identifies a disk across definitions and device renames."""
    return f"serial:{serial}" if serial else f"dev:{target_dev}"


def key_of(disk: GuestDisk) -> str:
    return disk_key(disk.serial, disk.target_dev)


@dataclass(frozen=True, slots=True)
class WantedDisk:
    disk: GuestDisk
    size_bytes: int | None = None  # the Volume's size; None: unknown, never grown

    @property
    def key(self) -> str:
        return key_of(self.disk)


@dataclass(frozen=True, slots=True)
class DiskView:
    """The disks of one definition of a domain (persistent or live)."""

    disks: tuple[GuestDisk, ...] = ()
    other_devs: frozenset[str] = frozenset()  # devices of disks too unusual to parse: not ours, but taken
    sizes: Mapping[str, int] = field(default_factory=dict)  # live: capacity in bytes by target device

    def holds(self, key: str) -> bool:
        return any(key_of(d) == key for d in self.disks)


@dataclass(frozen=True, slots=True)
class Own:
    """Record these keys as the domain's disks of ours (its Kumulus mark)."""

    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Attach:
    disk: GuestDisk
    live: bool
    config: bool


@dataclass(frozen=True, slots=True)
class Detach:
    disk: GuestDisk
    live: bool
    config: bool


@dataclass(frozen=True, slots=True)
class Grow:
    target_dev: str
    size_bytes: int


DiskAction = Own | Attach | Detach | Grow


def view_of(xml: str, sizes: Mapping[str, int] | None = None) -> DiskView:
    """The disks of a domain's XML (virDomainGetXMLDesc). A disk this module cannot read (say an empty
    CD-ROM someone added) is not ours: only its device is kept, so that nothing is attached over it."""
    devices = ET.fromstring(xml).find("devices")
    disks: list[GuestDisk] = []
    other: set[str] = set()
    for el in [] if devices is None else devices.findall("disk"):
        try:
            disks.append(GuestDisk.from_xml(el))
        except ValueError:
            target = el.find("target")
            if target is not None and target.get("dev"):
                other.add(target.get("dev", ""))
    return DiskView(tuple(disks), frozenset(other), dict(sizes or {}))


def alias_of(xml: str, target_dev: str) -> str | None:
    """The alias libvirt gave a live disk (what its device events name), e.g. virtio-disk1."""
    devices = ET.fromstring(xml).find("devices")
    for el in [] if devices is None else devices.findall("disk"):
        target, alias = el.find("target"), el.find("alias")
        if target is not None and target.get("dev") == target_dev and alias is not None:
            return alias.get("name")
    return None


def _detachable(disk: GuestDisk, owned: set[str], wanted: set[str]) -> bool:
    key = key_of(disk)
    return disk.device == "disk" and disk.boot_order is None and key in owned and key not in wanted


def plan_disks(
    wanted: Sequence[WantedDisk],
    owned: Sequence[str] | None,
    config: DiskView,
    live: DiskView | None,
) -> list[DiskAction]:
    wanted_keys = [w.key for w in wanted]
    if len(set(wanted_keys)) != len(wanted_keys):
        raise ValueError(f"disks: two disks share a serial: {wanted_keys}")
    wanted_set = set(wanted_keys)
    owned_set = set(owned or ())
    views = {CONFIG: config} if live is None else {CONFIG: config, LIVE: live}

    # Detach: per disk (key, device), the definitions holding it.
    detach: dict[tuple[str, str], tuple[GuestDisk, set[str]]] = {}
    for side, view in views.items():
        for d in view.disks:
            if _detachable(d, owned_set, wanted_set):
                detach.setdefault((key_of(d), d.target_dev), (d, set()))[1].add(side)

    # Attach: devices taken in either definition once the detaches are done.
    taken: set[str] = set()
    for side, view in views.items():
        taken |= view.other_devs
        taken |= {
            d.target_dev
            for d in view.disks
            if side not in detach.get((key_of(d), d.target_dev), (d, set()))[1]
        }
    missing = [w for w in wanted if any(not v.holds(w.key) for v in views.values())]
    reserved = {w.disk.target_dev for w in missing}
    attaches: list[DiskAction] = []
    for w in missing:
        sides = {side for side, view in views.items() if not view.holds(w.key)}
        # Already in the other definition: the same device in both.
        elsewhere = [d.target_dev for v in views.values() for d in v.disks if key_of(d) == w.key]
        if elsewhere:
            dev = elsewhere[0]
        elif w.disk.target_dev not in taken:
            dev = w.disk.target_dev
        else:
            free = [d for d in DEVICES if d not in taken and d not in reserved]
            if not free:
                raise ValueError("disks: no free virtio device name left on the domain")
            dev = free[0]
        taken.add(dev)
        disk = dataclasses.replace(w.disk, target_dev=dev)
        attaches.append(Attach(disk, live=LIVE in sides, config=CONFIG in sides))

    grows: list[DiskAction] = []
    if live is not None:
        present = {key_of(d): d for d in live.disks}
        for w in wanted:
            found = present.get(w.key)
            have = None if found is None else live.sizes.get(found.target_dev)
            if found is not None and w.size_bytes is not None and have is not None and have < w.size_bytes:
                grows.append(Grow(found.target_dev, w.size_bytes))

    # The mark: wanted keys added first; after, only what is wanted or stays (an owned boot disk).
    kept = {key_of(d) for v in views.values() for d in v.disks if key_of(d) in owned_set and d.boot_order}
    before = tuple(dict.fromkeys([*(owned or ()), *wanted_keys]))
    after = tuple(k for k in before if k in wanted_set or k in kept)
    actions: list[DiskAction] = []
    if owned is None or before != tuple(owned):
        actions.append(Own(before))
    actions += [Detach(d, live=LIVE in sides, config=CONFIG in sides) for d, sides in detach.values()]
    actions += attaches
    actions += grows
    if after != before:
        actions.append(Own(after))
    return actions

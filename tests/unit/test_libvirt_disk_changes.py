"""Live disk changes (hostd/libvirt/disk_changes.py): the plan for a running or stopped domain, its
ownership rules (only disks recorded as ours are detached; never the boot disk or the config drive), and
that applying a plan and planning again yields nothing. The mark's list of disks round-trips through the
XML, including the namespace-less form virDomainSetMetadata takes."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest

from controllers.scheduling import Resources
from hostd.libvirt.config import GuestDisk, KumulusMetadata
from hostd.libvirt.disk_changes import (
    Attach,
    Detach,
    DiskAction,
    DiskView,
    Grow,
    Own,
    WantedDisk,
    alias_of,
    disk_key,
    key_of,
    plan_disks,
    view_of,
)

GiB = 1 << 30
BOOT = GuestDisk("vda", source_path="/v/boot", serial="boot-uid", boot_order=1)
DATA1 = GuestDisk("vdb", source_path="/v/data1", serial="data1-uid")
DATA2 = GuestDisk("vdc", source_path="/v/data2", serial="data2-uid")
CONFIG_DRIVE = GuestDisk("sda", target_bus="sata", device="cdrom", source_path="/s/cd.img", readonly=True)
FOREIGN = GuestDisk("vdd", source_path="/someone/else.img", serial="not-ours")


def want(*disks: GuestDisk, size: int | None = GiB) -> list[WantedDisk]:
    return [WantedDisk(d, size) for d in disks]


def keys(*disks: GuestDisk) -> tuple[str, ...]:
    return tuple(key_of(d) for d in disks)


def view(*disks: GuestDisk, size: int = GiB) -> DiskView:
    return DiskView(disks, sizes={d.target_dev: size for d in disks})


def apply(
    actions: Sequence[DiskAction], owned: Sequence[str] | None, config: DiskView, live: DiskView | None
) -> tuple[Sequence[str] | None, DiskView, DiskView | None]:
    """What libvirt would do with the actions (a detach completing at once)."""

    def without(v: DiskView, d: GuestDisk) -> DiskView:
        kept = tuple(x for x in v.disks if (key_of(x), x.target_dev) != (key_of(d), d.target_dev))
        return dataclasses.replace(v, disks=kept)

    for a in actions:
        if isinstance(a, Own):
            owned = a.keys
        elif isinstance(a, Attach):
            if a.config:
                config = dataclasses.replace(config, disks=(*config.disks, a.disk))
            if a.live:
                assert live is not None
                sizes = {**live.sizes, a.disk.target_dev: GiB}
                live = DiskView((*live.disks, a.disk), live.other_devs, sizes)
        elif isinstance(a, Detach):
            if a.config:
                config = without(config, a.disk)
            if a.live:
                assert live is not None
                live = without(live, a.disk)
        elif isinstance(a, Grow):
            assert live is not None
            live = dataclasses.replace(live, sizes={**live.sizes, a.target_dev: a.size_bytes})
    return owned, config, live


def converge(
    wanted: Sequence[WantedDisk], owned: Sequence[str] | None, config: DiskView, live: DiskView | None
) -> tuple[list[DiskAction], tuple[Sequence[str] | None, DiskView, DiskView | None]]:
    actions = plan_disks(wanted, owned, config, live)
    after = apply(actions, owned, config, live)
    assert plan_disks(wanted, *after) == [], "a second plan after applying must be empty"
    return actions, after


def test_a_new_volume_is_recorded_then_attached_live_and_persistently() -> None:
    owned = keys(BOOT)
    actions, (now_owned, config, live) = converge(
        want(BOOT, DATA1), owned, view(BOOT, CONFIG_DRIVE), view(BOOT, CONFIG_DRIVE)
    )
    assert actions == [Own(keys(BOOT, DATA1)), Attach(DATA1, live=True, config=True)]
    assert now_owned == keys(BOOT, DATA1)
    assert live is not None and DATA1 in live.disks and DATA1 in config.disks


def test_a_removed_volume_is_detached_from_both_and_dropped_from_the_mark() -> None:
    owned = keys(BOOT, DATA1, DATA2)
    both = view(BOOT, DATA1, DATA2, CONFIG_DRIVE)
    actions, (now_owned, config, live) = converge(want(BOOT, DATA2), owned, both, both)
    assert actions == [Detach(DATA1, live=True, config=True), Own(keys(BOOT, DATA2))]
    assert live is not None and DATA1 not in live.disks and DATA1 not in config.disks
    assert now_owned == keys(BOOT, DATA2)


def test_disks_not_ours_the_boot_disk_and_the_config_drive_are_never_detached() -> None:
    owned = keys(BOOT, DATA1)
    both = view(BOOT, DATA1, CONFIG_DRIVE, FOREIGN)
    actions, (now_owned, config, live) = converge([], owned, both, both)
    assert actions == [Detach(DATA1, live=True, config=True), Own(keys(BOOT))]  # boot: kept in the mark
    assert live is not None and set(live.disks) == {BOOT, CONFIG_DRIVE, FOREIGN} == set(config.disks)
    assert now_owned == keys(BOOT)
    # Even recorded as ours by mistake, a CD-ROM is left alone.
    assert plan_disks([], (*keys(BOOT), "dev:sda"), view(BOOT, CONFIG_DRIVE), None) == [Own(keys(BOOT))]


def test_a_volume_renamed_by_the_plan_stays_where_it_is() -> None:
    """Volumes [data1, data2] were vdb, vdc; data1 removed, the plan now names data2 vdb."""
    both = view(BOOT, DATA2)
    renamed = dataclasses.replace(DATA2, target_dev="vdb")
    assert plan_disks(want(BOOT, renamed), keys(BOOT, DATA2), both, both) == []


def test_a_taken_device_gives_the_next_free_one() -> None:
    new = GuestDisk("vdc", source_path="/v/new", serial="new-uid")
    both = DiskView((BOOT, DATA2), other_devs=frozenset({"vdd"}), sizes={"vda": GiB, "vdc": GiB})
    actions, _ = converge(want(BOOT, DATA2, new), keys(BOOT, DATA2), both, both)
    assert actions == [
        Own(keys(BOOT, DATA2, new)),
        Attach(dataclasses.replace(new, target_dev="vdb"), live=True, config=True),
    ]
    # A device freed by a detach in the same plan is reused.
    actions, _ = converge(want(BOOT, new), keys(BOOT, DATA2), both, both)
    assert [type(a) for a in actions] == [Own, Detach, Attach, Own]
    assert actions[2] == Attach(new, live=True, config=True)


def test_a_half_applied_change_is_finished() -> None:
    # Attached live only (say hostd died between the two): the definition gets it, at the same device.
    moved = dataclasses.replace(DATA1, target_dev="vdf")
    actions, _ = converge(want(BOOT, DATA1), keys(BOOT, DATA1), view(BOOT), view(BOOT, moved))
    assert actions == [Attach(moved, live=False, config=True)]
    # Detached from the definition, the guest not done releasing it: only the live detach is asked again.
    actions, _ = converge(want(BOOT), keys(BOOT, DATA1), view(BOOT), view(BOOT, DATA1))
    assert actions == [Detach(DATA1, live=True, config=False), Own(keys(BOOT))]


def test_a_stopped_domain_changes_its_definition_only() -> None:
    actions, (_, config, live) = converge(want(BOOT, DATA2), keys(BOOT, DATA1), view(BOOT, DATA1), None)
    assert actions == [
        Own(keys(BOOT, DATA1, DATA2)),
        Detach(DATA1, live=False, config=True),
        Attach(DATA2, live=False, config=True),
        Own(keys(BOOT, DATA2)),
    ]
    assert live is None and config.disks == (BOOT, DATA2)


def test_grown_volumes_are_resized_live_never_shrunk() -> None:
    live = view(BOOT, DATA1, size=GiB)
    actions, (_, _, after) = converge(
        want(BOOT, DATA1, size=2 * GiB), keys(BOOT, DATA1), view(BOOT, DATA1), live
    )
    assert actions == [Grow("vda", 2 * GiB), Grow("vdb", 2 * GiB)]
    assert after is not None and after.sizes == {"vda": 2 * GiB, "vdb": 2 * GiB}
    assert plan_disks(want(BOOT, DATA1, size=GiB // 2), keys(BOOT, DATA1), view(BOOT, DATA1), live) == []
    # Unknown sizes (not asked of libvirt, or no Volume size): nothing to do; stopped: nothing either.
    assert plan_disks(want(BOOT, size=None), keys(BOOT), view(BOOT), live) == []
    assert plan_disks(want(BOOT, size=2 * GiB), keys(BOOT), view(BOOT), DiskView((BOOT,))) == []
    assert plan_disks(want(BOOT, size=2 * GiB), keys(BOOT), view(BOOT), None) == []


def test_a_domain_without_a_recorded_list_detaches_nothing_and_records_it() -> None:
    """Domains defined before the mark listed disks: those matching the plan are adopted, nothing else."""
    both = view(BOOT, DATA1, FOREIGN)
    actions, (owned, config, _) = converge(want(BOOT), None, both, both)
    assert actions == [Own(keys(BOOT))]
    assert owned == keys(BOOT) and set(config.disks) == {BOOT, DATA1, FOREIGN}
    # An empty plan on an empty domain records the empty list once.
    assert plan_disks([], None, DiskView(), None) == [Own(())]
    assert plan_disks([], (), DiskView(), None) == []


def test_a_crash_between_recording_and_attaching_is_harmless() -> None:
    # The mark lists DATA1 (intent), the domain never got it, and the Volume was removed meanwhile.
    actions, (owned, _, _) = converge(want(BOOT), keys(BOOT, DATA1), view(BOOT), view(BOOT))
    assert actions == [Own(keys(BOOT))] and owned == keys(BOOT)


def test_bad_input() -> None:
    twin = dataclasses.replace(DATA1, target_dev="vdc")
    with pytest.raises(ValueError, match="serial"):
        plan_disks(want(DATA1, twin), (), DiskView(), None)
    full = DiskView(other_devs=frozenset(f"vd{c}" for c in "abcdefghijklmnopqrstuvwxyz"))
    with pytest.raises(ValueError, match="no free virtio device"):
        plan_disks(want(DATA1), (), full, None)


LIVE_XML = """<domain type='qemu' id='4'><name>kumulus-x</name><devices>
  <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/v/boot' index='2'/>
    <backingStore/><target dev='vda' bus='virtio'/><serial>boot-uid</serial><boot order='1'/>
    <alias name='virtio-disk0'/><address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/></disk>
  <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/v/data1' index='3'/>
    <target dev='vdb' bus='virtio'/><serial>data1-uid</serial><alias name='virtio-disk1'/></disk>
  <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><target dev='hdc' bus='ide'/>
    <readonly/><alias name='ide0-1-0'/></disk>
</devices></domain>"""


def test_view_of_libvirt_xml() -> None:
    v = view_of(LIVE_XML, {"vdb": 5})
    assert v.disks == (BOOT, DATA1)
    assert v.other_devs == {"hdc"}  # an empty CD-ROM: unreadable as ours, but its device is taken
    assert v.sizes == {"vdb": 5}
    assert alias_of(LIVE_XML, "vdb") == "virtio-disk1" and alias_of(LIVE_XML, "vdz") is None
    assert key_of(DATA1) == disk_key("data1-uid", "vdb") == "serial:data1-uid"
    assert key_of(CONFIG_DRIVE) == "dev:sda"


UID = "0b7c3c1e-7d4a-4c39-9d6e-0f5b1c2a3d4e"


def test_metadata_lists_our_disks() -> None:
    meta = KumulusMetadata(UID, "demo", "web", Resources(1, 64, 0), disks=keys(BOOT, DATA1))
    assert KumulusMetadata.from_xml(meta.to_xml()) == meta
    plain = meta.to_plain_string()
    assert plain.startswith("<instance>") and "kumulus" not in plain and "xmlns" not in plain
    assert "<disks>serial:boot-uid serial:data1-uid</disks>" in plain
    assert KumulusMetadata.from_string(plain) == meta
    # Never recorded (a domain made before the list existed) differs from recorded empty.
    legacy = dataclasses.replace(meta, disks=None)
    assert KumulusMetadata.from_string(legacy.to_plain_string()).disks is None
    empty = dataclasses.replace(meta, disks=())
    assert KumulusMetadata.from_string(empty.to_plain_string()).disks == ()
    with pytest.raises(ValueError, match="disk key"):
        dataclasses.replace(meta, disks=("serial:a b",))

"""Guest plan -> libvirt config objects, one small builder per device (KubeVirt's converter style).

Each builder is a pure function of one part of the plan; `domain_config` puts them together. Policy that
is ours, not libvirt's, is decided here and only here: names (kumulus-<uid>), the config drive's device,
the NIC offloads the userspace OVS datapath needs, the serial console going to a log file.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..guest_devices import CONFIG_DRIVE_DEV, DiskPlan, GuestPlan, NicPlan
from .config import (
    DiskAuth,
    GuestCharDevice,
    GuestDisk,
    GuestDomain,
    GuestInterface,
    KumulusMetadata,
    NetworkHost,
)
from .disk_changes import WantedDisk, disk_key

DOMAIN_PREFIX = "kumulus-"
# Every virtio offload off, on both sides (machine-recipes.md, "A QEMU guest on OVN"): with the userspace
# datapath, TCP through a tap silently fails otherwise.
HOST_OFFLOADS_OFF = (
    ("csum", False),
    ("gso", False),
    ("tso4", False),
    ("tso6", False),
    ("ecn", False),
    ("ufo", False),
)
GUEST_OFFLOADS_OFF = (("csum", False), ("tso4", False), ("tso6", False), ("ecn", False), ("ufo", False))


@dataclass(frozen=True, slots=True)
class DomainSettings:
    """What the host, not the guest, decides."""

    virt_type: str = "kvm"  # "qemu" where there is no usable /dev/kvm (TCG)
    host: str | None = None  # recorded in the metadata as the creator
    machine: str | None = None  # None: libvirt's default machine type
    cpu_mode: str | None = None  # None: host-model on kvm, libvirt's default on qemu


def domain_name(uid: str) -> str:
    return DOMAIN_PREFIX + uid


def metadata_config(plan: GuestPlan, settings: DomainSettings, created: str | None) -> KumulusMetadata:
    return KumulusMetadata(
        uid=plan.uid,
        namespace=plan.namespace,
        name=plan.name,
        resources=plan.resources,
        flavor=plan.flavor,
        host=settings.host,
        created=created,
        disks=tuple(disk_key(d.serial, d.target_dev) for d in plan.disks),  # ours: the config drive is not
    )


def rbd_disk_config(disk: DiskPlan) -> GuestDisk:
    """A Ceph RBD image opened by QEMU itself (librbd): no kernel RBD, no host block device."""
    assert disk.rbd is not None
    rbd = disk.rbd
    auth = None
    if rbd.user is not None and rbd.secret_uuid is not None:
        auth = DiskAuth(rbd.user, rbd.secret_uuid)
    return GuestDisk(
        target_dev=disk.target_dev,
        source_type="network",
        driver_cache="writeback",  # librbd's cache, crash-consistent with flushes honoured (as Nova's)
        driver_discard="unmap",
        source_protocol="rbd",
        source_name=f"{rbd.pool}/{rbd.image}",
        source_hosts=tuple(NetworkHost.parse(m) for m in rbd.monitors),
        auth=auth,
        readonly=disk.readonly,
        serial=disk.serial,
        boot_order=disk.boot_order,
    )


def file_disk_config(disk: DiskPlan) -> GuestDisk:
    assert disk.path is not None
    return GuestDisk(
        target_dev=disk.target_dev,
        source_path=disk.path,
        readonly=disk.readonly,
        serial=disk.serial,
        boot_order=disk.boot_order,
    )


def disk_config(disk: DiskPlan) -> GuestDisk:
    return rbd_disk_config(disk) if disk.rbd is not None else file_disk_config(disk)


def wanted_disks(plan: GuestPlan) -> tuple[WantedDisk, ...]:
    """The plan's disks as the live disk changes compare them with a domain (disk_changes.py)."""
    return tuple(WantedDisk(disk_config(d), d.size_bytes) for d in plan.disks)


def config_drive_config(path: str) -> GuestDisk:
    """The config drive (the vfat image, label cidata, that hostd/configdrive.py writes): a read-only virtio
    disk, last in the vdX names so attached Volumes keep theirs. Not a CD-ROM: a FAT file system with 512-byte
    sectors does not mount from a 2048-byte-sector CD drive, and cloud kernels (Debian's `cloud` flavour)
    have no AHCI driver for a SATA one; IDE cannot be read-only in QEMU. Every virtio guest reads this."""
    return GuestDisk(
        target_dev=CONFIG_DRIVE_DEV,
        target_bus="virtio",
        device="disk",
        source_path=path,
        readonly=True,
    )


def nic_config(nic: NicPlan) -> GuestInterface:
    offloads = nic.offloads_off
    return GuestInterface(
        mac=nic.mac,
        source_bridge=nic.bridge,
        virtualport_type="openvswitch",
        interface_id=nic.port_uid,
        target_dev=nic.tap,
        mtu=nic.mtu,
        driver_name="qemu" if offloads else None,
        host_offloads=HOST_OFFLOADS_OFF if offloads else (),
        guest_offloads=GUEST_OFFLOADS_OFF if offloads else (),
    )


def console_config(log_path: str | None) -> tuple[tuple[GuestCharDevice, ...], tuple[GuestCharDevice, ...]]:
    """The first serial port to the console log (appended to across boots), and the console on it; a pty
    when there is no log."""
    if log_path is None:
        return (GuestCharDevice("serial", "pty"),), (GuestCharDevice("console", "pty", target_type="serial"),)
    return (
        (GuestCharDevice("serial", "file", log_path, append=True),),
        (GuestCharDevice("console", "file", log_path, append=True, target_type="serial"),),
    )


def domain_config(plan: GuestPlan, settings: DomainSettings, created: str | None = None) -> GuestDomain:
    """The whole domain for a plan."""
    disks = [disk_config(d) for d in plan.disks]
    if plan.config_drive is not None:
        disks.append(config_drive_config(plan.config_drive))
    serials, consoles = console_config(plan.console_log)
    cpu_mode = settings.cpu_mode
    if cpu_mode is None and settings.virt_type == "kvm":
        cpu_mode = "host-model"
    has_boot_order = any(d.boot_order is not None for d in disks)
    return GuestDomain(
        uuid=plan.uid,
        name=domain_name(plan.uid),
        memory_kib=plan.resources.ram_mib * 1024,
        vcpus=plan.resources.vcpus,
        virt_type=settings.virt_type,
        os_machine=settings.machine,
        # Per-disk boot order when the plan gives one (libvirt refuses both kinds at once).
        boot_devs=() if has_boot_order else ("hd",),
        cpu_mode=cpu_mode,
        metadata=metadata_config(plan, settings, created),
        disks=tuple(disks),
        interfaces=tuple(nic_config(n) for n in plan.nics),
        serials=serials,
        consoles=consoles,
    )

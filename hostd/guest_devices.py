"""The guest plan: everything a hypervisor driver needs to build one guest, resolved from a Server and the
objects it names (Flavor, Ports, Volumes, the config drive hostd made), with no hypervisor detail in it.

The libvirt builders (hostd/libvirt/builders.py) turn a plan into domain XML; the resolver given to the
driver makes a plan from a GuestSpec. Every field is checked when the plan is made, and a bad value raises
ValueError naming the field, so nothing half-valid reaches libvirt.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from controllers.scheduling import Resources

MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
TARGET_DEV = re.compile(r"^(vd|sd|hd)[a-z]{1,2}$")
BRIDGE = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")  # a Linux interface name
MONITOR = re.compile(r"^[A-Za-z0-9_.:\[\]-]+$")
CONFIG_DRIVE_DEV = "vdz"  # a read-only virtio disk (vfat, label cidata): see builders.config_drive_config


class CrashPolicy(StrEnum):
    """What hostd does with a guest whose QEMU died while it should run."""

    RESTART = "Restart"  # start it again when asked to ensure it is on (the reconciler's next pass)
    STAY_DOWN = "StayDown"  # leave it crashed (reported as Crashed) for someone to look at


def check_uuid(value: str, what: str) -> str:
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError):
        raise ValueError(f"{what}: {value!r} is not a UUID") from None


@dataclass(frozen=True, slots=True)
class RbdSource:
    """A Ceph RBD image that QEMU opens itself (librbd), as `pool/image` on the listed monitors."""

    pool: str
    image: str
    monitors: tuple[str, ...]  # "host:port" or "host"
    user: str | None = None  # cephx user; None when the cluster runs without auth
    secret_uuid: str | None = None  # libvirt secret holding that user's key

    def __post_init__(self) -> None:
        for name in ("pool", "image"):
            value = getattr(self, name)
            if not value or "/" in value or "@" in value:
                raise ValueError(f"rbd.{name}: {value!r} must be a non-empty name without '/' or '@'")
        if not self.monitors:
            raise ValueError("rbd.monitors: at least one monitor is needed")
        for mon in self.monitors:
            if not MONITOR.match(mon):
                raise ValueError(f"rbd.monitors: {mon!r} is not host or host:port")
        if (self.user is None) != (self.secret_uuid is None):
            raise ValueError("rbd.user and rbd.secretUUID go together: set both or neither")
        if self.secret_uuid is not None:
            check_uuid(self.secret_uuid, "rbd.secretUUID")


@dataclass(frozen=True, slots=True)
class DiskPlan:
    """One disk: an RBD image (volumes, the boot volume) or a local file (raw)."""

    target_dev: str  # vda, vdb...
    rbd: RbdSource | None = None
    path: str | None = None
    readonly: bool = False
    serial: str | None = None  # shown to the guest (/dev/disk/by-id); the Volume's uid
    boot_order: int | None = None
    size_bytes: int | None = None  # the Volume's size (status.sizeGiB); a running guest's disk is grown to it

    def __post_init__(self) -> None:
        if not TARGET_DEV.match(self.target_dev):
            raise ValueError(f"disk.targetDev: {self.target_dev!r} is not a device name like vda")
        if (self.rbd is None) == (self.path is None):
            raise ValueError(f"disk {self.target_dev}: set exactly one of rbd or path")
        if self.path is not None and not self.path.startswith("/"):
            raise ValueError(f"disk {self.target_dev}: path {self.path!r} must be absolute")
        if self.boot_order is not None and self.boot_order < 1:
            raise ValueError(f"disk {self.target_dev}: bootOrder must be >= 1")
        if self.size_bytes is not None and self.size_bytes < 1:
            raise ValueError(f"disk {self.target_dev}: sizeGiB must be at least 1")


@dataclass(frozen=True, slots=True)
class NicPlan:
    """One NIC: a tap on an OVS bridge, bound to the OVN logical port named after the Port's uid."""

    port_uid: str  # the OVN logical switch port (libvirt takes only a UUID as interfaceid)
    mac: str
    bridge: str = "br-int"
    mtu: int | None = None
    # The userspace (netdev) datapath mangles TCP when virtio offloads are on (machine-recipes.md).
    offloads_off: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "port_uid", check_uuid(self.port_uid, "nic.portUID"))
        if not MAC.match(self.mac):
            raise ValueError(f"nic {self.port_uid}: mac {self.mac!r} is not lower-case aa:bb:cc:dd:ee:ff")
        if not BRIDGE.match(self.bridge):
            raise ValueError(f"nic {self.port_uid}: bridge {self.bridge!r} is not an interface name")
        if self.mtu is not None and not 68 <= self.mtu <= 65535:
            raise ValueError(f"nic {self.port_uid}: mtu {self.mtu} is out of 68..65535")

    @property
    def tap(self) -> str:
        """The tap's name, from the port (Nova's tap<port uid[:11]>): stable and findable in OVS."""
        return "tap" + self.port_uid[:11]


@dataclass(frozen=True, slots=True)
class PowerPolicy:
    shutdown_timeout: float = 60.0  # seconds an ACPI shutdown may take before the guest is destroyed
    on_crash: CrashPolicy = CrashPolicy.RESTART

    def __post_init__(self) -> None:
        if not 0 <= self.shutdown_timeout <= 3600:
            raise ValueError(f"power.shutdownTimeout: {self.shutdown_timeout} is out of 0..3600 seconds")


@dataclass(frozen=True, slots=True)
class GuestPlan:
    """One guest, fully resolved."""

    uid: str  # the Server's uid, also the domain's UUID
    namespace: str
    name: str
    resources: Resources
    flavor: str | None = None
    disks: tuple[DiskPlan, ...] = ()
    nics: tuple[NicPlan, ...] = ()
    config_drive: str | None = None  # a file hostd made; attached read-only
    console_log: str | None = None  # the serial console's log file
    power: PowerPolicy = field(default_factory=PowerPolicy)

    def __post_init__(self) -> None:
        object.__setattr__(self, "uid", check_uuid(self.uid, "server.metadata.uid"))
        if self.resources.vcpus < 1:
            raise ValueError(f"flavor.vcpus: {self.resources.vcpus} must be at least 1")
        if self.resources.ram_mib < 16:
            raise ValueError(f"flavor.ramMiB: {self.resources.ram_mib} must be at least 16")
        devs = [d.target_dev for d in self.disks]
        if len(set(devs)) != len(devs):
            raise ValueError(f"disks: target devices repeat: {devs}")
        if self.config_drive is not None and CONFIG_DRIVE_DEV in devs:
            raise ValueError(f"disks: {CONFIG_DRIVE_DEV} is the config drive's device")
        macs = [n.mac for n in self.nics]
        if len(set(macs)) != len(macs):
            raise ValueError(f"nics: MAC addresses repeat: {macs}")
        for what in ("config_drive", "console_log"):
            path = getattr(self, what)
            if path is not None and not path.startswith("/"):
                raise ValueError(f"{what}: {path!r} must be an absolute path")

    @property
    def consumer(self) -> str:
        return f"{self.namespace}/{self.name}"

"""The driver interface: what hostd asks of a hypervisor, whatever runs the guests (sim, libvirt).

A driver is level-based: `ensure_guest` makes the guest exist with the given power state (creating,
starting or stopping it as needed) and returns what it observes; `destroy_guest` removes it if present.
`list_guests` is the driver's view of what runs, which hostd compares with the Servers assigned to it.
`reboot_guest` is the one imperative call: hostd makes it once per reboot request (spec.reboot), and
records it in the Server's status (hostd/reboot.py). `console_log` says where a guest's serial console
is logged on this host, for `status.console`.

Volumes: `GuestSpec.volumes` is what the guest's disks should be (the Server's Volumes, resolved by hostd) and
`GuestState.volumes` what the driver observes on the guest, both as `GuestVolume`s keyed by serial (the
Volume's uid as QEMU keeps it). hostd compares the two (hostd/reconcile.py) and asks for `ensure_guest` when
a Volume is to be attached, detached or grown; the driver applies the change, live on a running guest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Protocol

from controllers.scheduling import Resources

SERIAL_LEN = 20  # QEMU keeps 20 characters of a virtio disk's serial


def volume_serial(volume_uid: str) -> str:
    """The serial of a Volume's disk, as the guest (and libvirt's live XML) shows it: the Volume's uid, cut."""
    return volume_uid[:SERIAL_LEN]


@dataclass(frozen=True, slots=True)
class GuestVolume:
    """A Volume as one of a guest's disks: its serial and its size in bytes (None: not known, e.g. a guest
    that is off, whose disks have no live size; a size is only ever compared when both sides know it)."""

    serial: str
    size_bytes: int | None = None


class GuestPhase(StrEnum):
    BUILDING = "Building"  # being created or started
    RUNNING = "Running"
    STOPPED = "Stopped"
    CRASHED = "Crashed"


@dataclass(frozen=True, slots=True)
class GuestSpec:
    """What a guest should be: from a Server (`server` is the whole object, for real drivers)."""

    uid: str
    consumer: str  # "namespace/name"
    resources: Resources
    power_on: bool = True
    server: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), compare=False)
    volumes: tuple[GuestVolume, ...] | None = None
    """The disks the guest should have (boot Volume first); None: not resolved by hostd, the driver takes
    every Volume the Server names."""


@dataclass(frozen=True, slots=True)
class GuestState:
    """A guest as the driver sees it."""

    uid: str
    consumer: str
    resources: Resources
    phase: GuestPhase
    boot_time: str | None = None
    console_log: str | None = None
    """The serial console's log file on this host (hostd fills it from `Driver.console_log`)."""
    volumes: tuple[GuestVolume, ...] | None = None
    """The Volume disks the driver put on the guest, as it observes them; None: the driver does not say."""

    @property
    def power_on(self) -> bool:
        return self.phase in (GuestPhase.RUNNING, GuestPhase.BUILDING)


class Driver(Protocol):
    name: str

    def capacity(self) -> Resources:
        """The host's physical vCPUs, RAM (MiB) and local disk (GiB)."""
        ...

    def data_plane(self) -> dict[str, str]:
        """Health of the data-plane services, as the Host's status.dataPlane (libvirt, ovn, ceph)."""
        ...

    async def ensure_guest(self, spec: GuestSpec) -> GuestState:
        """Create the guest if missing and bring it to spec.power_on; return its state. An existing
        guest whose resources differ from spec.resources is resized to them (an approved resize: a real
        driver may restart the guest to apply it); its disks are brought to spec.volumes (attached,
        detached, grown; live when it runs). The returned state shows what was applied."""
        ...

    async def destroy_guest(self, uid: str) -> None:
        """Remove the guest if it exists."""
        ...

    async def list_guests(self) -> dict[str, GuestState]:
        """Every guest on the host, by Server uid."""
        ...

    async def reboot_guest(self, uid: str, hard: bool = False, timeout: float = 60.0) -> GuestState:
        """Reboot the running guest: soft = ACPI shutdown, destroyed if still running after `timeout`
        seconds, then start; hard = destroy, then start. Returns its state, with the new boot time.
        LookupError if there is no such guest."""
        ...

    def console_log(self, uid: str) -> str | None:
        """The path of the guest's serial console log on this host; None if the driver keeps none."""
        ...

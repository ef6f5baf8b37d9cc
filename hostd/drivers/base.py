"""The driver interface: what hostd asks of a hypervisor, whatever runs the guests (sim, libvirt).

A driver is level-based: `ensure_guest` makes the guest exist with the given power state (creating,
starting or stopping it as needed) and returns what it observes; `destroy_guest` removes it if present.
`list_guests` is the driver's view of what runs, which hostd compares with the Servers assigned to it.
`reboot_guest` is the one imperative call: hostd makes it once per reboot request (spec.reboot), and
records it in the Server's status (hostd/reboot.py). `console_log` says where a guest's serial console
is logged on this host, for `status.console`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Protocol

from controllers.scheduling import Resources


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
        driver may restart the guest to apply it); the returned state shows the resources applied."""
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

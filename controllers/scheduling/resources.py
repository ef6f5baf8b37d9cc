"""An amount of the three host resources the scheduler counts: vCPUs, RAM and local disk.

Local disk is only the ephemeral disk of a Flavor: Kumulus boots every Server from a Ceph volume (cloned
from its image, or a bootVolume), so a Flavor's root disk (`diskGiB`) is not taken from the Host.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Resources:
    """vCPUs, RAM in MiB and local disk in GiB. Amounts may go negative in a difference (overcommitted)."""

    vcpus: int = 0
    ram_mib: int = 0
    disk_gib: int = 0

    def __add__(self, other: Resources) -> Resources:
        return Resources(
            self.vcpus + other.vcpus, self.ram_mib + other.ram_mib, self.disk_gib + other.disk_gib
        )

    def __sub__(self, other: Resources) -> Resources:
        return Resources(
            self.vcpus - other.vcpus, self.ram_mib - other.ram_mib, self.disk_gib - other.disk_gib
        )

    def covers(self, request: Resources) -> bool:
        """Whether this amount (free resources) is enough for `request`; a resource not asked for is ignored."""
        return (
            (request.vcpus <= 0 or self.vcpus >= request.vcpus)
            and (request.ram_mib <= 0 or self.ram_mib >= request.ram_mib)
            and (request.disk_gib <= 0 or self.disk_gib >= request.disk_gib)
        )

    def shortfall(self, request: Resources) -> list[str]:
        """What is missing for `request`, e.g. ["RAM: 4096 MiB requested, 2048 MiB free"]; [] if it fits."""
        out = []
        if request.vcpus > 0 and self.vcpus < request.vcpus:
            out.append(f"vCPUs: {request.vcpus} requested, {max(self.vcpus, 0)} free")
        if request.ram_mib > 0 and self.ram_mib < request.ram_mib:
            out.append(f"RAM: {request.ram_mib} MiB requested, {max(self.ram_mib, 0)} MiB free")
        if request.disk_gib > 0 and self.disk_gib < request.disk_gib:
            out.append(f"disk: {request.disk_gib} GiB requested, {max(self.disk_gib, 0)} GiB free")
        return out

    @classmethod
    def from_wire(cls, data: Any) -> Resources:
        """From the wire form {vcpus, ramMiB, diskGiB} (missing keys are 0; None gives zero)."""
        if not data:
            return cls()
        return cls(int(data.get("vcpus", 0)), int(data.get("ramMiB", 0)), int(data.get("diskGiB", 0)))

    def to_wire(self) -> dict[str, int]:
        return {"vcpus": self.vcpus, "ramMiB": self.ram_mib, "diskGiB": self.disk_gib}


ZERO = Resources()

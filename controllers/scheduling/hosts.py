"""What the scheduler knows of a Host: where it is, what it may give Servers, its traits, labels, health.

Built from a Host object (`HostInfo.from_host`): the spec (zone, site, roles, capacity, reserved,
overcommit, traits, maintenance), `metadata.labels` (which HostAggregates select on), and from the status
the `Ready` condition, `dataPlane` and `fenced`. A Host is ready when its Ready condition is True and no
data-plane service (libvirt, OVN, Ceph access) is reported NotReady: each is needed to start a Server. What is allocated on the Host is not part of it: allocations change
far more often and are kept per Server in the HostIndex.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from types import MappingProxyType
from typing import Any

from controllers.api.infra import ComponentHealth, HostRole, HostSpec, HostStatus

from .resources import ZERO, Resources


class Health(IntEnum):
    """Whether a Host takes new Servers, and if not the first reason why (in the order filters count)."""

    OK = 0
    NOT_COMPUTE = 1
    FENCED = 2
    NOT_READY = 3
    MAINTENANCE = 4


@dataclass(frozen=True, slots=True)
class HostInfo:
    """A Host as the scheduler sees it. Equal HostInfos schedule the same, so unchanged updates are no-ops."""

    name: str
    zone: str
    site: str
    capacity: Resources
    reserved: Resources = ZERO
    cpu_ratio: float = 4.0
    ram_ratio: float = 1.0
    disk_ratio: float = 1.0
    compute: bool = True
    traits: frozenset[str] = frozenset()
    labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    ready: bool = True
    maintenance: bool = False
    fenced: bool = False

    @property
    def allocatable(self) -> Resources:
        """What Servers may be given, as in Placement: floor((capacity - reserved) x ratio) per resource."""
        return Resources(
            _scaled(self.capacity.vcpus - self.reserved.vcpus, self.cpu_ratio),
            _scaled(self.capacity.ram_mib - self.reserved.ram_mib, self.ram_ratio),
            _scaled(self.capacity.disk_gib - self.reserved.disk_gib, self.disk_ratio),
        )

    @property
    def health(self) -> Health:
        if not self.compute:
            return Health.NOT_COMPUTE
        if self.fenced:
            return Health.FENCED
        if not self.ready:
            return Health.NOT_READY
        if self.maintenance:
            return Health.MAINTENANCE
        return Health.OK

    @classmethod
    def from_host(cls, obj: Mapping[str, Any]) -> HostInfo:
        """From a Host object as the API returns it (a dict with metadata, spec and status)."""
        meta = obj.get("metadata") or {}
        spec = HostSpec.model_validate(obj["spec"])
        status = HostStatus.model_validate(obj.get("status") or {})
        ready = any(c.type == "Ready" and c.status == "True" for c in status.conditions)
        plane = status.data_plane
        if plane is not None and ComponentHealth.NOT_READY in (plane.libvirt, plane.ovn, plane.ceph):
            ready = False
        return cls(
            name=meta["name"],
            zone=spec.zone,
            site=spec.site,
            capacity=Resources(spec.capacity.vcpus, spec.capacity.ram_mi_b, spec.capacity.disk_gi_b),
            reserved=Resources(spec.reserved.vcpus, spec.reserved.ram_mi_b, spec.reserved.disk_gi_b),
            cpu_ratio=spec.overcommit.cpu_ratio,
            ram_ratio=spec.overcommit.ram_ratio,
            disk_ratio=spec.overcommit.disk_ratio,
            compute=HostRole.COMPUTE in spec.roles,
            traits=frozenset(spec.traits),
            labels=MappingProxyType(dict(meta.get("labels") or {})),
            ready=ready,
            maintenance=spec.maintenance,
            fenced=bool(status.fenced),
        )


def _scaled(amount: int, ratio: float) -> int:
    # The epsilon keeps e.g. 92 x 1.5 or 60 x 1.1 from flooring one unit short through float rounding.
    return max(0, math.floor(amount * ratio + 1e-9))

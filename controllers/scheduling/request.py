"""What is being placed: a Server's resources, zone, required traits and aggregate metadata, its group.

`ScheduleRequest.from_server` builds it from a Server and its Flavor (for a resize, pass the new Flavor).
The disk requested is the Flavor's `ephemeralGiB` only: root disks are Ceph volumes, not Host disk.
The ServerGroup comes with where its other members run (`GroupInfo.from_server_group`); the caller must
include members it has placed but not yet recorded (in-flight), or two could land on one host.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from controllers.api.compute import FlavorSpec, ServerGroupPolicy, ServerGroupSpec, ServerSpec

from .resources import Resources

HARD_POLICIES = frozenset({ServerGroupPolicy.AFFINITY, ServerGroupPolicy.ANTI_AFFINITY})
ANTI_POLICIES = frozenset({ServerGroupPolicy.ANTI_AFFINITY, ServerGroupPolicy.SOFT_ANTI_AFFINITY})


@dataclass(frozen=True, slots=True)
class GroupInfo:
    """A ServerGroup and the hosts its other members run on (one entry per member, so repeats count)."""

    name: str
    policy: ServerGroupPolicy
    member_hosts: tuple[str, ...] = ()
    max_per_host: int = 1

    @property
    def anti(self) -> bool:
        return self.policy in ANTI_POLICIES

    @property
    def hard(self) -> bool:
        return self.policy in HARD_POLICIES

    @classmethod
    def from_server_group(
        cls, obj: Mapping[str, Any], member_hosts: Mapping[str, str | None], *, exclude: str | None = None
    ) -> GroupInfo:
        """`member_hosts` maps each member Server's name to its host (None: not placed yet); the Server
        being scheduled (`exclude`) is left out, so that rescheduling it does not count its old host."""
        spec = ServerGroupSpec.model_validate(obj["spec"])
        hosts = tuple(sorted(h for s, h in member_hosts.items() if h and s != exclude))
        return cls(
            obj["metadata"]["name"], ServerGroupPolicy(spec.policy), hosts, spec.max_servers_per_host or 1
        )


@dataclass(frozen=True, slots=True)
class ScheduleRequest:
    """One Server to place. `consumer` ("namespace/name") keys its Allocation and seeds the sampling."""

    consumer: str
    resources: Resources
    zone: str | None = None
    required_traits: frozenset[str] = frozenset()
    aggregate_metadata: frozenset[tuple[str, str]] = frozenset()
    group: GroupInfo | None = None
    exclude_hosts: frozenset[str] = frozenset()
    only_host: str | None = None
    """Consider this Host only (a resize in place: the Server's own allocation is left out by the caller)."""

    @classmethod
    def from_server(
        cls,
        server: Mapping[str, Any],
        flavor: Mapping[str, Any],
        *,
        group: GroupInfo | None = None,
        exclude_hosts: Iterable[str] = (),
        only_host: str | None = None,
    ) -> ScheduleRequest:
        """From a Server and its Flavor objects; `exclude_hosts` are hosts that refused it before,
        `only_host` the one Host to consider (its own, for a resize)."""
        meta = server["metadata"]
        spec = ServerSpec.model_validate(server["spec"])
        fl = FlavorSpec.model_validate(flavor["spec"])
        return cls(
            consumer=f"{meta.get('namespace', '')}/{meta['name']}",
            resources=Resources(fl.vcpus, fl.ram_mi_b, fl.ephemeral_gi_b),
            zone=spec.zone,
            required_traits=frozenset(fl.required_traits) | frozenset(spec.required_traits),
            aggregate_metadata=frozenset(fl.aggregate_metadata.items()),
            group=group,
            exclude_hosts=frozenset(exclude_hosts),
            only_host=only_host,
        )

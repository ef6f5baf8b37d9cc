"""Zones and HostAggregates as the scheduler sees them.

A Host belongs to the zone of its `spec.zone`; a Stretched zone such as sz1 has Hosts at every one of its
sites, a Physical zone at its one site. Zones tell the scheduler which zone names exist (a Server naming an
unknown zone is unschedulable) and whether a zone spans sites. A HostAggregate's members are the Hosts its
selector (and optional zone) picks; a Flavor's `aggregateMetadata` must be carried, in full, by the
metadata of one aggregate the Host is a member of.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from controllers.api.infra import HostAggregateSpec, ZoneSpec, ZoneType

from .hosts import HostInfo
from .labels import MATCH_ALL, LabelSelector


@dataclass(frozen=True, slots=True)
class ZoneInfo:
    name: str
    stretched: bool = False
    sites: tuple[str, ...] = ()

    @classmethod
    def from_zone(cls, obj: Mapping[str, Any]) -> ZoneInfo:
        spec = ZoneSpec.model_validate(obj["spec"])
        return cls(obj["metadata"]["name"], spec.type == ZoneType.STRETCHED, tuple(sorted(spec.sites)))


@dataclass(frozen=True, slots=True)
class AggregateInfo:
    name: str
    selector: LabelSelector = MATCH_ALL
    zone: str | None = None
    metadata: frozenset[tuple[str, str]] = frozenset()

    def selects(self, host: HostInfo) -> bool:
        return (self.zone is None or host.zone == self.zone) and self.selector.matches(host.labels)

    def carries(self, required: frozenset[tuple[str, str]]) -> bool:
        """Whether the aggregate's metadata has every required key with the required value."""
        return required <= self.metadata

    @classmethod
    def from_aggregate(cls, obj: Mapping[str, Any]) -> AggregateInfo:
        spec = HostAggregateSpec.model_validate(obj["spec"])
        return cls(
            name=obj["metadata"]["name"],
            selector=LabelSelector.from_model(spec.host_selector),
            zone=spec.zone,
            metadata=frozenset(spec.metadata.items()),
        )

"""How the scheduler weighs hosts and how many it considers; the defaults suit a general-purpose cloud.

- `strategy`: Spread (default) prefers the Hosts with the most free RAM and vCPUs, Pack the fewest
  (fill Hosts up, keep others empty). Free amounts are normalised over the candidates as in Nova:
  (x - min) / (max - min), times `ram_weight` / `cpu_weight`.
- `group_weight`: SoftAffinity prefers Hosts running more members, SoftAntiAffinity fewer. It is larger
  than the resource weights, so a soft policy is kept whenever some fitting Host allows it; Nova's default
  of 1.0 lets a Host's free RAM outweigh it.
- `group_spread_weight`: for AntiAffinity and SoftAntiAffinity groups, prefer Hosts in a zone and at a
  site with fewer members, so that a group of zoneless Servers (or of sz1 Servers) spreads over the
  zones and sites, not only over Hosts.
- `max_candidates`: at most this many Hosts that passed the filters are weighed, sampled
  deterministically (see `HostIndex.sample`); hosts of the Server's SoftAffinity group are always kept.
- `default_zone`: the zone of Servers without one; unset (the default) means any zone's Hosts, the
  stretched zone's included.
- `ranking`: how many of the best Hosts, with their weights, a Decision keeps to explain itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Strategy(StrEnum):
    SPREAD = "Spread"
    PACK = "Pack"


@dataclass(frozen=True, slots=True)
class SchedulerConfig:
    strategy: Strategy = Strategy.SPREAD
    ram_weight: float = 1.0
    cpu_weight: float = 1.0
    group_weight: float = 10.0
    group_spread_weight: float = 5.0
    max_candidates: int = 1000
    default_zone: str | None = None
    ranking: int = 5

    def __post_init__(self) -> None:
        if self.max_candidates < 1:
            raise ValueError("max_candidates must be at least 1")
        if min(self.ram_weight, self.cpu_weight, self.group_weight, self.group_spread_weight) < 0:
            raise ValueError("weights must not be negative (use strategy Pack to prefer full hosts)")


DEFAULT_CONFIG = SchedulerConfig()

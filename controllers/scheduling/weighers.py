"""The weighers: a weight per candidate Host, the highest wins (ties go to the first host name).

Each weigher's values are normalised over the candidates to 0..1 ((x - min) / (max - min), 0 when all
are equal, as in Nova) and multiplied by its weight from SchedulerConfig:
- free RAM and free vCPUs: + for Spread, - for Pack;
- SoftAffinity: + members of the group on the Host; SoftAntiAffinity: - members on the Host;
- AntiAffinity and SoftAntiAffinity: - members in the Host's zone plus members at its site, which spreads
  zoneless Servers over zones, and sz1 Servers over the stretched zone's sites.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from controllers.api.compute import ServerGroupPolicy

from .config import SchedulerConfig, Strategy
from .index import HostIndex
from .request import ScheduleRequest

_SOFT_SIGN = {ServerGroupPolicy.SOFT_AFFINITY: 1.0, ServerGroupPolicy.SOFT_ANTI_AFFINITY: -1.0}


def weigh(
    slots: Sequence[int], index: HostIndex, request: ScheduleRequest, config: SchedulerConfig
) -> list[float]:
    """The weight of each of `slots`, in the same order."""
    weights = [0.0] * len(slots)
    if not slots:
        return weights
    free_vcpus, free_ram, _ = index.free_columns()
    sign = 1.0 if config.strategy == Strategy.SPREAD else -1.0
    _add(weights, [free_ram[s] for s in slots], sign * config.ram_weight)
    _add(weights, [free_vcpus[s] for s in slots], sign * config.cpu_weight)
    group = request.group
    if group is None or not group.member_hosts:
        return weights
    column = index.info_column()
    infos = [column[s] for s in slots]
    soft = _SOFT_SIGN.get(group.policy)
    if soft is not None:
        on_host = dict(Counter(group.member_hosts))
        _add(weights, [on_host.get(h.name, 0) for h in infos], soft * config.group_weight)
    if group.anti:
        members = [h for name in group.member_hosts if (h := index.host(name)) is not None]
        in_zone = dict(Counter(h.zone for h in members))
        at_site = dict(Counter(h.site for h in members))
        spread = [in_zone.get(h.zone, 0) + at_site.get(h.site, 0) for h in infos]
        _add(weights, spread, -config.group_spread_weight)
    return weights


def _add(weights: list[float], values: Sequence[int], multiplier: float) -> None:
    """Add multiplier x the values normalised to 0..1 to the weights, in place."""
    if not multiplier:
        return
    low, high = min(values), max(values)
    if high == low:
        return
    scale = multiplier / (high - low)
    weights[:] = [w + (v - low) * scale for w, v in zip(weights, values, strict=True)]

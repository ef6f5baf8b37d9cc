"""schedule(): filter the Hosts, sample at most max_candidates of those that fit, weigh them, pick one.

Pure and deterministic: the same request against the same index and config gives the same Decision
(ties between equal weights go to the first host name, the sample is seeded by the consumer's name).
"""

from __future__ import annotations

import heapq

from controllers.api.compute import ServerGroupPolicy

from .config import DEFAULT_CONFIG, SchedulerConfig
from .decision import Decision
from .filters import run_filters
from .index import HostIndex
from .placement import Placement
from .request import ScheduleRequest
from .weighers import weigh


def schedule(
    request: ScheduleRequest, index: HostIndex, config: SchedulerConfig = DEFAULT_CONFIG
) -> Decision:
    filtered = run_filters(request, index, config)
    fit = filtered.slots
    if not fit:
        return Decision(None, filtered.hosts, 0, filtered.removed)
    candidates = _candidates(request, index, fit, config.max_candidates)
    weights = weigh(candidates, index, request, config)
    column = index.name_column()
    names = [column[s] for s in candidates]
    # Highest weight first, then the first host name: (-weight, name, position) sorts that way.
    keys = zip([-w for w in weights], names, range(len(names)), strict=True)
    best = [k for _, _, k in heapq.nsmallest(max(config.ranking, 1), keys)]
    host = index.info_at(candidates[best[0]])
    placement = Placement(request.consumer, host.name, host.zone, host.site, request.resources)
    return Decision(
        placement,
        filtered.hosts,
        len(fit),
        filtered.removed,
        weighed=len(candidates),
        ranking=tuple((names[k], weights[k]) for k in best[: config.ranking]),
    )


def _candidates(request: ScheduleRequest, index: HostIndex, fit: set[int], limit: int) -> list[int]:
    """The Hosts to weigh: all that fit, or a deterministic sample of `limit` of them that keeps the
    Hosts of a SoftAffinity group's members (the ones that policy prefers)."""
    if len(fit) <= limit:
        return list(fit)
    group = request.group
    keep: set[int] = set()
    if group is not None and group.policy == ServerGroupPolicy.SOFT_AFFINITY:
        keep = {s for h in group.member_hosts if (s := index.slot(h)) is not None and s in fit}
    rest = fit - keep if keep else fit
    return sorted(keep)[:limit] + index.sample(rest, limit - min(len(keep), limit), request.consumer)

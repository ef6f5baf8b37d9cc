"""Which recorded daemons to adopt, which to stop first and which to start: a pure function of the services
(in start order, with their groups) and which records still name their very process."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Action = Literal["adopt", "retire", "start"]


@dataclass(frozen=True)
class Step:
    action: Action  # retire: ours and alive, but its group restarts: stop it before starting afresh
    name: str


def plan(services: list[tuple[str, str]], adoptable: set[str]) -> list[Step]:
    """services: (name, group) in start order; adoptable: names whose record matches a live process.
    Retirements come first (in reverse start order), then each service is adopted or started, in order."""
    broken_groups = {group for name, group in services if group and name not in adoptable}
    retire = [
        Step("retire", name)
        for name, group in reversed(services)
        if group in broken_groups and name in adoptable
    ]
    steps = [
        Step("adopt" if name in adoptable and group not in broken_groups else "start", name)
        for name, group in services
    ]
    return retire + steps

"""Status conditions with Kubernetes semantics (meta.SetStatusCondition), as plain dicts.

Several writers share one status (the operator writes Scheduled and Ready, hostd writes Running): each
reads the object, sets its own condition types with `set_condition` and writes the status back with the
resourceVersion it read, retrying on a conflict, so no writer loses another's conditions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

# Condition reasons that need a change of the spec; anything else is transient and retried.
TERMINAL_REASONS = frozenset(
    {"Unschedulable", "InvalidSpec", "FlavorNotFound", "ImageNotFound", "QuotaExceeded"}
)


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def find(conditions: list[dict[str, Any]] | None, kind: str) -> dict[str, Any] | None:
    return next((c for c in conditions or () if c.get("type") == kind), None)


def is_true(conditions: list[dict[str, Any]] | None, kind: str) -> bool:
    cond = find(conditions, kind)
    return cond is not None and cond.get("status") == "True"


def set_condition(
    conditions: list[dict[str, Any]] | None,
    kind: str,
    status: bool | str,
    reason: str,
    message: str = "",
    observed_generation: int | None = None,
    at: str | None = None,
) -> list[dict[str, Any]]:
    """A new list with the condition set; lastTransitionTime changes only when the status changes."""
    text = status if isinstance(status, str) else ("True" if status else "False")
    old = find(conditions, kind)
    new: dict[str, Any] = {"type": kind, "status": text, "reason": reason, "message": message}
    if observed_generation is not None:
        new["observedGeneration"] = observed_generation
    if old is not None and old.get("status") == text and old.get("lastTransitionTime"):
        new["lastTransitionTime"] = old["lastTransitionTime"]
    else:
        new["lastTransitionTime"] = at or now()
    out = [c for c in conditions or () if c.get("type") != kind]
    out.append(new)
    return out


def changed(before: list[dict[str, Any]] | None, after: list[dict[str, Any]]) -> bool:
    """Whether writing `after` changes anything (so a level-based loop writes nothing when in sync)."""
    key = lambda c: c.get("type", "")  # noqa: E731
    return sorted(before or (), key=key) != sorted(after, key=key)

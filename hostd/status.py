"""What hostd writes into a Server's status, as pure functions of the status read and the guest seen.

hostd owns `phase` (Running/Stopped once the guest exists), `powerState`, `bootTime` and the `Running`
condition; with them it sets Ready (the operator's rule, `controllers.compute_plan.with_ready`, so the
Server turning Running costs one write, not two) and, once a resize is applied, `status.flavor`
(`finish_resize`). On a placement that does not fit it sets `Scheduled=False PlacementRejected` and
nothing else, so that the operator schedules the Server again. When the driver fails on the Server (what
it names is missing, libvirt refused...) it sets `Running=False GuestFailed` with the error as message
(`failed_status`), so the user sees why; the next report of the guest replaces it. A crashed guest is
reported as phase Error, powerState Crashed, `Running=False GuestCrashed` before it is restarted.
While hostd reboots the guest (spec.reboot) the Server is phase Rebooting, `Running=False Rebooting`
(`rebooting_status`); the report after the reboot makes it Running again, with `lastReboot` (hostd/reboot.py)
and the new `bootTime`. `status.console` ({host, path}) says where the driver logs the serial console, for
`kumulus console`; it is removed when the guest has no log (the sim driver keeps none).
Every other field is left as read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controllers.compute_plan import finish_resize, with_ready
from controllers.conditions import find, set_condition

from .drivers.base import GuestPhase, GuestState
from .reboot import RebootRequest

RUNNING = "Running"
SCHEDULED = "Scheduled"
PLACEMENT_REJECTED = "PlacementRejected"
GUEST_FAILED = "GuestFailed"
GUEST_CRASHED = "GuestCrashed"
REBOOTING = "Rebooting"


def guest_status(
    status: Mapping[str, Any] | None,
    guest: GuestState,
    generation: int | None = None,
    *,
    resized: bool = False,
) -> dict[str, Any]:
    """The status with the guest's state reported (and Ready derived; `resized`: the approved resize
    applied); equal to `status` when already reported. `generation`: the Server's, for the conditions."""
    out = dict(status or {})
    if guest.phase == GuestPhase.BUILDING:
        return out
    before = out.get("conditions")
    conditions = out.get("conditions")
    if guest.phase == GuestPhase.RUNNING:
        out.update(phase="Running", powerState="On")
        conditions = set_condition(conditions, RUNNING, True, "GuestRunning", "the guest is running")
    elif guest.phase == GuestPhase.STOPPED:
        out.update(phase="Stopped", powerState="Off")
        conditions = set_condition(conditions, RUNNING, False, "PoweredOff", "the guest is powered off")
    else:
        out.update(phase="Error", powerState="Crashed")
        conditions = set_condition(conditions, RUNNING, False, "GuestCrashed", "the guest crashed")
    if guest.boot_time:
        out["bootTime"] = guest.boot_time
    if guest.console_log and out.get("host"):
        out["console"] = {"host": out["host"], "path": guest.console_log}
    else:
        out.pop("console", None)
    if resized:
        out = finish_resize({**out, "conditions": conditions}, generation, None)
        conditions = out["conditions"]
    conditions, _ = with_ready(conditions, generation, None)  # hostd posts no Events
    out["conditions"] = _keep_times(before, conditions)
    return out


def rejected_status(status: Mapping[str, Any] | None, message: str) -> dict[str, Any]:
    """The status with Scheduled=False PlacementRejected, the rest untouched."""
    out = dict(status or {})
    conditions = set_condition(out.get("conditions"), SCHEDULED, False, PLACEMENT_REJECTED, message)
    out["conditions"] = _keep_times(out.get("conditions"), conditions)
    return out


def failed_status(
    status: Mapping[str, Any] | None, message: str, generation: int | None = None
) -> dict[str, Any]:
    """The status with Running=False GuestFailed and the driver's error (Ready derived), the rest as read."""
    out = dict(status or {})
    before = out.get("conditions")
    conditions = set_condition(before, RUNNING, False, GUEST_FAILED, message)
    conditions, _ = with_ready(conditions, generation, None)
    out["conditions"] = _keep_times(before, conditions)
    return out


def rebooting_status(
    status: Mapping[str, Any] | None, request: RebootRequest, generation: int | None = None
) -> dict[str, Any]:
    """The status while hostd reboots the guest: phase Rebooting, Running=False Rebooting (Ready derived)."""
    out = dict(status or {})
    before = out.get("conditions")
    message = f"{request.type.lower()} reboot requested at {request.requested_at}"
    conditions = set_condition(before, RUNNING, False, REBOOTING, message)
    conditions, _ = with_ready(conditions, generation, None)
    out["phase"] = "Rebooting"
    out["conditions"] = _keep_times(before, conditions)
    return out


def reported_crashed(status: Mapping[str, Any] | None) -> bool:
    """Whether the status already shows the guest crashed."""
    cond = find((status or {}).get("conditions"), RUNNING)
    return (
        cond is not None
        and cond.get("reason") == GUEST_CRASHED
        and (status or {}).get("powerState") == "Crashed"
    )


def started_before(status: Mapping[str, Any] | None) -> bool:
    """Whether hostd already reported this Server's guest (so it was admitted, its placement verified)."""
    cond = find((status or {}).get("conditions"), RUNNING)
    return cond is not None and cond.get("reason") in ("GuestRunning", "PoweredOff", GUEST_CRASHED, REBOOTING)


def _keep_times(before: Any, after: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`after`, in the order of `before` when it holds the same conditions (so no write is needed)."""
    if not isinstance(before, list):
        return after
    by_type = {c.get("type"): c for c in after}
    ordered = [by_type.pop(c.get("type")) for c in before if c.get("type") in by_type]
    return ordered + list(by_type.values())

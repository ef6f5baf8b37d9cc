"""Reboot requests (`spec.reboot`) and their record (`status.lastReboot`), as pure functions.

A request is a time and a type. It is pending while its `requestedAt` is later than the `requestedAt` of
the last request served: the status is the record, so a hostd restarted, or a manifest applied again,
reboots nothing more. hostd also keeps the requests it served itself until the status it reads shows them
(`Desired.served`): its informer may hand it a Server read before its own write, and a reboot is not
idempotent. Times are compared as instants (RFC 3339 with any offset), not as strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

REBOOTED = "Rebooted"
NOT_RUNNING = "NotRunning"


def parse_time(text: object) -> datetime | None:
    """An RFC 3339 date-time (T and Z in either case, as the API server accepts), None if it is not one."""
    if not isinstance(text, str):
        return None
    try:
        parsed = datetime.fromisoformat(text.upper())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


@dataclass(frozen=True, slots=True)
class RebootRequest:
    requested_at: str
    hard: bool = False

    @property
    def type(self) -> str:
        return "Hard" if self.hard else "Soft"

    @classmethod
    def from_server(cls, server: Mapping[str, Any]) -> RebootRequest | None:
        """The Server's spec.reboot; None when there is none or its time is not a date-time (the API
        server's schema refuses that, so only a hand-made object gets here)."""
        reboot = (server.get("spec") or {}).get("reboot")
        if not isinstance(reboot, Mapping) or parse_time(reboot.get("requestedAt")) is None:
            return None
        return cls(str(reboot["requestedAt"]), reboot.get("type") == "Hard")

    def record(self, result: str, completed_at: str | None = None) -> dict[str, Any]:
        """The status.lastReboot saying this request was served with `result`."""
        out: dict[str, Any] = {"requestedAt": self.requested_at, "type": self.type, "result": result}
        if completed_at is not None:
            out["completedAt"] = completed_at
        return out


def later(record: Mapping[str, Any] | None, than: Mapping[str, Any] | None) -> bool:
    """Whether `record` (a request or a lastReboot) was requested after `than` (None: never)."""
    at = parse_time((record or {}).get("requestedAt"))
    if at is None:
        return False
    before = parse_time((than or {}).get("requestedAt"))
    return before is None or at > before


def newest(*records: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The record requested last among `records` (None ones ignored)."""
    best: Mapping[str, Any] | None = None
    for record in records:
        if record is not None and (best is None or later(record, best)):
            best = record
    return best


def is_pending(request: RebootRequest | None, served: Mapping[str, Any] | None) -> bool:
    """Whether `request` is still to be served, `served` being the last request served (lastReboot)."""
    return request is not None and later({"requestedAt": request.requested_at}, served)


def with_last_reboot(status: Mapping[str, Any] | None, record: Mapping[str, Any]) -> dict[str, Any]:
    """The status with `record` as lastReboot, unless it already shows that request or a later one."""
    out = dict(status or {})
    if later(record, out.get("lastReboot")):
        out["lastReboot"] = dict(record)
    return out

"""What a storage-role hostd reports to the storage operator, as data: one ConfigMap per zone, pure.

    kumulus-system/kumulus-storage-<zone>   labels storage.kumulus.dev/report=backend, .../zone=<zone>
    data:
      held:      {"rbd/volumes/volume-<uid>": 20, "rbd/volumes/image-<uid>": 0, ...}   backend id -> GiB
      failures:  {"rbd/volumes/image-<uid>": {"reason": "UnsafeImage", "message": "..."}}
      heartbeat: 2024-05-01T10:00:00.000000Z   holder: <host>

`held` is finished work only (what controllers.storage_plan calls the backend's state); `failures` the
work refused or failing now, by the backend id the operator asked for. hostd (hostd/storage/worker.py)
writes it, only when held or failures change and otherwise as a heartbeat at most every HEARTBEAT
seconds; the operator (operators/storage/reported_backend.py) reads every ConfigMap with the label.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from controllers.storage_plan import BackendFailure

NAMESPACE = "kumulus-system"
PREFIX = "kumulus-storage-"
REPORT_LABEL = "storage.kumulus.dev/report"
REPORT_VALUE = "backend"
ZONE_LABEL = "storage.kumulus.dev/zone"
SELECTOR = f"{REPORT_LABEL}={REPORT_VALUE}"
HEARTBEAT = 30.0
"""Seconds between writes of an unchanged report."""


def name(zone: str) -> str:
    """The ConfigMap's name, also the name of the zone's Lease."""
    return f"{PREFIX}{zone}"


@dataclass(frozen=True)
class Report:
    zone: str
    held: Mapping[str, int] = field(default_factory=dict)
    failures: Mapping[str, BackendFailure] = field(default_factory=dict)

    def content(self) -> dict[str, str]:
        """held and failures as ConfigMap data (JSON, keys sorted: equal reports give equal text)."""
        failures = {i: {"reason": f.reason, "message": f.message} for i, f in self.failures.items()}
        return {
            "held": json.dumps(dict(self.held), sort_keys=True),
            "failures": json.dumps(failures, sort_keys=True),
        }


def configmap(report: Report, heartbeat: str, holder: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name(report.zone),
            "namespace": NAMESPACE,
            "labels": {REPORT_LABEL: REPORT_VALUE, ZONE_LABEL: report.zone},
        },
        "data": {**report.content(), "heartbeat": heartbeat, "holder": holder},
    }


def decode(obj: Mapping[str, Any]) -> Report:
    """The report a ConfigMap holds; a field that does not parse reads as empty (never raises)."""
    meta = obj.get("metadata") or {}
    zone = str((meta.get("labels") or {}).get(ZONE_LABEL) or str(meta.get("name", "")).removeprefix(PREFIX))
    data = obj.get("data") or {}
    held_raw = _json(data.get("held"))
    held = {str(k): int(v) for k, v in held_raw.items() if isinstance(v, int) and not isinstance(v, bool)}
    failures = {
        str(k): BackendFailure(str(v.get("reason") or "BackendFailure"), str(v.get("message") or ""))
        for k, v in _json(data.get("failures")).items()
        if isinstance(v, dict)
    }
    return Report(zone, held, failures)


def _json(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text) if isinstance(text, str) else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}

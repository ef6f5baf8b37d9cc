"""Kubernetes Events hostd posts on Servers, for what users asked for and would otherwise not see happen:
a reboot starting, done, failed or not needed (`kubectl describe server`, `kubectl get events`).

The operators post theirs through operators.events, which hostd may not import: this is the same core/v1
Event, from component kumulus-hostd with the host as reporting instance. A lost Event is logged and never
fails what posted it (the status is the record; Events are best effort, as in Kubernetes).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from .kube import RETRYABLE, ApiError, Kube

log = logging.getLogger("hostd.events")
COMPONENT = "kumulus-hostd"
MAX_MESSAGE = 1024


def event_body(
    obj: Mapping[str, Any], type_: str, reason: str, message: str, host: str, at: datetime
) -> dict[str, Any]:
    """The core/v1 Event about the namespaced object `obj`."""
    meta = obj["metadata"]
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    involved = {
        "apiVersion": obj.get("apiVersion", ""),
        "kind": obj.get("kind", ""),
        "name": meta["name"],
        "namespace": meta.get("namespace", ""),
        "uid": meta.get("uid", ""),
        "resourceVersion": meta.get("resourceVersion", ""),
    }
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{meta['name']}.{secrets.token_hex(8)}", "namespace": meta["namespace"]},
        "involvedObject": {k: v for k, v in involved.items() if v},
        "type": type_,
        "reason": reason,
        "message": message[:MAX_MESSAGE],
        "source": {"component": COMPONENT, "host": host},
        "reportingComponent": COMPONENT,
        "reportingInstance": host,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }


async def post(kube: Kube, obj: Mapping[str, Any], type_: str, reason: str, message: str, host: str) -> None:
    """Post the Event on `obj`; log, never raise, when the API server refuses it or does not answer."""
    body = event_body(obj, type_, reason, message, host, datetime.now(UTC))
    try:
        await kube.create(f"/api/v1/namespaces/{body['metadata']['namespace']}/events", body)
    except (*RETRYABLE, ApiError) as exc:
        log.warning("could not post Event %s on %s: %s", reason, obj["metadata"]["name"], exc)

"""Post planned Kubernetes Events (controllers.compute_plan.Event) on objects, through operators.kube.

For the level-based operators, whose passes run outside kopf's handlers (where kopf.event has no poster):
they plan an Event only on a transition (a phase or condition that changes, written once), so a pass that
changes nothing posts nothing. A lost Event is logged and never fails the pass that planned it.

    events = EventPoster(kube, "kumulus-storage")
    await events.post(volume, (Event("Normal", "Available", "Creating -> Available"),))
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import aiohttp

from controllers.compute_plan import Event
from operators import metrics
from operators.kube import ApiError, Kube

log = logging.getLogger("kumulus.events")
MAX_MESSAGE = 1024
CORE_EVENTS = "/api/v1/namespaces/{namespace}/events"


def event_body(obj: Mapping[str, Any], event: Event, component: str, now: datetime) -> dict[str, Any]:
    """The core/v1 Event about obj (cluster-scoped objects' Events go to the default namespace)."""
    meta = obj["metadata"]
    namespace = meta.get("namespace") or "default"
    stamp = now.isoformat().replace("+00:00", "Z")
    involved = {
        "apiVersion": obj.get("apiVersion", ""),
        "kind": obj.get("kind", ""),
        "name": meta["name"],
        "namespace": meta.get("namespace") or "",
        "uid": meta.get("uid", ""),
        "resourceVersion": meta.get("resourceVersion", ""),
    }
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{meta['name']}.{secrets.token_hex(8)}", "namespace": namespace},
        "involvedObject": {k: v for k, v in involved.items() if v},
        "type": event.type,
        "reason": event.reason,
        "message": event.message[:MAX_MESSAGE],
        "source": {"component": component},  # the "From" column of `kubectl describe`
        "reportingComponent": component,
        "reportingInstance": f"{socket.gethostname()}-{os.getpid()}",
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }


class EventPoster:
    def __init__(self, kube: Kube, component: str) -> None:
        self.kube = kube
        self.component = component
        self.posted = 0

    async def post(self, obj: Mapping[str, Any], events: Iterable[Event]) -> None:
        meta = obj["metadata"]
        for event in events:
            log.info(
                "%s %s %s/%s: %s %s",
                event.type,
                obj.get("kind", ""),
                meta.get("namespace", ""),
                meta["name"],
                event.reason,
                event.message,
            )
            body = event_body(obj, event, self.component, datetime.now(UTC))
            try:
                await self.kube.request(
                    "POST", CORE_EVENTS.format(namespace=body["metadata"]["namespace"]), body
                )
            except (ApiError, aiohttp.ClientError, TimeoutError) as exc:
                log.warning("could not post Event %s on %s: %s", event.reason, meta["name"], exc)
                continue
            self.posted += 1
            metrics.EVENTS.labels(self.component, event.type, event.reason).inc()

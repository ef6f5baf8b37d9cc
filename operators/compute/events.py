"""Post the planned Kubernetes Events through kopf's poster (only transitions are planned as Events)."""

from __future__ import annotations

import contextlib
import logging
from typing import Any, cast

import kopf

from controllers.compute_plan import Event

log = logging.getLogger("kumulus.compute")


def post(body: dict[str, Any], events: tuple[Event, ...]) -> None:
    for event in events:
        log.info(
            "%s %s/%s: %s %s",
            event.type,
            body["metadata"].get("namespace", ""),
            body["metadata"]["name"],
            event.reason,
            event.message,
        )
        with contextlib.suppress(LookupError):  # outside kopf's context (no poster): logged only
            kopf.event(cast(Any, body), type=event.type, reason=event.reason, message=event.message[:1024])

"""kopf wiring of the quota operator: start/stop, and watch-event handlers only (they return None)."""

from __future__ import annotations

from typing import Any

import kopf

from operators.kube import Kube

from .operator import QuotaOperator
from .resources import WATCHED


@kopf.on.startup()
async def start_quota(memo: kopf.Memo, **_: Any) -> None:
    operator = QuotaOperator(Kube.from_kubeconfig(), resync=memo.options.resync)
    await operator.start()
    memo.quota = operator


@kopf.on.cleanup()
async def stop_quota(memo: kopf.Memo, **_: Any) -> None:
    operator: QuotaOperator | None = getattr(memo, "quota", None)
    if operator is not None:
        await operator.stop()


def _watch(kind: str) -> None:
    resource = WATCHED[kind]

    async def handler(event: kopf.RawEvent, memo: Any, **_: Any) -> None:
        operator: QuotaOperator | None = getattr(memo, "quota", None)
        if operator is not None:
            operator.on_event(kind, event.get("type"), dict(event["object"]))

    handler.__name__ = f"quota_{resource.plural}_event"
    kopf.on.event(resource.group, resource.version, resource.plural, id=handler.__name__)(handler)


for _kind in WATCHED:
    _watch(_kind)

"""kopf wiring of the network operator: start/stop, and watch-event handlers only (kopf writes nothing to
the objects for them; the operator's writes are its own, planned ones). Handlers return None."""

from __future__ import annotations

from typing import Any

import kopf

from operators.kube import Kube

from .operator import NetworkOperator
from .resources import RESOURCES


@kopf.on.startup()
async def start_network(memo: kopf.Memo, **_: Any) -> None:
    operator = NetworkOperator(Kube.from_kubeconfig(), resync=memo.options.resync)
    await operator.start()
    memo.network = operator


@kopf.on.cleanup()
async def stop_network(memo: kopf.Memo, **_: Any) -> None:
    operator: NetworkOperator | None = getattr(memo, "network", None)
    if operator is not None:
        await operator.stop()


def _watch(kind: str) -> None:
    resource = RESOURCES[kind]

    async def handler(event: kopf.RawEvent, memo: Any, **_: Any) -> None:
        operator: NetworkOperator | None = getattr(memo, "network", None)
        if operator is not None:
            operator.on_event(kind, event.get("type"), dict(event["object"]))

    handler.__name__ = f"network_{resource.plural}_event"
    kopf.on.event(resource.group, resource.version, resource.plural, id=handler.__name__)(handler)


for _kind in RESOURCES:
    _watch(_kind)

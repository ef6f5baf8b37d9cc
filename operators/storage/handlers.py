"""kopf wiring of the storage operator: start/stop, and watch-event handlers only (kopf writes nothing to
the objects for them). Handlers return None. Image kinds are registered by operators.image.handlers."""

from __future__ import annotations

from typing import Any

import kopf

from operators.kube import Kube

from .operator import StorageOperator
from .resources import IMAGE_KINDS, RESOURCES


@kopf.on.startup()
async def start_storage(memo: kopf.Memo, **_: Any) -> None:
    operator = StorageOperator(Kube.from_kubeconfig(), resync=memo.options.resync)
    await operator.start()
    memo.storage = operator


@kopf.on.cleanup()
async def stop_storage(memo: kopf.Memo, **_: Any) -> None:
    operator: StorageOperator | None = getattr(memo, "storage", None)
    if operator is not None:
        await operator.stop()


def watch(kind: str, prefix: str = "storage") -> None:
    resource = RESOURCES[kind]

    async def handler(event: kopf.RawEvent, memo: Any, **_: Any) -> None:
        operator: StorageOperator | None = getattr(memo, "storage", None)
        if operator is not None:
            operator.on_event(kind, event.get("type"), dict(event["object"]))

    handler.__name__ = f"{prefix}_{resource.plural}_event"
    kopf.on.event(resource.group, resource.version, resource.plural, id=handler.__name__)(handler)


for _kind in RESOURCES:
    if _kind not in IMAGE_KINDS:
        watch(_kind)

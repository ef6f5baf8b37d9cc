"""kopf wiring of the compute operator: start/stop, and watch-event handlers only.

Only `@kopf.on.event` handlers are used: kopf writes nothing to the objects for them (no finalizer, no
progress or diff-base annotations), so the writes to a Server are the operator's own, planned ones.
Handlers return None (a returned value would be written to the object's status by kopf).
"""

from __future__ import annotations

import logging
from typing import Any

import kopf

from operators.kube import Kube

from .operator import ComputeOperator


@kopf.on.startup()
async def start(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    settings.posting.enabled = True
    settings.posting.level = logging.WARNING  # kopf's own: failures only; ours: transitions (kopf.event)
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.watching.connect_timeout = 10
    operator = ComputeOperator(Kube.from_kubeconfig(), memo.options)
    await operator.start()
    memo.compute = operator


@kopf.on.cleanup()
async def stop(memo: kopf.Memo, **_: Any) -> None:
    operator: ComputeOperator | None = getattr(memo, "compute", None)
    if operator is not None:
        await operator.stop()


@kopf.on.login()
def login(**kwargs: Any) -> Any:
    return kopf.login_with_kubeconfig(**kwargs)


@kopf.on.event("compute.kumulus.dev", "v1alpha1", "servers")
async def server_event(event: kopf.RawEvent, memo: Any, **_: Any) -> None:
    operator: ComputeOperator = memo.compute
    await operator.on_server(event.get("type"), dict(event["object"]))


def _infra(resource: str) -> None:
    async def handler(event: kopf.RawEvent, memo: Any, **_: Any) -> None:
        operator: ComputeOperator = memo.compute
        operator.on_infra(resource, event.get("type"), dict(event["object"]))

    handler.__name__ = f"{resource}_event"
    group = "compute.kumulus.dev" if resource in ("flavors", "servergroups") else "infra.kumulus.dev"
    kopf.on.event(group, "v1alpha1", resource, id=f"{resource}_event")(handler)


for _resource in ("hosts", "zones", "hostaggregates", "flavors", "servergroups"):
    _infra(_resource)


def _dep(kind: str, group: str) -> None:
    async def handler(event: kopf.RawEvent, memo: Any, **_: Any) -> None:
        operator: ComputeOperator | None = getattr(memo, "compute", None)
        if operator is not None:
            await operator.on_dep(kind, event.get("type"), dict(event["object"]))

    handler.__name__ = f"compute_{kind}_event"
    kopf.on.event(group, "v1alpha1", kind, id=handler.__name__)(handler)


_dep("volumes", "storage.kumulus.dev")  # read only: VolumesReady of the Servers that need them
_dep("ports", "network.kumulus.dev")  # read only: NetworkReady and status.addresses

"""Writes a zone's report ConfigMap (controllers.storage_report) for the storage operator: only when what
it holds or what fails changed, else at most every HEARTBEAT seconds (its heartbeat), so an idle zone
costs one write every half minute, not one per pass. The write is a PUT with the resourceVersion read (or
a create); a conflict surfaces as ApiError and is retried on the next pass."""

from __future__ import annotations

import time
from collections.abc import Callable

from controllers.storage_report import HEARTBEAT, NAMESPACE, Report, configmap, name

from ..kube import ApiError, Kube, Obj, path_for
from ..lease import ensure_namespace, micro_time


class Reporter:
    def __init__(
        self,
        kube: Kube,
        holder: str,
        heartbeat: float = HEARTBEAT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.kube = kube
        self.holder = holder
        self.heartbeat = heartbeat
        self.clock = clock
        self.last: dict[str, tuple[dict[str, str], float]] = {}
        """zone -> (the content written, when)."""

    def due(self, report: Report) -> bool:
        last = self.last.get(report.zone)
        return last is None or last[0] != report.content() or self.clock() - last[1] >= self.heartbeat

    def forget(self) -> None:
        """Write every zone's report on the next publish (e.g. after the Lease was lost and taken again)."""
        self.last.clear()

    async def publish(self, report: Report) -> bool:
        """Write the report if due; True if written."""
        if not self.due(report):
            return False
        body = configmap(report, micro_time(), self.holder)
        path = path_for("v1", "configmaps", name(report.zone), NAMESPACE)
        try:
            current: Obj | None = await self.kube.get(path)
        except ApiError as exc:
            if exc.code != 404:
                raise
            current = None
        if current is None:
            await ensure_namespace(self.kube, NAMESPACE)
            await self.kube.create(path_for("v1", "configmaps", namespace=NAMESPACE), body)
        else:
            meta = current.get("metadata") or {}
            labels = {**(meta.get("labels") or {}), **body["metadata"]["labels"]}
            body["metadata"] = {**meta, "labels": labels}
            await self.kube.replace(path, body)
        self.last[report.zone] = (report.content(), self.clock())
        return True

"""The storage backend of a real data plane: the storage-role hostd of each zone does the Ceph RBD work and
reports it (controllers.storage_report), and this reads the reports.

hostd derives its work from the same objects the operator plans (hostd/storage/desired.py), so `submit`
sends nothing: it records what was asked, for `wait`. Every POLL seconds the report ConfigMaps
(kumulus-system, label storage.kumulus.dev/report=backend) are listed: `state()` is the union of their
`held`, `failures()` of their `failures`, and `on_change` is called with every backend id whose presence,
size or failure changed (the operator then reconciles the object that asked for it). The first list is
made in `start`, before the operator's first pass: an operator that planned from an empty state would
show every Volume Creating again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping

import aiohttp

from controllers.storage_plan import BackendFailure, BackendOp
from controllers.storage_report import NAMESPACE, SELECTOR, decode
from operators.kube import ApiError, Kube, Resource

log = logging.getLogger("kumulus.storage")
CONFIG_MAPS = Resource("", "v1", "configmaps", "ConfigMap")
POLL = 1.0


class ReportedBackend:
    def __init__(self, kube: Kube, poll: float = POLL) -> None:
        self.kube = kube
        self.poll = poll
        self.on_change: Callable[[str], None] | None = None
        self.asked: dict[str, BackendOp] = {}
        """backend id -> the last op submitted for it."""
        self._held: dict[str, int] = {}
        self._failures: dict[str, BackendFailure] = {}
        self._updated = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.refresh()
        self._task = asyncio.create_task(self._poll())

    async def refresh(self) -> None:
        """Read every report; call on_change for what changed."""
        items = await self.kube.list(CONFIG_MAPS.path(namespace=NAMESPACE), labelSelector=SELECTOR)
        held: dict[str, int] = {}
        failures: dict[str, BackendFailure] = {}
        for item in sorted(items, key=lambda i: str((i.get("metadata") or {}).get("name"))):
            report = decode(item)
            for backend_id, size in report.held.items():
                held[backend_id] = max(size, held.get(backend_id, size))
            for backend_id, failure in report.failures.items():
                failures.setdefault(backend_id, failure)
        changed = {
            i
            for i in held.keys() | self._held.keys() | failures.keys() | self._failures.keys()
            if held.get(i) != self._held.get(i) or failures.get(i) != self._failures.get(i)
        }
        self._held, self._failures = held, failures
        if changed:
            self._updated.set()
            self._updated = asyncio.Event()
        for backend_id in sorted(changed):
            if self.on_change is not None:
                self.on_change(backend_id)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll)
            try:
                await self.refresh()
            except (ApiError, aiohttp.ClientError, OSError, TimeoutError) as exc:
                log.warning("storage: reading the hostd reports failed: %s", exc)

    def submit(self, op: BackendOp) -> None:
        self.asked[op.backend_id] = op

    def state(self) -> Mapping[str, int]:
        return self._held

    def failures(self) -> Mapping[str, BackendFailure]:
        return self._failures

    def _done(self, backend_id: str) -> bool:
        if backend_id in self._failures:
            return True
        op = self.asked.get(backend_id)
        if op is not None and op.op == "delete":
            return backend_id not in self._held
        return self._held.get(backend_id, -1) >= (op.size_gib if op is not None else 0)

    async def wait(self, backend_ids: Iterable[str], timeout: float) -> None:
        ids = list(backend_ids)
        deadline = time.monotonic() + timeout
        while not all(self._done(i) for i in ids):
            left = deadline - time.monotonic()
            if left <= 0:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._updated.wait(), left)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

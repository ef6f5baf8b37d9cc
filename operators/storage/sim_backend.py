"""A simulated storage backend: in memory, each request finishes after `delay` seconds.

Stands in for the storage-role hostds (reported_backend) where there is no Ceph: the default, and what the
tests of the operator alone use. Nothing persists: after a restart of the
operator the backend adopts the backend ids the statuses record (`adopt`), as a real backend would find
its RBD images again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Iterable, Mapping

from controllers.storage_plan import NO_FAILURES, BackendFailure, BackendOp

ENV = "KUMULUS_STORAGE_SIM_DELAY"


class SimBackend:
    def __init__(self, delay: float | None = None) -> None:
        self.delay = delay if delay is not None else float(os.environ.get(ENV, "0.3"))
        self.on_change: Callable[[str], None] | None = None
        self._held: dict[str, int] = {}
        self._busy: dict[str, asyncio.Task[None]] = {}

    async def start(self) -> None:
        pass

    def failures(self) -> Mapping[str, BackendFailure]:
        return NO_FAILURES  # the simulation never fails

    def adopt(self, backend_id: str, size_gib: int) -> None:
        self._held.setdefault(backend_id, size_gib)

    def submit(self, op: BackendOp) -> None:
        if op.backend_id in self._busy:
            return
        if op.op == "create" and op.backend_id in self._held:
            return
        if op.op == "resize" and self._held.get(op.backend_id, 0) >= op.size_gib:
            return
        if op.op == "delete" and op.backend_id not in self._held:
            return
        self._busy[op.backend_id] = asyncio.get_running_loop().create_task(self._run(op))

    async def _run(self, op: BackendOp) -> None:
        try:
            await asyncio.sleep(self.delay)
            if op.op == "delete":
                self._held.pop(op.backend_id, None)
            elif op.op == "create" or op.backend_id in self._held:
                self._held[op.backend_id] = op.size_gib
        finally:
            self._busy.pop(op.backend_id, None)
        if self.on_change is not None:
            self.on_change(op.backend_id)

    async def wait(self, backend_ids: Iterable[str], timeout: float) -> None:
        busy = [self._busy[i] for i in backend_ids if i in self._busy]
        if busy:
            await asyncio.wait(busy, timeout=timeout)

    def state(self) -> Mapping[str, int]:
        return self._held

    async def close(self) -> None:
        for task in list(self._busy.values()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

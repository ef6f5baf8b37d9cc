"""A work queue of objects to reconcile (client-go's workqueue, in small): a change to one object costs the
work of that object, and independent objects are reconciled concurrently, at most `limit` at a time.

An item is never worked on twice at once: added while it runs, it runs again once done (it may have
changed meanwhile). A failed item is logged and added again after `retry` seconds, counted as a failure
of the operator's loop (kumulus_operator_pass_errors_total); `join` waits until given items are done
(the periodic full pass waits for its items, so its duration measures them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Generic, TypeVar

from operators import metrics

log = logging.getLogger(__name__)
T = TypeVar("T", bound=Hashable)


class WorkQueue(Generic[T]):
    def __init__(
        self, work: Callable[[T], Awaitable[None]], *, limit: int, name: str, retry: float = 1.0
    ) -> None:
        self.work = work
        self.limit = limit
        self.name = name
        self.retry = retry
        self._dirty: dict[T, None] = {}
        """Items waiting, in arrival order (a dict as an ordered set)."""
        self._running: dict[T, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._slots = asyncio.Semaphore(limit)
        self._task: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        """Items waiting (not those running): the queue depth."""
        return len(self._dirty)

    def add(self, item: T) -> None:
        self._dirty[item] = None
        self._wake.set()

    def add_all(self, items: Iterable[T]) -> None:
        for item in items:
            self._dirty[item] = None
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._dispatch())

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self._running.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def join(self, items: Iterable[T]) -> None:
        """Wait until none of items is waiting or running."""
        wanted = set(items)
        while wanted & (self._dirty.keys() | self._running.keys()):
            self._idle.clear()
            await self._idle.wait()

    async def _dispatch(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            # An item running stays waiting: it is taken again when its run ends (which wakes us).
            for item in [i for i in self._dirty if i not in self._running]:
                await self._slots.acquire()
                if item not in self._dirty or item in self._running:  # taken while we waited for a slot
                    self._slots.release()
                    continue
                del self._dirty[item]
                self._running[item] = asyncio.create_task(self._run(item))

    async def _run(self, item: T) -> None:
        try:
            await self.work(item)
        except asyncio.CancelledError:
            raise
        except Exception:
            metrics.PASS_ERRORS.labels(self.name).inc()
            log.exception("%s: %s failed (retried)", self.name, item)
            asyncio.get_running_loop().call_later(self.retry, self.add, item)
        finally:
            self._running.pop(item, None)
            self._slots.release()
            self._idle.set()
            if self._dirty:
                self._wake.set()

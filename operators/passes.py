"""The loop that drives level-based operators: a pass on every change (debounced) and on a resync timer.

A failed pass is logged and retried a second later, so one bad object or an API outage never stops it.
Every loop is measured under its `name` (operators.metrics): passes, failures, durations, the time of the
last good pass, and the queue depth: the changes received since the last pass started, counted by a
`Wake` (with a plain asyncio.Event the depth only tells whether a change is pending: 0 or 1).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from operators import metrics

log = logging.getLogger(__name__)


class Wake(asyncio.Event):
    """An asyncio.Event that counts the changes signalled (`set`) since a pass last took them."""

    def __init__(self) -> None:
        super().__init__()
        self.pending = 0

    def set(self) -> None:
        self.pending += 1
        super().set()

    def take(self) -> int:
        """The changes signalled since the last take; the pass starting now plans them all."""
        taken, self.pending = self.pending, 0
        return taken


def queue_depth(wake: asyncio.Event) -> int:
    return wake.pending if isinstance(wake, Wake) else int(wake.is_set())


async def run_passes(
    wake: asyncio.Event,
    run: Callable[[], Awaitable[Any]],
    *,
    resync: float,
    debounce: float,
    name: str,
) -> None:
    """Call `run` after each wake-up (coalescing bursts for `debounce` s) and at least every `resync` s."""
    passes = metrics.PASSES.labels(name)
    errors = metrics.PASS_ERRORS.labels(name)
    seconds = metrics.PASS_SECONDS.labels(name)
    metrics.QUEUE_DEPTH.labels(name).set_function(lambda: queue_depth(wake))
    loop = asyncio.get_running_loop()
    deadline = loop.time()
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), max(deadline - loop.time(), 0))
        if loop.time() < deadline:
            await asyncio.sleep(debounce)
        else:
            deadline = loop.time() + resync
        wake.clear()
        if isinstance(wake, Wake):
            wake.take()
        passes.inc()
        started = time.perf_counter()
        try:
            await run()
        except Exception:
            seconds.observe(time.perf_counter() - started)
            errors.inc()
            log.exception("%s pass failed (retried)", name)
            await asyncio.sleep(1.0)
            wake.set()
        else:
            seconds.observe(time.perf_counter() - started)
            metrics.LAST_SUCCESS.labels(name).set_to_current_time()

"""The loop that drives level-based operators: a pass on every change (debounced) and on a resync timer.

A failed pass is logged and retried a second later, so one bad object or an API outage never stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)


async def run_passes(
    wake: asyncio.Event,
    run: Callable[[], Awaitable[Any]],
    *,
    resync: float,
    debounce: float,
    name: str,
) -> None:
    """Call `run` after each wake-up (coalescing bursts for `debounce` s) and at least every `resync` s."""
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
        try:
            await run()
        except Exception:
            log.exception("%s pass failed (retried)", name)
            await asyncio.sleep(1.0)
            wake.set()

"""operators.storage.queue.WorkQueue: items run concurrently up to the limit, never the same item twice at
once (added while running, it runs again after), a failure is retried, join waits for the items given."""

from __future__ import annotations

import asyncio

from operators.storage.queue import WorkQueue


def test_bounded_concurrency_no_item_twice_at_once_and_rerun_after_change() -> None:
    async def go() -> tuple[int, list[str], dict[str, int]]:
        running: set[str] = set()
        peak = 0
        order: list[str] = []
        runs: dict[str, int] = {}

        async def work(item: str) -> None:
            nonlocal peak
            assert item not in running
            running.add(item)
            peak = max(peak, len(running))
            runs[item] = runs.get(item, 0) + 1
            await asyncio.sleep(0.05)
            order.append(item)
            running.discard(item)

        q: WorkQueue[str] = WorkQueue(work, limit=3, name="test-queue")
        q.start()
        q.add_all(f"o{i}" for i in range(8))
        await asyncio.sleep(0.01)
        q.add("o0")  # changed while it runs: it runs again afterwards
        await q.join([f"o{i}" for i in range(8)])
        await q.stop()
        return peak, order, runs

    peak, order, runs = asyncio.run(go())
    assert peak == 3
    assert sorted(set(order)) == [f"o{i}" for i in range(8)]
    assert runs["o0"] == 2 and all(n == 1 for k, n in runs.items() if k != "o0")


def test_a_failed_item_is_retried() -> None:
    async def go() -> int:
        calls = 0
        done = asyncio.Event()

        async def work(item: str) -> None:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise RuntimeError("API outage")
            done.set()

        q: WorkQueue[str] = WorkQueue(work, limit=2, name="test-queue", retry=0.05)
        q.start()
        q.add("x")
        await asyncio.wait_for(done.wait(), 2)
        await q.stop()
        return calls

    assert asyncio.run(go()) == 2

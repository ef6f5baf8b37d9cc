"""operators.metrics and the shared layers it instruments: objects by phase, the pass loop (passes, errors,
durations, queue depth), the API client (requests by verb, resource and code; latency) and the Event
poster, against a real local HTTP server."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from prometheus_client import REGISTRY, generate_latest

from controllers.compute_plan import Event
from operators import metrics
from operators.events import EventPoster, event_body
from operators.kube import Kube, NotFound, request_labels
from operators.passes import Wake, queue_depth, run_passes


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_count_phases_reports_known_phases_as_zero_and_unset() -> None:
    objs = [{"status": {"phase": "Available"}}, {"status": {"phase": "Available"}}, {"status": {}}, {}]
    counts = metrics.count_phases("Volume", objs, ("Creating", "Available"))
    assert counts == {("Volume", "Creating"): 0, ("Volume", "Available"): 2, ("Volume", metrics.UNSET): 2}


def test_phase_collector_exports_registered_sources_and_survives_a_broken_one() -> None:
    def broken() -> dict[tuple[str, str], int]:
        raise RuntimeError("boom")

    metrics.register_phases("t-ok", lambda: {("Volume", "Available"): 3})
    metrics.register_phases("t-broken", broken)
    try:
        assert sample("kumulus_objects", operator="t-ok", kind="Volume", phase="Available") == 3
        text = generate_latest().decode()
        assert 'kumulus_objects{kind="Volume",operator="t-ok",phase="Available"} 3.0' in text
        metrics.register_phases("t-ok", lambda: {("Volume", "Available"): 1})  # replaces
        assert sample("kumulus_objects", operator="t-ok", kind="Volume", phase="Available") == 1
    finally:
        metrics.unregister_phases("t-ok")
        metrics.unregister_phases("t-broken")
    assert (
        REGISTRY.get_sample_value(
            "kumulus_objects", {"operator": "t-ok", "kind": "Volume", "phase": "Available"}
        )
        is None
    )


@pytest.mark.parametrize(
    ("method", "path", "params", "expected"),
    [
        ("GET", "/apis/storage.kumulus.dev/v1alpha1/volumes", None, ("list", "volumes")),
        ("GET", "/apis/storage.kumulus.dev/v1alpha1/namespaces/ns/volumes", None, ("list", "volumes")),
        (
            "GET",
            "/apis/storage.kumulus.dev/v1alpha1/namespaces/ns/volumes",
            {"watch": "1"},
            ("watch", "volumes"),
        ),
        ("GET", "/apis/storage.kumulus.dev/v1alpha1/namespaces/ns/volumes/data", None, ("get", "volumes")),
        (
            "PUT",
            "/apis/storage.kumulus.dev/v1alpha1/namespaces/ns/volumes/data/status",
            None,
            ("update", "volumes/status"),
        ),
        ("PATCH", "/apis/infra.kumulus.dev/v1alpha1/hosts/h1", None, ("patch", "hosts")),
        ("POST", "/api/v1/namespaces/default/events", None, ("create", "events")),
        ("GET", "/api/v1/namespaces", None, ("list", "namespaces")),
        ("GET", "/api/v1/namespaces/default", None, ("get", "namespaces")),
        ("DELETE", "/api/v1/namespaces/ns/configmaps", None, ("deletecollection", "configmaps")),
    ],
)
def test_request_labels_name_verb_and_resource_never_the_object(
    method: str, path: str, params: dict[str, str] | None, expected: tuple[str, str]
) -> None:
    assert request_labels(method, path, params) == expected


# -- a real local API to talk to ------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def api(handler: Any) -> AsyncIterator[tuple[Kube, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    async def handle(request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else None
        received.append({"method": request.method, "path": request.path, "body": body})
        status, data = handler(request)
        return web.json_response(data, status=status)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    kube = Kube(f"http://127.0.0.1:{port}", None, None)
    try:
        yield kube, received
    finally:
        await kube.close()
        await runner.cleanup()


def test_kube_counts_and_times_requests_by_verb_resource_and_code() -> None:
    path = "/apis/t.kumulus.dev/v1/namespaces/ns/gadgets"

    def handler(request: web.Request) -> tuple[int, Any]:
        if request.path.endswith("/missing"):
            return 404, {"message": "not found"}
        return 200, {"items": []}

    before_ok = sample("kumulus_operator_api_requests_total", verb="list", resource="gadgets", code="200")
    before_404 = sample("kumulus_operator_api_requests_total", verb="get", resource="gadgets", code="404")
    before_n = sample("kumulus_operator_api_request_duration_seconds_count", verb="list", resource="gadgets")

    async def go() -> None:
        async with api(handler) as (kube, _):
            assert await kube.list(path) == []
            assert await kube.list(path) == []
            with pytest.raises(NotFound):
                await kube.get(path + "/missing")

    asyncio.run(go())
    assert (
        sample("kumulus_operator_api_requests_total", verb="list", resource="gadgets", code="200")
        == before_ok + 2
    )
    assert (
        sample("kumulus_operator_api_requests_total", verb="get", resource="gadgets", code="404")
        == before_404 + 1
    )
    assert (
        sample("kumulus_operator_api_request_duration_seconds_count", verb="list", resource="gadgets")
        == before_n + 2
    )


def test_kube_counts_a_request_without_an_answer_as_error() -> None:
    async def go() -> None:
        kube = Kube("http://127.0.0.1:9", None, None)  # discard port: connection refused
        try:
            with pytest.raises(OSError):
                await kube.get("/apis/t.kumulus.dev/v1/unreachables/x")
        finally:
            await kube.close()

    before = sample("kumulus_operator_api_requests_total", verb="get", resource="unreachables", code="error")
    asyncio.run(go())
    assert (
        sample("kumulus_operator_api_requests_total", verb="get", resource="unreachables", code="error")
        == before + 1
    )


# -- the pass loop ----------------------------------------------------------------------------------------


def test_wake_counts_changes_until_a_pass_takes_them() -> None:
    async def go() -> None:
        wake = Wake()
        assert queue_depth(wake) == 0
        for _ in range(3):
            wake.set()
        assert wake.is_set() and queue_depth(wake) == 3
        assert wake.take() == 3 and queue_depth(wake) == 0
        plain = asyncio.Event()
        plain.set()
        assert queue_depth(plain) == 1

    asyncio.run(go())


def test_run_passes_counts_passes_failures_durations_and_queue_depth() -> None:
    name = "t-loop"
    calls: list[int] = []
    depth_seen: list[float] = []

    async def go() -> None:
        wake = Wake()
        done = asyncio.Event()

        async def run() -> None:
            calls.append(1)
            depth_seen.append(sample("kumulus_operator_queue_depth", operator=name))
            if len(calls) == 2:
                raise RuntimeError("one bad pass")
            if len(calls) == 3:
                done.set()

        task = asyncio.create_task(run_passes(wake, run, resync=60.0, debounce=0.01, name=name))
        await asyncio.sleep(0.05)  # the first pass runs at once
        for _ in range(4):
            wake.set()  # four changes, one pass
        assert sample("kumulus_operator_queue_depth", operator=name) == 4
        await asyncio.wait_for(done.wait(), 5)  # the failed pass is retried a second later
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(go())
    assert len(calls) == 3
    assert depth_seen == [0, 0, 0]  # taken when each pass starts
    assert sample("kumulus_operator_passes_total", operator=name) == 3
    assert sample("kumulus_operator_pass_errors_total", operator=name) == 1
    assert sample("kumulus_operator_pass_duration_seconds_count", operator=name) == 3
    assert sample("kumulus_operator_last_pass_success_timestamp_seconds", operator=name) > 0


# -- Events ---------------------------------------------------------------------------------------------


VOLUME = {
    "apiVersion": "storage.kumulus.dev/v1alpha1",
    "kind": "Volume",
    "metadata": {"name": "data", "namespace": "ns", "uid": "u-1", "resourceVersion": "7"},
}


def test_event_body_refers_to_the_object_and_cluster_scoped_ones_go_to_default() -> None:
    from datetime import UTC, datetime

    body = event_body(
        VOLUME, Event("Normal", "Available", "Creating -> Available"), "kumulus-storage", datetime.now(UTC)
    )
    assert body["metadata"]["namespace"] == "ns" and body["metadata"]["name"].startswith("data.")
    assert body["involvedObject"] == {
        "apiVersion": "storage.kumulus.dev/v1alpha1",
        "kind": "Volume",
        "name": "data",
        "namespace": "ns",
        "uid": "u-1",
        "resourceVersion": "7",
    }
    assert body["source"] == {"component": "kumulus-storage"} and body["lastTimestamp"].endswith("Z")
    image = {
        "apiVersion": "image.kumulus.dev/v1alpha1",
        "kind": "ClusterImage",
        "metadata": {"name": "d", "uid": "u"},
    }
    cluster = event_body(image, Event("Warning", "X", "m" * 5000), "c", datetime.now(UTC))
    assert cluster["metadata"]["namespace"] == "default" and "namespace" not in cluster["involvedObject"]
    assert len(cluster["message"]) == 1024


def test_event_poster_posts_each_event_and_a_refused_one_does_not_raise() -> None:
    async def go() -> list[dict[str, Any]]:
        statuses = iter([201, 500, 201])

        def handler(request: web.Request) -> tuple[int, Any]:
            return next(statuses), {}

        async with api(handler) as (kube, received):
            poster = EventPoster(kube, "t-poster")
            events = (Event("Normal", "A", "a"), Event("Warning", "B", "b"), Event("Normal", "C", "c"))
            await poster.post(VOLUME, events)
            assert poster.posted == 2
            return received

    received = asyncio.run(go())
    assert [r["path"] for r in received] == ["/api/v1/namespaces/ns/events"] * 3
    assert [r["body"]["reason"] for r in received] == ["A", "B", "C"]
    assert sample("kumulus_operator_events_total", component="t-poster", type="Normal", reason="A") == 1
    assert sample("kumulus_operator_events_total", component="t-poster", type="Warning", reason="B") == 0
    assert json.dumps(received[0]["body"]["involvedObject"])  # serialisable as sent

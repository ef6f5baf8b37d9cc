"""Prometheus metrics shared by every operator of the operators process, and the one /metrics endpoint.

The shared layers fill these, so each operator gets them without code of its own:
- operators.passes: passes, failed passes, pass durations, the time of the last good pass and the queue
  depth (changes received and not yet taken by a pass), labelled by the loop's name;
- operators.kube: API requests by verb, resource and HTTP code, and their latency;
- operators.events: the Events posted, by component, type and reason.

Objects by phase come from callables the operators register (`register_phases`), read at each scrape:

    register_phases("storage", lambda: count_phases("Volume", world.objects["Volume"].values()))

The compute operator's own metrics (operators.compute.metrics) are in the same default registry, so
`serve` exports them too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger("kumulus.metrics")

PASSES = Counter("kumulus_operator_passes_total", "Passes of a level-based operator loop", ["operator"])
PASS_ERRORS = Counter("kumulus_operator_pass_errors_total", "Passes that failed (retried)", ["operator"])
PASS_SECONDS = Histogram(
    "kumulus_operator_pass_duration_seconds",
    "Time one pass takes",
    ["operator"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
LAST_SUCCESS = Gauge(
    "kumulus_operator_last_pass_success_timestamp_seconds", "When the last good pass ended", ["operator"]
)
QUEUE_DEPTH = Gauge(
    "kumulus_operator_queue_depth",
    "Changes received since the last pass started (not yet planned)",
    ["operator"],
)
API_REQUESTS = Counter(
    "kumulus_operator_api_requests_total",
    "Kubernetes API requests made by the operators' client",
    ["verb", "resource", "code"],
)
API_SECONDS = Histogram(
    "kumulus_operator_api_request_duration_seconds",
    "Latency of the operators' Kubernetes API requests",
    ["verb", "resource"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0),
)
EVENTS = Counter("kumulus_operator_events_total", "Kubernetes Events posted", ["component", "type", "reason"])

PhaseCounts = Mapping[tuple[str, str], int]
"""(kind, phase) -> number of objects."""
UNSET = "Unset"
"""The phase label of objects whose status has no phase yet."""


def count_phases(
    kind: str, objects: Iterable[Mapping[str, Any]], known: Iterable[str] = ()
) -> dict[tuple[str, str], int]:
    """{(kind, phase): count} of objects by status.phase; the `known` phases are reported as 0 when empty
    (a series that vanishes reads as "no data", not as zero)."""
    out = {(kind, phase): 0 for phase in known}
    for obj in list(objects):  # a copy: scrapes run in the HTTP server's thread
        phase = str((obj.get("status") or {}).get("phase") or UNSET)
        out[(kind, phase)] = out.get((kind, phase), 0) + 1
    return out


class PhaseCollector(Collector):
    """`kumulus_objects{operator, kind, phase}`, from the registered callables at each scrape."""

    def __init__(self) -> None:
        self._sources: dict[str, Callable[[], PhaseCounts]] = {}
        self._lock = threading.Lock()

    def register(self, operator: str, source: Callable[[], PhaseCounts]) -> None:
        with self._lock:
            self._sources[operator] = source

    def unregister(self, operator: str) -> None:
        with self._lock:
            self._sources.pop(operator, None)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "kumulus_objects", "Objects by kind and phase", labels=["operator", "kind", "phase"]
        )
        with self._lock:
            sources = list(self._sources.items())
        for operator, source in sources:
            try:
                counts = dict(source())
            except Exception:  # one broken source must not take /metrics down
                log.exception("objects-by-phase of %s failed", operator)
                continue
            for (kind, phase), n in sorted(counts.items()):
                family.add_metric([operator, kind, phase], n)
        yield family


PHASE_COLLECTOR = PhaseCollector()
REGISTRY.register(PHASE_COLLECTOR)


def register_phases(operator: str, source: Callable[[], PhaseCounts]) -> None:
    """Export what `source()` returns ({(kind, phase): count}) as kumulus_objects{operator=...}; a second
    registration under the same name replaces the first."""
    PHASE_COLLECTOR.register(operator, source)


def unregister_phases(operator: str) -> None:
    PHASE_COLLECTOR.unregister(operator)


def serve(port: int, address: str = "0.0.0.0") -> None:
    """Serve every metric of the process at http://address:port/metrics (in a thread)."""
    start_http_server(port, addr=address)
    log.info("metrics at http://%s:%d/metrics", address, port)

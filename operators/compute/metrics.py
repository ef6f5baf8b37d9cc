"""Prometheus metrics of the compute operator (served on --metrics-port when given)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram, start_http_server

RECONCILES = Counter("kumulus_compute_reconciles_total", "Reconcile passes", ["kind"])
ERRORS = Counter("kumulus_compute_reconcile_errors_total", "Reconcile passes that failed", ["kind"])
WRITES = Counter("kumulus_compute_writes_total", "API writes made", ["kind", "part"])
SCHEDULING = Histogram(
    "kumulus_compute_scheduling_seconds",
    "Time to schedule one Server (filter, weigh, pick)",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)


def observe_decision(seconds: float) -> None:
    SCHEDULING.observe(seconds)


def serve(port: int) -> None:
    start_http_server(port)


for _kind in ("Server", "Host"):  # exported as 0 from the start
    RECONCILES.labels(_kind)
    ERRORS.labels(_kind)

"""Prometheus metrics of hostd, served on --metrics-port (0: not served); docs/observability.md lists them.

Reconcile passes, actions, errors (by what failed) and guests by phase are counted by hostd.agent;
`RECONCILE_SECONDS` times a reconcile pass (`with metrics.timed_reconcile(host):`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import Any

from prometheus_client import Counter, Gauge, Histogram, start_http_server

log = logging.getLogger("hostd.metrics")

RECONCILES = Counter("hostd_reconciles_total", "Reconcile passes", ["host"])
RECONCILE_SECONDS = Histogram(
    "hostd_reconcile_duration_seconds",
    "Time one reconcile pass takes (planning, status writes; guest work runs in the background)",
    ["host"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
)
ACTIONS = Counter("hostd_actions_total", "Actions taken", ["host", "action"])
ERRORS = Counter("hostd_errors_total", "Errors, by what failed", ["host", "op"])
GUESTS = Gauge("hostd_guests", "Guests on the host, by phase", ["host", "phase"])

PHASES = ("Building", "Running", "Stopped", "Crashed")
OPS = ("host", "lease", "reconcile", "driver")
"""What can fail (the `op` label of ERRORS)."""


def observe_guests(host: str, phases: Iterable[str]) -> None:
    counts = dict.fromkeys(PHASES, 0)
    for phase in phases:
        counts[phase] = counts.get(phase, 0) + 1
    for phase, n in counts.items():
        GUESTS.labels(host, phase).set(n)


def timed_reconcile(host: str) -> AbstractContextManager[Any]:
    return RECONCILE_SECONDS.labels(host).time()


def declare(hosts: Iterable[str]) -> None:
    """Export every host's counters and guest phases as 0 from the start (a series that appears only at
    the first error reads as "no data" before it, and rate() misses its first increase)."""
    for host in hosts:
        RECONCILES.labels(host)
        RECONCILE_SECONDS.labels(host)
        for op in OPS:
            ERRORS.labels(host, op)
        observe_guests(host, ())


def serve(port: int, address: str = "0.0.0.0") -> None:
    if port:
        start_http_server(port, addr=address)
        log.info("metrics at http://%s:%d/metrics", address, port)

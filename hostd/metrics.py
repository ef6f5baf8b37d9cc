"""Prometheus metrics of hostd, served on --metrics-port (0: not served)."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Counter, Gauge, start_http_server

RECONCILES = Counter("hostd_reconciles_total", "Reconcile passes", ["host"])
ACTIONS = Counter("hostd_actions_total", "Actions taken", ["host", "action"])
ERRORS = Counter("hostd_errors_total", "Errors, by what failed", ["host", "op"])
GUESTS = Gauge("hostd_guests", "Guests on the host, by phase", ["host", "phase"])

PHASES = ("Building", "Running", "Stopped", "Crashed")


def observe_guests(host: str, phases: Iterable[str]) -> None:
    counts = dict.fromkeys(PHASES, 0)
    for phase in phases:
        counts[phase] = counts.get(phase, 0) + 1
    for phase, n in counts.items():
        GUESTS.labels(host, phase).set(n)


def serve(port: int) -> None:
    if port:
        start_http_server(port)

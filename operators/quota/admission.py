"""The quota decision of an admission request, exact under concurrency.

Decisions are serialised per namespace, and the increase an allowed request adds is held as a reservation
until the cache shows its result (the created object, or a newer version of the updated one) or until
RESERVATION_SECONDS pass (a request allowed here and refused later never shows up), so concurrent
requests cannot both take the last of a resource.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from controllers.quota import (
    COUNTED_KINDS,
    FlavorSize,
    UnknownFlavor,
    Usage,
    check,
    delta_of,
    effective_limits,
    usage_of,
    violation_message,
    volume_sizes,
)

from .cache import Cache

RESERVATION_SECONDS = 30.0


@dataclass(frozen=True)
class Reservation:
    delta: Usage
    expires: float
    old_version: str | None
    """The resourceVersion an update replaces (None for a create): the cache showing another one ends it."""


Key = tuple[str, str]  # (kind, name)


class Admission:
    def __init__(self, cache: Cache, clock: Callable[[], float] = time.monotonic) -> None:
        self.cache = cache
        self.clock = clock
        self.reservations: dict[str, dict[Key, Reservation]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def review(self, request: dict[str, Any]) -> str | None:
        """The denial message for an AdmissionReview request, None to allow it."""
        kind = (request.get("kind") or {}).get("kind", "")
        namespace = request.get("namespace") or ""
        if kind not in COUNTED_KINDS or not namespace or request.get("operation") not in ("CREATE", "UPDATE"):
            return None
        lock = self._locks.setdefault(namespace, asyncio.Lock())
        async with lock:
            return self.decide(
                kind,
                namespace,
                request.get("object") or {},
                request.get("oldObject") if request.get("operation") == "UPDATE" else None,
                dry_run=bool(request.get("dryRun")),
            )

    def decide(
        self,
        kind: str,
        namespace: str,
        obj: dict[str, Any],
        old: dict[str, Any] | None,
        *,
        dry_run: bool = False,
    ) -> str | None:
        objects = self.cache.counted(namespace)
        flavors: dict[str, FlavorSize] = dict(self.cache.flavors())
        volumes = volume_sizes(objects.get("Volume", []))
        try:
            delta = delta_of(kind, obj, old, flavors=flavors, volumes=volumes)
        except UnknownFlavor as e:
            # Not ours to refuse: the compute operator reports FlavorNotFound; it costs no cores meanwhile.
            flavors[e.name] = FlavorSize(vcpus=0, ram_mib=0)
            delta = delta_of(kind, obj, old, flavors=flavors, volumes=volumes)
        usage = usage_of(objects, flavors) + self.reserved(namespace)
        violations = check(effective_limits(self.cache.quotas(namespace)), usage, delta)
        if violations:
            return violation_message(namespace, violations)
        if not dry_run and delta.increases() != Usage():
            old_version = (old or {}).get("metadata", {}).get("resourceVersion") if old is not None else None
            name = (obj.get("metadata") or {}).get("name", "")
            self.reservations.setdefault(namespace, {})[(kind, name)] = Reservation(
                delta, self.clock() + RESERVATION_SECONDS, old_version
            )
        return None

    def reserved(self, namespace: str) -> Usage:
        """The increases allowed and not yet in the cache (expired ones dropped)."""
        held = self.reservations.get(namespace, {})
        now = self.clock()
        for key in [k for k, r in held.items() if r.expires <= now]:
            del held[key]
        total = Usage()
        for r in held.values():
            total = total.reserve(r.delta)
        return total

    def observe(self, kind: str, obj: dict[str, Any]) -> None:
        """The cache got obj: a reservation it fulfils ends (its cost is now counted from the cache)."""
        meta = obj.get("metadata") or {}
        held = self.reservations.get(meta.get("namespace") or "", {})
        key = (kind, meta.get("name", ""))
        r = held.get(key)
        if r is not None and (r.old_version is None or meta.get("resourceVersion") != r.old_version):
            del held[key]

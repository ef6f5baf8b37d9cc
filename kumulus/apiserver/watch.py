"""Fan-out of committed changes to watchers, with kube-apiserver's selector semantics.

A watcher is registered for one storage key, optionally one namespace, a label selector and a field
selector. An object that stops matching the selectors is delivered as DELETED and one that starts
matching as ADDED, as kube-apiserver's watch cache does. A watcher that falls too far behind is closed
so that a slow client cannot hold the server's memory; the client re-watches from its last version.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .selectors import FieldSelector, LabelSelector, field_value
from .store import ADDED, DELETED, MODIFIED, Event


@dataclass(eq=False)
class Watcher:
    skey: str
    namespace: str | None
    labels: LabelSelector | None
    fields: FieldSelector | None
    # The metadata/namespaced fields are resolved by the caller; selectable fields need the object.
    queue: asyncio.Queue[tuple[str, bytes, int] | None] = field(default_factory=lambda: asyncio.Queue(10000))
    overflowed: bool = False

    def _match(self, raw: bytes | None, labels: dict[str, str] | None, ns: str, name: str) -> bool:
        if raw is None or labels is None:
            return False
        if self.labels is not None and not self.labels.matches(labels):
            return False
        if self.fields is not None:
            obj: dict[str, Any] | None = None

            def get(path: str) -> str | None:
                nonlocal obj
                if path == "metadata.name":
                    return name
                if path == "metadata.namespace":
                    return ns
                if obj is None:
                    obj = json.loads(raw)
                return field_value(obj, path)

            if not self.fields.matches(get):
                return False
        return True

    def translate(self, ev: Event) -> tuple[str, bytes] | None:
        """The event this watcher sees for a change, or None."""
        if self.namespace is not None and ev.namespace != self.namespace:
            return None
        if self.labels is None and self.fields is None:
            return ev.type, ev.raw
        now = ev.type != DELETED and self._match(ev.raw, ev.labels, ev.namespace, ev.name)
        if ev.type == ADDED:
            return (ADDED, ev.raw) if now else None
        if ev.type == DELETED:
            # A watcher that saw the object before it went (e.g. a final update that removed the last
            # finalizer and a label together) must see it go.
            seen = self._match(ev.raw, ev.labels, ev.namespace, ev.name) or self._match(
                ev.prev_raw, ev.prev_labels, ev.namespace, ev.name
            )
            return (DELETED, ev.raw) if seen else None
        before = self._match(ev.prev_raw, ev.prev_labels, ev.namespace, ev.name)
        if now and before:
            return MODIFIED, ev.raw
        if now:
            return ADDED, ev.raw
        if before:
            return DELETED, ev.raw
        return None

    def matches_object(self, raw: bytes, labels: dict[str, str], ns: str, name: str) -> bool:
        if self.namespace is not None and ns != self.namespace:
            return False
        return self._match(raw, labels, ns, name)


class WatchHub:
    """Registered watchers by storage key; `publish` runs synchronously right after each commit."""

    def __init__(self) -> None:
        self.watchers: dict[str, set[Watcher]] = {}
        self.listeners: list[Callable[[list[Event]], None]] = []

    def add(self, watcher: Watcher) -> None:
        self.watchers.setdefault(watcher.skey, set()).add(watcher)

    def remove(self, watcher: Watcher) -> None:
        group = self.watchers.get(watcher.skey)
        if group is not None:
            group.discard(watcher)
            if not group:
                del self.watchers[watcher.skey]

    def publish(self, events: list[Event]) -> None:
        for listener in self.listeners:
            listener(events)
        for ev in events:
            for watcher in tuple(self.watchers.get(ev.skey, ())):
                if watcher.overflowed:
                    continue
                seen = watcher.translate(ev)
                if seen is None:
                    continue
                try:
                    watcher.queue.put_nowait((seen[0], seen[1], ev.rv))
                except asyncio.QueueFull:
                    watcher.overflowed = True
                    self.remove(watcher)
                    self._close(watcher)  # wakes the streaming task so it ends the response

    @staticmethod
    def _close(watcher: Watcher) -> None:
        watcher.queue._queue.clear()  # type: ignore[attr-defined]
        watcher.queue.put_nowait(None)

    def close_all(self) -> None:
        for group in list(self.watchers.values()):
            for watcher in list(group):
                self._close(watcher)
        self.watchers.clear()

    def close_key(self, skey: str) -> None:
        """End the watches of a resource that stopped being served (its CRD was deleted)."""
        for watcher in list(self.watchers.pop(skey, ())):
            self._close(watcher)

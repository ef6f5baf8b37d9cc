"""The Volumes of the namespaces this host's Servers are in, from which hostd tells which disks each guest
should have (hostd/resolve_plan.py `wanted_volumes`).

One list-then-watch Informer (hostd/informer.py) per namespace, started when a Server placed on this host
appears there and stopped when the last one goes: a host watches its tenants' namespaces, not every Volume
of the cloud. A change of a Volume that one of those Servers names (attached by the storage operator,
extended, detached) wakes the agent's reconcile loop; the namespace's other Volumes are cached, silently.

    cache = VolumeCache(kube, on_change)
    cache.track({"demo": {"web-root", "data"}})   # each pass: namespace -> Volume names its Servers use
    cache.by_name("demo")                          # {name: Volume}; None until the namespace is listed
    await cache.run()                              # runs the informers (in the agent's task group)
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Iterable, Mapping

from .informer import Informer
from .kube import Kube, Obj, path_for

STORAGE_API = "storage.kumulus.dev/v1alpha1"

log = logging.getLogger("hostd.volumes")


class VolumeCache:
    def __init__(self, kube: Kube, on_change: Callable[[], None]) -> None:
        self.kube = kube
        self.on_change = on_change
        self.informers: dict[str, Informer] = {}
        self.used: dict[str, frozenset[str]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._running = False

    def track(self, used: Mapping[str, Iterable[str]]) -> None:
        """Watch these namespaces (each with the Volume names its Servers use) from now on, and no other."""
        self.used = {ns: frozenset(names) for ns, names in used.items()}
        for ns in [n for n in self.informers if n not in self.used]:
            del self.informers[ns]
            task = self._tasks.pop(ns, None)
            if task is not None:
                task.cancel()
        for ns in self.used:
            if ns not in self.informers:
                self.informers[ns] = Informer(
                    self.kube,
                    path_for(STORAGE_API, "volumes", namespace=ns),
                    "",
                    self.on_change,
                    relevant=functools.partial(self._relevant, ns),
                )
                if self._running:
                    self._start(ns)

    def _relevant(self, namespace: str, obj: Obj) -> bool:
        return (obj.get("metadata") or {}).get("name") in self.used.get(namespace, frozenset())

    def by_name(self, namespace: str) -> dict[str, Obj] | None:
        """The namespace's Volumes by name; None until its first list is in (nothing known yet)."""
        informer = self.informers.get(namespace)
        if informer is None or not informer.synced.is_set():
            return None
        return {str(v["metadata"]["name"]): v for v in informer.items.values()}

    def _start(self, namespace: str) -> None:
        task = asyncio.get_running_loop().create_task(self.informers[namespace].run())
        self._tasks[namespace] = task
        task.add_done_callback(functools.partial(self._ended, namespace))

    def _ended(self, namespace: str, task: asyncio.Task[None]) -> None:
        if task.cancelled() or self._tasks.get(namespace) is not task:
            return
        # An informer only ends on an unexpected error: forget it; a later pass's track() starts another
        # (not at once: the resync, so that an error that repeats does not spin).
        log.error("Volume watch of namespace %s ended: %r", namespace, task.exception())
        del self._tasks[namespace]
        self.informers.pop(namespace, None)

    async def run(self) -> None:
        self._running = True
        for ns in self.informers:
            if ns not in self._tasks:
                self._start(ns)
        try:
            await asyncio.Event().wait()  # until cancelled with the agent
        finally:
            self._running = False
            tasks = list(self._tasks.values())
            self._tasks.clear()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

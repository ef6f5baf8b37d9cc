"""The control loops kube-controller-manager runs for the objects the API server stores.

- Garbage collection through ownerReferences: dependents of a deleted owner are deleted (background);
  an owner in foreground deletion (`foregroundDeletion` finalizer) waits for its dependents whose
  reference has blockOwnerDeletion; an owner deleted with the orphan policy (`orphan` finalizer)
  releases its dependents first. A namespaced owner is looked up in the dependent's namespace only.
- Namespace deletion: a Terminating namespace loses its contents, then its `kubernetes` finalizer.
- CRD deletion: the instances go first, then the `customresourcecleanup` finalizer.

Level-based: the work is derived from what is stored (objects being deleted, owners that no longer
exist), woken by commits and re-run periodically, so it resumes after a restart or a failed step.
Each object is handled on its own: one that cannot progress does not hold up the others.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
from typing import Any

from .core import CRD_FINALIZER, FOREGROUND, NAMESPACE_FINALIZER, ORPHAN, ApiCore
from .errors import ApiError
from .registry import CRD_SKEY, NAMESPACE_SKEY
from .store import ADDED, DELETED, Event, ObjectKey

log = logging.getLogger(__name__)

# Deleting thousands of objects in one pass would hold the event loop; yield this often.
_OPS_PER_YIELD = 100


class Controllers:
    """Garbage collector, namespace controller and CRD finalizer in one loop."""

    def __init__(self, core: ApiCore, resync_seconds: float = 10.0) -> None:
        self.core = core
        self.resync_seconds = resync_seconds
        self.wake = asyncio.Event()
        self.deleting: set[ObjectKey] = set()
        self.gone_owners: set[str] = set()
        self._ops = 0
        core.on_commit.append(self._on_commit)
        self._scan_all()

    def _scan_all(self) -> None:
        """At start: find everything being deleted, and dependents whose owners do not exist."""
        for skey, table in self.core.store.objects.items():
            for (ns, name), entry in table.items():
                if entry.deleting:
                    self.deleting.add((skey, ns, name))
        self._find_absent_owners()

    def _find_absent_owners(self) -> None:
        store = self.core.store
        for uid, deps in store.dependents.items():
            if any(not self._owner_present(uid, dep) for dep in deps):
                self.gone_owners.add(uid)

    def _owner_present(self, uid: str, dependent: ObjectKey) -> bool:
        """An owner counts if it exists and is cluster-scoped or in the dependent's namespace."""
        key = self.core.store.by_uid.get(uid)
        return key is not None and key[1] in ("", dependent[1])

    def _on_commit(self, events: list[Event]) -> None:
        wake = False
        store = self.core.store
        for ev in events:
            key = (ev.skey, ev.namespace, ev.name)
            if ev.type == DELETED:
                self.deleting.discard(key)
                uid = str((json.loads(ev.raw).get("metadata") or {}).get("uid", ""))
                if uid in store.dependents:
                    self.gone_owners.add(uid)
                # A namespace or CRD waiting for its contents to go may now be able to finish.
                wake = wake or bool(self.deleting) or uid in self.gone_owners
                continue
            entry = store.get(*key)
            if entry is None:
                continue
            if entry.deleting:
                self.deleting.add(key)
                wake = True
            if ev.type == ADDED or entry.owners:
                absent = {uid for uid in entry.owners if not self._owner_present(uid, key)}
                if absent:
                    self.gone_owners |= absent
                    wake = True
        if wake:
            self.wake.set()

    async def run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self.wake.wait(), self.resync_seconds)
            except TimeoutError:
                self._find_absent_owners()
            self.wake.clear()
            await self.reconcile()
            await asyncio.sleep(0.01)

    # -- one pass ------------------------------------------------------------------------------------------

    async def reconcile(self) -> None:
        for uid in list(self.gone_owners):
            self.gone_owners.discard(uid)
            await self._guarded(self._collect_dependents_of_gone(uid), uid)
        for key in list(self.deleting):
            await self._guarded(self._progress_deletion(key), key)

    @staticmethod
    async def _guarded(step: Any, what: object) -> None:
        try:
            await step
        except Exception:  # one object's failure must not stop the others; the resync retries it
            log.exception("garbage collection of %s failed; will retry", what)

    async def _tick(self) -> None:
        self._ops += 1
        if self._ops % _OPS_PER_YIELD == 0:
            await asyncio.sleep(0)

    def _load(self, key: ObjectKey) -> dict[str, Any] | None:
        entry = self.core.store.get(*key)
        return entry.load() if entry is not None else None

    async def _delete(self, key: ObjectKey, policy: str = "Background") -> None:
        await self._tick()
        info = self.core.registry.storage_info(key[0])
        if info is None:
            return
        try:
            self.core.delete(info, key[1], key[2], {"propagationPolicy": policy})
        except ApiError as exc:
            if exc.code != 404:
                log.warning("deleting %s: %s", key, exc.message)

    async def _drop_owner_refs(self, key: ObjectKey, drop: set[str]) -> bool:
        """Remove references to the given owners; False when the update was refused."""
        await self._tick()
        old = self._load(key)
        info = self.core.registry.storage_info(key[0])
        if old is None or info is None:
            return True
        obj = copy.deepcopy(old)
        refs = obj["metadata"].get("ownerReferences") or []
        kept = [r for r in refs if r.get("uid") not in drop]
        if len(kept) == len(refs):
            return True
        if kept:
            obj["metadata"]["ownerReferences"] = kept
        else:
            obj["metadata"].pop("ownerReferences", None)
        try:
            self.core.update_internal(info, key[1], key[2], old, obj)
        except ApiError as exc:
            log.warning("releasing %s: %s", key, exc.message)
            return False
        return True

    async def _collect_dependents_of_gone(self, uid: str) -> None:
        for dep in list(self.core.store.dependents.get(uid, ())):
            obj = self._load(dep)
            if obj is None:
                continue
            owners = {str(r.get("uid")) for r in obj["metadata"].get("ownerReferences") or []}
            absent = {u for u in owners if not self._owner_present(u, dep)}
            if not absent:
                continue
            if absent == owners:
                if not obj["metadata"].get("deletionTimestamp"):
                    await self._delete(dep)
            elif not await self._drop_owner_refs(dep, absent):
                self.gone_owners.add(uid)  # retried on the next pass

    async def _progress_deletion(self, key: ObjectKey) -> None:
        obj = self._load(key)
        if obj is None or not obj["metadata"].get("deletionTimestamp"):
            self.deleting.discard(key)
            return
        meta = obj["metadata"]
        finalizers = meta.get("finalizers") or []
        uid = str(meta.get("uid", ""))
        info = self.core.registry.storage_info(key[0])
        if info is None:
            return
        store = self.core.store
        if ORPHAN in finalizers:
            for dep in list(store.dependents.get(uid, ())):
                await self._drop_owner_refs(dep, {uid})
            if not store.dependents.get(uid):  # keep the finalizer until every dependent is released
                self.core.remove_finalizer(info, key[1], key[2], ORPHAN)
            return
        if FOREGROUND in finalizers:
            blocking = []
            for dep in list(store.dependents.get(uid, ())):
                dep_obj = self._load(dep)
                if dep_obj is None:
                    continue
                dep_meta = dep_obj["metadata"]
                if not dep_meta.get("deletionTimestamp"):
                    await self._delete(dep, "Foreground")
                    dep_obj = self._load(dep)
                    if dep_obj is None:
                        continue
                    dep_meta = dep_obj["metadata"]
                blocks = any(
                    r.get("uid") == uid and r.get("blockOwnerDeletion") is True
                    for r in dep_meta.get("ownerReferences") or []
                )
                # A dependent waiting for its own dependents does not block: that breaks ownership cycles.
                if blocks and FOREGROUND not in (dep_meta.get("finalizers") or []):
                    blocking.append(dep)
            if not blocking:
                self.core.remove_finalizer(info, key[1], key[2], FOREGROUND)
            return
        if key[0] == NAMESPACE_SKEY:
            await self._progress_namespace(key[2], obj)
        elif key[0] == CRD_SKEY and CRD_FINALIZER in finalizers:
            await self._progress_crd(key, obj)

    async def _progress_namespace(self, ns: str, obj: dict[str, Any]) -> None:
        store = self.core.store
        for key in list(store.namespaces_in_use(ns)):
            entry = store.get(*key)
            if entry is not None and not entry.deleting:
                await self._delete(key)
        if next(store.namespaces_in_use(ns), None) is not None:
            return
        spec_fins = list((obj.get("spec") or {}).get("finalizers") or [])
        info = self.core.registry.storage_info(NAMESPACE_SKEY)
        if NAMESPACE_FINALIZER in spec_fins and info is not None:
            spec_fins.remove(NAMESPACE_FINALIZER)
            new = copy.deepcopy(obj)
            new["spec"] = {"finalizers": spec_fins} if spec_fins else {}
            self.core.update_internal(info, "", ns, obj, new, "finalize")

    async def _progress_crd(self, key: ObjectKey, crd: dict[str, Any]) -> None:
        spec = crd.get("spec") or {}
        skey = f"{spec.get('group')}/{(spec.get('names') or {}).get('plural')}"
        store = self.core.store
        for (ns, name), entry in list(store.items(skey)):
            if not entry.deleting:
                await self._delete((skey, ns, name))
        if store.count(skey):
            return
        info = self.core.registry.storage_info(CRD_SKEY)
        if info is not None:
            self.core.remove_finalizer(info, "", key[2], CRD_FINALIZER)

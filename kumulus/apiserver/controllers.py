"""The control loops kube-controller-manager runs for the objects the API server stores.

- Garbage collection through ownerReferences: dependents of a deleted owner are deleted (background),
  dependents are deleted before their owner (foreground, `foregroundDeletion` finalizer), or released
  (orphan, `orphan` finalizer).
- Namespace deletion: a Terminating namespace loses its contents, then its `kubernetes` finalizer.
- CRD deletion: the instances go first, then the `customresourcecleanup` finalizer.

Level-based: the work is derived from what is stored (objects being deleted, owners that no longer
exist), woken by commits and re-run periodically, so it resumes after a restart.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from .core import CRD_FINALIZER, FOREGROUND, NAMESPACE_FINALIZER, ORPHAN, ApiCore
from .errors import ApiError
from .registry import CRD_SKEY, NAMESPACE_SKEY
from .store import DELETED, Event, ObjectKey

log = logging.getLogger(__name__)


class Controllers:
    """Garbage collector, namespace controller and CRD finalizer in one loop."""

    def __init__(self, core: ApiCore, resync_seconds: float = 10.0) -> None:
        self.core = core
        self.resync_seconds = resync_seconds
        self.wake = asyncio.Event()
        self.deleting: set[ObjectKey] = set()
        self.gone_owners: set[str] = set()
        core.on_commit.append(self._on_commit)
        self._scan_all()

    def _scan_all(self) -> None:
        """At start: find everything being deleted, and dependents of owners that no longer exist."""
        store = self.core.store
        for skey, table in store.objects.items():
            for (ns, name), entry in table.items():
                if b'"deletionTimestamp"' in entry.raw:
                    self.deleting.add((skey, ns, name))
        self.gone_owners.update(uid for uid in store.dependents if uid not in store.by_uid)

    def _on_commit(self, events: list[Event]) -> None:
        wake = False
        for ev in events:
            key = (ev.skey, ev.namespace, ev.name)
            if ev.type == DELETED:
                self.deleting.discard(key)
                # A namespace or CRD waiting for its contents to go may now be able to finish.
                wake = wake or bool(self.deleting)
                meta = json.loads(ev.raw).get("metadata") or {}
                uid = str(meta.get("uid", ""))
                if uid in self.core.store.dependents:
                    self.gone_owners.add(uid)
                    wake = True
            elif b'"deletionTimestamp"' in ev.raw:
                self.deleting.add(key)
                wake = True
        if wake:
            self.wake.set()

    async def run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self.wake.wait(), self.resync_seconds)
            except TimeoutError:
                store = self.core.store
                self.gone_owners.update(uid for uid in store.dependents if uid not in store.by_uid)
            self.wake.clear()
            try:
                self.reconcile()
            except Exception:  # a bug here must not stop the loop; it retries on the next pass
                log.exception("background controllers failed; retrying")
            await asyncio.sleep(0.01)

    # -- one pass ------------------------------------------------------------------------------------------

    def reconcile(self) -> None:
        for uid in list(self.gone_owners):
            self.gone_owners.discard(uid)
            self._collect_dependents_of_gone(uid)
        for key in list(self.deleting):
            self._progress_deletion(key)

    def _load(self, key: ObjectKey) -> dict[str, Any] | None:
        entry = self.core.store.get(*key)
        return entry.load() if entry is not None else None

    def _delete(self, key: ObjectKey, policy: str = "Background") -> None:
        info = self.core.registry.storage_info(key[0])
        if info is None:
            return
        try:
            self.core.delete(info, key[1], key[2], {"propagationPolicy": policy})
        except ApiError as exc:
            if exc.code != 404:
                log.warning("deleting %s: %s", key, exc.message)

    def _set_owner_refs(self, key: ObjectKey, drop_uid: set[str]) -> None:
        obj = self._load(key)
        info = self.core.registry.storage_info(key[0])
        if obj is None or info is None:
            return
        refs = obj["metadata"].get("ownerReferences") or []
        kept = [r for r in refs if r.get("uid") not in drop_uid]
        if len(kept) == len(refs):
            return
        if kept:
            obj["metadata"]["ownerReferences"] = kept
        else:
            obj["metadata"].pop("ownerReferences", None)
        old = self._load(key)
        assert old is not None
        try:
            self.core._update_from(info, key[1], key[2], old, obj, "", False, "Ignore")
        except ApiError as exc:
            log.warning("releasing %s: %s", key, exc.message)

    def _collect_dependents_of_gone(self, uid: str) -> None:
        store = self.core.store
        for dep in list(store.dependents.get(uid, ())):
            obj = self._load(dep)
            if obj is None:
                continue
            refs = obj["metadata"].get("ownerReferences") or []
            dangling = {r.get("uid") for r in refs if r.get("uid") not in store.by_uid}
            if len(dangling) == len({r.get("uid") for r in refs}):
                if not obj["metadata"].get("deletionTimestamp"):
                    self._delete(dep)
            else:
                self._set_owner_refs(dep, {str(u) for u in dangling})

    def _progress_deletion(self, key: ObjectKey) -> None:
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
        if ORPHAN in finalizers:
            for dep in list(self.core.store.dependents.get(uid, ())):
                self._set_owner_refs(dep, {uid})
            self.core.remove_finalizer(info, key[1], key[2], ORPHAN)
            return
        if FOREGROUND in finalizers:
            deps = list(self.core.store.dependents.get(uid, ()))
            for dep in deps:
                dep_obj = self._load(dep)
                if dep_obj is not None and not dep_obj["metadata"].get("deletionTimestamp"):
                    self._delete(dep, "Foreground")
            if not self.core.store.dependents.get(uid):
                self.core.remove_finalizer(info, key[1], key[2], FOREGROUND)
            return
        if key[0] == NAMESPACE_SKEY:
            self._progress_namespace(key[2], obj)
        elif key[0] == CRD_SKEY and CRD_FINALIZER in finalizers:
            self._progress_crd(key, obj)

    def _progress_namespace(self, ns: str, obj: dict[str, Any]) -> None:
        for key in list(self.core.store.namespaces_in_use(ns)):
            entry = self.core.store.get(*key)
            if entry is not None and b'"deletionTimestamp"' not in entry.raw:
                self._delete(key)
        if next(self.core.store.namespaces_in_use(ns), None) is not None:
            return
        spec_fins = list((obj.get("spec") or {}).get("finalizers") or [])
        info = self.core.registry.storage_info(NAMESPACE_SKEY)
        if NAMESPACE_FINALIZER in spec_fins and info is not None:
            spec_fins.remove(NAMESPACE_FINALIZER)
            new = json.loads(json.dumps(obj))
            new["spec"] = {"finalizers": spec_fins} if spec_fins else {}
            self.core._update_from(info, "", ns, obj, new, "finalize", False, "Ignore")

    def _progress_crd(self, key: ObjectKey, crd: dict[str, Any]) -> None:
        spec = crd.get("spec") or {}
        skey = f"{spec.get('group')}/{(spec.get('names') or {}).get('plural')}"
        for (ns, name), entry in list(self.core.store.items(skey)):
            if b'"deletionTimestamp"' not in entry.raw:
                self._delete((skey, ns, name))
        if self.core.store.count(skey):
            return
        info = self.core.registry.storage_info(CRD_SKEY)
        if info is not None:
            self.core.remove_finalizer(info, "", key[2], CRD_FINALIZER)

"""Apply the plan of one network object: finalizers (merge patch), claims (create, then plan again), the
status (PUT) and the Events it plans (posted after it, operators.events), stale claims (delete). Every write carries the resourceVersion read; a 409 re-reads the object
and plans again. A 409 on a claim's create is the claim protocol's test-and-set: the existing claim goes
into the world and the next plan adopts it (ours) or picks another address (someone else's).
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from controllers.network_plan import Actions, plan
from controllers.network_world import CLAIM, Key, World, key_of
from operators.events import EventPoster
from operators.kube import Conflict, Kube, NotFound, object_path

from .resources import RESOURCES

log = logging.getLogger("kumulus.network")
ATTEMPTS = 8


class Reconciler:
    def __init__(self, kube: Kube, world: World) -> None:
        self.kube = kube
        self.world = world
        self.writes = 0
        self.events = EventPoster(kube, "kumulus-network")

    async def reconcile(self, kind: str, key: Key) -> Actions | None:
        """One object; returns the actions of a release (finalizer removal) left for after the OVN sync."""
        w = self.world
        for _ in range(ATTEMPTS):
            kept = w.objects[kind].get(key)
            if kept is None:
                return None
            obj = dict(kept)
            actions = plan(kind, obj, w)
            try:
                if actions.release:
                    await self.delete_claims(actions.delete_claims)
                    return actions
                if actions.finalizers is not None:
                    obj = await self.set_finalizers(kind, obj, actions.finalizers)
                if actions.create:
                    for body in actions.create:
                        await self.create_claim(body)
                    continue
                if actions.status is not None:
                    new = RESOURCES[kind].typed({**obj, "status": actions.status})
                    written = self._keep(
                        await self.kube.put(object_path(RESOURCES[kind], obj, "status"), new), kind
                    )
                    self.writes += 1
                    await self.events.post(written, actions.events)
                await self.delete_claims(actions.delete_claims)
                return None
            except Conflict:
                await self.refresh(kind, obj)
            except NotFound:
                w.remove(kind, key)
                return None
        log.warning("%s %s: still conflicting after %d attempts", kind, "/".join(key), ATTEMPTS)
        return None

    async def set_finalizers(self, kind: str, obj: dict[str, Any], finalizers: list[str]) -> dict[str, Any]:
        patch = {
            "metadata": {"finalizers": finalizers, "resourceVersion": obj["metadata"]["resourceVersion"]}
        }
        written = await self.kube.merge_patch(object_path(RESOURCES[kind], obj), patch)
        self.writes += 1
        if written["metadata"].get("deletionTimestamp") and not written["metadata"].get("finalizers"):
            self.world.remove(kind, key_of(obj))  # our finalizer was the last: it is gone
            return obj
        return self._keep(written, kind)

    async def release(self, kind: str, actions: Actions, key: Key) -> None:
        kept = self.world.objects[kind].get(key)
        if kept is None or actions.finalizers is None:
            return
        obj = dict(kept)
        try:
            await self.set_finalizers(kind, obj, actions.finalizers)
        except Conflict:
            await self.refresh(kind, obj)  # the next pass releases it
        except NotFound:
            self.world.remove(kind, key)

    async def create_claim(self, body: dict[str, Any]) -> None:
        claims = RESOURCES[CLAIM]
        ns, name = key_of(body)
        try:
            self._keep(await self.kube.request("POST", claims.path(namespace=ns), body), CLAIM)
            self.writes += 1
        except Conflict:
            # Taken: by us in an attempt that died (adopted by the next plan), or by another (the next plan
            # picks another address); deleted meanwhile (NotFound): the next plan tries again.
            with contextlib.suppress(NotFound):
                self._keep(await self.kube.get(claims.path(name, namespace=ns)), CLAIM)

    async def delete_claims(self, keys: tuple[Key, ...]) -> None:
        for ns, name in keys:
            try:
                await self.kube.request("DELETE", RESOURCES[CLAIM].path(name, namespace=ns))
                self.writes += 1
            except NotFound:
                pass
            self.world.remove(CLAIM, (ns, name))

    async def create(self, kind: str, body: dict[str, Any]) -> None:
        """An object the operator makes (a Server NIC's Port, a default SecurityGroup); 409: it exists."""
        ns, _ = key_of(body)
        try:
            self._keep(
                await self.kube.request("POST", RESOURCES[kind].path(namespace=ns or None), body), kind
            )
            self.writes += 1
        except Conflict:
            pass

    async def refresh(self, kind: str, obj: dict[str, Any]) -> None:
        try:
            self._keep(await self.kube.get(object_path(RESOURCES[kind], obj)), kind)
        except NotFound:
            self.world.remove(kind, key_of(obj))

    def _keep(self, obj: dict[str, Any], kind: str) -> dict[str, Any]:
        typed = RESOURCES[kind].typed(obj)
        self.world.upsert(typed)
        return typed

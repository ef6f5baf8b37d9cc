"""The latest body of every watched object, by namespace and kind: what admission and status count."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controllers.quota import FlavorSize, flavor_sizes


class Cache:
    def __init__(self) -> None:
        self.objects: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
        """namespace -> kind -> name -> body (Quotas included, kind "Quota")."""
        self.flavor_objects: dict[str, dict[str, Any]] = {}
        self._flavors: dict[str, FlavorSize] | None = None

    def upsert(self, kind: str, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        if kind == "Flavor":
            self.flavor_objects[meta["name"]] = obj
            self._flavors = None
            return
        ns = meta.get("namespace") or ""
        self.objects.setdefault(ns, {}).setdefault(kind, {})[meta["name"]] = obj

    def remove(self, kind: str, obj: dict[str, Any]) -> None:
        """Forget obj, unless the cache holds a newer object of the same name (another uid)."""
        meta = obj["metadata"]
        kept = (
            self.flavor_objects
            if kind == "Flavor"
            else self.objects.get(meta.get("namespace") or "", {}).get(kind, {})
        )
        old = kept.get(meta["name"])
        if old is not None and old["metadata"].get("uid") == meta.get("uid"):
            del kept[meta["name"]]
            self._flavors = None

    def flavors(self) -> dict[str, FlavorSize]:
        if self._flavors is None:
            self._flavors = flavor_sizes(self.flavor_objects.values())
        return self._flavors

    def counted(self, namespace: str) -> Mapping[str, list[dict[str, Any]]]:
        """The namespace's objects under quota, by kind."""
        kinds = self.objects.get(namespace, {})
        return {kind: list(objs.values()) for kind, objs in kinds.items() if kind != "Quota"}

    def quotas(self, namespace: str) -> list[dict[str, Any]]:
        return list(self.objects.get(namespace, {}).get("Quota", {}).values())

    def namespaces_with_quotas(self) -> list[str]:
        return [ns for ns, kinds in self.objects.items() if kinds.get("Quota")]

"""Flavors by name, cached: Flavors are immutable, so what a Server takes on a host never changes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controllers.scheduling import Resources

from .kube import ApiError, Kube, path_for

API_VERSION = "compute.kumulus.dev/v1alpha1"


def server_flavor(server: Mapping[str, Any]) -> str | None:
    """The Flavor a Server runs with: status.flavor once set (during a resize spec.flavor is the old one
    until the operator switches it), else spec.flavor."""
    return (server.get("status") or {}).get("flavor") or (server.get("spec") or {}).get("flavor")


class FlavorCache:
    def __init__(self, kube: Kube) -> None:
        self.kube = kube
        self.cache: dict[str, Resources] = {}

    async def resources(self, name: str | None) -> Resources | None:
        """vCPUs, RAM and ephemeral disk of the Flavor (as the scheduler counts), None if there is none."""
        if not name:
            return None
        if name not in self.cache:
            try:
                obj = await self.kube.get(path_for(API_VERSION, "flavors", name))
            except ApiError as exc:
                if exc.code == 404:
                    return None
                raise
            spec = obj.get("spec") or {}
            self.cache[name] = Resources(
                int(spec.get("vcpus", 0)), int(spec.get("ramMiB", 0)), int(spec.get("ephemeralGiB", 0))
            )
        return self.cache[name]

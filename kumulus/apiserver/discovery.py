"""Legacy discovery documents (/api, /apis, /apis/G, /apis/G/V) and /version, as kube-apiserver serves them.

client-go asks for aggregated discovery first and falls back to these when the response is plain JSON.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from .registry import Registry
from .resources import ResourceInfo

KUBE_MAJOR = "1"
KUBE_MINOR = "32"


def version() -> dict[str, str]:
    from kumulus import __version__

    return {
        "major": KUBE_MAJOR,
        "minor": KUBE_MINOR,
        "gitVersion": f"v{KUBE_MAJOR}.{KUBE_MINOR}.0+kumulus-{__version__}",
        "gitCommit": "kumulus",
        "gitTreeState": "clean",
        "buildDate": "2026-11-21T00:00:00Z",
        "goVersion": "python",
        "compiler": "cpython",
        "platform": "linux/amd64",
    }


def api_versions(host: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}],
    }


def _group(reg: Registry, name: str, versions: list[str]) -> dict[str, Any]:
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def api_group_list(reg: Registry) -> dict[str, Any]:
    groups = [_group(reg, g, vs) for g, vs in sorted(reg.groups().items()) if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(reg: Registry, name: str) -> dict[str, Any] | None:
    versions = reg.groups().get(name)
    if not versions or not name:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(reg, name, versions)}


def _storage_version_hash(info: ResourceInfo) -> str:
    digest = hashlib.sha256(f"{info.group}/{info.version}/{info.kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


def resource_list(reg: Registry, group: str, version: str) -> dict[str, Any]:
    resources: list[dict[str, Any]] = []
    for info in reg.in_group_version(group, version):
        entry: dict[str, Any] = {
            "name": info.plural,
            "singularName": info.singular,
            "namespaced": info.namespaced,
            "kind": info.kind,
            "verbs": list(info.verbs),
            "storageVersionHash": _storage_version_hash(info),
        }
        if info.short_names:
            entry["shortNames"] = list(info.short_names)
        if info.categories:
            entry["categories"] = list(info.categories)
        resources.append(entry)
        for sub in sorted(info.subresources):
            verbs = ["update"] if sub == "finalize" else ["get", "patch", "update"]
            resources.append(
                {
                    "name": f"{info.plural}/{sub}",
                    "singularName": "",
                    "namespaced": info.namespaced,
                    "kind": "Scale" if sub == "scale" else info.kind,
                    "verbs": verbs,
                }
            )
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}

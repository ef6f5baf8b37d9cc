"""A small async Kubernetes client for the operators' own reads and writes (kopf does the watching).

    kube = Kube.from_kubeconfig()            # $KUBECONFIG: server, CA data, bearer token
    obj = await kube.get(SERVERS.path("web-1", namespace="default"))
    await kube.put(SERVERS.path("web-1", namespace="default", sub="status"), obj)   # 409 -> Conflict

Writes carry the resourceVersion read, so a conflicting write raises `Conflict` and the caller re-reads.
Every request is counted and timed (operators.metrics: by verb, resource and HTTP code).
"""

from __future__ import annotations

import base64
import os
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from operators import metrics

MERGE_PATCH = "application/merge-patch+json"


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class Conflict(ApiError):
    """409: the object changed since it was read (or already exists)."""


class NotFound(ApiError):
    """404."""


@dataclass(frozen=True, slots=True)
class Resource:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def typed(self, obj: dict[str, Any]) -> dict[str, Any]:
        """The object with apiVersion and kind (list items come without them)."""
        return {**obj, "apiVersion": self.api_version, "kind": self.kind}

    def path(self, name: str | None = None, *, namespace: str | None = None, sub: str | None = None) -> str:
        base = f"/api/{self.version}" if not self.group else f"/apis/{self.group}/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name:
            base += f"/{name}"
        if sub:
            base += f"/{sub}"
        return base


SERVERS = Resource("compute.kumulus.dev", "v1alpha1", "servers", "Server")
FLAVORS = Resource("compute.kumulus.dev", "v1alpha1", "flavors", "Flavor", namespaced=False)
SERVER_GROUPS = Resource("compute.kumulus.dev", "v1alpha1", "servergroups", "ServerGroup")
HOSTS = Resource("infra.kumulus.dev", "v1alpha1", "hosts", "Host", namespaced=False)
ZONES = Resource("infra.kumulus.dev", "v1alpha1", "zones", "Zone", namespaced=False)
AGGREGATES = Resource("infra.kumulus.dev", "v1alpha1", "hostaggregates", "HostAggregate", namespaced=False)
LEASES = Resource("coordination.k8s.io", "v1", "leases", "Lease")


def request_labels(method: str, path: str, params: dict[str, str] | None = None) -> tuple[str, str]:
    """(verb, resource) of a request, as Kubernetes names them: `list` and `volumes`, `update` and
    `volumes/status`. The resource is the plural (and subresource) only, so a label never holds a name."""
    parts = [p for p in path.split("?", 1)[0].split("/") if p]
    rest = parts[2:] if parts[:1] == ["api"] else parts[3:]
    if len(rest) >= 3 and rest[0] == "namespaces":
        rest = rest[2:]  # /namespaces/<ns>/<plural>...: the namespace is not the resource
    resource = "/".join([rest[0], *rest[2:3]]) if rest else "unknown"
    named = len(rest) >= 2
    verb = {
        "GET": "get" if named else ("watch" if (params or {}).get("watch") in ("1", "true") else "list"),
        "POST": "create",
        "PUT": "update",
        "PATCH": "patch",
        "DELETE": "delete" if named else "deletecollection",
    }.get(method.upper(), method.lower())
    return verb, resource


def object_path(resource: Resource, obj: dict[str, Any], sub: str | None = None) -> str:
    meta = obj["metadata"]
    return resource.path(meta["name"], namespace=meta.get("namespace"), sub=sub)


class Kube:
    def __init__(self, server: str, token: str | None, ca_pem: bytes | None) -> None:
        self.server = server.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._ssl = ssl.create_default_context(cadata=ca_pem.decode()) if ca_pem else None
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def from_kubeconfig(cls, path: str | Path | None = None) -> Kube:
        """From the current context of the kubeconfig ($KUBECONFIG by default): token and CA only."""
        cfg = yaml.safe_load(Path(path or os.environ["KUBECONFIG"]).expanduser().read_text())
        context = next(c["context"] for c in cfg["contexts"] if c["name"] == cfg["current-context"])
        cluster = next(c["cluster"] for c in cfg["clusters"] if c["name"] == context["cluster"])
        user = next(u["user"] for u in cfg["users"] if u["name"] == context["user"])
        ca = cluster.get("certificate-authority-data")
        ca_pem = base64.b64decode(ca) if ca else None
        if ca_pem is None and cluster.get("certificate-authority"):
            ca_pem = Path(cluster["certificate-authority"]).read_bytes()
        return cls(cluster["server"], user.get("token"), ca_pem)

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        headers = dict(self._headers, Accept="application/json")
        if body is not None:
            headers["Content-Type"] = content_type
        verb, resource = request_labels(method, path, params)
        code = "error"  # no HTTP answer: connection refused, timeout
        started = time.perf_counter()
        try:
            async with self._session.request(
                method, self.server + path, json=body, params=params, headers=headers, ssl=self._ssl or True
            ) as resp:
                code = str(resp.status)
                data: Any = await resp.json(content_type=None) if resp.content_length != 0 else {}
        finally:
            metrics.API_SECONDS.labels(verb, resource).observe(time.perf_counter() - started)
            metrics.API_REQUESTS.labels(verb, resource, code).inc()
        if resp.status >= 400:
            message = data.get("message", "") if isinstance(data, dict) else str(data)
            error = {409: Conflict, 404: NotFound}.get(resp.status, ApiError)
            raise error(resp.status, message)
        return data if isinstance(data, dict) else {}

    async def get(self, path: str) -> dict[str, Any]:
        return await self.request("GET", path)

    async def list(self, path: str, **params: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = (await self.request("GET", path, params=params or None)).get(
            "items"
        ) or []
        return items

    async def put(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self.request("PUT", path, body)

    async def merge_patch(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self.request("PATCH", path, body, content_type=MERGE_PATCH)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

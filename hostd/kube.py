"""A small asyncio Kubernetes API client on aiohttp: just what hostd needs.

Reads a kubeconfig (server, certificate-authority-data, bearer token), and offers get, create, merge
patch, replace (PUT with the resourceVersion read, for conflict-safe writes), list and watch with label
selectors. Connection errors surface as `aiohttp.ClientError`/`OSError`; callers retry with `Backoff`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import yaml

Obj = dict[str, Any]

MERGE_PATCH = "application/merge-patch+json"
RETRYABLE = (aiohttp.ClientError, OSError, asyncio.TimeoutError)


class ApiError(Exception):
    """An error answer of the API server (a Status object)."""

    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(f"{code} {reason}: {message}")
        self.code = code
        self.reason = reason
        self.message = message


class Gone(Exception):
    """A watch cannot resume from its resourceVersion: relist."""


@dataclass(frozen=True)
class KubeConfig:
    server: str
    token: str
    ca_pem: bytes | None = None

    @classmethod
    def load(cls, path: str | Path) -> KubeConfig:
        cfg = yaml.safe_load(Path(path).read_text())
        ctx_name = cfg.get("current-context")
        ctx = next((c["context"] for c in cfg.get("contexts", []) if c["name"] == ctx_name), None)
        clusters = {c["name"]: c["cluster"] for c in cfg.get("clusters", [])}
        users = {u["name"]: u.get("user") or {} for u in cfg.get("users", [])}
        cluster = clusters[ctx["cluster"]] if ctx else next(iter(clusters.values()))
        user = users[ctx["user"]] if ctx else next(iter(users.values()), {})
        ca: bytes | None = None
        if cluster.get("certificate-authority-data"):
            ca = base64.b64decode(cluster["certificate-authority-data"])
        elif cluster.get("certificate-authority"):
            ca = Path(cluster["certificate-authority"]).read_bytes()
        return cls(server=cluster["server"].rstrip("/"), token=user.get("token", ""), ca_pem=ca)


def path_for(
    api_version: str, plural: str, name: str | None = None, namespace: str | None = None, sub: str = ""
) -> str:
    """The URL path of a collection or an object, e.g. path_for("v1", "namespaces", "kumulus-system")."""
    base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    if namespace:
        base += f"/namespaces/{namespace}"
    base += f"/{plural}"
    if name:
        base += f"/{name}"
    if sub:
        base += f"/{sub}"
    return base


class Backoff:
    """Exponential backoff with jitter, reset after a success."""

    def __init__(self, first: float = 0.2, cap: float = 10.0) -> None:
        self.first, self.cap, self.delay = first, cap, first

    async def wait(self) -> None:
        await asyncio.sleep(self.delay * random.uniform(0.8, 1.2))
        self.delay = min(self.delay * 2, self.cap)

    def reset(self) -> None:
        self.delay = self.first


class Kube:
    """One HTTP session to the API server, shared by every host of the process."""

    def __init__(self, config: KubeConfig) -> None:
        self.config = config
        self._session: aiohttp.ClientSession | None = None

    def _ssl(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        if self.config.ca_pem:
            ctx.load_verify_locations(cadata=self.config.ca_pem.decode())
        return ctx

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            headers = {"Accept": "application/json"}
            if self.config.token:
                headers["Authorization"] = f"Bearer {self.config.token}"
            self._session = aiohttp.ClientSession(
                base_url=self.config.server,
                headers=headers,
                # No pool limit: every simulated host in this process keeps a watch open, and with aiohttp's
                # default of 100 connections more than ~95 hosts starved their own writes (bench/README.md).
                connector=aiohttp.TCPConnector(ssl=self._ssl(), limit=0),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self,
        method: str,
        path: str,
        body: Obj | None = None,
        params: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> Obj:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": content_type} if data is not None else {}
        timeout = aiohttp.ClientTimeout(total=30)
        async with self.session.request(
            method, path, data=data, params=params, headers=headers, timeout=timeout
        ) as resp:
            text = await resp.text()
            if resp.status >= 400:
                raise _error(resp.status, text)
            result: Obj = json.loads(text) if text else {}
            return result

    async def get(self, path: str) -> Obj:
        return await self.request("GET", path)

    async def create(self, path: str, body: Obj) -> Obj:
        return await self.request("POST", path, body)

    async def patch(self, path: str, body: Obj) -> Obj:
        """A JSON merge patch (of the object, or of a subresource when path ends in /status)."""
        return await self.request("PATCH", path, body, content_type=MERGE_PATCH)

    async def replace(self, path: str, body: Obj) -> Obj:
        """PUT: fails with 409 when body's metadata.resourceVersion is no longer current."""
        return await self.request("PUT", path, body)

    async def list(self, path: str, label_selector: str = "") -> tuple[list[Obj], str]:
        params = {"labelSelector": label_selector} if label_selector else None
        out = await self.request("GET", path, params=params)
        return list(out.get("items") or []), str((out.get("metadata") or {}).get("resourceVersion", ""))

    async def watch(
        self, path: str, resource_version: str, label_selector: str = "", timeout_seconds: int = 300
    ) -> AsyncIterator[tuple[str, Obj]]:
        """(type, object) events from resource_version on; raises Gone when the server cannot resume."""
        params = {
            "watch": "true",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(timeout_seconds),
        }
        if label_selector:
            params["labelSelector"] = label_selector
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=timeout_seconds + 30)
        async with self.session.get(path, params=params, timeout=timeout) as resp:
            if resp.status >= 400:
                raise _error(resp.status, await resp.text())
            async for line in resp.content:
                if not line.strip():
                    continue
                event = json.loads(line)
                if event.get("type") == "ERROR":
                    raise Gone(str((event.get("object") or {}).get("message", "watch error")))
                yield str(event.get("type")), event.get("object") or {}

    async def update_status(
        self, path: str, mutate: Callable[[Obj], Obj | None], attempts: int = 10
    ) -> Obj | None:
        """GET the object, compute its new status with `mutate` (None: no change), PUT /status with the
        resourceVersion read; on 409 Conflict read again. Returns the object written, or None if unchanged
        or gone."""
        for _ in range(attempts):
            try:
                obj = await self.get(path)
            except ApiError as exc:
                if exc.code == 404:
                    return None
                raise
            status = mutate(obj)
            if status is None or status == obj.get("status"):
                return None
            try:
                return await self.replace(path + "/status", {**obj, "status": status})
            except ApiError as exc:
                if exc.code not in (409,):
                    raise
        raise ApiError(409, "Conflict", f"{path}: status still conflicting after {attempts} attempts")


def _error(code: int, text: str) -> ApiError:
    try:
        body = json.loads(text)
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    return ApiError(code, str(body.get("reason", "")), str(body.get("message", text[:200])))

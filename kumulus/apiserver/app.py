"""The HTTP face of the embedded API server: routing, auth, negotiation, discovery, watch streams.

URL layout, query parameters, status codes and bodies follow kube-apiserver, so kubectl, client-go,
the official Python client and kopf work unchanged. Object semantics live in `core`, persistence in
`store`; this module only translates between HTTP and those.
"""

from __future__ import annotations

import asyncio
import copy
import hmac
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from . import discovery, errors, openapi
from .admission import Admission, Request, Write, service_overrides_from_env
from .controllers import Controllers
from .core import ApiCore, decode_body
from .errors import ApiError
from .patch import PatchError, apply_patch
from .registry import Registry
from .resources import ResourceInfo
from .selectors import FieldSelector, LabelSelector, SelectorError, parse_field_selector, parse_label_selector
from .store import Store, dumps
from .table import table_for, wants_table
from .watch import Watcher, WatchHub

log = logging.getLogger(__name__)

MAX_BODY = 3 * 1024 * 1024
JSON = "application/json"
PUBLIC_PATHS = {"/livez", "/readyz", "/healthz"}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
USER = web.RequestKey("user", str)  # the authenticated user name, for admission reviews


@dataclass
class ServerConfig:
    tokens: dict[str, str] = field(default_factory=dict)  # bearer token -> user name
    bookmark_interval: float = 30.0
    history_size: int = 20000
    # "namespace/name:port" -> "https://host:port" for webhooks with clientConfig.service (see admission)
    webhook_services: dict[str, str] = field(default_factory=service_overrides_from_env)


@dataclass
class Target:
    """What a resource URL names."""

    info: ResourceInfo
    namespace: str | None  # None: all namespaces (list/watch) or cluster-scoped
    name: str = ""
    subresource: str = ""


def _json_response(body: Any, status: int = 200, warnings: list[str] | None = None) -> web.Response:
    resp = web.Response(
        body=body if isinstance(body, bytes) else dumps(body), status=status, content_type=JSON
    )
    for w in warnings or ():
        resp.headers.add("Warning", '299 - "' + w.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return resp


def _verb(method: str, named: bool, watch: bool) -> str:
    """The Kubernetes verb of a request on a resource."""
    if method == "GET":
        return "watch" if watch else ("get" if named else "list")
    if method == "DELETE":
        return "delete" if named else "deletecollection"
    return {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method, "")


def _bool(value: str | None) -> bool:
    return value is not None and value.lower() in ("1", "true", "yes")


class ApiServer:
    """Store + registry + watch hub + background controllers behind an aiohttp application."""

    def __init__(self, db_path: str, config: ServerConfig) -> None:
        self.config = config
        self.store = Store(db_path, history_size=config.history_size)
        self.registry = Registry()
        self.hub = WatchHub()
        self.core = ApiCore(self.store, self.registry, self.hub)
        self.controllers = Controllers(self.core)
        self.admission = Admission(self.core, config.webhook_services)
        self.ready = False
        self._openapi_cache: dict[str, Any] = {}
        self._openapi_generation = -1
        self._tasks: list[asyncio.Task[None]] = []
        self.app = web.Application(client_max_size=MAX_BODY, middlewares=[self._middleware])
        self.app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self.app.on_startup.append(self._on_startup)
        self.app.on_shutdown.append(self._on_shutdown)

    # -- lifecycle ------------------------------------------------------------------------------------

    async def _on_startup(self, _: web.Application) -> None:
        self._tasks.append(asyncio.create_task(self.controllers.run()))
        self.ready = True

    async def _on_shutdown(self, _: web.Application) -> None:
        self.ready = False
        self.hub.close_all()
        for task in self._tasks:
            task.cancel()
        await self.admission.close()

    def close(self) -> None:
        self.store.close()

    # -- middleware -----------------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            if request.path not in PUBLIC_PATHS:
                request[USER] = self._authenticate(request)
            return await handler(request)
        except ApiError as exc:
            return _json_response(exc.status(), exc.code)
        except web.HTTPRequestEntityTooLarge:
            exc2 = errors.too_large()
            return _json_response(exc2.status(), exc2.code)
        except RecursionError:
            err = errors.bad_request("the object provided is unrecognized or malformed: nesting is too deep")
            return _json_response(err.status(), err.code)
        except web.HTTPException:
            raise
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception as exc:  # never let a bug turn into a dropped connection
            log.exception("internal error serving %s %s", request.method, request.path)
            err = errors.internal(str(exc))
            return _json_response(err.status(), err.code)

    def _authenticate(self, request: web.Request) -> str:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token:
            for known, user in self.config.tokens.items():
                if hmac.compare_digest(known.encode(), token.strip().encode()):
                    return user
        raise errors.unauthorized()

    # -- routing --------------------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path in ("/livez", "/healthz", "/readyz"):
            if path == "/readyz" and not self.ready:
                return web.Response(status=503, text="not ready")
            return web.Response(text="ok")
        segs = [s for s in path.split("/") if s]
        if request.method == "GET":
            doc = self._discovery(segs, request)
            if doc is not None:
                return doc
        if len(segs) >= 2 and segs[0] == "api" and segs[1] == "v1":
            group, version, rest = "", "v1", segs[2:]
        elif len(segs) >= 3 and segs[0] == "apis":
            group, version, rest = segs[1], segs[2], segs[3:]
        else:
            raise errors.resource_not_found()
        watch_path = bool(rest) and rest[0] == "watch"
        if watch_path:
            rest = rest[1:]
        target = self._target(group, version, rest)
        return await self._serve(request, target, watch_path)

    def _target(self, group: str, version: str, rest: list[str]) -> Target:
        if not rest:
            raise errors.resource_not_found()
        if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in ("status", "finalize"):
            ns = rest[1]
            plural, tail = rest[2], rest[3:]
        else:
            ns, plural, tail = None, rest[0], rest[1:]
        info = self.registry.lookup(group, version, plural)
        if info is None or len(tail) > 2:
            raise errors.resource_not_found()
        if info.namespaced is False and ns is not None:
            raise errors.resource_not_found()
        name = tail[0] if tail else ""
        sub = tail[1] if len(tail) > 1 else ""
        if sub and sub not in info.subresources:
            raise errors.resource_not_found()
        if info.namespaced and name and ns is None:
            raise errors.resource_not_found()
        return Target(info, ns if info.namespaced else None, name, sub)

    # -- discovery and OpenAPI --------------------------------------------------------------------------

    def _discovery(self, segs: list[str], request: web.Request) -> web.StreamResponse | None:
        reg = self.registry
        if segs == ["version"]:
            return _json_response(discovery.version())
        if segs == ["api"]:
            return _json_response(discovery.api_versions(request.host))
        if segs == ["apis"]:
            return _json_response(discovery.api_group_list(reg))
        if segs == ["api", "v1"]:
            return _json_response(discovery.resource_list(reg, "", "v1"))
        if len(segs) == 2 and segs[0] == "apis":
            group = discovery.api_group(reg, segs[1])
            if group is None:
                raise errors.resource_not_found()
            return _json_response(group)
        if len(segs) == 3 and segs[0] == "apis":
            if not reg.in_group_version(segs[1], segs[2]):
                raise errors.resource_not_found()
            return _json_response(discovery.resource_list(reg, segs[1], segs[2]))
        if segs and segs[0] == "openapi":
            return self._openapi(segs[1:], request)
        return None

    def _openapi_docs(self) -> dict[str, Any]:
        if self._openapi_generation != self.registry.generation:
            infos = self.registry.all()
            v3 = openapi.build_v3(infos)
            index, hashes = openapi.v3_index(v3)
            self._openapi_cache = {
                "v2": None,
                "v3": {k: dumps(doc) for k, doc in v3.items()},
                "index": dumps(index),
                "hashes": hashes,
                "infos": infos,
            }
            self._openapi_generation = self.registry.generation
        return self._openapi_cache

    def _openapi(self, segs: list[str], request: web.Request) -> web.StreamResponse:
        cache = self._openapi_docs()
        if segs == ["v2"]:
            accept = request.headers.get("Accept", "")
            if accept and "json" not in accept and "*/*" not in accept:
                raise errors.not_acceptable("only application/json is served for /openapi/v2")
            if cache["v2"] is None:
                cache["v2"] = dumps(openapi.build_v2(cache["infos"]))
            return _json_response(cache["v2"])
        if segs == ["v3"]:
            return _json_response(cache["index"])
        if len(segs) > 1 and segs[0] == "v3":
            key = "/".join(segs[1:])
            body = cache["v3"].get(key)
            if body is None:
                raise errors.resource_not_found()
            resp = _json_response(body)
            resp.headers["Cache-Control"] = "public, immutable" if request.query.get("hash") else "no-cache"
            resp.headers["Etag"] = '"' + cache["hashes"][key] + '"'
            return resp
        raise errors.resource_not_found()

    # -- resources ----------------------------------------------------------------------------------------

    async def _serve(self, request: web.Request, t: Target, watch_path: bool) -> web.StreamResponse:
        q = request.query
        method = request.method
        info = t.info
        ns = t.namespace or ""
        dry_run = "All" in q.getall("dryRun", [])
        validation = q.get("fieldValidation", "Warn")
        if validation not in ("Strict", "Warn", "Ignore"):
            raise errors.bad_request(
                f'fieldValidation: Unsupported value: "{validation}": supported values: "Ignore", "Strict", "Warn"'
            )
        verb = _verb(method, bool(t.name), watch_path or _bool(q.get("watch")))
        if verb and verb not in info.verbs and not t.subresource:
            raise errors.method_not_allowed(
                f"the server does not allow this method on the requested resource ({verb} {info.group_resource})"
            )
        if not t.name:
            if method == "GET":
                if watch_path or _bool(q.get("watch")):
                    return await self._watch(request, t)
                return self._list(request, t)
            if method == "POST":
                if t.namespace is None and info.namespaced:
                    raise errors.method_not_allowed("create requires a namespace")
                body = await self._body(request)
                obj, warnings, hook_warnings = await self._admit(
                    request,
                    Request("CREATE", info, ns, ""),
                    lambda dry: self.core.create(
                        info, ns, copy.deepcopy(body), dry_run=dry, field_validation=validation
                    ),
                    dry_run,
                )
                return _json_response(obj, 201, warnings + hook_warnings)
            if method == "DELETE":
                return await self._delete_collection(request, t, dry_run)
            raise errors.method_not_allowed("the server does not allow this method on the requested resource")
        if t.subresource == "scale":
            return await self._scale(request, t, dry_run)
        if method == "GET":
            if watch_path:
                return await self._watch(request, t)
            obj = self.core.get(info, ns, t.name)
            if wants_table(request.headers.get("Accept", "")):
                return _json_response(
                    table_for(
                        info,
                        [obj],
                        include_object=q.get("includeObject", "Metadata"),
                        resource_version=obj["metadata"].get("resourceVersion", ""),
                    )
                )
            return _json_response(obj)
        if method == "PUT":
            body = await self._body(request)
            obj, warnings, hook_warnings = await self._admit(
                request,
                Request("UPDATE", info, ns, t.name, t.subresource),
                lambda dry: self.core.update(
                    info,
                    ns,
                    t.name,
                    copy.deepcopy(body),
                    subresource=t.subresource,
                    dry_run=dry,
                    field_validation=validation,
                ),
                dry_run,
            )
            return _json_response(obj, 200, warnings + hook_warnings)
        if method == "PATCH":
            raw = await self._raw_body(request)

            def patch(dry: bool) -> tuple[dict[str, Any], tuple[list[str], int]]:
                obj, warnings, code = self.core.patch(
                    info,
                    ns,
                    t.name,
                    request.headers.get("Content-Type", ""),
                    raw,
                    subresource=t.subresource,
                    dry_run=dry,
                    field_validation=validation,
                )
                return obj, (warnings, code)

            obj, (warnings, code), hook_warnings = await self._admit(
                request,
                Request("UPDATE", info, ns, t.name, t.subresource),
                patch,
                dry_run,
                creates=lambda extra: extra[1] == 201,
            )
            return _json_response(obj, code, warnings + hook_warnings)
        if method == "DELETE":
            if t.subresource:
                raise errors.method_not_allowed("delete is not allowed on a subresource")
            options = await self._delete_options(request)
            obj, gone, hook_warnings = await self._admit(
                request,
                Request("DELETE", info, ns, t.name),
                lambda dry: self.core.delete(info, ns, t.name, copy.deepcopy(options), dry_run=dry),
                dry_run,
                options=options,
            )
            if gone and info.builtin and info.plural != "namespaces":
                details = {"name": t.name, "kind": info.plural, "uid": obj["metadata"].get("uid")}
                if info.group:
                    details["group"] = info.group
                return _json_response(
                    {
                        "kind": "Status",
                        "apiVersion": "v1",
                        "metadata": {},
                        "status": "Success",
                        "details": details,
                    },
                    warnings=hook_warnings,
                )
            return _json_response(obj, warnings=hook_warnings)
        raise errors.method_not_allowed("the server does not allow this method on the requested resource")

    async def _admit(
        self,
        request: web.Request,
        req: Request,
        run: Callable[[bool], tuple[dict[str, Any], Any]],
        dry_run: bool,
        *,
        options: dict[str, Any] | None = None,
        creates: Callable[[Any], bool] = lambda _: False,
    ) -> tuple[dict[str, Any], Any, list[str]]:
        """Run a write through admission webhooks; returns (object, the run's extra, webhook warnings)."""
        write = Write(req, run, dry_run, request.get(USER) or "admin", options, creates=creates)
        return await self.admission.write(write)

    async def _scale(self, request: web.Request, t: Target, dry_run: bool) -> web.StreamResponse:
        ns = t.namespace or ""
        if request.method == "GET":
            return _json_response(self.core.get_scale(t.info, ns, t.name))
        if request.method == "PUT":
            body = await self._body(request)
        elif request.method == "PATCH":
            media = request.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
            current = self.core.get_scale(t.info, ns, t.name)
            try:
                body = apply_patch(media, current, await self._raw_body(request))
            except PatchError as exc:
                raise errors.bad_request(str(exc)) from exc
        else:
            raise errors.method_not_allowed("the server does not allow this method on the scale subresource")
        return _json_response(self.core.update_scale(t.info, ns, t.name, body, dry_run=dry_run))

    async def _raw_body(self, request: web.Request) -> bytes:
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise errors.too_large()
        return await request.read()

    async def _body(self, request: web.Request) -> Any:
        raw = await self._raw_body(request)
        if not raw.strip():
            raise errors.bad_request("the object provided is unrecognized or malformed: empty body")
        return decode_body(raw, request.headers.get("Content-Type", JSON))

    async def _delete_options(self, request: web.Request) -> dict[str, Any]:
        raw = await self._raw_body(request)
        options: dict[str, Any] = {}
        if raw.strip():
            body = decode_body(raw, request.headers.get("Content-Type", JSON))
            if not isinstance(body, dict):
                raise errors.bad_request("DeleteOptions must be an object")
            options = body
        q = request.query
        if "propagationPolicy" in q:
            options["propagationPolicy"] = q["propagationPolicy"]
        if "orphanDependents" in q:
            options["orphanDependents"] = _bool(q["orphanDependents"])
        return options

    def _selectors(
        self, request: web.Request, info: ResourceInfo
    ) -> tuple[LabelSelector | None, FieldSelector | None]:
        q = request.query
        try:
            labels = parse_label_selector(q["labelSelector"]) if q.get("labelSelector") else None
            allowed = {"metadata.name", "metadata.namespace", *info.selectable_fields}
            fields = parse_field_selector(q["fieldSelector"], allowed) if q.get("fieldSelector") else None
        except SelectorError as exc:
            raise errors.bad_request(str(exc)) from exc
        if labels is not None and labels.empty:
            labels = None
        return labels, fields

    def _list(self, request: web.Request, t: Target) -> web.StreamResponse:
        info = t.info
        q = request.query
        labels, fields = self._selectors(request, info)
        try:
            limit = int(q.get("limit") or 0)
        except ValueError as exc:
            raise errors.bad_request(f"limit: invalid value {q.get('limit')!r}") from exc
        exact_rv = None
        if q.get("resourceVersionMatch") == "Exact":
            try:
                exact_rv = int(q.get("resourceVersion", ""))
            except ValueError as exc:
                raise errors.bad_request("resourceVersionMatch=Exact needs a resourceVersion") from exc
        entries, rv, token, remaining = self.core.list_entries(
            info, t.namespace, labels, fields, max(limit, 0), q.get("continue", ""), exact_rv
        )
        if wants_table(request.headers.get("Accept", "")):
            objs = [self.core.convert(info, e.load()) for e in entries]
            return _json_response(
                table_for(
                    info,
                    objs,
                    include_object=q.get("includeObject", "Metadata"),
                    resource_version=rv,
                    continue_token=token,
                    remaining=remaining,
                )
            )
        meta: dict[str, Any] = {"resourceVersion": rv}
        if token:
            meta["continue"] = token
            meta["remainingItemCount"] = remaining
        head = dumps({"kind": info.list_kind_name, "apiVersion": info.api_version, "metadata": meta})
        items = b",".join(self.core.raw_for(info, e.raw) for e in entries)
        return _json_response(head[:-1] + b',"items":[' + items + b"]}")

    async def _delete_collection(self, request: web.Request, t: Target, dry_run: bool) -> web.StreamResponse:
        info = t.info
        labels, fields = self._selectors(request, info)
        options = await self._delete_options(request)
        entries, _, _, _ = self.core.list_entries(info, t.namespace, labels, fields)
        items = []
        warnings: list[str] = []
        for e in entries:
            meta = e.load()["metadata"]
            ns, name = str(meta.get("namespace") or ""), str(meta["name"])

            def delete(dry: bool, ns: str = ns, name: str = name) -> tuple[dict[str, Any], bool]:
                return self.core.delete(info, ns, name, copy.deepcopy(options), dry_run=dry)

            try:
                out, _, hook_warnings = await self._admit(
                    request,
                    Request("DELETE", info, ns, name),
                    delete,
                    dry_run,
                    options=options,
                )
                items.append(out)
                warnings += hook_warnings
            except ApiError as exc:
                if exc.code != 404:
                    raise
        return _json_response(
            {
                "kind": info.list_kind_name,
                "apiVersion": info.api_version,
                "metadata": {"resourceVersion": str(self.store.rv)},
                "items": items,
            },
            warnings=warnings,
        )

    # -- watch ----------------------------------------------------------------------------------------------

    async def _watch(self, request: web.Request, t: Target) -> web.StreamResponse:
        info = t.info
        q = request.query
        labels, fields = self._selectors(request, info)
        if t.name:  # /watch/.../NAME is a watch with a name field selector
            fields = parse_field_selector(
                "metadata.name=" + t.name + ("," + q["fieldSelector"] if q.get("fieldSelector") else ""),
                {"metadata.name", "metadata.namespace", *info.selectable_fields},
            )
        rv_param = q.get("resourceVersion", "")
        send_initial = _bool(q.get("sendInitialEvents"))
        bookmarks = _bool(q.get("allowWatchBookmarks"))
        start_rv: int | None = None
        if rv_param not in ("", "0"):
            try:
                start_rv = int(rv_param)
            except ValueError as exc:
                raise errors.bad_request(f"invalid resource version: {rv_param!r}") from exc
        try:
            timeout = float(q.get("timeoutSeconds") or 0)
        except ValueError as exc:
            raise errors.bad_request("timeoutSeconds must be a number") from exc
        if not timeout > 0 or timeout == float("inf"):  # also rejects nan
            timeout = random.uniform(1800, 3600)
        deadline = time.monotonic() + timeout
        render = self._event_renderer(request, info)

        resp = web.StreamResponse(status=200, headers={"Content-Type": JSON, "Cache-Control": "no-cache"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)

        watcher = Watcher(info.storage_key, t.namespace, labels, fields)
        # Registration and the initial snapshot happen without yielding to the loop, so that every change
        # is either in the snapshot or in the queue, never in both or neither.
        self.hub.add(watcher)
        lines: list[bytes] = []
        synced_rv = self.store.rv
        try:
            if start_rv is None or send_initial:
                for (ns, name), entry in self.store.items(info.storage_key, t.namespace):
                    if watcher.matches_object(entry.raw, entry.labels, ns, name):
                        lines.append(render("ADDED", entry.raw))
                if send_initial:
                    lines.append(self._bookmark(info, synced_rv, initial_end=True))
            elif start_rv < self.store.compacted_rv or start_rv > self.store.rv:
                if start_rv < self.store.compacted_rv:
                    err = errors.gone(f"too old resource version: {start_rv} ({self.store.compacted_rv + 1})")
                else:  # a version this server never issued: the client must relist
                    err = errors.ApiError(
                        504, "Timeout", f"Too large resource version: {start_rv}, current: {self.store.rv}"
                    )
                await resp.write(dumps({"type": "ERROR", "object": err.status()}) + b"\n")
                return resp
            else:
                for ev in self.store.events_since(start_rv):
                    if ev.skey == info.storage_key and (seen := watcher.translate(ev)) is not None:
                        lines.append(render(seen[0], seen[1]))
            if lines:
                await resp.write(b"".join(lines))
            await self._stream(resp, watcher, render, synced_rv, deadline, bookmarks, info)
        except ConnectionResetError:
            pass
        finally:
            self.hub.remove(watcher)
        return resp

    async def _stream(
        self,
        resp: web.StreamResponse,
        watcher: Watcher,
        render: Callable[[str, bytes], bytes],
        synced_rv: int,
        deadline: float,
        bookmarks: bool,
        info: ResourceInfo,
    ) -> None:
        interval = self.config.bookmark_interval
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                item = await asyncio.wait_for(watcher.queue.get(), min(remaining, interval))
            except TimeoutError:
                # Only when drained: a bookmark promises every change up to its version was sent.
                if bookmarks and watcher.queue.empty() and time.monotonic() < deadline:
                    await resp.write(self._bookmark(info, self.store.rv))
                continue
            if item is None:
                return
            batch = [item]
            ended = False
            while not watcher.queue.empty():
                nxt = watcher.queue.get_nowait()
                if nxt is None:
                    ended = True
                    break
                batch.append(nxt)
            out = [render(typ, raw) for typ, raw, rv in batch if rv > synced_rv]
            if out:
                await resp.write(b"".join(out))
            if ended:
                return

    def _event_renderer(self, request: web.Request, info: ResourceInfo) -> Callable[[str, bytes], bytes]:
        """How one watch event is written: the object, or a one-row Table when kubectl asks for tables."""
        if wants_table(request.headers.get("Accept", "")):
            include = request.query.get("includeObject", "Metadata")

            def table_event(typ: str, raw: bytes) -> bytes:
                obj = self.core.convert(info, json.loads(raw))
                table = table_for(
                    info,
                    [obj],
                    include_object=include,
                    resource_version=obj["metadata"].get("resourceVersion", ""),
                )
                return dumps({"type": typ, "object": table}) + b"\n"

            return table_event

        def object_event(typ: str, raw: bytes) -> bytes:
            return b'{"type":"' + typ.encode() + b'","object":' + self.core.raw_for(info, raw) + b"}\n"

        return object_event

    def _bookmark(self, info: ResourceInfo, rv: int, initial_end: bool = False) -> bytes:
        meta: dict[str, Any] = {"resourceVersion": str(rv)}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        return (
            dumps(
                {
                    "type": "BOOKMARK",
                    "object": {"kind": info.kind, "apiVersion": info.api_version, "metadata": meta},
                }
            )
            + b"\n"
        )


def make_app(db_path: str, config: ServerConfig) -> tuple[web.Application, ApiServer]:
    server = ApiServer(db_path, config)
    return server.app, server

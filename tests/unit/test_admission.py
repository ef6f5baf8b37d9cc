"""Admission webhooks: matching (rules, scopes, subresources, selectors), review shape, and in-process calls."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from kumulus.apiserver import admission
from kumulus.apiserver.admission import Request
from kumulus.apiserver.app import ApiServer
from kumulus.apiserver.resources import ResourceInfo

from .test_apiserver import CMS, CRD, THINGS, call, make_client, thing

SERVERS = ResourceInfo(
    "compute.kumulus.dev", "v1", "servers", "server", "Server", True, subresources=frozenset({"status"})
)
NAMESPACES = ResourceInfo("", "v1", "namespaces", "namespace", "Namespace", False, builtin=True)
NODES = ResourceInfo("compute.kumulus.dev", "v1", "hosts", "host", "Host", False)


def rule(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "operations": ["CREATE"],
        "apiGroups": ["compute.kumulus.dev"],
        "apiVersions": ["v1"],
        "resources": ["servers"],
    }
    return {**base, **kw}


def req(op: str = "CREATE", info: ResourceInfo = SERVERS, ns: str = "team", sub: str = "") -> Request:
    return Request(op, info, ns if info.namespaced else "", "x", sub)


# -- matching -----------------------------------------------------------------------------------------------


def test_rule_operations_groups_versions() -> None:
    assert admission.rule_matches(rule(), req())
    assert not admission.rule_matches(rule(), req("UPDATE"))
    assert admission.rule_matches(rule(operations=["*"]), req("DELETE"))
    assert admission.rule_matches(rule(operations=["CREATE", "UPDATE"]), req("UPDATE"))
    assert not admission.rule_matches(rule(apiGroups=[""]), req())
    assert admission.rule_matches(rule(apiGroups=["*"]), req())
    assert not admission.rule_matches(rule(apiVersions=["v1beta1"]), req())
    assert admission.rule_matches(rule(apiVersions=["*"]), req())
    assert not admission.rule_matches(rule(resources=["hosts"]), req())
    assert not admission.rule_matches({}, req())


def test_rule_resources_and_subresources() -> None:
    status = req("UPDATE", sub="status")
    any_op = {"operations": ["*"]}
    assert admission.rule_matches(rule(resources=["*"]), req())
    assert not admission.rule_matches(rule(resources=["*"], **any_op), status)
    assert not admission.rule_matches(rule(resources=["servers"], **any_op), status)
    assert admission.rule_matches(rule(resources=["servers/status"], **any_op), status)
    assert not admission.rule_matches(rule(resources=["servers/status"], **any_op), req("UPDATE"))
    assert admission.rule_matches(rule(resources=["*/status"], **any_op), status)
    assert admission.rule_matches(rule(resources=["*/*"], **any_op), status)
    assert admission.rule_matches(rule(resources=["*/*"], **any_op), req("UPDATE"))
    assert admission.rule_matches(rule(resources=["servers/*"], **any_op), status)
    assert not admission.rule_matches(rule(resources=["servers/scale"], **any_op), status)


def test_rule_scope() -> None:
    host = req(info=NODES)
    wide = {"apiGroups": ["*"], "resources": ["*"]}
    assert admission.rule_matches(rule(scope="Namespaced", **wide), req())
    assert not admission.rule_matches(rule(scope="Namespaced", **wide), host)
    assert admission.rule_matches(rule(scope="Cluster", **wide), host)
    assert not admission.rule_matches(rule(scope="Cluster", **wide), req())
    assert admission.rule_matches(rule(scope="*", **wide), host)
    ns = req(info=NAMESPACES)
    assert admission.rule_matches(rule(scope="Cluster", apiGroups=[""], resources=["namespaces"]), ns)


def test_namespace_selector() -> None:
    wh = {"namespaceSelector": {"matchLabels": {"webhooks": "on"}}}
    assert admission.namespace_selector_matches(wh, req(), {"webhooks": "on"}, None, None)
    assert not admission.namespace_selector_matches(wh, req(), {}, None, None)
    assert admission.namespace_selector_matches({}, req(), {}, None, None)
    # Cluster-scoped objects other than namespaces are never excluded.
    assert admission.namespace_selector_matches(wh, req(info=NODES), {}, None, None)
    # A Namespace is matched on its own labels (the old object's on delete).
    labelled = {"metadata": {"labels": {"webhooks": "on"}}}
    assert admission.namespace_selector_matches(wh, req(info=NAMESPACES), {}, labelled, None)
    assert admission.namespace_selector_matches(wh, req("DELETE", NAMESPACES), {}, None, labelled)
    assert not admission.namespace_selector_matches(wh, req(info=NAMESPACES), {}, {"metadata": {}}, None)
    exprs = {"namespaceSelector": {"matchExpressions": [{"key": "skip", "operator": "DoesNotExist"}]}}
    assert admission.namespace_selector_matches(exprs, req(), {"a": "b"}, None, None)
    assert not admission.namespace_selector_matches(exprs, req(), {"skip": ""}, None, None)


def test_object_selector_new_or_old() -> None:
    wh = {"objectSelector": {"matchLabels": {"app": "web"}}}
    web_obj = {"metadata": {"labels": {"app": "web"}}}
    other = {"metadata": {"labels": {"app": "db"}}}
    assert admission.object_selector_matches(wh, web_obj, None)
    assert not admission.object_selector_matches(wh, other, None)
    assert admission.object_selector_matches(wh, other, web_obj)  # the label is being removed
    assert admission.object_selector_matches(wh, None, web_obj)  # delete
    assert admission.object_selector_matches({"objectSelector": {}}, other, None)
    assert not admission.object_selector_matches({"objectSelector": {"matchLabels": {"a": 1}}}, web_obj, None)


def test_hooks_order_and_defaults() -> None:
    hooks = admission.hooks_in(
        [
            ("b", {"webhooks": [{"name": "b1"}]}),
            ("a", {"webhooks": [{"name": "a1"}, {"name": "a2"}, "junk"]}),
        ],
        False,
    )
    assert [h.name for h in hooks] == ["a1", "a2", "b1"]
    h = hooks[0]
    assert h.fail_closed and not h.dry_run_safe and h.timeout == 10
    h2 = admission.Hook(
        "c", False, {"failurePolicy": "Ignore", "sideEffects": "NoneOnDryRun", "timeoutSeconds": 99}
    )
    assert not h2.fail_closed and h2.dry_run_safe and h2.timeout == 30


# -- review shape -------------------------------------------------------------------------------------------


def test_review_request_shape() -> None:
    new = {"metadata": {"name": "x"}}
    old = {"metadata": {"name": "x", "labels": {}}}
    review = admission.review_request(
        req("UPDATE", sub="status"),
        "u-1",
        new,
        old,
        dry_run=True,
        user="alice",
        options={"fieldManager": "m"},
    )
    assert review["apiVersion"] == "admission.k8s.io/v1"
    assert review["kind"] == "AdmissionReview"
    r = review["request"]
    assert r["uid"] == "u-1"
    assert r["kind"] == {"group": "compute.kumulus.dev", "version": "v1", "kind": "Server"}
    assert r["resource"] == {"group": "compute.kumulus.dev", "version": "v1", "resource": "servers"}
    assert r["requestKind"] == r["kind"] and r["requestResource"] == r["resource"]
    assert r["subResource"] == "status"
    assert (r["name"], r["namespace"], r["operation"]) == ("x", "team", "UPDATE")
    assert r["userInfo"]["username"] == "alice"
    assert r["object"] is new and r["oldObject"] is old
    assert r["dryRun"] is True
    assert r["options"] == {
        "kind": "UpdateOptions",
        "apiVersion": "meta.k8s.io/v1",
        "fieldManager": "m",
        "dryRun": ["All"],
    }
    create = admission.review_request(req(info=NODES), "u", new, None, dry_run=False, user="admin")["request"]
    assert "namespace" not in create and "subResource" not in create
    assert create["options"]["kind"] == "CreateOptions" and create["oldObject"] is None


def review_response(uid: str, **resp: Any) -> dict[str, Any]:
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": {"uid": uid, **resp}}


def test_parse_review_response() -> None:
    v = admission.parse_review_response(review_response("u", allowed=True, warnings=["w"]), "u", False)
    assert v.allowed and v.warnings == ["w"] and v.patch is None
    v = admission.parse_review_response(
        review_response("u", allowed=False, status={"code": 403, "message": "no"}), "u", False
    )
    assert not v.allowed and v.status["message"] == "no"
    with pytest.raises(admission.CallError, match=r"response\.uid"):
        admission.parse_review_response(review_response("v", allowed=True), "u", False)
    with pytest.raises(admission.CallError, match="AdmissionReview"):
        admission.parse_review_response({"apiVersion": "v1", "kind": "Status"}, "u", False)
    with pytest.raises(admission.CallError):
        admission.parse_review_response([], "u", False)
    ops = [{"op": "add", "path": "/metadata/labels/x", "value": "y"}]
    b64 = base64.b64encode(json.dumps(ops).encode()).decode()
    v = admission.parse_review_response(
        review_response("u", allowed=True, patchType="JSONPatch", patch=b64), "u", True
    )
    assert v.patch == ops
    with pytest.raises(admission.CallError, match="validating"):
        admission.parse_review_response(review_response("u", allowed=True, patch=b64), "u", False)
    with pytest.raises(admission.CallError, match="decode"):
        admission.parse_review_response(
            review_response("u", allowed=True, patchType="JSONPatch", patch="!"), "u", True
        )


def test_denied_status() -> None:
    err = admission.denied("v.example.dev", {"message": "too big"})
    assert (err.code, err.message) == (400, 'admission webhook "v.example.dev" denied the request: too big')
    err = admission.denied("v", {"code": 403, "reason": "Forbidden"})
    assert (err.code, err.reason, err.message) == (
        403,
        "Forbidden",
        'admission webhook "v" denied the request: Forbidden',
    )
    err = admission.denied("v", {"code": 200})
    assert err.code == 400 and err.message == 'admission webhook "v" denied the request without explanation'


def test_service_overrides_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(admission.SERVICES_ENV, '{"ns/hook:443": "https://127.0.0.1:9443"}')
    assert admission.service_overrides_from_env() == {"ns/hook:443": "https://127.0.0.1:9443"}
    monkeypatch.setenv(admission.SERVICES_ENV, "[1]")
    assert admission.service_overrides_from_env() == {}


# -- a real HTTPS webhook -------------------------------------------------------------------------------------

SANS = "IP:127.0.0.1,DNS:localhost,DNS:hook.webhooks.svc"
Responder = Callable[[str, dict[str, Any]], dict[str, Any]]


def allow(_: str, review: dict[str, Any]) -> dict[str, Any]:
    return {"allowed": True}


class WebhookServer:
    """An HTTPS webhook in a thread of its own; `respond(path, request)` gives the response fields."""

    def __init__(self, directory: Path, respond: Responder = allow) -> None:
        self.respond = respond
        self.reviews: list[tuple[str, dict[str, Any]]] = []
        self.cert, self.key = directory / "hook.crt", directory / "hook.key"
        subprocess.run(
            [
                *("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
                *("-nodes", "-keyout", str(self.key), "-out", str(self.cert), "-days", "2"),
                *("-subj", "/CN=webhook", "-addext", f"subjectAltName={SANS}"),
            ],
            check=True,
            capture_output=True,
        )
        self.ca_bundle = base64.b64encode(self.cert.read_bytes()).decode()
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    async def _handle(self, request: web.Request) -> web.Response:
        review = await request.json()
        self.reviews.append((request.path, review["request"]))
        if request.path.startswith("/slow"):
            await asyncio.sleep(3)
        fields = self.respond(request.path, review["request"])
        return web.json_response(
            {
                "apiVersion": "admission.k8s.io/v1",
                "kind": "AdmissionReview",
                "response": {"uid": review["request"]["uid"], **fields},
            }
        )

    async def _start(self) -> None:
        import ssl

        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert, self.key)
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=ctx)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    def start(self) -> WebhookServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def seen(self, path: str) -> list[dict[str, Any]]:
        return [r for p, r in self.reviews if p == path]


def config(kind: str, name: str, *webhooks: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": kind,
        "metadata": {"name": name},
        "webhooks": list(webhooks),
    }


def webhook(hook: WebhookServer, name: str, path: str, **kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": name,
        "clientConfig": {"url": hook.url(path), "caBundle": hook.ca_bundle},
        "rules": [
            {
                "operations": ["*"],
                "apiGroups": ["", "example.dev"],
                "apiVersions": ["v1"],
                "resources": ["*", "*/*"],
            }
        ],
        "sideEffects": "None",
        "admissionReviewVersions": ["v1"],
        "timeoutSeconds": 5,
    }
    return {**base, **kw}


VWC = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations"
MWC = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations"


@pytest.fixture
def hook(tmp_path: Path) -> Iterator[WebhookServer]:
    server = WebhookServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
async def api2(tmp_path: Path) -> AsyncIterator[tuple[TestClient[Any, Any], ApiServer]]:
    client, server = await make_client(tmp_path / "db.sqlite")
    status, _ = await call(client, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", CRD)
    assert status == 201
    yield client, server
    await client.close()
    server.close()


async def test_validating_webhook_in_process(
    api2: tuple[TestClient[Any, Any], ApiServer], hook: WebhookServer
) -> None:
    client, server = api2

    def respond(path: str, r: dict[str, Any]) -> dict[str, Any]:
        obj = r["object"] or r["oldObject"]
        if (obj.get("spec") or {}).get("n", 0) > 5:
            return {"allowed": False, "status": {"message": "n is too big"}}
        return {"allowed": True, "warnings": ["checked by v"]}

    hook.respond = respond
    status, _ = await call(
        client,
        "POST",
        VWC,
        config("ValidatingWebhookConfiguration", "v", webhook(hook, "v.example.dev", "/v")),
    )
    assert status == 201
    status, body = await call(client, "POST", THINGS, thing("big", 9))
    assert (status, body["message"]) == (
        400,
        'admission webhook "v.example.dev" denied the request: n is too big',
    )
    assert server.store.get("example.dev/things", "default", "big") is None
    resp = await client.post(
        THINGS, data=json.dumps(thing("ok", 1)), headers={"Authorization": "Bearer test-token"}
    )
    assert resp.status == 201
    assert resp.headers.getall("Warning") == ['299 - "checked by v"']
    created = await resp.json()
    entry = server.store.get("example.dev/things", "default", "ok")
    assert entry is not None and created["metadata"]["resourceVersion"] == str(entry.rv)
    seen = hook.seen("/v")[-1]
    assert seen["operation"] == "CREATE" and seen["object"]["metadata"]["uid"] == created["metadata"]["uid"]
    assert seen["userInfo"]["username"] == "admin"

    # Status subresource updates reach the webhook with subResource, the old and the new object.
    status, _ = await call(
        client, "PATCH", THINGS + "/ok/status", {"status": {"phase": "Up"}}, "application/merge-patch+json"
    )
    assert status == 200
    seen = hook.seen("/v")[-1]
    assert seen["subResource"] == "status" and seen["oldObject"]["metadata"]["name"] == "ok"
    assert seen["object"]["status"] == {"phase": "Up"}

    # Dry-run: nothing is stored, the webhook is told.
    status, _ = await call(client, "POST", THINGS + "?dryRun=All", thing("dry", 2))
    assert status == 201 and hook.seen("/v")[-1]["dryRun"] is True
    assert server.store.get("example.dev/things", "default", "dry") is None

    # DELETE carries the old object only; deletecollection admits every item.
    status, _ = await call(client, "DELETE", THINGS + "/ok")
    assert status == 200
    seen = hook.seen("/v")[-1]
    assert (
        seen["operation"] == "DELETE"
        and seen["object"] is None
        and seen["oldObject"]["metadata"]["name"] == "ok"
    )
    assert seen["options"]["kind"] == "DeleteOptions"

    # Writes to webhook configurations are never sent to webhooks.
    before = len(hook.reviews)
    status, _ = await call(client, "DELETE", VWC + "/v")
    assert status == 200 and len(hook.reviews) == before


async def test_write_retried_when_object_changes_during_call(
    api2: tuple[TestClient[Any, Any], ApiServer], hook: WebhookServer
) -> None:
    client, _ = api2
    status, _ = await call(client, "POST", CMS, {"metadata": {"name": "cm"}, "data": {"a": "1"}})
    assert status == 201
    raced: list[int] = []

    def respond(path: str, r: dict[str, Any]) -> dict[str, Any]:
        if not raced:  # change the object behind the write's back, once, while the webhook is called
            raced.append(1)
            fut = asyncio.run_coroutine_threadsafe(
                call(client, "PATCH", CMS + "/cm", {"data": {"b": "2"}}, "application/merge-patch+json"),
                loop,
            )
            assert fut.result(5)[0] == 200
        return {"allowed": True}

    loop = asyncio.get_running_loop()
    cfg = config(
        "ValidatingWebhookConfiguration",
        "v",
        webhook(hook, "v.example.dev", "/v", objectSelector={"matchLabels": {"race": "yes"}}),
    )
    assert (await call(client, "POST", VWC, cfg))[0] == 201
    hook.respond = respond
    # The racing PATCH has no label, so it is not admitted; the labelled one is and must be retried.
    status, body = await asyncio.wait_for(
        call(
            client,
            "PATCH",
            CMS + "/cm",
            {"metadata": {"labels": {"race": "yes"}}},
            "application/merge-patch+json",
        ),
        20,
    )
    assert status == 200
    assert body["data"] == {"a": "1", "b": "2"} and body["metadata"]["labels"] == {"race": "yes"}
    assert len(hook.seen("/v")) == 2


async def test_mutating_then_validating(
    api2: tuple[TestClient[Any, Any], ApiServer], hook: WebhookServer
) -> None:
    client, server = api2

    def respond(path: str, r: dict[str, Any]) -> dict[str, Any]:
        if path == "/m":
            ops: list[dict[str, Any]] = [
                {"op": "add", "path": "/metadata/labels", "value": {"mutated": "yes"}}
            ]
            ops.append({"op": "add", "path": "/spec/unknown", "value": 1})  # pruned, as kube does
            return {
                "allowed": True,
                "patchType": "JSONPatch",
                "patch": base64.b64encode(json.dumps(ops).encode()).decode(),
            }
        labels = r["object"]["metadata"].get("labels") or {}
        return {"allowed": labels.get("mutated") == "yes", "status": {"message": "not mutated"}}

    hook.respond = respond
    rules = [
        {
            "operations": ["CREATE"],
            "apiGroups": ["example.dev"],
            "apiVersions": ["v1"],
            "resources": ["things"],
        }
    ]
    assert (
        await call(
            client,
            "POST",
            MWC,
            config("MutatingWebhookConfiguration", "m", webhook(hook, "m", "/m", rules=rules)),
        )
    )[0] == 201
    assert (
        await call(
            client,
            "POST",
            VWC,
            config("ValidatingWebhookConfiguration", "v", webhook(hook, "v", "/v", rules=rules)),
        )
    )[0] == 201
    status, body = await call(client, "POST", THINGS, thing("t", 1))
    assert status == 201, body
    assert body["metadata"]["labels"] == {"mutated": "yes"} and "unknown" not in body["spec"]
    stored = server.store.get("example.dev/things", "default", "t")
    assert stored is not None and stored.labels == {"mutated": "yes"}
    assert stored.uid == body["metadata"]["uid"] == hook.seen("/v")[-1]["object"]["metadata"]["uid"]


async def test_failure_policy_and_dry_run(
    api2: tuple[TestClient[Any, Any], ApiServer], hook: WebhookServer
) -> None:
    client, _ = api2
    down = {"url": "https://127.0.0.1:1/none", "caBundle": hook.ca_bundle}
    fail = webhook(hook, "fail.example.dev", "/x", clientConfig=down)
    assert (await call(client, "POST", VWC, config("ValidatingWebhookConfiguration", "f", fail)))[0] == 201
    status, body = await call(client, "POST", CMS, {"metadata": {"name": "a"}})
    assert status == 500 and body["reason"] == "InternalError"
    assert body["message"].startswith('Internal error occurred: failed calling webhook "fail.example.dev": ')
    ignore = dict(fail, failurePolicy="Ignore")
    status, _ = await call(
        client, "PUT", VWC + "/f", config("ValidatingWebhookConfiguration", "f", ignore), "application/json"
    )
    assert status == 200
    assert (await call(client, "POST", CMS, {"metadata": {"name": "a"}}))[0] == 201

    # A webhook with side effects cannot take part in a dry run.
    side = webhook(hook, "side.example.dev", "/s", sideEffects="Some")
    assert (await call(client, "POST", VWC, config("ValidatingWebhookConfiguration", "s", side)))[0] == 201
    status, body = await call(client, "POST", CMS + "?dryRun=All", {"metadata": {"name": "b"}})
    assert (status, body["message"]) == (400, 'admission webhook "side.example.dev" does not support dry run')
    assert (await call(client, "POST", CMS, {"metadata": {"name": "b"}}))[0] == 201

    # A timeout is a call failure.
    slow = webhook(hook, "slow.example.dev", "/slow", timeoutSeconds=1)
    assert (await call(client, "POST", VWC, config("ValidatingWebhookConfiguration", "t", slow)))[0] == 201
    status, body = await call(client, "POST", CMS, {"metadata": {"name": "c"}})
    assert status == 500 and "slow.example.dev" in body["message"]

"""Untrusted input never yields a 5xx, and never changes what is stored."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from kumulus.apiserver.app import ApiServer

from .test_apiserver import AUTH, CMS, CRD, THINGS, call, make_client

SERVERS: dict[int, ApiServer] = {}
BODIES: list[bytes] = [
    b"",
    b"{",
    b"[]",
    b"null",
    b"42",
    b'"x"',
    b"\xff\xfe",
    b"[" * 100000 + b"]" * 100000,
    json.dumps({"metadata": "x"}).encode(),
    json.dumps({"metadata": {"name": 5}}).encode(),
    json.dumps({"metadata": {"name": "a", "labels": "x"}}).encode(),
    json.dumps({"metadata": {"name": "a", "labels": {"k": 1}}}).encode(),
    json.dumps({"metadata": {"name": "a", "finalizers": "x"}}).encode(),
    json.dumps({"metadata": {"name": "a", "ownerReferences": [{}]}}).encode(),
    json.dumps({"metadata": {"name": "a" * 300}}).encode(),
    json.dumps({"apiVersion": 5, "kind": [], "metadata": {"name": "a"}}).encode(),
    json.dumps({"metadata": {"name": "a"}, "spec": {"n": "notint"}}).encode(),
    json.dumps({"metadata": {"name": "a"}, "spec": [1]}).encode(),
    json.dumps([{"op": "replace", "path": "/metadata/name", "value": "b"}]).encode(),
    json.dumps([{"op": "bogus"}]).encode(),
]
CONTENT_TYPES = [
    "application/json",
    "application/yaml",
    "application/merge-patch+json",
    "application/json-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
    "application/vnd.kubernetes.protobuf",
    "text/plain",
]
QUERIES = [
    "?limit=abc",
    "?limit=-1",
    "?continue=%%%",
    "?labelSelector=a%20in%20(",
    "?labelSelector=!!",
    "?fieldSelector=spec.x=1",
    "?watch=true&resourceVersion=abc",
    "?watch=true&timeoutSeconds=abc",
    "?fieldValidation=Bogus",
    "?propagationPolicy=Sometimes",
]


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[TestClient[Any, Any]]:
    client, server = await make_client(tmp_path / "db.sqlite")
    SERVERS[id(client)] = server
    await call(client, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", CRD)
    await call(client, "POST", CMS, {"metadata": {"name": "a"}, "data": {"k": "v"}})
    await call(client, "POST", THINGS, {"metadata": {"name": "a"}, "spec": {"n": 1}})
    yield client
    await client.close()
    server.close()
    SERVERS.pop(id(client), None)


async def test_no_server_error_for_malformed_requests(api: TestClient[Any, Any]) -> None:
    store = SERVERS[id(api)].store
    for base in (CMS, THINGS):
        for method, path in (("POST", base), ("PUT", base + "/a"), ("PATCH", base + "/a")):
            for body in BODIES:
                for ctype in CONTENT_TYPES:
                    rv = store.rv
                    resp = await api.request(method, path, data=body, headers={**AUTH, "Content-Type": ctype})
                    text = await resp.read()
                    assert resp.status < 500, (method, path, ctype, body[:60], text[:300])
                    if resp.status >= 400:
                        assert json.loads(text)["kind"] == "Status"
                        assert store.rv == rv, "a rejected request must not write anything"
    assert (await call(api, "GET", CMS + "/a"))[0] == 200
    assert (await call(api, "GET", THINGS + "/a"))[0] == 200


async def test_no_server_error_for_malformed_queries(api: TestClient[Any, Any]) -> None:
    for base in (CMS, THINGS):
        for q in QUERIES:
            resp = await api.get(base + q, headers=AUTH)
            assert resp.status < 500, (q, await resp.read())
            resp.close()
    resp = await api.delete(CMS + "?labelSelector=a%20in%20(", headers=AUTH)
    assert resp.status == 400
    assert (await call(api, "GET", CMS + "/a"))[0] == 200


async def test_delete_with_malformed_options_deletes_nothing(api: TestClient[Any, Any]) -> None:
    for body in (b"{", b"[]", b"42", b'"x"', b"\xff", b"[" * 100000):
        resp = await api.delete(CMS + "/a", data=body, headers={**AUTH, "Content-Type": "application/json"})
        assert resp.status == 400, body[:20]
        assert (await resp.json())["kind"] == "Status"
    assert (await call(api, "GET", CMS + "/a"))[0] == 200

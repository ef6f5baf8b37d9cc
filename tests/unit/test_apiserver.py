"""The API server in-process (aiohttp test client, real SQLite): semantics clients depend on."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from kumulus.apiserver.app import ApiServer, ServerConfig
from kumulus.apiserver.store import Change, Store

TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "things.example.dev"},
    "spec": {
        "group": "example.dev",
        "scope": "Namespaced",
        "names": {"plural": "things", "singular": "thing", "kind": "Thing"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {"type": "object", "properties": {"n": {"type": "integer"}}},
                            "status": {"type": "object", "properties": {"phase": {"type": "string"}}},
                        },
                    }
                },
            }
        ],
    },
}
THINGS = "/apis/example.dev/v1/namespaces/default/things"
CMS = "/api/v1/namespaces/default/configmaps"


async def make_client(db: Path, **cfg: Any) -> tuple[TestClient[Any, Any], ApiServer]:
    server = ApiServer(str(db), ServerConfig(tokens={TOKEN: "admin"}, **cfg))
    client: TestClient[Any, Any] = TestClient(TestServer(server.app))
    await client.start_server()
    if server.store.get("/namespaces", "", "default") is None:
        await call(client, "POST", "/api/v1/namespaces", {"metadata": {"name": "default"}})
    return client, server


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[TestClient[Any, Any]]:
    client, server = await make_client(tmp_path / "db.sqlite", bookmark_interval=0.2, history_size=50)
    status, _ = await call(client, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", CRD)
    assert status == 201
    yield client
    await client.close()
    server.close()


async def call(
    client: TestClient[Any, Any], method: str, path: str, body: Any = None, ctype: str = "application/json"
) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    resp = await client.request(method, path, data=data, headers={**AUTH, "Content-Type": ctype})
    text = await resp.read()
    return resp.status, json.loads(text) if text else None


def thing(name: str, n: int = 1) -> dict[str, Any]:
    return {"apiVersion": "example.dev/v1", "kind": "Thing", "metadata": {"name": name}, "spec": {"n": n}}


async def read_watch(client: TestClient[Any, Any], path: str, count: int) -> list[dict[str, Any]]:
    resp = await client.get(path, headers=AUTH)
    assert resp.status == 200
    events = []
    while len(events) < count:
        line = await asyncio.wait_for(resp.content.readline(), 5)
        if not line:
            break
        events.append(json.loads(line))
    resp.close()
    return events


async def test_crd_served_at_once_and_removed_at_once(api: TestClient[Any, Any]) -> None:
    status, crd = await call(
        api, "GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/things.example.dev"
    )
    conds = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
    assert conds == {"NamesAccepted": "True", "Established": "True"}
    assert (await call(api, "POST", THINGS, thing("a")))[0] == 201
    status, _ = await call(
        api, "DELETE", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/things.example.dev"
    )
    assert status == 200
    for _ in range(50):
        if (await call(api, "GET", THINGS))[0] == 404:
            break
        await asyncio.sleep(0.05)
    assert (await call(api, "GET", THINGS))[0] == 404
    assert (await call(api, "GET", "/apis/example.dev/v1"))[0] == 404


async def test_generation_and_status_subresource(api: TestClient[Any, Any]) -> None:
    status, obj = await call(api, "POST", THINGS, thing("g") | {"status": {"phase": "ignored"}})
    assert status == 201 and obj["metadata"]["generation"] == 1 and "status" not in obj
    obj["spec"]["n"] = 2
    obj["status"] = {"phase": "ignored-too"}
    status, obj = await call(api, "PUT", THINGS + "/g", obj)
    assert status == 200 and obj["metadata"]["generation"] == 2 and "status" not in obj
    obj["status"] = {"phase": "Running"}
    obj["spec"]["n"] = 99
    status, obj = await call(api, "PUT", THINGS + "/g/status", obj)
    assert (
        obj["status"] == {"phase": "Running"} and obj["spec"]["n"] == 2 and obj["metadata"]["generation"] == 2
    )
    obj["metadata"]["labels"] = {"a": "b"}
    status, obj = await call(api, "PUT", THINGS + "/g", obj)
    assert obj["metadata"]["generation"] == 2 and obj["metadata"]["labels"] == {"a": "b"}


async def test_noop_update_keeps_resource_version(api: TestClient[Any, Any]) -> None:
    _, obj = await call(api, "POST", THINGS, thing("same"))
    rv = obj["metadata"]["resourceVersion"]
    status, again = await call(api, "PUT", THINGS + "/same", obj)
    assert status == 200 and again["metadata"]["resourceVersion"] == rv
    status, patched = await call(
        api, "PATCH", THINGS + "/same", {"spec": {"n": 1}}, "application/merge-patch+json"
    )
    assert patched["metadata"]["resourceVersion"] == rv


async def test_optimistic_concurrency(api: TestClient[Any, Any]) -> None:
    _, obj = await call(api, "POST", THINGS, thing("occ"))
    first = json.loads(json.dumps(obj))
    obj["spec"]["n"] = 5
    assert (await call(api, "PUT", THINGS + "/occ", obj))[0] == 200
    first["spec"]["n"] = 6
    status, body = await call(api, "PUT", THINGS + "/occ", first)
    assert status == 409 and body["reason"] == "Conflict"
    del first["metadata"]["resourceVersion"]
    status, body = await call(api, "PUT", THINGS + "/occ", first)
    assert status == 422 and body["details"]["causes"][0]["field"] == "metadata.resourceVersion"
    status, body = await call(
        api, "PATCH", THINGS + "/occ", {"metadata": {"resourceVersion": "1"}}, "application/merge-patch+json"
    )
    assert status == 409


async def test_dry_run_persists_nothing(api: TestClient[Any, Any]) -> None:
    status, obj = await call(api, "POST", THINGS + "?dryRun=All", thing("dry"))
    assert status == 201 and obj["metadata"]["name"] == "dry"
    assert (await call(api, "GET", THINGS + "/dry"))[0] == 404


async def test_generate_name(api: TestClient[Any, Any]) -> None:
    body = {"metadata": {"generateName": "gen-"}, "data": {}}
    _, a = await call(api, "POST", CMS, body)
    _, b = await call(api, "POST", CMS, body)
    assert a["metadata"]["name"].startswith("gen-") and a["metadata"]["name"] != b["metadata"]["name"]


async def test_finalizers_hold_deletion(api: TestClient[Any, Any]) -> None:
    body = thing("fin") | {"metadata": {"name": "fin", "finalizers": ["example.dev/x"]}}
    await call(api, "POST", THINGS, body)
    status, obj = await call(api, "DELETE", THINGS + "/fin")
    assert status == 200 and obj["metadata"]["deletionTimestamp"]
    obj["metadata"]["finalizers"] = ["example.dev/x", "example.dev/new"]
    status, err = await call(api, "PUT", THINGS + "/fin", obj)
    assert status == 422 and "no new finalizers" in err["message"]
    obj["metadata"]["finalizers"] = []
    status, _ = await call(api, "PUT", THINGS + "/fin", obj)
    assert status == 200
    assert (await call(api, "GET", THINGS + "/fin"))[0] == 404


async def test_terminating_namespace_refuses_new_content(api: TestClient[Any, Any]) -> None:
    await call(api, "POST", "/api/v1/namespaces", {"metadata": {"name": "gone"}})
    held = {"metadata": {"name": "held", "finalizers": ["example.dev/hold"]}}
    await call(api, "POST", "/api/v1/namespaces/gone/configmaps", held)
    status, ns = await call(api, "DELETE", "/api/v1/namespaces/gone")
    assert status == 200 and ns["status"]["phase"] == "Terminating"
    status, err = await call(api, "POST", "/api/v1/namespaces/gone/configmaps", {"metadata": {"name": "x"}})
    assert status == 403 and "being terminated" in err["message"]
    await asyncio.sleep(0.3)
    assert (await call(api, "GET", "/api/v1/namespaces/gone"))[0] == 200  # a finalizer still holds content
    await call(
        api,
        "PATCH",
        "/api/v1/namespaces/gone/configmaps/held",
        {"metadata": {"finalizers": None}},
        "application/merge-patch+json",
    )
    for _ in range(50):
        if (await call(api, "GET", "/api/v1/namespaces/gone"))[0] == 404:
            break
        await asyncio.sleep(0.05)
    assert (await call(api, "GET", "/api/v1/namespaces/gone"))[0] == 404


async def test_watch_from_compacted_version_is_gone(api: TestClient[Any, Any]) -> None:
    for i in range(60):  # history_size is 50
        await call(api, "POST", CMS, {"metadata": {"name": f"c{i}"}})
    events = await read_watch(api, CMS + "?watch=true&resourceVersion=2", 1)
    assert events[0]["type"] == "ERROR" and events[0]["object"]["code"] == 410
    _, listed = await call(api, "GET", CMS)
    rv = listed["metadata"]["resourceVersion"]
    await call(api, "POST", CMS, {"metadata": {"name": "fresh"}})
    events = await read_watch(api, f"{CMS}?watch=true&resourceVersion={rv}", 1)
    assert events[0]["type"] == "ADDED" and events[0]["object"]["metadata"]["name"] == "fresh"


async def test_watch_bookmarks_and_initial_events(api: TestClient[Any, Any]) -> None:
    await call(api, "POST", CMS, {"metadata": {"name": "one"}})
    events = await read_watch(
        api,
        CMS + "?watch=1&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan",
        3,
    )
    assert events[0]["type"] == "ADDED"
    assert events[1]["type"] == "BOOKMARK"
    assert events[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert events[2]["type"] == "BOOKMARK"  # periodic, bookmark_interval is 0.2 s


async def test_table_for_builtin(api: TestClient[Any, Any]) -> None:
    await call(api, "POST", CMS, {"metadata": {"name": "t"}, "data": {"a": "1", "b": "2"}})
    resp = await api.get(CMS, headers={**AUTH, "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})
    table = await resp.json()
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Data", "Age"]
    assert table["rows"][0]["cells"][:2] == ["t", 2]


async def test_body_limits_and_bad_input(api: TestClient[Any, Any]) -> None:
    resp = await api.post(CMS, data=b"x" * (3 * 1024 * 1024 + 10), headers=AUTH)
    assert resp.status == 413 and (await resp.json())["kind"] == "Status"
    for body in (b"[1,2]", b'"str"', b"{", b"null"):
        resp = await api.post(CMS, data=body, headers={**AUTH, "Content-Type": "application/json"})
        assert resp.status == 400, body
    resp = await api.post(
        CMS,
        data=b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: y}\n",
        headers={**AUTH, "Content-Type": "application/yaml"},
    )
    assert resp.status == 201
    resp = await api.get("/api/v1/namespaces", headers={"Authorization": "Bearer nope"})
    assert resp.status == 401


async def test_restart_keeps_objects_and_history(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    client, server = await make_client(db)
    await call(client, "POST", CMS, {"metadata": {"name": "kept"}})
    _, listed = await call(client, "GET", CMS)
    rv = int(listed["metadata"]["resourceVersion"])
    await call(client, "DELETE", CMS + "/kept")
    await client.close()
    server.close()
    client, server = await make_client(db)
    try:
        assert server.store.rv == rv + 1
        events = await read_watch(client, f"{CMS}?watch=true&resourceVersion={rv}", 1)
        assert events[0]["type"] == "DELETED" and events[0]["object"]["metadata"]["name"] == "kept"
    finally:
        await client.close()
        server.close()


def test_store_commit_is_atomic_and_rolls_back(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    good = Change("/configmaps", "ADDED", {"metadata": {"name": "a", "namespace": "n", "uid": "u1"}})
    bad = Change("/configmaps", "ADDED", {"metadata": {"name": "b", "namespace": "n", "uid": object()}})
    with pytest.raises(TypeError):
        store.commit([good, bad])
    assert store.rv == 0 and store.get("/configmaps", "n", "a") is None
    store.commit([Change("/configmaps", "ADDED", {"metadata": {"name": "a", "namespace": "n", "uid": "u1"}})])
    store.close()
    again = Store(tmp_path / "s.db")
    assert again.rv == 1 and again.get("/configmaps", "n", "a") is not None
    again.close()

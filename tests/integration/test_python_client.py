"""The official kubernetes Python client against `kumulus up`: CRUD, errors, paging, watch, GC."""

from __future__ import annotations

import json
import ssl
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from .cluster import Cluster, wait_for

pytestmark = pytest.mark.integration


def core(cluster: Cluster) -> client.CoreV1Api:
    return client.CoreV1Api(cluster.api_client())


def cm(name: str, **kw: Any) -> dict[str, Any]:
    meta = {"name": name, **kw}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"k": name}}


def raw(
    cluster: Cluster,
    method: str,
    path: str,
    body: bytes | None = None,
    token: str | None = "",
    content_type: str = "application/json",
) -> tuple[int, dict[str, Any]]:
    ctx = ssl.create_default_context(cafile=cluster.ca_file)
    req = urllib.request.Request(cluster.url + path, data=body, method=method)
    if token is not None:
        req.add_header("Authorization", f"Bearer {token or cluster.token}")
    req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_health_and_auth(cluster: Cluster) -> None:
    ctx = ssl.create_default_context(cafile=cluster.ca_file)
    for path in ("/readyz", "/livez"):
        with urllib.request.urlopen(cluster.url + path, context=ctx, timeout=5) as resp:
            assert resp.status == 200
    code, body = raw(cluster, "GET", "/api/v1/namespaces", token=None)
    assert code == 401 and body["reason"] == "Unauthorized" and body["kind"] == "Status"
    code, body = raw(cluster, "GET", "/api/v1/namespaces", token="wrong")
    assert code == 401


def test_error_shapes(cluster: Cluster, namespace: str) -> None:
    base = f"/api/v1/namespaces/{namespace}/configmaps"
    code, body = raw(cluster, "POST", base, b"{not json")
    assert code == 400 and body["reason"] == "BadRequest"
    code, body = raw(cluster, "GET", "/apis/nope.example.com/v1/things")
    assert code == 404 and body["reason"] == "NotFound"
    code, body = raw(cluster, "GET", base + "/missing")
    assert code == 404 and body["details"]["name"] == "missing"
    code, body = raw(
        cluster, "POST", base, json.dumps(cm("big") | {"data": {"x": "a" * (3 * 1024 * 1024)}}).encode()
    )
    assert code == 413 and body["code"] == 413
    code, body = raw(cluster, "POST", base, json.dumps(cm("Bad_Name")).encode())
    assert code == 422 and body["details"]["causes"][0]["field"] == "metadata.name"
    code, created = raw(cluster, "POST", base, json.dumps(cm("c1")).encode())
    assert code == 201
    code, body = raw(cluster, "POST", base, json.dumps(cm("c1")).encode())
    assert code == 409 and body["reason"] == "AlreadyExists"
    stale = created | {"data": {"k": "new"}}
    assert raw(cluster, "PUT", base + "/c1", json.dumps(stale).encode())[0] == 200
    code, body = raw(cluster, "PUT", base + "/c1", json.dumps(stale).encode())
    assert code == 409 and body["reason"] == "Conflict"
    code, body = raw(
        cluster, "PATCH", base + "/c1", b'{"data":{"k":1}}', content_type="application/merge-patch+json"
    )
    assert code in (400, 422) and body["kind"] == "Status"
    code, body = raw(cluster, "POST", "/api/v1/namespaces/absent-ns/configmaps", json.dumps(cm("x")).encode())
    assert code == 404 and "absent-ns" in body["message"]


def test_crud_paging_and_selectors(cluster: Cluster, namespace: str) -> None:
    api = core(cluster)
    for i in range(7):
        api.create_namespaced_config_map(
            namespace, cm(f"cm{i}", labels={"parity": "even" if i % 2 == 0 else "odd"})
        )
    names: list[str] = []
    token = None
    pages = 0
    while True:
        page = api.list_namespaced_config_map(namespace, limit=3, _continue=token)
        names += [i.metadata.name for i in page.items]
        pages += 1
        token = page.metadata._continue
        if not token:
            break
    assert names == [f"cm{i}" for i in range(7)] and pages == 3
    odd = api.list_namespaced_config_map(namespace, label_selector="parity=odd").items
    assert [i.metadata.name for i in odd] == ["cm1", "cm3", "cm5"]
    one = api.list_namespaced_config_map(namespace, field_selector="metadata.name=cm4").items
    assert [i.metadata.name for i in one] == ["cm4"]
    obj = api.read_namespaced_config_map("cm0", namespace)
    obj.data = {"k": "changed"}
    api.replace_namespaced_config_map("cm0", namespace, obj)
    assert api.read_namespaced_config_map("cm0", namespace).data == {"k": "changed"}
    api.delete_collection_namespaced_config_map(namespace, label_selector="parity=even")
    left = [i.metadata.name for i in api.list_namespaced_config_map(namespace).items]
    assert left == ["cm1", "cm3", "cm5"]


def test_resource_versions_increase_globally(cluster: Cluster, namespace: str) -> None:
    api = core(cluster)
    a = api.create_namespaced_config_map(namespace, cm("rv-a"))
    b = api.create_namespaced_config_map(namespace, cm("rv-b"))
    assert int(b.metadata.resource_version) > int(a.metadata.resource_version)
    assert a.metadata.uid != b.metadata.uid and a.metadata.creation_timestamp is not None


def test_garbage_collection_policies(cluster: Cluster, namespace: str) -> None:
    api = core(cluster)

    def owned(name: str, owner: Any) -> dict[str, Any]:
        ref = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "name": owner.metadata.name,
            "uid": owner.metadata.uid,
        }
        return cm(name, ownerReferences=[ref])

    def exists(name: str) -> bool:
        try:
            api.read_namespaced_config_map(name, namespace)
            return True
        except ApiException as exc:
            assert exc.status == 404
            return False

    owner = api.create_namespaced_config_map(namespace, cm("owner-bg"))
    api.create_namespaced_config_map(namespace, owned("dep-bg", owner))
    api.delete_namespaced_config_map("owner-bg", namespace, propagation_policy="Background")
    wait_for(lambda: not exists("dep-bg"))

    owner = api.create_namespaced_config_map(namespace, cm("owner-fg"))
    dep = owned("dep-fg", owner)
    dep["metadata"]["finalizers"] = ["test/hold"]
    dep["metadata"]["ownerReferences"][0]["blockOwnerDeletion"] = True  # only blocking dependents hold it
    api.create_namespaced_config_map(namespace, dep)
    api.delete_namespaced_config_map("owner-fg", namespace, propagation_policy="Foreground")
    wait_for(lambda: api.read_namespaced_config_map("dep-fg", namespace).metadata.deletion_timestamp)
    assert exists("owner-fg"), "foreground: the owner stays while a dependent exists"
    api.patch_namespaced_config_map("dep-fg", namespace, {"metadata": {"finalizers": None}})
    wait_for(lambda: not exists("owner-fg"))

    owner = api.create_namespaced_config_map(namespace, cm("owner-or"))
    api.create_namespaced_config_map(namespace, owned("dep-or", owner))
    api.delete_namespaced_config_map("owner-or", namespace, propagation_policy="Orphan")
    wait_for(lambda: not exists("owner-or"))
    assert not api.read_namespaced_config_map("dep-or", namespace).metadata.owner_references


def test_watch_sees_every_change_in_order(cluster: Cluster, namespace: str) -> None:
    api = core(cluster)
    start = api.list_namespaced_config_map(namespace).metadata.resource_version
    api.create_namespaced_config_map(namespace, cm("w1"))
    api.patch_namespaced_config_map("w1", namespace, {"data": {"k": "v2"}})
    api.delete_namespaced_config_map("w1", namespace)
    seen = []
    for ev in watch.Watch().stream(
        api.list_namespaced_config_map, namespace, resource_version=start, timeout_seconds=2
    ):
        seen.append((ev["type"], ev["object"].metadata.name))
    assert seen == [("ADDED", "w1"), ("MODIFIED", "w1"), ("DELETED", "w1")]


def test_label_selector_watch_transitions(cluster: Cluster, namespace: str) -> None:
    api = core(cluster)
    start = api.list_namespaced_config_map(namespace).metadata.resource_version
    api.create_namespaced_config_map(namespace, cm("sel", labels={"app": "x"}))
    api.patch_namespaced_config_map("sel", namespace, {"metadata": {"labels": {"app": "y"}}})
    api.patch_namespaced_config_map("sel", namespace, {"metadata": {"labels": {"app": "x"}}})
    seen = [
        ev["type"]
        for ev in watch.Watch().stream(
            api.list_namespaced_config_map,
            namespace,
            label_selector="app=x",
            resource_version=start,
            timeout_seconds=2,
        )
    ]
    assert seen == ["ADDED", "DELETED", "ADDED"]


def test_events_api_group(cluster: Cluster, namespace: str) -> None:
    ev = client.EventsV1Api(cluster.api_client())
    body = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": "e1"},
        "eventTime": "2026-01-01T00:00:00.000000Z",
        "reportingController": "test",
        "reportingInstance": "t",
        "action": "Test",
        "reason": "Tested",
        "type": "Normal",
        "note": "hello",
        "regarding": {"kind": "ConfigMap", "name": "x", "namespace": namespace},
    }
    ev.create_namespaced_event(namespace, body)
    assert [e.note for e in ev.list_namespaced_event(namespace).items] == ["hello"]


def test_restart_keeps_objects_and_watch_resumes(cluster: Cluster, namespace: str) -> None:
    api = core(cluster)
    start = api.list_namespaced_config_map(namespace).metadata.resource_version
    seen: list[str] = []
    resume = threading.Event()
    stop = threading.Event()

    def watcher() -> None:
        rv = start
        while not stop.is_set():
            try:
                w = watch.Watch()
                for ev in w.stream(
                    core(cluster).list_namespaced_config_map,
                    namespace,
                    resource_version=rv,
                    timeout_seconds=5,
                    _request_timeout=10,
                ):
                    rv = ev["object"].metadata.resource_version
                    seen.append(f"{ev['type']}:{ev['object'].metadata.name}")
            except Exception:
                resume.wait(30)  # server away: come back when told, from the last version seen
                time.sleep(0.2)

    t = threading.Thread(target=watcher, daemon=True)
    t.start()
    api.create_namespaced_config_map(namespace, cm("before"))
    wait_for(lambda: "ADDED:before" in seen)
    cluster.restart()
    api = core(cluster)
    api.create_namespaced_config_map(namespace, cm("after1"))  # while the watcher may still be away
    api.delete_namespaced_config_map("before", namespace)
    resume.set()
    api.create_namespaced_config_map(namespace, cm("after2"))
    wait_for(lambda: "ADDED:after2" in seen, timeout=30)
    stop.set()
    assert seen == ["ADDED:before", "ADDED:after1", "DELETED:before", "ADDED:after2"]

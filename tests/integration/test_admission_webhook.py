"""Admission webhooks against `kumulus up`, driven by kubectl, with a real HTTPS webhook in the test."""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kumulus.apiserver.admission import SERVICES_ENV

from ..unit.test_admission import WebhookServer
from .cluster import Cluster

DENY_MESSAGE = "size big is not allowed"


def respond(path: str, r: dict[str, Any]) -> dict[str, Any]:
    if path == "/mutate":
        labels = (r["object"]["metadata"].get("labels") or {}) | {"mutated": "yes"}
        patch = [{"op": "add", "path": "/metadata/labels", "value": labels}]
        return {
            "allowed": True,
            "patchType": "JSONPatch",
            "patch": base64.b64encode(json.dumps(patch).encode()).decode(),
        }
    obj = r["object"] or r["oldObject"] or {}
    if (obj.get("data") or {}).get("size") == "big":
        return {"allowed": False, "status": {"code": 403, "message": DENY_MESSAGE}}
    return {"allowed": True, "warnings": [f"{r['operation']} checked by {path}"]}


@pytest.fixture(scope="module")
def hook(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebhookServer]:
    server = WebhookServer(Path(tmp_path_factory.mktemp("hook")), respond).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, hook: WebhookServer) -> Iterator[Cluster]:
    c = Cluster(Path(tmp_path_factory.mktemp("kumulus")))
    saved = os.environ.get(SERVICES_ENV)
    os.environ[SERVICES_ENV] = json.dumps({"webhooks/hook:443": f"https://127.0.0.1:{hook.port}"})
    try:
        c.start()
    finally:
        if saved is None:
            del os.environ[SERVICES_ENV]
        else:
            os.environ[SERVICES_ENV] = saved
    yield c
    if c.proc is not None:
        c.stop()


@pytest.fixture
def namespace(cluster: Cluster) -> str:
    name = "t-" + uuid.uuid4().hex[:8]
    cluster.kubectl("create", "namespace", name)
    cluster.kubectl("label", "namespace", name, f"test={name}")
    return name


def register(
    cluster: Cluster, hook: WebhookServer, ns: str, path: str, kind: str = "Validating", **extra: Any
) -> str:
    """A webhook on configmaps in namespace `ns` only; returns the configuration's name."""
    name = f"{path.strip('/')}-{ns}"
    webhook: dict[str, Any] = {
        "name": f"{name}.kumulus.test",
        "clientConfig": {"url": hook.url(path), "caBundle": hook.ca_bundle},
        "rules": [
            {
                "operations": ["CREATE", "UPDATE", "DELETE"],
                "apiGroups": [""],
                "apiVersions": ["v1"],
                "resources": ["configmaps"],
                "scope": "Namespaced",
            }
        ],
        "namespaceSelector": {"matchLabels": {"test": ns}},
        "sideEffects": "None",
        "admissionReviewVersions": ["v1"],
        "timeoutSeconds": 5,
        **extra,
    }
    cfg = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": f"{kind}WebhookConfiguration",
        "metadata": {"name": name},
        "webhooks": [webhook],
    }
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(cfg))
    return name


def reviews(hook: WebhookServer, path: str, ns: str) -> list[dict[str, Any]]:
    return [r for r in hook.seen(path) if r.get("namespace") == ns]


def test_deny_allow_update_delete(cluster: Cluster, hook: WebhookServer, namespace: str) -> None:
    register(cluster, hook, namespace, "/validate")
    res = cluster.kubectl(
        "create", "configmap", "big", "--from-literal=size=big", "-n", namespace, check=False
    )
    assert res.returncode != 0
    assert (
        f'admission webhook "validate-{namespace}.kumulus.test" denied the request: {DENY_MESSAGE}'
        in res.stderr
    )
    assert cluster.kubectl("get", "configmap", "big", "-n", namespace, check=False).returncode != 0

    res = cluster.kubectl("create", "configmap", "small", "--from-literal=size=small", "-n", namespace)
    assert "configmap/small created" in res.stdout
    assert "Warning: CREATE checked by /validate" in res.stderr
    created = reviews(hook, "/validate", namespace)[-1]
    assert created["operation"] == "CREATE" and created["oldObject"] is None
    assert created["kind"] == {"group": "", "version": "v1", "kind": "ConfigMap"}
    assert created["resource"] == {"group": "", "version": "v1", "resource": "configmaps"}
    assert created["userInfo"]["username"] == "admin"

    cluster.kubectl("label", "configmap", "small", "color=blue", "-n", namespace)
    updated = reviews(hook, "/validate", namespace)[-1]
    assert updated["operation"] == "UPDATE"
    assert updated["oldObject"]["metadata"].get("labels") is None
    assert updated["object"]["metadata"]["labels"] == {"color": "blue"}

    patch = json.dumps({"data": {"size": "big"}})
    res = cluster.kubectl("patch", "configmap", "small", "-n", namespace, "-p", patch, check=False)
    assert res.returncode != 0 and DENY_MESSAGE in res.stderr

    cluster.kubectl("delete", "configmap", "small", "-n", namespace)
    deleted = reviews(hook, "/validate", namespace)[-1]
    assert deleted["operation"] == "DELETE" and deleted["object"] is None
    assert deleted["oldObject"]["metadata"]["name"] == "small"


def test_selectors_exclude(cluster: Cluster, hook: WebhookServer, namespace: str) -> None:
    register(cluster, hook, namespace, "/objsel", objectSelector={"matchLabels": {"checked": "yes"}})
    other = "o-" + uuid.uuid4().hex[:8]
    cluster.kubectl("create", "namespace", other)  # not labelled test=<namespace>
    cluster.kubectl("create", "configmap", "a", "-n", other)
    cluster.kubectl("create", "configmap", "a", "-n", namespace)  # no checked=yes label
    assert reviews(hook, "/objsel", other) == [] and reviews(hook, "/objsel", namespace) == []
    cluster.kubectl("label", "configmap", "a", "checked=yes", "-n", namespace)
    assert [r["operation"] for r in reviews(hook, "/objsel", namespace)] == ["UPDATE"]
    cluster.kubectl("label", "configmap", "a", "checked-", "-n", namespace)  # the old object matches
    assert len(reviews(hook, "/objsel", namespace)) == 2
    cluster.kubectl("delete", "namespace", other, "--wait=false")


def test_failure_policy(cluster: Cluster, hook: WebhookServer, namespace: str) -> None:
    down = {"url": "https://127.0.0.1:1/down", "caBundle": hook.ca_bundle}
    name = register(cluster, hook, namespace, "/down", clientConfig=down)
    res = cluster.kubectl("create", "configmap", "a", "-n", namespace, check=False)
    assert res.returncode != 0
    assert f'failed calling webhook "{name}.kumulus.test"' in res.stderr
    register(cluster, hook, namespace, "/down", clientConfig=down, failurePolicy="Ignore")
    cluster.kubectl("create", "configmap", "a", "-n", namespace)


def test_dry_run(cluster: Cluster, hook: WebhookServer, namespace: str) -> None:
    name = register(cluster, hook, namespace, "/validate")
    res = cluster.kubectl("create", "configmap", "d", "-n", namespace, "--dry-run=server")
    assert "created (server dry run)" in res.stdout
    assert reviews(hook, "/validate", namespace)[-1]["dryRun"] is True
    assert cluster.kubectl("get", "configmap", "d", "-n", namespace, check=False).returncode != 0
    cluster.kubectl("delete", "validatingwebhookconfiguration", name)
    register(cluster, hook, namespace, "/sidefx", sideEffects="Some")
    res = cluster.kubectl("create", "configmap", "d", "-n", namespace, "--dry-run=server", check=False)
    assert res.returncode != 0
    assert f'admission webhook "sidefx-{namespace}.kumulus.test" does not support dry run' in res.stderr
    cluster.kubectl("create", "configmap", "d", "-n", namespace)


def test_mutating_webhook_adds_label(cluster: Cluster, hook: WebhookServer, namespace: str) -> None:
    register(cluster, hook, namespace, "/mutate", kind="Mutating")
    register(cluster, hook, namespace, "/validate")
    cluster.kubectl("create", "configmap", "m", "--from-literal=k=v", "-n", namespace)
    got = json.loads(cluster.kubectl("get", "configmap", "m", "-n", namespace, "-o", "json").stdout)
    assert got["metadata"]["labels"] == {"mutated": "yes"}
    # The validating webhook saw the mutated object.
    assert reviews(hook, "/validate", namespace)[-1]["object"]["metadata"]["labels"] == {"mutated": "yes"}


def test_service_client_config_through_override(
    cluster: Cluster, hook: WebhookServer, namespace: str
) -> None:
    service = {
        "service": {"namespace": "webhooks", "name": "hook", "port": 443, "path": "/svc"},
        "caBundle": hook.ca_bundle,
    }
    register(cluster, hook, namespace, "/svc", clientConfig=service)
    res = cluster.kubectl("create", "configmap", "s", "-n", namespace)
    assert "Warning: CREATE checked by /svc" in res.stderr
    unmapped = {"service": {"namespace": "webhooks", "name": "nowhere"}, "caBundle": hook.ca_bundle}
    register(cluster, hook, namespace, "/svc", clientConfig=unmapped)
    res = cluster.kubectl("create", "configmap", "s2", "-n", namespace, check=False)
    assert res.returncode != 0 and 'service "webhooks/nowhere" cannot be reached' in res.stderr

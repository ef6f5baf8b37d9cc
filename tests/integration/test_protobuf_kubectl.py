"""kubectl's typed `create` commands POST protobuf bodies; `kumulus up` must store the same objects as JSON.

Checked with `kubectl ... -v=8` (kubectl v1.32): these send `Content-Type:
application/vnd.kubernetes.protobuf` — `create namespace`, `create configmap`, `create secret generic`,
`create secret docker-registry`, `create serviceaccount`, `create role`, `create rolebinding`,
`create clusterrole` (also with `--aggregation-rule`), `create clusterrolebinding`, with or without
`--save-config` and `--dry-run=server`.  `apply`, `create -f`, `delete`, `label`, `patch` send JSON.
Every test below also asserts, from the -v=8 log, that the write really went out as protobuf.
"""

from __future__ import annotations

import base64
import json
import re
import ssl
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from .cluster import Cluster

pytestmark = pytest.mark.integration

PROTOBUF = "application/vnd.kubernetes.protobuf"

# kubectl <= 1.32 logs "round_trippers.go:N] POST URL" then "    Content-Type: X" lines; kubectl >= 1.33 logs
# '"Request" verb="POST" url="URL" headers=<' followed by tab-indented "Content-Type: X" lines.
_REQUEST = re.compile(
    r'round_trippers\.go:\d+\] (?:(POST|PUT|PATCH|DELETE) (\S+)|"Request" verb="(POST|PUT|PATCH|DELETE)" url="([^"]+)")'
)
_CONTENT_TYPE = re.compile(r"^(?:.*round_trippers\.go:\d+\])?\s+Content-Type: (\S+)")


def create(cluster: Cluster, *args: str) -> str:
    """Run `kubectl create ...` at -v=8, assert its write was protobuf; returns stdout."""
    res = cluster.kubectl("create", *args, "-v=8")
    writes: list[tuple[str, str, str]] = []
    for line in res.stderr.splitlines():
        if m := _REQUEST.search(line):
            writes.append((m.group(1) or m.group(3), m.group(2) or m.group(4), ""))
        elif (m := _CONTENT_TYPE.search(line)) and writes and not writes[-1][2]:
            method, url, _ = writes[-1]
            writes[-1] = (method, url, m.group(1))
    assert writes, res.stderr[-2000:]
    assert all(ct == PROTOBUF for _, _, ct in writes), writes
    return res.stdout


def get(cluster: Cluster, *args: str) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(cluster.kubectl("get", *args, "-o", "json").stdout)
    return obj


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_create_namespace(cluster: Cluster) -> None:
    name = "pb-" + uuid.uuid4().hex[:8]
    assert create(cluster, "namespace", name).strip() == f"namespace/{name} created"
    ns = get(cluster, "namespace", name)
    assert ns["kind"] == "Namespace" and ns["apiVersion"] == "v1"
    assert ns["metadata"]["name"] == name and ns["metadata"]["uid"]
    assert ns["metadata"]["creationTimestamp"].endswith("Z")
    assert ns["status"]["phase"] == "Active"
    cluster.kubectl("delete", "namespace", name, "--wait=false")


def test_create_configmap_literals_and_binary_file(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"\x00\xff\xfe binary")
    text = tmp_path / "greeting.txt"
    text.write_text("héllo\nwörld\n")
    create(
        cluster,
        "configmap",
        "cfg",
        "-n",
        namespace,
        "--from-literal=a=1",
        "--from-literal=spaced=two words",
        f"--from-file={text}",
        f"--from-file=blob={blob}",
    )
    cm = get(cluster, "configmap", "cfg", "-n", namespace)
    assert cm["metadata"]["namespace"] == namespace
    assert cm["data"] == {"a": "1", "spaced": "two words", "greeting.txt": "héllo\nwörld\n"}
    assert cm["binaryData"] == {"blob": base64.b64encode(b"\x00\xff\xfe binary").decode()}


def test_create_configmap_save_config_sends_annotations(cluster: Cluster, namespace: str) -> None:
    create(cluster, "configmap", "saved", "-n", namespace, "--from-literal=k=v", "--save-config")
    cm = get(cluster, "configmap", "saved", "-n", namespace)
    last = json.loads(cm["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"])
    assert last["data"] == {"k": "v"} and last["metadata"]["name"] == "saved"


def test_create_configmap_server_dry_run(cluster: Cluster, namespace: str) -> None:
    out = create(
        cluster, "configmap", "dry", "-n", namespace, "--from-literal=k=v", "--dry-run=server", "-o", "json"
    )
    assert json.loads(out)["data"] == {"k": "v"}
    assert cluster.kubectl("get", "configmap", "dry", "-n", namespace, check=False).returncode != 0


def test_create_secret_generic(cluster: Cluster, namespace: str) -> None:
    create(
        cluster,
        "secret",
        "generic",
        "creds",
        "-n",
        namespace,
        "--from-literal=user=admin",
        "--from-literal=password=s3cr=t!",
        "--type=example.com/creds",
    )
    secret = get(cluster, "secret", "creds", "-n", namespace)
    assert secret["type"] == "example.com/creds"
    assert secret["data"] == {"user": b64("admin"), "password": b64("s3cr=t!")}
    assert base64.b64decode(secret["data"]["password"]) == b"s3cr=t!"


def test_create_secret_docker_registry(cluster: Cluster, namespace: str) -> None:
    create(
        cluster,
        "secret",
        "docker-registry",
        "pull",
        "-n",
        namespace,
        "--docker-server=registry.example.com",
        "--docker-username=bob",
        "--docker-password=hunter2",
        "--docker-email=bob@example.com",
    )
    secret = get(cluster, "secret", "pull", "-n", namespace)
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    config = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))
    auth = config["auths"]["registry.example.com"]
    assert auth["username"] == "bob" and auth["password"] == "hunter2" and auth["email"] == "bob@example.com"
    assert base64.b64decode(auth["auth"]) == b"bob:hunter2"


def test_create_serviceaccount(cluster: Cluster, namespace: str) -> None:
    assert (
        create(cluster, "serviceaccount", "robot", "-n", namespace).strip() == "serviceaccount/robot created"
    )
    sa = get(cluster, "serviceaccount", "robot", "-n", namespace)
    assert sa["kind"] == "ServiceAccount"
    assert sa["metadata"]["name"] == "robot" and sa["metadata"]["namespace"] == namespace


def test_create_role(cluster: Cluster, namespace: str) -> None:
    create(
        cluster,
        "role",
        "reader",
        "-n",
        namespace,
        "--verb=get,list",
        "--verb=watch",
        "--resource=configmaps,secrets",
        "--resource=leases.coordination.k8s.io",
        "--resource-name=one",
    )
    role = get(cluster, "role", "reader", "-n", namespace)
    rules = sorted(role["rules"], key=lambda r: r["apiGroups"])
    assert rules == [
        {
            "verbs": ["get", "list", "watch"],
            "apiGroups": [""],
            "resources": ["configmaps", "secrets"],
            "resourceNames": ["one"],
        },
        {
            "verbs": ["get", "list", "watch"],
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "resourceNames": ["one"],
        },
    ]


def test_create_rolebinding(cluster: Cluster, namespace: str) -> None:
    create(
        cluster,
        "rolebinding",
        "readers",
        "-n",
        namespace,
        "--role=reader",
        f"--serviceaccount={namespace}:robot",
        "--user=alice",
        "--group=devs",
    )
    rb = get(cluster, "rolebinding", "readers", "-n", namespace)
    assert rb["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"}
    assert rb["subjects"] == [
        {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "alice"},
        {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "devs"},
        {"kind": "ServiceAccount", "name": "robot", "namespace": namespace},
    ]
    create(cluster, "rolebinding", "via-cluster-role", "-n", namespace, "--clusterrole=view", "--user=bob")
    rb = get(cluster, "rolebinding", "via-cluster-role", "-n", namespace)
    assert rb["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}


def test_create_clusterrole_and_binding(cluster: Cluster) -> None:
    name = "pb-" + uuid.uuid4().hex[:8]
    create(
        cluster,
        "clusterrole",
        name,
        "--verb=get",
        "--resource=configmaps",
        "--non-resource-url=/healthz",
        "--non-resource-url=/version",
    )
    cr = get(cluster, "clusterrole", name)
    assert cr["metadata"]["name"] == name and "namespace" not in cr["metadata"]
    assert cr["rules"] == [
        {"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"]},
        {"verbs": ["get"], "nonResourceURLs": ["/healthz", "/version"]},
    ]
    create(
        cluster,
        "clusterrolebinding",
        name,
        f"--clusterrole={name}",
        "--user=alice",
        "--group=ops",
        "--serviceaccount=kube-system:robot",
    )
    crb = get(cluster, "clusterrolebinding", name)
    assert crb["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name}
    assert crb["subjects"] == [
        {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "alice"},
        {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "ops"},
        {"kind": "ServiceAccount", "name": "robot", "namespace": "kube-system"},
    ]
    cluster.kubectl("delete", "clusterrolebinding", name)
    cluster.kubectl("delete", "clusterrole", name)


def test_create_aggregated_clusterrole(cluster: Cluster) -> None:
    name = "pb-" + uuid.uuid4().hex[:8]
    create(cluster, "clusterrole", name, "--aggregation-rule=example.com/aggregate=true,tier=admin")
    cr = get(cluster, "clusterrole", name)
    assert cr["aggregationRule"] == {
        "clusterRoleSelectors": [{"matchLabels": {"example.com/aggregate": "true", "tier": "admin"}}]
    }
    cluster.kubectl("delete", "clusterrole", name)


# --- the server's answers to protobuf it cannot use ----------------------------------------------------


def _post(cluster: Cluster, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(
        cluster.url + path,
        data=body,
        method="POST",
        headers={
            "Authorization": f"Bearer {cluster.token}",
            "Content-Type": PROTOBUF,
            "Accept": "application/json",
        },
    )
    ctx = ssl.create_default_context(cafile=cluster.ca_file)
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _ld(num: int, payload: bytes) -> bytes:
    assert len(payload) < 128
    return bytes([num << 3 | 2, len(payload)]) + payload


def test_protobuf_of_an_undecodable_kind_is_415(cluster: Cluster, namespace: str) -> None:
    body = b"k8s\x00" + _ld(1, _ld(1, b"apps/v1") + _ld(2, b"Deployment")) + _ld(2, _ld(1, _ld(1, b"d")))
    code, status = _post(cluster, f"/api/v1/namespaces/{namespace}/configmaps", body)
    assert code == 415 and status["reason"] == "UnsupportedMediaType"


def test_malformed_protobuf_is_400(cluster: Cluster, namespace: str) -> None:
    code, status = _post(cluster, f"/api/v1/namespaces/{namespace}/configmaps", b"k8s\x00\x0a\x05ab")
    assert code == 400 and status["reason"] == "BadRequest"


def test_handmade_protobuf_configmap_is_created(cluster: Cluster, namespace: str) -> None:
    entry = _ld(2, _ld(1, b"k") + _ld(2, b"v"))
    raw = _ld(1, _ld(1, b"handmade")) + entry
    body = b"k8s\x00" + _ld(1, _ld(1, b"v1") + _ld(2, b"ConfigMap")) + _ld(2, raw)
    code, obj = _post(cluster, f"/api/v1/namespaces/{namespace}/configmaps", body)
    assert code == 201, obj
    assert obj["metadata"]["name"] == "handmade" and obj["data"] == {"k": "v"}

"""The real kubectl binary against `kumulus up`: everything users do day to day."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

from .cluster import Cluster, wait_for

DATA = Path(__file__).parent / "data"

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", autouse=True)
def widgets_crd(cluster: Cluster) -> None:
    out = cluster.kubectl("apply", "-f", str(DATA / "widgets-crd.yaml")).stdout
    assert "customresourcedefinition.apiextensions.k8s.io/widgets.test.kumulus.dev" in out
    cluster.kubectl("wait", "--for=condition=Established", "crd/widgets.test.kumulus.dev", "--timeout=10s")


def widget(name: str, ns: str, **spec: object) -> str:
    body = {
        "apiVersion": "test.kumulus.dev/v1alpha1",
        "kind": "Widget",
        "metadata": {"name": name, "namespace": ns},
        "spec": spec or {"size": 3},
    }
    return yaml.safe_dump(body)


def test_api_resources_lists_crd_with_short_names(cluster: Cluster) -> None:
    out = cluster.kubectl("api-resources", "--api-group=test.kumulus.dev").stdout
    line = next(row for row in out.splitlines() if row.startswith("widgets"))
    assert line.split()[:5] == ["widgets", "wd", "test.kumulus.dev/v1alpha1", "true", "Widget"]
    core = cluster.kubectl("api-resources").stdout
    assert "configmaps" in core and "leases" in core and "customresourcedefinitions" in core


def test_apply_creates_then_updates(cluster: Cluster, namespace: str) -> None:
    out = cluster.kubectl("apply", "-f", "-", input=widget("w1", namespace, size=3)).stdout
    assert "widget.test.kumulus.dev/w1 created" in out
    out = cluster.kubectl("apply", "-f", "-", input=widget("w1", namespace, size=4)).stdout
    assert "widget.test.kumulus.dev/w1 configured" in out
    obj = json.loads(cluster.kubectl("get", "widget", "w1", "-n", namespace, "-o", "json").stdout)
    assert obj["spec"] == {"size": 4, "color": "red"}  # defaulted colour
    assert obj["metadata"]["generation"] == 2
    out = cluster.kubectl("apply", "-f", "-", input=widget("w1", namespace, size=4)).stdout
    assert "unchanged" in out


def test_get_table_yaml_jsonpath(cluster: Cluster, namespace: str) -> None:
    cluster.kubectl("apply", "-f", "-", input=widget("w2", namespace, size=7, color="blue"))
    table = cluster.kubectl("get", "widgets", "-n", namespace).stdout.splitlines()
    assert table[0].split() == ["NAME", "COLOR", "SIZE", "READY", "AGE"]
    row = table[1].split()
    assert row[:3] == ["w2", "blue", "7"]  # READY has no value yet: kubectl prints an empty cell
    assert len(row) == 4 and row[3].endswith("s")
    doc = yaml.safe_load(cluster.kubectl("get", "wd", "w2", "-n", namespace, "-o", "yaml").stdout)
    assert doc["spec"]["color"] == "blue" and doc["metadata"]["uid"]
    size = cluster.kubectl("get", "widget", "w2", "-n", namespace, "-o", "jsonpath={.spec.size}").stdout
    assert size == "7"
    cats = cluster.kubectl("get", "kumulus-test", "-n", namespace, "-o", "name").stdout
    assert cats.split() == ["widget.test.kumulus.dev/w2"]


def test_field_selector_on_selectable_field(cluster: Cluster, namespace: str) -> None:
    cluster.kubectl("apply", "-f", "-", input=widget("red1", namespace, size=1))
    cluster.kubectl("apply", "-f", "-", input=widget("blue1", namespace, size=1, color="blue"))
    out = cluster.kubectl(
        "get", "widgets", "-n", namespace, "--field-selector", "spec.color=blue", "-o", "name"
    ).stdout
    assert out.split() == ["widget.test.kumulus.dev/blue1"]
    bad = cluster.kubectl("get", "widgets", "-n", namespace, "--field-selector", "spec.size=1", check=False)
    assert bad.returncode != 0 and "field label not supported: spec.size" in bad.stderr


def test_invalid_object_names_the_field(cluster: Cluster, namespace: str) -> None:
    body = {
        "apiVersion": "test.kumulus.dev/v1alpha1",
        "kind": "Widget",
        "metadata": {"name": "bad", "namespace": namespace},
        "spec": {"color": "red"},
    }
    res = cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(body), check=False)
    assert res.returncode != 0
    assert 'The Widget "bad" is invalid: ' in res.stderr and "spec.size: Required value" in res.stderr
    body["spec"] = {"size": 500, "color": "pink"}
    res = cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(body), check=False)
    assert (
        "spec.size: Invalid value: 500: spec.size in body should be less than or equal to 100" in res.stderr
    )
    assert 'spec.color: Unsupported value: "pink"' in res.stderr
    body["spec"] = {"size": 1, "bogus": True}
    res = cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(body), check=False)
    assert res.returncode != 0 and 'unknown field "spec.bogus"' in res.stderr
    assert cluster.kubectl("get", "widget", "bad", "-n", namespace, check=False).returncode != 0


def test_immutable_field_via_cel_transition_rule(cluster: Cluster, namespace: str) -> None:
    cluster.kubectl("apply", "-f", "-", input=widget("cel", namespace, size=1, shape="round"))
    res = cluster.kubectl(
        "apply", "-f", "-", input=widget("cel", namespace, size=1, shape="square"), check=False
    )
    assert res.returncode != 0 and "shape is immutable" in res.stderr
    shape = cluster.kubectl("get", "widget", "cel", "-n", namespace, "-o", "jsonpath={.spec.shape}").stdout
    assert shape == "round"


def test_patch_label_annotate(cluster: Cluster, namespace: str) -> None:
    cluster.kubectl("apply", "-f", "-", input=widget("p1", namespace, size=1))
    cluster.kubectl("patch", "widget", "p1", "-n", namespace, "--type=merge", "-p", '{"spec":{"size":9}}')
    cluster.kubectl(
        "patch",
        "widget",
        "p1",
        "-n",
        namespace,
        "--type=json",
        "-p",
        '[{"op":"add","path":"/spec/tags","value":["a","b"]}]',
    )
    cluster.kubectl(
        "patch",
        "widget",
        "p1",
        "-n",
        namespace,
        "--subresource=status",
        "--type=merge",
        "-p",
        '{"status":{"phase":"Running"}}',
    )
    cluster.kubectl("label", "widget", "p1", "-n", namespace, "tier=gold")
    cluster.kubectl("annotate", "widget", "p1", "-n", namespace, "note=hello world")
    obj = json.loads(cluster.kubectl("get", "widget", "p1", "-n", namespace, "-o", "json").stdout)
    assert obj["spec"]["size"] == 9 and obj["spec"]["tags"] == ["a", "b"]
    assert obj["status"] == {"phase": "Running"}
    assert obj["metadata"]["labels"] == {"tier": "gold"}
    assert obj["metadata"]["annotations"]["note"] == "hello world"
    assert obj["metadata"]["generation"] == 3  # two spec patches; status and metadata do not count
    # status cannot be changed through the main resource
    cluster.kubectl(
        "patch", "widget", "p1", "-n", namespace, "--type=merge", "-p", '{"status":{"phase":"X"}}'
    )
    phase = cluster.kubectl("get", "widget", "p1", "-n", namespace, "-o", "jsonpath={.status.phase}").stdout
    assert phase == "Running"
    listed = cluster.kubectl("get", "widgets", "-n", namespace, "-l", "tier=gold", "-o", "name").stdout
    assert listed.split() == ["widget.test.kumulus.dev/p1"]


def test_describe_shows_fields_and_events(cluster: Cluster, namespace: str) -> None:
    cluster.kubectl("apply", "-f", "-", input=widget("d1", namespace, size=2))
    uid = cluster.kubectl("get", "widget", "d1", "-n", namespace, "-o", "jsonpath={.metadata.uid}").stdout
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "d1.1", "namespace": namespace},
        "involvedObject": {
            "apiVersion": "test.kumulus.dev/v1alpha1",
            "kind": "Widget",
            "name": "d1",
            "namespace": namespace,
            "uid": uid,
        },
        "reason": "Polished",
        "message": "the widget shines",
        "type": "Normal",
        "count": 1,
        "firstTimestamp": "2026-01-01T00:00:00Z",
        "lastTimestamp": "2026-01-01T00:00:00Z",
        "source": {"component": "test"},
    }
    cluster.kubectl("create", "-f", "-", input=json.dumps(event))
    out = cluster.kubectl("describe", "widget", "d1", "-n", namespace).stdout
    assert "Name:" in out and "d1" in out and "Size:" in out
    assert "Polished" in out and "the widget shines" in out


def test_explain_shows_descriptions(cluster: Cluster) -> None:
    out = cluster.kubectl("explain", "widgets").stdout
    assert "A Widget is a test resource" in out
    out = cluster.kubectl("explain", "widgets.spec.size").stdout
    assert "How big the widget is" in out
    out = cluster.kubectl("explain", "widgets.metadata.name").stdout
    assert "Name must be unique" in out


def test_get_watch_streams_changes(cluster: Cluster, namespace: str) -> None:
    cluster.kubectl("apply", "-f", "-", input=widget("w-watch", namespace, size=1))
    proc = cluster.kubectl_bg(
        "get",
        "widgets",
        "-n",
        namespace,
        "-w",
        "-o",
        "custom-columns=N:.metadata.name,S:.spec.size",
        "--no-headers",
    )
    try:
        time.sleep(1.5)
        cluster.kubectl(
            "patch", "widget", "w-watch", "-n", namespace, "--type=merge", "-p", '{"spec":{"size":5}}'
        )
        time.sleep(1.5)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    rows = [line.split() for line in out.splitlines() if line.strip()]
    assert ["w-watch", "1"] in rows and ["w-watch", "5"] in rows


def test_delete_waits_for_finalizers(cluster: Cluster, namespace: str) -> None:
    body = yaml.safe_load(widget("fin", namespace, size=1))
    body["metadata"]["finalizers"] = ["test.kumulus.dev/hold"]
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(body))
    proc = cluster.kubectl_bg("delete", "widget", "fin", "-n", namespace, "--timeout=30s")
    time.sleep(2)
    assert proc.poll() is None, "kubectl delete must wait while a finalizer remains"
    obj = json.loads(cluster.kubectl("get", "widget", "fin", "-n", namespace, "-o", "json").stdout)
    assert obj["metadata"]["deletionTimestamp"]
    cluster.kubectl(
        "patch", "widget", "fin", "-n", namespace, "--type=merge", "-p", '{"metadata":{"finalizers":null}}'
    )
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert 'widget.test.kumulus.dev "fin" deleted' in out
    assert cluster.kubectl("get", "widget", "fin", "-n", namespace, check=False).returncode != 0


def test_wait_for_condition_and_delete(cluster: Cluster, namespace: str) -> None:
    cluster.kubectl("apply", "-f", "-", input=widget("wt", namespace, size=1))
    waiter = cluster.kubectl_bg(
        "wait", "--for=condition=Ready", "widget/wt", "-n", namespace, "--timeout=30s"
    )
    time.sleep(1)
    status = {
        "status": {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "Done",
                    "lastTransitionTime": "2026-01-01T00:00:00Z",
                }
            ]
        }
    }
    cluster.kubectl(
        "patch",
        "widget",
        "wt",
        "-n",
        namespace,
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps(status),
    )
    out, err = waiter.communicate(timeout=30)
    assert waiter.returncode == 0, err
    assert "condition met" in out
    deleter = cluster.kubectl_bg("wait", "--for=delete", "widget/wt", "-n", namespace, "--timeout=30s")
    time.sleep(1)
    cluster.kubectl("delete", "widget", "wt", "-n", namespace, "--wait=false")
    out, err = deleter.communicate(timeout=30)
    assert deleter.returncode == 0, err


def test_builtin_kinds_roundtrip(cluster: Cluster, namespace: str) -> None:
    cluster.kubectl("create", "configmap", "cfg", "-n", namespace, "--from-literal=a=1")
    cluster.kubectl(
        "apply",
        "-f",
        "-",
        input=yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "cfg", "namespace": namespace},
                "data": {"a": "2", "b": "3"},
            }
        ),
    )
    data = json.loads(cluster.kubectl("get", "cm", "cfg", "-n", namespace, "-o", "jsonpath={.data}").stdout)
    assert data == {"a": "2", "b": "3"}
    table = cluster.kubectl("get", "configmaps", "-n", namespace).stdout.splitlines()
    assert table[0].split() == ["NAME", "DATA", "AGE"] and table[1].split()[:2] == ["cfg", "2"]
    cluster.kubectl("create", "secret", "generic", "s", "-n", namespace, "--from-literal=k=v")
    cluster.kubectl("create", "serviceaccount", "sa1", "-n", namespace)
    cluster.kubectl("create", "role", "r1", "-n", namespace, "--verb=get", "--resource=configmaps")
    cluster.kubectl(
        "create", "rolebinding", "rb1", "-n", namespace, "--role=r1", "--serviceaccount", f"{namespace}:sa1"
    )
    names = cluster.kubectl(
        "get", "secrets,sa,roles,rolebindings", "-n", namespace, "-o", "name"
    ).stdout.split()
    assert {
        "secret/s",
        "serviceaccount/sa1",
        "role.rbac.authorization.k8s.io/r1",
        "rolebinding.rbac.authorization.k8s.io/rb1",
    } <= set(names)


def test_namespace_deletion_removes_contents(cluster: Cluster) -> None:
    cluster.kubectl("apply", "-f", "-", input="apiVersion: v1\nkind: Namespace\nmetadata:\n  name: doomed\n")
    cluster.kubectl("apply", "-f", "-", input=widget("w", "doomed", size=1))
    cluster.kubectl("create", "configmap", "c", "-n", "doomed")
    cluster.kubectl("delete", "namespace", "doomed", "--timeout=30s")
    assert cluster.kubectl("get", "namespace", "doomed", check=False).returncode != 0
    cluster.kubectl("apply", "-f", "-", input="apiVersion: v1\nkind: Namespace\nmetadata:\n  name: doomed\n")
    assert cluster.kubectl("get", "widgets,cm", "-n", "doomed", "-o", "name").stdout.strip() == ""


def test_server_side_apply(cluster: Cluster, namespace: str) -> None:
    out = cluster.kubectl("apply", "--server-side", "-f", "-", input=widget("ssa", namespace, size=2)).stdout
    assert "serverside-applied" in out
    cluster.kubectl("apply", "--server-side", "-f", "-", input=widget("ssa", namespace, size=6))
    size = cluster.kubectl("get", "widget", "ssa", "-n", namespace, "-o", "jsonpath={.spec.size}").stdout
    assert size == "6"


def test_crd_deletion_removes_instances(cluster: Cluster, namespace: str) -> None:
    crd = yaml.safe_load((DATA / "widgets-crd.yaml").read_text())
    crd["metadata"]["name"] = "gadgets.test.kumulus.dev"
    crd["spec"]["names"] = {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"}
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(crd))
    gadget = {
        "apiVersion": "test.kumulus.dev/v1alpha1",
        "kind": "Gadget",
        "metadata": {"name": "g", "namespace": namespace},
        "spec": {"size": 1},
    }
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(gadget))
    cluster.kubectl("delete", "crd", "gadgets.test.kumulus.dev", "--timeout=30s")
    wait_for(lambda: cluster.kubectl("get", "gadgets", "-n", namespace, check=False).returncode != 0)

"""Tests for kumulus.apiserver.openapi: the /openapi/v2 and /openapi/v3 documents."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from kumulus.apiserver import openapi
from kumulus.apiserver.resources import ResourceInfo

GROUP = "compute.kumulus.dev"
GV_KEY = f"apis/{GROUP}/v1alpha1"
PREFIX = f"/apis/{GROUP}/v1alpha1"
SERVER_DEF = "dev.kumulus.compute.v1alpha1.Server"
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
ACTIONS = {"get", "list", "put", "patch", "delete", "deletecollection", "post", "watch", "watchlist"}
METHODS = ("get", "put", "post", "patch", "delete")


def server_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "Server is a virtual machine.",
        "properties": {
            "metadata": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 63}}},
            "spec": {
                "type": "object",
                "description": "Desired state of the server.",
                "required": ["flavor"],
                "properties": {
                    "flavor": {"type": "string", "description": "Name of the Flavor to boot."},
                    "port": {
                        "x-kubernetes-int-or-string": True,
                        "anyOf": [{"type": "integer"}, {"type": "string"}],
                        "description": "Port number or name.",
                    },
                    "disks": {
                        "type": "array",
                        "description": "Attached disks.",
                        "items": {
                            "type": "object",
                            "required": ["size"],
                            "properties": {
                                "size": {"type": "integer", "description": "Size in GiB."},
                                "nullable": {
                                    "type": "boolean",
                                    "description": "A field named like a keyword.",
                                },
                            },
                        },
                    },
                    "note": {"type": "string", "nullable": True, "description": "Free text."},
                    "labels": {
                        "type": "object",
                        "additionalProperties": {"type": "string", "nullable": True},
                    },
                    "choice": {"oneOf": [{"required": ["a"]}, {"required": ["b"]}], "type": "object"},
                },
            },
            "status": {
                "type": "object",
                "description": "Observed state.",
                "x-kubernetes-preserve-unknown-fields": True,
            },
        },
    }


def server() -> ResourceInfo:
    return ResourceInfo(
        group=GROUP,
        version="v1alpha1",
        plural="servers",
        singular="server",
        kind="Server",
        namespaced=True,
        subresources=frozenset({"status", "scale"}),
        schema=server_schema(),
        crd_name=f"servers.{GROUP}",
    )


def flavor() -> ResourceInfo:
    return ResourceInfo(
        group=GROUP,
        version="v1alpha1",
        plural="flavors",
        singular="flavor",
        kind="Flavor",
        namespaced=False,
        schema={
            "type": "object",
            "properties": {"spec": {"type": "object", "properties": {"cpus": {"type": "integer"}}}},
        },
        crd_name=f"flavors.{GROUP}",
        description="Flavor is a hardware template.",
    )


def configmaps() -> ResourceInfo:
    return ResourceInfo(
        group="",
        version="v1",
        plural="configmaps",
        singular="configmap",
        kind="ConfigMap",
        namespaced=True,
        builtin=True,
    )


def namespaces() -> ResourceInfo:
    return ResourceInfo(
        group="",
        version="v1",
        plural="namespaces",
        singular="namespace",
        kind="Namespace",
        namespaced=False,
        subresources=frozenset({"status", "finalize"}),
        builtin=True,
    )


def resources() -> list[ResourceInfo]:
    return [server(), flavor(), configmaps(), namespaces()]


@pytest.fixture(scope="module")
def v3() -> dict[str, dict[str, Any]]:
    return openapi.build_v3(resources())


@pytest.fixture(scope="module")
def v2() -> dict[str, Any]:
    return openapi.build_v2(resources())


# -- helpers ---------------------------------------------------------------------------------------


def walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every dict in a JSON-like tree."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        assert isinstance(node, dict) and part in node, f"unresolved {ref}"
        node = node[part]
    return node


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def explain_gvk(doc: dict[str, Any], group: str, version: str, plural: str) -> dict[str, str] | None:
    """How kubectl explain's template maps a GVR to a GVK: from the operations of its paths."""
    prefix = f"/apis/{group}/{version}" if group else f"/api/{version}"
    for path in (
        f"{prefix}/{plural}",
        f"{prefix}/{plural}/{{name}}",
        f"{prefix}/namespaces/{{namespace}}/{plural}",
        f"{prefix}/namespaces/{{namespace}}/{plural}/{{name}}",
    ):
        item = doc["paths"].get(path, {})
        for method in METHODS:
            gvk = item.get(method, {}).get("x-kubernetes-group-version-kind")
            if gvk:
                return dict(gvk)
    return None


def kind_component(doc: dict[str, Any], gvk: dict[str, str]) -> dict[str, Any]:
    """How kubectl explain finds the schema: the component whose GVK list contains the GVK (deep equality)."""
    found: list[dict[str, Any]] = [
        s
        for s in doc["components"]["schemas"].values()
        if gvk in s.get("x-kubernetes-group-version-kind", [])
    ]
    assert len(found) == 1
    return found[0]


def supports_field_validation(doc: dict[str, Any], gvk: dict[str, str]) -> bool:
    """kubectl's queryParamVerifierV3: the first PATCH op with the GVK must name fieldValidation inline."""
    for item in doc["paths"].values():
        op = item.get("patch")
        if op is None:
            continue
        if op.get("x-kubernetes-group-version-kind") != gvk:
            continue
        return any(p.get("name") == "fieldValidation" for p in op.get("parameters", []))
    return False


def canonical_hash(doc: dict[str, Any]) -> str:
    raw = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return hashlib.sha512(raw).hexdigest().upper()


# -- v3 documents and index ------------------------------------------------------------------------


def test_v3_one_document_per_group_version(v3: dict[str, dict[str, Any]]) -> None:
    assert set(v3) == {"api/v1", GV_KEY}
    for doc in v3.values():
        assert doc["openapi"] == "3.0.0"
        assert doc["info"]["title"] == "Kubernetes"
        assert doc["info"]["version"].startswith("v1.")
        assert set(doc["components"]["schemas"]) >= {
            OBJECT_META,
            "io.k8s.apimachinery.pkg.apis.meta.v1.Status",
        }
    assert SERVER_DEF in v3[GV_KEY]["components"]["schemas"]
    assert "io.k8s.api.core.v1.ConfigMap" in v3["api/v1"]["components"]["schemas"]
    assert "io.k8s.api.core.v1.ConfigMap" not in v3[GV_KEY]["components"]["schemas"]


def test_v3_index_urls_and_hashes(v3: dict[str, dict[str, Any]]) -> None:
    index, hashes = openapi.v3_index(v3)
    assert set(index["paths"]) == set(v3) == set(hashes)
    for key, digest in hashes.items():
        assert re.fullmatch(r"[0-9A-F]{128}", digest)
        assert digest == canonical_hash(v3[key])
        assert index["paths"][key] == {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest}"}


def test_hash_is_stable_and_changes_with_the_schema() -> None:
    _, before = openapi.v3_index(openapi.build_v3(resources()))
    _, again = openapi.v3_index(openapi.build_v3(resources()))
    assert before == again

    schema = server_schema()
    schema["properties"]["spec"]["properties"]["flavor"]["description"] = "Changed."
    changed = [dataclasses.replace(server(), schema=schema), flavor(), configmaps(), namespaces()]
    _, after = openapi.v3_index(openapi.build_v3(changed))
    assert after[GV_KEY] != before[GV_KEY]
    assert after["api/v1"] == before["api/v1"]


def test_component_carries_gvk_and_standard_fields(v3: dict[str, dict[str, Any]]) -> None:
    schemas = v3[GV_KEY]["components"]["schemas"]
    comp = schemas[SERVER_DEF]
    assert comp["x-kubernetes-group-version-kind"] == [
        {"group": GROUP, "kind": "Server", "version": "v1alpha1"}
    ]
    assert comp["description"] == "Server is a virtual machine."
    props = comp["properties"]
    assert props["apiVersion"]["type"] == "string"
    assert props["apiVersion"]["description"].startswith("APIVersion defines the versioned schema")
    assert props["kind"]["description"].startswith("Kind is a string value representing the REST resource")
    # metadata is replaced, like kube-apiserver does, whatever the CRD said.
    assert props["metadata"] == {
        "description": "Standard object's metadata. More info: "
        "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
        "allOf": [{"$ref": f"#/components/schemas/{OBJECT_META}"}],
    }
    assert props["spec"]["properties"]["note"]["nullable"] is True  # v3 keeps nullable
    assert "anyOf" in props["spec"]["properties"]["port"]

    server_list = schemas["dev.kumulus.compute.v1alpha1.ServerList"]
    assert server_list["x-kubernetes-group-version-kind"] == [
        {"group": GROUP, "kind": "ServerList", "version": "v1alpha1"}
    ]
    assert server_list["properties"]["items"]["items"] == {"$ref": f"#/components/schemas/{SERVER_DEF}"}
    assert server_list["required"] == ["items"]


def test_kind_description_falls_back_to_resource_info(v3: dict[str, dict[str, Any]]) -> None:
    comp = v3[GV_KEY]["components"]["schemas"]["dev.kumulus.compute.v1alpha1.Flavor"]
    assert comp["description"] == "Flavor is a hardware template."


def test_object_meta_is_described(v3: dict[str, dict[str, Any]]) -> None:
    schemas = v3[GV_KEY]["components"]["schemas"]
    meta = schemas[OBJECT_META]
    for field in (
        "name",
        "generateName",
        "namespace",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    ):
        assert meta["properties"][field]["description"], field
    assert meta["properties"]["name"]["description"].startswith("Name must be unique within a namespace.")
    owner_ref = resolve(v3[GV_KEY], meta["properties"]["ownerReferences"]["items"]["$ref"])
    assert set(owner_ref["properties"]) == {
        "apiVersion",
        "kind",
        "name",
        "uid",
        "controller",
        "blockOwnerDeletion",
    }
    assert sorted(owner_ref["required"]) == ["apiVersion", "kind", "name", "uid"]
    assert all(p["description"] for p in owner_ref["properties"].values())


def test_builtins_are_free_form_with_described_fields(v3: dict[str, dict[str, Any]]) -> None:
    schemas = v3["api/v1"]["components"]["schemas"]
    cm = schemas["io.k8s.api.core.v1.ConfigMap"]
    assert cm["type"] == "object"
    assert cm["x-kubernetes-preserve-unknown-fields"] is True
    assert cm["x-kubernetes-group-version-kind"] == [{"group": "", "kind": "ConfigMap", "version": "v1"}]
    assert {"data", "binaryData", "immutable", "apiVersion", "kind", "metadata"} <= set(cm["properties"])
    assert cm["properties"]["data"]["description"]
    ns = schemas["io.k8s.api.core.v1.Namespace"]
    assert {"spec", "status"} <= set(ns["properties"])
    assert schemas["io.k8s.api.core.v1.ConfigMapList"]["properties"]["items"]["items"]["$ref"].endswith(
        ".ConfigMap"
    )


# -- paths and operations --------------------------------------------------------------------------


def test_namespaced_paths(v3: dict[str, dict[str, Any]]) -> None:
    paths = v3[GV_KEY]["paths"]
    collection = f"{PREFIX}/namespaces/{{namespace}}/servers"
    item = f"{collection}/{{name}}"
    for path in (
        collection,
        item,
        f"{item}/status",
        f"{item}/scale",
        f"{PREFIX}/servers",
        f"{PREFIX}/watch/namespaces/{{namespace}}/servers",
        f"{PREFIX}/watch/namespaces/{{namespace}}/servers/{{name}}",
        f"{PREFIX}/watch/servers",
    ):
        assert path in paths, path
    assert set(paths[collection]) == {"get", "post", "delete", "parameters"}
    assert set(paths[item]) == {"get", "put", "patch", "delete", "parameters"}
    assert set(paths[f"{item}/status"]) == {"get", "put", "patch", "parameters"}
    assert set(paths[f"{PREFIX}/servers"]) == {"get", "parameters"}

    def path_params(path: str) -> dict[str, dict[str, Any]]:
        return {p["name"]: p for p in paths[path]["parameters"] if "name" in p}

    assert path_params(item)["name"]["in"] == "path"
    assert path_params(item)["name"]["required"] is True
    assert path_params(item)["namespace"]["in"] == "path"
    assert "namespace" not in path_params(f"{PREFIX}/servers")

    actions = {
        (path, method): op["x-kubernetes-action"]
        for path, method, op in operations(v3[GV_KEY])
        if "servers" in path
    }
    assert actions[(collection, "get")] == "list"
    assert actions[(collection, "post")] == "post"
    assert actions[(collection, "delete")] == "deletecollection"
    assert actions[(item, "get")] == "get"
    assert actions[(item, "put")] == "put"
    assert actions[(item, "patch")] == "patch"
    assert actions[(item, "delete")] == "delete"
    assert actions[(f"{PREFIX}/servers", "get")] == "list"
    assert actions[(f"{PREFIX}/watch/namespaces/{{namespace}}/servers", "get")] == "watchlist"
    assert actions[(f"{PREFIX}/watch/namespaces/{{namespace}}/servers/{{name}}", "get")] == "watch"


def test_cluster_scoped_paths(v3: dict[str, dict[str, Any]]) -> None:
    paths = v3[GV_KEY]["paths"]
    assert set(paths[f"{PREFIX}/flavors"]) == {"get", "post", "delete", "parameters"}
    assert set(paths[f"{PREFIX}/flavors/{{name}}"]) == {"get", "put", "patch", "delete", "parameters"}
    assert f"{PREFIX}/watch/flavors/{{name}}" in paths
    assert f"{PREFIX}/flavors/{{name}}/status" not in paths  # no status subresource
    assert not any("namespaces/{namespace}/flavors" in p for p in paths)
    params = {p.get("name") for p in paths[f"{PREFIX}/flavors/{{name}}"]["parameters"]}
    assert "name" in params and "namespace" not in params

    core = v3["api/v1"]["paths"]
    assert "/api/v1/namespaces" in core
    assert set(core["/api/v1/namespaces/{name}/status"]) == {"get", "put", "patch", "parameters"}
    assert set(core["/api/v1/namespaces/{name}/finalize"]) == {"put", "parameters"}
    assert "/api/v1/namespaces/{namespace}/configmaps/{name}" in core
    assert "/api/v1/configmaps" in core


def test_every_operation_has_gvk_action_and_unique_id(v3: dict[str, dict[str, Any]]) -> None:
    for doc in v3.values():
        ids = []
        for path, _method, op in operations(doc):
            assert op["x-kubernetes-action"] in ACTIONS
            gvk = op["x-kubernetes-group-version-kind"]
            assert set(gvk) == {"group", "version", "kind"}
            if path.endswith("/scale"):
                assert gvk == {"group": "autoscaling", "version": "v1", "kind": "Scale"}
            else:
                # The GVK names a kind component of this very document.
                kind_component(doc, gvk)
            assert "401" in op["responses"]
            ids.append(op["operationId"])
        assert len(ids) == len(set(ids))
    server_ids = {op["operationId"] for _, _, op in operations(v3[GV_KEY])}
    assert "listComputeKumulusDevV1alpha1NamespacedServer" in server_ids
    assert "listComputeKumulusDevV1alpha1ServerForAllNamespaces" in server_ids
    assert "patchComputeKumulusDevV1alpha1NamespacedServerStatus" in server_ids
    assert "readComputeKumulusDevV1alpha1Flavor" in server_ids


def test_verbs_limit_operations() -> None:
    read_only = dataclasses.replace(server(), verbs=("get", "list"), subresources=frozenset())
    paths = openapi.build_v3([read_only])[GV_KEY]["paths"]
    assert set(paths[f"{PREFIX}/namespaces/{{namespace}}/servers"]) == {"get", "parameters"}
    assert set(paths[f"{PREFIX}/namespaces/{{namespace}}/servers/{{name}}"]) == {"get", "parameters"}
    assert not any("/watch/" in p for p in paths)


def test_patch_operations_support_field_validation(v3: dict[str, dict[str, Any]]) -> None:
    for res in resources():
        doc = v3[f"apis/{res.group}/{res.version}" if res.group else f"api/{res.version}"]
        gvk = {"group": res.group, "version": res.version, "kind": res.kind}
        assert supports_field_validation(doc, gvk), res.kind
    # Whichever PATCH operation kubectl happens to meet first, it names the parameter inline.
    for _, method, op in operations(v3[GV_KEY]):
        names = {p.get("name") for p in op.get("parameters", [])}
        if method == "patch":
            assert {"dryRun", "fieldManager", "fieldValidation", "force"} <= names
        if method in ("put", "post"):
            assert {"dryRun", "fieldManager", "fieldValidation"} <= names


def test_query_parameters(v3: dict[str, dict[str, Any]]) -> None:
    doc = v3[GV_KEY]

    def names(op: dict[str, Any]) -> set[str]:
        out = set()
        for p in op.get("parameters", []):
            p = resolve(doc, p["$ref"]) if "$ref" in p else p
            assert p["in"] == "query"
            assert p["schema"]["type"] in ("string", "integer", "boolean")
            out.add(p["name"])
        return out

    collection = doc["paths"][f"{PREFIX}/namespaces/{{namespace}}/servers"]
    item = doc["paths"][f"{PREFIX}/namespaces/{{namespace}}/servers/{{name}}"]
    list_params = {
        "labelSelector",
        "fieldSelector",
        "limit",
        "continue",
        "resourceVersion",
        "resourceVersionMatch",
        "timeoutSeconds",
        "watch",
        "allowWatchBookmarks",
        "sendInitialEvents",
    }
    assert names(collection["get"]) >= list_params
    assert names(collection["delete"]) >= {
        "labelSelector",
        "gracePeriodSeconds",
        "propagationPolicy",
        "dryRun",
    }
    assert names(item["delete"]) >= {"gracePeriodSeconds", "propagationPolicy", "dryRun"}
    assert "pretty" in {resolve(doc, p["$ref"])["name"] for p in item["parameters"] if "$ref" in p}


def test_media_types(v3: dict[str, dict[str, Any]]) -> None:
    doc = v3[GV_KEY]
    item = doc["paths"][f"{PREFIX}/namespaces/{{namespace}}/servers/{{name}}"]
    patch_body = item["patch"]["requestBody"]["content"]
    assert {
        "application/merge-patch+json",
        "application/json-patch+json",
        "application/apply-patch+yaml",
    } <= set(patch_body)
    # Custom resources do not accept strategic merge patch, as in kube-apiserver.
    assert "application/strategic-merge-patch+json" not in patch_body
    assert all(m["schema"]["$ref"].endswith(".Patch") for m in patch_body.values())
    put_body = item["put"]["requestBody"]["content"]
    assert {"application/json", "application/yaml"} <= set(put_body)
    assert put_body["application/json"]["schema"]["$ref"].endswith(SERVER_DEF)
    ok = item["get"]["responses"]["200"]["content"]
    assert ok["application/json"]["schema"] == {"$ref": f"#/components/schemas/{SERVER_DEF}"}
    listed = doc["paths"][f"{PREFIX}/servers"]["get"]["responses"]["200"]["content"]
    assert listed["application/json"]["schema"]["$ref"].endswith(".ServerList")


def test_scale_subresource(v3: dict[str, dict[str, Any]]) -> None:
    doc = v3[GV_KEY]
    scale = doc["paths"][f"{PREFIX}/namespaces/{{namespace}}/servers/{{name}}/scale"]
    assert scale["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "io.k8s.api.autoscaling.v1.Scale"
    )
    comp = doc["components"]["schemas"]["io.k8s.api.autoscaling.v1.Scale"]
    assert comp["x-kubernetes-group-version-kind"] == [
        {"group": "autoscaling", "kind": "Scale", "version": "v1"}
    ]
    assert "io.k8s.api.autoscaling.v1.Scale" not in v3["api/v1"]["components"]["schemas"]


def test_explain_lookup_like_kubectl(v3: dict[str, dict[str, Any]]) -> None:
    doc = v3[GV_KEY]
    gvk = explain_gvk(doc, GROUP, "v1alpha1", "servers")
    assert gvk == {"group": GROUP, "version": "v1alpha1", "kind": "Server"}
    comp = kind_component(doc, gvk)
    flavor_field = comp["properties"]["spec"]["properties"]["flavor"]
    assert flavor_field["description"] == "Name of the Flavor to boot."
    meta = resolve(doc, comp["properties"]["metadata"]["allOf"][0]["$ref"])
    assert meta["properties"]["labels"]["description"]

    assert explain_gvk(doc, GROUP, "v1alpha1", "flavors") == {
        "group": GROUP,
        "version": "v1alpha1",
        "kind": "Flavor",
    }
    core = v3["api/v1"]
    assert explain_gvk(core, "", "v1", "configmaps") == {"group": "", "version": "v1", "kind": "ConfigMap"}
    assert explain_gvk(core, "", "v1", "namespaces") == {"group": "", "version": "v1", "kind": "Namespace"}


def test_every_ref_resolves_within_its_document(v3: dict[str, dict[str, Any]], v2: dict[str, Any]) -> None:
    for key, doc in v3.items():
        count = 0
        for node in walk(doc):
            ref = node.get("$ref")
            if isinstance(ref, str):
                assert ref.startswith(("#/components/schemas/", "#/components/parameters/")), ref
                resolve(doc, ref)
                count += 1
        assert count > 0, key
    for node in walk(v2):
        ref = node.get("$ref")
        if isinstance(ref, str):
            assert ref.startswith(("#/definitions/", "#/parameters/")), ref
            resolve(v2, ref)


def test_documents_are_json_serialisable(v3: dict[str, dict[str, Any]], v2: dict[str, Any]) -> None:
    for doc in (*v3.values(), v2, openapi.v3_index(v3)[0]):
        assert json.loads(json.dumps(doc)) == doc


# -- v2 --------------------------------------------------------------------------------------------


def test_v2_document(v2: dict[str, Any]) -> None:
    assert v2["swagger"] == "2.0"
    assert v2["info"] == {"title": "Kubernetes", "version": openapi.KUBE_VERSION}
    defs = v2["definitions"]
    assert {
        SERVER_DEF,
        "dev.kumulus.compute.v1alpha1.ServerList",
        "io.k8s.api.core.v1.ConfigMap",
        OBJECT_META,
    } <= set(defs)
    for name in (
        "ListMeta",
        "Status",
        "DeleteOptions",
        "WatchEvent",
        "Patch",
        "ManagedFieldsEntry",
        "OwnerReference",
    ):
        assert defs[f"io.k8s.apimachinery.pkg.apis.meta.v1.{name}"]["description"], name
    assert defs["io.k8s.apimachinery.pkg.apis.meta.v1.Time"]["format"] == "date-time"
    assert f"{PREFIX}/namespaces/{{namespace}}/servers/{{name}}" in v2["paths"]
    assert "/api/v1/namespaces/{namespace}/configmaps" in v2["paths"]

    comp = defs[SERVER_DEF]
    assert comp["properties"]["metadata"]["$ref"] == f"#/definitions/{OBJECT_META}"
    assert comp["properties"]["metadata"]["description"].startswith("Standard object's metadata.")
    assert comp["x-kubernetes-group-version-kind"] == [
        {"group": GROUP, "kind": "Server", "version": "v1alpha1"}
    ]

    patch = v2["paths"][f"{PREFIX}/namespaces/{{namespace}}/servers/{{name}}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {
        "group": GROUP,
        "version": "v1alpha1",
        "kind": "Server",
    }
    assert "application/merge-patch+json" in patch["consumes"]
    body = [p for p in patch["parameters"] if p["in"] == "body"]
    assert body == [
        {
            "name": "body",
            "in": "body",
            "required": True,
            "schema": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"},
        }
    ]
    assert "fieldValidation" in {p.get("name") for p in patch["parameters"]}
    for p in patch["parameters"]:
        assert "schema" not in p or p["in"] == "body"  # v2 query params carry "type", not "schema"


def test_v2_converts_crd_schema(v2: dict[str, Any]) -> None:
    spec = v2["definitions"][SERVER_DEF]["properties"]["spec"]
    note = spec["properties"]["note"]
    assert "nullable" not in note
    assert note["x-nullable"] is True
    assert note["type"] == "string"
    port = spec["properties"]["port"]
    assert "anyOf" not in port
    assert port["x-kubernetes-int-or-string"] is True
    assert "oneOf" not in spec["properties"]["choice"]
    assert spec["properties"]["labels"]["additionalProperties"] == {"type": "string", "x-nullable": True}
    disk = spec["properties"]["disks"]["items"]
    assert disk["required"] == ["size"]
    # A property that happens to be called "nullable" is a field, not the keyword.
    assert disk["properties"]["nullable"] == {
        "type": "boolean",
        "description": "A field named like a keyword.",
    }
    assert spec["required"] == ["flavor"]
    for node in walk(v2["definitions"]):
        assert node.get("nullable") is not True
        assert not {"anyOf", "oneOf", "not"} & set(node)


def test_input_schema_not_mutated() -> None:
    res = server()
    assert res.schema is not None
    before = copy.deepcopy(res.schema)
    docs = openapi.build_v3([res])
    v2 = openapi.build_v2([res])
    assert res.schema == before
    # The output shares nothing with the input: changing it leaves the input alone.
    docs[GV_KEY]["components"]["schemas"][SERVER_DEF]["properties"]["spec"]["properties"]["flavor"]["x"] = 1
    v2["definitions"][SERVER_DEF]["properties"]["spec"]["required"].append("x")
    assert res.schema == before


@pytest.mark.parametrize(
    ("group", "version", "kind", "expected"),
    [
        (GROUP, "v1alpha1", "Server", SERVER_DEF),
        ("", "v1", "ConfigMap", "io.k8s.api.core.v1.ConfigMap"),
        ("coordination.k8s.io", "v1", "Lease", "io.k8s.api.coordination.v1.Lease"),
        ("rbac.authorization.k8s.io", "v1", "Role", "io.k8s.api.rbac.v1.Role"),
        ("events.k8s.io", "v1", "Event", "io.k8s.api.events.v1.Event"),
        (
            "admissionregistration.k8s.io",
            "v1",
            "ValidatingWebhookConfiguration",
            "io.k8s.api.admissionregistration.v1.ValidatingWebhookConfiguration",
        ),
        (
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
            "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition",
        ),
        ("apps", "v1", "Deployment", "io.k8s.api.apps.v1.Deployment"),
    ],
)
def test_definition_names(group: str, version: str, kind: str, expected: str) -> None:
    assert openapi.definition_name(group, version, kind) == expected


def test_well_known_builtins_have_fields() -> None:
    infos = [
        ResourceInfo(
            group="", version="v1", plural="secrets", singular="secret", kind="Secret", namespaced=True
        ),
        ResourceInfo(
            group="coordination.k8s.io",
            version="v1",
            plural="leases",
            singular="lease",
            kind="Lease",
            namespaced=True,
        ),
        ResourceInfo(
            group="", version="v1", plural="events", singular="event", kind="Event", namespaced=True
        ),
        ResourceInfo(
            group="rbac.authorization.k8s.io",
            version="v1",
            plural="rolebindings",
            singular="rolebinding",
            kind="RoleBinding",
            namespaced=True,
        ),
    ]
    docs = openapi.build_v3(infos)
    core = docs["api/v1"]["components"]["schemas"]
    assert {"data", "stringData", "type"} <= set(core["io.k8s.api.core.v1.Secret"]["properties"])
    assert {"involvedObject", "reason", "message", "count"} <= set(
        core["io.k8s.api.core.v1.Event"]["properties"]
    )
    lease = docs["apis/coordination.k8s.io/v1"]["components"]["schemas"]["io.k8s.api.coordination.v1.Lease"]
    assert {"holderIdentity", "leaseDurationSeconds", "acquireTime", "renewTime"} <= set(
        lease["properties"]["spec"]["properties"]
    )
    binding = docs["apis/rbac.authorization.k8s.io/v1"]["components"]["schemas"][
        "io.k8s.api.rbac.v1.RoleBinding"
    ]
    assert {"subjects", "roleRef"} <= set(binding["properties"])
    v2 = openapi.build_v2(infos)
    assert "io.k8s.api.coordination.v1.Lease" in v2["definitions"]

"""PATCH bodies: JSON merge patch, JSON patch, strategic merge patch and media-type dispatch."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from kumulus.apiserver.patch import (
    METADATA_MERGE_KEYS,
    PatchError,
    apply_patch,
    json_merge_patch,
    json_patch,
    merge_keys_for,
    strategic_merge_patch,
)

# --- JSON merge patch (RFC 7386, appendix A) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "patch", "result"),
    [
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        (["a", "b"], ["c", "d"], ["c", "d"]),
        ({"a": "b"}, ["c"], ["c"]),
        ({"a": "foo"}, None, None),
        ({"a": "foo"}, "bar", "bar"),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
        ({"a": {"x": 1}}, {"a": {"y": [{"k": None}]}}, {"a": {"x": 1, "y": [{"k": None}]}}),
    ],
)
def test_json_merge_patch_rfc7386(target: Any, patch: Any, result: Any) -> None:
    assert json_merge_patch(target, patch) == result


def test_json_merge_patch_does_not_mutate_or_share() -> None:
    target = {"metadata": {"labels": {"a": "1"}}, "spec": {"list": [1]}}
    patch = {"metadata": {"labels": {"b": "2"}}, "spec": {"new": {"x": [1]}}}
    before_target, before_patch = copy.deepcopy(target), copy.deepcopy(patch)
    result = json_merge_patch(target, patch)
    assert result == {"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"list": [1], "new": {"x": [1]}}}
    result["spec"]["list"].append(2)
    result["spec"]["new"]["x"].append(2)
    assert target == before_target
    assert patch == before_patch


# --- JSON patch (RFC 6902) ------------------------------------------------------------------------------

DOC: dict[str, Any] = {
    "metadata": {"name": "a", "labels": {"x": "1"}},
    "spec": {"list": [1, 2], "flag": True, "n": 1},
}


def test_json_patch_operations() -> None:
    ops = [
        {"op": "add", "path": "/metadata/labels/y", "value": "2"},
        {"op": "add", "path": "/spec/list/-", "value": 3},
        {"op": "add", "path": "/spec/list/0", "value": 0},
        {"op": "remove", "path": "/metadata/labels/x"},
        {"op": "replace", "path": "/spec/flag", "value": False},
        {"op": "copy", "from": "/metadata/name", "path": "/spec/copied"},
        {"op": "move", "from": "/spec/n", "path": "/spec/m"},
        {"op": "test", "path": "/spec/m", "value": 1.0},
        {"op": "test", "path": "/metadata/labels", "value": {"y": "2"}},
    ]
    result = json_patch(DOC, ops)
    assert result == {
        "metadata": {"name": "a", "labels": {"y": "2"}},
        "spec": {"list": [0, 1, 2, 3], "flag": False, "copied": "a", "m": 1},
    }
    assert DOC["spec"]["list"] == [1, 2]
    assert "y" not in DOC["metadata"]["labels"]


def test_json_patch_value_is_not_shared_with_ops() -> None:
    ops = [{"op": "add", "path": "/spec/obj", "value": {"k": [1]}}]
    result = json_patch(DOC, ops)
    result["spec"]["obj"]["k"].append(2)
    assert ops[0]["value"] == {"k": [1]}


@pytest.mark.parametrize(
    ("ops", "message"),
    [
        (
            [{"op": "test", "path": "/spec/flag", "value": False}],
            "testing value /spec/flag failed: test failed",
        ),
        ([{"op": "test", "path": "/spec/n", "value": True}], "testing value /spec/n failed: test failed"),
        ([{"op": "test", "path": "/spec/flag", "value": 1}], "testing value /spec/flag failed: test failed"),
        (
            [{"op": "test", "path": "/spec/missing", "value": 1}],
            "testing value /spec/missing failed: test failed",
        ),
        ([{"op": "test", "path": "/spec/n"}], "test operation is missing a 'value' member"),
        ([{"op": "bogus", "path": "/a"}], "invalid bogus operation: Unknown operation 'bogus'"),
        ([{"path": "/a"}], "JSON patch operation is missing a string 'op' member"),
        ([{"op": "add", "value": 1}], "add operation is missing a string 'path' member"),
    ],
)
def test_json_patch_failures(ops: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(PatchError) as info:
        json_patch(DOC, ops)
    assert str(info.value) == message
    assert info.value.code == 422
    assert info.value.reason == "Invalid"


@pytest.mark.parametrize(
    "ops",
    [
        [{"op": "remove", "path": "/spec/missing"}],
        [{"op": "replace", "path": "/spec/missing", "value": 1}],
        [{"op": "add", "path": "/nope/deeper", "value": 1}],
        [{"op": "add", "path": "/spec/list/9", "value": 1}],
        [{"op": "add", "path": "/spec/list/x", "value": 1}],
        [{"op": "move", "from": "/spec/missing", "path": "/spec/x"}],
        [{"op": "add", "path": "spec", "value": 1}],
    ],
)
def test_json_patch_paths_that_do_not_apply(ops: list[dict[str, Any]]) -> None:
    with pytest.raises(PatchError) as info:
        json_patch(DOC, ops)
    assert info.value.code == 422
    assert str(info.value).startswith(f"{ops[0]['op']} operation does not apply: ")


def test_json_patch_test_failure_leaves_target_alone() -> None:
    target = copy.deepcopy(DOC)
    with pytest.raises(PatchError):
        json_patch(
            target, [{"op": "remove", "path": "/spec/list"}, {"op": "test", "path": "/spec/n", "value": 2}]
        )
    assert target == DOC


@pytest.mark.parametrize(
    ("ops", "message"),
    [
        ({"op": "add"}, "a JSON patch must be a JSON array of operations"),
        ("[]", "a JSON patch must be a JSON array of operations"),
        ([{"op": "add", "path": "/a", "value": 1}, "x"], "JSON patch operation 1 must be a JSON object"),
    ],
)
def test_json_patch_shape(ops: Any, message: str) -> None:
    with pytest.raises(PatchError) as info:
        json_patch(DOC, ops)
    assert str(info.value) == message
    assert info.value.code == 400


def test_json_patch_too_many_operations() -> None:
    ops = [{"op": "test", "path": "/metadata/name", "value": "a"}] * 10001
    with pytest.raises(PatchError) as info:
        json_patch(DOC, ops)
    assert info.value.code == 413
    assert str(info.value) == "The allowed maximum operations in a JSON patch is 10000, got 10001"
    assert json_patch(DOC, ops[:10000]) == DOC


# --- strategic merge patch ------------------------------------------------------------------------------

OBJ: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "ServiceAccount",
    "metadata": {
        "name": "sa",
        "labels": {"a": "1", "b": "2"},
        "finalizers": ["x", "y"],
        "ownerReferences": [
            {"apiVersion": "v1", "kind": "A", "name": "one", "uid": "u1"},
            {"apiVersion": "v1", "kind": "B", "name": "two", "uid": "u2", "controller": True},
        ],
    },
    "secrets": [{"name": "s1"}, {"name": "s2"}],
    "imagePullSecrets": [{"name": "p1"}],
    "spec": {"map": {"k": "v", "j": "w"}, "list": [1, 2], "scalar": "s"},
}
SA_KEYS = {"secrets": "name"}


def smp(patch: dict[str, Any], keys: dict[str, str] | None = None) -> dict[str, Any]:
    before = copy.deepcopy(OBJ)
    result = strategic_merge_patch(OBJ, patch, keys)
    assert before == OBJ
    assert isinstance(result, dict)
    return result


def test_smp_behaves_as_merge_patch_for_maps_and_plain_lists() -> None:
    result = smp(
        {
            "metadata": {"labels": {"a": None, "c": "3"}},
            "spec": {"list": [9], "scalar": None, "map": {"k": "v2"}},
        }
    )
    assert result["metadata"]["labels"] == {"b": "2", "c": "3"}
    assert result["spec"] == {"map": {"k": "v2", "j": "w"}, "list": [9]}
    assert result["imagePullSecrets"] == [{"name": "p1"}]


def test_smp_merges_owner_references_by_uid() -> None:
    result = smp(
        {
            "metadata": {
                "ownerReferences": [
                    {"uid": "u2", "name": "two-renamed", "controller": None},
                    {"apiVersion": "v1", "kind": "C", "name": "three", "uid": "u3"},
                ]
            }
        }
    )
    assert result["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "A", "name": "one", "uid": "u1"},
        {"apiVersion": "v1", "kind": "B", "name": "two-renamed", "uid": "u2"},
        {"apiVersion": "v1", "kind": "C", "name": "three", "uid": "u3"},
    ]


def test_smp_patch_delete_in_merged_list() -> None:
    result = smp({"metadata": {"ownerReferences": [{"$patch": "delete", "uid": "u1"}]}})
    assert result["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "B", "name": "two", "uid": "u2", "controller": True}
    ]
    with pytest.raises(PatchError) as info:
        smp({"metadata": {"ownerReferences": [{"$patch": "delete", "name": "one"}]}})
    assert str(info.value) == "map: map[$patch:delete name:one] does not contain declared merge key: uid"


def test_smp_patch_replace_in_merged_list() -> None:
    result = smp({"metadata": {"ownerReferences": [{"$patch": "replace"}, {"uid": "u9", "name": "nine"}]}})
    assert result["metadata"]["ownerReferences"] == [{"uid": "u9", "name": "nine"}]


def test_smp_patch_directives_on_maps() -> None:
    assert smp({"spec": {"map": {"$patch": "delete"}}})["spec"]["map"] == {}
    assert smp({"spec": {"map": {"$patch": "replace", "q": 1, "gone": None}}})["spec"]["map"] == {"q": 1}
    assert smp({"spec": {"new": {"$patch": "replace", "q": 1}}})["spec"]["new"] == {"q": 1}
    assert smp({"$patch": "delete"}) == {}
    with pytest.raises(PatchError) as info:
        smp({"spec": {"map": {"$patch": "bogus"}}})
    assert str(info.value) == "unknown patch type: bogus in map: map[$patch:bogus]"
    assert info.value.code == 400


def test_smp_finalizers_merge_as_a_set() -> None:
    assert smp({"metadata": {"finalizers": ["y", "z"]}})["metadata"]["finalizers"] == ["x", "y", "z"]
    # New items go first, as kube-apiserver orders them without $setElementOrder.
    assert smp({"metadata": {"finalizers": ["z"]}})["metadata"]["finalizers"] == ["z", "x", "y"]
    assert smp({"metadata": {"finalizers": None}})["metadata"].get("finalizers") is None


def test_smp_delete_from_primitive_list() -> None:
    result = smp({"metadata": {"$deleteFromPrimitiveList/finalizers": ["x", "nope"]}})
    assert result["metadata"]["finalizers"] == ["y"]
    result = smp({"metadata": {"$deleteFromPrimitiveList/finalizers": ["x"], "finalizers": ["q"]}})
    assert result["metadata"]["finalizers"] == ["q", "y"]
    # Deleting from a list the object does not have is a no-op.
    assert "missing" not in smp({"spec": {"$deleteFromPrimitiveList/missing": ["a"]}})["spec"]
    assert smp({"spec": {"$deleteFromPrimitiveList/list": [1]}})["spec"]["list"] == [2]


def test_smp_set_element_order() -> None:
    result = smp({"metadata": {"$setElementOrder/finalizers": ["y", "q", "x"], "finalizers": ["q"]}})
    assert result["metadata"]["finalizers"] == ["y", "q", "x"]
    result = smp(
        {
            "metadata": {
                "$setElementOrder/ownerReferences": [{"uid": "u2"}, {"uid": "u1"}],
            }
        }
    )
    assert [o["uid"] for o in result["metadata"]["ownerReferences"]] == ["u2", "u1"]
    result = smp(
        {
            "secrets": [{"name": "s0"}],
            "$setElementOrder/secrets": [{"name": "s0"}, {"name": "s1"}, {"name": "s2"}],
        },
        SA_KEYS,
    )
    assert result["secrets"] == [{"name": "s0"}, {"name": "s1"}, {"name": "s2"}]
    with pytest.raises(PatchError) as info:
        smp({"metadata": {"$setElementOrder/finalizers": ["x"], "finalizers": ["q"]}})
    assert str(info.value) == ("The order in patch list:\n[q]\n doesn't match $setElementOrder/ list:\n[x]\n")


def test_smp_retain_keys() -> None:
    result = smp({"spec": {"$retainKeys": ["map", "extra"], "map": {"k": "v2"}, "extra": 1}})
    assert result["spec"] == {"map": {"k": "v2", "j": "w"}, "extra": 1}
    with pytest.raises(PatchError) as info:
        smp({"spec": {"$retainKeys": ["map"], "scalar": "t"}})
    assert str(info.value) == "invalid patch format of retainKeys"
    with pytest.raises(PatchError):
        smp({"spec": {"$retainKeys": "map"}})


def test_smp_merge_keys_for_builtin_lists() -> None:
    keys = merge_keys_for("", "serviceaccounts")
    assert keys == {**METADATA_MERGE_KEYS, "secrets": "name"}
    result = smp({"secrets": [{"name": "s3"}, {"name": "s1", "namespace": "ns"}]}, keys)
    # Patch items keep the patch's order; server-only items slot in by their live position.
    assert result["secrets"] == [{"name": "s3"}, {"name": "s1", "namespace": "ns"}, {"name": "s2"}]
    result = smp({"secrets": [{"name": "s1", "namespace": "ns"}, {"name": "s3"}]}, keys)
    assert result["secrets"] == [{"name": "s1", "namespace": "ns"}, {"name": "s3"}, {"name": "s2"}]
    result = smp({"secrets": [{"name": "s2", "namespace": "ns"}]}, keys)
    assert result["secrets"] == [{"name": "s1"}, {"name": "s2", "namespace": "ns"}]
    # Without the merge key the list is atomic and replaced.
    assert smp({"secrets": [{"name": "s3"}]})["secrets"] == [{"name": "s3"}]
    assert merge_keys_for("", "configmaps") == dict(METADATA_MERGE_KEYS)


def test_smp_nested_merge_keys() -> None:
    target = {"spec": {"containers": [{"name": "a", "ports": [{"containerPort": 80, "name": "http"}]}]}}
    keys = {"spec.containers": "name", "spec.containers.ports": "containerPort"}
    patch = {
        "spec": {
            "containers": [
                {
                    "name": "a",
                    "image": "img",
                    "ports": [{"containerPort": 80, "name": "web"}, {"containerPort": 443}],
                }
            ]
        }
    }
    assert strategic_merge_patch(target, patch, keys) == {
        "spec": {
            "containers": [
                {
                    "name": "a",
                    "image": "img",
                    "ports": [{"containerPort": 80, "name": "web"}, {"containerPort": 443}],
                }
            ]
        }
    }


def test_smp_errors() -> None:
    with pytest.raises(PatchError) as info:
        strategic_merge_patch({"l": [{"k": 1}]}, {"l": [{"k": 2}]}, {"l": ""})
    assert str(info.value) == "cannot merge lists without merge key for l"
    with pytest.raises(PatchError) as info:
        strategic_merge_patch({"l": [{"k": 1}]}, {"l": [{"j": 2}]}, {"l": "k"})
    assert str(info.value) == "map: map[j:2] does not contain declared merge key: k"
    with pytest.raises(PatchError) as info:
        strategic_merge_patch({"l": [1]}, {"l": ["a"]}, {"l": ""})
    assert str(info.value) == "list element types are not identical: [[1] [a]]"
    with pytest.raises(PatchError) as info:
        strategic_merge_patch({"l": [[1]]}, {"l": [[2]]}, {"l": ""})
    assert str(info.value) == "lists of lists are not supported"
    with pytest.raises(PatchError) as info:
        strategic_merge_patch({}, ["x"])
    assert info.value.code == 400


def test_smp_type_change_and_new_values() -> None:
    result = strategic_merge_patch(
        {"a": {"x": 1}, "b": [1]}, {"a": "now a string", "b": {"k": None, "v": 1}, "c": {"d": None}}
    )
    assert result == {"a": "now a string", "b": {"v": 1}, "c": {}}


# --- dispatch -------------------------------------------------------------------------------------------

TARGET: dict[str, Any] = {"metadata": {"name": "a", "labels": {"x": "1"}}, "spec": {"n": 1}}


def body(value: Any) -> bytes:
    return json.dumps(value).encode()


def test_apply_patch_dispatch() -> None:
    assert apply_patch("application/merge-patch+json", TARGET, body({"spec": {"n": 2}})) == {
        "metadata": {"name": "a", "labels": {"x": "1"}},
        "spec": {"n": 2},
    }
    assert apply_patch(
        "application/json-patch+json; charset=utf-8",
        TARGET,
        body([{"op": "remove", "path": "/metadata/labels/x"}]),
    ) == {"metadata": {"name": "a", "labels": {}}, "spec": {"n": 1}}
    assert apply_patch(
        "Application/Strategic-Merge-Patch+JSON", TARGET, body({"metadata": {"finalizers": ["f"]}})
    ) == {"metadata": {"name": "a", "labels": {"x": "1"}, "finalizers": ["f"]}, "spec": {"n": 1}}
    assert apply_patch(
        "application/strategic-merge-patch+json",
        {"items": [{"id": 1, "v": 1}]},
        body({"items": [{"id": 1, "w": 2}]}),
        {"items": "id"},
    ) == {"items": [{"id": 1, "v": 1, "w": 2}]}


@pytest.mark.parametrize(
    ("content_type", "payload", "code"),
    [
        ("application/merge-patch+json", b"{not json", 400),
        ("application/merge-patch+json", b"", 400),
        ("application/merge-patch+json", b"null", 400),
        ("application/merge-patch+json", b"\xff", 400),
        ("application/merge-patch+json", b"[1]", 422),
        ("application/json-patch+json", b'{"op": "add"}', 400),
        ("application/json-patch+json", b'[{"op": "replace", "path": "", "value": 5}]', 422),
        ("application/strategic-merge-patch+json", b"[1]", 400),
        ("application/apply-patch+yaml", b"{}", 415),
        ("application/json", b"{}", 415),
        ("", b"{}", 415),
    ],
)
def test_apply_patch_errors(content_type: str, payload: bytes, code: int) -> None:
    with pytest.raises(PatchError) as info:
        apply_patch(content_type, TARGET, payload)
    assert info.value.code == code
    api_error = info.value.to_api_error()
    assert api_error.code == code
    assert api_error.message == str(info.value)


def test_apply_patch_messages() -> None:
    with pytest.raises(PatchError) as info:
        apply_patch("application/merge-patch+json", TARGET, b"null")
    assert str(info.value) == "Invalid JSON Patch"
    with pytest.raises(PatchError) as info:
        apply_patch("application/json", TARGET, b"{}")
    assert info.value.reason == "UnsupportedMediaType"
    assert str(info.value) == (
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, "
        "application/strategic-merge-patch+json; got 'application/json'"
    )
    with pytest.raises(PatchError) as info:
        apply_patch("application/merge-patch+json", TARGET, b"[1]")
    assert str(info.value) == "the patched object must be a JSON object, not list"
    with pytest.raises(PatchError) as info:
        apply_patch("application/json-patch+json", TARGET, b'[{"op":"test","path":"/spec/n","value":2}]')
    assert str(info.value) == "testing value /spec/n failed: test failed"
    assert info.value.to_api_error().reason == "Invalid"

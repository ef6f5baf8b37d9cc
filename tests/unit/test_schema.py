"""Unit tests for kumulus.apiserver.schema: pruning, defaulting, validation (OpenAPI + CEL), CRD schema checks."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kumulus.apiserver import schema as sch
from kumulus.apiserver.errors import FieldError
from kumulus.apiserver.schema import apply_defaults, check_schema, json_type_name, prune, validate

NOT_CHECKED = FieldError(
    "FieldValueInvalid",
    "<nil>",
    'Invalid value: "null": some validation rules were not checked because the object was invalid; '
    "correct the existing errors to complete validation",
)


def obj(spec: Any = None, **extra: Any) -> dict[str, Any]:
    o: dict[str, Any] = {"apiVersion": "compute.kumulus.dev/v1", "kind": "Server", "metadata": {"name": "s1"}}
    if spec is not None:
        o["spec"] = spec
    o.update(extra)
    return o


def root(spec_schema: dict[str, Any], **extra_props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": {"spec": spec_schema, **extra_props}}


def spec_of(**props: Any) -> dict[str, Any]:
    return root({"type": "object", "properties": props})


def errs(
    o: dict[str, Any], s: dict[str, Any], old: dict[str, Any] | None = None
) -> list[tuple[str, str, str]]:
    return [(e.reason, e.field, e.message) for e in validate(o, s, old)]


def one(o: dict[str, Any], s: dict[str, Any], old: dict[str, Any] | None = None) -> tuple[str, str, str]:
    found = errs(o, s, old)
    assert len(found) == 1, found
    return found[0]


# ----------------------------------------------------------------------------------------------------------------
# json_type_name
# ----------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("x", "string"),
        (1, "integer"),
        (1.5, "number"),
        (1.0, "number"),
        (True, "boolean"),
        (False, "boolean"),
        ({}, "object"),
        ([], "array"),
        (None, "null"),
    ],
)
def test_json_type_name(value: Any, name: str) -> None:
    assert json_type_name(value) == name


# ----------------------------------------------------------------------------------------------------------------
# prune
# ----------------------------------------------------------------------------------------------------------------


def test_prune_removes_unknown_fields_and_reports_paths() -> None:
    s = spec_of(name={"type": "string"}, inner={"type": "object", "properties": {"a": {"type": "integer"}}})
    o = obj({"name": "x", "foo": 1, "inner": {"a": 1, "b": 2}}, status={"x": 1})
    removed = prune(o, s)
    assert sorted(removed) == ["spec.foo", "spec.inner.b", "status"]
    assert o["spec"] == {"name": "x", "inner": {"a": 1}}
    assert "status" not in o


def test_prune_keeps_root_type_and_object_meta_untouched() -> None:
    s = spec_of(name={"type": "string"})
    o = obj({"name": "x"})
    o["metadata"] = {"name": "s1", "labels": {"a": "b"}, "whatever": 1}
    assert prune(o, s) == []
    assert o["apiVersion"] == "compute.kumulus.dev/v1"
    assert o["kind"] == "Server"
    assert o["metadata"] == {"name": "s1", "labels": {"a": "b"}, "whatever": 1}


def test_prune_keeps_root_meta_even_without_properties() -> None:
    o = obj(None, extra=1)
    assert prune(o, {"type": "object"}) == ["extra"]
    assert set(o) == {"apiVersion", "kind", "metadata"}


def test_prune_array_items_paths() -> None:
    s = spec_of(
        items={"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}}
    )
    o = obj({"items": [{"name": "a", "bar": 1}, {"name": "b"}, {"bar": 2, "baz": 3}]})
    assert prune(o, s) == ["spec.items[0].bar", "spec.items[2].bar", "spec.items[2].baz"]
    assert o["spec"]["items"] == [{"name": "a"}, {"name": "b"}, {}]


def test_prune_nested_arrays_of_arrays() -> None:
    inner = {"type": "object", "properties": {"k": {"type": "string"}}}
    s = spec_of(m={"type": "array", "items": {"type": "array", "items": inner}})
    o = obj({"m": [[{"k": "a", "x": 1}], [{"y": 2}]]})
    assert prune(o, s) == ["spec.m[0][0].x", "spec.m[1][0].y"]


def test_prune_object_without_properties_is_emptied() -> None:
    s = spec_of(opaque={"type": "object"})
    o = obj({"opaque": {"a": 1, "b": {"c": 2}}})
    assert prune(o, s) == ["spec.opaque.a", "spec.opaque.b"]
    assert o["spec"]["opaque"] == {}


def test_prune_preserve_unknown_fields_keeps_unknown_but_prunes_declared_children() -> None:
    s = spec_of(
        free={
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": True,
            "properties": {"strict": {"type": "object", "properties": {"a": {"type": "string"}}}},
        }
    )
    o = obj({"free": {"anything": {"deep": [1, 2]}, "strict": {"a": "x", "b": "y"}}})
    assert prune(o, s) == ["spec.free.strict.b"]
    assert o["spec"]["free"] == {"anything": {"deep": [1, 2]}, "strict": {"a": "x"}}


def test_prune_preserve_unknown_fields_at_root() -> None:
    s = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    o = obj({"a": 1}, other={"b": 2})
    assert prune(o, s) == []
    assert o["other"] == {"b": 2}


def test_prune_preserve_unknown_list_items() -> None:
    s = spec_of(
        l={
            "type": "array",
            "x-kubernetes-preserve-unknown-fields": True,
            "items": {"type": "object", "properties": {"o": {"type": "object", "properties": {}}}},
        }
    )
    o = obj({"l": [{"free": 1, "o": {"gone": 1}}]})
    assert prune(o, s) == ["spec.l[0].o.gone"]
    assert o["spec"]["l"] == [{"free": 1, "o": {}}]


def test_prune_additional_properties_schema_and_true() -> None:
    s = spec_of(
        labels={"type": "object", "additionalProperties": {"type": "string"}},
        nested={
            "type": "object",
            "additionalProperties": {"type": "object", "properties": {"a": {"type": "string"}}},
        },
        anything={"type": "object", "additionalProperties": True},
    )
    o = obj(
        {
            "labels": {"x": "1", "y": "2"},
            "nested": {"k": {"a": "x", "junk": 1}},
            "anything": {"p": {"q": 1}},
        }
    )
    assert prune(o, s) == ["spec.nested.k.junk"]
    assert o["spec"]["labels"] == {"x": "1", "y": "2"}
    assert o["spec"]["nested"] == {"k": {"a": "x"}}
    assert o["spec"]["anything"] == {"p": {"q": 1}}


def test_prune_embedded_resource_keeps_type_and_object_meta() -> None:
    s = spec_of(
        template={
            "type": "object",
            "x-kubernetes-embedded-resource": True,
            "properties": {"spec": {"type": "object", "properties": {"x": {"type": "string"}}}},
        },
        plain={"type": "object", "properties": {"spec": {"type": "object"}}},
    )
    o = obj(
        {
            "template": {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "p", "labels": {"a": "b"}},
                "spec": {"x": "y", "z": 1},
                "junk": True,
            },
            "plain": {"apiVersion": "v1", "kind": "Pod", "metadata": {}, "spec": {}},
        }
    )
    removed = prune(o, s)
    assert sorted(removed) == ["spec.plain.apiVersion", "spec.plain.kind", "spec.plain.metadata",
                               "spec.template.junk", "spec.template.spec.z"]  # fmt: skip
    assert o["spec"]["template"] == {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "labels": {"a": "b"}},
        "spec": {"x": "y"},
    }


def test_prune_embedded_resource_with_preserve_unknown() -> None:
    s = spec_of(
        raw={
            "type": "object",
            "x-kubernetes-embedded-resource": True,
            "x-kubernetes-preserve-unknown-fields": True,
        }
    )
    o = obj({"raw": {"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "b"}}})
    assert prune(o, s) == []
    assert o["spec"]["raw"]["data"] == {"a": "b"}


def test_prune_drops_non_nullable_nulls_without_default() -> None:
    s = spec_of(
        a={"type": "string"},
        b={"type": "string", "nullable": True},
        c={"type": "string", "default": "dflt"},
        m={"type": "object", "additionalProperties": {"type": "string"}},
    )
    o = obj({"a": None, "b": None, "c": None, "m": {"k": None, "j": "x"}})
    assert prune(o, s) == []  # nulls are not unknown fields
    assert o["spec"] == {"b": None, "c": None, "m": {"j": "x"}}


def test_prune_scalar_replaced_structure_is_left_for_validation() -> None:
    s = spec_of(inner={"type": "object", "properties": {"a": {"type": "string"}}})
    o = obj({"inner": "not-an-object"})
    assert prune(o, s) == []
    assert o["spec"]["inner"] == "not-an-object"


# ----------------------------------------------------------------------------------------------------------------
# apply_defaults
# ----------------------------------------------------------------------------------------------------------------


def test_defaults_missing_properties() -> None:
    s = spec_of(replicas={"type": "integer", "default": 1}, name={"type": "string", "default": "x"})
    o = obj({"name": "given"})
    apply_defaults(o, s)
    assert o["spec"] == {"name": "given", "replicas": 1}


def test_defaults_not_applied_under_absent_parent() -> None:
    s = root(
        {
            "type": "object",
            "properties": {
                "inner": {"type": "object", "properties": {"a": {"type": "integer", "default": 5}}}
            },
        }
    )
    o = obj()
    apply_defaults(o, s)
    assert "spec" not in o
    o = obj({})
    apply_defaults(o, s)
    assert o["spec"] == {}
    o = obj({"inner": {}})
    apply_defaults(o, s)
    assert o["spec"] == {"inner": {"a": 5}}


def test_defaults_nested_and_inside_default_value() -> None:
    s = spec_of(
        net={
            "type": "object",
            "default": {},
            "properties": {
                "mtu": {"type": "integer", "default": 1500},
                "dhcp": {"type": "object", "default": {"enabled": True}, "properties": {
                    "enabled": {"type": "boolean"}, "lease": {"type": "string", "default": "1h"}}},
            },
        }
    )  # fmt: skip
    o = obj({})
    apply_defaults(o, s)
    assert o["spec"] == {"net": {"mtu": 1500, "dhcp": {"enabled": True, "lease": "1h"}}}


def test_defaults_are_deep_copied() -> None:
    s = spec_of(tags={"type": "array", "items": {"type": "string"}, "default": ["a"]})
    o1, o2 = obj({}), obj({})
    apply_defaults(o1, s)
    apply_defaults(o2, s)
    o1["spec"]["tags"].append("b")
    assert o2["spec"]["tags"] == ["a"]
    assert s["properties"]["spec"]["properties"]["tags"]["default"] == ["a"]


def test_defaults_in_arrays_of_objects() -> None:
    s = spec_of(
        ports={
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"port": {"type": "integer"}, "protocol": {"type": "string", "default": "TCP"}},
            },
        }
    )
    o = obj({"ports": [{"port": 80}, {"port": 53, "protocol": "UDP"}]})
    apply_defaults(o, s)
    assert o["spec"]["ports"] == [{"port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}]


def test_defaults_in_additional_properties_maps() -> None:
    s = spec_of(
        disks={
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "properties": {"size": {"type": "string"}, "bus": {"type": "string", "default": "virtio"}},
            },
        }
    )
    o = obj({"disks": {"root": {"size": "10Gi"}, "data": {"size": "1Gi", "bus": "scsi"}}})
    apply_defaults(o, s)
    assert o["spec"]["disks"] == {
        "root": {"size": "10Gi", "bus": "virtio"},
        "data": {"size": "1Gi", "bus": "scsi"},
    }


def test_defaults_replace_non_nullable_null_but_not_nullable_null() -> None:
    s = spec_of(
        a={"type": "string", "default": "x"},
        b={"type": "string", "default": "y", "nullable": True},
        items={"type": "array", "items": {"type": "string", "default": "z"}},
        m={"type": "object", "additionalProperties": {"type": "string", "default": "w"}},
    )
    o = obj({"a": None, "b": None, "items": ["q", None], "m": {"k": None}})
    apply_defaults(o, s)
    assert o["spec"] == {"a": "x", "b": None, "items": ["q", "z"], "m": {"k": "w"}}


def test_defaults_then_validate_round_trip() -> None:
    s = spec_of(replicas={"type": "integer", "default": 1, "minimum": 1})
    o = obj({})
    apply_defaults(o, s)
    assert validate(o, s) == []


# ----------------------------------------------------------------------------------------------------------------
# validate: OpenAPI value validation
# ----------------------------------------------------------------------------------------------------------------


def test_valid_object_has_no_errors() -> None:
    s = root({"type": "object", "required": ["flavor"], "properties": {"flavor": {"type": "string"}}})
    assert validate(obj({"flavor": "m1.small"}), s) == []


def test_required() -> None:
    s = root({"type": "object", "required": ["flavor"], "properties": {"flavor": {"type": "string"}}})
    e = validate(obj({}), s)
    assert e == [FieldError("FieldValueRequired", "spec.flavor", "Required value")]


def test_required_at_root_and_root_meta_skipped() -> None:
    s = {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"type": "string", "enum": ["nope"]},
            "kind": {"type": "string", "pattern": "^x$"},
            "metadata": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 1}}},
            "spec": {"type": "object"},
        },
    }
    o = {"apiVersion": "a/v1", "kind": "K", "metadata": {"name": "too-long"}}
    assert errs(o, s) == [("FieldValueRequired", "spec", "Required value")]


def test_all_errors_are_returned() -> None:
    s = root(
        {
            "type": "object",
            "required": ["a", "b"],
            "properties": {"a": {"type": "string"}, "b": {"type": "string"}, "c": {"type": "integer"}},
        }
    )
    found = errs(obj({"c": "x"}), s)
    assert ("FieldValueRequired", "spec.a", "Required value") in found
    assert ("FieldValueRequired", "spec.b", "Required value") in found
    assert (
        "FieldValueTypeInvalid",
        "spec.c",
        'Invalid value: "string": spec.c in body must be of type integer: "string"',
    ) in found
    assert len(found) == 3


@pytest.mark.parametrize(
    ("declared", "value", "given"),
    [
        ("integer", "3", "string"),
        ("integer", 1.5, "number"),
        ("integer", True, "boolean"),
        ("string", 3, "integer"),
        ("string", {}, "object"),
        ("boolean", "true", "string"),
        ("object", [], "array"),
        ("array", {}, "object"),
        ("number", "1", "string"),
        ("string", None, "null"),
    ],
)
def test_type_errors(declared: str, value: Any, given: str) -> None:
    s = spec_of(f={"type": declared})
    assert one(obj({"f": value}), s) == (
        "FieldValueTypeInvalid",
        "spec.f",
        f'Invalid value: "{given}": spec.f in body must be of type {declared}: "{given}"',
    )


@pytest.mark.parametrize(
    ("declared", "value"),
    [("integer", 3), ("integer", 2.0), ("number", 3), ("number", 2.5), ("boolean", False), ("array", []),
     ("object", {}), ("string", "")],
)  # fmt: skip
def test_type_accepts(declared: str, value: Any) -> None:
    s = spec_of(f={"type": declared})
    assert validate(obj({"f": value}), s) == []


def test_nullable_allows_null() -> None:
    s = spec_of(f={"type": "string", "nullable": True, "minLength": 3})
    assert validate(obj({"f": None}), s) == []


def test_type_error_in_list_item_and_map_value_paths() -> None:
    s = spec_of(
        ports={"type": "array", "items": {"type": "object", "properties": {"port": {"type": "integer"}}}},
        labels={"type": "object", "additionalProperties": {"type": "string"}},
    )
    found = errs(obj({"ports": [{"port": 1}, {"port": "x"}], "labels": {"app": 5}}), s)
    assert found == [
        ("FieldValueTypeInvalid", "spec.ports[1].port",
         'Invalid value: "string": spec.ports[1].port in body must be of type integer: "string"'),
        ("FieldValueTypeInvalid", "spec.labels.app",
         'Invalid value: "integer": spec.labels.app in body must be of type string: "integer"'),
    ]  # fmt: skip


def test_enum_strings() -> None:
    s = spec_of(f={"type": "string", "enum": ["a", "b"]})
    assert validate(obj({"f": "a"}), s) == []
    assert one(obj({"f": "foo"}), s) == (
        "FieldValueNotSupported",
        "spec.f",
        'Unsupported value: "foo": supported values: "a", "b"',
    )


def test_enum_non_strings_are_json_encoded_and_quoted() -> None:
    s = spec_of(f={"type": "integer", "enum": [1, 2]}, g={"enum": [True, {"a": 1}]})
    assert validate(obj({"f": 2}), s) == []
    assert validate(obj({"f": 2.0}), s) == []
    found = errs(obj({"f": 3, "g": 1}), s)
    assert found == [
        ("FieldValueNotSupported", "spec.f", 'Unsupported value: 3: supported values: "1", "2"'),
        ("FieldValueNotSupported", "spec.g", 'Unsupported value: 1: supported values: "true", "{\\"a\\":1}"'),
    ]


def test_enum_does_not_confuse_booleans_and_integers() -> None:
    s = spec_of(f={"enum": [1]})
    assert errs(obj({"f": True}), s)[0][2] == 'Unsupported value: true: supported values: "1"'


def test_pattern() -> None:
    s = spec_of(name={"type": "string", "pattern": "^[a-z]+$"})
    assert validate(obj({"name": "abc"}), s) == []
    assert one(obj({"name": "ABC"}), s) == (
        "FieldValueInvalid",
        "spec.name",
        "Invalid value: \"ABC\": spec.name in body should match '^[a-z]+$'",
    )


def test_pattern_is_a_search_not_a_full_match() -> None:
    s = spec_of(name={"type": "string", "pattern": "[0-9]"})
    assert validate(obj({"name": "abc1def"}), s) == []


def test_string_values_are_go_quoted() -> None:
    s = spec_of(name={"type": "string", "pattern": "^x$"})
    assert (
        one(obj({"name": 'a"b\n'}), s)[2]
        == 'Invalid value: "a\\"b\\n": spec.name in body should match \'^x$\''
    )


@pytest.mark.parametrize(
    ("constraint", "value", "message"),
    [
        ({"minimum": 1}, 0, "Invalid value: 0: spec.size in body should be greater than or equal to 1"),
        ({"maximum": 10}, 11, "Invalid value: 11: spec.size in body should be less than or equal to 10"),
        ({"minimum": 1, "exclusiveMinimum": True}, 1, "Invalid value: 1: spec.size in body should be greater than 1"),
        ({"maximum": 10, "exclusiveMaximum": True}, 10, "Invalid value: 10: spec.size in body should be less than 10"),
        ({"multipleOf": 2}, 3, "Invalid value: 3: spec.size in body should be a multiple of 2"),
        ({"multipleOf": 0.5}, 0.3, "Invalid value: 0.3: spec.size in body should be a multiple of 0.5"),
        ({"minimum": 1.5}, 1.25, "Invalid value: 1.25: spec.size in body should be greater than or equal to 1.5"),
        ({"maximum": 1000000}, 2000000, "Invalid value: 2000000: spec.size in body should be less than or equal "
                                        "to 1e+06"),
    ],
)  # fmt: skip
def test_numeric_bounds(constraint: dict[str, Any], value: Any, message: str) -> None:
    s = spec_of(size={"type": "number", **constraint})
    assert one(obj({"size": value}), s) == ("FieldValueInvalid", "spec.size", message)


@pytest.mark.parametrize(
    ("constraint", "value"),
    [({"minimum": 1}, 1), ({"maximum": 10}, 10), ({"multipleOf": 2}, 4), ({"multipleOf": 0.5}, 1.5),
     ({"minimum": 1, "exclusiveMinimum": True}, 2), ({"maximum": 1.5}, 1)],
)  # fmt: skip
def test_numeric_bounds_accept(constraint: dict[str, Any], value: Any) -> None:
    s = spec_of(size={"type": "number", **constraint})
    assert validate(obj({"size": value}), s) == []


def test_numeric_checks_do_not_apply_to_other_types() -> None:
    s = spec_of(size={"type": "integer", "minimum": 5})
    assert [e[0] for e in errs(obj({"size": "1"}), s)] == ["FieldValueTypeInvalid"]


def test_min_length() -> None:
    s = spec_of(name={"type": "string", "minLength": 1})
    assert one(obj({"name": ""}), s) == (
        "FieldValueInvalid",
        "spec.name",
        'Invalid value: "": spec.name in body should be at least 1 chars long',
    )


def test_max_length_counts_characters() -> None:
    s = spec_of(name={"type": "string", "maxLength": 63})
    assert validate(obj({"name": "é" * 63}), s) == []
    assert one(obj({"name": "a" * 64}), s) == (
        "FieldValueTooLong",
        "spec.name",
        "Too long: may not be more than 63 bytes",
    )


def test_max_length_one_byte_wording() -> None:
    s = spec_of(name={"type": "string", "maxLength": 1})
    assert one(obj({"name": "ab"}), s)[2] == "Too long: may not be more than 1 byte"


def test_min_items_and_max_items() -> None:
    s = spec_of(items={"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 3})
    assert one(obj({"items": []}), s) == (
        "FieldValueInvalid",
        "spec.items",
        "Invalid value: 0: spec.items in body should have at least 1 items",
    )
    assert one(obj({"items": [1, 2, 3, 4, 5]}), s) == (
        "FieldValueTooMany",
        "spec.items",
        "Too many: 5: must have at most 3 items",
    )
    assert validate(obj({"items": [1, 2, 3]}), s) == []


def test_min_properties_and_max_properties() -> None:
    s = spec_of(m={"type": "object", "additionalProperties": {"type": "string"}, "minProperties": 1,
                   "maxProperties": 2})  # fmt: skip
    assert one(obj({"m": {}}), s) == (
        "FieldValueInvalid",
        "spec.m",
        "Invalid value: 0: spec.m in body should have at least 1 properties",
    )
    assert one(obj({"m": {"a": "1", "b": "2", "c": "3"}}), s) == (
        "FieldValueTooMany",
        "spec.m",
        "Too many: 3: must have at most 2 items",
    )


def test_unique_items() -> None:
    s = spec_of(l={"type": "array", "items": {"type": "string"}, "uniqueItems": True})
    assert validate(obj({"l": ["a", "b"]}), s) == []
    assert one(obj({"l": ["a", "b", "a"]}), s) == (
        "FieldValueInvalid",
        "spec.l",
        'Invalid value: "": spec.l in body shouldn\'t contain duplicates',
    )


def test_list_type_set_duplicates() -> None:
    s = spec_of(tags={"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"})
    assert validate(obj({"tags": ["a", "b"]}), s) == []
    assert errs(obj({"tags": ["a", "b", "a", "a", "b"]}), s) == [
        ("FieldValueDuplicate", "spec.tags[2]", 'Duplicate value: "a"'),
        ("FieldValueDuplicate", "spec.tags[4]", 'Duplicate value: "b"'),
    ]


def test_list_type_set_distinguishes_json_types() -> None:
    s = spec_of(
        v={"type": "array", "items": {"x-kubernetes-int-or-string": True}, "x-kubernetes-list-type": "set"}
    )
    assert validate(obj({"v": [1, "1"]}), s) == []
    assert one(obj({"v": [1, 2, 1]}), s) == ("FieldValueDuplicate", "spec.v[2]", "Duplicate value: 1")


def test_list_type_set_of_objects() -> None:
    s = spec_of(v={"type": "array", "x-kubernetes-list-type": "set",
                   "items": {"type": "object", "x-kubernetes-map-type": "atomic",
                             "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}}})  # fmt: skip
    assert one(obj({"v": [{"a": 1, "b": 2}, {"b": 2, "a": 1}]}), s) == (
        "FieldValueDuplicate",
        "spec.v[1]",
        'Duplicate value: map[string]interface {}{"a":1, "b":2}',
    )


def _ports_schema(keys: list[str]) -> dict[str, Any]:
    return spec_of(
        ports={
            "type": "array",
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": keys,
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "port": {"type": "integer"},
                               "protocol": {"type": "string"}},
            },
        }
    )  # fmt: skip


def test_list_type_map_duplicate_keys() -> None:
    s = _ports_schema(["name"])
    assert validate(obj({"ports": [{"name": "http", "port": 80}, {"name": "https", "port": 443}]}), s) == []
    assert one(obj({"ports": [{"name": "http", "port": 80}, {"name": "http", "port": 8080}]}), s) == (
        "FieldValueDuplicate",
        "spec.ports[1]",
        'Duplicate value: map[string]interface {}{"name":"http"}',
    )


def test_list_type_map_multiple_keys() -> None:
    s = _ports_schema(["port", "protocol"])
    ports = [
        {"port": 53, "protocol": "UDP"},
        {"port": 53, "protocol": "TCP"},
        {"port": 53, "protocol": "UDP"},
    ]
    assert one(obj({"ports": ports}), s) == (
        "FieldValueDuplicate",
        "spec.ports[2]",
        'Duplicate value: map[string]interface {}{"port":53, "protocol":"UDP"}',
    )


def test_list_type_map_requires_objects() -> None:
    s = spec_of(l={"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["k"],
                   "items": {"x-kubernetes-preserve-unknown-fields": True}})  # fmt: skip
    assert one(obj({"l": [{"k": "a"}, "x"]}), s) == (
        "FieldValueInvalid",
        "spec.l[1]",
        'Invalid value: "x": must be an object for an array of list-type map',
    )


VALID_FORMATS = [
    ("date-time", "2024-01-02T03:04:05Z"),
    ("date-time", "2024-01-02T03:04:05.123+02:00"),
    ("datetime", "2024-01-02t03:04:05z"),
    ("date", "2024-02-29"),
    ("ipv4", "10.0.0.1"),
    ("ipv4", "010.000.000.001"),
    ("ipv6", "fe80::1"),
    ("ipv6", "::ffff:1.2.3.4"),
    ("cidr", "10.0.0.0/8"),
    ("cidr", "10.1.2.3/8"),
    ("cidr", "2001:db8::/32"),
    ("mac", "00:00:5e:00:53:01"),
    ("mac", "02-00-5E-10-00-00-00-01"),
    ("mac", "0000.5e00.5301"),
    ("uuid", "123e4567-e89b-12d3-a456-426614174000"),
    ("uuid", "123E4567E89B12D3A456426614174000"),
    ("uuid4", "123e4567-e89b-42d3-a456-426614174000"),
    ("hostname", "example.com"),
    ("hostname", "localhost"),
    ("email", "a.b@example.com"),
    ("email", "John <john@example.com>"),
    ("uri", "https://example.com/a?b=c"),
    ("uri", "/absolute/path"),
    ("uri", "mailto:someone@example.com"),
    ("byte", "aGVsbG8="),
    ("duration", "1h30m"),
    ("duration", "3 days"),
    ("duration", "0"),
    ("bsonobjectid", "507f1f77bcf86cd799439011"),
    ("hexcolor", "#fff"),
    ("rgbcolor", "rgb(255, 0, 10)"),
    ("ssn", "123-45-6789"),
    ("isbn10", "0321751043"),
    ("isbn13", "978-0321751041"),
    ("isbn", "0321751043"),
    ("creditcard", "4111 1111 1111 1111"),
    ("password", "anything at all"),
]

INVALID_FORMATS = [
    ("date-time", "2024-01-02"),
    ("date-time", "2024-01-02T25:00:00Z"),
    ("date-time", "2024-01-02T03:04:05"),
    ("date", "2024-02-30"),
    ("date", "24-01-01"),
    ("ipv4", "1.2.3"),
    ("ipv4", "256.1.1.1"),
    ("ipv4", "fe80::1"),
    ("ipv6", "10.0.0.1"),
    ("ipv6", "fe80::1%eth0"),
    ("cidr", "10.0.0.1"),
    ("cidr", "10.0.0.0/33"),
    ("mac", "00:00:5e:00:53"),
    ("mac", "00:00-5e:00:53:01"),
    ("uuid", "not-a-uuid"),
    ("uuid4", "123e4567-e89b-12d3-a456-426614174000"),
    ("hostname", "-bad-.com"),
    ("hostname", "a_b.com"),
    ("email", "nope"),
    ("uri", "relative/path"),
    ("uri", "http://exa mple.com/"),
    ("uri", "/bad%zzescape"),
    ("byte", "not base64!"),
    ("duration", "soon"),
    ("bsonobjectid", "507f1f77"),
    ("hexcolor", "#ffff"),
    ("rgbcolor", "rgb(256,0,0)"),
    ("ssn", "123456789012"),
    ("isbn10", "0321751044"),
    ("isbn13", "978-0321751042"),
    ("creditcard", "4111 1111 1111 1112"),
]


@pytest.mark.parametrize(("fmt", "value"), VALID_FORMATS)
def test_formats_accept(fmt: str, value: str) -> None:
    s = spec_of(f={"type": "string", "format": fmt})
    assert validate(obj({"f": value}), s) == []


@pytest.mark.parametrize(("fmt", "value"), INVALID_FORMATS)
def test_formats_reject(fmt: str, value: str) -> None:
    s = spec_of(f={"type": "string", "format": fmt})
    q = sch._go_quote(value)
    assert one(obj({"f": value}), s) == (
        "FieldValueTypeInvalid",
        "spec.f",
        f"Invalid value: {q}: spec.f in body must be of type {fmt}: {q}",
    )


def test_format_ipv4_message() -> None:
    s = spec_of(ip={"type": "string", "format": "ipv4"})
    assert one(obj({"ip": "x"}), s) == (
        "FieldValueTypeInvalid",
        "spec.ip",
        'Invalid value: "x": spec.ip in body must be of type ipv4: "x"',
    )


def test_unknown_formats_and_non_strings_are_ignored() -> None:
    s = spec_of(a={"type": "string", "format": "int-or-string"}, b={"type": "integer", "format": "int32"},
                c={"x-kubernetes-int-or-string": True, "format": "ipv4"})  # fmt: skip
    assert validate(obj({"a": "whatever", "b": 1 << 40, "c": 5}), s) == []


def test_int_or_string() -> None:
    s = spec_of(port={"x-kubernetes-int-or-string": True})
    assert validate(obj({"port": 80}), s) == []
    assert validate(obj({"port": "http"}), s) == []
    assert one(obj({"port": True}), s) == (
        "FieldValueTypeInvalid",
        "spec.port",
        'Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean"',
    )
    assert one(obj({"port": 1.5}), s)[0] == "FieldValueTypeInvalid"


def test_int_or_string_with_any_of_pattern() -> None:
    s = spec_of(port={"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}],
                      "pattern": "^[a-z]+$"})  # fmt: skip
    assert validate(obj({"port": 8080}), s) == []
    assert validate(obj({"port": "http"}), s) == []
    assert (
        one(obj({"port": "HTTP"}), s)[2]
        == "Invalid value: \"HTTP\": spec.port in body should match '^[a-z]+$'"
    )


def test_preserve_unknown_fields_allows_anything_but_validates_declared() -> None:
    s = spec_of(
        cfg={
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": True,
            "properties": {"level": {"type": "integer", "maximum": 3}},
        },
        raw={"x-kubernetes-preserve-unknown-fields": True},
    )
    assert validate(obj({"cfg": {"anything": [1, {"x": None}]}, "raw": [1, "a", None]}), s) == []
    assert one(obj({"cfg": {"level": 4}}), s) == (
        "FieldValueInvalid",
        "spec.cfg.level",
        "Invalid value: 4: spec.cfg.level in body should be less than or equal to 3",
    )


def test_additional_properties_values_are_validated() -> None:
    s = spec_of(labels={"type": "object", "additionalProperties": {"type": "string", "maxLength": 3}})
    assert one(obj({"labels": {"ok": "abc", "key": "abcd"}}), s) == (
        "FieldValueTooLong",
        "spec.labels.key",
        "Too long: may not be more than 3 bytes",
    )


def test_additional_properties_false_is_ignored() -> None:
    s = spec_of(m={"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False})
    assert validate(obj({"m": {"a": "x", "b": 1}}), s) == []


def test_any_of() -> None:
    s = spec_of(v={"type": "integer", "anyOf": [{"minimum": 10}, {"maximum": 0}]})
    assert validate(obj({"v": 20}), s) == []
    assert validate(obj({"v": -1}), s) == []
    assert errs(obj({"v": 5}), s) == [
        (
            "FieldValueInvalid",
            "<nil>",
            'Invalid value: "": "spec.v" must validate at least one schema (anyOf)',
        ),
        (
            "FieldValueInvalid",
            "spec.v",
            "Invalid value: 5: spec.v in body should be greater than or equal to 10",
        ),
    ]


def test_one_of() -> None:
    s = spec_of(v={"type": "object", "oneOf": [{"required": ["a"]}, {"required": ["b"]}],
                   "properties": {"a": {"type": "string"}, "b": {"type": "string"}}})  # fmt: skip
    assert validate(obj({"v": {"a": "x"}}), s) == []
    assert errs(obj({"v": {"a": "x", "b": "y"}}), s) == [
        ("FieldValueInvalid", "<nil>",
         'Invalid value: "": "spec.v" must validate one and only one schema (oneOf). Found 2 valid alternatives'),
    ]  # fmt: skip
    assert errs(obj({"v": {}}), s) == [
        ("FieldValueInvalid", "<nil>",
         'Invalid value: "": "spec.v" must validate one and only one schema (oneOf). Found none valid'),
        ("FieldValueRequired", "spec.v.a", "Required value"),
    ]  # fmt: skip


def test_all_of() -> None:
    s = spec_of(v={"type": "string", "allOf": [{"minLength": 2}, {"pattern": "^a"}]})
    assert validate(obj({"v": "ab"}), s) == []
    assert errs(obj({"v": "bb"}), s) == [
        ("FieldValueInvalid", "spec.v", "Invalid value: \"bb\": spec.v in body should match '^a'"),
        ("FieldValueInvalid", "<nil>", 'Invalid value: "": "spec.v" must validate all the schemas (allOf)'),
    ]
    assert errs(obj({"v": "b"}), s)[-1][2] == (
        'Invalid value: "": "spec.v" must validate all the schemas (allOf). None validated'
    )


def test_not() -> None:
    s = spec_of(v={"type": "string", "not": {"enum": ["root"]}})
    assert validate(obj({"v": "user"}), s) == []
    assert errs(obj({"v": "root"}), s) == [
        ("FieldValueInvalid", "<nil>", 'Invalid value: "": "spec.v" must not validate the schema (not)'),
    ]


def test_value_validations_on_nested_properties_in_any_of() -> None:
    s = spec_of(v={"type": "object", "properties": {"a": {"type": "integer"}},
                   "anyOf": [{"properties": {"a": {"minimum": 5}}}]})  # fmt: skip
    assert validate(obj({"v": {"a": 6}}), s) == []
    assert errs(obj({"v": {"a": 1}}), s)[1] == (
        "FieldValueInvalid",
        "spec.v.a",
        "Invalid value: 1: spec.v.a in body should be greater than or equal to 5",
    )


def test_embedded_resource_requires_api_version_and_kind() -> None:
    s = spec_of(
        t={
            "type": "object",
            "x-kubernetes-embedded-resource": True,
            "x-kubernetes-preserve-unknown-fields": True,
        }
    )
    assert validate(obj({"t": {"apiVersion": "v1", "kind": "Pod"}}), s) == []
    assert errs(obj({"t": {"metadata": {}}}), s) == [
        ("FieldValueRequired", "spec.t.apiVersion", "Required value"),
        ("FieldValueRequired", "spec.t.kind", "Required value"),
    ]
    found = errs(obj({"t": {"apiVersion": "a/b/c", "kind": "Not_Valid"}}), s)
    assert found[0] == (
        "FieldValueInvalid",
        "spec.t.apiVersion",
        'Invalid value: "a/b/c": unexpected GroupVersion string: a/b/c',
    )
    assert found[1][1] == "spec.t.kind"
    assert found[1][2].startswith(
        'Invalid value: "Not_Valid": may have mixed case, but should otherwise match: '
    )


def test_root_apiversion_kind_metadata_not_validated_here() -> None:
    s = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    assert validate({"metadata": 5}, s) == []


# ----------------------------------------------------------------------------------------------------------------
# validate: ratcheting on update
# ----------------------------------------------------------------------------------------------------------------


def test_ratcheting_unchanged_invalid_field_is_allowed_on_update() -> None:
    s = spec_of(name={"type": "string", "maxLength": 3}, other={"type": "string"})
    old = obj({"name": "toolong", "other": "a"})
    new = obj({"name": "toolong", "other": "b"})
    assert validate(new, s, old) == []
    assert errs(new, s)[0][0] == "FieldValueTooLong"  # on create it is an error
    changed = obj({"name": "toolong2", "other": "b"})
    assert errs(changed, s, old)[0][:2] == ("FieldValueTooLong", "spec.name")


def test_ratcheting_does_not_treat_true_as_one() -> None:
    s = spec_of(n={"type": "integer"})
    assert errs(obj({"n": True}), s, obj({"n": 1}))[0][0] == "FieldValueTypeInvalid"


def test_ratcheting_map_list_items_by_key() -> None:
    s = spec_of(
        ports={
            "type": "array",
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
            "items": {"type": "object", "properties": {"name": {"type": "string"},
                                                        "port": {"type": "integer", "maximum": 100}}},
        }
    )  # fmt: skip
    old = obj({"ports": [{"name": "a", "port": 1000}]})
    new = obj({"ports": [{"name": "b", "port": 1}, {"name": "a", "port": 1000}]})
    assert validate(new, s, old) == []
    newer = obj({"ports": [{"name": "b", "port": 1000}, {"name": "a", "port": 1000}]})
    assert errs(newer, s, old) == [
        ("FieldValueInvalid", "spec.ports[0].port",
         "Invalid value: 1000: spec.ports[0].port in body should be less than or equal to 100"),
    ]  # fmt: skip


def test_no_ratcheting_for_required_when_parent_changed() -> None:
    s = root({"type": "object", "required": ["flavor"], "properties": {"flavor": {"type": "string"},
                                                                       "x": {"type": "string"}}})  # fmt: skip
    assert errs(obj({"x": "2"}), s, obj({"x": "1"})) == [
        ("FieldValueRequired", "spec.flavor", "Required value")
    ]
    assert validate(obj({"x": "1"}), s, obj({"x": "1"})) == []


# ----------------------------------------------------------------------------------------------------------------
# validate: CEL x-kubernetes-validations
# ----------------------------------------------------------------------------------------------------------------


def immutable(t: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": t,
        **extra,
        "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "is immutable"}],
    }


IMMUTABLE_CASES = [
    ("string", {"type": "string"}, "a", "b", "string"),
    ("int", {"type": "integer"}, 1, 2, "integer"),
    ("number", {"type": "number"}, 1.5, 2, "number"),
    ("object", {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "string"}}},
     {"a": 1, "b": "x"}, {"a": 1, "b": "y"}, "object"),
    ("list", {"type": "array", "items": {"type": "string"}}, ["a", "b"], ["b", "a"], "array"),
    ("map", {"type": "object", "additionalProperties": {"type": "integer"}}, {"k": 1}, {"k": 2}, "object"),
]  # fmt: skip


@pytest.mark.parametrize(("label", "base", "before", "after", "type_name"), IMMUTABLE_CASES)
def test_cel_immutable_field(
    label: str, base: dict[str, Any], before: Any, after: Any, type_name: str
) -> None:
    s = spec_of(
        f={**base, "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "is immutable"}]}
    )
    # create: transition rules are skipped
    assert validate(obj({"f": after}), s) == []
    # update, unchanged: passes
    assert validate(obj({"f": copy.deepcopy(before)}, other=1), s, obj({"f": before})) == []
    # update, changed: fails
    assert validate(obj({"f": after}), s, obj({"f": before})) == [
        FieldError("FieldValueInvalid", "spec.f", f'Invalid value: "{type_name}": is immutable')
    ]


def test_cel_immutable_skipped_when_field_newly_added() -> None:
    s = spec_of(f=immutable("string"), g={"type": "string"})
    assert validate(obj({"f": "a"}), s, obj({"g": "x"})) == []


def test_cel_cross_field_rule_with_message() -> None:
    s = root(
        {
            "type": "object",
            "properties": {"min": {"type": "integer"}, "max": {"type": "integer"}},
            "x-kubernetes-validations": [
                {"rule": "self.min <= self.max", "message": "min must not exceed max"}
            ],
        }
    )
    assert validate(obj({"min": 1, "max": 2}), s) == []
    assert validate(obj({"min": 3, "max": 2}), s) == [
        FieldError("FieldValueInvalid", "spec", 'Invalid value: "object": min must not exceed max')
    ]


def test_cel_default_message_is_failed_rule() -> None:
    s = root({"type": "object", "properties": {"min": {"type": "integer"}, "max": {"type": "integer"}},
              "x-kubernetes-validations": [{"rule": "self.min <= self.max"}]})  # fmt: skip
    assert one(obj({"min": 3, "max": 2}), s) == (
        "FieldValueInvalid",
        "spec",
        'Invalid value: "object": failed rule: self.min <= self.max',
    )


def test_cel_rule_with_field_path() -> None:
    s = root({"type": "object",
              "properties": {"min": {"type": "integer"}, "max": {"type": "integer"},
                             "m": {"type": "object", "additionalProperties": {"type": "string"}}},
              "x-kubernetes-validations": [
                  {"rule": "self.min <= self.max", "message": "max too small", "fieldPath": ".max"},
                  {"rule": "!('bad' in self.m)", "message": "no bad key", "fieldPath": ".m['bad']"},
              ]})  # fmt: skip
    assert errs(obj({"min": 3, "max": 2, "m": {"bad": "x"}}), s) == [
        ("FieldValueInvalid", "spec.max", 'Invalid value: "object": max too small'),
        ("FieldValueInvalid", "spec.m[bad]", 'Invalid value: "object": no bad key'),
    ]


def test_cel_rule_on_root_reports_nil_path_and_sees_metadata_name() -> None:
    s = {"type": "object", "properties": {"spec": {"type": "object", "properties": {"n": {"type": "string"}}}},
         "x-kubernetes-validations": [{"rule": "self.spec.n == self.metadata.name", "message": "n must be name"},
                                      {"rule": "self.kind == 'Server' && self.apiVersion.startsWith('compute.')"},
                                      {"rule": "self.spec.n != 'x'", "fieldPath": ".spec.n"}]}  # fmt: skip
    assert validate(obj({"n": "s1"}), s) == []
    assert errs(obj({"n": "x"}), s) == [
        ("FieldValueInvalid", "<nil>", 'Invalid value: "object": n must be name'),
        ("FieldValueInvalid", "spec.n", "Invalid value: \"object\": failed rule: self.spec.n != 'x'"),
    ]


def test_cel_root_metadata_only_exposes_name_and_generate_name() -> None:
    s = {"type": "object", "x-kubernetes-validations": [{"rule": "!has(self.metadata.labels)"}]}
    o = obj()
    o["metadata"]["labels"] = {"a": "b"}
    assert validate(o, s) == []


def test_cel_map_list_transition_rule_correlates_items_by_key() -> None:
    s = spec_of(
        disks={
            "type": "array",
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "size": {"type": "integer"}},
                "x-kubernetes-validations": [
                    {"rule": "self.size >= oldSelf.size", "message": "disks cannot shrink"}
                ],
            },
        }
    )
    old = obj({"disks": [{"name": "root", "size": 10}, {"name": "data", "size": 100}]})
    # reordered + grown + a new item (no old value: rule skipped for it)
    new = obj(
        {"disks": [{"name": "data", "size": 200}, {"name": "root", "size": 10}, {"name": "new", "size": 1}]}
    )
    assert validate(new, s, old) == []
    shrunk = obj({"disks": [{"name": "data", "size": 50}, {"name": "root", "size": 10}]})
    assert validate(shrunk, s, old) == [
        FieldError("FieldValueInvalid", "spec.disks[0]", 'Invalid value: "object": disks cannot shrink')
    ]


def test_cel_plain_list_items_are_not_correlated() -> None:
    s = spec_of(l={"type": "array", "items": immutable("string")})
    assert validate(obj({"l": ["b"]}), s, obj({"l": ["a"]})) == []


def test_cel_additional_properties_correlated_by_key_with_key_paths() -> None:
    s = spec_of(m={"type": "object", "additionalProperties": immutable("integer")})
    assert validate(obj({"m": {"a": 1, "b": 5}}), s, obj({"m": {"a": 1}})) == []
    assert validate(obj({"m": {"a": 2}}), s, obj({"m": {"a": 1}})) == [
        FieldError("FieldValueInvalid", "spec.m[a]", 'Invalid value: "integer": is immutable')
    ]


def test_cel_atomic_map_is_not_correlated() -> None:
    s = spec_of(m={"type": "object", "x-kubernetes-map-type": "atomic",
                   "properties": {"a": immutable("integer")}})  # fmt: skip
    assert validate(obj({"m": {"a": 2}}), s, obj({"m": {"a": 1}})) == []


def test_cel_whole_object_transition_rule() -> None:
    s = root({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
              "x-kubernetes-validations": [{"rule": "self.b >= oldSelf.b || self.a == oldSelf.a",
                                            "message": "cannot lower b and change a"}]})  # fmt: skip
    assert validate(obj({"a": "x", "b": 1}), s, obj({"a": "x", "b": 5})) == []
    assert one(obj({"a": "y", "b": 1}), s, obj({"a": "x", "b": 5}))[2] == (
        'Invalid value: "object": cannot lower b and change a'
    )


def test_cel_optional_old_self() -> None:
    rule = {"rule": "!oldSelf.hasValue() || self >= oldSelf.value()", "optionalOldSelf": True,
            "message": "must not decrease"}  # fmt: skip
    s = spec_of(n={"type": "integer", "x-kubernetes-validations": [rule]})
    assert validate(obj({"n": 1}), s) == []
    assert validate(obj({"n": 2}), s, obj({"n": 1})) == []
    assert errs(obj({"n": 0}), s, obj({"n": 1}))[0][2] == 'Invalid value: "integer": must not decrease'
    s2 = spec_of(n={"type": "integer", "x-kubernetes-validations": [
        {"rule": "self == oldSelf.orValue(7)", "optionalOldSelf": True}]})  # fmt: skip
    assert validate(obj({"n": 7}), s2) == []
    assert (
        errs(obj({"n": 8}), s2)[0][2] == 'Invalid value: "integer": failed rule: self == oldSelf.orValue(7)'
    )


@pytest.mark.parametrize(
    ("reason", "reported", "message"),
    [
        ("FieldValueForbidden", "FieldValueForbidden", "Forbidden: nope"),
        ("FieldValueRequired", "FieldValueRequired", "Required value: nope"),
        ("FieldValueDuplicate", "FieldValueDuplicate", 'Duplicate value: "object"'),
        ("FieldValueInvalid", "FieldValueInvalid", 'Invalid value: "object": nope'),
    ],
)
def test_cel_rule_reason(reason: str, reported: str, message: str) -> None:
    s = root(
        {
            "type": "object",
            "x-kubernetes-validations": [{"rule": "false", "message": "nope", "reason": reason}],
        }
    )
    assert one(obj({}), s) == (reported, "spec", message)


def test_cel_message_expression() -> None:
    s = root({"type": "object", "properties": {"n": {"type": "integer"}},
              "x-kubernetes-validations": [
                  {"rule": "self.n < 5", "messageExpression": "'n is ' + string(self.n) + ', must be below 5'"},
                  {"rule": "self.n < 4", "message": "fallback", "messageExpression": "self.nope"},
              ]})  # fmt: skip
    assert errs(obj({"n": 7}), s) == [
        ("FieldValueInvalid", "spec", 'Invalid value: "object": n is 7, must be below 5'),
        ("FieldValueInvalid", "spec", 'Invalid value: "object": fallback'),
    ]


def test_cel_evaluation_errors_are_reported_not_raised() -> None:
    s = root({"type": "object", "properties": {"a": {"type": "integer"}, "l": {"type": "array",
              "items": {"type": "integer"}}},
              "x-kubernetes-validations": [
                  {"rule": "self.a == 1"},
                  {"rule": "self.l[3] == 1"},
                  {"rule": "1 / (self.l.size() - 1) == 1"},
              ]})  # fmt: skip
    assert errs(obj({"l": [1]}), s) == [
        ("FieldValueInvalid", "spec", 'Invalid value: "object": no such key: a evaluating rule: self.a == 1'),
        ("FieldValueInvalid", "spec", 'Invalid value: "object": index out of bounds evaluating rule: self.l[3] == 1'),
        ("FieldValueInvalid", "spec",
         'Invalid value: "object": division by zero evaluating rule: 1 / (self.l.size() - 1) == 1'),
    ]  # fmt: skip


def test_cel_no_such_overload_message() -> None:
    s = spec_of(v={"x-kubernetes-int-or-string": True, "x-kubernetes-validations": [{"rule": "self > 5"}]})
    assert validate(obj({"v": 6}), s) == []
    assert one(obj({"v": "x"}), s) == (
        "FieldValueInvalid",
        "spec.v",
        "Invalid value: \"\": 'no such overload': call arguments did not match a supported operator, function or "
        "macro signature for rule: self > 5",
    )


def test_cel_compile_error_at_validation_time() -> None:
    s = root({"type": "object", "x-kubernetes-validations": [{"rule": "self.x =="}]})
    reason, field, message = one(obj({}), s)
    assert (reason, field) == ("FieldValueInvalid", "spec")
    assert message.startswith('Invalid value: "object": rule compile error: ERROR: <input>:1:')


def test_cel_rules_not_run_on_null_or_absent_values() -> None:
    s = spec_of(
        n={"type": "string", "nullable": True, "x-kubernetes-validations": [{"rule": "self.size() > 3"}]}
    )
    assert validate(obj({"n": None}), s) == []
    assert validate(obj({}), s) == []


def test_cel_blocked_by_schema_errors() -> None:
    s = root({"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}},
              "x-kubernetes-validations": [{"rule": "false"}]})  # fmt: skip
    assert validate(obj({}), s) == [FieldError("FieldValueRequired", "spec.a", "Required value"), NOT_CHECKED]


def test_cel_not_blocked_by_non_blocking_errors() -> None:
    s = root({"type": "object", "properties": {"a": {"type": "string", "pattern": "^x$"}},
              "x-kubernetes-validations": [{"rule": "false", "message": "m"}]})  # fmt: skip
    assert [e.field for e in validate(obj({"a": "y"}), s)] == ["spec.a", "spec"]


def test_blocked_message_only_when_rules_exist() -> None:
    s = root({"type": "object", "required": ["a"]})
    assert validate(obj({}), s) == [FieldError("FieldValueRequired", "spec.a", "Required value")]


def test_cel_ratchets_errors_of_unchanged_values() -> None:
    s = spec_of(n={"type": "integer", "x-kubernetes-validations": [{"rule": "self < 10", "message": "too big"}]},
                o={"type": "string"})  # fmt: skip
    assert validate(obj({"n": 20, "o": "b"}), s, obj({"n": 20, "o": "a"})) == []
    assert errs(obj({"n": 21, "o": "b"}), s, obj({"n": 20, "o": "a"})) == [
        ("FieldValueInvalid", "spec.n", 'Invalid value: "integer": too big')
    ]


@pytest.mark.parametrize(
    "rule",
    [
        "size(self.name) == 6 && self.name.size() == 6",
        "has(self.name) && !has(self.missing)",
        "self.name.matches('^[a-z]+$')",
        "self.name.startsWith('ser') && self.name.endsWith('ver')",
        "self.name.contains('rv')",
        "self.tags.all(t, t.size() > 0)",
        "self.tags.exists(t, t == 'b')",
        "self.tags.exists_one(t, t == 'a')",
        "self.tags.map(t, t + '!') == ['a!', 'b!']",
        "self.tags.filter(t, t != 'a') == ['b']",
        "'a' in self.tags && 'x' in self.labels",
        "self.count > 2 ? self.name == 'server' : false",
        "string(self.count) == '3' && int('42') == 42 && int(self.num) == 7",
        "double(self.count) == 3.0 && self.ratio == 0.5",
        "self.labels.x == 'y' && self.labels['x'] == 'y'",
        "self.tags.size() == 2 && self.labels.size() == 1",
        "type(self.name) == string",
        "self.ports.all(p, p.port > 0 && p.port < 65536)",
        "self.ports.exists(p, has(p.name) && p.name == 'http')",
        "self.count + 1 == 4 && self.count * 2 == 6 && self.count % 2 == 1",
        "self.ts > timestamp('2020-01-01T00:00:00Z')",
        "self.ttl == duration('1h30m')",
        "self.ratio * 2.0 == 1.0",
    ],
)
def test_cel_standard_library(rule: str) -> None:
    s = root(
        {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "count": {"type": "integer"},
                "num": {"type": "string"},
                "ratio": {"type": "number"},
                "ts": {"type": "string", "format": "date-time"},
                "ttl": {"type": "string", "format": "duration"},
                "ports": {"type": "array", "items": {"type": "object", "properties": {
                    "name": {"type": "string"}, "port": {"type": "integer"}}}},
            },
            "x-kubernetes-validations": [{"rule": rule}],
        }
    )  # fmt: skip
    o = obj(
        {
            "name": "server",
            "tags": ["a", "b"],
            "labels": {"x": "y"},
            "count": 3,
            "num": "7",
            "ratio": 0.5,
            "ts": "2024-05-06T07:08:09Z",
            "ttl": "1h30m",
            "ports": [{"name": "http", "port": 80}, {"port": 443}],
        }
    )
    assert validate(o, s) == []


@pytest.mark.parametrize(
    "rule",
    [
        "self.s.lowerAscii() == 'héllo world'",
        "self.s.upperAscii() == 'HéLLO WORLD'",
        "'  x '.trim() == 'x'",
        "self.csv.split(',') == ['a', 'b', 'c'] && self.csv.split(',', 2) == ['a', 'b,c']",
        "['a', 'b'].join('-') == 'a-b' && ['a', 'b'].join() == 'ab'",
        "self.csv.indexOf(',') == 1 && self.csv.lastIndexOf(',') == 3 && self.csv.indexOf('x') == -1",
        "[1, 2, 3].isSorted() && ![3, 1].isSorted()",
        "self.csv.charAt(0) == 'a'",
        "self.csv.substring(2) == 'b,c' && self.csv.substring(0, 1) == 'a'",
        "self.csv.replace(',', ';') == 'a;b;c' && self.csv.replace(',', ';', 1) == 'a;b,c'",
        "[1, 2, 3].sum() == 6 && [4, 2].min() == 2 && [4, 2].max() == 4",
        "['x', 'y'].indexOf('y') == 1 && ['x', 'x'].lastIndexOf('x') == 1",
        "self.s.find('[a-z]+') == 'world' && 'a1b22'.findAll('[0-9]+') == ['1', '22']",
    ],
)
def test_cel_kubernetes_library_extensions(rule: str) -> None:
    s = root({"type": "object", "properties": {"s": {"type": "string"}, "csv": {"type": "string"}},
              "x-kubernetes-validations": [{"rule": rule}]})  # fmt: skip
    assert validate(obj({"s": "HéLLO world", "csv": "a,b,c"}), s) == []


def test_cel_property_name_escaping() -> None:
    s = root({"type": "object", "properties": {"namespace": {"type": "string"}, "x-y": {"type": "string"},
                                                "a.b": {"type": "string"}, "c__d": {"type": "string"}},
              "x-kubernetes-validations": [
                  {"rule": "self.__namespace__ == 'ns' && self.x__dash__y == 'd' && self.a__dot__b == 'p' && "
                           "self.c__underscores__d == 'u'"}]})  # fmt: skip
    assert validate(obj({"namespace": "ns", "x-y": "d", "a.b": "p", "c__d": "u"}), s) == []


def test_cel_undeclared_fields_are_invisible_with_declared_properties() -> None:
    s = root({"type": "object", "x-kubernetes-preserve-unknown-fields": True, "properties": {"a": {"type": "string"}},
              "x-kubernetes-validations": [{"rule": "!has(self.extra)"}]})  # fmt: skip
    assert validate(obj({"a": "x", "extra": 1}), s) == []


def test_cel_preserve_unknown_without_properties_is_dynamic() -> None:
    s = root({"type": "object", "x-kubernetes-preserve-unknown-fields": True,
              "x-kubernetes-validations": [{"rule": "self.extra.deep == 1"}]})  # fmt: skip
    assert validate(obj({"extra": {"deep": 1}}), s) == []


def test_cel_rules_on_embedded_resources_see_kind() -> None:
    s = spec_of(
        t={
            "type": "object",
            "x-kubernetes-embedded-resource": True,
            "properties": {"data": {"type": "object", "additionalProperties": {"type": "string"}}},
            "x-kubernetes-validations": [{"rule": "self.kind == 'ConfigMap'", "message": "only ConfigMap"}],
        }
    )
    assert validate(obj({"t": {"apiVersion": "v1", "kind": "ConfigMap", "data": {}}}), s) == []
    assert errs(obj({"t": {"apiVersion": "v1", "kind": "Secret"}}), s) == [
        ("FieldValueInvalid", "spec.t", 'Invalid value: "object": only ConfigMap')
    ]


def test_cel_programs_are_cached() -> None:
    assert sch._compile_cel("self.a == 1") is sch._compile_cel("self.a == 1")
    assert sch._compile_cel("self == oldSelf").uses_old_self
    assert not sch._compile_cel("self == 'oldSelf2'").uses_old_self


def test_validate_does_not_mutate_inputs() -> None:
    s = spec_of(n={"type": "integer", "default": 1, "x-kubernetes-validations": [{"rule": "self > 0"}]})
    o, old = obj({"n": 2, "junk": 1}), obj({"n": 1})
    s_copy, o_copy, old_copy = copy.deepcopy(s), copy.deepcopy(o), copy.deepcopy(old)
    validate(o, s, old)
    assert (s, o, old) == (s_copy, o_copy, old_copy)


def test_validate_large_object_is_fast() -> None:
    import time

    s = spec_of(items={"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                       "items": {"type": "object", "required": ["name"], "properties": {
                           "name": {"type": "string", "maxLength": 20}, "port": {"type": "integer", "minimum": 1}},
                           "x-kubernetes-validations": [{"rule": "self.port < 65536"}]}})  # fmt: skip
    o = obj({"items": [{"name": f"n{i}", "port": i + 1} for i in range(500)]})
    start = time.perf_counter()
    assert validate(o, s, copy.deepcopy(o)) == []
    assert validate(o, s) == []
    assert time.perf_counter() - start < 10


# ----------------------------------------------------------------------------------------------------------------
# check_schema
# ----------------------------------------------------------------------------------------------------------------

P = "spec.versions[0].schema.openAPIV3Schema"


def checks(s: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(e.reason, e.field, e.message) for e in check_schema(s, path=P)]


def test_check_schema_accepts_a_good_structural_schema() -> None:
    s = {
        "type": "object",
        "properties": {
            "metadata": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 10}}},
            "spec": {
                "type": "object",
                "required": ["flavor"],
                "x-kubernetes-validations": [{"rule": "self.min <= self.max", "message": "m",
                                              "fieldPath": ".max", "reason": "FieldValueForbidden"}],
                "properties": {
                    "flavor": {"type": "string", "enum": ["a"], "default": "a", "pattern": "^[a-z]$"},
                    "min": {"type": "integer"},
                    "max": {"type": "integer"},
                    "port": {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]},
                    "port2": {"x-kubernetes-int-or-string": True,
                              "allOf": [{"anyOf": [{"type": "integer"}, {"type": "string"}]}, {"pattern": "^x"}]},
                    "free": {"x-kubernetes-preserve-unknown-fields": True},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"},
                               "x-kubernetes-map-type": "granular"},
                    "ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                              "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
                    "v": {"type": "integer", "oneOf": [{"minimum": 1}, {"maximum": -1}], "not": {"enum": [5]}},
                    "t": {"type": "object", "x-kubernetes-embedded-resource": True,
                          "x-kubernetes-preserve-unknown-fields": True},
                    "n": {"type": "integer", "x-kubernetes-validations": [
                        {"rule": "!oldSelf.hasValue() || self >= oldSelf.value()", "optionalOldSelf": True}]},
                },
            },
            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        },
    }  # fmt: skip
    assert check_schema(s) == []
    assert check_schema(s, path=P) == []


def test_check_schema_missing_types() -> None:
    s = {"properties": {"spec": {"properties": {"a": {}, "l": {"type": "array", "items": {}}}}}}
    assert checks(s) == [
        ("FieldValueRequired", f"{P}.type", "Required value: must not be empty at the root"),
        ("FieldValueRequired", f"{P}.properties[spec].type",
         "Required value: must not be empty for specified object fields"),
        ("FieldValueRequired", f"{P}.properties[spec].properties[a].type",
         "Required value: must not be empty for specified object fields"),
        ("FieldValueRequired", f"{P}.properties[spec].properties[l].items.type",
         "Required value: must not be empty for specified array items"),
    ]  # fmt: skip


def test_check_schema_paths_are_relative_by_default() -> None:
    s = {"properties": {"spec": {"properties": {"a": {"type": "string"}}}}}
    assert [(e.field, e.message) for e in check_schema(s)] == [
        ("type", "Required value: must not be empty at the root"),
        ("properties[spec].type", "Required value: must not be empty for specified object fields"),
    ]


def test_check_schema_custom_path_prefix() -> None:
    found = check_schema({"properties": {}}, path="spec.versions[2].schema.openAPIV3Schema")
    assert [e.field for e in found] == ["spec.versions[2].schema.openAPIV3Schema.type"]


def test_check_schema_forbidden_and_unknown_keywords() -> None:
    s = root({"type": "object", "properties": {
        "a": {"$ref": "#/definitions/x", "type": "string"},
        "b": {"type": "string", "bogus": 1},
        "c": {"type": "object", "patternProperties": {"x": {"type": "string"}}},
        "d": {"type": "array", "items": [{"type": "string"}]},
        "e": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        "f": {"type": "null"},
        "g": {"type": "strin"},
        "h": {"type": "object", "properties": {"x": {"type": "string"}}, "additionalProperties": {"type": "string"}},
        "i": {"type": "object", "additionalProperties": False},
    }})  # fmt: skip
    found = checks(s)
    pp = f"{P}.properties[spec].properties"
    assert (
        ("FieldValueForbidden", f"{pp}[a].$ref", "Forbidden: $ref is not supported") in found
        and ("FieldValueForbidden", f"{pp}[b].bogus", "Forbidden: unknown field") in found
        and ("FieldValueForbidden", f"{pp}[c].patternProperties", "Forbidden: patternProperties is not supported")
        in found
        and ("FieldValueForbidden", f"{pp}[d].items", "Forbidden: items must be a schema object and not an array")
        in found
        and ("FieldValueForbidden", f"{pp}[e].uniqueItems",
             "Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic") in found
        and ("FieldValueForbidden", f"{pp}[f].type",
             "Forbidden: type cannot be set to null, use nullable as an alternative") in found
        and ("FieldValueNotSupported", f"{pp}[g].type", 'Unsupported value: "strin": supported values: "array", '
             '"boolean", "integer", "number", "object", "string"') in found
        and ("FieldValueForbidden", f"{pp}[h].additionalProperties",
             "Forbidden: additionalProperties and properties are mutual exclusive") in found
        and ("FieldValueForbidden", f"{pp}[i].additionalProperties",
             "Forbidden: additionalProperties cannot be set to false") in found
    ), found  # fmt: skip


def test_check_schema_root_must_be_object_and_arrays_need_items() -> None:
    assert (
        "FieldValueInvalid",
        f"{P}.type",
        'Invalid value: "string": must be object at the root',
    ) in checks({"type": "string"})
    assert checks(spec_of(l={"type": "array"})) == [
        (
            "FieldValueRequired",
            f"{P}.properties[spec].properties[l].items",
            "Required value: must be specified",
        )
    ]


def test_check_schema_nested_value_validations_must_not_specify_structure() -> None:
    s = spec_of(v={"type": "string", "anyOf": [{"type": "string", "default": "x", "nullable": True}],
                   "allOf": [{"x-kubernetes-preserve-unknown-fields": True}],
                   "oneOf": [{"properties": {"metadata": {"maxProperties": 1}}}],
                   "not": {"x-kubernetes-validations": [{"rule": "true"}]}})  # fmt: skip
    base = f"{P}.properties[spec].properties[v]"
    assert checks(s) == [
        ("FieldValueForbidden", f"{base}.allOf[0].x-kubernetes-preserve-unknown-fields",
         "Forbidden: must be false to be structural"),
        ("FieldValueForbidden", f"{base}.anyOf[0].type", "Forbidden: must be empty to be structural"),
        ("FieldValueForbidden", f"{base}.anyOf[0].default", "Forbidden: must be undefined to be structural"),
        ("FieldValueForbidden", f"{base}.anyOf[0].nullable", "Forbidden: must be false to be structural"),
        ("FieldValueForbidden", f"{base}.oneOf[0].properties[metadata]",
         "Forbidden: must not be specified in a nested context"),
        ("FieldValueForbidden", f"{base}.not.x-kubernetes-validations", "Forbidden: must be empty to be structural"),
    ]  # fmt: skip


def test_check_schema_cel_rules() -> None:
    s = spec_of(a={"type": "object", "properties": {"x": {"type": "integer"}}, "x-kubernetes-validations": [
        {"rule": "self.x =="},
        {"rule": ""},
        {"rule": "true", "messageExpression": "'a' +"},
        {"rule": "true", "reason": "Bogus"},
        {"rule": "true", "fieldPath": ".y"},
        {"rule": "true", "message": "two\nlines"},
        {"rule": "self.x > 0", "optionalOldSelf": True},
    ]})  # fmt: skip
    base = f"{P}.properties[spec].properties[a].x-kubernetes-validations"
    found = checks(s)
    assert [(r, f) for r, f, _ in found] == [
        ("FieldValueInvalid", f"{base}[0].rule"),
        ("FieldValueRequired", f"{base}[1].rule"),
        ("FieldValueInvalid", f"{base}[2].messageExpression"),
        ("FieldValueNotSupported", f"{base}[3].reason"),
        ("FieldValueInvalid", f"{base}[4].fieldPath"),
        ("FieldValueInvalid", f"{base}[5].message"),
        ("FieldValueInvalid", f"{base}[6].optionalOldSelf"),
    ]
    assert found[0][2].startswith('Invalid value: "self.x ==": compilation failed: ERROR: <input>:1:')
    assert found[3][2] == ('Unsupported value: "Bogus": supported values: "FieldValueInvalid", '
                           '"FieldValueForbidden", "FieldValueRequired", "FieldValueDuplicate"')  # fmt: skip
    assert (
        found[4][2] == 'Invalid value: ".y": fieldPath must be a valid path: does not refer to a valid field'
    )


def test_check_schema_pattern_and_defaults() -> None:
    s = spec_of(
        p={"type": "string", "pattern": "("},
        d={"type": "integer", "default": "x"},
        o={"type": "object", "properties": {"a": {"type": "string"}}, "default": {"a": "x", "b": 1}},
        m={"type": "object", "properties": {"a": {"type": "integer", "maximum": 3}}, "default": {"a": 5}},
    )
    base = f"{P}.properties[spec].properties"
    found = checks(s)
    assert found[0][:2] == ("FieldValueInvalid", f"{base}[p].pattern")
    assert found[0][2].startswith('Invalid value: "(": must be a valid regular expression, but isn\'t: ')
    assert found[1:] == [
        ("FieldValueTypeInvalid", f"{base}[d].default",
         'Invalid value: "string":  in body must be of type integer: "string"'),
        ("FieldValueInvalid", f"{base}[o].default",
         'Invalid value: map[string]interface {}{"a":"x", "b":1}: must not have unknown fields'),
        ("FieldValueInvalid", f"{base}[m].default.a",
         "Invalid value: 5: a in body should be less than or equal to 3"),
    ]  # fmt: skip


def test_check_schema_list_and_map_types() -> None:
    s = spec_of(
        a={"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "bag"},
        b={"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "map"},
        c={"type": "array", "items": {"type": "object", "properties": {"k": {"type": "string"}}},
           "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["nope"]},
        d={"type": "array", "items": {"type": "string"}, "x-kubernetes-list-map-keys": ["k"]},
        e={"type": "object", "x-kubernetes-map-type": "weird"},
        f={"type": "string", "x-kubernetes-list-type": "set"},
    )  # fmt: skip
    base = f"{P}.properties[spec].properties"
    assert checks(s) == [
        ("FieldValueNotSupported", f"{base}[a].x-kubernetes-list-type",
         'Unsupported value: "bag": supported values: "atomic", "set", "map"'),
        ("FieldValueRequired", f"{base}[b].x-kubernetes-list-map-keys",
         "Required value: must not be empty if x-kubernetes-list-type is map"),
        ("FieldValueInvalid", f"{base}[b].items.type",
         "Invalid value: \"string\": must be object if parent array's x-kubernetes-list-type is map"),
        ("FieldValueInvalid", f"{base}[c].x-kubernetes-list-map-keys[0]",
         'Invalid value: "nope": entries must all be names of item properties'),
        ("FieldValueForbidden", f"{base}[d].x-kubernetes-list-map-keys",
         'Forbidden: must only be used if x-kubernetes-list-type is "map"'),
        ("FieldValueNotSupported", f"{base}[e].x-kubernetes-map-type",
         'Unsupported value: "weird": supported values: "granular", "atomic"'),
        ("FieldValueInvalid", f"{base}[f].x-kubernetes-list-type",
         'Invalid value: "set": must only be used if type is array'),
    ]  # fmt: skip


def test_check_schema_embedded_resource_and_metadata() -> None:
    s = {"type": "object", "properties": {
        "metadata": {"type": "object", "properties": {"labels": {"type": "object"}}},
        "spec": {"type": "object", "properties": {
            "t": {"x-kubernetes-embedded-resource": True},
            "u": {"type": "object", "x-kubernetes-embedded-resource": True},
            "v": {"x-kubernetes-int-or-string": True, "x-kubernetes-preserve-unknown-fields": True},
        }},
    }}  # fmt: skip
    sp = f"{P}.properties[spec].properties"
    assert checks(s) == [
        ("FieldValueForbidden", f"{P}.properties[metadata]",
         "Forbidden: must not specify anything other than name and generateName, but metadata is implicitly "
         "specified"),
        ("FieldValueRequired", f"{sp}[t].type",
         "Required value: must be object if x-kubernetes-embedded-resource is true"),
        ("FieldValueRequired", f"{sp}[t].properties",
         "Required value: must not be empty if x-kubernetes-embedded-resource is true without "
         "x-kubernetes-preserve-unknown-fields"),
        ("FieldValueRequired", f"{sp}[u].properties",
         "Required value: must not be empty if x-kubernetes-embedded-resource is true without "
         "x-kubernetes-preserve-unknown-fields"),
        ("FieldValueInvalid", f"{sp}[v].x-kubernetes-preserve-unknown-fields",
         "Invalid value: true: must be false if x-kubernetes-int-or-string is true"),
    ]  # fmt: skip


def test_check_schema_additional_properties_at_root() -> None:
    s = {"type": "object", "additionalProperties": {"type": "string"}}
    assert checks(s) == [
        ("FieldValueForbidden", f"{P}.additionalProperties", "Forbidden: must not be used at the root")
    ]

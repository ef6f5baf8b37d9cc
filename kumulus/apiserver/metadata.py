"""Validation of object metadata (names, labels, annotations, finalizers, owner references).

Shapes are checked with a structural schema through `schema.validate`; the rules kube-apiserver adds on
top (qualified names, label values, annotation size, one controller reference) are written out here
with kube-apiserver's messages. The name regexes are shared with CRD validation.
"""

from __future__ import annotations

import json
import re
from typing import Any

from . import schema
from .errors import FieldError
from .resources import ResourceInfo

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_PATH_SEGMENT_NAMES = {"roles", "clusterroles", "rolebindings", "clusterrolebindings"}
MAX_ANNOTATIONS_BYTES = 262144

_LABEL_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
_DNS_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
    "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
_QUALIFIED_NAME_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
_LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used "
    "for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)

_STRINGS = {"type": "array", "items": {"type": "string"}}
# Checked under the key "m" because schema validation skips a root-level "metadata" by design.
_META_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "m": {
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": True,
            "properties": {
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
                "finalizers": _STRINGS,
                "ownerReferences": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["apiVersion", "kind", "name", "uid"],
                        "x-kubernetes-preserve-unknown-fields": True,
                        "properties": {
                            "apiVersion": {"type": "string", "minLength": 1},
                            "kind": {"type": "string", "minLength": 1},
                            "name": {"type": "string", "minLength": 1},
                            "uid": {"type": "string", "minLength": 1},
                            "controller": {"type": "boolean"},
                            "blockOwnerDeletion": {"type": "boolean"},
                        },
                    },
                },
            },
        }
    },
}


def quote(value: Any) -> str:
    """A value as kube-apiserver quotes it in messages; objects and arrays by their type name."""
    if isinstance(value, (dict, list)):
        return json.dumps(schema.json_type_name(value))
    return json.dumps(value)


def invalid(field: str, value: Any, detail: str) -> FieldError:
    return FieldError("FieldValueInvalid", field, f"Invalid value: {quote(value)}: {detail}")


def qualified_name_errors(field: str, key: Any) -> list[FieldError]:
    """Label and annotation keys: an optional DNS subdomain prefix and a name of at most 63 characters."""
    if not isinstance(key, str) or not key:
        return [invalid(field, key, "name part must be non-empty")]
    prefix, _, name = key.rpartition("/")
    errs = []
    if prefix and (len(prefix) > 253 or not DNS_SUBDOMAIN.match(prefix)):
        errs.append(invalid(field, key, "prefix part " + _LABEL_SUBDOMAIN_MSG))
    if len(name) > 63 or not _QUALIFIED_NAME.match(name):
        errs.append(invalid(field, key, _QUALIFIED_NAME_MSG))
    return errs


def name_errors(info: ResourceInfo, name: Any) -> list[FieldError]:
    field = "metadata.name"
    if not isinstance(name, str) or not name:
        return [FieldError("FieldValueRequired", field, "Required value: name or generateName is required")]
    if info.plural in _PATH_SEGMENT_NAMES and info.group == "rbac.authorization.k8s.io":
        bad = name in (".", "..") or "/" in name or "%" in name
        return [invalid(field, name, "may not contain '/' or '%'")] if bad else []
    if info.plural == "namespaces" and not info.group:
        bad = len(name) > 63 or not DNS_LABEL.match(name)
        return [invalid(field, name, _DNS_LABEL_MSG)] if bad else []
    bad = len(name) > 253 or not DNS_SUBDOMAIN.match(name)
    return [invalid(field, name, _LABEL_SUBDOMAIN_MSG)] if bad else []


def validate_metadata(info: ResourceInfo, meta: dict[str, Any]) -> list[FieldError]:
    errs = name_errors(info, meta.get("name"))
    shape = [
        FieldError(e.reason, "metadata" + e.field[1:], e.message.replace(" m.", " metadata."))
        for e in schema.validate({"m": meta}, _META_SCHEMA)
        if e.field.startswith("m.") or e.field == "m"
    ]
    errs += shape
    if shape:
        return errs
    for key, value in (meta.get("labels") or {}).items():
        errs += qualified_name_errors("metadata.labels", key)
        if len(value) > 63 or not _LABEL_VALUE.match(value):
            errs.append(invalid("metadata.labels", value, _LABEL_VALUE_MSG))
    annotations = meta.get("annotations") or {}
    for key in annotations:
        errs += qualified_name_errors("metadata.annotations", key)
    if sum(len(k) + len(v) for k, v in annotations.items()) > MAX_ANNOTATIONS_BYTES:
        errs.append(
            FieldError(
                "FieldValueTooLong",
                "metadata.annotations",
                f"Too long: must have at most {MAX_ANNOTATIONS_BYTES} bytes",
            )
        )
    for i, finalizer in enumerate(meta.get("finalizers") or ()):
        if not finalizer:
            errs.append(invalid(f"metadata.finalizers[{i}]", finalizer, "must be a non-empty string"))
    if sum(1 for ref in meta.get("ownerReferences") or () if ref.get("controller") is True) > 1:
        errs.append(
            invalid("metadata.ownerReferences", [], "Only one reference can have Controller set to true")
        )
    return errs

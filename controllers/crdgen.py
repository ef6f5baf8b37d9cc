"""Generation of CustomResourceDefinitions from the API models: pure data in, pure data out.

pydantic's JSON Schema is turned into a Kubernetes structural schema: references inlined, optional
values without a null branch, OpenAPI 3.0 exclusive bounds, no titles, no empty defaults (they would be
written into every object), free-form maps marked x-kubernetes-preserve-unknown-fields. The CRD adds
names, short names, the `kumulus` category, printer columns, selectable fields and the status subresource.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel

from .api.base import VERSION, Kind

_DROP = {"title", "examples", "discriminator", "$defs"}


def model_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The structural OpenAPI v3 schema of a model, as used in a CRD."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    defs = raw.get("$defs", {})
    out: dict[str, Any] = _structural(raw, defs, ())
    return out


def _resolve(node: dict[str, Any], defs: dict[str, Any], stack: tuple[str, ...]) -> dict[str, Any]:
    ref = node["$ref"]
    name = ref.rsplit("/", 1)[-1]
    if name in stack:
        raise ValueError(f"recursive model {name} cannot be a structural schema")
    merged = copy.deepcopy(defs[name])
    for key, value in node.items():
        if key == "x-kubernetes-validations":  # rules of the field and of its model both apply
            merged[key] = [*merged.get(key, []), *value]
        elif key != "$ref":
            merged[key] = value
    out: dict[str, Any] = _structural(merged, defs, (*stack, name))
    return out


def _structural(node: Any, defs: dict[str, Any], stack: tuple[str, ...], value_only: bool = False) -> Any:
    """One schema node; value_only for anyOf branches, which constrain values and carry no type."""
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _resolve(node, defs, stack)
    if "allOf" in node and len(node["allOf"]) == 1:
        inner = node["allOf"][0]
        rest = {k: v for k, v in node.items() if k != "allOf"}
        return _structural({**inner, **rest}, defs, stack)
    if "anyOf" in node:
        branches = [b for b in node["anyOf"] if b != {"type": "null"}]
        rest = {k: v for k, v in node.items() if k != "anyOf"}
        if len(branches) == 1:
            return _structural({**branches[0], **rest}, defs, stack)
        if all("$ref" not in b and "type" not in b for b in branches) and "type" in rest:
            # value-only alternatives under a typed node (e.g. formats) are structural as they are
            node = {**rest, "anyOf": branches}
        else:
            raise ValueError(f"a union of types cannot be a structural schema: {node}")
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP:
            continue
        if key == "default" and value in (None, "", [], {}):
            continue
        if key == "properties":
            out[key] = {name: _structural(sub, defs, stack) for name, sub in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = _structural(value, defs, stack)
        elif key == "anyOf":
            out[key] = [_structural(b, defs, stack, value_only=True) for b in value]
        elif key == "const":
            out["enum"] = [value]
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
            out["minimum" if key == "exclusiveMinimum" else "maximum"] = value
            out[key] = True
        else:
            out[key] = value
    if out.get("additionalProperties") is False:  # extra="forbid": pruning already drops unknown fields
        out.pop("additionalProperties")
    if value_only:
        return out
    if out.get("additionalProperties") is True or (
        out.get("type") == "object" and out.get("additionalProperties") == {}
    ):
        out.pop("additionalProperties")
        out["x-kubernetes-preserve-unknown-fields"] = True
    if "enum" in out and "type" not in out:
        out["type"] = "string"
    if "type" not in out and "x-kubernetes-int-or-string" not in out:
        out["x-kubernetes-preserve-unknown-fields"] = True
    if out.get("type") == "object" and "properties" not in out and "additionalProperties" not in out:
        out["x-kubernetes-preserve-unknown-fields"] = True
    return out


def crd_for(kind: Kind) -> dict[str, Any]:
    """The CustomResourceDefinition of one kind."""
    spec = model_schema(kind.spec)
    spec["description"] = spec.get("description") or f"The desired state of the {kind.kind}."
    if kind.spec_rules:
        spec.setdefault("x-kubernetes-validations", []).extend(dict(r) for r in kind.spec_rules)
    properties: dict[str, Any] = {"spec": spec}
    if kind.status is not None:
        status = model_schema(kind.status)
        status["description"] = status.get("description") or f"The observed state of the {kind.kind}."
        properties["status"] = status
    root: dict[str, Any] = {"type": "object", "description": kind.description, "properties": properties}
    if kind.spec_required:
        root["required"] = ["spec"]
    version: dict[str, Any] = {
        "name": VERSION,
        "served": True,
        "storage": True,
        "schema": {"openAPIV3Schema": root},
        "additionalPrinterColumns": [_column(c) for c in kind.columns],
    }
    if kind.status is not None:
        version["subresources"] = {"status": {}}
    if kind.selectable_fields:
        version["selectableFields"] = [{"jsonPath": p} for p in kind.selectable_fields]
    names: dict[str, Any] = {
        "kind": kind.kind,
        "listKind": f"{kind.kind}List",
        "plural": kind.plural,
        "singular": kind.singular,
        "categories": [kind.category],
    }
    if kind.short_names:
        names["shortNames"] = list(kind.short_names)
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{kind.plural}.{kind.api_group}"},
        "spec": {
            "group": kind.api_group,
            "names": names,
            "scope": "Namespaced" if kind.namespaced else "Cluster",
            "versions": [version],
        },
    }


def _column(c: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": c.name, "type": c.type, "jsonPath": c.json_path}
    if c.description:
        out["description"] = c.description
    if c.priority:
        out["priority"] = c.priority
    return out


def crd_file_name(kind: Kind) -> str:
    return f"{kind.api_group}_{kind.plural}.yaml"

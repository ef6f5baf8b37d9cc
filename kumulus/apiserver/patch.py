"""PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch.

`apply_patch` dispatches on the request's Content-Type as kube-apiserver does. Strategic merge
patch follows k8s.io/apimachinery/pkg/util/strategicpatch for the parts that matter without Go
struct tags: maps merge, `$patch: replace|delete`, `$retainKeys`, `$deleteFromPrimitiveList/<f>`,
`$setElementOrder/<f>`, and lists merge element-wise only where `merge_keys` (dotted field paths
without indices) names a merge key; other lists are replaced. Server-side apply
(application/apply-patch+yaml) is handled elsewhere.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

import jsonpatch
import jsonpointer

from kumulus.apiserver.errors import ApiError
from kumulus.apiserver.jsonpath import go_format_float

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"

# kube-apiserver refuses larger JSON patches with 413.
MAX_JSON_PATCH_OPERATIONS = 10000

_REASONS = {400: "BadRequest", 413: "RequestEntityTooLarge", 415: "UnsupportedMediaType", 422: "Invalid"}


class PatchError(ValueError):
    """A patch that cannot be decoded (code 400) or applied (422); `to_api_error()` shapes the reply."""

    def __init__(self, message: str, code: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    @property
    def reason(self) -> str:
        return _REASONS.get(self.code, "BadRequest")

    def to_api_error(self) -> ApiError:
        return ApiError(self.code, self.reason, self.message)


# --- JSON merge patch -------------------------------------------------------------------------------------


def json_merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 MergePatch(target, patch); returns a new value and leaves both inputs untouched."""
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    result: dict[str, Any] = dict(copy.deepcopy(target)) if isinstance(target, Mapping) else {}
    _merge_into(result, patch)
    return result


def _merge_into(target: dict[str, Any], patch: Mapping[str, Any]) -> None:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, Mapping):
            current = target.get(key)
            if not isinstance(current, dict):
                current = dict(current) if isinstance(current, Mapping) else {}
            _merge_into(current, value)
            target[key] = current
        else:
            target[key] = copy.deepcopy(value)


# --- JSON patch -------------------------------------------------------------------------------------------


def _json_equal(a: Any, b: Any) -> bool:
    """RFC 6902 equality: numbers by value, true/false/null only equal to themselves."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and bool(a == b)


def json_patch(target: Any, ops: Any) -> Any:
    """RFC 6902: apply `ops` (a list of operation objects) to a copy of `target`."""
    if not isinstance(ops, list):
        raise PatchError("a JSON patch must be a JSON array of operations", 400)
    if len(ops) > MAX_JSON_PATCH_OPERATIONS:
        raise PatchError(
            f"The allowed maximum operations in a JSON patch is {MAX_JSON_PATCH_OPERATIONS}, got {len(ops)}",
            413,
        )
    for i, op in enumerate(ops):
        if not isinstance(op, Mapping):
            raise PatchError(f"JSON patch operation {i} must be a JSON object", 400)
    doc = copy.deepcopy(target)
    for op in copy.deepcopy(ops):
        kind = op.get("op")
        path = op.get("path")
        if not isinstance(kind, str):
            raise PatchError("JSON patch operation is missing a string 'op' member")
        if not isinstance(path, str):
            raise PatchError(f"{kind} operation is missing a string 'path' member")
        if kind == "test":
            doc = _test(doc, op, path)
            continue
        try:
            doc = jsonpatch.JsonPatch([op]).apply(doc, in_place=True)
        except jsonpatch.InvalidJsonPatch as e:
            raise PatchError(f"invalid {kind} operation: {e}") from None
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as e:
            raise PatchError(f"{kind} operation does not apply: {_describe(e, path)}") from None
        except (TypeError, ValueError, KeyError, IndexError) as e:
            raise PatchError(f"{kind} operation does not apply: {e}") from None
    return doc


def _describe(error: Exception, path: str) -> str:
    text = str(error)
    return text if path in text else f"{text} (path {path})"


def _test(doc: Any, op: Mapping[str, Any], path: str) -> Any:
    if "value" not in op:
        raise PatchError("test operation is missing a 'value' member")
    try:
        actual = jsonpointer.resolve_pointer(doc, path)
    except jsonpointer.JsonPointerException:
        raise PatchError(f"testing value {path} failed: test failed") from None
    if not _json_equal(actual, op["value"]):
        raise PatchError(f"testing value {path} failed: test failed")
    return doc


# --- strategic merge patch --------------------------------------------------------------------------------

DIRECTIVE = "$patch"
RETAIN_KEYS = "$retainKeys"
DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList/"
SET_ELEMENT_ORDER = "$setElementOrder/"

# patchStrategy=merge fields of ObjectMeta, present in every kind: "" marks a list of scalars that
# merges as a set, anything else is the merge key of a list of objects.
METADATA_MERGE_KEYS: Mapping[str, str] = {
    "metadata.ownerReferences": "uid",
    "metadata.finalizers": "",
}

# Merge keys of the built-in kinds kumulus serves, keyed by (group, plural).
BUILTIN_MERGE_KEYS: Mapping[tuple[str, str], Mapping[str, str]] = {
    ("", "serviceaccounts"): {"secrets": "name"},
}


def merge_keys_for(group: str, plural: str) -> dict[str, str]:
    """The merge keys strategic merge patch uses for a built-in resource."""
    return {**METADATA_MERGE_KEYS, **BUILTIN_MERGE_KEYS.get((group, plural), {})}


def _go_v(value: Any) -> str:
    """Go's %v of a decoded JSON value, for error messages."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return go_format_float(float(value))
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{k}:{_go_v(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_go_v(v) for v in value) + "]"
    return str(value)


def _same(a: Any, b: Any) -> bool:
    """Go's == on decoded JSON scalars (every number is a float64)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        return False
    return type(a) is type(b) and bool(a == b)


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "map"
    if isinstance(value, list):
        return "list"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "null"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _no_merge_key(item: Any, merge_key: str) -> PatchError:
    return PatchError(f"map: {_go_v(item)} does not contain declared merge key: {merge_key}", 400)


def _bad_patch_type(directive: Any, item: Any) -> PatchError:
    return PatchError(f"unknown patch type: {_go_v(directive)} in map: {_go_v(item)}", 400)


class _StrategicMerge:
    def __init__(self, merge_keys: Mapping[str, str]) -> None:
        self.merge_keys = merge_keys

    # maps

    def merge_map(self, original: dict[str, Any], patch: dict[str, Any], path: str) -> dict[str, Any]:
        if DIRECTIVE in patch:
            directive = patch[DIRECTIVE]
            if directive == "replace":
                rest = {k: v for k, v in patch.items() if k != DIRECTIVE}
                return self.merge_map({}, rest, path)
            if directive == "delete":
                return {}
            raise _bad_patch_type(directive, patch)
        self.apply_retain_keys(original, patch)
        self.apply_element_order(original, patch, path)
        # Deletion lists go last so that they also see what the patch adds.
        keys = sorted(patch, key=lambda k: k.startswith(DELETE_FROM_PRIMITIVE_LIST))
        for key in keys:
            value = patch[key]
            is_delete_list = key.startswith(DELETE_FROM_PRIMITIVE_LIST)
            if is_delete_list:
                key = key[len(DELETE_FROM_PRIMITIVE_LIST) :]
            field_path = _join(path, key)
            if value is None:
                original.pop(key, None)
                continue
            if key not in original or _kind(original[key]) != _kind(value):
                if not is_delete_list:
                    original[key] = self.new_value(value, field_path)
                continue
            current = original[key]
            if isinstance(current, dict):
                original[key] = self.merge_map(current, value, field_path)
            elif isinstance(current, list):
                original[key] = self.merge_list_field(current, value, field_path, is_delete_list)
            else:
                original[key] = value
        return original

    def apply_retain_keys(self, original: dict[str, Any], patch: dict[str, Any]) -> None:
        if RETAIN_KEYS not in patch:
            return
        retain = patch.pop(RETAIN_KEYS)
        if not isinstance(retain, list):
            raise PatchError("invalid patch format of retainKeys", 400)
        allowed = {k for k in retain if isinstance(k, str)}
        for key, value in patch.items():
            if value is None or key.startswith((DELETE_FROM_PRIMITIVE_LIST, SET_ELEMENT_ORDER)):
                continue
            if key not in allowed:
                raise PatchError("invalid patch format of retainKeys", 400)
        for key in [k for k in original if k not in allowed]:
            del original[key]

    def apply_element_order(self, original: dict[str, Any], patch: dict[str, Any], path: str) -> None:
        for directive_key in [k for k in patch if k.startswith(SET_ELEMENT_ORDER)]:
            order = patch.pop(directive_key)
            field = directive_key[len(SET_ELEMENT_ORDER) :]
            if not field or not isinstance(order, list):
                raise PatchError("invalid patch format of setElementOrder list", 400)
            field_path = _join(path, field)
            merge_key = self.merge_keys.get(field_path, "")
            found_original, found_patch = field in original, field in patch
            original_list = original.get(field) if found_original else []
            patch_list = patch.get(field) if found_patch else []
            if not isinstance(original_list, list) or not isinstance(patch_list, list):
                raise PatchError(f"{field_path}: $setElementOrder applies to lists only", 400)
            _validate_order(patch_list, order, merge_key)
            if found_original and found_patch:
                merged = self.merge_list_field(original_list, patch_list, field_path, False)
            elif found_patch:
                merged = self.new_value(patch_list, field_path)
            elif found_original:
                merged = original_list
            else:
                continue
            kind = _element_kind(original_list, patch_list, order, merged)
            patch_items, server_only = _partition(merged, order, merge_key, kind)
            original[field] = _normalize_order(
                patch_items, server_only, order, original_list, merge_key, kind
            )
            patch.pop(field, None)

    # lists

    def merge_list_field(
        self, original: list[Any], patch: list[Any], path: str, is_delete_list: bool
    ) -> list[Any]:
        if path in self.merge_keys or is_delete_list:
            return self.merge_list(original, patch, path, self.merge_keys.get(path, ""), is_delete_list)
        return copy.deepcopy(patch)  # lists without a merge strategy are replaced

    def merge_list(
        self, original: list[Any], patch: list[Any], path: str, merge_key: str, is_delete_list: bool
    ) -> list[Any]:
        if not original and not patch:
            return []
        kind = _element_kind(original, patch)
        if kind != "map":
            if is_delete_list:
                return [v for v in original if not any(_same(v, d) for d in patch)]
            merged: list[Any] = []
            for v in original + patch:
                if not any(_same(v, m) for m in merged):
                    merged.append(v)
        else:
            if not merge_key:
                raise PatchError(f"cannot merge lists without merge key for {path}", 400)
            original, patch = _special_elements(original, patch, merge_key)
            merged = list(original)
            for item in patch:
                if merge_key not in item:
                    raise _no_merge_key(item, merge_key)
                index = _find(merged, merge_key, item[merge_key])
                if index >= 0:
                    merged[index] = self.merge_map(merged[index], item, path)
                else:
                    merged.append(self.new_value(item, path))
        patch_items, server_only = _partition(merged, patch, merge_key, kind)
        return _normalize_order(patch_items, server_only, patch, original, merge_key, kind)

    def new_value(self, value: Any, path: str) -> Any:
        """A patch value with nothing to merge into: directives applied, nulls dropped."""
        if isinstance(value, dict):
            return self.merge_map({}, value, path)
        if isinstance(value, list) and path in self.merge_keys:
            return self.merge_list([], value, path, self.merge_keys[path], False)
        if isinstance(value, list):
            return [self.new_value(v, path) if isinstance(v, dict) else v for v in value]
        return value


def _element_kind(*lists: list[Any]) -> str:
    kind = ""
    for items in lists:
        for item in items:
            k = _kind(item)
            if k == "list":
                raise PatchError("lists of lists are not supported", 422)
            if kind and k != kind:
                raise PatchError(f"list element types are not identical: {_go_v(list(lists))}", 400)
            kind = k
    return kind or "map"


def _find(items: list[Any], merge_key: str, value: Any) -> int:
    for i, item in enumerate(items):
        if isinstance(item, dict) and merge_key in item and _same(item[merge_key], value):
            return i
    return -1


def _special_elements(original: list[Any], patch: list[Any], merge_key: str) -> tuple[list[Any], list[Any]]:
    """mergeSliceWithSpecialElements: `{$patch: delete, key: v}` and `{$patch: replace}` items."""
    plain: list[Any] = []
    replace = False
    for item in patch:
        if DIRECTIVE not in item:
            plain.append(item)
            continue
        directive = item[DIRECTIVE]
        if directive == "delete":
            if merge_key not in item:
                raise _no_merge_key(item, merge_key)
            original = [
                o
                for o in original
                if not (isinstance(o, dict) and merge_key in o and _same(o[merge_key], item[merge_key]))
            ]
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            raise PatchError("merging lists cannot yet be specified in the patch", 400)
        else:
            raise _bad_patch_type(directive, item)
    if replace:
        return plain, []
    return original, plain


def _key_of(item: Any, merge_key: str, kind: str) -> Any:
    if kind != "map":
        return item
    return item.get(merge_key) if isinstance(item, dict) else None


def _index(items: list[Any], item: Any, merge_key: str, kind: str) -> int:
    wanted = _key_of(item, merge_key, kind)
    for i, candidate in enumerate(items):
        have = _key_of(candidate, merge_key, kind)
        if (have is None and wanted is None) or _same(have, wanted):
            return i
    return -1


def _partition(merged: list[Any], by: list[Any], merge_key: str, kind: str) -> tuple[list[Any], list[Any]]:
    """Split merged items into those present in `by` (patch items) and server-only ones."""
    inside: list[Any] = []
    outside: list[Any] = []
    for item in merged:
        if kind == "map":
            if not isinstance(item, dict) or merge_key not in item:
                raise _no_merge_key(item, merge_key)
            present = _find([b for b in by if isinstance(b, dict)], merge_key, item[merge_key]) >= 0
        else:
            present = any(_same(item, b) for b in by)
        (inside if present else outside).append(item)
    return inside, outside


def _normalize_slice_order(items: list[Any], order: list[Any], merge_key: str, kind: str) -> list[Any]:
    to_delete: list[Any] = []
    if kind == "map":
        for item in (*items, *order):
            if not isinstance(item, dict) or merge_key not in item:
                raise _no_merge_key(item, merge_key)
        to_delete = [o for o in order if o.get(DIRECTIVE) == "delete"]
    # A stable sort by position in `order`; items missing from it keep their places.
    positions = [_index(order, item, merge_key, kind) for item in items]
    slots = [n for n, p in enumerate(positions) if p >= 0]
    ordered = list(items)
    for slot, (_, n) in zip(slots, sorted((positions[n], n) for n in slots), strict=True):
        ordered[slot] = items[n]
    for gone in to_delete:
        ordered = [o for o in ordered if not _same(_key_of(o, merge_key, kind), gone.get(merge_key))]
    return ordered


def _normalize_order(
    patch_items: list[Any],
    server_only: list[Any],
    patch_order: list[Any],
    server_order: list[Any],
    merge_key: str,
    kind: str,
) -> list[Any]:
    """normalizeElementOrder: patch items in patch order, server-only items in live order, then
    interleaved by their positions in the live list."""
    right = _normalize_slice_order(patch_items, patch_order, merge_key, kind)
    left = _normalize_slice_order(server_only, server_order, merge_key, kind)
    out: list[Any] = []
    i = j = 0
    while i < len(left) or j < len(right):
        if i >= len(left):
            out.append(right[j])
            j += 1
        elif j >= len(right):
            out.append(left[i])
            i += 1
        else:
            li = _index(server_order, left[i], merge_key, kind)
            ri = _index(server_order, right[j], merge_key, kind)
            if li >= 0 and ri >= 0 and li < ri:
                out.append(left[i])
                i += 1
            else:
                out.append(right[j])
                j += 1
    return out


def _validate_order(patch_list: list[Any], order: list[Any], merge_key: str) -> None:
    """validatePatchWithSetOrderList: patch items must appear in $setElementOrder, in its order."""
    if not order or not patch_list:
        return
    items = patch_list
    if merge_key:
        items = [i for i in patch_list if not (isinstance(i, dict) and i.get(DIRECTIVE) == "delete")]
    p = s = 0
    while p < len(items) and s < len(order):
        item = items[p]
        if isinstance(item, dict) and DIRECTIVE in item:
            p += 1
            continue
        if merge_key:
            if not isinstance(item, dict) or merge_key not in item:
                raise _no_merge_key(item, merge_key)
            if not isinstance(order[s], dict) or merge_key not in order[s]:
                raise _no_merge_key(order[s], merge_key)
            equal = _same(item[merge_key], order[s][merge_key])
        else:
            equal = _same(item, order[s])
        if equal:
            p += 1
        s += 1
    if p < len(items) and s >= len(order):
        raise PatchError(
            f"The order in patch list:\n{_go_v(patch_list)}\n doesn't match {SET_ELEMENT_ORDER} list:\n"
            f"{_go_v(order)}\n",
            400,
        )


def strategic_merge_patch(target: Any, patch: Any, merge_keys: Mapping[str, str] | None = None) -> Any:
    """Strategic merge patch of a JSON object; returns a new object.

    merge_keys maps a dotted field path without list indices ("metadata.ownerReferences", "secrets",
    "spec.containers.ports") to the merge key of that list of objects ("uid", "name", ...), or to ""
    for a list of scalars merged as a set. ObjectMeta's own (ownerReferences by uid, finalizers as a
    set) always apply. Lists not named there are replaced, as atomic lists are.
    """
    if not isinstance(patch, Mapping):
        raise PatchError("a strategic merge patch must be a JSON object", 400)
    keys = {**METADATA_MERGE_KEYS, **(merge_keys or {})}
    original = copy.deepcopy(target) if isinstance(target, Mapping) else {}
    return _StrategicMerge(keys).merge_map(dict(original), copy.deepcopy(dict(patch)), "")


# --- dispatch ---------------------------------------------------------------------------------------------


def _load(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise PatchError(f"the patch body is not valid JSON: {e}", 400) from None


def apply_patch(
    content_type: str, target: dict[str, Any], body: bytes, merge_keys: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Apply a PATCH request body to `target` according to its media type; returns a new object."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == MERGE_PATCH:
        patch = _load(body)
        if patch is None:
            raise PatchError("Invalid JSON Patch", 400)
        result = json_merge_patch(target, patch)
    elif media_type == JSON_PATCH:
        result = json_patch(target, _load(body))
    elif media_type == STRATEGIC_MERGE_PATCH:
        result = strategic_merge_patch(target, _load(body), merge_keys)
    else:
        raise PatchError(
            "the body of the request was in an unknown format - accepted media types include: "
            f"{JSON_PATCH}, {MERGE_PATCH}, {APPLY_PATCH}, {STRATEGIC_MERGE_PATCH}; got {content_type!r}",
            415,
        )
    if not isinstance(result, dict):
        raise PatchError(f"the patched object must be a JSON object, not {_kind(result)}")
    return result

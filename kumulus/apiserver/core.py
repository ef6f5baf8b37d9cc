"""kube-apiserver's object semantics, independent of HTTP: the verbs on one resource.

create/update/patch/delete here implement what clients rely on: uid, creationTimestamp, generation
bumped only by spec changes, the status subresource, optimistic concurrency, finalizers with
deletionTimestamp, CRD schema enforcement (pruning, defaults, validation, CEL), and serving a CRD's
resource as soon as the CRD is stored. Every write goes through `commit`, which persists, publishes to
watchers and wakes the background controllers (garbage collector, namespace and CRD cleanup). Under
`capture` a write's changes are collected instead, for admission webhooks to approve first.
"""

from __future__ import annotations

import base64
import copy
import json
import logging
import secrets
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import yaml

from . import builtin_schemas, errors, protobuf, schema
from .errors import ApiError, FieldError
from .metadata import quote as _q
from .metadata import validate_metadata
from .patch import PatchError, apply_patch, json_merge_patch
from .registry import CRD_SKEY, NAMESPACE_SKEY, Registry, validate_crd
from .resources import ResourceInfo
from .selectors import FieldSelector, LabelSelector, field_value
from .store import ADDED, DELETED, MODIFIED, Change, Entry, Event, Store, entry_of
from .watch import WatchHub

log = logging.getLogger(__name__)

CRD_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public")
NAMESPACE_FINALIZER = "kubernetes"
ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"

_GENERATE_CHARS = "bcdfghjklmnpqrstvwxz2456789"
_SMP_MERGE_KEYS = {"metadata.ownerReferences": "uid", "secrets": "name", "webhooks": "name"}


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def decode_body(body: bytes, content_type: str) -> Any:
    """JSON or YAML request bodies, with kube-apiserver's 400 on malformed input."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/vnd.kubernetes.protobuf":
        try:
            return protobuf.decode(body)
        except protobuf.UnsupportedKind as exc:
            raise errors.unsupported_media_type(content_type) from exc
        except ValueError as exc:
            raise errors.bad_request(f"the object provided is unrecognized or malformed: {exc}") from exc
    try:
        if media in ("application/yaml", "application/apply-patch+yaml", "text/yaml"):
            return yaml.safe_load(body.decode("utf-8"))
        return json.loads(body)
    except (ValueError, yaml.YAMLError) as exc:
        raise errors.bad_request(f"the object provided is unrecognized or malformed: {exc}") from exc


_DELETE_OPTION_TYPES: dict[str, type | tuple[type, ...]] = {
    "preconditions": dict,
    "propagationPolicy": str,
    "orphanDependents": bool,
    "gracePeriodSeconds": int,
    "dryRun": list,
    "apiVersion": str,
    "kind": str,
}


def _check_delete_options(options: dict[str, Any]) -> None:
    for key, kind in _DELETE_OPTION_TYPES.items():
        value = options.get(key)
        if value is not None and (
            not isinstance(value, kind) or isinstance(value, bool) is not (kind is bool)
        ):
            raise errors.bad_request(f"DeleteOptions: {key} has the wrong type")
    pre = options.get("preconditions") or {}
    for key in ("uid", "resourceVersion"):
        if pre.get(key) is not None and not isinstance(pre[key], str):
            raise errors.bad_request(f"DeleteOptions: preconditions.{key} must be a string")


def _path_get(obj: Any, path: str) -> Any:
    """The value at a simple JSON path such as .spec.replicas, or None."""
    for part in [p for p in path.split(".") if p]:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _path_set(obj: dict[str, Any], path: str, value: Any) -> None:
    parts = [p for p in path.split(".") if p]
    for part in parts[:-1]:
        nxt = obj.get(part)
        if not isinstance(nxt, dict):
            nxt = obj[part] = {}
        obj = nxt
    obj[parts[-1]] = value


def _has_generation(info: ResourceInfo) -> bool:
    """kube-apiserver tracks generation for custom resources and a few built-ins only."""
    return not info.builtin or info.group in ("apiextensions.k8s.io", "admissionregistration.k8s.io")


def _spec_part(obj: dict[str, Any], status_separate: bool) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k != "metadata" and not (status_separate and k == "status")}


def _strip_volatile(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in meta.items() if k not in ("resourceVersion", "managedFields")}


class ApiCore:
    """The verbs on resources, against a store, a registry and a watch hub."""

    def __init__(self, store: Store, registry: Registry, hub: WatchHub) -> None:
        self.store = store
        self.registry = registry
        self.hub = hub
        # Set by the background controllers to be woken after writes that may need their work.
        self.on_commit: list[Callable[[list[Event]], None]] = []
        # While not None, commit() collects changes here instead of storing them (see capture()).
        self._captured: list[Change] | None = None
        for _, entry in store.items(CRD_SKEY):
            crd = entry.load()
            try:
                registry.set_crd(crd["metadata"]["name"], crd)
            except (KeyError, TypeError, ValueError) as exc:  # stored by an older, laxer version
                log.error("not serving CRD %s: %s", crd.get("metadata", {}).get("name"), exc)

    # -- plumbing --------------------------------------------------------------------------------------

    @contextmanager
    def capture(self) -> Iterator[list[Change]]:
        """Run a write without storing it: its changes are collected, for admission to commit later."""
        if self._captured is not None:
            raise RuntimeError("writes are already being captured")
        captured: list[Change] = []
        self._captured = captured
        try:
            yield captured
        finally:
            self._captured = None

    def commit(self, changes: list[Change]) -> list[Event]:
        if self._captured is not None:
            self._captured.extend(changes)
            return []
        events = self.store.commit(changes)
        unserved: list[str] = []
        for ev in events:
            if ev.skey == CRD_SKEY:
                crd = json.loads(ev.raw)
                self.registry.set_crd(ev.name, None if ev.type == DELETED else crd)
                if ev.type == DELETED:
                    spec = crd.get("spec") or {}
                    unserved.append(f"{spec.get('group')}/{(spec.get('names') or {}).get('plural')}")
        self.hub.publish(events)
        for hook in self.on_commit:
            hook(events)
        for skey in unserved:
            # The resource is gone: end its watches, and drop instances a forced removal left behind.
            self.hub.close_key(skey)
            leftovers = [Change(skey, DELETED, e.load()) for _, e in self.store.items(skey)]
            if leftovers:
                self.commit(leftovers)
        return events

    def convert(self, info: ResourceInfo, obj: dict[str, Any]) -> dict[str, Any]:
        """Present a stored object in the requested version (CRD conversion strategy None)."""
        obj["apiVersion"] = info.api_version
        obj.setdefault("kind", info.kind)
        return obj

    def raw_for(self, info: ResourceInfo, raw: bytes) -> bytes:
        if info.builtin or b'"apiVersion":"' + info.api_version.encode() + b'"' in raw:
            return raw
        return json.dumps(self.convert(info, json.loads(raw)), separators=(",", ":")).encode()

    def entry(self, info: ResourceInfo, ns: str, name: str) -> Entry:
        entry = self.store.get(info.storage_key, ns, name)
        if entry is None:
            raise errors.not_found(info.group_resource, name, info.group, info.plural)
        return entry

    def get(self, info: ResourceInfo, ns: str, name: str) -> dict[str, Any]:
        return self.convert(info, self.entry(info, ns, name).load())

    def field_getter(self, info: ResourceInfo) -> Callable[[str, str, Entry], Callable[[str], str | None]]:
        def make(ns: str, name: str, entry: Entry) -> Callable[[str], str | None]:
            cache: dict[str, Any] = {}

            def get(path: str) -> str | None:
                if path == "metadata.name":
                    return name
                if path == "metadata.namespace":
                    return ns
                if "obj" not in cache:
                    cache["obj"] = entry.load()
                return field_value(cache["obj"], path)

            return get

        return make

    def list_entries(
        self,
        info: ResourceInfo,
        ns: str | None,
        labels: LabelSelector | None,
        fields: FieldSelector | None,
        limit: int = 0,
        cont: str = "",
        exact_rv: int | None = None,
    ) -> tuple[list[Entry], str, str, int | None]:
        """Matching entries in key order, plus (resourceVersion, continue token, remaining count).

        A continue token, like `exact_rv`, lists the state as it was at its resourceVersion, rebuilt from
        the watch history; once that history is compacted the answer is 410 Gone, as from kube-apiserver.
        """
        start: tuple[str, str] | None = None
        if cont:
            try:
                token = json.loads(base64.urlsafe_b64decode(cont.encode() + b"=="))
                exact_rv = int(token["rv"])
                start = (str(token["start"][0]), str(token["start"][1]))
            except (ValueError, KeyError, TypeError, IndexError) as exc:
                raise errors.bad_request(f"continue key is not valid: {exc}") from exc
        rv = self.store.rv if exact_rv is None else exact_rv
        if exact_rv is not None and not self.store.compacted_rv <= exact_rv <= self.store.rv:
            if cont:
                raise errors.gone(
                    "The provided continue parameter is too old to display a consistent list result. You can "
                    "start a new list without the continue parameter, or use the continue token in this response "
                    "to retrieve the remainder of the results."
                )
            raise errors.gone(f"too old resource version: {exact_rv} ({self.store.compacted_rv + 1})")
        items = self._items_at(info.storage_key, ns, rv)
        getter = self.field_getter(info) if fields is not None else None
        out: list[Entry] = []
        next_key: tuple[str, str] | None = None
        remaining = 0
        for key, entry in items:
            if start is not None and key <= start:
                continue
            if labels is not None and not labels.matches(entry.labels):
                continue
            if (
                fields is not None
                and getter is not None
                and not fields.matches(getter(key[0], key[1], entry))
            ):
                continue
            if limit and len(out) >= limit:
                remaining += 1
                continue
            out.append(entry)
            next_key = key
        token = ""
        if limit and remaining and next_key is not None:
            token = (
                base64.urlsafe_b64encode(json.dumps({"rv": rv, "start": list(next_key)}).encode())
                .decode()
                .rstrip("=")
            )
        return out, str(rv), token, (remaining if token else None)

    def _items_at(self, skey: str, ns: str | None, rv: int) -> list[tuple[tuple[str, str], Entry]]:
        """Objects of a storage key as they were at resourceVersion rv, in key order."""
        current = list(self.store.items(skey, ns))
        if rv >= self.store.rv:
            return current
        state: dict[tuple[str, str], Entry] = dict(current)
        for ev in reversed(list(self.store.events_since(rv))):
            if ev.skey != skey or (ns is not None and ev.namespace != ns):
                continue
            key = (ev.namespace, ev.name)
            if ev.type == ADDED:
                state.pop(key, None)
            elif ev.prev_raw is not None:
                obj = json.loads(ev.prev_raw)
                state[key] = entry_of(obj, int(obj["metadata"].get("resourceVersion") or 0), ev.prev_raw)
        return sorted(state.items(), key=lambda item: item[0])

    # -- shared write pipeline ----------------------------------------------------------------------------

    def _check_namespace_for_create(self, info: ResourceInfo, ns: str) -> None:
        if not info.namespaced:
            return
        entry = self.store.get(NAMESPACE_SKEY, "", ns)
        if entry is None:
            raise errors.not_found("namespaces", ns, "", "namespaces")
        nsobj = entry.load()
        if (nsobj.get("metadata") or {}).get("deletionTimestamp"):
            raise errors.forbidden(
                f'{info.group_resource} "{ns}" is forbidden: unable to create new content in namespace {ns} '
                "because it is being terminated",
                ns,
                info.group,
                info.plural,
            )

    def _enforce_schema(
        self,
        info: ResourceInfo,
        obj: dict[str, Any],
        old: dict[str, Any] | None,
        field_validation: str,
    ) -> list[str]:
        """Prune, default and validate against the version's schema; return warnings."""
        warnings: list[str] = []
        name = str(
            (obj.get("metadata") or {}).get("name") or (obj.get("metadata") or {}).get("generateName", "")
        )
        if info.schema is not None:
            unknown = schema.prune(obj, info.schema)
            if unknown:
                if field_validation == "Strict":
                    raise errors.bad_request(
                        f'{info.kind} in version "{info.version}" cannot be handled as a {info.kind}: '
                        "strict decoding error: " + ", ".join(f'unknown field "{u}"' for u in unknown)
                    )
                if field_validation != "Ignore":
                    warnings += [f'unknown field "{u}"' for u in unknown]
            schema.apply_defaults(obj, info.schema)
        errs = validate_metadata(info, obj.get("metadata") or {})
        if info.schema is not None:
            errs += schema.validate(obj, info.schema, old)
        elif info.builtin:
            errs += self._validate_builtin(info, obj, old)
        if info.storage_key == CRD_SKEY and not errs:
            errs += validate_crd(obj, old)
        if errs:
            raise errors.invalid(info.qualified_kind, info.kind, info.group, name, errs)
        return warnings

    @staticmethod
    def _validate_builtin(
        info: ResourceInfo, obj: dict[str, Any], old: dict[str, Any] | None
    ) -> list[FieldError]:
        errs: list[FieldError] = []
        partial = builtin_schemas.schema_for(info.group, info.plural)
        if partial is not None:
            errs += schema.validate(obj, partial, old)
        if info.plural in ("configmaps", "secrets") and not info.group:
            if not errs and info.plural == "secrets" and isinstance(obj.get("stringData"), dict):
                # As kube-apiserver does: stringData is write-only and folded into data.
                data = obj.setdefault("data", {}) or {}
                for k, v in obj.pop("stringData").items():
                    data[k] = base64.b64encode(str(v).encode()).decode()
                obj["data"] = data
            if old is not None and old.get("immutable") is True:
                for field in ("data", "binaryData", "immutable"):
                    if obj.get(field) != old.get(field):
                        errs.append(
                            FieldError(
                                "FieldValueForbidden",
                                field,
                                "Forbidden: field is immutable when `immutable` is set",
                            )
                        )
        return errs

    def _check_kind(self, info: ResourceInfo, obj: Any) -> dict[str, Any]:
        if not isinstance(obj, dict):
            raise errors.bad_request(
                "the object provided is unrecognized or malformed: expected a JSON object"
            )
        api_version = obj.get("apiVersion")
        kind = obj.get("kind")
        if api_version not in (None, "") and api_version != info.api_version:
            raise errors.bad_request(
                f"the API version in the data ({api_version}) does not match the expected API version "
                f"({info.api_version})"
            )
        if kind not in (None, "") and kind != info.kind:
            raise errors.bad_request(
                f"the kind in the data ({kind}) does not match the expected kind ({info.kind})"
            )
        meta = obj.get("metadata")
        if meta is None:
            obj["metadata"] = {}
        elif not isinstance(meta, dict):
            raise errors.bad_request(
                "the object provided is unrecognized or malformed: metadata must be an object"
            )
        obj["apiVersion"] = info.api_version
        obj["kind"] = info.kind
        return obj

    def _storage_form(self, info: ResourceInfo, obj: dict[str, Any]) -> dict[str, Any]:
        storage = self.registry.storage_info(info.storage_key)
        if storage is not None:
            obj["apiVersion"] = storage.api_version
        return obj

    # -- create -------------------------------------------------------------------------------------------------

    def create(
        self,
        info: ResourceInfo,
        ns: str,
        body: Any,
        *,
        dry_run: bool = False,
        field_validation: str = "Warn",
    ) -> tuple[dict[str, Any], list[str]]:
        obj = self._check_kind(info, body)
        meta = obj["metadata"]
        if info.namespaced:
            body_ns = meta.get("namespace")
            if body_ns not in (None, "", ns):
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        self._check_namespace_for_create(info, ns)
        if info.crd_name:
            crd = self.store.get(CRD_SKEY, "", info.crd_name)
            if crd is not None and crd.deleting:
                raise errors.method_not_allowed(
                    "create not allowed while custom resource definition is terminating"
                )
        generate = meta.get("generateName")
        if not meta.get("name") and isinstance(generate, str) and generate:
            for _ in range(8):
                candidate = generate[:58] + "".join(secrets.choice(_GENERATE_CHARS) for _ in range(5))
                if self.store.get(info.storage_key, ns if info.namespaced else "", candidate) is None:
                    meta["name"] = candidate
                    break
        for k in (
            "uid",
            "resourceVersion",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "managedFields",
            "selfLink",
        ):
            meta.pop(k, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now_rfc3339()
        if _has_generation(info):
            meta["generation"] = 1
        else:
            meta.pop("generation", None)
        if info.plural == "secrets" and not info.group and not obj.get("type"):
            obj["type"] = "Opaque"
        if "status" in info.subresources and info.storage_key != CRD_SKEY:
            obj.pop("status", None)
        if info.storage_key == NAMESPACE_SKEY:
            obj["spec"] = {"finalizers": [NAMESPACE_FINALIZER]}
            obj["status"] = {"phase": "Active"}
        warnings = self._enforce_schema(info, obj, None, field_validation)
        name = meta["name"]
        if self.store.get(info.storage_key, meta.get("namespace", ""), name) is not None:
            raise errors.already_exists(info.group_resource, name, info.group, info.plural)
        if info.storage_key == CRD_SKEY:
            self._crd_status(obj, None)
            fins = meta.setdefault("finalizers", [])
            if CRD_FINALIZER not in fins:
                fins.append(CRD_FINALIZER)
            self._check_crd_names_free(obj)
        obj = self._storage_form(info, obj)
        if not dry_run:
            self.commit([Change(info.storage_key, ADDED, obj)])
        return self.convert(info, copy.deepcopy(obj)), warnings

    def _check_crd_names_free(self, crd: dict[str, Any]) -> None:
        spec = crd["spec"]
        skey = f"{spec['group']}/{spec['names']['plural']}"
        if any(i.builtin and i.storage_key == skey for i in self.registry.all()):
            raise errors.ApiError(
                409, "AlreadyExists", f"resource {spec['names']['plural']}.{spec['group']} is built in"
            )
        for version in spec.get("versions") or ():
            existing = self.registry.lookup(spec["group"], version.get("name", ""), spec["names"]["plural"])
            if existing is not None and existing.crd_name != crd["metadata"]["name"]:
                raise errors.ApiError(
                    409,
                    "AlreadyExists",
                    f"resource {spec['names']['plural']}.{spec['group']} is already served",
                )

    def _crd_status(
        self, crd: dict[str, Any], old: dict[str, Any] | None, keep_stored_versions: bool = False
    ) -> None:
        """CRDs are accepted and established at once: the resource is served on commit.

        storedVersions only grows, except through the status subresource (storage migration), where the
        written list is kept as long as it still names the storage version.
        """
        spec = crd["spec"]
        ts = now_rfc3339()
        old_status = (old or {}).get("status") or {}
        stored = list(old_status.get("storedVersions") or [])
        if keep_stored_versions:
            stored = list((crd.get("status") or {}).get("storedVersions") or [])
            storage = [v.get("name") for v in spec.get("versions") or () if v.get("storage")]
            if storage and storage[0] not in stored:
                name = crd["metadata"].get("name", "")
                raise errors.invalid(
                    "CustomResourceDefinition.apiextensions.k8s.io",
                    "CustomResourceDefinition",
                    "apiextensions.k8s.io",
                    name,
                    [
                        FieldError(
                            "FieldValueInvalid",
                            "status.storedVersions",
                            f"Invalid value: {_q(stored)}: must have the storage version {storage[0]}",
                        )
                    ],
                )
        for v in spec.get("versions") or ():
            if v.get("storage") and v.get("name") not in stored:
                stored.append(v["name"])
        names = dict(spec.get("names") or {})
        names.setdefault("singular", names.get("kind", "").lower())
        names.setdefault("listKind", names.get("kind", "") + "List")
        old_conds = {c.get("type"): c for c in old_status.get("conditions") or ()}

        def cond(kind: str, reason: str, message: str) -> dict[str, Any]:
            prev = old_conds.get(kind)
            when = prev.get("lastTransitionTime", ts) if prev and prev.get("status") == "True" else ts
            return {
                "type": kind,
                "status": "True",
                "lastTransitionTime": when,
                "reason": reason,
                "message": message,
            }

        crd["status"] = {
            "conditions": [
                cond("NamesAccepted", "NoConflicts", "no conflicts found"),
                cond("Established", "InitialNamesAccepted", "the initial names have been accepted"),
            ],
            "acceptedNames": names,
            "storedVersions": stored,
        }

    # -- update ---------------------------------------------------------------------------------------------

    def update(
        self,
        info: ResourceInfo,
        ns: str,
        name: str,
        body: Any,
        *,
        subresource: str = "",
        dry_run: bool = False,
        field_validation: str = "Warn",
        require_rv: bool | None = None,
    ) -> tuple[dict[str, Any], list[str]]:
        obj = self._check_kind(info, body)
        meta = obj["metadata"]
        if meta.get("name") not in (None, "", name):
            raise errors.bad_request(
                f"the name of the object ({meta.get('name')}) does not match the name on the URL ({name})"
            )
        if info.namespaced and meta.get("namespace") not in (None, "", ns):
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        old_entry = self.entry(info, ns, name)
        old = self.convert(info, old_entry.load())
        rv = meta.get("resourceVersion")
        if require_rv is None:
            require_rv = not info.builtin or info.storage_key == CRD_SKEY
        if rv in (None, ""):
            if require_rv:
                raise errors.invalid(
                    info.qualified_kind,
                    info.kind,
                    info.group,
                    name,
                    [
                        FieldError(
                            "FieldValueInvalid",
                            "metadata.resourceVersion",
                            "Invalid value: 0x0: must be specified for an update",
                        )
                    ],
                )
        elif str(rv) != str(old_entry.rv):
            raise errors.conflict(info.group_resource, name, info.group, info.plural)
        self._check_uid(meta, old)
        return self._update_from(info, ns, name, old, obj, subresource, dry_run, field_validation)

    @staticmethod
    def _check_uid(meta: dict[str, Any], old: dict[str, Any]) -> None:
        """A uid in the body is a precondition, as in kube-apiserver."""
        uid = meta.get("uid")
        if uid not in (None, "") and uid != old["metadata"].get("uid"):
            raise errors.ApiError(
                409,
                "Conflict",
                f"Precondition failed: UID in precondition: {uid}, UID in object meta: {old['metadata'].get('uid')}",
            )

    def _update_from(
        self,
        info: ResourceInfo,
        ns: str,
        name: str,
        old: dict[str, Any],
        obj: dict[str, Any],
        subresource: str,
        dry_run: bool,
        field_validation: str,
    ) -> tuple[dict[str, Any], list[str]]:
        old_meta = old["metadata"]
        status_separate = "status" in info.subresources
        if subresource == "status":
            new = copy.deepcopy(old)
            if "status" in obj:
                new["status"] = obj["status"]
            else:
                new.pop("status", None)
            obj = new
        elif subresource == "finalize" and info.storage_key == NAMESPACE_SKEY:
            new = copy.deepcopy(old)
            new["spec"] = dict(obj.get("spec") or {})
            obj = new
        elif subresource:
            raise errors.resource_not_found()
        else:
            if status_separate:
                if "status" in old:
                    obj["status"] = copy.deepcopy(old["status"])
                else:
                    obj.pop("status", None)
            if info.storage_key == NAMESPACE_SKEY:
                obj["spec"] = copy.deepcopy(old.get("spec") or {})
                obj["status"] = copy.deepcopy(old.get("status") or {})
        meta = obj["metadata"]
        for k in (
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
        ):
            if k in old_meta:
                meta[k] = old_meta[k]
            else:
                meta.pop(k, None)
        meta["name"] = name
        if info.namespaced:
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        meta.pop("managedFields", None)
        if old_meta.get("deletionTimestamp"):
            added = set(meta.get("finalizers") or ()) - set(old_meta.get("finalizers") or ())
            if added:
                raise errors.invalid(
                    info.qualified_kind,
                    info.kind,
                    info.group,
                    name,
                    [
                        FieldError(
                            "FieldValueForbidden",
                            "metadata.finalizers",
                            "Forbidden: no new finalizers can be added if the object is being deleted, "
                            f"found new finalizers {json.dumps(sorted(added))}",
                        )
                    ],
                )
        warnings = self._enforce_schema(info, obj, old, field_validation)
        if info.storage_key == CRD_SKEY:
            self._crd_status(obj, old, keep_stored_versions=subresource == "status")
            if not meta.get("deletionTimestamp") and CRD_FINALIZER not in (meta.get("finalizers") or []):
                meta.setdefault("finalizers", []).append(CRD_FINALIZER)
        if _has_generation(info) and _spec_part(obj, status_separate) != _spec_part(old, status_separate):
            meta["generation"] = int(old_meta.get("generation") or 0) + 1
        obj = self._storage_form(info, obj)
        old_cmp = dict(old, apiVersion=obj["apiVersion"], metadata=_strip_volatile(old_meta))
        new_cmp = dict(obj, metadata=_strip_volatile(meta))
        if old_cmp == new_cmp:
            return old, warnings  # a no-op write changes nothing, not even resourceVersion
        gone = bool(meta.get("deletionTimestamp")) and not meta.get("finalizers")
        if info.storage_key == NAMESPACE_SKEY and (obj.get("spec") or {}).get("finalizers"):
            gone = False
        if gone:
            # As etcd reports it: the DELETED event carries the object as it was last stored.
            final = self._storage_form(info, copy.deepcopy(old))
            if not dry_run:
                self.commit([Change(info.storage_key, DELETED, final)])
            obj["metadata"]["resourceVersion"] = final["metadata"].get("resourceVersion", "")
        elif not dry_run:
            self.commit([Change(info.storage_key, MODIFIED, obj)])
        return self.convert(info, copy.deepcopy(obj)), warnings

    # -- patch ----------------------------------------------------------------------------------------------

    def patch(
        self,
        info: ResourceInfo,
        ns: str,
        name: str,
        content_type: str,
        body: bytes,
        *,
        subresource: str = "",
        dry_run: bool = False,
        field_validation: str = "Warn",
    ) -> tuple[dict[str, Any], list[str], int]:
        media = content_type.split(";", 1)[0].strip().lower()
        entry = self.store.get(info.storage_key, ns if info.namespaced else "", name)
        if media == "application/apply-patch+yaml":
            applied = decode_body(body, media)
            if entry is None:
                if subresource:
                    raise errors.not_found(info.group_resource, name, info.group, info.plural)
                obj = self._check_kind(info, applied)
                if obj["metadata"].get("name") not in (None, name):
                    raise errors.bad_request("the name of the object does not match the name on the URL")
                obj["metadata"]["name"] = name
                created, warnings = self.create(
                    info, ns, obj, dry_run=dry_run, field_validation=field_validation
                )
                return created, warnings, 201
            if not isinstance(applied, dict):
                raise errors.bad_request("the applied configuration must be an object")
            base = self.convert(info, entry.load())
            target = json_merge_patch(base, applied)
        else:
            if media not in (
                "application/merge-patch+json",
                "application/json-patch+json",
                "application/strategic-merge-patch+json",
            ):
                raise errors.unsupported_media_type(content_type)
            if entry is None:
                raise errors.not_found(info.group_resource, name, info.group, info.plural)
            base = self.convert(info, entry.load())
            try:
                target = apply_patch(media, base, body, _SMP_MERGE_KEYS)
            except PatchError as exc:
                code = 400 if "malformed" in str(exc) or "decode" in str(exc).lower() else 422
                raise ApiError(code, "BadRequest" if code == 400 else "Invalid", str(exc)) from exc
        old = self.convert(info, entry.load())
        if not isinstance(target, dict):
            raise errors.bad_request("the patched object must be a JSON object")
        target = self._check_kind(info, target)
        rv = target["metadata"].get("resourceVersion")
        if rv not in (None, "") and str(rv) != str(entry.rv):
            raise errors.conflict(info.group_resource, name, info.group, info.plural)
        self._check_uid(target["metadata"], old)
        if target["metadata"].get("name") != name:
            raise errors.bad_request("the name of the object cannot be changed by a patch")
        obj, warnings = self._update_from(info, ns, name, old, target, subresource, dry_run, field_validation)
        return obj, warnings, 200

    # -- delete -----------------------------------------------------------------------------------------------

    def delete(
        self,
        info: ResourceInfo,
        ns: str,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        dry_run: bool = False,
    ) -> tuple[dict[str, Any], bool]:
        """Delete or mark for deletion; returns (object, gone now)."""
        options = options or {}
        _check_delete_options(options)
        entry = self.entry(info, ns, name)
        if info.storage_key == NAMESPACE_SKEY and entry.deleting:
            raise errors.ApiError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on namespaces "{name}": The system is ensuring all content is '
                "removed from this namespace.  Upon completion, this namespace will automatically be purged "
                "by the system.",
                {"name": name, "kind": "namespaces"},
            )
        if info.storage_key == NAMESPACE_SKEY and name in SYSTEM_NAMESPACES:
            raise errors.forbidden(
                f'namespaces "{name}" is forbidden: this namespace may not be deleted', name, "", "namespaces"
            )
        obj = self.convert(info, entry.load())
        meta = obj["metadata"]
        pre = options.get("preconditions") or {}
        if pre.get("uid") and pre["uid"] != meta.get("uid"):
            raise errors.ApiError(
                409,
                "Conflict",
                f"Precondition failed: UID in precondition: {pre['uid']}, "
                f"UID in object meta: {meta.get('uid')}",
            )
        if pre.get("resourceVersion") and str(pre["resourceVersion"]) != str(entry.rv):
            raise errors.ApiError(
                409,
                "Conflict",
                "Precondition failed: ResourceVersion in precondition: "
                f"{pre['resourceVersion']}, ResourceVersion in object meta: {entry.rv}",
            )
        policy = options.get("propagationPolicy")
        if policy is None and options.get("orphanDependents") is not None:
            policy = "Orphan" if options.get("orphanDependents") else "Background"
        if policy not in (None, "Orphan", "Background", "Foreground"):
            raise errors.invalid(
                "DeleteOptions",
                "DeleteOptions",
                "",
                "",
                [
                    FieldError(
                        "FieldValueNotSupported",
                        "propagationPolicy",
                        f'Unsupported value: {_q(policy)}: supported values: "Foreground", "Background", "Orphan"',
                    )
                ],
            )
        finalizers = list(meta.get("finalizers") or [])
        has_dependents = bool(self.store.dependents.get(str(meta.get("uid"))))
        if policy == "Orphan" and ORPHAN not in finalizers and has_dependents:
            finalizers.append(ORPHAN)
        elif policy == "Foreground" and FOREGROUND not in finalizers and has_dependents:
            finalizers.append(FOREGROUND)
        pending = bool(finalizers)
        if info.storage_key == NAMESPACE_SKEY:
            pending = True
            obj.setdefault("status", {})["phase"] = "Terminating"
        elif info.storage_key == CRD_SKEY and CRD_FINALIZER in finalizers:
            conds = obj.setdefault("status", {}).setdefault("conditions", [])
            if not any(c.get("type") == "Terminating" for c in conds):
                conds.append(
                    {
                        "type": "Terminating",
                        "status": "True",
                        "lastTransitionTime": now_rfc3339(),
                        "reason": "InstanceDeletionPending",
                        "message": "CustomResourceDefinition marked for deletion; instances are being removed",
                    }
                )
        if pending:
            changed = finalizers != list(meta.get("finalizers") or [])
            if not meta.get("deletionTimestamp"):
                meta["deletionTimestamp"] = now_rfc3339()
                meta["deletionGracePeriodSeconds"] = 0
                if meta.get("generation"):
                    meta["generation"] = int(meta["generation"]) + 1
                changed = True
            if changed or info.storage_key in (NAMESPACE_SKEY, CRD_SKEY):
                meta["finalizers"] = finalizers
                if not finalizers:
                    meta.pop("finalizers")
                if not dry_run:
                    self.commit([Change(info.storage_key, MODIFIED, self._storage_form(info, obj))])
            return self.convert(info, obj), False
        if not dry_run:
            self.commit([Change(info.storage_key, DELETED, self._storage_form(info, obj))])
        return self.convert(info, obj), True

    # -- scale subresource ---------------------------------------------------------------------------------

    def get_scale(self, info: ResourceInfo, ns: str, name: str) -> dict[str, Any]:
        """The autoscaling/v1 Scale of a custom resource with a scale subresource."""
        obj = self.get(info, ns, name)
        paths = info.extra.get("scale") or {}
        meta = obj["metadata"]
        scale: dict[str, Any] = {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {
                k: meta[k]
                for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                if k in meta
            },
            "spec": {},
            "status": {"replicas": 0},
        }
        replicas = _path_get(obj, paths.get("specReplicasPath", ""))
        if isinstance(replicas, int):
            scale["spec"]["replicas"] = replicas
        current = _path_get(obj, paths.get("statusReplicasPath", ""))
        if isinstance(current, int):
            scale["status"]["replicas"] = current
        selector = _path_get(obj, paths.get("labelSelectorPath", ""))
        if isinstance(selector, str):
            scale["status"]["selector"] = selector
        return scale

    def update_scale(
        self, info: ResourceInfo, ns: str, name: str, scale: Any, *, dry_run: bool = False
    ) -> dict[str, Any]:
        if not isinstance(scale, dict):
            raise errors.bad_request(
                "the object provided is unrecognized or malformed: expected a Scale object"
            )
        replicas = (scale.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise errors.invalid(
                "Scale.autoscaling",
                "Scale",
                "autoscaling",
                name,
                [
                    FieldError(
                        "FieldValueInvalid",
                        "spec.replicas",
                        f"Invalid value: {_q(replicas)}: must be greater than or equal to 0",
                    )
                ],
            )
        entry = self.entry(info, ns, name)
        rv = (scale.get("metadata") or {}).get("resourceVersion")
        if rv not in (None, "") and str(rv) != str(entry.rv):
            raise errors.conflict(info.group_resource, name, info.group, info.plural)
        old = self.convert(info, entry.load())
        obj = copy.deepcopy(old)
        _path_set(obj, (info.extra.get("scale") or {}).get("specReplicasPath", ".spec.replicas"), replicas)
        self._update_from(info, ns, name, old, obj, "", dry_run, "Ignore")
        return self.get_scale(info, ns, name) if not dry_run else scale

    def update_internal(
        self,
        info: ResourceInfo,
        ns: str,
        name: str,
        old: dict[str, Any],
        obj: dict[str, Any],
        subresource: str = "",
    ) -> dict[str, Any]:
        """An update made by the server's own controllers (no preconditions from a client)."""
        return self._update_from(info, ns, name, old, obj, subresource, False, "Ignore")[0]

    def remove_finalizer(self, info: ResourceInfo, ns: str, name: str, finalizer: str) -> None:
        entry = self.store.get(info.storage_key, ns, name)
        if entry is None:
            return
        obj = self.convert(info, entry.load())
        fins = list(obj["metadata"].get("finalizers") or [])
        if finalizer not in fins:
            return
        fins.remove(finalizer)
        obj["metadata"]["finalizers"] = fins
        self._update_from(info, ns, name, self.convert(info, entry.load()), obj, "", False, "Ignore")

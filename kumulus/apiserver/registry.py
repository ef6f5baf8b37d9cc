"""The set of served resources: built-in kinds plus every version of every established CRD.

`Registry` answers "which resource is /apis/G/V/PLURAL?" for routing and lists resources per group
version for discovery. CRDs are turned into `ResourceInfo`s by `resources_of_crd`; `validate_crd`
checks a CRD the way kube-apiserver does before it is stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from . import schema as schema_mod
from .errors import FieldError
from .jsonpath import JSONPathError, compile_path
from .metadata import DNS_LABEL as _DNS_LABEL
from .metadata import DNS_SUBDOMAIN as _DNS_SUBDOMAIN
from .metadata import quote as _q
from .resources import PrinterColumn, ResourceInfo

READ_UPDATE = ("get", "patch", "update")


def _core(plural: str, kind: str, namespaced: bool, **kw: Any) -> ResourceInfo:
    return ResourceInfo(
        group="",
        version="v1",
        plural=plural,
        singular=kind.lower(),
        kind=kind,
        namespaced=namespaced,
        builtin=True,
        **kw,
    )


def _builtin(group: str, version: str, plural: str, kind: str, namespaced: bool, **kw: Any) -> ResourceInfo:
    return ResourceInfo(
        group=group,
        version=version,
        plural=plural,
        singular=kind.lower(),
        kind=kind,
        namespaced=namespaced,
        builtin=True,
        **kw,
    )


EVENT_FIELDS = (
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
)

BUILTINS: tuple[ResourceInfo, ...] = (
    _core(
        "namespaces",
        "Namespace",
        False,
        short_names=("ns",),
        subresources=frozenset({"status", "finalize"}),
        selectable_fields=("status.phase",),
        verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
        description="Namespace provides a scope for Names.",
    ),
    _core(
        "configmaps",
        "ConfigMap",
        True,
        short_names=("cm",),
        description="ConfigMap holds configuration data for pods to consume.",
    ),
    _core(
        "secrets",
        "Secret",
        True,
        selectable_fields=("type",),
        description="Secret holds secret data of a certain type.",
    ),
    _core(
        "serviceaccounts",
        "ServiceAccount",
        True,
        short_names=("sa",),
        description="ServiceAccount binds together a name, a principal and a set of secrets.",
    ),
    _core(
        "events",
        "Event",
        True,
        short_names=("ev",),
        selectable_fields=EVENT_FIELDS,
        description="Event is a report of an event somewhere in the cluster.",
    ),
    _builtin(
        "events.k8s.io",
        "v1",
        "events",
        "Event",
        True,
        short_names=("ev",),
        selectable_fields=(
            "regarding.kind",
            "regarding.namespace",
            "regarding.name",
            "regarding.uid",
            "reason",
            "reportingController",
            "type",
        ),
        description="Event is a report of an event somewhere in the cluster.",
    ),
    _builtin(
        "coordination.k8s.io", "v1", "leases", "Lease", True, description="Lease defines a lease concept."
    ),
    _builtin(
        "rbac.authorization.k8s.io",
        "v1",
        "roles",
        "Role",
        True,
        description="Role is a namespaced, logical grouping of PolicyRules.",
    ),
    _builtin(
        "rbac.authorization.k8s.io",
        "v1",
        "rolebindings",
        "RoleBinding",
        True,
        description="RoleBinding references a role and the subjects it applies to.",
    ),
    _builtin(
        "rbac.authorization.k8s.io",
        "v1",
        "clusterroles",
        "ClusterRole",
        False,
        description="ClusterRole is a cluster level, logical grouping of PolicyRules.",
    ),
    _builtin(
        "rbac.authorization.k8s.io",
        "v1",
        "clusterrolebindings",
        "ClusterRoleBinding",
        False,
        description="ClusterRoleBinding references a ClusterRole and the subjects it applies to.",
    ),
    _builtin(
        "admissionregistration.k8s.io",
        "v1",
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        False,
        description="ValidatingWebhookConfiguration describes admission webhooks that accept or reject objects.",
    ),
    _builtin(
        "admissionregistration.k8s.io",
        "v1",
        "mutatingwebhookconfigurations",
        "MutatingWebhookConfiguration",
        False,
        description="MutatingWebhookConfiguration describes admission webhooks that may change objects.",
    ),
    _builtin(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        False,
        short_names=("crd", "crds"),
        subresources=frozenset({"status"}),
        description="CustomResourceDefinition represents a resource that should be exposed on the API server.",
    ),
)

CRD_SKEY = "apiextensions.k8s.io/customresourcedefinitions"
NAMESPACE_SKEY = "/namespaces"

_KIND = re.compile(r"^[A-Z][A-Za-z0-9]*$")


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Kubernetes version ordering: GA > beta > alpha, higher numbers first; others after, by name."""
    m = re.match(r"^v([0-9]+)(?:(alpha|beta)([0-9]+))?$", version)
    if not m:
        return (3, 0, 0, version)
    major = int(m.group(1))
    stage = {None: 0, "beta": 1, "alpha": 2}[m.group(2)]
    minor = int(m.group(3) or 0)
    return (stage, -major, -minor, "")


def resources_of_crd(crd: dict[str, Any]) -> list[ResourceInfo]:
    """The served versions of a stored (valid) CRD."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    out = []
    for v in spec.get("versions") or ():
        if not v.get("served", True):
            continue
        sub = v.get("subresources") or {}
        schema = (v.get("schema") or {}).get("openAPIV3Schema")
        columns = tuple(_column(c) for c in v.get("additionalPrinterColumns") or ())
        out.append(
            ResourceInfo(
                group=spec["group"],
                version=v["name"],
                plural=names["plural"],
                singular=names.get("singular") or names["kind"].lower(),
                kind=names["kind"],
                list_kind=names.get("listKind") or names["kind"] + "List",
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                subresources=frozenset(k for k in ("status", "scale") if k in sub),
                schema=schema,
                printer_columns=columns
                if columns
                else (PrinterColumn("Age", "date", ".metadata.creationTimestamp"),),
                selectable_fields=tuple(
                    str(f.get("jsonPath", "")).lstrip(".") for f in v.get("selectableFields") or ()
                ),
                storage_version=bool(v.get("storage")),
                crd_name=(crd.get("metadata") or {}).get("name"),
                description=str((schema or {}).get("description", "")),
                extra={"scale": sub.get("scale")} if "scale" in sub else {},
            )
        )
    return out


def _column(c: dict[str, Any]) -> PrinterColumn:
    return PrinterColumn(
        name=str(c.get("name", "")),
        type=str(c.get("type", "string")),
        json_path=str(c.get("jsonPath", "")),
        description=str(c.get("description", "")),
        format=str(c.get("format", "")),
        priority=int(c.get("priority", 0) or 0),
    )


def validate_crd(crd: dict[str, Any], old: dict[str, Any] | None = None) -> list[FieldError]:
    """kube-apiserver's essential checks of a CustomResourceDefinition."""
    errs: list[FieldError] = []

    def req(field: str) -> None:
        errs.append(FieldError("FieldValueRequired", field, "Required value"))

    def bad(field: str, value: Any, msg: str) -> None:
        errs.append(FieldError("FieldValueInvalid", field, f"Invalid value: {_q(value)}: {msg}"))

    spec = crd.get("spec")
    if not isinstance(spec, dict):
        req("spec")
        return errs
    name = (crd.get("metadata") or {}).get("name", "")
    group = spec.get("group")
    raw_names = spec.get("names")
    names: dict[str, Any] = raw_names if isinstance(raw_names, dict) else {}
    plural = names.get("plural")
    if not group:
        req("spec.group")
    elif not isinstance(group, str) or not _DNS_SUBDOMAIN.match(group) or "." not in group:
        bad("spec.group", group, "should be a domain with at least one dot")
    if not plural:
        req("spec.names.plural")
    elif not isinstance(plural, str) or not _DNS_LABEL.match(plural):
        bad(
            "spec.names.plural",
            plural,
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'",
        )
    annotations = (crd.get("metadata") or {}).get("annotations") or {}
    if (
        isinstance(group, str)
        and (group in ("k8s.io", "kubernetes.io") or group.endswith((".k8s.io", ".kubernetes.io")))
        and "api-approved.kubernetes.io" not in annotations
    ):
        errs.append(
            FieldError(
                "FieldValueRequired",
                "metadata.annotations[api-approved.kubernetes.io]",
                'Required value: protected groups must have approval annotation "api-approved.kubernetes.io", '
                "see https://github.com/kubernetes/enhancements/pull/1111",
            )
        )
    if plural and group and name != f"{plural}.{group}":
        bad("metadata.name", name, 'must be spec.names.plural+"."+spec.group')
    kind = names.get("kind")
    if not kind:
        req("spec.names.kind")
    elif not isinstance(kind, str) or not _KIND.match(kind):
        bad("spec.names.kind", kind, "may have mixed case, but should otherwise match: ^[A-Z][A-Za-z0-9]*$")
    singular = names.get("singular")
    if singular and (not isinstance(singular, str) or not _DNS_LABEL.match(singular)):
        bad("spec.names.singular", singular, "a lowercase RFC 1123 label")
    for i, sn in enumerate(names.get("shortNames") or ()):
        if not isinstance(sn, str) or not _DNS_LABEL.match(sn):
            bad(f"spec.names.shortNames[{i}]", sn, "a lowercase RFC 1123 label")
    scope = spec.get("scope")
    if scope not in ("Namespaced", "Cluster"):
        errs.append(
            FieldError(
                "FieldValueNotSupported",
                "spec.scope",
                f'Unsupported value: {_q(scope)}: supported values: "Cluster", "Namespaced"',
            )
        )
    versions = spec.get("versions")
    if not isinstance(versions, list) or not versions:
        errs.append(
            FieldError(
                "FieldValueInvalid",
                "spec.versions",
                "Invalid value: null: must have exactly one version marked as storage version",
            )
        )
        return errs
    storage = 0
    seen: set[str] = set()
    for i, v in enumerate(versions):
        path = f"spec.versions[{i}]"
        if not isinstance(v, dict):
            bad(path, v, "must be an object")
            continue
        vname = v.get("name")
        if not vname:
            req(f"{path}.name")
        elif not isinstance(vname, str) or not _DNS_LABEL.match(vname):
            bad(f"{path}.name", vname, "a DNS-1035 label")
        elif vname in seen:
            errs.append(FieldError("FieldValueDuplicate", f"{path}.name", f"Duplicate value: {_q(vname)}"))
        else:
            seen.add(vname)
        if v.get("storage"):
            storage += 1
        schema = (v.get("schema") or {}).get("openAPIV3Schema")
        if schema is None:
            req(f"{path}.schema.openAPIV3Schema")
        elif not isinstance(schema, dict):
            bad(f"{path}.schema.openAPIV3Schema", schema, "must be an object")
        else:
            for e in schema_mod.check_schema(schema):
                field = f"{path}.schema.openAPIV3Schema" + (("." + e.field) if e.field else "")
                errs.append(FieldError(e.reason, field, e.message))
        for j, col in enumerate(v.get("additionalPrinterColumns") or ()):
            cpath = f"{path}.additionalPrinterColumns[{j}]"
            if not isinstance(col, dict):
                bad(cpath, col, "must be an object")
                continue
            if not col.get("name"):
                req(f"{cpath}.name")
            if col.get("type") not in ("string", "integer", "number", "boolean", "date"):
                errs.append(
                    FieldError(
                        "FieldValueNotSupported",
                        f"{cpath}.type",
                        f'Unsupported value: {_q(col.get("type"))}: supported values: "boolean", '
                        '"date", "integer", "number", "string"',
                    )
                )
            try:
                compile_path(str(col.get("jsonPath", "")))
            except JSONPathError as exc:
                bad(f"{cpath}.jsonPath", col.get("jsonPath"), f"must be a simple json path: {exc}")
        for j, sf in enumerate(v.get("selectableFields") or ()):
            jp = sf.get("jsonPath") if isinstance(sf, dict) else None
            if not isinstance(jp, str) or not jp.startswith("."):
                bad(
                    f"{path}.selectableFields[{j}].jsonPath", jp, "must be a simple json path starting with ."
                )
    if storage != 1:
        errs.append(
            FieldError(
                "FieldValueInvalid",
                "spec.versions",
                f"Invalid value: {_q(versions and [v.get('name') for v in versions if isinstance(v, dict)])}: "
                "must have exactly one version marked as storage version",
            )
        )
    if old is not None:
        ospec = old.get("spec") or {}
        if ospec.get("group") != group:
            errs.append(
                FieldError(
                    "FieldValueInvalid", "spec.group", f"Invalid value: {_q(group)}: field is immutable"
                )
            )
        if ospec.get("scope") != scope:
            errs.append(
                FieldError(
                    "FieldValueInvalid", "spec.scope", f"Invalid value: {_q(scope)}: field is immutable"
                )
            )
    return errs


class Registry:
    """Served resources, rebuilt whenever a CRD changes."""

    def __init__(self) -> None:
        self.by_gvr: dict[tuple[str, str, str], ResourceInfo] = {}
        self.crd_resources: dict[str, list[ResourceInfo]] = {}
        self.generation = 0
        for info in BUILTINS:
            self.by_gvr[(info.group, info.version, info.plural)] = info

    def lookup(self, group: str, version: str, plural: str) -> ResourceInfo | None:
        return self.by_gvr.get((group, version, plural))

    def all(self) -> list[ResourceInfo]:
        return list(self.by_gvr.values())

    def storage_info(self, skey: str) -> ResourceInfo | None:
        """The storage version's resource of a storage key."""
        fallback = None
        for info in self.by_gvr.values():
            if info.storage_key == skey:
                if info.storage_version:
                    return info
                fallback = info
        return fallback

    def set_crd(self, name: str, crd: dict[str, Any] | None) -> None:
        """Serve (or stop serving, when crd is None) the versions of a CRD."""
        for info in self.crd_resources.pop(name, []):
            self.by_gvr.pop((info.group, info.version, info.plural), None)
        if crd is not None:
            infos = resources_of_crd(crd)
            for info in infos:
                existing = self.by_gvr.get((info.group, info.version, info.plural))
                if existing is not None and existing.crd_name != name:
                    continue  # never shadow a built-in or another CRD
                self.by_gvr[(info.group, info.version, info.plural)] = info
            self.crd_resources[name] = infos
        self.generation += 1

    def groups(self) -> dict[str, list[str]]:
        """Group name -> versions, preferred first."""
        out: dict[str, set[str]] = {}
        for info in self.by_gvr.values():
            out.setdefault(info.group, set()).add(info.version)
        return {g: sorted(vs, key=version_priority) for g, vs in out.items()}

    def in_group_version(self, group: str, version: str) -> list[ResourceInfo]:
        return sorted(
            (i for i in self.by_gvr.values() if i.group == group and i.version == version),
            key=lambda i: i.plural,
        )

    def find_by_kind(self, group: str, version: str, kind: str) -> ResourceInfo | None:
        for info in self.by_gvr.values():
            if info.group == group and info.version == version and info.kind == kind:
                return info
        return None

    def for_storage(self, skey: str) -> Iterable[ResourceInfo]:
        return (i for i in self.by_gvr.values() if i.storage_key == skey)

"""OpenAPI documents served at /openapi/v2 and /openapi/v3, built from the served resources.

Pure functions, no I/O. The documents follow the layout of kube-apiserver closely enough for the
real kubectl:

* `kubectl explain` (OpenAPI v3) finds a resource's GVK on the operations of its collection or
  item path, then the component schema whose `x-kubernetes-group-version-kind` list holds that
  GVK, and follows `$ref`s (ObjectMeta and friends) inside the same group-version document.
* `kubectl apply --validate=strict` looks for a PATCH operation carrying the GVK in its
  `x-kubernetes-group-version-kind` extension and the inline `fieldValidation` query parameter.

`build_v2` returns one Swagger 2.0 document for everything; `build_v3` returns one OpenAPI 3.0
document per group version, keyed `api/v1` or `apis/<group>/<version>`; `v3_index` builds the
`/openapi/v3` discovery document whose URLs carry a content hash.

CRD schemas are deep-copied, never mutated. For v2 they are converted: `nullable` becomes
`x-nullable`, and `allOf`/`anyOf`/`oneOf`/`not` (and other v3-only keywords) are dropped.
Built-in kinds without a schema get a free-form object (`x-kubernetes-preserve-unknown-fields`)
with a few described top-level fields for the kinds users explain most.

`application/strategic-merge-patch+json` is advertised only for built-in kinds that have a full
schema: kube never offers it for custom resources, and for free-form built-ins it would make
kubectl compute strategic merge patches from our partial schema instead of its compiled-in types.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kumulus.apiserver.resources import ResourceInfo

__all__ = ["KUBE_VERSION", "build_v2", "build_v3", "definition_name", "v3_index"]

KUBE_VERSION = "v1.32.0"

_META = "io.k8s.apimachinery.pkg.apis.meta.v1"
_OBJECT_META = f"{_META}.ObjectMeta"
_LIST_META = f"{_META}.ListMeta"
_STATUS = f"{_META}.Status"
_DELETE_OPTIONS = f"{_META}.DeleteOptions"
_PATCH = f"{_META}.Patch"
_WATCH_EVENT = f"{_META}.WatchEvent"
_TIME = f"{_META}.Time"
_SCALE = "io.k8s.api.autoscaling.v1.Scale"

_V2_PREFIX = "#/definitions/"
_V3_PREFIX = "#/components/schemas/"

_GVK = "x-kubernetes-group-version-kind"

_API_CONVENTIONS = "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md"
_API_VERSION_DESC = (
    "APIVersion defines the versioned schema of this representation of an object. Servers should convert "
    "recognized schemas to the latest internal value, and may reject unrecognized values. More info: "
    f"{_API_CONVENTIONS}#resources"
)
_KIND_DESC = (
    "Kind is a string value representing the REST resource this object represents. Servers may infer this "
    "from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: "
    f"{_API_CONVENTIONS}#types-kinds"
)
_METADATA_DESC = f"Standard object's metadata. More info: {_API_CONVENTIONS}#metadata"
_LIST_METADATA_DESC = f"Standard list metadata. More info: {_API_CONVENTIONS}#types-kinds"

# Request and response media types.
_JSON = "application/json"
_YAML = "application/yaml"
_JSON_WATCH = "application/json;stream=watch"
_APPLY_PATCH = "application/apply-patch+yaml"
_JSON_PATCH = "application/json-patch+json"
_MERGE_PATCH = "application/merge-patch+json"
_SMP = "application/strategic-merge-patch+json"

_OBJECT_MEDIA = (_JSON, _YAML)
_LIST_MEDIA = (_JSON, _JSON_WATCH, _YAML)
_WATCH_MEDIA = (_JSON, _JSON_WATCH)


# --------------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------------


def _group_prefix(group: str) -> str:
    """The reverse-domain prefix kube uses for a group's definitions."""
    if not group:
        return "io.k8s.api.core"
    if group == "apiextensions.k8s.io":
        return "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions"
    if group == "apiregistration.k8s.io":
        return "io.k8s.kube-aggregator.pkg.apis.apiregistration"
    if group.endswith(".k8s.io"):
        return "io.k8s.api." + group.split(".", 1)[0]
    if "." not in group:  # legacy kube groups: apps, batch, autoscaling, policy, extensions
        return "io.k8s.api." + group
    return ".".join(reversed(group.split(".")))


def definition_name(group: str, version: str, kind: str) -> str:
    """The definition/component name of a kind: `dev.kumulus.compute.v1alpha1.Server`."""
    return f"{_group_prefix(group)}.{version}.{kind}"


def _camel(text: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in text.replace("-", ".").split(".") if part)


def _group_id(group: str) -> str:
    """The group as kube spells it in operation ids: Core, Apps, RbacAuthorization, ComputeKumulusDev."""
    if not group:
        return "Core"
    if group.endswith(".k8s.io"):
        group = group[: -len(".k8s.io")]
    return _camel(group)


def _group_tag(group: str, version: str) -> str:
    """The operation tag: core_v1, rbacAuthorization_v1, computeKumulusDev_v1alpha1."""
    gid = _group_id(group)
    return f"{gid[:1].lower()}{gid[1:]}_{version}"


def _doc_key(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _gvk_entry(group: str, version: str, kind: str) -> dict[str, str]:
    return {"group": group, "kind": kind, "version": version}


# --------------------------------------------------------------------------------------------------
# JSON-schema helpers
# --------------------------------------------------------------------------------------------------


def _copy(value: Any) -> Any:
    """Deep copy of JSON-like data; much faster than copy.deepcopy."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


# Keywords OpenAPI v2 (Swagger 2.0) schemas do not have.
_V2_DROPPED = frozenset({"allOf", "anyOf", "oneOf", "not", "writeOnly", "deprecated", "discriminator"})


def _schema_to_v2(schema: dict[str, Any]) -> dict[str, Any]:
    """Copy a (CRD) OpenAPI v3 schema into a Swagger 2.0 one, the way kube-apiserver does."""
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _V2_DROPPED:
            continue
        if key == "nullable":
            if value:
                out["x-nullable"] = True
        elif key in ("properties", "patternProperties", "definitions") and isinstance(value, dict):
            out[key] = {
                name: _schema_to_v2(sub) if isinstance(sub, dict) else _copy(sub)
                for name, sub in value.items()
            }
        elif key == "items":
            if isinstance(value, dict):
                out[key] = _schema_to_v2(value)
            elif isinstance(value, list):
                out[key] = [_schema_to_v2(v) if isinstance(v, dict) else _copy(v) for v in value]
            else:
                out[key] = _copy(value)
        elif key == "additionalProperties" and isinstance(value, dict):
            out[key] = _schema_to_v2(value)
        else:
            out[key] = _copy(value)
    if out.get("type") == "array" and "items" not in out:
        # kubectl's v2 parser cannot cope with an array without an item schema.
        del out["type"]
    return out


class _Refs:
    """Builds `$ref`s for one flavour of document."""

    def __init__(self, v3: bool) -> None:
        self.v3 = v3
        self.prefix = _V3_PREFIX if v3 else _V2_PREFIX
        self.param_prefix = "#/components/parameters/" if v3 else "#/parameters/"

    def ref(self, name: str) -> dict[str, Any]:
        return {"$ref": self.prefix + name}

    def param(self, key: str) -> dict[str, Any]:
        """A query parameter of an operation: shared ones by $ref, the others inline."""
        if key in _SHARED_PARAMS:
            return {"$ref": self.param_prefix + key}
        return _query_param(key, self.v3)

    def field(self, name: str, description: str, **extra: Any) -> dict[str, Any]:
        """A described property of a referenced type: allOf-wrapped in v3 like kube, a plain $ref in v2."""
        if self.v3:
            return {"description": description, "allOf": [self.ref(name)], **extra}
        return {"$ref": self.prefix + name, "description": description, **extra}

    def array(self, name: str, description: str, **extra: Any) -> dict[str, Any]:
        return {"type": "array", "description": description, "items": self.ref(name), **extra}


def _str(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **extra}


def _int(description: str, fmt: str = "int64") -> dict[str, Any]:
    return {"type": "integer", "format": fmt, "description": description}


def _bool(description: str) -> dict[str, Any]:
    return {"type": "boolean", "description": description}


def _str_list(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "array", "description": description, "items": {"type": "string"}, **extra}


def _str_map(description: str) -> dict[str, Any]:
    return {"type": "object", "description": description, "additionalProperties": {"type": "string"}}


def _obj(description: str, properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "description": description, "properties": properties, **extra}


# --------------------------------------------------------------------------------------------------
# apimachinery meta types
# --------------------------------------------------------------------------------------------------

_OBJECT_META_DESCS = {
    "name": (
        "Name must be unique within a namespace. Is required when creating resources, although some resources "
        "may allow a client to request the generation of an appropriate name automatically. Name is primarily "
        "intended for creation idempotence and configuration definition. Cannot be updated. More info: "
        "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
    ),
    "generateName": (
        "GenerateName is an optional prefix, used by the server, to generate a unique name ONLY IF the Name "
        "field has not been provided. If this field is used, the name returned to the client will be different "
        "than the name passed. This value will also be combined with a unique suffix. The provided value has "
        "the same validation rules as the Name field, and may be truncated by the length of the suffix required "
        "to make the value unique on the server.\n\nIf this field is specified and the generated name exists, "
        "the server will return a 409.\n\nApplied only if Name is not specified. More info: "
        f"{_API_CONVENTIONS}#idempotency"
    ),
    "namespace": (
        "Namespace defines the space within which each name must be unique. An empty namespace is equivalent "
        'to the "default" namespace, but "default" is the canonical representation. Not all objects are '
        "required to be scoped to a namespace - the value of this field for those objects will be empty.\n\n"
        "Must be a DNS_LABEL. Cannot be updated. More info: "
        "https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces"
    ),
    "selfLink": "Deprecated: selfLink is a legacy read-only field that is no longer populated by the system.",
    "uid": (
        "UID is the unique in time and space value for this object. It is typically generated by the server on "
        "successful creation of a resource and is not allowed to change on PUT operations.\n\nPopulated by the "
        "system. Read-only. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#uids"
    ),
    "resourceVersion": (
        "An opaque value that represents the internal version of this object that can be used by clients to "
        "determine when objects have changed. May be used for optimistic concurrency, change detection, and the "
        "watch operation on a resource or set of resources. Clients must treat these values as opaque and "
        "passed unmodified back to the server. They may only be valid for a particular resource or set of "
        "resources.\n\nPopulated by the system. Read-only. Value must be treated as opaque by clients and . "
        f"More info: {_API_CONVENTIONS}#concurrency-control-and-consistency"
    ),
    "generation": (
        "A sequence number representing a specific generation of the desired state. Populated by the system. "
        "Read-only."
    ),
    "creationTimestamp": (
        "CreationTimestamp is a timestamp representing the server time when this object was created. It is not "
        "guaranteed to be set in happens-before order across separate operations. Clients may not set this "
        "value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for "
        f"lists. More info: {_API_CONVENTIONS}#metadata"
    ),
    "deletionTimestamp": (
        "DeletionTimestamp is RFC 3339 date and time at which this resource will be deleted. This field is set "
        "by the server when a graceful deletion is requested by the user, and is not directly settable by a "
        "client. The resource is expected to be deleted (no longer visible from resource lists, and not "
        "reachable by name) after the time in this field, once the finalizers list is empty. As long as the "
        "finalizers list contains items, deletion is blocked. Once the deletionTimestamp is set, this value may "
        "not be unset or be set further into the future, although it may be shortened or the resource may be "
        "deleted prior to this time. For example, a user may request that a pod is deleted in 30 seconds. The "
        "Kubelet will react by sending a graceful termination signal to the containers in the pod. After that "
        "30 seconds, the Kubelet will send a hard termination signal (SIGKILL) to the container and after "
        "cleanup, remove the pod from the API. In the presence of network partitions, this object may still "
        "exist after this timestamp, until an administrator or automated process can determine the resource is "
        "fully terminated. If not set, graceful deletion of the object has not been requested.\n\nPopulated by "
        f"the system when a graceful deletion is requested. Read-only. More info: {_API_CONVENTIONS}#metadata"
    ),
    "deletionGracePeriodSeconds": (
        "Number of seconds allowed for this object to gracefully terminate before it will be removed from the "
        "system. Only set when deletionTimestamp is also set. May only be shortened. Read-only."
    ),
    "labels": (
        "Map of string keys and values that can be used to organize and categorize (scope and select) objects. "
        "May match selectors of replication controllers and services. More info: "
        "https://kubernetes.io/docs/concepts/overview/working-with-objects/labels"
    ),
    "annotations": (
        "Annotations is an unstructured key value map stored with a resource that may be set by external tools "
        "to store and retrieve arbitrary metadata. They are not queryable and should be preserved when "
        "modifying objects. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/annotations"
    ),
    "ownerReferences": (
        "List of objects depended by this object. If ALL objects in the list have been deleted, this object "
        "will be garbage collected. If this object is managed by a controller, then an entry in this list will "
        "point to this controller, with the controller field set to true. There cannot be more than one "
        "managing controller."
    ),
    "finalizers": (
        "Must be empty before the object is deleted from the registry. Each entry is an identifier for the "
        "responsible component that will remove the entry from the list. If the deletionTimestamp of the object "
        "is non-nil, entries in this list can only be removed. Finalizers may be processed and removed in any "
        "order.  Order is NOT enforced because it introduces significant risk of stuck finalizers. finalizers "
        "is a shared field, any actor with permission can reorder it. If the finalizer list is processed in "
        "order, then this can lead to a situation in which the component responsible for the first finalizer in "
        "the list is waiting for a signal (field value, external system, or other) produced by a component "
        "responsible for a finalizer later in the list, resulting in a deadlock. Without enforced ordering "
        "finalizers are free to order amongst themselves and are not vulnerable to ordering changes in the list."
    ),
    "managedFields": (
        "ManagedFields maps workflow-id and version to the set of fields that are managed by that workflow. This "
        "is mostly for internal housekeeping, and users typically shouldn't need to set or understand this "
        "field. A workflow can be the user's name, a controller's name, or the name of a specific apply path "
        'like "ci-cd". The set of fields is always in the version that the workflow used when modifying the '
        "object."
    ),
}

_DRY_RUN_DESC = (
    "When present, indicates that modifications should not be persisted. An invalid or unrecognized dryRun "
    "directive will result in an error response and no further processing of the request. Valid values are: "
    "- All: all dry run stages will be processed"
)
_GRACE_PERIOD_DESC = (
    "The duration in seconds before the object should be deleted. Value must be non-negative integer. The value "
    "zero indicates delete immediately. If this value is nil, the default grace period for the specified type "
    "will be used. Defaults to a per object value if not specified. zero means delete immediately."
)
_PROPAGATION_DESC = (
    "Whether and how garbage collection will be performed. Either this field or OrphanDependents may be set, "
    "but not both. The default policy is decided by the existing finalizer set in the metadata.finalizers and "
    "the resource-specific default policy. Acceptable values are: 'Orphan' - orphan the dependents; "
    "'Background' - allow the garbage collector to delete the dependents in the background; 'Foreground' - a "
    "cascading policy that deletes all dependents in the foreground."
)


def _meta_schemas(refs: _Refs) -> dict[str, dict[str, Any]]:
    """The apimachinery types every document refers to."""
    d = _OBJECT_META_DESCS
    object_meta = _obj(
        "ObjectMeta is metadata that all persisted resources must have, which includes all objects users must "
        "create.",
        {
            "annotations": _str_map(d["annotations"]),
            "creationTimestamp": refs.field(_TIME, d["creationTimestamp"]),
            "deletionGracePeriodSeconds": _int(d["deletionGracePeriodSeconds"]),
            "deletionTimestamp": refs.field(_TIME, d["deletionTimestamp"]),
            "finalizers": _str_list(
                d["finalizers"], **{"x-kubernetes-list-type": "set", "x-kubernetes-patch-strategy": "merge"}
            ),
            "generateName": _str(d["generateName"]),
            "generation": _int(d["generation"]),
            "labels": _str_map(d["labels"]),
            "managedFields": refs.array(
                f"{_META}.ManagedFieldsEntry", d["managedFields"], **{"x-kubernetes-list-type": "atomic"}
            ),
            "name": _str(d["name"]),
            "namespace": _str(d["namespace"]),
            "ownerReferences": refs.array(
                f"{_META}.OwnerReference",
                d["ownerReferences"],
                **{
                    "x-kubernetes-list-map-keys": ["uid"],
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-patch-merge-key": "uid",
                    "x-kubernetes-patch-strategy": "merge",
                },
            ),
            "resourceVersion": _str(d["resourceVersion"]),
            "selfLink": _str(d["selfLink"]),
            "uid": _str(d["uid"]),
        },
    )
    owner_reference = _obj(
        "OwnerReference contains enough information to let you identify an owning object. An owning object "
        "must be in the same namespace as the dependent, or be cluster-scoped, so there is no namespace field.",
        {
            "apiVersion": _str("API version of the referent."),
            "blockOwnerDeletion": _bool(
                'If true, AND if the owner has the "foregroundDeletion" finalizer, then the owner cannot be '
                "deleted from the key-value store until this reference is removed. See "
                "https://kubernetes.io/docs/concepts/architecture/garbage-collection/#foreground-deletion for "
                "how the garbage collector interacts with this field and enforces the foreground deletion. "
                'Defaults to false. To set this field, a user needs "delete" permission of the owner, '
                "otherwise 422 (Unprocessable Entity) will be returned."
            ),
            "controller": _bool("If true, this reference points to the managing controller."),
            "kind": _str(f"Kind of the referent. More info: {_API_CONVENTIONS}#types-kinds"),
            "name": _str(
                "Name of the referent. More info: "
                "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
            ),
            "uid": _str(
                "UID of the referent. More info: "
                "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#uids"
            ),
        },
        required=["apiVersion", "kind", "name", "uid"],
        **{"x-kubernetes-map-type": "atomic"},
    )
    managed_fields_entry = _obj(
        "ManagedFieldsEntry is a workflow-id, a FieldSet and the group version of the resource that the "
        "fieldset applies to.",
        {
            "apiVersion": _str(
                "APIVersion defines the version of this resource that this field set applies to. The format is "
                '"group/version" just like the top-level APIVersion field. It is necessary to track the version '
                "of a field set because it cannot be automatically converted."
            ),
            "fieldsType": _str(
                "FieldsType is the discriminator for the different fields format and version. There is "
                'currently only one possible value: "FieldsV1"'
            ),
            "fieldsV1": refs.field(
                f"{_META}.FieldsV1",
                'FieldsV1 holds the first JSON version format as described in the "FieldsV1" type.',
            ),
            "manager": _str("Manager is an identifier of the workflow managing these fields."),
            "operation": _str(
                "Operation is the type of operation which lead to this ManagedFieldsEntry being created. The "
                "only valid values for this field are 'Apply' and 'Update'."
            ),
            "subresource": _str(
                "Subresource is the name of the subresource used to update that object, or empty string if the "
                "object was updated through the main resource. The value of this field is used to distinguish "
                "between managers, even if they share the same name. For example, a status update will be "
                "distinct from a regular update using the same manager name. Note that the APIVersion field is "
                "not related to the Subresource field and it always corresponds to the version of the main "
                "resource."
            ),
            "time": refs.field(
                _TIME,
                "Time is the timestamp of when the ManagedFields entry was added. The timestamp will also be "
                "updated if a field is added, the manager changes any of the owned fields value or removes a "
                "field. The timestamp does not update when a field is removed from the entry because another "
                "manager took it over.",
            ),
        },
    )
    fields_v1 = {
        "type": "object",
        "description": (
            "FieldsV1 stores a set of fields in a data structure like a Trie, in JSON format.\n\nEach key is "
            "either a '.' representing the field itself, and will always map to an empty set, or a string "
            "representing a sub-field or item. The string will follow one of these four formats: 'f:<name>', "
            "where <name> is the name of a field in a struct, or key in a map 'v:<value>', where <value> is the "
            "exact json formatted value of a list item 'i:<index>', where <index> is position of a item in a "
            "list 'k:<keys>', where <keys> is a map of  a list item's key fields to their unique values If a key "
            "maps to an empty Fields value, the field that key represents is part of the set.\n\nThe exact "
            "format is defined in sigs.k8s.io/structured-merge-diff"
        ),
    }
    time = {
        "type": "string",
        "format": "date-time",
        "description": (
            "Time is a wrapper around time.Time which supports correct marshaling to YAML and JSON.  Wrappers are "
            "provided for many of the factory methods that the time package offers."
        ),
    }
    list_meta = _obj(
        "ListMeta describes metadata that synthetic resources must have, including lists and various status "
        "objects. A resource may have only one of {ObjectMeta, ListMeta}.",
        {
            "continue": _str(
                "continue may be set if the user set a limit on the number of items returned, and indicates that "
                "the server has more data available. The value is opaque and may be used to issue another "
                "request to the endpoint that served this list to retrieve the next set of available objects. "
                "Continuing a consistent list may not be possible if the server configuration has changed or "
                "more than a few minutes have passed. The resourceVersion field returned when using this "
                "continue value will be identical to the value in the first response, unless you have received "
                "this token from an error message."
            ),
            "remainingItemCount": _int(
                "remainingItemCount is the number of subsequent items in the list which are not included in this "
                "list response. If the list request contained label or field selectors, then the number of "
                "remaining items is unknown and the field will be left unset and omitted during serialization. "
                "If the list is complete (either because it is not chunking or because this is the last chunk), "
                "then there are no more remaining items and this field will be left unset and omitted during "
                "serialization. Servers older than v1.15 do not set this field. The intended use of the "
                "remainingItemCount is *estimating* the size of a collection. Clients should not rely on the "
                "remainingItemCount to be set or to be exact."
            ),
            "resourceVersion": _str(
                "String that identifies the server's internal version of this object that can be used by "
                "clients to determine when objects have changed. Value must be treated as opaque by clients and "
                "passed unmodified back to the server. Populated by the system. Read-only. More info: "
                f"{_API_CONVENTIONS}#concurrency-control-and-consistency"
            ),
            "selfLink": _str(d["selfLink"]),
        },
    )
    status = _obj(
        "Status is a return value for calls that don't return other objects.",
        {
            "apiVersion": _str(_API_VERSION_DESC),
            "code": _int("Suggested HTTP return code for this status, 0 if not set.", "int32"),
            "details": refs.field(
                f"{_META}.StatusDetails",
                "Extended data associated with the reason.  Each reason may define its own extended details. "
                "This field is optional and the data returned is not guaranteed to conform to any schema except "
                "that defined by the reason type.",
                **{"x-kubernetes-list-type": "atomic"},
            ),
            "kind": _str(_KIND_DESC),
            "message": _str("A human-readable description of the status of this operation."),
            "metadata": refs.field(_LIST_META, _LIST_METADATA_DESC),
            "reason": _str(
                'A machine-readable description of why this operation is in the "Failure" status. If this '
                "value is empty there is no information available. A Reason clarifies an HTTP status code but "
                "does not override it."
            ),
            "status": _str(
                'Status of the operation. One of: "Success" or "Failure". More info: '
                f"{_API_CONVENTIONS}#spec-and-status"
            ),
        },
        **{_GVK: [_gvk_entry("", "v1", "Status")]},
    )
    status_details = _obj(
        "StatusDetails is a set of additional properties that MAY be set by the server to provide additional "
        "information about a response. The Reason field of a Status object defines what attributes will be "
        "set. Clients must ignore fields that do not match the defined type of each attribute, and should "
        "assume that any attribute may be empty, invalid, or under defined.",
        {
            "causes": refs.array(
                f"{_META}.StatusCause",
                "The Causes array includes more details associated with the StatusReason failure. Not all "
                "StatusReasons may provide detailed causes.",
                **{"x-kubernetes-list-type": "atomic"},
            ),
            "group": _str("The group attribute of the resource associated with the status StatusReason."),
            "kind": _str(
                "The kind attribute of the resource associated with the status StatusReason. On some operations "
                f"may differ from the requested resource Kind. More info: {_API_CONVENTIONS}#types-kinds"
            ),
            "name": _str(
                "The name attribute of the resource associated with the status StatusReason (when there is a "
                "single name which can be described)."
            ),
            "retryAfterSeconds": _int(
                "If specified, the time in seconds before the operation should be retried. Some errors may "
                "indicate the client must take an alternate action - for those errors this field may indicate "
                "how long to wait before taking the alternate action.",
                "int32",
            ),
            "uid": _str(
                "UID of the resource. (when there is a single resource which can be described). More info: "
                "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#uids"
            ),
        },
    )
    status_cause = _obj(
        "StatusCause provides more information about an api.Status failure, including cases when multiple "
        "errors are encountered.",
        {
            "field": _str(
                "The field of the resource that has caused this error, as named by its JSON serialization. May "
                "include dot and postfix notation for nested attributes. Arrays are zero-indexed.  Fields may "
                "appear more than once in an array of causes due to fields having multiple errors. Optional.\n\n"
                'Examples:\n  "name" - the field "name" on the current resource\n  "items[0].name" - the field '
                '"name" on the first array entry in "items"'
            ),
            "message": _str(
                "A human-readable description of the cause of the error.  This field may be presented as-is to a "
                "reader."
            ),
            "reason": _str(
                "A machine-readable description of the cause of the error. If this value is empty there is no "
                "information available."
            ),
        },
    )
    delete_options = _obj(
        "DeleteOptions may be provided when deleting an API object.",
        {
            "apiVersion": _str(_API_VERSION_DESC),
            "dryRun": _str_list(_DRY_RUN_DESC, **{"x-kubernetes-list-type": "atomic"}),
            "gracePeriodSeconds": _int(_GRACE_PERIOD_DESC),
            "kind": _str(_KIND_DESC),
            "preconditions": refs.field(
                f"{_META}.Preconditions",
                "Must be fulfilled before a deletion is carried out. If not possible, a 409 Conflict status will "
                "be returned.",
            ),
            "propagationPolicy": _str(_PROPAGATION_DESC),
        },
    )
    preconditions = _obj(
        "Preconditions must be fulfilled before an operation (update, delete, etc.) is carried out.",
        {
            "resourceVersion": _str("Specifies the target ResourceVersion"),
            "uid": _str("Specifies the target UID."),
        },
    )
    patch = {
        "type": "object",
        "description": "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.",
    }
    watch_event = _obj(
        "Event represents a single event to a watched resource.",
        {
            "object": refs.field(
                "io.k8s.apimachinery.pkg.runtime.RawExtension",
                "Object is:\n * If Type is Added or Modified: the new state of the object.\n * If Type is Deleted: "
                "the state of the object immediately before deletion.\n * If Type is Bookmark: the object (instance "
                "of a type being watched) where\n   only ResourceVersion field is set. On successful restart of "
                "watch from a\n   bookmark resourceVersion, client is guaranteed to not get repeat event\n   nor "
                "miss any events.\n * If Type is Error: *api.Status is recommended; other types may make sense\n   "
                "depending on context.",
            ),
            "type": _str("ADDED, MODIFIED, DELETED, BOOKMARK or ERROR."),
        },
        required=["type", "object"],
    )
    raw_extension = {
        "type": "object",
        "description": "RawExtension is used to hold extensions in external versions.",
    }
    return {
        _OBJECT_META: object_meta,
        f"{_META}.OwnerReference": owner_reference,
        f"{_META}.ManagedFieldsEntry": managed_fields_entry,
        f"{_META}.FieldsV1": fields_v1,
        _TIME: time,
        _LIST_META: list_meta,
        _STATUS: status,
        f"{_META}.StatusDetails": status_details,
        f"{_META}.StatusCause": status_cause,
        _DELETE_OPTIONS: delete_options,
        f"{_META}.Preconditions": preconditions,
        _PATCH: patch,
        _WATCH_EVENT: watch_event,
        "io.k8s.apimachinery.pkg.runtime.RawExtension": raw_extension,
    }


def _scale_schemas(refs: _Refs) -> dict[str, dict[str, Any]]:
    """autoscaling/v1 Scale, served by the /scale subresource."""
    return {
        _SCALE: _obj(
            "Scale represents a scaling request for a resource.",
            {
                "apiVersion": _str(_API_VERSION_DESC),
                "kind": _str(_KIND_DESC),
                "metadata": refs.field(_OBJECT_META, _METADATA_DESC),
                "spec": refs.field(
                    f"{_SCALE}Spec",
                    f"spec defines the behavior of the scale. More info: {_API_CONVENTIONS}#spec-and-status.",
                ),
                "status": refs.field(
                    f"{_SCALE}Status",
                    "status is the current status of the scale. More info: "
                    f"{_API_CONVENTIONS}#spec-and-status. Read-only.",
                ),
            },
            **{_GVK: [_gvk_entry("autoscaling", "v1", "Scale")]},
        ),
        f"{_SCALE}Spec": _obj(
            "ScaleSpec describes the attributes of a scale subresource.",
            {"replicas": _int("replicas is the desired number of instances for the scaled object.", "int32")},
        ),
        f"{_SCALE}Status": _obj(
            "ScaleStatus represents the current status of a scale subresource.",
            {
                "replicas": _int(
                    "replicas is the actual number of observed instances of the scaled object.", "int32"
                ),
                "selector": _str(
                    "selector is the label query over pods that should match the replicas count. This is same as "
                    "the label selector but in the string format to avoid introspection by clients. The string "
                    "will be in the same format as the query-param syntax. More info about label selectors: "
                    "https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/"
                ),
            },
            required=["replicas"],
        ),
    }


# --------------------------------------------------------------------------------------------------
# Built-in kinds without a schema: a few described fields for `kubectl explain`
# --------------------------------------------------------------------------------------------------


def _object_reference(description: str) -> dict[str, Any]:
    return _obj(
        description,
        {
            "apiVersion": _str("API version of the referent."),
            "fieldPath": _str(
                "If referring to a piece of an object instead of an entire object, this string should contain a "
                "valid JSON/Go field access statement, such as desiredState.manifest.containers[2]."
            ),
            "kind": _str(f"Kind of the referent. More info: {_API_CONVENTIONS}#types-kinds"),
            "name": _str("Name of the referent."),
            "namespace": _str("Namespace of the referent."),
            "resourceVersion": _str("Specific resourceVersion to which this reference is made, if any."),
            "uid": _str("UID of the referent."),
        },
        **{"x-kubernetes-map-type": "atomic"},
    )


def _policy_rules() -> dict[str, Any]:
    return {
        "type": "array",
        "description": "Rules holds all the PolicyRules for this Role",
        "items": _obj(
            "PolicyRule holds information that describes a policy rule, but does not contain information about "
            "who the rule applies to or which namespace the rule applies to.",
            {
                "apiGroups": _str_list(
                    "APIGroups is the name of the APIGroup that contains the resources.  If multiple API groups "
                    "are specified, any action requested against one of the enumerated resources in any API group "
                    'will be allowed. "" represents the core API group and "*" represents all API groups.'
                ),
                "nonResourceURLs": _str_list(
                    "NonResourceURLs is a set of partial urls that a user should have access to.  *s are allowed, "
                    "but only as the full, final step in the path. Rules can either apply to API resources (such "
                    'as "pods" or "secrets") or non-resource URL paths (such as "/api"),  but not both.'
                ),
                "resourceNames": _str_list(
                    "ResourceNames is an optional white list of names that the rule applies to.  An empty set "
                    "means that everything is allowed."
                ),
                "resources": _str_list(
                    "Resources is a list of resources this rule applies to. '*' represents all resources."
                ),
                "verbs": _str_list(
                    "Verbs is a list of Verbs that apply to ALL the ResourceKinds contained in this rule. '*' "
                    "represents all verbs."
                ),
            },
            required=["verbs"],
        ),
        "x-kubernetes-list-type": "atomic",
    }


def _binding_fields() -> dict[str, Any]:
    return {
        "roleRef": _obj(
            "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace. If "
            "the RoleRef cannot be resolved, the Authorizer must return an error. This field is immutable.",
            {
                "apiGroup": _str("APIGroup is the group for the resource being referenced"),
                "kind": _str("Kind is the type of resource being referenced"),
                "name": _str("Name is the name of resource being referenced"),
            },
            required=["apiGroup", "kind", "name"],
            **{"x-kubernetes-map-type": "atomic"},
        ),
        "subjects": {
            "type": "array",
            "description": "Subjects holds references to the objects the role applies to.",
            "items": _obj(
                "Subject contains a reference to the object or user identities a role binding applies to.",
                {
                    "apiGroup": _str(
                        'APIGroup holds the API group of the referenced subject. Defaults to "" for '
                        'ServiceAccount subjects. Defaults to "rbac.authorization.k8s.io" for User and Group '
                        "subjects."
                    ),
                    "kind": _str(
                        'Kind of object being referenced. Values defined by this API group are "User", "Group", '
                        'and "ServiceAccount".'
                    ),
                    "name": _str("Name of the object being referenced."),
                    "namespace": _str(
                        "Namespace of the referenced object.  If the object kind is non-namespace, such as "
                        '"User" or "Group", and this value is not empty the Authorizer should report an error.'
                    ),
                },
                required=["kind", "name"],
                **{"x-kubernetes-map-type": "atomic"},
            ),
            "x-kubernetes-list-type": "atomic",
        },
    }


def _spec_status_desc(what: str, kind: str) -> str:
    return f"{what} of the {kind}. More info: {_API_CONVENTIONS}#spec-and-status"


def _builtin_fields(group: str, kind: str) -> tuple[str, dict[str, Any], list[str]]:
    """(description, extra properties, required) for well-known built-in kinds; empty for others."""
    rbac = "rbac.authorization.k8s.io"
    if (group, kind) == ("", "ConfigMap"):
        return (
            "ConfigMap holds configuration data for pods to consume.",
            {
                "binaryData": {
                    "type": "object",
                    "description": (
                        "BinaryData contains the binary data. Each key must consist of alphanumeric characters, "
                        "'-', '_' or '.'. BinaryData can contain byte sequences that are not in the UTF-8 range. "
                        "The keys stored in BinaryData must not overlap with the ones in the Data field, this is "
                        "enforced during validation process."
                    ),
                    "additionalProperties": {"type": "string", "format": "byte"},
                },
                "data": _str_map(
                    "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', "
                    "'_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys "
                    "stored in Data must not overlap with the keys in the BinaryData field, this is enforced "
                    "during validation process."
                ),
                "immutable": _bool(
                    "Immutable, if set to true, ensures that data stored in the ConfigMap cannot be updated (only "
                    "object metadata can be modified). If not set to true, the field can be modified at any time. "
                    "Defaulted to nil."
                ),
            },
            [],
        )
    if (group, kind) == ("", "Secret"):
        return (
            "Secret holds secret data of a certain type. The total bytes of the values in the Data field must be "
            "less than MaxSecretSize bytes.",
            {
                "data": {
                    "type": "object",
                    "description": (
                        "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' "
                        "or '.'. The serialized form of the secret data is a base64 encoded string, representing "
                        "the arbitrary (possibly non-string) data value here. Described in "
                        "https://tools.ietf.org/html/rfc4648#section-4"
                    ),
                    "additionalProperties": {"type": "string", "format": "byte"},
                },
                "immutable": _bool(
                    "Immutable, if set to true, ensures that data stored in the Secret cannot be updated (only "
                    "object metadata can be modified). If not set to true, the field can be modified at any time. "
                    "Defaulted to nil."
                ),
                "stringData": _str_map(
                    "stringData allows specifying non-binary secret data in string form. It is provided as a "
                    "write-only input field for convenience. All keys and values are merged into the data field "
                    "on write, overwriting any existing values. The stringData field is never output when reading "
                    "from the API."
                ),
                "type": _str(
                    "Used to facilitate programmatic handling of secret data. More info: "
                    "https://kubernetes.io/docs/concepts/configuration/secret/#secret-types"
                ),
            },
            [],
        )
    if (group, kind) == ("", "Namespace"):
        return (
            "Namespace provides a scope for Names. Use of multiple namespaces is optional.",
            {
                "spec": _obj(
                    _spec_status_desc("Spec defines the behavior", "Namespace"),
                    {
                        "finalizers": _str_list(
                            "Finalizers is an opaque list of values that must be empty to permanently remove "
                            "object from storage. More info: "
                            "https://kubernetes.io/docs/tasks/administer-cluster/namespaces/",
                            **{"x-kubernetes-list-type": "atomic"},
                        )
                    },
                ),
                "status": _obj(
                    _spec_status_desc("Status describes the current status", "Namespace"),
                    {
                        "conditions": {
                            "type": "array",
                            "description": "Represents the latest available observations of a namespace's "
                            "current state.",
                            "items": _obj(
                                "NamespaceCondition contains details about state of namespace.",
                                {
                                    "lastTransitionTime": _str(
                                        "Last time the condition transitioned from one status to another.",
                                        format="date-time",
                                    ),
                                    "message": _str(
                                        "Human-readable message indicating details about last transition."
                                    ),
                                    "reason": _str(
                                        "Unique, one-word, CamelCase reason for the condition's last transition."
                                    ),
                                    "status": _str("Status of the condition, one of True, False, Unknown."),
                                    "type": _str("Type of namespace controller condition."),
                                },
                                required=["type", "status"],
                            ),
                            "x-kubernetes-list-map-keys": ["type"],
                            "x-kubernetes-list-type": "map",
                            "x-kubernetes-patch-merge-key": "type",
                            "x-kubernetes-patch-strategy": "merge",
                        },
                        "phase": _str(
                            "Phase is the current lifecycle phase of the namespace. More info: "
                            "https://kubernetes.io/docs/tasks/administer-cluster/namespaces/",
                            enum=["Active", "Terminating"],
                        ),
                    },
                ),
            },
            [],
        )
    if (group, kind) == ("coordination.k8s.io", "Lease"):
        return (
            "Lease defines a lease concept.",
            {
                "spec": _obj(
                    f"spec contains the specification of the Lease. More info: {_API_CONVENTIONS}#spec-and-status",
                    {
                        "acquireTime": _str(
                            "acquireTime is a time when the current lease was acquired.", format="date-time"
                        ),
                        "holderIdentity": _str(
                            "holderIdentity contains the identity of the holder of a current lease. If Coordinated "
                            "Leader Election is used, the holder identity must be equal to the elected "
                            "LeaseCandidate.metadata.name field."
                        ),
                        "leaseDurationSeconds": _int(
                            "leaseDurationSeconds is a duration that candidates for a lease need to wait to force "
                            "acquire it. This is measured against the time of last observed renewTime.",
                            "int32",
                        ),
                        "leaseTransitions": _int(
                            "leaseTransitions is the number of transitions of a lease between holders.",
                            "int32",
                        ),
                        "renewTime": _str(
                            "renewTime is a time when the current holder of a lease has last updated the lease.",
                            format="date-time",
                        ),
                    },
                ),
            },
            [],
        )
    if (group, kind) == ("", "Event"):
        return (
            "Event is a report of an event somewhere in the cluster.  Events have a limited retention time and "
            "triggers and messages may evolve with time.  Event consumers should not rely on the timing of an "
            "event with a given Reason reflecting a consistent underlying trigger, or the continued existence of "
            "events with that Reason.  Events should be treated as informative, best-effort, supplemental data.",
            {
                "count": _int("The number of times this event has occurred.", "int32"),
                "firstTimestamp": _str(
                    "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)",
                    format="date-time",
                ),
                "involvedObject": _object_reference("The object that this event is about."),
                "lastTimestamp": _str(
                    "The time at which the most recent occurrence of this event was recorded.",
                    format="date-time",
                ),
                "message": _str("A human-readable description of the status of this operation."),
                "reason": _str(
                    "This should be a short, machine understandable string that gives the reason for the "
                    "transition into the object's current status."
                ),
                "source": _obj(
                    "The component reporting this event. Should be a short machine understandable string.",
                    {
                        "component": _str("Component from which the event is generated."),
                        "host": _str("Node name on which the event is generated."),
                    },
                ),
                "type": _str("Type of this event (Normal, Warning), new types could be added in the future"),
            },
            ["involvedObject"],
        )
    if (group, kind) == ("events.k8s.io", "Event"):
        return (
            "Event is a report of an event somewhere in the cluster. It generally denotes some state change in "
            "the system. Events have a limited retention time and triggers and messages may evolve with time.  "
            "Event consumers should not rely on the timing of an event with a given Reason reflecting a "
            "consistent underlying trigger, or the continued existence of events with that Reason.  Events should "
            "be treated as informative, best-effort, supplemental data.",
            {
                "action": _str(
                    "action is what action was taken/failed regarding to the regarding object. It is "
                    "machine-readable. This field cannot be empty for new Events and it can have at most 128 "
                    "characters."
                ),
                "eventTime": _str(
                    "eventTime is the time when this Event was first observed. It is required.",
                    format="date-time",
                ),
                "note": _str(
                    "note is a human-readable description of the status of this operation. Maximal length of the "
                    "note is 1kB, but libraries should be prepared to handle values up to 64kB."
                ),
                "reason": _str(
                    "reason is why the action was taken. It is human-readable. This field cannot be empty for new "
                    "Events and it can have at most 128 characters."
                ),
                "regarding": _object_reference(
                    "regarding contains the object this Event is about. In most cases it's an Object reporting "
                    "controller implements, e.g. ReplicaSetController implements ReplicaSets and this event is "
                    "emitted because it acts on some changes in a ReplicaSet object."
                ),
                "reportingController": _str(
                    "reportingController is the name of the controller that emitted this Event, e.g. "
                    "`kubernetes.io/kubelet`. This field cannot be empty for new Events."
                ),
                "type": _str(
                    "type is the type of this event (Normal, Warning), new types could be added in the future. It "
                    "is machine-readable. This field cannot be empty for new Events."
                ),
            },
            ["eventTime"],
        )
    if (group, kind) == ("", "ServiceAccount"):
        return (
            "ServiceAccount binds together: * a name, understood by users, and perhaps by peripheral systems, for "
            "an identity * a principal that can be authenticated and authorized * a set of secrets",
            {
                "automountServiceAccountToken": _bool(
                    "AutomountServiceAccountToken indicates whether pods running as this service account should "
                    "have an API token automatically mounted. Can be overridden at the pod level."
                ),
                "imagePullSecrets": {
                    "type": "array",
                    "description": (
                        "ImagePullSecrets is a list of references to secrets in the same namespace to use for "
                        "pulling any images in pods that reference this ServiceAccount."
                    ),
                    "items": _obj(
                        "LocalObjectReference contains enough information to let you locate the referenced "
                        "object inside the same namespace.",
                        {"name": _str("Name of the referent.")},
                        **{"x-kubernetes-map-type": "atomic"},
                    ),
                    "x-kubernetes-list-type": "atomic",
                },
                "secrets": {
                    "type": "array",
                    "description": (
                        "Secrets is a list of the secrets in the same namespace that pods running using this "
                        "ServiceAccount are allowed to use. Pods are only limited to this list if this service "
                        'account has a "kubernetes.io/enforce-mountable-secrets" annotation set to "true". More '
                        "info: https://kubernetes.io/docs/concepts/configuration/secret"
                    ),
                    "items": _object_reference(
                        "ObjectReference contains enough information to let you inspect or modify the referred "
                        "object."
                    ),
                    "x-kubernetes-list-map-keys": ["name"],
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-patch-merge-key": "name",
                    "x-kubernetes-patch-strategy": "merge",
                },
            },
            [],
        )
    if (group, kind) == (rbac, "Role"):
        return (
            "Role is a namespaced, logical grouping of PolicyRules that can be referenced as a unit by a "
            "RoleBinding.",
            {"rules": _policy_rules()},
            [],
        )
    if (group, kind) == (rbac, "ClusterRole"):
        return (
            "ClusterRole is a cluster level, logical grouping of PolicyRules that can be referenced as a unit by "
            "a RoleBinding or ClusterRoleBinding.",
            {
                "aggregationRule": _obj(
                    "AggregationRule is an optional field that describes how to build the Rules for this "
                    "ClusterRole. If AggregationRule is set, then the Rules are controller managed and direct "
                    "changes to Rules will be stomped by the controller.",
                    {
                        "clusterRoleSelectors": {
                            "type": "array",
                            "description": (
                                "ClusterRoleSelectors holds a list of selectors which will be used to find "
                                "ClusterRoles and create the rules. If any of the selectors match, then the "
                                "ClusterRole's permissions will be added"
                            ),
                            "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                            "x-kubernetes-list-type": "atomic",
                        }
                    },
                ),
                "rules": _policy_rules(),
            },
            [],
        )
    if (group, kind) == (rbac, "RoleBinding"):
        return (
            "RoleBinding references a role, but does not contain it.  It can reference a Role in the same "
            "namespace or a ClusterRole in the global namespace. It adds who information via Subjects and "
            "namespace information by which namespace it exists in.  RoleBindings in a given namespace only have "
            "effect in that namespace.",
            _binding_fields(),
            ["roleRef"],
        )
    if (group, kind) == (rbac, "ClusterRoleBinding"):
        return (
            "ClusterRoleBinding references a ClusterRole, but not contain it.  It can reference a ClusterRole in "
            "the global namespace, and adds who information via Subject.",
            _binding_fields(),
            ["roleRef"],
        )
    return "", {}, []


# --------------------------------------------------------------------------------------------------
# Kind schemas
# --------------------------------------------------------------------------------------------------


def _kind_schema(res: ResourceInfo, refs: _Refs) -> dict[str, Any]:
    """The component/definition of a kind, from its CRD schema or a free-form built-in one."""
    if res.schema is not None:
        schema = _copy(res.schema) if refs.v3 else _schema_to_v2(res.schema)
        schema.setdefault("type", "object")
        if not schema.get("description") and res.description:
            schema["description"] = res.description
    else:
        description, fields, required = _builtin_fields(res.group, res.kind)
        schema = {"type": "object", "description": res.description or description}
        if fields:
            schema["properties"] = fields if refs.v3 else _schema_to_v2({"properties": fields})["properties"]
        if required:
            schema["required"] = required
        schema["x-kubernetes-preserve-unknown-fields"] = True
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        properties = schema["properties"] = {}
    properties["apiVersion"] = _str(_API_VERSION_DESC)
    properties["kind"] = _str(_KIND_DESC)
    properties["metadata"] = refs.field(_OBJECT_META, _METADATA_DESC)
    schema[_GVK] = [_gvk_entry(res.group, res.version, res.kind)]
    return schema


def _list_schema(res: ResourceInfo, refs: _Refs) -> dict[str, Any]:
    kind = res.list_kind_name
    return {
        "type": "object",
        "description": f"{kind} is a list of {res.kind}",
        "required": ["items"],
        "properties": {
            "apiVersion": _str(_API_VERSION_DESC),
            "items": refs.array(
                definition_name(res.group, res.version, res.kind),
                f"List of {res.plural}. More info: https://git.k8s.io/community/contributors/devel/api-conventions.md",
            ),
            "kind": _str(_KIND_DESC),
            "metadata": refs.field(_LIST_META, _LIST_METADATA_DESC),
        },
        _GVK: [_gvk_entry(res.group, res.version, kind)],
    }


# --------------------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------------------

_FIELD_MANAGER_DESC = (
    "fieldManager is a name associated with the actor or entity that is making these changes. The value must be "
    "less than or 128 characters long, and only contain printable characters, as defined by "
    "https://golang.org/pkg/unicode/#IsPrint."
)

# key -> (name, type, description)
_PARAMS: dict[str, tuple[str, str, str]] = {
    "pretty": (
        "pretty",
        "string",
        "If 'true', then the output is pretty printed. Defaults to 'false' unless the user-agent indicates a "
        "browser or command-line HTTP tool (curl and wget).",
    ),
    "dryRun": ("dryRun", "string", _DRY_RUN_DESC),
    "fieldManager": ("fieldManager", "string", _FIELD_MANAGER_DESC),
    "fieldManagerPatch": (
        "fieldManager",
        "string",
        _FIELD_MANAGER_DESC
        + " This field is required for apply requests (application/apply-patch) but optional "
        "for non-apply patch types (JsonPatch, MergePatch, StrategicMergePatch).",
    ),
    "fieldValidation": (
        "fieldValidation",
        "string",
        "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) "
        "containing unknown or duplicate fields. Valid values are: - Ignore: This will ignore any unknown fields "
        "that are silently dropped from the object, and will ignore all but the last duplicate field that the "
        "decoder encounters. This is the default behavior prior to v1.23. - Warn: This will send a warning via "
        "the standard warning response header for each unknown field that is dropped from the object, and for "
        "each duplicate field that is encountered. The request will still succeed if there are no other errors, "
        "and will only persist the last of any duplicate fields. This is the default in v1.23+ - Strict: This "
        "will fail the request with a BadRequest error if any unknown fields would be dropped from the object, or "
        "if any duplicate fields are present. The error returned from the server will contain all unknown and "
        "duplicate fields encountered.",
    ),
    "force": (
        "force",
        "boolean",
        'Force is going to "force" Apply requests. It means user will re-acquire conflicting fields owned by '
        "other people. Force flag must be unset for non-apply patch requests.",
    ),
    "gracePeriodSeconds": ("gracePeriodSeconds", "integer", _GRACE_PERIOD_DESC),
    "propagationPolicy": ("propagationPolicy", "string", _PROPAGATION_DESC),
    "allowWatchBookmarks": (
        "allowWatchBookmarks",
        "boolean",
        'allowWatchBookmarks requests watch events with type "BOOKMARK". Servers that do not implement '
        "bookmarks may ignore this flag and bookmarks are sent at the server's discretion. Clients should not "
        "assume bookmarks are returned at any specific interval, nor may they assume the server will send any "
        "BOOKMARK event during a session. If this is not a watch, this field is ignored.",
    ),
    "continue": (
        "continue",
        "string",
        "The continue option should be set when retrieving more results from the server. Since this value is "
        "server defined, clients may only use the continue value from a previous query result with identical "
        "query parameters (except for the value of continue) and the server may reject a continue value it does "
        "not recognize. If the specified continue value is no longer valid whether due to expiration (generally "
        "five to fifteen minutes) or a configuration change on the server, the server will respond with a 410 "
        "ResourceExpired error together with a continue token. If the client needs a consistent list, it must "
        "restart their list without the continue field. Otherwise, the client may send another list request "
        "with the token received with the 410 error, the server will respond with a list starting from the next "
        "key, but from the latest snapshot, which is inconsistent from the previous list results - objects that "
        "are created, modified, or deleted after the first list request will be included in the response, as "
        'long as their keys are after the "next key".\n\nThis field is not supported when watch is true. '
        "Clients may start a watch from the last resourceVersion value returned by the server and not miss any "
        "modifications.",
    ),
    "fieldSelector": (
        "fieldSelector",
        "string",
        "A selector to restrict the list of returned objects by their fields. Defaults to everything.",
    ),
    "labelSelector": (
        "labelSelector",
        "string",
        "A selector to restrict the list of returned objects by their labels. Defaults to everything.",
    ),
    "limit": (
        "limit",
        "integer",
        "limit is a maximum number of responses to return for a list call. If more items exist, the server will "
        "set the `continue` field on the list metadata to a value that can be used with the same initial query "
        "to retrieve the next set of results. Setting a limit may return fewer than the requested amount of "
        "items (up to zero items) in the event all requested objects are filtered out and clients should only "
        "use the presence of the continue field to determine whether more results are available. Servers may "
        "choose not to support the limit argument and will return all of the available results. If limit is "
        "specified and the continue field is empty, clients may assume that no more results are available. This "
        "field is not supported if watch is true.\n\nThe server guarantees that the objects returned when using "
        "continue will be identical to issuing a single list call without a limit - that is, no objects "
        "created, modified, or deleted after the first request is issued will be included in any subsequent "
        "continued requests. This is sometimes referred to as a consistent snapshot, and ensures that a client "
        "that is using limit to receive smaller chunks of a very large result can ensure they see all possible "
        "objects. If objects are updated during a chunked list the version of the object that was present at "
        "the time the first list result was calculated is returned.",
    ),
    "resourceVersion": (
        "resourceVersion",
        "string",
        "resourceVersion sets a constraint on what resource versions a request may be served from. See "
        "https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions for details.\n\n"
        "Defaults to unset",
    ),
    "resourceVersionMatch": (
        "resourceVersionMatch",
        "string",
        "resourceVersionMatch determines how resourceVersion is applied to list calls. It is highly recommended "
        "that resourceVersionMatch be set for list calls where resourceVersion is set See "
        "https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions for details.\n\n"
        "Defaults to unset",
    ),
    "sendInitialEvents": (
        "sendInitialEvents",
        "boolean",
        "`sendInitialEvents=true` may be set together with `watch=true`. In that case, the watch stream will "
        "begin with synthetic events to produce the current state of objects in the collection. Once all such "
        'events have been sent, a synthetic "Bookmark" event  will be sent. The bookmark will report the '
        "ResourceVersion (RV) corresponding to the set of objects, and be marked with "
        '`"k8s.io/initial-events-end": "true"` annotation. Afterwards, the watch stream will proceed as usual, '
        "sending watch events corresponding to changes (subsequent to the RV) to objects watched.\n\nWhen "
        "`sendInitialEvents` option is set, we require `resourceVersionMatch` option to also be set. The "
        "semantic of the watch request is as following: - `resourceVersionMatch` = NotOlderThan\n  is "
        'interpreted as "data at least as new as the provided `resourceVersion`"\n  and the bookmark event is '
        "send when the state is synced\n  to a `resourceVersion` at least as fresh as the one provided by the "
        'ListOptions.\n  If `resourceVersion` is unset, this is interpreted as "consistent read" and the\n  '
        "bookmark event is send when the state is synced at least to the moment\n  when request started being "
        "processed.\n- `resourceVersionMatch` set to any other value or unset\n  Invalid error is returned.\n\n"
        'Defaults to true if `resourceVersion=""` or `resourceVersion="0"` (for backward compatibility reasons) '
        "and to false otherwise.",
    ),
    "timeoutSeconds": (
        "timeoutSeconds",
        "integer",
        "Timeout for the list/watch call. This limits the duration of the call, regardless of any activity or "
        "inactivity.",
    ),
    "watch": (
        "watch",
        "boolean",
        "Watch for changes to the described resources and return them as a stream of add, update, and remove "
        "notifications. Specify resourceVersion.",
    ),
}

_LIST_PARAMS = (
    "allowWatchBookmarks",
    "continue",
    "fieldSelector",
    "labelSelector",
    "limit",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds",
    "watch",
)
_WRITE_PARAMS = ("dryRun", "fieldManager", "fieldValidation")
_PATCH_PARAMS = ("dryRun", "fieldManagerPatch", "fieldValidation", "force")
_DELETE_PARAMS = ("dryRun", "gracePeriodSeconds", "propagationPolicy")
_DELETE_COLLECTION_PARAMS = (
    "continue",
    "dryRun",
    "fieldSelector",
    "gracePeriodSeconds",
    "labelSelector",
    "limit",
    "propagationPolicy",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds",
)


# Parameters published once (`components.parameters` / `parameters`) and used by $ref, which keeps the
# documents several times smaller. The write parameters (dryRun, fieldManager, fieldValidation, force)
# stay inline: kubectl finds `fieldValidation` by name among a PATCH operation's own parameters and
# does not resolve $refs there.
_SHARED_PARAMS = frozenset(
    {
        "allowWatchBookmarks",
        "continue",
        "fieldSelector",
        "gracePeriodSeconds",
        "labelSelector",
        "limit",
        "pretty",
        "propagationPolicy",
        "resourceVersion",
        "resourceVersionMatch",
        "sendInitialEvents",
        "timeoutSeconds",
        "watch",
    }
)


def _shared_params(v3: bool) -> dict[str, dict[str, Any]]:
    return {key: _query_param(key, v3) for key in sorted(_SHARED_PARAMS)}


def _query_param(key: str, v3: bool) -> dict[str, Any]:
    name, typ, description = _PARAMS[key]
    if v3:
        return {
            "name": name,
            "in": "query",
            "description": description,
            "schema": {"type": typ, "uniqueItems": True},
        }
    return {"name": name, "in": "query", "description": description, "type": typ, "uniqueItems": True}


def _path_param(name: str, description: str, v3: bool) -> dict[str, Any]:
    if v3:
        return {
            "name": name,
            "in": "path",
            "description": description,
            "required": True,
            "schema": {"type": "string", "uniqueItems": True},
        }
    return {
        "name": name,
        "in": "path",
        "description": description,
        "required": True,
        "type": "string",
        "uniqueItems": True,
    }


# --------------------------------------------------------------------------------------------------
# Operations and paths
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _OpKind:
    """How one kind of operation looks, whatever the resource.

    Templates use {ident} (group and version as in operation ids), {scope} ("Namespaced" or ""),
    {kind}, {sub} (the capitalised subresource) and {of} ("status of " for the status subresource).
    """

    method: str  # get, put, post, patch, delete
    action: str  # x-kubernetes-action
    op_id: str
    description: str
    params: tuple[str, ...]
    codes: tuple[str, ...]  # success status codes
    response: str  # what those return: object, list, status or watch
    body: str = ""  # request body: "", object, patch or delete


_WATCH_NOTE = "deprecated: use the 'watch' parameter with a list operation instead"

_OP_KINDS: dict[str, _OpKind] = {
    "list": _OpKind(
        "get",
        "list",
        "list{ident}{scope}{kind}",
        "list or watch objects of kind {kind}",
        _LIST_PARAMS,
        ("200",),
        "list",
    ),
    "listAll": _OpKind(
        "get",
        "list",
        "list{ident}{kind}ForAllNamespaces",
        "list or watch objects of kind {kind}",
        _LIST_PARAMS,
        ("200",),
        "list",
    ),
    "create": _OpKind(
        "post",
        "post",
        "create{ident}{scope}{kind}",
        "create a {kind}",
        _WRITE_PARAMS,
        ("200", "201", "202"),
        "object",
        "object",
    ),
    "deletecollection": _OpKind(
        "delete",
        "deletecollection",
        "delete{ident}Collection{scope}{kind}",
        "delete collection of {kind}",
        _DELETE_COLLECTION_PARAMS,
        ("200",),
        "status",
        "delete",
    ),
    "read": _OpKind(
        "get", "get", "read{ident}{scope}{kind}{sub}", "read {of}the specified {kind}", (), ("200",), "object"
    ),
    "replace": _OpKind(
        "put",
        "put",
        "replace{ident}{scope}{kind}{sub}",
        "replace {of}the specified {kind}",
        _WRITE_PARAMS,
        ("200", "201"),
        "object",
        "object",
    ),
    "patch": _OpKind(
        "patch",
        "patch",
        "patch{ident}{scope}{kind}{sub}",
        "partially update {of}the specified {kind}",
        _PATCH_PARAMS,
        ("200", "201"),
        "object",
        "patch",
    ),
    "delete": _OpKind(
        "delete",
        "delete",
        "delete{ident}{scope}{kind}",
        "delete a {kind}",
        _DELETE_PARAMS,
        ("200", "202"),
        "status",
        "delete",
    ),
    "watchlist": _OpKind(
        "get",
        "watchlist",
        "watch{ident}{scope}{kind}List",
        "watch individual changes to a list of {kind}. " + _WATCH_NOTE + ".",
        _LIST_PARAMS,
        ("200",),
        "watch",
    ),
    "watchlistAll": _OpKind(
        "get",
        "watchlist",
        "watch{ident}{kind}ListForAllNamespaces",
        "watch individual changes to a list of {kind}. " + _WATCH_NOTE + ".",
        _LIST_PARAMS,
        ("200",),
        "watch",
    ),
    "watch": _OpKind(
        "get",
        "watch",
        "watch{ident}{scope}{kind}",
        "watch changes to an object of kind {kind}. "
        + _WATCH_NOTE
        + ", filtered to a single item with the 'fieldSelector' parameter.",
        _LIST_PARAMS,
        ("200",),
        "watch",
    ),
}

_RESPONSE_TEXT = {"200": "OK", "201": "Created", "202": "Accepted"}
_RESPONSE_MEDIA = {"list": _LIST_MEDIA, "watch": _WATCH_MEDIA}

# (path template, has {name}, ((verb it needs, operation kind), ...)). Path templates use {prefix} (/api/v1 or
# /apis/<group>/<version>), {ns} ("/namespaces/{namespace}" or "") and {plural}; the verb "" means always.
_Layout = tuple[str, bool, tuple[tuple[str, str], ...]]
_MAIN_LAYOUT: tuple[_Layout, ...] = (
    (
        "{prefix}{ns}/{plural}",
        False,
        (("list", "list"), ("create", "create"), ("deletecollection", "deletecollection")),
    ),
    (
        "{prefix}{ns}/{plural}/{{name}}",
        True,
        (("get", "read"), ("update", "replace"), ("patch", "patch"), ("delete", "delete")),
    ),
    ("{prefix}/watch{ns}/{plural}", False, (("watch", "watchlist"),)),
    ("{prefix}/watch{ns}/{plural}/{{name}}", True, (("watch", "watch"),)),
)
# Lists and watches across all namespaces, for namespaced resources only.
_ALL_NAMESPACES_LAYOUT: tuple[_Layout, ...] = (
    ("{prefix}/{plural}", False, (("list", "listAll"),)),
    ("{prefix}/watch/{plural}", False, (("watch", "watchlistAll"),)),
)
_SUBRESOURCE_OPS: dict[str, tuple[str, ...]] = {
    "status": ("read", "replace", "patch"),
    "scale": ("read", "replace", "patch"),
    "finalize": ("replace",),
}


class _PathBuilder:
    """Renders the operations of one resource into one flavour of document."""

    def __init__(self, res: ResourceInfo, refs: _Refs) -> None:
        self.res = res
        self.refs = refs
        self.kind_def = definition_name(res.group, res.version, res.kind)
        self.list_def = definition_name(res.group, res.version, res.list_kind_name)
        self.tag = _group_tag(res.group, res.version)
        self.names = {
            "ident": _group_id(res.group) + _camel(res.version),
            "scope": "Namespaced" if res.namespaced else "",
            "kind": res.kind,
        }
        media: tuple[str, ...] = (_APPLY_PATCH, _JSON_PATCH, _MERGE_PATCH)
        if res.crd_name is None and res.schema is not None:
            media = (*media, _SMP)
        self.patch_media = media

    def operation(self, op: _OpKind, sub: str) -> dict[str, Any]:
        refs, v3 = self.refs, self.refs.v3
        names = {**self.names, "sub": sub.capitalize(), "of": f"{sub} of " if sub else ""}
        object_def, gvk = self.kind_def, _gvk_entry(self.res.group, self.res.version, self.res.kind)
        if sub == "scale":
            object_def, gvk = _SCALE, _gvk_entry("autoscaling", "v1", "Scale")
        response_def = {"object": object_def, "list": self.list_def, "status": _STATUS, "watch": _WATCH_EVENT}
        response_media = _RESPONSE_MEDIA.get(op.response, _OBJECT_MEDIA)
        body_def = {"object": object_def, "patch": _PATCH, "delete": _DELETE_OPTIONS}.get(op.body, "")
        body_media = self.patch_media if op.body == "patch" else _OBJECT_MEDIA

        out: dict[str, Any] = {
            "tags": [self.tag],
            "description": op.description.format(**names),
            "operationId": op.op_id.format(**names),
        }
        if not v3:
            out["consumes"] = list(body_media) if op.body == "patch" else ["*/*"]
            out["produces"] = list(response_media)
            out["schemes"] = ["https"]
        params = [refs.param(key) for key in op.params]
        if body_def:
            required = op.body != "delete"
            if v3:
                content = {m: {"schema": refs.ref(body_def)} for m in body_media}
                out["requestBody"] = {"content": content, "required": required}
            else:
                params.insert(
                    0, {"name": "body", "in": "body", "required": required, "schema": refs.ref(body_def)}
                )
        if params:
            out["parameters"] = params
        responses: dict[str, Any] = {}
        for code in op.codes:
            schema = refs.ref(response_def[op.response])
            if v3:
                content = {m: {"schema": dict(schema)} for m in response_media}
                responses[code] = {"description": _RESPONSE_TEXT[code], "content": content}
            else:
                responses[code] = {"description": _RESPONSE_TEXT[code], "schema": schema}
        responses["401"] = {"description": "Unauthorized"}
        out["responses"] = responses
        out["x-kubernetes-action"] = op.action
        # A single object here (a list on schemas), as kube-apiserver publishes it.
        out[_GVK] = {"group": gvk["group"], "version": gvk["version"], "kind": gvk["kind"]}
        return out

    def path_item(
        self, ops: list[tuple[_OpKind, str]], with_name: bool, with_namespace: bool
    ) -> dict[str, Any]:
        v3 = self.refs.v3
        item: dict[str, Any] = {op.method: self.operation(op, sub) for op, sub in ops}
        params = []
        if with_name:
            params.append(_path_param("name", f"name of the {self.res.kind}", v3))
        if with_namespace:
            params.append(
                _path_param("namespace", "object name and auth scope, such as for teams and projects", v3)
            )
        params.append(self.refs.param("pretty"))
        item["parameters"] = params
        return item


def _resource_paths(res: ResourceInfo, refs: _Refs) -> dict[str, dict[str, Any]]:
    """All paths of one resource: collection, item, all-namespaces list, watches and subresources."""
    builder = _PathBuilder(res, refs)
    verbs = frozenset(res.verbs)
    fill = {
        "prefix": f"/apis/{res.group}/{res.version}" if res.group else f"/api/{res.version}",
        "ns": "/namespaces/{namespace}" if res.namespaced else "",
        "plural": res.plural,
    }
    paths: dict[str, dict[str, Any]] = {}

    def add(template: str, with_name: bool, with_namespace: bool, ops: list[tuple[_OpKind, str]]) -> None:
        if ops:
            path = template.format(**fill)
            paths[path] = builder.path_item(ops, with_name, with_namespace)

    for template, with_name, wanted in _MAIN_LAYOUT:
        ops = [(_OP_KINDS[op], "") for verb, op in wanted if verb in verbs]
        add(template, with_name, res.namespaced, ops)
    if res.namespaced:
        for template, with_name, wanted in _ALL_NAMESPACES_LAYOUT:
            add(template, with_name, False, [(_OP_KINDS[op], "") for verb, op in wanted if verb in verbs])
    item_template = "{prefix}{ns}/{plural}/{{name}}"
    for sub, op_names in _SUBRESOURCE_OPS.items():
        if sub in res.subresources:
            add(f"{item_template}/{sub}", True, res.namespaced, [(_OP_KINDS[op], sub) for op in op_names])
    return paths


def _schemas_for(resources: list[ResourceInfo], refs: _Refs) -> dict[str, dict[str, Any]]:
    schemas = _meta_schemas(refs)
    if any("scale" in res.subresources for res in resources):
        schemas.update(_scale_schemas(refs))
    for res in resources:
        schemas[definition_name(res.group, res.version, res.kind)] = _kind_schema(res, refs)
        schemas[definition_name(res.group, res.version, res.list_kind_name)] = _list_schema(res, refs)
    return schemas


def _paths_for(resources: list[ResourceInfo], refs: _Refs) -> dict[str, dict[str, Any]]:
    paths: dict[str, dict[str, Any]] = {}
    for res in resources:
        paths.update(_resource_paths(res, refs))
    return dict(sorted(paths.items()))


def _info() -> dict[str, str]:
    return {"title": "Kubernetes", "version": KUBE_VERSION}


# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------


def build_v2(resources: Iterable[ResourceInfo]) -> dict[str, Any]:
    """The Swagger 2.0 document served at /openapi/v2, covering every resource."""
    items = list(resources)
    refs = _Refs(v3=False)
    return {
        "swagger": "2.0",
        "info": _info(),
        "paths": _paths_for(items, refs),
        "definitions": _schemas_for(items, refs),
        "parameters": _shared_params(v3=False),
        "securityDefinitions": {
            "BearerToken": {
                "type": "apiKey",
                "name": "authorization",
                "in": "header",
                "description": "Bearer Token authentication",
            }
        },
        "security": [{"BearerToken": []}],
    }


def build_v3(resources: Iterable[ResourceInfo]) -> dict[str, dict[str, Any]]:
    """One OpenAPI 3.0 document per group version, keyed `api/v1` or `apis/<group>/<version>`."""
    by_gv: dict[str, list[ResourceInfo]] = {}
    for res in resources:
        by_gv.setdefault(_doc_key(res.group, res.version), []).append(res)
    refs = _Refs(v3=True)
    docs: dict[str, dict[str, Any]] = {}
    for key in sorted(by_gv):
        items = by_gv[key]
        docs[key] = {
            "openapi": "3.0.0",
            "info": _info(),
            "paths": _paths_for(items, refs),
            "components": {
                "schemas": _schemas_for(items, refs),
                "parameters": _shared_params(v3=True),
                "securitySchemes": {
                    "BearerToken": {
                        "type": "apiKey",
                        "description": "Bearer Token authentication",
                        "name": "authorization",
                        "in": "header",
                    }
                },
            },
            "security": [{"BearerToken": []}],
        }
    return docs


def _hash(doc: dict[str, Any]) -> str:
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha512(canonical.encode("utf-8")).hexdigest().upper()


def v3_index(docs: dict[str, dict[str, Any]]) -> tuple[dict[str, Any], dict[str, str]]:
    """The /openapi/v3 discovery document and the hash of each group-version document.

    The hash (upper-case hex SHA-512 of the canonical JSON, as kube-apiserver does) is part of
    each `serverRelativeURL`, so clients re-fetch a document exactly when it changes.
    """
    hashes = {key: _hash(docs[key]) for key in sorted(docs)}
    index = {
        "paths": {
            key: {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest}"} for key, digest in hashes.items()
        }
    }
    return index, hashes

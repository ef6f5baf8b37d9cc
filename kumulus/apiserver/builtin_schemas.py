"""Validation of the built-in kinds whose fields clients commonly get wrong.

kube-apiserver decodes built-ins into Go types, so a ConfigMap value that is not a string is rejected.
Here built-ins are stored generically; these partial structural schemas give the same rejection (with
the field named) without pruning anything: every level keeps unknown fields.
"""

from __future__ import annotations

from typing import Any

_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_BYTES_MAP = {"type": "object", "additionalProperties": {"type": "string", "format": "byte"}}
_KEEP = "x-kubernetes-preserve-unknown-fields"


def _obj(**props: Any) -> dict[str, Any]:
    return {"type": "object", _KEEP: True, "properties": props}


_OBJECT_REFERENCE = _obj(
    kind={"type": "string"},
    namespace={"type": "string"},
    name={"type": "string"},
    uid={"type": "string"},
    apiVersion={"type": "string"},
    resourceVersion={"type": "string"},
    fieldPath={"type": "string"},
)
_POLICY_RULES = {
    "type": "array",
    "items": _obj(
        verbs={"type": "array", "items": {"type": "string"}},
        apiGroups={"type": "array", "items": {"type": "string"}},
        resources={"type": "array", "items": {"type": "string"}},
        resourceNames={"type": "array", "items": {"type": "string"}},
        nonResourceURLs={"type": "array", "items": {"type": "string"}},
    ),
}
_SUBJECTS = {
    "type": "array",
    "items": {
        **_obj(
            kind={"type": "string"},
            apiGroup={"type": "string"},
            name={"type": "string"},
            namespace={"type": "string"},
        ),
        "required": ["kind", "name"],
    },
}
_ROLE_REF = {
    **_obj(apiGroup={"type": "string"}, kind={"type": "string"}, name={"type": "string"}),
    "required": ["kind", "name"],
}

SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {
    ("", "configmaps"): _obj(data=_STRING_MAP, binaryData=_BYTES_MAP, immutable={"type": "boolean"}),
    ("", "secrets"): _obj(
        data=_BYTES_MAP, stringData=_STRING_MAP, type={"type": "string"}, immutable={"type": "boolean"}
    ),
    ("", "events"): _obj(
        involvedObject=_OBJECT_REFERENCE,
        reason={"type": "string"},
        message={"type": "string"},
        type={"type": "string"},
        count={"type": "integer"},
        source=_obj(component={"type": "string"}, host={"type": "string"}),
    ),
    ("coordination.k8s.io", "leases"): _obj(
        spec=_obj(
            holderIdentity={"type": "string"},
            leaseDurationSeconds={"type": "integer"},
            acquireTime={"type": "string", "format": "date-time"},
            renewTime={"type": "string", "format": "date-time"},
            leaseTransitions={"type": "integer"},
        )
    ),
    ("rbac.authorization.k8s.io", "roles"): _obj(rules=_POLICY_RULES),
    ("rbac.authorization.k8s.io", "clusterroles"): _obj(rules=_POLICY_RULES),
    ("rbac.authorization.k8s.io", "rolebindings"): {
        **_obj(subjects=_SUBJECTS, roleRef=_ROLE_REF),
        "required": ["roleRef"],
    },
    ("rbac.authorization.k8s.io", "clusterrolebindings"): {
        **_obj(subjects=_SUBJECTS, roleRef=_ROLE_REF),
        "required": ["roleRef"],
    },
}


def schema_for(group: str, plural: str) -> dict[str, Any] | None:
    return SCHEMAS.get((group, plural))


_STR = {"type": "string"}
_STR_LIST = {"type": "array", "items": _STR}
_CRD_NAMES = _obj(
    plural=_STR, singular=_STR, kind=_STR, listKind=_STR, shortNames=_STR_LIST, categories=_STR_LIST
)
_CRD_VERSION = {
    **_obj(
        name=_STR,
        served={"type": "boolean"},
        storage={"type": "boolean"},
        deprecated={"type": "boolean"},
        deprecationWarning=_STR,
        schema=_obj(openAPIV3Schema={"type": "object", _KEEP: True}),
        subresources=_obj(
            status={"type": "object", _KEEP: True},
            scale=_obj(specReplicasPath=_STR, statusReplicasPath=_STR, labelSelectorPath=_STR),
        ),
        additionalPrinterColumns={
            "type": "array",
            "items": {
                **_obj(
                    name=_STR,
                    type=_STR,
                    format=_STR,
                    description=_STR,
                    priority={"type": "integer"},
                    jsonPath=_STR,
                ),
                "required": ["name", "type", "jsonPath"],
            },
        },
        selectableFields={"type": "array", "items": {**_obj(jsonPath=_STR), "required": ["jsonPath"]}},
    ),
    "required": ["name", "served", "storage"],
}
SCHEMAS[("apiextensions.k8s.io", "customresourcedefinitions")] = {
    **_obj(
        spec={
            **_obj(
                group=_STR,
                scope=_STR,
                names={**_CRD_NAMES, "required": ["plural", "kind"]},
                versions={"type": "array", "items": _CRD_VERSION},
                conversion=_obj(strategy=_STR),
                preserveUnknownFields={"type": "boolean"},
            ),
            "required": ["group", "names", "scope", "versions"],
        },
        status=_obj(storedVersions=_STR_LIST, acceptedNames=_CRD_NAMES),
    ),
    "required": ["spec"],
}

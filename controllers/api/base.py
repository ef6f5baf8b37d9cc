"""Building blocks shared by every Kumulus API group: the model base, references, conditions, types.

Models are the single source of truth for the API: the CRD schemas in crds/ are generated from them
(`controllers.crdgen`), and the operators and hostd parse objects with them. Field names are camelCase
on the wire; every field has a description, which `kubectl explain` shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic.alias_generators import to_camel

GROUP_SUFFIX = "kumulus.dev"
VERSION = "v1alpha1"
CATEGORY = "kumulus"
INTERNAL_CATEGORY = "kumulus-internal"
"""The category of internal kinds (written by controllers only), kept out of `kubectl get kumulus`."""

# -- scalar types with Kubernetes formats (validated by the API server from the generated schema) --------

NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
ResourceName = Annotated[
    str,
    Field(min_length=1, max_length=253, pattern=NAME_PATTERN),
]
"""The name of another object (a DNS subdomain, as Kubernetes names are)."""

IPAddress = Annotated[
    str,
    WithJsonSchema({"type": "string", "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]}),
]
"""An IPv4 or IPv6 address."""

CIDR = Annotated[str, WithJsonSchema({"type": "string", "format": "cidr"})]
"""An IPv4 or IPv6 network in CIDR notation, e.g. 10.0.0.0/24."""

MACAddress = Annotated[str, WithJsonSchema({"type": "string", "format": "mac"})]
"""A MAC address such as fa:16:3e:00:00:01."""

PortNumber = Annotated[int, Field(ge=1, le=65535)]
"""A TCP or UDP port, 1 to 65535."""


class KumulusModel(BaseModel):
    """Base of every spec and status: camelCase on the wire, unknown fields rejected when parsing."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        use_enum_values=True,
        validate_default=True,
    )


class ConditionStatus(StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class Condition(KumulusModel):
    """An observation of one aspect of the object's state, following Kubernetes API conventions."""

    type: str = Field(
        description="Type of the condition, in CamelCase, e.g. Ready or Scheduled.", max_length=316
    )
    status: ConditionStatus = Field(description="Status of the condition: True, False or Unknown.")
    reason: str = Field(
        default="",
        max_length=1024,
        description="A CamelCase word saying why the condition is in this status. Reasons listed as terminal "
        "(e.g. Unschedulable, InvalidSpec) need a change of the spec; others are transient and retried.",
    )
    message: str = Field(default="", max_length=32768, description="A human-readable explanation.")
    last_transition_time: str | None = Field(
        default=None,
        json_schema_extra={"format": "date-time"},
        description="When the condition last changed status (RFC 3339).",
    )
    observed_generation: int | None = Field(
        default=None,
        ge=0,
        description="The metadata.generation of the spec this condition was computed from.",
    )


CONDITIONS_SCHEMA_EXTRA: dict[str, Any] = {
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["type"],
}


def conditions_field() -> Any:
    return Field(
        default_factory=list,
        description="Current observations of the object's state (Ready among them).",
        json_schema_extra=CONDITIONS_SCHEMA_EXTRA,
    )


class StatusBase(KumulusModel):
    """Fields every status has."""

    observed_generation: int | None = Field(
        default=None, ge=0, description="The metadata.generation the controller last acted on."
    )
    conditions: list[Condition] = conditions_field()


def immutable(message: str) -> dict[str, Any]:
    """Schema extra making a field immutable once set (a CEL transition rule)."""
    return {"x-kubernetes-validations": [{"rule": "self == oldSelf", "message": message}]}


@dataclass(frozen=True)
class Column:
    """A printer column (kubectl get) of a kind."""

    name: str
    json_path: str
    type: str = "string"
    description: str = ""
    priority: int = 0


AGE = Column("Age", ".metadata.creationTimestamp", "date")
READY = Column("Ready", '.status.conditions[?(@.type=="Ready")].status', description="The Ready condition.")


@dataclass(frozen=True)
class Kind:
    """One API kind: its names, scope, models and how kubectl shows it."""

    group: str  # short group name, e.g. "compute" -> compute.kumulus.dev
    kind: str
    plural: str
    spec: type[KumulusModel]
    status: type[KumulusModel] | None
    description: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    columns: tuple[Column, ...] = (AGE,)
    selectable_fields: tuple[str, ...] = ()
    # CEL rules on the whole spec (cross-field), e.g. {"rule": "...", "message": "..."}.
    spec_rules: tuple[dict[str, str], ...] = ()
    spec_required: bool = True
    internal: bool = False
    """Written by the controllers only (e.g. IPAddressClaim): no example, category kumulus-internal."""
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def api_group(self) -> str:
        return f"{self.group}.{GROUP_SUFFIX}"

    @property
    def category(self) -> str:
        return INTERNAL_CATEGORY if self.internal else CATEGORY

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def api_version(self) -> str:
        return f"{self.api_group}/{VERSION}"

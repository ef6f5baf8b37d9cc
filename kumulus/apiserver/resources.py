"""What the API server knows about one served resource: names, scope, verbs, schema and columns.

Built-in kinds and CustomResourceDefinition versions are both described by `ResourceInfo`, so
discovery, OpenAPI, validation and table output treat them alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_VERBS: tuple[str, ...] = (
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
)


@dataclass(frozen=True)
class PrinterColumn:
    """One column of `kubectl get`, as in a CRD's additionalPrinterColumns."""

    name: str
    type: str  # string, integer, number, boolean, date
    json_path: str  # a JSONPath such as .status.phase
    description: str = ""
    format: str = ""
    priority: int = 0


@dataclass(frozen=True)
class ResourceInfo:
    """A resource served at one group/version."""

    group: str  # "" for the core group
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    list_kind: str = ""
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = DEFAULT_VERBS
    # "status" and/or "scale"; "finalize" is served for namespaces.
    subresources: frozenset[str] = frozenset()
    # The openAPIV3Schema of the version; None means free-form (built-in kinds).
    schema: dict[str, Any] | None = None
    printer_columns: tuple[PrinterColumn, ...] = ()
    # Field paths without the leading dot ("spec.color") usable in field selectors,
    # beyond metadata.name and metadata.namespace which every resource supports.
    selectable_fields: tuple[str, ...] = ()
    storage_version: bool = True
    crd_name: str | None = None
    description: str = ""
    # Built-in kinds whose list items carry no apiVersion/kind, as kube-apiserver serves them.
    builtin: bool = False
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def api_version(self) -> str:
        return self.group_version

    @property
    def list_kind_name(self) -> str:
        return self.list_kind or f"{self.kind}List"

    @property
    def group_resource(self) -> str:
        """The qualified resource name used in messages: servers.compute.kumulus.dev."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def qualified_kind(self) -> str:
        """The qualified kind used in Invalid messages: Server.compute.kumulus.dev."""
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def storage_key(self) -> str:
        """Objects of all versions of one group/plural share storage."""
        return f"{self.group}/{self.plural}"

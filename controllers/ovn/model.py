"""The data the OVN Northbound planner works on: rows, references, commands, and the tables Kumulus owns.

Everything here is plain data. A row is identified by (table, key); the key is stored in the row's
external_ids under `kumulus:key` next to the owner marks, so rows read back from the database are matched to
desired rows without relying on OVSDB UUIDs. Rows of non-root tables (ports, ACLs, NAT rules...) live in a
column of their parent row (OVSDB garbage-collects unreferenced non-root rows): `Row.parent` is the key of
the parent row, the parent table and column being fixed per table (`TABLES[t].parent`).

Column values are canonical so that desired and observed rows compare with `==`: atoms (str, int, bool) for
required scalar columns, sorted tuples for sets and optional columns (as OVSDB itself stores them), dicts of
str for maps, and tuples of `Ref` for reference columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

# The marks every Kumulus-owned row carries in external_ids. Rows without OWNER_UID are never touched.
OWNER_UID = "kumulus:owner-uid"
OWNER_KIND = "kumulus:kind"
OWNER_NAMESPACE = "kumulus:namespace"
OWNER_NAME = "kumulus:name"
KEY = "kumulus:key"


@dataclass(frozen=True, order=True)
class Ref:
    """A reference to another Kumulus-owned row, resolved to its UUID by the applier."""

    table: str
    key: str


Atom = str | int | bool
Value = Atom | tuple[Atom, ...] | tuple[Ref, ...] | dict[str, str]
ColumnKind = Literal["atom", "set", "map", "refs"]
RowId = tuple[str, str]


@dataclass(frozen=True)
class Table:
    """What Kumulus manages of one Northbound table."""

    name: str
    rank: int  # creation order: a row only refers to rows of lower rank (or its parent, also lower)
    columns: Mapping[str, ColumnKind]
    parent: tuple[str, str] | None = None  # (parent table, parent column) for non-root tables
    ref_tables: Mapping[str, str] = field(default_factory=dict)  # reference column -> referenced table


_T = [
    # Load balancers first: switches and routers refer to them (their load_balancer column).
    Table(
        "Load_Balancer",
        0,
        {
            "name": "atom",
            "vips": "map",
            "protocol": "set",
            "selection_fields": "set",
            "ip_port_mappings": "map",
            "options": "map",
            "external_ids": "map",
        },
    ),
    Table(
        "Load_Balancer_Health_Check",
        1,
        {"vip": "atom", "options": "map", "external_ids": "map"},
        parent=("Load_Balancer", "health_check"),
    ),
    Table(
        "Logical_Switch",
        2,
        {"name": "atom", "other_config": "map", "load_balancer": "refs", "external_ids": "map"},
        ref_tables={"load_balancer": "Load_Balancer"},
    ),
    Table(
        "Logical_Router",
        3,
        {"name": "atom", "load_balancer": "refs", "external_ids": "map"},
        ref_tables={"load_balancer": "Load_Balancer"},
    ),
    Table("DHCP_Options", 4, {"cidr": "atom", "options": "map", "external_ids": "map"}),
    Table(
        "Logical_Switch_Port",
        5,
        {
            "name": "atom",
            "type": "atom",
            "addresses": "set",
            "port_security": "set",
            "options": "map",
            "tag": "set",
            "dhcpv4_options": "refs",
            "dhcpv6_options": "refs",
            "external_ids": "map",
        },
        parent=("Logical_Switch", "ports"),
        ref_tables={"dhcpv4_options": "DHCP_Options", "dhcpv6_options": "DHCP_Options"},
    ),
    Table(
        "Logical_Router_Port",
        6,
        {"name": "atom", "mac": "atom", "networks": "set", "external_ids": "map"},
        parent=("Logical_Router", "ports"),
    ),
    Table(
        "Gateway_Chassis",
        7,
        {"name": "atom", "chassis_name": "atom", "priority": "atom", "external_ids": "map"},
        parent=("Logical_Router_Port", "gateway_chassis"),
    ),
    Table(
        "Port_Group",
        8,
        {"name": "atom", "ports": "refs", "external_ids": "map"},
        ref_tables={"ports": "Logical_Switch_Port"},
    ),
    Table(
        "ACL",
        9,
        {"direction": "atom", "priority": "atom", "match": "atom", "action": "atom", "external_ids": "map"},
        parent=("Port_Group", "acls"),
    ),
    Table(
        "NAT",
        10,
        {
            "type": "atom",
            "external_ip": "atom",
            "logical_ip": "atom",
            "logical_port": "set",
            "external_ids": "map",
        },
        parent=("Logical_Router", "nat"),
    ),
    Table(
        "Logical_Router_Static_Route",
        11,
        {"ip_prefix": "atom", "nexthop": "atom", "external_ids": "map"},
        parent=("Logical_Router", "static_routes"),
    ),
]
TABLES: dict[str, Table] = {t.name: t for t in _T}


@dataclass(frozen=True)
class Row:
    """One Northbound row as Kumulus wants it (desired) or found it (observed)."""

    table: str
    key: str
    columns: Mapping[str, Value]
    parent: str | None = None

    @property
    def id(self) -> RowId:
        return (self.table, self.key)


Rows = dict[RowId, Row]


@dataclass(frozen=True)
class AddRow:
    """Insert a row (and, for a non-root table, add it to its parent's column)."""

    table: str
    key: str
    columns: Mapping[str, Value]
    parent: str | None = None


@dataclass(frozen=True)
class UpdateRow:
    """Set the changed columns of a row; with `parent`, move it from its current parent to that one."""

    table: str
    key: str
    columns: Mapping[str, Value]
    parent: str | None = None


@dataclass(frozen=True)
class DeleteRow:
    """Delete a row (removing it from its parent's column first, for a non-root table)."""

    table: str
    key: str


Command = AddRow | UpdateRow | DeleteRow


def _sort_key(v: Atom | Ref) -> tuple[str, str, str]:
    if isinstance(v, Ref):
        return ("ref", v.table, v.key)
    return (type(v).__name__, str(v), "")


def canonical_set(values: Iterable[Atom]) -> tuple[Atom, ...]:
    return tuple(sorted(set(values), key=_sort_key))


def canonical_refs(values: Iterable[Ref]) -> tuple[Ref, ...]:
    return tuple(sorted(set(values)))


def owned(external_ids: Mapping[str, str]) -> bool:
    """Whether a row is Kumulus's, judging by its external_ids."""
    return OWNER_UID in external_ids

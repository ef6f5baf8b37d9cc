"""The thin Northbound applier: observe the Kumulus-owned rows, execute a plan in one transaction.

    nb = NorthboundDB("unix:/run/ovn/ovnnb_db.sock")
    nb.sync(desired_rows(objects))      # == nb.apply(plan(desired, nb.observe()))

Both are ovsdbapp command objects run by ovsdbapp's connection thread: `_Observe` reads a consistent
snapshot of the IDL replica, `_ApplyPlan` turns AddRow/UpdateRow/DeleteRow into IDL operations of a single
OVSDB transaction (TRY_AGAIN retries re-run it from scratch). Rows are found by the `kumulus:key` in their
external_ids; rows without the owner marks are never read into the observed state, so never touched.

A transaction that changes something also increments NB_Global.nb_cfg (what `ovn-nbctl --wait=hv` does):
ovn-northd passes it on to the Southbound database and every ovn-controller reports in
Chassis_Private.nb_cfg when it has caught up, which tells which chassis processed our changes. `nb_cfg`
holds the value after our last transaction (or as last observed).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ovsdbapp.backend.ovs_idl import command, connection
from ovsdbapp.schema.ovn_northbound import impl_idl

from controllers.ovn.model import (
    KEY,
    TABLES,
    AddRow,
    Command,
    DeleteRow,
    Ref,
    Row,
    RowId,
    Rows,
    UpdateRow,
    Value,
    canonical_refs,
    canonical_set,
    owned,
)
from controllers.ovn.plan import plan

IdlRow = Any  # ovs.db.idl.Row
IdlTables = Mapping[str, Any]  # table name -> ovs.db.idl.Table


def _owned_keys(tables: IdlTables) -> dict[Any, RowId]:
    """UUID -> (table, key) of every Kumulus-owned row; an owned row without a key (or with another's) gets
    a key of its own that no desired row has, so the plan deletes it."""
    keys: dict[Any, RowId] = {}
    taken: set[RowId] = set()
    for name in TABLES:
        for row in tables[name].rows.values():
            ids = dict(row.external_ids)
            if not owned(ids):
                continue
            rid = (name, ids.get(KEY) or f"uuid:{row.uuid}")
            if rid in taken:
                rid = (name, f"uuid:{row.uuid}")
            taken.add(rid)
            keys[row.uuid] = rid
    return keys


def _parents(tables: IdlTables) -> dict[Any, IdlRow]:
    """UUID of each row of a non-root managed table -> the IDL row whose column holds it."""
    parents: dict[Any, IdlRow] = {}
    for table in TABLES.values():
        if table.parent is None:
            continue
        parent_table, column = table.parent
        for parent in tables[parent_table].rows.values():
            for child in getattr(parent, column):
                parents[child.uuid] = parent
    return parents


class _Observe(command.BaseCommand):  # type: ignore[misc]
    READ_ONLY = True

    def run_idl(self, txn: Any) -> None:
        tables: IdlTables = self.api.tables
        keys = _owned_keys(tables)
        parents = _parents(tables)

        def key_of(row: IdlRow) -> str:
            rid = keys.get(row.uuid)
            return rid[1] if rid is not None else f"foreign:{row.uuid}"

        observed: Rows = {}
        for name, table in TABLES.items():
            for row in tables[name].rows.values():
                if row.uuid not in keys:
                    continue
                columns: dict[str, Value] = {}
                for column, kind in table.columns.items():
                    value = getattr(row, column)
                    if kind == "atom":
                        columns[column] = value
                    elif kind == "set":
                        columns[column] = canonical_set(value)
                    elif kind == "map":
                        columns[column] = dict(value)
                    else:
                        target = table.ref_tables[column]
                        columns[column] = canonical_refs(Ref(target, key_of(r)) for r in value)
                parent = parents.get(row.uuid)
                rid = keys[row.uuid]
                observed[rid] = Row(name, rid[1], columns, None if parent is None else key_of(parent))
        nb_global = _nb_global(tables)
        self.nb_cfg = int(nb_global.nb_cfg) if nb_global is not None else None
        self.result = observed


def _nb_global(tables: IdlTables) -> IdlRow | None:
    """The NB_Global row (ovn-northd or `ovn-nbctl init` creates it); None in a database not initialised."""
    return next(iter(tables["NB_Global"].rows.values()), None)


class _ApplyPlan(command.BaseCommand):  # type: ignore[misc]
    def __init__(self, api: Any, commands: Sequence[Command]) -> None:
        super().__init__(api)
        self.commands = list(commands)
        self.bumped = False
        self.nb_cfg: int | None = None

    def post_commit(self, txn: Any) -> None:
        if self.bumped:
            # committed already: a reply without the new value must not fail the sync (observe reads it)
            with contextlib.suppress(AttributeError):
                self.nb_cfg = int(txn.get_increment_new_value())

    def run_idl(self, txn: Any) -> None:
        tables: IdlTables = self.api.tables
        keys = _owned_keys(tables)
        index: dict[RowId, IdlRow] = {}
        for name in TABLES:
            for row in tables[name].rows.values():
                if row.uuid in keys:
                    index[keys[row.uuid]] = row
        parents = _parents(tables)

        def set_columns(row: IdlRow, table: str, columns: Mapping[str, Value]) -> None:
            kinds = TABLES[table].columns
            for column, value in columns.items():
                kind = kinds[column]
                if kind == "atom":
                    setattr(row, column, value)
                elif kind == "map":
                    assert isinstance(value, dict)
                    setattr(row, column, dict(value))
                elif kind == "set":
                    assert isinstance(value, tuple)
                    setattr(row, column, list(value))
                else:
                    assert isinstance(value, tuple)
                    setattr(row, column, [index[(r.table, r.key)] for r in value if isinstance(r, Ref)])

        def attach(row: IdlRow, table: str, parent_key: str) -> None:
            parent_spec = TABLES[table].parent
            assert parent_spec is not None
            parent = index[(parent_spec[0], parent_key)]
            parent.addvalue(parent_spec[1], row)
            parents[row.uuid] = parent

        def detach(row: IdlRow, table: str) -> None:
            parent_spec = TABLES[table].parent
            parent = parents.pop(row.uuid, None)
            if parent_spec is not None and parent is not None:
                parent.delvalue(parent_spec[1], row)

        for c in self.commands:
            if isinstance(c, AddRow):
                row = txn.insert(tables[c.table])
                index[(c.table, c.key)] = row
                set_columns(row, c.table, c.columns)
                if c.parent is not None:
                    attach(row, c.table, c.parent)
            elif isinstance(c, UpdateRow):
                row = index[(c.table, c.key)]
                set_columns(row, c.table, c.columns)
                if c.parent is not None:
                    detach(row, c.table)
                    attach(row, c.table, c.parent)
            elif isinstance(c, DeleteRow):
                row = index.pop((c.table, c.key))
                detach(row, c.table)
                row.delete()
        nb_global = _nb_global(tables)
        self.bumped = bool(self.commands) and nb_global is not None
        if self.bumped and nb_global is not None:
            nb_global.increment("nb_cfg")  # in this transaction, as ovn-nbctl --wait=hv


class NorthboundDB:
    """A connection to an OVN Northbound database, with Kumulus's observe/apply/sync."""

    def __init__(self, remote: str, timeout: float = 10.0) -> None:
        idl = connection.OvsdbIdl.from_server(remote, "OVN_Northbound")
        # ovsdbapp keeps one connection per API class (a class attribute): a class of our own per database,
        # so that several NorthboundDBs (or a test's fresh daemons) do not share the first one's connection.
        api_class = type("KumulusNbApi", (impl_idl.OvnNbApiIdlImpl,), {"_ovsdb_connection": None})
        self._connection = connection.Connection(idl=idl, timeout=timeout)
        self.api = api_class(self._connection)
        self.nb_cfg: int | None = None

    def observe(self) -> Rows:
        """The Kumulus-owned rows as they are in the database."""
        observe = _Observe(self.api)
        rows: Rows = observe.execute(check_error=True)
        self.nb_cfg = observe.nb_cfg if self.nb_cfg is None else max(self.nb_cfg, observe.nb_cfg or 0)
        return rows

    def apply(self, commands: Iterable[Command]) -> None:
        """Execute a plan in one transaction, which also bumps NB_Global.nb_cfg (nothing to do for an empty
        plan)."""
        commands = list(commands)
        if not commands:
            return
        applying = _ApplyPlan(self.api, commands)
        with self.api.transaction(check_error=True) as txn:
            txn.add(applying)
        if applying.nb_cfg is not None:
            self.nb_cfg = applying.nb_cfg

    def sync(self, desired: Rows) -> list[Command]:
        """Make the Kumulus-owned rows what `desired` says; returns the commands executed."""
        commands = plan(desired, self.observe())
        self.apply(commands)
        return commands

    def close(self) -> None:
        self._connection.stop()

"""From desired and observed Northbound rows to the commands that make them equal (pure).

    plan(desired, observed) -> [AddRow..., UpdateRow..., DeleteRow...]

Adds come first, parents before children and referenced rows before the rows referring to them (table
rank); then updates (which may refer to rows just added, or drop references to rows about to go); then
deletes, children before parents and referring rows before referenced ones. Applying the plan and planning
again yields no commands. Observed rows are only the Kumulus-owned ones, so rows made by others never
appear in a plan; owned rows whose owner is gone are simply not desired any more, and are deleted.
"""

from __future__ import annotations

from collections.abc import Mapping

from .model import TABLES, AddRow, Command, DeleteRow, Row, RowId, UpdateRow, Value


def _order(table: str, key: str) -> tuple[int, str]:
    return (TABLES[table].rank, key)


def plan(desired: Mapping[RowId, Row], observed: Mapping[RowId, Row]) -> list[Command]:
    adds: list[AddRow] = []
    updates: list[UpdateRow] = []
    for row_id, row in desired.items():
        seen = observed.get(row_id)
        if seen is None:
            adds.append(AddRow(row.table, row.key, dict(row.columns), row.parent))
            continue
        changed: dict[str, Value] = {
            column: value for column, value in row.columns.items() if seen.columns.get(column) != value
        }
        move = row.parent if row.parent != seen.parent else None
        if changed or move is not None:
            updates.append(UpdateRow(row.table, row.key, changed, move))
    deletes = [DeleteRow(table, key) for (table, key) in observed if (table, key) not in desired]
    adds.sort(key=lambda c: _order(c.table, c.key))
    updates.sort(key=lambda c: _order(c.table, c.key))
    deletes.sort(key=lambda c: (-TABLES[c.table].rank, c.key))
    return [*adds, *updates, *deletes]

"""Durable object storage: SQLite (WAL, fsync on every commit) with an in-memory index and watch history.

Every mutation is one SQLite transaction that writes the objects and the change events together and
is fsynced before the call returns, so a write acknowledged to a client survives `kill -9`. Reads
(get, list, watch replay) are served from memory, where objects are kept as their JSON bytes. A single
global counter gives every change its resourceVersion, as etcd's revision does for kube-apiserver.
The event log is persisted too, so a client that resumes a watch after a restart misses nothing.
"""

from __future__ import annotations

import json
import sqlite3
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ObjectKey = tuple[str, str, str]  # (storage key, namespace, name)

ADDED = "ADDED"
MODIFIED = "MODIFIED"
DELETED = "DELETED"


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(slots=True)
class Entry:
    """One stored object: its JSON bytes plus the few fields indexes need."""

    rv: int
    raw: bytes
    uid: str
    labels: dict[str, str]
    owners: tuple[str, ...]
    deleting: bool = False  # metadata.deletionTimestamp is set

    def load(self) -> dict[str, Any]:
        obj: dict[str, Any] = json.loads(self.raw)
        return obj


@dataclass(slots=True)
class Event:
    """A committed change, kept for watch replay."""

    rv: int
    skey: str
    type: str
    namespace: str
    name: str
    raw: bytes
    labels: dict[str, str]
    prev_raw: bytes | None  # the object before a MODIFIED or DELETED change, for selector transitions
    prev_labels: dict[str, str] | None


@dataclass(slots=True)
class Change:
    """A write to commit: the full new object, or a deletion of the given (final) object."""

    skey: str
    type: str  # ADDED, MODIFIED or DELETED
    obj: dict[str, Any]


def entry_of(obj: dict[str, Any], rv: int, raw: bytes) -> Entry:
    meta = obj.get("metadata") or {}
    owners = tuple(str(ref.get("uid", "")) for ref in meta.get("ownerReferences") or ())
    labels = dict(meta.get("labels") or {})
    return Entry(rv, raw, str(meta.get("uid", "")), labels, owners, bool(meta.get("deletionTimestamp")))


class Store:
    """Objects by storage key, namespace and name; a global resourceVersion; a bounded event history."""

    def __init__(self, path: Path | str, history_size: int = 20000) -> None:
        self.path = str(path)
        self.history_size = history_size
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(
            """
            CREATE TABLE IF NOT EXISTS objects(
                skey TEXT NOT NULL, ns TEXT NOT NULL, name TEXT NOT NULL, rv INTEGER NOT NULL,
                data BLOB NOT NULL, PRIMARY KEY (skey, ns, name)) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS events(
                rv INTEGER PRIMARY KEY, skey TEXT NOT NULL, type TEXT NOT NULL, ns TEXT NOT NULL,
                name TEXT NOT NULL, data BLOB NOT NULL, prev BLOB);
            CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v TEXT NOT NULL);
            """
        )
        self.objects: dict[str, dict[tuple[str, str], Entry]] = {}
        self.by_uid: dict[str, ObjectKey] = {}
        self.dependents: dict[str, set[ObjectKey]] = {}
        self.history: deque[Event] = deque()
        self.rv = 0
        # The oldest resourceVersion a watch may resume from; older ones get 410 Gone.
        self.compacted_rv = 0
        self._commits = 0
        self._load()

    # -- loading -----------------------------------------------------------------------------------

    def _load(self) -> None:
        row = self.db.execute("SELECT v FROM meta WHERE k='rv'").fetchone()
        self.rv = int(row[0]) if row else 0
        for skey, ns, name, rv, data in self.db.execute("SELECT skey, ns, name, rv, data FROM objects"):
            raw = bytes(data)
            self._index(skey, ns, name, entry_of(json.loads(raw), rv, raw))
        rows = self.db.execute(
            "SELECT rv, skey, type, ns, name, data, prev FROM events ORDER BY rv DESC LIMIT ?",
            (self.history_size,),
        ).fetchall()
        for rv, skey, typ, ns, name, data, prev in reversed(rows):
            raw = bytes(data)
            prev_raw = bytes(prev) if prev is not None else None
            labels = dict((json.loads(raw).get("metadata") or {}).get("labels") or {})
            prev_labels = (
                dict((json.loads(prev_raw).get("metadata") or {}).get("labels") or {}) if prev_raw else None
            )
            self.history.append(Event(rv, skey, typ, ns, name, raw, labels, prev_raw, prev_labels))
        self.compacted_rv = self.history[0].rv - 1 if self.history else self.rv

    def _index(self, skey: str, ns: str, name: str, entry: Entry) -> None:
        self.objects.setdefault(skey, {})[(ns, name)] = entry
        key = (skey, ns, name)
        if entry.uid:
            self.by_uid[entry.uid] = key
        for owner in entry.owners:
            self.dependents.setdefault(owner, set()).add(key)

    def _unindex(self, skey: str, ns: str, name: str) -> None:
        entry = self.objects.get(skey, {}).pop((ns, name), None)
        if entry is None:
            return
        key = (skey, ns, name)
        if self.by_uid.get(entry.uid) == key:
            del self.by_uid[entry.uid]
        for owner in entry.owners:
            deps = self.dependents.get(owner)
            if deps is not None:
                deps.discard(key)
                if not deps:
                    del self.dependents[owner]

    # -- reads ---------------------------------------------------------------------------------------

    def get(self, skey: str, ns: str, name: str) -> Entry | None:
        return self.objects.get(skey, {}).get((ns, name))

    def items(self, skey: str, ns: str | None = None) -> Iterator[tuple[tuple[str, str], Entry]]:
        """Objects of one storage key in (namespace, name) order, optionally of one namespace."""
        table = self.objects.get(skey, {})
        keys = sorted(table) if ns is None else sorted(k for k in table if k[0] == ns)
        for k in keys:
            entry = table.get(k)
            if entry is not None:
                yield k, entry

    def count(self, skey: str) -> int:
        return len(self.objects.get(skey, {}))

    def namespaces_in_use(self, ns: str) -> Iterator[ObjectKey]:
        for skey, table in self.objects.items():
            for key in table:
                if key[0] == ns:
                    yield (skey, key[0], key[1])

    def events_since(self, rv: int) -> Iterable[Event]:
        """Events with resourceVersion greater than rv, oldest first."""
        if not self.history or self.history[-1].rv <= rv:
            return ()
        # History is sorted by rv; walk from the end to find the start cheaply for recent resumes.
        idx = len(self.history)
        while idx > 0 and self.history[idx - 1].rv > rv:
            idx -= 1
        return [self.history[i] for i in range(idx, len(self.history))]

    # -- writes --------------------------------------------------------------------------------------

    def commit(self, changes: list[Change]) -> list[Event]:
        """Write changes in one durable transaction; give each a new resourceVersion; return events."""
        if not changes:
            return []
        events: list[Event] = []
        rows_put: list[tuple[str, str, str, int, bytes]] = []
        rows_del: list[tuple[str, str, str]] = []
        rows_ev: list[tuple[int, str, str, str, str, bytes, bytes | None]] = []
        rv = self.rv
        staged: list[tuple[Change, int, bytes, Entry | None]] = []
        for change in changes:
            rv += 1
            meta = change.obj.setdefault("metadata", {})
            meta["resourceVersion"] = str(rv)
            ns = str(meta.get("namespace") or "")
            name = str(meta["name"])
            raw = dumps(change.obj)
            prev = self.get(change.skey, ns, name)
            staged.append((change, rv, raw, prev))
            if change.type == DELETED:
                rows_del.append((change.skey, ns, name))
            else:
                rows_put.append((change.skey, ns, name, rv, raw))
            prev_raw = prev.raw if (prev is not None and change.type != ADDED) else None
            rows_ev.append((rv, change.skey, change.type, ns, name, raw, prev_raw))
        self._commits += 1
        trim_below = None
        if self._commits % 500 == 0 and len(self.history) >= self.history_size:
            trim_below = self.history[len(self.history) - self.history_size].rv
        db = self.db
        try:
            db.execute("BEGIN IMMEDIATE")
            if rows_put:
                db.executemany("INSERT OR REPLACE INTO objects VALUES (?,?,?,?,?)", rows_put)
            if rows_del:
                db.executemany("DELETE FROM objects WHERE skey=? AND ns=? AND name=?", rows_del)
            db.executemany("INSERT INTO events VALUES (?,?,?,?,?,?,?)", rows_ev)
            db.execute("INSERT OR REPLACE INTO meta VALUES ('rv', ?)", (str(rv),))
            if trim_below is not None:
                db.execute("DELETE FROM events WHERE rv < ?", (trim_below,))
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            for change, _, _, _ in staged:
                change.obj["metadata"].pop("resourceVersion", None)
            raise
        self.rv = rv
        for change, crv, raw, prev in staged:
            meta = change.obj["metadata"]
            ns = str(meta.get("namespace") or "")
            name = str(meta["name"])
            entry = entry_of(change.obj, crv, raw)
            self._unindex(change.skey, ns, name)
            if change.type != DELETED:
                self._index(change.skey, ns, name, entry)
            ev = Event(
                crv,
                change.skey,
                change.type,
                ns,
                name,
                raw,
                entry.labels,
                prev.raw if (prev is not None and change.type != ADDED) else None,
                prev.labels if (prev is not None and change.type != ADDED) else None,
            )
            self.history.append(ev)
            events.append(ev)
        while len(self.history) > self.history_size:
            self.history.popleft()
            self.compacted_rv = self.history[0].rv - 1
        return events

    def close(self) -> None:
        self.db.close()

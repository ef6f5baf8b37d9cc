"""hostd's local record: atomic, durable writes keyed by owner uid; torn writes and corruption."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from controllers.scheduling import Resources
from hostd import local_record
from hostd.local_record import GuestRecord, LocalRecord

A = "0b7c3c1e-7d4a-4c39-9d6e-0f5b1c2a3d4e"
B = "5f0e2b8a-1c3d-4e5f-8a9b-0c1d2e3f4a5b"


def rec(uid: str = A, **changes: object) -> GuestRecord:
    r = GuestRecord(uid, "demo/web", Resources(1, 512, 0), f"kumulus-{uid}", {"consoleLog": f"/c/{uid}.log"})
    return r.with_changes(**changes)


def test_put_get_update_remove(tmp_path: Path) -> None:
    record = LocalRecord(tmp_path)
    assert record.get(A) is None
    record.put(rec())
    assert record.get(A) == rec()
    assert LocalRecord(tmp_path).get(A) == rec()  # from disk, by a new instance (a restarted hostd)
    assert record.update(A, shutdown_deadline=12.5, boot_time="2024-01-01T00:00:00Z") == rec(
        shutdown_deadline=12.5, boot_time="2024-01-01T00:00:00Z"
    )
    assert record.get(A).shutdown_deadline == 12.5  # type: ignore[union-attr]
    assert record.update(B, boot_time="x") is None
    record.remove(A)
    record.remove(A)  # idempotent
    assert record.get(A) is None and record.all() == {}
    assert [p.name for p in tmp_path.iterdir()] == []  # no temporary file left behind


def test_orphans(tmp_path: Path) -> None:
    record = LocalRecord(tmp_path)
    record.put(rec(A))
    record.put(rec(B))
    assert [r.uid for r in record.orphans({A})] == [B]
    assert record.orphans({A, B}) == []
    assert set(record.all()) == {A, B}


def test_a_torn_write_leaves_the_previous_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    record = LocalRecord(tmp_path)
    record.put(rec(boot_time="first"))

    def crash(src: str, dst: str) -> None:  # the process dies after writing the temporary file
        raise OSError("power lost")

    monkeypatch.setattr(local_record.os, "replace", crash)
    with pytest.raises(OSError, match="power lost"):
        record.put(rec(boot_time="second"))
    monkeypatch.undo()
    assert record.get(A) == rec(boot_time="first")
    # A crash can also leave a half-written temporary file (the unlink above never ran): opening the record
    # again after the restart ignores and removes it.
    torn = tmp_path / f".{A}.abc.tmp"
    torn.write_bytes(b'{"uid": "' + A.encode() + b'", "consu')
    reopened = LocalRecord(tmp_path)
    assert not torn.exists()
    assert reopened.all() == {A: rec(boot_time="first")}


def test_writes_are_fsynced_file_then_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    record = LocalRecord(tmp_path)
    calls: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        calls.append("fsync-dir" if os.path.isdir(f"/proc/self/fd/{fd}") else "fsync-file")
        real_fsync(fd)

    def replace(src: str, dst: str) -> None:
        calls.append("rename")
        real_replace(src, dst)

    monkeypatch.setattr(local_record.os, "fsync", fsync)
    monkeypatch.setattr(local_record.os, "replace", replace)
    record.put(rec())
    assert calls == ["fsync-file", "rename", "fsync-dir"]


def test_a_corrupt_record_is_moved_aside(tmp_path: Path) -> None:
    record = LocalRecord(tmp_path)
    record.put(rec(A))
    record.put(rec(B))
    (tmp_path / f"{B}.json").write_text("{not json")
    assert set(record.all()) == {A}
    assert (tmp_path / f"{B}.json.corrupt").exists()


def test_keys_are_names_not_paths(tmp_path: Path) -> None:
    record = LocalRecord(tmp_path)
    for bad in ("../etc/passwd", "", "a/b", ".hidden"):
        with pytest.raises(ValueError, match="uid"):
            record.get(bad)

"""hostd's local record of what it created on this host, one JSON file per owner (Server uid).

Written before anything is created (intent first), so that after a crash hostd knows every domain, config
drive and console log it may have left behind, even when the API server is gone or the Server deleted:
`orphans(wanted)` lists the records no wanted Server owns.

Each write is atomic and durable: write a temporary file, fsync it, rename it over the record, fsync the
directory. A crash leaves either the old or the new record, never half of one; a torn temporary file is
ignored (and removed) when the record is opened. A record that does not parse (disk corruption) is moved
aside as `<uid>.json.corrupt` and reported, not silently dropped.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Iterator, Mapping, Set
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from controllers.scheduling import Resources

log = logging.getLogger("hostd.local_record")

UID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}$")  # a file name, never a path
SUFFIX = ".json"
TMP_SUFFIX = ".tmp"
VERSION = 1


@dataclass(frozen=True, slots=True)
class GuestRecord:
    uid: str
    consumer: str  # "namespace/name"
    resources: Resources
    domain: str | None = None  # libvirt domain name
    files: Mapping[str, str] = field(default_factory=dict)  # role -> path: consoleLog, configDrive...
    created: str | None = None
    boot_time: str | None = None  # when hostd last started the guest
    shutdown_deadline: float | None = None  # wall-clock time: destroy if still running by then

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["resources"] = asdict(self.resources)
        data["files"] = dict(self.files)
        data["version"] = VERSION
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> GuestRecord:
        return cls(
            uid=str(data["uid"]),
            consumer=str(data["consumer"]),
            resources=Resources(**data["resources"]),
            domain=data.get("domain"),
            files={str(k): str(v) for k, v in (data.get("files") or {}).items()},
            created=data.get("created"),
            boot_time=data.get("boot_time"),
            shutdown_deadline=data.get("shutdown_deadline"),
        )

    def with_changes(self, **changes: Any) -> GuestRecord:
        return replace(self, **changes)


class LocalRecord:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self._remove_torn_writes()

    def _path(self, uid: str) -> Path:
        if not UID.match(uid):
            raise ValueError(f"uid: {uid!r} is not a valid record key")
        return self.dir / f"{uid}{SUFFIX}"

    def _remove_torn_writes(self) -> None:
        for tmp in self.dir.glob(f".*{TMP_SUFFIX}"):
            log.warning("removing an unfinished record write: %s", tmp)
            tmp.unlink(missing_ok=True)

    def get(self, uid: str) -> GuestRecord | None:
        path = self._path(uid)
        try:
            data = json.loads(path.read_text())
            return GuestRecord.from_json(data)
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError) as exc:
            self._quarantine(path, exc)
            return None

    def put(self, record: GuestRecord) -> None:
        path = self._path(record.uid)
        payload = json.dumps(record.to_json(), indent=1, sort_keys=True).encode()
        fd, tmp = tempfile.mkstemp(prefix=f".{record.uid}.", suffix=TMP_SUFFIX, dir=self.dir)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(payload)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        self._sync_dir()

    def update(self, uid: str, **changes: Any) -> GuestRecord | None:
        """Change some fields of a record, if there is one."""
        record = self.get(uid)
        if record is None:
            return None
        record = record.with_changes(**changes)
        self.put(record)
        return record

    def remove(self, uid: str) -> None:
        try:
            self._path(uid).unlink()
        except FileNotFoundError:
            return
        self._sync_dir()

    def __iter__(self) -> Iterator[GuestRecord]:
        for path in sorted(self.dir.glob(f"*{SUFFIX}")):
            record = self.get(path.name[: -len(SUFFIX)]) if UID.match(path.name[: -len(SUFFIX)]) else None
            if record is not None:
                yield record

    def all(self) -> dict[str, GuestRecord]:
        return {r.uid: r for r in self}

    def orphans(self, wanted: Set[str]) -> list[GuestRecord]:
        """Records of guests no wanted Server owns: left over by a crash, a deletion or a move."""
        return [r for r in self if r.uid not in wanted]

    def _sync_dir(self) -> None:
        fd = os.open(self.dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _quarantine(self, path: Path, exc: Exception) -> None:
        aside = path.with_name(path.name + ".corrupt")
        log.error("local record %s does not parse (%s): moved to %s", path, exc, aside)
        with contextlib.suppress(OSError):
            os.replace(path, aside)
            self._sync_dir()

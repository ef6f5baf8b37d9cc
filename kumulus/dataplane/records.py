"""daemons.json: which daemon runs under which PID, written atomically after every change.

    {"ovsdb-server": {"pid": 123, "start_time": 456789, "boot_id": "...", "command": ["ovsdb-server", ...]}}

A record names one process: the PID, its start time (/proc/PID/stat) on this boot and its command line.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import proc


@dataclass
class DaemonRecord:
    pid: int
    start_time: int
    boot_id: str = ""
    command: list[str] = field(default_factory=list)

    def matches(self) -> bool:
        """Is the recorded PID still this very process (not dead, not a zombie, not reused)?"""
        if self.boot_id and self.boot_id != proc.boot_id():
            return False
        return proc.start_time(self.pid) == self.start_time and proc.cmdline(self.pid) == self.command

    @classmethod
    def of(cls, pid: int) -> DaemonRecord | None:
        start = proc.start_time(pid)
        if start is None:
            return None
        return cls(pid, start, proc.boot_id(), proc.cmdline(pid))


def load(path: Path) -> dict[str, DaemonRecord]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    out = {}
    for name, rec in data.items() if isinstance(data, dict) else ():
        try:
            out[str(name)] = DaemonRecord(
                int(rec["pid"]), int(rec["start_time"]), str(rec.get("boot_id", "")), list(rec["command"])
            )
        except (KeyError, TypeError, ValueError):
            continue  # a damaged entry names no process we can trust
    return out


def save(path: Path, recs: dict[str, DaemonRecord]) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("w") as f:
        json.dump({name: asdict(rec) for name, rec in recs.items()}, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)

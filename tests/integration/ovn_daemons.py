"""Real OVN control-plane daemons under a temporary directory: NB and SB ovsdb-servers and ovn-northd.

Started as child processes (no --detach), so they are known by PID and stopped by PID; nothing is looked up
or killed by name. Missing binaries are an error, not a skip: scripts/setup.sh installs them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

NB_SCHEMA = Path("/usr/share/ovn/ovn-nb.ovsschema")
SB_SCHEMA = Path("/usr/share/ovn/ovn-sb.ovsschema")
BINARIES = ("ovsdb-tool", "ovsdb-server", "ovn-northd", "ovn-nbctl", "ovn-sbctl")

T = TypeVar("T")


def wait_for(what: str, check: Callable[[], T | None], timeout: float = 10.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)


class DaemonProcesses:
    """Daemons a test started under `dir`, by name: whether they still run, and the tail of their logs."""

    dir: Path
    procs: dict[str, subprocess.Popen[bytes]]

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} (pid {proc.pid}) exited with {proc.returncode}: {self.log(name)}")

    def log(self, name: str) -> str:
        text = ""
        for path in (self.dir / f"{name}.log", self.dir / f"{name}.stderr"):
            if path.exists():
                text += path.read_text(errors="replace")[-4000:]
        return text


class OvnDaemons(DaemonProcesses):
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.nb_sock = directory / "nb.sock"
        self.sb_sock = directory / "sb.sock"
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def nb_remote(self) -> str:
        return f"unix:{self.nb_sock}"

    @property
    def sb_remote(self) -> str:
        return f"unix:{self.sb_sock}"

    def start(self) -> None:
        missing = [b for b in BINARIES if shutil.which(b) is None]
        missing += [str(s) for s in (NB_SCHEMA, SB_SCHEMA) if not s.exists()]
        if missing:
            raise RuntimeError(
                f"OVN is not installed (missing {', '.join(missing)}): run scripts/setup.sh "
                "(apt packages ovn-central ovn-host openvswitch-switch)"
            )
        for name, schema in (("nb", NB_SCHEMA), ("sb", SB_SCHEMA)):
            db = self.dir / f"{name}.db"
            subprocess.run(["ovsdb-tool", "create", str(db), str(schema)], check=True, capture_output=True)
            self._spawn(
                name,
                [
                    "ovsdb-server",
                    f"--remote=punix:{self.dir / f'{name}.sock'}",
                    f"--unixctl={self.dir / f'{name}.ctl'}",
                    f"--log-file={self.dir / f'{name}.log'}",
                    str(db),
                ],
            )
        for sock in (self.nb_sock, self.sb_sock):
            wait_for(str(sock), sock.exists)
        self._spawn(
            "northd",
            [
                "ovn-northd",
                f"--ovnnb-db={self.nb_remote}",
                f"--ovnsb-db={self.sb_remote}",
                f"--unixctl={self.dir / 'northd.ctl'}",
                f"--log-file={self.dir / 'northd.log'}",
            ],
        )
        wait_for("ovn-nbctl to answer", lambda: self.nbctl("show") is not None)

    def _spawn(self, name: str, argv: list[str]) -> None:
        env = {**os.environ, "OVS_RUNDIR": str(self.dir), "OVN_RUNDIR": str(self.dir)}
        log = (self.dir / f"{name}.stderr").open("wb")
        self.procs[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()

    def stop(self) -> None:
        for name in ("northd", "sb", "nb"):
            proc = self.procs.pop(name, None)
            if proc is None:
                continue
            proc.terminate()  # by PID: Popen signals its own child
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    # -- the real CLIs ----------------------------------------------------------------------------------

    def nbctl(self, *args: str) -> str:
        return self._ctl("ovn-nbctl", self.nb_remote, args)

    def sbctl(self, *args: str) -> str:
        return self._ctl("ovn-sbctl", self.sb_remote, args)

    def _ctl(self, binary: str, remote: str, args: tuple[str, ...]) -> str:
        result = subprocess.run(
            [binary, f"--db={remote}", *(["--timeout=10"] if binary != "ovn-trace" else []), *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{binary} {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout

    def nb_rows(self, table: str) -> list[dict[str, Any]]:
        return list_rows(self.nbctl("--format=json", "--data=json", "list", table))

    def sb_rows(self, table: str) -> list[dict[str, Any]]:
        return list_rows(self.sbctl("--format=json", "--data=json", "list", table))

    def trace(self, datapath: str, flow: str, *options: str) -> str:
        """ovn-trace over the Southbound logical flows that ovn-northd computed."""
        return self._ctl("ovn-trace", self.sb_remote, (*options, datapath, flow))


def _ovsdb_value(value: Any) -> Any:
    """OVSDB JSON (["set", [...]], ["map", [[k, v]...]], ["uuid", u]) to Python (list, dict, str)."""
    if isinstance(value, list) and len(value) == 2 and value[0] in ("set", "map", "uuid", "named-uuid"):
        tag, content = value
        if tag == "set":
            return [_ovsdb_value(v) for v in content]
        if tag == "map":
            return {_ovsdb_value(k): _ovsdb_value(v) for k, v in content}
        return content
    return value


def as_set(value: Any) -> list[Any]:
    """A set column as a list (ovn-nbctl prints a one-element set as a bare atom)."""
    return value if isinstance(value, list) else [value]


def list_rows(output: str) -> list[dict[str, Any]]:
    table = json.loads(output)
    rows = []
    for data in table["data"]:
        row = {}
        for heading, value in zip(table["headings"], data, strict=True):
            row[heading] = _ovsdb_value(value)
        rows.append(row)
    return rows

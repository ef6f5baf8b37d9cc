"""The whole cloud on this machine with the real data plane, for the guest end-to-end tests.

    with RealCloud(tmp_path) as cloud:       # kumulus up --data-plane real (operators), then hostd
        cloud.apply(yaml_text)
        cloud.wait_console(uid, r"KUMULUS-GUEST-READY web-1 (\\S+)")
        cloud.kill_hostd(); cloud.start_hostd()   # a crash of hostd, as the kill -9 tests do

`kumulus up` runs the API server, the operators and the data-plane daemons (libvirtd under TCG, OVS with
the userspace datapath in this machine's network namespace, OVN, a one-OSD in-memory Ceph); hostd runs
as the test's own child with the arguments `kumulus up` would give it (kumulus.up.hostd_real_args), so a
test can kill -9 it and start it again. Everything is under the test's temp dir and stopped by PID.

The real data plane owns br-int in this machine's network namespace: two of them must not run at once. A
RealCloud (and test_up_dataplane.py) holds an exclusive lock on LOCK for its lifetime (`exclusive_data_plane`),
so parallel test runs on one machine wait for each other instead of breaking each other's bridges.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from kumulus.dataplane.supervisor import DataPlane
from kumulus.up import host_name, hostd_real_args

from .cluster import ROOT, Cluster, wait_for

HOSTD_LOG = "hostd-test.log"
LOCK = Path("/run/lock/kumulus-real-data-plane.lock")


@contextlib.contextmanager
def exclusive_data_plane() -> Iterator[None]:
    """Hold the machine-wide lock of the real data plane (blocks while another test holds it)."""
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    with open(LOCK, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def sh(*argv: str, timeout: float = 60.0) -> str:
    res = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if res.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({res.returncode}): {res.stdout}{res.stderr}")
    return res.stdout


class RealCloud:
    def __init__(self, tmp: Path, resync: float = 5.0) -> None:
        self.state = tmp / "state"
        self.cluster = Cluster(
            self.state,
            crds_dir=ROOT / "crds",
            components="operators",
            extra_args=("--data-plane", "real"),
            env={"KUMULUS_RESYNC_SECONDS": str(resync)},
        )
        self.dp = DataPlane(self.state, host_name())
        self.host = host_name()
        self.hostd: subprocess.Popen[bytes] | None = None
        self._lock = exclusive_data_plane()

    # -- lifecycle ------------------------------------------------------------------------------------

    def __enter__(self) -> RealCloud:
        self._lock.__enter__()
        try:
            return self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise

    def _start(self) -> RealCloud:
        self.cluster.start(timeout=300)
        out = "".join(self.cluster.output)
        assert "data plane: real" in out, out
        self.start_hostd()
        wait_for(lambda: self.host_ready(), timeout=60, interval=0.5)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.kill_hostd()
            self.destroy_guests()  # guests outlive their daemons by design; a test's must not
            if self.cluster.proc is not None:
                self.cluster.stop(timeout=120)
        finally:
            self.cluster.kill()
            with contextlib.suppress(Exception):
                DataPlane(self.state, "cleanup").stop(lambda _: None)
            self._lock.__exit__(None, None, None)

    def destroy_guests(self) -> None:
        """Stop every QEMU of this cloud's libvirtd (by the PIDs libvirt recorded), whatever its state."""
        for pidfile in (self.dp.libvirt_dir / "run" / "qemu").glob("kumulus-*.pid"):
            with contextlib.suppress(ValueError, OSError):
                os.kill(int(pidfile.read_text().strip()), signal.SIGKILL)

    def start_hostd(self) -> None:
        assert self.hostd is None or self.hostd.poll() is not None
        env = dict(
            os.environ,
            KUBECONFIG=str(self.state / "kubeconfig-kumulus-hostd"),
            KUMULUS_STATE_DIR=str(self.state),
            PYTHONUNBUFFERED="1",
        )
        cmd = [sys.executable, "-m", "hostd.main", *hostd_real_args(self.dp), "--lease-seconds", "2"]
        log = open(self.state / HOSTD_LOG, "ab")  # noqa: SIM115 - handed to the child
        try:
            self.hostd = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        finally:
            log.close()

    def kill_hostd(self) -> None:
        """kill -9 of hostd (by PID), as a crash; its guests keep running."""
        if self.hostd is not None and self.hostd.poll() is None:
            self.hostd.send_signal(signal.SIGKILL)
            self.hostd.wait(10)
        self.hostd = None

    def hostd_log(self) -> str:
        path = self.state / HOSTD_LOG
        return path.read_text(errors="replace") if path.exists() else ""

    # -- the API --------------------------------------------------------------------------------------

    def kubectl(self, *args: str, input: str | None = None, check: bool = True) -> str:
        return self.cluster.kubectl(*args, input=input, check=check, timeout=120).stdout

    def apply(self, manifest: str) -> None:
        self.kubectl("apply", "-f", "-", input=manifest)

    def get(self, kind: str, name: str, namespace: str | None = "default") -> dict[str, Any] | None:
        args = ["get", kind, name, "-o", "json", "--ignore-not-found"]
        if namespace:
            args += ["-n", namespace]
        out = self.kubectl(*args)
        return json.loads(out) if out.strip() else None

    def status(self, kind: str, name: str, namespace: str | None = "default") -> dict[str, Any]:
        obj = self.get(kind, name, namespace)
        return dict((obj or {}).get("status") or {})

    def condition(self, kind: str, name: str, ctype: str = "Ready") -> dict[str, Any]:
        for cond in self.status(kind, name).get("conditions") or ():
            if cond.get("type") == ctype:
                return dict(cond)
        return {}

    def host_ready(self) -> bool:
        return self.condition("Host", self.host).get("status") == "True" if self._host_exists() else False

    def _host_exists(self) -> bool:
        return self.get("Host", self.host, namespace=None) is not None

    # -- the guests -----------------------------------------------------------------------------------

    def console_path(self, uid: str) -> Path:
        return self.dp.root / "hostd" / "console" / f"{uid}.log"  # hostd_real_args: --state-dir

    def console(self, uid: str) -> str:
        path = self.console_path(uid)
        return path.read_text(errors="replace") if path.exists() else ""

    def wait_console(self, uid: str, pattern: str, timeout: float = 180.0, after: int = 0) -> re.Match[str]:
        """The first match of pattern in the guest's console log (from byte offset `after`)."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            found = regex.search(self.console(uid)[after:])
            if found:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{pattern!r} not on the console of {uid} in {timeout} s:\n{self.console(uid)[-3000:]}"
                    f"\n--- hostd log ---\n{self.hostd_log()[-3000:]}"
                )
            time.sleep(0.5)

    # -- the data plane, observed directly ------------------------------------------------------------

    def domains(self) -> set[str]:
        """UUIDs of every libvirt domain (running or not)."""
        out = sh("virsh", "-c", self.dp.libvirt_uri, "list", "--all", "--uuid")
        return {line.strip() for line in out.splitlines() if line.strip()}

    def ovs_ports(self) -> set[str]:
        """Interfaces on br-int that carry an OVN logical port (external_ids:iface-id)."""
        out = sh(
            "ovs-vsctl",
            f"--db={self.dp.ovs_remote}",
            "--format=json",
            "--columns=name,external_ids",
            "list",
            "Interface",
        )
        rows = json.loads(out)["data"]
        return {name for name, ext in rows if any(k == "iface-id" for k, _ in ext[1])}

    def ovn_rows(self, table: str) -> list[dict[str, str]]:
        """external_ids of every row of an OVN Northbound table."""
        out = sh(
            "ovn-nbctl", f"--db={self.dp.ovn_nb}", "--format=json", "--columns=external_ids", "list", table
        )
        return [dict(row[0][1]) for row in json.loads(out)["data"]]

    def rbd_images(self, pool: str = "volumes") -> set[str]:
        out = sh("rbd", "-c", str(self.dp.ceph_conf), "ls", pool, "--format", "json")
        return set(json.loads(out or "[]"))

    def rbd_info(self, pool: str, image: str) -> dict[str, Any]:
        out = sh("rbd", "-c", str(self.dp.ceph_conf), "info", f"{pool}/{image}", "--format", "json")
        return dict(json.loads(out))


@contextlib.contextmanager
def guest_cloud(tmp: Path) -> Iterator[RealCloud]:
    """A RealCloud with the test guest image served over local HTTP and the guest manifests' infrastructure
    applied (guest_manifests.infra: zone az1, the Image `guest`, net1, SecurityGroups open and closed)."""
    from .guest_manifests import infra
    from .image_server import ensure_guest_image, serve_directory

    image = ensure_guest_image()
    sha = hashlib.sha256(image.read_bytes()).hexdigest()
    with serve_directory(image.parent) as base, RealCloud(tmp) as cloud:
        cloud.apply(infra(f"{base}/{image.name}", sha))
        yield cloud

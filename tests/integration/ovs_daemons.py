"""A simulated host's Open vSwitch and ovn-controller under a temporary directory, in a network namespace
of its own: ovsdb-server, ovs-vswitchd (userspace datapath) and ovn-controller.

Every daemon runs as a child process started through `ip netns exec` (which execs, so the child's PID is the
daemon's) with its own run/db/log directory (OVS_RUNDIR, OVS_DBDIR, OVS_LOGDIR, OVN_RUNDIR...), so bridges
and taps never collide with anything else on the machine. Daemons are stopped by PID, the namespaces
removed by name (unique per run); nothing is looked up or killed by process name.
Guest stand-ins are namespaces with a veth whose host end lives in the host's namespace.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import uuid
from pathlib import Path

from hostd.network import links

from .ovn_daemons import DaemonProcesses, wait_for

VSWITCH_SCHEMA = Path("/usr/share/openvswitch/vswitch.ovsschema")
BINARIES = (
    "ovsdb-tool",
    "ovsdb-server",
    "ovs-vswitchd",
    "ovs-vsctl",
    "ovn-controller",
    "ip",
    "ethtool",
    "ping",
)


class OvsHost(DaemonProcesses):
    """One host's OVS + ovn-controller, in network namespace `self.netns`."""

    def __init__(self, directory: Path, name: str = "host1") -> None:
        self.dir = directory
        self.name = name
        suffix = uuid.uuid4().hex[:8]
        self.netns = f"kt-{name}-{suffix}"
        self.suffix = suffix
        self.db_sock = directory / "db.sock"
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.namespaces: list[str] = []

    @property
    def remote(self) -> str:
        return f"unix:{self.db_sock}"

    @property
    def env(self) -> dict[str, str]:
        d = str(self.dir)
        return {
            **os.environ,
            "OVS_RUNDIR": d,
            "OVS_DBDIR": d,
            "OVS_LOGDIR": d,
            "OVS_SYSCONFDIR": d,
            "OVN_RUNDIR": d,
            "OVN_DBDIR": d,
            "OVN_LOGDIR": d,
            "OVN_SYSCONFDIR": d,
        }

    def start(self) -> None:
        """ovsdb-server (a fresh database, no `ovs-vsctl init`) and ovs-vswitchd, in the namespace."""
        missing = [b for b in BINARIES if shutil.which(b) is None]
        missing += [str(VSWITCH_SCHEMA)] if not VSWITCH_SCHEMA.exists() else []
        if missing:
            raise RuntimeError(
                f"Open vSwitch / OVN host tools are missing ({', '.join(missing)}): run scripts/setup.sh"
            )
        self.add_netns(self.netns)
        db = self.dir / "conf.db"
        subprocess.run(
            ["ovsdb-tool", "create", str(db), str(VSWITCH_SCHEMA)], check=True, capture_output=True
        )
        self._spawn(
            "ovsdb",
            [
                "ovsdb-server",
                f"--remote=punix:{self.db_sock}",
                f"--unixctl={self.dir / 'ovsdb.ctl'}",
                f"--log-file={self.dir / 'ovsdb.log'}",
                str(db),
            ],
        )
        wait_for(str(self.db_sock), self.db_sock.exists)
        self._spawn(
            "vswitchd",
            [
                "ovs-vswitchd",
                self.remote,
                f"--unixctl={self.dir / 'vswitchd.ctl'}",
                f"--log-file={self.dir / 'vswitchd.log'}",
            ],
        )
        wait_for("ovs-vswitchd's control socket", (self.dir / "vswitchd.ctl").exists)

    def start_controller(self) -> None:
        # ovn-controller has no --unixctl: its control socket is $OVN_RUNDIR/ovn-controller.PID.ctl
        self._spawn(
            "controller", ["ovn-controller", self.remote, f"--log-file={self.dir / 'controller.log'}"]
        )

    def stop_controller(self, sig: int = signal.SIGTERM) -> int:
        """Stop ovn-controller by PID with `sig`; its exit code."""
        proc = self.procs.pop("controller")
        proc.send_signal(sig)
        try:
            return proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()

    def controller_exit(self) -> int:
        """A graceful stop, as a service manager does it: `ovn-appctl exit` (ovn-controller then removes
        its Chassis rows), waited for by PID."""
        proc = self.procs.pop("controller")
        subprocess.run(
            ["ovn-appctl", "-t", str(self.dir / f"ovn-controller.{proc.pid}.ctl"), "exit"],
            check=True,
            capture_output=True,
            timeout=10,
        )
        return proc.wait(timeout=10)

    def _spawn(self, name: str, argv: list[str]) -> None:
        log = (self.dir / f"{name}.stderr").open("wb")
        self.procs[name] = subprocess.Popen(
            ["ip", "netns", "exec", self.netns, *argv], stdout=log, stderr=subprocess.STDOUT, env=self.env
        )
        log.close()

    # -- namespaces -------------------------------------------------------------------------------------

    def add_netns(self, name: str) -> str:
        links.create_netns(name)
        self.namespaces.append(name)
        return name

    def guest_name(self, n: int) -> str:
        return f"kt-g{n}-{self.suffix}"

    def guest(self, n: int) -> str:
        """A guest stand-in namespace, unique to this run (created)."""
        return self.add_netns(self.guest_name(n))

    def run_in(self, ns: str, *argv: str, check: bool = True, timeout: float = 30) -> str:
        result = subprocess.run(
            ["ip", "netns", "exec", ns, *argv], capture_output=True, text=True, check=False, timeout=timeout
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} in {ns}: {result.stdout}{result.stderr}")
        return result.stdout

    def vsctl(self, *args: str) -> str:
        result = subprocess.run(
            ["ovs-vsctl", f"--db={self.remote}", "--timeout=10", *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
        if result.returncode != 0:
            raise RuntimeError(f"ovs-vsctl {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout.strip()

    def stop(self) -> None:
        for name in ("controller", "vswitchd", "ovsdb"):
            proc = self.procs.pop(name, None)
            if proc is None:
                continue
            proc.terminate()  # by PID: Popen signals its own child
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for ns in reversed(self.namespaces):
            links.remove_netns(ns)  # its links (veth ends, taps) go with it
        self.namespaces.clear()

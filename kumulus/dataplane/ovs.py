"""Open vSwitch for the machine itself: ovsdb-server and ovs-vswitchd with the userspace (netdev) datapath.

This is the real data plane, so it runs in the machine's own network namespace (the test fixtures' OVS runs in
a namespace of its own), with its database, sockets and logs under this directory. The integration bridge is
created here, before ovn-controller starts, exactly as hostd plans it (marked `kumulus:owner=hostd`, secure
fail mode, no in-band flows): otherwise ovn-controller would create an unmarked br-int hostd must not touch.
On stop every bridge marked `kumulus:owner` is deleted and ovs-vswitchd exits with --cleanup, so the kernel
tap devices of the userspace datapath (br-int, ovs-netdev) go too.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from .service import Service, dir_env, ok, run, socket_answers

VSWITCH_SCHEMA = Path("/usr/share/openvswitch/vswitch.ovsschema")
INTEGRATION_BRIDGE = "br-int"
DATAPATH_TYPE = "netdev"  # no openvswitch kernel module on these machines
OWNER = "kumulus:owner"


def remote(directory: Path) -> str:
    return f"unix:{directory / 'db.sock'}"


def vsctl(directory: Path, *args: str) -> str:
    return run(["ovs-vsctl", f"--db={remote(directory)}", "--timeout=10", *args])


def marked_bridges(directory: Path) -> list[str]:
    table = json.loads(vsctl(directory, "--format=json", "--columns=name,external_ids", "list", "Bridge"))
    out = []
    for name, ids in table["data"]:
        if any(k == OWNER for k, _ in ids[1]):
            out.append(str(name))
    return sorted(out)


class Ovsdb(Service):
    name = "ovsdb-server"
    binaries = ("ovsdb-tool", "ovsdb-server", "ovs-vswitchd", "ovs-vsctl", "ovs-appctl")

    def env(self) -> dict[str, str]:
        return dir_env(self.dir)

    def argv(self) -> list[str]:
        return [
            "ovsdb-server",
            str(self.dir / "conf.db"),
            f"--remote=punix:{self.dir / 'db.sock'}",
            f"--unixctl={self.dir / 'ovsdb.ctl'}",
            f"--log-file={self.dir / 'ovsdb-server.log'}",
        ]

    def prepare(self) -> None:
        super().prepare()
        db = self.dir / "conf.db"
        if not db.exists():  # kept across restarts: bridges and ports outlive a restart, as on a server
            run(["ovsdb-tool", "create", str(db), str(VSWITCH_SCHEMA)])

    def stale_files(self) -> list[Path]:
        return [self.dir / "db.sock", self.dir / "ovsdb.ctl"]

    def ready(self, pid: int) -> bool:
        return socket_answers(self.dir / "db.sock")

    def configure(self) -> None:
        vsctl(self.dir, "--no-wait", "init")


class Vswitchd(Service):
    name = "ovs-vswitchd"

    def env(self) -> dict[str, str]:
        return dir_env(self.dir)

    def argv(self) -> list[str]:
        return [
            "ovs-vswitchd",
            remote(self.dir),
            f"--unixctl={self.dir / 'vswitchd.ctl'}",
            f"--log-file={self.dir / 'ovs-vswitchd.log'}",
        ]

    def stale_files(self) -> list[Path]:
        return [self.dir / "vswitchd.ctl"]

    def ready(self, pid: int) -> bool:
        return socket_answers(self.dir / "vswitchd.ctl")

    def configure(self) -> None:
        if ok(["ovs-vsctl", f"--db={remote(self.dir)}", "--timeout=10", "br-exists", INTEGRATION_BRIDGE]):
            return  # there: whoever created it owns it
        vsctl(
            self.dir,
            "add-br",
            INTEGRATION_BRIDGE,
            "--",
            "set",
            "Bridge",
            INTEGRATION_BRIDGE,
            f"datapath_type={DATAPATH_TYPE}",
            "fail_mode=secure",
            "other_config:disable-in-band=true",
            f'external_ids:"{OWNER}"=hostd',
            'external_ids:"kumulus:role"=integration',
        )

    def before_stop(self, pid: int) -> None:
        try:
            for bridge in marked_bridges(self.dir):
                vsctl(self.dir, "--if-exists", "del-br", bridge)
            # --cleanup: the datapath goes too (its ovs-netdev tap device); the process then exits by itself.
            run(["ovs-appctl", "-t", str(self.dir / "vswitchd.ctl"), "exit", "--cleanup"], timeout=15)
        except (RuntimeError, subprocess.TimeoutExpired, ValueError, KeyError):
            pass  # the supervisor still stops it by PID


def services(directory: Path) -> list[Service]:
    return [Ovsdb(directory), Vswitchd(directory)]

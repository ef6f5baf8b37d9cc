"""OVN for the machine: Northbound and Southbound ovsdb-servers, ovn-northd, and ovn-controller on the
machine's Open vSwitch (ovs.py). The databases are kept across restarts under this directory.

ovn-controller is told where the Southbound is through the Open_vSwitch external_ids hostd also sets
(system-id = the Host's name, encapsulation geneve on 127.0.0.1, the netdev datapath), so it registers a
Chassis before hostd runs; hostd's plan then finds the same values.
"""

from __future__ import annotations

from pathlib import Path

from . import ovs
from .service import Service, dir_env, run, socket_answers

NB_SCHEMA = Path("/usr/share/ovn/ovn-nb.ovsschema")
SB_SCHEMA = Path("/usr/share/ovn/ovn-sb.ovsschema")


def nb_remote(directory: Path) -> str:
    return f"unix:{directory / 'nb.sock'}"


def sb_remote(directory: Path) -> str:
    return f"unix:{directory / 'sb.sock'}"


class OvnDb(Service):
    binaries = ("ovsdb-tool", "ovsdb-server", "ovn-northd", "ovn-controller", "ovn-nbctl", "ovn-sbctl")

    def __init__(self, directory: Path, which: str, schema: Path) -> None:
        super().__init__(directory)
        self.which = which
        self.schema = schema
        self.name = f"ovn-{which}"

    def env(self) -> dict[str, str]:
        return dir_env(self.dir)

    def argv(self) -> list[str]:
        return [
            "ovsdb-server",
            str(self.dir / f"{self.which}.db"),
            f"--remote=punix:{self.dir / f'{self.which}.sock'}",
            f"--unixctl={self.dir / f'{self.which}.ctl'}",
            f"--log-file={self.dir / f'{self.name}.log'}",
        ]

    def prepare(self) -> None:
        super().prepare()
        db = self.dir / f"{self.which}.db"
        if not db.exists():
            run(["ovsdb-tool", "create", str(db), str(self.schema)])

    def stale_files(self) -> list[Path]:
        return [self.dir / f"{self.which}.sock", self.dir / f"{self.which}.ctl"]

    def ready(self, pid: int) -> bool:
        return socket_answers(self.dir / f"{self.which}.sock")


class Northd(Service):
    name = "ovn-northd"

    def env(self) -> dict[str, str]:
        return dir_env(self.dir)

    def argv(self) -> list[str]:
        return [
            "ovn-northd",
            f"--ovnnb-db={nb_remote(self.dir)}",
            f"--ovnsb-db={sb_remote(self.dir)}",
            f"--unixctl={self.dir / 'northd.ctl'}",
            f"--log-file={self.dir / 'ovn-northd.log'}",
        ]

    def stale_files(self) -> list[Path]:
        return [self.dir / "northd.ctl"]

    def ready(self, pid: int) -> bool:
        return socket_answers(self.dir / "northd.ctl")


class Controller(Service):
    name = "ovn-controller"

    def __init__(self, directory: Path, ovs_dir: Path, system_id: str) -> None:
        super().__init__(directory)
        self.ovs_dir = ovs_dir
        self.system_id = system_id

    def env(self) -> dict[str, str]:
        # Its control socket in OVN_RUNDIR (<dir>/ovn-controller.<pid>.ctl); the OpenFlow connection to the
        # integration bridge, <OVS_RUNDIR>/br-int.mgmt, where ovs-vswitchd made it: without that it registers
        # its chassis but never binds a port.
        return {**dir_env(self.dir), "OVS_RUNDIR": str(self.ovs_dir)}

    def argv(self) -> list[str]:
        return ["ovn-controller", ovs.remote(self.ovs_dir), f"--log-file={self.dir / 'ovn-controller.log'}"]

    def stale_files(self) -> list[Path]:
        return list(self.dir.glob("ovn-controller.*.ctl"))

    def prepare(self) -> None:
        super().prepare()
        ids = {
            "system-id": self.system_id,
            "hostname": self.system_id,
            "ovn-remote": sb_remote(self.dir),
            "ovn-encap-type": "geneve",
            "ovn-encap-ip": "127.0.0.1",
            "ovn-bridge": ovs.INTEGRATION_BRIDGE,
            "ovn-bridge-datapath-type": ovs.DATAPATH_TYPE,
        }
        ovs.vsctl(
            self.ovs_dir, "set", "Open_vSwitch", ".", *(f"external_ids:{k}={v}" for k, v in ids.items())
        )

    def ready(self, pid: int) -> bool:
        return socket_answers(self.dir / f"ovn-controller.{pid}.ctl")


def services(directory: Path, ovs_dir: Path, system_id: str) -> list[Service]:
    return [
        OvnDb(directory, "nb", NB_SCHEMA),
        OvnDb(directory, "sb", SB_SCHEMA),
        Northd(directory),
        Controller(directory, ovs_dir, system_id),
    ]

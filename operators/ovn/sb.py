"""The thin Southbound reader: load balancer members' health, Port bindings and ovn-controllers' progress.

    sb = SouthboundDB("unix:/run/ovn/ovnsb_db.sock")
    state = sb.read()
    state.monitors        # {(ip, port, "tcp", logical_port): "online" | "offline" | "error" | ""}
    state.bindings        # {logical_port: Binding(chassis name | None, up)}
    state.chassis_nb_cfg  # {chassis name: the nb_cfg its ovn-controller caught up with}
    state.nb_cfg          # SB_Global.nb_cfg (ovn-northd's copy of NB_Global.nb_cfg)

ovn-northd creates a Service_Monitor row per health-checked backend and a Port_Binding row per logical
port; ovn-controller, on the chassis of a port, checks its backends (Service_Monitor.status), claims the
port (Port_Binding.chassis, then up once its flows are in) and reports the nb_cfg it has processed
(Chassis_Private). Kumulus only reads them.

Only these tables and columns are replicated (a cloud's Southbound database is mostly logical flows), and
`read()` rebuilds the state only when the replica changed since the last call (the IDL's change_seqno),
so polling it every second costs a queue round trip to the connection thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ovsdbapp.backend.ovs_idl import command, connection, idlutils
from ovsdbapp.schema.ovn_southbound import impl_idl

from controllers.ovn.bindings import Binding

MonitorKey = tuple[str, int, str, str]

COLUMNS = {
    "SB_Global": ["nb_cfg"],
    "Chassis": ["name"],
    "Chassis_Private": ["name", "nb_cfg"],
    "Port_Binding": ["logical_port", "chassis", "up"],
    "Service_Monitor": ["ip", "port", "protocol", "logical_port", "status"],
}


@dataclass(frozen=True)
class SbState:
    monitors: dict[MonitorKey, str] = field(default_factory=dict)
    bindings: dict[str, Binding] = field(default_factory=dict)
    chassis_nb_cfg: dict[str, int] = field(default_factory=dict)
    nb_cfg: int = 0


def _state(tables: Any) -> SbState:
    monitors: dict[MonitorKey, str] = {}
    for row in tables["Service_Monitor"].rows.values():
        protocol = row.protocol[0] if row.protocol else "tcp"
        status = row.status[0] if row.status else ""
        monitors[(str(row.ip), int(row.port), str(protocol), str(row.logical_port))] = str(status)
    bindings = {
        str(pb.logical_port): Binding(
            str(pb.chassis[0].name) if pb.chassis else None, bool(pb.up and pb.up[0])
        )
        for pb in tables["Port_Binding"].rows.values()
    }
    chassis = {str(p.name): int(p.nb_cfg) for p in tables["Chassis_Private"].rows.values()}
    globals_ = list(tables["SB_Global"].rows.values())
    return SbState(monitors, bindings, chassis, int(globals_[0].nb_cfg) if globals_ else 0)


class _Read(command.BaseCommand):  # type: ignore[misc]
    READ_ONLY = True

    def __init__(self, api: Any, db: SouthboundDB) -> None:
        super().__init__(api)
        self.db = db

    def run_idl(self, txn: Any) -> None:
        seqno = self.api.idl.change_seqno
        if self.db._cache is None or self.db._cache[0] != seqno:
            self.db._cache = (seqno, _state(self.api.tables))
        self.result = self.db._cache[1]


class SouthboundDB:
    def __init__(self, remote: str, timeout: float = 10.0) -> None:
        helper = idlutils.get_schema_helper(remote, "OVN_Southbound")
        for table, columns in COLUMNS.items():
            helper.register_columns(table, columns)
        idl = connection.OvsdbIdl(remote, helper)
        # a class of our own per database (ovsdbapp keeps one connection per API class), as NorthboundDB
        api_class = type("KumulusSbApi", (impl_idl.OvnSbApiIdlImpl,), {"_ovsdb_connection": None})
        self._connection = connection.Connection(idl=idl, timeout=timeout)
        self.api = api_class(self._connection)
        self._cache: tuple[int, SbState] | None = None

    def read(self) -> SbState:
        state: SbState = _Read(self.api, self).execute(check_error=True)
        return state

    def service_monitors(self) -> dict[MonitorKey, str]:
        return self.read().monitors

    def close(self) -> None:
        self._connection.stop()

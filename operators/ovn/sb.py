"""The thin Southbound reader: the health of load balancer members, from the Service_Monitor rows.

    sb = SouthboundDB("unix:/run/ovn/ovnsb_db.sock")
    sb.service_monitors()   # {(ip, port, "tcp", logical_port): "online" | "offline" | "error" | ""}

ovn-northd creates a Service_Monitor row per health-checked backend (from the Northbound
Load_Balancer ip_port_mappings and Load_Balancer_Health_Check rows); ovn-controller, on the chassis of the
backend's port, checks it and writes `status`. Kumulus only reads them. Only that table is replicated.
"""

from __future__ import annotations

from typing import Any

from ovsdbapp.backend.ovs_idl import command, connection
from ovsdbapp.schema.ovn_southbound import impl_idl

MonitorKey = tuple[str, int, str, str]


class _ReadMonitors(command.BaseCommand):  # type: ignore[misc]
    READ_ONLY = True

    def run_idl(self, txn: Any) -> None:
        out: dict[MonitorKey, str] = {}
        for row in self.api.tables["Service_Monitor"].rows.values():
            protocol = row.protocol[0] if row.protocol else "tcp"
            status = row.status[0] if row.status else ""
            out[(str(row.ip), int(row.port), str(protocol), str(row.logical_port))] = str(status)
        self.result = out


class SouthboundDB:
    def __init__(self, remote: str, timeout: float = 10.0) -> None:
        idl = connection.OvsdbIdl.from_server(remote, "OVN_Southbound", helper_tables=["Service_Monitor"])
        # a class of our own per database (ovsdbapp keeps one connection per API class), as NorthboundDB
        api_class = type("KumulusSbApi", (impl_idl.OvnSbApiIdlImpl,), {"_ovsdb_connection": None})
        self._connection = connection.Connection(idl=idl, timeout=timeout)
        self.api = api_class(self._connection)

    def service_monitors(self) -> dict[MonitorKey, str]:
        monitors: dict[MonitorKey, str] = _ReadMonitors(self.api).execute(check_error=True)
        return monitors

    def close(self) -> None:
        self._connection.stop()

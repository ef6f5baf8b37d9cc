"""The thin Open vSwitch applier: observe the local database, apply an OVS plan in one transaction.

    ovs = OvsDB("unix:/var/run/openvswitch/db.sock")
    ovs.ensure(settings)            # == ovs.apply(plan(settings, ovs.observe()))

Both run as ovsdbapp commands in ovsdbapp's connection thread, like operators/ovn/nb.py does for the
Northbound database: `_Observe` reads a consistent snapshot of the IDL replica, `_Apply` turns the plan's
commands into IDL operations of one transaction (TRY_AGAIN retries re-run it from a fresh replica).
ovsdbapp's Open_vSwitch transaction also bumps next_cfg and waits for ovs-vswitchd to catch up, so when
apply() returns the bridges and ports exist in the datapath (or ovs-vswitchd logged why not).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ovsdbapp.backend.ovs_idl import command, connection, transaction
from ovsdbapp.schema.open_vswitch import impl_idl

from .ovs_plan import (
    AddBridge,
    AddPort,
    BridgeObs,
    Command,
    DeleteBridge,
    DeletePort,
    OvsObserved,
    PortObs,
    SetExternalIds,
    UpdateBridge,
    plan,
)
from .settings import OvsSettings

IdlRow = Any  # ovs.db.idl.Row


def _observe(tables: Any) -> OvsObserved:
    roots = list(tables["Open_vSwitch"].rows.values())
    external_ids = dict(roots[0].external_ids) if roots else {}
    bridges: dict[str, BridgeObs] = {}
    ports: dict[str, PortObs] = {}
    for br in tables["Bridge"].rows.values():
        bridges[br.name] = BridgeObs(
            name=br.name,
            datapath_type=br.datapath_type,
            fail_mode=br.fail_mode[0] if br.fail_mode else None,
            other_config=dict(br.other_config),
            external_ids=dict(br.external_ids),
        )
        for port in br.ports:
            iface = port.interfaces[0] if port.interfaces else None
            ofport = iface.ofport[0] if iface is not None and iface.ofport else None
            ports[port.name] = PortObs(
                name=port.name,
                bridge=br.name,
                external_ids=dict(port.external_ids),
                iface_type=iface.type if iface is not None else "",
                iface_ids=dict(iface.external_ids) if iface is not None else {},
                ofport=ofport,
            )
    return OvsObserved(external_ids, bridges, ports)


class _Observe(command.BaseCommand):  # type: ignore[misc]
    READ_ONLY = True

    def run_idl(self, txn: Any) -> None:
        self.result = _observe(self.api.tables)


class _Apply(command.BaseCommand):  # type: ignore[misc]
    def __init__(self, api: Any, commands: Sequence[Command]) -> None:
        super().__init__(api)
        self.commands = list(commands)

    def run_idl(self, txn: Any) -> None:
        tables = self.api.tables
        roots = list(tables["Open_vSwitch"].rows.values())
        root = roots[0] if roots else None
        # A fresh database has no root row: it is inserted last, with whole columns (key/value mutations
        # on a root row inserted in the same transaction were lost when tried).
        new_ids: dict[str, str] = {}
        new_bridges: list[IdlRow] = []
        bridges: dict[str, IdlRow] = {b.name: b for b in tables["Bridge"].rows.values()}
        port_bridge: dict[str, tuple[IdlRow, IdlRow]] = {
            p.name: (p, b) for b in tables["Bridge"].rows.values() for p in b.ports
        }

        def add_port(bridge: IdlRow, name: str, iface_type: str, ids: Any, iface_ids: Any) -> None:
            iface = txn.insert(tables["Interface"])
            iface.name = name
            iface.type = iface_type
            iface.external_ids = dict(iface_ids)
            # ovsdbapp's Open_vSwitch transaction reports interfaces that got no OpenFlow port.
            expected = getattr(txn, "expected_ifaces", None)
            if expected is not None:
                expected.add(iface.uuid)
            port = txn.insert(tables["Port"])
            port.name = name
            port.interfaces = [iface]
            port.external_ids = dict(ids)
            bridge.addvalue("ports", port)
            port_bridge[name] = (port, bridge)

        for c in self.commands:
            if isinstance(c, SetExternalIds):
                if root is None:
                    new_ids.update(c.values)
                    continue
                for key in c.remove:
                    root.delkey("external_ids", key)
                for key, value in c.values.items():
                    root.setkey("external_ids", key, value)
            elif isinstance(c, AddBridge):
                br = txn.insert(tables["Bridge"])
                br.name = c.name
                br.datapath_type = c.datapath_type
                br.fail_mode = [c.fail_mode] if c.fail_mode else []
                br.other_config = dict(c.other_config)
                br.external_ids = dict(c.external_ids)
                if root is None:
                    new_bridges.append(br)
                else:
                    root.addvalue("bridges", br)
                bridges[c.name] = br
                # The bridge's own internal port, as ovs-vsctl add-br makes it, marked like the bridge.
                add_port(br, c.name, "internal", c.external_ids, c.external_ids)
            elif isinstance(c, UpdateBridge):
                br = bridges[c.name]
                br.datapath_type = c.datapath_type
                br.fail_mode = [c.fail_mode] if c.fail_mode else []
                for key, value in c.other_config.items():
                    br.setkey("other_config", key, value)
            elif isinstance(c, DeleteBridge):
                br = bridges.pop(c.name)
                if root is not None:
                    root.delvalue("bridges", br)
                br.delete()  # its ports and interfaces go with it (garbage collected by ovsdb-server)
            elif isinstance(c, AddPort):
                add_port(bridges[c.bridge], c.name, c.iface_type, c.external_ids, c.iface_ids)
            elif isinstance(c, DeletePort):
                port, br = port_bridge.pop(c.name)
                br.delvalue("ports", port)
                port.delete()
        if root is None:
            root = txn.insert(tables["Open_vSwitch"])
            root.external_ids = new_ids
            root.bridges = new_bridges


class _Api(impl_idl.OvsdbIdl):  # type: ignore[misc]
    def create_transaction(self, check_error: bool = False, log_errors: bool = True, **kwargs: Any) -> Any:
        # ovsdbapp's Open_vSwitch transaction bumps next_cfg in the root row: a fresh database (no
        # `ovs-vsctl init` yet) has none, so its first transaction (which inserts it) is a plain one.
        if not self.tables["Open_vSwitch"].rows:
            return transaction.Transaction(
                self, self.ovsdb_connection, check_error=check_error, log_errors=log_errors
            )
        return super().create_transaction(check_error=check_error, log_errors=log_errors, **kwargs)


class OvsDB:
    """A connection to the local Open_vSwitch database with Kumulus's observe/apply/ensure."""

    def __init__(self, remote: str, timeout: float = 10.0) -> None:
        idl = connection.OvsdbIdl.from_server(remote, "Open_vSwitch")
        # ovsdbapp keeps one connection per API class: a class of our own per instance, so that several
        # OvsDBs (simulated hosts, or a test's fresh daemons) do not share the first one's connection.
        api_class = type("KumulusOvsApi", (_Api,), {"_ovsdb_connection": None})
        self._connection = connection.Connection(idl=idl, timeout=timeout)
        self.api = api_class(self._connection)

    def observe(self) -> OvsObserved:
        observed: OvsObserved = _Observe(self.api).execute(check_error=True)
        return observed

    def apply(self, commands: Iterable[Command]) -> None:
        """Execute commands in one transaction (nothing to do for none)."""
        commands = list(commands)
        if not commands:
            return
        with self.api.transaction(check_error=True) as txn:
            txn.add(_Apply(self.api, commands))

    def ensure(self, settings: OvsSettings) -> list[Command]:
        """Bring bridges and ovn-controller's settings to `settings`; returns the commands executed."""
        commands = plan(settings, self.observe())
        self.apply(commands)
        return commands

    def close(self) -> None:
        self._connection.stop()

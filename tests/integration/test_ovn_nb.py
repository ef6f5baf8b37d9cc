"""The Northbound plan applied by ovsdbapp to a real OVN: NB/SB ovsdb-servers and ovn-northd under a tmpdir.

What the applier wrote is checked with the real CLIs (ovn-nbctl, ovn-sbctl), what northd made of it with the
Southbound database and ovn-trace (which runs the logical flows northd computed: port security, ACLs).
Tests share one set of daemons and start from `converge(world())`, so each stands on its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from controllers.ovn import desired_rows, plan
from controllers.ovn.desired import port_group_name
from controllers.ovn.model import OWNER_UID, TABLES, AddRow, UpdateRow
from operators.ovn.nb import NorthboundDB
from tests.unit.test_ovn_plan import uid, without, world

from .ovn_daemons import OvnDaemons, as_set, wait_for

pytestmark = pytest.mark.integration

NETWORK_SWITCH = f"kumulus-{uid(2)}"
EXTERNAL_SWITCH = f"kumulus-{uid(1)}"
ROUTER = f"kumulus-{uid(8)}"
WEB_PORT, DB_PORT = uid(6), uid(7)
WEB_PG, DB_PG = port_group_name(uid(4)), port_group_name(uid(5))


@pytest.fixture(scope="module")
def ovn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OvnDaemons]:
    daemons = OvnDaemons(Path(tmp_path_factory.mktemp("ovn")))
    try:
        daemons.start()
        yield daemons
        daemons.check_alive()
    finally:
        daemons.stop()


@pytest.fixture(scope="module")
def nb(ovn: OvnDaemons) -> Iterator[NorthboundDB]:
    db = NorthboundDB(ovn.nb_remote)
    yield db
    db.close()


def converge(nb: NorthboundDB, objects: list[dict[str, Any]]) -> list[Any]:
    commands = nb.sync(desired_rows(objects))
    assert plan(desired_rows(objects), nb.observe()) == []
    return commands


def by_name(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in rows}


def kumulus_rows(ovn: OvnDaemons) -> list[tuple[str, dict[str, Any]]]:
    return [(t, row) for t in TABLES for row in ovn.nb_rows(t) if OWNER_UID in row["external_ids"]]


def await_observed(nb: NorthboundDB, predicate: Any) -> None:
    """Changes made with ovn-nbctl reach ovsdbapp's replica asynchronously."""
    wait_for("the change to reach the IDL", lambda: predicate(nb.observe()))


def trace(ovn: OvnDaemons, src: tuple[str, str, str], dst: tuple[str, str], tcp_port: int) -> str:
    port, mac, ip = src
    flow = (
        f'inport == "{port}" && eth.src == {mac} && eth.dst == {dst[0]} && ip4.src == {ip} '
        f"&& ip4.dst == {dst[1]} && ip.ttl == 64 && tcp && tcp.dst == {tcp_port}"
    )
    return ovn.trace(NETWORK_SWITCH, flow, "--minimal", "--no-friendly-names", "--ct=new", "--ct=new")


def test_apply_writes_the_rows_and_northd_accepts_them(ovn: OvnDaemons, nb: NorthboundDB) -> None:
    converge(nb, [])
    commands = converge(nb, world())
    assert len(commands) == len(desired_rows(world())) and all(isinstance(c, AddRow) for c in commands)

    ports = by_name(ovn.nb_rows("Logical_Switch_Port"))
    web = ports[WEB_PORT]
    assert as_set(web["addresses"]) == ["fa:16:3e:00:00:01 10.0.0.11"]
    assert sorted(as_set(web["port_security"])) == [
        "fa:16:3e:00:00:01 10.0.0.11 10.0.0.100",
        "fa:16:3e:00:00:99 10.2.0.0/16",
    ]
    assert web["external_ids"][OWNER_UID] == WEB_PORT
    assert ovn.nbctl("lsp-get-addresses", DB_PORT).split() == ["fa:16:3e:00:00:02", "10.0.0.12"]
    assert ports[f"kumulus-ln-{uid(1)}"]["options"] == {"network_name": "physnet1"}
    assert ports[f"kumulus-ln-{uid(1)}"]["tag"] == 42

    dhcp = ovn.nb_rows("DHCP_Options")
    assert [d["cidr"] for d in dhcp] == ["10.0.0.0/24"]
    assert web["dhcpv4_options"] == dhcp[0]["_uuid"]
    assert dhcp[0]["options"]["router"] == "10.0.0.1"

    groups = by_name(ovn.nb_rows("Port_Group"))
    assert as_set(groups[WEB_PG]["ports"]) == [web["_uuid"]]
    acls = ovn.nbctl("acl-list", DB_PG)
    assert f"tcp.dst == 5432 && ip4.src == ${WEB_PG}_ip4) allow-related" in acls
    assert f"(outport == @{DB_PG} && ip) drop" in acls

    assert ovn.nbctl("lrp-get-gateway-chassis", f"kumulus-lrp-{uid(8)}-{uid(1)}").split()[1:] == ["1"]
    nats = ovn.nbctl("lr-nat-list", ROUTER)
    assert "dnat_and_snat" in nats and "203.0.113.20" in nats and "snat" in nats
    routes = ovn.nbctl("lr-route-list", ROUTER)
    assert "0.0.0.0/0" in routes and "203.0.113.1" in routes and "192.168.0.0/16" in routes

    # northd turned it into Southbound datapaths and port bindings: it accepted the Northbound content
    def datapaths() -> set[str]:
        return {row["external_ids"].get("name") for row in ovn.sb_rows("Datapath_Binding")}

    wait_for("northd's datapaths", lambda: {NETWORK_SWITCH, EXTERNAL_SWITCH, ROUTER} <= datapaths())
    wait_for(
        "northd's port bindings",
        lambda: {WEB_PORT, DB_PORT} <= {b["logical_port"] for b in ovn.sb_rows("Port_Binding")},
    )


def test_the_logical_flows_enforce_port_security_and_security_groups(
    ovn: OvnDaemons, nb: NorthboundDB
) -> None:
    converge(nb, world())
    web = (WEB_PORT, "fa:16:3e:00:00:01", "10.0.0.11")
    db = ("fa:16:3e:00:00:02", "10.0.0.12")

    def allowed() -> bool:
        return f'output("{DB_PORT}")' in trace(ovn, web, db, 5432)

    wait_for("northd's logical flows", allowed)
    assert "output" not in trace(ovn, web, db, 22)  # db's group allows only 5432
    assert "output" not in trace(ovn, (WEB_PORT, web[1], "10.0.0.100"), db, 5432)  # not in web's address set
    assert "ct_next" not in trace(ovn, (WEB_PORT, web[1], "10.0.0.99"), db, 5432)  # port security drops it


def test_a_second_plan_is_empty(nb: NorthboundDB) -> None:
    converge(nb, world())
    assert plan(desired_rows(world()), nb.observe()) == []
    assert nb.sync(desired_rows(world())) == []


def test_rows_deleted_or_changed_by_hand_are_repaired(ovn: OvnDaemons, nb: NorthboundDB) -> None:
    converge(nb, world())
    ovn.nbctl("lsp-del", WEB_PORT)
    ovn.nbctl("acl-del", DB_PG, "to-lport", "1001", f"outport == @{DB_PG} && ip")
    ovn.nbctl("lsp-set-port-security", DB_PORT)
    await_observed(
        nb,
        lambda rows: (
            ("Logical_Switch_Port", WEB_PORT) not in rows
            and rows[("Logical_Switch_Port", DB_PORT)].columns["port_security"] == ()
        ),
    )
    commands = converge(nb, world())
    assert {(type(c).__name__, c.table) for c in commands} == {
        ("AddRow", "Logical_Switch_Port"),
        ("AddRow", "ACL"),
        ("UpdateRow", "Port_Group"),
        ("UpdateRow", "Logical_Switch_Port"),
    }
    assert (
        UpdateRow("Logical_Switch_Port", DB_PORT, {"port_security": ("fa:16:3e:00:00:02 10.0.0.12",)})
        in commands
    )
    assert ovn.nbctl("lsp-get-port-security", DB_PORT).split() == ["fa:16:3e:00:00:02", "10.0.0.12"]
    assert WEB_PORT in by_name(ovn.nb_rows("Logical_Switch_Port"))
    assert f"(outport == @{DB_PG} && ip) drop" in ovn.nbctl("acl-list", DB_PG)


def test_rows_of_a_removed_owner_go(ovn: OvnDaemons, nb: NorthboundDB) -> None:
    converge(nb, world())
    converge(nb, without(world(), "r1", "db-1"))
    assert ROUTER not in ovn.nbctl("lr-list")
    ports = by_name(ovn.nb_rows("Logical_Switch_Port"))
    assert DB_PORT not in ports and not [p for p in ports if p.startswith("kumulus-rp-")]
    assert as_set(by_name(ovn.nb_rows("Port_Group"))[DB_PG]["ports"]) == []
    assert ovn.nb_rows("NAT") == [] and ovn.nb_rows("Logical_Router_Static_Route") == []
    wait_for(
        "northd to drop the router's datapath",
        lambda: all(row["external_ids"].get("name") != ROUTER for row in ovn.sb_rows("Datapath_Binding")),
    )
    converge(nb, world())
    assert ROUTER in ovn.nbctl("lr-list")


def test_an_owned_row_whose_owner_is_gone_is_deleted(ovn: OvnDaemons, nb: NorthboundDB) -> None:
    converge(nb, world())
    ovn.nbctl(
        "ls-add", "stray", "--", "set", "Logical_Switch", "stray", 'external_ids:"kumulus:owner-uid"=gone'
    )
    await_observed(nb, lambda rows: any(key.startswith("uuid:") for _, key in rows))
    commands = converge(nb, world())
    assert [(type(c).__name__, c.table) for c in commands] == [("DeleteRow", "Logical_Switch")]
    assert "stray" not in ovn.nbctl("ls-list")


def test_a_floating_ip_moves_between_routers(ovn: OvnDaemons, nb: NorthboundDB) -> None:
    second = {
        "kind": "Router",
        "metadata": {"uid": uid(10), "name": "r2", "namespace": "p1"},
        "spec": {
            "externalGateway": {"network": "public"},
            "interfaces": [{"subnet": "private-v4", "ipAddress": "10.0.0.2"}],
        },
        "status": {"externalGatewayIPs": ["203.0.113.11"]},
    }
    objects = [*world(), second]
    converge(nb, objects)
    objects[8]["status"]["router"] = "r2"
    assert converge(nb, objects) == [UpdateRow("NAT", f"fip-{uid(9)}", {}, f"kumulus-{uid(10)}")]
    assert "203.0.113.20" in ovn.nbctl("lr-nat-list", f"kumulus-{uid(10)}")
    assert "203.0.113.20" not in ovn.nbctl("lr-nat-list", ROUTER)
    assert len(ovn.nb_rows("NAT")) == 3  # r1's snat, r2's snat, the floating IP's


def test_rows_made_by_hand_survive_every_resync_and_kumulus_leaves_nothing(
    ovn: OvnDaemons, nb: NorthboundDB
) -> None:
    converge(nb, world())
    ovn.nbctl("ls-add", "hand-made", "--", "lsp-add", "hand-made", "hand-port")
    ovn.nbctl("pg-add", "pg_hand", "hand-port")
    ovn.nbctl("acl-add", "pg_hand", "to-lport", "1002", "outport == @pg_hand && ip4", "allow-related")
    ovn.nbctl("lr-add", "hand-router")
    ovn.nbctl("dhcp-options-create", "192.168.9.0/24")
    ovn.nbctl("lsp-add", NETWORK_SWITCH, "hand-on-ours")  # a foreign port on a Kumulus switch
    hand_on_ours = by_name(ovn.nb_rows("Logical_Switch_Port"))["hand-on-ours"]["_uuid"]

    def foreign() -> list[tuple[str, str]]:
        return sorted(
            (t, row["_uuid"])
            for t in TABLES
            for row in ovn.nb_rows(t)
            if OWNER_UID not in row["external_ids"]
        )

    before = foreign()
    assert len(before) == 7  # switch, 2 ports, port group, ACL, router, DHCP options
    for objects in (world(), without(world(), "web", "r1"), world()):
        converge(nb, objects)
        assert foreign() == before

    converge(nb, [])
    assert kumulus_rows(ovn) == []
    # everything foreign is still there, except the port hand-added to a Kumulus switch: OVSDB collects it
    # with its switch (a Logical_Switch_Port only exists in a switch)
    assert foreign() == [f for f in before if f[1] != hand_on_ours]
    assert "hand-made" in ovn.nbctl("ls-list") and "hand-router" in ovn.nbctl("lr-list")
    assert ovn.nbctl("acl-list", "pg_hand").strip() != ""
    wait_for(
        "northd to drop Kumulus's datapaths",
        lambda: (
            {row["external_ids"].get("name") for row in ovn.sb_rows("Datapath_Binding")}
            == {"hand-made", "hand-router"}
        ),
    )

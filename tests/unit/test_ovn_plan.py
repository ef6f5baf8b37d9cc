"""The OVN Northbound planner: (desired, observed) -> commands as data, checked against a strict fake NB.

The fake applies commands one by one like an OVSDB transaction would, but refuses anything a careless
order would get wrong: adding a row twice, a child whose parent does not exist, a reference to a missing
row, deleting a row that is still a parent or still referenced, or touching a row Kumulus does not own.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from controllers.ovn.desired import acl_key, derived_mac, desired_rows, parse, port_group_name
from controllers.ovn.model import (
    KEY,
    OWNER_KIND,
    OWNER_NAME,
    OWNER_NAMESPACE,
    OWNER_UID,
    TABLES,
    AddRow,
    Command,
    DeleteRow,
    Ref,
    Row,
    RowId,
    Rows,
    UpdateRow,
    owned,
)
from controllers.ovn.plan import plan

NS = "p1"


def uid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


class Rejected(Exception):
    pass


class FakeNB:
    """An in-memory Northbound database that applies plan commands faithfully and strictly."""

    def __init__(self) -> None:
        self.rows: Rows = {}

    def add_foreign(
        self, table: str, key: str, columns: Mapping[str, Any], parent: str | None = None
    ) -> None:
        """A row someone else made: no Kumulus marks."""
        self.rows[(table, key)] = Row(table, key, dict(columns), parent)

    def observe(self) -> Rows:
        return {
            rid: copy.deepcopy(row)
            for rid, row in self.rows.items()
            if owned(row.columns.get("external_ids", {}))  # type: ignore[arg-type]
        }

    def apply(self, commands: Iterable[Command]) -> None:
        """All or nothing, like one transaction."""
        rows = dict(self.rows)
        for command in commands:
            self._apply(rows, command)
        self.rows = rows

    @staticmethod
    def _check_refs(rows: Rows, row: Row) -> None:
        table = TABLES[row.table]
        if table.parent is not None:
            if row.parent is None or (table.parent[0], row.parent) not in rows:
                raise Rejected(f"{row.id}: parent {row.parent} missing")
        elif row.parent is not None:
            raise Rejected(f"{row.id}: root table row with a parent")
        for column, target in table.ref_tables.items():
            for ref in row.columns.get(column, ()):  # type: ignore[union-attr]
                assert isinstance(ref, Ref) and ref.table == target, (row.id, column, ref)
                if ref.table != target or (ref.table, ref.key) not in rows:
                    raise Rejected(f"{row.id}.{column} refers to missing {ref}")

    def _owned(self, rows: Rows, rid: RowId) -> Row:
        row = rows.get(rid)
        if row is None:
            raise Rejected(f"{rid} does not exist")
        if not owned(row.columns.get("external_ids", {})):  # type: ignore[arg-type]
            raise Rejected(f"{rid} is not Kumulus's")
        return row

    def _apply(self, rows: Rows, c: Command) -> None:
        if isinstance(c, AddRow):
            if (c.table, c.key) in rows:
                raise Rejected(f"{(c.table, c.key)} exists")
            if set(c.columns) != set(TABLES[c.table].columns):
                raise Rejected(f"{c.table}: columns {sorted(c.columns)}")
            row = Row(c.table, c.key, dict(c.columns), c.parent)
            self._check_refs(rows, row)
            rows[row.id] = row
        elif isinstance(c, UpdateRow):
            old = self._owned(rows, (c.table, c.key))
            if not c.columns and c.parent is None:
                raise Rejected(f"empty update of {old.id}")
            if not set(c.columns) <= set(TABLES[c.table].columns):
                raise Rejected(f"{c.table}: columns {sorted(c.columns)}")
            row = Row(c.table, c.key, {**old.columns, **c.columns}, c.parent or old.parent)
            self._check_refs(rows, row)
            rows[row.id] = row
        else:
            row = self._owned(rows, (c.table, c.key))
            for other in rows.values():
                table = TABLES.get(other.table)
                if table is None:
                    continue
                if (
                    table.parent == (row.table, table.parent[1] if table.parent else "")
                    and other.parent == row.key
                ):
                    raise Rejected(f"delete {row.id}: still parent of {other.id}")
                for column in table.ref_tables:
                    if Ref(row.table, row.key) in other.columns.get(column, ()):  # type: ignore[operator]
                        raise Rejected(f"delete {row.id}: still referenced by {other.id}.{column}")
            del rows[row.id]


# -- a realistic project ---------------------------------------------------------------------------------


def obj(
    kind: str, n: int, name: str, spec: dict[str, Any], status: dict[str, Any] | None = None
) -> dict[str, Any]:
    meta = {"uid": uid(n), "name": name}
    if kind != "ExternalNetwork":
        meta["namespace"] = NS
    return {"kind": kind, "metadata": meta, "spec": spec, "status": status or {}}


def world() -> list[dict[str, Any]]:
    return [
        obj(
            "ExternalNetwork",
            1,
            "public",
            {"physicalNetwork": "physnet1", "cidr": "203.0.113.0/24", "gatewayIP": "203.0.113.1", "vlan": 42},
        ),
        obj("Network", 2, "private", {"mtu": 1400}, {"segmentationId": 1001}),
        obj(
            "Subnet",
            3,
            "private-v4",
            {
                "network": "private",
                "cidr": "10.0.0.0/24",
                "gatewayIP": "10.0.0.1",
                "dnsServers": ["192.0.2.53"],
            },
        ),
        obj(
            "SecurityGroup",
            4,
            "web",
            {
                "rules": [
                    {
                        "direction": "Ingress",
                        "protocol": "tcp",
                        "portRangeMin": 22,
                        "remoteCIDR": "0.0.0.0/0",
                    },
                    {
                        "direction": "Ingress",
                        "protocol": "tcp",
                        "portRangeMin": 8000,
                        "portRangeMax": 8080,
                        "remoteCIDR": "10.1.0.0/16",
                    },
                    {"direction": "Ingress", "protocol": "icmp", "icmpType": 8},
                    {"direction": "Ingress", "remoteGroup": "web"},
                    {"direction": "Egress"},
                    {"direction": "Egress", "ethertype": "IPv6"},
                ]
            },
        ),
        obj(
            "SecurityGroup",
            5,
            "db",
            {
                "rules": [
                    {"direction": "Ingress", "protocol": "tcp", "portRangeMin": 5432, "remoteGroup": "web"}
                ]
            },
        ),
        obj(
            "Port",
            6,
            "web-1",
            {
                "network": "private",
                "securityGroups": ["web"],
                "allowedAddressPairs": [
                    {"ipAddress": "10.0.0.100"},
                    {"ipAddress": "10.2.0.0/16", "macAddress": "fa:16:3e:00:00:99"},
                ],
            },
            {
                "macAddress": "fa:16:3e:00:00:01",
                "addresses": [{"subnet": "private-v4", "ipAddress": "10.0.0.11"}],
            },
        ),
        obj(
            "Port",
            7,
            "db-1",
            {"network": "private", "securityGroups": ["db"], "macAddress": "fa:16:3e:00:00:02"},
            {"addresses": [{"subnet": "private-v4", "ipAddress": "10.0.0.12"}], "host": "host1"},
        ),
        obj(
            "Router",
            8,
            "r1",
            {
                "externalGateway": {"network": "public"},
                "interfaces": [{"subnet": "private-v4"}],
                "routes": [{"destination": "192.168.0.0/16", "nextHop": "10.0.0.254"}],
            },
            {"externalGatewayIPs": ["203.0.113.10"], "host": "gw1"},
        ),
        obj(
            "FloatingIP",
            9,
            "fip1",
            {"externalNetwork": "public", "port": "web-1"},
            {"address": "203.0.113.20", "router": "r1"},
        ),
    ]


def without(objects: list[dict[str, Any]], *names: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["metadata"]["name"] not in names]


def converge(nb: FakeNB, objects: list[dict[str, Any]]) -> list[Command]:
    commands = plan(desired_rows(objects), nb.observe())
    nb.apply(commands)
    assert plan(desired_rows(objects), nb.observe()) == []
    return commands


def table(rows: Rows, name: str) -> dict[str, Row]:
    return {key: row for (t, key), row in rows.items() if t == name}


# -- commands as data ------------------------------------------------------------------------------------


def test_one_network_from_nothing_is_one_add_and_then_nothing() -> None:
    net = obj("Network", 2, "private", {}, {"segmentationId": 7})
    commands = plan(desired_rows([net]), {})
    ls = f"kumulus-{uid(2)}"
    assert commands == [
        AddRow(
            "Logical_Switch",
            ls,
            {
                "name": ls,
                "other_config": {"requested-tnl-key": "7"},
                "load_balancer": (),
                "external_ids": {
                    OWNER_UID: uid(2),
                    OWNER_KIND: "Network",
                    OWNER_NAMESPACE: NS,
                    OWNER_NAME: "private",
                    KEY: ls,
                    "kumulus:mtu": "1450",
                },
            },
        )
    ]
    nb = FakeNB()
    nb.apply(commands)
    assert plan(desired_rows([net]), nb.observe()) == []


def test_first_plan_adds_parents_and_referenced_rows_first_and_converges() -> None:
    nb = FakeNB()
    commands = converge(nb, world())
    assert all(isinstance(c, AddRow) for c in commands)
    ranks = [TABLES[c.table].rank for c in commands]
    assert ranks == sorted(ranks)
    counts: dict[str, int] = {}
    for c in commands:
        counts[c.table] = counts.get(c.table, 0) + 1
    assert counts == {
        "Logical_Switch": 2,
        "Logical_Router": 1,
        "DHCP_Options": 1,
        "Logical_Switch_Port": 5,  # localnet, 2 VM ports, 2 router ports
        "Logical_Router_Port": 2,
        "Gateway_Chassis": 1,
        "Port_Group": 2,
        "ACL": 13,  # web: 3 built-in + 6 rules, db: 3 + 1
        "NAT": 2,
        "Logical_Router_Static_Route": 2,
    }


def test_every_row_is_marked_with_its_owner() -> None:
    by_uid = {o["metadata"]["uid"]: o for o in world()}
    for row in desired_rows(world()).values():
        ids = row.columns["external_ids"]
        assert isinstance(ids, dict)
        owner = by_uid[ids[OWNER_UID]]
        assert ids[OWNER_KIND] == owner["kind"]
        assert ids[OWNER_NAME] == owner["metadata"]["name"]
        assert ids[OWNER_NAMESPACE] == owner["metadata"].get("namespace", "")
        assert ids[KEY] == row.key


def test_port_maps_to_a_logical_switch_port_named_after_its_uid() -> None:
    rows = desired_rows(world())
    web = rows[("Logical_Switch_Port", uid(6))]
    assert web.parent == f"kumulus-{uid(2)}"
    assert web.columns["name"] == uid(6)
    assert web.columns["type"] == ""
    assert web.columns["addresses"] == ("fa:16:3e:00:00:01 10.0.0.11",)
    assert web.columns["port_security"] == (  # allowed address pairs join the entry of their MAC
        "fa:16:3e:00:00:01 10.0.0.11 10.0.0.100",
        "fa:16:3e:00:00:99 10.2.0.0/16",
    )
    assert web.columns["dhcpv4_options"] == (Ref("DHCP_Options", f"dhcp-{uid(3)}"),)
    assert web.columns["options"] == {}
    db = rows[("Logical_Switch_Port", uid(7))]
    assert db.columns["addresses"] == ("fa:16:3e:00:00:02 10.0.0.12",)  # MAC from spec, status lacks it
    assert db.columns["options"] == {"requested-chassis": "host1"}


def test_port_security_off_means_no_port_security_and_no_group() -> None:
    objects = world()
    objects[5]["spec"] = {"network": "private", "portSecurity": False, "securityGroups": []}
    rows = desired_rows(objects)
    assert rows[("Logical_Switch_Port", uid(6))].columns["port_security"] == ()
    assert rows[("Port_Group", port_group_name(uid(4)))].columns["ports"] == ()


def test_network_default_port_security_and_default_group() -> None:
    objects = [*world(), obj("SecurityGroup", 20, "default", {"rules": []})]
    objects[1]["spec"]["portSecurity"] = False
    objects[6]["spec"] = {"network": "private", "portSecurity": True, "macAddress": "fa:16:3e:00:00:02"}
    rows = desired_rows(objects)
    assert rows[("Logical_Switch_Port", uid(6))].columns["port_security"] == ()
    assert rows[("Logical_Switch_Port", uid(7))].columns["port_security"] != ()
    # securityGroups unset: the namespace's default group
    assert rows[("Port_Group", port_group_name(uid(20)))].columns["ports"] == (
        Ref("Logical_Switch_Port", uid(7)),
    )


def test_port_without_a_mac_gets_no_row_until_it_has_one() -> None:
    objects = world()
    objects[6]["spec"].pop("macAddress")
    assert ("Logical_Switch_Port", uid(7)) not in desired_rows(objects)
    nb = FakeNB()
    converge(nb, objects)
    objects[6]["status"]["macAddress"] = "fa:16:3e:00:00:02"
    commands = converge(nb, objects)
    assert [(type(c).__name__, c.table) for c in commands] == [
        ("AddRow", "Logical_Switch_Port"),
        ("UpdateRow", "Port_Group"),
    ]


def test_dhcp_options_of_a_subnet() -> None:
    rows = desired_rows(world())
    dhcp = rows[("DHCP_Options", f"dhcp-{uid(3)}")]
    assert dhcp.columns["cidr"] == "10.0.0.0/24"
    assert dhcp.columns["options"] == {
        "server_id": "10.0.0.1",
        "server_mac": derived_mac(f"dhcp-{uid(3)}"),
        "lease_time": "43200",
        "mtu": "1400",
        "router": "10.0.0.1",
        "dns_server": "192.0.2.53",
    }


def test_dhcp_disabled_subnet_has_no_options_and_ports_no_reference() -> None:
    objects = world()
    objects[2]["spec"]["enableDHCP"] = False
    rows = desired_rows(objects)
    assert table(rows, "DHCP_Options") == {}
    assert rows[("Logical_Switch_Port", uid(6))].columns["dhcpv4_options"] == ()


def test_security_group_acls() -> None:
    rows = desired_rows(world())
    web, db = port_group_name(uid(4)), port_group_name(uid(5))
    assert web == "pg_00000000_0000_4000_8000_000000000004"
    assert rows[("Port_Group", web)].columns["ports"] == (Ref("Logical_Switch_Port", uid(6)),)
    acls = {
        (r.columns["direction"], r.columns["priority"], r.columns["match"], r.columns["action"])
        for r in table(rows, "ACL").values()
        if r.parent == web
    }
    assert acls == {
        ("to-lport", 1001, f"outport == @{web} && ip", "drop"),
        ("from-lport", 1001, f"inport == @{web} && ip", "drop"),
        (
            "from-lport",
            1002,
            f"inport == @{web} && ((ip4 && udp.src == 68 && udp.dst == 67) || (ip6 && udp.src == 546 && udp.dst == 547))",
            "allow",
        ),
        ("to-lport", 1002, f"outport == @{web} && ip4 && tcp && tcp.dst == 22", "allow-related"),
        (
            "to-lport",
            1002,
            f"outport == @{web} && ip4 && tcp && tcp.dst >= 8000 && tcp.dst <= 8080 && ip4.src == 10.1.0.0/16",
            "allow-related",
        ),
        ("to-lport", 1002, f"outport == @{web} && ip4 && icmp4 && icmp4.type == 8", "allow-related"),
        ("to-lport", 1002, f"outport == @{web} && ip4 && ip4.src == ${web}_ip4", "allow-related"),
        ("from-lport", 1002, f"inport == @{web} && ip4", "allow-related"),
        ("from-lport", 1002, f"inport == @{web} && ip6", "allow-related"),
    }
    db_rules = [
        r.columns["match"]
        for r in table(rows, "ACL").values()
        if r.parent == db and r.columns["priority"] == 1002
    ]
    assert f"outport == @{db} && ip4 && tcp && tcp.dst == 5432 && ip4.src == ${web}_ip4" in db_rules


def test_rule_with_a_missing_remote_group_is_left_out() -> None:
    objects = without(world(), "web")
    rows = desired_rows(objects)
    db = port_group_name(uid(5))
    assert [
        r for r in table(rows, "ACL").values() if r.parent == db and "5432" in str(r.columns["match"])
    ] == []


def test_router_rows() -> None:
    rows = desired_rows(world())
    lr = f"kumulus-{uid(8)}"
    inside, outside = f"kumulus-lrp-{uid(8)}-{uid(2)}", f"kumulus-lrp-{uid(8)}-{uid(1)}"
    assert rows[("Logical_Router", lr)].columns["name"] == lr
    assert rows[("Logical_Router_Port", inside)].columns["networks"] == ("10.0.0.1/24",)
    assert rows[("Logical_Router_Port", inside)].parent == lr
    assert rows[("Logical_Router_Port", outside)].columns["networks"] == ("203.0.113.10/24",)
    peer = rows[("Logical_Switch_Port", f"kumulus-rp-{uid(8)}-{uid(2)}")]
    assert (peer.parent, peer.columns["type"], peer.columns["addresses"], peer.columns["options"]) == (
        f"kumulus-{uid(2)}",
        "router",
        ("router",),
        {"router-port": inside},
    )
    gw_peer = rows[("Logical_Switch_Port", f"kumulus-rp-{uid(8)}-{uid(1)}")]
    assert gw_peer.parent == f"kumulus-{uid(1)}"
    assert gw_peer.columns["options"] == {"router-port": outside, "nat-addresses": "router"}
    chassis = rows[("Gateway_Chassis", f"{outside}_gw1")]
    assert (chassis.parent, chassis.columns["chassis_name"], chassis.columns["priority"]) == (
        outside,
        "gw1",
        1,
    )
    routes = {
        (r.columns["ip_prefix"], r.columns["nexthop"])
        for r in table(rows, "Logical_Router_Static_Route").values()
    }
    assert routes == {("0.0.0.0/0", "203.0.113.1"), ("192.168.0.0/16", "10.0.0.254")}
    nats = {
        (
            r.columns["type"],
            r.columns["external_ip"],
            r.columns["logical_ip"],
            r.columns["logical_port"],
            r.parent,
        )
        for r in table(rows, "NAT").values()
    }
    assert nats == {
        ("snat", "203.0.113.10", "10.0.0.0/24", (), lr),
        ("dnat_and_snat", "203.0.113.20", "10.0.0.11", (uid(6),), lr),
    }
    localnet = rows[("Logical_Switch_Port", f"kumulus-ln-{uid(1)}")]
    assert (localnet.columns["type"], localnet.columns["options"], localnet.columns["tag"]) == (
        "localnet",
        {"network_name": "physnet1"},
        (42,),
    )


def test_snat_off_and_no_gateway_address_yet() -> None:
    objects = world()
    objects[7]["spec"]["externalGateway"]["enableSNAT"] = False
    assert [r.columns["type"] for r in table(desired_rows(objects), "NAT").values()] == ["dnat_and_snat"]
    objects[7]["status"] = {}
    rows = desired_rows(objects)
    assert table(rows, "NAT") == {}  # no gateway address: no gateway port, so no NAT at all
    assert len(table(rows, "Logical_Router_Port")) == 1


def test_floating_ip_without_status_router_finds_the_router() -> None:
    objects = world()
    objects[8]["status"].pop("router")
    assert ("NAT", f"fip-{uid(9)}") in desired_rows(objects)


def test_floating_ip_moving_to_another_router_is_an_update_with_a_new_parent() -> None:
    nb = FakeNB()
    objects = [
        *world(),
        obj(
            "Router",
            10,
            "r2",
            {
                "externalGateway": {"network": "public"},
                "interfaces": [{"subnet": "private-v4", "ipAddress": "10.0.0.2"}],
            },
            {"externalGatewayIPs": ["203.0.113.11"]},
        ),
    ]
    converge(nb, objects)
    objects[8]["status"]["router"] = "r2"
    commands = converge(nb, objects)
    assert commands == [UpdateRow("NAT", f"fip-{uid(9)}", {}, f"kumulus-{uid(10)}")]


def test_changing_a_rule_replaces_one_acl() -> None:
    nb = FakeNB()
    objects = world()
    converge(nb, objects)
    objects[4]["spec"]["rules"][0]["portRangeMin"] = 5433
    commands = converge(nb, objects)
    assert [(type(c).__name__, c.table) for c in commands] == [("AddRow", "ACL"), ("DeleteRow", "ACL")]


def test_identical_rules_collapse_into_one_acl() -> None:
    objects = world()
    objects[3]["spec"]["rules"].append({"direction": "Egress"})
    assert len(table(desired_rows(objects), "ACL")) == 13


# -- resync: drift repair, owners gone, foreign rows -----------------------------------------------------


def test_a_row_deleted_by_hand_is_recreated() -> None:
    nb = FakeNB()
    converge(nb, world())
    lsp = ("Logical_Switch_Port", uid(6))
    gone = nb.rows.pop(lsp)
    pg = nb.rows[("Port_Group", port_group_name(uid(4)))]  # OVSDB drops weak references to a deleted row
    nb.rows[pg.id] = Row(pg.table, pg.key, {**pg.columns, "ports": ()}, pg.parent)
    commands = converge(nb, world())
    assert commands == [
        AddRow(gone.table, gone.key, gone.columns, gone.parent),
        UpdateRow("Port_Group", pg.key, {"ports": (Ref(*lsp),)}),
    ]


def test_a_column_changed_by_hand_is_set_back() -> None:
    nb = FakeNB()
    converge(nb, world())
    rid = ("Logical_Switch_Port", uid(6))
    row = nb.rows[rid]
    nb.rows[rid] = Row(row.table, row.key, {**row.columns, "port_security": ()}, row.parent)
    assert converge(nb, world()) == [UpdateRow(*rid, {"port_security": row.columns["port_security"]})]


def test_rows_of_a_removed_owner_go_children_first() -> None:
    nb = FakeNB()
    converge(nb, world())
    commands = converge(nb, without(world(), "r1"))
    assert all(isinstance(c, DeleteRow) for c in commands)
    assert [c.table for c in commands] == [
        "Logical_Router_Static_Route",
        "Logical_Router_Static_Route",
        "NAT",  # the floating IP's NAT goes too: its router is gone
        "NAT",
        "Gateway_Chassis",
        "Logical_Router_Port",
        "Logical_Router_Port",
        "Logical_Switch_Port",
        "Logical_Switch_Port",
        "Logical_Router",
    ]


def test_removing_a_port_updates_its_group_before_deleting_it() -> None:
    nb = FakeNB()
    converge(nb, world())
    commands = converge(nb, without(world(), "db-1"))
    assert commands == [
        UpdateRow("Port_Group", port_group_name(uid(5)), {"ports": ()}),
        DeleteRow("Logical_Switch_Port", uid(7)),
    ]


def test_foreign_rows_are_never_planned_and_survive_everything() -> None:
    nb = FakeNB()
    nb.add_foreign(
        "Logical_Switch", "hand-made", {"name": "hand-made", "other_config": {}, "external_ids": {}}
    )
    nb.add_foreign(
        "Logical_Switch_Port", "hand-port", {"name": "hand-port", "external_ids": {"x": "y"}}, "hand-made"
    )
    nb.add_foreign("Port_Group", "pg_hand", {"name": "pg_hand", "ports": (), "external_ids": {}})
    foreign = dict(nb.rows)
    for objects in (world(), without(world(), "r1", "fip1"), world(), []):
        commands = converge(nb, objects)
        assert not {(c.table, c.key) for c in commands} & set(foreign)
        assert {rid: nb.rows[rid] for rid in foreign} == foreign
    assert nb.rows == foreign  # deleting every object leaves no Kumulus row


def test_observed_holds_only_owned_rows_and_nothing_desired_deletes_them_all() -> None:
    nb = FakeNB()
    converge(nb, world())
    observed = nb.observe()
    assert all(owned(r.columns["external_ids"]) for r in observed.values())  # type: ignore[arg-type]
    assert plan({}, observed) and plan({}, {}) == []


# -- the fake is strict ----------------------------------------------------------------------------------


def test_the_fake_rejects_what_ovsdb_or_ownership_would_not_allow() -> None:
    rows = desired_rows(world())
    adds = plan(rows, {})
    nb = FakeNB()
    lsp = next(c for c in adds if c.table == "Logical_Switch_Port")
    with pytest.raises(Rejected, match="parent"):
        nb.apply([lsp])  # its switch does not exist
    pg = next(c for c in adds if c.table == "Port_Group")
    with pytest.raises(Rejected, match="refers to missing"):
        nb.apply([pg])
    nb.apply(adds)
    with pytest.raises(Rejected, match="exists"):
        nb.apply([adds[0]])
    with pytest.raises(Rejected, match="still parent"):
        nb.apply([DeleteRow("Logical_Switch", f"kumulus-{uid(2)}")])
    with pytest.raises(Rejected, match="still referenced"):
        nb.apply([DeleteRow("Logical_Switch_Port", uid(6))])
    nb.add_foreign("Logical_Switch", "x", {"name": "x", "external_ids": {}})
    with pytest.raises(Rejected, match="not Kumulus"):
        nb.apply([DeleteRow("Logical_Switch", "x")])
    before = dict(nb.rows)
    with pytest.raises(Rejected):
        nb.apply([DeleteRow("ACL", next(iter(table(rows, "ACL")))), DeleteRow("Logical_Switch", "x")])
    assert nb.rows == before  # all or nothing


def test_parse_ignores_kinds_that_do_not_map_to_ovn() -> None:
    assert parse({"kind": "Server", "metadata": {"uid": "u", "name": "s"}}) is None
    assert desired_rows([{"kind": "Server", "metadata": {"uid": "u", "name": "s"}}]) == {}


def test_acl_keys_depend_on_content_only() -> None:
    sg = parse(world()[3])
    assert sg is not None
    assert acl_key(sg, "to-lport", 1002, "m", "allow") == acl_key(sg, "to-lport", 1002, "m", "allow")
    assert acl_key(sg, "to-lport", 1002, "m", "allow") != acl_key(sg, "to-lport", 1002, "m2", "allow")

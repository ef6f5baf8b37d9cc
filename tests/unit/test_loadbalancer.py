"""LoadBalancers as data: the network plan (VIP and floating IP claims, statuses, member health, what OVN
cannot do, deletion, Events) and the OVN Northbound rows they call for, converged on the strict fake NB."""

from __future__ import annotations

from typing import Any

from controllers.network_plan import FINALIZERS, ovn_objects, plan
from controllers.network_world import CLAIM, World
from controllers.ovn.desired import desired_rows
from controllers.ovn.model import OWNER_KIND, OWNER_UID, Ref, Row
from controllers.ovn.plan import plan as nb_plan

from .test_network_plan import NS, converge, obj, one_pass, private_network, ready, status, world
from .test_ovn_plan import FakeNB

LB_FINALIZER = FINALIZERS["LoadBalancer"]


def server(name: str) -> dict[str, Any]:
    return obj("Server", name, {"flavor": "m1", "image": "debian-12", "networks": [{"network": "private"}]})


def nic(name: str) -> dict[str, Any]:
    return obj("Port", f"{name}-nic0", {"network": "private", "deviceOwner": "compute:nova"})


def web_lb(**spec: Any) -> dict[str, Any]:
    body = {
        "vipSubnet": "v4",
        "listeners": [{"name": "tcp", "protocol": "TCP", "port": 80, "defaultPool": "web"}],
        "pools": [
            {
                "name": "web",
                "protocol": "TCP",
                "members": [
                    {"server": "www-1", "protocolPort": 8080},
                    {"server": "www-2", "protocolPort": 8080},
                ],
                "healthMonitor": {"type": "TCP", "delaySeconds": 5, "timeoutSeconds": 3, "maxRetriesDown": 2},
            }
        ],
        **spec,
    }
    return obj("LoadBalancer", "web", body, generation=1)


def lb_world(lb: dict[str, Any] | None = None, *extra: dict[str, Any]) -> World:
    w = world(
        *private_network(),
        server("www-1"),
        server("www-2"),
        nic("www-1"),
        nic("www-2"),
        lb or web_lb(),
        *extra,
    )
    converge(w)
    return w


def synced(w: World) -> None:
    """What the operator records after a successful Northbound sync."""
    w.lb_synced = {o["metadata"]["uid"]: o["metadata"].get("generation") for o in w.all("LoadBalancer")}
    converge(w)


def address(w: World, port: str) -> str:
    return str(status(w, "Port", port)["addresses"][0]["ipAddress"])


def lb_uid(w: World) -> str:
    o = w.get("LoadBalancer", NS, "web")
    assert o is not None
    return str(o["metadata"]["uid"])


# -- the network plan -------------------------------------------------------------------------------------


def test_vip_claimed_pending_until_synced_then_active_and_a_second_pass_plans_nothing() -> None:
    w = lb_world()
    s = status(w, "LoadBalancer", "web")
    vip = s["vipAddress"]
    assert vip.startswith("10.0.0.")
    claims = [c for c in w.all(CLAIM) if c["spec"]["owner"]["kind"] == "LoadBalancer"]
    assert [c["spec"]["address"] for c in claims] == [vip]
    assert claims[0]["spec"]["subnet"] == "v4" and claims[0]["metadata"]["ownerReferences"][0][
        "uid"
    ] == lb_uid(w)
    assert vip not in {address(w, "www-1-nic0"), address(w, "www-2-nic0")}
    assert s["provisioningStatus"] == "Pending" and ready(w, "LoadBalancer", "web")["reason"] == "Pending"
    lb = w.get("LoadBalancer", NS, "web")
    assert lb is not None and lb["metadata"]["finalizers"] == [LB_FINALIZER]
    members = s["pools"][0]["members"]
    assert [(m["name"], m["address"], m["protocolPort"]) for m in members] == [
        ("www-1", address(w, "www-1-nic0"), 8080),
        ("www-2", address(w, "www-2-nic0"), 8080),
    ]
    synced(w)
    s = status(w, "LoadBalancer", "web")
    assert s["provisioningStatus"] == "Active" and ready(w, "LoadBalancer", "web")["status"] == "True"
    assert s["listeners"] == [{"name": "tcp", "provisioningStatus": "Active", "operatingStatus": "NoMonitor"}]
    assert s["pools"][0]["provisioningStatus"] == "Active"
    assert one_pass(w) == 0


def test_member_health_from_the_southbound_service_monitors() -> None:
    w = lb_world()
    synced(w)
    a, b = address(w, "www-1-nic0"), address(w, "www-2-nic0")
    lsp = {n: w.get("Port", NS, f"{n}-nic0")["metadata"]["uid"] for n in ("www-1", "www-2")}  # type: ignore[index]
    # no Southbound configured, then a row without status: unknown -> NoMonitor
    assert [m["operatingStatus"] for m in status(w, "LoadBalancer", "web")["pools"][0]["members"]] == [
        "NoMonitor",
        "NoMonitor",
    ]
    w.service_monitors = {(a, 8080, "tcp", lsp["www-1"]): "online", (b, 8080, "tcp", lsp["www-2"]): "offline"}
    converge(w)
    s = status(w, "LoadBalancer", "web")
    assert [m["operatingStatus"] for m in s["pools"][0]["members"]] == ["Online", "Error"]
    assert s["pools"][0]["operatingStatus"] == "Degraded"
    assert s["listeners"][0]["operatingStatus"] == "Degraded" and s["operatingStatus"] == "Degraded"
    assert s["provisioningStatus"] == "Active"
    w.service_monitors = {(a, 8080, "tcp", lsp["www-1"]): "error", (b, 8080, "tcp", lsp["www-2"]): "offline"}
    converge(w)
    assert status(w, "LoadBalancer", "web")["pools"][0]["operatingStatus"] == "Error"
    w.service_monitors = {(a, 8080, "tcp", lsp["www-1"]): "online", (b, 8080, "tcp", lsp["www-2"]): "online"}
    converge(w)
    s = status(w, "LoadBalancer", "web")
    assert (s["pools"][0]["operatingStatus"], s["operatingStatus"]) == ("Online", "Online")
    assert one_pass(w) == 0


def test_operating_status_changes_and_ready_transitions_plan_events() -> None:
    w = lb_world()
    lb = w.get("LoadBalancer", NS, "web")
    assert lb is not None
    w.lb_synced = {lb_uid(w): 1}
    actions = plan("LoadBalancer", lb, w)
    assert [(e.type, e.reason) for e in actions.events] == [("Normal", "Ready")]
    synced(w)
    a = address(w, "www-1-nic0")
    uid1 = w.get("Port", NS, "www-1-nic0")["metadata"]["uid"]  # type: ignore[index]
    w.service_monitors = {(a, 8080, "tcp", uid1): "offline"}
    lb = w.get("LoadBalancer", NS, "web")
    assert lb is not None
    actions = plan("LoadBalancer", lb, w)
    assert [(e.type, e.reason) for e in actions.events] == [("Warning", "OperatingStatus")]
    assert "NoMonitor -> Degraded" in actions.events[0].message
    converge(w)
    lb = w.get("LoadBalancer", NS, "web")
    assert lb is not None and plan("LoadBalancer", lb, w).events == ()


def test_draining_and_missing_members() -> None:
    lb = web_lb()
    lb["spec"]["pools"][0]["members"] = [
        {"server": "www-1", "protocolPort": 80, "weight": 0},
        {"server": "gone", "protocolPort": 80},
        {"name": "ext", "address": "10.0.0.200", "protocolPort": 80},
    ]
    w = lb_world(lb)
    s = status(w, "LoadBalancer", "web")
    members = s["pools"][0]["members"]
    assert [m["operatingStatus"] for m in members] == ["Draining", "Error", "NoMonitor"]
    assert "address" not in members[1]
    assert "pool web member gone: Server gone does not exist" in s["message"]
    assert "pool web member ext: not health-checked (its address has no Port)" in s["message"]


def test_a_deleting_server_is_not_blocked_and_its_member_is_an_error() -> None:
    w = lb_world()
    srv = w.get("Server", NS, "www-2")
    assert srv is not None
    w.upsert({**srv, "metadata": {**srv["metadata"], "deletionTimestamp": "2024-01-01T00:00:00Z"}})
    converge(w)
    s = status(w, "LoadBalancer", "web")
    assert s["pools"][0]["members"][1]["operatingStatus"] == "Error"
    assert "Server www-2 is being deleted" in s["message"]


def test_what_ovn_cannot_do_is_an_error_naming_the_field_and_the_rest_is_realised() -> None:
    lb = web_lb(
        listeners=[
            {"name": "tcp", "protocol": "TCP", "port": 80, "defaultPool": "web"},
            {"name": "tls", "protocol": "HTTPS", "port": 443, "tlsSecret": "cert", "defaultPool": "api"},
            {"name": "limited", "protocol": "TCP", "port": 81, "defaultPool": "web", "connectionLimit": 10},
            {
                "name": "cidrs",
                "protocol": "TCP",
                "port": 82,
                "defaultPool": "web",
                "allowedCIDRs": ["10.0.0.0/8"],
            },
        ],
    )
    lb["spec"]["pools"].append(
        {
            "name": "api",
            "protocol": "HTTP",
            "algorithm": "LeastConnections",
            "sessionPersistence": {"type": "HTTPCookie"},
            "members": [{"server": "www-1", "protocolPort": 8080, "backup": True}],
        }
    )
    w = lb_world(lb)
    synced(w)
    s = status(w, "LoadBalancer", "web")
    listeners = {x["name"]: x["provisioningStatus"] for x in s["listeners"]}
    assert listeners == {"tcp": "Active", "tls": "Error", "limited": "Error", "cidrs": "Error"}
    pools = {p["name"]: p for p in s["pools"]}
    assert (pools["api"]["provisioningStatus"], pools["api"]["operatingStatus"]) == ("Error", "Error")
    assert pools["web"]["provisioningStatus"] == "Active"
    assert s["provisioningStatus"] == "Error" and s["operatingStatus"] == "Error"
    message = ready(w, "LoadBalancer", "web")["message"]
    assert ready(w, "LoadBalancer", "web")["reason"] == "NotRealisable"
    for text in (
        "listener tls: protocol HTTPS (tlsSecret): OVN load balancers are layer 4",
        "listener limited: connectionLimit",
        "listener cidrs: allowedCIDRs",
        "pool api: algorithm LeastConnections",
        "sessionPersistence.type HTTPCookie",
        "members[0] (www-1).backup",
    ):
        assert text in message, text
    rows = desired_rows(ovn_objects(w))
    lbs = {k: r for (t, k), r in rows.items() if t == "Load_Balancer"}
    assert list(lbs) == [f"lb-{lb_uid(w)}-tcp"]
    vip = s["vipAddress"]
    assert set(lbs[f"lb-{lb_uid(w)}-tcp"].columns["vips"]) == {f"{vip}:80"}  # type: ignore[arg-type]


def test_udp_pool_with_a_tcp_monitor_and_ping_monitors_are_errors() -> None:
    lb = web_lb(
        listeners=[{"name": "dns", "protocol": "UDP", "port": 53, "defaultPool": "dns"}],
        pools=[
            {
                "name": "dns",
                "protocol": "UDP",
                "members": [{"server": "www-1", "protocolPort": 53}],
                "healthMonitor": {"type": "TCP", "delaySeconds": 5, "timeoutSeconds": 3},
            }
        ],
    )
    w = lb_world(lb)
    assert "healthMonitor.type TCP: OVN checks a UDP pool's members with UDP" in str(
        status(w, "LoadBalancer", "web")["message"]
    )


def test_a_taken_vip_address_is_a_clear_condition() -> None:
    w = lb_world(
        web_lb(vipAddress="10.0.0.10"),
        obj("Port", "squatter", {"network": "private", "fixedIPs": [{"ipAddress": "10.0.0.10"}]}),
    )
    cond = ready(w, "LoadBalancer", "web")
    if cond["status"] == "True" or status(w, "LoadBalancer", "web").get("vipAddress") == "10.0.0.10":
        # the LoadBalancer won the race for the address: then the Port is refused
        assert ready(w, "Port", "squatter")["reason"] == "AddressInUse"
        return
    assert cond["reason"] == "AddressInUse" and cond["message"].startswith("vipAddress: ")
    assert status(w, "LoadBalancer", "web")["provisioningStatus"] == "Error"


def test_floating_ip_claimed_on_the_external_network() -> None:
    w = lb_world(web_lb(floatingIP={"externalNetwork": "public"}))
    s = status(w, "LoadBalancer", "web")
    assert s["floatingIP"].startswith("203.0.113.1")
    owners = {
        c["spec"]["address"]: c["spec"]["purpose"]
        for c in w.all(CLAIM)
        if c["spec"]["owner"]["kind"] == "LoadBalancer"
    }
    assert owners == {s["vipAddress"]: "FixedIP", s["floatingIP"]: "FloatingIP"}
    rows = desired_rows(ovn_objects(w))
    nat = rows[("NAT", f"lbfip-{lb_uid(w)}")]
    assert (nat.columns["type"], nat.columns["external_ip"], nat.columns["logical_ip"]) == (
        "dnat_and_snat",
        s["floatingIP"],
        s["vipAddress"],
    )
    lb = w.get("LoadBalancer", NS, "web")
    assert lb is not None
    w.upsert({**lb, "spec": {k: v for k, v in lb["spec"].items() if k != "floatingIP"}})
    converge(w)
    s = status(w, "LoadBalancer", "web")
    assert "floatingIP" not in s
    assert [c["spec"]["purpose"] for c in w.all(CLAIM) if c["spec"]["owner"]["kind"] == "LoadBalancer"] == [
        "FixedIP"
    ]


def test_deletion_marks_deleting_then_releases_claims_and_finalizer() -> None:
    w = lb_world()
    lb = w.get("LoadBalancer", NS, "web")
    assert lb is not None
    w.upsert({**lb, "metadata": {**lb["metadata"], "deletionTimestamp": "2024-01-01T00:00:00Z"}})
    lb = w.get("LoadBalancer", NS, "web")
    assert lb is not None
    first = plan("LoadBalancer", lb, w)
    assert first.status is not None and first.status["provisioningStatus"] == "Deleting" and not first.release
    converge(w)
    assert w.get("LoadBalancer", NS, "web") is None
    assert not [c for c in w.all(CLAIM) if c["spec"]["owner"]["kind"] == "LoadBalancer"]


def test_a_subnet_used_by_a_load_balancer_vip_stays_blocked() -> None:
    w = lb_world()
    for name in ("www-1-nic0", "www-2-nic0"):
        w.remove("Port", (NS, name))
    sub = w.get("Subnet", NS, "v4")
    assert sub is not None
    w.upsert({**sub, "metadata": {**sub["metadata"], "deletionTimestamp": "2024-01-01T00:00:00Z"}})
    converge(w)
    blocked = next(c for c in status(w, "Subnet", "v4")["conditions"] if c["type"] == "DeletionBlocked")
    assert "LoadBalancer web" in blocked["message"]


# -- the OVN Northbound rows ------------------------------------------------------------------------------


def test_rows_vips_health_checks_mappings_and_attachments_converge() -> None:
    w = lb_world()
    synced(w)
    uid = lb_uid(w)
    vip = status(w, "LoadBalancer", "web")["vipAddress"]
    a, b = address(w, "www-1-nic0"), address(w, "www-2-nic0")
    lsp = {n: w.get("Port", NS, f"{n}-nic0")["metadata"]["uid"] for n in ("www-1", "www-2")}  # type: ignore[index]
    rows = desired_rows(ovn_objects(w))
    key = f"lb-{uid}-tcp"
    lb = rows[("Load_Balancer", key)]
    assert lb.columns["name"] == f"kumulus-{key}"
    assert lb.columns["vips"] == {f"{vip}:80": f"{a}:8080,{b}:8080"}
    assert lb.columns["protocol"] == ("tcp",) and lb.columns["selection_fields"] == ()
    assert lb.columns["ip_port_mappings"] == {a: f"{lsp['www-1']}:{vip}", b: f"{lsp['www-2']}:{vip}"}
    ext = lb.columns["external_ids"]
    assert isinstance(ext, dict) and ext[OWNER_UID] == uid and ext[OWNER_KIND] == "LoadBalancer"
    hc = rows[("Load_Balancer_Health_Check", f"lbhc-{uid}-tcp-80")]
    assert hc.parent == key and hc.columns["vip"] == f"{vip}:80"
    assert hc.columns["options"] == {
        "interval": "5",
        "timeout": "3",
        "success_count": "3",
        "failure_count": "2",
    }
    net = w.get("Network", NS, "private")
    router = w.get("Router", NS, "r")
    assert net is not None and router is not None
    switch = rows[("Logical_Switch", f"kumulus-{net['metadata']['uid']}")]
    assert switch.columns["load_balancer"] == (Ref("Load_Balancer", key),)
    lr = rows[("Logical_Router", f"kumulus-{router['metadata']['uid']}")]
    assert lr.columns["load_balancer"] == (Ref("Load_Balancer", key),)

    nb = FakeNB()
    nb.apply(nb_plan(rows, nb.observe()))
    assert nb_plan(desired_rows(ovn_objects(w)), nb.observe()) == []
    # a Load_Balancer row deleted by hand (with its health check) is restored, and the switch refers to it
    del nb.rows[("Load_Balancer_Health_Check", f"lbhc-{uid}-tcp-80")]
    del nb.rows[("Load_Balancer", key)]
    for rid in [("Logical_Switch", switch.key), ("Logical_Router", lr.key)]:
        old = nb.rows[rid]
        nb.rows[rid] = Row(old.table, old.key, {**old.columns, "load_balancer": ()}, old.parent)
    repair = nb_plan(desired_rows(ovn_objects(w)), nb.observe())
    assert [type(c).__name__ for c in repair] == ["AddRow", "AddRow", "UpdateRow", "UpdateRow"]
    nb.apply(repair)
    assert nb_plan(desired_rows(ovn_objects(w)), nb.observe()) == []
    # the LoadBalancer gone: its rows go, references first
    nb.apply(nb_plan(desired_rows([o for o in ovn_objects(w) if o["kind"] != "LoadBalancer"]), nb.observe()))
    assert not [rid for rid in nb.rows if rid[0].startswith("Load_Balancer")]
    assert nb.rows[("Logical_Switch", switch.key)].columns["load_balancer"] == ()


def test_source_ip_affinity_gets_its_own_row_and_drained_members_are_left_out() -> None:
    lb = web_lb(
        listeners=[
            {"name": "web", "protocol": "HTTP", "port": 80, "defaultPool": "web"},
            {"name": "sticky", "protocol": "TCP", "port": 81, "defaultPool": "sticky"},
            {"name": "dns", "protocol": "UDP", "port": 53, "defaultPool": "dns"},
        ],
        pools=[
            {
                "name": "web",
                "protocol": "HTTP",
                "members": [
                    {"server": "www-1", "protocolPort": 80},
                    {"server": "www-2", "protocolPort": 80, "weight": 0},
                ],
            },
            {
                "name": "sticky",
                "protocol": "TCP",
                "algorithm": "SourceIP",
                "members": [{"server": "www-1", "protocolPort": 81}],
            },
            {"name": "dns", "protocol": "UDP", "members": [{"address": "10.0.0.250", "protocolPort": 53}]},
        ],
    )
    w = lb_world(lb)
    uid = lb_uid(w)
    vip = status(w, "LoadBalancer", "web")["vipAddress"]
    a = address(w, "www-1-nic0")
    rows = desired_rows(ovn_objects(w))
    tables = {k: r.columns for (t, k), r in rows.items() if t == "Load_Balancer"}
    assert tables[f"lb-{uid}-tcp"]["vips"] == {f"{vip}:80": f"{a}:80"}
    assert tables[f"lb-{uid}-tcp-ip_src"]["vips"] == {f"{vip}:81": f"{a}:81"}
    assert tables[f"lb-{uid}-tcp-ip_src"]["selection_fields"] == ("ip_src",)
    assert tables[f"lb-{uid}-udp"]["vips"] == {f"{vip}:53": "10.0.0.250:53"}
    assert tables[f"lb-{uid}-udp"]["protocol"] == ("udp",)
    assert not [k for (t, k) in rows if t == "Load_Balancer_Health_Check"]
    nb = FakeNB()
    nb.apply(nb_plan(rows, nb.observe()))
    assert nb_plan(desired_rows(ovn_objects(w)), nb.observe()) == []

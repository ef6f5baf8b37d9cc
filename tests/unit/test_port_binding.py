"""A Port's phase from the OVN Southbound bindings, as data: Active only when bound to the chassis of its
Server's Host and up; Down otherwise with condition Bound saying why; Events on transitions; a second
plan is empty. Also the nb_cfg lag of chassis, and the World's index of Servers naming existing Ports."""

from __future__ import annotations

import copy
from typing import Any

from controllers.network_plan import plan, server_ports
from controllers.network_world import World
from controllers.ovn import desired_rows
from controllers.ovn.bindings import BOUND, Binding, chassis_lag, port_binding

from .test_network_plan import NS, converge, obj, one_pass, private_network, status, world

HOST = "host-a"


def cond(w: World, name: str, kind: str = BOUND) -> dict[str, Any]:
    return next(c for c in status(w, "Port", name)["conditions"] if c["type"] == kind)


def placed_server(w: World, name: str = "web", host: str | None = HOST, **spec: Any) -> dict[str, Any]:
    """A Server (placed on `host`) and the Port of its NIC, as the operator creates it."""
    nics = spec.pop("networks", [{"network": "private"}])
    server = obj("Server", name, {"flavor": "f", "image": "i", "networks": nics, **spec})
    if host is not None:
        server["status"] = {"host": host}
    w.upsert(server)
    for body in server_ports(server, w):
        body["metadata"].update(uid=f"uid-{body['metadata']['name']}", resourceVersion="1")
        w.upsert(body)
    return server


def nic_uid(w: World, name: str = "web-nic0") -> str:
    port = w.get("Port", NS, name)
    assert port is not None
    return str(port["metadata"]["uid"])


def plan_events(w: World, name: str) -> list[tuple[str, str]]:
    """The Events the next plan of the Port would post (its status written)."""
    port = w.get("Port", NS, name)
    assert port is not None
    return [(e.type, e.reason) for e in plan("Port", port, w).events]


def test_bound_here_and_up_is_active_then_a_second_plan_is_empty() -> None:
    w = world(*private_network())
    placed_server(w)
    w.port_bindings = {}
    converge(w)
    s = status(w, "Port", "web-nic0")
    assert (s["phase"], s["host"], s.get("boundChassis")) == ("Down", HOST, None)
    assert (cond(w, "web-nic0")["status"], cond(w, "web-nic0")["reason"]) == ("False", "NotBound")

    w.port_bindings = {nic_uid(w): Binding(HOST, True)}
    assert plan_events(w, "web-nic0") == [("Normal", "Active")]
    assert one_pass(w) == 1  # the Port's status only
    s = status(w, "Port", "web-nic0")
    assert (s["phase"], s["boundChassis"]) == ("Active", HOST)
    assert (cond(w, "web-nic0")["status"], cond(w, "web-nic0")["reason"]) == ("True", "Bound")
    assert cond(w, "web-nic0", "Ready")["status"] == "True"  # Ready stays about addresses
    port = w.get("Port", NS, "web-nic0")
    assert port is not None and plan("Port", port, w).empty
    assert one_pass(w) == 0


def test_bound_elsewhere_is_down_with_a_warning() -> None:
    w = world(*private_network())
    placed_server(w)
    w.port_bindings = {}
    converge(w)
    w.port_bindings = {nic_uid(w): Binding("host-b", True)}
    assert plan_events(w, "web-nic0") == [("Warning", "BoundElsewhere")]
    converge(w)
    s = status(w, "Port", "web-nic0")
    assert (s["phase"], s["boundChassis"], s["host"]) == ("Down", "host-b", HOST)
    c = cond(w, "web-nic0")
    assert (c["status"], c["reason"]) == ("False", "BoundElsewhere")
    assert "host-b" in c["message"] and HOST in c["message"]
    assert one_pass(w) == 0


def test_bound_here_but_not_up_is_down() -> None:
    w = world(*private_network())
    placed_server(w)
    w.port_bindings = {}
    converge(w)
    w.port_bindings = {nic_uid(w): Binding(HOST, False)}
    assert plan_events(w, "web-nic0") == []  # still Down: no transition
    converge(w)
    assert status(w, "Port", "web-nic0")["phase"] == "Down"
    assert cond(w, "web-nic0")["reason"] == "NotUp"


def test_unbinding_turns_an_active_port_down_with_an_event() -> None:
    w = world(*private_network())
    placed_server(w)
    w.port_bindings = {}
    converge(w)
    w.port_bindings = {nic_uid(w): Binding(HOST, True)}
    converge(w)
    w.port_bindings = {nic_uid(w): Binding(None, False)}  # the interface was removed
    assert plan_events(w, "web-nic0") == [("Normal", "NotBound")]
    converge(w)
    s = status(w, "Port", "web-nic0")
    assert s["phase"] == "Down" and "boundChassis" not in s
    assert one_pass(w) == 0


def test_unknown_bindings_keep_the_phase() -> None:
    """No Southbound database, or a failed read: nothing known, so nothing flips (and nothing is written)."""
    w = world(*private_network())
    placed_server(w)
    w.port_bindings = {}
    converge(w)
    w.port_bindings = {nic_uid(w): Binding(HOST, True)}
    converge(w)
    before = copy.deepcopy(status(w, "Port", "web-nic0"))
    w.port_bindings = None
    assert one_pass(w) == 0
    assert status(w, "Port", "web-nic0") == before


def test_without_a_southbound_database_a_port_is_down_without_a_bound_condition() -> None:
    w = world(*private_network(), obj("Port", "lone", {"network": "private"}))
    converge(w)
    s = status(w, "Port", "lone")
    assert s["phase"] == "Down" and [c["type"] for c in s["conditions"]] == ["Ready"]


def test_a_port_used_by_no_placed_server_is_down_no_host() -> None:
    w = world(*private_network(), obj("Port", "lone", {"network": "private"}))
    server = placed_server(w, host=None)
    w.port_bindings = {}
    converge(w)
    assert "host" not in status(w, "Port", "web-nic0")
    assert cond(w, "web-nic0")["reason"] == "NoHost"
    assert cond(w, "lone")["reason"] == "NoHost"
    # placed: the Port takes the Host, the Logical_Switch_Port asks for that chassis
    w.upsert(
        {**server, "metadata": {**server["metadata"], "resourceVersion": "999"}, "status": {"host": HOST}}
    )
    converge(w)
    assert status(w, "Port", "web-nic0")["host"] == HOST
    assert cond(w, "web-nic0")["reason"] == "NotBound"
    rows = desired_rows([o for kind in ("Network", "Subnet", "Port") for o in w.all(kind)])
    lsp = rows[("Logical_Switch_Port", nic_uid(w))]
    assert lsp.columns["options"] == {"requested-chassis": HOST}


def test_an_existing_port_named_by_a_server_takes_its_host() -> None:
    w = world(*private_network(), obj("Port", "mine", {"network": "private"}))
    placed_server(w, name="db", networks=[{"port": "mine"}])
    assert [s["metadata"]["name"] for s in w.port_users(NS, "mine")] == ["db"]
    port = w.get("Port", NS, "mine")
    assert port is not None
    w.port_bindings = {str(port["metadata"]["uid"]): Binding(HOST, True)}
    converge(w)
    s = status(w, "Port", "mine")
    assert (s["phase"], s["host"]) == ("Active", HOST)
    # the Server stops naming the Port: no Server uses it any more
    server = w.get("Server", NS, "db")
    assert server is not None
    w.upsert(
        {
            **server,
            "metadata": {**server["metadata"], "resourceVersion": "999"},
            "spec": {**server["spec"], "networks": [{"network": "private"}]},
        }
    )
    assert w.port_users(NS, "mine") == []
    converge(w)
    assert (status(w, "Port", "mine")["phase"], cond(w, "mine")["reason"]) == ("Down", "NoHost")
    w.remove("Server", (NS, "db"))
    assert w.port_users(NS, "mine") == []


def test_port_binding_verdicts() -> None:
    bindings = {"p": Binding(HOST, True), "q": Binding("h2", True), "r": Binding(None, False)}
    assert port_binding("p", HOST, bindings).active
    assert [port_binding(p, HOST, bindings).reason for p in ("q", "r", "missing")] == [
        "BoundElsewhere",
        "NotBound",
        "NotBound",
    ]
    assert port_binding("p", None, bindings).reason == "NoHost"


def test_chassis_lag() -> None:
    assert chassis_lag(7, {"a": 7, "b": 5, "c": 9}) == {"a": 0, "b": 2, "c": 0}
    assert chassis_lag(0, {}) == {}

"""The network plans as data: statuses, the claim protocol (adoption, conflicts), deletion blocking, and a
second pass that plans nothing."""

from __future__ import annotations

import copy
import itertools
from typing import Any

from controllers import ipam
from controllers.network_plan import (
    FINALIZERS,
    ORDER,
    SYSTEM_NAMESPACE,
    Actions,
    default_security_groups,
    plan,
    server_ports,
    sweep_claims,
)
from controllers.network_world import CLAIM, World, key_of

NS = "p1"
_uids = itertools.count(1)
_rvs = itertools.count(1)


def obj(kind: str, name: str, spec: dict[str, Any], ns: str = NS, **meta: Any) -> dict[str, Any]:
    metadata = {"name": name, "uid": f"uid-{next(_uids)}", "resourceVersion": str(next(_rvs)), **meta}
    if ns:
        metadata["namespace"] = ns
    return {"kind": kind, "metadata": metadata, "spec": spec}


def world(*objs: dict[str, Any]) -> World:
    w = World()
    for o in objs:
        w.upsert(o)
    return w


def apply(w: World, kind: str, o: dict[str, Any], actions: Actions) -> None:
    """What the operator does, against the world only (no OVN: released objects go at once)."""
    for body in actions.create:
        body = copy.deepcopy(body)
        body["metadata"].update(uid=f"uid-{next(_uids)}", resourceVersion=str(next(_rvs)))
        key = key_of(body)
        if w.get(CLAIM, *key) is None:
            w.upsert(body)
    new = copy.deepcopy(o)
    if actions.finalizers is not None:
        new["metadata"]["finalizers"] = actions.finalizers
    if actions.status is not None:
        new["status"] = actions.status
    new["metadata"]["resourceVersion"] = str(next(_rvs))
    if actions.release and not new["metadata"].get("finalizers"):
        w.remove(kind, key_of(o))
    else:
        w.upsert(new)
    for key in actions.delete_claims:
        w.remove(CLAIM, key)


def one_pass(w: World) -> int:
    """Plan and apply every object once (creates are followed by a new plan); returns the writes."""
    writes = 0
    for kind in ORDER:
        for key in list(w.objects[kind]):
            for _ in range(10):
                o = w.objects[kind].get(key)
                if o is None:
                    break
                actions = plan(kind, o, w)
                if actions.empty and not actions.release:
                    break
                writes += (
                    (actions.finalizers is not None) + (actions.status is not None) + len(actions.create)
                )
                writes += len(actions.delete_claims)
                apply(w, kind, dict(o), actions)
                if not actions.create:
                    break
    for key in sweep_claims(w):
        w.remove(CLAIM, key)
        writes += 1
    return writes


def converge(w: World) -> None:
    for _ in range(5):
        if one_pass(w) == 0:
            return
    raise AssertionError("the plans do not converge")


def status(w: World, kind: str, name: str, ns: str = NS) -> dict[str, Any]:
    o = w.get(kind, ns, name)
    assert o is not None
    return dict(o.get("status") or {})


def ready(w: World, kind: str, name: str, ns: str = NS) -> dict[str, Any]:
    return next(c for c in status(w, kind, name, ns)["conditions"] if c["type"] == "Ready")


def private_network() -> list[dict[str, Any]]:
    return [
        obj("Network", "private", {}),
        obj(
            "Subnet",
            "v4",
            {
                "network": "private",
                "cidr": "10.0.0.0/24",
                "allocationPools": [{"start": "10.0.0.10", "end": "10.0.0.20"}],
            },
        ),
        obj(
            "ExternalNetwork",
            "public",
            {
                "physicalNetwork": "physnet1",
                "cidr": "203.0.113.0/24",
                "gatewayIP": "203.0.113.1",
                "floatingIPPools": [{"start": "203.0.113.100", "end": "203.0.113.110"}],
            },
            ns="",
        ),
        obj("Router", "r", {"externalGateway": {"network": "public"}, "interfaces": [{"subnet": "v4"}]}),
    ]


def test_statuses_and_a_second_pass_plans_nothing() -> None:
    w = world(
        *private_network(), obj("Port", "a", {"network": "private"}), obj("Port", "b", {"network": "private"})
    )
    converge(w)
    assert one_pass(w) == 0
    net = status(w, "Network", "private")
    assert 1 <= net["segmentationId"] <= 0xFFFFFF and net["subnets"] == ["v4"]
    sub = status(w, "Subnet", "v4")
    assert (sub["gatewayIP"], sub["totalIPs"], sub["availableIPs"]) == ("10.0.0.1", 11, 9)
    a, b = status(w, "Port", "a"), status(w, "Port", "b")
    assert a["addresses"] == [{"subnet": "v4", "ipAddress": "10.0.0.10"}]
    assert b["addresses"] == [{"subnet": "v4", "ipAddress": "10.0.0.11"}]
    assert a["macAddress"].startswith("fa:16:3e:") and a["macAddress"] != b["macAddress"]
    assert a["phase"] == "Down" and ready(w, "Port", "a")["status"] == "True"
    assert status(w, "Router", "r")["externalGatewayIPs"] == ["203.0.113.100"]
    assert status(w, "Router", "r")["interfaces"] == [{"subnet": "v4", "ipAddress": "10.0.0.1"}]
    ext = status(w, "ExternalNetwork", "public", ns="")
    assert (ext["totalIPs"], ext["usedIPs"], ext["availableIPs"]) == (11, 1, 10)
    port = w.get("Port", NS, "a")
    assert port is not None and FINALIZERS["Port"] in port["metadata"]["finalizers"]
    gateway_claims = [k for k in w.objects[CLAIM] if k[0] == SYSTEM_NAMESPACE]
    assert ("kumulus-system", "extipclaim-public-203-0-113-100") in gateway_claims


def test_claims_are_named_by_address_and_owned_by_the_port() -> None:
    w = world(*private_network(), obj("Port", "a", {"network": "private"}))
    converge(w)
    port = w.get("Port", NS, "a")
    assert port is not None
    claim = w.get(CLAIM, NS, ipam.claim_name("v4", "10.0.0.10"))
    assert claim is not None
    assert claim["metadata"]["ownerReferences"][0]["uid"] == port["metadata"]["uid"]
    assert claim["spec"]["owner"]["uid"] == port["metadata"]["uid"]


def test_a_claim_of_ours_from_an_earlier_attempt_is_adopted() -> None:
    port = obj("Port", "a", {"network": "private"})
    w = world(*private_network(), port)
    mine = {
        "kind": CLAIM,
        "metadata": {"name": ipam.claim_name("v4", "10.0.0.15"), "namespace": NS, "uid": "c1"},
        "spec": {
            "purpose": "FixedIP",
            "subnet": "v4",
            "address": "10.0.0.15",
            "owner": {"kind": "Port", "namespace": NS, "name": "a", "uid": port["metadata"]["uid"]},
        },
    }
    w.upsert(mine)
    converge(w)
    assert status(w, "Port", "a")["addresses"] == [{"subnet": "v4", "ipAddress": "10.0.0.15"}]


def test_an_address_claimed_by_another_is_skipped_or_refused() -> None:
    x = obj("Port", "x", {"network": "private", "fixedIPs": [{"ipAddress": "10.0.0.10"}]})
    other = {
        "kind": CLAIM,
        "metadata": {"name": ipam.claim_name("v4", "10.0.0.10"), "namespace": NS, "uid": "c2"},
        "spec": {
            "purpose": "FixedIP",
            "subnet": "v4",
            "address": "10.0.0.10",
            "owner": {"kind": "Port", "namespace": NS, "name": "x", "uid": x["metadata"]["uid"]},
        },
    }
    w = world(
        x,
        *private_network(),
        obj("Port", "a", {"network": "private"}),
        obj("Port", "b", {"network": "private", "fixedIPs": [{"ipAddress": "10.0.0.10"}]}),
    )
    w.upsert(other)
    actions = plan("Port", dict(w.objects["Port"][(NS, "a")]), w)
    assert actions.finalizers is not None
    names = [c["metadata"]["name"] for c in actions.create]
    assert ipam.claim_name("v4", "10.0.0.11") in names  # 10.0.0.10 is taken
    converge(w)
    cond = ready(w, "Port", "b")
    assert (cond["status"], cond["reason"]) == ("False", "AddressInUse")
    assert "10.0.0.10" in cond["message"]


def test_exhaustion_names_the_subnet() -> None:
    ports = [obj("Port", f"p{i}", {"network": "private"}) for i in range(13)]
    w = world(*private_network(), *ports)
    converge(w)
    addresses = [status(w, "Port", f"p{i}")["addresses"] for i in range(13)]
    given = [a[0]["ipAddress"] for a in addresses if a]
    assert len(given) == len(set(given)) == 11
    failed = [ready(w, "Port", f"p{i}") for i in range(13) if not addresses[i]]
    assert [c["reason"] for c in failed] == ["SubnetExhausted"] * 2
    assert "Subnet v4" in failed[0]["message"]
    assert status(w, "Subnet", "v4")["availableIPs"] == 0


def test_port_on_a_missing_network() -> None:
    w = world(obj("Port", "a", {"network": "nope"}))
    converge(w)
    cond = ready(w, "Port", "a")
    assert (cond["status"], cond["reason"]) == ("False", "NetworkNotFound")
    sub = world(obj("Subnet", "s", {"network": "nope", "cidr": "10.0.0.0/24"}))
    converge(sub)
    assert ready(sub, "Subnet", "s")["reason"] == "NetworkNotFound"


def test_deleting_a_network_in_use_is_blocked_then_released() -> None:
    w = world(*private_network(), obj("Port", "a", {"network": "private"}))
    converge(w)
    net = dict(w.objects["Network"][(NS, "private")])
    net["metadata"] = {**net["metadata"], "deletionTimestamp": "2024-01-01T00:00:00Z"}
    w.upsert(net)
    converge(w)
    blocked = next(c for c in status(w, "Network", "private")["conditions"] if c["type"] == "DeletionBlocked")
    assert (
        blocked["status"] == "True" and "Subnet v4" in blocked["message"] and "Port a" in blocked["message"]
    )
    assert w.get("Network", NS, "private") is not None
    for kind, name in (("Port", "a"), ("Router", "r"), ("Subnet", "v4")):
        o = dict(w.objects[kind][(NS, name)])
        o["metadata"] = {**o["metadata"], "deletionTimestamp": "2024-01-01T00:00:00Z"}
        w.upsert(o)
    converge(w)
    assert w.get("Network", NS, "private") is None
    left = [k for k in w.objects[CLAIM]]
    assert left == [], left


def test_floating_ip_bound_to_a_server_nic() -> None:
    server = obj("Server", "web", {"flavor": "f", "image": "i", "networks": [{"network": "private"}]})
    w = world(
        *private_network(), server, obj("FloatingIP", "fip", {"externalNetwork": "public", "server": "web"})
    )
    created = server_ports(server, w)
    assert [p["metadata"]["name"] for p in created] == ["web-nic0"]
    assert created[0]["metadata"]["ownerReferences"][0]["uid"] == server["metadata"]["uid"]
    for p in created:
        p["metadata"]["uid"] = "port-uid"
        w.upsert(p)
    assert server_ports(server, w) == []
    converge(w)
    fip = status(w, "FloatingIP", "fip")
    assert fip["address"] == "203.0.113.101" and fip["port"] == "web-nic0"
    assert (fip["fixedIP"], fip["router"], fip["phase"]) == ("10.0.0.10", "r", "Active")
    assert status(w, "ExternalNetwork", "public", ns="")["usedIPs"] == 2


def test_default_security_group_and_claim_sweep() -> None:
    w = world(*private_network())
    groups = default_security_groups(w)
    assert [(g["metadata"]["namespace"], g["metadata"]["name"]) for g in groups] == [(NS, "default")]
    rules = groups[0]["spec"]["rules"]
    assert {"direction": "Ingress", "ethertype": "IPv4", "remoteGroup": "default"} in rules
    orphan = {
        "kind": CLAIM,
        "metadata": {"name": "extipclaim-public-203-0-113-105", "namespace": SYSTEM_NAMESPACE, "uid": "c3"},
        "spec": {
            "purpose": "FloatingIP",
            "externalNetwork": "public",
            "address": "203.0.113.105",
            "owner": {"kind": "FloatingIP", "namespace": NS, "name": "gone", "uid": "gone"},
        },
    }
    w.upsert(orphan)
    assert sweep_claims(w) == [(SYSTEM_NAMESPACE, "extipclaim-public-203-0-113-105")]

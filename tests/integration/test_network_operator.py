"""The network operator under `kumulus up --components operators`, with a real OVN Northbound database:
IPAM through claims, statuses, Ports for Servers' NICs, exhaustion, OVN rows and drift repair, deletion
blocking, and a clean slate once everything is deleted."""

from __future__ import annotations

import ipaddress
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from controllers.conditions import find

from .cluster import ROOT, Cluster, running, wait_for
from .ovn_daemons import OvnDaemons

pytestmark = pytest.mark.integration

RESYNC = 2.0
EXAMPLE = ROOT / "examples" / "private-network-with-router"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, ovn: OvnDaemons) -> Iterator[Cluster]:
    env = {"KUMULUS_OVN_NB": ovn.nb_remote, "KUMULUS_RESYNC_SECONDS": str(RESYNC)}
    c = Cluster(Path(tmp_path_factory.mktemp("n")), crds_dir=ROOT / "crds", components="operators", env=env)
    with running(c):
        yield c


def apply(c: Cluster, *docs: dict[str, Any], namespace: str | None = None) -> None:
    args = ["apply", "-f", "-"] + (["-n", namespace] if namespace else [])
    c.kubectl(*args, input=yaml.safe_dump_all(docs))


def get(c: Cluster, kind: str, name: str, ns: str | None = "default") -> dict[str, Any]:
    res = c.kubectl("get", kind, name, "-o", "json", *(["-n", ns] if ns else []), check=False)
    return json.loads(res.stdout) if res.returncode == 0 else {}


def items(c: Cluster, kind: str, ns: str | None) -> list[dict[str, Any]]:
    where = ["-n", ns] if ns else ["-A"]
    out: list[dict[str, Any]] = json.loads(c.kubectl("get", kind, *where, "-o", "json").stdout)["items"]
    return out


def condition(obj: dict[str, Any], kind: str = "Ready") -> dict[str, Any]:
    return find((obj.get("status") or {}).get("conditions"), kind) or {}


def status_when(c: Cluster, kind: str, name: str, ns: str | None, check: Any, timeout: float = 20) -> Any:
    def probe() -> dict[str, Any] | None:
        obj = get(c, kind, name, ns)
        return obj if obj and check(obj.get("status") or {}) else None

    return wait_for(probe, timeout=timeout)


def network(ns: str, name: str, cidr: str) -> list[dict[str, Any]]:
    api = "network.kumulus.dev/v1alpha1"
    return [
        {"apiVersion": api, "kind": "Network", "metadata": {"name": name, "namespace": ns}, "spec": {}},
        {
            "apiVersion": api,
            "kind": "Subnet",
            "metadata": {"name": f"{name}-v4", "namespace": ns},
            "spec": {"network": name, "cidr": cidr},
        },
    ]


def port(ns: str, name: str, net: str) -> dict[str, Any]:
    return {
        "apiVersion": "network.kumulus.dev/v1alpha1",
        "kind": "Port",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"network": net},
    }


def kumulus_rows(ovn: OvnDaemons, table: str) -> list[dict[str, Any]]:
    return [r for r in ovn.nb_rows(table) if any(k.startswith("kumulus:") for k in r["external_ids"])]


def test_private_network_with_router(cluster: Cluster, ovn: OvnDaemons) -> None:
    cluster.kubectl("apply", "-f", str(EXAMPLE))
    server = {
        "apiVersion": "compute.kumulus.dev/v1alpha1",
        "kind": "Server",
        "metadata": {"name": "web-1", "namespace": "default"},
        "spec": {"flavor": "m1.small", "image": "debian-12", "networks": [{"network": "private"}]},
    }
    apply(cluster, server)

    nic = status_when(cluster, "port", "web-1-nic0", "default", lambda s: s.get("addresses"))
    assert nic["metadata"]["ownerReferences"][0]["kind"] == "Server"
    vip = status_when(cluster, "port", "web-vip-1", "default", lambda s: s.get("addresses"))
    assert vip["status"]["addresses"] == [{"subnet": "private-v4", "ipAddress": "10.0.0.21"}]
    cidr = ipaddress.ip_network("10.0.0.0/24")
    nic_ip = nic["status"]["addresses"][0]["ipAddress"]
    assert ipaddress.ip_address(nic_ip) in cidr and nic_ip != "10.0.0.21"
    assert nic["status"]["macAddress"] != vip["status"]["macAddress"]
    assert nic["status"]["phase"] == "Down" and condition(nic)["status"] == "True"

    subnet = status_when(cluster, "subnet", "private-v4", "default", lambda s: s.get("availableIPs") == 239)
    assert (subnet["status"]["gatewayIP"], subnet["status"]["totalIPs"]) == ("10.0.0.1", 241)
    net = status_when(cluster, "network", "private", "default", lambda s: s.get("segmentationId"))
    router = status_when(cluster, "router", "router", "default", lambda s: s.get("externalGatewayIPs"))
    pool = range(int(ipaddress.ip_address("203.0.113.100")), int(ipaddress.ip_address("203.0.113.250")) + 1)
    gateway_ip = router["status"]["externalGatewayIPs"][0]
    assert int(ipaddress.ip_address(gateway_ip)) in pool
    assert router["status"]["interfaces"] == [{"subnet": "private-v4", "ipAddress": "10.0.0.1"}]
    fip = status_when(cluster, "floatingip", "web-1", "default", lambda s: s.get("phase") == "Active")
    assert int(ipaddress.ip_address(fip["status"]["address"])) in pool
    assert fip["status"]["address"] != gateway_ip
    assert (fip["status"]["port"], fip["status"]["fixedIP"], fip["status"]["router"]) == (
        "web-1-nic0",
        nic_ip,
        "router",
    )
    ext = status_when(cluster, "externalnetwork", "public", None, lambda s: s.get("usedIPs") == 2)
    assert ext["status"]["availableIPs"] == 149
    assert get(cluster, "securitygroup", "default", "default"), "the default group is created"
    claims = items(cluster, "ipaddressclaims", None)
    assert {c["spec"]["address"] for c in claims} >= {
        nic_ip,
        "10.0.0.21",
        gateway_ip,
        fip["status"]["address"],
    }

    switch = f"kumulus-{net['metadata']['uid']}"

    def wired() -> bool:
        show = ovn.nbctl("show")
        return switch in show and nic["metadata"]["uid"] in show and vip["metadata"]["uid"] in show

    wait_for(wired, timeout=20)
    nat = wait_for(lambda: [r for r in kumulus_rows(ovn, "NAT") if r["type"] == "dnat_and_snat"], timeout=20)
    assert (nat[0]["external_ip"], nat[0]["logical_ip"]) == (fip["status"]["address"], nic_ip)

    # Level-based: once in sync, the periodic passes write nothing.
    kinds = "networks,subnets,ports,routers,floatingips,securitygroups,ipaddressclaims"

    def versions() -> dict[str, str]:
        out = json.loads(cluster.kubectl("get", kinds, "-A", "-o", "json").stdout)["items"]
        return {f"{o['kind']}/{o['metadata']['name']}": o["metadata"]["resourceVersion"] for o in out}

    before = versions()
    time.sleep(2 * RESYNC + 0.5)
    assert versions() == before


def test_hand_deleted_switch_port_is_restored(cluster: Cluster, ovn: OvnDaemons) -> None:
    vip = status_when(cluster, "port", "web-vip-1", "default", lambda s: s.get("addresses"))
    lsp = vip["metadata"]["uid"]
    wait_for(lambda: lsp in ovn.nbctl("show"), timeout=20)
    ovn.nbctl("lsp-del", lsp)
    assert lsp not in ovn.nbctl("show")
    wait_for(lambda: lsp in ovn.nbctl("show"), timeout=3 * RESYNC + 5)


def test_concurrent_ports_get_distinct_addresses_until_the_subnet_is_exhausted(
    cluster: Cluster, namespace: str
) -> None:
    apply(cluster, *network(namespace, "tiny", "10.9.0.0/28"))
    apply(cluster, *(port(namespace, f"p{i:02d}", "tiny") for i in range(20)))

    def settled() -> list[dict[str, Any]] | None:
        ports = items(cluster, "ports", namespace)
        done = [p for p in ports if condition(p).get("status") in ("True", "False")]
        return ports if len(done) == 20 else None

    ports = wait_for(settled, timeout=30)
    given = [p["status"]["addresses"][0]["ipAddress"] for p in ports if p["status"].get("addresses")]
    assert len(given) == len(set(given)) == 13  # a /28 less network, broadcast and gateway
    assert all(ipaddress.ip_address(a) in ipaddress.ip_network("10.9.0.0/28") for a in given)
    refused = [condition(p) for p in ports if not p["status"].get("addresses")]
    assert [c["reason"] for c in refused] == ["SubnetExhausted"] * 7
    assert all("Subnet tiny-v4" in c["message"] for c in refused)
    status_when(cluster, "subnet", "tiny-v4", namespace, lambda s: s.get("availableIPs") == 0)


def test_deleting_a_network_in_use_is_blocked(cluster: Cluster, namespace: str) -> None:
    apply(cluster, *network(namespace, "busy", "10.8.0.0/24"), port(namespace, "p", "busy"))
    status_when(cluster, "port", "p", namespace, lambda s: s.get("addresses"))
    cluster.kubectl("delete", "network", "busy", "-n", namespace, "--wait=false")
    net = status_when(
        cluster,
        "network",
        "busy",
        namespace,
        lambda s: (find(s.get("conditions"), "DeletionBlocked") or {}).get("status") == "True",
    )
    message = condition(net, "DeletionBlocked")["message"]
    assert "Subnet busy-v4" in message and "Port p" in message
    cluster.kubectl("delete", "port", "p", "-n", namespace, "--wait=false")
    cluster.kubectl("delete", "subnet", "busy-v4", "-n", namespace, "--wait=false")
    wait_for(lambda: not get(cluster, "network", "busy", namespace), timeout=20)


def test_deleting_everything_leaves_nothing(cluster: Cluster, ovn: OvnDaemons) -> None:
    for kind in ("floatingips", "servers", "ports", "routers", "subnets", "networks", "securitygroups"):
        cluster.kubectl("delete", kind, "--all", "-A", "--wait=false")
    cluster.kubectl("delete", "externalnetworks", "--all", "--wait=false")

    def gone() -> bool:
        left = [
            o
            for kind in ("ports", "subnets", "networks", "routers", "floatingips", "externalnetworks")
            for o in items(cluster, kind, None)
        ]
        return not left and not items(cluster, "ipaddressclaims", None)

    wait_for(gone, timeout=40)
    for table in ("Logical_Switch", "Logical_Switch_Port", "Logical_Router", "NAT", "ACL", "Port_Group"):
        wait_for(lambda t=table: not kumulus_rows(ovn, t), timeout=10)
    # default SecurityGroups may be recreated only while Networks or Ports exist: none do
    assert not items(cluster, "securitygroups", None)

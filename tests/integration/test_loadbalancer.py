"""LoadBalancers under `kumulus up --components operators`, with real OVN Northbound and Southbound
databases and a real ovn-northd: the VIP claim, Active status, the Load_Balancer rows (vips, health check,
ip_port_mappings, switch and router attachments), the Service_Monitor rows northd makes and member health
from them (the test plays ovn-controller and writes their status), drift repair, and deletion."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .cluster import ROOT, Cluster, running, wait_for
from .ovn_daemons import OvnDaemons, as_set
from .test_network_operator import apply, condition, get, items, kumulus_rows, status_when

pytestmark = pytest.mark.integration

RESYNC = 2.0
NS = "default"
API = "network.kumulus.dev/v1alpha1"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, ovn: OvnDaemons) -> Iterator[Cluster]:
    env = {
        "KUMULUS_OVN_NB": ovn.nb_remote,
        "KUMULUS_OVN_SB": ovn.sb_remote,
        "KUMULUS_RESYNC_SECONDS": str(RESYNC),
    }
    c = Cluster(Path(tmp_path_factory.mktemp("lb")), crds_dir=ROOT / "crds", components="operators", env=env)
    with running(c):
        yield c


def server(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "compute.kumulus.dev/v1alpha1",
        "kind": "Server",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"flavor": "m1.small", "image": "debian-12", "networks": [{"network": "private"}]},
    }


LB = {
    "apiVersion": "loadbalancer.kumulus.dev/v1alpha1",
    "kind": "LoadBalancer",
    "metadata": {"name": "web", "namespace": NS},
    "spec": {
        "vipSubnet": "private-v4",
        "listeners": [{"name": "http", "protocol": "TCP", "port": 80, "defaultPool": "web"}],
        "pools": [
            {
                "name": "web",
                "protocol": "TCP",
                "members": [
                    {"server": "www-1", "protocolPort": 8080},
                    {"server": "www-2", "protocolPort": 8080},
                ],
                "healthMonitor": {"type": "TCP", "delaySeconds": 5, "timeoutSeconds": 3},
            }
        ],
    },
}


def lb_rows(ovn: OvnDaemons) -> list[dict[str, Any]]:
    return kumulus_rows(ovn, "Load_Balancer")


def members(c: Cluster) -> list[str]:
    lb = get(c, "loadbalancer", "web", NS)
    return [m.get("operatingStatus") for m in lb["status"]["pools"][0]["members"]]


def test_load_balancer_on_ovn(cluster: Cluster, ovn: OvnDaemons) -> None:
    apply(
        cluster,
        {"apiVersion": API, "kind": "Network", "metadata": {"name": "private", "namespace": NS}, "spec": {}},
        {
            "apiVersion": API,
            "kind": "Subnet",
            "metadata": {"name": "private-v4", "namespace": NS},
            "spec": {"network": "private", "cidr": "10.0.0.0/24"},
        },
        {
            "apiVersion": API,
            "kind": "Router",
            "metadata": {"name": "router", "namespace": NS},
            "spec": {"interfaces": [{"subnet": "private-v4"}]},
        },
        server("www-1"),
        server("www-2"),
        LB,
    )
    lb = status_when(
        cluster, "loadbalancer", "web", NS, lambda s: s.get("provisioningStatus") == "Active", 30
    )
    assert condition(lb)["status"] == "True"
    assert lb["metadata"]["finalizers"] == ["loadbalancer.kumulus.dev/loadbalancer"]
    vip = lb["status"]["vipAddress"]
    nics = [get(cluster, "port", f"www-{i}-nic0", NS) for i in (1, 2)]
    ips = [n["status"]["addresses"][0]["ipAddress"] for n in nics]
    lsps = [n["metadata"]["uid"] for n in nics]
    assert [m["address"] for m in lb["status"]["pools"][0]["members"]] == ips
    claims = [
        c for c in items(cluster, "ipaddressclaims", NS) if c["spec"]["owner"]["kind"] == "LoadBalancer"
    ]
    assert [c["spec"]["address"] for c in claims] == [vip]

    # the Northbound rows
    [row] = wait_for(lambda: lb_rows(ovn), timeout=10)
    assert row["vips"] == {f"{vip}:80": f"{ips[0]}:8080,{ips[1]}:8080"}
    assert row["protocol"] == "tcp"
    assert row["ip_port_mappings"] == {ips[0]: f"{lsps[0]}:{vip}", ips[1]: f"{lsps[1]}:{vip}"}
    assert row["external_ids"]["kumulus:owner-uid"] == lb["metadata"]["uid"]
    [check] = [
        h for h in ovn.nb_rows("Load_Balancer_Health_Check") if h["_uuid"] in as_set(row["health_check"])
    ]
    assert check["vip"] == f"{vip}:80"
    assert check["options"] == {"interval": "5", "timeout": "3", "success_count": "3", "failure_count": "3"}
    [switch] = kumulus_rows(ovn, "Logical_Switch")
    assert as_set(switch["load_balancer"]) == [row["_uuid"]]
    [router] = kumulus_rows(ovn, "Logical_Router")
    assert as_set(router["load_balancer"]) == [row["_uuid"]]

    # northd made a Service_Monitor per member; the test plays ovn-controller
    def monitors() -> dict[str, str] | None:
        rows = ovn.sb_rows("Service_Monitor")
        found = {r["ip"]: r["_uuid"] for r in rows if r["port"] == 8080 and r["logical_port"] in lsps}
        return found if len(found) == 2 else None

    uuids = wait_for(monitors, timeout=20)
    # ovn-northd marks a monitor offline while its port is bound to no chassis: bind them, as
    # ovn-controller does when the Servers' interfaces appear
    ovn.sbctl("chassis-add", "ch1", "geneve", "127.0.0.1")
    for lsp in lsps:
        ovn.sbctl("lsp-bind", lsp, "ch1")
    for binding in ovn.sb_rows("Port_Binding"):
        if binding["logical_port"] in lsps:
            ovn.sbctl("set", "Port_Binding", binding["_uuid"], "up=true")
    ovn.sbctl("set", "Service_Monitor", uuids[ips[0]], "status=online")
    ovn.sbctl("set", "Service_Monitor", uuids[ips[1]], "status=offline")
    lb = status_when(
        cluster, "loadbalancer", "web", NS, lambda s: s["pools"][0]["operatingStatus"] == "Degraded", 20
    )
    assert members(cluster) == ["Online", "Error"]
    assert lb["status"]["operatingStatus"] == "Degraded" and lb["status"]["provisioningStatus"] == "Active"
    ovn.sbctl("set", "Service_Monitor", uuids[ips[1]], "status=online")
    lb = status_when(
        cluster, "loadbalancer", "web", NS, lambda s: s["pools"][0]["operatingStatus"] == "Online"
    )
    assert members(cluster) == ["Online", "Online"] and lb["status"]["operatingStatus"] == "Online"
    events = json.loads(cluster.kubectl("get", "events", "-n", NS, "-o", "json").stdout)["items"]
    reasons = {(e["involvedObject"].get("name"), e["reason"]) for e in events}
    assert ("web", "Ready") in reasons and ("web", "OperatingStatus") in reasons

    # a Load_Balancer deleted by hand is restored (a new row: new _uuid). Not asserted empty in between: a
    # pass already under way (after the status write above) may restore it at once.
    ovn.nbctl("lb-del", row["name"])
    [restored] = wait_for(lambda: lb_rows(ovn), timeout=3 * RESYNC + 5)
    assert restored["vips"] == row["vips"] and restored["_uuid"] != row["_uuid"]
    wait_for(lambda: as_set(kumulus_rows(ovn, "Logical_Switch")[0]["load_balancer"]) == [restored["_uuid"]])

    # deleting the LoadBalancer removes its rows, its claim, then the object
    cluster.kubectl("delete", "loadbalancer", "web", "-n", NS, "--wait=false")
    wait_for(lambda: not get(cluster, "loadbalancer", "web", NS), timeout=20)
    assert not lb_rows(ovn) and not kumulus_rows(ovn, "Load_Balancer_Health_Check")
    assert kumulus_rows(ovn, "Logical_Switch")[0]["load_balancer"] == []
    left = [c for c in items(cluster, "ipaddressclaims", NS) if c["spec"]["owner"]["kind"] == "LoadBalancer"]
    assert not left

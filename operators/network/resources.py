"""The API resources the network operator reads and writes, by kind."""

from __future__ import annotations

from operators.kube import SERVERS, Resource

_GROUP = "network.kumulus.dev"
_VERSION = "v1alpha1"

RESOURCES: dict[str, Resource] = {
    "Network": Resource(_GROUP, _VERSION, "networks", "Network"),
    "Subnet": Resource(_GROUP, _VERSION, "subnets", "Subnet"),
    "Port": Resource(_GROUP, _VERSION, "ports", "Port"),
    "Router": Resource(_GROUP, _VERSION, "routers", "Router"),
    "SecurityGroup": Resource(_GROUP, _VERSION, "securitygroups", "SecurityGroup"),
    "FloatingIP": Resource(_GROUP, _VERSION, "floatingips", "FloatingIP"),
    "ExternalNetwork": Resource(_GROUP, _VERSION, "externalnetworks", "ExternalNetwork", namespaced=False),
    "IPAddressClaim": Resource(_GROUP, _VERSION, "ipaddressclaims", "IPAddressClaim"),
    "LoadBalancer": Resource("loadbalancer.kumulus.dev", _VERSION, "loadbalancers", "LoadBalancer"),
    "Server": SERVERS,
}

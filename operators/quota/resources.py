"""The API resources the quota operator watches: every kind under quota, Flavors and Quotas."""

from __future__ import annotations

from operators.kube import FLAVORS, SERVER_GROUPS, SERVERS, Resource

_NET = "network.kumulus.dev"
_V = "v1alpha1"

COUNTED: dict[str, Resource] = {
    "Server": SERVERS,
    "KeyPair": Resource("compute.kumulus.dev", _V, "keypairs", "KeyPair"),
    "ServerGroup": SERVER_GROUPS,
    "Network": Resource(_NET, _V, "networks", "Network"),
    "Subnet": Resource(_NET, _V, "subnets", "Subnet"),
    "Port": Resource(_NET, _V, "ports", "Port"),
    "Router": Resource(_NET, _V, "routers", "Router"),
    "FloatingIP": Resource(_NET, _V, "floatingips", "FloatingIP"),
    "SecurityGroup": Resource(_NET, _V, "securitygroups", "SecurityGroup"),
    "Volume": Resource("storage.kumulus.dev", _V, "volumes", "Volume"),
    "VolumeSnapshot": Resource("storage.kumulus.dev", _V, "volumesnapshots", "VolumeSnapshot"),
    "LoadBalancer": Resource("loadbalancer.kumulus.dev", _V, "loadbalancers", "LoadBalancer"),
}
"""Kind -> resource of every kind that consumes quota (controllers.quota.COUNTED_KINDS)."""

QUOTAS = Resource("infra.kumulus.dev", _V, "quotas", "Quota")
WATCHED: dict[str, Resource] = {**COUNTED, "Flavor": FLAVORS, "Quota": QUOTAS}

WEBHOOK_CONFIGS = Resource(
    "admissionregistration.k8s.io",
    "v1",
    "validatingwebhookconfigurations",
    "ValidatingWebhookConfiguration",
    namespaced=False,
)

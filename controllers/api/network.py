"""network.kumulus.dev: Networks, Subnets, Ports, Routers, SecurityGroups, FloatingIPs, ExternalNetworks.

Neutron's concepts in Kubernetes style: a project's namespace holds its private Networks and what attaches
to them; an administrator publishes cluster-scoped ExternalNetworks that Routers and FloatingIPs reach the
outside world through. Addresses are checked for their form and IP version in the schema; whether an
address lies inside a CIDR is checked by the controllers (the API server has no CIDR arithmetic).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, WithJsonSchema

from .base import (
    AGE,
    CIDR,
    READY,
    Column,
    IPAddress,
    Kind,
    KumulusModel,
    MACAddress,
    PortNumber,
    ResourceName,
    StatusBase,
    immutable,
)

# Longest textual forms (an IPv6 address with an embedded IPv4 one, plus "/128"); bounding the strings keeps
# the cost of CEL rules that inspect them within kube-apiserver's estimated-cost limits.
IP_MAX_LENGTH = 45
CIDR_MAX_LENGTH = 49

IPOrCIDR = Annotated[
    str,
    WithJsonSchema({"type": "string", "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}, {"format": "cidr"}]}),
]
"""An IPv4 or IPv6 address, or a network in CIDR notation."""


def _bounded(length: int, message: str | None = None) -> dict[str, Any]:
    """Schema extra bounding a string's length, and making it immutable when a message is given."""
    out: dict[str, Any] = {"maxLength": length}
    if message is not None:
        out.update(immutable(message))
    return out


class AddressRange(KumulusModel):
    """A range of addresses, first and last included, of one IP version."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "self.start.contains(':') == self.end.contains(':')",
                    "message": "start and end must be of the same IP version",
                }
            ]
        }
    )

    start: IPAddress = Field(
        description="First address of the range.", json_schema_extra=_bounded(IP_MAX_LENGTH)
    )
    end: IPAddress = Field(
        description="Last address of the range (at or after start).",
        json_schema_extra=_bounded(IP_MAX_LENGTH),
    )


class Route(KumulusModel):
    """A static route: traffic to destination is sent to nextHop."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "self.destination.contains(':') == self.nextHop.contains(':')",
                    "message": "destination and nextHop must be of the same IP version",
                }
            ]
        }
    )

    destination: CIDR = Field(
        description="The network reached through nextHop, e.g. 192.168.10.0/24 (0.0.0.0/0: default route).",
        json_schema_extra=_bounded(CIDR_MAX_LENGTH),
    )
    next_hop: IPAddress = Field(
        description="The gateway address, on a directly connected subnet.",
        json_schema_extra=_bounded(IP_MAX_LENGTH),
    )


# -- Network --------------------------------------------------------------------------------------------


class NetworkSpec(KumulusModel):
    """The desired state of a Network."""

    shared: bool = Field(
        default=False,
        description="Let every project attach to this Network, not only its own namespace (Neutron's shared "
        "flag). Setting it is for administrators.",
    )
    mtu: int = Field(
        default=1450,
        ge=68,
        le=9000,
        description="Largest IP packet, in bytes, the Network carries; DHCP tells guests. The default leaves "
        "room for the overlay's encapsulation on a 1500-byte underlay.",
    )
    port_security: bool = Field(
        default=True,
        description="Default for the Ports of this Network: with port security, a Port only sends from its "
        "own addresses (and allowedAddressPairs) and its SecurityGroups filter traffic. Ports may override "
        "it.",
    )


class NetworkStatus(StatusBase):
    """The observed state of a Network."""

    segmentation_id: int | None = Field(
        default=None,
        alias="segmentationId",
        ge=0,
        description="The overlay segment (VNI) assigned to the Network.",
    )
    subnets: list[str] = Field(default_factory=list, description="Names of the Subnets of the Network.")


# -- Subnet ---------------------------------------------------------------------------------------------


class IPv6AddressMode(StrEnum):
    SLAAC = "SLAAC"
    DHCPV6_STATEFUL = "DHCPv6Stateful"
    DHCPV6_STATELESS = "DHCPv6Stateless"


class HostRoute(Route):
    """A route pushed to the guests of the Subnet by DHCP: traffic to destination goes to nextHop."""


class SubnetSpec(KumulusModel):
    """The desired state of a Subnet."""

    network: ResourceName = Field(
        description="Name of the Network, in this namespace, the Subnet gives addresses on. Immutable.",
        json_schema_extra=immutable("network is immutable"),
    )
    cidr: CIDR = Field(
        description="The address range of the Subnet in CIDR notation, e.g. 10.0.0.0/24 or fd00:1::/64. "
        "Immutable.",
        json_schema_extra=_bounded(CIDR_MAX_LENGTH, "cidr is immutable"),
    )
    ip_version: Literal[4, 6] = Field(
        default=4,
        alias="ipVersion",
        description="4 or 6; must match cidr. Immutable.",
        json_schema_extra=immutable("ipVersion is immutable"),
    )
    gateway_ip: IPAddress | None = Field(
        default=None,
        alias="gatewayIP",
        description="Address of the Subnet's default gateway (usually a Router interface); the first address "
        "of cidr if unset, unless disableGateway is set.",
        json_schema_extra=_bounded(IP_MAX_LENGTH),
    )
    disable_gateway: bool = Field(
        default=False,
        description="Give the Subnet no gateway: guests get no default route from it (an isolated subnet).",
    )
    allocation_pools: list[AddressRange] = Field(
        default_factory=list,
        max_length=16,
        description="Ranges of cidr that Ports get addresses from; all of cidr except the gateway if unset. "
        "Addresses outside the pools can still be requested as a Port's fixed IP.",
    )
    dns_servers: list[IPAddress] = Field(
        default_factory=list,
        max_length=5,
        description="DNS resolvers that DHCP gives the guests, in order of preference.",
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    host_routes: list[HostRoute] = Field(
        default_factory=list,
        max_length=20,
        description="Extra routes that DHCP gives the guests, one per destination.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["destination"]},
    )
    enable_dhcp: bool = Field(
        default=True,
        alias="enableDHCP",
        description="Serve DHCP on the Subnet, so guests configure their address, routes and DNS by "
        "themselves. Without it, guests must be configured statically (e.g. by cloud-init).",
    )
    ipv6_address_mode: IPv6AddressMode | None = Field(
        default=None,
        alias="ipv6AddressMode",
        description="IPv6 subnets only: how guests get their address: SLAAC (from router advertisements), "
        "DHCPv6Stateful (address from DHCPv6) or DHCPv6Stateless (SLAAC address, options from DHCPv6). "
        "Router advertisements are sent in the same mode. Unset: no router advertisements.",
    )


class SubnetStatus(StatusBase):
    """The observed state of a Subnet."""

    gateway_ip: str | None = Field(
        default=None, alias="gatewayIP", description="The gateway address in effect, if the Subnet has one."
    )
    total_ips: int | None = Field(
        default=None, alias="totalIPs", ge=0, description="How many addresses the allocation pools hold."
    )
    available_ips: int | None = Field(
        default=None,
        alias="availableIPs",
        ge=0,
        description="How many addresses of the pools are still free.",
    )


_SUBNET_IS_V6 = "(self.ipVersion == 6)"

SUBNET_RULES: tuple[dict[str, str], ...] = (
    {
        "rule": "self.ipVersion == 4 ? !self.cidr.contains(':') : self.cidr.contains(':')",
        "message": "ipVersion must match cidr: 4 for an IPv4 cidr, 6 for an IPv6 cidr",
    },
    {
        "rule": "!(has(self.gatewayIP) && self.disableGateway)",
        "message": "set gatewayIP or disableGateway, not both",
    },
    {
        "rule": f"!has(self.gatewayIP) || self.gatewayIP.contains(':') == {_SUBNET_IS_V6}",
        "message": "gatewayIP must be of the subnet's ipVersion",
    },
    {
        "rule": "!has(self.allocationPools) "
        f"|| self.allocationPools.all(p, p.start.contains(':') == {_SUBNET_IS_V6})",
        "message": "allocationPools must be of the subnet's ipVersion",
    },
    {
        "rule": "!has(self.hostRoutes) "
        f"|| self.hostRoutes.all(r, r.destination.contains(':') == {_SUBNET_IS_V6})",
        "message": "hostRoutes must be of the subnet's ipVersion",
    },
    {
        "rule": "!has(self.ipv6AddressMode) || self.ipVersion == 6",
        "message": "ipv6AddressMode needs ipVersion 6",
    },
)


# -- Port -----------------------------------------------------------------------------------------------


class FixedIP(KumulusModel):
    """An address the Port asks for: a given address, or any free address of a Subnet, or both."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "has(self.subnet) || has(self.ipAddress)",
                    "message": "set subnet, ipAddress or both",
                }
            ]
        }
    )

    subnet: ResourceName | None = Field(
        default=None,
        description="Name of a Subnet of the Port's Network; the Subnet whose cidr holds ipAddress if unset.",
    )
    ip_address: IPAddress | None = Field(
        default=None,
        description="The address to assign; a free address from the Subnet's allocation pools if unset.",
    )


class AllowedAddressPair(KumulusModel):
    """Traffic a Port may send besides its own addresses, e.g. a virtual IP moved between servers by VRRP."""

    ip_address: IPOrCIDR = Field(
        description="An address (e.g. a virtual IP, 10.0.0.100) or a whole network (e.g. 10.1.0.0/16 for a "
        "guest that routes it) the Port may send from and receive for."
    )
    mac_address: MACAddress | None = Field(
        default=None, description="The source MAC address allowed with ipAddress; the Port's own if unset."
    )


class PortSpec(KumulusModel):
    """The desired state of a Port."""

    network: ResourceName = Field(
        description="Name of the Network, in this namespace, the Port is on. Immutable.",
        json_schema_extra=immutable("network is immutable"),
    )
    fixed_ips: list[FixedIP] = Field(
        default_factory=list,
        alias="fixedIPs",
        max_length=16,
        description="Addresses of the Port. Unset: one free address from a Subnet of each IP version of the "
        "Network. Changing the list re-addresses the Port.",
    )
    mac_address: MACAddress | None = Field(
        default=None,
        description="The Port's MAC address; one is generated if unset (see status.macAddress). Can only be "
        "chosen when the Port is created. Immutable.",
        json_schema_extra=immutable("macAddress is immutable"),
    )
    security_groups: list[ResourceName] | None = Field(
        default=None,
        max_length=16,
        description="Names of the SecurityGroups, in this namespace, that filter the Port's traffic; the "
        "namespace's default group if unset, none if empty. Needs port security.",
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    allowed_address_pairs: list[AllowedAddressPair] = Field(
        default_factory=list,
        max_length=10,
        description="Addresses, besides its fixed IPs, the Port may send from and receive traffic for, e.g. "
        "a virtual IP shared by keepalived servers. Needs port security (without it everything is allowed).",
    )
    port_security: bool | None = Field(
        default=None,
        description="Anti-spoofing and SecurityGroups on this Port; the Network's portSecurity if unset. "
        "Turn it off for guests that route or bridge other addresses (firewalls, NFV appliances).",
    )
    device_owner: str | None = Field(
        default=None,
        max_length=255,
        description="What uses the Port, e.g. compute:az1 for a Server's NIC or network:router_interface; "
        "informational, set by the controller that creates the Port.",
    )


class PortPhase(StrEnum):
    DOWN = "Down"
    ACTIVE = "Active"


class PortAddress(KumulusModel):
    """An address assigned to the Port."""

    subnet: str = Field(description="The Subnet the address is from.")
    ip_address: str = Field(description="The address.")


class PortStatus(StatusBase):
    """The observed state of a Port."""

    phase: PortPhase | None = Field(
        default=None,
        description="Active once OVN bound the Port to the chassis of its Server's Host and reports it up, "
        "else Down (condition Bound says why).",
    )
    addresses: list[PortAddress] = Field(default_factory=list, description="The addresses assigned.")
    mac_address: str | None = Field(default=None, description="The MAC address in use.")
    host: str | None = Field(default=None, description="The Host the Port is bound to (where its user runs).")
    bound_chassis: str | None = Field(
        default=None, description="The OVN chassis the Port is bound to, as the OVN Southbound database says."
    )
    device: str | None = Field(default=None, description="What the Port is attached to, e.g. a Server.")


PORT_RULES: tuple[dict[str, str], ...] = (
    {
        "rule": "has(self.macAddress) == has(oldSelf.macAddress)",
        "message": "macAddress can only be chosen when the Port is created, and not removed",
    },
    {
        "rule": "!has(self.portSecurity) || self.portSecurity || !has(self.securityGroups) "
        "|| size(self.securityGroups) == 0",
        "message": "securityGroups need portSecurity: remove them or enable portSecurity",
    },
    {
        "rule": "!has(self.portSecurity) || self.portSecurity || !has(self.allowedAddressPairs) "
        "|| size(self.allowedAddressPairs) == 0",
        "message": "allowedAddressPairs need portSecurity: remove them or enable portSecurity",
    },
)


# -- Router ---------------------------------------------------------------------------------------------


class ExternalGateway(KumulusModel):
    """The Router's uplink to an ExternalNetwork."""

    network: ResourceName = Field(description="Name of the ExternalNetwork (cluster-scoped) to connect to.")
    enable_snat: bool = Field(
        default=True,
        alias="enableSNAT",
        description="Source-NAT outgoing traffic of the Router's subnets to the gateway address, so guests "
        "without a FloatingIP reach the outside. Turn off when the subnets are routed upstream.",
    )
    fixed_ip: IPAddress | None = Field(
        default=None,
        alias="fixedIP",
        description="The Router's address on the ExternalNetwork; a free address from its pools if unset.",
    )


class RouterInterface(KumulusModel):
    """A connection of the Router to a Subnet, which the Router then routes for."""

    subnet: ResourceName = Field(description="Name of a Subnet in this namespace.")
    ip_address: IPAddress | None = Field(
        default=None,
        description="The Router's address on the Subnet; the Subnet's gatewayIP if unset. Set it to join a "
        "Subnet whose gateway is another router.",
    )


class RouterSpec(KumulusModel):
    """The desired state of a Router."""

    external_gateway: ExternalGateway | None = Field(
        default=None,
        description="Uplink to an ExternalNetwork; without it the Router only routes between its interfaces.",
    )
    interfaces: list[RouterInterface] = Field(
        default_factory=list,
        max_length=64,
        description="Subnets the Router is connected to, one interface per Subnet; add or remove entries to "
        "attach or detach.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["subnet"]},
    )
    routes: list[Route] = Field(
        default_factory=list,
        max_length=32,
        description="Static routes of the Router; each nextHop must be on one of its interfaces' Subnets.",
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["destination", "nextHop"],
        },
    )


class RouterInterfaceStatus(KumulusModel):
    """An interface of the Router as wired."""

    subnet: str = Field(description="The Subnet.")
    ip_address: str | None = Field(default=None, description="The Router's address on it.")
    port: str | None = Field(default=None, description="The Port created for the interface.")


class RouterStatus(StatusBase):
    """The observed state of a Router."""

    external_gateway_ips: list[str] = Field(
        default_factory=list,
        alias="externalGatewayIPs",
        description="The Router's addresses on its ExternalNetwork (the source address of SNAT).",
    )
    interfaces: list[RouterInterfaceStatus] = Field(default_factory=list, description="Interfaces as wired.")
    host: str | None = Field(default=None, description="The network node the Router is active on.")


# -- SecurityGroup --------------------------------------------------------------------------------------


class Direction(StrEnum):
    INGRESS = "Ingress"
    EGRESS = "Egress"


class EtherType(StrEnum):
    IPV4 = "IPv4"
    IPV6 = "IPv6"


class Protocol(StrEnum):
    ANY = "any"
    TCP = "tcp"
    UDP = "udp"
    ICMP = "icmp"
    ICMPV6 = "icmpv6"


# Rules carry no schema defaults (unset ethertype means IPv4, unset protocol any): rules is an atomic list,
# and defaults written into its items would make `kubectl apply` of an unchanged manifest replace the list.
class SecurityGroupRule(KumulusModel):
    """Traffic to allow: everything a Port's groups do not allow is dropped."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!has(self.portRangeMin) || !has(self.portRangeMax) "
                    "|| self.portRangeMin <= self.portRangeMax",
                    "message": "portRangeMin must not be greater than portRangeMax",
                },
                {
                    "rule": "!has(self.portRangeMax) || has(self.portRangeMin)",
                    "message": "portRangeMax needs portRangeMin",
                },
                {
                    "rule": "!has(self.portRangeMin) "
                    "|| (has(self.protocol) && self.protocol in ['tcp', 'udp'])",
                    "message": "port ranges need protocol tcp or udp",
                },
                {
                    "rule": "!has(self.icmpType) "
                    "|| (has(self.protocol) && self.protocol in ['icmp', 'icmpv6'])",
                    "message": "icmpType needs protocol icmp or icmpv6",
                },
                {"rule": "!has(self.icmpCode) || has(self.icmpType)", "message": "icmpCode needs icmpType"},
                {
                    "rule": "!has(self.protocol) || self.protocol != 'icmp' || !has(self.ethertype) "
                    "|| self.ethertype == 'IPv4'",
                    "message": "protocol icmp needs ethertype IPv4; use icmpv6 for IPv6",
                },
                {
                    "rule": "!has(self.protocol) || self.protocol != 'icmpv6' "
                    "|| (has(self.ethertype) && self.ethertype == 'IPv6')",
                    "message": "protocol icmpv6 needs ethertype IPv6",
                },
                {
                    "rule": "!(has(self.remoteCIDR) && has(self.remoteGroup))",
                    "message": "set at most one of remoteCIDR or remoteGroup",
                },
                {
                    "rule": "!has(self.remoteCIDR) "
                    "|| self.remoteCIDR.contains(':') == (has(self.ethertype) && self.ethertype == 'IPv6')",
                    "message": "remoteCIDR must be of the rule's ethertype",
                },
            ]
        }
    )

    direction: Direction = Field(
        description="Ingress (traffic to the Port) or Egress (traffic from the Port). Replies to allowed "
        "traffic are always allowed (the filter is stateful)."
    )
    ethertype: EtherType | None = Field(default=None, description="IPv4 or IPv6; IPv4 if unset.")
    protocol: Protocol | None = Field(
        default=None,
        description="tcp, udp, icmp (IPv4), icmpv6 (IPv6), or any; every protocol (any) if unset.",
    )
    port_range_min: PortNumber | None = Field(
        default=None,
        description="tcp and udp: the first destination port allowed; alone, the only one. Every port if "
        "unset.",
    )
    port_range_max: PortNumber | None = Field(
        default=None, description="tcp and udp: the last destination port allowed (needs portRangeMin)."
    )
    icmp_type: int | None = Field(
        default=None,
        ge=0,
        le=255,
        description="icmp and icmpv6: the ICMP type allowed, e.g. 8 (echo request).",
    )
    icmp_code: int | None = Field(
        default=None, ge=0, le=255, description="icmp and icmpv6: the ICMP code allowed (needs icmpType)."
    )
    remote_cidr: CIDR | None = Field(
        default=None,
        alias="remoteCIDR",
        description="Allow only peers in this network, e.g. 0.0.0.0/0 for everyone. Every peer if neither "
        "remoteCIDR nor remoteGroup is set.",
        json_schema_extra=_bounded(CIDR_MAX_LENGTH),
    )
    remote_group: ResourceName | None = Field(
        default=None,
        description="Allow only peers whose Ports are in this SecurityGroup (of this namespace), e.g. the "
        "group itself for traffic between its members.",
    )
    description: str | None = Field(default=None, max_length=255, description="What the rule is for.")


class SecurityGroupSpec(KumulusModel):
    """The desired state of a SecurityGroup."""

    description: str | None = Field(default=None, max_length=255, description="What the group is for.")
    rules: list[SecurityGroupRule] = Field(
        default_factory=list,
        max_length=100,
        description="The traffic the group allows; a group without rules drops everything. Unlike Neutron, "
        "no egress rule is added for you: add {direction: Egress} (and the same with ethertype IPv6) to "
        "allow all outgoing traffic.",
    )


class SecurityGroupStatus(StatusBase):
    """The observed state of a SecurityGroup."""

    ports: int | None = Field(default=None, ge=0, description="How many Ports use the group.")


# -- FloatingIP -----------------------------------------------------------------------------------------


class FloatingIPSpec(KumulusModel):
    """The desired state of a FloatingIP."""

    external_network: ResourceName = Field(
        description="Name of the ExternalNetwork (cluster-scoped) the address comes from. Immutable.",
        json_schema_extra=immutable("externalNetwork is immutable"),
    )
    address: IPAddress | None = Field(
        default=None,
        description="The address to reserve; a free address of the ExternalNetwork's pools if unset (see "
        "status.address). Can only be chosen when the FloatingIP is created. Immutable.",
        json_schema_extra=_bounded(IP_MAX_LENGTH, "address is immutable"),
    )
    port: ResourceName | None = Field(
        default=None, description="Name of a Port, in this namespace, to translate the address to."
    )
    server: ResourceName | None = Field(
        default=None,
        description="Name of a Server, in this namespace, to translate the address to (its first NIC, unless "
        "fixedIP says otherwise). Unset both port and server to keep the address unbound.",
    )
    fixed_ip: IPAddress | None = Field(
        default=None,
        alias="fixedIP",
        description="Which of the Port's or Server's fixed addresses the address translates to; the first if "
        "unset.",
    )


class FloatingIPPhase(StrEnum):
    DOWN = "Down"
    ACTIVE = "Active"
    ERROR = "Error"


class FloatingIPStatus(StatusBase):
    """The observed state of a FloatingIP."""

    phase: FloatingIPPhase | None = Field(
        default=None,
        description="Active when translating to a bound Port, Down when unbound, Error otherwise.",
    )
    address: str | None = Field(default=None, description="The reserved external address.")
    port: str | None = Field(default=None, description="The Port the address is translated to.")
    fixed_ip: str | None = Field(
        default=None, alias="fixedIP", description="The fixed address it translates to."
    )
    router: str | None = Field(default=None, description="The Router that does the translation.")


FLOATING_IP_RULES: tuple[dict[str, str], ...] = (
    {
        "rule": "has(self.address) == has(oldSelf.address)",
        "message": "address can only be chosen when the FloatingIP is created, and not removed",
    },
    {"rule": "!(has(self.port) && has(self.server))", "message": "set at most one of port or server"},
    {
        "rule": "!has(self.fixedIP) || has(self.port) || has(self.server)",
        "message": "fixedIP needs port or server",
    },
)


# -- ExternalNetwork ------------------------------------------------------------------------------------


class ExternalNetworkSpec(KumulusModel):
    """The desired state of an ExternalNetwork."""

    physical_network: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="The bridge mapping label on the network nodes (e.g. physnet1) naming the host interface "
        "that carries the network. Immutable.",
        json_schema_extra=immutable("physicalNetwork is immutable"),
    )
    vlan: int | None = Field(
        default=None,
        ge=1,
        le=4094,
        description="VLAN ID on the physical network; untagged (flat) if unset. Immutable.",
        json_schema_extra=immutable("vlan is immutable"),
    )
    cidr: CIDR = Field(
        description="The network's address range, e.g. 203.0.113.0/24. Immutable.",
        json_schema_extra=_bounded(CIDR_MAX_LENGTH, "cidr is immutable"),
    )
    gateway_ip: IPAddress = Field(
        alias="gatewayIP",
        description="The upstream router's address, the default route of Routers connected to the network.",
        json_schema_extra=_bounded(IP_MAX_LENGTH),
    )
    floating_ip_pools: list[AddressRange] = Field(
        default_factory=list,
        alias="floatingIPPools",
        max_length=16,
        description="Ranges of cidr that FloatingIPs and Router gateways get addresses from; all of cidr "
        "except gatewayIP if unset. Keep addresses used outside the cloud out of them.",
    )
    mtu: int = Field(
        default=1500, ge=68, le=9000, description="Largest IP packet, in bytes, the network carries."
    )


class ExternalNetworkStatus(StatusBase):
    """The observed state of an ExternalNetwork."""

    total_ips: int | None = Field(
        default=None, alias="totalIPs", ge=0, description="How many addresses the pools hold."
    )
    used_ips: int | None = Field(
        default=None, alias="usedIPs", ge=0, description="Addresses taken by FloatingIPs and Router gateways."
    )
    available_ips: int | None = Field(
        default=None, alias="availableIPs", ge=0, description="Addresses still free."
    )


EXTERNAL_NETWORK_RULES: tuple[dict[str, str], ...] = (
    {"rule": "has(self.vlan) == has(oldSelf.vlan)", "message": "vlan is immutable"},
    {
        "rule": "self.gatewayIP.contains(':') == self.cidr.contains(':')",
        "message": "gatewayIP must be of the same IP version as cidr",
    },
    {
        "rule": "!has(self.floatingIPPools) "
        "|| self.floatingIPPools.all(p, p.start.contains(':') == self.cidr.contains(':'))",
        "message": "floatingIPPools must be of the same IP version as cidr",
    },
)


# -- IPAddressClaim (internal) --------------------------------------------------------------------------


class ClaimPurpose(StrEnum):
    FIXED_IP = "FixedIP"
    MAC_ADDRESS = "MACAddress"
    FLOATING_IP = "FloatingIP"
    ROUTER_GATEWAY = "RouterGateway"
    SEGMENT = "Segment"


class ClaimOwner(KumulusModel):
    """The object holding the claim."""

    kind: str = Field(max_length=63, description="Kind of the owner, e.g. Port.")
    namespace: str | None = Field(default=None, max_length=63, description="Namespace of the owner.")
    name: str = Field(max_length=253, description="Name of the owner.")
    uid: str = Field(max_length=64, description="UID of the owner: a claim whose owner UID is gone is freed.")


class IPAddressClaimSpec(KumulusModel):
    """What the claim holds. Its NAME encodes the address space and the value (controllers.ipam), so that
    creating it is an atomic test-and-set: a second claim of the same address fails with AlreadyExists."""

    purpose: ClaimPurpose = Field(description="What the value is held for.")
    subnet: ResourceName | None = Field(default=None, description="The Subnet of a fixed IP.")
    external_network: ResourceName | None = Field(
        default=None, description="The ExternalNetwork of a floating IP or router gateway."
    )
    network: ResourceName | None = Field(
        default=None, description="The Network of a MAC address or segmentation ID."
    )
    address: str = Field(max_length=64, description="The IP address, MAC address or segmentation ID held.")
    owner: ClaimOwner = Field(description="Who holds it.")


KINDS: tuple[Kind, ...] = (
    Kind(
        group="network",
        kind="Network",
        plural="networks",
        spec=NetworkSpec,
        status=NetworkStatus,
        description="A Network is a private layer-2 network of a project: Subnets give it addresses, Ports "
        "attach Servers and Routers to it.",
        short_names=("net",),
        columns=(
            Column("Shared", ".spec.shared", "boolean"),
            Column("MTU", ".spec.mtu", "integer"),
            Column("Segment", ".status.segmentationId", "integer", "The overlay segment (VNI)."),
            READY,
            AGE,
        ),
    ),
    Kind(
        group="network",
        kind="Subnet",
        plural="subnets",
        spec=SubnetSpec,
        status=SubnetStatus,
        description="A Subnet is an IPv4 or IPv6 address range on a Network, with its gateway, DHCP and DNS "
        "settings.",
        columns=(
            Column("Network", ".spec.network"),
            Column("CIDR", ".spec.cidr"),
            Column("Gateway", ".status.gatewayIP", description="The gateway address in effect."),
            Column("Available", ".status.availableIPs", "integer", "Free addresses.", priority=1),
            AGE,
        ),
        selectable_fields=(".spec.network",),
        spec_rules=SUBNET_RULES,
    ),
    Kind(
        group="network",
        kind="Port",
        plural="ports",
        spec=PortSpec,
        status=PortStatus,
        description="A Port is a virtual NIC on a Network: its MAC and fixed addresses, and the "
        "SecurityGroups that filter its traffic. Servers create Ports for their NICs or use existing ones.",
        columns=(
            Column("Network", ".spec.network"),
            Column("Address", ".status.addresses[0].ipAddress", description="The first address."),
            Column("MAC", ".status.macAddress"),
            Column("Status", ".status.phase", description="Active or Down."),
            Column("Host", ".status.host", priority=1),
            AGE,
        ),
        selectable_fields=(".spec.network", ".status.host"),
        spec_rules=PORT_RULES,
    ),
    Kind(
        group="network",
        kind="Router",
        plural="routers",
        spec=RouterSpec,
        status=RouterStatus,
        description="A Router routes between Subnets of a project and, through its external gateway, to an "
        "ExternalNetwork (with source NAT and FloatingIPs).",
        short_names=("rtr",),
        columns=(
            Column("Gateway-Network", ".spec.externalGateway.network", description="The ExternalNetwork."),
            Column("SNAT", ".spec.externalGateway.enableSNAT", "boolean"),
            Column("Gateway-IP", ".status.externalGatewayIPs[0]", description="The external address."),
            READY,
            AGE,
        ),
    ),
    Kind(
        group="network",
        kind="SecurityGroup",
        plural="securitygroups",
        spec=SecurityGroupSpec,
        status=SecurityGroupStatus,
        description="A SecurityGroup is a stateful firewall for the Ports in it: a list of the traffic to "
        "allow. Each namespace has a group named default, which Ports use unless they name others.",
        short_names=("sg",),
        columns=(Column("Description", ".spec.description"), READY, AGE),
    ),
    Kind(
        group="network",
        kind="FloatingIP",
        plural="floatingips",
        spec=FloatingIPSpec,
        status=FloatingIPStatus,
        description="A FloatingIP is an address of an ExternalNetwork reserved by a project and translated "
        "(1:1 NAT) to a fixed address of a Server or Port; it can be moved between them.",
        short_names=("fip",),
        columns=(
            Column("Address", ".status.address"),
            Column("Server", ".spec.server"),
            Column("Port", ".status.port", description="The Port the address is translated to."),
            Column("Fixed-IP", ".status.fixedIP", priority=1),
            Column("Status", ".status.phase", description="Active, Down (unbound) or Error."),
            AGE,
        ),
        selectable_fields=(".spec.server", ".spec.port", ".spec.externalNetwork"),
        spec_rules=FLOATING_IP_RULES,
    ),
    Kind(
        group="network",
        kind="ExternalNetwork",
        plural="externalnetworks",
        spec=ExternalNetworkSpec,
        status=ExternalNetworkStatus,
        namespaced=False,
        description="An ExternalNetwork is a provider network outside the cloud (e.g. the Internet uplink) "
        "that Routers connect to and FloatingIPs are taken from. Published by administrators.",
        short_names=("extnet",),
        columns=(
            Column("Physical-Network", ".spec.physicalNetwork"),
            Column("VLAN", ".spec.vlan", "integer"),
            Column("CIDR", ".spec.cidr"),
            Column("Available", ".status.availableIPs", "integer", "Free addresses."),
            AGE,
        ),
        spec_rules=EXTERNAL_NETWORK_RULES,
    ),
    Kind(
        group="network",
        kind="IPAddressClaim",
        plural="ipaddressclaims",
        spec=IPAddressClaimSpec,
        status=None,
        description="An IPAddressClaim holds an address (or MAC, or segmentation ID) for its owner; written "
        "by the network controller only. Its name encodes what it holds, which makes it unique.",
        columns=(
            Column("Purpose", ".spec.purpose"),
            Column("Address", ".spec.address"),
            Column("Owner", ".spec.owner.name"),
            AGE,
        ),
        internal=True,
    ),
)

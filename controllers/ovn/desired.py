"""The OVN Northbound rows that Kumulus's network objects call for (pure).

`desired_rows(objects)` takes the network objects of the cluster as Kubernetes-style dicts (kind, metadata
with uid/name/namespace, spec, status; spec and status are parsed with the API models, so defaults apply) and
returns every Northbound row Kumulus wants, keyed by (table, key):

    ExternalNetwork -> Logical_Switch kumulus-<uid> + localnet Logical_Switch_Port kumulus-ln-<uid>
                       (options:network_name = physicalNetwork, tag = vlan)
    Network         -> Logical_Switch kumulus-<uid> (other_config:requested-tnl-key = status.segmentationId)
    Subnet          -> DHCP_Options (IPv4 when enableDHCP; IPv6 when ipv6AddressMode is DHCPv6*)
    Port            -> Logical_Switch_Port named after the Port's UID (libvirt's interfaceid must be a UUID)
                       with addresses "MAC IP...", port_security (plus allowedAddressPairs) unless port
                       security is off, dhcpv4/v6_options of its subnets, options:requested-chassis = host
    SecurityGroup   -> Port_Group pg_<uid with _> (its Ports with port security) + ACLs: one allow-related
                       ACL per rule (priority 1002), a DHCP-request allow (1002), two drops (1001)
    Router          -> Logical_Router kumulus-<uid>; per connected Network a Logical_Router_Port (networks =
                       the interfaces' addresses/prefix) and a router-type Logical_Switch_Port; with an
                       external gateway, the same on the ExternalNetwork's switch, a Gateway_Chassis
                       (status.host), a default static route to the ExternalNetwork's gatewayIP, and one snat
                       NAT per IPv4 interface subnet when enableSNAT; spec.routes -> static routes
    FloatingIP      -> NAT dnat_and_snat on the Router (external_ip = address, logical_ip = fixed IP)
    LoadBalancer    -> Load_Balancer lb-<uid>-<tcp|udp>[-ip_src] per protocol (and SourceIP affinity) in
                       use: vips "VIP:port" -> the default pool's members (status addresses, weight > 0),
                       selection_fields, ip_port_mappings member -> "<member LSP>:<VIP>" for monitored
                       pools, a Load_Balancer_Health_Check per monitored listener VIP; attached (column
                       load_balancer) to the switches of the VIP's and the members' Networks and to every
                       Router with an interface on the VIP's Network; floatingIP -> NAT dnat_and_snat
                       (external_ip = status.floatingIP, logical_ip = VIP). What OVN cannot realise is left
                       out (controllers.loadbalancer).

Every row's external_ids carries the owner's UID, kind, namespace and name, and the row's key. Objects whose
prerequisites are missing (a Port without a MAC yet, a Router interface whose Subnet does not exist...) give
no rows; the next resync adds them once the prerequisites exist.

Gaps (what the models say that OVN is not told, or OVN features not used):
- A Port with port security and no SecurityGroups is only anti-spoofed: the drop ACLs belong to each
  group's Port_Group (Neutron's single neutron_pg_drop would also drop such a port's traffic).
- Each group allows DHCP requests (v4 and v6) from its ports, so guests configure even without egress rules.
- Remote-group address sets ($pg_X_ip4/ip6, made by northd) hold the ports' addresses, not their
  allowedAddressPairs (as in Neutron).
- IPv6: no router advertisements (Logical_Router_Port ipv6_ra_configs) for SLAAC; DHCPv6 options only; no
  IPv6 SNAT; Subnet hostRoutes only reach IPv4 guests (classless_static_route).
- MTU: OVN switches have none; it goes to DHCP (option mtu) and external_ids kumulus:mtu; no gateway_mtu.
- Network.shared, Subnet.allocationPools (IPAM is the network controller's) and ExternalNetwork pools have
  no OVN counterpart.
- Router ports take derived MACs; Ports with deviceOwner network:router* are skipped (the Router itself is
  mapped). One Logical_Router_Port per connected Network, holding every interface address on it.
- Gateway: one Gateway_Chassis (status.host, which must equal the OVN chassis name), no HA_Chassis_Group;
  floating IPs are centralized on it (no external_mac, so no distributed NAT).
- A FloatingIP bound by server needs status.port (the FloatingIP controller resolves the Server's NIC).
- ACLs have no names, logging or meters.
- LoadBalancers: see controllers.loadbalancer for what is left out or approximated. A VIP inside the
  client's own subnet got no ARP answer in the recipes (OVN answers ARP for a VIP on the router only): use
  the VIP from other subnets, through the router, or from outside through the floating IP.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from pydantic import BaseModel, ValidationError

from controllers import loadbalancer as lbs
from controllers.api import loadbalancer as lb_api
from controllers.api import network as api

from .model import (
    KEY,
    OWNER_KIND,
    OWNER_NAME,
    OWNER_NAMESPACE,
    OWNER_UID,
    TABLES,
    Ref,
    Row,
    RowId,
    Rows,
    Value,
    canonical_refs,
    canonical_set,
)

ALLOW_PRIORITY = 1002
DROP_PRIORITY = 1001
LEASE_TIME = "43200"
MAC_PREFIX = "02:4b:4d"  # locally administered; the rest derives from what the MAC is for

_MODELS: dict[str, tuple[type[BaseModel], type[BaseModel]]] = {
    "Network": (api.NetworkSpec, api.NetworkStatus),
    "Subnet": (api.SubnetSpec, api.SubnetStatus),
    "Port": (api.PortSpec, api.PortStatus),
    "Router": (api.RouterSpec, api.RouterStatus),
    "SecurityGroup": (api.SecurityGroupSpec, api.SecurityGroupStatus),
    "FloatingIP": (api.FloatingIPSpec, api.FloatingIPStatus),
    "ExternalNetwork": (api.ExternalNetworkSpec, api.ExternalNetworkStatus),
    "LoadBalancer": (lb_api.LoadBalancerSpec, lb_api.LoadBalancerStatus),
}


@dataclass(frozen=True)
class Obj:
    kind: str
    uid: str
    name: str
    namespace: str
    spec: Any
    status: Any


def parse(obj: Mapping[str, Any]) -> Obj | None:
    """A network object from its dict form; None for kinds that do not map to OVN."""
    models = _MODELS.get(obj.get("kind", ""))
    if models is None:
        return None
    meta = obj.get("metadata", {})
    return Obj(
        kind=obj["kind"],
        uid=meta["uid"],
        name=meta["name"],
        namespace=meta.get("namespace", "") or "",
        spec=models[0].model_validate(obj.get("spec") or {}),
        status=models[1].model_validate(obj.get("status") or {}),
    )


# -- names ----------------------------------------------------------------------------------------------


def switch_name(uid: str) -> str:
    return f"kumulus-{uid}"


def router_name(uid: str) -> str:
    return f"kumulus-{uid}"


def port_group_name(uid: str) -> str:
    """OVN names port groups like identifiers (they appear in matches as @name and $name_ip4)."""
    return "pg_" + uid.replace("-", "_")


def derived_mac(seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).digest()
    return MAC_PREFIX + "".join(f":{b:02x}" for b in digest[:3])


# -- the row builder ------------------------------------------------------------------------------------


class _Builder:
    def __init__(self) -> None:
        self.rows: Rows = {}

    def add(
        self, owner: Obj, table: str, key: str, columns: Mapping[str, Any], parent: str | None = None
    ) -> Row:
        spec = TABLES[table]
        full: dict[str, Value] = {}
        for column, kind in spec.columns.items():
            value = columns.get(column)
            if column == "external_ids":
                marks = {
                    OWNER_UID: owner.uid,
                    OWNER_KIND: owner.kind,
                    OWNER_NAMESPACE: owner.namespace,
                    OWNER_NAME: owner.name,
                    KEY: key,
                }
                full[column] = {**(value or {}), **marks}
            elif kind == "atom":
                if value is None:
                    raise ValueError(f"{table} {key}: column {column} is required")
                full[column] = value
            elif kind == "set":
                full[column] = canonical_set(value or ())
            elif kind == "refs":
                full[column] = canonical_refs(value or ())
            else:
                full[column] = {k: str(v) for k, v in (value or {}).items()}
        if spec.parent is not None and (spec.parent[0], parent) not in self.rows:
            raise ValueError(f"{table} {key}: parent {parent} is not a desired row")
        row = Row(table, key, full, parent)
        self.rows.setdefault(row.id, row)  # identical ACLs of one group collapse into one
        return row

    def has(self, table: str, key: str) -> bool:
        return (table, key) in self.rows


def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(value)


def _net(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(cidr, strict=False)


def subnet_gateway(subnet: Obj) -> str | None:
    """The gateway address in effect: status, then spec, then the first address of the CIDR."""
    if subnet.spec.disable_gateway:
        return None
    gateway: str | None = subnet.status.gateway_ip or subnet.spec.gateway_ip
    if gateway is None:
        gateway = str(_net(subnet.spec.cidr).network_address + 1)
    return gateway


def _dhcp_list(values: Iterable[str]) -> str:
    items = list(values)
    return items[0] if len(items) == 1 else "{" + ", ".join(items) + "}"


class _World:
    """The parsed objects, indexed the ways the mapping needs."""

    def __init__(self, objects: Iterable[Mapping[str, Any] | Obj]) -> None:
        self.by_kind: dict[str, list[Obj]] = {kind: [] for kind in _MODELS}
        self.by_name: dict[tuple[str, str, str], Obj] = {}
        for raw in objects:
            try:
                obj = raw if isinstance(raw, Obj) else parse(raw)
            except ValidationError:
                if isinstance(raw, Obj) or raw.get("kind") != "LoadBalancer":
                    raise
                continue  # its status says why (network_plan); the rest of the network is still mapped
            if obj is None:
                continue
            self.by_kind[obj.kind].append(obj)
            self.by_name[(obj.kind, obj.namespace, obj.name)] = obj
        for objs in self.by_kind.values():
            objs.sort(key=lambda o: (o.namespace, o.name, o.uid))

    def get(self, kind: str, namespace: str, name: str | None) -> Obj | None:
        return None if name is None else self.by_name.get((kind, namespace, name))

    def subnets_of(self, network: Obj) -> list[Obj]:
        return [
            s
            for s in self.by_kind["Subnet"]
            if s.namespace == network.namespace and s.spec.network == network.name
        ]

    def subnet_for(self, network: Obj, ip: str) -> Obj | None:
        address = _ip(ip)
        for subnet in self.subnets_of(network):
            net = _net(subnet.spec.cidr)
            if address.version == net.version and address in net:
                return subnet
        return None


def _port_ips(port: Obj) -> list[str]:
    if port.status.addresses:
        return [a.ip_address for a in port.status.addresses]
    return [f.ip_address for f in port.spec.fixed_ips if f.ip_address]


def _port_mac(port: Obj) -> str | None:
    mac: str | None = port.status.mac_address or port.spec.mac_address
    return mac


def _port_security(port: Obj, network: Obj) -> bool:
    value: bool = (
        port.spec.port_security if port.spec.port_security is not None else network.spec.port_security
    )
    return value


def _port_groups(port: Obj) -> list[str]:
    groups: list[str] | None = port.spec.security_groups
    return ["default"] if groups is None else groups


def _is_router_interface_port(port: Obj) -> bool:
    owner: str | None = port.spec.device_owner
    return owner is not None and owner.startswith("network:router")


# -- per kind -------------------------------------------------------------------------------------------


def _external_network(b: _Builder, ext: Obj) -> None:
    ls = switch_name(ext.uid)
    b.add(ext, "Logical_Switch", ls, {"name": ls, "external_ids": {"kumulus:mtu": str(ext.spec.mtu)}})
    ln = f"kumulus-ln-{ext.uid}"
    b.add(
        ext,
        "Logical_Switch_Port",
        ln,
        {
            "name": ln,
            "type": "localnet",
            "addresses": ["unknown"],
            "options": {"network_name": ext.spec.physical_network},
            "tag": [ext.spec.vlan] if ext.spec.vlan is not None else [],
        },
        parent=ls,
    )


def _network(b: _Builder, net: Obj) -> None:
    ls = switch_name(net.uid)
    other: dict[str, str] = {}
    segment = net.status.segmentation_id
    if segment is not None and 1 <= segment <= 0xFFFFFF:
        other["requested-tnl-key"] = str(segment)
    b.add(
        net,
        "Logical_Switch",
        ls,
        {"name": ls, "other_config": other, "external_ids": {"kumulus:mtu": str(net.spec.mtu)}},
    )


def dhcp_key(subnet: Obj) -> str:
    return f"dhcp-{subnet.uid}"


def _subnet(b: _Builder, w: _World, subnet: Obj) -> None:
    network = w.get("Network", subnet.namespace, subnet.spec.network)
    if network is None or not subnet.spec.enable_dhcp:
        return
    net = _net(subnet.spec.cidr)
    gateway = subnet_gateway(subnet)
    server_mac = derived_mac("dhcp-" + subnet.uid)
    options: dict[str, str]
    if net.version == 4:
        options = {
            "server_id": gateway or str(net.network_address + 1),
            "server_mac": server_mac,
            "lease_time": LEASE_TIME,
            "mtu": str(network.spec.mtu),
        }
        if gateway is not None:
            options["router"] = gateway
        if subnet.spec.dns_servers:
            options["dns_server"] = _dhcp_list(subnet.spec.dns_servers)
        if subnet.spec.host_routes:
            routes = [f"{r.destination},{r.next_hop}" for r in subnet.spec.host_routes]
            if gateway is not None:
                routes.append(f"0.0.0.0/0,{gateway}")
            options["classless_static_route"] = _dhcp_list(routes)
    else:
        mode = subnet.spec.ipv6_address_mode
        if mode not in (api.IPv6AddressMode.DHCPV6_STATEFUL, api.IPv6AddressMode.DHCPV6_STATELESS):
            return
        options = {"server_id": server_mac}
        if mode == api.IPv6AddressMode.DHCPV6_STATELESS:
            options["dhcpv6_stateless"] = "true"
        if subnet.spec.dns_servers:
            options["dns_server"] = _dhcp_list(subnet.spec.dns_servers)
    b.add(subnet, "DHCP_Options", dhcp_key(subnet), {"cidr": str(net), "options": options})


def port_name(port: Obj) -> str:
    return port.uid


def _port(b: _Builder, w: _World, port: Obj) -> None:
    network = w.get("Network", port.namespace, port.spec.network)
    mac = _port_mac(port)
    if network is None or mac is None or _is_router_interface_port(port):
        return
    ips = _port_ips(port)
    main = " ".join([mac, *ips])
    security: list[str] = []
    if _port_security(port, network):
        # One entry per MAC (as Neutron does): address pairs with the Port's own MAC join its entry; several
        # entries for one MAC make ovn-controller's port security flows overlap.
        pairs: dict[str, list[str]] = {mac.lower(): [mac, *ips]}
        for pair in port.spec.allowed_address_pairs:
            pair_mac = pair.mac_address or mac
            pairs.setdefault(pair_mac.lower(), [pair_mac]).append(pair.ip_address)
        security = [" ".join(entry) for entry in pairs.values()]
    dhcp: dict[int, list[Ref]] = {4: [], 6: []}
    for ip in ips:
        subnet = w.subnet_for(network, ip)
        version = _ip(ip).version
        if subnet is not None and not dhcp[version] and b.has("DHCP_Options", dhcp_key(subnet)):
            dhcp[version].append(Ref("DHCP_Options", dhcp_key(subnet)))
    options = {"requested-chassis": port.status.host} if port.status.host else {}
    name = port_name(port)
    b.add(
        port,
        "Logical_Switch_Port",
        name,
        {
            "name": name,
            "type": "",
            "addresses": [main],
            "port_security": security,
            "options": options,
            "dhcpv4_options": dhcp[4],
            "dhcpv6_options": dhcp[6],
        },
        parent=switch_name(network.uid),
    )


def _rule_match(rule: api.SecurityGroupRule, group: str, remote_group: str | None) -> tuple[str, str]:
    """(direction, match) of an allow ACL for one rule."""
    ingress = rule.direction == api.Direction.INGRESS
    ip = "ip6" if rule.ethertype == api.EtherType.IPV6 else "ip4"
    parts = [f"{'outport' if ingress else 'inport'} == @{group}", ip]
    protocol = rule.protocol
    if protocol in (api.Protocol.TCP, api.Protocol.UDP):
        parts.append(protocol)
        low, high = rule.port_range_min, rule.port_range_max
        if low is not None and (high is None or high == low):
            parts.append(f"{protocol}.dst == {low}")
        elif low is not None:
            parts.append(f"{protocol}.dst >= {low} && {protocol}.dst <= {high}")
    elif protocol in (api.Protocol.ICMP, api.Protocol.ICMPV6):
        icmp = "icmp6" if protocol == api.Protocol.ICMPV6 else "icmp4"
        parts.append(icmp)
        if rule.icmp_type is not None:
            parts.append(f"{icmp}.type == {rule.icmp_type}")
        if rule.icmp_code is not None:
            parts.append(f"{icmp}.code == {rule.icmp_code}")
    peer = f"{ip}.{'src' if ingress else 'dst'}"
    if rule.remote_cidr is not None and _net(rule.remote_cidr).prefixlen > 0:
        parts.append(f"{peer} == {_net(rule.remote_cidr)}")
    elif remote_group is not None:
        parts.append(f"{peer} == ${remote_group}_{ip}")
    return ("to-lport" if ingress else "from-lport"), " && ".join(parts)


def acl_key(sg: Obj, direction: str, priority: int, match: str, action: str) -> str:
    digest = hashlib.sha256(f"{direction}|{priority}|{match}|{action}".encode()).hexdigest()[:16]
    return f"acl-{sg.uid}-{digest}"


def _security_group(b: _Builder, w: _World, sg: Obj) -> None:
    pg = port_group_name(sg.uid)
    members: list[Ref] = []
    for port in w.by_kind["Port"]:
        network = w.get("Network", port.namespace, port.spec.network)
        if (
            port.namespace == sg.namespace
            and network is not None
            and sg.name in _port_groups(port)
            and _port_security(port, network)
            and b.has("Logical_Switch_Port", port_name(port))
        ):
            members.append(Ref("Logical_Switch_Port", port_name(port)))
    b.add(sg, "Port_Group", pg, {"name": pg, "ports": members})
    acls: list[tuple[str, int, str, str]] = [
        ("to-lport", DROP_PRIORITY, f"outport == @{pg} && ip", "drop"),
        ("from-lport", DROP_PRIORITY, f"inport == @{pg} && ip", "drop"),
        (
            "from-lport",
            ALLOW_PRIORITY,
            f"inport == @{pg} && ((ip4 && udp.src == 68 && udp.dst == 67) "
            "|| (ip6 && udp.src == 546 && udp.dst == 547))",
            "allow",
        ),
    ]
    for rule in sg.spec.rules:
        remote: str | None = None
        if rule.remote_group is not None:
            other = w.get("SecurityGroup", sg.namespace, rule.remote_group)
            if other is None:
                continue  # its address set would not exist: the rule allows nothing yet
            remote = port_group_name(other.uid)
        direction, match = _rule_match(rule, pg, remote)
        acls.append((direction, ALLOW_PRIORITY, match, "allow-related"))
    for direction, priority, match, action in acls:
        b.add(
            sg,
            "ACL",
            acl_key(sg, direction, priority, match, action),
            {"direction": direction, "priority": priority, "match": match, "action": action},
            parent=pg,
        )


def lrp_name(router: Obj, network_uid: str) -> str:
    return f"kumulus-lrp-{router.uid}-{network_uid}"


def _router_link(b: _Builder, router: Obj, switch_owner_uid: str, networks: list[str], gateway: bool) -> str:
    """The router port on a switch and its peer switch port; returns the router port's name."""
    lrp = lrp_name(router, switch_owner_uid)
    b.add(
        router,
        "Logical_Router_Port",
        lrp,
        {"name": lrp, "mac": derived_mac(lrp), "networks": networks},
        parent=router_name(router.uid),
    )
    lsp = f"kumulus-rp-{router.uid}-{switch_owner_uid}"
    options = {"router-port": lrp}
    if gateway:
        options["nat-addresses"] = "router"
    b.add(
        router,
        "Logical_Switch_Port",
        lsp,
        {"name": lsp, "type": "router", "addresses": ["router"], "options": options},
        parent=switch_name(switch_owner_uid),
    )
    return lrp


def router_gateway_ip(w: _World, router: Obj) -> tuple[Obj, str] | None:
    gw = router.spec.external_gateway
    if gw is None:
        return None
    ext = w.get("ExternalNetwork", "", gw.network)
    address = router.status.external_gateway_ips[0] if router.status.external_gateway_ips else gw.fixed_ip
    if ext is None or address is None:
        return None
    return ext, address


def _router(b: _Builder, w: _World, router: Obj) -> None:
    lr = router_name(router.uid)
    b.add(router, "Logical_Router", lr, {"name": lr})
    per_network: dict[str, list[str]] = {}
    subnets: list[Obj] = []
    for iface in router.spec.interfaces:
        subnet = w.get("Subnet", router.namespace, iface.subnet)
        network = None if subnet is None else w.get("Network", router.namespace, subnet.spec.network)
        if subnet is None or network is None or not b.has("Logical_Switch", switch_name(network.uid)):
            continue
        address = iface.ip_address or subnet_gateway(subnet)
        if address is None:
            continue
        per_network.setdefault(network.uid, []).append(f"{address}/{_net(subnet.spec.cidr).prefixlen}")
        subnets.append(subnet)
    for network_uid, addresses in per_network.items():
        _router_link(b, router, network_uid, addresses, gateway=False)
    for route in router.spec.routes:
        b.add(
            router,
            "Logical_Router_Static_Route",
            f"route-{router.uid}-{route.destination}-{route.next_hop}",
            {"ip_prefix": str(_net(route.destination)), "nexthop": route.next_hop},
            parent=lr,
        )
    gateway = router_gateway_ip(w, router)
    if gateway is None or not b.has("Logical_Switch", switch_name(gateway[0].uid)):
        return
    ext, address = gateway
    ext_net = _net(ext.spec.cidr)
    lrp = _router_link(b, router, ext.uid, [f"{address}/{ext_net.prefixlen}"], gateway=True)
    if router.status.host:
        name = f"{lrp}_{router.status.host}"
        b.add(
            router,
            "Gateway_Chassis",
            name,
            {"name": name, "chassis_name": router.status.host, "priority": 1},
            parent=lrp,
        )
    default = "0.0.0.0/0" if ext_net.version == 4 else "::/0"
    b.add(
        router,
        "Logical_Router_Static_Route",
        f"route-{router.uid}-default",
        {"ip_prefix": default, "nexthop": ext.spec.gateway_ip},
        parent=lr,
    )
    if router.spec.external_gateway.enable_snat and ext_net.version == 4:
        for subnet in subnets:
            cidr = _net(subnet.spec.cidr)
            if cidr.version == 4:
                b.add(
                    router,
                    "NAT",
                    f"snat-{router.uid}-{subnet.uid}",
                    {"type": "snat", "external_ip": address, "logical_ip": str(cidr)},
                    parent=lr,
                )


def _floating_ip(b: _Builder, w: _World, fip: Obj) -> None:
    address: str | None = fip.status.address or fip.spec.address
    port = w.get("Port", fip.namespace, fip.status.port or fip.spec.port)
    if address is None or port is None or not b.has("Logical_Switch_Port", port_name(port)):
        return
    version = _ip(address).version
    fixed: str | None = fip.status.fixed_ip or fip.spec.fixed_ip
    if fixed is None:
        fixed = next((ip for ip in _port_ips(port) if _ip(ip).version == version), None)
    network = w.get("Network", port.namespace, port.spec.network)
    if fixed is None or network is None:
        return
    router = w.get("Router", fip.namespace, fip.status.router)
    if router is None:  # the Router with a gateway on the FloatingIP's network and an interface on the port
        subnet = w.subnet_for(network, fixed)
        for candidate in w.by_kind["Router"]:
            gw = candidate.spec.external_gateway
            if (
                candidate.namespace == fip.namespace
                and gw is not None
                and gw.network == fip.spec.external_network
                and subnet is not None
                and any(i.subnet == subnet.name for i in candidate.spec.interfaces)
            ):
                router = candidate
                break
    gateway = None if router is None else router_gateway_ip(w, router)
    if router is None or gateway is None or gateway[0].name != fip.spec.external_network:
        return
    if not b.has("Logical_Router_Port", lrp_name(router, gateway[0].uid)):
        return
    b.add(
        fip,
        "NAT",
        f"fip-{fip.uid}",
        {
            "type": "dnat_and_snat",
            "external_ip": address,
            "logical_ip": fixed,
            "logical_port": [port_name(port)],
        },
        parent=router_name(router.uid),
    )


def lb_row_key(lb: Obj, protocol: str, fields: tuple[str, ...]) -> str:
    return f"lb-{lb.uid}-{protocol}" + "".join(f"-{f}" for f in fields)


def _lsp_of(w: _World, network: Obj, address: str) -> str | None:
    """The logical switch port holding an address on a network (a Port's, by its UID)."""
    for port in w.by_kind["Port"]:
        if (
            port.namespace == network.namespace
            and port.spec.network == network.name
            and not _is_router_interface_port(port)
            and address in _port_ips(port)
        ):
            return port_name(port)
    return None


def _lb_network(w: _World, lb: Obj, subnet_name: str) -> Obj | None:
    subnet = w.get("Subnet", lb.namespace, subnet_name)
    return None if subnet is None else w.get("Network", lb.namespace, subnet.spec.network)


def _load_balancer(b: _Builder, w: _World, lb: Obj, attach: dict[RowId, set[Ref]]) -> None:
    """Load_Balancer rows (one per protocol and selection), their health checks, the floating IP's NAT,
    and the switches and routers they are attached to (collected in `attach`)."""
    spec: lb_api.LoadBalancerSpec = lb.spec
    vip: str | None = lb.status.vip_address
    vip_network = _lb_network(w, lb, spec.vip_subnet)
    if vip is None or vip_network is None or not b.has("Logical_Switch", switch_name(vip_network.uid)):
        return
    bad_listeners = lbs.listener_problems(spec)
    bad_pools = lbs.pool_problems(spec)
    pools = {p.name: p for p in spec.pools}
    addresses: dict[str, list[str | None]] = {
        p.name: [m.address for m in p.members] for p in lb.status.pools if len(p.members) > 0
    }
    rows: dict[str, dict[str, Any]] = {}  # LB row key -> columns
    checks: dict[str, list[tuple[str, dict[str, str]]]] = {}  # LB row key -> [(HC key, columns)]
    networks = {vip_network.uid}
    for listener in spec.listeners:
        pool = pools.get(listener.default_pool or "")
        if pool is None or listener.name in bad_listeners or pool.name in bad_pools:
            continue
        resolved = addresses.get(pool.name, [])
        if len(resolved) != len(pool.members):
            resolved = [None] * len(pool.members)  # the status is not written for this spec yet
        protocol = lbs.ovn_protocol(str(listener.protocol))
        fields = lbs.selection(pool)
        key = lb_row_key(lb, protocol, fields)
        columns = rows.setdefault(
            key,
            {
                "name": f"kumulus-{key}",
                "vips": {},
                "protocol": [protocol],
                "selection_fields": fields,
                "ip_port_mappings": {},
                "options": {},
            },
        )
        backends: list[str] = []
        for member, address in zip(pool.members, resolved, strict=True):
            if address is None or member.weight == 0:
                continue
            backends.append(lbs.vip_key(address, member.protocol_port))
            subnet = member.subnet or spec.vip_subnet
            network = _lb_network(w, lb, subnet)
            if network is None:
                continue
            networks.add(network.uid)
            lsp = _lsp_of(w, network, address)
            if pool.health_monitor is not None and subnet == spec.vip_subnet and lsp is not None:
                # ovn-controller checks the member from the VIP, out of the member's switch port
                columns["ip_port_mappings"][address] = f"{lsp}:{vip}"
        vip_port = lbs.vip_key(vip, listener.port)
        columns["vips"][vip_port] = ",".join(backends)
        monitor = pool.health_monitor
        if monitor is not None:
            options = {
                "interval": str(monitor.delay_seconds),
                "timeout": str(monitor.timeout_seconds),
                "success_count": str(monitor.max_retries),
                "failure_count": str(monitor.max_retries_down),
            }
            checks.setdefault(key, []).append((f"lbhc-{lb.uid}-{protocol}-{listener.port}", options))
    for key, columns in rows.items():
        b.add(lb, "Load_Balancer", key, columns)
        for check_key, options in checks.get(key, []):
            vip_port = lbs.vip_key(vip, int(check_key.rsplit("-", 1)[1]))
            b.add(
                lb, "Load_Balancer_Health_Check", check_key, {"vip": vip_port, "options": options}, parent=key
            )
        ref = Ref("Load_Balancer", key)
        for network_uid in networks:
            attach.setdefault(("Logical_Switch", switch_name(network_uid)), set()).add(ref)
        for router in _routers_on(w, vip_network):
            attach.setdefault(("Logical_Router", router_name(router.uid)), set()).add(ref)
    _lb_floating_ip(b, w, lb, vip)


def _routers_on(w: _World, network: Obj) -> list[Obj]:
    subnets = {s.name for s in w.subnets_of(network)}
    return [
        r
        for r in w.by_kind["Router"]
        if r.namespace == network.namespace and any(i.subnet in subnets for i in r.spec.interfaces)
    ]


def _lb_floating_ip(b: _Builder, w: _World, lb: Obj, vip: str) -> None:
    """The floating IP NATed to the VIP on the Router with a gateway on its ExternalNetwork and an
    interface on vipSubnet (centralized on the gateway chassis: no logical_port)."""
    request = lb.spec.floating_ip
    address: str | None = lb.status.floating_ip
    if request is None or address is None:
        return
    for router in w.by_kind["Router"]:
        gateway = router_gateway_ip(w, router)
        if (
            router.namespace == lb.namespace
            and gateway is not None
            and gateway[0].name == request.external_network
            and any(i.subnet == lb.spec.vip_subnet for i in router.spec.interfaces)
            and b.has("Logical_Router_Port", lrp_name(router, gateway[0].uid))
        ):
            b.add(
                lb,
                "NAT",
                f"lbfip-{lb.uid}",
                {"type": "dnat_and_snat", "external_ip": address, "logical_ip": vip},
                parent=router_name(router.uid),
            )
            return


def _attach(b: _Builder, attach: Mapping[RowId, set[Ref]]) -> None:
    """Set the load_balancer column of the switches and routers the Load_Balancers are attached to."""
    for row_id, refs in attach.items():
        row = b.rows.get(row_id)
        if row is not None:
            b.rows[row_id] = replace(row, columns={**row.columns, "load_balancer": canonical_refs(refs)})


def desired_rows(objects: Iterable[Mapping[str, Any] | Obj]) -> Rows:
    """Every Northbound row the given network objects call for."""
    w = _World(objects)
    b = _Builder()
    for ext in w.by_kind["ExternalNetwork"]:
        _external_network(b, ext)
    for net in w.by_kind["Network"]:
        _network(b, net)
    for subnet in w.by_kind["Subnet"]:
        _subnet(b, w, subnet)
    for port in w.by_kind["Port"]:
        _port(b, w, port)
    for sg in w.by_kind["SecurityGroup"]:
        _security_group(b, w, sg)
    for router in w.by_kind["Router"]:
        _router(b, w, router)
    for fip in w.by_kind["FloatingIP"]:
        _floating_ip(b, w, fip)
    attach: dict[RowId, set[Ref]] = {}
    for lb in w.by_kind["LoadBalancer"]:
        _load_balancer(b, w, lb, attach)
    _attach(b, attach)
    return b.rows

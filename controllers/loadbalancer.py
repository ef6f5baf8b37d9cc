"""LoadBalancers on OVN: what OVN can realise of a LoadBalancer, its members, and its status (pure).

OVN load balancers are layer 4 (as Octavia's OVN provider): a Load_Balancer row maps "VIP:port" to
"member:port,..." for one protocol (tcp or udp), with health checks made by ovn-controller. What a
LoadBalancer asks for beyond that is not silently ignored; each feature is either realised approximately
(the note says how) or its listener or pool gets provisioningStatus Error with a message naming the field,
while the rest of the LoadBalancer is still realised:

| feature                                         | choice                                                   |
|-------------------------------------------------|----------------------------------------------------------|
| TCP / UDP listener and pool                     | realised (Load_Balancer protocol tcp / udp)              |
| HTTP listener, HTTP pool, no L7 policies        | approximated: forwarded as TCP (no HTTP parsing)         |
| HTTPS pool behind a TCP listener                | realised: TLS passes through as TCP                      |
| HTTPS listener (tlsSecret)                      | listener Error: no TLS termination                       |
| l7Policies                                      | listener Error: no HTTP routing                          |
| connectionLimit, timeouts, allowedCIDRs         | listener Error: OVN has no per-VIP limits, timeouts, ACL |
| HTTPS pool behind an HTTP listener              | listener Error: no re-encryption                         |
| PROXY pool                                      | pool Error: no PROXY protocol header                     |
| algorithm RoundRobin                            | approximated: OVN's default hash of the connection      |
| algorithm SourceIP, sessionPersistence SourceIP | realised: selection_fields ip_src                        |
| algorithm LeastConnections                      | pool Error                                               |
| sessionPersistence HTTPCookie / AppCookie       | pool Error                                               |
| member weight > 0                               | approximated: every member gets an equal share           |
| member weight 0                                 | realised: left out of the VIP, status Draining           |
| member backup, monitorAddress, monitorPort      | pool Error                                               |
| monitor TCP (TCP pool), UDP-CONNECT (UDP pool)  | realised: Load_Balancer_Health_Check                     |
| monitor HTTP, HTTPS, TLS-HELLO on a TCP pool    | approximated: a TCP connect check                        |
| monitor PING, or TCP/HTTP on a UDP pool         | pool Error: OVN checks with the pool's own protocol      |
| monitor httpMethod, urlPath, expectedCodes      | approximated: not checked (a TCP connect check)          |

Member health comes from the Southbound Service_Monitor rows (written by ovn-controller): online -> Online,
offline or error -> Error. A monitored member with no row yet, a row without a status (no ovn-controller
checks it yet) or no Southbound database configured is NoMonitor: its health is unknown, and OVN itself
sends traffic to backends whose health is not known. Members are health-checked from the VIP, so only
members on vipSubnet that have a Port (a logical switch port) are checked; the others are NoMonitor.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from controllers.api import loadbalancer as api
from controllers.network_world import Obj, World, deleting, key_of, uid_of

LAYER4 = "OVN load balancers are layer 4"
MonitorKey = tuple[str, int, str, str]
"""(member IP, port, protocol tcp/udp, logical switch port): a Southbound Service_Monitor's index."""


def ovn_protocol(protocol: str) -> str:
    """The Load_Balancer protocol of a listener or pool protocol."""
    return "udp" if protocol == "UDP" else "tcp"


def vip_key(vip: str, port: int) -> str:
    return f"[{vip}]:{port}" if ipaddress.ip_address(vip).version == 6 else f"{vip}:{port}"


def selection(pool: api.Pool) -> tuple[str, ...]:
    """OVN selection_fields of a pool's Load_Balancer row: the client address for SourceIP affinity."""
    persistence = pool.session_persistence
    if pool.algorithm == api.Algorithm.SOURCE_IP or (
        persistence is not None and persistence.type == api.SessionPersistenceType.SOURCE_IP
    ):
        return ("ip_src",)
    return ()


# -- what OVN cannot do -----------------------------------------------------------------------------------


def pool_problems(spec: api.LoadBalancerSpec) -> dict[str, str]:
    """Pool name -> why OVN cannot realise it (naming the fields)."""
    out: dict[str, str] = {}
    for pool in spec.pools:
        why: list[str] = []
        if pool.protocol == api.PoolProtocol.PROXY:
            why.append(f"protocol PROXY: {LAYER4} and cannot send the PROXY protocol header")
        if pool.algorithm == api.Algorithm.LEAST_CONNECTIONS:
            why.append(
                f"algorithm LeastConnections: {LAYER4} and hash connections; use RoundRobin or SourceIP"
            )
        persistence = pool.session_persistence
        if persistence is not None and persistence.type != api.SessionPersistenceType.SOURCE_IP:
            why.append(
                f"sessionPersistence.type {persistence.type}: {LAYER4} and cannot read cookies; use SourceIP"
            )
        for i, member in enumerate(pool.members):
            label = member.name or member.server or member.address
            if member.backup:
                why.append(f"members[{i}] ({label}).backup: OVN load balancers have no backup members")
            if member.monitor_address is not None or member.monitor_port is not None:
                why.append(
                    f"members[{i}] ({label}).monitorAddress/monitorPort: OVN checks the member's own "
                    "address and port"
                )
        monitor = pool.health_monitor
        if monitor is not None:
            kind = monitor.type
            if kind == api.HealthMonitorType.PING:
                why.append(f"healthMonitor.type PING: {LAYER4}: their checks connect to the member's port")
            elif pool.protocol == api.PoolProtocol.UDP and kind != api.HealthMonitorType.UDP_CONNECT:
                why.append(
                    f"healthMonitor.type {kind}: OVN checks a UDP pool's members with UDP; use UDP-CONNECT"
                )
        if why:
            out[pool.name] = f"pool {pool.name}: " + "; ".join(why)
    return out


def listener_problems(spec: api.LoadBalancerSpec) -> dict[str, str]:
    """Listener name -> why OVN cannot realise it (naming the fields)."""
    pools = {p.name: p for p in spec.pools}
    out: dict[str, str] = {}
    for listener in spec.listeners:
        why: list[str] = []
        if listener.protocol == api.ListenerProtocol.HTTPS:
            why.append(
                f"protocol HTTPS (tlsSecret): {LAYER4} and cannot terminate TLS; use TCP to pass it through"
            )
        if listener.l7_policies:
            why.append(f"l7Policies: {LAYER4} and cannot route HTTP requests")
        if listener.connection_limit is not None:
            why.append("connectionLimit: OVN load balancers cannot limit connections")
        if listener.timeouts is not None:
            why.append("timeouts: OVN load balancers have no per-listener timeouts")
        if listener.allowed_cidrs:
            why.append("allowedCIDRs: OVN load balancers cannot filter clients; use a SecurityGroup")
        pool = pools.get(listener.default_pool or "")
        if (
            pool is not None
            and listener.protocol == api.ListenerProtocol.HTTP
            and pool.protocol == api.PoolProtocol.HTTPS
        ):
            why.append(f"defaultPool {pool.name} is HTTPS: {LAYER4} and cannot re-encrypt HTTP to members")
        if why:
            out[listener.name] = f"listener {listener.name}: " + "; ".join(why)
    return out


# -- members ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where a member's traffic goes: its address, and the Port (logical switch port) holding it."""

    address: str | None
    port_uid: str | None = None
    problem: str | None = None


def port_with_address(w: World, namespace: str, subnet: str, address: str) -> Obj | None:
    for port in w.in_namespace("Port", namespace):
        for entry in (port.get("status") or {}).get("addresses") or []:
            if entry.get("subnet") == subnet and entry.get("ipAddress") == address:
                return port
    return None


def resolve_member(w: World, namespace: str, member: api.Member, subnet: str) -> Target:
    """A member's address on its subnet: given, or the Server's NIC Port's address there."""
    if w.get("Subnet", namespace, subnet) is None:
        return Target(None, problem=f"Subnet {subnet} does not exist")
    if member.address is not None:
        address = str(ipaddress.ip_address(member.address))
        port = port_with_address(w, namespace, subnet, address)
        return Target(address, None if port is None else uid_of(port))
    server = w.get("Server", namespace, member.server)
    if server is None:
        return Target(None, problem=f"Server {member.server} does not exist")
    if deleting(server):
        return Target(None, problem=f"Server {member.server} is being deleted")
    nics = (server.get("spec") or {}).get("networks") or []
    for i, nic in enumerate(nics):
        port = w.get("Port", namespace, nic.get("port") or f"{member.server}-nic{i}")
        if port is None:
            continue
        for entry in (port.get("status") or {}).get("addresses") or []:
            if entry.get("subnet") == subnet:
                return Target(str(entry["ipAddress"]), uid_of(port))
    return Target(None, problem=f"Server {member.server} has no address on Subnet {subnet} yet")


def monitored(pool: api.Pool, subnet: str, vip_subnet: str, target: Target) -> bool:
    """Whether OVN health-checks this member (checks are sourced from the VIP, on vipSubnet)."""
    return pool.health_monitor is not None and subnet == vip_subnet and target.port_uid is not None


def member_health(
    pool: api.Pool,
    member: api.Member,
    target: Target,
    is_monitored: bool,
    monitors: Mapping[MonitorKey, str] | None,
) -> api.MemberOperatingStatus:
    if target.address is None:
        return api.MemberOperatingStatus.ERROR
    if member.weight == 0:
        return api.MemberOperatingStatus.DRAINING
    if not is_monitored or monitors is None or target.port_uid is None:
        return api.MemberOperatingStatus.NO_MONITOR
    key = (target.address, member.protocol_port, ovn_protocol(str(pool.protocol)), target.port_uid)
    status = monitors.get(key, "")
    if status == "online":
        return api.MemberOperatingStatus.ONLINE
    if status in ("offline", "error"):
        return api.MemberOperatingStatus.ERROR
    return api.MemberOperatingStatus.NO_MONITOR


# -- operating status -------------------------------------------------------------------------------------

_SEVERITY = {
    api.OperatingStatus.ONLINE: 0,
    api.OperatingStatus.NO_MONITOR: 1,
    api.OperatingStatus.DEGRADED: 2,
    api.OperatingStatus.OFFLINE: 3,
    api.OperatingStatus.ERROR: 4,
}


def worst(statuses: Iterable[api.OperatingStatus]) -> api.OperatingStatus:
    return max(statuses, key=lambda s: _SEVERITY[s], default=api.OperatingStatus.ONLINE)


def pool_operating(
    pool: api.Pool, members: Sequence[api.MemberOperatingStatus], problem: bool
) -> api.OperatingStatus:
    """Error when not realised or no member is healthy, Degraded when some are not, Online when all are
    (NoMonitor without a monitor or while every member's health is unknown)."""
    if problem:
        return api.OperatingStatus.ERROR
    counted = [m for m in members if m != api.MemberOperatingStatus.DRAINING]
    bad = [m for m in counted if m in (api.MemberOperatingStatus.ERROR, api.MemberOperatingStatus.OFFLINE)]
    if counted and len(bad) == len(counted):
        return api.OperatingStatus.ERROR
    if bad:
        return api.OperatingStatus.DEGRADED
    if pool.health_monitor is None or all(m == api.MemberOperatingStatus.NO_MONITOR for m in counted):
        return api.OperatingStatus.NO_MONITOR
    return api.OperatingStatus.ONLINE


def lb_key(lb: Obj) -> str:
    return "/".join(key_of(lb))

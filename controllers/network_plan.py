"""What the network operator does with each network object, as data: pure and level-based.

    actions = plan(kind, obj, world)

The operator applies `Actions` in order: the finalizer list (ONE metadata merge patch, with the
resourceVersion read), then the claims to `create`: when there are any, it creates them and plans again
(a 409 puts the existing claim into the world: if it is ours the next plan adopts it, else the next plan
takes another address or reports AddressInUse, see controllers.ipam). With no claims to create: ONE status
PUT, then the claims to delete (released after the status stopped naming them). `release` marks an object
being deleted that nothing holds any more: its finalizer goes once the OVN rows are gone. Planning again on
the result gives no actions.

Deletion is blocked, as Neutron's "in use" errors, while something uses the object: a Network while
Subnets or Ports are on it, a Subnet while Ports have addresses in it or Routers interfaces on it, an
ExternalNetwork while Routers or FloatingIPs use it: condition DeletionBlocked names them.

LoadBalancers (controllers.loadbalancer says what of them OVN realises) claim their VIP on vipSubnet like a
Port's fixed IP, and their floating IP like a FloatingIP; their provisioningStatus is Pending until an OVN
Northbound sync made from their current generation succeeded (`World.lb_synced`), and their members' health
comes from the Southbound Service_Monitor rows (`World.service_monitors`).

Ports: Ready says whether the addresses are allocated; `phase` says whether OVN wired the Port where its
user runs. status.host is the Host of the Server using the Port (its owner, or a Server naming it in
spec.networks[].port), which the Logical_Switch_Port requests as its chassis; the phase is Active only when
the Southbound Port_Binding (`World.port_bindings`) is on that chassis and up, else Down, with condition
Bound giving the reason (controllers.ovn.bindings) and status.boundChassis the chassis OVN reports.

Events: a status whose Ready condition changes plans an Event (Normal when it becomes Ready or makes
progress, Warning on a failure); a LoadBalancer also plans one when its operating status changes. Events
are only planned with a status write, so a pass in sync posts none. A Port plans one when its phase
changes (Normal Active, or Down with the Bound reason) and a Warning when it is bound on another chassis.

Claims: fixed IPs and MACs live in the owner's namespace with a controller ownerReference (garbage
collection frees them); ExternalNetwork addresses and segmentation IDs are cluster-wide, so they live in
kumulus-system, are deleted by the owner's finalizer, and `sweep_claims` deletes those whose owner is gone.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel, ValidationError

from controllers import ipam
from controllers import loadbalancer as lbs
from controllers.api import loadbalancer as lb_api
from controllers.api import network as api
from controllers.compute_plan import Event
from controllers.conditions import find, set_condition
from controllers.network_world import CLAIM, OVN_KINDS, Key, Obj, SpaceKey, World, deleting, key_of, uid_of
from controllers.ovn.bindings import BOUND, port_binding

GROUP = "network.kumulus.dev"
API_VERSION = f"{GROUP}/v1alpha1"
SYSTEM_NAMESPACE = "kumulus-system"
FINALIZERS = {
    "Port": f"{GROUP}/port",
    "Network": f"{GROUP}/network",
    "Subnet": f"{GROUP}/subnet",
    "Router": f"{GROUP}/router",
    "FloatingIP": f"{GROUP}/floatingip",
    "ExternalNetwork": f"{GROUP}/externalnetwork",
    "LoadBalancer": "loadbalancer.kumulus.dev/loadbalancer",
}
OWNER_UID_LABEL = f"{GROUP}/owner-uid"
MAX_SEGMENT = 0xFFFFFF
"""OVN's largest datapath tunnel key with Geneve (24 bits)."""
DEFAULT_GROUP = "default"
_MAX_NAMED = 10


@dataclass(frozen=True)
class Actions:
    finalizers: list[str] | None = None
    """The new finalizer list, when it changes."""
    create: tuple[dict[str, Any], ...] = ()
    """Claims to create, then plan again."""
    status: dict[str, Any] | None = None
    """The whole new status, when it changes."""
    delete_claims: tuple[Key, ...] = ()
    """Claims to delete once the status is written."""
    release: bool = False
    """Being deleted, held by nothing: drop it from OVN, then apply `finalizers`."""
    events: tuple[Event, ...] = ()
    """Events to post once the status is written."""

    @property
    def empty(self) -> bool:
        return self.finalizers is None and not self.create and self.status is None and not self.delete_claims


# -- helpers --------------------------------------------------------------------------------------------


class _Problem(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def _spec(model: type[BaseModel], obj: Obj) -> Any:
    try:
        return model.model_validate(obj.get("spec") or {})
    except ValidationError as exc:
        raise _Problem("InvalidSpec", str(exc).splitlines()[0]) from exc


def _finalizers(obj: Obj, kind: str, present: bool) -> list[str] | None:
    current = list(obj["metadata"].get("finalizers") or [])
    name = FINALIZERS[kind]
    if present and name not in current:
        return [*current, name]
    if not present and name in current:
        return [f for f in current if f != name]
    return None


def _status(
    obj: Obj,
    fields: Mapping[str, Any],
    ready: tuple[bool, str, str],
    extra: Sequence[tuple[str, bool, str, str]] = (),
) -> dict[str, Any] | None:
    """The new status (fields set, None values removed, Ready and extra conditions set), None if unchanged."""
    old: dict[str, Any] = dict(obj.get("status") or {})
    new = {**old, **fields}
    for name in [k for k, v in new.items() if v is None]:
        new.pop(name)
    generation = obj["metadata"].get("generation")
    conditions = old.get("conditions")
    for kind, status, reason, message in [("Ready", *ready), *extra]:
        conditions = set_condition(conditions, kind, status, reason, message, observed_generation=generation)
    new["conditions"] = sorted(conditions or [], key=lambda c: str(c.get("type")))
    if generation is not None:
        new["observedGeneration"] = generation
    return None if new == old else new


def _owner(obj: Obj, kind: str) -> dict[str, Any]:
    ns, name = key_of(obj)
    return {"kind": kind, "namespace": ns or None, "name": name, "uid": uid_of(obj)}


def claim_body(
    name: str,
    namespace: str,
    owner: Obj,
    owner_kind: str,
    purpose: api.ClaimPurpose,
    address: str,
    **space: str,
) -> dict[str, Any]:
    """An IPAddressClaim; with an ownerReference when its owner is in the same namespace."""
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "labels": {OWNER_UID_LABEL: uid_of(owner)}}
    if key_of(owner)[0] == namespace:
        meta["ownerReferences"] = [
            {
                "apiVersion": str(owner.get("apiVersion") or API_VERSION),
                "kind": owner_kind,
                "name": key_of(owner)[1],
                "uid": uid_of(owner),
                "controller": True,
            }
        ]
    who = {k: v for k, v in _owner(owner, owner_kind).items() if v is not None}
    spec: dict[str, Any] = {"purpose": str(purpose), "address": address, "owner": who, **space}
    return {"apiVersion": API_VERSION, "kind": CLAIM, "metadata": meta, "spec": spec}


def _mine(claims: Mapping[str, Obj], uid: str) -> list[str]:
    return [value for value, c in claims.items() if (c["spec"].get("owner") or {}).get("uid") == uid]


def _named(what: Iterable[str]) -> str:
    items = sorted(what)
    more = f" and {len(items) - _MAX_NAMED} more" if len(items) > _MAX_NAMED else ""
    return ", ".join(items[:_MAX_NAMED]) + more


def _blocked(obj: Obj, kind: str, w: World, users: Iterable[str]) -> Actions:
    """A deletion: blocked while users remain (condition DeletionBlocked), else released with its claims."""
    names = list(users)
    if names:
        message = f"{kind} {key_of(obj)[1]} is in use by {_named(names)}; delete them first"
        blocked = [("DeletionBlocked", True, "InUse", message)]
        return Actions(status=_status(obj, {}, (False, "DeletionBlocked", message), blocked))
    claims = tuple(w.owned_claims(uid_of(obj)))
    return Actions(finalizers=_finalizers(obj, kind, False), delete_claims=claims, release=True)


def _ip_text(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return value


def _ip_int(value: str) -> int:
    return int(ipaddress.ip_address(value))


def _pick(
    space: ipam.AddressSpace,
    claims: Mapping[str, Obj],
    uid: str,
    requested: str | None,
    used_here: set[str],
    prefer: Sequence[str] = (),
) -> tuple[str, bool]:
    """(address, whether a claim must be created): the requested address, else one this owner holds in the
    space (those in `prefer` first), else the lowest free one. Raises ipam.IPAMError."""
    taken = ipam.UsedAddresses(space.version, [*claims, *used_here])
    if requested is not None:
        text = _ip_text(requested)
        claim = claims.get(text)
        if claim is not None and _claim_uid(claim) == uid and text not in used_here:
            return text, False
        return str(ipam.check_requested(space, taken, text)), True
    mine = [a for a in _mine(claims, uid) if a not in used_here and space.contains(a)]
    ordered = [p for p in prefer if p in mine] + sorted(mine, key=_ip_int)
    if ordered:
        return ordered[0], False
    return ipam.allocate(space, taken).ip, True


def _claim_uid(claim: Obj) -> str:
    return str(((claim.get("spec") or {}).get("owner") or {}).get("uid") or "")


def _space_key(namespace: str, kind: str, name: str) -> SpaceKey:
    return namespace, kind, name


# -- Network --------------------------------------------------------------------------------------------


def segment_claim_name(segment: int) -> str:
    return f"segmentclaim-{segment}"


def pick_segment(uid: str, taken: Iterable[str]) -> int:
    """A segmentation ID (VNI) derived from the Network's uid, probing upwards past those taken."""
    used = set(taken)
    start = int.from_bytes(hashlib.sha256(uid.encode()).digest()[:4], "big") % MAX_SEGMENT
    for i in range(MAX_SEGMENT):
        segment = (start + i) % MAX_SEGMENT + 1
        if str(segment) not in used:
            return segment
    raise _Problem("NoFreeSegment", f"all {MAX_SEGMENT} segmentation IDs are taken")


def plan_network(net: Obj, w: World) -> Actions:
    ns, name = key_of(net)
    if deleting(net):
        users = [f"Subnet {s}" for s in _subnets_of(w, ns, name)]
        users += [
            f"Port {key_of(p)[1]}" for p in w.in_namespace("Port", ns) if p["spec"].get("network") == name
        ]
        return _blocked(net, "Network", w, users)
    finalizers = _finalizers(net, "Network", True)
    claims = w.space_claims(_space_key(SYSTEM_NAMESPACE, "Segment", ""))
    mine = sorted(_mine(claims, uid_of(net)), key=int)
    if not mine:
        segment = pick_segment(uid_of(net), claims)
        body = claim_body(
            segment_claim_name(segment),
            SYSTEM_NAMESPACE,
            net,
            "Network",
            api.ClaimPurpose.SEGMENT,
            str(segment),
            network=name,
        )
        return Actions(finalizers=finalizers, create=(body,))
    stale = tuple(k for k, c in w.owned_claims(uid_of(net)).items() if c["spec"]["address"] != mine[0])
    fields = {"segmentationId": int(mine[0]), "subnets": _subnets_of(w, ns, name)}
    return Actions(
        finalizers=finalizers, status=_status(net, fields, (True, "Ready", "")), delete_claims=stale
    )


def _subnets_of(w: World, ns: str, network: str) -> list[str]:
    return sorted(key_of(s)[1] for s in w.in_namespace("Subnet", ns) if s["spec"].get("network") == network)


# -- Subnet ---------------------------------------------------------------------------------------------


def plan_subnet(subnet: Obj, w: World) -> Actions:
    ns, name = key_of(subnet)
    if deleting(subnet):
        users = [
            f"Port {key_of(p)[1]}"
            for p in w.in_namespace("Port", ns)
            if any(a.get("subnet") == name for a in (p.get("status") or {}).get("addresses") or [])
            or any(f.get("subnet") == name for f in p["spec"].get("fixedIPs") or [])
        ]
        users += [
            f"Router {key_of(r)[1]}"
            for r in w.in_namespace("Router", ns)
            if any(i.get("subnet") == name for i in r["spec"].get("interfaces") or [])
        ]
        users += [
            f"LoadBalancer {key_of(lb)[1]}"
            for lb in w.in_namespace("LoadBalancer", ns)
            if lb["spec"].get("vipSubnet") == name
            or any(
                m.get("subnet") == name for p in lb["spec"].get("pools") or [] for m in p.get("members") or []
            )
        ]
        return _blocked(subnet, "Subnet", w, users)
    finalizers = _finalizers(subnet, "Subnet", True)
    try:
        spec = _spec(api.SubnetSpec, subnet)
        if w.get("Network", ns, spec.network) is None:
            raise _Problem("NetworkNotFound", f"Network {spec.network} does not exist in namespace {ns}")
        try:
            space = ipam.subnet_space(name, spec)
        except ipam.InvalidAddressSpace as exc:
            raise _Problem("InvalidSpec", str(exc)) from exc
    except _Problem as p:
        return Actions(finalizers=finalizers, status=_status(subnet, {}, (False, p.reason, p.message)))
    taken = w.space_claims(_space_key(ns, "Subnet", name))
    fields = {
        "gatewayIP": str(space.gateway) if space.gateway is not None else None,
        "totalIPs": space.capacity(),
        "availableIPs": ipam.available(space, taken),
    }
    return Actions(finalizers=finalizers, status=_status(subnet, fields, (True, "Ready", "")))


# -- Port -----------------------------------------------------------------------------------------------

_SLAAC = (api.IPv6AddressMode.SLAAC, api.IPv6AddressMode.DHCPV6_STATELESS)


@dataclass
class _Claims:
    """Claims a plan needs created, and the values it uses (the rest of the owner's claims are stale)."""

    create: list[dict[str, Any]] = field(default_factory=list)
    used: set[Key] = field(default_factory=set)

    def use(self, space: Mapping[str, Obj], value: str, make: Callable[[], dict[str, Any]] | None) -> None:
        claim = space.get(value)
        if make is not None:
            self.create.append(make())
        elif claim is not None:
            self.used.add(key_of(claim))


def _port_mac(port: Obj, spec: api.PortSpec, w: World, c: _Claims) -> str:
    ns = key_of(port)[0]
    uid = uid_of(port)
    claims = w.space_claims(_space_key(ns, "MAC", spec.network))

    def make(mac: str) -> Callable[[], dict[str, Any]]:
        return lambda: claim_body(
            ipam.mac_claim_name(spec.network, mac),
            ns,
            port,
            "Port",
            api.ClaimPurpose.MAC_ADDRESS,
            mac,
            network=spec.network,
        )

    if spec.mac_address is not None:
        mac = ipam.normalise_mac(spec.mac_address)
        held = claims.get(mac)
        if held is not None and _claim_uid(held) != uid:
            raise _Problem(
                "MACAddressInUse", f"MAC address {mac} is already in use on Network {spec.network}"
            )
        c.use(claims, mac, None if held is not None else make(mac))
        return mac
    mine = _mine(claims, uid)
    current = (port.get("status") or {}).get("macAddress")
    if mine:
        mac = current if current in mine else sorted(mine)[0]
        c.use(claims, mac, None)
        return mac
    try:
        mac = ipam.pick_mac_address(uid, claims)
    except ipam.NoFreeMACAddress as exc:
        raise _Problem("MACAddressInUse", str(exc)) from exc
    c.use(claims, mac, make(mac))
    return mac


def _port_addresses(
    port: Obj, spec: api.PortSpec, mac: str, w: World, c: _Claims
) -> tuple[list[dict[str, str]], _Problem | None]:
    """The Port's addresses [{subnet, ipAddress}], and the first problem met (the others are still given)."""
    ns, _ = key_of(port)
    uid = uid_of(port)
    subnets = {
        key_of(s)[1]: s for s in w.in_namespace("Subnet", ns) if s["spec"].get("network") == spec.network
    }
    spaces: dict[str, ipam.AddressSpace] = {}
    problem: _Problem | None = None
    for subnet_name, subnet in sorted(subnets.items()):
        try:
            spaces[subnet_name] = ipam.subnet_space(subnet_name, subnet["spec"])
        except (ipam.InvalidAddressSpace, ValidationError):
            continue
    requests: list[tuple[list[str], str | None]] = []
    for fixed in spec.fixed_ips:
        if fixed.subnet is not None:
            if fixed.subnet not in spaces:
                problem = problem or _Problem(
                    "SubnetNotFound",
                    f"Subnet {fixed.subnet} of Network {spec.network} does not exist or is invalid",
                )
                continue
            requests.append(([fixed.subnet], fixed.ip_address))
        elif fixed.ip_address is not None:
            try:
                space = ipam.find_space(spaces.values(), fixed.ip_address)
            except ipam.IPAMError as exc:
                problem = problem or _Problem(type(exc).__name__, str(exc))
                continue
            requests.append(([space.name], fixed.ip_address))
    if not spec.fixed_ips:
        for version in (4, 6):
            names = [n for n, s in spaces.items() if s.version == version]
            if names:
                requests.append((names, None))
    previous = [a.get("ipAddress", "") for a in (port.get("status") or {}).get("addresses") or []]
    used_here: dict[str, set[str]] = {}
    addresses: list[dict[str, str]] = []
    for candidates, requested in requests:
        error: ipam.IPAMError | None = None
        for subnet_name in _holding_first(candidates, w, ns, uid, used_here):
            space = spaces[subnet_name]
            claims = w.space_claims(_space_key(ns, "Subnet", subnet_name))
            wanted = requested
            mode = subnets[subnet_name]["spec"].get("ipv6AddressMode")
            if wanted is None and space.version == 6 and mode in _SLAAC and space.network.prefixlen == 64:
                wanted = str(ipam.eui64_address(space, mac))
            here = used_here.setdefault(subnet_name, set())
            try:
                address, new = _pick(space, claims, uid, wanted, here, previous)
            except ipam.IPAMError as exc:
                error = exc
                continue
            here.add(address)
            c.use(claims, address, _make_fixed(port, subnet_name, space, address) if new else None)
            addresses.append({"subnet": subnet_name, "ipAddress": address})
            error = None
            break
        if error is not None:
            problem = problem or _Problem(type(error).__name__, str(error))
    return addresses, problem


def _holding_first(
    candidates: list[str], w: World, ns: str, uid: str, used: dict[str, set[str]]
) -> list[str]:
    """Subnets where the owner holds an unused claim come first (so a retried plan adopts it)."""

    def holds(name: str) -> bool:
        mine = _mine(w.space_claims(_space_key(ns, "Subnet", name)), uid)
        return any(a not in used.get(name, set()) for a in mine)

    return sorted(candidates, key=lambda n: not holds(n))


def _make_fixed(
    port: Obj, subnet: str, space: ipam.AddressSpace, address: str
) -> Callable[[], dict[str, Any]]:
    ns = key_of(port)[0]
    return lambda: claim_body(
        space.claim_name(address), ns, port, "Port", api.ClaimPurpose.FIXED_IP, address, subnet=subnet
    )


def plan_port(port: Obj, w: World) -> Actions:
    ns, _ = key_of(port)
    if deleting(port):
        claims = tuple(w.owned_claims(uid_of(port)))
        return Actions(finalizers=_finalizers(port, "Port", False), delete_claims=claims, release=True)
    finalizers = _finalizers(port, "Port", True)
    status = port.get("status") or {}
    c = _Claims()
    addresses: list[dict[str, str]] = list(status.get("addresses") or [])
    mac: str | None = status.get("macAddress")
    problem: _Problem | None = None
    try:
        spec: api.PortSpec = _spec(api.PortSpec, port)
        if w.get("Network", ns, spec.network) is None:
            raise _Problem("NetworkNotFound", f"Network {spec.network} does not exist in namespace {ns}")
        mac = _port_mac(port, spec, w, c)
        addresses, problem = _port_addresses(port, spec, mac, w, c)
    except _Problem as p:
        problem = p
    if c.create:
        return Actions(finalizers=finalizers, create=tuple(c.create))
    stale: tuple[Key, ...] = ()
    if problem is None or problem.reason not in ("NetworkNotFound", "InvalidSpec"):
        stale = tuple(k for k in w.owned_claims(uid_of(port)) if k not in c.used)
    host = _port_host(port, w)
    phase, chassis, bound, events = _port_phase(port, host, w)
    fields = {
        "macAddress": mac,
        "addresses": addresses,
        "phase": phase,
        "host": host,
        "boundChassis": chassis,
        "device": _device(port) or status.get("device"),
    }
    ready = (True, "Allocated", "") if problem is None else (False, problem.reason, problem.message)
    new_status = _status(port, fields, ready, bound)
    return Actions(
        finalizers=finalizers,
        status=new_status,
        delete_claims=stale,
        events=events if new_status is not None else (),
    )


def _device(port: Obj) -> str | None:
    for ref in port["metadata"].get("ownerReferences") or []:
        if ref.get("kind") == "Server":
            return f"Server/{ref.get('name')}"
    return None


def _port_host(port: Obj, w: World) -> str | None:
    """The Host the Server using the Port runs on: the Server owning it (a NIC's Port), else one whose NIC
    names it (spec.networks[].port); None while there is none or it is not placed."""
    ns, name = key_of(port)
    servers = [
        s
        for ref in port["metadata"].get("ownerReferences") or []
        if ref.get("kind") == "Server"
        and (s := w.get("Server", ns, ref.get("name"))) is not None
        and uid_of(s) == ref.get("uid")
    ]
    for server in [*servers, *w.port_users(ns, name)]:
        host = (server.get("status") or {}).get("host")
        if host:
            return str(host)
    return None


def _port_phase(
    port: Obj, host: str | None, w: World
) -> tuple[str, str | None, list[tuple[str, bool, str, str]], tuple[Event, ...]]:
    """(phase, boundChassis, the Bound condition to set, Events of the change) from the Southbound
    Port_Binding rows. Unknown bindings (no Southbound database, or a failed read) change nothing: a
    hiccup of the database must not turn every Port Down and back."""
    status = port.get("status") or {}
    old_phase = status.get("phase") or api.PortPhase.DOWN.value
    if w.port_bindings is None:
        return old_phase, status.get("boundChassis"), [], ()
    b = port_binding(uid_of(port), host, w.port_bindings)
    phase = (api.PortPhase.ACTIVE if b.active else api.PortPhase.DOWN).value
    old_reason = (find(status.get("conditions"), BOUND) or {}).get("reason")
    name = key_of(port)[1]
    events: tuple[Event, ...] = ()
    if phase != old_phase and b.active:
        events = (Event("Normal", "Active", f"Port {name} is active: {b.message}"),)
    elif phase != old_phase or (b.reason == "BoundElsewhere" and old_reason != b.reason):
        kind = "Warning" if b.reason == "BoundElsewhere" else "Normal"
        events = (Event(kind, b.reason, f"Port {name} is down: {b.message}"),)
    return phase, b.chassis, [(BOUND, b.active, b.reason, b.message)], events


# -- ExternalNetwork addresses (Router gateways, FloatingIPs) ---------------------------------------------


def _external_address(
    obj: Obj, kind: str, w: World, network: str, requested: str | None, purpose: api.ClaimPurpose, c: _Claims
) -> str:
    ext = w.get("ExternalNetwork", "", network)
    if ext is None:
        raise _Problem("ExternalNetworkNotFound", f"ExternalNetwork {network} does not exist")
    try:
        space = ipam.external_network_space(network, ext["spec"])
    except (ipam.InvalidAddressSpace, ValidationError) as exc:
        raise _Problem("InvalidExternalNetwork", str(exc)) from exc
    claims = w.space_claims(_space_key(SYSTEM_NAMESPACE, "ExternalNetwork", network))
    try:
        address, new = _pick(space, claims, uid_of(obj), requested, set())
    except ipam.IPAMError as exc:
        raise _Problem(type(exc).__name__, str(exc)) from exc
    make = None
    if new:
        name = space.claim_name(address)
        make = lambda: claim_body(  # noqa: E731
            name, SYSTEM_NAMESPACE, obj, kind, purpose, address, externalNetwork=network
        )
    c.use(claims, address, make)
    return address


# -- Router ---------------------------------------------------------------------------------------------


def plan_router(router: Obj, w: World) -> Actions:
    ns, _ = key_of(router)
    if deleting(router):
        claims = tuple(w.owned_claims(uid_of(router)))
        return Actions(finalizers=_finalizers(router, "Router", False), delete_claims=claims, release=True)
    finalizers = _finalizers(router, "Router", True)
    c = _Claims()
    problem: _Problem | None = None
    gateway_ips: list[str] = []
    interfaces: list[dict[str, str]] = []
    try:
        spec: api.RouterSpec = _spec(api.RouterSpec, router)
        for iface in spec.interfaces:
            entry = {"subnet": iface.subnet}
            subnet = w.get("Subnet", ns, iface.subnet)
            gateway = (subnet.get("status") or {}).get("gatewayIP") if subnet is not None else None
            address = iface.ip_address or gateway
            if subnet is None:
                problem = problem or _Problem("SubnetNotFound", f"Subnet {iface.subnet} does not exist")
            elif address is None:
                problem = problem or _Problem(
                    "NoInterfaceAddress",
                    f"Subnet {iface.subnet} has no gateway: give the interface an ipAddress",
                )
            else:
                entry["ipAddress"] = address
            interfaces.append(entry)
        gw = spec.external_gateway
        if gw is not None:
            address = _external_address(
                router, "Router", w, gw.network, gw.fixed_ip, api.ClaimPurpose.ROUTER_GATEWAY, c
            )
            gateway_ips.append(address)
    except _Problem as p:
        problem = problem or p
    if c.create:
        return Actions(finalizers=finalizers, create=tuple(c.create))
    stale = tuple(k for k in w.owned_claims(uid_of(router)) if k not in c.used)
    fields = {"externalGatewayIPs": gateway_ips, "interfaces": interfaces}
    ready = (True, "Ready", "") if problem is None else (False, problem.reason, problem.message)
    return Actions(finalizers=finalizers, status=_status(router, fields, ready), delete_claims=stale)


# -- FloatingIP -----------------------------------------------------------------------------------------


def _fip_port(fip: Obj, spec: api.FloatingIPSpec, w: World) -> Obj | None:
    """The Port the FloatingIP is bound to: spec.port, or the Server's NIC (holding fixedIP, else the
    first); None when unbound. Raises _Problem when the binding names what does not exist."""
    ns, _ = key_of(fip)
    if spec.port is not None:
        port = w.get("Port", ns, spec.port)
        if port is None:
            raise _Problem("PortNotFound", f"Port {spec.port} does not exist")
        return port
    if spec.server is None:
        return None
    server = w.get("Server", ns, spec.server)
    if server is None:
        raise _Problem("ServerNotFound", f"Server {spec.server} does not exist")
    names = [
        nic.get("port") or f"{spec.server}-nic{i}"
        for i, nic in enumerate(server["spec"].get("networks") or [])
    ]
    ports = [p for p in (w.get("Port", ns, n) for n in names) if p is not None]
    if spec.fixed_ip is not None:
        ports = [p for p in ports if spec.fixed_ip in _addresses(p)]
    if not ports:
        raise _Problem("PortNotFound", f"Server {spec.server} has no Port (with the fixed IP) yet")
    return ports[0]


def _addresses(port: Obj) -> list[str]:
    return [str(a.get("ipAddress")) for a in (port.get("status") or {}).get("addresses") or []]


def _fip_router(fip: Obj, spec: api.FloatingIPSpec, port: Obj, fixed: str, w: World) -> str:
    ns, _ = key_of(fip)
    subnet = next(
        (
            a.get("subnet")
            for a in (port.get("status") or {}).get("addresses") or []
            if a.get("ipAddress") == fixed
        ),
        None,
    )
    for router in sorted(w.in_namespace("Router", ns), key=lambda r: key_of(r)[1]):
        gw = router["spec"].get("externalGateway") or {}
        ifaces = router["spec"].get("interfaces") or []
        if gw.get("network") == spec.external_network and any(i.get("subnet") == subnet for i in ifaces):
            return key_of(router)[1]
    raise _Problem(
        "RouterNotFound",
        f"no Router connects Subnet {subnet} (of Port {key_of(port)[1]}) to ExternalNetwork "
        f"{spec.external_network}",
    )


def plan_floating_ip(fip: Obj, w: World) -> Actions:
    if deleting(fip):
        claims = tuple(w.owned_claims(uid_of(fip)))
        return Actions(finalizers=_finalizers(fip, "FloatingIP", False), delete_claims=claims, release=True)
    finalizers = _finalizers(fip, "FloatingIP", True)
    c = _Claims()
    status = fip.get("status") or {}
    fields: dict[str, Any] = {"address": status.get("address"), "port": None, "fixedIP": None, "router": None}
    problem: _Problem | None = None
    try:
        spec: api.FloatingIPSpec = _spec(api.FloatingIPSpec, fip)
        fields["address"] = address = _external_address(
            fip, "FloatingIP", w, spec.external_network, spec.address, api.ClaimPurpose.FLOATING_IP, c
        )
        port = _fip_port(fip, spec, w)
        if port is not None:
            version = ipaddress.ip_address(address).version
            fixed = spec.fixed_ip or next(
                (a for a in _addresses(port) if ipaddress.ip_address(a).version == version), None
            )
            if fixed is None:
                raise _Problem("NoFixedIP", f"Port {key_of(port)[1]} has no IPv{version} address yet")
            fields.update(port=key_of(port)[1], fixedIP=fixed)
            fields["router"] = _fip_router(fip, spec, port, fixed, w)
    except _Problem as p:
        problem = p
    if c.create:
        return Actions(finalizers=finalizers, create=tuple(c.create))
    stale = tuple(k for k in w.owned_claims(uid_of(fip)) if k not in c.used)
    if problem is not None:
        phase = api.FloatingIPPhase.ERROR
    else:
        phase = api.FloatingIPPhase.ACTIVE if fields["port"] else api.FloatingIPPhase.DOWN
    fields["phase"] = phase.value
    ready = (True, "Ready", "") if problem is None else (False, problem.reason, problem.message)
    return Actions(finalizers=finalizers, status=_status(fip, fields, ready), delete_claims=stale)


# -- LoadBalancer ---------------------------------------------------------------------------------------

_MAX_MESSAGE = 2000


def _lb_router(lb: Obj, spec: lb_api.LoadBalancerSpec, network: str, w: World) -> str:
    """The Router that NATs the LoadBalancer's floating IP: a gateway on the ExternalNetwork and an
    interface on vipSubnet (as a FloatingIP's)."""
    ns, _ = key_of(lb)
    for router in sorted(w.in_namespace("Router", ns), key=lambda r: key_of(r)[1]):
        gw = router["spec"].get("externalGateway") or {}
        ifaces = router["spec"].get("interfaces") or []
        if gw.get("network") == network and any(i.get("subnet") == spec.vip_subnet for i in ifaces):
            return key_of(router)[1]
    raise _Problem(
        "RouterNotFound",
        f"floatingIP: no Router connects Subnet {spec.vip_subnet} (vipSubnet) to ExternalNetwork {network}",
    )


def _lb_vip(lb: Obj, spec: lb_api.LoadBalancerSpec, w: World, c: _Claims) -> str:
    ns, _ = key_of(lb)
    subnet = w.get("Subnet", ns, spec.vip_subnet)
    if subnet is None:
        raise _Problem(
            "SubnetNotFound", f"vipSubnet: Subnet {spec.vip_subnet} does not exist in namespace {ns}"
        )
    try:
        space = ipam.subnet_space(spec.vip_subnet, subnet["spec"])
    except (ipam.InvalidAddressSpace, ValidationError) as exc:
        raise _Problem("InvalidSubnet", f"vipSubnet: {str(exc).splitlines()[0]}") from exc
    claims = w.space_claims(_space_key(ns, "Subnet", spec.vip_subnet))
    try:
        vip, new = _pick(space, claims, uid_of(lb), spec.vip_address, set())
    except ipam.IPAMError as exc:
        field_name = "vipAddress" if spec.vip_address is not None else "vipSubnet"
        raise _Problem(type(exc).__name__, f"{field_name}: {exc}") from exc
    make = None
    if new:
        make = lambda: claim_body(  # noqa: E731
            space.claim_name(vip),
            ns,
            lb,
            "LoadBalancer",
            api.ClaimPurpose.FIXED_IP,
            vip,
            subnet=spec.vip_subnet,
        )
    c.use(claims, vip, make)
    return vip


def _lb_parts(
    lb: Obj, spec: lb_api.LoadBalancerSpec, w: World, provisioned: lb_api.ProvisioningStatus
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """(listener statuses, pool statuses, notes on parts not realised or members not checked)."""
    ns, _ = key_of(lb)
    bad_listeners = lbs.listener_problems(spec)
    bad_pools = lbs.pool_problems(spec)
    notes = [*bad_listeners.values(), *bad_pools.values()]
    pools: list[dict[str, Any]] = []
    pool_health: dict[str, lb_api.OperatingStatus] = {}
    for pool in spec.pools:
        members: list[dict[str, Any]] = []
        health: list[lb_api.MemberOperatingStatus] = []
        for member in pool.members:
            subnet = member.subnet or spec.vip_subnet
            target = lbs.resolve_member(w, ns, member, subnet)
            checked = lbs.monitored(pool, subnet, spec.vip_subnet, target)
            status = lbs.member_health(pool, member, target, checked, w.service_monitors)
            label = member.name or member.server or str(member.address)
            if target.problem is not None:
                notes.append(f"pool {pool.name} member {label}: {target.problem}")
            elif pool.health_monitor is not None and not checked and member.weight > 0:
                why = "it is not on vipSubnet" if subnet != spec.vip_subnet else "its address has no Port"
                notes.append(f"pool {pool.name} member {label}: not health-checked ({why})")
            health.append(status)
            members.append(
                {
                    "name": label,
                    "address": target.address,
                    "protocolPort": member.protocol_port,
                    "operatingStatus": status.value,
                }
            )
        problem = pool.name in bad_pools
        pool_health[pool.name] = lbs.pool_operating(pool, health, problem)
        pools.append(
            {
                "name": pool.name,
                "provisioningStatus": (lb_api.ProvisioningStatus.ERROR if problem else provisioned).value,
                "operatingStatus": pool_health[pool.name].value,
                "members": [{k: v for k, v in m.items() if v is not None} for m in members],
            }
        )
    listeners: list[dict[str, Any]] = []
    for listener in spec.listeners:
        problem = listener.name in bad_listeners
        if problem:
            operating = lb_api.OperatingStatus.ERROR
        elif listener.default_pool is None:
            operating = lb_api.OperatingStatus.OFFLINE
        else:
            operating = pool_health.get(listener.default_pool, lb_api.OperatingStatus.ERROR)
        listeners.append(
            {
                "name": listener.name,
                "provisioningStatus": (lb_api.ProvisioningStatus.ERROR if problem else provisioned).value,
                "operatingStatus": operating.value,
            }
        )
    return listeners, pools, notes


def plan_load_balancer(lb: Obj, w: World) -> Actions:
    status = lb.get("status") or {}
    if deleting(lb):
        if status.get("provisioningStatus") != lb_api.ProvisioningStatus.DELETING.value:
            marked = {"provisioningStatus": lb_api.ProvisioningStatus.DELETING.value}
            deleting_ready = (False, "Deleting", "the LoadBalancer is being deleted")
            return Actions(status=_status(lb, marked, deleting_ready))
        claims = tuple(w.owned_claims(uid_of(lb)))
        return Actions(finalizers=_finalizers(lb, "LoadBalancer", False), delete_claims=claims, release=True)
    finalizers = _finalizers(lb, "LoadBalancer", True)
    c = _Claims()
    problem: _Problem | None = None
    vip: str | None = status.get("vipAddress")
    fip: str | None = status.get("floatingIP")
    claimed = False
    spec: lb_api.LoadBalancerSpec | None = None
    try:
        spec = _spec(lb_api.LoadBalancerSpec, lb)
        vip = _lb_vip(lb, spec, w, c)
        fip = None
        if spec.floating_ip is not None:
            network = spec.floating_ip.external_network
            fip = _external_address(lb, "LoadBalancer", w, network, None, api.ClaimPurpose.FLOATING_IP, c)
            claimed = True
            _lb_router(lb, spec, network, w)
        claimed = True
    except _Problem as p:
        problem = p
    if c.create:
        return Actions(finalizers=finalizers, create=tuple(c.create))
    stale = tuple(k for k in w.owned_claims(uid_of(lb)) if k not in c.used) if claimed else ()
    synced = w.lb_synced.get(uid_of(lb)) == lb["metadata"].get("generation")
    provisioned = lb_api.ProvisioningStatus.ACTIVE if synced else lb_api.ProvisioningStatus.PENDING
    listeners: list[dict[str, Any]] = list(status.get("listeners") or [])
    pools: list[dict[str, Any]] = list(status.get("pools") or [])
    notes: list[str] = []
    if spec is not None:
        listeners, pools, notes = _lb_parts(lb, spec, w, provisioned)
    parts_failed = any(p["provisioningStatus"] == "Error" for p in [*listeners, *pools])
    failed = problem is not None or parts_failed
    provisioning = lb_api.ProvisioningStatus.ERROR if failed else provisioned
    if problem is not None:
        operating = lb_api.OperatingStatus.ERROR
    else:
        operating = lbs.worst(lb_api.OperatingStatus(p["operatingStatus"]) for p in [*listeners, *pools])
    message = "; ".join(([problem.message] if problem is not None else []) + notes)[:_MAX_MESSAGE]
    fields: dict[str, Any] = {
        "provisioningStatus": provisioning.value,
        "operatingStatus": operating.value,
        "vipAddress": vip,
        "floatingIP": fip,
        "listeners": listeners,
        "pools": pools,
        "message": message or None,
    }
    if problem is not None:
        ready = (False, problem.reason, problem.message)
    elif parts_failed:
        ready = (False, "NotRealisable", message)
    elif not synced:
        ready = (False, "Pending", "waiting for the OVN Northbound database to hold the LoadBalancer")
    else:
        ready = (True, "Active", "")
    events: tuple[Event, ...] = ()
    old_operating = status.get("operatingStatus")
    if old_operating is not None and old_operating != operating.value:
        bad = operating in (lb_api.OperatingStatus.ERROR, lb_api.OperatingStatus.DEGRADED)
        text = f"operating status {old_operating} -> {operating.value}" + (
            f": {message}" if bad and message else ""
        )
        events = (Event("Warning" if bad else "Normal", "OperatingStatus", text),)
    new_status = _status(lb, fields, ready)
    return Actions(
        finalizers=finalizers,
        status=new_status,
        delete_claims=stale,
        events=events if new_status is not None else (),
    )


# -- ExternalNetwork, SecurityGroup ---------------------------------------------------------------------


def plan_external_network(ext: Obj, w: World) -> Actions:
    _, name = key_of(ext)
    if deleting(ext):
        users = [
            f"Router {ns}/{n}"
            for (ns, n), r in w.objects["Router"].items()
            if (r["spec"].get("externalGateway") or {}).get("network") == name
        ]
        users += [
            f"FloatingIP {ns}/{n}"
            for (ns, n), f in w.objects["FloatingIP"].items()
            if f["spec"].get("externalNetwork") == name
        ]
        return _blocked(ext, "ExternalNetwork", w, users)
    finalizers = _finalizers(ext, "ExternalNetwork", True)
    try:
        space = ipam.external_network_space(name, ext["spec"])
    except (ipam.InvalidAddressSpace, ValidationError) as exc:
        return Actions(finalizers=finalizers, status=_status(ext, {}, (False, "InvalidSpec", str(exc))))
    claims = w.space_claims(_space_key(SYSTEM_NAMESPACE, "ExternalNetwork", name))
    available = ipam.available(space, claims)
    fields = {
        "totalIPs": space.capacity(),
        "usedIPs": space.capacity() - available,
        "availableIPs": available,
    }
    return Actions(finalizers=finalizers, status=_status(ext, fields, (True, "Ready", "")))


def port_groups(port: Obj) -> list[str]:
    groups = port["spec"].get("securityGroups")
    return [DEFAULT_GROUP] if groups is None else list(groups)


def plan_security_group(sg: Obj, w: World) -> Actions:
    ns, name = key_of(sg)
    if deleting(sg):
        return Actions(release=True)
    count = sum(1 for p in w.in_namespace("Port", ns) if name in port_groups(p))
    return Actions(status=_status(sg, {"ports": count}, (True, "Ready", "")))


# -- objects the operator creates -----------------------------------------------------------------------


def server_ports(server: Obj, w: World) -> list[dict[str, Any]]:
    """The Ports missing for the Server's NICs on a Network: `<server>-nic<i>`, owned by the Server (garbage
    collection deletes them with it). Nothing is written to the Server."""
    if deleting(server):
        return []
    ns, name = key_of(server)
    out: list[dict[str, Any]] = []
    for i, nic in enumerate(server["spec"].get("networks") or []):
        if not nic.get("network") or w.get("Port", ns, f"{name}-nic{i}") is not None:
            continue
        spec: dict[str, Any] = {"network": nic["network"], "deviceOwner": "compute:nova"}
        if nic.get("fixedIP"):
            spec["fixedIPs"] = [{"ipAddress": nic["fixedIP"]}]
        if nic.get("securityGroups") is not None:
            spec["securityGroups"] = list(nic["securityGroups"])
        owner = {
            "apiVersion": str(server.get("apiVersion") or "compute.kumulus.dev/v1alpha1"),
            "kind": "Server",
            "name": name,
            "uid": uid_of(server),
            "controller": True,
            "blockOwnerDeletion": True,
        }
        meta = {"name": f"{name}-nic{i}", "namespace": ns, "ownerReferences": [owner]}
        out.append({"apiVersion": API_VERSION, "kind": "Port", "metadata": meta, "spec": spec})
    return out


DEFAULT_RULES: tuple[dict[str, str], ...] = (
    {"direction": "Egress", "ethertype": "IPv4"},
    {"direction": "Egress", "ethertype": "IPv6"},
    {"direction": "Ingress", "ethertype": "IPv4", "remoteGroup": DEFAULT_GROUP},
    {"direction": "Ingress", "ethertype": "IPv6", "remoteGroup": DEFAULT_GROUP},
)


def default_security_groups(w: World) -> list[dict[str, Any]]:
    """The `default` SecurityGroup of every namespace with Networks or Ports that lacks one (Neutron's: all
    egress, and ingress from the group's own members)."""
    namespaces = {key_of(o)[0] for kind in ("Network", "Port") for o in w.all(kind) if not deleting(o)}
    out = []
    for ns in sorted(namespaces):
        if w.get("SecurityGroup", ns, DEFAULT_GROUP) is None:
            spec = {"description": "Default security group", "rules": [dict(r) for r in DEFAULT_RULES]}
            meta = {"name": DEFAULT_GROUP, "namespace": ns}
            out.append({"apiVersion": API_VERSION, "kind": "SecurityGroup", "metadata": meta, "spec": spec})
    return out


def sweep_claims(w: World) -> list[Key]:
    """Claims whose owner is gone (those in kumulus-system have no ownerReference to be collected by)."""
    return [key for key, claim in w.objects[CLAIM].items() if not w.owner_exists(claim)]


# -- dispatch -------------------------------------------------------------------------------------------

PLANS: dict[str, Callable[[Obj, World], Actions]] = {
    "Network": plan_network,
    "Subnet": plan_subnet,
    "Port": plan_port,
    "Router": plan_router,
    "SecurityGroup": plan_security_group,
    "FloatingIP": plan_floating_ip,
    "ExternalNetwork": plan_external_network,
    "LoadBalancer": plan_load_balancer,
}
ORDER = (
    "ExternalNetwork",
    "Network",
    "Subnet",
    "Port",
    "Router",
    "FloatingIP",
    "SecurityGroup",
    "LoadBalancer",
)
"""Planning order within a pass: what others read (gateways, addresses) is planned first."""


_PROGRESS = frozenset({"Pending", "Deleting"})
"""Ready=False reasons that are progress, not failures (Normal Events)."""


def ready_events(kind: str, obj: Obj, status: Mapping[str, Any] | None) -> tuple[Event, ...]:
    """The Event of a change of the Ready condition that writing `status` makes (none if unchanged)."""
    if status is None:
        return ()
    old = find((obj.get("status") or {}).get("conditions"), "Ready") or {}
    new = find(status.get("conditions"), "Ready")
    if new is None:
        return ()
    what = (new.get("status"), new.get("reason"), new.get("message"))
    if what == (old.get("status"), old.get("reason"), old.get("message")):
        return ()
    name = key_of(obj)[1]
    if new.get("status") == "True":
        if old.get("status") == "True":
            return ()
        return (Event("Normal", "Ready", f"{kind} {name} is ready"),)
    reason = str(new.get("reason") or "NotReady")
    message = str(new.get("message") or reason)
    return (Event("Normal" if reason in _PROGRESS else "Warning", reason, message),)


def plan(kind: str, obj: Obj, w: World) -> Actions:
    try:
        actions = PLANS[kind](obj, w)
    except _Problem as p:  # raised before the object could be read at all
        actions = Actions(status=_status(obj, {}, (False, p.reason, p.message)))
    events = ready_events(kind, obj, actions.status)
    if not events:
        return actions
    return replace(actions, events=(*events, *actions.events))


def ovn_objects(w: World, released: Iterable[str] = ()) -> list[Obj]:
    """The objects OVN's desired state is computed from: every network object but those released."""
    gone = set(released)
    return [o for kind in OVN_KINDS for o in w.all(kind) if uid_of(o) not in gone]

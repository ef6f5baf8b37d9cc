"""IP address management: which address a Port, FloatingIP or Router gets, and how it is held uniquely.

Pure arithmetic, following Neutron. An `AddressSpace` is a Subnet or an ExternalNetwork reduced to integers:
its CIDR, its gateway and its allocation pools as sorted, disjoint, inclusive ranges from which the
reserved addresses (IPv4 network and broadcast, IPv6 subnet-router anycast, the gateway) are cut out.
Nothing is ever materialised per address, so an IPv6 /64 costs the same as a /29, and the taken addresses
are a sorted list (`UsedAddresses`) searched by bisection: finding the lowest free address is O(log n)
even behind 60,000 contiguous used ones. Allocation is deterministic (the lowest free address, or the
next one after a `start_after` hint for round-robin), so tests and retries are reproducible.

Neutron's rules kept here: with no pools, the pool is the whole CIDR but the first address (network /
subnet-router anycast), the IPv4 broadcast and the gateway; IPv4 /31 and /32 and IPv6 /127 and /128 have
no such reserved addresses (RFC 3021, RFC 6164). A Port may ask for any address of the Subnet's CIDR,
inside the pools or not, but not a reserved one and not the gateway (only a Router interface takes the
gateway, or the IPv6 anycast address). Addresses of an ExternalNetwork are stricter: a requested floating
IP or router gateway address must be inside the pools, since the pools are the administrator's boundary
with addresses used outside the cloud (Neutron lets only administrators pick one).

Claim protocol: uniqueness across concurrent creates and operator restarts
---------------------------------------------------------------------------
In-memory state cannot make an allocation unique (two workers, two replicas, a restart in between would
hand an address out twice); the API server can. Every allocated address is held by a claim object whose
NAME is `claim_name(space, address)`, so creating it is an atomic test-and-set: a second create of the
same name fails with 409 AlreadyExists. The operator, per address:

1. taken = `claimed_addresses(space, names of the existing claims)` (from its informer cache; a stale
   cache costs a retry, never a duplicate).
2. a = `allocate(space, taken, requested)`; create the claim `claim_name(space.name, a.address)` with an
   ownerReference to the Port (controller: true), so garbage collection frees the address with the Port.
3. On 409 AlreadyExists, read the claim: if its owner is this Port's uid, it is ours from an attempt that
   died before step 4, adopt it; otherwise `taken.add(address)` and go back to 2 (a requested address
   is refused with AddressInUse instead).
4. Only then record the address in the Port's status. Releasing is the reverse: drop it from the status,
   then delete the claim. So the status never names an address that is not claimed, and a crash leaves
   at worst a claim owned by the Port, which its next reconcile adopts or deletes.

Where claims live: a Subnet's claims in the Subnet's namespace (ownerReferences cannot cross namespaces).
An ExternalNetwork is shared by every namespace, so its claims (FloatingIPs, Router gateways) must be
unique cluster-wide: they live in the operator's namespace, where tenants cannot write (a tenant able to
delete one could take another tenant's address). A namespaced owner cannot be referenced from there, so
those claims record their owner's namespace, name and uid in labels, are deleted by the FloatingIP's or
Router's finalizer, and a periodic sweep deletes claims whose owner uid is gone. A dedicated claim kind
that tenants cannot create or delete is preferable to ConfigMaps for the same reason.

MAC addresses are generated under OpenStack's fa:16:3e prefix from the Port's uid. Neutron keeps MACs
unique per Network, and 24 random bits collide by the birthday paradox within a few thousand Ports, so
they are claimed the same way (`mac_claim_name(network, mac)`), retrying with `pick_mac_address`.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise
from typing import Any

from .api.network import AddressRange, ExternalNetworkSpec, SubnetSpec

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Range = tuple[int, int]
"""First and last address of a range, both included, as integers."""


# -- errors ---------------------------------------------------------------------------------------------


class IPAMError(ValueError):
    """An address cannot be allocated; the message names the address (if any) and the address space."""

    def __init__(self, message: str, *, space: str, address: str | None = None) -> None:
        super().__init__(message)
        self.space = space
        self.address = address


class InvalidAddressSpace(IPAMError):
    """The Subnet or ExternalNetwork itself is wrong (e.g. a pool outside its CIDR): fix its spec."""


class AddressOutsideSubnet(IPAMError):
    """The requested address is not in the CIDR (or not of the IP version) of the address space."""


class AddressReserved(IPAMError):
    """The requested address is the network, broadcast or anycast address, the gateway, or (ExternalNetwork)
    outside the pools."""


class AddressInUse(IPAMError):
    """The requested address is already taken."""


class SubnetExhausted(IPAMError):
    """Every address of the pools is taken."""


# -- address spaces -------------------------------------------------------------------------------------


class SpaceKind(StrEnum):
    SUBNET = "Subnet"
    EXTERNAL_NETWORK = "ExternalNetwork"


@dataclass(frozen=True)
class AddressSpace:
    """A Subnet or ExternalNetwork as IPAM sees it. Build it with subnet_space or external_network_space."""

    kind: SpaceKind
    name: str
    network: Network
    gateway: Address | None
    pools: tuple[Range, ...]
    """Sorted, disjoint, without the reserved addresses and the gateway."""
    usable: Range
    """The CIDR without its network / broadcast / anycast addresses."""
    requests_outside_pools: bool
    """Whether a requested address may lie outside the pools (Subnets: yes, as Neutron's fixed IPs)."""

    @property
    def version(self) -> int:
        return self.network.version

    def __str__(self) -> str:
        return f"{self.kind} {self.name} ({self.network})"

    def address(self, value: int) -> Address:
        return _ip(self.network, value)

    def claim_name(self, address: str | Address) -> str:
        """The name of the claim holding address in this space."""
        return claim_name(self.name, address, external=self.kind is SpaceKind.EXTERNAL_NETWORK)

    def capacity(self) -> int:
        """How many addresses the pools hold (Subnet status.totalIPs)."""
        return sum(last - first + 1 for first, last in self.pools)

    def contains(self, address: str | Address) -> bool:
        ip = _parse(address)
        return ip is not None and ip.version == self.version and ip in self.network


def subnet_space(name: str, spec: SubnetSpec | Mapping[str, Any]) -> AddressSpace:
    """The address space of a Subnet. Raises InvalidAddressSpace listing every problem of the spec."""
    s = spec if isinstance(spec, SubnetSpec) else SubnetSpec.model_validate(spec)
    problems: list[str] = []
    network = _network(s.cidr, problems)
    if network is not None and network.version != s.ip_version:
        problems.append(f"ipVersion {s.ip_version} does not match cidr {s.cidr}")
    gateway: Address | None = None
    if network is not None and not s.disable_gateway:
        # Neutron's default gateway is the first address after the network address.
        gateway = _parse(s.gateway_ip) if s.gateway_ip else _default_gateway(network)
        if s.gateway_ip and gateway is None:
            problems.append(f"gatewayIP {s.gateway_ip!r} is not an IP address")
    return _build(SpaceKind.SUBNET, name, network, gateway, s.allocation_pools, "allocationPools", problems)


def external_network_space(name: str, spec: ExternalNetworkSpec | Mapping[str, Any]) -> AddressSpace:
    """The floating IP and router gateway space of an ExternalNetwork; raises InvalidAddressSpace."""
    s = spec if isinstance(spec, ExternalNetworkSpec) else ExternalNetworkSpec.model_validate(spec)
    problems: list[str] = []
    network = _network(s.cidr, problems)
    gateway = _parse(s.gateway_ip)
    if gateway is None:
        problems.append(f"gatewayIP {s.gateway_ip!r} is not an IP address")
    return _build(
        SpaceKind.EXTERNAL_NETWORK, name, network, gateway, s.floating_ip_pools, "floatingIPPools", problems
    )


def _network(cidr: str, problems: list[str]) -> Network | None:
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        problems.append(f"cidr {cidr!r} is not a CIDR")
        return None
    if ipaddress.ip_interface(cidr).ip != network.network_address:
        # Neutron refuses host bits too: 10.0.0.5/24 is most likely a typo of 10.0.0.0/24 or of a /32.
        problems.append(f"cidr {cidr} has host bits set; did you mean {network}?")
    return network


def _default_gateway(network: Network) -> Address | None:
    return network.network_address + 1 if network.num_addresses > 1 else None


def _usable(network: Network) -> Range:
    first, last = int(network.network_address), int(network.broadcast_address)
    # Point-to-point prefixes have no network, broadcast or anycast address (RFC 3021, RFC 6164).
    if network.max_prefixlen - network.prefixlen <= 1:
        return first, last
    return first + 1, last - (1 if network.version == 4 else 0)


def _build(
    kind: SpaceKind,
    name: str,
    network: Network | None,
    gateway: Address | None,
    pools: list[AddressRange],
    field: str,
    problems: list[str],
) -> AddressSpace:
    where = f"{kind} {name}"
    if network is None:
        raise InvalidAddressSpace(f"{where}: " + "; ".join(problems), space=name)
    usable = _usable(network)
    gw = int(gateway) if gateway is not None and gateway.version == network.version else None
    if gateway is not None and gateway.version != network.version:
        problems.append(f"gatewayIP {gateway} is not of the IP version of {network}")
    elif gw is not None and gateway in network and not usable[0] <= gw <= usable[1] and network.version == 4:
        problems.append(f"gatewayIP {gateway} is the network or broadcast address of {network}")
    ranges = _pool_ranges(network, usable, gw, pools, field, problems)
    if problems:
        raise InvalidAddressSpace(f"{where}: " + "; ".join(problems), space=name)
    return AddressSpace(
        kind=kind,
        name=name,
        network=network,
        gateway=gateway,
        pools=ranges,
        usable=usable,
        requests_outside_pools=kind is SpaceKind.SUBNET,
    )


def _pool_ranges(
    network: Network,
    usable: Range,
    gateway: int | None,
    pools: list[AddressRange],
    field: str,
    problems: list[str],
) -> tuple[Range, ...]:
    if not pools:
        return _without(usable, gateway)
    lo, hi = usable
    bounds = f"{_ip(network, lo)}-{_ip(network, hi)}"
    ranges: list[Range] = []
    for i, pool in enumerate(pools):
        label = f"{field}[{i}] ({pool.start}-{pool.end})"
        start, end = _parse(pool.start), _parse(pool.end)
        if start is None or end is None or start.version != network.version or end.version != network.version:
            problems.append(f"{label} is not a range of IPv{network.version} addresses")
            continue
        first, last = int(start), int(end)
        if first > last:
            problems.append(f"{label} ends before it starts")
        elif first < lo or last > hi:
            problems.append(f"{label} must lie within {bounds}, the usable addresses of {network}")
        elif gateway is not None and first <= gateway <= last:
            problems.append(f"{label} holds the gateway {_ip(network, gateway)}")
        else:
            ranges.append((first, last))
    ranges.sort()
    for (_, last), (first, _) in pairwise(ranges):
        if first <= last:
            problems.append(f"{field} overlap at {_ip(network, first)}")
    return tuple(ranges)


def _without(r: Range, point: int | None) -> tuple[Range, ...]:
    first, last = r
    if point is None or not first <= point <= last:
        return ((first, last),) if first <= last else ()
    return tuple((a, b) for a, b in ((first, point - 1), (point + 1, last)) if a <= b)


def _ip(network: Network, value: int) -> Address:
    return ipaddress.IPv4Address(value) if network.version == 4 else ipaddress.IPv6Address(value)


def _parse(value: str | Address | None) -> Address | None:
    if value is None or isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return value
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def find_space(spaces: Iterable[AddressSpace], address: str | Address) -> AddressSpace:
    """The space whose CIDR holds address: the Subnet of a fixed IP that names none (Port.fixedIPs)."""
    candidates = list(spaces)
    for space in candidates:
        if space.contains(address):
            return space
    names = ", ".join(str(s) for s in candidates) or "none"
    raise AddressOutsideSubnet(
        f"{address} is in none of the subnets of the network ({names})", space="", address=str(address)
    )


# -- taken addresses ------------------------------------------------------------------------------------


class UsedAddresses:
    """The taken addresses of one address space, as a sorted list of integers of one IP version."""

    __slots__ = ("_sorted", "version")

    def __init__(self, version: int, addresses: Iterable[str | Address] = ()) -> None:
        self.version = version
        values: set[int] = set()
        for a in addresses:
            ip = _parse(a)
            # Addresses of the other version would alias (10.0.0.1 and ::a00:1 are the same integer).
            if ip is not None and ip.version == version:
                values.add(int(ip))
        self._sorted = sorted(values)

    def __len__(self) -> int:
        return len(self._sorted)

    def __contains__(self, address: object) -> bool:
        value = self._value(address)
        if value is None:
            return False
        i = bisect_left(self._sorted, value)
        return i < len(self._sorted) and self._sorted[i] == value

    def add(self, address: str | Address | int) -> None:
        value = self._value(address)
        if value is None:
            raise ValueError(f"{address!r} is not an IPv{self.version} address")
        if value not in self:
            insort(self._sorted, value)

    def count_between(self, first: int, last: int) -> int:
        return bisect_right(self._sorted, last) - bisect_left(self._sorted, first)

    def lowest_free(self, first: int, last: int) -> int | None:
        """The lowest address of first..last not taken, in O(log n)."""
        s = self._sorted
        i = bisect_left(s, first)
        if i == len(s) or s[i] != first:
            return first if first <= last else None
        # s holds distinct sorted integers, so s[j] - j never decreases, and it stays equal to s[i] - i
        # exactly along the run of consecutive taken addresses starting at first: bisect for its end.
        key, lo, hi = s[i] - i, i, len(s) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if s[mid] - mid == key:
                lo = mid
            else:
                hi = mid - 1
        free = s[lo] + 1
        return free if free <= last else None

    def _value(self, address: object) -> int | None:
        if isinstance(address, int):
            return address
        if isinstance(address, str | ipaddress.IPv4Address | ipaddress.IPv6Address):
            ip = _parse(address)
            return int(ip) if ip is not None and ip.version == self.version else None
        return None


def used(space: AddressSpace, taken: UsedAddresses | Iterable[str | Address]) -> UsedAddresses:
    """taken as a UsedAddresses of the space's version (built once and reused across retries)."""
    return taken if isinstance(taken, UsedAddresses) else UsedAddresses(space.version, taken)


def available(space: AddressSpace, taken: UsedAddresses | Iterable[str | Address]) -> int:
    """How many addresses of the pools are free (Subnet status.availableIPs)."""
    t = used(space, taken)
    return space.capacity() - sum(t.count_between(first, last) for first, last in space.pools)


# -- allocation -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Allocation:
    """An address picked for a Port, FloatingIP or Router, and the name of the claim that must hold it."""

    address: Address
    claim: str

    @property
    def ip(self) -> str:
        return str(self.address)


def allocate(
    space: AddressSpace,
    taken: UsedAddresses | Iterable[str | Address],
    requested: str | Address | None = None,
    *,
    router: bool = False,
    start_after: str | Address | None = None,
) -> Allocation:
    """The requested address after checking it, else the lowest free address of the pools.

    router: the address is for a Router interface, which may take the gateway (and on IPv6 the subnet-router
    anycast address), as in Neutron. start_after: look for the first free address after this one, wrapping
    around, to spread reuse of released addresses (round-robin); the lowest free address if unset.
    """
    t = used(space, taken)
    if requested is not None:
        ip = check_requested(space, t, requested, router=router)
        return Allocation(ip, space.claim_name(ip))
    after = _parse(start_after) if start_after is not None else None
    value = _next_free(space, t, int(after) if after is not None and after.version == space.version else None)
    if value is None:
        raise SubnetExhausted(
            f"{space} has no free address: all {space.capacity()} addresses of its pools are taken",
            space=space.name,
        )
    ip = space.address(value)
    return Allocation(ip, space.claim_name(ip))


def check_requested(
    space: AddressSpace, taken: UsedAddresses, requested: str | Address, *, router: bool = False
) -> Address:
    """requested as an address if it may be given out, else the IPAMError saying why not."""
    ip = _parse(requested)
    text = str(ip) if ip is not None else str(requested)
    if ip is None or ip.version != space.version or ip not in space.network:
        raise AddressOutsideSubnet(f"{text} is outside {space}", space=space.name, address=text)
    value = int(ip)
    first, last = space.usable
    anycast = space.version == 6 and value == int(space.network.network_address)
    if not first <= value <= last and not (router and anycast):
        what = (
            "the subnet-router anycast address"
            if anycast
            else ("the network address" if value < first else "the broadcast address")
        )
        raise AddressReserved(f"{text} is reserved in {space}: it is {what}", space=space.name, address=text)
    if space.gateway is not None and ip == space.gateway and not router:
        raise AddressReserved(
            f"{text} is reserved in {space}: it is the gateway", space=space.name, address=text
        )
    if not space.requests_outside_pools and not any(a <= value <= b for a, b in space.pools):
        raise AddressReserved(
            f"{text} is outside the pools of {space}, which alone may be handed out",
            space=space.name,
            address=text,
        )
    if value in taken:
        raise AddressInUse(f"{text} is already in use in {space}", space=space.name, address=text)
    return ip


def _next_free(space: AddressSpace, taken: UsedAddresses, after: int | None) -> int | None:
    if after is not None:
        for first, last in space.pools:
            if last > after:
                found = taken.lowest_free(max(first, after + 1), last)
                if found is not None:
                    return found
    for first, last in space.pools:
        if after is not None and first > after:
            break  # wrapped around to where the search began
        found = taken.lowest_free(first, last if after is None else min(last, after))
        if found is not None:
            return found
    return None


def eui64_address(space: AddressSpace, mac: str) -> ipaddress.IPv6Address:
    """The SLAAC address (modified EUI-64, RFC 4291) of a MAC in an IPv6 /64: what a Port gets on Subnets in
    SLAAC or DHCPv6Stateless mode instead of a pool address (it is claimed like any other)."""
    if space.version != 6 or space.network.prefixlen != 64:
        raise InvalidAddressSpace(f"{space}: SLAAC addresses need an IPv6 /64", space=space.name)
    octets = bytes.fromhex(normalise_mac(mac).replace(":", ""))
    # Flip the universal/local bit and put ff:fe in the middle (RFC 4291 appendix A).
    iid = bytes([octets[0] ^ 0x02]) + octets[1:3] + b"\xff\xfe" + octets[3:]
    return ipaddress.IPv6Address(int(space.network.network_address) | int.from_bytes(iid, "big"))


# -- claim names ----------------------------------------------------------------------------------------


class ClaimKind(StrEnum):
    SUBNET = "Subnet"
    EXTERNAL_NETWORK = "ExternalNetwork"
    MAC = "MAC"


_PREFIXES: dict[ClaimKind, str] = {
    ClaimKind.SUBNET: "ipclaim-",
    ClaimKind.EXTERNAL_NETWORK: "extipclaim-",
    ClaimKind.MAC: "macclaim-",
}
MAX_NAME_LENGTH = 253
"""Kubernetes object names are DNS-1123 subdomains of at most 253 characters."""
_LONGEST_VALUE = 39  # an exploded IPv6 address, fd00-0000-0000-0000-0000-0000-0000-0001
MAX_SPACE_NAME = MAX_NAME_LENGTH - max(map(len, _PREFIXES.values())) - 1 - _LONGEST_VALUE
"""Longer Subnet or Network names are replaced by a digest in claim names."""
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_HEX4 = re.compile(r"^[0-9a-f]{4}$")
_HEX2 = re.compile(r"^[0-9a-f]{2}$")


@dataclass(frozen=True)
class Claim:
    """What a claim name says: the kind of space, the space's key in the name, and the address or MAC."""

    kind: ClaimKind
    space_key: str
    value: str

    @property
    def space(self) -> str | None:
        """The Subnet, ExternalNetwork or Network name, or None when it was too long and is a digest."""
        return None if self.space_key.startswith("-") else self.space_key

    def is_for(self, space_name: str) -> bool:
        return self.space_key == space_key(space_name)


def space_key(space_name: str) -> str:
    """How a space name appears in claim names: itself, or "-h" and a digest when longer than MAX_SPACE_NAME.

    Object names never start with "-", so a digest can never be mistaken for, or equal, a real name.
    """
    if not _SUBDOMAIN.match(space_name) or len(space_name) > MAX_NAME_LENGTH:
        raise ValueError(f"{space_name!r} is not a Kubernetes object name")
    if len(space_name) <= MAX_SPACE_NAME:
        return space_name
    return "-h" + hashlib.sha256(space_name.encode()).hexdigest()[:40]


def claim_name(space_name: str, address: str | Address, *, external: bool = False) -> str:
    """The name of the object that claims address in a Subnet (or, external, an ExternalNetwork).

    ipclaim-<subnet>-10-0-0-7 or ipclaim-<subnet>-fd00-0000-0000-0000-0000-0000-0000-0007: IPv4 as its
    dotted quad with dashes, IPv6 fully exploded, so every textual form of an address gives the same name,
    and the address can be split off from the right unambiguously whatever dashes the subnet name holds:
    its last group has 4 hex digits for IPv6, 1 to 3 decimal digits for IPv4.
    """
    ip = _parse(address)
    if ip is None:
        raise ValueError(f"{address!r} is not an IP address")
    value = ip.exploded.replace(":", "-") if ip.version == 6 else str(ip).replace(".", "-")
    kind = ClaimKind.EXTERNAL_NETWORK if external else ClaimKind.SUBNET
    return f"{_PREFIXES[kind]}{space_key(space_name)}-{value}"


def mac_claim_name(network_name: str, mac: str) -> str:
    """The name of the object that claims a MAC address on a Network: macclaim-<network>-fa-16-3e-..."""
    return f"{_PREFIXES[ClaimKind.MAC]}{space_key(network_name)}-{normalise_mac(mac).replace(':', '-')}"


def parse_claim_name(name: str) -> Claim:
    """The inverse of claim_name and mac_claim_name; ValueError for a name they cannot have made."""
    kind = next((k for k, p in _PREFIXES.items() if name.startswith(p)), None)
    if kind is None:
        raise ValueError(f"{name!r} is not a claim name")
    groups = name[len(_PREFIXES[kind]) :].split("-")
    if kind is ClaimKind.MAC:
        count, value = 6, ":".join(groups[-6:])
        ok = all(_HEX2.match(g) for g in groups[-6:])
    elif _HEX4.match(groups[-1]):
        count, value = 8, ":".join(groups[-8:])
        ok = all(_HEX4.match(g) for g in groups[-8:])
    else:
        count, value = 4, ".".join(groups[-4:])
        ok = True
    key = "-".join(groups[:-count])
    if ok and len(groups) > count:
        try:
            claim = Claim(
                kind, key, normalise_mac(value) if kind is ClaimKind.MAC else str(ipaddress.ip_address(value))
            )
        except ValueError:
            pass
        else:
            # Re-encoding rejects every non-canonical spelling (leading zeros, upper case), keeping the
            # mapping between names and (space, address) one-to-one.
            if _unparse(claim) == name:
                return claim
    raise ValueError(f"{name!r} is not a claim name")


def _unparse(claim: Claim) -> str:
    if claim.kind is ClaimKind.MAC:
        return f"{_PREFIXES[claim.kind]}{claim.space_key}-{claim.value.replace(':', '-')}"
    ip = ipaddress.ip_address(claim.value)
    value = ip.exploded.replace(":", "-") if ip.version == 6 else str(ip).replace(".", "-")
    return f"{_PREFIXES[claim.kind]}{claim.space_key}-{value}"


def claimed_addresses(space: AddressSpace, claim_names: Iterable[str]) -> UsedAddresses:
    """The addresses of space held by the claims named (other claims and other names are skipped)."""
    kind = ClaimKind.EXTERNAL_NETWORK if space.kind is SpaceKind.EXTERNAL_NETWORK else ClaimKind.SUBNET
    key = space_key(space.name)
    values: list[str] = []
    for name in claim_names:
        try:
            claim = parse_claim_name(name)
        except ValueError:
            continue
        if claim.kind is kind and claim.space_key == key:
            values.append(claim.value)
    return UsedAddresses(space.version, values)


# -- MAC addresses --------------------------------------------------------------------------------------

OPENSTACK_MAC_PREFIX = "fa:16:3e"
"""Neutron's default base MAC: 0xfa has the locally-administered bit set and the multicast bit clear."""
_MAC = re.compile(r"^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$")


class NoFreeMACAddress(ValueError):
    """Every MAC address tried for a Port is taken on its Network."""


def normalise_mac(mac: str) -> str:
    """A MAC in lower case with colons, as Kubernetes and libvirt print it; ValueError if it is not one."""
    m = mac.strip().lower()
    if not _MAC.match(m):
        raise ValueError(f"{mac!r} is not a MAC address")
    return m.replace("-", ":")


def mac_address(uid: str, attempt: int = 0) -> str:
    """The MAC of a Port: fa:16:3e and 24 bits of a hash of its uid, so a retried reconcile picks the same
    one; attempt gives the next candidates after a collision."""
    digest = hashlib.sha256(f"{uid}/{attempt}".encode()).digest()
    return OPENSTACK_MAC_PREFIX + "".join(f":{b:02x}" for b in digest[:3])


def pick_mac_address(uid: str, taken: Iterable[str], *, attempts: int = 32) -> str:
    """The first of the Port's candidate MACs not taken on its Network (then claim it with mac_claim_name)."""
    used_macs = {normalise_mac(m) for m in taken}
    for attempt in range(attempts):
        mac = mac_address(uid, attempt)
        if mac not in used_macs:
            return mac
    raise NoFreeMACAddress(f"the {attempts} MAC addresses tried for Port uid {uid} are all in use")

"""IPAM: address spaces from Subnets and ExternalNetworks, allocation, claim names and MAC addresses."""

from __future__ import annotations

import ipaddress
import random
import re
import time
from typing import Any

import pytest

from controllers.ipam import (
    MAX_NAME_LENGTH,
    AddressInUse,
    AddressOutsideSubnet,
    AddressReserved,
    AddressSpace,
    ClaimKind,
    InvalidAddressSpace,
    NoFreeMACAddress,
    SubnetExhausted,
    UsedAddresses,
    allocate,
    available,
    claim_name,
    claimed_addresses,
    eui64_address,
    external_network_space,
    find_space,
    mac_address,
    mac_claim_name,
    normalise_mac,
    parse_claim_name,
    pick_mac_address,
    subnet_space,
)

DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def subnet(cidr: str, name: str = "private-v4", **spec: Any) -> AddressSpace:
    version = 6 if ":" in cidr else 4
    return subnet_space(name, {"network": "private", "cidr": cidr, "ipVersion": version, **spec})


def extnet(cidr: str = "203.0.113.0/24", **spec: Any) -> AddressSpace:
    return external_network_space(
        "public", {"physicalNetwork": "physnet1", "cidr": cidr, "gatewayIP": "203.0.113.1", **spec}
    )


def fill(space: AddressSpace, count: int) -> list[str]:
    taken: list[str] = []
    for _ in range(count):
        taken.append(allocate(space, taken).ip)
    return taken


# -- IPv4 subnets ---------------------------------------------------------------------------------------


def test_v4_default_pool_is_the_cidr_without_network_broadcast_and_gateway() -> None:
    s = subnet("10.0.0.0/24")
    assert str(s.gateway) == "10.0.0.1"
    assert s.capacity() == 253
    assert allocate(s, []).ip == "10.0.0.2"
    taken = fill(s, 253)
    assert taken[-1] == "10.0.0.254"
    assert "10.0.0.1" not in taken and "10.0.0.255" not in taken and "10.0.0.0" not in taken


def test_allocation_returns_the_claim_name() -> None:
    a = allocate(subnet("10.0.0.0/24"), ["10.0.0.2"])
    assert a.ip == "10.0.0.3"
    assert a.claim == "ipclaim-private-v4-10-0-0-3"


def test_explicit_gateway_is_skipped_and_the_first_address_is_free() -> None:
    s = subnet("10.0.0.0/24", gatewayIP="10.0.0.254")
    assert allocate(s, []).ip == "10.0.0.1"
    assert "10.0.0.254" not in fill(s, 253)


def test_disabled_gateway_frees_the_first_address() -> None:
    s = subnet("10.0.0.0/24", disableGateway=True)
    assert s.gateway is None
    assert s.capacity() == 254
    assert allocate(s, []).ip == "10.0.0.1"
    assert allocate(s, [], "10.0.0.1").ip == "10.0.0.1"


def test_allocation_pools_are_used_in_order() -> None:
    s = subnet(
        "10.0.0.0/24",
        allocationPools=[
            {"start": "10.0.0.100", "end": "10.0.0.102"},
            {"start": "10.0.0.10", "end": "10.0.0.11"},
        ],
    )
    assert s.capacity() == 5
    assert fill(s, 5) == ["10.0.0.10", "10.0.0.11", "10.0.0.100", "10.0.0.101", "10.0.0.102"]


def test_used_addresses_outside_the_pools_do_not_count_against_them() -> None:
    s = subnet("10.0.0.0/24", allocationPools=[{"start": "10.0.0.10", "end": "10.0.0.19"}])
    assert available(s, ["10.0.0.5", "10.0.0.10", "10.0.0.200", "fd00::1"]) == 9


def test_exhaustion_of_a_29() -> None:
    s = subnet("10.0.0.0/29")
    taken = fill(s, 5)
    assert taken == ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]
    assert available(s, taken) == 0
    with pytest.raises(SubnetExhausted, match=r"Subnet private-v4 \(10\.0\.0\.0/29\) has no free address"):
        allocate(s, taken)
    # A requested address outside the pools still works when the pools are full (Neutron).
    assert allocate(subnet("10.0.0.0/29", gatewayIP="10.0.0.6"), [], "10.0.0.6", router=True).ip == "10.0.0.6"


def test_point_to_point_prefixes_have_no_network_or_broadcast_address() -> None:
    s31 = subnet("10.0.0.0/31", disableGateway=True)
    assert fill(s31, 2) == ["10.0.0.0", "10.0.0.1"]
    s32 = subnet("10.0.0.7/32")
    assert s32.gateway is None
    assert allocate(s32, []).ip == "10.0.0.7"


# -- requested addresses --------------------------------------------------------------------------------


def test_requested_address_inside_the_pools() -> None:
    s = subnet("10.0.0.0/24", allocationPools=[{"start": "10.0.0.10", "end": "10.0.0.20"}])
    assert allocate(s, ["10.0.0.10"], "10.0.0.15").ip == "10.0.0.15"


def test_requested_address_outside_the_pools_but_inside_the_cidr_is_allowed_as_in_neutron() -> None:
    s = subnet("10.0.0.0/24", allocationPools=[{"start": "10.0.0.10", "end": "10.0.0.20"}])
    assert allocate(s, [], "10.0.0.200").ip == "10.0.0.200"


@pytest.mark.parametrize("address", ["10.0.1.5", "192.168.0.1", "fd00::5", "::ffff:10.0.0.5"])
def test_requested_address_outside_the_subnet(address: str) -> None:
    with pytest.raises(AddressOutsideSubnet) as err:
        allocate(subnet("10.0.0.0/24"), [], address)
    canonical = str(ipaddress.ip_address(address))  # messages spell addresses canonically
    assert str(err.value) == f"{canonical} is outside Subnet private-v4 (10.0.0.0/24)"
    assert err.value.address == canonical and err.value.space == "private-v4"


@pytest.mark.parametrize(
    ("address", "what"),
    [
        ("10.0.0.0", "the network address"),
        ("10.0.0.255", "the broadcast address"),
        ("10.0.0.1", "the gateway"),
    ],
)
def test_requested_reserved_address(address: str, what: str) -> None:
    with pytest.raises(AddressReserved) as err:
        allocate(subnet("10.0.0.0/24"), [], address)
    assert str(err.value) == f"{address} is reserved in Subnet private-v4 (10.0.0.0/24): it is {what}"


def test_router_interface_takes_the_gateway() -> None:
    s = subnet("10.0.0.0/24")
    assert allocate(s, [], "10.0.0.1", router=True).ip == "10.0.0.1"
    with pytest.raises(AddressInUse):
        allocate(s, ["10.0.0.1"], "10.0.0.1", router=True)
    with pytest.raises(AddressReserved, match="network address"):
        allocate(s, [], "10.0.0.0", router=True)


def test_requested_address_in_use() -> None:
    with pytest.raises(AddressInUse) as err:
        allocate(subnet("10.0.0.0/24"), ["10.0.0.21"], "10.0.0.21")
    assert str(err.value) == "10.0.0.21 is already in use in Subnet private-v4 (10.0.0.0/24)"


def test_requested_address_in_any_spelling() -> None:
    s = subnet("fd00:1::/64")
    assert allocate(s, ["fd00:1::21"], "FD00:0001:0000::22").ip == "fd00:1::22"
    with pytest.raises(AddressInUse, match="fd00:1::21 is already in use"):
        allocate(s, ["fd00:1::21"], "fd00:1:0:0:0:0:0:21")


def test_requested_garbage_is_outside_the_subnet() -> None:
    with pytest.raises(AddressOutsideSubnet, match="not-an-ip is outside"):
        allocate(subnet("10.0.0.0/24"), [], "not-an-ip")


# -- IPv6 -----------------------------------------------------------------------------------------------


def test_v6_skips_the_subnet_router_anycast_and_the_gateway() -> None:
    s = subnet("fd00:1::/64", name="private-v6")
    assert str(s.gateway) == "fd00:1::1"
    assert s.capacity() == 2**64 - 2
    assert allocate(s, []).ip == "fd00:1::2"
    with pytest.raises(
        AddressReserved, match=r"fd00:1:: is reserved in Subnet private-v6 .*subnet-router anycast"
    ):
        allocate(s, [], "fd00:1::")


def test_v6_router_may_take_the_anycast_address_and_the_last_address_is_usable() -> None:
    s = subnet("fd00:1::/64")
    assert allocate(s, [], "fd00:1::", router=True).ip == "fd00:1::"
    assert allocate(s, [], "fd00:1::ffff:ffff:ffff:ffff").ip == "fd00:1::ffff:ffff:ffff:ffff"


def test_v6_64_is_never_materialised() -> None:
    s = subnet("fd00:1::/64", disableGateway=True)
    taken = [f"fd00:1::{i:x}" for i in range(1, 5001)]
    started = time.perf_counter()
    assert allocate(s, taken).ip == "fd00:1::1389"
    assert available(s, taken) == 2**64 - 1 - 5000
    last = "fd00:1::ffff:ffff:ffff:ffff"
    assert allocate(s, taken, start_after=last).ip == "fd00:1::1389"  # wraps around
    assert allocate(s, taken, start_after="fd00:1::ffff:ffff:ffff:fff0").ip == "fd00:1::ffff:ffff:ffff:fff1"
    assert time.perf_counter() - started < 2


def test_v6_pools() -> None:
    s = subnet("2001:db8::/64", allocationPools=[{"start": "2001:db8::100", "end": "2001:db8::1ff"}])
    assert s.capacity() == 256
    assert allocate(s, ["2001:db8::100"]).ip == "2001:db8::101"


def test_eui64_address_for_slaac_subnets() -> None:
    s = subnet("fd00:1::/64")
    assert str(eui64_address(s, "52:54:00:12:34:56")) == "fd00:1::5054:ff:fe12:3456"
    assert str(eui64_address(s, "FA-16-3E-00-00-01")) == "fd00:1::f816:3eff:fe00:1"
    with pytest.raises(InvalidAddressSpace, match="/64"):
        eui64_address(subnet("10.0.0.0/24"), "fa:16:3e:00:00:01")


# -- large subnets --------------------------------------------------------------------------------------


def test_16_with_60000_random_used_addresses_gives_the_lowest_free_each_time() -> None:
    s = subnet("10.20.0.0/16")
    rng = random.Random(16)
    pool_ints = range(
        int(ipaddress.IPv4Address("10.20.0.2")), int(ipaddress.IPv4Address("10.20.255.254")) + 1
    )
    used_ints = set(rng.sample(pool_ints, 60_000))
    taken = UsedAddresses(4, (ipaddress.IPv4Address(i) for i in used_ints))
    free = sorted(set(pool_ints) - used_ints)
    assert available(s, taken) == len(free) == 65_533 - 60_000
    started = time.perf_counter()
    for expected in free[:500]:
        a = allocate(s, taken)
        assert int(a.address) == expected
        taken.add(a.address)
    assert time.perf_counter() - started < 2


def test_16_with_60000_contiguous_used_addresses() -> None:
    s = subnet("10.20.0.0/16")
    first = int(ipaddress.IPv4Address("10.20.0.2"))
    taken = UsedAddresses(4, (ipaddress.IPv4Address(first + i) for i in range(60_000)))
    started = time.perf_counter()
    a = allocate(s, taken)
    assert int(a.address) == first + 60_000
    with pytest.raises(AddressInUse):
        allocate(s, taken, "10.20.0.100")
    assert time.perf_counter() - started < 1


def test_start_after_round_robin_and_wrap_around() -> None:
    s = subnet("10.0.0.0/29")  # pool .2-.6
    assert allocate(s, [], start_after="10.0.0.3").ip == "10.0.0.4"
    assert allocate(s, ["10.0.0.4"], start_after="10.0.0.3").ip == "10.0.0.5"
    assert allocate(s, ["10.0.0.2"], start_after="10.0.0.6").ip == "10.0.0.3"
    assert allocate(s, [], start_after="10.0.0.200").ip == "10.0.0.2"
    with pytest.raises(SubnetExhausted):
        allocate(s, fill(s, 5), start_after="10.0.0.4")


def test_lowest_free_matches_a_brute_force_search() -> None:
    rng = random.Random(7)
    for _ in range(300):
        values = sorted(set(rng.sample(range(100), rng.randint(0, 99))))
        t = UsedAddresses(4, (ipaddress.IPv4Address(v) for v in values))
        first, last = sorted(rng.sample(range(100), 2))
        expected = next((v for v in range(first, last + 1) if v not in values), None)
        assert t.lowest_free(first, last) == expected


def test_used_addresses_keep_one_ip_version() -> None:
    t = UsedAddresses(4, ["10.0.0.1", "::a00:2", "junk"])
    assert len(t) == 1 and "10.0.0.1" in t and "::a00:1" not in t
    t.add("10.0.0.1")
    assert len(t) == 1
    with pytest.raises(ValueError, match="not an IPv4 address"):
        t.add("fd00::1")


# -- spec problems --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ({"cidr": "10.0.0.5/24"}, "cidr 10.0.0.5/24 has host bits set; did you mean 10.0.0.0/24?"),
        (
            {"cidr": "10.0.0.0/24", "gatewayIP": "10.0.0.255"},
            "gatewayIP 10.0.0.255 is the network or broadcast",
        ),
        (
            {"cidr": "10.0.0.0/24", "allocationPools": [{"start": "10.0.0.0", "end": "10.0.0.9"}]},
            "allocationPools[0] (10.0.0.0-10.0.0.9) must lie within 10.0.0.1-10.0.0.254, the usable addresses",
        ),
        (
            {"cidr": "10.0.0.0/24", "allocationPools": [{"start": "10.0.1.1", "end": "10.0.1.9"}]},
            "must lie within",
        ),
        (
            {"cidr": "10.0.0.0/24", "allocationPools": [{"start": "10.0.0.9", "end": "10.0.0.2"}]},
            "allocationPools[0] (10.0.0.9-10.0.0.2) ends before it starts",
        ),
        (
            {"cidr": "10.0.0.0/24", "allocationPools": [{"start": "10.0.0.1", "end": "10.0.0.9"}]},
            "allocationPools[0] (10.0.0.1-10.0.0.9) holds the gateway 10.0.0.1",
        ),
        (
            {
                "cidr": "10.0.0.0/24",
                "allocationPools": [
                    {"start": "10.0.0.10", "end": "10.0.0.20"},
                    {"start": "10.0.0.20", "end": "10.0.0.30"},
                ],
            },
            "allocationPools overlap at 10.0.0.20",
        ),
        ({"cidr": "fd00::/64", "ipVersion": 4}, "ipVersion 4 does not match cidr fd00::/64"),
        ({"cidr": "10.0.0.0/24", "gatewayIP": "10.0.0.x"}, "gatewayIP '10.0.0.x' is not an IP address"),
        ({"cidr": "10.0.0.0/24", "gatewayIP": "fd00::1"}, "gatewayIP fd00::1 is not of the IP version"),
        (
            {"cidr": "fd00::/64", "ipVersion": 6, "allocationPools": [{"start": "fd00::", "end": "fd00::9"}]},
            "must lie within fd00::1-fd00::ffff:ffff:ffff:ffff",
        ),
    ],
)
def test_invalid_subnets_name_the_problem(spec: dict[str, Any], problem: str) -> None:
    with pytest.raises(InvalidAddressSpace) as err:
        subnet_space("private-v4", {"network": "private", "ipVersion": 4, **spec})
    assert str(err.value).startswith("Subnet private-v4: ")
    assert problem in str(err.value)


def test_gateway_outside_the_cidr_is_allowed_as_in_neutron() -> None:
    s = subnet("10.0.0.0/24", gatewayIP="10.0.9.1")
    assert s.capacity() == 254


def test_find_space_picks_the_subnet_holding_the_address() -> None:
    v4, v6 = subnet("10.0.0.0/24"), subnet("fd00::/64", name="private-v6")
    assert find_space([v4, v6], "fd00::9") is v6
    with pytest.raises(AddressOutsideSubnet, match=r"10\.9\.9\.9 is in none of the subnets"):
        find_space([v4, v6], "10.9.9.9")


# -- external networks ----------------------------------------------------------------------------------


def test_external_network_default_pool_skips_its_gateway() -> None:
    e = extnet()
    assert e.capacity() == 253
    a = allocate(e, [])
    assert a.ip == "203.0.113.2"
    assert a.claim == "extipclaim-public-203-0-113-2"


def test_floating_ip_pools() -> None:
    e = extnet(floatingIPPools=[{"start": "203.0.113.100", "end": "203.0.113.101"}])
    taken = fill(e, 2)
    assert taken == ["203.0.113.100", "203.0.113.101"]
    with pytest.raises(SubnetExhausted, match=r"ExternalNetwork public \(203\.0\.113\.0/24\) has no free"):
        allocate(e, taken)


def test_requested_floating_ip_must_be_in_the_pools() -> None:
    e = extnet(floatingIPPools=[{"start": "203.0.113.100", "end": "203.0.113.200"}])
    assert allocate(e, [], "203.0.113.150").ip == "203.0.113.150"
    with pytest.raises(
        AddressReserved, match=r"203\.0\.113\.5 is outside the pools of ExternalNetwork public"
    ):
        allocate(e, [], "203.0.113.5")
    with pytest.raises(AddressReserved, match="gateway"):
        allocate(e, [], "203.0.113.1")
    with pytest.raises(AddressOutsideSubnet):
        allocate(e, [], "198.51.100.1")


def test_external_network_pool_holding_its_gateway_is_refused() -> None:
    with pytest.raises(
        InvalidAddressSpace, match=r"ExternalNetwork public: floatingIPPools\[0\].*holds the gateway"
    ):
        extnet(floatingIPPools=[{"start": "203.0.113.1", "end": "203.0.113.9"}])


# -- claim names ----------------------------------------------------------------------------------------


def random_name(rng: random.Random) -> str:
    # Names full of dashes, digits and hex-looking groups: the worst case for splitting off the address.
    parts = [rng.choice(["a", "net", "10", "0", "255", "fd00", "ffff", "0000", "1-2-3-4", "x.y", "v6"])]
    parts += [
        rng.choice(["-", "."]) + rng.choice(["1", "db8", "0000", "a1", "10-0-0-1", "s"]) for _ in range(3)
    ]
    return "".join(parts)[: rng.randint(1, 40)].strip("-.") or "a"


def random_address(rng: random.Random) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    if rng.random() < 0.5:
        return ipaddress.IPv4Address(rng.getrandbits(32))
    # Many zero groups, to exercise every "::" compression.
    return ipaddress.IPv6Address(
        sum(rng.choice([0, 0, 1, 0xFFFF, rng.getrandbits(16)]) << (16 * i) for i in range(8))
    )


def test_claim_names_round_trip_and_are_injective() -> None:
    rng = random.Random(1123)
    seen: dict[str, tuple[str, str, bool]] = {}
    for _ in range(5000):
        name, ip, external = random_name(rng), random_address(rng), rng.random() < 0.2
        claim = claim_name(name, ip, external=external)
        assert DNS1123_SUBDOMAIN.match(claim) and len(claim) <= MAX_NAME_LENGTH, claim
        parsed = parse_claim_name(claim)
        assert parsed.space == name and parsed.value == str(ip)
        assert parsed.kind == (ClaimKind.EXTERNAL_NETWORK if external else ClaimKind.SUBNET)
        assert seen.setdefault(claim, (name, str(ip), external)) == (name, str(ip), external)


def test_claim_names_of_adversarial_subnet_names() -> None:
    pairs = [
        ("a-1-2-3", "4.5.6.7"),
        ("a-1-2-3-4", "5.6.7.8"),
        ("a", "1.2.3.4"),
        ("a-1", "2.3.4.5"),
        ("net-fd00-0000", "fd00::1"),
        ("net", "fd00::1"),
        ("net-fd00", "0:0:fd00::1"),
        ("n.1-2-3", "4.5.6.7"),
    ]
    names = {claim_name(s, ip) for s, ip in pairs}
    assert len(names) == len(pairs)
    for s, ip in pairs:
        parsed = parse_claim_name(claim_name(s, ip))
        assert (parsed.space, parsed.value) == (s, str(ipaddress.ip_address(ip)))


@pytest.mark.parametrize(
    "spelling", ["fd00:1::7", "FD00:1::7", "fd00:0001:0000:0000:0000:0000:0000:0007", "fd00:1:0::0:7"]
)
def test_every_spelling_of_an_address_gives_the_same_claim(spelling: str) -> None:
    assert claim_name("private-v6", spelling) == "ipclaim-private-v6-fd00-0001-0000-0000-0000-0000-0000-0007"


def test_long_subnet_names_are_digested_and_stay_distinct() -> None:
    long_a, long_b = "a" * 240, "a" * 239 + "b"
    a, b = claim_name(long_a, "10.0.0.1"), claim_name(long_b, "10.0.0.1")
    assert a != b and len(a) <= MAX_NAME_LENGTH and DNS1123_SUBDOMAIN.match(a)
    parsed = parse_claim_name(a)
    assert parsed.space is None and parsed.is_for(long_a) and not parsed.is_for(long_b)
    assert len(claim_name("b" * 202, "fd00::1", external=True)) == MAX_NAME_LENGTH


@pytest.mark.parametrize(
    "name",
    [
        "configmap-a",
        "ipclaim-10-0-0-1",  # no subnet
        "ipclaim-a-10-0-0-01",  # not canonical
        "ipclaim-a-10-0-0-256",
        "ipclaim-a-fd00-0000-0000-0000-0000-0000-0000-01",  # a short last group means IPv4
        "ipclaim-a-FD00-0000-0000-0000-0000-0000-0000-0001",
        "macclaim-net-fa-16-3e-00-00",
        "ipclaim-a-1-2-3",
    ],
)
def test_parse_refuses_names_claim_name_cannot_make(name: str) -> None:
    with pytest.raises(ValueError, match="not a claim name"):
        parse_claim_name(name)


def test_claim_name_refuses_bad_inputs() -> None:
    with pytest.raises(ValueError, match="not a Kubernetes object name"):
        claim_name("Private_Net", "10.0.0.1")
    with pytest.raises(ValueError, match="not an IP address"):
        claim_name("private", "10.0.0.300")


def test_claimed_addresses_takes_the_claims_of_one_space() -> None:
    s = subnet("10.0.0.0/24")
    names = [
        claim_name("private-v4", "10.0.0.2"),
        claim_name("private-v4", "10.0.0.3"),
        claim_name("private-v4-b", "10.0.0.4"),
        claim_name("private-v4", "10.0.0.5", external=True),
        claim_name("private-v4", "fd00::1"),
        mac_claim_name("private-v4", "fa:16:3e:00:00:01"),
        "kube-root-ca.crt",
    ]
    taken = claimed_addresses(s, names)
    assert len(taken) == 2
    assert allocate(s, taken).ip == "10.0.0.4"


# -- MAC addresses --------------------------------------------------------------------------------------


def test_mac_addresses_are_openstack_local_unicast_and_deterministic() -> None:
    uid = "4f9a3c1e-0d1b-4d8e-9a57-1f2b3c4d5e6f"
    mac = mac_address(uid)
    assert re.fullmatch(r"fa:16:3e(:[0-9a-f]{2}){3}", mac)
    first = int(mac[:2], 16)
    assert first & 0x02 and not first & 0x01  # locally administered, unicast
    assert mac_address(uid) == mac
    assert mac_address(uid, 1) != mac
    assert len({mac_address(f"uid-{i}") for i in range(1000)}) > 990


def test_pick_mac_address_retries_past_collisions() -> None:
    uid = "port-uid"
    taken = [mac_address(uid, 0).upper(), mac_address(uid, 1).replace(":", "-")]
    assert pick_mac_address(uid, taken) == mac_address(uid, 2)
    with pytest.raises(NoFreeMACAddress, match="Port uid port-uid"):
        pick_mac_address(uid, [mac_address(uid, i) for i in range(3)], attempts=3)


def test_mac_claims_and_normalisation() -> None:
    assert normalise_mac("FA-16-3E-0A-0B-0C") == "fa:16:3e:0a:0b:0c"
    with pytest.raises(ValueError, match="not a MAC"):
        normalise_mac("fa:16:3e:0a:0b")
    name = mac_claim_name("private", "FA:16:3E:0A:0B:0C")
    assert name == "macclaim-private-fa-16-3e-0a-0b-0c"
    parsed = parse_claim_name(name)
    assert (parsed.kind, parsed.space, parsed.value) == (ClaimKind.MAC, "private", "fa:16:3e:0a:0b:0c")

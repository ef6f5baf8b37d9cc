"""Linux links with pyroute2: network namespaces, veth pairs with an address, link state, and transmit
checksum offload off (ethtool), for tests that stand in for guests and for the external bridge's uplink.

    create_netns("guest1")
    veth_into_netns("vh1", "guest1", "eth0", "10.0.0.11/24", host_netns="host1", mac="02:..")
    tx_offload_off("eth0", netns="guest1")

`netns=None` means the namespace hostd runs in. The userspace (netdev) datapath needs transmit checksum
offload off on both ends of a veth, or TCP silently fails (ping still works).
"""

from __future__ import annotations

import contextlib
import ipaddress
import subprocess
from collections.abc import Iterator
from typing import Any

from pyroute2 import IPRoute, NetNS, netns  # type: ignore[import-untyped]


@contextlib.contextmanager
def _ipr(ns: str | None) -> Iterator[Any]:
    handle = IPRoute() if ns is None else NetNS(ns)
    try:
        yield handle
    finally:
        handle.close()


def create_netns(name: str) -> None:
    """Create network namespace `name` (in /run/netns) with its loopback up; an existing one is kept."""
    if name not in netns.listnetns():
        netns.create(name)
    set_up("lo", name)


def remove_netns(name: str) -> None:
    if name in netns.listnetns():
        netns.remove(name)


def link_index(name: str, ns: str | None = None) -> int | None:
    with _ipr(ns) as ipr:
        found = ipr.link_lookup(ifname=name)
        return int(found[0]) if found else None


def set_up(name: str, ns: str | None = None) -> None:
    with _ipr(ns) as ipr:
        ipr.link("set", index=ipr.link_lookup(ifname=name)[0], state="up")


def veth_into_netns(
    host_end: str,
    peer_netns: str,
    peer_end: str,
    address: str | None = None,
    host_netns: str | None = None,
    mac: str | None = None,
) -> None:
    """A veth pair: `host_end` stays in `host_netns` (to be plugged into a bridge), `peer_end` goes into
    `peer_netns` with `address` ("IP/prefix") and `mac`; both ends up. An existing `host_end` is kept."""
    iface = ipaddress.ip_interface(address) if address else None
    with _ipr(host_netns) as ipr:
        if not ipr.link_lookup(ifname=host_end):
            ipr.link("add", ifname=host_end, kind="veth", peer={"ifname": peer_end, "net_ns_fd": peer_netns})
        ipr.link("set", index=ipr.link_lookup(ifname=host_end)[0], state="up")
    with _ipr(peer_netns) as ipr:
        index = ipr.link_lookup(ifname=peer_end)[0]
        if mac:
            ipr.link("set", index=index, address=mac)
        if iface is not None:
            have = {(a.get_attr("IFA_ADDRESS"), a["prefixlen"]) for a in ipr.get_addr(index=index)}
            if (str(iface.ip), iface.network.prefixlen) not in have:
                ipr.addr("add", index=index, address=str(iface.ip), prefixlen=iface.network.prefixlen)
        ipr.link("set", index=index, state="up")


def delete_link(name: str, ns: str | None = None) -> None:
    """Delete a link (a veth takes its peer with it); a missing one is fine."""
    with _ipr(ns) as ipr:
        found = ipr.link_lookup(ifname=name)
        if found:
            ipr.link("del", index=found[0])


def tx_offload_off(name: str, ns: str | None = None) -> None:
    """ethtool -K NAME tx off, in namespace `ns`."""
    prefix = [] if ns is None else ["ip", "netns", "exec", ns]
    subprocess.run([*prefix, "ethtool", "-K", name, "tx", "off"], check=True, capture_output=True, timeout=10)

"""The OVS side of guest NICs that hostd plugs itself, as a pure plan, and their orphans.

    commands = plan_nics(desired, ovs.observe())    # then ovs.apply(commands): one transaction

`desired` maps each NIC's Port UID (the OVN logical switch port's name, see controllers/ovn/desired.py) to a
`Nic`: the device to plug into br-int and the Server it belongs to. A plugged NIC is a Port + Interface on
br-int with external_ids iface-id = Port UID (what ovn-controller binds), attached-mac, iface-status, and
Kumulus's marks: kumulus:owner=hostd, kumulus:role=nic, kumulus:server, kumulus:port.

- a desired NIC without its marked port is plugged; one plugged differently (other Port, Server or MAC) is
  replugged in the same transaction;
- a marked NIC port whose Port (or Server) is no longer desired is an orphan and is removed. hostd builds
  `desired` from what the API says lives on this host, so after a crash (kill -9 in the middle of a delete)
  the next pass removes what was left: no OVS port leaks.
- ports without the marks (libvirt's own taps, plugged with <virtualport type='openvswitch'>; anything an
  operator plugged) are never touched, even when their iface-id names a Kumulus Port.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .ovs_plan import MARK, ROLE, AddPort, Command, DeletePort, OvsObserved, PortObs

NIC_ROLE = "nic"
SERVER = "kumulus:server"
PORT = "kumulus:port"
IFACE_ID = "iface-id"


@dataclass(frozen=True, slots=True)
class Nic:
    port_uid: str  # the OVN logical switch port's name
    server_uid: str
    device: str  # the tap or veth to plug
    mac: str | None = None


@dataclass(frozen=True, slots=True)
class Plugged:
    """A port on the integration bridge that OVN may bind (it has an iface-id)."""

    name: str
    iface_id: str
    owned: bool
    server_uid: str | None
    ofport: int | None


def _port_ids(nic: Nic) -> dict[str, str]:
    return {**MARK, ROLE: NIC_ROLE, SERVER: nic.server_uid, PORT: nic.port_uid}


def _iface_ids(nic: Nic) -> dict[str, str]:
    ids = {IFACE_ID: nic.port_uid, "iface-status": "active", **_port_ids(nic)}
    if nic.mac:
        ids["attached-mac"] = nic.mac
    return ids


def _is_nic(port: PortObs, bridge: str) -> bool:
    return port.bridge == bridge and port.owned and port.external_ids.get(ROLE) == NIC_ROLE


def plugged(observed: OvsObserved, bridge: str = "br-int") -> list[Plugged]:
    """Every port on `bridge` with an iface-id, Kumulus's or not."""
    out = []
    for port in sorted(observed.ports.values(), key=lambda p: p.name):
        iface_id = port.iface_ids.get(IFACE_ID)
        if port.bridge == bridge and iface_id:
            owned = _is_nic(port, bridge)
            server = port.external_ids.get(SERVER) if owned else None
            out.append(Plugged(port.name, iface_id, owned, server, port.ofport))
    return out


def orphans(desired: Mapping[str, Nic], observed: OvsObserved, bridge: str = "br-int") -> list[str]:
    """Names of the marked NIC ports whose Port or Server is no longer desired (or is plugged elsewhere)."""
    out = []
    for port in sorted(observed.ports.values(), key=lambda p: p.name):
        if not _is_nic(port, bridge):
            continue
        nic = desired.get(port.external_ids.get(PORT, ""))
        if nic is None or nic.device != port.name or port.external_ids.get(SERVER) != nic.server_uid:
            out.append(port.name)
    return out


def plan_nics(desired: Mapping[str, Nic], observed: OvsObserved, bridge: str = "br-int") -> list[Command]:
    devices = [n.device for n in desired.values()]
    if len(set(devices)) != len(devices):
        raise ValueError("device: two NICs name the same device")
    for uid, nic in desired.items():
        if uid != nic.port_uid:
            raise ValueError(f"port_uid: NIC keyed {uid!r} says {nic.port_uid!r}")
    if bridge not in observed.bridges:
        return []  # no integration bridge yet: the OVS plan creates it first
    removed = orphans(desired, observed, bridge)
    commands: list[Command] = [DeletePort(bridge, name) for name in removed]
    for nic in sorted(desired.values(), key=lambda n: n.device):
        have = observed.ports.get(nic.device)
        if have is not None and not _is_nic(have, bridge):
            continue  # someone else's port has the name: not ours to take over
        if have is not None and have.name not in removed:
            # Compare only what hostd sets: ovn-controller adds its own keys (ovn-installed...).
            if all(have.iface_ids.get(k) == v for k, v in _iface_ids(nic).items()):
                continue
            commands.append(DeletePort(bridge, have.name))  # plugged differently (e.g. a new MAC)
        commands.append(AddPort(bridge, nic.device, "", _port_ids(nic), _iface_ids(nic)))
    return commands

"""The Open vSwitch plan, as a pure function: desired settings and the observed database in, commands out.

    commands = plan(settings, observed)       # then OvsDB.apply(commands): one OVSDB transaction

- Open_vSwitch external_ids: the keys ovn-controller reads (system-id, ovn-remote, ovn-encap-*, ovn-bridge*,
  ovn-bridge-mappings) are set; the keys Kumulus set before are listed in `kumulus:managed-keys`, so one it
  no longer wants (the mappings of a host that lost the Network role) is removed, and no other key is touched;
- bridges (br-int, and br-ex on Network-role hosts) are created marked `kumulus:owner=hostd`, and their
  datapath_type / fail_mode / other_config keys kept as wanted; a marked bridge no longer wanted is deleted;
- the uplink NIC is plugged into br-ex as a marked port; a marked uplink port no longer wanted is removed.

Bridges and ports without the mark are someone else's (an operator's br-int, ovn-controller's patch ports,
libvirt's taps): the plan never changes or removes them, and `conflicts()` says when one stands in the way.
Once the commands are applied, planning again returns nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .settings import BridgeSpec, OvsSettings

OWNER = "kumulus:owner"
OWNER_VALUE = "hostd"
ROLE = "kumulus:role"
MANAGED_KEYS = "kumulus:managed-keys"
MARK = {OWNER: OWNER_VALUE}


def owned(external_ids: Mapping[str, str]) -> bool:
    return external_ids.get(OWNER) == OWNER_VALUE


# -- what is observed -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PortObs:
    """A Port and its (first) Interface; `external_ids` are the Port's, `iface_ids` the Interface's."""

    name: str
    bridge: str
    external_ids: Mapping[str, str] = field(default_factory=dict)
    iface_type: str = ""
    iface_ids: Mapping[str, str] = field(default_factory=dict)
    ofport: int | None = None

    @property
    def owned(self) -> bool:
        return owned(self.external_ids)


@dataclass(frozen=True, slots=True)
class BridgeObs:
    name: str
    datapath_type: str = ""
    fail_mode: str | None = None
    other_config: Mapping[str, str] = field(default_factory=dict)
    external_ids: Mapping[str, str] = field(default_factory=dict)

    @property
    def owned(self) -> bool:
        return owned(self.external_ids)


@dataclass(frozen=True, slots=True)
class OvsObserved:
    external_ids: Mapping[str, str] = field(default_factory=dict)
    bridges: Mapping[str, BridgeObs] = field(default_factory=dict)
    ports: Mapping[str, PortObs] = field(default_factory=dict)  # by name, on every bridge


# -- commands -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SetExternalIds:
    """Set `values` and remove `remove` in Open_vSwitch external_ids (created if there is no row)."""

    values: Mapping[str, str]
    remove: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AddBridge:
    name: str
    datapath_type: str
    fail_mode: str | None
    other_config: Mapping[str, str]
    external_ids: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class UpdateBridge:
    """Set datapath_type and fail_mode, and merge `other_config` keys (others stay)."""

    name: str
    datapath_type: str
    fail_mode: str | None
    other_config: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class DeleteBridge:
    name: str


@dataclass(frozen=True, slots=True)
class AddPort:
    bridge: str
    name: str
    iface_type: str
    external_ids: Mapping[str, str]  # the Port's
    iface_ids: Mapping[str, str]  # the Interface's (iface-id, attached-mac... for a guest NIC)


@dataclass(frozen=True, slots=True)
class DeletePort:
    bridge: str
    name: str


Command = SetExternalIds | AddBridge | UpdateBridge | DeleteBridge | AddPort | DeletePort


# -- the plan -------------------------------------------------------------------------------------------


def _external_ids(settings: OvsSettings, observed: OvsObserved) -> list[Command]:
    want = settings.external_ids()
    want[MANAGED_KEYS] = ",".join(sorted(want))
    before = {k for k in observed.external_ids.get(MANAGED_KEYS, "").split(",") if k}
    remove = tuple(sorted(k for k in before - set(want) if k in observed.external_ids))
    values = {k: v for k, v in want.items() if observed.external_ids.get(k) != v}
    return [SetExternalIds(values, remove)] if values or remove else []


def _bridge(spec: BridgeSpec, observed: OvsObserved) -> list[Command]:
    have = observed.bridges.get(spec.name)
    other = dict(spec.other_config)
    if have is None:
        if spec.name in observed.ports:
            return []  # a port of another bridge has the name: conflicts() tells
        return [AddBridge(spec.name, spec.datapath_type, spec.fail_mode, other, {**MARK, ROLE: spec.role})]
    if not have.owned:
        return []
    drift = (
        have.datapath_type != spec.datapath_type
        or have.fail_mode != spec.fail_mode
        or any(have.other_config.get(k) != v for k, v in other.items())
    )
    return [UpdateBridge(spec.name, spec.datapath_type, spec.fail_mode, other)] if drift else []


def _uplink(settings: OvsSettings, observed: OvsObserved, deleted: set[str]) -> list[Command]:
    out: list[Command] = []
    want = settings.uplink
    bridge = settings.external_bridge
    for port in sorted(observed.ports.values(), key=lambda p: p.name):
        is_uplink = port.owned and port.external_ids.get(ROLE) == "uplink"
        if is_uplink and port.bridge not in deleted and (port.name != want or port.bridge != bridge):
            out.append(DeletePort(port.bridge, port.name))
    if want is None or bridge is None:
        return out
    have_bridge = observed.bridges.get(bridge)
    if have_bridge is not None and not have_bridge.owned:
        return out  # someone else's br-ex: not ours to plug into
    if have_bridge is None and bridge in observed.ports:
        return out  # the bridge cannot be created
    have = observed.ports.get(want)
    if have is not None and not (have.owned and have.bridge != bridge):
        return out  # plugged already, or a port of someone else's (conflicts() tells)
    out.append(AddPort(bridge, want, "", {**MARK, ROLE: "uplink"}, dict(MARK)))
    return out


def plan(settings: OvsSettings, observed: OvsObserved) -> list[Command]:
    commands = _external_ids(settings, observed)
    wanted = {b.name for b in settings.bridges()}
    deleted = {b.name for b in observed.bridges.values() if b.owned and b.name not in wanted}
    commands += [DeleteBridge(name) for name in sorted(deleted)]
    for spec in settings.bridges():
        commands += _bridge(spec, observed)
    commands += _uplink(settings, observed, deleted)
    return commands


def conflicts(settings: OvsSettings, observed: OvsObserved) -> list[str]:
    """What stands in the way and is not Kumulus's to change, as short sentences (empty: nothing)."""
    out = []
    for spec in settings.bridges():
        have = observed.bridges.get(spec.name)
        if have is None:
            port = observed.ports.get(spec.name)
            if port is not None:
                out.append(f"bridge {spec.name}: the name is a port of bridge {port.bridge}")
        elif not have.owned and (have.datapath_type or "system") != spec.datapath_type:
            out.append(
                f"bridge {spec.name}: not Kumulus's, datapath_type {have.datapath_type or 'system'} "
                f"(want {spec.datapath_type})"
            )
    if settings.uplink is not None:
        port = observed.ports.get(settings.uplink)
        if port is not None and not port.owned:
            out.append(f"uplink {settings.uplink}: already a port of bridge {port.bridge}, not Kumulus's")
        elif settings.external_bridge is not None:
            ext = observed.bridges.get(settings.external_bridge)
            if ext is not None and not ext.owned:
                out.append(f"uplink {settings.uplink}: bridge {ext.name} is not Kumulus's, not plugged")
    return out

"""What this host's Open vSwitch should look like for OVN, validated: the desired side of the OVS plan.

    settings = OvsSettings(system_id="host1", ovn_remote="tcp:10.0.0.1:6642", encap_ip="10.0.0.5",
                           datapath_type="netdev", external_bridge="br-ex", uplink="eth1")

`for_host(name, roles, ...)` builds them from hostd's host config: the external bridge (and its physical
network mapping) exists only on hosts with the Network role.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

from controllers.api.infra import HostRole

DATAPATH_TYPES = ("system", "netdev")
ENCAP_TYPE = "geneve"
REMOTE_PREFIXES = ("unix:", "tcp:", "ssl:")
# Linux interface names: at most 15 bytes, no slash or whitespace (bridges are kernel or tap devices).
_IFNAME = re.compile(r"^[A-Za-z0-9_.\-]{1,15}$")
_PHYSNET = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


@dataclass(frozen=True, slots=True)
class BridgeSpec:
    """A bridge Kumulus wants, with the settings it owns on it."""

    name: str
    role: str  # "integration" | "external"
    datapath_type: str
    fail_mode: str | None
    other_config: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class OvsSettings:
    system_id: str
    ovn_remote: str
    encap_ip: str
    datapath_type: str = "system"
    integration_bridge: str = "br-int"
    external_bridge: str | None = None  # only on Network-role hosts
    uplink: str | None = None  # the NIC plugged into the external bridge
    physical_network: str = "physnet1"

    def __post_init__(self) -> None:
        validate(self)

    def external_ids(self) -> dict[str, str]:
        """The Open_vSwitch external_ids ovn-controller reads."""
        ids = {
            "system-id": self.system_id,
            "hostname": self.system_id,
            "ovn-remote": self.ovn_remote,
            "ovn-encap-type": ENCAP_TYPE,
            "ovn-encap-ip": self.encap_ip,
            "ovn-bridge": self.integration_bridge,
            "ovn-bridge-datapath-type": self.datapath_type,
        }
        if self.external_bridge is not None:
            ids["ovn-bridge-mappings"] = f"{self.physical_network}:{self.external_bridge}"
        return ids

    def bridges(self) -> list[BridgeSpec]:
        # br-int as ovn-controller would create it: secure fail mode (no NORMAL flooding before OVN's flows
        # are in) and no in-band control flows.
        out = [
            BridgeSpec(
                self.integration_bridge,
                "integration",
                self.datapath_type,
                "secure",
                (("disable-in-band", "true"),),
            )
        ]
        if self.external_bridge is not None:
            # br-ex switches with NORMAL between the uplink and OVN's patch port (standalone fail mode).
            out.append(BridgeSpec(self.external_bridge, "external", self.datapath_type, None))
        return out


def validate(s: OvsSettings) -> None:
    """Raise ValueError naming the field that is wrong."""
    if not s.system_id or any(c.isspace() for c in s.system_id):
        raise ValueError(f"system_id: must be a non-empty name without spaces, got {s.system_id!r}")
    if not s.ovn_remote.startswith(REMOTE_PREFIXES):
        raise ValueError(f"ovn_remote: must start with unix:, tcp: or ssl:, got {s.ovn_remote!r}")
    try:
        ipaddress.ip_address(s.encap_ip)
    except ValueError:
        raise ValueError(f"encap_ip: not an IP address: {s.encap_ip!r}") from None
    if s.datapath_type not in DATAPATH_TYPES:
        raise ValueError(
            f"datapath_type: must be one of {', '.join(DATAPATH_TYPES)}, got {s.datapath_type!r}"
        )
    for field in ("integration_bridge", "external_bridge", "uplink"):
        value = getattr(s, field)
        if value is not None and not _IFNAME.match(value):
            raise ValueError(f"{field}: not a valid interface name (1-15 of A-Z a-z 0-9 _ . -): {value!r}")
    if s.external_bridge is not None and s.external_bridge == s.integration_bridge:
        raise ValueError("external_bridge: must differ from integration_bridge")
    if s.uplink is not None:
        if s.external_bridge is None:
            raise ValueError("uplink: needs an external_bridge (only Network-role hosts have one)")
        if s.uplink in (s.integration_bridge, s.external_bridge):
            raise ValueError(f"uplink: {s.uplink!r} is a bridge name")
    if not _PHYSNET.match(s.physical_network):
        raise ValueError(f"physical_network: not a valid name (A-Z a-z 0-9 _ . -): {s.physical_network!r}")


def for_host(
    name: str,
    roles: Iterable[HostRole],
    ovn_remote: str,
    encap_ip: str,
    datapath_type: str = "system",
    external_bridge: str = "br-ex",
    uplink: str | None = None,
    physical_network: str = "physnet1",
) -> OvsSettings:
    """The settings of host `name`: system-id = host name; br-ex and the mapping only with the Network role."""
    network = HostRole.NETWORK in tuple(roles)
    return OvsSettings(
        system_id=name,
        ovn_remote=ovn_remote,
        encap_ip=encap_ip,
        datapath_type=datapath_type,
        external_bridge=external_bridge if network else None,
        uplink=uplink if network else None,
        physical_network=physical_network,
    )

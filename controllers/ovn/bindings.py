"""What the OVN Southbound database says of Ports and chassis, and what it means for them (pure).

    binding = port_binding(port_uid, host, bindings)    # -> PortBinding(active, reason, message, chassis)
    lags = chassis_lag(nb_cfg, chassis_nb_cfg)          # chassis -> how many nb_cfg bumps it is behind

A Port is Active only when OVN bound its logical switch port (named after the Port's UID, see
controllers.ovn.desired.port_name) to the chassis named after the Host its Server runs on, and
ovn-controller reported the port up (Port_Binding.up, set once its flows are installed). hostd names the
chassis (system-id) after the Host, and the Logical_Switch_Port asks for that chassis (requested-chassis),
so a binding elsewhere is a fault worth an Event, not a normal state.

Liveness: the network operator increments NB_Global.nb_cfg in every Northbound transaction that changes
something (ovn-nbctl --wait=hv); ovn-northd copies it to SB_Global.nb_cfg and each ovn-controller writes the
value it has caught up with into its Chassis_Private.nb_cfg. The difference is how many of those
transactions a chassis has not processed yet: a lag that stays above 0 names a hung or dead ovn-controller.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

BOUND = "Bound"
"""The Port condition type that says whether OVN bound the Port where its Server runs."""


@dataclass(frozen=True, slots=True)
class Binding:
    """One Southbound Port_Binding row: the chassis it is bound to (None: unbound) and its `up` column."""

    chassis: str | None
    up: bool


@dataclass(frozen=True, slots=True)
class PortBinding:
    """The verdict on a Port: Active or not, the Bound condition's reason and message, the chassis seen."""

    active: bool
    reason: str
    message: str
    chassis: str | None


def port_binding(logical_port: str, host: str | None, bindings: Mapping[str, Binding]) -> PortBinding:
    """Whether the logical port is bound to chassis `host` (the Host its Server runs on) and up."""
    seen = bindings.get(logical_port)
    chassis = seen.chassis if seen is not None else None
    if host is None:
        where = f" (OVN has it on chassis {chassis})" if chassis else ""
        return PortBinding(False, "NoHost", f"no Server placed on a Host uses the Port{where}", chassis)
    if seen is None:
        return PortBinding(False, "NotBound", "OVN has no binding for the Port yet", None)
    if chassis is None:
        return PortBinding(False, "NotBound", f"no chassis has bound the Port (its Host is {host})", None)
    if chassis != host:
        message = f"OVN bound the Port to chassis {chassis}, but its Server runs on Host {host}"
        return PortBinding(False, "BoundElsewhere", message, chassis)
    if not seen.up:
        message = f"bound to chassis {host}, not up yet (ovn-controller is installing its flows)"
        return PortBinding(False, "NotUp", message, chassis)
    return PortBinding(True, BOUND, f"bound to chassis {host} and up", chassis)


def chassis_lag(nb_cfg: int, chassis_nb_cfg: Mapping[str, int]) -> dict[str, int]:
    """Chassis name -> how many nb_cfg bumps its ovn-controller has not caught up with (0: in sync)."""
    return {name: max(0, nb_cfg - have) for name, have in chassis_nb_cfg.items()}

"""This host's OVN chassis as the Southbound database sees it: health for the Host status, and bindings.

    sb = SouthboundDB("tcp:10.0.0.1:6642")
    monitor = ChassisMonitor(sb, system_id="host1", encap_ip="10.0.0.5")
    status.dataPlane["ovn"] = monitor.health()        # "Ready", or a short reason
    active = sb.bound_ports("host1")                  # Port UIDs bound here with up=true

Health (`health()`, pure, over a `SbSnapshot`):
- the Chassis row named after the system-id exists (ovn-controller registered; a graceful stop removes it);
- it has a geneve Encap with the configured IP;
- its Chassis_Private row exists and ovn-controller keeps up: Chassis_Private.nb_cfg reaches SB_Global.nb_cfg.
  A lag is only a fault once it lasts `grace` seconds (ovn-controller needs a moment to process a change):
  `lag_since()` carries when it began from one check to the next. This catches a hung or killed
  ovn-controller only when something bumps nb_cfg (ovn-nbctl --wait=hv, or a periodic NB_Global.nb_cfg
  increment by the control plane, as Neutron's agent liveness does); without bumps a killed
  ovn-controller's rows stay as they were.

Bindings (`bound_ports()`): the logical ports whose Port_Binding.chassis is this chassis and up is true,
the fact a Port's ACTIVE status comes from. The replica holds only the columns read here, but every row of
those tables (no conditional monitoring yet).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ovsdbapp.backend.ovs_idl import command, connection, idlutils
from ovsdbapp.schema.ovn_southbound import impl_idl

READY = "Ready"
ENCAP_TYPE = "geneve"
DEFAULT_GRACE = 30.0  # seconds ovn-controller may lag behind SB_Global.nb_cfg before it counts as stale

# Only what health and bindings need: the Southbound database of a cloud is large (logical flows).
COLUMNS = {
    "SB_Global": ["nb_cfg"],
    "Chassis": ["name", "hostname", "encaps"],
    "Chassis_Private": ["name", "chassis", "nb_cfg", "nb_cfg_timestamp"],
    "Encap": ["type", "ip", "chassis_name"],
    "Port_Binding": ["logical_port", "chassis", "up"],
}


@dataclass(frozen=True, slots=True)
class ChassisObs:
    name: str
    encaps: tuple[tuple[str, str], ...]  # (type, ip)


@dataclass(frozen=True, slots=True)
class BindingObs:
    logical_port: str
    chassis: str | None
    up: bool


@dataclass(frozen=True, slots=True)
class SbSnapshot:
    nb_cfg: int = 0  # SB_Global's
    chassis: Mapping[str, ChassisObs] = field(default_factory=dict)
    private_nb_cfg: Mapping[str, int] = field(default_factory=dict)  # Chassis_Private name -> nb_cfg
    bindings: Mapping[str, BindingObs] = field(default_factory=dict)


def lag_since(previous: float | None, snap: SbSnapshot, system_id: str, now: float) -> float | None:
    """When this chassis began lagging behind SB_Global.nb_cfg (None: it is not lagging)."""
    have = snap.private_nb_cfg.get(system_id)
    if have is None or have >= snap.nb_cfg:
        return None
    return now if previous is None else previous


def health(
    snap: SbSnapshot,
    system_id: str,
    encap_ip: str | None = None,
    lagging_since: float | None = None,
    now: float = 0.0,
    grace: float = DEFAULT_GRACE,
) -> str:
    """ "Ready", or a short reason the chassis is not."""
    chassis = snap.chassis.get(system_id)
    if chassis is None:
        return "NoChassis: ovn-controller has not registered"
    ips = [ip for kind, ip in chassis.encaps if kind == ENCAP_TYPE]
    if not ips:
        return "NoEncap: the chassis has no geneve encap"
    if encap_ip is not None and encap_ip not in ips:
        return f"EncapMismatch: geneve {','.join(sorted(ips))}, want {encap_ip}"
    have = snap.private_nb_cfg.get(system_id)
    if have is None:
        return "NoChassisPrivate: ovn-controller has not reported"
    if have < snap.nb_cfg and lagging_since is not None and now - lagging_since >= grace:
        return f"Stale: ovn-controller at nb_cfg {have} < {snap.nb_cfg} for {now - lagging_since:.0f}s"
    return READY


def bound_ports(snap: SbSnapshot, chassis: str) -> set[str]:
    """Logical ports bound to `chassis` with up = true."""
    return {b.logical_port for b in snap.bindings.values() if b.chassis == chassis and b.up}


def _snapshot(tables: Any) -> SbSnapshot:
    globals_ = list(tables["SB_Global"].rows.values())
    chassis = {
        ch.name: ChassisObs(ch.name, tuple(sorted((e.type, e.ip) for e in ch.encaps)))
        for ch in tables["Chassis"].rows.values()
    }
    private = {p.name: int(p.nb_cfg) for p in tables["Chassis_Private"].rows.values()}
    bindings = {}
    for pb in tables["Port_Binding"].rows.values():
        bound = pb.chassis[0].name if pb.chassis else None
        bindings[pb.logical_port] = BindingObs(pb.logical_port, bound, bool(pb.up and pb.up[0]))
    return SbSnapshot(int(globals_[0].nb_cfg) if globals_ else 0, chassis, private, bindings)


class _Snapshot(command.BaseCommand):  # type: ignore[misc]
    READ_ONLY = True

    def run_idl(self, txn: Any) -> None:
        self.result = _snapshot(self.api.tables)


class SouthboundDB:
    """A read-only view of the Southbound tables a chassis' health and bindings come from."""

    def __init__(self, remote: str, timeout: float = 10.0) -> None:
        helper = idlutils.get_schema_helper(remote, "OVN_Southbound")
        for table, columns in COLUMNS.items():
            helper.register_columns(table, columns)
        idl = connection.OvsdbIdl(remote, helper)
        # One connection per API class in ovsdbapp: a class per instance (see operators/ovn/nb.py).
        api_class = type("KumulusSbApi", (impl_idl.OvnSbApiIdlImpl,), {"_ovsdb_connection": None})
        self._connection = connection.Connection(idl=idl, timeout=timeout)
        self.api = api_class(self._connection)

    def snapshot(self) -> SbSnapshot:
        snap: SbSnapshot = _Snapshot(self.api).execute(check_error=True)
        return snap

    def bound_ports(self, chassis: str) -> set[str]:
        return bound_ports(self.snapshot(), chassis)

    def close(self) -> None:
        self._connection.stop()


class ChassisMonitor:
    """health() for status.dataPlane["ovn"], remembering across calls since when ovn-controller lags."""

    def __init__(
        self, sb: SouthboundDB, system_id: str, encap_ip: str | None = None, grace: float = DEFAULT_GRACE
    ) -> None:
        self.sb = sb
        self.system_id = system_id
        self.encap_ip = encap_ip
        self.grace = grace
        self.lagging_since: float | None = None

    def health(self, now: float) -> str:
        """`now` is a monotonic clock reading (time.monotonic())."""
        snap = self.sb.snapshot()
        self.lagging_since = lag_since(self.lagging_since, snap, self.system_id, now)
        return health(snap, self.system_id, self.encap_ip, self.lagging_since, now, self.grace)

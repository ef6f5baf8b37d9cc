"""This host's data plane for OVN, from hostd's network settings: OVS/ovn-controller settings applied
(hostd/network/ovs.py `ensure`) and the chassis' health read from the Southbound database
(hostd/network/chassis.py `ChassisMonitor`), for the Host's status.dataPlane["ovn"].

Both calls block (ovsdbapp) and run in a thread (`asyncio.to_thread`). Connections are made on first use and
made again after a failure, so a database that is down at start or restarts later is picked up; a failure is
reported (health "Unreachable: ..."; ensure raises for the caller to log) and never stops hostd.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any, Protocol

from .config import HostConfig, NetworkConfig
from .network import settings as ovs_settings

log = logging.getLogger("hostd.network")


class NetworkRole(Protocol):
    def ensure(self) -> list[Any]: ...

    def health(self, now: float) -> str: ...

    def close(self) -> None: ...


class OvnDataPlane:
    def __init__(self, host: HostConfig, cfg: NetworkConfig) -> None:
        self.cfg = cfg
        self.settings = ovs_settings.for_host(
            host.name,
            host.roles,
            cfg.ovn_sb_remote,
            cfg.encap_ip,
            datapath_type=cfg.datapath_type,
            external_bridge=cfg.external_bridge,
            uplink=cfg.uplink,
            physical_network=cfg.physical_network,
        )
        self._lock = threading.Lock()
        self._ovs: Any = None
        self._monitor: Any = None

    def ensure(self) -> list[Any]:
        """Apply the OVS settings; the commands executed (none when already as wanted)."""
        from .network.ovs import OvsDB

        with self._lock:
            try:
                if self._ovs is None:
                    self._ovs = OvsDB(self.cfg.ovs_db)
                commands: list[Any] = self._ovs.ensure(self.settings)
            except Exception:
                self._drop_ovs()
                raise
        if commands:
            log.info("%s: OVS settings applied: %d change(s)", self.settings.system_id, len(commands))
        return commands

    def health(self, now: float) -> str:
        """ "Ready", or why not (the chassis monitor's reasons, or the Southbound DB being unreachable)."""
        from .network.chassis import ChassisMonitor, SouthboundDB

        with self._lock:
            try:
                if self._monitor is None:
                    sb = SouthboundDB(self.cfg.ovn_sb_remote)
                    self._monitor = ChassisMonitor(sb, self.settings.system_id, self.cfg.encap_ip)
                result: str = self._monitor.health(now)
                return result
            except Exception as exc:
                self._drop_monitor()
                return f"Unreachable: {str(exc)[:200] or type(exc).__name__}"

    def _drop_ovs(self) -> None:
        if self._ovs is not None:
            with contextlib.suppress(Exception):
                self._ovs.close()
            self._ovs = None

    def _drop_monitor(self) -> None:
        if self._monitor is not None:
            with contextlib.suppress(Exception):
                self._monitor.sb.close()
            self._monitor = None

    def close(self) -> None:
        with self._lock:
            self._drop_ovs()
            self._drop_monitor()


def network_role(cfg: HostConfig) -> NetworkRole | None:
    """The host's OVN data plane, or None when no OVN SB is configured (hostd leaves OVS alone)."""
    return OvnDataPlane(cfg, cfg.network) if cfg.network is not None else None

"""Read the OVN Southbound database ($KUMULUS_OVN_SB) for the network operator: load balancer members'
health (Service_Monitor), Port bindings (Port_Binding) and how far each ovn-controller lags (Chassis_Private).

Unset: nothing is known (members of monitored pools stay NoMonitor, Ports keep their phase). ovsdbapp
blocks, so reads run in a thread. A failed read drops the connection, which the next read opens again, and
reports nothing known (None) meanwhile; the failure is logged once until a read succeeds.
"""

from __future__ import annotations

import asyncio
import logging
import os

from operators.ovn.sb import SbState, SouthboundDB

log = logging.getLogger("kumulus.network")
SB_ENV = "KUMULUS_OVN_SB"


class OvnSouthbound:
    def __init__(self, remote: str | None = None) -> None:
        self.remote = remote if remote is not None else os.environ.get(SB_ENV) or None
        self._sb: SouthboundDB | None = None
        self._failed = False

    async def read(self) -> SbState | None:
        if self.remote is None:
            return None
        try:
            if self._sb is None:
                self._sb = await asyncio.to_thread(SouthboundDB, self.remote)
            state = await asyncio.to_thread(self._sb.read)
        except Exception as exc:
            if not self._failed:
                log.warning("OVN Southbound read from %s failed (retried): %s", self.remote, exc)
            self._failed = True
            await self.close()
            return None
        self._failed = False
        return state

    async def close(self) -> None:
        sb, self._sb = self._sb, None
        if sb is not None:
            await asyncio.to_thread(sb.close)

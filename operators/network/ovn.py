"""Keep the OVN Northbound database equal to the desired rows of the network objects (one transaction).

The remote comes from $KUMULUS_OVN_NB (e.g. unix:/run/ovn/ovnnb_db.sock). Unset, OVN is not programmed
(logged once) and the operator still does IPAM and statuses. ovsdbapp blocks, so it runs in a thread; a
failed sync drops the connection, which the next pass opens again. The members' health is read from the
Southbound database ($KUMULUS_OVN_SB) by `OvnHealth`.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable, Mapping
from typing import Any

from controllers.ovn import desired_rows
from operators.ovn.nb import NorthboundDB
from operators.ovn.sb import SouthboundDB

log = logging.getLogger("kumulus.network")
ENV = "KUMULUS_OVN_NB"


class OvnSync:
    def __init__(self, remote: str | None = None) -> None:
        self.remote = remote if remote is not None else os.environ.get(ENV) or None
        self._nb: NorthboundDB | None = None
        self._told = False

    async def sync(self, objects: Iterable[Mapping[str, Any]]) -> bool:
        """True once the database holds exactly the desired rows (or when OVN is not configured)."""
        if self.remote is None:
            if not self._told:
                log.info("$%s is unset: OVN is not programmed (IPAM and statuses only)", ENV)
                self._told = True
            return True
        try:
            rows = desired_rows(objects)
            if self._nb is None:
                self._nb = await asyncio.to_thread(NorthboundDB, self.remote)
            commands = await asyncio.to_thread(self._nb.sync, rows)
        except Exception as exc:
            log.warning("OVN Northbound sync with %s failed (retried): %s", self.remote, exc)
            await self.close()
            return False
        if commands:
            log.info("OVN Northbound: %d row changes applied", len(commands))
        return True

    async def close(self) -> None:
        nb, self._nb = self._nb, None
        if nb is not None:
            await asyncio.to_thread(nb.close)


SB_ENV = "KUMULUS_OVN_SB"


class OvnHealth:
    """Read the load balancer members' health from the OVN Southbound database ($KUMULUS_OVN_SB).

    Unset: no health is known (members of monitored pools stay NoMonitor). A failed read drops the
    connection, which the next read opens again, and reports no health (None) meanwhile."""

    def __init__(self, remote: str | None = None) -> None:
        self.remote = remote if remote is not None else os.environ.get(SB_ENV) or None
        self._sb: SouthboundDB | None = None
        self._failed = False

    async def read(self) -> dict[tuple[str, int, str, str], str] | None:
        if self.remote is None:
            return None
        try:
            if self._sb is None:
                self._sb = await asyncio.to_thread(SouthboundDB, self.remote)
            monitors = await asyncio.to_thread(self._sb.service_monitors)
        except Exception as exc:
            if not self._failed:
                log.warning("OVN Southbound read from %s failed (retried): %s", self.remote, exc)
            self._failed = True
            await self.close()
            return None
        self._failed = False
        return monitors

    async def close(self) -> None:
        sb, self._sb = self._sb, None
        if sb is not None:
            await asyncio.to_thread(sb.close)

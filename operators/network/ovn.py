"""Keep the OVN Northbound database equal to the desired rows of the network objects (one transaction).

The remote comes from $KUMULUS_OVN_NB (e.g. unix:/run/ovn/ovnnb_db.sock). Unset, OVN is not programmed
(logged once) and the operator still does IPAM and statuses. ovsdbapp blocks, so it runs in a thread; a
failed sync drops the connection, which the next pass opens again. Every transaction that changes rows
also bumps NB_Global.nb_cfg (`nb_cfg` is the value after the last one), so the Southbound reader
(operators.network.southbound) can tell how far each ovn-controller lags behind.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable, Mapping
from typing import Any

from controllers.ovn import desired_rows
from operators.ovn.nb import NorthboundDB

log = logging.getLogger("kumulus.network")
ENV = "KUMULUS_OVN_NB"


class OvnSync:
    def __init__(self, remote: str | None = None) -> None:
        self.remote = remote if remote is not None else os.environ.get(ENV) or None
        self._nb: NorthboundDB | None = None
        self._last_nb_cfg: int | None = None
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

    @property
    def nb_cfg(self) -> int | None:
        """NB_Global.nb_cfg after our last transaction (as last observed); None before the first sync."""
        return self._nb.nb_cfg if self._nb is not None else self._last_nb_cfg

    async def close(self) -> None:
        nb, self._nb = self._nb, None
        if nb is not None:
            self._last_nb_cfg = nb.nb_cfg
            await asyncio.to_thread(nb.close)

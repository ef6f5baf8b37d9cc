"""The hand-off between the storage operator, which decides, and a storage backend, which does the work.

The operator submits `BackendOp`s (controllers.storage_plan): idempotent requests, submitted again on every
pass until done. The backend reports what it holds (`state`: backend id -> size in GiB, finished work
only) and calls `on_change` with the backend id of each piece of work finished, which reconciles the
object that asked for it; `failures` reports the work refused or failing (a rejected image, a checksum
mismatch), which the operator shows on the object; `wait` lets the operator hold a status back while quick
work finishes. Two implementations: the simulation (sim_backend, the default) and the storage-role hostds
driving RBD (reported_backend, KUMULUS_STORAGE_BACKEND=hostd).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from controllers.storage_plan import BackendFailure, BackendOp


class StorageBackend(Protocol):
    on_change: Callable[[str], None] | None
    """Called with the backend id of the work that finished."""

    async def start(self) -> None:
        """Ready to answer `state` (called before the operator's first pass)."""

    def submit(self, op: BackendOp) -> None:
        """Start the work of op unless it is done or under way."""

    def state(self) -> Mapping[str, int]:
        """What the backend holds: backend id -> size in GiB."""

    def failures(self) -> Mapping[str, BackendFailure]:
        """Work refused or failing now: backend id -> reason and message."""

    async def wait(self, backend_ids: Iterable[str], timeout: float) -> None:
        """Return once none of backend_ids is under way, or after timeout seconds."""

    async def close(self) -> None: ...

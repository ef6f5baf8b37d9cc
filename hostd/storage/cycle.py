"""One pass of the storage role over the zones it serves: observe the pools, build what is desired, plan,
apply, and say what each zone holds and what fails. Blocking (librados/librbd, qemu-img): the worker runs
it in its one storage thread.

    outcome = Cycle(store).run(world, ["az1"])
    outcome.reports["az1"]      # controllers.storage_report.Report: held, failures

Level-based: every pass starts from what the pools hold, so a pass interrupted anywhere is finished by the
next one. Owners of another zone's objects are hidden from the plan (desired.foreign_uids): never changed
or purged here, even in a shared pool. A command that failed is not run again before its backoff
(RETRY_FIRST seconds, doubling up to RETRY_CAP): a refused image is not downloaded again every pass.
Its failure stays reported meanwhile, and is dropped once the command succeeds or is no longer planned.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from controllers.storage_plan import BackendFailure, World
from controllers.storage_report import Report

from . import desired as d
from . import plan as p
from .rbd_store import Failure, StoreError

log = logging.getLogger("hostd.storage")
RETRY_FIRST = 5.0
RETRY_CAP = 300.0
CommandKey = tuple[str, str]
"""(command type, backend id): what a failure and its backoff are kept by."""


def command_id(cmd: p.Command) -> str:
    """The backend id a command works on, as the operator names it."""
    snap = getattr(cmd, "snap", None)
    return p.backend_id(cmd.pool, cmd.name, snap if snap != p.BASE_SNAP else None)


def _key(cmd: p.Command) -> CommandKey:
    return type(cmd).__name__, command_id(cmd)


class Store(Protocol):
    """What a pass needs of the store (rbd_store.RbdStore)."""

    def observe(self, pools: Iterable[str]) -> p.Observed: ...

    def state(self, pools: Iterable[str]) -> dict[str, int]: ...

    def apply(self, plan: p.Plan) -> list[Failure]: ...

    def close(self) -> None: ...


@dataclass
class Outcome:
    reports: dict[str, Report] = field(default_factory=dict)
    applied: int = 0
    """Commands that ran and succeeded."""


@dataclass
class Retry:
    not_before: float
    delay: float
    failure: BackendFailure


class Cycle:
    def __init__(self, store: Store, clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.clock = clock
        self.retry: dict[CommandKey, Retry] = {}

    def run(self, world: World, zones: Iterable[str], leading: Callable[[], bool] = lambda: True) -> Outcome:
        """One pass; `leading` is asked before each command (a hostd that lost a zone's Lease stops)."""
        zones = sorted(set(zones))
        first = [d.for_zone(world, z) for z in zones]
        pools = sorted(set().union(*(zd.pools for zd in first)))
        observed, missing = self.observe(pools)
        existing = set(observed.images)
        zds = [d.for_zone(world, z, existing) for z in zones]
        foreign = d.foreign_uids(world, zds)
        desired = d.merge(zds)
        plan = p.plan(desired, d.visible(observed, foreign))
        now = self.clock()
        failing: dict[CommandKey, BackendFailure] = {}
        run: list[p.Command] = []
        for cmd in plan.commands:
            key = _key(cmd)
            retry = self.retry.get(key)
            if cmd.pool in missing:
                failing[key] = BackendFailure("PoolNotFound", f"Ceph pool {cmd.pool} does not exist")
            elif retry is not None and retry.not_before > now:
                failing[key] = retry.failure  # still waiting for its backoff
            else:
                run.append(cmd)
        failed: dict[CommandKey, Failure] = {}
        done = 0
        for cmd in run:
            if not leading():
                log.warning("storage: no longer holding the zones' Leases: pass stopped")
                break
            why = f" ({cmd.why})" if isinstance(cmd, p.Purge) else ""
            log.info("storage: %s %s%s", type(cmd).__name__, command_id(cmd), why)
            failed.update((_key(f.command), f) for f in self.store.apply(p.Plan((cmd,))))
            done += 1
        for key, f in failed.items():
            log.warning("storage: %s %s failed: %s: %s", key[0], key[1], f.reason, f.message)
            failing[key] = BackendFailure(f.reason, f.message)
        self._reschedule(failing, failed, now)
        for uid, message in plan.errors.items():
            for vol in desired.volumes:
                if vol.owner.uid == uid:
                    failing[("Plan", p.backend_id(*vol.key))] = BackendFailure("InvalidSpec", message)
        held = self.store.state(pool for pool in pools if pool not in missing)
        outcome = Outcome(applied=done - len(failed))
        for zd in zds:
            outcome.reports[zd.zone] = _report(zd, held, failing, foreign)
        return outcome

    def observe(self, pools: Iterable[str]) -> tuple[p.Observed, set[str]]:
        """What the pools that exist hold, and the pools that do not exist."""
        images: dict[p.Key, p.RbdImage] = {}
        intents: dict[p.Key, str] = {}
        missing: set[str] = set()
        for pool in pools:
            try:
                seen = self.store.observe([pool])
            except StoreError as e:
                if e.reason != "PoolNotFound":
                    raise
                missing.add(pool)
                continue
            images.update(seen.images)
            intents.update(seen.intents)
        return p.Observed(images, intents), missing

    def _reschedule(
        self, failing: Mapping[CommandKey, BackendFailure], failed: Mapping[CommandKey, object], now: float
    ) -> None:
        """Back off what failed now; forget what succeeded or is no longer planned."""
        for key in failed:
            last = self.retry.get(key)
            delay = min(RETRY_CAP, last.delay * 2) if last is not None else RETRY_FIRST
            self.retry[key] = Retry(now + delay, delay, failing[key])
        for key in [k for k in self.retry if k not in failing]:
            del self.retry[key]


def _report(
    zd: d.ZoneDesired,
    held: Mapping[str, int],
    failing: Mapping[CommandKey, BackendFailure],
    foreign: frozenset[str],
) -> Report:
    mine: dict[str, int] = {}
    for backend_id, size in held.items():
        parsed = d.parse_id(backend_id)
        if parsed is not None and parsed.pool in zd.pools and p.uid_of(parsed.name) not in foreign:
            mine[backend_id] = size
    failures: dict[str, BackendFailure] = {}
    for (_, backend_id), failure in sorted(failing.items(), key=lambda kv: kv[0]):
        if backend_id in zd.ids:
            failures.setdefault(backend_id, failure)
    return Report(zd.zone, mine, failures)

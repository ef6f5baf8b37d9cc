"""Start, adopt and stop the data plane's daemons; daemons.json says which process is which.

Start: for each service in order, adopt the recorded process if it is still that very process (boot id,
/proc start time and command line), else clean its stale pid and socket files and start it detached, then
wait until it answers. Records are saved after every change, so a crash of `kumulus up` at any point leaves
the next start a true picture. A record whose PID now names another process is dropped, never signalled.
Stop: in reverse order, by recorded PID only (SIGTERM, SIGKILL after a grace period).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from . import ceph, libvirt, ovn, ovs, proc, records
from .plan import plan
from .records import DaemonRecord
from .service import Service, missing_binaries

Say = Callable[[str], None]


class DataPlane:
    def __init__(self, state_dir: Path, host: str) -> None:
        self.root = state_dir / "dataplane"
        self.host = host
        self.libvirt_dir = self.root / "lv"  # short: Unix socket paths are at most 107 bytes
        self.ovs_dir = self.root / "ovs"
        self.ovn_dir = self.root / "ovn"
        self.ceph_dir = self.root / "ceph"
        self.services: list[Service] = [
            *libvirt.services(self.libvirt_dir, self.ovs_dir),
            *ovs.services(self.ovs_dir),
            *ovn.services(self.ovn_dir, self.ovs_dir, host),
            *ceph.services(self.ceph_dir),
        ]
        self.records_path = self.root / "daemons.json"
        self.children: dict[str, subprocess.Popen[bytes]] = {}  # started by this process: reaped on stop

    # -- what clients need ------------------------------------------------------------------------------

    @property
    def libvirt_uri(self) -> str:
        return libvirt.uri(self.libvirt_dir)

    @property
    def ovs_remote(self) -> str:
        return ovs.remote(self.ovs_dir)

    @property
    def ovn_nb(self) -> str:
        return ovn.nb_remote(self.ovn_dir)

    @property
    def ovn_sb(self) -> str:
        return ovn.sb_remote(self.ovn_dir)

    @property
    def ceph_conf(self) -> Path:
        return ceph.conf_path(self.ceph_dir)

    def missing(self) -> list[str]:
        return missing_binaries(self.services)

    # -- lifecycle --------------------------------------------------------------------------------------

    def start(self, say: Say) -> None:
        longest = libvirt.longest_socket(self.libvirt_dir)
        if len(str(longest).encode()) > 107:
            raise RuntimeError(f"--state-dir: too long a path for Unix sockets ({longest})")
        self.root.mkdir(parents=True, exist_ok=True)
        recs = records.load(self.records_path)
        adoptable = {s.name for s in self.services if s.name in recs and recs[s.name].matches()}
        for name in set(recs) - adoptable:
            say(f"{name}: recorded pid {recs[name].pid} is gone or another process now: starting afresh")
            del recs[name]
        records.save(self.records_path, recs)
        by_name = {s.name: s for s in self.services}
        for step in plan([(s.name, s.group) for s in self.services], adoptable):
            service = by_name[step.name]
            if step.action == "retire":
                say(
                    f"{service.name}: stopping pid {recs[service.name].pid} (its group {service.group} restarts)"
                )
                self._stop_one(service, recs, tidy=False)
            elif step.action == "adopt":
                service.pid = recs[service.name].pid
                self._wait_ready(service, None)
                service.configure()
                say(f"{service.name}: adopted pid {service.pid}")
            else:
                self._start_one(service, recs)
                say(f"{service.name}: started pid {service.pid}")

    def _start_one(self, service: Service, recs: dict[str, DaemonRecord]) -> None:
        service.prepare()
        child = self._spawn(service, recs)
        for _ in range(service.start_attempts - 1):
            if child.poll() is None:
                break
            time.sleep(1.0)
            child = self._spawn(service, recs)
        if child.poll() is not None:
            raise RuntimeError(f"{service.name} exited with {child.returncode}: {service.log_tail()}")
        self._wait_ready(service, child)
        # The command line as the kernel shows it now: unshare and nsenter have exec'd the daemon.
        rec = recs[service.name]
        recs[service.name] = DaemonRecord(rec.pid, rec.start_time, rec.boot_id, proc.cmdline(child.pid))
        records.save(self.records_path, recs)
        service.configure()

    def _spawn(self, service: Service, recs: dict[str, DaemonRecord]) -> subprocess.Popen[bytes]:
        child = proc.spawn_detached(service.argv(), service.env(), service.log_path)
        rec = DaemonRecord.of(child.pid) or DaemonRecord(child.pid, -1, proc.boot_id(), [])
        recs[service.name] = rec
        records.save(self.records_path, recs)  # before waiting: a crash now still leaves it known
        self.children[service.name] = child
        service.pid = child.pid
        time.sleep(service.settle)
        return child

    def _wait_ready(self, service: Service, child: subprocess.Popen[bytes] | None) -> None:
        deadline = time.monotonic() + service.ready_timeout
        while not service.ready(service.pid):
            dead = child.poll() is not None if child is not None else not proc.alive(service.pid)
            if dead:
                raise RuntimeError(f"{service.name} (pid {service.pid}) exited: {service.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{service.name} (pid {service.pid}) did not answer in {service.ready_timeout:.0f} s"
                )
            time.sleep(0.1)

    def stop(self, say: Say) -> None:
        """Stop every recorded daemon that is still the process recorded, in reverse start order."""
        recs = records.load(self.records_path)
        for service in reversed(self.services):
            if service.name in recs:
                pid = recs[service.name].pid
                if self._stop_one(service, recs, tidy=True):
                    say(f"{service.name}: stopped pid {pid}")

    def _stop_one(self, service: Service, recs: dict[str, DaemonRecord], tidy: bool) -> bool:
        rec = recs[service.name]
        stopped = False
        if rec.matches():
            if tidy:
                service.before_stop(rec.pid)
            if not proc.stop_pid(rec.pid, rec.start_time):
                raise RuntimeError(f"{service.name} (pid {rec.pid}) survived SIGKILL")
            stopped = True
        child = self.children.pop(service.name, None)
        if child is not None:
            child.wait(5)  # ours: collect it, no zombie
        del recs[service.name]
        records.save(self.records_path, recs)
        return stopped

"""Benchmark of port binding on the real OVN data plane (issue 5): how many ports per second one host's
ovn-controller binds up, and how many it releases, with the per-port latency of each.

It starts its own OVN (ovn-northd + NB/SB ovsdb-servers, tests/integration/ovn_daemons.py) and one host's
ovsdb-server, ovs-vswitchd (userspace datapath) and ovn-controller in a network namespace of its own
(tests/integration/ovs_daemons.py), configured as hostd does it (OvsDB.ensure with OvsSettings), all under
a temporary directory and stopped by PID. Then:

1. one Northbound transaction (ovn-nbctl): a logical switch and N logical switch ports with
   options:requested-chassis=<the host's chassis>; waits for ovn-northd's N Southbound Port_Binding rows;
2. plug: N OVS interfaces (type internal, external_ids:iface-id=<port name>) on br-int, one ovs-vsctl
   transaction per batch, batches back to back, until every Port_Binding is bound to the chassis with
   up=true (what makes a Kumulus Port Active);
3. unplug: the same interfaces deleted in batches, until every Port_Binding is released (no chassis).

A thread reads the Southbound replica (operators.ovn.sb.SouthboundDB, the operator's own reader) every
--poll seconds and stamps each port the first time it is seen in each awaited state, so latencies are
accurate to about one poll. A port's plug (or unplug) time is the start of its batch's ovs-vsctl call.
It is a benchmark, not a test: it prints figures, and exits non-zero only when ports never get there.

    .venv/bin/python bench/port_bind_bench.py            # 200 ports in batches of 50
    .venv/bin/python bench/port_bind_bench.py -n 50
    .venv/bin/python bench/port_bind_bench.py --help     # -n --batch --poll --timeout
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchlib import cpu_seconds, percentile  # noqa: E402

from controllers.ovn.bindings import Binding  # noqa: E402
from hostd.network.ovs import OvsDB  # noqa: E402
from hostd.network.settings import OvsSettings  # noqa: E402
from operators.ovn.sb import SouthboundDB  # noqa: E402
from tests.integration.ovn_daemons import OvnDaemons, wait_for  # noqa: E402
from tests.integration.ovs_daemons import OvsHost  # noqa: E402

CHASSIS = "bench-host1"
BRIDGE = "br-int"

Predicate = Callable[[Binding | None], bool]
Ports = list[tuple[str, str]]  # (OVS interface, logical switch port)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def claimed(b: Binding | None) -> bool:
    return b is not None and b.chassis == CHASSIS


def bound(b: Binding | None) -> bool:
    return b is not None and b.chassis == CHASSIS and b.up


def released(b: Binding | None) -> bool:
    return b is not None and b.chassis is None and not b.up


class Watcher(threading.Thread):
    """Polls the Southbound replica and stamps (perf_counter) each port the first time each stage's
    predicate holds for it; stops when every port passed the last stage, or at the timeout."""

    def __init__(
        self, sb: SouthboundDB, names: list[str], stages: dict[str, Predicate], poll: float, timeout: float
    ) -> None:
        super().__init__(daemon=True)
        self.sb, self.names, self.stages = sb, names, stages
        self.poll, self.timeout = poll, timeout
        self.seen: dict[str, dict[str, float]] = {stage: {} for stage in stages}
        self.polls = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        last = self.seen[list(self.stages)[-1]]
        deadline = time.perf_counter() + self.timeout
        try:
            while len(last) < len(self.names) and time.perf_counter() < deadline:
                bindings = self.sb.read().bindings
                now = time.perf_counter()
                self.polls += 1
                for stage, done in self.stages.items():
                    seen = self.seen[stage]
                    for name in self.names:
                        if name not in seen and done(bindings.get(name)):
                            seen[name] = now
                time.sleep(self.poll)
        except BaseException as e:  # re-raised by the main thread
            self.error = e


class Cpu:
    """CPU seconds each daemon used since the last call (the Popen children's PIDs are the daemons')."""

    def __init__(self, ovn: OvnDaemons, host: OvsHost) -> None:
        self.pids = {name: p.pid for name, p in (*ovn.procs.items(), *host.procs.items())}
        self.last = self.now()

    def now(self) -> dict[str, float]:
        return {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    def used(self) -> str:
        now = self.now()
        used = {name: now[name] - self.last[name] for name in self.pids}
        self.last = now
        return ", ".join(f"{name} {used[name]:.2f}" for name in sorted(used, key=lambda k: -used[k]))


def vsctl(host: OvsHost, args: list[str]) -> None:
    # ovs-vsctl waits for ovs-vswitchd to apply the transaction (next_cfg), so when it returns the
    # interfaces exist in the datapath; a longer timeout than OvsHost.vsctl's, for big batches.
    result = subprocess.run(
        ["ovs-vsctl", f"--db={host.remote}", "--timeout=120", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=150,
    )
    if result.returncode != 0:
        raise RuntimeError(f"ovs-vsctl {' '.join(args[:8])} ...: {result.stderr.strip()}")


def plug_args(batch: Ports) -> list[str]:
    args: list[str] = []
    for iface, lsp in batch:
        args += ["--", "add-port", BRIDGE, iface, "--", "set", "Interface", iface, "type=internal"]
        args += [f"external_ids:iface-id={lsp}"]
    return args[1:]


def unplug_args(batch: Ports) -> list[str]:
    args: list[str] = []
    for iface, _ in batch:
        args += ["--", "del-port", BRIDGE, iface]
    return args[1:]


def phase(
    what: str,
    host: OvsHost,
    sb: SouthboundDB,
    ports: Ports,
    args: Callable[[Ports], list[str]],
    stages: dict[str, Predicate],
    opts: argparse.Namespace,
    cpu: Cpu,
) -> None:
    """ovs-vsctl over `ports` in batches, back to back, while a Watcher stamps each port's stages."""
    names = [lsp for _, lsp in ports]
    watcher = Watcher(sb, names, stages, opts.poll, opts.timeout)
    started: dict[str, float] = {}
    calls: list[float] = []
    watcher.start()
    t0 = time.perf_counter()
    for i in range(0, len(ports), opts.batch):
        batch = ports[i : i + opts.batch]
        t = time.perf_counter()
        started.update((lsp, t) for _, lsp in batch)
        vsctl(host, args(batch))
        calls.append(time.perf_counter() - t)
    issued = time.perf_counter() - t0
    watcher.join()
    if watcher.error is not None:
        raise watcher.error
    n = len(ports)
    print(f"\n{what}: {n} ports, {len(calls)} ovs-vsctl transactions of up to {opts.batch}")
    print(
        f"  ovs-vsctl per batch: p50 {ms(percentile(calls, 50))}, max {ms(max(calls))}; "
        f"all issued in {ms(issued)}"
    )
    for stage, seen in watcher.seen.items():
        if len(seen) < n:
            missing = sorted(set(names) - seen.keys())
            raise SystemExit(
                f"{what}: only {len(seen)}/{n} {stage} within {opts.timeout:.0f} s, e.g. not {missing[:3]}"
            )
        latencies = [seen[name] - started[name] for name in names]
        total = max(seen.values()) - t0
        print(
            f"  {stage}: all {n} {total:.2f} s after the first ovs-vsctl call = {n / total:.1f} ports/s; "
            f"per port p50 {ms(percentile(latencies, 50))}, p95 {ms(percentile(latencies, 95))}, "
            f"max {ms(max(latencies))}"
        )
    print(f"  Southbound polls: {watcher.polls} (every {ms(opts.poll)}); CPU seconds: {cpu.used()}")


def run(ovn: OvnDaemons, host: OvsHost, opts: argparse.Namespace) -> None:
    switch = f"bench-{uuid.uuid4().hex[:6]}"
    # interface names stay within 15 bytes: ovs-vswitchd makes a tap device of each internal interface
    ports = [(f"bp{i}", f"{switch}-p{i}") for i in range(opts.n)]
    nb: list[str] = ["ls-add", switch]
    for _, lsp in ports:
        nb += ["--", "lsp-add", switch, lsp, "--", "lsp-set-options", lsp, f"requested-chassis={CHASSIS}"]
    sb = SouthboundDB(ovn.sb_remote)
    cpu = Cpu(ovn, host)
    try:
        t = time.perf_counter()
        ovn.nbctl(*nb)
        nb_time = time.perf_counter() - t
        names = {lsp for _, lsp in ports}
        wait_for("ovn-northd's Port_Binding rows", lambda: names <= sb.read().bindings.keys(), opts.timeout)
        print(
            f"\nNorthbound: 1 switch + {opts.n} ports in one ovn-nbctl transaction {ms(nb_time)}; "
            f"their Port_Binding rows in the Southbound {ms(time.perf_counter() - t)} after it began"
        )
        print(f"  CPU seconds: {cpu.used()}")
        plugged: dict[str, Predicate] = {
            "claimed (chassis set)": claimed,
            "bound (chassis set, up=true)": bound,
        }
        phase("plug", host, sb, ports, plug_args, plugged, opts, cpu)
        phase(
            "unplug", host, sb, ports, unplug_args, {"released (no chassis, up=false)": released}, opts, cpu
        )
        ovn.check_alive()
        host.check_alive()
    finally:
        sb.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=200, help="logical switch ports to bind (default 200)")
    ap.add_argument("--batch", type=int, default=50, help="interfaces per ovs-vsctl transaction (default 50)")
    ap.add_argument("--poll", type=float, default=0.05, help="Southbound poll interval, s (default 0.05)")
    ap.add_argument("--timeout", type=float, default=300, help="time limit per phase, s (default 300)")
    opts = ap.parse_args()
    if opts.n < 1:
        ap.error("-n: must be at least 1")
    if opts.batch < 1:
        ap.error("--batch: must be at least 1")
    if opts.poll <= 0:
        ap.error("--poll: must be above 0")
    with tempfile.TemporaryDirectory(prefix="port-bind-bench-") as tmp:
        work = Path(tmp)
        (work / "ovn").mkdir()
        (work / "host").mkdir()
        t0 = time.perf_counter()
        ovn = OvnDaemons(work / "ovn")
        host = OvsHost(work / "host", CHASSIS)
        try:
            ovn.start()
            host.start()
            ovs = OvsDB(host.remote)
            try:
                ovs.ensure(OvsSettings(CHASSIS, ovn.sb_remote, "127.0.0.1", datapath_type="netdev"))
            finally:
                ovs.close()
            host.start_controller()
            wait_for("the chassis", lambda: [c for c in ovn.sb_rows("Chassis") if c["name"] == CHASSIS], 30)
            # Settle before timing: ovn-controller reports an nb_cfg only once its OpenFlow connection to
            # br-int is up and its flows are in (its first try comes before ovs-vswitchd listens, and it
            # retries after 1 s, which the first batch would otherwise pay).
            ovn.nbctl("--wait=hv", "sync")
            print(f"OVN + one host (OVS netdev, ovn-controller) up in {time.perf_counter() - t0:.1f} s")
            run(ovn, host, opts)
        finally:
            host.stop()
            ovn.stop()


if __name__ == "__main__":
    main()

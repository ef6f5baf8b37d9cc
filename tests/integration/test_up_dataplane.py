"""`kumulus up --data-plane real`: libvirtd, OVS, OVN and Ceph started detached under the state directory,
answering; adopted (same PIDs) after a kill -9 of `kumulus up`, with a guest still running; a recorded PID now
naming another process is neither adopted nor signalled; stop leaves no recorded process and no bridge device.

OVS runs in the machine's own network namespace here (it is the real data plane), so these tests create the
kernel devices br-int and ovs-netdev; they must not run in parallel with another real `kumulus up`.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kumulus.dataplane import proc

from .cluster import Cluster, wait_for
from .real_cloud import exclusive_data_plane

pytestmark = pytest.mark.integration

GUEST = """<domain type='qemu'><name>kt-dp-guest</name><memory unit='MiB'>32</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type></os>
<devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices></domain>"""
DAEMONS = {
    "virtlogd",
    "libvirtd",
    "ovsdb-server",
    "ovs-vswitchd",
    "ovn-nb",
    "ovn-sb",
    "ovn-northd",
    "ovn-controller",
    "ceph-mon",
    "ceph-mgr",
    "ceph-osd",
}


def sh(*argv: str) -> str:
    res = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert res.returncode == 0, f"{' '.join(argv)}: {res.stdout}{res.stderr}"
    return res.stdout


def recorded(state: Path) -> dict[str, int]:
    data = json.loads((state / "dataplane" / "daemons.json").read_text())
    return {name: int(rec["pid"]) for name, rec in data.items()}


def kernel_link(name: str) -> bool:
    return subprocess.run(["ip", "link", "show", name], capture_output=True, check=False).returncode == 0


def assert_answers(state: Path) -> None:
    d = state / "dataplane"
    assert "QEMU" in sh("virsh", "-c", f"qemu:///system?socket={d / 'lv/s/libvirt-sock'}", "version")
    assert "Bridge br-int" in sh("ovs-vsctl", f"--db=unix:{d / 'ovs/db.sock'}", "show")
    sh("ovn-nbctl", f"--db=unix:{d / 'ovn/nb.sock'}", "show")
    # ovn-controller registered this machine's chassis in the Southbound.
    wait_for(lambda: "Chassis" in sh("ovn-sbctl", f"--db=unix:{d / 'ovn/sb.sock'}", "show"), timeout=15)
    status = json.loads(sh("ceph", "-c", str(d / "ceph/ceph.conf"), "status", "-f", "json"))
    assert status["osdmap"]["num_up_osds"] == 1


@pytest.fixture(autouse=True)
def _one_real_data_plane_at_a_time() -> Iterator[None]:
    with exclusive_data_plane():
        yield


def start(state: Path) -> Cluster:
    c = Cluster(state, extra_args=("--data-plane", "real"))
    c.start(timeout=180)
    return c


def test_real_data_plane_start_adopt_foreign_pid_and_stop(tmp_path: Path) -> None:
    state = tmp_path / "state"
    uri = f"qemu:///system?socket={state / 'dataplane/lv/s/libvirt-sock'}"
    decoy: subprocess.Popen[bytes] | None = None
    c = start(state)
    qemu_pid = 0
    try:
        out = "".join(c.output)
        assert "data plane: real" in out
        first = recorded(state)
        assert set(first) == DAEMONS
        assert all(proc.alive(pid) for pid in first.values())
        assert_answers(state)

        # A guest of libvirtd's, then a crash of `kumulus up`: daemons and guest keep running, and are adopted.
        guest_xml = tmp_path / "guest.xml"
        guest_xml.write_text(GUEST)
        sh("virsh", "-c", uri, "create", str(guest_xml))
        qemu_pid = int((state / "dataplane/lv/run/qemu/kt-dp-guest.pid").read_text())
        c.kill()
        assert all(proc.alive(pid) for pid in first.values())
        t0 = time.monotonic()
        c = start(state)
        restart_seconds = time.monotonic() - t0
        assert recorded(state) == first
        out = "".join(c.output)
        assert all(f"{name}: adopted pid {pid}" in out for name, pid in first.items()), out
        assert "started pid" not in out
        assert restart_seconds < 15, restart_seconds
        assert proc.alive(qemu_pid)
        assert sh("virsh", "-c", uri, "domstate", "kt-dp-guest").strip() == "running"
        assert_answers(state)

        # Crash again; ovn-northd dies and its PID now names another process: not adopted, not signalled.
        c.kill()
        northd = first["ovn-northd"]
        os.kill(northd, signal.SIGKILL)
        wait_for(lambda: not proc.alive(northd), timeout=10)
        decoy = subprocess.Popen(["sleep", "300"])
        path = state / "dataplane" / "daemons.json"
        data = json.loads(path.read_text())
        data["ovn-northd"]["pid"] = decoy.pid
        path.write_text(json.dumps(data))
        c = start(state)
        out = "".join(c.output)
        assert f"recorded pid {decoy.pid} is gone or another process now" in out
        assert "ovn-northd: started pid" in out
        second = recorded(state)
        assert second["ovn-northd"] != decoy.pid
        assert {k: v for k, v in second.items() if k != "ovn-northd"} == {
            k: v for k, v in first.items() if k != "ovn-northd"
        }
        assert decoy.poll() is None
        assert_answers(state)

        # Stop: every recorded PID is gone, the decoy lives, the bridges' kernel devices are removed.
        sh("virsh", "-c", uri, "destroy", "kt-dp-guest")
        assert c.stop(timeout=60) == 0
        assert not any(proc.alive(pid) for pid in second.values())
        assert decoy.poll() is None
        assert json.loads(path.read_text()) == {}
        assert not kernel_link("br-int") and not kernel_link("ovs-netdev")

        # A second run on the same state directory starts everything afresh and stops cleanly again.
        c = start(state)
        out = "".join(c.output)
        third = recorded(state)
        assert set(third) == DAEMONS and not set(third.values()) & set(second.values())
        assert all(f"{name}: started pid" in out for name in DAEMONS)
        assert_answers(state)
        assert c.stop(timeout=60) == 0
        assert not any(proc.alive(pid) for pid in third.values())
        assert not kernel_link("br-int")
    finally:
        c.kill()
        if decoy is not None:
            decoy.kill()
            decoy.wait()
        if qemu_pid and proc.alive(qemu_pid):
            os.kill(qemu_pid, signal.SIGKILL)
        _stop_leftovers(state)


def _stop_leftovers(state: Path) -> None:
    """After a failure: stop what the records still name (by PID, as `kumulus up` would)."""
    from kumulus.dataplane.supervisor import DataPlane

    with contextlib.suppress(Exception):
        DataPlane(state, "cleanup").stop(lambda _: None)

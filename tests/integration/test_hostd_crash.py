"""kill -9 of hostd while it creates and while it deletes real guests (issue 5): after its restart nothing
is duplicated or leaked (libvirt domain, OVS port, RBD image) and everything converges.

hostd runs the compute and storage roles of this machine (tests/integration/real_cloud.py), so the kills
land in the middle of domain definition, port plugging, RBD cloning and their removals alike. What is
compared after each restart is the data plane itself (virsh, ovs-vsctl, rbd), against the objects.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .cluster import wait_for
from .guest_manifests import server
from .real_cloud import RealCloud, guest_cloud

pytestmark = pytest.mark.integration

NAMES = ("crash-a", "crash-b", "crash-c")


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealCloud]:
    with guest_cloud(Path(tmp_path_factory.mktemp("crash"))) as c:
        wait_for(lambda: c.status("Image", "guest").get("phase") == "Available", timeout=180, interval=0.5)
        yield c


def uids(cloud: RealCloud, kind: str, names: tuple[str, ...]) -> set[str]:
    out = set()
    for name in names:
        obj = cloud.get(kind, name)
        if obj is not None:
            out.add(str(obj["metadata"]["uid"]))
    return out


def volumes_in_ceph(cloud: RealCloud) -> set[str]:
    return {name for name in cloud.rbd_images("volumes") if name.startswith("volume-")}


def converged(cloud: RealCloud, names: tuple[str, ...]) -> bool:
    """Exactly the named Servers' domains, NIC ports and root volumes exist, and each guest is up."""
    servers = uids(cloud, "Server", names)
    roots = uids(cloud, "Volume", tuple(f"{n}-root" for n in names))
    ports = uids(cloud, "Port", tuple(f"{n}-nic0" for n in names))
    if len(servers) != len(names) or len(roots) != len(names) or len(ports) != len(names):
        return False
    ready = all(
        f"KUMULUS-GUEST-READY {n} " in cloud.console(u) for n in names for u in uids(cloud, "Server", (n,))
    )
    return (
        ready
        and cloud.domains() == servers
        and volumes_in_ceph(cloud) == {f"volume-{u}" for u in roots}
        and len(cloud.ovs_ports()) == len(names)
    )


def test_kill_hostd_while_creating(cloud: RealCloud) -> None:
    for name in NAMES:
        cloud.apply(server(name, "open"))
    # Kill as soon as hostd started on the data plane (an RBD clone or a domain appeared), then again a
    # moment into the next step.
    wait_for(lambda: volumes_in_ceph(cloud) or cloud.domains(), timeout=120, interval=0.05)
    cloud.kill_hostd()
    cloud.start_hostd()
    wait_for(lambda: cloud.domains(), timeout=120, interval=0.05)
    cloud.kill_hostd()
    time.sleep(0.5)
    cloud.start_hostd()
    wait_for(lambda: converged(cloud, NAMES), timeout=300, interval=1.0)
    assert "Traceback" not in cloud.hostd_log(), cloud.hostd_log()[-4000:]


def test_kill_hostd_while_deleting(cloud: RealCloud) -> None:
    before = cloud.domains()
    doomed = NAMES[:2]
    doomed_uids = uids(cloud, "Server", doomed)
    cloud.kubectl("delete", "server", *doomed, "-n", "default", "--wait=false")
    wait_for(lambda: len(cloud.domains()) < len(before), timeout=120, interval=0.05)
    cloud.kill_hostd()
    time.sleep(0.5)
    cloud.start_hostd()
    wait_for(lambda: converged(cloud, NAMES[2:]), timeout=300, interval=1.0)
    assert not cloud.domains() & doomed_uids


def test_delete_the_rest_leaves_nothing(cloud: RealCloud) -> None:
    cloud.kubectl("delete", "servers", "--all", "-n", "default", "--wait=false")
    wait_for(lambda: not cloud.domains(), timeout=120, interval=0.5)
    wait_for(lambda: not cloud.ovs_ports(), timeout=60, interval=0.5)
    wait_for(lambda: not volumes_in_ceph(cloud), timeout=120, interval=0.5)

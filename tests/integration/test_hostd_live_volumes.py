"""hostd applies a running Server's Volume changes live, end to end: `kumulus up --components operators`
(scheduler, compute and storage operators; storage on its simulated backend), a private libvirtd (QEMU with
TCG) and hostd with `--driver libvirt --volume-backend file`, as tests/integration/test_hostd_libvirt.py
starts them (its fixtures, in a cluster of this module's own).

The Server boots from a Volume whose file is the test guest image (make guest-image): its init prints
`KUMULUS-DISKS <dev>=<bytes> ...` on the serial console whenever its block devices change. Only the API is
used: a second Volume added to spec.volumes (the storage operator attaches it, hostd hot-plugs it), the Volume
extended (spec.sizeGiB; the operator's backend resizes it and writes status.sizeGiB, hostd grows the file
and tells QEMU), then removed from spec.volumes (hostd detaches it once the guest released it). The Server
stays Running throughout, on the same QEMU process.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from typing import Any

import pytest

from hostd.libvirt.builders import domain_name

from . import test_hostd_libvirt as lv
from .cluster import Cluster, wait_for
from .image_server import ensure_guest_image
from .libvirt_daemon import LibvirtDaemon

pytestmark = pytest.mark.integration

GiB = 1 << 30
BOOT_TIMEOUT = 240.0  # TCG on a loaded 2-core machine; a boot takes about 8 s alone
CHANGE_TIMEOUT = 90.0  # API -> operators -> hostd -> QEMU -> the guest's once-a-second poll

# The fixtures of test_hostd_libvirt.py: a cluster, libvirtd and hostd of this module's own.
daemon = lv.daemon
cluster = lv.cluster
hostd = lv.hostd
namespace = lv.namespace

FLAVOR = {
    "apiVersion": "compute.kumulus.dev/v1alpha1",
    "kind": "Flavor",
    "metadata": {"name": "small"},
    "spec": {"vcpus": 1, "ramMiB": 256, "diskGiB": 1},
}


def new_volume(ns: str, name: str, size_gib: int) -> dict[str, Any]:
    return {
        "apiVersion": "storage.kumulus.dev/v1alpha1",
        "kind": "Volume",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"sizeGiB": size_gib},
    }


def available(c: Cluster, ns: str, name: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        vol = lv.get(c, ns, name, "volume")
        return vol if (vol.get("status") or {}).get("phase") in ("Available", "InUse") else None

    result: dict[str, Any] = wait_for(check, timeout=60, interval=0.3)
    return result


def kumulus_disks(log_text: str) -> dict[str, int] | None:
    """The guest's last KUMULUS-DISKS report: device -> bytes."""
    lines = re.findall(r"^KUMULUS-DISKS(.*)$", log_text, re.MULTILINE)
    if not lines:
        return None
    return {dev: int(size) for dev, size in (p.split("=") for p in lines[-1].split())}


def test_volume_attached_grown_and_detached_on_a_running_server(
    cluster: Cluster, daemon: LibvirtDaemon, hostd: lv.Hostd, namespace: str
) -> None:
    image = ensure_guest_image()
    lv.apply(cluster, FLAVOR, new_volume(namespace, "disks-boot", 1))
    boot = available(cluster, namespace, "disks-boot")
    # The file backend's file of the boot Volume is the guest image (hostd grows it, sparse, to 1 GiB).
    boot_file = hostd.state / "volumes" / "volumes" / f"volume-{boot['metadata']['uid']}"
    boot_file.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(image, boot_file)
    lv.apply(
        cluster,
        {
            "apiVersion": "compute.kumulus.dev/v1alpha1",
            "kind": "Server",
            "metadata": {"name": "disks", "namespace": namespace},
            "spec": {"flavor": "small", "bootVolume": "disks-boot", "zone": "az1"},
        },
    )
    obj = lv.phase(cluster, namespace, "disks", "Running", timeout=120)
    uid = obj["metadata"]["uid"]
    console = hostd.state / "console" / f"{uid}.log"
    config_drive = (hostd.state / "configdrive" / f"{uid}.img").stat().st_size

    def wait_disks(want: dict[str, int], timeout: float = CHANGE_TIMEOUT) -> None:
        def seen() -> bool:
            return console.exists() and kumulus_disks(console.read_text(errors="replace")) == want

        try:
            wait_for(seen, timeout=timeout, interval=0.3)
        except AssertionError:
            text = console.read_text(errors="replace") if console.exists() else ""
            log = hostd.log.read_text(errors="replace")
            raise AssertionError(
                f"the guest reports {kumulus_disks(text)}, not {want}\n{text[-2000:]}\n--- hostd:\n{log[-4000:]}"
            ) from None

    # The guest's kernel names virtio disks in the order it finds them: the boot disk, the config drive.
    base = {"vda": GiB, "vdb": config_drive}
    wait_disks(base, timeout=BOOT_TIMEOUT)
    pid = daemon.qemu_pid(domain_name(uid))
    boot_time = lv.get(cluster, namespace, "disks")["status"]["bootTime"]
    watch = cluster.kubectl_bg("get", "server", "disks", "-n", namespace, "-w", "-o", "json")

    # Attach: a second Volume in spec.volumes.
    lv.apply(cluster, new_volume(namespace, "disks-data", 1))
    data = available(cluster, namespace, "disks-data")
    started = time.monotonic()
    lv.patch_spec(cluster, namespace, "disks", {"volumes": [{"volume": "disks-data"}]})
    wait_disks({**base, "vdc": GiB})
    print(f"\nattach: in the guest {time.monotonic() - started:.1f} s after the patch")
    attachments = lv.get(cluster, namespace, "disks-data", "volume")["status"]["attachments"]
    assert attachments == [{"server": "disks", "host": lv.HOST}]
    serial = data["metadata"]["uid"][:20]
    assert serial in [d.serial for d in lv.domain_xml(daemon, uid).disks]

    # Grow: the Volume extended; the storage operator resizes it, then hostd grows the disk live.
    started = time.monotonic()
    cluster.kubectl(
        "patch",
        "volume",
        "disks-data",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        json.dumps({"spec": {"sizeGiB": 2}}),
    )
    wait_disks({**base, "vdc": 2 * GiB})
    print(f"grow: in the guest {time.monotonic() - started:.1f} s after the patch")
    data_file = hostd.state / "volumes" / "volumes" / f"volume-{data['metadata']['uid']}"
    assert data_file.stat().st_size == 2 * GiB

    # Detach: removed from spec.volumes; gone once the guest released it.
    started = time.monotonic()
    lv.patch_spec(cluster, namespace, "disks", {"volumes": []})
    wait_disks(base)
    print(f"detach: gone from the guest {time.monotonic() - started:.1f} s after the patch")
    assert serial not in [d.serial for d in lv.domain_xml(daemon, uid).disks]
    wait_for(lambda: not lv.get(cluster, namespace, "disks-data", "volume")["status"].get("attachments"), 30)
    assert data_file.exists()  # detached, not deleted

    # All along: the same QEMU, booted once, the Server Running; hostd logged each change.
    watch.terminate()
    seen, _ = watch.communicate(timeout=10)
    assert set(re.findall(r'"phase": "(\w+)"', seen)) == {"Running"}, seen[-3000:]
    assert daemon.qemu_pid(domain_name(uid)) == pid
    assert console.read_text(errors="replace").count("kumulus: init at") == 1
    obj = lv.get(cluster, namespace, "disks")
    assert obj["status"]["phase"] == "Running" and obj["status"]["bootTime"] == boot_time
    log = hostd.log.read_text(errors="replace")
    for change in ("attach", "grow", "detach"):
        assert re.search(rf"disks of {namespace}/disks: {change} {serial}", log), change

    cluster.kubectl("delete", "server", "disks", "-n", namespace, "--wait=false")
    wait_for(lambda: uid not in lv.domains(daemon), timeout=60)

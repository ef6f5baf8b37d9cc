"""Benchmark of booting real guests: `kubectl apply` of a Server to the guest's ready marker on its console.

It runs the whole cloud on this machine with the real data plane (tests/integration/real_cloud.py: `kumulus
up --data-plane real`, hostd with the libvirt driver, QEMU under TCG, OVN, one in-memory Ceph OSD) under a
temporary directory, imports the test guest image (make guest-image) as an Image, then boots N Servers one
after another from it and prints, per Server and as p50/p95: apply -> Server Running (status) and apply ->
`KUMULUS-GUEST-READY` on the serial console, plus the COW clone part (the root Volume's Available). Each
Server is deleted before the next one, so every boot starts from the same state. Needs root.

    .venv/bin/python bench/boot_bench.py          # 10 servers
    .venv/bin/python bench/boot_bench.py -n 3

For reference: OpenStack Rally's boot-server scenario at 1,000 nodes averaged 13 s (KVM, not TCG).
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchlib import percentile  # noqa: E402

from tests.integration.cluster import wait_for  # noqa: E402
from tests.integration.guest_manifests import server  # noqa: E402
from tests.integration.real_cloud import RealCloud, guest_cloud  # noqa: E402


def boot_once(cloud: RealCloud, name: str) -> tuple[float, float, float]:
    """(apply -> root Volume Available, apply -> Server Running, apply -> ready marker), in seconds."""
    t0 = time.monotonic()
    cloud.apply(server(name, "open"))
    volume = running = 0.0
    uid = ""
    marker = re.compile(rf"KUMULUS-GUEST-READY {name} ")
    while True:
        now = time.monotonic() - t0
        if not uid:
            obj = cloud.get("Server", name)
            uid = str(obj["metadata"]["uid"]) if obj else ""
        if not volume and cloud.status("Volume", f"{name}-root").get("phase") in ("Available", "InUse"):
            volume = now
        if not running and cloud.status("Server", name).get("phase") == "Running":
            running = now
        if uid and marker.search(cloud.console(uid)):
            return volume or now, running or now, now
        if now > 300:
            raise RuntimeError(f"{name}: no ready marker after 300 s:\n{cloud.console(uid)[-2000:]}")
        time.sleep(0.1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=10, help="servers to boot, one after another")
    args = ap.parse_args()
    rows: list[tuple[float, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="kumulus-boot-bench-") as tmp, guest_cloud(Path(tmp)) as cloud:
        t0 = time.monotonic()
        wait_for(lambda: cloud.status("Image", "guest").get("phase") == "Available", timeout=300)
        print(f"image import (download, inspect, convert, snapshot): {time.monotonic() - t0:.2f} s")
        for i in range(args.n):
            name = f"bench-{i}"
            row = boot_once(cloud, name)
            rows.append(row)
            print(
                f"{name}: volume {row[0]:.2f} s, Running {row[1]:.2f} s, ready marker {row[2]:.2f} s",
                flush=True,
            )
            cloud.kubectl("delete", "server", name, "-n", "default", "--wait=false")
            wait_for(lambda name=name: cloud.get("Server", name) is None, timeout=120, interval=0.2)
    for label, col in (("root volume Available", 0), ("Server Running", 1), ("guest ready marker", 2)):
        values = sorted(r[col] for r in rows)
        print(
            f"apply -> {label}: p50 {percentile(values, 50):.2f} s, "
            f"p95 {percentile(values, 95):.2f} s (n={len(values)})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

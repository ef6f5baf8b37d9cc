"""Benchmark of the storage role on a real one-OSD Ceph (memstore, tests/integration/ceph_cluster.py):
the time of a copy-on-write clone and of importing a 32 MiB raw image.

It starts its own cluster under a temporary directory on a free port, serves a 32 MiB raw image over
HTTP from 127.0.0.1, imports it (download, SHA-256, inspection, qemu-img convert into RBD, base snapshot
+ protect), then times N volumes cloned from it two ways: the whole crash-safe CreateVolume (intent, clone,
mark, resize, ready, forget intent) and the bare librbd clone underneath. It is a benchmark, not a test.

    .venv/bin/python bench/rbd_bench.py            # 100 clones
    .venv/bin/python bench/rbd_bench.py -n 20
"""

from __future__ import annotations

import argparse
import hashlib
import http.server
import os
import sys
import tempfile
import threading
import time
import uuid
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchlib import percentile  # noqa: E402

from hostd.storage import plan as p  # noqa: E402
from hostd.storage.rbd_store import RbdStore  # noqa: E402
from tests.integration.ceph_cluster import CephCluster, free_port  # noqa: E402

MIB = 1 << 20
POOL = "bench"


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=100, help="clones to time (each way)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="rbd-bench-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        cluster = CephCluster(work / "ceph")
        (work / "ceph").mkdir()
        cluster.start()
        try:
            cluster.create_pool(POOL)
            print(f"cluster up with pool in {time.perf_counter() - t0:.1f} s")
            run(cluster, work, args.n)
        finally:
            cluster.stop()


def run(cluster: CephCluster, work: Path, n: int) -> None:
    www = work / "www"
    www.mkdir()
    data = os.urandom(32 * MIB)
    (www / "disk.raw").write_bytes(data)
    handler = partial(Quiet, directory=str(www))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    store = RbdStore(cluster.conf, work / "fetch")
    try:
        img = uuid.uuid4().hex[:12]
        cmd = p.ImportImage(
            POOL,
            p.image_name(img),
            p.Owner(img, "Image", "bench", "disk"),
            f"http://127.0.0.1:{server.server_address[1]}/disk.raw",
            hashlib.sha256(data).hexdigest(),
            "raw",
        )
        t = time.perf_counter()
        store.import_image(cmd)
        print(
            f"import of a 32 MiB raw image (download, check, inspect, convert, snapshot): {ms(time.perf_counter() - t)}"
        )
        source = p.RbdSource("clone", POOL, p.image_name(img), p.BASE_SNAP)
        full, bare = [], []
        for _ in range(n):
            u = uuid.uuid4().hex[:12]
            t = time.perf_counter()
            store.create_volume(
                p.CreateVolume(POOL, p.volume_name(u), p.Owner(u, "Volume", "bench", u), 64 * MIB, source)
            )
            full.append(time.perf_counter() - t)
        ioctx = store.ioctx(POOL)
        for i in range(n):
            t = time.perf_counter()
            store._rbd.clone(ioctx, p.image_name(img), p.BASE_SNAP, ioctx, f"bare-{i}")
            bare.append(time.perf_counter() - t)
        for values, what in ((full, "CreateVolume (crash-safe, marked)"), (bare, "bare librbd clone")):
            print(
                f"COW clone, {what}: n={n} p50 {ms(percentile(values, 50))}, p95 {ms(percentile(values, 95))}"
            )
    finally:
        store.close()
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    main()

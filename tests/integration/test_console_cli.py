"""`kumulus console` against a real `kumulus up` (API server alone) and a real log file: the test writes
status.console as hostd would, and runs the CLI as users do. Printing, following until the Server is
deleted, and the errors (no such Server, no console yet, a log on another host)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from .cluster import ROOT, Cluster

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    c = Cluster(Path(tmp_path_factory.mktemp("console")), crds_dir=ROOT / "crds")
    c.start()
    try:
        yield c
    finally:
        if c.proc is not None:
            c.stop()


def make_server(c: Cluster, name: str, status: dict[str, Any]) -> None:
    body = {
        "apiVersion": "compute.kumulus.dev/v1alpha1",
        "kind": "Server",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"flavor": "tiny", "image": "debian-12"},
    }
    c.kubectl("apply", "-f", "-", input=yaml.safe_dump(body))
    patch = json.dumps({"status": status})
    c.kubectl("patch", "server", name, "--subresource=status", "--type=merge", "-p", patch)


def console(c: Cluster, *args: str) -> list[str]:
    return [sys.executable, "-m", "kumulus.cli", "console", *args, "--kubeconfig", str(c.kubeconfig)]


def test_prints_the_log_named_by_the_status(cluster: Cluster, tmp_path: Path) -> None:
    log = tmp_path / "guest.log"
    log.write_bytes(b"SeaBIOS (version 1.16)\r\nBooting from Hard Disk...\r\nlogin: \n")
    make_server(cluster, "printed", {"host": "h1", "console": {"host": "h1", "path": str(log)}})
    res = subprocess.run(console(cluster, "printed"), capture_output=True, timeout=60)  # default namespace
    assert res.returncode == 0, res.stderr
    assert res.stdout == log.read_bytes()


def test_follows_until_the_server_is_deleted(cluster: Cluster, tmp_path: Path) -> None:
    log = tmp_path / "followed.log"
    log.write_bytes(b"first\n")
    make_server(cluster, "followed", {"host": "h1", "console": {"host": "h1", "path": str(log)}})
    proc = subprocess.Popen(
        console(cluster, "followed", "-n", "default", "-f"), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        time.sleep(1.5)
        with log.open("ab") as f:
            f.write(b"appended while following\n")
        time.sleep(1.0)
        cluster.kubectl("delete", "server", "followed")
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert out == b"first\nappended while following\n"
    assert b"server default/followed is gone" in err


def test_errors_say_why(cluster: Cluster, tmp_path: Path) -> None:
    res = subprocess.run(
        console(cluster, "absent", "-n", "default"), capture_output=True, text=True, timeout=60
    )
    assert (res.returncode, res.stderr.strip()) == (1, "kumulus console: server default/absent not found")

    make_server(cluster, "no-console", {"host": "h1"})
    res = subprocess.run(console(cluster, "no-console"), capture_output=True, text=True, timeout=60)
    assert res.returncode == 1 and "status.console is unset" in res.stderr and "host h1" in res.stderr

    elsewhere = tmp_path / "on-another-machine.log"  # not written: the log is on host compute-7
    make_server(
        cluster, "remote", {"host": "compute-7", "console": {"host": "compute-7", "path": str(elsewhere)}}
    )
    res = subprocess.run(console(cluster, "remote"), capture_output=True, text=True, timeout=60)
    assert res.returncode == 1
    assert f"is {elsewhere} on host compute-7, not found on this machine" in res.stderr

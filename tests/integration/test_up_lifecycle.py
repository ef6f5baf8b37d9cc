"""`kumulus up` as a process: ready line, kubeconfig, clean SIGTERM, children that die with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .cluster import Cluster, wait_for

pytestmark = pytest.mark.integration


def test_ready_line_kubeconfig_and_clean_stop(tmp_path: Path) -> None:
    c = Cluster(tmp_path / "state")
    c.start()
    try:
        out = "".join(c.output)
        assert f"export KUBECONFIG={c.kubeconfig}" in out
        cfg = yaml.safe_load(c.kubeconfig.read_text())
        assert cfg["clusters"][0]["cluster"]["server"] == c.url
        assert oct(c.kubeconfig.stat().st_mode & 0o777) == "0o600"
        assert c.kubectl("get", "namespaces", "-o", "name").stdout.split() == [
            "namespace/default",
            "namespace/kube-public",
            "namespace/kube-system",
            "namespace/kumulus-system",
        ]
        assert c.stop() == 0
        assert any("stopped" in line for line in c.output)
    finally:
        c.kill()


def _state(pid: int) -> str:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("State:"):
                return line.split()[1]
    except FileNotFoundError:
        return "gone"
    return "?"


def test_children_die_when_parent_is_killed(tmp_path: Path) -> None:
    script = (
        "import sys, time\n"
        "from kumulus.children import spawn\n"
        "p = spawn(['sleep', '300'])\n"
        "print(p.pid, flush=True)\n"
        "time.sleep(300)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert _state(child) not in ("gone", "Z"), "the child runs while its parent lives"
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(10)
    # Without systemd nothing may reap it, so a zombie counts as dead.
    wait_for(lambda: _state(child) in ("gone", "Z"), timeout=10)


def test_install_crds_from_directory(tmp_path: Path) -> None:
    crds = tmp_path / "crds"
    crds.mkdir()
    source = Path(__file__).parent / "data" / "widgets-crd.yaml"
    (crds / "widgets.yaml").write_text(source.read_text())
    c = Cluster(tmp_path / "state", crds_dir=crds)
    c.start()
    try:
        assert "(1 CRDs installed)" in "".join(c.output)
        assert "widgets" in c.kubectl("api-resources", "--api-group=test.kumulus.dev").stdout
        rv = c.kubectl(
            "get", "crd", "widgets.test.kumulus.dev", "-o", "jsonpath={.metadata.resourceVersion}"
        ).stdout
        c.restart()  # installing the same CRD again over the same state changes nothing
        assert "".join(c.output).count("(1 CRDs installed)") == 2
        again = c.kubectl(
            "get", "crd", "widgets.test.kumulus.dev", "-o", "jsonpath={.metadata.resourceVersion}"
        )
        assert again.stdout == rv
    finally:
        c.kill()

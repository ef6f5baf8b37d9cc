"""A real kopf operator against `kumulus up`: it sees create, update and delete and patches status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .cluster import Cluster, wait_for

DATA = Path(__file__).parent / "data"

pytestmark = pytest.mark.integration


def gizmo_crd() -> str:
    crd = yaml.safe_load((DATA / "widgets-crd.yaml").read_text())
    crd["metadata"]["name"] = "gizmos.test.kumulus.dev"
    crd["spec"]["names"] = {"plural": "gizmos", "singular": "gizmo", "kind": "Gizmo"}
    version = crd["spec"]["versions"][0]
    version["schema"]["openAPIV3Schema"]["properties"]["status"] = {
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": True,
    }
    return yaml.safe_dump(crd)


def test_kopf_operator_reacts_and_patches_status(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    cluster.kubectl("apply", "-f", "-", input=gizmo_crd())
    env = dict(os.environ, KUBECONFIG=str(cluster.kubeconfig), GIZMO_MARKERS=str(tmp_path))
    log = open(tmp_path / "kopf.log", "w")  # noqa: SIM115
    op = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kopf",
            "run",
            "--standalone",
            "--namespace",
            namespace,
            str(DATA / "kopf_operator.py"),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        body = {
            "apiVersion": "test.kumulus.dev/v1alpha1",
            "kind": "Gizmo",
            "metadata": {"name": "g1", "namespace": namespace},
            "spec": {"size": 2},
        }
        cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(body))

        def status() -> dict[str, object]:
            out = cluster.kubectl("get", "gizmo", "g1", "-n", namespace, "-o", "json").stdout
            return dict(json.loads(out).get("status") or {})

        wait_for(lambda: status().get("phase") == "Created", timeout=30)
        assert status()["seenSize"] == 2
        cluster.kubectl("patch", "gizmo", "g1", "-n", namespace, "--type=merge", "-p", '{"spec":{"size":5}}')
        wait_for(lambda: status().get("phase") == "Resized", timeout=30)
        assert status()["seenSize"] == 5
        cluster.kubectl("delete", "gizmo", "g1", "-n", namespace, "--timeout=30s")
        assert (tmp_path / "deleted-g1").read_text() == "yes"
        assert cluster.kubectl("get", "gizmo", "g1", "-n", namespace, check=False).returncode != 0
    finally:
        op.terminate()
        try:
            op.wait(15)
        except subprocess.TimeoutExpired:
            op.kill()
        log.close()
    assert "Traceback" not in (tmp_path / "kopf.log").read_text()

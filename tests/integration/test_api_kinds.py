"""The IaaS API through the real kubectl: CRDs and every example apply; invalid manifests are refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from controllers.api import ALL_KINDS

from .cluster import Cluster

ROOT = Path(__file__).resolve().parents[2]
INVALID = Path(__file__).parent / "data" / "invalid"

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", autouse=True)
def installed(cluster: Cluster) -> None:
    out = cluster.kubectl("apply", "-f", str(ROOT / "crds")).stdout
    assert out.count("customresourcedefinition.apiextensions.k8s.io/") == len(ALL_KINDS)
    names = [f"crd/{k.plural}.{k.api_group}" for k in ALL_KINDS]
    cluster.kubectl("wait", "--for=condition=Established", *names, "--timeout=30s")


def test_examples_apply_with_default_validation(cluster: Cluster) -> None:
    res = cluster.kubectl("apply", "-R", "-f", str(ROOT / "examples"))
    assert "Warning" not in res.stderr, res.stderr
    again = cluster.kubectl("apply", "-R", "-f", str(ROOT / "examples")).stdout.splitlines()
    # Secrets written with stringData are re-patched by every apply, against kube-apiserver too.
    changed = [line for line in again if "configured" in line and not line.startswith("secret/")]
    assert changed == [], "applying the examples twice changes nothing"


def test_every_kind_has_an_example() -> None:
    kinds = set()
    for path in (ROOT / "examples").rglob("*.yaml"):
        for line in path.read_text().splitlines():
            if line.startswith("kind: "):
                kinds.add(line.split(":", 1)[1].strip())
    assert {k.kind for k in ALL_KINDS if not k.internal} <= kinds


def test_get_kumulus_lists_every_kind(cluster: Cluster) -> None:
    cluster.kubectl("apply", "-R", "-f", str(ROOT / "examples"))
    out = cluster.kubectl("get", "kumulus", "-A", "-o", "json").stdout
    listed = {item["kind"] for item in json.loads(out)["items"]}
    assert {k.kind for k in ALL_KINDS if not k.internal} <= listed
    table = cluster.kubectl("get", "servers", "-n", "default").stdout.splitlines()
    assert table[0].split() == ["NAME", "STATUS", "FLAVOR", "HOST", "ZONE", "ADDRESSES", "AGE"]


def invalid_cases() -> list[Path]:
    return sorted(INVALID.glob("*.yaml"))


@pytest.mark.parametrize("path", invalid_cases(), ids=lambda p: p.stem)
def test_invalid_manifest_is_refused_naming_the_field(cluster: Cluster, path: Path) -> None:
    expect = path.read_text().splitlines()[0].removeprefix("# expect:").strip()
    res = cluster.kubectl("apply", "-n", "default", "-f", str(path), check=False)
    assert res.returncode != 0, f"{path.name} was accepted"
    assert expect in res.stderr, res.stderr


def test_every_kind_has_an_invalid_case() -> None:
    covered = set()
    for path in invalid_cases():
        for line in path.read_text().splitlines():
            if line.startswith("kind: "):
                covered.add(line.split(":", 1)[1].strip())
    assert {k.kind for k in ALL_KINDS if not k.internal} <= covered


def test_explain_reads_like_documentation(cluster: Cluster) -> None:
    out = cluster.kubectl("explain", "server.spec.networks").stdout
    assert "One NIC of a Server" in out and "fixedIP" in out and "securityGroups" in out
    out = cluster.kubectl("explain", "servers.spec.flavor").stdout
    assert "Immutable" in out

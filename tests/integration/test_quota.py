"""The quota webhook under `kumulus up --components operators`: refusals by kubectl, exactness under
concurrent creates, Quota status.used, and usage freed by deletions."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from .cluster import ROOT, Cluster, running, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    c = Cluster(Path(tmp_path_factory.mktemp("q")), crds_dir=ROOT / "crds", components="operators")
    with running(c):
        wait_for(
            lambda: (
                c.kubectl(
                    "get", "validatingwebhookconfiguration", "quota.kumulus.dev", check=False
                ).returncode
                == 0
            ),
            timeout=30,
        )
        apply(c, flavor("q1.small", 1, 512))
        yield c


@pytest.fixture
def ns(cluster: Cluster) -> str:
    name = "q-" + uuid.uuid4().hex[:8]
    cluster.kubectl("create", "namespace", name)
    return name


def apply(c: Cluster, *docs: dict[str, Any], check: bool = True) -> Any:
    return c.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(docs), check=check)


def flavor(name: str, vcpus: int, ram: int) -> dict[str, Any]:
    api = "compute.kumulus.dev/v1alpha1"
    return {
        "apiVersion": api,
        "kind": "Flavor",
        "metadata": {"name": name},
        "spec": {"vcpus": vcpus, "ramMiB": ram},
    }


def doc(kind: str, group: str, ns: str, name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{group}.kumulus.dev/v1alpha1",
        "kind": kind,
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    }


def used(c: Cluster, ns: str, name: str = "quota") -> dict[str, int]:
    res = c.kubectl("get", "quota.infra.kumulus.dev", name, "-n", ns, "-o", "json", check=False)
    if res.returncode != 0:
        return {}
    status = json.loads(res.stdout).get("status") or {}
    return dict(status.get("used") or {})


def set_quota(c: Cluster, ns: str, **limits: int) -> None:
    """A Quota, once the operator counts it (its status is written, so its cache has it)."""
    apply(c, doc("Quota", "infra", ns, "quota", limits=limits))
    wait_for(lambda: used(c, ns), timeout=15)


def refused(res: Any, text: str) -> bool:
    return bool(res.returncode != 0 and text in res.stderr)


def test_second_router_refused_then_allowed_after_delete(cluster: Cluster, ns: str) -> None:
    apply(cluster, doc("Router", "network", ns, "r1"))  # no Quota: the default allows one Router
    res = apply(cluster, doc("Router", "network", ns, "r2"), check=False)
    assert refused(res, "routers: limit 1, used 1, requested 1"), res.stderr
    assert 'admission webhook "quota.kumulus.dev" denied the request' in res.stderr
    set_quota(cluster, ns, routers=1)
    assert used(cluster, ns)["routers"] == 1
    cluster.kubectl("delete", "router", "r1", "-n", ns, "--timeout=30s")
    wait_for(
        lambda: apply(cluster, doc("Router", "network", ns, "r2"), check=False).returncode == 0, timeout=15
    )
    wait_for(lambda: used(cluster, ns).get("routers") == 1, timeout=15)


def test_volume_grow_over_gigabytes_refused(cluster: Cluster, ns: str) -> None:
    set_quota(cluster, ns, gigabytes=50)
    apply(cluster, doc("Volume", "storage", ns, "v1", sizeGiB=20))
    wait_for(lambda: used(cluster, ns).get("gigabytes") == 20, timeout=15)
    patch = json.dumps({"spec": {"sizeGiB": 60}})
    res = cluster.kubectl("patch", "volume", "v1", "-n", ns, "--type=merge", "-p", patch, check=False)
    assert refused(res, "gigabytes: limit 50, used 20, requested 40"), res.stderr
    patch = json.dumps({"spec": {"sizeGiB": 50}})
    cluster.kubectl("patch", "volume", "v1", "-n", ns, "--type=merge", "-p", patch)
    wait_for(lambda: used(cluster, ns).get("gigabytes") == 50, timeout=15)


def test_concurrent_server_creates_take_exactly_the_limit(cluster: Cluster, ns: str) -> None:
    set_quota(cluster, ns, instances=5)

    def create(i: int) -> Any:
        body = yaml.safe_dump(doc("Server", "compute", ns, f"s{i}", flavor="q1.small", image="debian-12"))
        return cluster.kubectl("create", "-f", "-", input=body, check=False)

    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(create, range(10)))
    accepted = [r for r in results if r.returncode == 0]
    assert len(accepted) == 5, [r.stderr for r in results]
    assert all(refused(r, "instances: limit 5") for r in results if r.returncode != 0)
    wait_for(lambda: (u := used(cluster, ns)).get("instances") == 5 and u.get("cores") == 5, timeout=15)
    assert used(cluster, ns)["ramMiB"] == 5 * 512

    names = json.loads(cluster.kubectl("get", "servers", "-n", ns, "-o", "json").stdout)["items"]
    assert len(names) == 5
    cluster.kubectl("delete", "server", names[0]["metadata"]["name"], "-n", ns, "--timeout=30s")
    wait_for(lambda: create(99).returncode == 0, timeout=15)
    wait_for(lambda: used(cluster, ns).get("instances") == 5, timeout=15)

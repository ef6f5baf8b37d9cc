"""The whole cloud torn down: every example applied to `kumulus up` with the operators, simulated hosts
and a real OVN Northbound database, then every object deleted at once, in no particular order. Afterwards
nothing may be left: no object (finalizers all released), no IPAddressClaim, no Kumulus-owned OVN row, no
allocation on any Host."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from controllers.api import ALL_KINDS
from operators.ovn.nb import NorthboundDB

from .cluster import ROOT, Cluster, running, wait_for
from .ovn_daemons import OvnDaemons

pytestmark = pytest.mark.integration

RESYNC = 2.0
SIM_HOSTS = 8
KEPT = {"Host", "Zone"}  # hostd's own Hosts (re-registered while it runs) and the zones they are in
SKIPPED_FILES = {"hosts.yaml", "aggregates.yaml"}  # the examples' static Hosts have no hostd behind them
DELETED = [k for k in ALL_KINDS if k.kind not in KEPT]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, ovn: OvnDaemons) -> Iterator[Cluster]:
    env = {"KUMULUS_OVN_NB": ovn.nb_remote, "KUMULUS_RESYNC_SECONDS": str(RESYNC)}
    c = Cluster(
        Path(tmp_path_factory.mktemp("t")),
        crds_dir=ROOT / "crds",
        components="operators,hostd",
        extra_args=("--sim-hosts", str(SIM_HOSTS)),
        env=env,
    )
    with running(c, logs=("kumulus-operators.log", "kumulus-hostd.log")):
        yield c


def resource(kind: Any) -> str:
    return f"{kind.plural}.{kind.group}.kumulus.dev"


def listing(c: Cluster, kind: Any) -> list[dict[str, Any]]:
    args = ["get", resource(kind), "-o", "json"] + (["-A"] if kind.namespaced else [])
    out: list[dict[str, Any]] = json.loads(c.kubectl(*args).stdout)["items"]
    return out


def remaining(c: Cluster) -> dict[str, list[str]]:
    left: dict[str, list[str]] = {}
    for kind in DELETED:
        for obj in listing(c, kind):
            meta = obj["metadata"]
            conditions = [
                f"{x.get('type')}={x.get('status')} {x.get('reason')}: {x.get('message')}"
                for x in (obj.get("status") or {}).get("conditions") or []
            ]
            left.setdefault(kind.kind, []).append(
                f"{meta.get('namespace', '')}/{meta['name']} finalizers={meta.get('finalizers')} {conditions}"
            )
    return left


def host_allocations(c: Cluster) -> dict[str, Any]:
    hosts = json.loads(c.kubectl("get", "hosts.infra.kumulus.dev", "-o", "json").stdout)["items"]
    return {h["metadata"]["name"]: (h.get("status") or {}).get("allocated") for h in hosts}


def apply_examples(c: Cluster) -> None:
    files = sorted(p for p in (ROOT / "examples").rglob("*.yaml") if p.name not in SKIPPED_FILES)
    # Zones, flavors and images first: the rest refers to them (the order a user would follow).
    files.sort(
        key=lambda p: (p.parent.name not in ("infrastructure", "launch-an-instance", "images"), str(p))
    )
    for path in files:
        c.kubectl("apply", "-f", str(path))


def test_deleting_everything_leaves_nothing(cluster: Cluster, ovn: OvnDaemons) -> None:
    c = cluster
    wait_for(lambda: len(host_allocations(c)) >= SIM_HOSTS or None, timeout=30)
    apply_examples(c)

    nb = NorthboundDB(ovn.nb_remote)
    try:

        def built() -> bool | None:
            servers = listing(c, next(k for k in ALL_KINDS if k.kind == "Server"))
            placed = [s for s in servers if (s.get("status") or {}).get("host")]
            claims = listing(c, next(k for k in ALL_KINDS if k.kind == "IPAddressClaim"))
            return (len(placed) >= 3 and len(claims) >= 5 and len(nb.observe()) >= 10) or None

        wait_for(built, timeout=90)
        time.sleep(2 * RESYNC)  # let the first volumes, ports and OVN rows of the rest appear too
        wait_for(lambda: any(a and a.get("servers") for a in host_allocations(c).values()), timeout=15)

        for kind in DELETED:
            args = ["delete", resource(kind), "--all", "--wait=false"] + (["-A"] if kind.namespaced else [])
            c.kubectl(*args)

        left: dict[str, list[str]] = {}

        def empty() -> bool | None:
            nonlocal left
            left = remaining(c)
            return (not left) or None

        try:
            wait_for(empty, timeout=120)
        except Exception:
            pytest.fail(f"objects left after deleting everything: {json.dumps(left, indent=1)}")

        def clean_ovn() -> bool | None:
            return (not nb.observe()) or None

        try:
            wait_for(clean_ovn, timeout=3 * RESYNC + 10)
        except Exception:
            pytest.fail(f"OVN rows left: {sorted(nb.observe())}")
    finally:
        nb.close()

    def no_allocations() -> bool | None:
        return all(not a or not a.get("servers") for a in host_allocations(c).values()) or None

    try:
        wait_for(no_allocations, timeout=30)
    except Exception:
        pytest.fail(f"allocations left on Hosts: {host_allocations(c)}")

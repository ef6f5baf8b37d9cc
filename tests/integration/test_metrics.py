"""Metrics and Events under a real `kumulus up --components operators,hostd --sim-hosts 2`: the children's
/metrics endpoints are found in the state directory, scraped over HTTP after a Volume is created, and their
counters and gauges moved; the Volume's transitions are Events (`kubectl get events`), posted once (passes
over a settled Volume post none), and a Quota reaching its limit posts LimitReached."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from .cluster import ROOT, Cluster, running, wait_for

pytestmark = pytest.mark.integration

EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    state = Path(tmp_path_factory.mktemp("metrics")) / "s"
    state.mkdir()
    (state / "hostd.yaml").write_text("lease-seconds: 0.5\nboot-delay: 0.3\n")
    env = {"KUMULUS_RESYNC_SECONDS": "1", "KUMULUS_STORAGE_SIM_DELAY": "0.2"}
    c = Cluster(
        state,
        crds_dir=ROOT / "crds",
        components="operators,hostd",
        extra_args=("--sim-hosts", "2"),
        env=env,
    )
    with running(c, logs=("kumulus-operators.log", "kumulus-hostd.log")):
        yield c


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> Samples:
    """The samples at url; none while the child is still starting (connection refused)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            text = resp.read().decode()
    except urllib.error.URLError:
        return {}
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples of name whose labels include these."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= ls)


def endpoints(c: Cluster) -> dict[str, str]:
    found: dict[str, str] = yaml.safe_load((c.state_dir / "metrics.yaml").read_text())
    return found


def events_of(c: Cluster, name: str, ns: str = "default") -> list[dict[str, Any]]:
    items = json.loads(c.kubectl("get", "events", "-n", ns, "-o", "json").stdout)["items"]
    return [e for e in items if e["involvedObject"].get("name") == name]


def test_endpoints_are_printed_and_kept_in_the_state_dir(cluster: Cluster) -> None:
    found = endpoints(cluster)
    assert set(found) == {"operators", "hostd"}
    for name, url in found.items():
        assert url.startswith("http://127.0.0.1:") and url.endswith("/metrics")
        assert any(url in line for line in cluster.output), name


def test_volume_moves_the_operators_metrics_and_posts_its_transitions(cluster: Cluster) -> None:
    c = cluster
    c.kubectl("apply", "-f", str(EXAMPLES / "infrastructure" / "zones.yaml"))
    c.kubectl("apply", "-f", str(EXAMPLES / "attach-and-extend-a-volume" / "volume-type.yaml"))
    volume = {
        "apiVersion": "storage.kumulus.dev/v1alpha1",
        "kind": "Volume",
        "metadata": {"name": "data", "namespace": "default"},
        "spec": {"sizeGiB": 5, "volumeType": "standard", "zone": "az1"},
    }
    c.kubectl("apply", "-f", "-", input=yaml.safe_dump(volume))
    url = endpoints(c)["operators"]

    def available() -> Samples | None:
        samples = scrape(url)
        n = value(samples, "kumulus_objects", operator="storage", kind="Volume", phase="Available")
        return samples if n == 1 else None

    wait_for(available, timeout=30)

    def available_event_posted() -> Samples | None:
        # The status write that makes the Volume Available comes first, then its Event: scrape again
        # until the Event is counted too (the status may be seen a moment before it).
        samples = scrape(url)
        n = value(samples, "kumulus_operator_events_total", component="kumulus-storage", reason="Available")
        return samples if n >= 1 else None

    samples = wait_for(available_event_posted, timeout=10)
    assert value(samples, "kumulus_objects", operator="storage", kind="Volume", phase="Creating") == 0
    assert value(samples, "kumulus_operator_passes_total", operator="storage") > 0
    assert value(samples, "kumulus_operator_passes_total", operator="quota") > 0
    assert value(samples, "kumulus_operator_passes_total", operator="network") > 0
    assert value(samples, "kumulus_operator_pass_duration_seconds_count", operator="storage") > 0
    assert value(samples, "kumulus_operator_pass_errors_total", operator="storage") == 0
    assert ("kumulus_operator_queue_depth", frozenset({("operator", "storage")})) in samples
    # Creating, then Available: two status writes, and the lists at start
    assert (
        value(
            samples,
            "kumulus_operator_api_requests_total",
            verb="update",
            resource="volumes/status",
            code="200",
        )
        >= 2
    )
    assert (
        value(samples, "kumulus_operator_api_requests_total", verb="list", resource="volumes", code="200")
        >= 1
    )
    assert (
        value(
            samples, "kumulus_operator_api_request_duration_seconds_count", verb="create", resource="events"
        )
        >= 2
    )
    assert (
        value(samples, "kumulus_operator_events_total", component="kumulus-storage", reason="Available") >= 1
    )
    assert value(samples, "kumulus_objects", operator="quota", kind="Quota") == 0  # no Quota yet: all zero
    assert ("kumulus_compute_reconciles_total", frozenset({("kind", "Server")})) in samples  # same endpoint

    events = wait_for(lambda: (e := events_of(c, "data")) and len(e) >= 2 and e, timeout=10)
    by_reason = {e["reason"]: e for e in events}
    assert len(events) == 2 and set(by_reason) == {"Creating", "Available"}
    available = by_reason["Available"]
    assert available["type"] == "Normal" and available["message"] == "Creating -> Available"
    assert available["involvedObject"]["kind"] == "Volume"
    assert available["source"]["component"] == "kumulus-storage"

    # passes over the settled Volume (resync every second) post nothing more
    passes = value(samples, "kumulus_operator_passes_total", operator="storage")
    wait_for(
        lambda: value(scrape(url), "kumulus_operator_passes_total", operator="storage") >= passes + 3,
        timeout=15,
    )
    assert len(events_of(c, "data")) == 2


def test_quota_reaching_its_limit_posts_an_event(cluster: Cluster) -> None:
    c = cluster
    ns = "metrics-quota"
    c.kubectl("create", "namespace", ns)
    quota = {
        "apiVersion": "infra.kumulus.dev/v1alpha1",
        "kind": "Quota",
        "metadata": {"name": "limits", "namespace": ns},
        "spec": {"limits": {"volumes": 1}},
    }
    volume = {
        "apiVersion": "storage.kumulus.dev/v1alpha1",
        "kind": "Volume",
        "metadata": {"name": "only", "namespace": ns},
        "spec": {"sizeGiB": 1, "volumeType": "standard", "zone": "az1"},
    }
    c.kubectl("apply", "-f", "-", input=yaml.safe_dump(quota))
    c.kubectl("apply", "-f", "-", input=yaml.safe_dump(volume))
    events = wait_for(lambda: events_of(c, "limits", ns), timeout=15)
    assert [(e["type"], e["reason"]) for e in events] == [("Warning", "LimitReached")]
    assert events[0]["message"].startswith("volumes: 1 used of 1")
    url = endpoints(c)["operators"]
    wait_for(
        lambda: value(scrape(url), "kumulus_objects", operator="quota", kind="Quota", phase="AtLimit") == 1
    )
    second = {**volume, "metadata": {"name": "second", "namespace": ns}}
    refused = c.kubectl("apply", "-f", "-", input=yaml.safe_dump(second), check=False)
    assert refused.returncode != 0 and "quota exceeded" in refused.stderr
    assert value(scrape(url), "kumulus_quota_admission_reviews_total", result="denied") >= 1


def test_hostd_metrics_count_reconciles_and_guests_by_phase(cluster: Cluster) -> None:
    url = endpoints(cluster)["hostd"]

    def reconciled() -> Samples | None:
        samples = scrape(url)
        return samples if value(samples, "hostd_reconciles_total") > 0 else None

    samples = wait_for(reconciled, timeout=40)
    hosts = {dict(ls)["host"] for (n, ls) in samples if n == "hostd_reconciles_total"}
    assert len(hosts) == 2
    for host in hosts:
        assert ("hostd_guests", frozenset({("host", host), ("phase", "Running")})) in samples
        assert ("hostd_errors_total", frozenset({("host", host), ("op", "driver")})) in samples

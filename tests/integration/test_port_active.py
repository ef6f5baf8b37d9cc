"""A Port turns Active when OVN binds it on the chassis of its Server's Host, on real daemons: OVN northd +
NB/SB (ovn_daemons), a host's ovsdb-server, ovs-vswitchd (netdev) and ovn-controller in a network namespace
of its own (ovs_daemons) whose chassis is named after a simulated Host, and `kumulus up --components
operators,hostd --sim-hosts 1` whose scheduler places the Server on that Host.

Plugging an OVS interface with external_ids:iface-id=<Port UID> lets ovn-controller bind the Port: the Port
becomes Active (status.boundChassis, condition Bound, an Event); unplugging turns it Down again. The
operator bumps NB_Global.nb_cfg with each Northbound change, and /metrics reports how far the chassis'
ovn-controller lags: 0 when it keeps up, above 0 while it is stopped (SIGSTOP) and the cloud changes.
"""

from __future__ import annotations

import json
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from hostd.network import links
from hostd.network.ovs import OvsDB
from hostd.network.settings import OvsSettings

from .cluster import ROOT, Cluster, running
from .cluster import wait_for as wait_until
from .ovn_daemons import OvnDaemons, wait_for
from .ovs_daemons import OvsHost
from .test_network_operator import apply, condition, get, network, port

pytestmark = pytest.mark.integration

HOST = "sim-az1-1"  # the first of `--sim-hosts 1` (hostd.config.sim_hosts), in zone az1
NS = "default"
LAG = "kumulus_ovn_chassis_nb_cfg_lag"
TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory, ovn: OvnDaemons) -> Iterator[OvsHost]:
    h = OvsHost(Path(tmp_path_factory.mktemp("host")), HOST)
    try:
        h.start()
        ovs = OvsDB(h.remote)
        try:
            ovs.ensure(OvsSettings(HOST, ovn.sb_remote, "127.0.0.1", datapath_type="netdev"))
        finally:
            ovs.close()
        h.start_controller()
        wait_for("the chassis", lambda: [c for c in ovn.sb_rows("Chassis") if c["name"] == HOST], 20)
        yield h
        h.check_alive()
    finally:
        h.stop()
        print("\ntimings (s): " + ", ".join(f"{k} {v:.2f}" for k, v in TIMINGS.items()))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, ovn: OvnDaemons, host: OvsHost) -> Iterator[Cluster]:
    state = Path(tmp_path_factory.mktemp("pa")) / "s"
    state.mkdir()
    (state / "hostd.yaml").write_text("lease-seconds: 0.5\nboot-delay: 0.3\n")
    env = {
        "KUMULUS_OVN_NB": ovn.nb_remote,
        "KUMULUS_OVN_SB": ovn.sb_remote,
        "KUMULUS_RESYNC_SECONDS": "30",  # long: what happens here is woken by changes, not by resyncs
        "KUMULUS_STORAGE_SIM_DELAY": "0.1",
    }
    c = Cluster(
        state, crds_dir=ROOT / "crds", components="operators,hostd", extra_args=("--sim-hosts", "1"), env=env
    )
    with running(c, logs=("kumulus-operators.log", "kumulus-hostd.log")):
        yield c


def infrastructure() -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "infra.kumulus.dev/v1alpha1",
            "kind": "Zone",
            "metadata": {"name": "az1"},
            "spec": {"type": "Physical", "sites": ["dc1"]},
        },
        {
            "apiVersion": "compute.kumulus.dev/v1alpha1",
            "kind": "Flavor",
            "metadata": {"name": "m1.small"},
            "spec": {"vcpus": 1, "ramMiB": 1024},
        },
        {
            "apiVersion": "storage.kumulus.dev/v1alpha1",
            "kind": "VolumeType",
            "metadata": {"name": "standard"},
            "spec": {"isDefault": True, "backends": [{"zone": "az1", "pool": "volumes"}]},
        },
        {
            "apiVersion": "image.kumulus.dev/v1alpha1",
            "kind": "ClusterImage",
            "metadata": {"name": "debian-12"},
            "spec": {
                "source": {"url": "https://cloud.debian.org/images/cloud/bookworm/latest/debian-12.qcow2"},
                "diskFormat": "qcow2",
                "sha256": "c20a65411a99b6ad0f5d5162b0da7d6bf1d0ee1c8d051d6fa0cd5e7094a43719",
            },
        },
    ]


def server(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "compute.kumulus.dev/v1alpha1",
        "kind": "Server",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"flavor": "m1.small", "image": "debian-12", "networks": [{"network": "private"}]},
    }


def port_when(c: Cluster, name: str, check: Any, timeout: float) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        obj = get(c, "port", name, NS)
        return obj if obj and check(obj.get("status") or {}, condition(obj, "Bound")) else None

    found: dict[str, Any] = wait_until(probe, timeout=timeout, interval=0.05)
    return found


def events_of(c: Cluster, name: str) -> list[tuple[str, str]]:
    items = json.loads(c.kubectl("get", "events", "-n", NS, "-o", "json").stdout)["items"]
    return [(e["type"], e["reason"]) for e in items if e["involvedObject"].get("name") == name]


def lag(c: Cluster) -> float | None:
    """kumulus_ovn_chassis_nb_cfg_lag{chassis=HOST} from the operators' /metrics; None when not exported."""
    url = yaml.safe_load((c.state_dir / "metrics.yaml").read_text())["operators"]
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            text = resp.read().decode()
    except urllib.error.URLError:
        return None
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == LAG and s.labels.get("chassis") == HOST:
                return float(s.value)
    return None


def test_port_becomes_active_when_bound_on_its_host_and_down_when_unplugged(
    cluster: Cluster, ovn: OvnDaemons, host: OvsHost
) -> None:
    apply(cluster, *infrastructure())
    apply(cluster, *network(NS, "private", "10.0.0.0/24"), server("web"))
    nic = port_when(cluster, "web-nic0", lambda s, b: s.get("host") == HOST and b, timeout=30)
    uid = nic["metadata"]["uid"]
    assert nic["status"]["phase"] == "Down" and "boundChassis" not in nic["status"]
    assert condition(nic, "Bound")["reason"] == "NotBound"
    # the switch port asks for the Host's chassis
    lsp = wait_for(
        "the switch port", lambda: [r for r in ovn.nb_rows("Logical_Switch_Port") if r["name"] == uid]
    )
    assert lsp[0]["options"] == {"requested-chassis": HOST}

    # plug: a veth end on br-int naming the Port, as libvirt or hostd plugs a guest's NIC
    mac = nic["status"]["macAddress"]
    links.veth_into_netns("vweb", host.guest(1), "eth0", host_netns=host.netns, mac=mac)
    start = time.monotonic()
    host.vsctl("add-port", "br-int", "vweb", "--", "set", "interface", "vweb", f"external_ids:iface-id={uid}")
    wait_for("OVN binds the port", lambda: _binding_up(ovn, uid), timeout=20)
    TIMINGS["plug -> Port_Binding up"] = time.monotonic() - start
    active = port_when(cluster, "web-nic0", lambda s, b: s.get("phase") == "Active", timeout=20)
    TIMINGS["plug -> Port Active"] = time.monotonic() - start
    assert active["status"]["boundChassis"] == HOST
    assert (condition(active, "Bound")["status"], condition(active, "Bound")["reason"]) == ("True", "Bound")
    assert condition(active, "Ready")["status"] == "True"
    wait_until(lambda: ("Normal", "Active") in events_of(cluster, "web-nic0"), timeout=10)

    # unplug: ovn-controller releases the port, the Port goes Down
    start = time.monotonic()
    host.vsctl("del-port", "br-int", "vweb")
    down = port_when(cluster, "web-nic0", lambda s, b: s.get("phase") == "Down", timeout=20)
    TIMINGS["unplug -> Port Down"] = time.monotonic() - start
    assert "boundChassis" not in down["status"]
    assert condition(down, "Bound")["reason"] == "NotBound"
    wait_until(lambda: ("Normal", "NotBound") in events_of(cluster, "web-nic0"), timeout=10)
    # settled: no further writes to the Port
    version = down["metadata"]["resourceVersion"]
    time.sleep(2.5)
    assert get(cluster, "port", "web-nic0", NS)["metadata"]["resourceVersion"] == version


def _binding_up(ovn: OvnDaemons, uid: str) -> bool:
    rows = [r for r in ovn.sb_rows("Port_Binding") if r["logical_port"] == uid]
    return bool(rows) and rows[0]["up"] is True


def nb_cfg(ovn: OvnDaemons) -> int:
    return int(ovn.nb_rows("NB_Global")[0]["nb_cfg"])


def chassis_nb_cfg(ovn: OvnDaemons) -> int:
    return int(next(r["nb_cfg"] for r in ovn.sb_rows("Chassis_Private") if r["name"] == HOST))


def test_nb_cfg_is_bumped_and_a_stopped_ovn_controller_lags(
    cluster: Cluster, ovn: OvnDaemons, host: OvsHost
) -> None:
    assert nb_cfg(ovn) > 0, "the operator's Northbound transactions bump NB_Global.nb_cfg"
    wait_for("the chassis caught up", lambda: chassis_nb_cfg(ovn) == nb_cfg(ovn), timeout=20)
    wait_until(lambda: lag(cluster) == 0, timeout=10)

    controller = host.procs["controller"]
    controller.send_signal(signal.SIGSTOP)  # hung, by PID
    try:
        before = nb_cfg(ovn)
        apply(cluster, port(NS, "extra", "private"))  # a Northbound change
        wait_for("NB_Global.nb_cfg bumped", lambda: nb_cfg(ovn) > before, timeout=20)
        start = time.monotonic()
        found = wait_until(lambda: (v := lag(cluster)) is not None and v >= 1 and v, timeout=10)
        TIMINGS["NB change with a stopped ovn-controller -> lag >= 1"] = time.monotonic() - start
        assert found >= 1
        assert chassis_nb_cfg(ovn) < nb_cfg(ovn)
    finally:
        controller.send_signal(signal.SIGCONT)
    wait_until(lambda: lag(cluster) == 0, timeout=20)
    assert chassis_nb_cfg(ovn) == nb_cfg(ovn)

"""hostd's network role on real daemons: OVN northd + NB/SB (ovn_daemons), and a host's ovsdb-server,
ovs-vswitchd (netdev) and ovn-controller in a network namespace of its own (ovs_daemons).

hostd's code drives OVS (OvsDB.ensure, plan_nics) and reads the Southbound database (SouthboundDB,
ChassisMonitor); the real CLIs (ovs-vsctl, ovn-nbctl, ovn-sbctl) and real traffic (ping between two guest
namespaces) check the result. The tests run in order on one set of daemons: bridges and settings, the
chassis, two bound ports and traffic, port security, orphan removal, then ovn-controller stopping.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hostd.network import links
from hostd.network.chassis import READY, ChassisMonitor, SouthboundDB
from hostd.network.ovs import OvsDB
from hostd.network.ovs_plan import conflicts, plan
from hostd.network.ports import Nic, plan_nics, plugged
from hostd.network.settings import OvsSettings

from .ovn_daemons import OvnDaemons, as_set, list_rows, wait_for
from .ovs_daemons import OvsHost

pytestmark = pytest.mark.integration

HOST = "host1"
PORT1 = "5d1a4c1e-0000-4000-8000-000000000001"  # named like Kumulus Ports: the Port's UID
PORT2 = "5d1a4c1e-0000-4000-8000-000000000002"
SERVER1, SERVER2 = "a0000000-0000-4000-8000-000000000001", "a0000000-0000-4000-8000-000000000002"
MAC1, MAC2 = "02:4b:4d:00:00:01", "02:4b:4d:00:00:02"
IP1, IP2, SPOOFED = "10.77.0.11", "10.77.0.12", "10.77.0.99"
SWITCH = "kumulus-net-test"

TIMINGS: dict[str, float] = {}


class timed:
    def __init__(self, what: str) -> None:
        self.what = what

    def __enter__(self) -> None:
        self.start = time.monotonic()

    def __exit__(self, *exc: object) -> None:
        TIMINGS[self.what] = time.monotonic() - self.start


@pytest.fixture(scope="module")
def ovn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OvnDaemons]:
    daemons = OvnDaemons(Path(tmp_path_factory.mktemp("ovn")))
    try:
        with timed("start northd + NB/SB"):
            daemons.start()
        yield daemons
        daemons.check_alive()
    finally:
        daemons.stop()


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OvsHost]:
    h = OvsHost(Path(tmp_path_factory.mktemp("host")), HOST)
    try:
        with timed("start ovsdb-server + ovs-vswitchd in a netns"):
            h.start()
        yield h
    finally:
        h.stop()
        print("\ntimings (s): " + ", ".join(f"{k} {v:.2f}" for k, v in TIMINGS.items()))


@pytest.fixture(scope="module")
def settings(ovn: OvnDaemons) -> OvsSettings:
    return OvsSettings(
        system_id=HOST,
        ovn_remote=ovn.sb_remote,
        encap_ip="127.0.0.1",
        datapath_type="netdev",
        external_bridge="br-ex",
        uplink="upl0",
    )


@pytest.fixture(scope="module")
def ovs(host: OvsHost) -> Iterator[OvsDB]:
    db = OvsDB(host.remote)
    yield db
    db.close()


@pytest.fixture(scope="module")
def sb(ovn: OvnDaemons) -> Iterator[SouthboundDB]:
    db = SouthboundDB(ovn.sb_remote)
    yield db
    db.close()


def ids(host: OvsHost, table: str, record: str) -> dict[str, str]:
    out = host.vsctl("--format=json", "--data=json", "--columns=external_ids", "list", table, record)
    found: dict[str, str] = list_rows(out)[0]["external_ids"]
    return found


def test_ensure_bridges_and_controller_settings(host: OvsHost, ovs: OvsDB, settings: OvsSettings) -> None:
    # the uplink: a veth end in the host's namespace; someone else's bridge that must stay as it is
    links.veth_into_netns("upl0", host.guest(0), "phys0", host_netns=host.netns)
    with timed("ensure (fresh database, no Open_vSwitch row)"):
        commands = ovs.ensure(settings)
    assert commands
    # someone else's bridge and setting, which must stay as they are
    host.vsctl("add-br", "br-foreign", "--", "set", "bridge", "br-foreign", "datapath_type=netdev")
    host.vsctl("set", "open_vswitch", ".", "external_ids:ovn-cms-options=foreign")
    with timed("ensure again (no-op)"):
        assert ovs.ensure(settings) == []
    assert plan(settings, ovs.observe()) == []
    assert conflicts(settings, ovs.observe()) == []
    assert sorted(host.vsctl("list-br").split()) == ["br-ex", "br-foreign", "br-int"]
    for bridge in ("br-int", "br-ex"):
        assert host.vsctl("get", "bridge", bridge, "datapath_type") == "netdev"
        assert ids(host, "bridge", bridge)["kumulus:owner"] == "hostd"
    assert host.vsctl("get", "bridge", "br-int", "fail_mode") == "secure"
    assert host.vsctl("list-ports", "br-ex") == "upl0"
    assert ids(host, "port", "upl0")["kumulus:role"] == "uplink"
    assert ids(host, "bridge", "br-foreign") == {}
    ovs_ids = ids(host, "open_vswitch", ".")
    assert {k: ovs_ids[k] for k in settings.external_ids()} == {
        "system-id": "host1",
        "hostname": "host1",
        "ovn-remote": settings.ovn_remote,
        "ovn-encap-type": "geneve",
        "ovn-encap-ip": "127.0.0.1",
        "ovn-bridge": "br-int",
        "ovn-bridge-datapath-type": "netdev",
        "ovn-bridge-mappings": "physnet1:br-ex",
    }
    assert ovs_ids["ovn-cms-options"] == "foreign"
    # the datapath has them: ovs-vswitchd made the netdev bridges' taps in the host's namespace
    names = host.run_in(host.netns, "ip", "-o", "link", "show")
    assert "br-int" in names and "br-ex" in names
    # drift on our bridge is corrected, the foreign one is not touched
    host.vsctl("set", "bridge", "br-int", "fail_mode=standalone")
    host.vsctl("set", "bridge", "br-foreign", "fail_mode=standalone")
    assert [type(c).__name__ for c in ovs.ensure(settings)] == ["UpdateBridge"]
    assert host.vsctl("get", "bridge", "br-int", "fail_mode") == "secure"
    assert host.vsctl("get", "bridge", "br-foreign", "fail_mode") == "standalone"


def test_chassis_registers_and_is_ready(
    host: OvsHost, ovn: OvnDaemons, sb: SouthboundDB, ovs: OvsDB, settings: OvsSettings
) -> None:
    start = time.monotonic()
    host.start_controller()
    rows = wait_for(
        "the Chassis row", lambda: [c for c in ovn.sb_rows("Chassis") if c["name"] == HOST], timeout=20
    )
    TIMINGS["ovn-controller start -> Chassis row"] = time.monotonic() - start
    encaps = {e["_uuid"]: e for e in ovn.sb_rows("Encap")}
    mine = [encaps[u] for u in as_set(rows[0]["encaps"])]
    assert [(e["type"], e["ip"]) for e in mine] == [("geneve", "127.0.0.1")]
    monitor = ChassisMonitor(sb, HOST, "127.0.0.1", grace=0.0)
    wait_for("chassis health Ready", lambda: monitor.health(time.monotonic()) == READY, timeout=20)
    TIMINGS["ovn-controller start -> Ready"] = time.monotonic() - start
    assert ChassisMonitor(sb, HOST, "127.0.0.2").health(time.monotonic()).startswith("EncapMismatch")
    assert ovs.ensure(settings) == []  # what ovn-controller wrote (Interface keys...) is no drift


def nics() -> dict[str, Nic]:
    return {PORT1: Nic(PORT1, SERVER1, "vh1", MAC1), PORT2: Nic(PORT2, SERVER2, "vh2", MAC2)}


def test_two_ports_bind_and_ping(host: OvsHost, ovn: OvnDaemons, ovs: OvsDB, sb: SouthboundDB) -> None:
    ovn.nbctl("ls-add", SWITCH)
    for port, mac, ip in ((PORT1, MAC1, IP1), (PORT2, MAC2, IP2)):
        ovn.nbctl("lsp-add", SWITCH, port)
        ovn.nbctl("lsp-set-addresses", port, f"{mac} {ip}")
        ovn.nbctl("lsp-set-options", port, f"requested-chassis={HOST}")
    for n, (mac, ip) in enumerate(((MAC1, IP1), (MAC2, IP2)), start=1):
        guest = host.guest(n)
        links.veth_into_netns(f"vh{n}", guest, "eth0", f"{ip}/24", host_netns=host.netns, mac=mac)
        links.tx_offload_off(f"vh{n}", host.netns)
        links.tx_offload_off("eth0", guest)
    start = time.monotonic()
    commands = plan_nics(nics(), ovs.observe())
    assert len(commands) == 2
    ovs.apply(commands)
    assert plan_nics(nics(), ovs.observe()) == []
    wait_for("both ports bound and up", lambda: sb.bound_ports(HOST) == {PORT1, PORT2}, timeout=20)
    TIMINGS["plug -> both ports bound+up"] = time.monotonic() - start
    assert [(p.name, p.iface_id, p.owned) for p in plugged(ovs.observe())] == [
        ("vh1", PORT1, True),
        ("vh2", PORT2, True),
    ]
    assert host.vsctl("get", "interface", "vh1", "external_ids:iface-id") == f'"{PORT1}"'
    start = time.monotonic()
    host.run_in(host.guest_name(1), "ping", "-c", "3", "-i", "0.2", "-W", "2", IP2)
    TIMINGS["ping 3x g1->g2"] = time.monotonic() - start
    host.run_in(host.guest_name(2), "ping", "-c", "1", "-W", "2", IP1)


def in_echos(host: OvsHost, guest: str) -> int:
    """ICMP echo requests the guest's stack received (Icmp InEchos in /proc/net/snmp)."""
    lines = [line.split() for line in host.run_in(guest, "cat", "/proc/net/snmp").splitlines()]
    icmp = [line for line in lines if line[0] == "Icmp:"]
    return int(icmp[1][icmp[0].index("InEchos")])


def send_spoofed(host: OvsHost, count: int = 3) -> int:
    """Echo requests from guest 1 with a source address that is not its own; how many reached guest 2."""
    g1, g2 = host.guest_name(1), host.guest_name(2)
    before = in_echos(host, g2)
    host.run_in(g1, "ping", "-c", str(count), "-i", "0.2", "-W", "1", "-I", SPOOFED, IP2, check=False)
    return in_echos(host, g2) - before


def test_port_security_drops_a_spoofed_source(host: OvsHost, ovn: OvnDaemons) -> None:
    g1 = host.guest_name(1)
    host.run_in(g1, "ip", "addr", "add", f"{SPOOFED}/32", "dev", "eth0")
    # no ARP from the spoofed address is needed: guest 1 knows guest 2's MAC
    host.run_in(g1, "ip", "neigh", "replace", IP2, "lladdr", MAC2, "dev", "eth0", "nud", "permanent")
    assert send_spoofed(host) == 3  # without port security the spoofed packets arrive (the check can fail)
    ovn.nbctl("lsp-set-port-security", PORT1, f"{MAC1} {IP1}")
    ovn.nbctl("--wait=hv", "sync")
    assert send_spoofed(host) == 0
    host.run_in(g1, "ping", "-c", "2", "-i", "0.2", "-W", "2", IP2)  # its own address still passes


def test_orphan_ports_are_removed_foreign_ones_stay(host: OvsHost, ovs: OvsDB, sb: SouthboundDB) -> None:
    # a port plugged by someone else with a Kumulus-like iface-id (as libvirt plugs its taps)
    links.veth_into_netns("vforeign", host.guest(3), "eth0", host_netns=host.netns)
    host.vsctl(
        "add-port", "br-int", "vforeign", "--", "set", "interface", "vforeign",
        "external_ids:iface-id=5d1a4c1e-0000-4000-8000-00000000ffff",
    )  # fmt: skip
    # Server 2 is gone while hostd was down: its NIC port is an orphan
    left = {PORT1: nics()[PORT1]}
    start = time.monotonic()
    commands = plan_nics(left, ovs.observe())
    assert [type(c).__name__ for c in commands] == ["DeletePort"]
    ovs.apply(commands)
    assert plan_nics(left, ovs.observe()) == []
    wait_for("port 2 unbound", lambda: sb.bound_ports(HOST) == {PORT1}, timeout=20)
    TIMINGS["orphan removed -> unbound"] = time.monotonic() - start
    ports = host.vsctl("list-ports", "br-int").split()
    assert "vh2" not in ports and "vh1" in ports and "vforeign" in ports
    # every NIC gone: only the foreign one (and OVN's patch port) stays on br-int
    ovs.apply(plan_nics({}, ovs.observe()))
    ports = host.vsctl("list-ports", "br-int").split()
    assert "vh1" not in ports and "vforeign" in ports
    assert all(p == "vforeign" or p.startswith("patch-") for p in ports), ports


def test_stopping_ovn_controller_is_not_ready(host: OvsHost, ovn: OvnDaemons, sb: SouthboundDB) -> None:
    monitor = ChassisMonitor(sb, HOST, "127.0.0.1", grace=1.0)
    assert monitor.health(time.monotonic()) == READY
    # killed: its rows stay; it stops following nb_cfg, which the control plane bumps
    host.stop_controller(signal.SIGKILL)
    start = time.monotonic()
    ovn.nbctl("set", "NB_Global", ".", "nb_cfg=1000")
    wait_for("SB_Global.nb_cfg bumped", lambda: sb.snapshot().nb_cfg >= 1000)
    first = monitor.health(time.monotonic())
    assert first == READY, "a lag within the grace period is not a fault yet"
    health = wait_for(
        "stale chassis", lambda: (h := monitor.health(time.monotonic())) != READY and h, timeout=10
    )
    TIMINGS["kill -9 + nb_cfg bump -> not Ready"] = time.monotonic() - start
    assert health.startswith("Stale: ovn-controller at nb_cfg")
    # restarted: it catches up and is Ready again
    host.start_controller()
    wait_for("Ready again", lambda: monitor.health(time.monotonic()) == READY, timeout=20)
    # a graceful stop removes the chassis
    start = time.monotonic()
    assert host.controller_exit() == 0
    health = wait_for(
        "no chassis", lambda: (h := monitor.health(time.monotonic())) != READY and h, timeout=10
    )
    TIMINGS["ovn-appctl exit -> not Ready"] = time.monotonic() - start
    assert health.startswith("NoChassis")

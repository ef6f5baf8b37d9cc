"""hostd's network plans (pure): OVS settings and bridges, guest NIC ports and orphans, chassis health.

Plans are applied to an in-memory OvsObserved by `simulate` (what the OVSDB applier does to the database),
and planning again must give nothing. tests/integration/test_hostd_network.py runs them on real daemons.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from controllers.api.infra import HostRole
from hostd.network.chassis import (
    READY,
    BindingObs,
    ChassisObs,
    SbSnapshot,
    bound_ports,
    health,
    lag_since,
)
from hostd.network.ovs_plan import (
    MANAGED_KEYS,
    MARK,
    AddBridge,
    AddPort,
    BridgeObs,
    Command,
    DeleteBridge,
    DeletePort,
    OvsObserved,
    PortObs,
    SetExternalIds,
    UpdateBridge,
    conflicts,
    plan,
)
from hostd.network.ports import Nic, orphans, plan_nics, plugged
from hostd.network.settings import OvsSettings, for_host


def settings(**kw: object) -> OvsSettings:
    base: dict[str, object] = {"system_id": "host1", "ovn_remote": "unix:/x/sb.sock", "encap_ip": "10.0.0.5"}
    return OvsSettings(**{**base, **kw})  # type: ignore[arg-type]


def simulate(observed: OvsObserved, commands: Iterable[Command]) -> OvsObserved:
    """What OvsDB.apply does to the database, on the observed form."""
    ids = dict(observed.external_ids)
    bridges = dict(observed.bridges)
    ports = dict(observed.ports)
    for c in commands:
        if isinstance(c, SetExternalIds):
            for key in c.remove:
                ids.pop(key, None)
            ids.update(c.values)
        elif isinstance(c, AddBridge):
            assert c.name not in bridges
            bridges[c.name] = BridgeObs(
                c.name, c.datapath_type, c.fail_mode, dict(c.other_config), dict(c.external_ids)
            )
            ports[c.name] = PortObs(c.name, c.name, dict(c.external_ids), "internal", dict(c.external_ids))
        elif isinstance(c, UpdateBridge):
            old = bridges[c.name]
            bridges[c.name] = BridgeObs(
                c.name,
                c.datapath_type,
                c.fail_mode,
                {**old.other_config, **c.other_config},
                old.external_ids,
            )
        elif isinstance(c, DeleteBridge):
            del bridges[c.name]
            ports = {n: p for n, p in ports.items() if p.bridge != c.name}
        elif isinstance(c, AddPort):
            assert c.bridge in bridges and c.name not in ports
            ports[c.name] = PortObs(c.name, c.bridge, dict(c.external_ids), c.iface_type, dict(c.iface_ids))
        elif isinstance(c, DeletePort):
            assert ports[c.name].bridge == c.bridge
            del ports[c.name]
    return OvsObserved(ids, bridges, ports)


def converge(s: OvsSettings, observed: OvsObserved) -> tuple[list[Command], OvsObserved]:
    commands = plan(s, observed)
    after = simulate(observed, commands)
    assert plan(s, after) == []
    return commands, after


# -- settings -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("system_id", ""),
        ("ovn_remote", "10.0.0.1:6642"),
        ("encap_ip", "not-an-ip"),
        ("datapath_type", "dpdk"),
        ("integration_bridge", "a-name-longer-than-15"),
        ("uplink", "eth1"),  # no external bridge
        ("physical_network", "phys:net"),
    ],
)
def test_bad_settings_name_the_field(field: str, value: str) -> None:
    with pytest.raises(ValueError, match=f"^{field}:"):
        settings(**{field: value})


def test_settings_for_host_by_role() -> None:
    compute = for_host("h1", [HostRole.COMPUTE], "tcp:10.0.0.1:6642", "10.0.0.5", uplink="eth1")
    assert compute.external_bridge is None and compute.uplink is None
    assert "ovn-bridge-mappings" not in compute.external_ids()
    network = for_host("h2", [HostRole.NETWORK], "tcp:10.0.0.1:6642", "10.0.0.6", "netdev", uplink="eth1")
    ids = network.external_ids()
    assert ids["system-id"] == "h2"
    assert ids["ovn-bridge-mappings"] == "physnet1:br-ex"
    assert ids["ovn-encap-type"] == "geneve" and ids["ovn-encap-ip"] == "10.0.0.6"
    assert ids["ovn-bridge-datapath-type"] == "netdev"
    assert [b.name for b in network.bridges()] == ["br-int", "br-ex"]


# -- the OVS plan ---------------------------------------------------------------------------------------


def test_fresh_database_gets_everything_then_nothing() -> None:
    s = settings(datapath_type="netdev", external_bridge="br-ex", uplink="eth1")
    commands, after = converge(s, OvsObserved())
    kinds = [type(c).__name__ for c in commands]
    assert kinds == ["SetExternalIds", "AddBridge", "AddBridge", "AddPort"]
    assert after.bridges["br-int"].datapath_type == "netdev"
    assert after.bridges["br-int"].fail_mode == "secure"
    assert after.bridges["br-ex"].fail_mode is None
    assert after.ports["eth1"].bridge == "br-ex" and after.ports["eth1"].owned
    assert after.external_ids["ovn-bridge-mappings"] == "physnet1:br-ex"
    assert set(after.external_ids[MANAGED_KEYS].split(",")) >= {"system-id", "ovn-remote", "ovn-encap-ip"}


def test_datapath_drift_is_corrected_on_our_bridge_only() -> None:
    _, after = converge(settings(datapath_type="netdev"), OvsObserved())
    commands, after = converge(settings(datapath_type="system"), after)
    assert [type(c) for c in commands] == [SetExternalIds, UpdateBridge]
    assert after.bridges["br-int"].datapath_type == "system"


def test_someone_elses_bridge_and_ports_stay() -> None:
    foreign = OvsObserved(
        external_ids={"system-id": "old", "other": "kept"},
        bridges={"br-int": BridgeObs("br-int", "system", None, {}, {})},
        ports={
            "br-int": PortObs("br-int", "br-int", iface_type="internal"),
            "vnet0": PortObs("vnet0", "br-int", iface_ids={"iface-id": "p1"}),
        },
    )
    s = settings(datapath_type="netdev")
    commands, after = converge(s, foreign)
    assert [type(c) for c in commands] == [SetExternalIds]  # no bridge command: br-int is not ours
    assert after.bridges["br-int"] == foreign.bridges["br-int"]
    assert after.ports == foreign.ports
    assert after.external_ids["other"] == "kept"
    assert conflicts(s, after) == ["bridge br-int: not Kumulus's, datapath_type system (want netdev)"]


def test_losing_the_network_role_removes_only_what_we_made() -> None:
    s = settings(external_bridge="br-ex", uplink="eth1")
    _, after = converge(s, OvsObserved())
    # ovn-controller's patch port on br-ex and an unrelated key are not ours
    after = OvsObserved(
        {**after.external_ids, "ovn-cms-options": "x"},
        after.bridges,
        {**after.ports, "patch-br-ex": PortObs("patch-br-ex", "br-ex", iface_type="patch")},
    )
    commands, after = converge(settings(), after)
    assert DeleteBridge("br-ex") in commands
    assert not any(isinstance(c, DeletePort) for c in commands)  # the bridge takes its ports
    assert "ovn-bridge-mappings" not in after.external_ids
    assert after.external_ids["ovn-cms-options"] == "x"
    assert set(after.bridges) == {"br-int"}


def test_uplink_change_moves_our_port_and_never_takes_a_foreign_one() -> None:
    _, after = converge(settings(external_bridge="br-ex", uplink="eth1"), OvsObserved())
    commands, after = converge(settings(external_bridge="br-ex", uplink="eth2"), after)
    assert DeletePort("br-ex", "eth1") in commands and "eth1" not in after.ports
    assert after.ports["eth2"].bridge == "br-ex"
    taken = OvsObserved(
        after.external_ids, after.bridges, {**after.ports, "eth3": PortObs("eth3", "br-other")}
    )
    commands, _ = converge(settings(external_bridge="br-ex", uplink="eth3"), taken)
    assert not any(isinstance(c, AddPort) for c in commands)
    assert conflicts(settings(external_bridge="br-ex", uplink="eth3"), taken) == [
        "uplink eth3: already a port of bridge br-other, not Kumulus's"
    ]


def test_a_managed_key_no_longer_wanted_is_removed() -> None:
    observed = OvsObserved(external_ids={MANAGED_KEYS: "ovn-bridge-mappings", "ovn-bridge-mappings": "a:b"})
    commands, after = converge(settings(), observed)
    assert isinstance(commands[0], SetExternalIds) and commands[0].remove == ("ovn-bridge-mappings",)
    assert "ovn-bridge-mappings" not in after.external_ids


# -- guest NIC ports ------------------------------------------------------------------------------------

P1, P2, P3 = (f"00000000-0000-4000-8000-00000000000{i}" for i in (1, 2, 3))
S1, S2 = "server-1", "server-2"


def with_br_int() -> OvsObserved:
    return converge(settings(), OvsObserved())[1]


def converge_nics(desired: dict[str, Nic], observed: OvsObserved) -> tuple[list[Command], OvsObserved]:
    commands = plan_nics(desired, observed)
    after = simulate(observed, commands)
    assert plan_nics(desired, after) == []
    return commands, after


def test_nics_plugged_with_iface_id_and_marks() -> None:
    desired = {P1: Nic(P1, S1, "tap1", "02:00:00:00:00:01"), P2: Nic(P2, S1, "tap2")}
    commands, after = converge_nics(desired, with_br_int())
    assert len(commands) == 2
    tap1 = after.ports["tap1"]
    assert tap1.iface_ids["iface-id"] == P1 and tap1.iface_ids["attached-mac"] == "02:00:00:00:00:01"
    assert tap1.external_ids["kumulus:server"] == S1 and tap1.owned
    assert MARK.items() <= tap1.iface_ids.items()  # the Interface is marked too
    assert [(p.name, p.iface_id, p.owned) for p in plugged(after)] == [("tap1", P1, True), ("tap2", P2, True)]


def test_orphans_removed_foreign_iface_ids_kept() -> None:
    desired = {P1: Nic(P1, S1, "tap1"), P2: Nic(P2, S2, "tap2")}
    _, after = converge_nics(desired, with_br_int())
    # libvirt's own tap for a Kumulus Port: has an iface-id, not our marks
    vnet = PortObs("vnet0", "br-int", iface_ids={"iface-id": P3})
    after = OvsObserved(after.external_ids, after.bridges, {**after.ports, "vnet0": vnet})
    # Server 2 is gone (e.g. hostd was killed while deleting it)
    left = {P1: desired[P1]}
    assert orphans(left, after) == ["tap2"]
    commands, after = converge_nics(left, after)
    assert commands == [DeletePort("br-int", "tap2")]
    assert set(after.ports) == {"br-int", "tap1", "vnet0"}
    # nothing desired: every marked NIC goes, libvirt's stays, the bridge's own port too
    _, after = converge_nics({}, after)
    assert set(after.ports) == {"br-int", "vnet0"}


def test_nic_replugged_when_its_mac_changes_and_ovn_keys_ignored() -> None:
    _, after = converge_nics({P1: Nic(P1, S1, "tap1", "02:00:00:00:00:01")}, with_br_int())
    # ovn-controller adds ovn-installed to the Interface: no replug for that
    tap1 = after.ports["tap1"]
    tap1 = PortObs(tap1.name, tap1.bridge, tap1.external_ids, "", {**tap1.iface_ids, "ovn-installed": "true"})
    after = OvsObserved(after.external_ids, after.bridges, {**after.ports, "tap1": tap1})
    assert plan_nics({P1: Nic(P1, S1, "tap1", "02:00:00:00:00:01")}, after) == []
    commands, after = converge_nics({P1: Nic(P1, S1, "tap1", "02:00:00:00:00:09")}, after)
    assert [type(c) for c in commands] == [DeletePort, AddPort]
    assert after.ports["tap1"].iface_ids["attached-mac"] == "02:00:00:00:00:09"


def test_nic_name_taken_by_a_foreign_port_is_left_alone() -> None:
    base = with_br_int()
    foreign = OvsObserved(base.external_ids, base.bridges, {**base.ports, "tap1": PortObs("tap1", "br-int")})
    assert plan_nics({P1: Nic(P1, S1, "tap1")}, foreign) == []


def test_bad_nic_input() -> None:
    with pytest.raises(ValueError, match=r"^device:"):
        plan_nics({P1: Nic(P1, S1, "tap"), P2: Nic(P2, S1, "tap")}, with_br_int())
    with pytest.raises(ValueError, match=r"^port_uid:"):
        plan_nics({P1: Nic(P2, S1, "tap")}, with_br_int())


def test_no_integration_bridge_no_nic_commands() -> None:
    assert plan_nics({P1: Nic(P1, S1, "tap1")}, OvsObserved()) == []


# -- chassis health and bindings ------------------------------------------------------------------------


def snap(
    nb_cfg: int = 3, private: int | None = 3, encaps: tuple[tuple[str, str], ...] = (("geneve", "10.0.0.5"),)
) -> SbSnapshot:
    return SbSnapshot(
        nb_cfg,
        {"host1": ChassisObs("host1", encaps)},
        {} if private is None else {"host1": private},
        {
            P1: BindingObs(P1, "host1", True),
            P2: BindingObs(P2, "host1", False),
            P3: BindingObs(P3, "host2", True),
        },
    )


def test_health_ready_and_reasons() -> None:
    assert health(snap(), "host1", "10.0.0.5") == READY
    assert health(snap(), "host9").startswith("NoChassis:")
    assert health(snap(encaps=(("vxlan", "10.0.0.5"),)), "host1").startswith("NoEncap:")
    assert health(snap(), "host1", "10.0.0.6") == "EncapMismatch: geneve 10.0.0.5, want 10.0.0.6"
    assert health(snap(private=None), "host1").startswith("NoChassisPrivate:")


def test_lag_is_stale_only_after_grace() -> None:
    lagging = snap(nb_cfg=5, private=3)
    since = lag_since(None, lagging, "host1", now=100.0)
    assert since == 100.0
    assert health(lagging, "host1", lagging_since=since, now=110.0, grace=30.0) == READY
    since = lag_since(since, lagging, "host1", now=131.0)
    assert since == 100.0
    assert health(lagging, "host1", lagging_since=since, now=131.0, grace=30.0).startswith("Stale:")
    assert lag_since(since, snap(nb_cfg=5, private=5), "host1", now=132.0) is None


def test_bound_ports_are_up_and_on_this_chassis() -> None:
    assert bound_ports(snap(), "host1") == {P1}
    assert bound_ports(snap(), "host2") == {P3}
    assert bound_ports(snap(), "host3") == set()

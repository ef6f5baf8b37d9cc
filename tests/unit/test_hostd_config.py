"""hostd's options: the libvirt driver's and the network's, from flags and the config file, validated with
errors naming the option."""

from __future__ import annotations

from pathlib import Path

import pytest

from hostd.config import HostConfig, LibvirtConfig, NetworkConfig, monitors_from_conf
from hostd.main import host_configs, parse_args


def test_libvirt_options_from_flags() -> None:
    args = parse_args(
        [
            "--driver=libvirt",
            "--virt-type=qemu",
            "--libvirt-uri=qemu:///system?socket=/tmp/x/sock",
            "--state-dir=/tmp/hostd-state",
            "--shutdown-timeout=2",
            "--volume-backend=file",
            "--kubeconfig=/dev/null",
        ]
    )
    (cfg,) = host_configs(args)
    assert cfg.driver == "libvirt" and cfg.network is None
    lv = cfg.libvirt
    assert lv is not None
    assert (lv.uri, lv.virt_type, lv.state_dir, lv.shutdown_timeout) == (
        "qemu:///system?socket=/tmp/x/sock",
        "qemu",
        Path("/tmp/hostd-state"),
        2.0,
    )
    assert lv.volumes == Path("/tmp/hostd-state/volumes")


def test_options_from_the_config_file(tmp_path: Path) -> None:
    conf = tmp_path / "hostd.yaml"
    conf.write_text(
        "driver: libvirt\nvirt-type: kvm\nstate-dir: /srv/hostd\nceph-monitors: [10.0.0.1, '10.0.0.2:6789']\n"
        "ovn-sb-remote: tcp:10.0.0.1:6642\nencap-ip: 10.0.0.5\ndatapath-type: netdev\n"
        "bridge-mappings: ext:br-ext\nuplink: eth1\nroles: [compute, network]\n"
    )
    (cfg,) = host_configs(parse_args(["--config", str(conf)]))
    assert cfg.libvirt is not None and cfg.libvirt.ceph_monitors == ("10.0.0.1", "10.0.0.2:6789")
    assert cfg.libvirt.monitors() == ("10.0.0.1", "10.0.0.2:6789")
    net = cfg.network
    assert net is not None
    assert (net.ovn_sb_remote, net.encap_ip, net.datapath_type) == ("tcp:10.0.0.1:6642", "10.0.0.5", "netdev")
    assert (net.physical_network, net.external_bridge, net.uplink) == ("ext", "br-ext", "eth1")


def test_state_dir_defaults_under_kumulus_up(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KUMULUS_STATE_DIR", str(tmp_path))
    (cfg,) = host_configs(parse_args(["--driver", "libvirt"]))
    assert cfg.libvirt is not None and cfg.libvirt.state_dir == tmp_path / "hostd"


@pytest.mark.parametrize(
    ("flags", "option"),
    [
        (["--driver=libvirt", "--virt-type=xen"], "virt-type"),
        (["--driver=libvirt", "--libvirt-uri=nope"], "libvirt-uri"),
        (["--driver=libvirt", "--shutdown-timeout=-1"], "shutdown-timeout"),
        (["--driver=libvirt", "--volume-backend=nfs"], "volume-backend"),
        (["--driver=libvirt", "--ceph-user=admin"], "ceph-user"),
        (["--driver=libvirt", "--ceph-monitors=bad host"], "ceph-monitors"),
        (["--ovn-sb-remote=10.0.0.1:6642", "--encap-ip=10.0.0.5"], "ovn-sb-remote"),
        (["--ovn-sb-remote=tcp:10.0.0.1:6642"], "encap-ip"),
        (["--ovn-sb-remote=tcp:10.0.0.1:6642", "--encap-ip=nope"], "encap-ip"),
        (["--ovn-sb-remote=tcp:1.2.3.4:6642", "--encap-ip=1.2.3.5", "--datapath-type=dpdk"], "datapath-type"),
        (
            ["--ovn-sb-remote=tcp:1.2.3.4:6642", "--encap-ip=1.2.3.5", "--bridge-mappings=br-ex"],
            "bridge-mappings",
        ),
        (["--encap-ip=10.0.0.5"], "encap-ip"),
        (["--driver=libvirt", "--sim-hosts=2"], "sim-hosts"),
    ],
)
def test_bad_options_name_the_option(flags: list[str], option: str) -> None:
    with pytest.raises(ValueError, match=f"^{option}"):
        host_configs(parse_args(flags))


def test_relative_paths() -> None:
    with pytest.raises(ValueError, match=r"^state-dir"):
        LibvirtConfig(state_dir=Path("relative"))
    with pytest.raises(ValueError, match=r"^volume-dir"):
        LibvirtConfig(volume_dir=Path("relative"))
    (cfg,) = host_configs(parse_args(["--driver=libvirt", "--state-dir=relative"]))
    assert cfg.libvirt is not None and cfg.libvirt.state_dir == Path.cwd() / "relative"  # from the cwd


def test_driver_libvirt_needs_its_settings() -> None:
    with pytest.raises(ValueError, match=r"^driver"):
        HostConfig(name="h1", driver="libvirt")
    with pytest.raises(ValueError, match=r"^driver"):
        HostConfig(name="h1", driver="xen")


def test_monitors_from_ceph_conf(tmp_path: Path) -> None:
    text = "[global]\nfsid = x\nmon host = [v2:10.0.0.1:3300/0,v1:10.0.0.1:6789/0] [v2:10.0.0.2:3300/0,v1:10.0.0.2:6789/0]\n"
    assert monitors_from_conf(text) == ("10.0.0.1:6789", "10.0.0.2:6789")
    assert monitors_from_conf("mon_host = 10.0.0.1,10.0.0.2\n") == ("10.0.0.1", "10.0.0.2")
    with pytest.raises(ValueError, match=r"^ceph-conf"):
        monitors_from_conf("[global]\n")
    conf = tmp_path / "ceph.conf"
    conf.write_text("mon host = 192.168.1.1\n")
    assert LibvirtConfig(ceph_conf=conf).monitors() == ("192.168.1.1",)
    with pytest.raises(ValueError, match=r"^ceph-monitors"):
        LibvirtConfig().monitors()


def test_network_config_defaults() -> None:
    net = NetworkConfig(ovn_sb_remote="tcp:10.0.0.1:6642", encap_ip="10.0.0.5")
    assert (net.physical_network, net.external_bridge, net.ovs_db) == (
        "physnet1",
        "br-ex",
        "unix:/var/run/openvswitch/db.sock",
    )

"""Guest plan -> libvirt config: each builder, the whole domain's XML, the plan's checks, the state map."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import libvirt
import pytest

from controllers.scheduling import Resources
from hostd.drivers.base import GuestPhase, GuestSpec
from hostd.drivers.libvirt import phase_of
from hostd.guest_devices import CrashPolicy, DiskPlan, GuestPlan, NicPlan, PowerPolicy, RbdSource
from hostd.libvirt.builders import (
    GUEST_OFFLOADS_OFF,
    HOST_OFFLOADS_OFF,
    DomainSettings,
    config_drive_config,
    console_config,
    disk_config,
    domain_config,
    metadata_config,
    nic_config,
    wanted_disks,
)
from hostd.libvirt.config import GuestCharDevice, GuestDomain, NetworkHost
from hostd.libvirt.resolver import ServerOnlyResolver

UID = "0b7c3c1e-7d4a-4c39-9d6e-0f5b1c2a3d4e"
PORT = "5f0e2b8a-1c3d-4e5f-8a9b-0c1d2e3f4a5b"
SECRET = "1b2c3d4e-0000-4000-8000-000000000001"
ROOT = DiskPlan("vda", rbd=RbdSource("vms", f"{UID}-root", ("10.0.0.1:6789", "10.0.0.2")), boot_order=1)
DATA = DiskPlan(
    "vdb",
    rbd=RbdSource("volumes", "vol-1", ("mon1:3300",), user="kumulus", secret_uuid=SECRET),
    serial="v1",
    size_bytes=2 << 30,
)
NIC = NicPlan(PORT, "fa:16:3e:00:00:01")
PLAN = GuestPlan(
    uid=UID,
    namespace="demo",
    name="web-1",
    resources=Resources(2, 2048, 0),
    flavor="m1.small",
    disks=(ROOT, DATA),
    nics=(NIC,),
    config_drive="/var/lib/kumulus/config-drives/x.iso",
    console_log="/var/lib/kumulus/console/x.log",
)
SETTINGS = DomainSettings(virt_type="qemu", host="cmp-1")


def test_rbd_disk_is_a_network_disk_read_by_qemu() -> None:
    d = disk_config(ROOT)
    assert (d.source_type, d.source_protocol, d.source_name) == ("network", "rbd", f"vms/{UID}-root")
    assert d.source_hosts == (NetworkHost("10.0.0.1", 6789), NetworkHost("10.0.0.2"))
    assert d.auth is None and d.boot_order == 1 and d.target_bus == "virtio"
    with_auth = disk_config(DATA)
    assert with_auth.auth is not None and (with_auth.auth.username, with_auth.auth.secret_uuid) == (
        "kumulus",
        SECRET,
    )
    assert with_auth.serial == "v1"


def test_file_disk() -> None:
    d = disk_config(DiskPlan("vdc", path="/srv/x.raw", readonly=True))
    assert (d.source_type, d.source_path, d.readonly, d.driver_type) == ("file", "/srv/x.raw", True, "raw")


def test_config_drive_is_a_read_only_virtio_disk() -> None:
    d = config_drive_config("/cd.iso")
    assert (d.device, d.target_dev, d.target_bus, d.readonly, d.source_path) == (
        "disk",
        "vdz",
        "virtio",
        True,
        "/cd.iso",
    )


def test_nic_on_ovs_with_the_port_as_interfaceid_and_offloads_off() -> None:
    i = nic_config(NIC)
    assert (i.source_bridge, i.virtualport_type, i.interface_id, i.mac) == (
        "br-int",
        "openvswitch",
        PORT,
        NIC.mac,
    )
    assert i.target_dev == "tap5f0e2b8a-1c" and i.model == "virtio"
    assert i.host_offloads == HOST_OFFLOADS_OFF and i.guest_offloads == GUEST_OFFLOADS_OFF
    on = nic_config(NicPlan(PORT, NIC.mac, offloads_off=False, mtu=1442))
    assert on.driver_name is None and on.host_offloads == () and on.mtu == 1442


def test_offloads_xml_is_the_recipe() -> None:
    driver = nic_config(NIC).to_xml().find("driver")
    assert driver is not None and driver.get("name") == "qemu"
    assert ET.tostring(driver.find("host"), encoding="unicode").strip() == (  # type: ignore[arg-type]
        '<host csum="off" gso="off" tso4="off" tso6="off" ecn="off" ufo="off" />'
    )
    assert ET.tostring(driver.find("guest"), encoding="unicode").strip() == (  # type: ignore[arg-type]
        '<guest csum="off" tso4="off" tso6="off" ecn="off" ufo="off" />'
    )


def test_console_to_the_log_file() -> None:
    serials, consoles = console_config("/c.log")
    assert serials == (GuestCharDevice("serial", "file", "/c.log", True),)
    assert consoles == (GuestCharDevice("console", "file", "/c.log", True, target_type="serial"),)
    assert console_config(None)[0][0].source_type == "pty"


def test_metadata_marks_the_owner() -> None:
    m = metadata_config(PLAN, SETTINGS, "2024-01-01T00:00:00Z")
    assert (m.uid, m.consumer, m.flavor, m.host, m.resources) == (
        UID,
        "demo/web-1",
        "m1.small",
        "cmp-1",
        PLAN.resources,
    )
    # Our disks, by serial (device without one); the config drive is not among them.
    assert m.disks == ("dev:vda", "serial:v1")


def test_wanted_disks_carry_the_volume_size() -> None:
    root, data = wanted_disks(PLAN)
    assert (root.disk, root.size_bytes) == (disk_config(ROOT), None)
    assert (data.disk, data.size_bytes, data.key) == (disk_config(DATA), 2 << 30, "serial:v1")


def test_whole_domain() -> None:
    d = domain_config(PLAN, SETTINGS, "2024-01-01T00:00:00Z")
    assert (d.uuid, d.name, d.virt_type, d.vcpus, d.memory_kib) == (
        UID,
        f"kumulus-{UID}",
        "qemu",
        2,
        2048 * 1024,
    )
    assert d.boot_devs == () and d.cpu_mode is None  # per-disk boot order; TCG: libvirt's CPU
    assert [x.target_dev for x in d.disks] == ["vda", "vdb", "vdz"]
    root = ET.fromstring(d.to_string())
    assert root.get("type") == "qemu"
    assert root.findtext("uuid") == UID and root.findtext("name") == f"kumulus-{UID}"
    assert root.find("features/acpi") is not None  # an ACPI shutdown needs it
    assert root.find("devices/interface/virtualport/parameters").get("interfaceid") == PORT  # type: ignore[union-attr]
    [drive] = [d for d in root.iterfind("devices/disk") if d.find("target[@dev='vdz']") is not None]
    assert drive.find("readonly") is not None
    assert [h.get("name") for h in root.findall("devices/disk/source/host")] == [
        "10.0.0.1",
        "10.0.0.2",
        "mon1",
    ]
    assert root.find("devices/serial/source").get("path") == PLAN.console_log  # type: ignore[union-attr]
    assert GuestDomain.from_string(d.to_string()) == d
    kvm = domain_config(PLAN, DomainSettings(virt_type="kvm"))
    assert kvm.cpu_mode == "host-model" and kvm.virt_type == "kvm"
    diskless = domain_config(GuestPlan(UID, "demo", "x", Resources(1, 64, 0)), SETTINGS)
    assert diskless.boot_devs == ("hd",) and diskless.disks == () and diskless.serials[0].source_type == "pty"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: GuestPlan("not-a-uuid", "n", "s", Resources(1, 64, 0)), "server.metadata.uid"),
        (lambda: GuestPlan(UID, "n", "s", Resources(0, 64, 0)), "flavor.vcpus"),
        (lambda: GuestPlan(UID, "n", "s", Resources(1, 64, 0), disks=(ROOT, ROOT)), "repeat"),
        (lambda: GuestPlan(UID, "n", "s", Resources(1, 64, 0), console_log="rel.log"), "console_log"),
        (
            lambda: GuestPlan(
                UID, "n", "s", Resources(1, 64, 0), disks=(DiskPlan("vdz", path="/x"),), config_drive="/c"
            ),
            "config drive",
        ),
        (lambda: NicPlan("port-1", "fa:16:3e:00:00:01"), "nic.portUID"),
        (lambda: NicPlan(PORT, "FA-16"), "mac"),
        (lambda: NicPlan(PORT, "fa:16:3e:00:00:01", bridge="a bridge name too long"), "bridge"),
        (lambda: DiskPlan("xda", path="/x"), "targetDev"),
        (lambda: DiskPlan("vda"), "exactly one of rbd or path"),
        (lambda: DiskPlan("vda", path="x"), "absolute"),
        (lambda: DiskPlan("vda", path="/x", size_bytes=0), "sizeGiB"),
        (lambda: RbdSource("vms", "a/b", ("m",)), "rbd.image"),
        (lambda: RbdSource("vms", "img", ()), "rbd.monitors"),
        (lambda: RbdSource("vms", "img", ("m",), user="u"), "rbd.user"),
        (lambda: RbdSource("vms", "img", ("m",), user="u", secret_uuid="s"), "rbd.secretUUID"),
        (lambda: PowerPolicy(shutdown_timeout=-1), "power.shutdownTimeout"),
    ],
)
def test_bad_plans_name_the_field(make: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()  # type: ignore[operator]


@pytest.mark.parametrize(
    ("state", "reason", "phase"),
    [
        (libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_RUNNING_BOOTED, GuestPhase.RUNNING),
        (libvirt.VIR_DOMAIN_SHUTDOWN, 0, GuestPhase.RUNNING),
        (libvirt.VIR_DOMAIN_PAUSED, 0, GuestPhase.RUNNING),
        (libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_SHUTDOWN, GuestPhase.STOPPED),
        (libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_DESTROYED, GuestPhase.STOPPED),
        (libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_CRASHED, GuestPhase.CRASHED),
        (libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_FAILED, GuestPhase.CRASHED),
        (libvirt.VIR_DOMAIN_CRASHED, 0, GuestPhase.CRASHED),
        (libvirt.VIR_DOMAIN_NOSTATE, 0, GuestPhase.BUILDING),
    ],
)
def test_phase_of(state: int, reason: int, phase: GuestPhase) -> None:
    assert phase_of(state, reason) == phase


async def test_server_only_resolver(tmp_path: object) -> None:
    from pathlib import Path

    server = {"metadata": {"uid": UID, "name": "web-1", "namespace": "demo"}, "spec": {"flavor": "m1.small"}}
    resolver = ServerOnlyResolver(Path("/var/lib/k/console"), PowerPolicy(5.0, CrashPolicy.STAY_DOWN))
    plan = await resolver(GuestSpec(UID, "demo/web-1", Resources(1, 512, 0), True, server))
    assert (plan.uid, plan.namespace, plan.name, plan.flavor) == (UID, "demo", "web-1", "m1.small")
    assert plan.console_log == f"/var/lib/k/console/{UID}.log"
    assert plan.disks == () and plan.nics == () and plan.config_drive is None
    assert plan.power == PowerPolicy(5.0, CrashPolicy.STAY_DOWN)

"""Domain XML config classes: parse(build(x)) == x for each class and a whole domain, and the XML itself."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from controllers.scheduling import Resources
from hostd.libvirt.config import (
    NAMESPACE,
    DiskAuth,
    GuestCharDevice,
    GuestDisk,
    GuestDomain,
    GuestInterface,
    KumulusMetadata,
    NetworkHost,
)

UID = "0b7c3c1e-7d4a-4c39-9d6e-0f5b1c2a3d4e"
PORT = "5f0e2b8a-1c3d-4e5f-8a9b-0c1d2e3f4a5b"

RBD = GuestDisk(
    target_dev="vda",
    source_type="network",
    driver_cache="writeback",
    driver_discard="unmap",
    source_protocol="rbd",
    source_name="volumes/vol-1",
    source_hosts=(NetworkHost("10.0.0.1", 6789), NetworkHost("mon2")),
    auth=DiskAuth("kumulus", "1b2c3d4e-0000-4000-8000-000000000001"),
    serial="vol-1",
    boot_order=1,
)
CONFIG_DRIVE = GuestDisk(
    target_dev="sda", target_bus="sata", device="cdrom", source_path="/var/lib/k/cd.iso", readonly=True
)
BLOCK = GuestDisk(
    target_dev="vdb", source_type="block", source_path="/dev/sdx", driver_type=None, driver_name=None
)
NIC = GuestInterface(
    mac="fa:16:3e:00:00:01",
    source_bridge="br-int",
    interface_id=PORT,
    target_dev="tap5f0e2b8a-1c",
    mtu=1442,
    driver_name="qemu",
    host_offloads=(("csum", False), ("gso", False)),
    guest_offloads=(("csum", False), ("tso4", True)),
)
SERIAL = GuestCharDevice("serial", "file", "/var/log/k/c.log", append=True)
CONSOLE = GuestCharDevice("console", "file", "/var/log/k/c.log", append=True, target_type="serial")
META = KumulusMetadata(
    UID, "demo", "web-1", Resources(2, 2048, 10), "m1.small", "cmp-1", created="2024-01-01T00:00:00Z"
)
DOMAIN = GuestDomain(
    uuid=UID,
    name=f"kumulus-{UID}",
    memory_kib=2048 * 1024,
    vcpus=2,
    virt_type="kvm",
    os_machine="q35",
    cpu_mode="host-model",
    kernel="/boot/vmlinuz",
    initrd="/boot/initrd",
    cmdline="console=ttyS0",
    metadata=META,
    disks=(RBD, CONFIG_DRIVE),
    interfaces=(NIC,),
    serials=(SERIAL,),
    consoles=(CONSOLE,),
    memballoon="none",
)


def roundtrip(x: object) -> object:
    el = x.to_xml()  # type: ignore[attr-defined]
    text = ET.tostring(el, encoding="unicode")
    return type(x).from_xml(ET.fromstring(text))  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "obj",
    [
        RBD,
        CONFIG_DRIVE,
        BLOCK,
        GuestDisk("vdc", source_path="/x.img"),
        NIC,
        GuestInterface("fa:16:3e:00:00:02", "br0", model=None, virtualport_type=None),
        SERIAL,
        CONSOLE,
        GuestCharDevice("serial", "pty"),
        META,
        KumulusMetadata(UID, "n", "s", Resources(1, 64, 0)),
        DOMAIN,
        GuestDomain(UID, "d", 65536, 1),
    ],
    ids=lambda o: type(o).__name__,
)
def test_roundtrip(obj: object) -> None:
    assert roundtrip(obj) == obj


def test_whole_domain_roundtrips_through_its_string() -> None:
    assert GuestDomain.from_string(DOMAIN.to_string()) == DOMAIN


def test_rbd_disk_xml() -> None:
    el = RBD.to_xml()
    assert el.get("type") == "network"
    source = el.find("source")
    assert source is not None and source.attrib == {"protocol": "rbd", "name": "volumes/vol-1"}
    assert [h.attrib for h in source.findall("host")] == [
        {"name": "10.0.0.1", "port": "6789"},
        {"name": "mon2"},
    ]
    auth = el.find("auth")
    assert auth is not None and auth.get("username") == "kumulus"
    assert auth.find("secret").attrib == {"type": "ceph", "uuid": "1b2c3d4e-0000-4000-8000-000000000001"}  # type: ignore[union-attr]


def test_interface_xml_has_virtualport_and_offloads() -> None:
    el = NIC.to_xml()
    assert el.get("type") == "bridge"
    assert el.find("virtualport").get("type") == "openvswitch"  # type: ignore[union-attr]
    assert el.find("virtualport/parameters").get("interfaceid") == PORT  # type: ignore[union-attr]
    assert el.find("driver/host").attrib == {"csum": "off", "gso": "off"}  # type: ignore[union-attr]
    assert el.find("driver/guest").attrib == {"csum": "off", "tso4": "on"}  # type: ignore[union-attr]


def test_metadata_in_its_own_namespace() -> None:
    text = DOMAIN.to_string()
    root = ET.fromstring(text)
    mark = root.find(f"metadata/{{{NAMESPACE}}}instance")
    assert mark is not None
    assert mark.find(f"{{{NAMESPACE}}}owner").attrib == {"uid": UID, "namespace": "demo", "name": "web-1"}  # type: ignore[union-attr]
    assert 'xmlns:kumulus="https://kumulus.dev/xmlns/domain/1.0"' in text


def test_metadata_as_libvirt_returns_it() -> None:
    """virDomainGetMetadata strips the namespace: the unqualified element parses the same."""
    stripped = (
        f'<instance><owner uid="{UID}" namespace="demo" name="web-1"/>'
        '<flavor vcpus="2" ramMiB="2048" diskGiB="10" name="m1.small"/>'
        '<createdBy agent="hostd" host="cmp-1"/><creationTime>2024-01-01T00:00:00Z</creationTime></instance>'
    )
    assert KumulusMetadata.from_string(stripped) == META
    with pytest.raises(ValueError, match="owner"):
        KumulusMetadata.from_string("<instance/>")


LIBVIRT_DUMP = f"""<domain type='qemu' id='3'>
  <name>kumulus-{UID}</name><uuid>{UID}</uuid>
  <metadata><kumulus:instance xmlns:kumulus="{NAMESPACE}"><kumulus:owner uid="{UID}" namespace="demo" name="web-1"/>
  <kumulus:flavor vcpus="1" ramMiB="64" diskGiB="0"/><kumulus:createdBy agent="hostd"/></kumulus:instance></metadata>
  <memory unit='KiB'>65536</memory><currentMemory unit='KiB'>65536</currentMemory>
  <vcpu placement='static'>1</vcpu><resource><partition>/machine</partition></resource>
  <os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type><boot dev='hd'/></os>
  <features><acpi/><apic/></features>
  <cpu mode='custom' match='exact' check='full'><model fallback='forbid'>qemu64</model></cpu>
  <clock offset='utc'/><on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
    <controller type='usb' index='0' model='piix3-uhci'><alias name='usb'/></controller>
    <serial type='file'><source path='/l.log' append='on'/><target type='isa-serial' port='0'><model name='isa-serial'/></target><alias name='serial0'/></serial>
    <console type='file'><source path='/l.log' append='on'/><target type='serial' port='0'/></console>
    <interface type='network'><source network='default'/></interface>
    <memballoon model='virtio'><alias name='balloon0'/></memballoon>
  </devices>
  <seclabel type='dynamic' model='dac' relabel='yes'/>
</domain>"""


def test_parses_what_libvirt_returns_ignoring_what_it_adds() -> None:
    d = GuestDomain.from_string(LIBVIRT_DUMP)
    assert (d.uuid, d.vcpus, d.memory_kib, d.os_machine, d.boot_devs) == (
        UID,
        1,
        65536,
        "pc-i440fx-7.2",
        ("hd",),
    )
    assert d.metadata is not None and d.metadata.consumer == "demo/web-1"
    assert d.interfaces == ()  # only bridge interfaces are modelled
    assert d.serials == (GuestCharDevice("serial", "file", "/l.log", True, 0, "isa-serial"),)
    assert d.cpu_mode == "custom" and d.memballoon == "virtio"


def test_memory_units() -> None:
    d = GuestDomain.from_string(
        f"<domain type='kvm'><uuid>{UID}</uuid><name>x</name><memory unit='GiB'>2</memory><vcpu>1</vcpu></domain>"
    )
    assert d.memory_kib == 2 * 1024 * 1024


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: GuestDomain(UID, "x", 65536, 1, virt_type="xen"), "virt_type"),
        (lambda: GuestDomain(UID, "x", 65536, 0), "vcpus"),
        (lambda: GuestDisk("vda", source_type="network"), "source_protocol"),
        (lambda: GuestDisk("vda"), "source_path"),
    ],
)
def test_bad_values_name_the_field(make: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()  # type: ignore[operator]


def test_network_host_parse() -> None:
    assert NetworkHost.parse("mon1:6789") == NetworkHost("mon1", 6789)
    assert NetworkHost.parse("mon1") == NetworkHost("mon1")
    assert NetworkHost.parse("[::1]:6789") == NetworkHost("::1", 6789)
    assert NetworkHost.parse("[::1]") == NetworkHost("::1")

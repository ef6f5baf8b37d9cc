"""libvirt domain XML as data: `GuestDomain.to_xml()` / `GuestDomain.from_xml()` (Nova's
nova/virt/libvirt/config.py style). Pure: no libvirt import, stdlib ElementTree only.

The domain holds CPU and memory, os/boot, features, clock, lifecycle actions, the Kumulus metadata
(config_metadata.py) and the devices (config_devices.py). Parsing tolerates what libvirt adds to a defined
domain (emulator, controllers, addresses...) and keeps only what these classes model, so a domain read back
from libvirt can be compared with the one hostd built.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from .config_devices import DiskAuth, GuestCharDevice, GuestDisk, GuestInterface, NetworkHost
from .config_metadata import NAMESPACE, ROOT, KumulusMetadata
from .xmlutil import attr, child, expect, kib, sub, text, to_string

__all__ = [
    "NAMESPACE",
    "DiskAuth",
    "GuestCharDevice",
    "GuestDisk",
    "GuestDomain",
    "GuestInterface",
    "KumulusMetadata",
    "NetworkHost",
]

VIRT_TYPES = ("qemu", "kvm")


@dataclass(frozen=True, slots=True)
class GuestDomain:
    uuid: str
    name: str
    memory_kib: int
    vcpus: int
    virt_type: str = "qemu"  # qemu (TCG) or kvm
    os_type: str = "hvm"
    os_arch: str | None = "x86_64"
    os_machine: str | None = None  # libvirt picks its default (pc-i440fx-*) when None
    boot_devs: tuple[str, ...] = ()  # <boot dev=.../>; empty when disks carry <boot order=.../>
    kernel: str | None = None  # direct kernel boot (test guests)
    initrd: str | None = None
    cmdline: str | None = None
    features: tuple[str, ...] = ("acpi", "apic")  # acpi: needed for an ACPI shutdown
    cpu_mode: str | None = None  # host-model / host-passthrough (kvm); None: libvirt's default
    clock_offset: str = "utc"
    on_poweroff: str = "destroy"
    on_reboot: str = "restart"
    on_crash: str = "destroy"
    metadata: KumulusMetadata | None = None
    disks: tuple[GuestDisk, ...] = ()
    interfaces: tuple[GuestInterface, ...] = ()
    serials: tuple[GuestCharDevice, ...] = ()
    consoles: tuple[GuestCharDevice, ...] = ()
    memballoon: str | None = None  # None: libvirt's default (virtio); "none" turns it off

    def __post_init__(self) -> None:
        if self.virt_type not in VIRT_TYPES:
            raise ValueError(f"virt_type: {self.virt_type!r} is not one of {', '.join(VIRT_TYPES)}")
        if self.vcpus < 1:
            raise ValueError(f"vcpus: {self.vcpus} must be at least 1")
        if self.memory_kib < 1024:
            raise ValueError(f"memory: {self.memory_kib} KiB is less than 1 MiB")

    def to_xml(self) -> ET.Element:
        el = ET.Element("domain", type=self.virt_type)
        sub(el, "name", self.name)
        sub(el, "uuid", self.uuid)
        if self.metadata is not None:
            sub(el, "metadata").append(self.metadata.to_xml())
        sub(el, "memory", str(self.memory_kib), unit="KiB")
        sub(el, "vcpu", str(self.vcpus))
        os_el = sub(el, "os")
        sub(os_el, "type", self.os_type, arch=self.os_arch, machine=self.os_machine)
        for name, value in (("kernel", self.kernel), ("initrd", self.initrd), ("cmdline", self.cmdline)):
            if value is not None:
                sub(os_el, name, value)
        for dev in self.boot_devs:
            sub(os_el, "boot", dev=dev)
        if self.features:
            features = sub(el, "features")
            for feature in self.features:
                sub(features, feature)
        if self.cpu_mode is not None:
            sub(el, "cpu", mode=self.cpu_mode)
        sub(el, "clock", offset=self.clock_offset)
        sub(el, "on_poweroff", self.on_poweroff)
        sub(el, "on_reboot", self.on_reboot)
        sub(el, "on_crash", self.on_crash)
        devices = sub(el, "devices")
        devices.extend(d.to_xml() for d in self.disks)
        devices.extend(i.to_xml() for i in self.interfaces)
        devices.extend(c.to_xml() for c in (*self.serials, *self.consoles))
        if self.memballoon is not None:
            sub(devices, "memballoon", model=self.memballoon)
        return el

    def to_string(self) -> str:
        return to_string(self.to_xml())

    @classmethod
    def from_xml(cls, el: ET.Element) -> GuestDomain:
        expect(el, "domain")
        os_el = child(el, "os")
        type_el = None if os_el is None else child(os_el, "type")
        features = child(el, "features")
        metadata_el = child(el, "metadata")
        mark = None if metadata_el is None else metadata_el.find(ROOT)
        devices = child(el, "devices")
        devs: list[ET.Element] = [] if devices is None else list(devices)
        memory = child(el, "memory")
        balloon = None if devices is None else child(devices, "memballoon")

        def os_text(tag: str) -> str | None:
            return None if os_el is None else text(child(os_el, tag))

        return cls(
            uuid=text(child(el, "uuid")) or "",
            name=text(child(el, "name")) or "",
            memory_kib=0 if memory is None else kib(memory),
            vcpus=int(text(child(el, "vcpu")) or 0),
            virt_type=el.get("type", "qemu"),
            os_type=text(type_el) or "hvm",
            os_arch=attr(type_el, "arch"),
            os_machine=attr(type_el, "machine"),
            boot_devs=tuple(b.get("dev", "") for b in ([] if os_el is None else os_el.findall("boot"))),
            kernel=os_text("kernel"),
            initrd=os_text("initrd"),
            cmdline=os_text("cmdline"),
            features=() if features is None else tuple(f.tag for f in features),
            cpu_mode=attr(child(el, "cpu"), "mode"),
            clock_offset=attr(child(el, "clock"), "offset") or "utc",
            on_poweroff=text(child(el, "on_poweroff")) or "destroy",
            on_reboot=text(child(el, "on_reboot")) or "restart",
            on_crash=text(child(el, "on_crash")) or "destroy",
            metadata=None if mark is None else KumulusMetadata.from_xml(mark),
            disks=tuple(GuestDisk.from_xml(d) for d in devs if d.tag == "disk"),
            interfaces=tuple(
                GuestInterface.from_xml(d) for d in devs if d.tag == "interface" and d.get("type") == "bridge"
            ),
            serials=tuple(GuestCharDevice.from_xml(d) for d in devs if d.tag == "serial"),
            consoles=tuple(GuestCharDevice.from_xml(d) for d in devs if d.tag == "console"),
            memballoon=attr(balloon, "model"),
        )

    @classmethod
    def from_string(cls, xml: str) -> GuestDomain:
        return cls.from_xml(ET.fromstring(xml))

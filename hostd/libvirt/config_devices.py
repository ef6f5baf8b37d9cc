"""libvirt domain XML for devices (disks, NICs, serial console), in the style of Nova's
nova/virt/libvirt/config.py: each class only converts itself to an XML element and back, so that
`from_xml(x.to_xml()) == x`. No defaults are invented on parsing: what libvirt adds (addresses, aliases)
is ignored, and what is absent stays None.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from .xmlutil import attr, child, expect, int_or_none, on_off, sub, text, to_string

# -- disks ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NetworkHost:
    """<host name='10.0.0.1' port='6789'/> of a network disk (a Ceph monitor)."""

    name: str
    port: int | None = None

    @classmethod
    def parse(cls, address: str) -> NetworkHost:
        """ "mon1:6789", "mon1", "[::1]:6789" -> NetworkHost."""
        if address.startswith("["):
            host, _, rest = address[1:].partition("]")
            return cls(host, int(rest[1:]) if rest.startswith(":") else None)
        host, sep, port = address.rpartition(":")
        if sep and host and ":" not in host:
            return cls(host, int(port))
        return cls(address)


@dataclass(frozen=True, slots=True)
class DiskAuth:
    """<auth username='..'><secret type='ceph' uuid='..'/></auth>"""

    username: str
    secret_uuid: str
    secret_type: str = "ceph"


@dataclass(frozen=True, slots=True)
class GuestDisk:
    target_dev: str
    target_bus: str = "virtio"
    device: str = "disk"  # disk | cdrom
    source_type: str = "file"  # file | block | network
    driver_name: str | None = "qemu"
    driver_type: str | None = "raw"
    driver_cache: str | None = None
    driver_discard: str | None = None
    source_path: str | None = None  # file or block
    source_protocol: str | None = None  # network: rbd
    source_name: str | None = None  # network: pool/image
    source_hosts: tuple[NetworkHost, ...] = ()
    auth: DiskAuth | None = None
    readonly: bool = False
    serial: str | None = None
    boot_order: int | None = None

    def __post_init__(self) -> None:
        if self.source_type in ("file", "block") and not self.source_path:
            raise ValueError(f"disk {self.target_dev}: a {self.source_type} disk needs source_path")
        if self.source_type == "network" and not (self.source_protocol and self.source_name):
            raise ValueError(f"disk {self.target_dev}: a network disk needs source_protocol and source_name")

    def to_xml(self) -> ET.Element:
        el = ET.Element("disk", type=self.source_type, device=self.device)
        if self.driver_name or self.driver_type:
            sub(
                el,
                "driver",
                name=self.driver_name,
                type=self.driver_type,
                cache=self.driver_cache,
                discard=self.driver_discard,
            )
        if self.auth is not None:
            auth = sub(el, "auth", username=self.auth.username)
            sub(auth, "secret", type=self.auth.secret_type, uuid=self.auth.secret_uuid)
        if self.source_type == "network":
            source = sub(el, "source", protocol=self.source_protocol, name=self.source_name)
            for host in self.source_hosts:
                sub(source, "host", name=host.name, port=None if host.port is None else str(host.port))
        elif self.source_type == "block":
            sub(el, "source", dev=self.source_path)
        else:
            sub(el, "source", file=self.source_path)
        sub(el, "target", dev=self.target_dev, bus=self.target_bus)
        if self.readonly:
            sub(el, "readonly")
        if self.serial is not None:
            sub(el, "serial", self.serial)
        if self.boot_order is not None:
            sub(el, "boot", order=str(self.boot_order))
        return el

    def to_string(self) -> str:
        """The <disk> alone, as virDomainAttachDeviceFlags / DetachDeviceFlags take it."""
        return to_string(self.to_xml())

    @classmethod
    def from_xml(cls, el: ET.Element) -> GuestDisk:
        expect(el, "disk")
        source_type = el.get("type", "file")
        driver = child(el, "driver")
        source = child(el, "source")
        target = child(el, "target")
        auth_el = child(el, "auth")
        auth = None
        if auth_el is not None:
            secret = child(auth_el, "secret")
            auth = DiskAuth(
                username=auth_el.get("username", ""),
                secret_uuid=attr(secret, "uuid") or "",
                secret_type=attr(secret, "type") or "ceph",
            )
        hosts: tuple[NetworkHost, ...] = ()
        path = None
        if source_type == "network" and source is not None:
            hosts = tuple(
                NetworkHost(h.get("name", ""), int_or_none(h.get("port"))) for h in source.findall("host")
            )
        elif source_type == "block":
            path = attr(source, "dev")
        else:
            path = attr(source, "file")
        return cls(
            target_dev=attr(target, "dev") or "",
            target_bus=attr(target, "bus") or "virtio",
            device=el.get("device", "disk"),
            source_type=source_type,
            driver_name=attr(driver, "name"),
            driver_type=attr(driver, "type"),
            driver_cache=attr(driver, "cache"),
            driver_discard=attr(driver, "discard"),
            source_path=path,
            source_protocol=attr(source, "protocol") if source_type == "network" else None,
            source_name=attr(source, "name") if source_type == "network" else None,
            source_hosts=hosts,
            auth=auth,
            readonly=child(el, "readonly") is not None,
            serial=text(child(el, "serial")),
            boot_order=int_or_none(attr(child(el, "boot"), "order")),
        )


# -- NICs -----------------------------------------------------------------------------------------------

Offloads = tuple[tuple[str, bool], ...]  # (("csum", False), ("gso", False)...) in XML order


@dataclass(frozen=True, slots=True)
class GuestInterface:
    """<interface type='bridge'> on an OVS bridge: virtualport openvswitch with the OVN port as interfaceid,
    and the virtio driver's offloads (<driver><host .../><guest .../></driver>)."""

    mac: str
    source_bridge: str
    model: str | None = "virtio"
    virtualport_type: str | None = "openvswitch"
    interface_id: str | None = None
    target_dev: str | None = None
    mtu: int | None = None
    driver_name: str | None = None
    host_offloads: Offloads = ()
    guest_offloads: Offloads = ()

    def to_xml(self) -> ET.Element:
        el = ET.Element("interface", type="bridge")
        sub(el, "mac", address=self.mac)
        sub(el, "source", bridge=self.source_bridge)
        if self.virtualport_type is not None:
            vport = sub(el, "virtualport", type=self.virtualport_type)
            if self.interface_id is not None:
                sub(vport, "parameters", interfaceid=self.interface_id)
        if self.target_dev is not None:
            sub(el, "target", dev=self.target_dev)
        if self.model is not None:
            sub(el, "model", type=self.model)
        if self.driver_name or self.host_offloads or self.guest_offloads:
            driver = sub(el, "driver", name=self.driver_name)
            if self.host_offloads:
                sub(driver, "host", **{k: on_off(v) for k, v in self.host_offloads})
            if self.guest_offloads:
                sub(driver, "guest", **{k: on_off(v) for k, v in self.guest_offloads})
        if self.mtu is not None:
            sub(el, "mtu", size=str(self.mtu))
        return el

    @classmethod
    def from_xml(cls, el: ET.Element) -> GuestInterface:
        expect(el, "interface")
        vport = child(el, "virtualport")
        driver = child(el, "driver")

        def offloads(tag: str) -> Offloads:
            node = None if driver is None else child(driver, tag)
            return () if node is None else tuple((k, v == "on") for k, v in node.attrib.items())

        return cls(
            mac=attr(child(el, "mac"), "address") or "",
            source_bridge=attr(child(el, "source"), "bridge") or "",
            model=attr(child(el, "model"), "type"),
            virtualport_type=attr(vport, "type"),
            interface_id=attr(None if vport is None else child(vport, "parameters"), "interfaceid"),
            target_dev=attr(child(el, "target"), "dev"),
            mtu=int_or_none(attr(child(el, "mtu"), "size")),
            driver_name=attr(driver, "name"),
            host_offloads=offloads("host"),
            guest_offloads=offloads("guest"),
        )


# -- serial console -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GuestCharDevice:
    """A <serial> or <console> written to a file (the per-server console log), or a pty."""

    tag: str = "serial"  # serial | console
    source_type: str = "file"  # file | pty
    path: str | None = None
    append: bool | None = True
    target_port: int = 0
    target_type: str | None = None  # console: serial

    def __post_init__(self) -> None:
        if self.source_type != "file":
            object.__setattr__(self, "append", None)  # only a file has an append mode
        elif not self.path:
            raise ValueError(f"{self.tag}: a file {self.tag} needs a path")

    def to_xml(self) -> ET.Element:
        el = ET.Element(self.tag, type=self.source_type)
        if self.source_type == "file":
            sub(el, "source", path=self.path, append=None if self.append is None else on_off(self.append))
        sub(el, "target", type=self.target_type, port=str(self.target_port))
        return el

    @classmethod
    def from_xml(cls, el: ET.Element) -> GuestCharDevice:
        if el.tag not in ("serial", "console"):
            raise ValueError(f"expected <serial> or <console>, got <{el.tag}>")
        source = child(el, "source")
        target = child(el, "target")
        append = attr(source, "append")
        return cls(
            tag=el.tag,
            source_type=el.get("type", "file"),
            path=attr(source, "path"),
            append=None if append is None else append == "on",
            target_port=int(attr(target, "port") or 0),
            target_type=attr(target, "type"),
        )

"""The Kumulus mark on a domain: a <metadata> element in Kumulus's own XML namespace.

Only domains carrying it are listed, changed or destroyed by hostd; anything else on the host is not ours.
It also carries what hostd needs to adopt the guest after a restart without any other state: the owner
(Server uid, namespace, name), the flavor and its resources, and which hostd created it.

    <kumulus:instance xmlns:kumulus="https://kumulus.dev/xmlns/domain/1.0">
      <kumulus:owner uid="..." namespace="demo" name="web-1"/>
      <kumulus:flavor name="m1.small" vcpus="1" ramMiB="512" diskGiB="0"/>
      <kumulus:createdBy host="cmp-1" agent="hostd"/>
      <kumulus:creationTime>2024-01-01T00:00:00Z</kumulus:creationTime>
      <kumulus:disks>serial:0c1d2e3f-aaaa-4bbb-8 serial:9a8b7c6d-cccc-4ddd-8</kumulus:disks>
    </kumulus:instance>

`disks` lists the disks hostd put in the domain (hostd/libvirt/disk_changes.py's keys: `serial:<serial>`, or
`dev:<target>` for a disk without a serial): only those are ever detached from it. It is absent from domains
made before it existed (`disks` None): then no disk is detached until hostd has recorded its own. Every
element is a direct child of <kumulus:instance>: libvirt's virDomainSetMetadata puts only the root and its
children in the namespace.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from controllers.scheduling import Resources

from .xmlutil import attr, expect, text

NAMESPACE = "https://kumulus.dev/xmlns/domain/1.0"
PREFIX = "kumulus"
ET.register_namespace(PREFIX, NAMESPACE)  # serialise as kumulus:, not ns0:


def q(tag: str) -> str:
    """The qualified (Clark) name of a Kumulus tag: {namespace}tag."""
    return f"{{{NAMESPACE}}}{tag}"


ROOT = q("instance")


@dataclass(frozen=True, slots=True)
class KumulusMetadata:
    uid: str
    namespace: str
    name: str
    resources: Resources
    flavor: str | None = None
    host: str | None = None  # the Host whose hostd created the domain
    agent: str = "hostd"
    created: str | None = None
    disks: tuple[str, ...] | None = None  # keys of the disks hostd added; None: never recorded

    def __post_init__(self) -> None:
        for key in self.disks or ():
            if not key or any(c.isspace() for c in key):
                raise ValueError(f"metadata disks: {key!r} is not a disk key")

    @property
    def consumer(self) -> str:
        return f"{self.namespace}/{self.name}"

    def to_xml(self) -> ET.Element:
        el = ET.Element(ROOT)
        ET.SubElement(el, q("owner"), uid=self.uid, namespace=self.namespace, name=self.name)
        flavor = ET.SubElement(
            el,
            q("flavor"),
            vcpus=str(self.resources.vcpus),
            ramMiB=str(self.resources.ram_mib),
            diskGiB=str(self.resources.disk_gib),
        )
        if self.flavor is not None:
            flavor.set("name", self.flavor)
        created_by = ET.SubElement(el, q("createdBy"), agent=self.agent)
        if self.host is not None:
            created_by.set("host", self.host)
        if self.created is not None:
            ET.SubElement(el, q("creationTime")).text = self.created
        if self.disks is not None:
            ET.SubElement(el, q("disks")).text = " ".join(self.disks)
        return el

    def to_plain_string(self) -> str:
        """The element without its namespace, as virDomainSetMetadata takes it (libvirt adds the
        namespace given with the call)."""
        el = self.to_xml()
        for node in el.iter():
            node.tag = node.tag.rpartition("}")[2]
        return ET.tostring(el, encoding="unicode")

    @classmethod
    def from_xml(cls, el: ET.Element) -> KumulusMetadata:
        expect(el, ROOT)
        owner = el.find(q("owner"))
        flavor = el.find(q("flavor"))
        created_by = el.find(q("createdBy"))
        disks = el.find(q("disks"))
        if owner is None or not owner.get("uid"):
            raise ValueError("Kumulus metadata without <kumulus:owner uid=...>")
        return cls(
            uid=owner.get("uid", ""),
            namespace=owner.get("namespace", ""),
            name=owner.get("name", ""),
            resources=Resources(
                int(attr(flavor, "vcpus") or 0),
                int(attr(flavor, "ramMiB") or 0),
                int(attr(flavor, "diskGiB") or 0),
            ),
            flavor=attr(flavor, "name"),
            host=attr(created_by, "host"),
            agent=attr(created_by, "agent") or "hostd",
            created=text(el.find(q("creationTime"))),
            disks=None if disks is None else tuple((disks.text or "").split()),
        )

    @classmethod
    def from_string(cls, xml: str) -> KumulusMetadata:
        """From what virDomainGetMetadata returns: the element alone, with its namespace removed by libvirt
        (or kept, as in a domain's XML)."""
        el = ET.fromstring(xml)
        if not el.tag.startswith("{"):
            for node in el.iter():
                node.tag = q(node.tag)
        return cls.from_xml(el)

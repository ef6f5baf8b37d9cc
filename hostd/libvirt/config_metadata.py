"""The Kumulus mark on a domain: a <metadata> element in Kumulus's own XML namespace.

Only domains carrying it are listed, changed or destroyed by hostd; anything else on the host is not ours.
It also carries what hostd needs to adopt the guest after a restart without any other state: the owner
(Server uid, namespace, name), the flavor and its resources, and which hostd created it.

    <kumulus:instance xmlns:kumulus="https://kumulus.dev/xmlns/domain/1.0">
      <kumulus:owner uid="..." namespace="demo" name="web-1"/>
      <kumulus:flavor name="m1.small" vcpus="1" ramMiB="512" diskGiB="0"/>
      <kumulus:createdBy host="cmp-1" agent="hostd"/>
      <kumulus:creationTime>2024-01-01T00:00:00Z</kumulus:creationTime>
    </kumulus:instance>
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
        return el

    @classmethod
    def from_xml(cls, el: ET.Element) -> KumulusMetadata:
        expect(el, ROOT)
        owner = el.find(q("owner"))
        flavor = el.find(q("flavor"))
        created_by = el.find(q("createdBy"))
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

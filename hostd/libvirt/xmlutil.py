"""Small helpers shared by the domain XML config classes (stdlib ElementTree only)."""

from __future__ import annotations

import xml.etree.ElementTree as ET


def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str | None) -> ET.Element:
    """A child element with the attributes that are not None (libvirt rejects empty attributes)."""
    el = ET.SubElement(parent, tag, {k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        el.text = text
    return el


def child(parent: ET.Element, tag: str) -> ET.Element | None:
    return parent.find(tag)


def attr(el: ET.Element | None, name: str) -> str | None:
    return None if el is None else el.get(name)


def text(el: ET.Element | None) -> str | None:
    if el is None or el.text is None:
        return None
    return el.text.strip()


def int_or_none(value: str | None) -> int | None:
    return None if value is None else int(value)


def expect(el: ET.Element, tag: str) -> None:
    if el.tag != tag:
        raise ValueError(f"expected <{tag}>, got <{el.tag}>")


def on_off(value: bool) -> str:
    return "on" if value else "off"


def to_string(el: ET.Element) -> str:
    ET.indent(el)
    return ET.tostring(el, encoding="unicode")


_UNITS = {
    "b": 1,
    "bytes": 1,
    "k": 1024,
    "kib": 1024,
    "kb": 1000,
    "m": 1024**2,
    "mib": 1024**2,
    "mb": 1000**2,
    "g": 1024**3,
    "gib": 1024**3,
    "gb": 1000**3,
}


def kib(el: ET.Element) -> int:
    """A libvirt scaled integer (<memory unit='MiB'>64</memory>) in KiB; libvirt's default unit is KiB."""
    unit = (el.get("unit") or "KiB").lower()
    if unit not in _UNITS:
        raise ValueError(f"<{el.tag}>: unknown unit {unit!r}")
    return int(text(el) or "0") * _UNITS[unit] // 1024

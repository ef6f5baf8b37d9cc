"""The Volumes a libvirt domain has as disks, as hostd compares them with its Server's (GuestState.volumes).

Only our disks count: those in the domain's Kumulus mark (every disk with a serial on a domain made before
the mark listed them). A running domain is read from its live XML, what QEMU has: a disk whose live detach
is still pending shows (hostd asks again), one attached to the definition only does not (hostd attaches
it live); each with its capacity as QEMU sees it (virDomainGetBlockInfo, what a grow changes). A domain
that is off is read from its definition, without sizes (nothing to grow until it runs).
"""

from __future__ import annotations

import libvirt

from ..libvirt.disk_changes import key_of, view_of
from .base import GuestVolume


def guest_volumes(dom: libvirt.virDomain, owned: tuple[str, ...] | None) -> tuple[GuestVolume, ...]:
    """Blocking: call it off the event loop."""
    active = bool(dom.isActive())
    view = view_of(dom.XMLDesc(0))  # the live XML when running, else the definition
    out = []
    for disk in view.disks:
        if disk.device != "disk" or not disk.serial or (owned is not None and key_of(disk) not in owned):
            continue
        size = None
        if active:
            try:
                size = int(dom.blockInfo(disk.target_dev)[0])
            except libvirt.libvirtError:
                size = None  # stopped or unplugged meanwhile: the next look says
        out.append(GuestVolume(disk.serial, size))
    return tuple(out)

"""Hypervisor drivers: how hostd creates, powers and destroys guests (`base.Driver`); `sim` is in memory,
`libvirt` runs real domains (imported only when asked for: the sim needs no libvirt bindings)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import Driver, GuestPhase, GuestSpec, GuestState
from .sim import SimDriver

if TYPE_CHECKING:
    from ..config import HostConfig
    from ..kube import Kube

__all__ = ["Driver", "GuestPhase", "GuestSpec", "GuestState", "SimDriver", "make_driver"]


def make_driver(cfg: HostConfig, kube: Kube | None = None) -> Driver:
    """The driver `cfg.driver` for the host `cfg`. The libvirt driver resolves Servers through `kube`."""
    if cfg.driver == "sim":
        return SimDriver(cfg.capacity, boot_delay=cfg.boot_delay)
    if cfg.driver == "libvirt":
        if kube is None or cfg.libvirt is None:
            raise ValueError("driver: libvirt needs an API client and the libvirt settings")
        from .libvirt_setup import libvirt_driver

        return libvirt_driver(cfg, cfg.libvirt, kube)
    raise ValueError(f"driver: unknown driver {cfg.driver!r} (known: sim, libvirt)")

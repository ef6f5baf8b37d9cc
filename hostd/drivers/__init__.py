"""Hypervisor drivers: how hostd creates, powers and destroys guests (`base.Driver`); `sim` is in memory."""

from __future__ import annotations

from .base import Driver, GuestPhase, GuestSpec, GuestState
from .sim import SimDriver

__all__ = ["Driver", "GuestPhase", "GuestSpec", "GuestState", "SimDriver", "make_driver"]


def make_driver(name: str, capacity: tuple[int, int, int], boot_delay: float = 0.5) -> Driver:
    """The driver called `name` for a host of (vcpus, ramMiB, diskGiB)."""
    if name == "sim":
        return SimDriver(capacity, boot_delay=boot_delay)
    raise ValueError(f"unknown driver {name!r} (known: sim)")

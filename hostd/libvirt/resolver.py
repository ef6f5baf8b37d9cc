"""Resolvers: GuestSpec -> GuestPlan, given to the libvirt driver so that where devices come from (Ports,
Volumes, a config drive) is not the driver's business.

`ServerOnlyResolver` is the minimal one: it uses the Server object alone (its uid, name, flavor resources
and the console log path), so it yields a diskless, NIC-less guest (the driver's own tests use it).
`hostd/resolve.py` (`ApiResolver`) is what hostd runs with: it reads the Server's Ports and Volumes from
the API (NICs, RBD or file disks) and builds the config drive.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from ..drivers.base import GuestSpec
from ..guest_devices import GuestPlan, PowerPolicy

Resolver = Callable[[GuestSpec], Awaitable[GuestPlan]]


def console_log_path(console_dir: Path, uid: str) -> str:
    return str(console_dir / f"{uid}.log")


class ServerOnlyResolver:
    def __init__(self, console_dir: Path, power: PowerPolicy | None = None) -> None:
        self.console_dir = console_dir
        self.power = power or PowerPolicy()

    async def __call__(self, spec: GuestSpec) -> GuestPlan:
        namespace, _, name = spec.consumer.partition("/")
        server: Mapping[str, Any] = spec.server or {}
        flavor = (server.get("status") or {}).get("flavor") or (server.get("spec") or {}).get("flavor")
        return GuestPlan(
            uid=spec.uid,
            namespace=namespace,
            name=name,
            resources=spec.resources,
            flavor=flavor,
            console_log=console_log_path(self.console_dir, spec.uid),
            power=self.power,
        )

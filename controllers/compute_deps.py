"""What a Server needs before its guest can start: its Volumes and its Ports, as pure functions.

The compute operator keeps a small view of every Volume and Port it sees (`VolumeView`, `PortView`: only
what these conditions read, not the objects) and computes two conditions of the Server from them:

- VolumesReady: every Volume the Server boots from or attaches is Ready (Available, or InUse by this
  Server; Extending counts, its data is there). The boot Volume is `<server>-root` when the Server boots
  from an image (the storage operator makes it once the Server has a zone, see
  `controllers.storage_plan.boot_volume`), else `spec.bootVolume`; attached ones are `spec.volumes`, which
  the storage operator attaches once the Server is placed (so a placed Server waits for the attachment).
  The message names the first Volume that is not ready, and why.
- NetworkReady: each NIC's Port exists and is Ready (its fixed IPs allocated). The Port is `spec.port`,
  or `<server>-nic<i>` for a NIC on a Network (made by the network operator, see
  `controllers.network_plan.server_ports`). Its addresses become the Server's `status.addresses`.

hostd does not create a guest before both are True (`hostd.reconcile`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from controllers.conditions import find

Obj = Mapping[str, Any]
VOLUMES_READY = "VolumesReady"
NETWORK_READY = "NetworkReady"
# A Volume being made goes through these Ready reasons: they all read "is being created" on the Server,
# so that its progress does not cost the Server a status write per step (problems are named in full).
CREATING_REASONS = frozenset({"", "Creating", "ImageNotAvailable", "Pending"})
PORT_CREATING_REASONS = frozenset({"", "Pending", "Allocating"})


@dataclass(frozen=True, slots=True)
class VolumeView:
    """A Volume reduced to what VolumesReady reads."""

    ready: bool
    reason: str = ""
    message: str = ""
    phase: str = ""
    attached: frozenset[str] = frozenset()
    """Servers it is attached to (status.attachments)."""
    refused: str = ""
    """The AttachmentRefused message, when the Volume has one (it names the Servers refused)."""
    deleting: bool = False

    @classmethod
    def of(cls, obj: Obj) -> VolumeView:
        status = obj.get("status") or {}
        conditions = status.get("conditions")
        ready = find(conditions, "Ready") or {}
        refused = find(conditions, "AttachmentRefused") or {}
        return cls(
            ready=ready.get("status") == "True" or status.get("phase") == "Extending",
            reason=str(ready.get("reason") or ""),
            message=str(ready.get("message") or ""),
            phase=str(status.get("phase") or ""),
            attached=frozenset(str(a.get("server")) for a in status.get("attachments") or ()),
            refused=str(refused.get("message") or "") if refused.get("status") == "True" else "",
            deleting=bool(obj["metadata"].get("deletionTimestamp")),
        )


@dataclass(frozen=True, slots=True)
class PortView:
    """A Port reduced to what NetworkReady and status.addresses read."""

    ready: bool
    network: str = ""
    reason: str = ""
    message: str = ""
    addresses: tuple[str, ...] = ()
    mac: str | None = None
    deleting: bool = False

    @classmethod
    def of(cls, obj: Obj) -> PortView:
        status = obj.get("status") or {}
        ready = find(status.get("conditions"), "Ready") or {}
        return cls(
            ready=ready.get("status") == "True",
            network=str((obj.get("spec") or {}).get("network") or ""),
            reason=str(ready.get("reason") or ""),
            message=str(ready.get("message") or ""),
            addresses=tuple(
                str(a.get("ipAddress")) for a in status.get("addresses") or () if a.get("ipAddress")
            ),
            mac=status.get("macAddress"),
            deleting=bool(obj["metadata"].get("deletionTimestamp")),
        )


@dataclass(frozen=True, slots=True)
class Need:
    """One Volume or Port a Server needs: its name, and how the Server uses it."""

    name: str
    role: str  # "boot" or "attached" for Volumes, "nic<i>" for Ports
    made_for_server: bool = False
    """Made by an operator for this Server (not there yet is a wait, not a user's mistake)."""


def boot_volume_name(server_name: str) -> str:
    return f"{server_name}-root"


def port_name(server_name: str, index: int) -> str:
    return f"{server_name}-nic{index}"


def volume_needs(server: Obj) -> tuple[Need, ...]:
    """The Volumes a Server boots from and attaches, boot first."""
    spec = server.get("spec") or {}
    name = server["metadata"]["name"]
    out: list[Need] = []
    if spec.get("image"):
        out.append(Need(boot_volume_name(name), "boot", made_for_server=True))
    elif spec.get("bootVolume"):
        out.append(Need(str(spec["bootVolume"]), "boot"))
    out.extend(Need(str(v["volume"]), "attached") for v in spec.get("volumes") or () if v.get("volume"))
    return tuple(out)


def port_needs(server: Obj) -> tuple[Need, ...]:
    """The Port of each NIC, in NIC order."""
    name = server["metadata"]["name"]
    out: list[Need] = []
    for i, nic in enumerate((server.get("spec") or {}).get("networks") or ()):
        if nic.get("port"):
            out.append(Need(str(nic["port"]), f"nic{i}"))
        else:
            out.append(Need(port_name(name, i), f"nic{i}", made_for_server=True))
    return tuple(out)


def volumes_ready(server: Obj, volumes: Mapping[str, VolumeView]) -> tuple[bool, str, str]:
    """VolumesReady of the Server from the views of its namespace's Volumes (by name): (ok, reason,
    message); the message names the first Volume that is not ready."""
    me = server["metadata"]["name"]
    placed = bool((server.get("status") or {}).get("host"))
    needs = volume_needs(server)
    for need in needs:
        what = f"{need.role} volume {need.name}"
        view = volumes.get(need.name)
        if view is None:
            if need.made_for_server:
                return False, "VolumeCreating", f"{what} is being created"
            return False, "VolumeNotFound", f"{what} does not exist"
        if view.deleting:
            return False, "VolumeDeleting", f"{what} is being deleted"
        if view.refused and me in _refused_names(view.refused):
            return False, "AttachmentRefused", f"{what}: {view.refused}"
        if not view.ready and view.phase in ("", "Creating") and view.reason in CREATING_REASONS:
            return False, "VolumeCreating", f"{what} is being created"
        if not view.ready:
            why = f"{view.reason}: {view.message}" if view.message else view.reason or "not ready"
            return False, "VolumeNotReady", f"{what} is not ready ({why})"
        others = sorted(view.attached - {me})
        if need.role == "boot" and others:
            return False, "VolumeInUse", f"{what} is attached to Server {others[0]}"
        if need.role == "attached" and placed and me not in view.attached:
            return False, "VolumeAttaching", f"{what} is not attached yet"
    if not needs:
        return True, "NoVolumes", ""
    return True, "VolumesReady", ""


def network_ready(server: Obj, ports: Mapping[str, PortView]) -> tuple[bool, str, str]:
    """NetworkReady of the Server from the views of its namespace's Ports (by name)."""
    needs = port_needs(server)
    for need in needs:
        what = f"port {need.name} ({need.role})"
        view = ports.get(need.name)
        if view is None:
            if need.made_for_server:
                return False, "PortCreating", f"{what} is being created"
            return False, "PortNotFound", f"{what} does not exist"
        if view.deleting:
            return False, "PortDeleting", f"{what} is being deleted"
        if not view.ready and view.reason in PORT_CREATING_REASONS:
            return False, "PortCreating", f"{what} is being created"
        if not view.ready:
            why = f"{view.reason}: {view.message}" if view.message else view.reason or "not ready"
            return False, "PortNotReady", f"{what} is not ready ({why})"
    if not needs:
        return True, "NoNetworks", ""
    return True, "PortsReady", ""


def addresses(server: Obj, ports: Mapping[str, PortView]) -> list[dict[str, Any]]:
    """status.addresses: the fixed IPs of the NICs' Ports in NIC order, then the Floating ones kept."""
    out: list[dict[str, Any]] = []
    for need in port_needs(server):
        view = ports.get(need.name)
        if view is None or not view.ready:
            continue
        for ip in view.addresses:
            entry: dict[str, Any] = {"network": view.network, "ip": ip, "type": "Fixed"}
            if view.mac:
                entry["mac"] = view.mac
            out.append(entry)
    kept = [a for a in (server.get("status") or {}).get("addresses") or () if a.get("type") == "Floating"]
    return out + kept


def _refused_names(message: str) -> set[str]:
    """The Servers an AttachmentRefused message names ("Server a: rule; Server b: rule")."""
    names = set()
    for part in message.split("; "):
        if part.startswith("Server ") and ":" in part:
            names.add(part[len("Server ") : part.index(":")])
    return names

"""The guest plan of a Server from the objects it names, as pure functions (hostd/resolve.py fetches them).

    plan, drive = guest_plan(spec, fetched, settings)

- NICs: one per `spec.networks` entry, its Port (`spec.port` or `<server>-nic<i>`, controllers/compute_deps.py):
  the Port's MAC and uid (the OVN logical switch port is named after the uid, controllers/ovn/desired.py, and
  libvirt's interfaceid takes it), its fixed IPs with the Subnet's prefix and gateway, the Network's MTU.
- Disks: the boot Volume (`<server>-root` or `spec.bootVolume`) as vda with boot order 1, then `spec.volumes`
  (their `device` when given, else the next free vdX), each with its Volume's uid as serial (how the driver
  recognises it on a running guest, whatever its device) and its size (status.sizeGiB, to grow it live). A Volume's `status.backendId` (`rbd/<pool>/<image>`,
  controllers/storage_plan.py) is an RBD image QEMU opens itself, or with the `file` volume backend a raw
  file `<volume dir>/<pool>/<image>` (no Ceph: development and tests).
- Which Volumes: `wanted_volumes` says which the guest should have, from the Server and its namespace's
  Volumes: the boot Volume, and each of `spec.volumes` once the storage operator attached it to this Server
  (named in the Volume's status.attachments: one still being made, or refused because it is attached
  elsewhere, is not wanted yet). hostd computes it from its Volume cache and compares it with the guest's
  disks (hostd/reconcile.py); the GuestSpec carries it, and the plan then has exactly those disks, at those
  sizes, so that what the driver applies is what the next comparison expects. A GuestSpec without it
  (`volumes` None: a driver called directly) gets every Volume the Server names.
- The config drive's content: hostname, NICs, the KeyPair's public key, the user data.

Whatever is missing or wrong raises ResolveError naming the object and field; the agent reports it on the
Server and retries later (the operator's VolumesReady/NetworkReady make this rare: it waits for them).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from controllers.compute_deps import Need, port_needs, volume_needs

from .configdrive import ConfigDriveSpec, NicConfig
from .drivers.base import GuestSpec, GuestVolume, volume_serial
from .guest_devices import DiskPlan, GuestPlan, NicPlan, PowerPolicy, RbdSource

Obj = Mapping[str, Any]
DEVICES = tuple(f"vd{c}" for c in "abcdefghijklmnopqrstuvwxyz")


class ResolveError(ValueError):
    """What the Server needs is missing or wrong; the message names the object and the field."""


@dataclass(frozen=True, slots=True)
class Fetched:
    """The objects a Server names, by name (namespace-local); absent ones are missing from the maps."""

    ports: Mapping[str, Obj] = field(default_factory=dict)
    subnets: Mapping[str, Obj] = field(default_factory=dict)
    networks: Mapping[str, Obj] = field(default_factory=dict)
    volumes: Mapping[str, Obj] = field(default_factory=dict)
    public_key: str | None = None
    user_data: bytes | None = None


@dataclass(frozen=True, slots=True)
class DiskSettings:
    """Where a Volume's image is: RBD (monitors, cephx) or a raw file under `volume_dir`."""

    backend: str = "rbd"  # "rbd" | "file"
    monitors: tuple[str, ...] = ()
    default_pool: str = "volumes"
    user: str | None = None
    secret_uuid: str | None = None
    volume_dir: Path | None = None


@dataclass(frozen=True, slots=True)
class PlanSettings:
    disks: DiskSettings = field(default_factory=DiskSettings)
    bridge: str = "br-int"
    power: PowerPolicy = field(default_factory=PowerPolicy)
    console_dir: Path | None = None
    config_drive_dir: Path | None = None


def _status(obj: Obj) -> Mapping[str, Any]:
    return obj.get("status") or {}


def _spec(obj: Obj) -> Mapping[str, Any]:
    return obj.get("spec") or {}


def split_backend_id(backend_id: str, default_pool: str) -> tuple[str, str]:
    """`rbd/<pool>/<image>` (or `<pool>/<image>`, or `<image>` in the default pool) -> (pool, image)."""
    parts = backend_id.split("/")
    if parts[0] == "rbd":
        parts = parts[1:]
    if len(parts) == 1 and parts[0]:
        return default_pool, parts[0]
    if len(parts) == 2 and all(parts):
        return parts[0], parts[1]
    raise ResolveError(f"status.backendId: {backend_id!r} is not rbd/<pool>/<image>")


def nic(server: Obj, index: int, port_name: str, fetched: Fetched, bridge: str) -> tuple[NicPlan, NicConfig]:
    what = f"Port {port_name} (nic{index})"
    port = fetched.ports.get(port_name)
    if port is None:
        raise ResolveError(f"{what}: not found")
    status = _status(port)
    uid = port["metadata"].get("uid") or ""
    mac = str(status.get("macAddress") or "").lower()
    if not mac:
        raise ResolveError(f"{what}: status.macAddress is not set yet")
    addresses: list[str] = []
    gateways: list[str] = []
    mtus: list[int] = []
    for i, a in enumerate(status.get("addresses") or ()):
        subnet_name = str(a.get("subnet") or "")
        subnet = fetched.subnets.get(subnet_name)
        if subnet is None:
            raise ResolveError(f"{what}: status.addresses[{i}].subnet: Subnet {subnet_name!r} not found")
        cidr = str(_spec(subnet).get("cidr") or "")
        try:
            prefix = ipaddress.ip_network(cidr, strict=False).prefixlen
        except ValueError:
            raise ResolveError(f"Subnet {subnet_name}: spec.cidr {cidr!r} is not a CIDR") from None
        addresses.append(f"{a.get('ipAddress')}/{prefix}")
        gateway = _status(subnet).get("gatewayIP")
        if gateway is None and not _spec(subnet).get("disableGateway"):
            gateway = _spec(subnet).get("gatewayIP")
        if gateway and str(gateway) not in gateways:
            gateways.append(str(gateway))
        network = fetched.networks.get(str(_spec(subnet).get("network") or ""))
        if network is not None and _spec(network).get("mtu"):
            mtus.append(int(_spec(network)["mtu"]))
    mtu = min(mtus) if mtus else None
    try:
        plan = NicPlan(port_uid=uid, mac=mac, bridge=bridge, mtu=mtu)
    except ValueError as exc:
        raise ResolveError(f"{what}: {exc}") from None
    return plan, NicConfig(mac=mac, addresses=tuple(addresses), gateways=tuple(gateways), mtu=mtu)


def attached_to(vol: Obj, server_name: str) -> bool:
    """Whether the storage operator attached the Volume to the Server (its status.attachments)."""
    return any(a.get("server") == server_name for a in _status(vol).get("attachments") or ())


def serial_of(vol: Obj) -> str | None:
    uid = str(vol["metadata"].get("uid") or "")
    return volume_serial(uid) if uid else None


def wanted_volumes(server: Obj, volumes: Mapping[str, Obj]) -> tuple[GuestVolume, ...] | None:
    """The Volume disks the Server's guest should have, from its namespace's Volumes (by name): the boot
    Volume, then each of spec.volumes attached to the Server by the storage operator, with its serial and
    status.sizeGiB in bytes (None while unknown or invalid: the resolver names the bad value). None when the
    boot Volume is not known: nothing to compare the guest with."""
    me = server["metadata"]["name"]
    out: list[GuestVolume] = []
    for need in volume_needs(server):
        vol = volumes.get(need.name)
        serial = serial_of(vol) if vol is not None else None
        if need.role == "boot":
            if vol is None or serial is None:
                return None
        elif vol is None or serial is None or not attached_to(vol, me) or not _status(vol).get("backendId"):
            continue
        try:
            size = size_bytes(vol, need.name)
        except ResolveError:
            size = None
        out.append(GuestVolume(serial, size))
    return tuple(out)


def planned_needs(server: Obj, fetched: Fetched, wanted: tuple[GuestVolume, ...] | None) -> tuple[Need, ...]:
    """The Volumes in the plan: all the Server names, or with `wanted` the boot Volume and the attached ones
    whose serial it lists."""
    needs = volume_needs(server)
    if wanted is None:
        return needs
    serials = {v.serial for v in wanted}
    out = []
    for need in needs:
        vol = fetched.volumes.get(need.name)
        if need.role == "boot" or (vol is not None and serial_of(vol) in serials):
            out.append(need)
    return tuple(out)


def size_bytes(vol: Obj, what: str) -> int | None:
    """The Volume's size as made by the storage backend (status.sizeGiB: it follows an extend once done),
    in bytes; None while unknown."""
    size = _status(vol).get("sizeGiB")
    if size is None:
        return None
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ResolveError(f"{what}: status.sizeGiB {size!r} is not a positive integer")
    return size << 30


def disk(
    name: str,
    role: str,
    target: str,
    boot: bool,
    fetched: Fetched,
    settings: DiskSettings,
    sizes: Mapping[str, int | None] | None = None,
) -> DiskPlan:
    """One Volume's disk; its size from `sizes` (by serial: what hostd compares the guest with) when given."""
    what = f"{role} Volume {name}"
    vol = fetched.volumes.get(name)
    if vol is None:
        raise ResolveError(f"{what}: not found")
    backend_id = _status(vol).get("backendId")
    if not backend_id:
        raise ResolveError(f"{what}: status.backendId is not set yet (the Volume is not made)")
    pool, image = split_backend_id(str(backend_id), settings.default_pool)
    serial = serial_of(vol)
    order = 1 if boot else None
    size = size_bytes(vol, what)
    if sizes is not None and serial is not None and serial in sizes:
        size = sizes[serial]
    try:
        if settings.backend == "file":
            assert settings.volume_dir is not None
            path = settings.volume_dir / pool / image
            return DiskPlan(target, path=str(path), serial=serial, boot_order=order, size_bytes=size)
        rbd = RbdSource(pool, image, settings.monitors, settings.user, settings.secret_uuid)
        return DiskPlan(target, rbd=rbd, serial=serial, boot_order=order, size_bytes=size)
    except ValueError as exc:
        raise ResolveError(f"{what}: {exc}") from None


def disks(
    server: Obj,
    fetched: Fetched,
    settings: DiskSettings,
    wanted: tuple[GuestVolume, ...] | None = None,
) -> tuple[DiskPlan, ...]:
    """Boot Volume first (vda), then attached Volumes at their `device` or the next free vdX; with `wanted`,
    only those it lists (planned_needs), at its sizes."""
    sizes = None if wanted is None else {v.serial: v.size_bytes for v in wanted}
    asked = {
        str(v.get("volume")): str(v["device"])
        for v in _spec(server).get("volumes") or ()
        if v.get("volume") and v.get("device")
    }
    taken = set(asked.values())
    free = [d for d in DEVICES if d not in taken]
    out = []
    for need in planned_needs(server, fetched, wanted):
        boot = need.role == "boot"
        target = "vda" if boot else asked.get(need.name) or ""
        if boot:
            free = [d for d in free if d != "vda"]
        elif not target:
            if not free:
                raise ResolveError("spec.volumes: more Volumes than virtio disk names")
            target = free.pop(0)
        out.append(disk(need.name, need.role, target, boot, fetched, settings, sizes))
    return tuple(out)


def guest_plan(
    spec: GuestSpec, fetched: Fetched, settings: PlanSettings
) -> tuple[GuestPlan, ConfigDriveSpec]:
    """The plan of the Server's guest, and what its config drive says (the caller writes the drive and
    sets plan.config_drive's file)."""
    server = spec.server
    meta = server.get("metadata") or {}
    namespace, _, name = spec.consumer.partition("/")
    nics: list[NicPlan] = []
    nic_configs: list[NicConfig] = []
    for i, need in enumerate(port_needs(server)):
        plan_nic, config = nic(server, i, need.name, fetched, settings.bridge)
        nics.append(plan_nic)
        nic_configs.append(config)
    flavor = _status(server).get("flavor") or _spec(server).get("flavor")
    console = str(settings.console_dir / f"{spec.uid}.log") if settings.console_dir else None
    drive = str(settings.config_drive_dir / f"{spec.uid}.img") if settings.config_drive_dir else None
    try:
        plan = GuestPlan(
            uid=spec.uid,
            namespace=namespace,
            name=name,
            resources=spec.resources,
            flavor=str(flavor) if flavor else None,
            disks=disks(server, fetched, settings.disks, spec.volumes),
            nics=tuple(nics),
            config_drive=drive,
            console_log=console,
            power=settings.power,
        )
    except ResolveError:
        raise
    except ValueError as exc:
        raise ResolveError(str(exc)) from None
    nameservers: list[str] = []
    for subnet in fetched.subnets.values():
        for ns in _spec(subnet).get("dnsServers") or ():
            if str(ns) not in nameservers:
                nameservers.append(str(ns))
    drive_spec = ConfigDriveSpec(
        uid=spec.uid,
        name=str(meta.get("name") or name),
        namespace=str(meta.get("namespace") or namespace),
        nics=tuple(nic_configs),
        ssh_keys=(fetched.public_key,) if fetched.public_key else (),
        user_data=fetched.user_data,
        nameservers=tuple(nameservers[:3]),
    )
    return plan, drive_spec

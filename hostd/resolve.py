"""The resolver hostd gives the libvirt driver: GuestSpec -> GuestPlan, reading what the Server names
from the API server and writing its config drive (hostd/resolve_plan.py is the pure part).

    resolver = ApiResolver(kube, settings)
    plan = await resolver(spec)

Per call it GETs the Server's Ports (and their Subnets and Networks), Volumes, KeyPair and user-data Secret,
renders the config drive (hostd/configdrive.py) and writes it under the state directory only when its content
changed. With the `file` volume backend a Volume's raw file is made (sparse, the Volume's size) when missing
and grown when the Volume was extended: it stands in for the RBD image the storage backend would have made. A missing object or a bad value raises
ResolveError (a ValueError) naming it; API errors other than 404 propagate (transient: the agent retries).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from controllers.compute_deps import port_needs, volume_needs

from . import configdrive
from .drivers.base import GuestSpec
from .guest_devices import GuestPlan
from .kube import ApiError, Kube, Obj, path_for
from .resolve_plan import Fetched, PlanSettings, ResolveError, guest_plan, planned_needs

NETWORK_API = "network.kumulus.dev/v1alpha1"
STORAGE_API = "storage.kumulus.dev/v1alpha1"
COMPUTE_API = "compute.kumulus.dev/v1alpha1"

__all__ = ["ApiResolver", "ResolveError"]


class ApiResolver:
    def __init__(self, kube: Kube, settings: PlanSettings) -> None:
        self.kube = kube
        self.settings = settings

    async def _get(self, api: str, plural: str, name: str, namespace: str | None) -> Obj | None:
        try:
            return await self.kube.get(path_for(api, plural, name, namespace))
        except ApiError as exc:
            if exc.code == 404:
                return None
            raise

    async def fetch(self, server: Mapping[str, Any]) -> Fetched:
        namespace = server["metadata"].get("namespace")
        spec = server.get("spec") or {}
        ports: dict[str, Obj] = {}
        subnets: dict[str, Obj] = {}
        networks: dict[str, Obj] = {}
        for need in port_needs(server):
            port = await self._get(NETWORK_API, "ports", need.name, namespace)
            if port is None:
                continue
            ports[need.name] = port
            for a in (port.get("status") or {}).get("addresses") or ():
                name = str(a.get("subnet") or "")
                if name and name not in subnets:
                    subnet = await self._get(NETWORK_API, "subnets", name, namespace)
                    if subnet is not None:
                        subnets[name] = subnet
        for subnet in subnets.values():
            name = str((subnet.get("spec") or {}).get("network") or "")
            if name and name not in networks:
                network = await self._get(NETWORK_API, "networks", name, namespace)
                if network is not None:
                    networks[name] = network
        volumes: dict[str, Obj] = {}
        for vneed in volume_needs(server):
            vol = await self._get(STORAGE_API, "volumes", vneed.name, namespace)
            if vol is not None:
                volumes[vneed.name] = vol
        public_key = None
        if spec.get("keyPair"):
            kp = await self._get(COMPUTE_API, "keypairs", str(spec["keyPair"]), namespace)
            if kp is None:
                raise ResolveError(f"spec.keyPair: KeyPair {spec['keyPair']} not found")
            public_key = str((kp.get("spec") or {}).get("publicKey") or "").strip() or None
        user_data = None
        if spec.get("userData"):
            user_data = await self._user_data(spec["userData"], namespace)
        return Fetched(ports, subnets, networks, volumes, public_key, user_data)

    async def _user_data(self, ref: Any, namespace: str | None) -> bytes:
        secret_name = str(ref.get("secretName") or "")
        key = str(ref.get("key") or "userData")
        secret = await self._get("v1", "secrets", secret_name, namespace)
        if secret is None:
            raise ResolveError(f"spec.userData.secretName: Secret {secret_name} not found")
        data = (secret.get("data") or {}).get(key)
        if data is None:
            raise ResolveError(f"spec.userData.key: Secret {secret_name} has no key {key!r}")
        try:
            return base64.b64decode(str(data), validate=True)
        except binascii.Error:
            raise ResolveError(f"Secret {secret_name}: data.{key} is not base64") from None

    async def __call__(self, spec: GuestSpec) -> GuestPlan:
        fetched = await self.fetch(spec.server)
        plan, drive = guest_plan(spec, fetched, self.settings)
        try:
            files = configdrive.render(drive)
        except configdrive.ConfigDriveError as exc:
            raise ResolveError(f"config drive: {exc}") from None
        if plan.config_drive is not None:
            await asyncio.to_thread(configdrive.ensure_config_drive, Path(plan.config_drive), files)
        if self.settings.disks.backend == "file":
            needs = planned_needs(spec.server, fetched, spec.volumes)
            for d, name in zip(plan.disks, [n.name for n in needs], strict=True):
                vol = fetched.volumes[name]
                size = d.size_bytes or int((vol.get("spec") or {}).get("sizeGiB") or 1) << 30
                assert d.path is not None
                await asyncio.to_thread(ensure_file_volume, Path(d.path), size)
        return plan


def ensure_file_volume(path: Path, size_bytes: int) -> bool:
    """A sparse raw file of `size_bytes` at `path`: made if missing, grown (sparse) if smaller, as the storage
    backend extends an RBD image; never shrunk, its content never rewritten. True if it made or grew it.
    A running guest sees the new size once the driver tells QEMU (blockResize)."""
    try:
        have = path.stat().st_size
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        with tmp.open("wb") as f:
            f.truncate(size_bytes)
            os.fsync(f.fileno())
        os.replace(tmp, path)
        return True
    if have >= size_bytes:
        return False
    with path.open("r+b") as f:
        f.truncate(size_bytes)
        os.fsync(f.fileno())
    return True

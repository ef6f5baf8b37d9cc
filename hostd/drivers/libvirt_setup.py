"""Build the libvirt driver of a host from its config: the driver, and the API resolver it makes plans with."""

from __future__ import annotations

from controllers.scheduling import Resources

from ..config import HostConfig, LibvirtConfig
from ..guest_devices import PowerPolicy
from ..kube import Kube
from ..resolve import ApiResolver
from ..resolve_plan import DiskSettings, PlanSettings
from .libvirt import LibvirtDriver


def plan_settings(cfg: LibvirtConfig, bridge: str = "br-int") -> PlanSettings:
    """Where the resolver puts console logs and config drives, and how it names disks."""
    rbd = cfg.volume_backend == "rbd"
    disks = DiskSettings(
        backend=cfg.volume_backend,
        # Monitors are read now, so a bad ceph-conf fails at start, not at the first Server.
        monitors=cfg.monitors() if rbd else (),
        default_pool=cfg.ceph_pool,
        user=cfg.ceph_user,
        secret_uuid=cfg.ceph_secret_uuid,
        volume_dir=None if rbd else cfg.volumes,
    )
    return PlanSettings(
        disks=disks,
        bridge=bridge,
        power=PowerPolicy(shutdown_timeout=cfg.shutdown_timeout),
        console_dir=cfg.state_dir / "console",
        config_drive_dir=cfg.state_dir / "configdrive",
    )


def libvirt_driver(host: HostConfig, cfg: LibvirtConfig, kube: Kube) -> LibvirtDriver:
    cfg.state_dir.mkdir(parents=True, exist_ok=True)
    return LibvirtDriver(
        cfg.uri,
        cfg.state_dir,
        host=host.name,
        virt_type=cfg.virt_type,
        resolver=ApiResolver(kube, plan_settings(cfg)),
        fallback_capacity=Resources(*host.capacity),
    )

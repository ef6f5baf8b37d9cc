"""hostd's settings for one host, and the layout of `--sim-hosts N` simulated hosts.

`HostConfig` is what every driver shares; `LibvirtConfig` (the libvirt driver and its resolver: URI, virt
type, state directory, where Volumes live), `NetworkConfig` (this host's OVS/ovn-controller settings) and
`StorageConfig` (the storage role: the zone's Ceph cluster, hostd/storage/worker.py) are set only when used. Each is validated when made: a bad value raises ValueError naming the option as
written in the config file (e.g. `virt-type`).
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

from controllers.api.infra import HostRole

SIM_ZONES = ("az1", "az2", "az3", "sz1")
SIM_SITES = {"az1": "dc1", "az2": "dc2", "az3": "dc3"}
STRETCHED_SITES = ("dc1", "dc2", "dc3")
DRIVERS = ("sim", "libvirt")
VIRT_TYPES = ("qemu", "kvm")
VOLUME_BACKENDS = ("rbd", "file")
DATAPATH_TYPES = ("system", "netdev")
REMOTE_PREFIXES = ("unix:", "tcp:", "ssl:")
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_IFNAME = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")
_MONITOR = re.compile(r"^[A-Za-z0-9_.:\[\]-]+$")


@dataclass(frozen=True, slots=True)
class LibvirtConfig:
    """The libvirt driver's settings, and where the resolver finds a Server's disks."""

    uri: str = "qemu:///system"
    virt_type: str = "kvm"
    state_dir: Path = Path("/var/lib/kumulus/hostd")
    shutdown_timeout: float = 60.0  # seconds an ACPI shutdown may take before the guest is destroyed
    volume_backend: str = "rbd"  # "file": Volumes are raw files under volume_dir (no Ceph: dev and tests)
    volume_dir: Path | None = None  # default <state_dir>/volumes
    ceph_conf: Path | None = None  # read for `mon host` when ceph_monitors is empty
    ceph_monitors: tuple[str, ...] = ()
    ceph_pool: str = "volumes"  # for a backend id without a pool
    ceph_user: str | None = None
    ceph_secret_uuid: str | None = None

    def __post_init__(self) -> None:
        if not self.uri or "://" not in self.uri:
            raise ValueError(f"libvirt-uri: {self.uri!r} is not a libvirt URI like qemu:///system")
        if self.virt_type not in VIRT_TYPES:
            raise ValueError(f"virt-type: {self.virt_type!r} is not one of {', '.join(VIRT_TYPES)}")
        if not self.state_dir.is_absolute():
            raise ValueError(f"state-dir: {str(self.state_dir)!r} must be an absolute path")
        if not 0 <= self.shutdown_timeout <= 3600:
            raise ValueError(f"shutdown-timeout: {self.shutdown_timeout} is out of 0..3600 seconds")
        if self.volume_backend not in VOLUME_BACKENDS:
            raise ValueError(
                f"volume-backend: {self.volume_backend!r} is not one of {', '.join(VOLUME_BACKENDS)}"
            )
        if self.volume_dir is not None and not self.volume_dir.is_absolute():
            raise ValueError(f"volume-dir: {str(self.volume_dir)!r} must be an absolute path")
        for mon in self.ceph_monitors:
            if not _MONITOR.match(mon):
                raise ValueError(f"ceph-monitors: {mon!r} is not host or host:port")
        if not _NAME.match(self.ceph_pool):
            raise ValueError(f"ceph-pool: {self.ceph_pool!r} is not a pool name")
        if (self.ceph_user is None) != (self.ceph_secret_uuid is None):
            raise ValueError("ceph-user and ceph-secret-uuid go together: set both or neither")
        if self.ceph_secret_uuid is not None:
            try:
                uuid.UUID(self.ceph_secret_uuid)
            except ValueError:
                raise ValueError(f"ceph-secret-uuid: {self.ceph_secret_uuid!r} is not a UUID") from None

    @property
    def volumes(self) -> Path:
        return self.volume_dir or self.state_dir / "volumes"

    def monitors(self) -> tuple[str, ...]:
        """ceph-monitors, else the `mon host` of ceph-conf (ValueError naming the option when neither)."""
        if self.ceph_monitors:
            return self.ceph_monitors
        if self.ceph_conf is None:
            raise ValueError("ceph-monitors: RBD disks need monitors (or ceph-conf with `mon host`)")
        return monitors_from_conf(self.ceph_conf.read_text(), str(self.ceph_conf))


def monitors_from_conf(text: str, where: str = "ceph.conf") -> tuple[str, ...]:
    """The monitors of a ceph.conf's `mon host` (or mon_host): "a,b" or "[v2:1.2.3.4:3300,v1:...]"."""
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip().replace("_", " ") == "mon host":
            mons = []
            for part in re.split(r"[,\s]+", value.strip()):
                part = part.strip("[]")
                if part.startswith(("v1:", "v2:")):
                    if part.startswith("v2:"):
                        continue  # QEMU's librbd takes one address per monitor: keep the v1 (or plain) one
                    part = part[3:]
                    part = part.split("/")[0]
                if part:
                    mons.append(part)
            if mons:
                return tuple(dict.fromkeys(mons))
    raise ValueError(f"ceph-conf: {where} has no `mon host`")


@dataclass(frozen=True, slots=True)
class NetworkConfig:
    """This host's OVS/ovn-controller settings (hostd/network/settings.py) and where its databases are."""

    ovn_sb_remote: str
    encap_ip: str
    ovs_db: str = "unix:/var/run/openvswitch/db.sock"
    datapath_type: str = "system"
    bridge_mappings: str = "physnet1:br-ex"  # physical network:external bridge (Network-role hosts)
    uplink: str | None = None

    def __post_init__(self) -> None:
        for name, value in (("ovn-sb-remote", self.ovn_sb_remote), ("ovs-db", self.ovs_db)):
            if not value.startswith(REMOTE_PREFIXES):
                raise ValueError(f"{name}: must start with unix:, tcp: or ssl:, got {value!r}")
        try:
            ipaddress.ip_address(self.encap_ip)
        except ValueError:
            raise ValueError(f"encap-ip: not an IP address: {self.encap_ip!r}") from None
        if self.datapath_type not in DATAPATH_TYPES:
            raise ValueError(
                f"datapath-type: {self.datapath_type!r} is not one of {', '.join(DATAPATH_TYPES)}"
            )
        physnet, sep, bridge = self.bridge_mappings.partition(":")
        if not sep or not _NAME.match(physnet) or not _IFNAME.match(bridge):
            raise ValueError(
                f"bridge-mappings: {self.bridge_mappings!r} is not physnet:bridge (e.g. physnet1:br-ex)"
            )
        if self.uplink is not None and not _IFNAME.match(self.uplink):
            raise ValueError(f"uplink: {self.uplink!r} is not an interface name")

    @property
    def physical_network(self) -> str:
        return self.bridge_mappings.partition(":")[0]

    @property
    def external_bridge(self) -> str:
        return self.bridge_mappings.partition(":")[2]


ALL_ZONES = "*"


@dataclass(frozen=True, slots=True)
class StorageConfig:
    """The storage role: the Ceph cluster of the zones it serves, and how often it passes over them."""

    ceph_conf: Path
    state_dir: Path  # its fetch directory and the Ceph client address of its last run (fencing)
    zones: tuple[str, ...]  # ("*",): every Zone the API holds (one Ceph cluster for all, e.g. `kumulus up`)
    ceph_client: str = "admin"
    resync: float = 15.0  # seconds between passes when nothing changes
    lease_seconds: float = 15.0  # duration of the zone Leases (renewed every third of it)
    max_image_gib: int = 64

    def __post_init__(self) -> None:
        if not self.ceph_conf.is_file():
            raise ValueError(f"ceph-conf: {str(self.ceph_conf)!r} is not a file (the storage role's Ceph)")
        if not self.state_dir.is_absolute():
            raise ValueError(f"state-dir: {str(self.state_dir)!r} must be an absolute path")
        if not self.zones or any(z != ALL_ZONES and not _NAME.match(z) for z in self.zones):
            raise ValueError(f"storage-zones: {','.join(self.zones)!r} is not zone names or {ALL_ZONES}")
        if not _NAME.match(self.ceph_client):
            raise ValueError(f"ceph-user: {self.ceph_client!r} is not a Ceph client name")
        if self.resync <= 0:
            raise ValueError(f"storage-resync-seconds: {self.resync} must be positive")
        if self.lease_seconds < 3:
            raise ValueError(f"storage-lease-seconds: {self.lease_seconds} must be at least 3")
        if self.max_image_gib < 1:
            raise ValueError(f"image-max-gib: {self.max_image_gib} must be at least 1")


@dataclass(frozen=True, slots=True)
class HostConfig:
    name: str
    zone: str = "az1"
    site: str = "dc1"
    roles: tuple[HostRole, ...] = (HostRole.COMPUTE,)
    driver: str = "sim"
    vcpus: int = 64
    ram_mib: int = 262144
    disk_gib: int = 2000
    traits: tuple[str, ...] = ()
    boot_delay: float = 0.5
    lease_seconds: float = 10.0
    libvirt: LibvirtConfig | None = None  # set with driver libvirt
    network: NetworkConfig | None = None  # None: no OVN SB configured, hostd leaves OVS alone
    storage: StorageConfig | None = None  # set with role Storage

    def __post_init__(self) -> None:
        if self.driver not in DRIVERS:
            raise ValueError(f"driver: {self.driver!r} is not one of {', '.join(DRIVERS)}")
        if self.driver == "libvirt" and self.libvirt is None:
            raise ValueError("driver: libvirt needs the libvirt settings (libvirt-uri, state-dir...)")
        for name in ("vcpus", "ram_mib", "disk_gib"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name.replace('_', '-')}: must be at least 1")
        if self.lease_seconds <= 0:
            raise ValueError(f"lease-seconds: {self.lease_seconds} must be positive")
        if (HostRole.STORAGE in self.roles) != (self.storage is not None):
            raise ValueError("ceph-conf: the storage role needs --ceph-conf (its zone's Ceph), and only it")

    @property
    def capacity(self) -> tuple[int, int, int]:
        return (self.vcpus, self.ram_mib, self.disk_gib)


def parse_roles(text: str) -> tuple[HostRole, ...]:
    """ "compute,network" -> (Compute, Network); raises ValueError on an unknown role."""
    by_name = {r.value.lower(): r for r in HostRole}
    roles = []
    for part in text.split(","):
        part = part.strip().lower()
        if part:
            if part not in by_name:
                raise ValueError(f"unknown role {part!r} (known: compute, network, storage)")
            roles.append(by_name[part])
    if not roles:
        raise ValueError("at least one role is needed")
    return tuple(dict.fromkeys(roles))


def parse_list(text: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in text.split(",") if t.strip())


def sim_hosts(count: int, template: HostConfig) -> list[HostConfig]:
    """`count` hosts spread round-robin over az1, az2, az3 and the stretched sz1 (whose hosts are spread
    over dc1..dc3), named sim-<zone>-<i> with i counting from 1 in each zone."""
    out = []
    for i in range(count):
        zone = SIM_ZONES[i % len(SIM_ZONES)]
        nth = i // len(SIM_ZONES)
        site = SIM_SITES.get(zone) or STRETCHED_SITES[nth % len(STRETCHED_SITES)]
        out.append(replace(template, name=f"sim-{zone}-{nth + 1}", zone=zone, site=site))
    return out

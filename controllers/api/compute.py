"""compute.kumulus.dev: Servers and what they are made from (Flavors, KeyPairs, ServerGroups).

Nova's concepts in Kubernetes style: a Server is desired state (flavor, image or boot volume, zone,
networks, volumes, power state, a reboot request); its status reports where it runs and how it is doing.

Nova's imperative actions are spec fields, so that a Git repository can hold them: `spec.powerState`
(start/stop), `spec.resize` (resize) and `spec.reboot` (reboot: a request stamped with a time, served once;
`status.lastReboot` records the last one served, so applying the same manifest again reboots nothing).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import ConfigDict, Field

from .base import (
    AGE,
    READY,
    Column,
    IPAddress,
    Kind,
    KumulusModel,
    ResourceName,
    StatusBase,
    immutable,
)

# -- Server ---------------------------------------------------------------------------------------------


class PowerState(StrEnum):
    ON = "On"
    OFF = "Off"


class HighAvailabilityPolicy(StrEnum):
    NONE = "None"
    RESTART = "Restart"


class NetworkAttachment(KumulusModel):
    """One NIC of a Server: on a Network (an address is assigned) or bound to an existing Port."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "has(self.network) != has(self.port)",
                    "message": "set exactly one of network or port",
                },
                {"rule": "!has(self.fixedIP) || has(self.network)", "message": "fixedIP needs network"},
            ]
        }
    )

    network: ResourceName | None = Field(default=None, description="Name of a Network in this namespace.")
    port: ResourceName | None = Field(default=None, description="Name of an existing Port in this namespace.")
    fixed_ip: IPAddress | None = Field(
        default=None, alias="fixedIP", description="A fixed address on the network, instead of one from IPAM."
    )
    security_groups: list[ResourceName] | None = Field(
        default=None,
        max_length=16,
        description="SecurityGroups of the port created for this NIC; the namespace's default group if unset.",
    )


class VolumeAttachment(KumulusModel):
    """A Volume attached to the Server."""

    volume: ResourceName = Field(description="Name of a Volume in this namespace, in the Server's zone.")
    device: str | None = Field(
        default=None,
        pattern=r"^vd[b-z]$",
        description="Guest device name hint (vdb..vdz); assigned in order if unset.",
    )


class RootDisk(KumulusModel):
    """The boot volume created from the image (boot from image)."""

    size_gi_b: int | None = Field(
        default=None,
        alias="sizeGiB",
        ge=1,
        le=65536,
        description="Size in GiB; the flavor's root disk size if unset.",
    )
    volume_type: ResourceName | None = Field(default=None, description="VolumeType of the boot volume.")
    delete_with_server: bool = Field(default=True, description="Delete the boot volume with the Server.")


class UserData(KumulusModel):
    """cloud-init user data, read from a Secret in the Server's namespace."""

    secret_name: ResourceName = Field(description="Name of the Secret holding the user data.")
    key: str = Field(
        default="userData", min_length=1, max_length=253, description="Key in the Secret's data."
    )


class RebootType(StrEnum):
    SOFT = "Soft"
    HARD = "Hard"


class Reboot(KumulusModel):
    """A request to reboot the Server. hostd serves it once, when `requestedAt` is later than
    `status.lastReboot.requestedAt`: to reboot again, set a later time (e.g. `date -u +%FT%TZ`)."""

    requested_at: str = Field(
        alias="requestedAt",
        json_schema_extra={"format": "date-time"},
        description="When the reboot was asked for (RFC 3339, e.g. 2025-01-31T12:00:00Z); a time later than "
        "status.lastReboot.requestedAt asks for a new reboot, an earlier or equal one is already served.",
    )
    type: RebootType = Field(
        default=RebootType.SOFT,
        description="Soft: ACPI shutdown (the guest is destroyed if it is still running at the host's "
        "shutdown timeout), then start. Hard: power cut, then start.",
    )


class Resize(KumulusModel):
    """A request to move the Server to another flavor."""

    flavor: ResourceName = Field(description="The Flavor to resize to.")


class ServerSpec(KumulusModel):
    """The desired state of a Server."""

    flavor: ResourceName = Field(
        description="Name of the Flavor (vCPUs, RAM, disk). Immutable: change it with spec.resize.",
        json_schema_extra=immutable("flavor is immutable; request a resize with spec.resize"),
    )
    image: ResourceName | None = Field(
        default=None,
        description="Name of an Image in this namespace, else a ClusterImage, to boot from. A copy-on-write "
        "boot volume is cloned from it in the Server's zone. Immutable.",
        json_schema_extra=immutable("image is immutable"),
    )
    boot_volume: ResourceName | None = Field(
        default=None,
        description="Name of an existing bootable Volume to boot from, instead of an image. Immutable.",
        json_schema_extra=immutable("bootVolume is immutable"),
    )
    root_disk: RootDisk | None = Field(default=None, description="The boot volume made from the image.")
    zone: ResourceName | None = Field(
        default=None,
        description="Availability zone (AZ1, AZ2, AZ3, or the stretched SZ1); chosen by the scheduler if unset. "
        "Immutable once set.",
        json_schema_extra=immutable("zone is immutable"),
    )
    networks: list[NetworkAttachment] = Field(
        default_factory=list, max_length=16, description="NICs, in order (the first is the primary NIC)."
    )
    volumes: list[VolumeAttachment] = Field(
        default_factory=list,
        max_length=25,
        description="Volumes to attach; add or remove entries to hot-plug.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["volume"]},
    )
    key_pair: ResourceName | None = Field(default=None, description="KeyPair whose public key is injected.")
    user_data: UserData | None = Field(default=None, description="cloud-init user data.")
    server_group: ResourceName | None = Field(
        default=None,
        description="ServerGroup for (anti-)affinity placement. Immutable.",
        json_schema_extra=immutable("serverGroup is immutable"),
    )
    power_state: PowerState = Field(default=PowerState.ON, description="On or Off (ACPI shutdown, then off).")
    high_availability: HighAvailabilityPolicy = Field(
        default=HighAvailabilityPolicy.NONE,
        description="Restart: when the host fails (and is fenced), start the Server on another host of its zone.",
    )
    required_traits: list[str] = Field(
        default_factory=list,
        max_length=32,
        description="Host traits the Server needs, in addition to the flavor's (e.g. CUSTOM_GPU).",
    )
    resize: Resize | None = Field(default=None, description="Set to resize the Server to another flavor.")
    reboot: Reboot | None = Field(
        default=None,
        description="A reboot request, served once (see status.lastReboot). A request made while the guest "
        "is not running (powered off, crashed, not created yet) reboots nothing: its next start is a fresh "
        "boot.",
    )


class ServerPhase(StrEnum):
    PENDING = "Pending"
    SCHEDULED = "Scheduled"
    BUILDING = "Building"
    RUNNING = "Running"
    STOPPED = "Stopped"
    RESIZING = "Resizing"
    REBOOTING = "Rebooting"
    ERROR = "Error"
    DELETING = "Deleting"


class AddressType(StrEnum):
    FIXED = "Fixed"
    FLOATING = "Floating"


class ServerAddress(KumulusModel):
    """An address of the Server."""

    network: str = Field(description="The Network (or ExternalNetwork for floating addresses).")
    ip: IPAddress = Field(description="The address.")
    type: AddressType = Field(default=AddressType.FIXED, description="Fixed (on a port) or Floating.")
    mac: str | None = Field(default=None, description="MAC address of the NIC.")


class RebootResult(StrEnum):
    REBOOTED = "Rebooted"
    NOT_RUNNING = "NotRunning"


class LastReboot(KumulusModel):
    """The last reboot request (spec.reboot) hostd served: the record that it is not to be served again."""

    requested_at: str = Field(
        alias="requestedAt",
        json_schema_extra={"format": "date-time"},
        description="spec.reboot.requestedAt of the request served.",
    )
    type: RebootType = Field(description="Soft or Hard, as requested.")
    result: RebootResult = Field(
        description="Rebooted: the guest was rebooted. NotRunning: the guest was not running (powered off, "
        "crashed or not created yet), so nothing was rebooted; its next start is a fresh boot."
    )
    completed_at: str | None = Field(
        default=None,
        alias="completedAt",
        json_schema_extra={"format": "date-time"},
        description="When the guest was running again after the reboot (unset for NotRunning).",
    )


class ConsoleLog(KumulusModel):
    """Where the guest's serial console is logged: a file on its host (`kumulus console` reads it there)."""

    host: str = Field(description="The Host whose hostd writes the log.")
    path: str = Field(description="The log file's path on that host (appended to across boots).")


class ServerStatus(StatusBase):
    """The observed state of a Server."""

    phase: ServerPhase | None = Field(default=None, description="Lifecycle phase.")
    host: str | None = Field(default=None, description="The Host the Server is placed on.")
    zone: str | None = Field(default=None, description="The zone the Server runs in.")
    flavor: str | None = Field(default=None, description="The flavor the Server currently runs with.")
    resize_flavor: str | None = Field(
        default=None,
        description="The flavor of a resize (spec.resize) the scheduler approved on the Server's host and "
        "hostd has not applied yet; status.flavor takes it once applied.",
    )
    addresses: list[ServerAddress] = Field(default_factory=list, description="Fixed and floating addresses.")
    power_state: str | None = Field(
        default=None, description="On, Off, Crashed or Unknown, as seen on the host."
    )
    boot_time: str | None = Field(
        default=None, json_schema_extra={"format": "date-time"}, description="When the guest last started."
    )
    message: str | None = Field(
        default=None,
        description="Why the Server is not Ready, e.g. how many hosts each scheduling filter removed.",
    )
    last_reboot: LastReboot | None = Field(
        default=None, description="The last reboot request (spec.reboot) served, written by hostd."
    )
    console: ConsoleLog | None = Field(
        default=None, description="Where the serial console is logged (drivers that log it: libvirt)."
    )


# -- Flavor ---------------------------------------------------------------------------------------------


class FlavorSpec(KumulusModel):
    """A size of Server. Immutable: make a new Flavor instead of changing one."""

    vcpus: int = Field(ge=1, le=1024, description="Virtual CPUs.")
    ram_mi_b: int = Field(alias="ramMiB", ge=64, le=16 * 1024 * 1024, description="Memory in MiB.")
    disk_gi_b: int = Field(
        default=0, alias="diskGiB", ge=0, le=65536, description="Root disk in GiB (0: image size)."
    )
    ephemeral_gi_b: int = Field(
        default=0, alias="ephemeralGiB", ge=0, le=65536, description="Ephemeral disk in GiB."
    )
    required_traits: list[str] = Field(
        default_factory=list, max_length=32, description="Host traits a host must have, e.g. CUSTOM_GPU."
    )
    aggregate_metadata: dict[str, str] = Field(
        default_factory=dict,
        description='HostAggregate metadata the host\'s aggregates must carry, e.g. ssd: "true".',
    )
    description: str | None = Field(default=None, max_length=1024, description="Free text shown to users.")


# -- KeyPair --------------------------------------------------------------------------------------------


class KeyPairSpec(KumulusModel):
    """An SSH public key injected into Servers that name this KeyPair."""

    public_key: str = Field(
        pattern=r"^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/=]+( .*)?$",
        max_length=16384,
        description='The OpenSSH public key line, e.g. "ssh-ed25519 AAAA... user@host". Immutable.',
        json_schema_extra=immutable("publicKey is immutable"),
    )


class KeyPairStatus(StatusBase):
    """The observed state of a KeyPair."""

    fingerprint: str | None = Field(default=None, description="SHA256 fingerprint of the key.")


# -- ServerGroup ----------------------------------------------------------------------------------------


class ServerGroupPolicy(StrEnum):
    AFFINITY = "Affinity"
    ANTI_AFFINITY = "AntiAffinity"
    SOFT_AFFINITY = "SoftAffinity"
    SOFT_ANTI_AFFINITY = "SoftAntiAffinity"


class ServerGroupSpec(KumulusModel):
    """Placement policy for the Servers that join the group."""

    policy: ServerGroupPolicy = Field(
        description="Affinity (same host), AntiAffinity (different hosts), or their Soft variants (best "
        "effort). Immutable.",
        json_schema_extra=immutable("policy is immutable"),
    )
    max_servers_per_host: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="With AntiAffinity: how many members a host may run (default 1).",
    )


class ServerGroupStatus(StatusBase):
    """The observed state of a ServerGroup."""

    members: list[str] = Field(default_factory=list, description="Servers in the group.")


KINDS: tuple[Kind, ...] = (
    Kind(
        group="compute",
        kind="Server",
        plural="servers",
        spec=ServerSpec,
        status=ServerStatus,
        description="A Server is a virtual machine: a flavor, a boot image or volume, NICs and volumes, "
        "placed on a Host in a zone.",
        short_names=("srv", "vm"),
        columns=(
            Column("Status", ".status.phase", description="Lifecycle phase."),
            Column("Flavor", ".spec.flavor"),
            Column("Host", ".status.host"),
            Column("Zone", ".status.zone"),
            Column("Addresses", ".status.addresses[*].ip", description="The first address."),
            AGE,
        ),
        selectable_fields=(".spec.flavor", ".status.host", ".status.zone"),
        spec_rules=(
            {
                "rule": "has(self.image) != has(self.bootVolume)",
                "message": "set exactly one of image or bootVolume",
            },
            {"rule": "!has(self.rootDisk) || has(self.image)", "message": "rootDisk needs image"},
            {
                "rule": "!has(self.resize) || self.resize.flavor != self.flavor",
                "message": "resize.flavor must differ from flavor",
            },
        ),
    ),
    Kind(
        group="compute",
        kind="Flavor",
        plural="flavors",
        spec=FlavorSpec,
        status=None,
        namespaced=False,
        description="A Flavor is a size of Server: vCPUs, RAM, disks, and the host traits it needs.",
        short_names=("flv",),
        columns=(
            Column("VCPUs", ".spec.vcpus", "integer"),
            Column("RAM (MiB)", ".spec.ramMiB", "integer"),
            Column("Disk (GiB)", ".spec.diskGiB", "integer"),
            AGE,
        ),
        spec_rules=({"rule": "self == oldSelf", "message": "flavors are immutable; create a new Flavor"},),
    ),
    Kind(
        group="compute",
        kind="KeyPair",
        plural="keypairs",
        spec=KeyPairSpec,
        status=KeyPairStatus,
        description="A KeyPair is an SSH public key for logging in to Servers.",
        short_names=("kp",),
        columns=(Column("Fingerprint", ".status.fingerprint"), AGE),
    ),
    Kind(
        group="compute",
        kind="ServerGroup",
        plural="servergroups",
        spec=ServerGroupSpec,
        status=ServerGroupStatus,
        description="A ServerGroup places its member Servers on the same or on different hosts.",
        short_names=("srvgrp",),
        columns=(Column("Policy", ".spec.policy"), READY, AGE),
    ),
)

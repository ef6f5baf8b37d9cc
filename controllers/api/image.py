"""image.kumulus.dev: disk images to boot Servers and fill Volumes from (Images, ClusterImages).

Glance's concepts in Kubernetes style: an Image is downloaded from a URL, verified against its SHA-256
and imported into the storage of each zone, where boot volumes are cloned from it copy-on-write. An
Image is private to its namespace; a ClusterImage is public, usable from every namespace.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from .base import (
    AGE,
    Column,
    Kind,
    KumulusModel,
    ResourceName,
    StatusBase,
    immutable,
)


class DiskFormat(StrEnum):
    RAW = "raw"
    QCOW2 = "qcow2"


class OSType(StrEnum):
    LINUX = "linux"
    WINDOWS = "windows"


class Architecture(StrEnum):
    X86_64 = "x86_64"
    AARCH64 = "aarch64"


class DiskBus(StrEnum):
    VIRTIO = "virtio"
    SCSI = "scsi"
    IDE = "ide"


class FirmwareType(StrEnum):
    BIOS = "bios"
    UEFI = "uefi"


class ImageSource(KumulusModel):
    """Where the image file is downloaded from."""

    url: str = Field(
        max_length=2048,
        pattern=r"^https?://[^\s/?#]+[^\s]*$",
        description="http or https URL of the image file. Immutable.",
        json_schema_extra=immutable("source.url is immutable; create a new image"),
    )


class OSProperties(KumulusModel):
    """What is in the image, used to configure the virtual hardware of Servers booted from it."""

    os_type: OSType | None = Field(default=None, description="linux or windows.")
    os_distro: str | None = Field(
        default=None, max_length=64, description="Distribution, lowercase, e.g. debian, ubuntu, rhel."
    )
    os_version: str | None = Field(
        default=None, max_length=64, description='Distribution version, e.g. "12".'
    )
    architecture: Architecture | None = Field(
        default=None, description="CPU architecture: x86_64 or aarch64; only hosts of it run the image."
    )
    hw_disk_bus: DiskBus | None = Field(
        default=None, description="Bus of the boot disk: virtio (the default), scsi or ide."
    )
    hw_firmware_type: FirmwareType | None = Field(
        default=None, description="Firmware of the Server: bios (the default) or uefi."
    )


class ImageSpec(KumulusModel):
    """The desired state of an Image or ClusterImage."""

    source: ImageSource = Field(description="Where the image file comes from.")
    disk_format: DiskFormat = Field(
        description="Format of the file: raw or qcow2 (converted to raw on import). Immutable.",
        json_schema_extra=immutable("diskFormat is immutable; create a new image"),
    )
    sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$",
        description="SHA-256 of the file as 64 lowercase hex digits; the download is refused if it differs. "
        "Immutable.",
        json_schema_extra=immutable("sha256 is immutable; create a new image"),
    )
    min_disk_gi_b: int | None = Field(
        default=None,
        alias="minDiskGiB",
        ge=0,
        le=65536,
        description="Smallest boot volume, in GiB, the image boots from.",
    )
    min_ram_mi_b: int | None = Field(
        default=None,
        alias="minRamMiB",
        ge=0,
        le=16 * 1024 * 1024,
        description="Least memory, in MiB, a Server booted from the image needs.",
    )
    os_properties: OSProperties | None = Field(
        default=None, description="The operating system in the image and the virtual hardware it wants."
    )
    description: str | None = Field(default=None, max_length=1024, description="Free text shown to users.")


class ImagePhase(StrEnum):
    PENDING = "Pending"
    DOWNLOADING = "Downloading"
    IMPORTING = "Importing"
    AVAILABLE = "Available"
    ERROR = "Error"


class ImageZoneStatus(KumulusModel):
    """The copy of the image in one zone's storage."""

    zone: ResourceName = Field(description="The zone.")
    phase: ImagePhase | None = Field(default=None, description="Import phase in that zone.")
    backend_id: str | None = Field(
        default=None, alias="backendId", description="Name of the RBD image (with its protected snapshot)."
    )


class ImageStatus(StatusBase):
    """The observed state of an Image or ClusterImage."""

    phase: ImagePhase | None = Field(default=None, description="Lifecycle phase.")
    size_bytes: int | None = Field(default=None, ge=0, description="Size of the downloaded file in bytes.")
    virtual_size_bytes: int | None = Field(
        default=None, ge=0, description="Size of the disk the image holds in bytes (at least sizeBytes)."
    )
    checksum_verified: bool | None = Field(
        default=None, description="Whether the downloaded file matched spec.sha256."
    )
    zones: list[ImageZoneStatus] = Field(
        default_factory=list,
        description="Availability of the image in each zone's storage.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["zone"]},
    )


_COLUMNS = (
    Column("Format", ".spec.diskFormat"),
    Column("Status", ".status.phase", description="Lifecycle phase."),
    Column("Size", ".status.sizeBytes", "integer", description="Size of the file in bytes."),
    AGE,
)

KINDS: tuple[Kind, ...] = (
    Kind(
        group="image",
        kind="Image",
        plural="images",
        spec=ImageSpec,
        status=ImageStatus,
        description="An Image is a disk image private to its namespace, to boot Servers and fill Volumes from.",
        short_names=("img",),
        columns=_COLUMNS,
    ),
    Kind(
        group="image",
        kind="ClusterImage",
        plural="clusterimages",
        spec=ImageSpec,
        status=ImageStatus,
        namespaced=False,
        description="A ClusterImage is a public disk image, usable from every namespace; an Image of the same "
        "name in a namespace takes precedence there.",
        short_names=("cimg",),
        columns=_COLUMNS,
    ),
)

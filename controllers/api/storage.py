"""storage.kumulus.dev: block storage (Volumes, VolumeSnapshots, VolumeTypes).

Cinder's concepts in Kubernetes style: a Volume is a block device of a size, of a VolumeType, in a zone;
the VolumeType says which Ceph pool backs it in each zone and whether it is replicated across sites. A
Volume attaches only to Servers in its own zone, and a Volume in the stretched zone SZ1 only to Servers
in SZ1.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

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

# -- Volume ---------------------------------------------------------------------------------------------


_SOURCE_SCHEMA: dict[str, Any] = {
    "x-kubernetes-validations": [
        {
            "rule": "(has(self.image) ? 1 : 0) + (has(self.snapshot) ? 1 : 0) + (has(self.volume) ? 1 : 0) == 1",
            "message": "set exactly one of image, snapshot or volume (omit source for a blank volume)",
        },
        *immutable("source is immutable")["x-kubernetes-validations"],
    ]
}
"""Rules of spec.source, on the field: a field's x-kubernetes-validations replace those of its model."""


class VolumeSource(KumulusModel):
    """What a new Volume is filled from. Omit source altogether for a blank Volume."""

    image: ResourceName | None = Field(
        default=None,
        description="Name of an Image in this namespace, else a ClusterImage, to copy into the Volume "
        "(a copy-on-write clone when the image is stored in the Volume's zone).",
    )
    snapshot: ResourceName | None = Field(
        default=None,
        description="Name of a VolumeSnapshot in this namespace to restore; the new Volume is in the zone "
        "of the snapshot's volume.",
    )
    volume: ResourceName | None = Field(
        default=None,
        description="Name of a Volume in this namespace to clone; the new Volume is in the same zone.",
    )


class VolumeSpec(KumulusModel):
    """The desired state of a Volume."""

    size_gi_b: int = Field(
        alias="sizeGiB",
        ge=1,
        le=65536,
        description="Size in GiB. Raise it to extend the Volume (online when attached); it can never shrink. "
        "At least the size of the source image or snapshot.",
        json_schema_extra={
            "x-kubernetes-validations": [
                {"rule": "self >= oldSelf", "message": "volumes can grow but never shrink"}
            ]
        },
    )
    volume_type: ResourceName | None = Field(
        default=None,
        description="Name of the VolumeType (its Ceph pools, replication, QoS, multi-attach); the default "
        "VolumeType if unset. Immutable once set.",
        json_schema_extra=immutable("volumeType is immutable"),
    )
    zone: ResourceName | None = Field(
        default=None,
        description="Availability zone (az1, az2, az3, or the stretched sz1) the Volume lives in; chosen by the "
        "operator if unset. The Volume attaches only to Servers in this zone. Immutable once set.",
        json_schema_extra=immutable("zone is immutable"),
    )
    source: VolumeSource | None = Field(
        default=None,
        description="What the Volume is created from: an image, a snapshot or another volume; blank if unset. "
        "Immutable.",
        json_schema_extra=_SOURCE_SCHEMA,
    )
    bootable: bool = Field(
        default=False,
        description="Whether Servers may boot from the Volume (spec.bootVolume of a Server).",
    )
    description: str | None = Field(default=None, max_length=1024, description="Free text shown to users.")


class VolumePhase(StrEnum):
    CREATING = "Creating"
    AVAILABLE = "Available"
    IN_USE = "InUse"
    EXTENDING = "Extending"
    DELETING = "Deleting"
    ERROR = "Error"


class VolumeAttachmentStatus(KumulusModel):
    """Where the Volume is attached."""

    server: str = Field(description="The Server the Volume is attached to.")
    device: str | None = Field(default=None, description="The guest device name, e.g. vdb.")
    host: str | None = Field(default=None, description="The Host running the Server.")


class VolumeStatus(StatusBase):
    """The observed state of a Volume."""

    phase: VolumePhase | None = Field(default=None, description="Lifecycle phase.")
    attachments: list[VolumeAttachmentStatus] = Field(
        default_factory=list,
        description="Servers the Volume is attached to (more than one only with a multi-attach VolumeType).",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["server"]},
    )
    backend_id: str | None = Field(
        default=None, alias="backendId", description="Name of the RBD image backing the Volume."
    )
    size_gi_b: int | None = Field(
        default=None,
        alias="sizeGiB",
        ge=0,
        description="The current size in GiB (lags spec while extending).",
    )
    zone: str | None = Field(default=None, description="The zone the Volume lives in.")
    volume_type: str | None = Field(default=None, description="The VolumeType the Volume was created with.")


# -- VolumeSnapshot -------------------------------------------------------------------------------------


class VolumeSnapshotSpec(KumulusModel):
    """A point-in-time copy of a Volume, to restore into a new Volume."""

    volume: ResourceName = Field(
        description="Name of the Volume in this namespace to snapshot. Immutable.",
        json_schema_extra=immutable("volume is immutable"),
    )
    description: str | None = Field(default=None, max_length=1024, description="Free text shown to users.")


class VolumeSnapshotPhase(StrEnum):
    CREATING = "Creating"
    AVAILABLE = "Available"
    DELETING = "Deleting"
    ERROR = "Error"


class VolumeSnapshotStatus(StatusBase):
    """The observed state of a VolumeSnapshot."""

    phase: VolumeSnapshotPhase | None = Field(default=None, description="Lifecycle phase.")
    size_gi_b: int | None = Field(
        default=None,
        alias="sizeGiB",
        ge=0,
        description="Size of the volume when the snapshot was taken, in GiB.",
    )
    backend_id: str | None = Field(
        default=None, alias="backendId", description="Name of the RBD snapshot (image@snapshot)."
    )


# -- VolumeType -----------------------------------------------------------------------------------------


class Replication(StrEnum):
    NONE = "None"
    STRETCHED = "Stretched"


class VolumeBackend(KumulusModel):
    """The Ceph pool that stores Volumes of the type in one zone."""

    zone: ResourceName = Field(description="The zone (az1, az2, az3 or sz1).")
    pool: str = Field(
        min_length=1,
        max_length=127,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="Name of the Ceph pool in that zone's cluster, e.g. volumes-ssd. Immutable: existing "
        "volumes live in it.",
        json_schema_extra=immutable("pool is immutable; add a new VolumeType instead"),
    )


class VolumeQoS(KumulusModel):
    """I/O limits applied by the hypervisor to each attached Volume of the type (0 or unset: unlimited)."""

    read_iops: int | None = Field(
        default=None, alias="readIOPS", ge=0, description="Read operations per second."
    )
    write_iops: int | None = Field(
        default=None, alias="writeIOPS", ge=0, description="Write operations per second."
    )
    read_bytes_per_sec: int | None = Field(
        default=None, ge=0, description="Read throughput in bytes per second."
    )
    write_bytes_per_sec: int | None = Field(
        default=None, ge=0, description="Write throughput in bytes per second."
    )


class VolumeTypeSpec(KumulusModel):
    """A class of Volume: where it is stored in each zone, its replication, limits and sharing."""

    backends: list[VolumeBackend] = Field(
        min_length=1,
        max_length=16,
        description="The Ceph pool per zone; Volumes of the type can be created only in these zones.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["zone"]},
    )
    replication: Replication = Field(
        default=Replication.NONE,
        description="None: the Volume lives in one site. Stretched: its data is replicated across all three "
        "sites (the stretched zone sz1). Immutable.",
        json_schema_extra=immutable("replication is immutable"),
    )
    multi_attach: bool = Field(
        default=False, description="Whether a Volume of the type can be attached to several Servers at once."
    )
    qos: VolumeQoS | None = Field(
        default=None, description="I/O limits; changes take effect when a Volume is next attached."
    )
    is_default: bool = Field(
        default=False,
        description="Use this VolumeType for Volumes that name none (one type should be default).",
    )
    description: str | None = Field(default=None, max_length=1024, description="Free text shown to users.")


KINDS: tuple[Kind, ...] = (
    Kind(
        group="storage",
        kind="Volume",
        plural="volumes",
        spec=VolumeSpec,
        status=VolumeStatus,
        description="A Volume is a persistent block device in a zone, attached to Servers of the same zone.",
        short_names=("vol",),
        columns=(
            Column("Status", ".status.phase", description="Lifecycle phase."),
            Column("Size", ".spec.sizeGiB", "integer", description="Size in GiB."),
            Column("Type", ".spec.volumeType", description="The VolumeType."),
            Column("Zone", ".status.zone", description="The zone the Volume lives in."),
            Column("Attached-To", ".status.attachments[0].server", description="The first Server attached."),
            AGE,
        ),
        selectable_fields=(".spec.volumeType", ".status.zone"),
        spec_rules=(
            {"rule": "has(self.source) == has(oldSelf.source)", "message": "source is immutable"},
            {"rule": "!has(oldSelf.zone) || has(self.zone)", "message": "zone is immutable"},
            {
                "rule": "!has(oldSelf.volumeType) || has(self.volumeType)",
                "message": "volumeType is immutable",
            },
        ),
    ),
    Kind(
        group="storage",
        kind="VolumeSnapshot",
        plural="volumesnapshots",
        spec=VolumeSnapshotSpec,
        status=VolumeSnapshotStatus,
        description="A VolumeSnapshot is a point-in-time, read-only copy of a Volume, in the Volume's zone.",
        short_names=("volsnap",),
        columns=(
            Column("Volume", ".spec.volume"),
            Column("Status", ".status.phase", description="Lifecycle phase."),
            Column("Size", ".status.sizeGiB", "integer", description="Size in GiB."),
            AGE,
        ),
        selectable_fields=(".spec.volume",),
    ),
    Kind(
        group="storage",
        kind="VolumeType",
        plural="volumetypes",
        spec=VolumeTypeSpec,
        status=None,
        namespaced=False,
        description="A VolumeType is a class of Volume an operator offers: the Ceph pool in each zone, "
        "replication across sites, QoS limits and multi-attach.",
        short_names=("voltype",),
        columns=(
            Column("Replication", ".spec.replication"),
            Column("Multi-Attach", ".spec.multiAttach", "boolean"),
            Column("Default", ".spec.isDefault", "boolean"),
            AGE,
        ),
        spec_rules=(
            {
                "rule": "self.replication != 'Stretched' || size(self.backends) == 1",
                "message": "a Stretched VolumeType has one backend, in the stretched zone",
            },
        ),
    ),
)

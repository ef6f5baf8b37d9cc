"""infra.kumulus.dev: the physical cloud (Zones, Hosts, HostAggregates) and the Quota of a namespace.

Nova's and Placement's admin concepts in Kubernetes style: a Zone is an availability zone (one site, or
stretched over several), a Host is a hypervisor or network/storage node as hostd registers it, a
HostAggregate groups Hosts by their labels and tags them with metadata Flavors ask for. A Quota limits
what a namespace (an OpenStack project) may use across compute, network and storage.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict, Field

from .base import (
    AGE,
    READY,
    Column,
    Kind,
    KumulusModel,
    ResourceName,
    StatusBase,
    immutable,
)

SiteName = Annotated[str, Field(min_length=1, max_length=63, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
"""The name of a site (a data center), a DNS label such as dc1."""

# Written with [.] rather than \. so that the same text is a valid CEL string literal.
LABEL_KEY_PATTERN = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
LabelKey = Annotated[str, Field(min_length=1, max_length=317, pattern=LABEL_KEY_PATTERN)]
"""A label key: an optional DNS-subdomain prefix and '/', then a name of up to 63 characters."""

LabelValue = Annotated[str, Field(max_length=63, pattern=r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")]
"""A label value: up to 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric."""

Trait = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[A-Z0-9_]+$")]
"""A Placement trait: a standard one such as HW_CPU_X86_AVX2, or a custom one such as CUSTOM_GPU."""

# -- Zone -----------------------------------------------------------------------------------------------


class ZoneType(StrEnum):
    PHYSICAL = "Physical"
    STRETCHED = "Stretched"


class ZoneSpec(KumulusModel):
    """An availability zone: a failure domain users place Servers and Volumes in."""

    type: ZoneType = Field(
        default=ZoneType.PHYSICAL,
        description="Physical: one site, which fails as a whole. Stretched: spread over several sites; its "
        "Servers may restart and its Volumes are replicated across them. Immutable.",
        json_schema_extra=immutable("type is immutable"),
    )
    sites: list[SiteName] = Field(
        min_length=1,
        max_length=16,
        description="The sites (data centers) the zone's Hosts are in: exactly one for a Physical zone, "
        "at least two for a Stretched zone.",
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    ceph_pool: str | None = Field(
        default=None,
        min_length=1,
        max_length=127,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="The zone's default Ceph pool: Servers' boot disks are cloned from images into it unless "
        "a VolumeType is given (VolumeTypes name their own pool per zone). For a Stretched zone, a pool "
        "replicated across its sites. Immutable once set.",
        json_schema_extra=immutable("cephPool is immutable once set: existing disks live in it"),
    )
    description: str | None = Field(
        default=None, max_length=1024, description="Free text shown to users choosing a zone."
    )


class HostCounts(KumulusModel):
    """How many Hosts a zone has, and how many can take new Servers."""

    total: int = Field(default=0, ge=0, description="Hosts registered in the zone.")
    ready: int = Field(
        default=0, ge=0, description="Hosts that are Ready and not in maintenance: they take new Servers."
    )
    not_ready: int | None = Field(
        default=None, ge=0, description="Hosts whose Ready condition is not True, or that are fenced."
    )
    maintenance: int | None = Field(default=None, ge=0, description="Hosts in maintenance (cordoned).")


class ZoneStatus(StatusBase):
    """The observed state of a Zone."""

    hosts: HostCounts | None = Field(default=None, description="The zone's Hosts, counted.")
    allocatable: HostResources | None = Field(
        default=None, description="What the zone's Compute Hosts may give Servers, summed (see Host)."
    )
    allocated: HostAllocated | None = Field(
        default=None, description="What the Servers placed in the zone use, summed over its Hosts."
    )


# -- Host -----------------------------------------------------------------------------------------------


class HostRole(StrEnum):
    COMPUTE = "Compute"
    NETWORK = "Network"
    STORAGE = "Storage"


class HostCapacity(KumulusModel):
    """The physical resources of a Host."""

    vcpus: int = Field(ge=1, le=65536, description="Logical CPUs (hardware threads).")
    ram_mi_b: int = Field(alias="ramMiB", ge=1, le=1 << 34, description="Memory in MiB.")
    disk_gi_b: int = Field(
        default=0,
        alias="diskGiB",
        ge=0,
        le=1 << 30,
        description="Local disk for ephemeral disks, in GiB (0 when every disk is a Ceph volume).",
    )


class HostReserved(KumulusModel):
    """Resources kept for the Host itself (hostd, libvirt, OVS, Ceph daemons), never given to Servers."""

    vcpus: int = Field(default=0, ge=0, le=65536, description="Logical CPUs reserved.")
    ram_mi_b: int = Field(
        default=512, alias="ramMiB", ge=0, le=1 << 34, description="Memory reserved, in MiB (Nova's 512)."
    )
    disk_gi_b: int = Field(
        default=0, alias="diskGiB", ge=0, le=1 << 30, description="Local disk reserved, in GiB."
    )


class Overcommit(KumulusModel):
    """Allocation ratios: how much more than the (unreserved) capacity may be allocated to Servers."""

    cpu_ratio: float = Field(
        default=4.0,
        ge=0.1,
        le=128.0,
        description="vCPUs per logical CPU (Nova's cpu_allocation_ratio; 4.0 by default).",
    )
    ram_ratio: float = Field(
        default=1.0,
        ge=0.1,
        le=16.0,
        description="Memory allocation ratio (1.0: no overcommit, the safe choice without swap).",
    )
    disk_ratio: float = Field(default=1.0, ge=0.1, le=16.0, description="Local disk allocation ratio.")


class HostSpec(KumulusModel):
    """A physical node of the cloud, as hostd registers it; admins set maintenance and overcommit."""

    zone: ResourceName = Field(
        description="The Zone the Host belongs to. Immutable: re-register the Host to move it.",
        json_schema_extra=immutable("zone is immutable; re-register the host to move it"),
    )
    site: SiteName = Field(
        description="The site (data center) the Host stands in; one of its zone's sites. Immutable.",
        json_schema_extra=immutable("site is immutable; re-register the host to move it"),
    )
    roles: list[HostRole] = Field(
        min_length=1,
        max_length=3,
        description="What the Host runs: Compute (libvirt, Servers), Network (OVN gateway for routers "
        "and floating IPs), Storage (Ceph OSDs).",
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    capacity: HostCapacity = Field(description="The Host's physical resources, as hostd measured them.")
    reserved: HostReserved = Field(default=HostReserved(), description="Resources kept for the Host itself.")
    overcommit: Overcommit = Field(
        default=Overcommit(),
        description="Allocation ratios. Allocatable = (capacity - reserved) x ratio, as in Placement.",
    )
    traits: list[Trait] = Field(
        default_factory=list,
        max_length=128,
        description="Placement traits of the Host, e.g. HW_CPU_X86_AVX2 or CUSTOM_GPU; Servers and "
        "Flavors that require traits are placed only on Hosts that have them all.",
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    maintenance: bool = Field(
        default=False,
        description="Cordon the Host: no new Servers are placed on it; running ones stay until moved.",
    )


class ComponentHealth(StrEnum):
    READY = "Ready"
    NOT_READY = "NotReady"
    UNKNOWN = "Unknown"


class DataPlane(KumulusModel):
    """Health of the Host's data-plane services, as hostd checks them (unset: not run on this Host)."""

    libvirt: ComponentHealth | None = Field(default=None, description="libvirtd and QEMU (Compute role).")
    ovn: ComponentHealth | None = Field(default=None, description="ovn-controller and Open vSwitch.")
    ceph: ComponentHealth | None = Field(default=None, description="Access to the Ceph cluster (and OSDs).")


class HostResources(KumulusModel):
    """An amount of each resource of a Host."""

    vcpus: int = Field(default=0, ge=0, description="Virtual CPUs.")
    ram_mi_b: int = Field(default=0, alias="ramMiB", ge=0, description="Memory in MiB.")
    disk_gi_b: int = Field(default=0, alias="diskGiB", ge=0, description="Local disk in GiB.")


class HostAllocated(HostResources):
    """What the Servers placed on the Host use."""

    servers: int = Field(default=0, ge=0, description="Servers placed on the Host.")


class NodeInfo(KumulusModel):
    """Software and hardware of the Host, as hostd reports it (what `openstack hypervisor show` lists)."""

    cpu_model: str | None = Field(default=None, description="CPU model, e.g. Intel Xeon Gold 6338.")
    kernel_version: str | None = Field(default=None, description="Linux kernel release.")
    libvirt_version: str | None = Field(default=None, description="libvirt version.")
    qemu_version: str | None = Field(default=None, description="QEMU version.")
    hostd_version: str | None = Field(default=None, description="hostd version.")


class HostStatus(StatusBase):
    """The observed state of a Host."""

    allocatable: HostResources | None = Field(
        default=None, description="What Servers may be given: (capacity - reserved) x overcommit ratio."
    )
    allocated: HostAllocated | None = Field(default=None, description="What Servers on the Host use.")
    heartbeat_time: str | None = Field(
        default=None,
        json_schema_extra={"format": "date-time"},
        description="When hostd last reported; the Host is NotReady when heartbeats stop.",
    )
    data_plane: DataPlane | None = Field(default=None, description="Health of the data-plane services.")
    fenced: bool | None = Field(
        default=None,
        description="The Host failed and was fenced (powered off or cut from storage): its Servers with "
        "highAvailability Restart are restarted on other Hosts of the zone.",
    )
    node_info: NodeInfo | None = Field(default=None, description="Software and hardware of the Host.")


# -- HostAggregate --------------------------------------------------------------------------------------


class SelectorOperator(StrEnum):
    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"


class SelectorRequirement(KumulusModel):
    """A condition on one label of a Host."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!(self.operator in ['In', 'NotIn']) || (has(self.values) && size(self.values) > 0)",
                    "message": "operators In and NotIn need at least one value",
                },
                {
                    "rule": "self.operator in ['In', 'NotIn'] || !has(self.values) || size(self.values) == 0",
                    "message": "operators Exists and DoesNotExist take no values",
                },
            ]
        }
    )

    key: LabelKey = Field(description="The label key, e.g. kumulus.dev/gpu.")
    operator: SelectorOperator = Field(
        description="In or NotIn (the label's value is, or is not, one of values), Exists or DoesNotExist."
    )
    values: list[LabelValue] = Field(
        default_factory=list, max_length=64, description="The values for In and NotIn; empty otherwise."
    )


class HostSelector(KumulusModel):
    """Selects Hosts by their labels, as a Kubernetes label selector: all conditions must hold."""

    match_labels: dict[str, LabelValue] = Field(
        default_factory=dict,
        max_length=64,
        description="Labels a Host must have, with these values.",
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": f"self.all(k, size(k) <= 317 && k.matches('{LABEL_KEY_PATTERN}'))",
                    "message": "matchLabels keys must be label keys, e.g. kumulus.dev/gpu",
                }
            ]
        },
    )
    match_expressions: list[SelectorRequirement] = Field(
        default_factory=list, max_length=32, description="Conditions on the Host's labels."
    )


class HostAggregateSpec(KumulusModel):
    """A group of Hosts, chosen by label, carrying metadata that Flavors can require."""

    host_selector: HostSelector = Field(
        description="Which Hosts belong to the aggregate, by their labels; {} selects every Host."
    )
    zone: ResourceName | None = Field(
        default=None, description="Only Hosts of this Zone belong to the aggregate; any zone if unset."
    )
    metadata: dict[str, Annotated[str, Field(max_length=255)]] = Field(
        default_factory=dict,
        max_length=64,
        description='Key-value tags of the member Hosts, e.g. gpu: "true" or ssd: "true". A Flavor\'s '
        "aggregateMetadata places its Servers only on Hosts of aggregates carrying all of it.",
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "self.all(k, k.matches('^[A-Za-z0-9_.:-]{1,255}$'))",
                    "message": "metadata keys are 1 to 255 letters, digits, '_', '.', ':' or '-'",
                },
                {
                    "rule": "!('availability_zone' in self)",
                    "message": "zones are Zone objects, not aggregate metadata: use spec.zone",
                },
            ]
        },
    )
    description: str | None = Field(default=None, max_length=1024, description="Free text for admins.")


class HostAggregateStatus(StatusBase):
    """The observed state of a HostAggregate."""

    hosts: list[str] = Field(default_factory=list, description="The member Hosts, by name.")
    host_count: int | None = Field(default=None, ge=0, description="How many Hosts are members.")


# -- Quota ----------------------------------------------------------------------------------------------

Limit = Annotated[int, Field(ge=-1)]
"""A quota limit: how many may exist, -1 for unlimited."""


class QuotaLimits(KumulusModel):
    """Limits of a namespace, each -1 (unlimited) or at least 0. The defaults are a typical public cloud's."""

    instances: Limit = Field(default=10, description="Servers.")
    cores: Limit = Field(default=20, description="vCPUs of all Servers, from their Flavors.")
    ram_mi_b: Limit = Field(default=51200, alias="ramMiB", description="RAM of all Servers, in MiB.")
    volumes: Limit = Field(default=10, description="Volumes, boot volumes included.")
    gigabytes: Limit = Field(default=1000, description="Size of all Volumes and Snapshots, in GiB.")
    snapshots: Limit = Field(default=10, description="Volume snapshots.")
    networks: Limit = Field(default=100, description="Networks.")
    subnets: Limit = Field(default=100, description="Subnets.")
    ports: Limit = Field(default=500, description="Ports, those made for Server NICs included.")
    routers: Limit = Field(
        default=1, description="Routers. One per namespace, as the network design of the platform expects."
    )
    floating_ips: Limit = Field(default=50, alias="floatingIPs", description="Floating IPs.")
    security_groups: Limit = Field(default=10, description="SecurityGroups, the default group included.")
    security_group_rules: Limit = Field(default=100, description="Rules of all SecurityGroups.")
    load_balancers: Limit = Field(default=10, description="LoadBalancers.")
    key_pairs: Limit = Field(default=100, description="KeyPairs.")
    server_groups: Limit = Field(default=10, description="ServerGroups.")


class QuotaSpec(KumulusModel):
    """The limits of the namespace (the OpenStack project) the Quota is in."""

    limits: QuotaLimits = Field(
        default=QuotaLimits(),
        description="How much of each resource the namespace may use; unset limits take their defaults.",
    )


class QuotaUsage(KumulusModel):
    """How much of each resource the namespace uses."""

    instances: int = Field(default=0, ge=0, description="Servers.")
    cores: int = Field(default=0, ge=0, description="vCPUs of all Servers.")
    ram_mi_b: int = Field(default=0, alias="ramMiB", ge=0, description="RAM of all Servers, in MiB.")
    volumes: int = Field(default=0, ge=0, description="Volumes.")
    gigabytes: int = Field(default=0, ge=0, description="Size of all Volumes and Snapshots, in GiB.")
    snapshots: int = Field(default=0, ge=0, description="Volume snapshots.")
    networks: int = Field(default=0, ge=0, description="Networks.")
    subnets: int = Field(default=0, ge=0, description="Subnets.")
    ports: int = Field(default=0, ge=0, description="Ports.")
    routers: int = Field(default=0, ge=0, description="Routers.")
    floating_ips: int = Field(default=0, alias="floatingIPs", ge=0, description="Floating IPs.")
    security_groups: int = Field(default=0, ge=0, description="SecurityGroups.")
    security_group_rules: int = Field(default=0, ge=0, description="SecurityGroup rules.")
    load_balancers: int = Field(default=0, ge=0, description="LoadBalancers.")
    key_pairs: int = Field(default=0, ge=0, description="KeyPairs.")
    server_groups: int = Field(default=0, ge=0, description="ServerGroups.")


class QuotaStatus(StatusBase):
    """The observed state of a Quota."""

    used: QuotaUsage | None = Field(default=None, description="What the namespace uses now.")


KINDS: tuple[Kind, ...] = (
    Kind(
        group="infra",
        kind="Zone",
        plural="zones",
        spec=ZoneSpec,
        status=ZoneStatus,
        namespaced=False,
        description="A Zone is an availability zone: the Hosts of one site (Physical), or of several sites "
        "(Stretched), that Servers and Volumes are placed in.",
        short_names=("zn",),
        columns=(
            Column("Type", ".spec.type", description="Physical or Stretched."),
            Column("Sites", ".spec.sites[*]", description="The first site."),
            Column("Hosts-Ready", ".status.hosts.ready", "integer", description="Hosts taking new Servers."),
            Column("Hosts", ".status.hosts.total", "integer", description="Hosts registered.", priority=1),
            Column("Ceph-Pool", ".spec.cephPool", priority=1),
            AGE,
        ),
        spec_rules=(
            {
                "rule": "self.type != 'Physical' || size(self.sites) == 1",
                "message": "a Physical zone has exactly one site",
            },
            {
                "rule": "self.type != 'Stretched' || size(self.sites) >= 2",
                "message": "a Stretched zone spans at least two sites",
            },
        ),
    ),
    Kind(
        group="infra",
        kind="Host",
        plural="hosts",
        spec=HostSpec,
        status=HostStatus,
        namespaced=False,
        description="A Host is a physical node running Servers, network gateways or storage, registered "
        "by its hostd.",
        short_names=("hst",),
        columns=(
            Column("Zone", ".spec.zone"),
            Column("Site", ".spec.site"),
            Column("Roles", ".spec.roles[*]", description="The first role."),
            READY,
            Column("VCPUs-Used", ".status.allocated.vcpus", "integer", description="vCPUs allocated."),
            Column(
                "VCPUs-Allocatable",
                ".status.allocatable.vcpus",
                "integer",
                description="vCPUs Servers may be given.",
                priority=1,
            ),
            Column("Servers", ".status.allocated.servers", "integer", priority=1),
            Column("Maintenance", ".spec.maintenance", "boolean"),
            AGE,
        ),
        selectable_fields=(".spec.zone", ".spec.site", ".spec.maintenance"),
        spec_rules=(
            {
                "rule": "self.reserved.vcpus < self.capacity.vcpus",
                "message": "reserved.vcpus must be less than capacity.vcpus",
            },
            {
                "rule": "self.reserved.ramMiB < self.capacity.ramMiB",
                "message": "reserved.ramMiB must be less than capacity.ramMiB",
            },
            {
                "rule": "self.reserved.diskGiB <= self.capacity.diskGiB",
                "message": "reserved.diskGiB must not exceed capacity.diskGiB",
            },
        ),
    ),
    Kind(
        group="infra",
        kind="HostAggregate",
        plural="hostaggregates",
        spec=HostAggregateSpec,
        status=HostAggregateStatus,
        namespaced=False,
        description="A HostAggregate groups Hosts by label and tags them with metadata (gpu, ssd, ...) "
        "that Flavors can require.",
        short_names=("agg",),
        columns=(
            Column("Zone", ".spec.zone"),
            Column("Hosts", ".status.hostCount", "integer", description="Member Hosts."),
            AGE,
        ),
    ),
    Kind(
        group="infra",
        kind="Quota",
        plural="quotas",
        spec=QuotaSpec,
        status=QuotaStatus,
        description="A Quota limits what its namespace may use: Servers, cores, RAM, volumes, networks, "
        "routers, floating IPs and more. Every Quota of a namespace applies.",
        short_names=("kq",),
        columns=(
            Column("Instances-Used", ".status.used.instances", "integer", description="Servers."),
            Column("Cores-Used", ".status.used.cores", "integer", description="vCPUs."),
            Column("RAM-Used(MiB)", ".status.used.ramMiB", "integer", description="RAM in MiB."),
            Column("Volumes-Used", ".status.used.volumes", "integer", description="Volumes."),
            AGE,
        ),
    ),
)

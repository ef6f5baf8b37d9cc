"""Quota arithmetic: what a namespace uses, what a request adds, and whether that fits its limits.

Pure functions over plain objects (the dicts the operator reads); the admission webhook and the quota
operator do the I/O. One set of limits covers compute, block storage and network (the Quota model's
QuotaLimits, -1 meaning unlimited):

- `effective_limits(quotas)`: a namespace without a Quota is held to the defaults, as in OpenStack. Every
  Quota of a namespace applies (a request must fit all of them), so per resource the strictest limit
  wins, and a limit a Quota leaves unset is its default; -1 applies only if every Quota says -1.
- `usage_of(objects_by_kind, flavors)`: the sum of the cost of every object. Objects being deleted
  (deletionTimestamp set) still count until they are gone: a Server shutting down still holds its host's
  cores, a Volume its Ceph space, an address its claim, and counting them out early would let a new
  request take what is not free yet.
- `delta_of(kind, new, old, flavors)`: what an admission request adds: the object's cost on create, the
  difference on update (a Volume grown from 20 to 50 GiB adds 30 gigabytes). It also counts the objects
  the operators will create for it, so a request is refused up front rather than failing later: a
  Server's boot Volume (from an image) and a Port per NIC on a Network, a Port per Router interface.
  Those objects are counted in usage only once they exist, as Volumes and Ports, never twice.
- `check(limits, usage, delta)`: the resources the request would take beyond a limit. Only increases are
  checked: a request that lowers or keeps a resource passes even in a namespace above a lowered limit,
  so users can always shrink back under it.

Exactness under concurrent admissions is the operator's job: it serialises checks per namespace and keeps
the deltas admitted but not yet visible in its cache as a reservation (`Usage.reserve` / `release`),
checking `usage + reserved`.

A Server's cores and RAM are those of its flavor; while it is being resized it holds the larger of its
current and target flavors (both may be in use until the resize completes, as Nova counts it), so a
resize down never needs quota and a resize up needs the difference.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Any, Self

from .api.infra import QuotaLimits, QuotaSpec

UNLIMITED = -1

WIRE_NAMES: dict[str, str] = {
    "instances": "instances",
    "cores": "cores",
    "ram_mib": "ramMiB",
    "volumes": "volumes",
    "gigabytes": "gigabytes",
    "snapshots": "snapshots",
    "networks": "networks",
    "subnets": "subnets",
    "ports": "ports",
    "routers": "routers",
    "floating_ips": "floatingIPs",
    "security_groups": "securityGroups",
    "security_group_rules": "securityGroupRules",
    "load_balancers": "loadBalancers",
    "key_pairs": "keyPairs",
    "server_groups": "serverGroups",
}
"""Attribute of Usage and Limits -> the resource's name in a Quota (spec.limits, status.used)."""

_ATTRIBUTES = {wire: attr for attr, wire in WIRE_NAMES.items()}


@dataclass(frozen=True)
class _Amounts:
    """An amount of every resource under quota."""

    instances: int = 0
    cores: int = 0
    ram_mib: int = 0
    volumes: int = 0
    gigabytes: int = 0
    snapshots: int = 0
    networks: int = 0
    subnets: int = 0
    ports: int = 0
    routers: int = 0
    floating_ips: int = 0
    security_groups: int = 0
    security_group_rules: int = 0
    load_balancers: int = 0
    key_pairs: int = 0
    server_groups: int = 0

    def __getitem__(self, resource: str) -> int:
        """The amount of a resource by its Quota name, e.g. usage["ramMiB"]."""
        value: int = getattr(self, _ATTRIBUTES[resource])
        return value

    def items(self) -> Iterator[tuple[str, int]]:
        """(Quota name, amount) of every resource, in the Quota model's order."""
        for f in fields(self):
            yield WIRE_NAMES[f.name], getattr(self, f.name)

    def to_wire(self) -> dict[str, int]:
        return dict(self.items())

    @classmethod
    def from_wire(cls, values: Mapping[str, int]) -> Self:
        unknown = set(values) - set(_ATTRIBUTES)
        if unknown:
            raise KeyError(f"not quota resources: {', '.join(sorted(unknown))}")
        return cls(**{_ATTRIBUTES[k]: v for k, v in values.items()})


@dataclass(frozen=True)
class Usage(_Amounts):
    """How much of each resource is used, or added by a request (then possibly negative)."""

    def __add__(self, other: Usage) -> Usage:
        return Usage(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def __sub__(self, other: Usage) -> Usage:
        return Usage(**{f.name: getattr(self, f.name) - getattr(other, f.name) for f in fields(self)})

    def increases(self) -> Usage:
        """Only what grows: a request's decreases free nothing until they have happened."""
        return Usage(**{f.name: max(0, getattr(self, f.name)) for f in fields(self)})

    def reserve(self, delta: Usage) -> Usage:
        """These reservations plus an admitted request's, held until the request's object is in the cache."""
        return self + delta.increases()

    def release(self, delta: Usage) -> Usage:
        """These reservations without a request's (its object is now counted, or it failed)."""
        left = self - delta.increases()
        # Never below zero: a release after a restart (reservations lost) must not go negative.
        return Usage(**{f.name: max(0, getattr(left, f.name)) for f in fields(left)})

    def to_status(self) -> dict[str, int]:
        """status.used of a Quota (QuotaUsage)."""
        return {k: max(0, v) for k, v in self.items()}


@dataclass(frozen=True)
class Limits(_Amounts):
    """The limit of each resource, UNLIMITED (-1) or at least 0."""

    @classmethod
    def defaults(cls) -> Limits:
        return cls.of(QuotaLimits())

    @classmethod
    def of(cls, limits: QuotaLimits) -> Limits:
        return cls.from_wire(limits.model_dump(by_alias=True))


def effective_limits(quotas: Iterable[Mapping[str, Any] | QuotaSpec]) -> Limits:
    """The limits of a namespace from its Quota objects (or their specs): the strictest of each, the
    defaults if there is none."""
    specs = [q if isinstance(q, QuotaSpec) else QuotaSpec.model_validate(q.get("spec") or {}) for q in quotas]
    if not specs:
        return Limits.defaults()
    each = [Limits.of(s.limits) for s in specs]
    strictest: dict[str, int] = {}
    for resource, _ in each[0].items():
        bounded = [lim[resource] for lim in each if lim[resource] != UNLIMITED]
        strictest[resource] = min(bounded) if bounded else UNLIMITED
    return Limits.from_wire(strictest)


# -- violations -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Violation:
    """A resource a request would take beyond its limit."""

    resource: str
    limit: int
    used: int
    requested: int

    def __str__(self) -> str:
        return f"{self.resource}: limit {self.limit}, used {self.used}, requested {self.requested}"


def check(limits: Limits, usage: Usage, delta: Usage) -> list[Violation]:
    """The resources delta cannot have on top of usage; empty if the request fits."""
    out: list[Violation] = []
    for resource, limit in limits.items():
        requested = delta[resource]
        if requested <= 0 or limit == UNLIMITED:
            continue
        if usage[resource] + requested > limit:
            out.append(Violation(resource, limit, usage[resource], requested))
    return out


def violation_message(namespace: str, violations: Iterable[Violation]) -> str:
    """quota exceeded in namespace "team-a": routers: limit 1, used 1, requested 1"""
    return f'quota exceeded in namespace "{namespace}": ' + "; ".join(str(v) for v in violations)


# -- what objects cost ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlavorSize:
    """What a Server of a Flavor takes."""

    vcpus: int
    ram_mib: int
    disk_gib: int = 0


class UnknownFlavor(LookupError):
    """A request names a Flavor that does not exist, so its cost is unknown."""

    def __init__(self, name: str) -> None:
        super().__init__(f'flavor "{name}" not found')
        self.name = name


Flavors = Mapping[str, FlavorSize]
VolumeSizes = Mapping[str, int]
"""Volume name -> sizeGiB in the namespace: what a new VolumeSnapshot of it takes."""


def flavor_sizes(flavor_objects: Iterable[Mapping[str, Any]]) -> dict[str, FlavorSize]:
    """Flavor name -> size, from Flavor objects."""
    out: dict[str, FlavorSize] = {}
    for obj in flavor_objects:
        spec = _spec(obj)
        out[obj["metadata"]["name"]] = FlavorSize(
            vcpus=int(spec.get("vcpus", 0)),
            ram_mib=int(spec.get("ramMiB", 0)),
            disk_gib=int(spec.get("diskGiB", 0)),
        )
    return out


def volume_sizes(volume_objects: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Volume name -> sizeGiB, from Volume objects."""
    return {obj["metadata"]["name"]: int(_spec(obj).get("sizeGiB", 0)) for obj in volume_objects}


QUOTA_GROUP_SUFFIX = "kumulus.dev"
_ONE: dict[str, str] = {
    "Server": "instances",
    "Volume": "volumes",
    "VolumeSnapshot": "snapshots",
    "Network": "networks",
    "Subnet": "subnets",
    "Port": "ports",
    "Router": "routers",
    "FloatingIP": "floatingIPs",
    "SecurityGroup": "securityGroups",
    "LoadBalancer": "loadBalancers",
    "KeyPair": "keyPairs",
    "ServerGroup": "serverGroups",
}
"""The resource one object of each kind under quota counts for; other kinds cost nothing."""
COUNTED_KINDS = frozenset(_ONE)


def cost_of(
    kind: str,
    obj: Mapping[str, Any],
    flavors: Flavors,
    volumes: VolumeSizes | None = None,
    *,
    must_know: frozenset[str] = frozenset(),
) -> Usage:
    """What one existing object uses. Flavors the lookup lacks count nothing, unless named in must_know,
    which raises UnknownFlavor (a Flavor deleted under running Servers must not block their accounting)."""
    resource = _ONE.get(kind)
    if resource is None or not _is_ours(obj):
        return Usage()
    amounts: dict[str, int] = {resource: 1}
    spec = _spec(obj)
    if kind == "Server":
        sizes = [_flavor(flavors, f, must_know) for f in server_flavors(obj)]
        amounts["cores"] = max((s.vcpus for s in sizes), default=0)
        amounts["ramMiB"] = max((s.ram_mib for s in sizes), default=0)
    elif kind == "Volume":
        amounts["gigabytes"] = int(spec.get("sizeGiB", 0))
    elif kind == "VolumeSnapshot":
        amounts["gigabytes"] = _snapshot_size(obj, volumes or {})
    elif kind == "SecurityGroup":
        amounts["securityGroupRules"] = len(spec.get("rules") or [])
    return Usage.from_wire(amounts)


def implied_cost(kind: str, obj: Mapping[str, Any], flavors: Flavors) -> Usage:
    """What the operators will create for obj and is under quota: a Server's boot Volume (booting from an
    image; rootDisk.sizeGiB, else the flavor's disk) and a Port per NIC on a Network; a Port per Router
    interface. Counted when admitting obj, then as the Volumes and Ports themselves once they exist."""
    if not _is_ours(obj):
        return Usage()
    spec = _spec(obj)
    if kind == "Server":
        nics = sum(1 for nic in spec.get("networks") or [] if nic.get("network"))
        if not spec.get("image"):
            return Usage(ports=nics)
        size = (spec.get("rootDisk") or {}).get("sizeGiB")
        if size is None:
            flavor = flavors.get(str(spec.get("flavor")))
            size = flavor.disk_gib if flavor is not None else 0
        return Usage(ports=nics, volumes=1, gigabytes=int(size))
    if kind == "Router":
        return Usage(ports=len(spec.get("interfaces") or []))
    return Usage()


def usage_of(objects_by_kind: Mapping[str, Iterable[Mapping[str, Any]]], flavors: Flavors) -> Usage:
    """What a namespace uses: the cost of every object listed, by kind (deleting ones included)."""
    listed = {kind: list(objs) for kind, objs in objects_by_kind.items()}
    volumes = volume_sizes(listed.get("Volume", []))
    total = Usage()
    for kind, objs in listed.items():
        for obj in objs:
            total += cost_of(kind, obj, flavors, volumes)
    return total


def delta_of(
    kind: str,
    new: Mapping[str, Any],
    old: Mapping[str, Any] | None = None,
    *,
    flavors: Flavors,
    volumes: VolumeSizes | None = None,
) -> Usage:
    """What admitting a create (old None) or an update of obj adds to its namespace's usage; parts may be
    negative (a shrink). Raises UnknownFlavor for a flavor the request starts to use and does not exist."""
    before = set(server_flavors(old)) if old is not None and kind == "Server" else set()
    new_flavors = frozenset(server_flavors(new)) - before if kind == "Server" else frozenset()
    after = cost_of(kind, new, flavors, volumes, must_know=new_flavors) + implied_cost(kind, new, flavors)
    if old is None:
        return after
    return after - (cost_of(kind, old, flavors, volumes) + implied_cost(kind, old, flavors))


def server_flavors(obj: Mapping[str, Any]) -> tuple[str, ...]:
    """The flavors a Server holds: the one it runs with (status.flavor, else spec.flavor) and, while a resize
    is requested, the target one."""
    spec, status = _spec(obj), obj.get("status") or {}
    current = status.get("flavor") or spec.get("flavor")
    target = (spec.get("resize") or {}).get("flavor") or spec.get("flavor")
    return tuple(dict.fromkeys(f for f in (current, target) if f))


def _flavor(flavors: Flavors, name: str, must_know: frozenset[str]) -> FlavorSize:
    size = flavors.get(name)
    if size is not None:
        return size
    if name in must_know:
        raise UnknownFlavor(name)
    return FlavorSize(vcpus=0, ram_mib=0)


def _snapshot_size(obj: Mapping[str, Any], volumes: VolumeSizes) -> int:
    # The size recorded when the snapshot was taken; before that, the size of the volume it copies.
    size = (obj.get("status") or {}).get("sizeGiB")
    if size is None:
        size = volumes.get(str(_spec(obj).get("volume")), 0)
    return int(size)


def _spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    spec: Mapping[str, Any] = obj.get("spec") or {}
    return spec


def _is_ours(obj: Mapping[str, Any]) -> bool:
    # Kind names alone are ambiguous: the CSI snapshot CRDs also define a VolumeSnapshot.
    api_version = obj.get("apiVersion")
    if not api_version:
        return True
    group = str(api_version).partition("/")[0]
    return group.endswith("." + QUOTA_GROUP_SUFFIX)

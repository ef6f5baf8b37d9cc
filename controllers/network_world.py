"""What the network operator knows: the latest body of every network object, indexed (pure, no I/O).

The operator feeds it from the watch events and from its own writes (a body with an older resourceVersion
than the one kept is ignored); `controllers.network_plan` plans from it. Claims (IPAddressClaims) are also
indexed by the space they hold a value in and by their owner's UID, so that planning an object's
addresses costs a dictionary lookup, not a scan of every claim.

Servers are indexed by the Ports their NICs name (spec.networks[].port), so a Port finds the Server that
uses it without a scan.

Observations of OVN also live here: for LoadBalancers' statuses, `lb_synced` (LoadBalancer UID -> the
generation whose rows the last successful Northbound sync wrote) and `service_monitors` (the Southbound
Service_Monitor statuses by (ip, port, protocol, logical port)); for Ports' phases, `port_bindings` (the
Southbound Port_Binding rows by logical port, i.e. Port UID). Both are None when no Southbound database is
configured or it could not be read: unknown, not empty.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # not at run time: controllers.ovn imports this module (through controllers.loadbalancer)
    from controllers.ovn.bindings import Binding

Obj = Mapping[str, Any]
Key = tuple[str, str]
"""(namespace, name); namespace "" for cluster-scoped kinds."""
SpaceKey = tuple[str, str, str]
"""(namespace of the claims, what the space is: Subnet/ExternalNetwork/MAC/Segment, the space's name)."""

CLAIM = "IPAddressClaim"
KINDS = (
    "Network",
    "Subnet",
    "Port",
    "Router",
    "SecurityGroup",
    "FloatingIP",
    "ExternalNetwork",
    "LoadBalancer",
    "Server",
    CLAIM,
)
OVN_KINDS = (
    "Network",
    "Subnet",
    "Port",
    "Router",
    "SecurityGroup",
    "FloatingIP",
    "ExternalNetwork",
    "LoadBalancer",
)


def key_of(obj: Obj) -> Key:
    meta = obj["metadata"]
    return str(meta.get("namespace") or ""), str(meta["name"])


def uid_of(obj: Obj) -> str:
    return str(obj["metadata"]["uid"])


def deleting(obj: Obj) -> bool:
    return bool(obj["metadata"].get("deletionTimestamp"))


def resource_version(obj: Obj) -> int:
    text = str(obj["metadata"].get("resourceVersion") or "0")
    return int(text) if text.isdigit() else 0


def claim_space(claim: Obj) -> SpaceKey:
    """The space a claim holds its value in (see network_plan's claim bodies)."""
    spec = claim.get("spec") or {}
    namespace = str(claim["metadata"].get("namespace") or "")
    purpose = spec.get("purpose")
    if purpose == "Segment":
        return namespace, "Segment", ""
    if purpose == "MACAddress":
        return namespace, "MAC", str(spec.get("network") or "")
    if spec.get("externalNetwork"):
        return namespace, "ExternalNetwork", str(spec["externalNetwork"])
    return namespace, "Subnet", str(spec.get("subnet") or "")


def claim_owner_uid(claim: Obj) -> str:
    return str(((claim.get("spec") or {}).get("owner") or {}).get("uid") or "")


class World:
    def __init__(self) -> None:
        self.objects: dict[str, dict[Key, Obj]] = {kind: {} for kind in KINDS}
        self._spaces: dict[SpaceKey, dict[str, Obj]] = {}
        self._owned: dict[str, dict[Key, Obj]] = {}
        self.lb_synced: dict[str, int | None] = {}
        self.service_monitors: dict[tuple[str, int, str, str], str] | None = None
        self.port_bindings: Mapping[str, Binding] | None = None
        self._port_users: dict[Key, set[str]] = {}

    # -- feeding ---------------------------------------------------------------------------------------

    def upsert(self, obj: Obj) -> bool:
        """Keep obj unless a newer body of it is kept; True if kept."""
        kind = str(obj.get("kind") or "")
        table = self.objects.get(kind)
        if table is None:
            return False
        key = key_of(obj)
        old = table.get(key)
        if old is not None and uid_of(old) == uid_of(obj) and resource_version(old) > resource_version(obj):
            return False
        if old is not None and kind == CLAIM:
            self._unindex(old)
        if old is not None and kind == "Server":
            self._index_server(old, add=False)
        table[key] = obj
        if kind == CLAIM:
            self._index(obj)
        if kind == "Server":
            self._index_server(obj, add=True)
        return True

    def remove(self, kind: str, key: Key) -> None:
        old = self.objects.get(kind, {}).pop(key, None)
        if old is not None and kind == CLAIM:
            self._unindex(old)
        if old is not None and kind == "Server":
            self._index_server(old, add=False)

    def _index_server(self, server: Obj, add: bool) -> None:
        ns, name = key_of(server)
        for nic in (server.get("spec") or {}).get("networks") or []:
            port = nic.get("port") if isinstance(nic, Mapping) else None
            if not port:
                continue
            users = self._port_users.setdefault((ns, str(port)), set())
            if add:
                users.add(name)
            else:
                users.discard(name)
                if not users:
                    self._port_users.pop((ns, str(port)), None)

    def _index(self, claim: Obj) -> None:
        spec = claim.get("spec") or {}
        self._spaces.setdefault(claim_space(claim), {})[str(spec.get("address"))] = claim
        self._owned.setdefault(claim_owner_uid(claim), {})[key_of(claim)] = claim

    def _unindex(self, claim: Obj) -> None:
        spec = claim.get("spec") or {}
        space = self._spaces.get(claim_space(claim), {})
        if space.get(str(spec.get("address"))) is claim:
            space.pop(str(spec.get("address")))
        self._owned.get(claim_owner_uid(claim), {}).pop(key_of(claim), None)

    # -- reading ---------------------------------------------------------------------------------------

    def get(self, kind: str, namespace: str, name: str | None) -> Obj | None:
        return None if name is None else self.objects[kind].get((namespace, name))

    def all(self, kind: str) -> Iterator[Obj]:
        yield from self.objects[kind].values()

    def in_namespace(self, kind: str, namespace: str) -> Iterator[Obj]:
        for (ns, _), obj in self.objects[kind].items():
            if ns == namespace:
                yield obj

    def space_claims(self, space: SpaceKey) -> Mapping[str, Obj]:
        """value (normalised address, MAC or segment) -> the claim holding it."""
        return self._spaces.get(space, {})

    def port_users(self, namespace: str, port: str) -> list[Obj]:
        """The Servers whose NICs name the Port (spec.networks[].port), by name."""
        names = sorted(self._port_users.get((namespace, port), ()))
        return [s for n in names if (s := self.get("Server", namespace, n)) is not None]

    def owned_claims(self, uid: str) -> Mapping[Key, Obj]:
        return self._owned.get(uid, {})

    def owner_exists(self, claim: Obj) -> bool:
        owner = (claim.get("spec") or {}).get("owner") or {}
        kind = str(owner.get("kind") or "")
        if kind not in self.objects:
            return True  # not ours to judge
        obj = self.get(kind, str(owner.get("namespace") or ""), str(owner.get("name") or ""))
        return obj is not None and uid_of(obj) == owner.get("uid")

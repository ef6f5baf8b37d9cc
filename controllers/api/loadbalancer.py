"""loadbalancer.kumulus.dev: load balancers (LoadBalancers).

Octavia's concepts in Kubernetes style, in one object: a LoadBalancer has a virtual IP (VIP) on a Subnet,
optionally a floating IP, listeners that accept traffic on a protocol and port, and pools of members
(Servers or addresses) the traffic is balanced across, each pool with an optional health monitor. HTTP
and HTTPS listeners can route requests to other pools, redirect or reject them with L7 policies.

Listeners, L7 policies and pools refer to each other by name inside the object; CEL rules check that
every such reference resolves and that the protocols fit. Every list has a maxItems, as Kubernetes
estimates the cost of a rule from them: the costliest (listeners x policies x pools) stays well under the
per-rule limit. Defaults of fields inside lists are applied by the models, not written by the API server
(see _not_stored).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from .base import (
    AGE,
    CIDR,
    Column,
    IPAddress,
    Kind,
    KumulusModel,
    PortNumber,
    ResourceName,
    StatusBase,
    immutable,
)

LocalName = Annotated[str, Field(min_length=1, max_length=63, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
"""The name of a listener, pool, member or L7 policy inside one LoadBalancer (a DNS label)."""

_TOKEN = r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$"
"""An HTTP token (RFC 9110): header and cookie names."""

MAX_LISTENERS = 50
MAX_POOLS = 50
MAX_MEMBERS = 1000
MAX_POLICIES = 50
MAX_RULES = 50


def _map_list(*keys: str) -> dict[str, Any]:
    return {"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": list(keys)}


def _not_stored(schema: dict[str, Any]) -> None:
    """json_schema_extra of a defaulted field inside a list: the default is the model's, not the CRD's.

    kubectl apply sends a custom resource's lists whole (JSON merge patch), so a default the API server
    wrote into a list item would make every apply of an unchanged manifest "configured". The default is
    stated in the description and applied when the controllers parse the object.
    """
    schema.pop("default", None)


# -- Listeners and L7 policies --------------------------------------------------------------------------


class ListenerProtocol(StrEnum):
    TCP = "TCP"
    UDP = "UDP"
    HTTP = "HTTP"
    HTTPS = "HTTPS"


class L7Action(StrEnum):
    REDIRECT_TO_POOL = "RedirectToPool"
    REDIRECT_TO_URL = "RedirectToURL"
    REJECT = "Reject"


class L7RuleType(StrEnum):
    PATH = "Path"
    HOST = "Host"
    HEADER = "Header"
    COOKIE = "Cookie"
    FILE_TYPE = "FileType"


class L7CompareType(StrEnum):
    EQUALS = "Equals"
    STARTS_WITH = "StartsWith"
    ENDS_WITH = "EndsWith"
    CONTAINS = "Contains"
    REGEX = "Regex"


class L7Rule(KumulusModel):
    """A condition on a request. A policy applies when all of its rules match."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "(self.type == 'Header' || self.type == 'Cookie') == has(self.key)",
                    "message": "key (the header or cookie name) is required for Header and Cookie rules, "
                    "and only allowed on them",
                    "fieldPath": ".key",
                },
                {
                    "rule": "self.type != 'FileType' || self.compareType == 'Equals' "
                    "|| self.compareType == 'Regex'",
                    "message": "FileType rules compare with Equals or Regex",
                    "fieldPath": ".compareType",
                },
                {
                    "rule": "self.type != 'Path' || (self.compareType != 'Equals' "
                    "&& self.compareType != 'StartsWith') || self.value.startsWith('/')",
                    "message": "a Path compared with Equals or StartsWith begins with /",
                    "fieldPath": ".value",
                },
            ]
        }
    )

    type: L7RuleType = Field(
        description="What part of the request is compared: Path (the URL path), Host (the Host header), "
        "Header (the header named by key), Cookie (the cookie named by key) or FileType (the extension "
        "of the last path segment, e.g. jpg)."
    )
    compare_type: L7CompareType = Field(
        description="How it is compared with value: Equals, StartsWith, EndsWith, Contains or Regex (a "
        "PCRE regular expression). FileType rules use Equals or Regex."
    )
    key: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        pattern=_TOKEN,
        description="For Header and Cookie rules: the name of the header or cookie to compare.",
    )
    value: str = Field(
        min_length=1,
        max_length=255,
        pattern=r"^\S+$",
        description="The value to compare with, without whitespace, e.g. /api, www.example.com or "
        "^/v[0-9]+/. A Path compared with Equals or StartsWith begins with /.",
    )
    invert: bool = Field(
        default=False,
        description="Match when the comparison fails instead (default false).",
        json_schema_extra=_not_stored,
    )


class L7Policy(KumulusModel):
    """What an HTTP or HTTPS listener does with the requests matching all the rules: send them to another
    pool than the listener's default, redirect them to a URL, or reject them (403)."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "has(self.redirectPool) == (self.action == 'RedirectToPool')",
                    "message": "redirectPool is required with action RedirectToPool, and only allowed with it",
                    "fieldPath": ".redirectPool",
                },
                {
                    "rule": "has(self.redirectURL) == (self.action == 'RedirectToURL')",
                    "message": "redirectURL is required with action RedirectToURL, and only allowed with it",
                    "fieldPath": ".redirectURL",
                },
                {
                    "rule": "!has(self.redirectHTTPCode) || self.action == 'RedirectToURL'",
                    "message": "redirectHTTPCode is only allowed with action RedirectToURL",
                    "fieldPath": ".redirectHTTPCode",
                },
            ]
        }
    )

    name: LocalName = Field(description="Name of the policy, unique in the listener.")
    action: L7Action = Field(
        description="RedirectToPool: send to redirectPool. RedirectToURL: answer with an HTTP redirect to "
        "redirectURL. Reject: answer 403 Forbidden."
    )
    redirect_pool: LocalName | None = Field(
        default=None,
        description="With RedirectToPool: name of an HTTP, HTTPS or PROXY pool of this LoadBalancer.",
    )
    redirect_url: str | None = Field(
        default=None,
        alias="redirectURL",
        max_length=2048,
        pattern=r"^https?://[^\s/?#]+[^\s]*$",
        description="With RedirectToURL: the http or https URL to redirect to.",
    )
    redirect_http_code: Literal[301, 302, 303, 307, 308] | None = Field(
        default=None,
        alias="redirectHTTPCode",
        description="With RedirectToURL: the redirect status code, 301, 302, 303, 307 or 308 (302 if unset).",
    )
    position: int | None = Field(
        default=None,
        ge=1,
        le=MAX_POLICIES,
        description="Order of evaluation among the listener's policies, lowest first; the first policy that "
        "matches applies. Policies without a position come after those with one, in list order.",
    )
    rules: list[L7Rule] = Field(
        min_length=1,
        max_length=MAX_RULES,
        description="Conditions on the request; the policy applies when all of them match.",
    )


class ListenerTimeouts(KumulusModel):
    """Inactivity timeouts of a listener's connections, in milliseconds (0 to 86400000)."""

    client_data_ms: int = Field(
        default=50000,
        ge=0,
        le=86_400_000,
        description="How long a client connection may stay idle, in milliseconds (default 50000).",
        json_schema_extra=_not_stored,
    )
    member_connect_ms: int = Field(
        default=5000,
        ge=0,
        le=86_400_000,
        description="How long connecting to a member may take, in milliseconds (default 5000).",
        json_schema_extra=_not_stored,
    )
    member_data_ms: int = Field(
        default=50000,
        ge=0,
        le=86_400_000,
        description="How long a member connection may stay idle, in milliseconds (default 50000).",
        json_schema_extra=_not_stored,
    )


class Listener(KumulusModel):
    """A protocol and port on the VIP where the LoadBalancer accepts traffic, and where it sends it."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "self.protocol != 'HTTPS' || has(self.tlsSecret)",
                    "message": "HTTPS listeners need tlsSecret, the certificate they present",
                    "fieldPath": ".tlsSecret",
                    "reason": "FieldValueRequired",
                },
                {
                    "rule": "self.protocol == 'HTTPS' || !has(self.tlsSecret)",
                    "message": "tlsSecret is only allowed on HTTPS listeners",
                    "fieldPath": ".tlsSecret",
                    "reason": "FieldValueForbidden",
                },
                {
                    "rule": "self.protocol == 'HTTP' || self.protocol == 'HTTPS' || !has(self.l7Policies) "
                    "|| size(self.l7Policies) == 0",
                    "message": "l7Policies need an HTTP or HTTPS listener",
                    "fieldPath": ".l7Policies",
                    "reason": "FieldValueForbidden",
                },
            ]
        }
    )

    name: LocalName = Field(description="Name of the listener, unique in the LoadBalancer.")
    protocol: ListenerProtocol = Field(
        description="TCP or UDP (layer 4, forwarded as is), HTTP, or HTTPS (TLS terminated on the "
        "LoadBalancer with tlsSecret, then HTTP). L7 policies need HTTP or HTTPS."
    )
    port: PortNumber = Field(
        description="Port on the VIP, 1 to 65535. TCP, HTTP and HTTPS listeners share the TCP ports: each "
        "port is used by one of them, and by at most one UDP listener."
    )
    default_pool: LocalName | None = Field(
        default=None,
        description="Name of the pool of this LoadBalancer that receives the traffic no L7 policy takes. "
        "Without one, such connections are refused (HTTP: 503). UDP listeners need UDP pools; HTTP and "
        "HTTPS listeners need HTTP, HTTPS or PROXY pools.",
    )
    tls_secret: ResourceName | None = Field(
        default=None,
        description="HTTPS listeners: name of a Secret of type kubernetes.io/tls in this namespace with the "
        "certificate (tls.crt, with its chain) and private key (tls.key) the listener presents.",
    )
    connection_limit: int | None = Field(
        default=None, ge=1, le=1_000_000, description="Most concurrent connections; unlimited if unset."
    )
    timeouts: ListenerTimeouts | None = Field(
        default=None,
        description="Inactivity timeouts of client and member connections (TCP-based listeners).",
    )
    allowed_cidrs: list[CIDR] = Field(
        default_factory=list,
        alias="allowedCIDRs",
        max_length=64,
        description="Source networks allowed to connect, e.g. 192.0.2.0/24; everyone if empty.",
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    l7_policies: list[L7Policy] = Field(
        default_factory=list,
        alias="l7Policies",
        max_length=MAX_POLICIES,
        description="HTTP and HTTPS listeners: policies applied to each request before the default pool.",
        json_schema_extra=_map_list("name"),
    )


# -- Pools, members and health monitors -----------------------------------------------------------------


class PoolProtocol(StrEnum):
    TCP = "TCP"
    UDP = "UDP"
    HTTP = "HTTP"
    HTTPS = "HTTPS"
    PROXY = "PROXY"


class Algorithm(StrEnum):
    ROUND_ROBIN = "RoundRobin"
    LEAST_CONNECTIONS = "LeastConnections"
    SOURCE_IP = "SourceIP"


class SessionPersistenceType(StrEnum):
    SOURCE_IP = "SourceIP"
    HTTP_COOKIE = "HTTPCookie"
    APP_COOKIE = "AppCookie"


class SessionPersistence(KumulusModel):
    """Keeps sending a client to the same member."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "has(self.cookieName) == (self.type == 'AppCookie')",
                    "message": "cookieName is required with type AppCookie, and only allowed with it",
                    "fieldPath": ".cookieName",
                }
            ]
        }
    )

    type: SessionPersistenceType = Field(
        description="SourceIP: by client address. HTTPCookie: by a cookie the LoadBalancer sets. AppCookie: "
        "by the application's cookie named cookieName. The cookie types need an HTTP or HTTPS pool."
    )
    cookie_name: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        pattern=_TOKEN,
        description="With AppCookie: the name of the application's session cookie, e.g. JSESSIONID.",
    )


class HealthMonitorType(StrEnum):
    TCP = "TCP"
    HTTP = "HTTP"
    HTTPS = "HTTPS"
    PING = "PING"
    TLS_HELLO = "TLS-HELLO"
    UDP_CONNECT = "UDP-CONNECT"


class HTTPMethod(StrEnum):
    GET = "GET"
    HEAD = "HEAD"
    POST = "POST"
    PUT = "PUT"
    DELETE = "DELETE"
    PATCH = "PATCH"
    OPTIONS = "OPTIONS"
    CONNECT = "CONNECT"
    TRACE = "TRACE"


class HealthMonitor(KumulusModel):
    """How the members of a pool are checked. A member that fails maxRetriesDown checks in a row gets no
    new traffic until it passes maxRetries checks in a row."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "self.timeoutSeconds <= self.delaySeconds",
                    "message": "timeoutSeconds must not exceed delaySeconds",
                    "fieldPath": ".timeoutSeconds",
                },
                {
                    "rule": "self.type == 'HTTP' || self.type == 'HTTPS' || "
                    "(!has(self.httpMethod) && !has(self.urlPath) && !has(self.expectedCodes))",
                    "message": "httpMethod, urlPath and expectedCodes are only for HTTP and HTTPS monitors",
                },
            ]
        }
    )

    type: HealthMonitorType = Field(
        description="TCP (connect), HTTP or HTTPS (a request; HTTPS without verifying the certificate), PING "
        "(ICMP echo), TLS-HELLO (a TLS handshake) or UDP-CONNECT (a UDP datagram, for UDP pools)."
    )
    delay_seconds: int = Field(ge=1, le=3600, description="Seconds between checks, 1 to 3600.")
    timeout_seconds: int = Field(
        ge=1, le=3600, description="Seconds a check may take before it fails; at most delaySeconds."
    )
    max_retries: int = Field(
        default=3,
        ge=1,
        le=10,
        description="Checks in a row a member must pass to be Online again (1 to 10, default 3).",
        json_schema_extra=_not_stored,
    )
    max_retries_down: int = Field(
        default=3,
        ge=1,
        le=10,
        description="Checks in a row a member must fail to be taken out, Error (1 to 10, default 3).",
        json_schema_extra=_not_stored,
    )
    http_method: HTTPMethod | None = Field(
        default=None, description="HTTP and HTTPS monitors: the request method (GET if unset)."
    )
    url_path: str | None = Field(
        default=None,
        max_length=2048,
        pattern=r"^/\S*$",
        description="HTTP and HTTPS monitors: the path requested, e.g. /healthz (/ if unset).",
    )
    expected_codes: str | None = Field(
        default=None,
        max_length=64,
        pattern=r"^[1-5][0-9]{2}((,[1-5][0-9]{2})*|-[1-5][0-9]{2})$",
        description='HTTP and HTTPS monitors: the status codes of a healthy answer: one ("200"), a list '
        '("200,202") or a range ("200-204"); "200" if unset.',
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!self.contains('-') || self.split('-')[0] <= self.split('-')[1]",
                    "message": "a range of expectedCodes goes from low to high, e.g. 200-204",
                }
            ]
        },
    )


class Member(KumulusModel):
    """A backend of a pool: a Server, or any address reachable from the VIP subnet."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "has(self.server) != has(self.address)",
                    "message": "set exactly one of server or address",
                },
            ]
        }
    )

    name: LocalName | None = Field(
        default=None, description="Name of the member, shown in status; the server name if unset."
    )
    server: ResourceName | None = Field(
        default=None,
        description="Name of a Server in this namespace; its fixed address on subnet is used.",
    )
    address: IPAddress | None = Field(
        default=None, description="The member's IP address, instead of a Server."
    )
    subnet: ResourceName | None = Field(
        default=None,
        description="Name of the Subnet the member is reached on; the LoadBalancer's vipSubnet if unset.",
    )
    protocol_port: PortNumber = Field(description="Port on the member the traffic is sent to, 1 to 65535.")
    weight: int = Field(
        default=1,
        ge=0,
        le=256,
        description="Share of the traffic relative to the other members, 0 to 256 (default 1); 0 drains "
        "the member: no new connections, existing ones carry on.",
        json_schema_extra=_not_stored,
    )
    backup: bool = Field(
        default=False,
        description="Send traffic to this member only when no other member is healthy (default false).",
        json_schema_extra=_not_stored,
    )
    monitor_address: IPAddress | None = Field(
        default=None, description="Address the health monitor checks instead of the member's."
    )
    monitor_port: PortNumber | None = Field(
        default=None, description="Port the health monitor checks instead of protocolPort."
    )


class Pool(KumulusModel):
    """A group of members that listeners and L7 policies send traffic to, balanced by algorithm."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!has(self.sessionPersistence) || self.sessionPersistence.type == 'SourceIP' "
                    "|| self.protocol == 'HTTP' || self.protocol == 'HTTPS'",
                    "message": "cookie session persistence needs an HTTP or HTTPS pool",
                    "fieldPath": ".sessionPersistence",
                },
                {
                    "rule": "!has(self.healthMonitor) || (self.healthMonitor.type == 'UDP-CONNECT' ? "
                    "self.protocol == 'UDP' : (self.protocol != 'UDP' || self.healthMonitor.type == 'TCP' "
                    "|| self.healthMonitor.type == 'HTTP'))",
                    "message": "UDP pools are checked with UDP-CONNECT, TCP or HTTP monitors, and UDP-CONNECT "
                    "only checks UDP pools",
                    "fieldPath": ".healthMonitor.type",
                },
            ]
        }
    )

    name: LocalName = Field(description="Name of the pool, unique in the LoadBalancer.")
    protocol: PoolProtocol = Field(
        description="How the LoadBalancer talks to the members: TCP, UDP, HTTP, HTTPS (HTTP over TLS, "
        "re-encrypted behind HTTP and HTTPS listeners, passed through behind TCP listeners) or PROXY (TCP "
        "preceded by a PROXY protocol header carrying the client's address)."
    )
    algorithm: Algorithm = Field(
        default=Algorithm.ROUND_ROBIN,
        description="RoundRobin (in turn, by weight), LeastConnections (to the member with the fewest "
        "active connections) or SourceIP (a hash of the client address); RoundRobin if unset.",
        json_schema_extra=_not_stored,
    )
    session_persistence: SessionPersistence | None = Field(
        default=None, description="Keep sending a client to the same member; off if unset."
    )
    members: list[Member] = Field(
        default_factory=list, max_length=MAX_MEMBERS, description="The backends traffic is balanced across."
    )
    health_monitor: HealthMonitor | None = Field(
        default=None,
        description="Checks of the members' health; without one every member is assumed healthy (NoMonitor).",
    )


# -- LoadBalancer ---------------------------------------------------------------------------------------


class FloatingIPRequest(KumulusModel):
    """A floating IP from an external network, forwarded to the VIP."""

    external_network: ResourceName = Field(
        description="Name of the ExternalNetwork to allocate the address from. Changing it releases the "
        "address and allocates a new one."
    )


_POOL_FITS = "(l.protocol == 'UDP') == (p.protocol == 'UDP') && (l.protocol == 'TCP' || p.protocol != 'TCP')"
"""CEL: pool p can serve listener l (UDP listeners with UDP pools; HTTP and HTTPS listeners not with TCP)."""

_NO_DEFAULT_POOL = "has(l.defaultPool) && !(has(self.pools) && self.pools.exists(p, p.name == l.defaultPool))"
_UNFIT_DEFAULT_POOL = f"has(l.defaultPool) && has(self.pools) && self.pools.exists(p, p.name == l.defaultPool && !({_POOL_FITS}))"
_BAD_REDIRECT_POOL = (
    "has(p.redirectPool) && !(has(self.pools) && self.pools.exists(q, q.name == p.redirectPool "
    "&& q.protocol != 'TCP' && q.protocol != 'UDP'))"
)
"""CEL, for policy p: its redirectPool is no HTTP, HTTPS or PROXY pool (policies are on HTTP(S) listeners)."""

_SPEC_RULES: tuple[dict[str, str], ...] = (
    {
        "rule": f"!has(self.listeners) || !self.listeners.exists(l, {_NO_DEFAULT_POOL})",
        "messageExpression": f"'listener ' + self.listeners.filter(l, {_NO_DEFAULT_POOL})[0].name + "
        "': defaultPool is not the name of a pool of this LoadBalancer'",
        "message": "a listener's defaultPool is not the name of a pool of this LoadBalancer",
        "fieldPath": ".listeners",
    },
    {
        "rule": f"!has(self.listeners) || !self.listeners.exists(l, {_UNFIT_DEFAULT_POOL})",
        "messageExpression": f"'listener ' + self.listeners.filter(l, {_UNFIT_DEFAULT_POOL})[0].name + "
        "': the protocol of its defaultPool does not fit (UDP listeners need UDP pools; HTTP and HTTPS "
        "listeners need HTTP, HTTPS or PROXY pools)'",
        "message": "the protocol of a listener's defaultPool does not fit the listener (UDP listeners need UDP "
        "pools; HTTP and HTTPS listeners need HTTP, HTTPS or PROXY pools)",
        "fieldPath": ".listeners",
    },
    {
        # The costliest rule: listeners x policies x pools (50 x 50 x 50), about 3M of the 10M a rule may
        # be estimated at; its message expression twice that.
        "rule": "!has(self.listeners) || !self.listeners.exists(l, has(l.l7Policies) && "
        f"l.l7Policies.exists(p, {_BAD_REDIRECT_POOL}))",
        "messageExpression": "'listener ' + self.listeners.filter(l, has(l.l7Policies) && "
        f"l.l7Policies.exists(p, {_BAD_REDIRECT_POOL})).map(l, l.name + ', l7Policy ' + "
        f"l.l7Policies.filter(p, {_BAD_REDIRECT_POOL})[0].name)[0] + "
        "': redirectPool is not the name of an HTTP, HTTPS or PROXY pool of this LoadBalancer'",
        "message": "an l7Policy's redirectPool is not the name of an HTTP, HTTPS or PROXY pool of this "
        "LoadBalancer",
        "fieldPath": ".listeners",
    },
    {
        "rule": "has(self.vipAddress) == has(oldSelf.vipAddress)",
        "message": "vipAddress is immutable",
    },
)
"""Cross-field rules of the spec: references between listeners, L7 policies and pools resolve and fit."""


class LoadBalancerSpec(KumulusModel):
    """The desired state of a LoadBalancer."""

    vip_subnet: ResourceName = Field(
        description="Name of the Subnet in this namespace the virtual IP (VIP) is allocated on; members are "
        "reached on it unless they name another subnet. Immutable.",
        json_schema_extra=immutable("vipSubnet is immutable"),
    )
    vip_address: IPAddress | None = Field(
        default=None,
        description="A fixed VIP on vipSubnet, instead of one from IPAM. Immutable.",
        json_schema_extra=immutable("vipAddress is immutable"),
    )
    floating_ip: FloatingIPRequest | None = Field(
        default=None,
        alias="floatingIP",
        description="Ask for a floating IP forwarded to the VIP, to reach the LoadBalancer from outside; "
        "released when removed.",
    )
    listeners: list[Listener] = Field(
        default_factory=list,
        max_length=MAX_LISTENERS,
        description="Where traffic is accepted: a protocol and port each. TCP, HTTP and HTTPS listeners "
        "share the TCP ports, UDP listeners the UDP ports.",
        json_schema_extra={
            **_map_list("name"),
            "x-kubernetes-validations": [
                {
                    "rule": "self.all(a, self.exists_one(b, b.port == a.port && "
                    "(b.protocol == 'UDP') == (a.protocol == 'UDP')))",
                    "message": "two listeners use the same port (TCP, HTTP and HTTPS listeners share the TCP "
                    "ports; UDP listeners the UDP ports)",
                }
            ],
        },
    )
    pools: list[Pool] = Field(
        default_factory=list,
        max_length=MAX_POOLS,
        description="Groups of members that listeners (defaultPool) and L7 policies (redirectPool) send "
        "traffic to.",
        json_schema_extra=_map_list("name"),
    )


class ProvisioningStatus(StrEnum):
    PENDING = "Pending"
    ACTIVE = "Active"
    ERROR = "Error"
    DELETING = "Deleting"


class OperatingStatus(StrEnum):
    ONLINE = "Online"
    DEGRADED = "Degraded"
    OFFLINE = "Offline"
    ERROR = "Error"
    NO_MONITOR = "NoMonitor"


class MemberOperatingStatus(StrEnum):
    ONLINE = "Online"
    OFFLINE = "Offline"
    ERROR = "Error"
    NO_MONITOR = "NoMonitor"
    DRAINING = "Draining"


class ListenerStatus(KumulusModel):
    """The observed state of one listener."""

    name: str = Field(description="The listener.")
    provisioning_status: ProvisioningStatus | None = Field(
        default=None, description="Pending, Active, Error or Deleting."
    )
    operating_status: OperatingStatus | None = Field(
        default=None, description="Online, Degraded (some pools degraded), Offline or Error."
    )


class MemberStatus(KumulusModel):
    """The observed state of one member."""

    name: str | None = Field(default=None, description="The member's name (its server name if unset).")
    address: str | None = Field(default=None, description="The address traffic is sent to.")
    protocol_port: int | None = Field(default=None, description="The port traffic is sent to.")
    operating_status: MemberOperatingStatus | None = Field(
        default=None,
        description="Online (passing checks), Offline (disabled), Error (failing checks), NoMonitor (no "
        "health monitor) or Draining (weight 0).",
    )


class PoolStatus(KumulusModel):
    """The observed state of one pool."""

    name: str = Field(description="The pool.")
    provisioning_status: ProvisioningStatus | None = Field(
        default=None, description="Pending, Active, Error or Deleting."
    )
    operating_status: OperatingStatus | None = Field(
        default=None,
        description="Online (all members healthy), Degraded (some are not), Error (none is) or NoMonitor.",
    )
    members: list[MemberStatus] = Field(default_factory=list, description="The members, in spec order.")


class LoadBalancerStatus(StatusBase):
    """The observed state of a LoadBalancer."""

    provisioning_status: ProvisioningStatus | None = Field(
        default=None,
        description="Pending (being built or changed), Active (as specified), Error or Deleting.",
    )
    operating_status: OperatingStatus | None = Field(
        default=None,
        description="Online, Degraded (some listeners or pools are not healthy), Offline, Error or NoMonitor.",
    )
    vip_address: str | None = Field(default=None, description="The virtual IP on vipSubnet.")
    floating_ip: str | None = Field(
        default=None, alias="floatingIP", description="The floating IP forwarded to the VIP."
    )
    listeners: list[ListenerStatus] = Field(
        default_factory=list, description="Each listener.", json_schema_extra=_map_list("name")
    )
    pools: list[PoolStatus] = Field(
        default_factory=list, description="Each pool and its members.", json_schema_extra=_map_list("name")
    )
    message: str | None = Field(default=None, description="Why the LoadBalancer is not Active or not Online.")


KINDS: tuple[Kind, ...] = (
    Kind(
        group="loadbalancer",
        kind="LoadBalancer",
        plural="loadbalancers",
        spec=LoadBalancerSpec,
        status=LoadBalancerStatus,
        description="A LoadBalancer spreads traffic to a virtual IP across Servers: listeners accept it on "
        "a protocol and port and send it to pools of members, checked by health monitors and routed by L7 "
        "policies (Octavia's load balancer, listeners, pools, members, health monitors and L7 policies in "
        "one object).",
        short_names=("lb",),
        columns=(
            Column("VIP", ".status.vipAddress", description="The virtual IP."),
            Column("Floating-IP", ".status.floatingIP", description="The floating IP forwarded to the VIP."),
            Column("Provisioning", ".status.provisioningStatus", description="Provisioning status."),
            Column("Operating", ".status.operatingStatus", description="Operating status."),
            AGE,
        ),
        selectable_fields=(".spec.vipSubnet",),
        spec_rules=_SPEC_RULES,
    ),
)

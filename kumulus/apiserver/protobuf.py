"""Decoding of kube-apiserver's protobuf request bodies into the JSON form of the object.

kubectl's typed clients (``kubectl create namespace|configmap|secret|serviceaccount|role|rolebinding|
clusterrole|clusterrolebinding`` and friends) send built-in objects as
``application/vnd.kubernetes.protobuf``: the 4-byte magic ``k8s\\x00`` followed by a ``runtime.Unknown``
message (1 typeMeta {1 apiVersion, 2 kind}, 2 raw, 3 contentEncoding, 4 contentType) whose ``raw`` is the
object's own message.  This module holds a small protobuf wire-format reader and, for each supported
kind, a table of its message (field number -> JSON name, type, repetition, presence), and turns the body
into the dict kube-apiserver would serve as JSON.

Field numbers were checked against the ``generated.proto`` files of k8s.io/api (core/v1, rbac/v1,
coordination/v1, events/v1) and k8s.io/apimachinery (meta/v1, runtime), and against the protobuf struct
tags compiled into kubectl v1.32.

JSON follows Go's encoding/json on the k8s types: ``omitempty`` scalars are left out when zero, pointer
scalars are kept whenever present on the wire (``immutable: false`` survives), non-pointer structs are
always emitted, int64 stays an int, bytes become base64 strings, ``metav1.Time`` becomes
``2006-01-02T15:04:05Z`` and ``metav1.MicroTime`` ``2006-01-02T15:04:05.000000Z``.  Where Go would
write ``null`` (a nil list without omitempty, a zero Time) the key is left out instead.
"""

from __future__ import annotations

import base64
import datetime
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

MAGIC = b"k8s\x00"
PROTOBUF_CONTENT_TYPE = "application/vnd.kubernetes.protobuf"


class UnsupportedKind(ValueError):
    """The envelope names a kind this server cannot decode from protobuf."""


# --- wire format -----------------------------------------------------------------------------------------

VARINT, I64, LEN, I32 = 0, 1, 2, 5

WireValue = int | bytes


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise ValueError("varint is longer than 10 bytes")


def _fields(buf: bytes) -> Iterator[tuple[int, int, WireValue]]:
    """Yield (field number, wire type, value) for each field of one message; values are raw."""
    pos = 0
    end = len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        num, wire = key >> 3, key & 7
        if num == 0:
            raise ValueError("invalid field number 0")
        val: WireValue
        if wire == VARINT:
            val, pos = _varint(buf, pos)
        elif wire == I64:
            if end - pos < 8:
                raise ValueError(f"truncated 64-bit value in field {num}")
            val = int.from_bytes(buf[pos : pos + 8], "little")
            pos += 8
        elif wire == LEN:
            length, pos = _varint(buf, pos)
            if length > end - pos:
                raise ValueError(f"truncated length-delimited field {num}")
            val = buf[pos : pos + length]
            pos += length
        elif wire == I32:
            if end - pos < 4:
                raise ValueError(f"truncated 32-bit value in field {num}")
            val = int.from_bytes(buf[pos : pos + 4], "little")
            pos += 4
        else:
            raise ValueError(f"unsupported wire type {wire} in field {num}")
        yield num, wire, val


def _signed(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


# --- message tables --------------------------------------------------------------------------------------

# Scalar and special types.
STRING = "string"
BOOL = "bool"
INT32 = "int32"
INT64 = "int64"
BYTES = "bytes"
TIME = "time"  # metav1.Time: {1 seconds, 2 nanos}, nanos dropped, RFC3339
MICROTIME = "microtime"  # metav1.MicroTime: {1 seconds, 2 nanos}, RFC3339 with microseconds
FIELDS_V1 = "fieldsV1"  # metav1.FieldsV1: {1 Raw} holding JSON, emitted as that JSON
MAP_STRING = "map<string,string>"
MAP_BYTES = "map<string,bytes>"

# Presence: how Go's encoding/json treats the field.
OMITEMPTY = "omitempty"  # left out when zero ("" / 0 / false / empty list or map)
POINTER = "pointer"  # a *T: emitted whenever present on the wire, even if zero
ALWAYS = "always"  # no omitempty, or a non-pointer struct: emitted, zero value when absent


@dataclass(frozen=True, eq=False)
class Message:
    """A protobuf message: its Go name and its fields by number, in Go struct (JSON) order."""

    name: str
    fields: dict[int, Field]


class Field(NamedTuple):
    name: str
    type: str | Message
    repeated: bool = False
    presence: str = OMITEMPTY


def _msg(name: str, *fields: tuple[int, Field]) -> Message:
    return Message(name, dict(fields))


# k8s.io/apimachinery/pkg/apis/meta/v1

OWNER_REFERENCE = _msg(
    "OwnerReference",
    (5, Field("apiVersion", STRING, presence=ALWAYS)),
    (1, Field("kind", STRING, presence=ALWAYS)),
    (3, Field("name", STRING, presence=ALWAYS)),
    (4, Field("uid", STRING, presence=ALWAYS)),
    (6, Field("controller", BOOL, presence=POINTER)),
    (7, Field("blockOwnerDeletion", BOOL, presence=POINTER)),
)

MANAGED_FIELDS_ENTRY = _msg(
    "ManagedFieldsEntry",
    (1, Field("manager", STRING)),
    (2, Field("operation", STRING)),
    (3, Field("apiVersion", STRING)),
    (4, Field("time", TIME, presence=POINTER)),
    (6, Field("fieldsType", STRING)),
    (7, Field("fieldsV1", FIELDS_V1, presence=POINTER)),
    (8, Field("subresource", STRING)),
)

OBJECT_META = _msg(
    "ObjectMeta",
    (1, Field("name", STRING)),
    (2, Field("generateName", STRING)),
    (3, Field("namespace", STRING)),
    (4, Field("selfLink", STRING)),
    (5, Field("uid", STRING)),
    (6, Field("resourceVersion", STRING)),
    (7, Field("generation", INT64)),
    (8, Field("creationTimestamp", TIME)),
    (9, Field("deletionTimestamp", TIME, presence=POINTER)),
    (10, Field("deletionGracePeriodSeconds", INT64, presence=POINTER)),
    (11, Field("labels", MAP_STRING)),
    (12, Field("annotations", MAP_STRING)),
    (13, Field("ownerReferences", OWNER_REFERENCE, repeated=True)),
    (14, Field("finalizers", STRING, repeated=True)),
    (17, Field("managedFields", MANAGED_FIELDS_ENTRY, repeated=True)),
)

LABEL_SELECTOR_REQUIREMENT = _msg(
    "LabelSelectorRequirement",
    (1, Field("key", STRING, presence=ALWAYS)),
    (2, Field("operator", STRING, presence=ALWAYS)),
    (3, Field("values", STRING, repeated=True)),
)

LABEL_SELECTOR = _msg(
    "LabelSelector",
    (1, Field("matchLabels", MAP_STRING)),
    (2, Field("matchExpressions", LABEL_SELECTOR_REQUIREMENT, repeated=True)),
)

PRECONDITIONS = _msg(
    "Preconditions",
    (1, Field("uid", STRING, presence=POINTER)),
    (2, Field("resourceVersion", STRING, presence=POINTER)),
)

DELETE_OPTIONS = _msg(
    "DeleteOptions",
    (1, Field("gracePeriodSeconds", INT64, presence=POINTER)),
    (2, Field("preconditions", PRECONDITIONS, presence=POINTER)),
    (3, Field("orphanDependents", BOOL, presence=POINTER)),
    (4, Field("propagationPolicy", STRING, presence=POINTER)),
    (5, Field("dryRun", STRING, repeated=True)),
    (6, Field("ignoreStoreReadErrorWithClusterBreakingPotential", BOOL, presence=POINTER)),
)

_METADATA = (1, Field("metadata", OBJECT_META, presence=ALWAYS))

# k8s.io/api/core/v1

LOCAL_OBJECT_REFERENCE = _msg("LocalObjectReference", (1, Field("name", STRING)))

OBJECT_REFERENCE = _msg(
    "ObjectReference",
    (1, Field("kind", STRING)),
    (2, Field("namespace", STRING)),
    (3, Field("name", STRING)),
    (4, Field("uid", STRING)),
    (5, Field("apiVersion", STRING)),
    (6, Field("resourceVersion", STRING)),
    (7, Field("fieldPath", STRING)),
)

NAMESPACE_CONDITION = _msg(
    "NamespaceCondition",
    (1, Field("type", STRING, presence=ALWAYS)),
    (2, Field("status", STRING, presence=ALWAYS)),
    (4, Field("lastTransitionTime", TIME)),
    (5, Field("reason", STRING)),
    (6, Field("message", STRING)),
)

NAMESPACE = _msg(
    "Namespace",
    _METADATA,
    (
        2,
        Field(
            "spec", _msg("NamespaceSpec", (1, Field("finalizers", STRING, repeated=True))), presence=ALWAYS
        ),
    ),
    (
        3,
        Field(
            "status",
            _msg(
                "NamespaceStatus",
                (1, Field("phase", STRING)),
                (2, Field("conditions", NAMESPACE_CONDITION, repeated=True)),
            ),
            presence=ALWAYS,
        ),
    ),
)

CONFIG_MAP = _msg(
    "ConfigMap",
    _METADATA,
    (4, Field("immutable", BOOL, presence=POINTER)),
    (2, Field("data", MAP_STRING)),
    (3, Field("binaryData", MAP_BYTES)),
)

SECRET = _msg(
    "Secret",
    _METADATA,
    (5, Field("immutable", BOOL, presence=POINTER)),
    (2, Field("data", MAP_BYTES)),
    (4, Field("stringData", MAP_STRING)),
    (3, Field("type", STRING)),
)

SERVICE_ACCOUNT = _msg(
    "ServiceAccount",
    _METADATA,
    (2, Field("secrets", OBJECT_REFERENCE, repeated=True)),
    (3, Field("imagePullSecrets", LOCAL_OBJECT_REFERENCE, repeated=True)),
    (4, Field("automountServiceAccountToken", BOOL, presence=POINTER)),
)

EVENT_SOURCE = _msg("EventSource", (1, Field("component", STRING)), (2, Field("host", STRING)))

CORE_EVENT = _msg(
    "Event",
    _METADATA,
    (2, Field("involvedObject", OBJECT_REFERENCE, presence=ALWAYS)),
    (3, Field("reason", STRING)),
    (4, Field("message", STRING)),
    (5, Field("source", EVENT_SOURCE, presence=ALWAYS)),
    (6, Field("firstTimestamp", TIME)),
    (7, Field("lastTimestamp", TIME)),
    (8, Field("count", INT32)),
    (9, Field("type", STRING)),
    (10, Field("eventTime", MICROTIME)),
    (
        11,
        Field(
            "series",
            _msg("EventSeries", (1, Field("count", INT32)), (2, Field("lastObservedTime", MICROTIME))),
            presence=POINTER,
        ),
    ),
    (12, Field("action", STRING)),
    (13, Field("related", OBJECT_REFERENCE, presence=POINTER)),
    (14, Field("reportingComponent", STRING, presence=ALWAYS)),
    (15, Field("reportingInstance", STRING, presence=ALWAYS)),
)

# k8s.io/api/events/v1

EVENTS_EVENT = _msg(
    "Event",
    _METADATA,
    (2, Field("eventTime", MICROTIME, presence=ALWAYS)),
    (
        3,
        Field(
            "series",
            _msg(
                "EventSeries",
                (1, Field("count", INT32, presence=ALWAYS)),
                (2, Field("lastObservedTime", MICROTIME, presence=ALWAYS)),
            ),
            presence=POINTER,
        ),
    ),
    (4, Field("reportingController", STRING)),
    (5, Field("reportingInstance", STRING)),
    (6, Field("action", STRING)),
    (7, Field("reason", STRING)),
    (8, Field("regarding", OBJECT_REFERENCE, presence=ALWAYS)),
    (9, Field("related", OBJECT_REFERENCE, presence=POINTER)),
    (10, Field("note", STRING)),
    (11, Field("type", STRING)),
    (12, Field("deprecatedSource", EVENT_SOURCE, presence=ALWAYS)),
    (13, Field("deprecatedFirstTimestamp", TIME)),
    (14, Field("deprecatedLastTimestamp", TIME)),
    (15, Field("deprecatedCount", INT32)),
)

# k8s.io/api/coordination/v1

LEASE = _msg(
    "Lease",
    _METADATA,
    (
        2,
        Field(
            "spec",
            _msg(
                "LeaseSpec",
                (1, Field("holderIdentity", STRING, presence=POINTER)),
                (2, Field("leaseDurationSeconds", INT32, presence=POINTER)),
                (3, Field("acquireTime", MICROTIME, presence=POINTER)),
                (4, Field("renewTime", MICROTIME, presence=POINTER)),
                (5, Field("leaseTransitions", INT32, presence=POINTER)),
                (6, Field("strategy", STRING, presence=POINTER)),
                (7, Field("preferredHolder", STRING, presence=POINTER)),
            ),
            presence=ALWAYS,
        ),
    ),
)

# k8s.io/api/rbac/v1

POLICY_RULE = _msg(
    "PolicyRule",
    (1, Field("verbs", STRING, repeated=True)),
    (2, Field("apiGroups", STRING, repeated=True)),
    (3, Field("resources", STRING, repeated=True)),
    (4, Field("resourceNames", STRING, repeated=True)),
    (5, Field("nonResourceURLs", STRING, repeated=True)),
)

SUBJECT = _msg(
    "Subject",
    (1, Field("kind", STRING, presence=ALWAYS)),
    (2, Field("apiGroup", STRING)),
    (3, Field("name", STRING, presence=ALWAYS)),
    (4, Field("namespace", STRING)),
)

ROLE_REF = _msg(
    "RoleRef",
    (1, Field("apiGroup", STRING, presence=ALWAYS)),
    (2, Field("kind", STRING, presence=ALWAYS)),
    (3, Field("name", STRING, presence=ALWAYS)),
)

ROLE = _msg("Role", _METADATA, (2, Field("rules", POLICY_RULE, repeated=True)))

CLUSTER_ROLE = _msg(
    "ClusterRole",
    _METADATA,
    (2, Field("rules", POLICY_RULE, repeated=True)),
    (
        3,
        Field(
            "aggregationRule",
            _msg("AggregationRule", (1, Field("clusterRoleSelectors", LABEL_SELECTOR, repeated=True))),
            presence=POINTER,
        ),
    ),
)

ROLE_BINDING = _msg(
    "RoleBinding",
    _METADATA,
    (2, Field("subjects", SUBJECT, repeated=True)),
    (3, Field("roleRef", ROLE_REF, presence=ALWAYS)),
)

CLUSTER_ROLE_BINDING = Message("ClusterRoleBinding", ROLE_BINDING.fields)

KINDS: dict[tuple[str, str], Message] = {
    ("v1", "Namespace"): NAMESPACE,
    ("v1", "ConfigMap"): CONFIG_MAP,
    ("v1", "Secret"): SECRET,
    ("v1", "ServiceAccount"): SERVICE_ACCOUNT,
    ("v1", "Event"): CORE_EVENT,
    ("events.k8s.io/v1", "Event"): EVENTS_EVENT,
    ("coordination.k8s.io/v1", "Lease"): LEASE,
    ("rbac.authorization.k8s.io/v1", "Role"): ROLE,
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): ROLE_BINDING,
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): CLUSTER_ROLE,
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): CLUSTER_ROLE_BINDING,
}
"""Kinds by (apiVersion, kind); DeleteOptions is accepted under any apiVersion (every group serves it)."""


# --- decoding --------------------------------------------------------------------------------------------

_LEN_TYPES = frozenset({STRING, BYTES, TIME, MICROTIME, FIELDS_V1, MAP_STRING, MAP_BYTES})
_ZERO: dict[str, Any] = {STRING: "", BOOL: False, INT32: 0, INT64: 0, BYTES: ""}
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_GO_ZERO_TIME_SECONDS = -62135596800  # time.Time{}.Unix(): 0001-01-01T00:00:00Z


def _as_bytes(val: WireValue) -> bytes:
    if not isinstance(val, bytes):
        raise ValueError("expected a length-delimited value")
    return val


def _as_int(val: WireValue) -> int:
    if not isinstance(val, int):
        raise ValueError("expected a varint value")
    return val


def _text(raw: bytes) -> str:
    # Go does not validate UTF-8 when unmarshalling; encoding/json then writes U+FFFD for bad bytes.
    return raw.decode("utf-8", errors="replace")


def _timestamp(raw: bytes, micro: bool) -> str | None:
    """A metav1.Time / MicroTime message as Go's JSON; None for the zero time (Go writes null)."""
    if not raw:
        return None
    seconds = 0
    nanos = 0
    for num, wire, val in _fields(raw):
        if num in (1, 2) and wire != VARINT:
            raise ValueError(f"timestamp field {num} has wire type {wire}, expected 0")
        if num == 1:
            seconds = _signed(_as_int(val), 64)
        elif num == 2:
            nanos = _signed(_as_int(val), 32)
    if not micro:
        nanos = 0  # metav1.Time.Unmarshal keeps whole seconds only
    extra, nanos = divmod(nanos, 1_000_000_000)
    seconds += extra
    if seconds == _GO_ZERO_TIME_SECONDS and nanos == 0:
        return None
    try:
        t = _EPOCH + datetime.timedelta(seconds=seconds, microseconds=nanos // 1000)
    except OverflowError as exc:
        raise ValueError(f"timestamp {seconds} is out of range") from exc
    text = f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}"
    return f"{text}.{t.microsecond:06d}Z" if micro else f"{text}Z"


def _fields_v1(raw: bytes) -> Any:
    data = b""
    for num, wire, val in _fields(raw):
        if num == 1:
            if wire != LEN:
                raise ValueError(f"fieldsV1 field 1 has wire type {wire}, expected 2")
            data = _as_bytes(val)
    if not data:
        return None
    try:
        return json.loads(data)
    except ValueError as exc:
        raise ValueError(f"fieldsV1 does not hold JSON: {exc}") from exc


def _map_entry(raw: bytes, value_type: str) -> tuple[str, str]:
    key = b""
    value = b""
    for num, wire, val in _fields(raw):
        if wire != LEN:
            raise ValueError(f"map entry field {num} has wire type {wire}, expected 2")
        if num == 1:
            key = _as_bytes(val)
        elif num == 2:
            value = _as_bytes(val)
    if value_type == MAP_BYTES:
        return _text(key), base64.b64encode(value).decode("ascii")
    return _text(key), _text(value)


def _scalar(kind: str, val: WireValue) -> Any:
    if kind == STRING:
        return _text(_as_bytes(val))
    if kind == BYTES:
        return base64.b64encode(_as_bytes(val)).decode("ascii")
    if kind == BOOL:
        return _as_int(val) != 0
    if kind == INT32:
        return _signed(_as_int(val), 32)
    if kind == INT64:
        return _signed(_as_int(val), 64)
    raise AssertionError(f"unknown scalar type {kind}")


def _decode(buf: bytes, msg: Message) -> dict[str, Any]:
    seen: dict[int, list[WireValue]] = {}
    for num, wire, val in _fields(buf):
        field = msg.fields.get(num)
        if field is None:
            continue  # unknown fields are skipped, as proto2 readers do
        expected = LEN if isinstance(field.type, Message) or field.type in _LEN_TYPES else VARINT
        if wire != expected:
            raise ValueError(f"{msg.name}.{field.name}: wire type {wire}, expected {expected}")
        seen.setdefault(num, []).append(val)
    out: dict[str, Any] = {}
    for num, field in msg.fields.items():
        values = seen.get(num)
        kind = field.type
        if kind in (MAP_STRING, MAP_BYTES):
            assert isinstance(kind, str)
            entries = dict(_map_entry(_as_bytes(v), kind) for v in values or ())
            if entries:
                out[field.name] = entries
        elif field.repeated:
            if isinstance(kind, Message):
                items = [_decode(_as_bytes(v), kind) for v in values or ()]
            else:
                items = [_scalar(kind, v) for v in values or ()]
            if items:
                out[field.name] = items
        elif isinstance(kind, Message):
            # Repeated occurrences of a message field merge, which is what concatenation gives.
            if values is not None or field.presence == ALWAYS:
                out[field.name] = _decode(b"".join(_as_bytes(v) for v in values or ()), kind)
        elif kind in (TIME, MICROTIME):
            stamp = _timestamp(b"".join(_as_bytes(v) for v in values or ()), kind == MICROTIME)
            if stamp is not None:
                out[field.name] = stamp
        elif kind == FIELDS_V1:
            if values is not None:
                out[field.name] = _fields_v1(b"".join(_as_bytes(v) for v in values))
        elif values is not None:
            value = _scalar(kind, values[-1])
            if field.presence != OMITEMPTY or value != _ZERO[kind]:
                out[field.name] = value
        elif field.presence == ALWAYS:
            out[field.name] = _ZERO[kind]
    return out


def _envelope(body: bytes) -> tuple[str, str, bytes]:
    """The runtime.Unknown after the magic: (apiVersion, kind, raw)."""
    api_version = kind = ""
    raw = b""
    for num, wire, val in _fields(body[len(MAGIC) :]):
        if num == 1 and wire == LEN:
            for tnum, twire, tval in _fields(_as_bytes(val)):
                if tnum == 1 and twire == LEN:
                    api_version = _text(_as_bytes(tval))
                elif tnum == 2 and twire == LEN:
                    kind = _text(_as_bytes(tval))
        elif num == 2 and wire == LEN:
            raw = _as_bytes(val)
        elif num == 3 and wire == LEN and val:
            raise ValueError(f"unsupported content encoding {_text(_as_bytes(val))!r}")
        elif num == 4 and wire == LEN and val and _text(_as_bytes(val)) != PROTOBUF_CONTENT_TYPE:
            raise ValueError(f"unsupported content type {_text(_as_bytes(val))!r} in the envelope")
    return api_version, kind, raw


def decode(body: bytes) -> dict[str, Any]:
    """Decode a ``k8s\\x00``-framed protobuf body into the object's JSON form.

    Raises UnsupportedKind for a well-formed envelope naming a kind without a table here, and ValueError
    for anything malformed (bad magic, truncation, wrong wire types, missing kind).
    """
    body = bytes(body)
    if not body.startswith(MAGIC):
        raise ValueError("protobuf body does not start with the k8s\\x00 magic prefix")
    api_version, kind, raw = _envelope(body)
    if not kind:
        raise ValueError("Object 'Kind' is missing in the protobuf envelope")
    if not api_version:
        raise ValueError("Object 'apiVersion' is missing in the protobuf envelope")
    msg = DELETE_OPTIONS if kind == "DeleteOptions" else KINDS.get((api_version, kind))
    if msg is None:
        raise UnsupportedKind(f"no protobuf decoding for {kind} in {api_version}")
    return {"kind": kind, "apiVersion": api_version, **_decode(raw, msg)}

"""Server-side printing: the meta.k8s.io Table that `kubectl get` asks for and renders.

`wants_table` / `table_version` follow kube-apiserver's content negotiation of the Accept header;
`table_for` builds the Table exactly as kube-apiserver does: the CRD table convertor (a Name column,
then additionalPrinterColumns evaluated with JSONPath, or a default Age column), the printers of
built-in kinds (computed cells, always in wide form as the server prints them), and the default
convertor (Name, Created At) for any other built-in kind.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from kumulus.apiserver.errors import bad_request
from kumulus.apiserver.jsonpath import Compiled, compile_path, format_value
from kumulus.apiserver.resources import PrinterColumn, ResourceInfo

# metav1.ObjectMeta{}.SwaggerDoc() and the other descriptions kube-apiserver puts in its columns.
NAME_DESCRIPTION = (
    "Name must be unique within a namespace. Is required when creating resources, although some "
    "resources may allow a client to request the generation of an appropriate name automatically. "
    "Name is primarily intended for creation idempotence and configuration definition. Cannot be "
    "updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)
CREATION_TIMESTAMP_DESCRIPTION = (
    "CreationTimestamp is a timestamp representing the server time when this object was created. It "
    "is not guaranteed to be set in happens-before order across separate operations. Clients may not "
    "set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. "
    "Read-only. Null for lists. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)
_CONFIGMAP_DATA_DESCRIPTION = (
    "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' "
    "or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in "
    "Data must not overlap with the keys in the BinaryData field, this is enforced during validation "
    "process."
)
_SECRET_TYPE_DESCRIPTION = (
    "Used to facilitate programmatic handling of secret data. More info: "
    "https://kubernetes.io/docs/concepts/configuration/secret/#secret-types"
)
_SECRET_DATA_DESCRIPTION = (
    "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or "
    "'.'. The serialized form of the secret data is a base64 encoded string, representing the "
    "arbitrary (possibly non-string) data value here. Described in "
    "https://tools.ietf.org/html/rfc4648#section-4"
)
_SERVICEACCOUNT_SECRETS_DESCRIPTION = (
    "Secrets is a list of the secrets in the same namespace that pods running using this "
    "ServiceAccount are allowed to use. Pods are only limited to this list if this service account has "
    'a "kubernetes.io/enforce-mountable-secrets" annotation set to "true". The '
    '"kubernetes.io/enforce-mountable-secrets" annotation is deprecated since v1.32. Prefer separate '
    "namespaces to isolate access to mounted secrets. This field should not be used to find "
    "auto-generated service account token secrets for use outside of pods. Instead, tokens can be "
    "requested directly using the TokenRequest API, or service account token secrets can be manually "
    "created. More info: https://kubernetes.io/docs/concepts/configuration/secret"
)
_LEASE_HOLDER_DESCRIPTION = (
    "holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader "
    "Election is used, the holder identity must be equal to the elected LeaseCandidate.metadata.name "
    "field."
)
_ROLEBINDING_ROLE_DESCRIPTION = (
    "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace. "
    "If the RoleRef cannot be resolved, the Authorizer must return an error."
)
_CLUSTERROLEBINDING_ROLE_DESCRIPTION = (
    "RoleRef can only reference a ClusterRole in the global namespace. If the RoleRef cannot be "
    "resolved, the Authorizer must return an error."
)
_EVENT_DESCRIPTIONS = {
    "lastTimestamp": "The time at which the most recent occurrence of this event was recorded.",
    "type": "Type of this event (Normal, Warning), new types could be added in the future",
    "reason": (
        "This should be a short, machine understandable string that gives the reason for the "
        "transition into the object's current status."
    ),
    "involvedObject": "The object that this event is about.",
    "fieldPath": (
        "If referring to a piece of an object instead of an entire object, this string should contain "
        "a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. For "
        "example, if the object reference is to a container within a pod, this would take on a value "
        'like: "spec.containers{name}" (where "name" refers to the name of the container that '
        'triggered the event) or if no container name is specified "spec.containers[2]" (container '
        "with index 2 in this pod). This syntax is chosen only to have some well-defined way of "
        "referencing a part of an object."
    ),
    "source": "The component reporting this event. Should be a short machine understandable string.",
    "message": "A human-readable description of the status of this operation.",
    "firstTimestamp": (
        "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)"
    ),
    "count": "The number of times this event has occurred.",
}

TABLE_GROUP = "meta.k8s.io"
TABLE_VERSIONS = ("v1", "v1beta1")


def column(
    name: str, type_: str, description: str, *, format_: str = "", priority: int = 0
) -> dict[str, Any]:
    """A metav1.TableColumnDefinition."""
    return {"name": name, "type": type_, "format": format_, "description": description, "priority": priority}


def _name_column(priority: int = 0) -> dict[str, Any]:
    return column("Name", "string", NAME_DESCRIPTION, format_="name", priority=priority)


def _age_column() -> dict[str, Any]:
    return column("Age", "string", CREATION_TIMESTAMP_DESCRIPTION)


# --- durations and timestamps ---------------------------------------------------------------------------

_NS = 1_000_000_000


def _human_duration_ns(d: int) -> str:
    seconds = int(d / _NS) if d < 0 else d // _NS
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60 * 2:
        return f"{seconds}s"
    minutes = d // (60 * _NS)
    if minutes < 10:
        s = (d // _NS) % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = d // (3600 * _NS)
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if dy == 0 else f"{hours // 24 // 365}y{dy}d"
    return f"{hours // 24 // 365}y"


def human_duration(seconds: float) -> str:
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration: "45s", "5m10s", "3h", "2d4h", "3y"."""
    return _human_duration_ns(round(seconds * _NS))


_RFC3339_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})"
)
_ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)


def parse_time(value: str) -> datetime | None:
    """metav1.Time's parser: RFC 3339 (fractions allowed); "" and "null" are the zero time.
    Returns None when the text is not a valid timestamp."""
    if value in ("", "null"):
        return _ZERO_TIME
    m = _RFC3339_RE.fullmatch(value)
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    fraction, zone = m.group(7) or "", m.group(8)
    try:
        if zone == "Z":
            tz = UTC
        else:
            sign = 1 if zone[0] == "+" else -1
            hh, mm = int(zone[1:3]), int(zone[4:6])
            if hh > 23 or mm > 59:
                return None
            tz = timezone(sign * timedelta(hours=hh, minutes=mm))
        micro = int((fraction + "000000")[:6]) if fraction else 0
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
    except (ValueError, OverflowError):
        return None


def _is_zero(t: datetime) -> bool:
    return t == _ZERO_TIME


def _since(t: datetime, now: datetime) -> str:
    delta = now - t
    ns = (delta.days * 86400 + delta.seconds) * _NS + delta.microseconds * 1000
    return _human_duration_ns(ns)


def _timestamp(value: Any) -> datetime:
    """A timestamp field of a built-in object; absent or unreadable counts as the zero time."""
    if isinstance(value, str):
        parsed = parse_time(value)
        if parsed is not None:
            return parsed
    return _ZERO_TIME


def translate_timestamp_since(value: Any, now: datetime) -> str:
    """printers' translateTimestampSince: the age of a timestamp, "<unknown>" when unset."""
    t = _timestamp(value)
    return "<unknown>" if _is_zero(t) else _since(t, now)


def _rfc3339(value: Any) -> str:
    """Go's t.UTC().Format(time.RFC3339)."""
    try:
        t = _timestamp(value).astimezone(UTC)
    except OverflowError:
        t = _ZERO_TIME
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}Z"


# --- content negotiation --------------------------------------------------------------------------------


@dataclass
class _Clause:
    type: str
    subtype: str
    q: float
    params: dict[str, str]


def _parse_accept(header: str) -> list[_Clause]:
    """goautoneg.ParseAccept, including its (unstable-looking but deterministic) ordering."""
    clauses: list[_Clause] = []
    for raw in header.split(","):
        parts = raw.strip(" ").split(";")
        media = parts[0].split("/")
        type_ = media[0].strip(" ")
        if len(media) == 1 and type_ == "*":
            subtype = "*"
        elif len(media) == 2:
            subtype = media[1].strip(" ")
        else:
            continue
        clause = _Clause(type_, subtype, 1.0, {})
        for param in parts[1:]:
            kv = param.split("=", 1)
            if len(kv) != 2:
                continue
            token = kv[0].strip(" ")
            if token == "q":
                try:
                    clause.q = float(kv[1])
                except ValueError:
                    clause.q = 0.0
            else:
                clause.params[token] = kv[1].strip(" ")
        clauses.append(clause)

    def less(a: _Clause, b: _Clause) -> bool:
        return a.q > b.q or (a.type != "*" and b.type == "*") or (a.subtype != "*" and b.subtype == "*")

    # sort.Sort on so few elements is an insertion sort; reproduce it.
    for i in range(1, len(clauses)):
        j = i
        while j > 0 and less(clauses[j], clauses[j - 1]):
            clauses[j], clauses[j - 1] = clauses[j - 1], clauses[j]
            j -= 1
    return clauses


def table_version(
    accept: str, serves: tuple[str, ...] = ("application/json", "application/yaml")
) -> str | None:
    """The meta.k8s.io version ("v1" or "v1beta1") of the Table the Accept header asks for, or None
    when the first acceptable media type is not a Table (plain JSON, PartialObjectMetadata, ...)."""
    if not accept:
        return None
    for clause in _parse_accept(accept):
        for media_type in serves:
            mtype, msub = media_type.split("/", 1)
            if not (
                (clause.type == mtype and clause.subtype in (msub, "*"))
                or (clause.type == "*" and clause.subtype == "*")
            ):
                continue
            converting = any(k in clause.params for k in ("as", "g", "v"))
            if not converting:
                return None
            kind = clause.params.get("as", "")
            group = clause.params.get("g", "")
            version = clause.params.get("v", "")
            if group != TABLE_GROUP or version not in TABLE_VERSIONS:
                continue
            if kind == "Table" and mtype == "application" and msub in ("json", "yaml"):
                return version
            if kind in ("PartialObjectMetadata", "PartialObjectMetadataList"):
                return None
    return None


def wants_table(accept: str) -> bool:
    """True when content negotiation picks a meta.k8s.io/v1 (or v1beta1) Table, as kubectl asks:
    `application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json`."""
    return table_version(accept) is not None


# --- columns --------------------------------------------------------------------------------------------


def default_columns(info: ResourceInfo) -> tuple[PrinterColumn, ...]:
    """The printer columns a custom resource is served with: its additionalPrinterColumns, or the
    Age column kube-apiserver adds when there are none."""
    if info.printer_columns:
        return info.printer_columns
    age = PrinterColumn(
        name="Age",
        type="date",
        json_path=".metadata.creationTimestamp",
        description=CREATION_TIMESTAMP_DESCRIPTION,
    )
    return (age,)


def _printer_column_definition(col: PrinterColumn) -> dict[str, Any]:
    description = (
        col.description or f"Custom resource definition column (in JSONPath format): {col.json_path}"
    )
    return column(col.name, col.type, description, format_=col.format, priority=col.priority)


_RowFn = Callable[[Mapping[str, Any], datetime], list[Any]]


@dataclass(frozen=True)
class _Printer:
    columns: tuple[dict[str, Any], ...]
    row: _RowFn


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    m = obj.get("metadata")
    return m if isinstance(m, Mapping) else {}


def _name(obj: Mapping[str, Any]) -> str:
    name = _meta(obj).get("name")
    return name if isinstance(name, str) else ""


def _get(obj: Any, *path: str) -> Any:
    for part in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(part)
    return obj


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _count(value: Any) -> int:
    return len(value) if isinstance(value, (Mapping, list)) else 0


def _age(obj: Mapping[str, Any], now: datetime) -> str:
    return translate_timestamp_since(_meta(obj).get("creationTimestamp"), now)


def _namespace_row(obj: Mapping[str, Any], now: datetime) -> list[Any]:
    return [_name(obj), _str(_get(obj, "status", "phase")), _age(obj, now)]


def _configmap_row(obj: Mapping[str, Any], now: datetime) -> list[Any]:
    return [_name(obj), _count(obj.get("data")) + _count(obj.get("binaryData")), _age(obj, now)]


def _secret_row(obj: Mapping[str, Any], now: datetime) -> list[Any]:
    data = obj.get("data") if isinstance(obj.get("data"), Mapping) else {}
    string_data = obj.get("stringData") if isinstance(obj.get("stringData"), Mapping) else {}
    keys = set(data or {}) | set(string_data or {})  # stringData is merged into data on write
    return [_name(obj), _str(obj.get("type")), len(keys), _age(obj, now)]


def _serviceaccount_row(obj: Mapping[str, Any], now: datetime) -> list[Any]:
    return [_name(obj), _count(obj.get("secrets")), _age(obj, now)]


def _lease_row(obj: Mapping[str, Any], now: datetime) -> list[Any]:
    return [_name(obj), _str(_get(obj, "spec", "holderIdentity")), _age(obj, now)]


def _subjects(obj: Mapping[str, Any]) -> list[str]:
    users: list[str] = []
    groups: list[str] = []
    sas: list[str] = []
    subjects = obj.get("subjects")
    for subject in subjects if isinstance(subjects, list) else []:
        if not isinstance(subject, Mapping):
            continue
        kind, name = _str(subject.get("kind")), _str(subject.get("name"))
        if kind == "ServiceAccount":
            sas.append(f"{_str(subject.get('namespace'))}/{name}")
        elif kind == "User":
            users.append(name)
        elif kind == "Group":
            groups.append(name)
    return [", ".join(users), ", ".join(groups), ", ".join(sas)]


def _rolebinding_row(obj: Mapping[str, Any], now: datetime) -> list[Any]:
    role = f"{_str(_get(obj, 'roleRef', 'kind'))}/{_str(_get(obj, 'roleRef', 'name'))}"
    return [_name(obj), role, _age(obj, now), *_subjects(obj)]


def _event_row(obj: Mapping[str, Any], now: datetime) -> list[Any]:
    """printEvent (wide), over the internal event fields."""
    first = translate_timestamp_since(obj.get("firstTimestamp"), now)
    if _is_zero(_timestamp(obj.get("firstTimestamp"))):
        first = translate_timestamp_since(obj.get("eventTime"), now)
    last = translate_timestamp_since(obj.get("lastTimestamp"), now)
    if _is_zero(_timestamp(obj.get("lastTimestamp"))):
        last = first
    count = _int(obj.get("count"))
    series = obj.get("series")
    if isinstance(series, Mapping):
        last = translate_timestamp_since(series.get("lastObservedTime"), now)
        count = _int(series.get("count"))
    elif count == 0:
        count = 1  # singleton events carry no count in the new API
    involved = obj.get("involvedObject") if isinstance(obj.get("involvedObject"), Mapping) else {}
    kind, name = _str(_get(involved, "kind")).lower(), _str(_get(involved, "name"))
    target = f"{kind}/{name}" if name else kind
    component = _str(_get(obj, "source", "component")) or _str(obj.get("reportingComponent"))
    instance = _str(_get(obj, "source", "host")) or _str(obj.get("reportingInstance"))
    source = f"{component}, {instance}" if instance else component
    return [
        last,
        _str(obj.get("type")),
        _str(obj.get("reason")),
        target,
        _str(_get(involved, "fieldPath")),
        source,
        _str(obj.get("message")).strip(),
        first,
        count,
        _name(obj),
    ]


def _events_k8s_io_row(obj: Mapping[str, Any], now: datetime) -> list[Any]:
    """events.k8s.io/v1 Events share the core printer through the internal type."""
    core = {
        "metadata": obj.get("metadata"),
        "involvedObject": obj.get("regarding"),
        "message": obj.get("note"),
        "source": obj.get("deprecatedSource"),
        "firstTimestamp": obj.get("deprecatedFirstTimestamp"),
        "lastTimestamp": obj.get("deprecatedLastTimestamp"),
        "count": obj.get("deprecatedCount"),
        "eventTime": obj.get("eventTime"),
        "series": obj.get("series"),
        "type": obj.get("type"),
        "reason": obj.get("reason"),
        "reportingComponent": obj.get("reportingController"),
        "reportingInstance": obj.get("reportingInstance"),
    }
    return _event_row(core, now)


def _default_row(obj: Mapping[str, Any], now: datetime) -> list[Any]:
    return [_name(obj), _rfc3339(_meta(obj).get("creationTimestamp"))]


_DEFAULT_COLUMNS = (_name_column(), column("Created At", "date", CREATION_TIMESTAMP_DESCRIPTION))

_EVENT_COLUMNS = (
    column("Last Seen", "string", _EVENT_DESCRIPTIONS["lastTimestamp"]),
    column("Type", "string", _EVENT_DESCRIPTIONS["type"]),
    column("Reason", "string", _EVENT_DESCRIPTIONS["reason"]),
    column("Object", "string", _EVENT_DESCRIPTIONS["involvedObject"]),
    column("Subobject", "string", _EVENT_DESCRIPTIONS["fieldPath"], priority=1),
    column("Source", "string", _EVENT_DESCRIPTIONS["source"], priority=1),
    column("Message", "string", _EVENT_DESCRIPTIONS["message"]),
    column("First Seen", "string", _EVENT_DESCRIPTIONS["firstTimestamp"], priority=1),
    column("Count", "string", _EVENT_DESCRIPTIONS["count"], priority=1),
    _name_column(priority=1),
)


def _binding_columns(kind: str, role_description: str) -> tuple[dict[str, Any], ...]:
    return (
        _name_column(),
        column("Role", "string", role_description),
        _age_column(),
        column("Users", "string", f"Users in the {kind}", priority=1),
        column("Groups", "string", f"Groups in the {kind}", priority=1),
        column("ServiceAccounts", "string", f"ServiceAccounts in the {kind}", priority=1),
    )


_BUILTIN_PRINTERS: dict[tuple[str, str], _Printer] = {
    ("", "namespaces"): _Printer(
        (_name_column(), column("Status", "string", "The status of the namespace"), _age_column()),
        _namespace_row,
    ),
    ("", "configmaps"): _Printer(
        (_name_column(), column("Data", "string", _CONFIGMAP_DATA_DESCRIPTION), _age_column()), _configmap_row
    ),
    ("", "secrets"): _Printer(
        (
            _name_column(),
            column("Type", "string", _SECRET_TYPE_DESCRIPTION),
            column("Data", "string", _SECRET_DATA_DESCRIPTION),
            _age_column(),
        ),
        _secret_row,
    ),
    ("", "serviceaccounts"): _Printer(
        (_name_column(), column("Secrets", "string", _SERVICEACCOUNT_SECRETS_DESCRIPTION), _age_column()),
        _serviceaccount_row,
    ),
    ("", "events"): _Printer(_EVENT_COLUMNS, _event_row),
    ("events.k8s.io", "events"): _Printer(_EVENT_COLUMNS, _events_k8s_io_row),
    ("coordination.k8s.io", "leases"): _Printer(
        (_name_column(), column("Holder", "string", _LEASE_HOLDER_DESCRIPTION), _age_column()), _lease_row
    ),
    ("rbac.authorization.k8s.io", "rolebindings"): _Printer(
        _binding_columns("roleBinding", _ROLEBINDING_ROLE_DESCRIPTION), _rolebinding_row
    ),
    ("rbac.authorization.k8s.io", "clusterrolebindings"): _Printer(
        _binding_columns("clusterRoleBinding", _CLUSTERROLEBINDING_ROLE_DESCRIPTION), _rolebinding_row
    ),
    # Served by kube's default table convertor (Name, Created At), listed for clarity.
    ("rbac.authorization.k8s.io", "roles"): _Printer(_DEFAULT_COLUMNS, _default_row),
    ("rbac.authorization.k8s.io", "clusterroles"): _Printer(_DEFAULT_COLUMNS, _default_row),
    ("apiextensions.k8s.io", "customresourcedefinitions"): _Printer(_DEFAULT_COLUMNS, _default_row),
}


def builtin_columns(group: str, plural: str) -> list[dict[str, Any]] | None:
    """The column definitions kube-apiserver prints for a built-in resource, or None if unknown."""
    printer = _BUILTIN_PRINTERS.get((group, plural))
    return [dict(c) for c in printer.columns] if printer is not None else None


def _cell_for_json_value(type_: str, value: Any, now: datetime) -> Any:
    """The CRD table convertor's cellForJSONValue."""
    if value is None:
        return None
    if type_ == "integer":
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            return int(value) if value == value and abs(value) != float("inf") else None
    elif type_ == "number":
        if isinstance(value, bool):
            return None
        if isinstance(value, (int, float)):
            return float(value)
    elif type_ == "boolean":
        if isinstance(value, bool):
            return value
    elif type_ == "string":
        if isinstance(value, str):
            return value
    elif type_ == "date" and isinstance(value, str):
        t = parse_time(value)
        if t is None:
            return "<invalid>"
        return "<unknown>" if _is_zero(t) else _since(t, now)
    return None


def _custom_cell(col: PrinterColumn, path: Compiled, obj: Mapping[str, Any], now: datetime) -> Any:
    results = path.find(obj)
    if not results:
        return None
    value = results[0]  # kube uses the first value a path selects
    if col.type == "string":
        return "<no value>" if value is None else format_value(value)
    return _cell_for_json_value(col.type, value, now)


def _custom_printer(columns: tuple[PrinterColumn, ...]) -> _Printer:
    compiled = [(col, compile_path(col.json_path)) for col in columns]

    def row(obj: Mapping[str, Any], now: datetime) -> list[Any]:
        return [_name(obj), *(_custom_cell(col, path, obj, now) for col, path in compiled)]

    definitions = (_name_column(), *(_printer_column_definition(col) for col in columns))
    return _Printer(definitions, row)


def _printer_for(info: ResourceInfo) -> _Printer:
    if info.builtin:
        printer = _BUILTIN_PRINTERS.get((info.group, info.plural))
        if printer is not None:
            return printer
        if info.printer_columns:
            return _custom_printer(info.printer_columns)
        return _Printer(_DEFAULT_COLUMNS, _default_row)
    return _custom_printer(default_columns(info))


def column_definitions(info: ResourceInfo) -> list[dict[str, Any]]:
    """Every column definition of the resource's Table, Name first."""
    return [dict(c) for c in _printer_for(info).columns]


_INCLUDE_OBJECT = ("None", "Metadata", "Object", "")


def table_for(
    info: ResourceInfo,
    objects: list[dict[str, Any]],
    *,
    include_object: str = "Metadata",
    resource_version: str = "",
    continue_token: str = "",
    remaining: int | None = None,
    now: datetime | None = None,
    version: str = "v1",
) -> dict[str, Any]:
    """The meta.k8s.io Table of `objects` (one object for a GET, the items for a LIST).

    include_object: "None" leaves each row's object null, "Metadata" (the default, also for "")
    gives a PartialObjectMetadata, "Object" the full object. Raises a 400 ApiError for other values.
    """
    if include_object not in _INCLUDE_OBJECT:
        raise bad_request(f'unrecognized includeObject value: "{include_object}"')
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    api_version = f"{TABLE_GROUP}/{version}"
    printer = _printer_for(info)
    rows: list[dict[str, Any]] = []
    for obj in objects:
        row: dict[str, Any] = {"cells": printer.row(obj, now)}
        if include_object == "Object":
            if "apiVersion" in obj and "kind" in obj:
                row["object"] = obj
            else:
                rest = {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}
                row["object"] = {"kind": info.kind, "apiVersion": info.api_version, **rest}
        elif include_object == "None":
            row["object"] = None
        else:
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": api_version,
                "metadata": obj.get("metadata", {}),
            }
        rows.append(row)
    metadata: dict[str, Any] = {}
    if resource_version:
        metadata["resourceVersion"] = resource_version
    if continue_token:
        metadata["continue"] = continue_token
    if remaining is not None:
        metadata["remainingItemCount"] = remaining
    return {
        "kind": "Table",
        "apiVersion": api_version,
        "metadata": metadata,
        "columnDefinitions": [dict(c) for c in printer.columns],
        "rows": rows,
    }

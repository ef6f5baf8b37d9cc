"""Structural-schema enforcement for custom resources, done the way kube-apiserver does it.

A CustomResourceDefinition's `openAPIV3Schema` governs every custom object written through the API:

* `prune` drops fields the schema does not declare (apiextensions-apiserver's pruning algorithm) and
  non-nullable nulls that have no default;
* `apply_defaults` fills in `default` values (its structural defaulting algorithm);
* `validate` runs kube-openapi's value validation (with update ratcheting), the embedded-resource and
  `x-kubernetes-list-type` invariants, and the `x-kubernetes-validations` CEL rules (cel-python), and reports
  each failure as kube-apiserver's field error: same reason, same field path, same message text;
* `check_schema` runs when a CRD is written: it reports non-structural schemas, forbidden keywords,
  invalid patterns and defaults, and CEL rules that do not compile.

Everything is a pure function over JSON-like values; nothing does I/O. Compiled regular expressions and CEL
programs are cached at module level because the same schemas run on every request.
"""

from __future__ import annotations

import base64
import binascii
import copy
import datetime as dt
import functools
import ipaddress
import json
import math
import re
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any, Final, NamedTuple, TypeGuard

import celpy
import lark
from celpy import celtypes
from celpy.adapter import json_to_cel
from celpy.evaluation import CELEvalError

from kumulus.apiserver.errors import FieldError

__all__ = ["apply_defaults", "check_schema", "json_type_name", "prune", "validate"]

Schema = dict[str, Any]

REQUIRED: Final = "FieldValueRequired"
INVALID: Final = "FieldValueInvalid"
TYPE_INVALID: Final = "FieldValueTypeInvalid"
NOT_SUPPORTED: Final = "FieldValueNotSupported"
DUPLICATE: Final = "FieldValueDuplicate"
FORBIDDEN: Final = "FieldValueForbidden"
TOO_LONG: Final = "FieldValueTooLong"
TOO_MANY: Final = "FieldValueTooMany"

# Field errors that stop kube-apiserver from running the CEL rules at all.
_BLOCKING: Final = frozenset({NOT_SUPPORTED, REQUIRED, TOO_LONG, TOO_MANY, TYPE_INVALID})
_CEL_NOT_CHECKED: Final = (
    'Invalid value: "null": some validation rules were not checked because the object was invalid; '
    "correct the existing errors to complete validation"
)

_META_FIELDS: Final = frozenset({"apiVersion", "kind", "metadata"})
_NIL: Final = "<nil>"  # how Go renders the root field path


class _Missing:
    """Marker for "there is no correlated old value"."""


_MISSING: Final = _Missing()


# --------------------------------------------------------------------------------------------------------------
# Small helpers: JSON types, field paths, Go-style value rendering
# --------------------------------------------------------------------------------------------------------------


def json_type_name(value: Any) -> str:
    """The JSON type of a decoded value, as kube-openapi names it in type errors.

    "string", "integer", "number", "boolean", "object", "array" or "null". A bool is "boolean", never
    "integer"; a Python float is always "number" (kube decodes `1.0` as a float64 too).
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _json_equal(a: Any, b: Any) -> bool:
    """Deep equality of JSON values where `true != 1` (unlike Python's ==) but `1 == 1.0`."""
    if a != b:  # fast path in C; strict equality implies Python equality
        return False
    return _strict_equal(a, b)


def _strict_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict):
        return (
            isinstance(b, dict)
            and len(a) == len(b)
            and all(k in b and _strict_equal(v, b[k]) for k, v in a.items())
        )
    if isinstance(a, list):
        return (
            isinstance(b, list)
            and len(a) == len(b)
            and all(_strict_equal(x, y) for x, y in zip(a, b, strict=True))
        )
    if _is_number(a):
        return _is_number(b) and a == b
    return type(a) is type(b) and a == b


def _child(path: str, name: str) -> str:
    """field.Path.Child: "spec" + "replicas" -> "spec.replicas"."""
    return f"{path}.{name}" if path else name


def _index(path: str, i: int) -> str:
    """field.Path.Index: "spec.ports" + 0 -> "spec.ports[0]"."""
    return f"{path}[{i}]"


def _key(path: str, key: str) -> str:
    """field.Path.Key: "spec.labels" + "app" -> "spec.labels[app]"."""
    return f"{path}[{key}]"


def _fp(path: str) -> str:
    """Render a field path; the root is Go's nil *field.Path, which prints as "<nil>"."""
    return path or _NIL


_GO_ESCAPES: Final = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    '"': '\\"',
    "\\": "\\\\",
}


def _go_quote(s: str) -> str:
    """strconv.Quote: a double-quoted Go string literal."""
    out = ['"']
    for ch in s:
        esc = _GO_ESCAPES.get(ch)
        if esc is not None:
            out.append(esc)
        elif ch == " " or ch.isprintable():
            out.append(ch)
        else:
            code = ord(ch)
            if code < 0x80:
                out.append(f"\\x{code:02x}")
            elif code < 0x10000:
                out.append(f"\\u{code:04x}")
            else:
                out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def _go_float(f: float) -> str:
    """fmt's %v for a float64: shortest representation, exponent form below 1e-4 and from 1e6 up."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    if f == 0:
        return "-0" if math.copysign(1.0, f) < 0 else "0"
    sign = "-" if f < 0 else ""
    _, digit_tuple, exponent = Decimal(repr(abs(f))).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0") or "0"
    assert isinstance(exponent, int)
    # Decimal value = int(all digits) * 10**exponent; dp = position of the decimal point within `digits`.
    dp = len(digit_tuple) + exponent
    exp = dp - 1
    if exp < -4 or exp >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{'+' if exp >= 0 else '-'}{abs(exp):02d}"
    if dp <= 0:
        return f"{sign}0.{'0' * -dp}{digits}"
    if dp >= len(digits):
        return f"{sign}{digits}{'0' * (dp - len(digits))}"
    return f"{sign}{digits[:dp]}.{digits[dp:]}"


def _go_num(n: Any) -> str:
    """A JSON number as Go prints the int64 / float64 it decodes to."""
    if isinstance(n, int) and not isinstance(n, bool):
        return str(n)
    return _go_float(float(n))


def _go_limit(n: Any) -> str:
    """A schema limit (minimum, maximum, multipleOf), which kube-openapi holds as a float64."""
    try:
        return _go_float(float(n))
    except (TypeError, ValueError, OverflowError):
        return str(n)


def _go_syntax(value: Any) -> str:
    """fmt's %#v of a decoded JSON value (what field errors print for maps and slices)."""
    if value is None:
        return "interface {}(nil)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, str):
        return _go_quote(value)
    if isinstance(value, dict):
        inner = ", ".join(f"{_go_quote(str(k))}:{_go_syntax(value[k])}" for k in sorted(value))
        return "map[string]interface {}{" + inner + "}"
    if isinstance(value, list | tuple):
        return "[]interface {}{" + ", ".join(_go_syntax(v) for v in value) + "}"
    return repr(value)


def _go_value(value: Any) -> str:
    """How a field error prints its bad value (field.Error.ErrorBody)."""
    if value is None:
        return '"null"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _go_num(value)
    if isinstance(value, str):
        return _go_quote(value)
    return _go_syntax(value)


def _invalid(path: str, value: Any, detail: str) -> FieldError:
    return FieldError(INVALID, _fp(path), f"Invalid value: {_go_value(value)}: {detail}")


# --------------------------------------------------------------------------------------------------------------
# Schema accessors
# --------------------------------------------------------------------------------------------------------------


def _props(s: Schema) -> dict[str, Schema]:
    p = s.get("properties")
    if not isinstance(p, dict):
        return {}
    if all(isinstance(v, dict) for v in p.values()):
        return p
    return {k: v for k, v in p.items() if isinstance(v, dict)}  # tolerate a malformed schema


def _addl(s: Schema) -> Schema | None:
    a = s.get("additionalProperties")
    return a if isinstance(a, dict) else None


def _items(s: Schema) -> Schema | None:
    i = s.get("items")
    return i if isinstance(i, dict) else None


def _flag(s: Schema | None, name: str) -> bool:
    return isinstance(s, dict) and s.get(name) is True


# --------------------------------------------------------------------------------------------------------------
# Pruning
# --------------------------------------------------------------------------------------------------------------


def prune(obj: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """Remove, in place, every field the schema does not declare; return the removed paths.

    As apiextensions-apiserver does: `x-kubernetes-preserve-unknown-fields: true` keeps unknown fields at that
    level (declared ones are still pruned inside), `additionalProperties` (a schema, or `true`) keeps every key
    of a map, `x-kubernetes-embedded-resource` keeps `apiVersion`/`kind`/`metadata` of the embedded object and
    the root's `apiVersion`, `kind` and `metadata` are always kept. Null values of non-nullable fields without
    a default are dropped too (they are not reported: they are not unknown fields).

    Paths are Kubernetes style without a leading dot: "spec.foo", "spec.items[0].bar".
    """
    removed: list[str] = []
    _prune(obj, schema, "", removed, root=True)
    _prune_nulls(obj, schema, root=True)
    return removed


def _prune(x: Any, s: Schema | None, path: str, removed: list[str], root: bool = False) -> None:
    if _flag(s, "x-kubernetes-preserve-unknown-fields"):
        assert s is not None
        _skip_prune(x, s, path, removed, root)
        return
    if isinstance(x, dict):
        if s is None:
            removed.extend(_child(path, k) for k in x)
            x.clear()
            return
        embedded = root or _flag(s, "x-kubernetes-embedded-resource")
        props = _props(s)
        addl = s.get("additionalProperties")
        for k in list(x):
            if embedded and k in _META_FIELDS:
                continue
            if k in props:
                _prune(x[k], props[k], _child(path, k), removed)
            elif isinstance(addl, dict):
                _prune(x[k], addl, _child(path, k), removed)
            elif addl is True:
                continue
            else:
                removed.append(_child(path, k))
                del x[k]
    elif isinstance(x, list):
        items = None if s is None else _items(s)
        for i, v in enumerate(x):
            _prune(v, items, _index(path, i), removed)


def _skip_prune(x: Any, s: Schema | None, path: str, removed: list[str], root: bool = False) -> None:
    if s is None:
        return
    if isinstance(x, dict):
        embedded = root or _flag(s, "x-kubernetes-embedded-resource")
        props = _props(s)
        addl = _addl(s)
        for k, v in x.items():
            if embedded and k in _META_FIELDS:
                continue
            if k in props:
                _prune(v, props[k], _child(path, k), removed)
            elif addl is not None:
                _prune(v, addl, _child(path, k), removed)
    elif isinstance(x, list):
        items = _items(s)
        for i, v in enumerate(x):
            _skip_prune(v, items, _index(path, i), removed)


def _field_schema(s: Schema | None, k: str) -> Schema | None:
    if s is None:
        return None
    props = _props(s)
    if k in props:
        return props[k]
    return _addl(s)


def _prune_nulls(x: Any, s: Schema | None, root: bool = False) -> None:
    """defaulting.PruneNonNullableNullsWithoutDefaults."""
    if isinstance(x, dict):
        for k in list(x):
            if root and k in _META_FIELDS:
                continue
            sub = _field_schema(s, k)
            v = x[k]
            if v is None and sub is not None and not _flag(sub, "nullable") and sub.get("default") is None:
                del x[k]
            else:
                _prune_nulls(v, sub)
    elif isinstance(x, list):
        items = None if s is None else _items(s)
        for v in x:
            _prune_nulls(v, items)


# --------------------------------------------------------------------------------------------------------------
# Defaulting
# --------------------------------------------------------------------------------------------------------------


def apply_defaults(obj: dict[str, Any], schema: dict[str, Any]) -> None:
    """Set the `default` of every property missing from an object that is present, in place.

    kube-apiserver's structural defaulting: recurses into properties, array items and additionalProperties
    maps; defaults are deep-copied and then defaulted themselves; a non-nullable property holding null gets
    its default too. A default below an absent object is not applied.
    """
    _default(obj, schema)


def _needs_default(v: Any, s: Schema | None) -> bool:
    return v is None and s is not None and s.get("default") is not None and not _flag(s, "nullable")


def _default(x: Any, s: Schema | None) -> None:
    if s is None:
        return
    if isinstance(x, dict):
        props = _props(s)
        for k, prop in props.items():
            default = prop.get("default")
            if default is None:
                continue
            if k not in x or _needs_default(x[k], prop):
                x[k] = copy.deepcopy(default)
        addl = _addl(s)
        for k in list(x):
            if k in props:
                _default(x[k], props[k])
            elif addl is not None:
                if _needs_default(x[k], addl):
                    x[k] = copy.deepcopy(addl["default"])
                _default(x[k], addl)
    elif isinstance(x, list):
        items = _items(s)
        if items is None:
            return
        for i in range(len(x)):
            if _needs_default(x[i], items):
                x[i] = copy.deepcopy(items["default"])
            _default(x[i], items)


# --------------------------------------------------------------------------------------------------------------
# Formats (kube-openapi strfmt, restricted to the formats apiextensions-apiserver supports)
# --------------------------------------------------------------------------------------------------------------

_DATE_RE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_DATETIME_TIME_RE: Final = re.compile(
    r"^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$", re.ASCII
)
_IPV4_RE: Final = re.compile(r"([0-9]+)\.([0-9]+)\.([0-9]+)\.([0-9]+)", re.ASCII)
_C: Final = r"[^\W_]"  # letter or digit ([a-zA-Z0-9\p{L}] in Go)
_HOSTNAME_RE: Final = re.compile(
    rf"^({_C}((-?{_C}{{0,62}})?)|({_C}((({_C}|-){{0,61}}{_C})?)(\.)){{1,}}([^\W\d_]){{2,63}})$"
)
_UUID_RES: Final = {
    "uuid": re.compile(
        r"^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$", re.I | re.ASCII
    ),
    "uuid3": re.compile(
        r"^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$", re.I | re.ASCII
    ),
    "uuid4": re.compile(
        r"^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$", re.I | re.ASCII
    ),
    "uuid5": re.compile(
        r"^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$", re.I | re.ASCII
    ),
}
_ATEXT: Final = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-\u0080-\U0010ffff]+"
_ADDR: Final = (
    rf'(?:{_ATEXT}(?:\.{_ATEXT})*|"(?:[^"\\\r\n]|\\.)*")@(?:{_ATEXT}(?:\.{_ATEXT})*|\[[^\[\]\\\r\n]*\])'
)
_EMAIL_RE: Final = re.compile(rf"^\s*(?:{_ADDR}|[^<>@]*<{_ADDR}>)\s*$")
_SCHEME_RE: Final = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):", re.ASCII)
_HOST_RE: Final = re.compile(r"^[A-Za-z0-9\-._~!$&'()*+,;=%\[\]:\u0080-\U0010ffff]*$")
_BAD_ESCAPE_RE: Final = re.compile(r"%(?![0-9A-Fa-f]{2})")
_HEXCOLOR_RE: Final = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_RGB: Final = r"\s*(0|[1-9][0-9]?|1[0-9][0-9]?|2[0-4][0-9]|25[0-5])\s*"
_RGBCOLOR_RE: Final = re.compile(rf"^rgb\({_RGB},{_RGB},{_RGB}\)$", re.ASCII)
_SSN_RE: Final = re.compile(r"^[0-9]{3}[- ]?[0-9]{2}[- ]?[0-9]{4}$")
_BSON_RE: Final = re.compile(r"^[0-9a-fA-F]{24}$")
_SPACES_AND_MINUS_RE: Final = re.compile(r"[\s-]+")
_CREDITCARD_RE: Final = re.compile(
    r"^(?:4[0-9]{12}(?:[0-9]{3})?|5[1-5][0-9]{14}|(222[1-9]|22[3-9][0-9]|2[3-6][0-9]{2}|27[01][0-9]|2720)"
    r"[0-9]{12}|6(?:011|5[0-9][0-9])[0-9]{12}|3[47][0-9]{13}|3(?:0[0-5]|[68][0-9])[0-9]{11}|"
    r"(?:2131|1800|35[0-9]{3})[0-9]{11}|6[27][0-9]{14})$"
)
_GO_DURATION_RE: Final = re.compile(
    r"^[-+]?(?:0|(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:ns|us|µs|μs|ms|s|m|h))+)$", re.ASCII
)
_GO_DURATION_PART_RE: Final = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")
_DURATION_MATCHER: Final = re.compile(r"(([0-9]+)\s*([A-Za-zµ]+))")
_DURATION_UNITS: Final = (
    (("ns", "nano"), 1e-9),
    (("us", "µs", "micro"), 1e-6),
    (("ms", "milli"), 1e-3),
    (("s", "sec"), 1.0),
    (("m", "min"), 60.0),
    (("h", "hr", "hour"), 3600.0),
    (("d", "day"), 86400.0),
    (("w", "wk", "week"), 604800.0),
)
_GO_UNIT_SECONDS: Final = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}


def _is_date(s: str) -> bool:
    if not _DATE_RE.fullmatch(s):
        return False
    try:
        dt.date(int(s[:4]), int(s[5:7]), int(s[8:10]))
    except ValueError:
        return False
    return True


def _is_datetime(s: str) -> bool:
    """strfmt.IsDateTime (RFC 3339 date-time, case-insensitive T and Z)."""
    if len(s) < 4:
        return False
    parts = s.lower().split("t")
    if len(parts) < 2 or not _is_date(parts[0]):
        return False
    m = _DATETIME_TIME_RE.search(parts[1])
    if m is None:
        return False
    return m.group(1) <= "23" and m.group(2) <= "59" and m.group(3) <= "59"


def _parse_ip(s: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """netutils.ParseIPSloppy: like net.ParseIP, but IPv4 octets may have leading zeros."""
    if ":" in s:
        if "%" in s:
            return None
        try:
            return ipaddress.IPv6Address(s)
        except ValueError:
            return None
    m = _IPV4_RE.fullmatch(s)
    if m is None:
        return None
    octets = [int(g) for g in m.groups()]
    if any(o > 255 for o in octets):
        return None
    return ipaddress.IPv4Address(".".join(map(str, octets)))


def _is_ipv4(s: str) -> bool:
    return _parse_ip(s) is not None and "." in s


def _is_ipv6(s: str) -> bool:
    return _parse_ip(s) is not None and ":" in s


def _is_cidr(s: str) -> bool:
    addr, sep, prefix = s.partition("/")
    if not sep or not prefix.isascii() or not prefix.isdigit():
        return False
    ip = _parse_ip(addr)
    return ip is not None and int(prefix) <= ip.max_prefixlen


def _is_mac(s: str) -> bool:
    """net.ParseMAC: EUI-48/EUI-64/20-octet IPoIB with ':' or '-' separators, or dotted 4-hex groups."""
    if "." in s:
        groups = s.split(".")
        return len(groups) in (3, 4, 10) and all(re.fullmatch(r"[0-9A-Fa-f]{4}", g) for g in groups)
    for sep in ":-":
        if sep in s:
            groups = s.split(sep)
            return len(groups) in (6, 8, 20) and all(re.fullmatch(r"[0-9A-Fa-f]{2}", g) for g in groups)
    return False


def _is_hostname(s: str) -> bool:
    return bool(_HOSTNAME_RE.match(s)) and len(s) <= 255 and all(len(p) <= 63 for p in s.split("."))


def _is_email(s: str) -> bool:
    return bool(_EMAIL_RE.match(s))


def _is_uri(s: str) -> bool:
    """url.ParseRequestURI: an absolute URI or an absolute path."""
    if not s or any(ord(c) < 0x20 or ord(c) == 0x7F for c in s):
        return False
    if s == "*":
        return True
    m = _SCHEME_RE.match(s)
    rest = s[m.end() :] if m else s
    if not rest.startswith("/"):
        return m is not None  # "mailto:x" is an opaque URI; a relative reference is not a request URI
    rest = rest.split("?", 1)[0]
    if m is not None and rest.startswith("//"):
        authority, _, rest = rest[2:].partition("/")
        host = authority.rpartition("@")[2]
        if not _HOST_RE.match(host) or _BAD_ESCAPE_RE.search(host):
            return False
        if host.startswith("["):
            end = host.find("]")
            if end < 0:
                return False
            port = host[end + 1 :]
            if port and (port[0] != ":" or not (port[1:] == "" or port[1:].isdigit())):
                return False
        elif ":" in host:
            port = host.rpartition(":")[2]
            if port and not port.isdigit():
                return False
    return not _BAD_ESCAPE_RE.search(rest)


def _is_byte(s: str) -> bool:
    try:
        base64.b64decode(s.replace("\r", "").replace("\n", ""), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _parse_duration(s: str) -> float | None:
    """strfmt.ParseDuration, in seconds: Go's time.ParseDuration, else "<n> <unit>" pairs (d, w, ...)."""
    if _GO_DURATION_RE.match(s):
        body = s.lstrip("+-")
        total = 0.0
        for number, unit in _GO_DURATION_PART_RE.findall(body):
            total += float(number or "0") * _GO_UNIT_SECONDS[unit]
        return -total if s.startswith("-") else total
    total, ok = 0.0, False
    for m in _DURATION_MATCHER.finditer(s):
        unit = m.group(3).lower().strip()
        for variants, seconds in _DURATION_UNITS:
            last = len(variants) - 1
            for i, variant in enumerate(variants):
                if (i == last and unit.startswith(variant)) or variant.lower() == unit:
                    ok = True
                    total += int(m.group(2)) * seconds
    return total if ok else None


def _is_duration(s: str) -> bool:
    return _parse_duration(s) is not None


def _is_isbn10(s: str) -> bool:
    s = _SPACES_AND_MINUS_RE.sub("", s)
    if not re.fullmatch(r"[0-9]{9}X|[0-9]{10}", s):
        return False
    checksum = sum((i + 1) * int(s[i]) for i in range(9)) + 10 * (10 if s[9] == "X" else int(s[9]))
    return checksum % 11 == 0


def _is_isbn13(s: str) -> bool:
    s = _SPACES_AND_MINUS_RE.sub("", s)
    if not re.fullmatch(r"[0-9]{13}", s):
        return False
    checksum = sum((1, 3)[i % 2] * int(s[i]) for i in range(12))
    return int(s[12]) - (10 - checksum % 10) % 10 == 0


def _is_creditcard(s: str) -> bool:
    s = _SPACES_AND_MINUS_RE.sub("", s)
    if not _CREDITCARD_RE.match(s):
        return False
    total = 0
    for i, ch in enumerate(reversed(s)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


_FORMATS: Final[dict[str, Callable[[str], bool]]] = {
    "bsonobjectid": lambda s: bool(_BSON_RE.match(s)),
    "uri": _is_uri,
    "email": _is_email,
    "hostname": _is_hostname,
    "ipv4": _is_ipv4,
    "ipv6": _is_ipv6,
    "cidr": _is_cidr,
    "mac": _is_mac,
    "uuid": lambda s: bool(_UUID_RES["uuid"].match(s)),
    "uuid3": lambda s: bool(_UUID_RES["uuid3"].match(s)),
    "uuid4": lambda s: bool(_UUID_RES["uuid4"].match(s)),
    "uuid5": lambda s: bool(_UUID_RES["uuid5"].match(s)),
    "isbn": lambda s: _is_isbn10(s) or _is_isbn13(s),
    "isbn10": _is_isbn10,
    "isbn13": _is_isbn13,
    "creditcard": _is_creditcard,
    "ssn": lambda s: bool(_SSN_RE.match(s)),
    "hexcolor": lambda s: bool(_HEXCOLOR_RE.match(s)),
    "rgbcolor": lambda s: bool(_RGBCOLOR_RE.match(s)),
    "byte": _is_byte,
    "password": lambda s: True,
    "date": _is_date,
    "duration": _is_duration,
    "datetime": _is_datetime,
}


def _format_checker(fmt: Any) -> Callable[[str], bool] | None:
    """The checker for a schema `format`; formats kube does not support are ignored (it strips them)."""
    if not isinstance(fmt, str):
        return None
    return _FORMATS.get(fmt.replace("-", ""))


@functools.lru_cache(maxsize=1024)
def _regex(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except (re.error, RecursionError, OverflowError):
        return None


# --------------------------------------------------------------------------------------------------------------
# kube-openapi value validation
# --------------------------------------------------------------------------------------------------------------


def _correlator(s: Schema, old: Any) -> Callable[[Any], Any] | None:
    """Correlate items of an `x-kubernetes-list-type: map` list with the old list's items, by map keys."""
    if s.get("x-kubernetes-list-type") != "map" or not isinstance(old, list):
        return None
    keys = s.get("x-kubernetes-list-map-keys")
    if not isinstance(keys, list) or not keys:
        return None
    by_key: dict[str, Any] = {}
    for item in old:
        k = _map_list_key(item, keys)
        if k is not None:
            by_key.setdefault(k, item)

    def lookup(item: Any) -> Any:
        k = _map_list_key(item, keys)
        return _MISSING if k is None else by_key.get(k, _MISSING)

    return lookup


def _map_list_key(item: Any, keys: list[Any]) -> str | None:
    if not isinstance(item, dict) or any(k not in item for k in keys):
        return None
    return json.dumps([item[k] for k in keys], sort_keys=True)


def _old_field(old: Any, s: Schema, key: str) -> Any:
    """The correlated old value of a map entry / object field, or _MISSING."""
    if not isinstance(old, dict) or s.get("x-kubernetes-map-type") == "atomic" or key not in old:
        return _MISSING
    return old[key]


class _OpenAPI:
    """kube-openapi's SchemaValidator over the structural schema, with CRD validation ratcheting.

    Error paths use kube-openapi's naming ("spec.labels.key" for map entries); messages carry the path
    again ("spec.replicas in body must be of type integer: ...").
    """

    def __init__(self, out: list[FieldError]) -> None:
        self.out = out

    def node(self, value: Any, s: Schema, path: str, old: Any = _MISSING, root: bool = False) -> None:
        # Ratcheting: an unchanged value (correlated with the old object) keeps its errors to itself.
        if old is not _MISSING and _json_equal(value, old):
            return
        self.type(value, s, path)
        if value is None:
            self.enum(value, s, path)
            return
        self.composites(value, s, path)
        if isinstance(value, str):
            self.string(value, s, path)
            check = _format_checker(s.get("format"))
            if check is not None and not check(value):
                q = _go_quote(value)
                self.out.append(
                    FieldError(
                        TYPE_INVALID,
                        _fp(path),
                        f"Invalid value: {q}: {path} in body must be of type {s.get('format')}: {q}",
                    )
                )
        elif _is_number(value):
            self.number(value, s, path)
        elif isinstance(value, list):
            self.array(value, s, path, old)
        self.enum(value, s, path)
        if isinstance(value, dict):
            self.object(value, s, path, old, root)

    def type(self, value: Any, s: Schema, path: str) -> None:
        if _flag(s, "x-kubernetes-int-or-string"):
            types = ["integer", "string"]
        else:
            t = s.get("type")
            if not isinstance(t, str) or not t:
                return
            types = [t]
        if value is None:
            if _flag(s, "nullable"):
                return
            actual = "null"
        else:
            actual = json_type_name(value)
            if actual in types:
                return
            if actual == "integer" and "number" in types:
                return
            if actual == "number" and "integer" in types and float(value).is_integer():
                return
        q = _go_quote(actual)
        self.out.append(
            FieldError(
                TYPE_INVALID,
                _fp(path),
                f"Invalid value: {q}: {path} in body must be of type {','.join(types)}: {q}",
            )
        )

    def _sub(self, value: Any, sub: Any, path: str) -> list[FieldError]:
        errs: list[FieldError] = []
        if isinstance(sub, dict):
            _OpenAPI(errs).node(value, sub, path)
        return errs

    def composites(self, value: Any, s: Schema, path: str) -> None:
        qpath = _go_quote(path)
        any_of = s.get("anyOf")
        if isinstance(any_of, list) and any_of:
            best: list[FieldError] | None = None
            for sub in any_of:
                errs = self._sub(value, sub, path)
                if not errs:
                    best = None
                    break
                if best is None or len(errs) < len(best):
                    best = errs
            else:
                self.out.append(
                    FieldError(
                        INVALID, _NIL, f'Invalid value: "": {qpath} must validate at least one schema (anyOf)'
                    )
                )
            if best:
                self.out.extend(best)
        one_of = s.get("oneOf")
        if isinstance(one_of, list) and one_of:
            valid = 0
            best = None
            for sub in one_of:
                errs = self._sub(value, sub, path)
                if not errs:
                    valid += 1
                    best = None
                elif valid == 0 and (best is None or len(errs) < len(best)):
                    best = errs
            if valid != 1:
                found = "Found none valid" if valid == 0 else f"Found {valid} valid alternatives"
                self.out.append(
                    FieldError(
                        INVALID,
                        _NIL,
                        f'Invalid value: "": {qpath} must validate one and only one schema (oneOf). {found}',
                    )
                )
                if best:
                    self.out.extend(best)
        all_of = s.get("allOf")
        if isinstance(all_of, list) and all_of:
            valid = 0
            for sub in all_of:
                errs = self._sub(value, sub, path)
                if errs:
                    self.out.extend(errs)
                else:
                    valid += 1
            if valid != len(all_of):
                extra = ". None validated" if valid == 0 else ""
                self.out.append(
                    FieldError(
                        INVALID,
                        _NIL,
                        f'Invalid value: "": {qpath} must validate all the schemas (allOf){extra}',
                    )
                )
        not_ = s.get("not")
        if isinstance(not_, dict) and not self._sub(value, not_, path):
            self.out.append(
                FieldError(INVALID, _NIL, f'Invalid value: "": {qpath} must not validate the schema (not)')
            )

    def string(self, value: str, s: Schema, path: str) -> None:
        max_length = s.get("maxLength")
        if _is_number(max_length) and len(value) > max_length:
            unit = "byte" if max_length == 1 else "bytes"
            self.out.append(
                FieldError(TOO_LONG, _fp(path), f"Too long: may not be more than {max_length} {unit}")
            )
            return
        min_length = s.get("minLength")
        if _is_number(min_length) and len(value) < min_length:
            self.out.append(
                _invalid(path, value, f"{path} in body should be at least {min_length} chars long")
            )
            return
        pattern = s.get("pattern")
        if isinstance(pattern, str) and pattern:
            rx = _regex(pattern)
            if rx is not None and rx.search(value) is None:
                self.out.append(_invalid(path, value, f"{path} in body should match '{pattern}'"))

    def number(self, value: int | float, s: Schema, path: str) -> None:
        factor = s.get("multipleOf")
        if _is_number(factor) and factor > 0:
            if isinstance(value, int) and isinstance(factor, int):
                ok = value % factor == 0
            else:
                mult = value / factor if factor >= 1 else (1 / factor) * value
                ok = float(mult).is_integer()
            if not ok:
                self.out.append(
                    _invalid(path, value, f"{path} in body should be a multiple of {_go_limit(factor)}")
                )
        maximum = s.get("maximum")
        if _is_number(maximum):
            if s.get("exclusiveMaximum") is True:
                if value >= maximum:
                    self.out.append(
                        _invalid(path, value, f"{path} in body should be less than {_go_limit(maximum)}")
                    )
            elif value > maximum:
                self.out.append(
                    _invalid(
                        path, value, f"{path} in body should be less than or equal to {_go_limit(maximum)}"
                    )
                )
        minimum = s.get("minimum")
        if _is_number(minimum):
            if s.get("exclusiveMinimum") is True:
                if value <= minimum:
                    self.out.append(
                        _invalid(path, value, f"{path} in body should be greater than {_go_limit(minimum)}")
                    )
            elif value < minimum:
                self.out.append(
                    _invalid(
                        path, value, f"{path} in body should be greater than or equal to {_go_limit(minimum)}"
                    )
                )

    def array(self, value: list[Any], s: Schema, path: str, old: Any) -> None:
        items = _items(s)
        if items is not None:
            correlate = _correlator(s, old)
            for i, v in enumerate(value):
                self.node(v, items, _index(path, i), correlate(v) if correlate else _MISSING)
        size = len(value)
        min_items = s.get("minItems")
        if _is_number(min_items) and size < min_items:
            self.out.append(_invalid(path, size, f"{path} in body should have at least {min_items} items"))
        max_items = s.get("maxItems")
        if _is_number(max_items) and size > max_items:
            self.out.append(
                FieldError(TOO_MANY, _fp(path), f"Too many: {size}: must have at most {max_items} items")
            )
        if s.get("uniqueItems") is True and _first_duplicate(value) is not None:
            self.out.append(_invalid(path, "", f"{path} in body shouldn't contain duplicates"))

    def enum(self, value: Any, s: Schema, path: str) -> None:
        enum = s.get("enum")
        if not isinstance(enum, list) or not enum:
            return
        if value is not None and any(_json_equal(value, e) for e in enum):
            return
        allowed = [e if isinstance(e, str) else json.dumps(e, separators=(",", ":")) for e in enum]
        detail = "supported values: " + ", ".join(_go_quote(a) for a in allowed)
        self.out.append(
            FieldError(NOT_SUPPORTED, _fp(path), f"Unsupported value: {_go_value(value)}: {detail}")
        )

    def object(self, value: dict[str, Any], s: Schema, path: str, old: Any, root: bool) -> None:
        n = len(value)
        min_props = s.get("minProperties")
        if _is_number(min_props) and n < min_props:
            self.out.append(_invalid(path, n, f"{path} in body should have at least {min_props} properties"))
            return
        max_props = s.get("maxProperties")
        if _is_number(max_props) and n > max_props:
            self.out.append(
                FieldError(TOO_MANY, _fp(path), f"Too many: {n}: must have at most {max_props} items")
            )
            return
        props = _props(s)
        addl = _addl(s)
        if addl is not None:
            for k, v in value.items():
                if k not in props and not (root and k in _META_FIELDS):
                    self.node(v, addl, _child(path, k), _old_field(old, s, k))
        for k, sub in props.items():
            if k in value and not (root and k in _META_FIELDS) and isinstance(sub, dict):
                self.node(value[k], sub, _child(path, k), _old_field(old, s, k))
        required = s.get("required")
        if isinstance(required, list):
            for k in required:
                if isinstance(k, str) and k not in value and not (root and k in _META_FIELDS):
                    self.out.append(FieldError(REQUIRED, _child(path, k), "Required value"))


def _first_duplicate(items: Iterable[Any]) -> int | None:
    seen: set[str] = set()
    for i, item in enumerate(items):
        k = _set_key(item)
        if k in seen:
            return i
        seen.add(k)
    return None


def _set_key(item: Any) -> str:
    """Identity of a list-type set element: Go map keys distinguish int64, float64, bool and string."""
    if isinstance(item, dict | list):
        return "c" + json.dumps(item, sort_keys=True, separators=(",", ":"))
    return f"{type(item).__name__}:{item!r}"


# --------------------------------------------------------------------------------------------------------------
# Embedded resources and x-kubernetes-list-type invariants (apiextensions-apiserver objectmeta / listtype)
# --------------------------------------------------------------------------------------------------------------

_DNS1035_RE: Final = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_DNS1035_MSG: Final = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
    "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
    "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)


def _structural_invariants(
    value: Any, s: Schema | None, path: str, embedded_out: list[FieldError], list_out: list[FieldError]
) -> None:
    if s is None:
        return
    if isinstance(value, dict):
        if path and _flag(s, "x-kubernetes-embedded-resource"):
            _validate_embedded(value, path, embedded_out)
        props = _props(s)
        addl = _addl(s)
        for k, v in value.items():
            if k in props:
                _structural_invariants(v, props[k], _child(path, k), embedded_out, list_out)
            elif addl is not None:
                _structural_invariants(v, addl, _key(path, k), embedded_out, list_out)
    elif isinstance(value, list):
        list_type = s.get("x-kubernetes-list-type")
        if list_type == "set":
            _validate_set(value, path, list_out)
        elif list_type == "map":
            _validate_map_list(value, s, path, list_out)
        items = _items(s)
        if items is not None:
            for i, v in enumerate(value):
                _structural_invariants(v, items, _index(path, i), embedded_out, list_out)


def _validate_embedded(x: dict[str, Any], path: str, out: list[FieldError]) -> None:
    if "apiVersion" not in x:
        out.append(FieldError(REQUIRED, _child(path, "apiVersion"), "Required value"))
    if "kind" not in x:
        out.append(FieldError(REQUIRED, _child(path, "kind"), "Required value"))
    api_version = x.get("apiVersion")
    if "apiVersion" in x:
        if not isinstance(api_version, str):
            out.append(_invalid(_child(path, "apiVersion"), api_version, "must be a string"))
        elif not api_version:
            out.append(FieldError(REQUIRED, _child(path, "apiVersion"), "Required value"))
        elif api_version.count("/") > 1:
            out.append(
                _invalid(
                    _child(path, "apiVersion"), api_version, f"unexpected GroupVersion string: {api_version}"
                )
            )
    kind = x.get("kind")
    if "kind" in x:
        if not isinstance(kind, str):
            out.append(_invalid(_child(path, "kind"), kind, "must be a string"))
        elif not kind:
            out.append(FieldError(REQUIRED, _child(path, "kind"), "Required value"))
        else:
            problems = []
            if len(kind) > 63:
                problems.append("must be no more than 63 characters")
            if not _DNS1035_RE.fullmatch(kind.lower()):
                problems.append(_DNS1035_MSG)
            if problems:
                out.append(
                    _invalid(
                        _child(path, "kind"),
                        kind,
                        "may have mixed case, but should otherwise match: " + ",".join(problems),
                    )
                )
    metadata = x.get("metadata")
    if "metadata" in x and not isinstance(metadata, dict):
        out.append(_invalid(_child(path, "metadata"), metadata, "must be an object"))


def _validate_set(items: list[Any], path: str, out: list[FieldError]) -> None:
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        k = _set_key(item)
        seen[k] = seen.get(k, 0) + 1
        if seen[k] == 2:
            out.append(FieldError(DUPLICATE, _index(path, i), f"Duplicate value: {_go_value(item)}"))


def _validate_map_list(items: list[Any], s: Schema, path: str, out: list[FieldError]) -> None:
    for i, item in enumerate(items):
        if item is not None and not isinstance(item, dict):
            out.append(_invalid(_index(path, i), item, "must be an object for an array of list-type map"))
            return
    keys = [k for k in s.get("x-kubernetes-list-map-keys") or [] if isinstance(k, str)]
    if len(items) <= 1 or not keys:
        return
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        key = {k: item[k] for k in keys if isinstance(item, dict) and k in item}
        ident = _set_key(key)
        seen[ident] = seen.get(ident, 0) + 1
        if seen[ident] == 2:
            out.append(FieldError(DUPLICATE, _index(path, i), f"Duplicate value: {_go_syntax(key)}"))


# --------------------------------------------------------------------------------------------------------------
# CEL (x-kubernetes-validations)
# --------------------------------------------------------------------------------------------------------------

_ASCII_LOWER: Final = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_ASCII_UPPER: Final = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _want_str(*values: Any) -> None:
    for v in values:
        if not isinstance(v, str):
            raise TypeError(f"no such overload: {type(v).__name__}")


def _want_int(*values: Any) -> None:
    for v in values:
        if not isinstance(v, int) or isinstance(v, bool):
            raise TypeError(f"no such overload: {type(v).__name__}")


def _cel_char_at(s: Any, i: Any) -> Any:
    _want_str(s)
    _want_int(i)
    if i < 0 or i > len(s):
        return CELEvalError(f"index out of range: {i}")
    return celtypes.StringType(s[i : i + 1])


def _cel_eq(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except TypeError:
        return False


def _cel_index_of(x: Any, sub: Any, offset: Any = 0) -> Any:
    if isinstance(x, list):
        return celtypes.IntType(next((i for i, v in enumerate(x) if _cel_eq(v, sub)), -1))
    _want_str(x, sub)
    _want_int(offset)
    if offset < 0 or offset > len(x):
        return CELEvalError(f"index out of range: {offset}")
    return celtypes.IntType(x.find(sub, offset))


def _cel_last_index_of(x: Any, sub: Any, offset: Any = None) -> Any:
    if isinstance(x, list):
        return celtypes.IntType(next((i for i in range(len(x) - 1, -1, -1) if _cel_eq(x[i], sub)), -1))
    _want_str(x, sub)
    if offset is None:
        return celtypes.IntType(x.rfind(sub))
    _want_int(offset)
    if offset < 0 or offset > len(x):
        return CELEvalError(f"index out of range: {offset}")
    return celtypes.IntType(x.rfind(sub, 0, offset + len(sub)))


def _cel_lower_ascii(s: Any) -> Any:
    _want_str(s)
    return celtypes.StringType(s.translate(_ASCII_LOWER))


def _cel_upper_ascii(s: Any) -> Any:
    _want_str(s)
    return celtypes.StringType(s.translate(_ASCII_UPPER))


def _cel_replace(s: Any, old: Any, new: Any, n: Any = -1) -> Any:
    _want_str(s, old, new)
    _want_int(n)
    return celtypes.StringType(s.replace(old, new) if n < 0 else s.replace(old, new, n))


def _cel_split(s: Any, sep: Any, n: Any = -1) -> Any:
    _want_str(s, sep)
    _want_int(n)
    if n == 0:
        return celtypes.ListType([])
    if sep == "":
        parts = list(s)
        if 0 < n < len(parts):
            parts = [*parts[: n - 1], "".join(parts[n - 1 :])]
    else:
        parts = s.split(sep) if n < 0 else s.split(sep, n - 1)
    return celtypes.ListType([celtypes.StringType(p) for p in parts])


def _cel_substring(s: Any, start: Any, end: Any = None) -> Any:
    _want_str(s)
    _want_int(start)
    stop = len(s) if end is None else end
    _want_int(stop)
    if start < 0 or start > len(s) or stop < start or stop > len(s):
        return CELEvalError(f"index out of range: {start}, {stop}")
    return celtypes.StringType(s[start:stop])


def _cel_trim(s: Any) -> Any:
    _want_str(s)
    return celtypes.StringType(s.strip())


def _cel_join(items: Any, sep: Any = "") -> Any:
    if not isinstance(items, list):
        raise TypeError("no such overload")
    _want_str(sep, *items)
    return celtypes.StringType(sep.join(items))


def _cel_is_sorted(items: Any) -> Any:
    if not isinstance(items, list):
        raise TypeError("no such overload")
    return celtypes.BoolType(all(items[i] <= items[i + 1] for i in range(len(items) - 1)))


def _cel_sum(items: Any) -> Any:
    if not isinstance(items, list):
        raise TypeError("no such overload")
    if not items:
        return celtypes.IntType(0)
    total = items[0]
    for v in items[1:]:
        total = total + v
    return total


def _cel_min(items: Any) -> Any:
    if not isinstance(items, list):
        raise TypeError("no such overload")
    if not items:
        return CELEvalError("min(list) called on empty list")
    return min(items)


def _cel_max(items: Any) -> Any:
    if not isinstance(items, list):
        raise TypeError("no such overload")
    if not items:
        return CELEvalError("max(list) called on empty list")
    return max(items)


def _cel_find(s: Any, pattern: Any) -> Any:
    _want_str(s, pattern)
    rx = _regex(pattern)
    if rx is None:
        return CELEvalError(f"invalid regex: {pattern}")
    m = rx.search(s)
    return celtypes.StringType(m.group(0) if m else "")


def _cel_find_all(s: Any, pattern: Any, n: Any = -1) -> Any:
    _want_str(s, pattern)
    _want_int(n)
    rx = _regex(pattern)
    if rx is None:
        return CELEvalError(f"invalid regex: {pattern}")
    found = [m.group(0) for m in rx.finditer(s)]
    if n >= 0:
        found = found[:n]
    return celtypes.ListType([celtypes.StringType(f) for f in found])


class _Optional:
    """cel-go's optional type, enough for `oldSelf` of rules with `optionalOldSelf: true`."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def _cel_has_value(o: Any) -> Any:
    if not isinstance(o, _Optional):
        raise TypeError("no such overload")
    return celtypes.BoolType(o.value is not None)


def _cel_value(o: Any) -> Any:
    if not isinstance(o, _Optional):
        raise TypeError("no such overload")
    return CELEvalError("optional.none() dereference") if o.value is None else o.value


def _cel_or_value(o: Any, default: Any) -> Any:
    if not isinstance(o, _Optional):
        raise TypeError("no such overload")
    return default if o.value is None else o.value


# Functions of the Kubernetes CEL libraries (strings, lists, regex, optionals) that cel-python lacks.
_CEL_FUNCTIONS: Final[dict[str, Any]] = {
    "charAt": _cel_char_at,
    "indexOf": _cel_index_of,
    "lastIndexOf": _cel_last_index_of,
    "lowerAscii": _cel_lower_ascii,
    "upperAscii": _cel_upper_ascii,
    "replace": _cel_replace,
    "split": _cel_split,
    "substring": _cel_substring,
    "trim": _cel_trim,
    "join": _cel_join,
    "isSorted": _cel_is_sorted,
    "sum": _cel_sum,
    "min": _cel_min,
    "max": _cel_max,
    "find": _cel_find,
    "findAll": _cel_find_all,
    "hasValue": _cel_has_value,
    "value": _cel_value,
    "orValue": _cel_or_value,
}

_CEL_ENV: Final = celpy.Environment()


class _Program(NamedTuple):
    runner: Any  # celpy.Runner, or None when the expression does not compile
    error: str
    uses_old_self: bool


@functools.lru_cache(maxsize=4096)
def _compile_cel(expression: str) -> _Program:
    """Compile one CEL expression once; the same rules are evaluated on every write."""
    try:
        ast = _CEL_ENV.compile(expression)
        runner = _CEL_ENV.program(ast, functions=_CEL_FUNCTIONS)
    except Exception as exc:  # CELParseError, or anything lark raises on odd input
        line, column = getattr(exc, "line", None), getattr(exc, "column", None)
        where = f"<input>:{line}:{column}: " if line is not None and column is not None else ""
        return _Program(None, f"ERROR: {where}Syntax error: {_one_line(str(exc))}", False)
    uses_old_self = any(True for _ in ast.scan_values(lambda v: isinstance(v, lark.Token) and v == "oldSelf"))
    return _Program(runner, "", uses_old_self)


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.strip().splitlines() if part.strip())


_CEL_RESERVED: Final = frozenset(
    {
        "true", "false", "null", "in", "as", "break", "const", "continue", "else", "for", "function", "if",
        "import", "let", "loop", "package", "namespace", "return", "var", "void", "while",
    }
)  # fmt: skip
_CEL_ESCAPES: Final = {".": "__dot__", "-": "__dash__", "/": "__slash__"}
_CEL_IDENT_CHAR_RE: Final = re.compile(r"[a-zA-Z0-9_]")


def _cel_escape(name: str) -> str | None:
    """How Kubernetes exposes a property name to CEL (`namespace` -> `__namespace__`, `a-b` -> `a__dash__b`)."""
    if not name or name[0].isdigit():
        return None
    if name in _CEL_RESERVED:
        return f"__{name}__"
    out: list[str] = []
    i = 0
    while i < len(name):
        if name.startswith("__", i):
            out.append("__underscores__")
            i += 2
            continue
        ch = name[i]
        if ch in _CEL_ESCAPES:
            out.append(_CEL_ESCAPES[ch])
        elif _CEL_IDENT_CHAR_RE.fullmatch(ch):
            out.append(ch)
        else:
            return None
        i += 1
    return "".join(out)


def _parse_timestamp(s: str) -> dt.datetime | None:
    if not _is_datetime(s):
        return None
    date_part, _, time_part = s.lower().partition("t")
    m = re.fullmatch(r"([0-9]{2}):([0-9]{2}):([0-9]{2})(?:.([0-9]+))?(z|[+-][0-9]{2}:[0-9]{2})", time_part)
    if m is None:
        return None
    hh, mm, ss, frac, zone = m.groups()
    tz = dt.UTC
    if zone != "z":
        sign = 1 if zone[0] == "+" else -1
        tz = dt.timezone(sign * dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    try:
        return dt.datetime(
            int(date_part[:4]), int(date_part[5:7]), int(date_part[8:10]), int(hh), int(mm), int(ss),
            int((frac or "0")[:6].ljust(6, "0")), tzinfo=tz,
        )  # fmt: skip
    except ValueError:
        return None


def _to_cel(value: Any, s: Schema | None, resource_root: bool = False) -> Any:
    """Convert a JSON value to a CEL value the way Kubernetes types it from the schema.

    `number` is always a double, `integer` an int, strings with format date/date-time/duration/byte become
    timestamps/durations/bytes, objects with properties expose only their declared (escaped) properties and
    an embedded resource (or the root) its apiVersion, kind and metadata.name/generateName.
    """
    if value is None or s is None:
        return json_to_cel(value)
    if _flag(s, "x-kubernetes-int-or-string"):
        return json_to_cel(value)
    t = s.get("type")
    if t == "string" and isinstance(value, str):
        fmt = s.get("format")
        if fmt in ("date-time", "datetime"):
            ts = _parse_timestamp(value)
            if ts is not None:
                return celtypes.TimestampType(ts)
        elif fmt == "date" and _is_date(value):
            return celtypes.TimestampType(
                dt.datetime(int(value[:4]), int(value[5:7]), int(value[8:10]), tzinfo=dt.UTC)
            )
        elif fmt == "duration":
            seconds = _parse_duration(value)
            if seconds is not None:
                return celtypes.DurationType(dt.timedelta(seconds=seconds))
        elif fmt == "byte" and _is_byte(value):
            return celtypes.BytesType(base64.b64decode(value.replace("\r", "").replace("\n", "")))
        return celtypes.StringType(value)
    if t == "number" and _is_number(value):
        return celtypes.DoubleType(float(value))
    if t == "integer" and _is_number(value) and float(value).is_integer():
        return celtypes.IntType(int(value))
    if t == "array" and isinstance(value, list):
        items = _items(s)
        return celtypes.ListType([_to_cel(v, items) for v in value])
    if isinstance(value, dict) and (t == "object" or resource_root):
        props = _props(s)
        embedded = resource_root or _flag(s, "x-kubernetes-embedded-resource")
        if props or (embedded and not _flag(s, "x-kubernetes-preserve-unknown-fields")):
            fields: dict[Any, Any] = {}
            for k, v in value.items():
                if k in props:
                    sub: Schema | None = props[k]
                elif embedded and k in ("apiVersion", "kind"):
                    sub = {"type": "string"}
                elif embedded and k == "metadata" and isinstance(v, dict):
                    v = {m: v[m] for m in ("name", "generateName") if m in v}
                    sub = {
                        "type": "object",
                        "properties": {"name": {"type": "string"}, "generateName": {"type": "string"}},
                    }
                else:
                    continue
                name = _cel_escape(k)
                if name is not None:
                    fields[celtypes.StringType(name)] = _to_cel(v, sub)
            return celtypes.MapType(fields)
        addl = _addl(s)
        if addl is not None:
            return celtypes.MapType({celtypes.StringType(k): _to_cel(v, addl) for k, v in value.items()})
    return json_to_cel(value)


def _safe_to_cel(value: Any, s: Schema, resource_root: bool) -> Any:
    try:
        return _to_cel(value, s, resource_root)
    except (TypeError, ValueError, OverflowError):
        return json_to_cel(value)


_NO_SUCH_MEMBER_RE: Final = re.compile(r"no such member in mapping: '(.*)'$", re.S)


def _cel_error_text(err: BaseException) -> str:
    """Render a cel-python evaluation error with cel-go's wording where there is an equivalent."""
    args = err.args
    text = str(args[0]) if args else str(err)
    cause = args[2] if len(args) > 2 else None
    m = _NO_SUCH_MEMBER_RE.match(text)
    if m:
        return f"no such key: {m.group(1)}"
    if text == "no such key" and cause:
        return f"no such key: {cause[0] if isinstance(cause, tuple | list) else cause}"
    if text.startswith(("found no matching overload", "no such overload")):
        return "no such overload"
    if text == "modulus or divide by zero":
        return "division by zero"
    if text == "invalid_argument" and len(args) > 1 and args[1] is IndexError:
        return "index out of bounds"
    if text == "return error for overflow":
        return "integer overflow" if cause == ("overflow",) else "return error for overflow"
    text = text.split(" (in activation", 1)[0]
    return _one_line(text)


class _Rule(NamedTuple):
    rule: str
    message: str
    message_expression: str
    reason: str
    field_path: str
    optional_old_self: bool


def _rules(s: Schema) -> list[_Rule]:
    raw = s.get("x-kubernetes-validations")
    if not isinstance(raw, list):
        return []
    out = []
    for r in raw:
        if not isinstance(r, dict):
            continue
        out.append(
            _Rule(
                rule=str(r.get("rule") or ""),
                message=str(r.get("message") or ""),
                message_expression=str(r.get("messageExpression") or ""),
                reason=str(r.get("reason") or ""),
                field_path=str(r.get("fieldPath") or ""),
                optional_old_self=r.get("optionalOldSelf") is True,
            )
        )
    return out


def _rule_error_string(rule: _Rule) -> str:
    return rule.message.strip() if rule.message.strip() else rule.rule.strip()


def _rule_message_or_default(rule: _Rule) -> str:
    return rule.message.strip() if rule.message.strip() else f"failed rule: {_rule_error_string(rule)}"


def _rule_field_error(path: str, type_name: str, detail: str, reason: str) -> FieldError:
    """fieldErrorForReason: the rule's `reason` picks the error type (and so the message shape)."""
    if reason == FORBIDDEN:
        return FieldError(FORBIDDEN, _fp(path), f"Forbidden: {detail}")
    if reason == REQUIRED:
        return FieldError(REQUIRED, _fp(path), f"Required value: {detail}")
    if reason == DUPLICATE:
        return FieldError(DUPLICATE, _fp(path), f"Duplicate value: {_go_quote(type_name)}")
    return FieldError(INVALID, _fp(path), f"Invalid value: {_go_quote(type_name)}: {detail}")


def _scan_field_path(text: str) -> list[str] | None:
    """Tokenise a rule fieldPath (".a.b", ".a['x.y']") into ".", "[", "]" and names/quoted strings."""
    tokens: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in ".[]":
            tokens.append(ch)
            i += 1
            continue
        if ch == "'":
            j = i + 1
            while j < len(text) and not (text[j] == "'" and text[j - 1] != "\\"):
                j += 1
            if j >= len(text):
                return None
            tokens.append(text[i : j + 1])
            i = j + 1
            continue
        j = i
        while j < len(text) and text[j] not in ".[]":
            j += 1
        tokens.append(text[i:j])
        i = j
    return tokens


_SINGLE_QUOTE_ESCAPES: Final = {
    "a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "'": "'", "\\": "\\",
}  # fmt: skip


def _normalize_field_path(text: str, s: Schema) -> tuple[str, str]:
    """cel.ValidFieldPath: the field path a rule's `fieldPath` designates, relative to the rule's node.

    Returns (path, "") or ("", error text).
    """
    tokens = _scan_field_path(text)
    if tokens is None:
        return "", "unexpected end of JSON path"
    path = ""
    node: Schema | None = s
    it = iter(tokens)
    for tok in it:
        if tok == "[":
            name = next(it, None)
            if name is None:
                return "", "unexpected end of JSON path"
            if len(name) < 2 or name[0] != "'" or name[-1] != "'":
                return "", f"expected single quoted string but got {name}"
            try:
                name = re.sub(r"\\(.)", lambda m: _SINGLE_QUOTE_ESCAPES[m.group(1)], name[1:-1])
            except KeyError as exc:
                return "", f"invalid string literal: invalid escape char \\{exc.args[0]}"
            closing = next(it, None)
            if closing is None:
                return "", "unexpected end of JSON path"
            if closing != "]":
                return "", f"expected ] but got {closing}"
        elif tok == ".":
            name = next(it, None)
            if name is None:
                return "", "unexpected end of JSON path"
        else:
            return "", f"expected [ or . but got: {tok}"
        if node is None:
            return "", "does not refer to a valid field"
        if "properties" in node:
            props = _props(node)
            if name not in props:
                return "", "does not refer to a valid field"
            path = _child(path, name)
            node = props[name]
        elif _addl(node) is not None:
            path = _key(path, name)
            node = _addl(node)
        else:
            return "", "does not refer to a valid field"
    return path, ""


class _CEL:
    """Evaluates x-kubernetes-validations at every node, correlating old values for transition rules.

    Field paths follow apiextensions-apiserver's CEL validator ("spec.labels[key]" for map entries, "<nil>" for
    the root). Errors of rules that do not use oldSelf are ratcheted away where the value is unchanged.
    """

    def __init__(self, out: list[FieldError]) -> None:
        self.out = out

    def node(self, value: Any, s: Schema, path: str, old: Any, unchanged: bool, resource_root: bool) -> None:
        if value is None:
            return
        rules = _rules(s)
        if rules:
            self.rules(rules, value, s, path, old, unchanged, resource_root)
        if isinstance(value, dict):
            atomic = s.get("x-kubernetes-map-type") == "atomic"
            old_map = old if isinstance(old, dict) and not atomic else None
            props = _props(s)
            addl = _addl(s)
            for k, v in value.items():
                if k in props:
                    sub, child_path = props[k], _child(path, k)
                elif addl is not None:
                    sub, child_path = addl, _key(path, k)
                else:
                    continue
                if not isinstance(sub, dict):
                    continue
                old_v = old_map.get(k) if old_map is not None else None
                same = unchanged or (old_map is not None and k in old_map and _json_equal(v, old_map[k]))
                self.node(v, sub, child_path, old_v, same, _flag(sub, "x-kubernetes-embedded-resource"))
        elif isinstance(value, list):
            items = _items(s)
            if items is None:
                return
            correlate = _correlator(s, old)
            embedded = _flag(items, "x-kubernetes-embedded-resource")
            for i, v in enumerate(value):
                old_v = correlate(v) if correlate else _MISSING
                if old_v is _MISSING:
                    self.node(v, items, _index(path, i), None, unchanged, embedded)
                else:
                    same = unchanged or _json_equal(v, old_v)
                    self.node(v, items, _index(path, i), old_v, same, embedded)

    def rules(
        self,
        rules: list[_Rule],
        value: Any,
        s: Schema,
        path: str,
        old: Any,
        unchanged: bool,
        resource_root: bool,
    ) -> None:
        raw_type = s.get("type")
        type_name = raw_type if isinstance(raw_type, str) else ""
        activation: dict[str, Any] | None = None
        for rule in rules:
            if not rule.rule.strip():
                continue
            program = _compile_cel(rule.rule)
            if program.runner is None:
                self.out.append(
                    _rule_field_error(path, type_name, f"rule compile error: {program.error}", "")
                )
                continue
            if program.uses_old_self and old is None and not rule.optional_old_self:
                continue  # transition rules only run when there is a comparable old value
            if unchanged and not program.uses_old_self:
                continue  # ratcheted: kube only warns about an unchanged value
            if activation is None:
                activation = {"self": _safe_to_cel(value, s, resource_root)}
                if old is not None:
                    activation["oldSelf"] = _safe_to_cel(old, s, resource_root)
            context = activation
            if rule.optional_old_self:
                context = {**activation, "oldSelf": _Optional(activation.get("oldSelf"))}
            try:
                result = program.runner.evaluate(context)
            except CELEvalError as exc:
                result = exc
            except Exception as exc:  # a cel-python bug must not turn a write into a 500
                result = CELEvalError(str(exc))
            if isinstance(result, CELEvalError):
                text = _cel_error_text(result)
                if text == "no such overload":
                    detail = (
                        f"'{text}': call arguments did not match a supported operator, function or macro "
                        f"signature for rule: {_rule_error_string(rule)}"
                    )
                else:
                    detail = f"{text} evaluating rule: {_rule_error_string(rule)}"
                self.out.append(_rule_field_error(path, type_name, detail, ""))
                continue
            if isinstance(result, celtypes.BoolType) and bool(result):
                continue
            err_path = path
            if rule.field_path:
                normalized, problem = _normalize_field_path(rule.field_path, s)
                if not problem and normalized:
                    err_path = _child(path, normalized)
            detail = ""
            if rule.message_expression:
                detail = self.message(rule.message_expression, activation)
            if not detail:
                detail = _rule_message_or_default(rule)
            self.out.append(_rule_field_error(err_path, type_name, detail, rule.reason))

    @staticmethod
    def message(expression: str, activation: dict[str, Any]) -> str:
        program = _compile_cel(expression)
        if program.runner is None:
            return ""
        try:
            result = program.runner.evaluate(activation)
        except Exception:
            return ""
        if not isinstance(result, str) or isinstance(result, CELEvalError):
            return ""
        text = result.strip()
        return "" if "\n" in text else text


def _has_rules(s: Any) -> bool:
    if isinstance(s, dict):
        if s.get("x-kubernetes-validations"):
            return True
        return any(_has_rules(s.get(k)) for k in ("items", "additionalProperties", "allOf")) or any(
            _has_rules(p) for p in _props(s).values()
        )
    if isinstance(s, list):
        return any(_has_rules(x) for x in s)
    return False


# --------------------------------------------------------------------------------------------------------------
# Validation entry point
# --------------------------------------------------------------------------------------------------------------


def validate(
    obj: dict[str, Any], schema: dict[str, Any], old: dict[str, Any] | None = None
) -> list[FieldError]:
    """Validate an object (already defaulted and pruned) against its CRD schema; return every error.

    The order and shape follow kube-apiserver's custom resource strategy: OpenAPI value validation, embedded
    resources, list-type set/map uniqueness, then the CEL rules, which are not evaluated (one
    "some validation rules were not checked" error instead) when a type, required, enum, too-long or
    too-many error was found. Root `apiVersion`, `kind` and `metadata` are validated elsewhere.

    On update, `old` is the stored object: transition rules (those using `oldSelf`) see the correlated old
    value, and errors on values that did not change are ratcheted away, as kube-apiserver does since 1.30.
    """
    errors: list[FieldError] = []
    _OpenAPI(errors).node(obj, schema, "", _MISSING if old is None else old, root=True)
    embedded_errors: list[FieldError] = []
    list_errors: list[FieldError] = []
    _structural_invariants(obj, schema, "", embedded_errors, list_errors)
    errors.extend(embedded_errors)
    errors.extend(list_errors)
    if _has_rules(schema):
        if any(e.reason in _BLOCKING for e in errors):
            errors.append(FieldError(INVALID, _NIL, _CEL_NOT_CHECKED))
        else:
            unchanged = old is not None and _json_equal(obj, old)
            _CEL(errors).node(obj, schema, "", old, unchanged, resource_root=True)
    return errors


# --------------------------------------------------------------------------------------------------------------
# CRD schema checks
# --------------------------------------------------------------------------------------------------------------

_KEYWORDS: Final = frozenset(
    {
        "$schema", "id", "$ref", "description", "type", "format", "title", "default", "maximum",
        "exclusiveMaximum", "minimum", "exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems",
        "minItems", "uniqueItems", "multipleOf", "enum", "maxProperties", "minProperties", "required", "items",
        "allOf", "oneOf", "anyOf", "not", "properties", "additionalProperties", "patternProperties",
        "dependencies", "additionalItems", "definitions", "externalDocs", "example", "nullable",
        "x-kubernetes-preserve-unknown-fields", "x-kubernetes-embedded-resource", "x-kubernetes-int-or-string",
        "x-kubernetes-list-map-keys", "x-kubernetes-list-type", "x-kubernetes-map-type", "x-kubernetes-validations",
    }
)  # fmt: skip
_TYPES: Final = ("array", "boolean", "integer", "number", "object", "string")
_UNSUPPORTED: Final = {
    "id": "id is not supported",
    "$ref": "$ref is not supported",
    "additionalItems": "additionalItems is not supported",
    "patternProperties": "patternProperties is not supported",
    "definitions": "definitions is not supported",
    "dependencies": "dependencies is not supported",
}
_NESTED_FORBIDDEN: Final = {
    "type": "must be empty to be structural",
    "default": "must be undefined to be structural",
    "title": "must be empty to be structural",
    "description": "must be empty to be structural",
    "externalDocs": "must be undefined to be structural",
    "additionalProperties": "must be undefined to be structural",
    "x-kubernetes-preserve-unknown-fields": "must be false to be structural",
    "x-kubernetes-embedded-resource": "must be false to be structural",
    "x-kubernetes-int-or-string": "must be false to be structural",
    "x-kubernetes-list-map-keys": "must be empty to be structural",
    "x-kubernetes-list-type": "must be undefined to be structural",
    "x-kubernetes-map-type": "must be undefined to be structural",
    "x-kubernetes-validations": "must be empty to be structural",
}
_RULE_REASONS: Final = (INVALID, FORBIDDEN, REQUIRED, DUPLICATE)
_INT_OR_STRING_ANY_OF: Final = [{"type": "integer"}, {"type": "string"}]


def _forbidden(path: str, detail: str) -> FieldError:
    return FieldError(FORBIDDEN, path, f"Forbidden: {detail}")


def _required(path: str, detail: str) -> FieldError:
    return FieldError(REQUIRED, path, f"Required value: {detail}" if detail else "Required value")


def _not_supported(path: str, value: Any, allowed: Iterable[str]) -> FieldError:
    supported = ", ".join(_go_quote(a) for a in allowed)
    return FieldError(
        NOT_SUPPORTED, path, f"Unsupported value: {_go_value(value)}: supported values: {supported}"
    )


def _props_path(path: str, name: str) -> str:
    return f"{_child(path, 'properties')}[{name}]"


def check_schema(schema: dict[str, Any], path: str = "") -> list[FieldError]:
    """Report what kube-apiserver would reject in a CRD's `openAPIV3Schema` (reasonable, not exhaustive).

    Non-structural schemas (a node without `type` unless it has x-kubernetes-int-or-string or
    x-kubernetes-preserve-unknown-fields, `type`/`default`/... inside allOf/anyOf/oneOf/not, a non-object root,
    an array without items), unsupported or unknown keywords ($ref, patternProperties, ...), invalid
    list/map types, patterns that do not compile, defaults that do not validate, and x-kubernetes-validations
    rules or messageExpressions that do not compile.

    Field paths are relative to the schema ("properties[spec].type", "type" for the root) unless `path`, the
    schema's own field path in the CRD (e.g. "spec.versions[0].schema.openAPIV3Schema"), is given.
    """
    if not isinstance(schema, dict):
        return [_required(_child(path, "type"), "must not be empty at the root")]
    errs: list[FieldError] = []
    _SchemaChecker(errs).node(schema, path, "root")
    return errs


class _SchemaChecker:
    def __init__(self, out: list[FieldError]) -> None:
        self.out = out

    def node(self, s: Schema, path: str, level: str) -> None:
        out = self.out
        for k in s:
            if k not in _KEYWORDS:
                out.append(_forbidden(_child(path, k), "unknown field"))
            elif k in _UNSUPPORTED:
                out.append(_forbidden(_child(path, k), _UNSUPPORTED[k]))
        t = s.get("type")
        int_or_string = _flag(s, "x-kubernetes-int-or-string")
        preserve = _flag(s, "x-kubernetes-preserve-unknown-fields")
        embedded = _flag(s, "x-kubernetes-embedded-resource")
        if t == "null":
            out.append(
                _forbidden(_child(path, "type"), "type cannot be set to null, use nullable as an alternative")
            )
        elif t is not None and t not in _TYPES:
            out.append(_not_supported(_child(path, "type"), t, _TYPES))
        if embedded and t != "object":
            if not t:
                out.append(
                    _required(
                        _child(path, "type"), "must be object if x-kubernetes-embedded-resource is true"
                    )
                )
            else:
                out.append(
                    _invalid(
                        _child(path, "type"), t, "must be object if x-kubernetes-embedded-resource is true"
                    )
                )
        elif not t and not int_or_string and not preserve:
            where = {
                "root": "at the root",
                "item": "for specified array items",
                "field": "for specified object fields",
            }
            out.append(_required(_child(path, "type"), f"must not be empty {where[level]}"))
        if level == "root" and t and t != "object":
            out.append(_invalid(_child(path, "type"), t, "must be object at the root"))
        if int_or_string and preserve:
            out.append(
                _invalid(
                    _child(path, "x-kubernetes-preserve-unknown-fields"),
                    True,
                    "must be false if x-kubernetes-int-or-string is true",
                )
            )
        if int_or_string and embedded:
            out.append(
                _invalid(
                    _child(path, "x-kubernetes-embedded-resource"),
                    True,
                    "must be false if x-kubernetes-int-or-string is true",
                )
            )
        if embedded and not preserve and not _props(s):
            out.append(
                _required(
                    _child(path, "properties"),
                    "must not be empty if x-kubernetes-embedded-resource is "
                    "true without x-kubernetes-preserve-unknown-fields",
                )
            )

        items = s.get("items")
        if isinstance(items, list):
            out.append(_forbidden(_child(path, "items"), "items must be a schema object and not an array"))
        elif t == "array" and items is None:
            out.append(_required(_child(path, "items"), "must be specified"))
        if s.get("uniqueItems") is True:
            out.append(
                _forbidden(
                    _child(path, "uniqueItems"),
                    "uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
                )
            )
        addl = s.get("additionalProperties")
        if addl is not None:
            if addl is False:
                out.append(
                    _forbidden(
                        _child(path, "additionalProperties"), "additionalProperties cannot be set to false"
                    )
                )
            if _props(s):
                out.append(
                    _forbidden(
                        _child(path, "additionalProperties"),
                        "additionalProperties and properties are mutual exclusive",
                    )
                )
            if level == "root":
                out.append(_forbidden(_child(path, "additionalProperties"), "must not be used at the root"))
            if embedded:
                out.append(
                    _forbidden(
                        _child(path, "additionalProperties"),
                        "must not be used if x-kubernetes-embedded-resource is set",
                    )
                )
        self.keywords(s, path)
        self.list_and_map_types(s, path)
        self.rules(s, path)
        if level == "root" or embedded:
            props = _props(s)
            for meta in ("kind", "apiVersion"):
                sub = props.get(meta)
                if isinstance(sub, dict) and sub.get("type") != "string":
                    out.append(
                        _invalid(
                            _child(_props_path(path, meta), "type"), sub.get("type", ""), "must be string"
                        )
                    )
            meta_schema = props.get("metadata")
            if isinstance(meta_schema, dict):
                if meta_schema.get("type") != "object":
                    out.append(
                        _invalid(
                            _child(_props_path(path, "metadata"), "type"),
                            meta_schema.get("type", ""),
                            "must be object",
                        )
                    )
                if level == "root" and (
                    set(meta_schema) - {"type", "properties", "description"}
                    or set(_props(meta_schema)) - {"name", "generateName"}
                ):
                    out.append(
                        _forbidden(
                            _props_path(path, "metadata"),
                            "must not specify anything other than name "
                            "and generateName, but metadata is implicitly specified",
                        )
                    )
        if "default" in s:
            self.default(s, path, level)

        for name, sub in _props(s).items():
            if isinstance(sub, dict):
                self.node(sub, _props_path(path, name), "field")
        if isinstance(items, dict):
            self.node(items, _child(path, "items"), "item")
        if isinstance(addl, dict):
            self.node(addl, _child(path, "additionalProperties"), "field")
        self.value_validations(s, path)

    def keywords(self, s: Schema, path: str) -> None:
        pattern = s.get("pattern")
        if isinstance(pattern, str) and pattern:
            try:
                re.compile(pattern)
            except re.error as exc:
                self.out.append(
                    _invalid(
                        _child(path, "pattern"),
                        pattern,
                        f"must be a valid regular expression, but isn't: {exc}",
                    )
                )
        factor = s.get("multipleOf")
        if _is_number(factor) and factor <= 0:
            self.out.append(_invalid(_child(path, "multipleOf"), factor, "must be greater than zero"))

    def list_and_map_types(self, s: Schema, path: str) -> None:
        out = self.out
        list_type = s.get("x-kubernetes-list-type")
        keys = s.get("x-kubernetes-list-map-keys")
        if list_type is not None:
            if list_type not in ("atomic", "set", "map"):
                out.append(
                    _not_supported(
                        _child(path, "x-kubernetes-list-type"), list_type, ("atomic", "set", "map")
                    )
                )
            elif s.get("type") != "array":
                out.append(
                    _invalid(
                        _child(path, "x-kubernetes-list-type"),
                        list_type,
                        "must only be used if type is array",
                    )
                )
            elif list_type == "map":
                items = _items(s) or {}
                if not keys:
                    out.append(
                        _required(
                            _child(path, "x-kubernetes-list-map-keys"),
                            "must not be empty if x-kubernetes-list-type is map",
                        )
                    )
                if items.get("type") != "object":
                    out.append(
                        _invalid(
                            _child(_child(path, "items"), "type"),
                            items.get("type", ""),
                            "must be object if parent array's x-kubernetes-list-type is map",
                        )
                    )
                props = _props(items)
                for i, key in enumerate(keys if isinstance(keys, list) else []):
                    if key not in props:
                        out.append(
                            _invalid(
                                _index(_child(path, "x-kubernetes-list-map-keys"), i),
                                key,
                                "entries must all be names of item properties",
                            )
                        )
        if keys is not None and list_type != "map":
            out.append(
                _forbidden(
                    _child(path, "x-kubernetes-list-map-keys"),
                    'must only be used if x-kubernetes-list-type is "map"',
                )
            )
        map_type = s.get("x-kubernetes-map-type")
        if map_type is not None:
            if map_type not in ("granular", "atomic"):
                out.append(
                    _not_supported(_child(path, "x-kubernetes-map-type"), map_type, ("granular", "atomic"))
                )
            elif s.get("type") != "object":
                out.append(
                    _invalid(
                        _child(path, "x-kubernetes-map-type"), map_type, "must only be used if type is object"
                    )
                )

    def rules(self, s: Schema, path: str) -> None:
        raw = s.get("x-kubernetes-validations")
        if raw is None:
            return
        base = _child(path, "x-kubernetes-validations")
        if not isinstance(raw, list):
            self.out.append(_invalid(base, raw, "must be a list of validation rules"))
            return
        for i, r in enumerate(raw):
            rpath = _index(base, i)
            if not isinstance(r, dict):
                self.out.append(_invalid(rpath, r, "must be an object"))
                continue
            for k in r:
                if k not in (
                    "rule",
                    "message",
                    "messageExpression",
                    "reason",
                    "fieldPath",
                    "optionalOldSelf",
                ):
                    self.out.append(_forbidden(_child(rpath, k), "unknown field"))
            rule = r.get("rule")
            if not isinstance(rule, str) or not rule.strip():
                self.out.append(_required(_child(rpath, "rule"), "rule is not specified"))
            else:
                program = _compile_cel(rule)
                if program.runner is None:
                    self.out.append(
                        _invalid(_child(rpath, "rule"), rule, f"compilation failed: {program.error}")
                    )
                elif r.get("optionalOldSelf") is True and not program.uses_old_self:
                    self.out.append(
                        _invalid(
                            _child(rpath, "optionalOldSelf"),
                            True,
                            "may not be set if oldSelf is not used in rule",
                        )
                    )
            message = r.get("message")
            if isinstance(message, str) and ("\n" in message.strip() or "\r" in message.strip()):
                self.out.append(
                    _invalid(_child(rpath, "message"), message, "message must not contain line breaks")
                )
            expression = r.get("messageExpression")
            if isinstance(expression, str) and expression.strip():
                program = _compile_cel(expression)
                if program.runner is None:
                    self.out.append(
                        _invalid(
                            _child(rpath, "messageExpression"),
                            expression,
                            f"messageExpression compilation failed: {program.error}",
                        )
                    )
            reason = r.get("reason")
            if reason is not None and reason not in _RULE_REASONS:
                self.out.append(_not_supported(_child(rpath, "reason"), reason, _RULE_REASONS))
            field_path = r.get("fieldPath")
            if isinstance(field_path, str) and field_path:
                _, problem = _normalize_field_path(field_path, s)
                if problem:
                    self.out.append(
                        _invalid(
                            _child(rpath, "fieldPath"),
                            field_path,
                            f"fieldPath must be a valid path: {problem}",
                        )
                    )

    def default(self, s: Schema, path: str, level: str) -> None:
        default = s.get("default")
        dpath = _child(path, "default")
        if default is None or level == "root":
            return
        pruned = copy.deepcopy(default)
        if isinstance(pruned, dict | list):
            wrapper: dict[str, Any] = {"d": pruned}
            removed = prune(wrapper, {"type": "object", "properties": {"d": s}})
            if removed:
                self.out.append(_invalid(dpath, default, "must not have unknown fields"))
                return
        errors: list[FieldError] = []
        _OpenAPI(errors).node(default, s, "")
        for e in errors:
            field = dpath if e.field in ("", _NIL) else f"{dpath}.{e.field}"
            self.out.append(FieldError(e.reason, field, e.message))

    def value_validations(self, s: Schema, path: str) -> None:
        skip_any_of = s.get("anyOf") == _INT_OR_STRING_ANY_OF
        all_of = s.get("allOf")
        skip_first_all_of_any_of = (
            isinstance(all_of, list) and bool(all_of) and isinstance(all_of[0], dict)
            and all_of[0].get("anyOf") == _INT_OR_STRING_ANY_OF
        )  # fmt: skip
        for junctor in ("allOf", "anyOf", "oneOf"):
            subs = s.get(junctor)
            if subs is None:
                continue
            if not isinstance(subs, list):
                self.out.append(_invalid(_child(path, junctor), subs, "must be a list of schemas"))
                continue
            if junctor == "anyOf" and skip_any_of:
                continue
            for i, sub in enumerate(subs):
                if isinstance(sub, dict):
                    skip = junctor == "allOf" and i == 0 and skip_first_all_of_any_of
                    self.nested(sub, _index(_child(path, junctor), i), skip_any_of=skip)
        not_ = s.get("not")
        if isinstance(not_, dict):
            self.nested(not_, _child(path, "not"))

    def nested(self, v: Schema, path: str, skip_any_of: bool = False) -> None:
        for k in v:
            if k not in _KEYWORDS:
                self.out.append(_forbidden(_child(path, k), "unknown field"))
            elif k in _UNSUPPORTED:
                self.out.append(_forbidden(_child(path, k), _UNSUPPORTED[k]))
            elif k in _NESTED_FORBIDDEN:
                if k.startswith("x-kubernetes-") and v[k] in (False, None, []):
                    continue
                self.out.append(_forbidden(_child(path, k), _NESTED_FORBIDDEN[k]))
        if v.get("nullable") is True:
            self.out.append(_forbidden(_child(path, "nullable"), "must be false to be structural"))
        if "metadata" in _props(v):
            self.out.append(
                _forbidden(_props_path(path, "metadata"), "must not be specified in a nested context")
            )
        self.keywords(v, path)
        for name, sub in _props(v).items():
            if isinstance(sub, dict):
                self.nested(sub, _props_path(path, name))
        items = v.get("items")
        if isinstance(items, dict):
            self.nested(items, _child(path, "items"))
        if skip_any_of:
            rest = {k: x for k, x in v.items() if k != "anyOf"}
            self.value_validations(rest, path)
        else:
            self.value_validations(v, path)

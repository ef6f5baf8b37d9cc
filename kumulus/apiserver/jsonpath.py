"""The Kubernetes JSONPath dialect (k8s.io/client-go/util/jsonpath), compiled once and run many times.

Used for CRD additionalPrinterColumns and for `-o jsonpath` style templates. The parser follows
client-go's: `{...}` actions with fields (`.a.b`, `.a\\.b` for keys holding dots), `[i]`, `[-1]`,
slices `[a:b:c]`, `[*]`, unions `[0,2]`, `['key']`, `.*`, recursive descent `..name`, filters
`[?(@.type=="Ready")]` with == != < > <= >= or bare existence `[?(@.x)]`, quoted text, and
`{range ...}{end}` blocks. Missing keys yield no result rather than an error, as the API server's
column printer asks of client-go. Values print the way Go prints them (maps and lists as compact
JSON with sorted keys).
"""

from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeAlias


class JSONPathError(ValueError):
    """A JSONPath template that cannot be parsed, or (from strict evaluation) one that fails."""


class _EvalError(Exception):
    pass


# --- nodes -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Text:
    text: str


@dataclass(frozen=True)
class _Field:
    name: str


@dataclass(frozen=True)
class _Wildcard:
    pass


@dataclass(frozen=True)
class _Recursive:
    pass


@dataclass(frozen=True)
class _Param:
    known: bool
    value: int
    derived: bool = False


@dataclass(frozen=True)
class _Array:
    params: tuple[_Param, _Param, _Param]


@dataclass(frozen=True)
class _Union:
    branches: tuple[tuple[_Node, ...], ...]


@dataclass(frozen=True)
class _Filter:
    left: tuple[_Node, ...]
    right: tuple[_Node, ...]
    operator: str  # one of == != < > <= >=, "exists", or anything else (an error when run)


@dataclass(frozen=True)
class _Literal:
    value: int | float | bool


@dataclass(frozen=True)
class _Identifier:
    name: str


_Node: TypeAlias = (
    _Text | _Field | _Wildcard | _Recursive | _Array | _Union | _Filter | _Literal | _Identifier
)


@dataclass(frozen=True)
class _Action:
    nodes: tuple[_Node, ...]


@dataclass(frozen=True)
class _Range:
    nodes: tuple[_Node, ...]
    body: tuple[_Item, ...]


@dataclass(frozen=True)
class _StrayEnd:
    pass


_Item: TypeAlias = _Text | _Action | _Range | _StrayEnd


# --- parser (client-go util/jsonpath/parser.go) ---------------------------------------------------------

_DICT_KEY_RE = re.compile(r"'([^']*)'|\"([^\"]*)\"")
_SLICE_RE = re.compile(r"(-?[0-9]*)(:-?[0-9]*)?(:-?[0-9]*)?")
_FILTER_RE = re.compile(r"([^!<>=]+)([!<>=]+)(.+?)")
_TERMINATORS = frozenset(" \t\r\n.,[]$@{}")


def _is_alnum(c: str) -> bool:
    return c == "_" or c.isalpha() or c.isdecimal()


def _describe_rune(c: str) -> str:
    # Go's %#U.
    text = f"U+{ord(c):04X}"
    return f"{text} '{c}'" if c.isprintable() else text


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.n = len(text)

    def parse_template(self) -> list[_Text | _Action]:
        out: list[_Text | _Action] = []
        pos = 0
        while pos < self.n:
            brace = self.text.find("{", pos)
            if brace < 0:
                out.append(_Text(self.text[pos:]))
                break
            if brace > pos:
                out.append(_Text(self.text[pos:brace]))
            nodes, pos = self.parse_action(brace + 1)
            out.append(_Action(tuple(nodes)))
        return out

    def parse_action(self, pos: int) -> tuple[list[_Node], int]:
        """Parse the inside of an action from `pos` up to and including its closing brace."""
        text, n = self.text, self.n
        nodes: list[_Node] = []
        while True:
            if text.startswith("}", pos):
                return nodes, pos + 1
            if text.startswith("[?(", pos):
                filter_node, pos = self.parse_filter(pos + 3)
                nodes.append(filter_node)
                continue
            if text.startswith("..", pos):
                pos += 2
                nodes.append(_Recursive())
                if pos < n and _is_alnum(text[pos]):
                    field, pos = self.parse_field(pos)
                    nodes.append(field)
                continue
            if pos >= n or text[pos] in "\r\n":
                raise JSONPathError("unclosed action")
            c = text[pos]
            if c in " @$":
                pos += 1
            elif c == "[":
                pos = self.parse_array(pos, nodes)
            elif c in "\"'":
                text_node, pos = self.parse_quote(pos)
                nodes.append(text_node)
            elif c == ".":
                field, pos = self.parse_field(pos + 1)
                nodes.append(field)
            elif c in "+-" or c.isdecimal():
                literal, pos = self.parse_number(pos)
                nodes.append(literal)
            elif _is_alnum(c):
                ident, pos = self.parse_identifier(pos)
                nodes.append(ident)
            else:
                raise JSONPathError(f"unrecognized character in action: {_describe_rune(c)}")

    def parse_field(self, pos: int) -> tuple[_Node, int]:
        start = pos
        while pos < self.n:
            c = self.text[pos]
            if c == "\\":
                pos = min(pos + 2, self.n)
            elif c in _TERMINATORS:
                break
            else:
                pos += 1
        value = self.text[start:pos]
        if value == "*":
            return _Wildcard(), pos
        return _Field(value.replace("\\", "")), pos

    def parse_array(self, pos: int, nodes: list[_Node]) -> int:
        end = pos + 1
        while True:
            if end >= self.n or self.text[end] == "\n":
                raise JSONPathError("unterminated array")
            if self.text[end] == "]":
                break
            end += 1
        inner = self.text[pos + 1 : end]
        pos = end + 1
        if inner == "*":
            inner = ":"
        parts = inner.split(",")
        if len(parts) > 1:
            branches = tuple(tuple(_parse_action_text("[" + p.strip(" ") + "]")) for p in parts)
            nodes.append(_Union(branches))
            return pos
        key = _DICT_KEY_RE.fullmatch(inner)
        if key is not None:
            # client-go re-parses the key as ".key", splitting it at dots; a bracketed key is taken
            # literally here (backslash escapes still removed), so ['app.kubernetes.io/name'] works.
            raw = key.group(1) if key.group(1) is not None else key.group(2)
            nodes.append(_Field(raw.replace("\\", "")))
            return pos
        m = _SLICE_RE.fullmatch(inner)
        if m is None:
            raise JSONPathError(f"invalid array index {inner}")
        groups = [g or "" for g in m.groups()]
        params: list[_Param] = []
        for i, raw in enumerate(groups):
            if raw:
                if i > 0:
                    raw = raw[1:]
                if i > 0 and not raw:
                    params.append(_Param(False, 0))
                else:
                    try:
                        params.append(_Param(True, int(raw)))
                    except ValueError:
                        raise JSONPathError(f"array index {raw} is not a number") from None
            elif i == 1:
                params.append(_Param(True, params[0].value + 1, derived=True))
            else:
                params.append(_Param(False, 0))
        nodes.append(_Array((params[0], params[1], params[2])))
        return pos

    def parse_filter(self, pos: int) -> tuple[_Filter, int]:
        start = pos
        text, n = self.text, self.n
        begin = end = False
        pair = ""
        while True:
            if pos >= n or text[pos] == "\n":
                raise JSONPathError("unterminated filter")
            c = text[pos]
            pos += 1
            if c in "\"'":
                if not begin:
                    begin = True
                    pair = c
                    continue
                if text[pos - 2] != "\\" and c == pair:
                    end = True
            elif c == ")" and begin == end:
                break
        if pos >= n or text[pos] != "]":
            raise JSONPathError("unclosed array expect ]")
        pos += 1
        expr = text[start : pos - 2]
        m = _FILTER_RE.fullmatch(expr)
        if m is None:
            return _Filter(tuple(_parse_action_text(expr)), (), "exists"), pos
        left = tuple(_parse_action_text(m.group(1)))
        right = tuple(_parse_action_text(m.group(3)))
        return _Filter(left, right, m.group(2)), pos

    def parse_quote(self, pos: int) -> tuple[_Text, int]:
        quote = self.text[pos]
        i = pos + 1
        while True:
            if i >= self.n or self.text[i] == "\n":
                raise JSONPathError("unterminated quoted string")
            if self.text[i] == quote and self.text[i - 1] != "\\":
                break
            i += 1
        raw = self.text[pos : i + 1]
        return _Text(_unquote(raw)), i + 1

    def parse_number(self, pos: int) -> tuple[_Literal, int]:
        start = pos
        if self.text[pos] in "+-":
            pos += 1
        while pos < self.n and (self.text[pos] == "." or self.text[pos].isdecimal()):
            pos += 1
        value = self.text[start:pos]
        if value.isascii():
            if re.fullmatch(r"[+-]?[0-9]+", value):
                return _Literal(int(value)), pos
            if re.fullmatch(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)", value):
                return _Literal(float(value)), pos
        raise JSONPathError(f"cannot parse number {value}")

    def parse_identifier(self, pos: int) -> tuple[_Node, int]:
        start = pos
        while pos < self.n and self.text[pos] not in _TERMINATORS:
            pos += 1
        value = self.text[start:pos]
        if value in ("true", "false"):
            return _Literal(value == "true"), pos
        return _Identifier(value), pos


def _parse_action_text(text: str) -> list[_Node]:
    """parseAction: the nodes of `{text}`."""
    parser = _Parser("{" + text + "}")
    nodes, pos = parser.parse_action(1)
    if pos != parser.n:
        # Text after the action (an unbalanced "}" inside); client-go keeps only the first action.
        pass
    return nodes


_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}


def _unquote(raw: str) -> str:
    """UnquoteExtend: strconv.Unquote that also accepts single quotes."""
    quote, body = raw[0], raw[1:-1]
    if "\\" not in body and quote not in body:
        return body
    out: list[str] = []
    i, n = 0, len(body)
    try:
        while i < n:
            c = body[i]
            if c == quote:
                raise ValueError
            if c != "\\":
                out.append(c)
                i += 1
                continue
            e = body[i + 1]
            if e in _SIMPLE_ESCAPES:
                out.append(_SIMPLE_ESCAPES[e])
                i += 2
            elif e in "'\"":
                if e != quote:
                    raise ValueError
                out.append(e)
                i += 2
            elif e in "xuU":
                width = {"x": 2, "u": 4, "U": 8}[e]
                digits = body[i + 2 : i + 2 + width]
                if len(digits) != width or not re.fullmatch(r"[0-9a-fA-F]+", digits):
                    raise ValueError
                out.append(chr(int(digits, 16)))
                i += 2 + width
            elif e in "01234567":
                digits = body[i + 1 : i + 4]
                if not re.fullmatch(r"[0-7]{3}", digits) or int(digits, 8) > 255:
                    raise ValueError
                out.append(chr(int(digits, 8)))
                i += 4
            else:
                raise ValueError
    except (ValueError, IndexError):
        raise JSONPathError(f"unquote string {raw} error invalid syntax") from None
    return "".join(out)


def _structure(parts: list[_Text | _Action]) -> tuple[_Item, ...]:
    """Group `{range ...}` ... `{end}` blocks."""
    stack: list[tuple[list[_Item], tuple[_Node, ...]]] = []
    current: list[_Item] = []
    for part in parts:
        if isinstance(part, _Action) and part.nodes[:1] == (_Identifier("range"),):
            stack.append((current, part.nodes[1:]))
            current = []
        elif isinstance(part, _Action) and part.nodes == (_Identifier("end"),):
            if not stack:
                current.append(_StrayEnd())
                continue
            outer, nodes = stack.pop()
            outer.append(_Range(nodes, tuple(current)))
            current = outer
        else:
            current.append(part)
    while stack:  # an unclosed range runs to the end of the template
        outer, nodes = stack.pop()
        outer.append(_Range(nodes, tuple(current)))
        current = outer
    return tuple(current)


# --- evaluation (client-go util/jsonpath/jsonpath.go) ---------------------------------------------------


def _eval_list(inputs: list[Any], nodes: tuple[_Node, ...]) -> list[Any]:
    cur = inputs
    for node in nodes:
        cur = _eval_node(cur, node)
    return cur


def _eval_node(cur: list[Any], node: _Node) -> list[Any]:
    if isinstance(node, _Field):
        name = node.name
        if not name:  # "{.}" selects the current object
            return [v for v in cur if v is not None]
        return [v[name] for v in cur if isinstance(v, dict) and name in v]
    if isinstance(node, _Array):
        return _eval_array(cur, node)
    if isinstance(node, _Filter):
        return _eval_filter(cur, node)
    if isinstance(node, _Text):
        return [node.text]
    if isinstance(node, _Literal):
        return [node.value] * len(cur)
    if isinstance(node, _Wildcard):
        out: list[Any] = []
        for v in cur:
            if isinstance(v, dict):
                out.extend(v.values())
            elif isinstance(v, list):
                out.extend(v)
        return out
    if isinstance(node, _Recursive):
        return _eval_recursive(cur)
    if isinstance(node, _Union):
        out = []
        for branch in node.branches:
            out.extend(_eval_list(cur, branch))
        return out
    if node.name == "range":
        return cur
    if node.name == "end":
        raise _EvalError("not in range, nothing to end")
    raise _EvalError(f"unrecognized identifier {node.name}")


def _eval_recursive(cur: list[Any]) -> list[Any]:
    out: list[Any] = []
    for v in cur:
        if isinstance(v, dict):
            children = list(v.values())
        elif isinstance(v, list):
            children = v
        else:
            continue
        if children:
            out.append(v)
            out.extend(_eval_recursive(children))
    return out


def _go_type(value: Any) -> str:
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    return "<invalid reflect.Value>"


def _eval_array(cur: list[Any], node: _Array) -> list[Any]:
    result: list[Any] = []
    p0, p1, p2 = node.params
    for value in cur:
        if value is None:
            continue
        if not isinstance(value, list):
            raise _EvalError(f"{_go_type(value)} is not array or slice")
        length = len(value)
        start = p0.value if p0.known else 0
        if start < 0:
            start += length
        end = p1.value if p1.known else length
        if end < 0 or (end == 0 and p1.derived):
            end += length
        if end == start:
            return result  # client-go stops here, keeping what it has
        if start >= length or start < 0:
            raise _EvalError(f"array index out of bounds: index {start}, length {length}")
        if end > length or end < 0:
            raise _EvalError(f"array index out of bounds: index {end - 1}, length {length}")
        if start > end:
            raise _EvalError(f"starting index {start} is greater than ending index {end}")
        step = 1
        if p2.known:
            if p2.value <= 0:
                raise _EvalError("step must be > 0")
            step = p2.value
        result.extend(value[start:end:step])
    return result


def _eval_filter(cur: list[Any], node: _Filter) -> list[Any]:
    results: list[Any] = []
    for value in cur:
        if not isinstance(value, list):
            shown = "<invalid reflect.Value>" if value is None else format_value(value)
            raise _EvalError(f"{shown} is not array or slice and cannot be filtered")
        for item in value:
            if node.operator == "exists":
                try:
                    lefts = _eval_list([item], node.left)
                except _EvalError:
                    lefts = []
                if lefts:
                    results.append(item)
                continue
            lefts = _eval_list([item], node.left)
            if not lefts:
                continue
            if len(lefts) > 1:
                raise _EvalError("can only compare one element at a time")
            rights = _eval_list([item], node.right)
            if not rights:
                continue
            if len(rights) > 1:
                raise _EvalError("can only compare one element at a time")
            if _compare(node.operator, lefts[0], rights[0]):
                results.append(item)
    return results


def _basic_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    raise _EvalError("invalid type for comparison")


def _compare(op: str, left: Any, right: Any) -> bool:
    """The forked text/template comparisons: same basic kind required, no bool ordering."""
    if op not in ("==", "!=", "<", ">", "<=", ">="):
        raise _EvalError(f"unrecognized filter operator {op}")
    kl, kr = _basic_kind(left), _basic_kind(right)
    if kl != kr:
        raise _EvalError("incompatible types for comparison")
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if kl == "bool":
        raise _EvalError("invalid type for comparison")
    less = bool(left < right)
    if op == "<":
        return less
    if op == ">=":
        return not less
    less_equal = less or bool(left == right)
    return less_equal if op == "<=" else not less_equal


def _eval_items(items: tuple[_Item, ...], data: Any) -> list[list[Any]]:
    groups: list[list[Any]] = []
    for item in items:
        if isinstance(item, _Text):
            groups.append([item.text])
        elif isinstance(item, _Action):
            groups.append(_eval_list([data], item.nodes))
        elif isinstance(item, _Range):
            for value in _eval_list([data], item.nodes):
                groups.extend(_eval_items(item.body, value))
        else:
            raise _EvalError("not in range, nothing to end")
    return groups


# --- compiled templates ---------------------------------------------------------------------------------


class Compiled:
    """A parsed JSONPath template; immutable and safe to share."""

    __slots__ = ("_items", "expr")

    def __init__(self, expr: str, items: tuple[_Item, ...]) -> None:
        self.expr = expr
        self._items = items

    def find_results(self, obj: Any) -> list[list[Any]]:
        """One result list per action (or text) of the template; raises JSONPathError when an
        evaluation fails (an index out of range, comparing a string with a number, ...)."""
        try:
            return _eval_items(self._items, obj)
        except _EvalError as e:
            raise JSONPathError(str(e)) from None

    def find(self, obj: Any) -> list[Any]:
        """All values the template selects, in order; a failed evaluation selects nothing."""
        try:
            groups = _eval_items(self._items, obj)
        except _EvalError:
            return []
        if len(groups) == 1:
            return groups[0]
        return [v for group in groups for v in group]

    def render(self, obj: Any) -> str:
        """The template's output as `kubectl get -o jsonpath=...` prints it."""
        return "".join(" ".join(format_value(v) for v in group) for group in self.find_results(obj))

    def __repr__(self) -> str:
        return f"Compiled({self.expr!r})"


@functools.lru_cache(maxsize=1024)
def compile_path(expr: str) -> Compiled:
    """Compile a path (".status.phase") or a template ("{.status.phase}", "x={.a}{range ...}{end}")."""
    template = expr if "{" in expr else "{" + expr + "}"
    return Compiled(expr, _structure(_Parser(template).parse_template()))


# --- printing values the way Go does --------------------------------------------------------------------


def format_value(value: Any) -> str:
    """One value as client-go's PrintResults writes it: maps and lists as compact JSON, strings bare,
    numbers and booleans as Go's fmt prints them, null as <nil>."""
    if isinstance(value, str):
        return value
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_format_float(value)
    if isinstance(value, (dict, list)):
        return go_json(value)
    return str(value)


def _float_digits(value: float) -> tuple[str, int]:
    """Shortest round-trip digits of abs(value) (no leading or trailing zeros) and the position of
    the decimal point relative to them: 1.5 -> ("15", 1), 0.001 -> ("1", -2), 1200.0 -> ("12", 4)."""
    _, digit_tuple, exponent = Decimal(repr(abs(value))).as_tuple()
    assert isinstance(exponent, int)
    raw = "".join(str(d) for d in digit_tuple)
    digits = raw.lstrip("0")
    point = len(raw) + exponent - (len(raw) - len(digits))
    return digits.rstrip("0") or "0", point


def _float_e(digits: str, point: int) -> str:
    exp = point - 1
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    sign = "-" if exp < 0 else "+"
    return f"{mantissa}e{sign}{abs(exp):02d}"


def _float_f(digits: str, point: int) -> str:
    if point <= 0:
        return "0." + "0" * (-point) + digits
    if point >= len(digits):
        return digits + "0" * (point - len(digits))
    return digits[:point] + "." + digits[point:]


def go_format_float(value: float) -> str:
    """fmt.Sprint of a float64 (%v, i.e. %g with the shortest digits: exponent form below 1e-4
    and from 1e6, so 1e6 prints as "1e+06")."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    if value == 0:
        return sign + "0"
    digits, point = _float_digits(value)
    exp = point - 1
    if exp < -4 or exp >= 6:
        return sign + _float_e(digits, point)
    return sign + _float_f(digits, point)


def _go_json_float(value: float) -> str:
    if not math.isfinite(value):
        raise ValueError(f"json: unsupported value: {value}")
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    sign = "-" if value < 0 else ""
    digits, point = _float_digits(value)
    if abs(value) < 1e-6 or abs(value) >= 1e21:
        text = _float_e(digits, point)
        text = re.sub(r"e-0([0-9])$", r"e-\1", text)
        return sign + text
    return sign + _float_f(digits, point)


_HTML_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def _go_json_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False).translate(_HTML_ESCAPES)


def go_json(value: Any) -> str:
    """encoding/json.Marshal of a decoded JSON value: compact, map keys sorted, HTML-safe."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_json_float(value)
    if isinstance(value, str):
        return _go_json_string(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{_go_json_string(str(k))}:{go_json(value[k])}" for k in sorted(value)) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(go_json(v) for v in value) + "]"
    raise ValueError(f"json: unsupported type: {type(value).__name__}")

"""The Kubernetes JSONPath dialect: parsing, evaluation, printing and errors."""

from __future__ import annotations

from typing import Any

import pytest

from kumulus.apiserver.jsonpath import JSONPathError, compile_path, format_value, go_format_float, go_json

OBJ: dict[str, Any] = {
    "apiVersion": "compute.kumulus.dev/v1",
    "kind": "Server",
    "metadata": {
        "name": "web-1",
        "labels": {"app.kubernetes.io/name": "web", "tier": "fe"},
        "annotations": {"note": "x"},
    },
    "spec": {
        "cpus": 4,
        "ratio": 1.5,
        "enabled": True,
        "nothing": None,
        "ports": [
            {"name": "http", "port": 80},
            {"name": "https", "port": 443},
            {"name": "admin", "port": 8080},
        ],
        "tags": ["a", "b", "c", "d"],
        "empty": [],
        "nested": {"z": 1, "a": [1, {"k": None}]},
    },
    "status": {
        "phase": "Running",
        "conditions": [
            {"type": "Ready", "status": "True", "count": 3, "weight": 0.5},
            {"type": "Synced", "status": "False", "count": 1, "weight": 2.5},
            {"type": "Degraded", "status": "False", "count": 0},
        ],
    },
}


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        (".metadata.name", ["web-1"]),
        ("{.metadata.name}", ["web-1"]),
        ("$.metadata.name", ["web-1"]),
        (".status.phase", ["Running"]),
        (".spec.cpus", [4]),
        (".spec.enabled", [True]),
        (".spec.nothing", [None]),
        (".metadata.labels.app\\.kubernetes\\.io/name", ["web"]),
        (".metadata.labels['app.kubernetes.io/name']", ["web"]),
        ('.metadata.labels["tier"]', ["fe"]),
        (".metadata.labels['tier']", ["fe"]),
        (".spec.ports[0].name", ["http"]),
        (".spec.ports[-1].port", [8080]),
        (".spec.ports[*].port", [80, 443, 8080]),
        (".spec.ports[0:2].name", ["http", "https"]),
        (".spec.ports[1:].name", ["https", "admin"]),
        (".spec.ports[:1].name", ["http"]),
        (".spec.tags[::2]", ["a", "c"]),
        (".spec.tags[1:-1]", ["b", "c"]),
        (".spec.tags[0,3]", ["a", "d"]),
        (".spec.tags[2:2]", []),
        (".spec.ports[*]['name']", ["http", "https", "admin"]),
        (".metadata.labels.*", ["web", "fe"]),
        (".spec.tags.*", ["a", "b", "c", "d"]),
        ("..port", [80, 443, 8080]),
        (".status..type", ["Ready", "Synced", "Degraded"]),
        (".spec.ports[?(@.port>100)].name", ["https", "admin"]),
        (".spec.ports[?(@.port>=443)].name", ["https", "admin"]),
        (".spec.ports[?(@.port<443)].name", ["http"]),
        (".spec.ports[?(@.port<=443)].name", ["http", "https"]),
        (".spec.ports[?(@.port==80)].name", ["http"]),
        (".spec.ports[?(@.port!=80)].name", ["https", "admin"]),
        ('.spec.ports[?(@.name=="https")].port', [443]),
        (".spec.ports[?(@.name=='admin')].port", [8080]),
        ('.spec.ports[?(@.name>"b")].name', ["http", "https"]),
        ('.status.conditions[?(@.type=="Ready")].status', ["True"]),
        ('.status.conditions[?(@.type!="Ready")].type', ["Synced", "Degraded"]),
        (".status.conditions[?(@.count>1)].type", ["Ready"]),
        (".status.conditions[?(@.weight>1.0)].type", ["Synced"]),
        (".status.conditions[?(@.weight)].type", ["Ready", "Synced"]),
        (".status.conditions[?(@.missing)].type", []),
        ('.status.conditions[?(@.type=="Nope")].status', []),
        # Missing keys select nothing rather than failing.
        (".status.missing", []),
        (".missing.deeper.still", []),
        (".spec.nothing.deeper", []),
        (".spec.cpus.deeper", []),
        (".spec.ports.name", []),
        (".spec.empty[*]", []),
        ("", [OBJ]),
    ],
)
def test_find(expr: str, expected: list[Any]) -> None:
    assert compile_path(expr).find(OBJ) == expected


@pytest.mark.parametrize(
    "expr",
    [
        ".spec.tags[9]",  # index out of range
        ".spec.empty[0]",
        ".spec.empty[-1]",
        ".spec.tags[3:1]",
        ".spec.tags[0:9]",
        ".spec.tags[::0]",
        ".metadata.labels[0]",  # not a list
        ".metadata[*]",
        ".spec.cpus[?(@.x)]",  # filtering a non-list
        '.status.conditions[?(@.count=="3")].type',  # incompatible types
        ".status.conditions[?(@.weight>1)].type",  # float against int
        ".status.conditions[?(@.status<true)].type",
        ".status.conditions[?(@.count=<1)].type",  # unknown operator
        "metadata.name",  # an identifier, not a field
        ".status.conditions[?(@.*=='x')].type",  # more than one value
        "{.metadata.name}{foo}",
        "{end}",
    ],
)
def test_failing_evaluation_selects_nothing(expr: str) -> None:
    compiled = compile_path(expr)
    assert compiled.find(OBJ) == []
    with pytest.raises(JSONPathError):
        compiled.find_results(OBJ)


def test_failing_evaluation_messages() -> None:
    def error(expr: str) -> str:
        with pytest.raises(JSONPathError) as info:
            compile_path(expr).find_results(OBJ)
        return str(info.value)

    assert error(".spec.tags[9]") == "array index out of bounds: index 9, length 4"
    assert error(".spec.tags[0:9]") == "array index out of bounds: index 8, length 4"
    assert error(".spec.tags[3:1]") == "starting index 3 is greater than ending index 1"
    assert error(".spec.tags[::0]") == "step must be > 0"
    assert error(".metadata[0]") == "map[string]interface {} is not array or slice"
    assert error('.status.conditions[?(@.count=="3")]') == "incompatible types for comparison"
    assert error(".status.conditions[?(@.status<true)]") == "incompatible types for comparison"
    assert error(".spec.tags[?(@<true)]") == "incompatible types for comparison"
    assert error(".status.conditions[?(@.count=<1)]") == "unrecognized filter operator =<"
    assert error(".status.conditions[?(@.type=<1)]") == "unrecognized filter operator =<"
    assert error("{foo}") == "unrecognized identifier foo"
    assert error("{end}") == "not in range, nothing to end"


def test_filter_on_booleans_and_nulls() -> None:
    obj = {"items": [{"ok": True, "v": None}, {"ok": False, "v": 1}]}
    assert compile_path(".items[?(@.ok==true)].v").find(obj) == [None]
    assert compile_path(".items[?(@.ok!=true)].v").find(obj) == [1]
    assert compile_path(".items[?(@.v)].ok").find(obj) == [True, False]
    with pytest.raises(JSONPathError, match="invalid type for comparison"):
        compile_path(".items[?(@.v==1)]").find_results(obj)
    with pytest.raises(JSONPathError, match="invalid type for comparison"):
        compile_path(".items[?(@.ok<true)]").find_results({"items": [{"ok": True}]})


def test_find_results_groups_and_render() -> None:
    compiled = compile_path("{.metadata.name} has {.spec.ports[*].port}")
    assert compiled.find_results(OBJ) == [["web-1"], [" has "], [80, 443, 8080]]
    assert compiled.find(OBJ) == ["web-1", " has ", 80, 443, 8080]
    assert compiled.render(OBJ) == "web-1 has 80 443 8080"


def test_render_values_like_go() -> None:
    assert compile_path(".spec.nested").render(OBJ) == '{"a":[1,{"k":null}],"z":1}'
    assert compile_path(".spec.tags").render(OBJ) == '["a","b","c","d"]'
    assert compile_path(".spec.enabled").render(OBJ) == "true"
    assert compile_path(".spec.ratio").render(OBJ) == "1.5"
    assert compile_path(".spec.nothing").render(OBJ) == "<nil>"
    assert compile_path(".status.missing").render(OBJ) == ""


def test_range() -> None:
    compiled = compile_path('{range .spec.ports[*]}{.name}={.port}{"\\n"}{end}')
    assert compiled.render(OBJ) == "http=80\nhttps=443\nadmin=8080\n"
    nested = compile_path("{range .items[*]}[{range .xs[*]}{.}{end}]{end}")
    assert nested.render({"items": [{"xs": [1, 2]}, {"xs": []}, {"xs": ["a"]}]}) == "[12][][a]"
    unclosed = compile_path("{range .spec.tags[*]}<{.}>")
    assert unclosed.render(OBJ) == "<a><b><c><d>"


def test_quoted_text_and_literals() -> None:
    assert compile_path('{"a\\tb"}').find({}) == ["a\tb"]
    assert compile_path("{'it\\'s'}").find({}) == ["it's"]
    assert compile_path('{"\\u00e9\\x41"}').find({}) == ["éA"]
    assert compile_path("{.a}{'}'}").find({"a": 1}) == [1, "}"]
    assert compile_path('.spec.ports[?(@.name=="a)b")].port').find(
        {"spec": {"ports": [{"name": "a)b", "port": 1}]}}
    ) == [1]


def test_compile_is_cached() -> None:
    assert compile_path(".status.phase") is compile_path(".status.phase")
    assert repr(compile_path(".a")) == "Compiled('.a')"


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        (".a[", "unterminated array"),
        (".a[0", "unterminated array"),
        (".a[x]", "invalid array index x"),
        (".a[1.5]", "invalid array index 1.5"),
        (".a[-]", "array index - is not a number"),
        ("{.a", "unclosed action"),
        ("x{.a", "unclosed action"),
        (".a[?(@.b==1)", "unclosed array expect ]"),
        (".a[?(@.b==1", "unterminated filter"),
        (".a[?(@.b=='x)]", "unterminated filter"),
        ('.a["x]', 'invalid array index "x'),
        ('{"abc}', "unterminated quoted string"),
        ('{"a\\qb"}', 'unquote string "a\\qb" error invalid syntax'),
        (".a[?(@.b==1.2.3)]", "cannot parse number 1.2.3"),
        (".a#b{", "unclosed action"),
        (".a,b", "unrecognized character in action: U+002C ','"),
        (".a]", "unrecognized character in action: U+005D ']'"),
        (".a[0]=", "unrecognized character in action: U+003D '='"),
        ("..*", "unrecognized character in action: U+002A '*'"),
        ("{.a\t}", "unrecognized character in action: U+0009"),
        ("{{.a}}", "unrecognized character in action: U+007B '{'"),
    ],
)
def test_syntax_errors(expr: str, message: str) -> None:
    with pytest.raises(JSONPathError) as info:
        compile_path(expr)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("plain", "plain"),
        (True, "true"),
        (False, "false"),
        (None, "<nil>"),
        (42, "42"),
        (-7, "-7"),
        (1.0, "1"),
        (2.5, "2.5"),
        (0.1, "0.1"),
        (100000.0, "100000"),
        (1e6, "1e+06"),
        (1234567.0, "1.234567e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (-0.0, "-0"),
        ({"b": 1, "a": "<&>"}, '{"a":"\\u003c\\u0026\\u003e","b":1}'),
        ([1, "x", None, 1.5e-7, 1e21], '[1,"x",null,1.5e-7,1e+21]'),
        ({"é": ["ü"]}, '{"é":["ü"]}'),
    ],
)
def test_format_value(value: Any, text: str) -> None:
    assert format_value(value) == text


def test_go_json_and_floats() -> None:
    assert go_json({"z": {"y": 1.0, "x": 1e20}, "a": [True, False]}) == (
        '{"a":[true,false],"z":{"x":100000000000000000000,"y":1}}'
    )
    assert go_json("line\nbreak\u2028") == '"line\\nbreak\\u2028"'
    assert go_format_float(float("inf")) == "+Inf"
    assert go_format_float(float("-inf")) == "-Inf"
    assert go_format_float(float("nan")) == "NaN"
    assert go_format_float(123456.789) == "123456.789"
    assert go_format_float(-1e-7) == "-1e-07"
    with pytest.raises(ValueError):
        go_json(float("nan"))

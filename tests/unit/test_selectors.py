"""Label and field selectors: kube grammar, matching semantics and error texts."""

from __future__ import annotations

import pytest

from kumulus.apiserver.selectors import (
    FieldSelector,
    LabelSelector,
    SelectorError,
    field_value,
    label_selector_from_dict,
    parse_field_selector,
    parse_label_selector,
)

NAME_RULE = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
VALUE_RULE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "
    "must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
    "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)


# --- label selector parsing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("a=b", "a=b"),
        ("a==b", "a==b"),
        ("a!=b", "a!=b"),
        ("a in (x, y)", "a in (x,y)"),
        ("a in (y,x,y)", "a in (x,y)"),
        ("a notin (x)", "a notin (x)"),
        ("a", "a"),
        ("!a", "!a"),
        ("a>5", "a>5"),
        ("a<5", "a<5"),
        ("a=", "a="),
        ("a in ()", "a in ()"),
        ("  env = prod ,  tier!=db,app  ", "app,env=prod,tier!=db"),
        ("z=1,b in (q),!c", "b in (q),!c,z=1"),
        ("example.com/app=web", "example.com/app=web"),
        ("in=notin", "in=notin"),
        ("a in (in,notin)", "a in (in,notin)"),
        ("a\tin\t(x)\n", "a in (x)"),
    ],
)
def test_parse_label_selector_canonical_form(text: str, canonical: str) -> None:
    assert str(parse_label_selector(text)) == canonical


def test_parse_label_selector_empty_matches_everything() -> None:
    for text in ("", "   "):
        selector = parse_label_selector(text)
        assert selector.empty
        assert selector.matches({})
        assert selector.matches({"a": "b"})
    assert not parse_label_selector("a").empty


def test_parse_label_selector_requirements() -> None:
    selector = parse_label_selector("b in (y, x), a")
    assert [(r.key, r.operator, r.values) for r in selector.requirements] == [
        ("a", "exists", ()),
        ("b", "in", ("x", "y")),
    ]


def test_parse_label_selector_is_cached() -> None:
    assert parse_label_selector("cached=yes") is parse_label_selector("cached=yes")


LABELS = {"env": "prod", "tier": "web", "n": "10"}


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ("env=prod", LABELS, True),
        ("env==prod", LABELS, True),
        ("env=dev", LABELS, False),
        ("missing=x", LABELS, False),
        # != and notin also select objects without the label.
        ("env!=dev", LABELS, True),
        ("env!=prod", LABELS, False),
        ("missing!=x", LABELS, True),
        ("env notin (dev,test)", LABELS, True),
        ("env notin (prod)", LABELS, False),
        ("missing notin (x)", LABELS, True),
        ("env in (dev,prod)", LABELS, True),
        ("env in (dev)", LABELS, False),
        ("missing in (x)", LABELS, False),
        ("env", LABELS, True),
        ("missing", LABELS, False),
        ("!missing", LABELS, True),
        ("!env", LABELS, False),
        ("env=prod,tier=web", LABELS, True),
        ("env=prod,tier=db", LABELS, False),
        ("n>9", LABELS, True),
        ("n>10", LABELS, False),
        ("n<11", LABELS, True),
        ("env>1", LABELS, False),  # not an integer
        ("missing>1", LABELS, False),
        ("e=", {"e": ""}, True),
        ("e=", {}, False),
        ("e in ()", {"e": ""}, True),
        ("e in (,x)", {"e": ""}, True),
    ],
)
def test_label_selector_matches(text: str, labels: dict[str, str], expected: bool) -> None:
    assert parse_label_selector(text).matches(labels) is expected


def test_label_selector_matches_none_labels() -> None:
    assert parse_label_selector("!a").matches(None)
    assert not parse_label_selector("a").matches(None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "app:monolith",
            f'unable to parse requirement: <nil>: Invalid value: "app:monolith": {NAME_RULE}',
        ),
        (
            "app.kubernetes_io/name=vault",
            'unable to parse requirement: <nil>: Invalid value: "app.kubernetes_io/name": prefix part a '
            "lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
            "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
            "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        ),
        (
            "a/b/c ?=? def",
            'unable to parse requirement: <nil>: Invalid value: "a/b/c": a qualified name must consist of '
            "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
            "character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
            "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' "
            "(e.g. 'example.com/MyName')",
        ),
        (
            "/a=b",
            'unable to parse requirement: <nil>: Invalid value: "/a": prefix part must be non-empty',
        ),
        (
            "example.com/=b",
            'unable to parse requirement: <nil>: Invalid value: "example.com/": name part must be '
            f"non-empty; {NAME_RULE}",
        ),
        (
            "x" * 64,
            f'unable to parse requirement: <nil>: Invalid value: "{"x" * 64}": name part must be no more '
            "than 63 characters",
        ),
        (
            "app=demo-{nginx}",
            f'unable to parse requirement: values[0][app]: Invalid value: "demo-{{nginx}}": {VALUE_RULE}',
        ),
        (
            "app in (ok, -bad)",
            f'unable to parse requirement: values[0][app]: Invalid value: "-bad": {VALUE_RULE}',
        ),
        (
            "a=" + "v" * 64,
            f'unable to parse requirement: values[0][a]: Invalid value: "{"v" * 64}": must be no more '
            "than 63 characters",
        ),
        (
            "environment>qa",
            "unable to parse requirement: values[0]: Invalid value: \"qa\": for 'Gt', 'Lt' operators, the "
            "value must be an integer",
        ),
        ("a in b", "unable to parse requirement: found 'b' expected: '('"),
        ("a in (b", "unable to parse requirement: found '', expected: ',' or ')'"),
        ("a in (b c)", "unable to parse requirement: found 'c', expected: ',' or ')'"),
        ("a in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier"),
        ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
        ("a=(", "unable to parse requirement: found '(', expected: identifier"),
        ("!=a", "found '!=', expected: !, identifier, or 'end of string'"),
        ("!(", "unable to parse requirement: found '(', expected: identifier"),
        ("a=b,", "found '', expected: identifier after ','"),
        ("a=b,,c", "found ',', expected: identifier after ','"),
        (",a", "found ',', expected: !, identifier, or 'end of string'"),
        ("!a=b", "found '=', expected: ',' or 'end of string'"),
        ("a=b c", "found 'c', expected: ',' or 'end of string'"),
    ],
)
def test_parse_label_selector_errors(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as info:
        parse_label_selector(text)
    assert str(info.value) == message


# --- metav1.LabelSelector -------------------------------------------------------------------------------


def test_label_selector_from_dict() -> None:
    selector = label_selector_from_dict(
        {
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["fe", "be"]},
                {"key": "env", "operator": "NotIn", "values": ["dev"]},
                {"key": "team", "operator": "Exists"},
                {"key": "legacy", "operator": "DoesNotExist"},
            ],
        }
    )
    assert str(selector) == "app=web,env notin (dev),!legacy,team,tier in (be,fe)"
    assert selector.matches({"app": "web", "tier": "fe", "team": "a"})
    assert selector.matches({"app": "web", "tier": "be", "team": "a", "env": "prod"})
    assert not selector.matches({"app": "web", "tier": "fe", "team": "a", "env": "dev"})
    assert not selector.matches({"app": "web", "tier": "fe", "team": "a", "legacy": "1"})
    assert not selector.matches({"app": "web", "tier": "fe"})
    assert not selector.empty


def test_label_selector_from_dict_empty_and_none() -> None:
    assert label_selector_from_dict({}).empty
    assert label_selector_from_dict({"matchLabels": {}, "matchExpressions": []}).matches({"x": "y"})
    nothing = label_selector_from_dict(None)
    assert not nothing.empty
    assert not nothing.matches({})
    assert nothing == LabelSelector.nothing()
    assert LabelSelector() == LabelSelector.everything()


@pytest.mark.parametrize(
    ("sel", "message"),
    [
        (
            {"matchExpressions": [{"key": "a", "operator": "Foo"}]},
            '"Foo" is not a valid label selector operator',
        ),
        (
            {"matchExpressions": [{"key": "a", "operator": "In", "values": []}]},
            "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty",
        ),
        (
            {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
            'values: Invalid value: []string{"x"}: values set must be empty for exists and does not exist',
        ),
        ({"matchLabels": {"bad key": "x"}}, f'key: Invalid value: "bad key": {NAME_RULE}'),
        ({"matchLabels": {"k": "bad value"}}, f'values[0][k]: Invalid value: "bad value": {VALUE_RULE}'),
        (
            {"matchExpressions": [{"key": "-k", "operator": "NotIn", "values": ["-v"]}]},
            f'[key: Invalid value: "-k": {NAME_RULE}, values[0][-k]: Invalid value: "-v": {VALUE_RULE}]',
        ),
    ],
)
def test_label_selector_from_dict_errors(sel: dict[str, object], message: str) -> None:
    with pytest.raises(SelectorError) as info:
        label_selector_from_dict(sel)
    assert str(info.value) == message


# --- field selectors ------------------------------------------------------------------------------------

ALLOWED = {"metadata.name", "metadata.namespace", "spec.color", "status.phase"}


def test_parse_field_selector() -> None:
    selector = parse_field_selector("spec.color!=red,metadata.name==foo", ALLOWED)
    assert selector.requirements == [("metadata.name", "=", "foo"), ("spec.color", "!=", "red")]
    assert str(selector) == "metadata.name=foo,spec.color!=red"
    assert selector.value_for("metadata.name") == "foo"
    assert selector.value_for("spec.color") is None


def test_parse_field_selector_empty() -> None:
    selector = parse_field_selector("", ALLOWED)
    assert selector.empty
    assert selector.matches(lambda _: None)
    assert parse_field_selector(",", ALLOWED).empty


def test_parse_field_selector_escapes() -> None:
    selector = parse_field_selector(r"metadata.name=a\,b\=c\\d,spec.color=x", ALLOWED)
    assert selector.requirements == [("metadata.name", "=", "a,b=c\\d"), ("spec.color", "=", "x")]
    assert str(selector) == r"metadata.name=a\,b\=c\\d,spec.color=x"


def test_parse_field_selector_empty_value() -> None:
    assert parse_field_selector("status.phase=", ALLOWED).requirements == [("status.phase", "=", "")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("spec.size=1", "field label not supported: spec.size"),
        ("zzz=1,aaa=2", "field label not supported: aaa"),
        ("metadata.name = foo", "field label not supported: metadata.name "),
        ("foo", "invalid selector: 'foo'; can't understand 'foo'"),
        ("metadata.name=a,bar", "invalid selector: 'metadata.name=a,bar'; can't understand 'bar'"),
        ("metadata.name=a=b", "invalid field selector: unescaped character in value: 61"),
        ("metadata.name==a=b", "invalid field selector: unescaped character in value: 61"),
        (r"metadata.name=a\x", "invalid field selector: invalid escape sequence: \\x"),
        ("metadata.name=a\\", "invalid field selector: invalid escape sequence: \\"),
    ],
)
def test_parse_field_selector_errors(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as info:
        parse_field_selector(text, ALLOWED)
    assert str(info.value) == message


def test_field_selector_matches() -> None:
    obj = {"metadata": {"name": "a", "namespace": "ns"}, "spec": {"color": "red"}}

    def matches(text: str) -> bool:
        return parse_field_selector(text, ALLOWED).matches(lambda path: field_value(obj, path))

    assert matches("metadata.name=a")
    assert not matches("metadata.name=b")
    assert matches("metadata.name!=b")
    assert not matches("metadata.name!=a")
    assert matches("metadata.name=a,spec.color=red")
    assert not matches("metadata.name=a,spec.color=blue")
    # An absent field compares as "".
    assert matches("status.phase=")
    assert not matches("status.phase!=")
    assert matches("status.phase!=Running")
    assert not matches("status.phase=Running")
    assert parse_field_selector("spec.color=red", ALLOWED).matches_object(obj)


def test_field_selector_direct_construction() -> None:
    selector = FieldSelector([("a", "=", "1")])
    assert selector.matches(lambda path: "1")
    assert not selector.matches(lambda path: "2")
    assert repr(selector) == "FieldSelector('a=1')"


def test_field_value() -> None:
    obj = {
        "metadata": {"name": "a"},
        "involvedObject": {"name": "pod-1", "uid": ""},
        "spec": {"replicas": 3, "ready": True, "off": False, "ratio": 0.5, "whole": 2.0, "tags": ["x"]},
        "status": {"info": {"k": "v"}, "none": None},
    }
    assert field_value(obj, "metadata.name") == "a"
    assert field_value(obj, "involvedObject.name") == "pod-1"
    assert field_value(obj, "involvedObject.uid") == ""
    assert field_value(obj, "spec.replicas") == "3"
    assert field_value(obj, "spec.ready") == "true"
    assert field_value(obj, "spec.off") == "false"
    assert field_value(obj, "spec.ratio") == "0.5"
    assert field_value(obj, "spec.whole") == "2"
    assert field_value(obj, "spec.tags") == '["x"]'
    assert field_value(obj, "status.info") == '{"k":"v"}'
    assert field_value(obj, "status.none") is None
    assert field_value(obj, "status.missing") is None
    assert field_value(obj, "metadata.name.deeper") is None
    assert field_value(obj, "nothing.here") is None

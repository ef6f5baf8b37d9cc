"""meta.k8s.io Tables: negotiation, durations, CRD printer columns and built-in printers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kumulus.apiserver.errors import ApiError
from kumulus.apiserver.resources import PrinterColumn, ResourceInfo
from kumulus.apiserver.table import (
    CREATION_TIMESTAMP_DESCRIPTION,
    NAME_DESCRIPTION,
    builtin_columns,
    column_definitions,
    default_columns,
    human_duration,
    parse_time,
    table_for,
    table_version,
    wants_table,
)

NOW = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
KUBECTL_ACCEPT = (
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,"
    "application/json"
)
COLUMN_PREFIX = "Custom resource definition column (in JSONPath format): "
NAME_COLUMN = {
    "name": "Name",
    "type": "string",
    "format": "name",
    "description": NAME_DESCRIPTION,
    "priority": 0,
}
AGE_COLUMN = {
    "name": "Age",
    "type": "string",
    "format": "",
    "description": CREATION_TIMESTAMP_DESCRIPTION,
    "priority": 0,
}


def builtin(group: str, plural: str, kind: str, **kwargs: Any) -> ResourceInfo:
    version = "v1"
    return ResourceInfo(
        group=group,
        version=version,
        plural=plural,
        singular=kind.lower(),
        kind=kind,
        namespaced=True,
        builtin=True,
        **kwargs,
    )


def crd(*columns: PrinterColumn) -> ResourceInfo:
    return ResourceInfo(
        group="compute.kumulus.dev",
        version="v1",
        plural="servers",
        singular="server",
        kind="Server",
        namespaced=True,
        printer_columns=columns,
        crd_name="servers.compute.kumulus.dev",
    )


# --- negotiation ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "version"),
    [
        (KUBECTL_ACCEPT, "v1"),
        ("application/json;as=Table;v=v1;g=meta.k8s.io", "v1"),
        ("application/json;g=meta.k8s.io;v=v1;as=Table", "v1"),
        ("application/json;as=Table;v=v1beta1;g=meta.k8s.io", "v1beta1"),
        (
            "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json;as=Table;v=v1;g=meta.k8s.io",
            "v1beta1",
        ),
        ("application/yaml;as=Table;v=v1;g=meta.k8s.io", "v1"),
        ("application/*;as=Table;v=v1;g=meta.k8s.io", "v1"),
        (" application/json ; as=Table ; v=v1 ; g=meta.k8s.io ", "v1"),
        ("text/html,application/json;as=Table;v=v1;g=meta.k8s.io", "v1"),
        ("application/json;as=Table;v=v2;g=meta.k8s.io,application/json;as=Table;v=v1;g=meta.k8s.io", "v1"),
        ("application/json;as=Table;v=v1;g=other.io,application/json;as=Table;v=v1;g=meta.k8s.io", "v1"),
        (
            "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io,"
            "application/json;as=Table;v=v1;g=meta.k8s.io",
            "v1",
        ),
        ("", None),
        ("application/json", None),
        ("*/*", None),
        ("application/json,application/json;as=Table;v=v1;g=meta.k8s.io", None),
        ("application/json;as=Table;v=v1;g=meta.k8s.io;q=0.5,application/json", None),
        ("application/json;as=Table;v=v2;g=meta.k8s.io,application/json", None),
        ("application/json;as=Table,application/json", None),
        (
            "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,"
            "application/json;as=Table;v=v1;g=meta.k8s.io",
            None,
        ),
        ("text/plain;as=Table;v=v1;g=meta.k8s.io", None),
        ("garbage", None),
    ],
)
def test_table_version(accept: str, version: str | None) -> None:
    assert table_version(accept) == version
    assert wants_table(accept) is (version is not None)


# --- durations ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-3, "<invalid>"),
        (-2, "<invalid>"),
        (-1.9, "0s"),
        (-1, "0s"),
        (-0.5, "0s"),
        (0, "0s"),
        (0.9, "0s"),
        (1, "1s"),
        (45, "45s"),
        (119, "119s"),
        (119.99, "119s"),
        (120, "2m"),
        (121, "2m1s"),
        (310, "5m10s"),
        (599, "9m59s"),
        (600, "10m"),
        (659, "10m"),
        (3600, "60m"),
        (3 * 3600 - 1, "179m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 30 * 60, "3h30m"),
        (8 * 3600 - 1, "7h59m"),
        (8 * 3600, "8h"),
        (48 * 3600 - 1, "47h"),
        (48 * 3600, "2d"),
        (49 * 3600, "2d1h"),
        (8 * 86400 - 1, "7d23h"),
        (8 * 86400, "8d"),
        (730 * 86400 - 1, "729d"),
        (730 * 86400, "2y"),
        (731 * 86400, "2y1d"),
        (8 * 365 * 86400 - 1, "7y364d"),
        (8 * 365 * 86400, "8y"),
        (10 * 365 * 86400 + 100 * 86400, "10y"),
    ],
)
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_parse_time() -> None:
    assert parse_time("2024-01-01T10:00:00Z") == datetime(2024, 1, 1, 10, tzinfo=UTC)
    assert parse_time("2024-01-01T12:00:00.5+02:00") == datetime(2024, 1, 1, 10, 0, 0, 500000, tzinfo=UTC)
    assert parse_time("") == datetime(1, 1, 1, tzinfo=UTC)
    assert parse_time("null") == datetime(1, 1, 1, tzinfo=UTC)
    for bad in (
        "yesterday",
        "2024-01-01",
        "2024-13-01T00:00:00Z",
        "2024-01-01 10:00:00Z",
        "2024-01-01T10:00:00",
    ):
        assert parse_time(bad) is None


# --- custom resources -----------------------------------------------------------------------------------

SERVER: dict[str, Any] = {
    "apiVersion": "compute.kumulus.dev/v1",
    "kind": "Server",
    "metadata": {"name": "web-1", "namespace": "default", "creationTimestamp": "2024-01-01T11:54:50Z"},
    "spec": {"cpus": 4, "memory": 2.5, "ports": [80, 443], "flags": {"b": True}},
    "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
}


def test_crd_table_with_printer_columns() -> None:
    info = crd(
        PrinterColumn("Phase", "string", ".status.phase"),
        PrinterColumn("CPUs", "integer", ".spec.cpus", description="Virtual CPUs"),
        PrinterColumn("Ready", "string", '.status.conditions[?(@.type=="Ready")].status'),
        PrinterColumn("IP", "string", ".status.ip", priority=1),
        PrinterColumn("Age", "date", ".metadata.creationTimestamp"),
    )
    table = table_for(info, [SERVER], now=NOW, resource_version="42")
    assert table == {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": "42"},
        "columnDefinitions": [
            NAME_COLUMN,
            {
                "name": "Phase",
                "type": "string",
                "format": "",
                "description": "Custom resource definition column (in JSONPath format): .status.phase",
                "priority": 0,
            },
            {"name": "CPUs", "type": "integer", "format": "", "description": "Virtual CPUs", "priority": 0},
            {
                "name": "Ready",
                "type": "string",
                "format": "",
                "description": COLUMN_PREFIX + '.status.conditions[?(@.type=="Ready")].status',
                "priority": 0,
            },
            {
                "name": "IP",
                "type": "string",
                "format": "",
                "description": "Custom resource definition column (in JSONPath format): .status.ip",
                "priority": 1,
            },
            {
                "name": "Age",
                "type": "date",
                "format": "",
                "description": COLUMN_PREFIX + ".metadata.creationTimestamp",
                "priority": 0,
            },
        ],
        "rows": [
            {
                "cells": ["web-1", "Running", 4, "True", None, "5m10s"],
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": SERVER["metadata"],
                },
            }
        ],
    }


@pytest.mark.parametrize(
    ("column", "cell"),
    [
        (PrinterColumn("X", "string", ".spec.cpus"), "4"),
        (PrinterColumn("X", "string", ".spec.memory"), "2.5"),
        (PrinterColumn("X", "string", ".spec.ports"), "[80,443]"),
        (PrinterColumn("X", "string", ".spec.ports[*]"), "80"),  # the first value a path selects
        (PrinterColumn("X", "string", ".spec.flags"), '{"b":true}'),
        (PrinterColumn("X", "string", ".spec.flags.b"), "true"),
        (PrinterColumn("X", "string", ".spec.none"), "<no value>"),
        (PrinterColumn("X", "string", ".spec.missing"), None),
        (PrinterColumn("X", "string", ".spec.ports[5]"), None),
        (PrinterColumn("X", "integer", ".spec.cpus"), 4),
        (PrinterColumn("X", "integer", ".spec.memory"), 2),
        (PrinterColumn("X", "integer", ".status.phase"), None),
        (PrinterColumn("X", "integer", ".spec.flags.b"), None),
        (PrinterColumn("X", "number", ".spec.cpus"), 4.0),
        (PrinterColumn("X", "number", ".spec.memory"), 2.5),
        (PrinterColumn("X", "number", ".status.phase"), None),
        (PrinterColumn("X", "boolean", ".spec.flags.b"), True),
        (PrinterColumn("X", "boolean", ".spec.cpus"), None),
        (PrinterColumn("X", "date", ".metadata.creationTimestamp"), "5m10s"),
        (PrinterColumn("X", "date", ".status.phase"), "<invalid>"),
        (PrinterColumn("X", "date", ".spec.empty"), "<unknown>"),
        (PrinterColumn("X", "date", ".spec.cpus"), None),
        (PrinterColumn("X", "date", ".spec.future"), "<invalid>"),
        (PrinterColumn("X", "date", ".spec.soon"), "0s"),
        (PrinterColumn("X", "weird", ".spec.cpus"), None),
    ],
)
def test_crd_cells(column: PrinterColumn, cell: Any) -> None:
    obj = {
        **SERVER,
        "spec": {
            **SERVER["spec"],
            "none": None,
            "empty": "",
            "future": "2024-01-01T12:00:05Z",
            "soon": "2024-01-01T12:00:01Z",
        },
    }
    table = table_for(crd(column), [obj], now=NOW)
    assert table["rows"][0]["cells"] == ["web-1", cell]


def test_crd_without_printer_columns_gets_age() -> None:
    info = crd()
    assert default_columns(info) == (
        PrinterColumn(
            "Age", "date", ".metadata.creationTimestamp", description=CREATION_TIMESTAMP_DESCRIPTION
        ),
    )
    table = table_for(info, [SERVER, {"metadata": {"name": "no-time"}}], now=NOW)
    assert table["columnDefinitions"] == [
        NAME_COLUMN,
        {
            "name": "Age",
            "type": "date",
            "format": "",
            "description": CREATION_TIMESTAMP_DESCRIPTION,
            "priority": 0,
        },
    ]
    assert [row["cells"] for row in table["rows"]] == [["web-1", "5m10s"], ["no-time", None]]
    assert column_definitions(info) == table["columnDefinitions"]


def test_include_object_and_list_metadata() -> None:
    info = crd(PrinterColumn("Phase", "string", ".status.phase"))
    full = table_for(info, [SERVER], include_object="Object", now=NOW, continue_token="tok", remaining=0)
    assert full["rows"][0]["object"] is SERVER
    assert full["metadata"] == {"continue": "tok", "remainingItemCount": 0}
    none = table_for(info, [SERVER], include_object="None", now=NOW)
    assert none["rows"][0] == {"cells": ["web-1", "Running"], "object": None}
    assert none["metadata"] == {}
    default = table_for(info, [SERVER], include_object="", now=NOW)
    assert default["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    beta = table_for(info, [SERVER], now=NOW, version="v1beta1")
    assert beta["apiVersion"] == "meta.k8s.io/v1beta1"
    assert beta["rows"][0]["object"]["apiVersion"] == "meta.k8s.io/v1beta1"
    assert table_for(info, [], now=NOW)["rows"] == []
    with pytest.raises(ApiError) as error:
        table_for(info, [SERVER], include_object="Everything")
    assert error.value.code == 400
    assert error.value.message == 'unrecognized includeObject value: "Everything"'


def test_naive_now_is_utc() -> None:
    info = crd(PrinterColumn("Age", "date", ".metadata.creationTimestamp"))
    table = table_for(info, [SERVER], now=datetime(2024, 1, 1, 12, 0, 0))
    assert table["rows"][0]["cells"] == ["web-1", "5m10s"]


# --- built-in kinds -------------------------------------------------------------------------------------


def cells(info: ResourceInfo, obj: dict[str, Any]) -> list[Any]:
    table = table_for(info, [obj], now=NOW)
    row: list[Any] = table["rows"][0]["cells"]
    assert len(row) == len(table["columnDefinitions"])
    return row


def names(info: ResourceInfo) -> list[str]:
    return [c["name"] for c in column_definitions(info)]


def test_namespaces() -> None:
    info = builtin("", "namespaces", "Namespace")
    assert column_definitions(info) == [
        NAME_COLUMN,
        {
            "name": "Status",
            "type": "string",
            "format": "",
            "description": "The status of the namespace",
            "priority": 0,
        },
        AGE_COLUMN,
    ]
    obj = {
        "metadata": {"name": "default", "creationTimestamp": "2023-12-01T00:00:00Z"},
        "status": {"phase": "Active"},
    }
    assert cells(info, obj) == ["default", "Active", "31d"]
    assert cells(info, {"metadata": {"name": "new"}}) == ["new", "", "<unknown>"]


def test_configmaps_secrets_serviceaccounts_leases() -> None:
    created = {"creationTimestamp": "2024-01-01T08:00:00Z"}
    configmaps = builtin("", "configmaps", "ConfigMap")
    assert names(configmaps) == ["Name", "Data", "Age"]
    assert cells(
        configmaps, {"metadata": {"name": "c", **created}, "data": {"a": "1"}, "binaryData": {"b": "AA=="}}
    ) == [
        "c",
        2,
        "4h",
    ]
    assert cells(configmaps, {"metadata": {"name": "e", **created}}) == ["e", 0, "4h"]

    secrets = builtin("", "secrets", "Secret")
    assert names(secrets) == ["Name", "Type", "Data", "Age"]
    assert cells(
        secrets, {"metadata": {"name": "s", **created}, "type": "Opaque", "data": {"a": "", "b": ""}}
    ) == [
        "s",
        "Opaque",
        2,
        "4h",
    ]

    serviceaccounts = builtin("", "serviceaccounts", "ServiceAccount")
    assert names(serviceaccounts) == ["Name", "Secrets", "Age"]
    assert cells(serviceaccounts, {"metadata": {"name": "default", **created}}) == ["default", 0, "4h"]
    assert cells(serviceaccounts, {"metadata": {"name": "x", **created}, "secrets": [{"name": "t"}]}) == [
        "x",
        1,
        "4h",
    ]

    leases = builtin("coordination.k8s.io", "leases", "Lease")
    assert names(leases) == ["Name", "Holder", "Age"]
    assert cells(leases, {"metadata": {"name": "l", **created}, "spec": {"holderIdentity": "node-1"}}) == [
        "l",
        "node-1",
        "4h",
    ]
    assert cells(leases, {"metadata": {"name": "l", **created}, "spec": {}}) == ["l", "", "4h"]


EVENT_COLUMNS = [
    ("Last Seen", 0),
    ("Type", 0),
    ("Reason", 0),
    ("Object", 0),
    ("Subobject", 1),
    ("Source", 1),
    ("Message", 0),
    ("First Seen", 1),
    ("Count", 1),
    ("Name", 1),
]


def test_core_events() -> None:
    info = builtin("", "events", "Event")
    assert [(c["name"], c["priority"]) for c in column_definitions(info)] == EVENT_COLUMNS
    event = {
        "metadata": {"name": "web.17a", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{app}"},
        "reason": "Pulled",
        "message": "  Container image pulled \n",
        "type": "Normal",
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": "2024-01-01T11:00:00Z",
        "lastTimestamp": "2024-01-01T11:59:00Z",
        "count": 3,
    }
    assert cells(info, event) == [
        "60s",
        "Normal",
        "Pulled",
        "pod/web",
        "spec.containers{app}",
        "kubelet, node-1",
        "Container image pulled",
        "60m",
        3,
        "web.17a",
    ]
    singleton = {
        "metadata": {"name": "n.1"},
        "involvedObject": {"kind": "Node"},
        "reason": "Rebooted",
        "type": "Warning",
        "eventTime": "2024-01-01T11:58:00.123456Z",
        "reportingComponent": "ctrl",
        "reportingInstance": "ctrl-1",
    }
    assert cells(info, singleton) == [
        "119s",
        "Warning",
        "Rebooted",
        "node",
        "",
        "ctrl, ctrl-1",
        "",
        "119s",
        1,
        "n.1",
    ]
    series = {**singleton, "series": {"count": 5, "lastObservedTime": "2024-01-01T11:59:30.000000Z"}}
    assert cells(info, series)[0] == "30s"
    assert cells(info, series)[8] == 5
    assert cells(info, {"metadata": {"name": "bare"}})[:4] == ["<unknown>", "", "", ""]


def test_events_k8s_io() -> None:
    info = builtin("events.k8s.io", "events", "Event")
    assert [(c["name"], c["priority"]) for c in column_definitions(info)] == EVENT_COLUMNS
    event = {
        "metadata": {"name": "e1"},
        "regarding": {"kind": "Server", "name": "s1"},
        "note": "boom",
        "type": "Warning",
        "reason": "Failed",
        "eventTime": "2024-01-01T11:55:00.000000Z",
        "reportingController": "kumulus/compute",
        "reportingInstance": "ctl-0",
        "deprecatedCount": 0,
    }
    assert cells(info, event) == [
        "5m",
        "Warning",
        "Failed",
        "server/s1",
        "",
        "kumulus/compute, ctl-0",
        "boom",
        "5m",
        1,
        "e1",
    ]
    old = {
        **event,
        "deprecatedLastTimestamp": "2024-01-01T11:59:50Z",
        "deprecatedCount": 4,
        "deprecatedSource": {"component": "legacy"},
    }
    assert cells(info, old) == [
        "10s",
        "Warning",
        "Failed",
        "server/s1",
        "",
        "legacy, ctl-0",
        "boom",
        "5m",
        4,
        "e1",
    ]


def test_bindings_roles_and_crds() -> None:
    created = {"creationTimestamp": "2024-01-01T08:00:00Z"}
    binding = {
        "metadata": {"name": "rb", **created},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [
            {"kind": "User", "name": "alice"},
            {"kind": "Group", "name": "devs"},
            {"kind": "ServiceAccount", "name": "sa", "namespace": "ns"},
            {"kind": "User", "name": "bob"},
        ],
    }
    for plural, kind, what in (
        ("rolebindings", "RoleBinding", "roleBinding"),
        ("clusterrolebindings", "ClusterRoleBinding", "clusterRoleBinding"),
    ):
        info = builtin("rbac.authorization.k8s.io", plural, kind)
        definitions = column_definitions(info)
        assert [(c["name"], c["priority"]) for c in definitions] == [
            ("Name", 0),
            ("Role", 0),
            ("Age", 0),
            ("Users", 1),
            ("Groups", 1),
            ("ServiceAccounts", 1),
        ]
        assert definitions[3]["description"] == f"Users in the {what}"
        assert cells(info, binding) == ["rb", "ClusterRole/view", "4h", "alice, bob", "devs", "ns/sa"]
        assert cells(
            info, {"metadata": {"name": "empty", **created}, "roleRef": {"kind": "Role", "name": "r"}}
        ) == [
            "empty",
            "Role/r",
            "4h",
            "",
            "",
            "",
        ]

    created_at = [
        NAME_COLUMN,
        {
            "name": "Created At",
            "type": "date",
            "format": "",
            "description": CREATION_TIMESTAMP_DESCRIPTION,
            "priority": 0,
        },
    ]
    for group, plural, kind in (
        ("rbac.authorization.k8s.io", "roles", "Role"),
        ("rbac.authorization.k8s.io", "clusterroles", "ClusterRole"),
        ("apiextensions.k8s.io", "customresourcedefinitions", "CustomResourceDefinition"),
        ("kumulus.dev", "widgets", "Widget"),  # any built-in kind without a printer
    ):
        info = builtin(group, plural, kind)
        assert column_definitions(info) == created_at
        assert cells(info, {"metadata": {"name": "r", **created}}) == ["r", "2024-01-01T08:00:00Z"]
        assert cells(
            info, {"metadata": {"name": "r", "creationTimestamp": "2024-01-01T12:00:00.5+02:00"}}
        ) == [
            "r",
            "2024-01-01T10:00:00Z",
        ]
        assert cells(info, {"metadata": {"name": "r"}}) == ["r", "0001-01-01T00:00:00Z"]


def test_builtin_columns_registry() -> None:
    columns = builtin_columns("", "namespaces")
    assert columns is not None
    assert [c["name"] for c in columns] == ["Name", "Status", "Age"]
    columns[0]["name"] = "changed"  # callers get copies
    assert builtin_columns("", "namespaces")[0]["name"] == "Name"  # type: ignore[index]
    assert builtin_columns("", "pods") is None
    assert builtin_columns("compute.kumulus.dev", "servers") is None


def test_builtin_with_printer_columns_and_full_object() -> None:
    info = builtin(
        "kumulus.dev", "gadgets", "Gadget", printer_columns=(PrinterColumn("Size", "integer", ".spec.size"),)
    )
    assert names(info) == ["Name", "Size"]
    obj = {"metadata": {"name": "g"}, "spec": {"size": 3}}
    table = table_for(info, [obj], include_object="Object", now=NOW)
    assert table["rows"][0] == {
        "cells": ["g", 3],
        "object": {
            "kind": "Gadget",
            "apiVersion": "kumulus.dev/v1",
            "metadata": {"name": "g"},
            "spec": {"size": 3},
        },
    }
    assert "kind" not in obj

"""The protobuf body decoder: wire format, k8s envelopes, the JSON shapes of each supported kind, errors.

Messages are built with a tiny encoder below; a few bodies are byte-for-byte what kubectl v1.32 sent
(captured with `kubectl create ... -v=9`).
"""

from __future__ import annotations

import contextlib
import struct
from typing import Any

import pytest

from kumulus.apiserver import core, errors
from kumulus.apiserver.protobuf import UnsupportedKind, decode

# --- a tiny protobuf encoder -----------------------------------------------------------------------------


def varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # negative ints go out as 10-byte two's complement, as Go writes them
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(num: int, wire: int) -> bytes:
    return varint(num << 3 | wire)


def vi(num: int, n: int) -> bytes:
    """A varint field (int32, int64, bool)."""
    return key(num, 0) + varint(n)


def ld(num: int, payload: bytes | str) -> bytes:
    """A length-delimited field (string, bytes, embedded message)."""
    data = payload.encode() if isinstance(payload, str) else payload
    return key(num, 2) + varint(len(data)) + data


def fixed64(num: int, n: int) -> bytes:
    return key(num, 1) + struct.pack("<Q", n)


def fixed32(num: int, n: int) -> bytes:
    return key(num, 5) + struct.pack("<I", n)


def entry(num: int, k: str, v: bytes | str) -> bytes:
    """One map entry: a message with key=1, value=2."""
    return ld(num, ld(1, k) + ld(2, v))


def stamp(seconds: int, nanos: int = 0) -> bytes:
    return vi(1, seconds) + (vi(2, nanos) if nanos else b"")


def envelope(api_version: str, kind: str, raw: bytes, *extra: bytes) -> bytes:
    """The k8s magic and a runtime.Unknown {1 typeMeta {1 apiVersion, 2 kind}, 2 raw, 3 enc, 4 type}."""
    type_meta = ld(1, api_version) + ld(2, kind)
    return b"k8s\x00" + ld(1, type_meta) + ld(2, raw) + b"".join(extra)


def meta(name: str, namespace: str = "") -> bytes:
    """ObjectMeta the way gogo-protobuf writes it: every non-pointer field present, zero or not."""
    return ld(
        1,
        ld(1, name)
        + ld(2, "")
        + ld(3, namespace)
        + ld(4, "")
        + ld(5, "")
        + ld(6, "")
        + vi(7, 0)
        + ld(8, b""),
    )


T0 = 1700000000  # 2023-11-14T22:13:20Z
T0_TEXT = "2023-11-14T22:13:20Z"


# --- real kubectl bodies -----------------------------------------------------------------------------------

KUBECTL_NAMESPACE = (
    b'k8s\x00\n\x0f\n\x02v1\x12\tNamespace\x12\x1c\n\x14\n\x04cap1\x12\x00\x1a\x00"\x00*\x002\x008\x00B\x00'
    b'\x12\x00\x1a\x02\n\x00\x1a\x00"\x00'
)
KUBECTL_SECRET_FROM_FILE = (
    b'k8s\x00\n\x0c\n\x02v1\x12\x06Secret\x12*\n\x16\n\x02s2\x12\x00\x1a\x04cap1"\x00*\x002\x008\x00B\x00'
    b'\x12\x0e\n\x04blob\x12\x06\x00\xff\xfebin\x1a\x00\x1a\x00"\x00'
)
KUBECTL_ROLE = (
    b"k8s\x00\n$\n\x1crbac.authorization.k8s.io/v1\x12\x04Role\x126\n\x16\n\x02r1\x12\x00\x1a\x04cap1"
    b'"\x00*\x002\x008\x00B\x00\x12\x1c\n\x03get\n\x04list\x12\x00\x1a\nconfigmaps"\x01x\x1a\x00"\x00'
)
KUBECTL_ROLE_BINDING = (
    b"k8s\x00\n+\n\x1crbac.authorization.k8s.io/v1\x12\x0bRoleBinding\x12\xb2\x01\n\x17\n\x03rb1\x12\x00"
    b"\x1a\x04cap1\"\x00*\x002\x008\x00B\x00\x12'\n\x04User\x12\x19rbac.authorization.k8s.io\x1a\x02u1"
    b'"\x00\x12(\n\x05Group\x12\x19rbac.authorization.k8s.io\x1a\x02g1"\x00\x12\x1d\n\x0eServiceAccount'
    b'\x12\x00\x1a\x03sa1"\x04cap1\x1a%\n\x19rbac.authorization.k8s.io\x12\x04Role\x1a\x02r1\x1a\x00"\x00'
)
KUBECTL_AGGREGATED_CLUSTER_ROLE = (
    b"k8s\x00\n+\n\x1crbac.authorization.k8s.io/v1\x12\x0bClusterRole\x12D\n\x13\n\x03cr2\x12\x00\x1a\x00"
    b'"\x00*\x002\x008\x00B\x00\x1a-\n+\n)\n!rbac.example.com/aggregate-to-cr2\x12\x04true\x1a\x00"\x00'
)
KUBECTL_BODIES = (
    KUBECTL_NAMESPACE,
    KUBECTL_SECRET_FROM_FILE,
    KUBECTL_ROLE,
    KUBECTL_ROLE_BINDING,
    KUBECTL_AGGREGATED_CLUSTER_ROLE,
)


def test_kubectl_create_namespace() -> None:
    assert decode(KUBECTL_NAMESPACE) == {
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": {"name": "cap1"},
        "spec": {},
        "status": {},
    }


def test_kubectl_secret_bytes_are_base64() -> None:
    assert decode(KUBECTL_SECRET_FROM_FILE) == {
        "kind": "Secret",
        "apiVersion": "v1",
        "metadata": {"name": "s2", "namespace": "cap1"},
        "data": {"blob": "AP/+Ymlu"},  # b"\x00\xff\xfebin"
    }


def test_kubectl_role_keeps_the_empty_core_group() -> None:
    assert decode(KUBECTL_ROLE) == {
        "kind": "Role",
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "metadata": {"name": "r1", "namespace": "cap1"},
        "rules": [
            {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["x"]}
        ],
    }


def test_kubectl_role_binding() -> None:
    assert decode(KUBECTL_ROLE_BINDING) == {
        "kind": "RoleBinding",
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "metadata": {"name": "rb1", "namespace": "cap1"},
        "subjects": [
            {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "u1"},
            {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "g1"},
            {"kind": "ServiceAccount", "name": "sa1", "namespace": "cap1"},
        ],
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r1"},
    }


def test_kubectl_aggregated_cluster_role() -> None:
    assert decode(KUBECTL_AGGREGATED_CLUSTER_ROLE) == {
        "kind": "ClusterRole",
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "metadata": {"name": "cr2"},
        "aggregationRule": {
            "clusterRoleSelectors": [{"matchLabels": {"rbac.example.com/aggregate-to-cr2": "true"}}]
        },
    }


def test_output_key_order_follows_the_go_structs() -> None:
    obj = decode(KUBECTL_ROLE_BINDING)
    assert list(obj) == ["kind", "apiVersion", "metadata", "subjects", "roleRef"]
    assert list(obj["subjects"][0]) == ["kind", "apiGroup", "name"]


# --- ObjectMeta --------------------------------------------------------------------------------------------


def test_object_meta_in_full() -> None:
    owner = ld(1, "Server") + ld(3, "web") + ld(4, "u-1") + ld(5, "iaas.example/v1") + vi(6, 1) + vi(7, 0)
    managed = (
        ld(1, "kubectl")
        + ld(2, "Update")
        + ld(3, "v1")
        + ld(4, stamp(T0))
        + ld(6, "FieldsV1")
        + ld(7, ld(1, b'{"f:data":{".":{}}}'))
        + ld(8, "status")
    )
    m = (
        ld(1, "cm")
        + ld(2, "cm-")
        + ld(3, "ns")
        + ld(4, "/api/v1/namespaces/ns/configmaps/cm")
        + ld(5, "0b3c")
        + ld(6, "42")
        + vi(7, 2**40)
        + ld(8, stamp(T0))
        + ld(9, stamp(T0 + 30))
        + vi(10, 0)
        + entry(11, "app", "web")
        + entry(11, "tier", "")
        + entry(12, "note", "hello: world")
        + ld(13, owner)
        + ld(14, "example.com/a")
        + ld(14, "example.com/b")
        + ld(17, managed)
    )
    assert decode(envelope("v1", "ConfigMap", ld(1, m))) == {
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": {
            "name": "cm",
            "generateName": "cm-",
            "namespace": "ns",
            "selfLink": "/api/v1/namespaces/ns/configmaps/cm",
            "uid": "0b3c",
            "resourceVersion": "42",
            "generation": 2**40,
            "creationTimestamp": T0_TEXT,
            "deletionTimestamp": "2023-11-14T22:13:50Z",
            "deletionGracePeriodSeconds": 0,  # a pointer: zero is kept
            "labels": {"app": "web", "tier": ""},
            "annotations": {"note": "hello: world"},
            "ownerReferences": [
                {
                    "apiVersion": "iaas.example/v1",
                    "kind": "Server",
                    "name": "web",
                    "uid": "u-1",
                    "controller": True,
                    "blockOwnerDeletion": False,
                }
            ],
            "finalizers": ["example.com/a", "example.com/b"],
            "managedFields": [
                {
                    "manager": "kubectl",
                    "operation": "Update",
                    "apiVersion": "v1",
                    "time": T0_TEXT,
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:data": {".": {}}},
                    "subresource": "status",
                }
            ],
        },
    }


def test_zero_values_of_omitempty_fields_are_left_out() -> None:
    obj = decode(envelope("v1", "ServiceAccount", meta("sa", "ns")))
    assert obj == {
        "kind": "ServiceAccount",
        "apiVersion": "v1",
        "metadata": {"name": "sa", "namespace": "ns"},
    }


def test_absent_metadata_is_an_empty_object() -> None:
    assert decode(envelope("v1", "ConfigMap", b"")) == {
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": {},
    }


def test_owner_reference_required_fields_are_always_written() -> None:
    obj = decode(envelope("v1", "ConfigMap", ld(1, ld(13, ld(3, "x")))))
    assert obj["metadata"]["ownerReferences"] == [{"apiVersion": "", "kind": "", "name": "x", "uid": ""}]


def test_later_map_entries_win_and_missing_entry_parts_are_empty() -> None:
    m = entry(11, "a", "1") + entry(11, "a", "2") + ld(11, ld(1, "k")) + ld(11, ld(2, "v"))
    obj = decode(envelope("v1", "ConfigMap", ld(1, m)))
    assert obj["metadata"]["labels"] == {"a": "2", "k": "", "": "v"}


# --- times -------------------------------------------------------------------------------------------------


def test_time_drops_nanos_and_zero_times_are_left_out() -> None:
    for zero in (b"", stamp(-62135596800)):  # empty message, or Go's time.Time{} written out
        obj = decode(envelope("v1", "ConfigMap", ld(1, ld(8, zero))))
        assert obj["metadata"] == {}
    obj = decode(envelope("v1", "ConfigMap", ld(1, ld(8, stamp(T0, 999_999_999)))))
    assert obj["metadata"] == {"creationTimestamp": T0_TEXT}


def test_time_before_the_epoch_and_far_ahead() -> None:
    obj = decode(envelope("v1", "ConfigMap", ld(1, ld(8, stamp(-1)) + ld(9, stamp(253402300799)))))
    assert obj["metadata"] == {
        "creationTimestamp": "1969-12-31T23:59:59Z",
        "deletionTimestamp": "9999-12-31T23:59:59Z",
    }


def test_time_out_of_range_is_malformed() -> None:
    with pytest.raises(ValueError, match="out of range"):
        decode(envelope("v1", "ConfigMap", ld(1, ld(8, stamp(10**15)))))


def test_lease_micro_times_and_pointer_ints() -> None:
    spec = (
        ld(1, "holder-a")
        + vi(2, 15)
        + ld(3, stamp(T0, 123_456_789))
        + ld(4, stamp(T0 + 1))
        + vi(5, 0)
        + ld(6, "OldestEmulationVersion")
    )
    assert decode(envelope("coordination.k8s.io/v1", "Lease", meta("l", "ns") + ld(2, spec))) == {
        "kind": "Lease",
        "apiVersion": "coordination.k8s.io/v1",
        "metadata": {"name": "l", "namespace": "ns"},
        "spec": {
            "holderIdentity": "holder-a",
            "leaseDurationSeconds": 15,
            "acquireTime": "2023-11-14T22:13:20.123456Z",
            "renewTime": "2023-11-14T22:13:21.000000Z",
            "leaseTransitions": 0,
            "strategy": "OldestEmulationVersion",
        },
    }


def test_lease_without_spec_has_an_empty_spec() -> None:
    obj = decode(envelope("coordination.k8s.io/v1", "Lease", meta("l", "ns")))
    assert obj["spec"] == {}


def test_negative_ints_are_twos_complement_varints() -> None:
    spec = vi(2, -5) + vi(5, -(2**31))
    obj = decode(envelope("coordination.k8s.io/v1", "Lease", ld(2, spec)))
    assert obj["spec"] == {"leaseDurationSeconds": -5, "leaseTransitions": -(2**31)}
    obj = decode(envelope("v1", "ConfigMap", ld(1, vi(7, -(2**63)))))
    assert obj["metadata"]["generation"] == -(2**63)


def test_int32_takes_the_low_32_bits_like_go() -> None:
    obj = decode(envelope("coordination.k8s.io/v1", "Lease", ld(2, vi(2, 2**32 + 7))))
    assert obj["spec"]["leaseDurationSeconds"] == 7


# --- core kinds --------------------------------------------------------------------------------------------


def test_config_map_data_binary_data_and_immutable_false() -> None:
    raw = meta("cm", "ns") + vi(4, 0) + entry(2, "greeting", "héllo") + entry(3, "blob", b"\x00\x01\xfe\xff")
    assert decode(envelope("v1", "ConfigMap", raw)) == {
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": {"name": "cm", "namespace": "ns"},
        "immutable": False,
        "data": {"greeting": "héllo"},
        "binaryData": {"blob": "AAH+/w=="},
    }


def test_secret_with_string_data_type_and_immutable() -> None:
    raw = meta("s", "ns") + vi(5, 1) + entry(2, "k", b"v") + entry(4, "plain", "text") + ld(3, "Opaque")
    assert decode(envelope("v1", "Secret", raw)) == {
        "kind": "Secret",
        "apiVersion": "v1",
        "metadata": {"name": "s", "namespace": "ns"},
        "immutable": True,
        "data": {"k": "dg=="},
        "stringData": {"plain": "text"},
        "type": "Opaque",
    }


def test_service_account_references() -> None:
    raw = (
        meta("sa", "ns")
        + ld(2, ld(3, "tok") + ld(2, "ns") + ld(7, ""))
        + ld(3, ld(1, "pull"))
        + ld(3, ld(1, ""))
        + vi(4, 0)
    )
    assert decode(envelope("v1", "ServiceAccount", raw)) == {
        "kind": "ServiceAccount",
        "apiVersion": "v1",
        "metadata": {"name": "sa", "namespace": "ns"},
        "secrets": [{"namespace": "ns", "name": "tok"}],
        "imagePullSecrets": [{"name": "pull"}, {}],
        "automountServiceAccountToken": False,
    }


def test_namespace_spec_and_status() -> None:
    cond = (
        ld(1, "NamespaceDeletionContentFailure") + ld(2, "False") + ld(4, stamp(T0)) + ld(5, "") + ld(6, "")
    )
    raw = meta("n") + ld(2, ld(1, "kubernetes")) + ld(3, ld(1, "Active") + ld(2, cond))
    assert decode(envelope("v1", "Namespace", raw)) == {
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": {"name": "n"},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {
            "phase": "Active",
            "conditions": [
                {"type": "NamespaceDeletionContentFailure", "status": "False", "lastTransitionTime": T0_TEXT}
            ],
        },
    }


def test_core_event() -> None:
    involved = ld(1, "ConfigMap") + ld(2, "ns") + ld(3, "cm") + ld(4, "u") + ld(5, "v1") + ld(7, "data")
    raw = (
        meta("cm.1", "ns")
        + ld(2, involved)
        + ld(3, "Synced")
        + ld(4, "all good")
        + ld(5, ld(1, "ctl") + ld(2, ""))
        + ld(6, stamp(T0))
        + ld(7, stamp(T0 + 60))
        + vi(8, 3)
        + ld(9, "Normal")
        + ld(10, b"")
        + ld(11, vi(1, 2) + ld(2, stamp(T0 + 61, 5000)))
        + ld(12, "")
        + ld(14, "")
        + ld(15, "")
    )
    assert decode(envelope("v1", "Event", raw)) == {
        "kind": "Event",
        "apiVersion": "v1",
        "metadata": {"name": "cm.1", "namespace": "ns"},
        "involvedObject": {
            "kind": "ConfigMap",
            "namespace": "ns",
            "name": "cm",
            "uid": "u",
            "apiVersion": "v1",
            "fieldPath": "data",
        },
        "reason": "Synced",
        "message": "all good",
        "source": {"component": "ctl"},
        "firstTimestamp": T0_TEXT,
        "lastTimestamp": "2023-11-14T22:14:20Z",
        "count": 3,
        "type": "Normal",
        "series": {"count": 2, "lastObservedTime": "2023-11-14T22:14:21.000005Z"},
        "reportingComponent": "",
        "reportingInstance": "",
    }


def test_core_event_minimal_writes_what_go_always_writes() -> None:
    assert decode(envelope("v1", "Event", b"")) == {
        "kind": "Event",
        "apiVersion": "v1",
        "metadata": {},
        "involvedObject": {},
        "source": {},
        "reportingComponent": "",
        "reportingInstance": "",
    }


def test_events_k8s_io_event() -> None:
    raw = (
        meta("e1", "ns")
        + ld(2, stamp(T0, 1000))
        + ld(3, vi(1, 0) + ld(2, b""))
        + ld(4, "example.com/ctl")
        + ld(5, "ctl-0")
        + ld(6, "Reconcile")
        + ld(7, "Done")
        + ld(8, ld(1, "Server") + ld(3, "web"))
        + ld(9, ld(3, "other"))
        + ld(10, "note")
        + ld(11, "Normal")
        + ld(12, b"")
        + ld(13, b"")
        + ld(14, b"")
        + vi(15, 0)
    )
    assert decode(envelope("events.k8s.io/v1", "Event", raw)) == {
        "kind": "Event",
        "apiVersion": "events.k8s.io/v1",
        "metadata": {"name": "e1", "namespace": "ns"},
        "eventTime": "2023-11-14T22:13:20.000001Z",
        "series": {"count": 0},
        "reportingController": "example.com/ctl",
        "reportingInstance": "ctl-0",
        "action": "Reconcile",
        "reason": "Done",
        "regarding": {"kind": "Server", "name": "web"},
        "related": {"name": "other"},
        "note": "note",
        "type": "Normal",
        "deprecatedSource": {},
    }


# --- rbac --------------------------------------------------------------------------------------------------


def test_cluster_role_rules_and_match_expressions() -> None:
    rule = ld(1, "get") + ld(5, "/healthz") + ld(5, "/version")
    requirement = ld(1, "tier") + ld(2, "In") + ld(3, "a") + ld(3, "b")
    exists = ld(1, "x") + ld(2, "Exists")
    raw = meta("cr") + ld(2, rule) + ld(3, ld(1, ld(2, requirement) + ld(2, exists)))
    assert decode(envelope("rbac.authorization.k8s.io/v1", "ClusterRole", raw)) == {
        "kind": "ClusterRole",
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "metadata": {"name": "cr"},
        "rules": [{"verbs": ["get"], "nonResourceURLs": ["/healthz", "/version"]}],
        "aggregationRule": {
            "clusterRoleSelectors": [
                {
                    "matchExpressions": [
                        {"key": "tier", "operator": "In", "values": ["a", "b"]},
                        {"key": "x", "operator": "Exists"},
                    ]
                }
            ]
        },
    }


def test_cluster_role_binding_and_empty_role_ref() -> None:
    raw = meta("crb") + ld(2, ld(1, "User") + ld(3, "alice"))
    assert decode(envelope("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", raw)) == {
        "kind": "ClusterRoleBinding",
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "metadata": {"name": "crb"},
        "subjects": [{"kind": "User", "name": "alice"}],
        "roleRef": {"apiGroup": "", "kind": "", "name": ""},
    }


def test_role_without_rules() -> None:
    obj = decode(envelope("rbac.authorization.k8s.io/v1", "Role", meta("r", "ns")))
    assert obj == {
        "kind": "Role",
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "metadata": {"name": "r", "namespace": "ns"},
    }


# --- DeleteOptions -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("api_version", ["meta.k8s.io/v1", "v1", "rbac.authorization.k8s.io/v1"])
def test_delete_options_under_any_group(api_version: str) -> None:
    raw = (
        vi(1, 0)
        + ld(2, ld(1, "uid-1") + ld(2, ""))
        + vi(3, 0)
        + ld(4, "Foreground")
        + ld(5, "All")
        + vi(6, 1)
    )
    assert decode(envelope(api_version, "DeleteOptions", raw)) == {
        "kind": "DeleteOptions",
        "apiVersion": api_version,
        "gracePeriodSeconds": 0,
        "preconditions": {"uid": "uid-1", "resourceVersion": ""},
        "orphanDependents": False,
        "propagationPolicy": "Foreground",
        "dryRun": ["All"],
        "ignoreStoreReadErrorWithClusterBreakingPotential": True,
    }


def test_empty_delete_options() -> None:
    assert decode(envelope("v1", "DeleteOptions", b"")) == {"kind": "DeleteOptions", "apiVersion": "v1"}


# --- wire format details -----------------------------------------------------------------------------------


def test_unknown_fields_of_every_wire_type_are_skipped() -> None:
    junk = vi(99, 12345) + fixed64(100, 2**63 + 1) + ld(101, b"\xff\xff") + fixed32(102, 7)
    raw = junk + ld(1, junk + ld(1, "cm") + junk) + entry(2, "a", "b") + junk
    obj = decode(envelope("v1", "ConfigMap", raw, junk))
    assert obj == {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "cm"}, "data": {"a": "b"}}


def test_unknown_fields_in_the_envelope_and_type_meta_are_skipped() -> None:
    type_meta = ld(1, "v1") + vi(9, 1) + ld(2, "ConfigMap")
    body = b"k8s\x00" + vi(15, 3) + ld(1, type_meta) + ld(2, meta("cm")) + ld(3, "") + ld(4, "")
    assert decode(body)["metadata"] == {"name": "cm"}


def test_envelope_content_type_protobuf_is_accepted() -> None:
    body = envelope("v1", "ConfigMap", meta("cm"), ld(4, "application/vnd.kubernetes.protobuf"))
    assert decode(body)["metadata"] == {"name": "cm"}


def test_repeated_occurrences_of_a_message_field_merge() -> None:
    raw = ld(1, ld(1, "cm")) + ld(1, ld(3, "ns") + entry(11, "a", "b"))
    obj = decode(envelope("v1", "ConfigMap", raw))
    assert obj["metadata"] == {"name": "cm", "namespace": "ns", "labels": {"a": "b"}}


def test_last_scalar_wins() -> None:
    obj = decode(envelope("v1", "Secret", ld(3, "Opaque") + ld(3, "kubernetes.io/tls")))
    assert obj["type"] == "kubernetes.io/tls"


def test_invalid_utf8_becomes_replacement_characters_like_go_json() -> None:
    obj = decode(envelope("v1", "ConfigMap", entry(2, "k", b"a\xffb")))
    assert obj["data"] == {"k": "a\ufffdb"}


def test_multi_byte_lengths() -> None:
    big = "x" * 300
    obj = decode(envelope("v1", "ConfigMap", entry(2, "big", big)))
    assert obj["data"] == {"big": big}


def test_accepts_bytearray_and_memoryview() -> None:
    assert decode(bytearray(KUBECTL_NAMESPACE)) == decode(KUBECTL_NAMESPACE)  # type: ignore[arg-type]
    assert decode(memoryview(KUBECTL_NAMESPACE)) == decode(KUBECTL_NAMESPACE)  # type: ignore[arg-type]


# --- errors ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"", b"k8s", b"{}", b'{"kind":"Namespace"}', b"k8s\x01" + KUBECTL_NAMESPACE[4:], KUBECTL_NAMESPACE[1:]],
)
def test_bad_magic(body: bytes) -> None:
    with pytest.raises(ValueError, match="magic") as info:
        decode(body)
    assert not isinstance(info.value, UnsupportedKind)


@pytest.mark.parametrize(
    ("api_version", "kind"),
    [
        ("v1", "Pod"),
        ("v1", "Service"),
        ("apps/v1", "Deployment"),
        ("rbac.authorization.k8s.io/v1beta1", "Role"),
        ("v1", "Lease"),
        ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"),
    ],
)
def test_unknown_kind(api_version: str, kind: str) -> None:
    with pytest.raises(UnsupportedKind, match=kind):
        decode(envelope(api_version, kind, meta("x")))


def test_missing_kind_or_api_version_is_malformed_not_unsupported() -> None:
    for body in (
        b"k8s\x00",
        b"k8s\x00" + ld(1, ld(1, "v1")) + ld(2, meta("x")),
        b"k8s\x00" + ld(1, ld(2, "ConfigMap")) + ld(2, meta("x")),
    ):
        with pytest.raises(ValueError, match="missing") as info:
            decode(body)
        assert not isinstance(info.value, UnsupportedKind)


@pytest.mark.parametrize(
    "body",
    [
        b"k8s\x00\x0a",  # a key with no length
        b"k8s\x00\x0a\x05ab",  # length past the end
        b"k8s\x00\x08\x80",  # varint cut short
        b"k8s\x00\x09\x01\x02",  # fixed64 cut short
        b"k8s\x00\x0d\x01",  # fixed32 cut short
        b"k8s\x00" + b"\x08" + b"\xff" * 11,  # varint longer than 10 bytes
        KUBECTL_ROLE_BINDING[:-10],
    ],
)
def test_truncated_input(body: bytes) -> None:
    with pytest.raises(ValueError):
        decode(body)


def test_every_prefix_decodes_or_raises_value_error() -> None:
    for body in KUBECTL_BODIES:
        for cut in range(len(body)):
            with contextlib.suppress(ValueError):
                decode(body[:cut])
        assert decode(body)["metadata"]


def test_truncated_inner_message() -> None:
    raw = ld(1, b"\x0a\x09cm")  # metadata.name says 9 bytes, has 2
    with pytest.raises(ValueError, match="truncated"):
        decode(envelope("v1", "ConfigMap", raw))


@pytest.mark.parametrize(
    "raw",
    [
        vi(1, 5),  # metadata as a varint
        ld(4, b"\x01"),  # immutable (bool) as bytes
        ld(1, vi(1, 3)),  # metadata.name as a varint
        ld(2, vi(1, 1)),  # a map entry key as a varint
        ld(1, ld(8, ld(1, b""))),  # creationTimestamp.seconds as bytes
    ],
)
def test_wrong_wire_type(raw: bytes) -> None:
    with pytest.raises(ValueError):
        decode(envelope("v1", "ConfigMap", raw))


def test_group_wire_types_and_field_zero_are_malformed() -> None:
    for raw in (key(7, 3) + key(7, 4), key(0, 0) + b"\x00", key(7, 6) + b"\x00"):
        with pytest.raises(ValueError):
            decode(envelope("v1", "ConfigMap", raw))


def test_content_encoding_is_not_supported() -> None:
    with pytest.raises(ValueError, match="encoding"):
        decode(envelope("v1", "ConfigMap", meta("cm"), ld(3, "gzip")))


def test_foreign_content_type_in_the_envelope() -> None:
    with pytest.raises(ValueError, match="content type"):
        decode(envelope("v1", "ConfigMap", meta("cm"), ld(4, "application/json")))


def test_fields_v1_must_hold_json() -> None:
    managed = ld(7, ld(1, b"{not json"))
    with pytest.raises(ValueError, match="fieldsV1"):
        decode(envelope("v1", "ConfigMap", ld(1, ld(17, managed))))


# --- through the request-body decoder ----------------------------------------------------------------------


def test_core_decode_body_uses_the_decoder() -> None:
    obj: Any = core.decode_body(KUBECTL_ROLE, "application/vnd.kubernetes.protobuf")
    assert obj["rules"][0]["verbs"] == ["get", "list"]


def test_core_decode_body_maps_errors_to_415_and_400() -> None:
    with pytest.raises(errors.ApiError) as info:
        core.decode_body(envelope("apps/v1", "Deployment", b""), "application/vnd.kubernetes.protobuf")
    assert info.value.code == 415
    with pytest.raises(errors.ApiError) as info:
        core.decode_body(b"k8s\x00\x0a\x05ab", "application/vnd.kubernetes.protobuf")
    assert info.value.code == 400

"""storage.kumulus.dev rules that need an update to show: volumes grow but never shrink; what is fixed stays."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from controllers.api.storage import KINDS
from controllers.crdgen import crd_for

from .test_apiserver import call, make_client

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
VOLUMES = "/apis/storage.kumulus.dev/v1alpha1/namespaces/default/volumes"
VOLUME_TYPES = "/apis/storage.kumulus.dev/v1alpha1/volumetypes"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[TestClient[Any, Any]]:
    client, server = await make_client(tmp_path / "db.sqlite")
    for kind in KINDS:
        status, body = await call(client, "POST", CRDS, crd_for(kind))
        assert status == 201, body
    yield client
    await client.close()
    server.close()


def volume(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "storage.kumulus.dev/v1alpha1",
        "kind": "Volume",
        "metadata": {"name": name},
        "spec": spec,
    }


async def resize(api: TestClient[Any, Any], name: str, size: int) -> tuple[int, Any]:
    patch = {"spec": {"sizeGiB": size}}
    return await call(api, "PATCH", f"{VOLUMES}/{name}", patch, "application/merge-patch+json")


async def test_a_volume_can_grow_but_never_shrink(api: TestClient[Any, Any]) -> None:
    status, obj = await call(api, "POST", VOLUMES, volume("data", sizeGiB=20, zone="az1"))
    assert status == 201, obj
    assert obj["spec"]["bootable"] is False  # defaulted by the schema

    status, obj = await resize(api, "data", 40)
    assert status == 200 and obj["spec"]["sizeGiB"] == 40

    status, err = await resize(api, "data", 10)
    assert status == 422
    assert "volumes can grow but never shrink" in err["message"]
    assert err["details"]["causes"][0]["field"] == "spec.sizeGiB"
    status, obj = await call(api, "GET", f"{VOLUMES}/data")
    assert obj["spec"]["sizeGiB"] == 40

    status, obj = await resize(api, "data", 40)  # the same size is not a shrink
    assert status == 200


async def test_source_and_zone_cannot_change_or_appear_later(api: TestClient[Any, Any]) -> None:
    status, _ = await call(api, "POST", VOLUMES, volume("blank", sizeGiB=10))
    assert status == 201
    status, err = await call(
        api,
        "PATCH",
        f"{VOLUMES}/blank",
        {"spec": {"source": {"image": "debian-12"}}},
        "application/merge-patch+json",
    )
    assert status == 422 and "source is immutable" in err["message"]

    status, _ = await call(
        api, "POST", VOLUMES, volume("copy", sizeGiB=10, zone="az1", source={"volume": "a"})
    )
    assert status == 201
    for change, message in (
        ({"source": {"volume": "b"}}, "source is immutable"),
        ({"zone": "az2"}, "zone is immutable"),
        ({"zone": None}, "zone is immutable"),
    ):
        status, err = await call(
            api, "PATCH", f"{VOLUMES}/copy", {"spec": change}, "application/merge-patch+json"
        )
        assert status == 422 and message in err["message"], (change, err)

    # zone may be set once on a volume created without one (the operator fills it in)
    status, obj = await call(
        api, "PATCH", f"{VOLUMES}/blank", {"spec": {"zone": "az3"}}, "application/merge-patch+json"
    )
    assert status == 200 and obj["spec"]["zone"] == "az3"


async def test_a_backend_pool_is_fixed_but_zones_can_be_added(api: TestClient[Any, Any]) -> None:
    vt = {
        "apiVersion": "storage.kumulus.dev/v1alpha1",
        "kind": "VolumeType",
        "metadata": {"name": "standard"},
        "spec": {"backends": [{"zone": "az1", "pool": "volumes"}]},
    }
    status, obj = await call(api, "POST", VOLUME_TYPES, vt)
    assert status == 201 and obj["spec"]["replication"] == "None"
    obj["spec"]["backends"].append({"zone": "az2", "pool": "volumes"})
    status, obj = await call(api, "PUT", f"{VOLUME_TYPES}/standard", obj)
    assert status == 200, obj
    obj["spec"]["backends"][0]["pool"] = "other"
    status, err = await call(api, "PUT", f"{VOLUME_TYPES}/standard", obj)
    assert status == 422 and "pool is immutable" in err["message"]

"""Acknowledged writes survive SIGKILL of `kumulus up`; the state directory is reused on restart."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from kubernetes import client

from .cluster import Cluster

pytestmark = pytest.mark.integration


def test_sigkill_after_burst_loses_no_acknowledged_write(tmp_path: Path) -> None:
    c = Cluster(tmp_path / "state")
    c.start()
    try:
        api = client.CoreV1Api(c.api_client())
        acked: list[str] = []

        def create(i: int) -> None:
            body = {"metadata": {"name": f"burst-{i}"}, "data": {"i": str(i)}}
            api.create_namespaced_config_map("default", body)
            acked.append(f"burst-{i}")

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(create, range(300)))
        assert len(acked) == 300
        c.kill()
        c.start()
        api = client.CoreV1Api(c.api_client())
        names = {i.metadata.name for i in api.list_namespaced_config_map("default").items}
        assert set(acked) <= names
        token_before = c.token
        c.restart()
        assert c.token == token_before, "the admin token is generated once and kept"
    finally:
        c.kill()

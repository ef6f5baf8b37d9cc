"""Fixtures: one shared `kumulus up` per test module, a fresh namespace per test, and OVN Northbound and
Southbound databases with a real ovn-northd per module (for the modules that use `ovn`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from .cluster import Cluster
from .ovn_daemons import OvnDaemons


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    c = Cluster(Path(tmp_path_factory.mktemp("kumulus")))
    c.start()
    yield c
    if c.proc is not None:
        c.stop()


@pytest.fixture
def namespace(cluster: Cluster) -> str:
    name = "t-" + uuid.uuid4().hex[:8]
    cluster.kubectl("apply", "-f", "-", input=f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n")
    return name


@pytest.fixture(scope="module")
def ovn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OvnDaemons]:
    daemons = OvnDaemons(Path(tmp_path_factory.mktemp("ovn")))
    daemons.start()
    yield daemons
    daemons.stop()

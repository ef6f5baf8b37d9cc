"""The models that generate the CRDs also parse real objects: every example's spec round-trips."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from controllers.api import ALL_KINDS

ROOT = Path(__file__).resolve().parents[2]
BY_KIND = {(k.api_version, k.kind): k for k in ALL_KINDS}


def example_objects() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted((ROOT / "examples").rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and (doc.get("apiVersion"), doc.get("kind")) in BY_KIND:
                out.append((f"{path.relative_to(ROOT)}:{doc['metadata']['name']}", doc))
    return out


@pytest.mark.parametrize(("where", "doc"), example_objects(), ids=lambda v: v if isinstance(v, str) else "")
def test_example_spec_parses_with_its_model(where: str, doc: dict[str, Any]) -> None:
    kind = BY_KIND[(doc["apiVersion"], doc["kind"])]
    spec = kind.spec.model_validate(doc.get("spec") or {})
    dumped = spec.model_dump(by_alias=True, exclude_unset=True, mode="json")
    assert dumped == doc.get("spec", {}), where


def test_models_reject_unknown_fields() -> None:
    server = next(k for k in ALL_KINDS if k.kind == "Server")
    with pytest.raises(ValueError, match="bogus"):
        server.spec.model_validate({"flavor": "m1.small", "image": "x", "bogus": 1})

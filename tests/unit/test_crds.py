"""crds/ is generated from the models: it must be current, and every CRD must be accepted as it is."""

from __future__ import annotations

from pathlib import Path

import yaml

from controllers.api import ALL_KINDS
from controllers.crdgen import crd_for, model_schema
from kumulus.apiserver import schema
from kumulus.apiserver.registry import validate_crd
from kumulus.crds import differences

CRDS = Path(__file__).resolve().parents[2] / "crds"


def test_crds_directory_is_generated_from_the_models() -> None:
    assert differences(CRDS) == [], "crds/ is out of date: run `make crds`"


def test_every_crd_is_valid_and_structural() -> None:
    for kind in ALL_KINDS:
        crd = crd_for(kind)
        assert validate_crd(crd) == [], kind.kind
        names = crd["spec"]["names"]
        assert names["categories"] == ["kumulus-internal" if kind.internal else "kumulus"]


def test_every_field_has_a_description() -> None:
    def walk(node: dict[str, object], path: str, missing: list[str]) -> None:
        for name, sub in (node.get("properties") or {}).items():  # type: ignore[attr-defined]
            if "description" not in sub:
                missing.append(f"{path}.{name}")
            walk(sub, f"{path}.{name}", missing)
        items = node.get("items")
        if isinstance(items, dict):
            walk(items, path + "[]", missing)

    missing: list[str] = []
    for kind in ALL_KINDS:
        walk(crd_for(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"], kind.kind, missing)
    assert missing == []


def test_generated_schema_matches_what_the_models_accept() -> None:
    """The CRD schema and the pydantic model agree on a valid object (defaults included)."""
    for kind in ALL_KINDS:
        spec_schema = model_schema(kind.spec)
        assert spec_schema["type"] == "object"
        assert schema.check_schema({"type": "object", "properties": {"spec": spec_schema}}) == []


def test_files_are_yaml_crds() -> None:
    for path in CRDS.glob("*.yaml"):
        doc = yaml.safe_load(path.read_text())
        assert doc["kind"] == "CustomResourceDefinition"


def test_field_rules_add_to_the_rules_of_the_fields_model() -> None:
    from pydantic import ConfigDict, Field

    from controllers.api.base import KumulusModel, immutable

    class Inner(KumulusModel):
        model_config = ConfigDict(
            json_schema_extra={"x-kubernetes-validations": [{"rule": "size(self.a) > 0"}]}
        )
        a: str = Field(description="a")

    class Outer(KumulusModel):
        inner: Inner = Field(description="inner", json_schema_extra=immutable("inner is immutable"))

    rules = [r["rule"] for r in model_schema(Outer)["properties"]["inner"]["x-kubernetes-validations"]]
    assert rules == ["size(self.a) > 0", "self == oldSelf"]

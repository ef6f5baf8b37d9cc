"""A small real kopf operator used by the integration tests: it reacts to Gizmos and patches status."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import kopf

MARKERS = Path(os.environ["GIZMO_MARKERS"])


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    settings.posting.level = 0
    settings.watching.server_timeout = 30


@kopf.on.create("test.kumulus.dev", "v1alpha1", "gizmos")
def created(spec: dict[str, Any], patch: kopf.Patch, **_: Any) -> None:
    patch.status["phase"] = "Created"
    patch.status["seenSize"] = spec["size"]


@kopf.on.update("test.kumulus.dev", "v1alpha1", "gizmos", field="spec.size")
def resized(new: int, patch: kopf.Patch, **_: Any) -> None:
    patch.status["phase"] = "Resized"
    patch.status["seenSize"] = new


@kopf.on.delete("test.kumulus.dev", "v1alpha1", "gizmos")
def deleted(name: str, **_: Any) -> None:
    (MARKERS / f"deleted-{name}").write_text("yes")

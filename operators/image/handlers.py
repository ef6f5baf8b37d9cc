"""kopf watch events of Images and ClusterImages, fed to the storage operator (which plans them)."""

from __future__ import annotations

from operators.storage.handlers import watch
from operators.storage.resources import IMAGE_KINDS

for _kind in IMAGE_KINDS:
    watch(_kind, prefix="image")

"""The API resources the storage operator reads and writes, by kind."""

from __future__ import annotations

from operators.kube import FLAVORS, SERVERS, ZONES, Resource

_GROUP = "storage.kumulus.dev"
_IMAGE = "image.kumulus.dev"
_VERSION = "v1alpha1"

RESOURCES: dict[str, Resource] = {
    "VolumeType": Resource(_GROUP, _VERSION, "volumetypes", "VolumeType", namespaced=False),
    "Zone": ZONES,
    "Flavor": FLAVORS,
    "ClusterImage": Resource(_IMAGE, _VERSION, "clusterimages", "ClusterImage", namespaced=False),
    "Image": Resource(_IMAGE, _VERSION, "images", "Image"),
    "Server": SERVERS,
    "Volume": Resource(_GROUP, _VERSION, "volumes", "Volume"),
    "VolumeSnapshot": Resource(_GROUP, _VERSION, "volumesnapshots", "VolumeSnapshot"),
}
IMAGE_KINDS = ("Image", "ClusterImage")
"""Watched by operators.image.handlers; the rest by operators.storage.handlers."""

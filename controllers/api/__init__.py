"""The Kumulus API: every kind, from the modules of its API group."""

from __future__ import annotations

from . import compute, image, infra, loadbalancer, network, storage
from .base import Kind

ALL_KINDS: tuple[Kind, ...] = (
    *compute.KINDS,
    *network.KINDS,
    *storage.KINDS,
    *image.KINDS,
    *loadbalancer.KINDS,
    *infra.KINDS,
)

"""The Kumulus API: every kind, from the modules of its API group."""

from __future__ import annotations

from . import compute
from .base import Kind

ALL_KINDS: tuple[Kind, ...] = (*compute.KINDS,)

"""loadbalancer.kumulus.dev (being written)."""

from __future__ import annotations

from .base import Kind

KINDS: tuple[Kind, ...] = ()

"""The one Redis key prefix. Each package's `keys` module builds every key of its own on it."""

from __future__ import annotations

__all__ = ["PREFIX"]

PREFIX = "bg:"

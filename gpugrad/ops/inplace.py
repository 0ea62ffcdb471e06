"""In-place ops (``add_``, ``mul_``, ``+=``...) with version counters."""

from __future__ import annotations

__all__: list[str] = []

METHODS: dict = {}

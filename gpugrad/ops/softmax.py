"""``softmax`` and ``log_softmax`` over a dim."""

from __future__ import annotations

__all__: list[str] = []

METHODS: dict = {}

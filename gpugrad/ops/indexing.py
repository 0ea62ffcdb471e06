"""Indexing: ``__getitem__`` / ``__setitem__`` with slices, integer and boolean tensors."""

from __future__ import annotations

__all__: list[str] = []

METHODS: dict = {}

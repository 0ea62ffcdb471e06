"""The named tuples ops return, as ``torch.return_types``: ``max(x, dim)``'s
``(values, indices)``, ``aminmax``'s ``(min, max)``, the linalg results... All are made by
``result`` and listed on ``return_types`` (``gpugrad.return_types``)."""

from __future__ import annotations

import collections
import types

return_types = types.SimpleNamespace()


def result(name: str, fields: str = "values indices"):
    """A named tuple ``gpugrad.return_types.<name>`` with ``fields`` (space-separated),
    printed as PyTorch prints its own; registered on ``return_types``."""
    cls = collections.namedtuple(name, fields.split())
    cls.__module__ = "gpugrad.return_types"

    def __repr__(self):
        body = ",\n".join(f"{f}={getattr(self, f)!r}" for f in self._fields)
        return f"gpugrad.return_types.{name}(\n{body})"

    cls.__repr__ = __repr__
    setattr(return_types, name, cls)
    return cls

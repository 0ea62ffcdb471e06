"""Specs of ``cdist`` (``gpugrad/ops/distance.py``, ``torch.cdist``):
the norm of each difference, and for p = 2 the matmul form PyTorch's ``compute_mode`` picks."""

from __future__ import annotations

import numpy as np

from ..core import ErrorCase, OpSpec, Sample, randn, register


def _apart(rng, *shape):
    """Points at least a little apart: the distance's gradient is smooth away from 0."""
    return randn(rng, *shape) + 3 * rng.permutation(shape[-2])[:, None]


register(
    OpSpec("cdist", lambda m, a, b, p=2.0: m.cdist(a, b, p),
           lambda rng: [Sample((_apart(rng, 4, 3), _apart(rng, 5, 3) + 0.5)),
                        Sample((_apart(rng, 2, 3, 2), _apart(rng, 1, 4, 2) + 0.5, 1.5)),
                        Sample((_apart(rng, 3, 2), _apart(rng, 2, 2) + 0.5, 3.0)),
                        Sample((randn(rng, 0, 2), randn(rng, 3, 2)))],
           errors=[ErrorCase((np.ones(3), np.ones((2, 3))), RuntimeError, "at least 2D"),
                   ErrorCase((np.ones((2, 3)), np.ones((2, 4))), RuntimeError, "columns")]),
    OpSpec("cdist_mm", lambda m, a, b: m.cdist(a, b, compute_mode="use_mm_for_euclid_dist"),
           lambda rng: [Sample((_apart(rng, 4, 3), _apart(rng, 5, 3) + 0.5)),
                        Sample((_apart(rng, 2, 3, 2), _apart(rng, 1, 4, 2) + 0.5))],
           atol32=1e-4),
)

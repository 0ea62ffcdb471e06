"""The cross-entropy twin's two paths: the plain one (class indices, no weight, no smoothing, no
ignored row, one block) must agree with the general blocked one, which tests reach with a
weight of ones (same loss, same gradient)."""

from __future__ import annotations

import numpy as np
import pytest

from gpugrad.backend import cpu_backend


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("n, c", [(1, 1), (5, 3), (32, 10), (7, 1000)])
def test_plain_path_matches_the_general_path(n, c, reduction, dtype):
    backend = cpu_backend()
    rng = np.random.default_rng(n * c)
    logits = (rng.standard_normal((n, c)) * 5).astype(dtype)
    target = rng.integers(0, c, n)
    plain = backend.cross_entropy(logits, target, None, -100, 0.0, reduction, True)
    general = backend.cross_entropy(logits, target, np.ones(c, dtype), -100, 0.0, reduction, True)
    tol = 1e-6 if dtype == np.float32 else 1e-14
    for p, g in zip(plain, general):
        assert p.dtype == g.dtype and p.shape == g.shape
        np.testing.assert_allclose(p, g, rtol=tol, atol=tol)


def test_plain_path_leaves_its_inputs_alone():
    backend = cpu_backend()
    logits = np.arange(12, dtype=np.float32).reshape(4, 3)
    target = np.array([0, 2, 1, 2])
    before = logits.copy(), target.copy()
    backend.cross_entropy(logits, target, None, -100, 0.0, "mean", True)
    np.testing.assert_array_equal(logits, before[0])
    np.testing.assert_array_equal(target, before[1])

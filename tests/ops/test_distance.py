"""``cdist`` beyond the registry: what its matmul form gives for coincident rows; p = 0."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

# rows 0 and 1 coincide; row 3 differs from row 0 by less than float32 resolves in the matmul
ROWS = np.array([[1.0, 2.0, -0.5], [1.0, 2.0, -0.5], [0.0, 5.0, 1.0], [1.0, 2.0, -0.5 + 1e-9]])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_matmul_cdist_reads_zero_for_coincident_rows_as_torch(dtype):
    results = []
    for m in (gpugrad, torch):
        x = m.tensor(ROWS, dtype=getattr(m, dtype), requires_grad=True)
        d = m.cdist(x, x, compute_mode="use_mm_for_euclid_dist")
        (d * m.arange(16, dtype=d.dtype).reshape(4, 4)).sum().backward()
        results.append((d.detach().numpy(), x.grad.numpy()))
    (ours, our_grad), (theirs, their_grad) = results
    # zeros exactly where PyTorch has them (self-pairs are found by ``d == 0``)
    np.testing.assert_array_equal(ours == 0, theirs == 0)
    assert (np.diag(ours) == 0).all()
    tol = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol)
    np.testing.assert_allclose(our_grad, their_grad, rtol=tol, atol=tol)


def test_p0_counts_differences_propagates_nan_and_sends_back_zeros_as_torch():
    rows = np.array([[0.0, np.nan, 1.0], [0.0, 0.0, 0.0], [-0.0, 2.0, 1.0]])
    results = []
    for m in (gpugrad, torch):
        x = m.tensor(rows, requires_grad=True)
        d = m.cdist(x, x[1:], p=0)
        d.sum().backward()
        results.append((d.detach().numpy(), x.grad.numpy(), str(d.dtype).split(".")[1]))
    (ours, our_grad, our_dtype), (theirs, their_grad, their_dtype) = results
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(our_grad, their_grad)  # zeros, where a plain count gives none
    assert our_dtype == their_dtype == "float64"

"""gpugrad.distributions.utils against torch.distributions.utils."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.distributions.utils as tu

import gpugrad
import gpugrad.distributions.utils as gu

R = np.random.default_rng(9)


@pytest.mark.parametrize("diag", [0, -1, 1])
def test_tril_vec_round_trip(diag):
    m = R.standard_normal((2, 4, 4))
    ours = gu.tril_matrix_to_vec(gpugrad.tensor(m), diag)
    theirs = tu.tril_matrix_to_vec(torch.tensor(m), diag)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    back = gu.vec_to_tril_matrix(ours, diag)
    np.testing.assert_array_equal(back.numpy(), tu.vec_to_tril_matrix(theirs, diag).numpy())


def test_probs_logits_helpers():
    p = R.uniform(0, 1, (3, 4))
    p[0, 0] = 0.0
    for binary in (True, False):
        np.testing.assert_allclose(gu.probs_to_logits(gpugrad.tensor(p), binary).numpy(),
                                   tu.probs_to_logits(torch.tensor(p), binary).numpy())
        np.testing.assert_allclose(gu.logits_to_probs(gpugrad.tensor(p), binary).numpy(),
                                   tu.logits_to_probs(torch.tensor(p), binary).numpy())
    np.testing.assert_array_equal(gu.clamp_probs(gpugrad.tensor(p)).numpy(),
                                  tu.clamp_probs(torch.tensor(p)).numpy())


def test_broadcast_all():
    a, b, c = gu.broadcast_all(gpugrad.tensor([[1.0], [2.0]], dtype=gpugrad.float64), 3.0,
                               gpugrad.zeros(3, dtype=gpugrad.float64))
    assert a.shape == b.shape == c.shape == (2, 3) and b.dtype == gpugrad.float64
    (x,) = gu.broadcast_all(1.5)
    assert x.shape == () and x.dtype == gpugrad.float32
    with pytest.raises(ValueError, match="numbers.Number"):
        gu.broadcast_all("a")

"""``svd_lowrank`` and ``pca_lowrank`` against PyTorch. Their random starts differ, so they are
compared where the answer does not depend on the start: matrices of rank at most ``q``, whose
singular values, projector ``U U^T`` and reconstruction both libraries find to rounding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

RNG = np.random.default_rng(7)


def _rank3(*shape):
    m, n = shape[-2:]
    batch = shape[:-2]
    return RNG.standard_normal(batch + (m, 3)) @ RNG.standard_normal(batch + (3, n))


def _tol(dtype):
    return dict(rtol=1e-4, atol=1e-4) if dtype == "float32" else dict(rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(9, 5), (4, 8), (2, 6, 6)], ids=["tall", "wide", "batched"])
@pytest.mark.parametrize("with_mean", [False, True])
def test_svd_lowrank_of_a_low_rank_matrix_as_torch(dtype, shape, with_mean):
    A = _rank3(*shape)
    M = RNG.standard_normal((1, shape[-1])) if with_mean else None
    A_full = A + (0 if M is None else M)  # (A_full - M) has rank 3
    results = []
    for lib in (gpugrad, torch):
        t = lib.tensor(A_full, dtype=getattr(lib, dtype))
        mean = None if M is None else lib.tensor(M, dtype=getattr(lib, dtype))
        U, S, V = lib.svd_lowrank(t, q=4, M=mean)
        assert U.dtype == S.dtype == V.dtype == t.dtype
        results.append([x.numpy() for x in (U, S, V)])
    (U, S, V), (tU, tS, tV) = results
    assert U.shape == tU.shape and S.shape == tS.shape and V.shape == tV.shape
    np.testing.assert_allclose(S[..., :3], tS[..., :3], **_tol(dtype))
    projector = U[..., :3] @ np.swapaxes(U[..., :3], -1, -2)
    np.testing.assert_allclose(projector, tU[..., :3] @ np.swapaxes(tU[..., :3], -1, -2),
                               **_tol(dtype))
    np.testing.assert_allclose(U @ (S[..., None] * np.swapaxes(V, -1, -2)), A, **_tol(dtype))


@pytest.mark.parametrize("center", [True, False])
def test_pca_lowrank_as_torch(center):
    A = _rank3(10, 6) + (RNG.standard_normal((1, 6)) if center else 0)
    out = [lib.pca_lowrank(lib.tensor(A), center=center) for lib in (gpugrad, torch)]
    (U, S, V), (tU, tS, tV) = [[x.numpy() for x in o] for o in out]
    assert S.shape == tS.shape == (6,)
    np.testing.assert_allclose(S[:3], tS[:3], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(V[:, :3] @ V[:, :3].T, tV[:, :3] @ tV[:, :3].T, atol=1e-9)


def test_the_gradient_of_the_leading_singular_values_is_torchs():
    A = _rank3(7, 5)
    grads = []
    for lib in (gpugrad, torch):
        t = lib.tensor(A, requires_grad=True)
        U, S, V = lib.svd_lowrank(t, q=3)
        (S.sum() + (U[:, 0] ** 2).sum()).backward()
        grads.append(t.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-7, atol=1e-9)


def test_finite_differences():
    A = gpugrad.tensor(_rank3(6, 4) + 0.1 * RNG.standard_normal((6, 4)), requires_grad=True)

    def leading(a):
        gpugrad.manual_seed(3)  # (one random start for every evaluation: a smooth function)
        return gpugrad.svd_lowrank(a, q=4, niter=3)[1]

    assert gpugrad.autograd.gradcheck(leading, (A,))


@pytest.mark.parametrize("kwargs", [dict(q=7), dict(q=-1), dict(niter=-1)])
def test_pca_lowrank_refuses_bad_sizes_as_torch(kwargs):
    A = RNG.standard_normal((5, 6))
    messages = []
    for lib in (gpugrad, torch):
        with pytest.raises(ValueError) as err:
            lib.pca_lowrank(lib.tensor(A), **kwargs)
        messages.append(str(err.value))
    assert messages[0] == messages[1]

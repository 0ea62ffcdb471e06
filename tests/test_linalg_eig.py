"""``linalg.eig`` and ``linalg.eigvals`` against torch 2.13: eigenpairs of real and complex,
batched and empty matrices (as sets: LAPACK gives the eigenvalues in no order), gradients of
losses that depend on neither the order nor the eigenvectors' phases (float64 and float32,
real and complex inputs), second order, finite differences, and errors. ``linalg.solve`` too,
whose backward eig's uses: its complex gradients (conjugate transposes)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

LIBS = (torch, gpugrad)


def _matrix(shape, kind: str, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    return a + 1j * rng.standard_normal(shape) if kind == "c" else a


def _dtype(L, kind: str, single: bool):
    if kind == "c":
        return L.complex64 if single else L.complex128
    return L.float32 if single else L.float64


@pytest.mark.parametrize("shape", [(4, 4), (2, 3, 3), (1, 1), (0, 0), (2, 0, 0)])
@pytest.mark.parametrize("kind", ["r", "c"])
@pytest.mark.parametrize("single", [False, True])
def test_eigenpairs(shape, kind, single):
    """The eigenvalues as torch's (as multisets), complex in the right precision; each pair
    solves A v = l v with |v| = 1."""
    a = _matrix(shape, kind)
    got = gpugrad.linalg.eig(gpugrad.tensor(a, dtype=_dtype(gpugrad, kind, single)))
    want = torch.linalg.eig(torch.tensor(a, dtype=_dtype(torch, kind, single)))
    assert str(got.eigenvalues.dtype).split(".")[-1] == str(want.eigenvalues.dtype).split(".")[-1]
    assert str(got.eigenvectors.dtype) == str(got.eigenvalues.dtype)
    assert tuple(got.eigenvalues.shape) == tuple(want.eigenvalues.shape)
    assert tuple(got.eigenvectors.shape) == tuple(want.eigenvectors.shape)
    tol = dict(rtol=1e-4, atol=1e-4) if single else dict(rtol=1e-10, atol=1e-10)
    values, vectors = got.eigenvalues.numpy(), got.eigenvectors.numpy()
    np.testing.assert_allclose(np.sort_complex(values), np.sort_complex(want.eigenvalues.numpy()),
                               **tol)
    np.testing.assert_allclose(a.astype(vectors.dtype) @ vectors, vectors * values[..., None, :],
                               **tol)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=-2), 1, **tol)
    np.testing.assert_array_equal(gpugrad.linalg.eigvals(gpugrad.tensor(a)).numpy(),
                                  gpugrad.linalg.eig(gpugrad.tensor(a)).eigenvalues.numpy())


# Losses that depend on neither the eigenvalues' order nor the eigenvectors' phases.
LOSSES = {
    "eigenvalue_squares": lambda L, A: (L.linalg.eigvals(A) ** 2).sum().real,
    "eigenvalue_magnitudes": lambda L, A: L.linalg.eigvals(A).abs().sum(),
    "spectral_radius": lambda L, A: L.linalg.eigvals(A).abs().max(),
    "weighted_eigenvectors": lambda L, A: (lambda r: (r.eigenvalues.abs()
                                                      * (r.eigenvectors.abs() ** 3).sum(-2)).sum()
                                          )(L.linalg.eig(A)),
    "batched_exp": lambda L, A: L.linalg.eigvals(A.unsqueeze(0) * L.tensor(
        [[[1.0]], [[0.5]]], dtype=A.real.dtype)).exp().sum().real,
}


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("kind", ["r", "c"])
@pytest.mark.parametrize("single", [False, True])
def test_gradients_as_torch(name, kind, single):
    results = []
    for L in LIBS:
        A = L.tensor(_matrix((4, 4), kind, 3), dtype=_dtype(L, kind, single), requires_grad=True)
        loss = LOSSES[name](L, A)
        loss.backward()
        results.append((loss.item(), A.grad.numpy()))
    tol = dict(rtol=1e-3, atol=1e-4) if single else dict(rtol=1e-9, atol=1e-10)
    (want, want_grad), (got, got_grad) = results
    np.testing.assert_allclose(got, want, **tol)
    assert got_grad.dtype == want_grad.dtype
    np.testing.assert_allclose(got_grad, want_grad, **tol)


@pytest.mark.parametrize("name", ["eigenvalue_squares", "weighted_eigenvectors"])
def test_second_order_as_torch(name):
    results = []
    for L in LIBS:
        A = L.tensor(_matrix((3, 3), "c", 4), requires_grad=True)
        (g,) = L.autograd.grad(LOSSES[name](L, A), A, create_graph=True)
        L.view_as_real(g).pow(2).sum().backward()
        results.append(A.grad.numpy())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-8, atol=1e-10)


def test_gradcheck_and_gradgradcheck():
    A = gpugrad.tensor(_matrix((3, 3), "r", 5), requires_grad=True)
    Z = gpugrad.tensor(_matrix((3, 3), "c", 6), requires_grad=True)
    for X in (A, Z):
        assert gpugrad.autograd.gradcheck(lambda x: gpugrad.linalg.eigvals(x), (X,))
        assert gpugrad.autograd.gradcheck(
            lambda x: gpugrad.linalg.eig(x).eigenvectors.abs(), (X,))
        assert gpugrad.autograd.gradgradcheck(lambda x: gpugrad.linalg.eigvals(x), (X,))


def test_a_loss_that_depends_on_the_phase_raises_as_torch():
    for L in LIBS:
        A = L.tensor(_matrix((3, 3), "c", 7), requires_grad=True)
        with pytest.raises(RuntimeError, match="specified up to multiplication by e\\^\\{i phi\\}"):
            L.linalg.eig(A).eigenvectors.sum().real.backward()


@pytest.mark.parametrize("make", [
    lambda L: L.zeros(3, 2), lambda L: L.zeros(3), lambda L: L.zeros(2, 2, dtype=L.int64),
    lambda L: L.zeros(2, 2, dtype=L.float16), lambda L: L.zeros(2, 2, dtype=L.bfloat16),
])
@pytest.mark.parametrize("fn", ["eig", "eigvals"])
def test_bad_input_raises_as_torch(make, fn):
    raised = []
    for L in LIBS:
        with pytest.raises(Exception) as info:
            getattr(L.linalg, fn)(make(L))
        raised.append(info.value)
    assert type(raised[1]) is type(raised[0])
    assert str(raised[1]) == str(raised[0])


def test_infs_and_nans_raise_as_torch_eig():
    """torch's eig raises; its eigvals returns NaNs for some inputs and crashes (oneMKL) for
    others: gpugrad raises for both, with eig's message."""
    bad = np.array([[np.nan, 0.0], [0.0, 1.0]])
    with pytest.raises(RuntimeError, match="input tensor should not contain infs or NaNs"):
        torch.linalg.eig(torch.tensor(bad))
    for fn in ("eig", "eigvals"):
        for value in (np.nan, np.inf):
            with pytest.raises(RuntimeError, match=f"torch.linalg.{fn}: input tensor should not "
                                                   "contain infs or NaNs"):
                getattr(gpugrad.linalg, fn)(gpugrad.tensor(np.where(np.isnan(bad), value, bad)))


def test_solve_gradients_of_complex_matrices_as_torch():
    """``linalg.solve``'s backward with conjugate transposes: eig's backward solves with V^H,
    and its second order goes through solve's."""
    results = []
    for L in LIBS:
        A = L.tensor(_matrix((3, 3), "c", 8), requires_grad=True)
        B = L.tensor(_matrix((3, 2), "c", 9), requires_grad=True)
        X = gpugrad.ops.linalg_solve.Solve.apply(A, B) if L is gpugrad else L.linalg.solve(A, B)
        L.view_as_real(X).pow(2).sum().backward()
        results.append((A.grad.numpy(), B.grad.numpy()))
    for got, want in zip(results[1], results[0]):
        np.testing.assert_allclose(got, want, rtol=1e-10)

"""The eigenvalue-penalised recurrent network (stable_rnn.py), run with gpugrad and with
PyTorch: both learn to predict the clean damped oscillation (well under the persistence
forecast's error, in a band around each other: the random streams differ) and the penalty
takes the spectral radius from above 1 to under 0.95 (without it, it stays above 1); from
PyTorch's initial weights and the same batches, twenty Adam steps with gradient clipping give
the same losses, radii, gradient norms, weights and eigenvalues. The penalty and the spectral
radius, and their gradients through ``torch.linalg.eigvals``, are checked against PyTorch, a
NumPy first-order perturbation formula and finite differences; ``torch.linalg.eig``'s vectors
(the slowest mode's magnitudes, a gradient through ``|V| ** 4``) against PyTorch's."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

from ._compare import assert_trains_like_torch, both, load

RNN = load("stable_rnn")
LIBS = pytest.mark.parametrize("lib", [gpugrad, torch], ids=["gpugrad", "torch"])


def test_stable_rnn_trains_like_torch():
    ours, theirs = both(lambda m: RNN.main(m, steps=150))
    # over seeds 0-3 both end at a test MSE of 0.035-0.040 (persistence: 0.08-0.09) and a
    # spectral radius of 0.79-0.89, from 1.1-1.4 after the first step
    assert_trains_like_torch(ours, theirs, shrink=0.5, rel=0.5)
    for result in (ours, theirs):
        assert result["grads_set"], result
        assert result["mse"] < 0.6 * result["persistence_mse"], result
        assert result["mse"] < 0.5 * result["initial_mse"], result
        assert result["radii"][0] > 1.0, result  # started unstable
        assert result["radius"] < RNN.THRESHOLD, result
        assert max(result["radii"][-30:]) < RNN.THRESHOLD, result
        assert np.abs(result["eigenvalues"]).max() == pytest.approx(result["radius"])
        assert result["norms"][0] > 1.0  # the first gradients were clipped
        magnitudes = result["mode_magnitudes"]
        assert magnitudes.shape == (RNN.HIDDEN,) and np.all(np.diff(magnitudes) <= 0)
        assert np.sum(magnitudes ** 2) == pytest.approx(1.0, abs=1e-5)  # unit eigenvector
        assert result["participation"] == pytest.approx(np.sum(magnitudes ** 4), rel=1e-5)
        assert 1 / RNN.HIDDEN <= result["participation"] < 0.5, result
    assert abs(ours["mse"] - theirs["mse"]) <= 0.3 * theirs["mse"], (ours, theirs)


@LIBS
def test_penalty_is_what_keeps_it_stable(lib):
    """The same training without the penalty leaves the spectral radius above 1 (1.15-1.65
    over seeds 0-3 after 60 steps, either library), while the MSE still falls."""
    result = RNN.main(lib, steps=60, penalty_weight=0.0)
    assert result["radius"] > 1.0, result
    assert result["final_loss"] < 0.5 * result["initial_loss"], result


def _torch_state(dtype):
    torch.manual_seed(0)
    state = RNN.make_model(torch, dtype).state_dict()
    return {k: gpugrad.from_numpy(v.numpy().copy()) for k, v in state.items()}, state


def _same_eigenvalues(ours, theirs, tol):
    """Equal as multisets (LAPACK's order need not be the same): every one of ours has one of
    theirs within ``tol``, and the other way round."""
    distance = np.abs(ours[:, None] - theirs[None, :])
    return distance.min(axis=1).max() <= tol and distance.min(axis=0).max() <= tol


def test_same_start_trains_as_torch():
    """From PyTorch's initial weights and the same batches, twenty float64 Adam steps (with
    ``clip_grad_norm_`` and a cosine schedule): the same loss, MSE, spectral radius and
    pre-clipping gradient norm at every step, the same weights, eigenvalues and slowest mode
    after. Measured: 3e-13 (losses; the penalty is a difference of nearly equal numbers when
    a modulus crosses the margin), 7e-14 (weights). Moving one recurrent weight by 1e-7 at the
    start moves the losses by 2e-6 and the weights by 4e-7."""
    ours_state, theirs_state = _torch_state("float64")
    assert list(ours_state) == list(RNN.make_model(gpugrad, "float64").state_dict())
    ours = RNN.main(gpugrad, steps=20, initial_state=ours_state, dtype="float64")
    theirs = RNN.main(torch, steps=20, initial_state=theirs_state, dtype="float64")
    for key in ("losses", "mses", "radii", "norms"):
        assert len(ours[key]) == len(theirs[key]) == 20, key
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-10, err_msg=key)
    assert ours["radii"][0] > RNN.MARGIN > ours["radii"][-1]  # the penalty went to zero
    assert ours["losses"][-1] < 0.1 * ours["losses"][0]
    assert ours["initial_mse"] == pytest.approx(theirs["initial_mse"], rel=1e-13)
    assert ours["mse"] == pytest.approx(theirs["mse"], rel=1e-10)
    for name, expected in theirs["weights"].items():
        got = ours["weights"][name]
        assert got.dtype == expected.dtype, name
        assert np.abs(expected - theirs_state[name].numpy()).max() > 1e-4, name  # moved
        np.testing.assert_allclose(got, expected, rtol=1e-10,
                                   atol=1e-10 * np.abs(expected).max(), err_msg=name)
    assert _same_eigenvalues(ours["eigenvalues"], theirs["eigenvalues"], 1e-10)
    np.testing.assert_allclose(ours["mode_magnitudes"], theirs["mode_magnitudes"], atol=1e-10)
    assert ours["participation"] == pytest.approx(theirs["participation"], rel=1e-10)


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-11), ("float32", 5e-5)])
def test_one_gradient_matches_torch(dtype, rtol):
    """Same weights, same batch: the MSE plus penalty and every parameter's gradient agree
    (measured, relative to each largest gradient: 9e-15 in float64, 1e-5 in float32)."""
    ours_state, theirs_state = _torch_state(dtype)
    x, y = RNN.make_batch(np.random.default_rng(3), 16)
    results = {}
    for lib, state in ((gpugrad, ours_state), (torch, theirs_state)):
        model = RNN.make_model(lib, dtype, state)
        pred = model(lib.from_numpy(x.astype(dtype)))
        loss = (lib.nn.functional.mse_loss(pred, lib.from_numpy(y.astype(dtype)))
                + model.stability_penalty())
        loss.backward()
        results[lib.__name__] = (loss.item(), {n: p.grad.numpy()
                                               for n, p in model.named_parameters()})
    (ours_loss, ours), (theirs_loss, theirs) = results["gpugrad"], results["torch"]
    assert ours_loss == pytest.approx(theirs_loss, rel=rtol)
    for name, expected in theirs.items():
        assert ours[name].dtype == expected.dtype == np.dtype(dtype), name
        scale = np.abs(expected).max()
        assert scale > 1e-3, name
        np.testing.assert_allclose(ours[name], expected, rtol=rtol, atol=rtol * scale,
                                   err_msg=name)


def _recurrent_matrix(size=8, gain=1.2, seed=11):
    """A random matrix with several eigenvalues above the margin and none near it."""
    w = gain / np.sqrt(size) * np.random.default_rng(seed).standard_normal((size, size))
    moduli = np.abs(np.linalg.eigvals(w))
    assert (moduli > RNN.MARGIN).sum() >= 3 and np.abs(moduli - RNN.MARGIN).min() > 1e-2
    return w


def _moduli_gradient(w, weights):
    """NumPy: the gradient of ``sum_k weights_k |lambda_k|`` for real ``w``, from the first
    order change of an eigenvalue, ``d lambda_k = (V^-1 dW V)_kk``."""
    values, vectors = np.linalg.eig(w)
    inverse = np.linalg.inv(vectors)
    grad = np.zeros_like(w)
    for k, lam in enumerate(values):
        dlam = np.outer(inverse[k], vectors[:, k])  # d lambda_k / d w_ij
        grad += weights[k] * (np.conj(lam) / abs(lam) * dlam).real
    return values, grad


def _penalty_and_radius(lib, w, dtype):
    """The module's penalty and spectral radius for this recurrent matrix, with their
    gradients."""
    model = RNN.build(lib)(hidden=w.shape[0], dtype=getattr(lib, dtype))
    with lib.no_grad():
        model.w_rec.copy_(lib.from_numpy(w.astype(dtype)))
    out = {}
    for name in ("stability_penalty", "spectral_radius"):
        model.zero_grad()
        value = getattr(model, name)()
        value.backward()
        out[name] = (value.item(), model.w_rec.grad.numpy().copy())
    return out


@pytest.mark.parametrize("dtype, tol", [("float64", 1e-11), ("float32", 2e-5)])
def test_penalty_gradient_matches_torch_and_numpy(dtype, tol):
    """The penalty ``sum relu(|lambda| - margin)`` and the spectral radius, and their
    gradients with respect to ``W``, equal PyTorch's and the first-order formula's (for the
    radius, of the largest modulus: its conjugate gives the same gradient, and a maximum
    shared by the pair is split evenly between them)."""
    w = _recurrent_matrix()
    ours, theirs = (_penalty_and_radius(lib, w, dtype) for lib in (gpugrad, torch))
    values, _ = np.linalg.eig(w)
    moduli = np.abs(values)
    penalised = (moduli > RNN.MARGIN).astype(float)
    largest = np.isclose(moduli, moduli.max(), rtol=1e-12, atol=0).astype(float)
    expected = {"stability_penalty": (np.sum(penalised * (moduli - RNN.MARGIN)),
                                      _moduli_gradient(w, penalised)[1]),
                "spectral_radius": (moduli.max(),
                                    _moduli_gradient(w, largest / largest.sum())[1])}
    for name, (value, grad) in expected.items():
        assert np.abs(grad).max() > 1e-2, name
        for result in (ours, theirs):
            assert result[name][0] == pytest.approx(value, rel=tol), name
            np.testing.assert_allclose(result[name][1], grad, rtol=tol,
                                       atol=tol * np.abs(grad).max(), err_msg=name)
        np.testing.assert_allclose(ours[name][1], theirs[name][1], rtol=tol,
                                   atol=tol * np.abs(grad).max(), err_msg=name)


@LIBS
def test_penalty_gradcheck(lib):
    """Float64 central differences of the penalty and of the spectral radius as functions of
    the recurrent matrix."""
    w = lib.from_numpy(_recurrent_matrix(size=6, gain=1.3, seed=4)).requires_grad_()

    def penalty(w):
        return lib.relu(lib.linalg.eigvals(w).abs() - RNN.MARGIN).sum()

    def radius(w):
        return lib.linalg.eigvals(w).abs().max()

    assert penalty(w).item() > 0.1
    assert lib.autograd.gradcheck(penalty, (w,))
    assert lib.autograd.gradcheck(radius, (w,))


def test_eig_vectors_match_torch():
    """``torch.linalg.eig``: the same eigenvalues (as a multiset), ``W V = V diag(lambda)``
    with unit columns, the same slowest-mode magnitudes, and the same gradient of the
    order- and phase-free ``sum |V| ** 4`` (the modes' participation ratios)."""
    w = _recurrent_matrix()
    results = {}
    for lib in (gpugrad, torch):
        weight = lib.from_numpy(w.copy()).requires_grad_()
        values, vectors = lib.linalg.eig(weight)
        assert str(values.dtype).endswith("complex128") and tuple(vectors.shape) == w.shape
        v, lam = vectors.detach().numpy(), values.detach().numpy()
        np.testing.assert_allclose(w @ v, v * lam, atol=1e-12)
        np.testing.assert_allclose(np.linalg.norm(v, axis=0), 1.0, atol=1e-12)
        (vectors.abs() ** 4).sum().backward()
        magnitudes, participation = RNN.slowest_mode(lib, weight.detach())
        results[lib.__name__] = (lam, magnitudes.numpy(), participation.item(),
                                 weight.grad.numpy())
    (lam, mags, ipr, grad), (lam_t, mags_t, ipr_t, grad_t) = (results["gpugrad"],
                                                              results["torch"])
    assert _same_eigenvalues(lam, lam_t, 1e-12)
    np.testing.assert_allclose(mags, mags_t, atol=1e-12)
    assert ipr == pytest.approx(ipr_t, rel=1e-12) and ipr == pytest.approx(np.sum(mags ** 4))
    assert np.abs(grad_t).max() > 1e-2
    np.testing.assert_allclose(grad, grad_t, rtol=1e-10, atol=1e-10 * np.abs(grad_t).max())

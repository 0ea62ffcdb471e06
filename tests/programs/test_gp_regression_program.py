"""The Gaussian-process and Bayesian-linear-regression program of ``gp_regression.py``, run with
gpugrad and with PyTorch. Training starts from fixed hyperparameters on NumPy data, so the two
libraries follow the same Adam trajectory: both must reach the same negative log marginal
likelihood and a small predictive error. With one set of float64 inputs and hyperparameters
the five ways of writing the NLL (Cholesky, triangular solve, logdet, slogdet,
``MultivariateNormal.log_prob``) agree, and each gives the same value and the same
hyperparameter (and input) gradients in both libraries to ~1e-10; so do the posterior mean and
variance, the jitter-retry Cholesky, and the Bayesian linear regression posterior, evidence
and samples."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import gpugrad

from ._compare import load

GP = load("gp_regression")
LIBS = (gpugrad, torch)


def _np(t):
    return t.detach().cpu().numpy()


@pytest.mark.parametrize("kernel", GP.KERNELS)
def test_gp_learns_the_sine_like_torch(kernel):
    ours, theirs = GP.main(gpugrad, kernel=kernel), GP.main(torch, kernel=kernel)
    for lib in LIBS:  # main restores the default dtype it changed
        assert lib.get_default_dtype() == lib.float32, lib.__name__
    for result in (ours, theirs):
        # PyTorch (rbf): NLL/n 0.85 -> -0.38, noise 0.011, lengthscale 1.96, RMSE 0.067
        assert result["history_len"] == 100, result
        assert result["default_dtype_inside"] and result["pred_is_float64"], result
        assert result["final_nll"] < result["initial_nll"] - 1.0, result
        assert 0.003 < result["noise"] < 0.03, result  # the data's noise variance is 0.01
        assert 1.0 < result["lengthscale"] < 4.0, result
        assert result["rmse"] < 0.12, result
        assert result["max_abs_z"] < 4.0, result
        assert result["var_min"] > 0 and result["var_gap"] < 1e-10, result
        nlls = list(result["nlls"].values())
        np.testing.assert_allclose(nlls, nlls[0], rtol=1e-10)
        assert result["blr_rmse"] < 0.1, result
        assert result["blr_samples_shape"] == (500, 6), result
        # 500 samples: the sample mean is within a few standard errors of the exact one
        assert result["blr_sample_gap"] < 6 * result["blr_sample_std_max"] / math.sqrt(500)
    # same data, same start, deterministic training: the same trajectory
    assert ours["initial_nll"] == pytest.approx(theirs["initial_nll"], rel=1e-12)
    assert ours["final_nll"] == pytest.approx(theirs["final_nll"], rel=1e-8)
    for key in ("lengthscale", "outputscale", "noise", "mean_constant", "rmse"):
        assert ours[key] == pytest.approx(theirs[key], rel=1e-7), key
    assert ours["blr_log_evidence"] == pytest.approx(theirs["blr_log_evidence"], rel=1e-10)
    assert ours["blr_rmse"] == pytest.approx(theirs["blr_rmse"], rel=1e-10)


def test_default_dtype_restored_when_main_raises():
    for lib in LIBS:
        with pytest.raises(ValueError, match="unknown kernel"):
            GP.main(lib, kernel="periodic", steps=1)
        assert lib.get_default_dtype() == lib.float32, lib.__name__


def twin_inputs(lib, n=12, seed=1):
    x_np, y_np, xt_np, _ = GP.make_data(n, 7, seed)
    x = lib.from_numpy(x_np.copy())
    y = lib.tensor(y_np, dtype=lib.float64)
    return x, y, lib.from_numpy(xt_np.copy())


def twin_gp(lib, kernel, **hyper):
    hyper = {"lengthscale": 0.8, "outputscale": 1.3, "noise": 0.05, "mean": 0.1, **hyper}
    return GP.build_gp(lib, kernel, **hyper).double()


def nll_and_grads(lib, kernel, method):
    gp = twin_gp(lib, kernel)
    x, y, _ = twin_inputs(lib)
    x.requires_grad_(True)
    nll = GP.negative_log_marginal_likelihood(lib, gp, x, y, method)
    params = list(gp.parameters())
    grads = lib.autograd.grad(nll, params + [x], retain_graph=True)
    nll.backward()
    assert nll.dtype == lib.float64
    return {"nll": nll.item(), "names": [n for n, _ in gp.named_parameters()] + ["x"],
            "grads": [_np(g) for g in grads], "backward": [_np(p.grad) for p in params]}


@pytest.mark.parametrize("method", GP.NLL_METHODS)
@pytest.mark.parametrize("kernel", GP.KERNELS)
def test_same_hyperparameters_same_nll_and_gradients(kernel, method):
    mine, ref = nll_and_grads(gpugrad, kernel, method), nll_and_grads(torch, kernel, method)
    # a module's own parameters come before its children's
    assert mine["names"] == ref["names"] == ["raw_noise", "mean_constant",
                                             "kernel.raw_lengthscale", "kernel.log_outputscale",
                                             "x"]
    assert mine["nll"] == pytest.approx(ref["nll"], rel=1e-10)
    for name, g_ours, g_theirs in zip(ref["names"], mine["grads"], ref["grads"]):
        assert g_ours.shape == g_theirs.shape, name
        assert np.isfinite(g_ours).all(), name  # cdist's gradient at zero distance is 0
        scale = np.abs(g_theirs).max()
        np.testing.assert_allclose(g_ours, g_theirs, rtol=0, atol=1e-10 * scale, err_msg=name)
    for name, b_ours, b_theirs in zip(ref["names"], mine["backward"], ref["backward"]):
        np.testing.assert_allclose(b_ours, b_theirs, rtol=0,
                                   atol=1e-10 * np.abs(b_theirs).max(), err_msg=name)


@pytest.mark.parametrize("lib", LIBS, ids=lambda lib: lib.__name__)
def test_nll_variants_agree_with_each_other_and_with_numpy(lib):
    for kernel in GP.KERNELS:
        results = [nll_and_grads(lib, kernel, method) for method in GP.NLL_METHODS]
        gp = twin_gp(lib, kernel)
        x, y, _ = twin_inputs(lib)
        with lib.no_grad():
            K, mean = _np(gp.covariance(x)), gp.mean_constant.item()
        r = _np(y) - mean
        _, logdet = np.linalg.slogdet(K)
        expected = 0.5 * r @ np.linalg.solve(K, r) + 0.5 * logdet + 0.5 * len(r) * np.log(
            2 * np.pi)
        for method, result in zip(GP.NLL_METHODS, results):
            assert result["nll"] == pytest.approx(expected, rel=1e-10), (kernel, method)
            for g, g0 in zip(result["grads"], results[0]["grads"]):
                np.testing.assert_allclose(g, g0, rtol=0, atol=1e-8 * np.abs(g0).max(),
                                           err_msg=f"{kernel} {method}")


def test_same_adam_trajectory_and_hyperparameters():
    def run(lib):
        gp = twin_gp(lib, "matern52", lengthscale=0.5, outputscale=0.5, noise=0.5, mean=0.0)
        x, y, _ = twin_inputs(lib, n=20)
        optimizer = lib.optim.Adam(gp.parameters(), lr=0.05)
        losses = []
        for _ in range(25):
            optimizer.zero_grad()
            loss = GP.negative_log_marginal_likelihood(lib, gp, x, y, "mvn") / 20
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        return losses, {k: _np(v) for k, v in gp.state_dict().items()}

    (ours, our_state), (theirs, their_state) = run(gpugrad), run(torch)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)
    assert theirs[-1] < theirs[0] - 0.2
    assert list(our_state) == list(their_state)
    for key, value in their_state.items():
        np.testing.assert_allclose(our_state[key], value, rtol=1e-9, err_msg=key)


@pytest.mark.parametrize("noise", [0.05, 1e-9])
def test_same_posterior_mean_and_variance(noise):
    results = []
    for lib in LIBS:
        gp = twin_gp(lib, "rbf_cdist", noise=noise)
        x, y, x_test = twin_inputs(lib)
        # test points: the grid plus the training inputs themselves
        mean, var, var_tri = GP.predict(lib, gp, x, y, lib.cat([x_test, x]))
        assert not mean.requires_grad and mean.dtype == var.dtype == lib.float64
        results.append([_np(mean), _np(var), _np(var_tri)])
    for name, a, b in zip(("mean", "var", "var_tri"), *results):
        assert a.shape == b.shape == (7 + 12,), name
        assert (a >= 1e-10).all() if name != "mean" else True, name  # clamp_min(1e-10)
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10, err_msg=name)
    mean, var, var_tri = results[0]
    np.testing.assert_allclose(var, var_tri, rtol=1e-8, atol=1e-10)
    if noise < 1e-6:  # nearly noiseless: the posterior (nearly) interpolates the targets
        y = GP.make_data(12, 7, 1)[1]
        np.testing.assert_allclose(mean[7:], y, atol=1e-2)
        assert var[7:].max() < 1e-5


def test_cholesky_with_jitter_retries_like_torch():
    results = []
    for lib in LIBS:
        x = lib.tensor([[0.0], [0.5], [0.5], [1.0]], dtype=lib.float64)  # a repeated input
        gp = twin_gp(lib, "rbf")
        with lib.no_grad():
            K = gp.kernel(x, x) - 1e-7 * lib.eye(4, dtype=lib.float64)
        assert lib.linalg.cholesky_ex(K).info.item() > 0
        with pytest.raises(lib.linalg.LinAlgError):
            lib.linalg.cholesky(K)
        L, jitter = GP.cholesky_with_jitter(lib, K)
        with pytest.raises(lib.linalg.LinAlgError, match="not positive-definite"):
            GP.cholesky_with_jitter(lib, -K)
        results.append((_np(L), jitter))
    (L_ours, j_ours), (L_theirs, j_theirs) = results
    assert j_ours == j_theirs == 1e-6
    np.testing.assert_allclose(L_ours, L_theirs, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("lib", LIBS, ids=lambda lib: lib.__name__)
def test_diverged_hyperparameter_makes_cholesky_raise(lib):
    """A NaN hyperparameter (a diverged run) makes the Gram matrix NaN: PyTorch's Cholesky
    reports it as not positive-definite -- ``linalg.cholesky`` raises ``LinAlgError`` and
    ``cholesky_ex`` returns a nonzero ``info`` -- which is what training loops catch."""
    gp = twin_gp(lib, "rbf")
    x, y, _ = twin_inputs(lib)
    with lib.no_grad():
        gp.kernel.raw_lengthscale.fill_(float("nan"))
        K = gp.covariance(x)
    assert lib.isnan(K).any()
    assert lib.linalg.cholesky_ex(K).info.item() > 0
    with pytest.raises(lib.linalg.LinAlgError):
        GP.negative_log_marginal_likelihood(lib, gp, x, y)
    with pytest.raises(lib.linalg.LinAlgError):
        GP.cholesky_with_jitter(lib, K)


def blr(lib, n_samples=4000):
    x, y, x_test = twin_inputs(lib, n=30)
    lib.manual_seed(0)
    out = GP.bayesian_linear_regression(lib, x[:, 0], y, x_test[:, 0], n_samples=n_samples)
    Phi = GP.polynomial_features(lib, x[:, 0])
    return out, _np(Phi), _np(y)


def test_blr_posterior_evidence_and_samples():
    (mine, Phi, y), (ref, _, _) = blr(gpugrad), blr(torch)
    # closed form in NumPy: prior precision 1, noise precision 100
    alpha, beta = 1.0, 1.0 / GP.NOISE_SD ** 2
    A = alpha * np.eye(Phi.shape[1]) + beta * Phi.T @ Phi
    S = np.linalg.inv(A)
    m = beta * S @ Phi.T @ y
    for result in (mine, ref):
        np.testing.assert_allclose(_np(result["m"]), m, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(_np(result["S"]), S, rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(_np(result["S"]), _np(result["S"]).T, rtol=0, atol=0)
        assert result["samples_shape"] == (4000, 6)
        std = _np(result["sample_std"])
        gap = np.abs(_np(result["sample_mean"]) - _np(result["exact_mean"]))
        assert (gap < 5 * std / math.sqrt(4000) + 1e-12).all()
    for key in ("m", "S", "exact_mean"):
        np.testing.assert_allclose(_np(mine[key]), _np(ref[key]), rtol=1e-10, atol=1e-12,
                                   err_msg=key)
    for key in ("log_evidence", "grad_log_alpha", "grad_log_beta"):
        assert mine[key] == pytest.approx(ref[key], rel=1e-10), key
    # the evidence gradient against a central difference in log alpha
    h = 1e-5
    Phi_t, y_t = torch.from_numpy(Phi), torch.from_numpy(y)
    ev = [GP.blr_posterior(torch, Phi_t, y_t, torch.tensor(math.exp(h * s), dtype=torch.float64),
                           torch.tensor(beta, dtype=torch.float64))[2].item() for s in (1, -1)]
    assert mine["grad_log_alpha"] == pytest.approx((ev[0] - ev[1]) / (2 * h), rel=1e-6)


@pytest.mark.parametrize("lib", LIBS, ids=lambda lib: lib.__name__)
def test_mvn_rsample_is_reparameterised(lib):
    """``rsample((k,))`` draws (k, d) samples with the posterior's covariance that carry
    gradients to the mean and covariance; ``sample`` carries none."""
    MultivariateNormal = lib.distributions.MultivariateNormal
    S_np = np.array([[2.0, 0.6, 0.0], [0.6, 1.0, -0.3], [0.0, -0.3, 0.5]])
    loc = lib.tensor([1.0, -2.0, 0.5], dtype=lib.float64, requires_grad=True)
    S = lib.tensor(S_np, dtype=lib.float64, requires_grad=True)
    lib.manual_seed(0)
    dist = MultivariateNormal(loc, covariance_matrix=S)
    w = dist.rsample((20000,))
    assert tuple(w.shape) == (20000, 3) and w.requires_grad
    np.testing.assert_allclose(_np(w.mean(0)), [1.0, -2.0, 0.5], atol=0.05)
    np.testing.assert_allclose(np.cov(_np(w).T), S_np, atol=0.06)
    g_loc, g_S = lib.autograd.grad(w.sum(), (loc, S))
    np.testing.assert_allclose(_np(g_loc), [20000.0] * 3)
    assert np.isfinite(_np(g_S)).all() and np.abs(_np(g_S)).max() > 0
    assert not dist.sample((5,)).requires_grad
    np.testing.assert_allclose(_np(dist.scale_tril), np.linalg.cholesky(S_np), rtol=1e-12)

"""Mixture density network and Bayes-by-Backprop MLP (``mdn_bayes.py``), run with gpugrad and
with PyTorch: both learn the multimodal inverse problem (the MDN's NLL falls and its
components sit on the three branches at x = 0.5; the Bayesian MLP's ELBO falls and its
predictive spread grows away from the data), in a band around PyTorch's (random streams
differ). From shared float64 weights, batches and noise, one step of each model gives
PyTorch's losses, gradients and Adam updates to rounding, for every way of writing the scale,
the NLL and the KL. The hand-written NLL equals the ``MixtureSameFamily`` one; the
distributions the programs use (``Normal``, ``Categorical``, ``MixtureSameFamily``,
``Independent``, ``kl_divergence``) agree with PyTorch method by method, and refuse bad
arguments as PyTorch does."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import gpugrad

from ._compare import load

M = load("mdn_bayes")
LIBS = [gpugrad, torch]
IDS = ["gpugrad", "torch"]


@pytest.fixture(autouse=True)
def _torch_validates_arguments():
    """PyTorch's argument validation on: ``torch.compile``, once used in a process, turns
    ``torch.distributions``' default validation off (as in ``tests/distributions``)."""
    torch.distributions.Distribution.set_default_validate_args(True)
    yield


def np_(t):
    return t.detach().numpy().copy()


def close(got, expected, rel=1e-10, err_msg=""):
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape, (err_msg, got.shape, expected.shape)
    scale = max(np.abs(expected).max(initial=0.0), 1e-300)
    np.testing.assert_allclose(got, expected, rtol=0, atol=rel * scale, err_msg=err_msg)


# ----------------------------------------------------------------------------------------
# learning
# ----------------------------------------------------------------------------------------

def test_mdn_learns_the_branches_like_torch():
    ours, theirs = M.train_mdn(gpugrad), M.train_mdn(torch)
    for r in (ours, theirs):
        assert len(r["branches"]) == 3, r
        assert r["final_loss"] < r["initial_loss"] - 0.7, r
        assert r["final_loss"] < -0.3 and r["full_nll"] < -0.3, r
        # at least two of the three branches have a component, the samples mostly near one
        assert sum(r["covered"]) >= 2, r
        assert r["draws_near_branches"] > 0.6 and r["hand_near_branches"] > 0.6, r
        # the sample moments match the mixture's mean and variance
        assert abs(r["draw_mean"] - r["mixture_mean"]) < 0.05, r
        assert abs(r["draw_var"] - r["mixture_var"]) < 0.5 * r["mixture_var"], r
    # seeds differ: the final NLL of either library spreads over about [-1.1, -0.2]
    assert abs(ours["final_loss"] - theirs["final_loss"]) < 0.7, (ours, theirs)


def test_bayes_mlp_learns_like_torch():
    ours, theirs = M.train_bnn(gpugrad), M.train_bnn(torch)
    for r in (ours, theirs):
        assert r["final_loss"] < 0.2 * r["initial_loss"], r
        assert r["final_kl"] < r["initial_kl"], r
        assert r["mean_mse"] < 0.08, r
        assert r["std_outside"] > 1.5 * r["std_inside"], r
        assert r["pred_shape"] == (11, 1), r
    assert abs(ours["final_loss"] - theirs["final_loss"]) < 0.3 * theirs["final_loss"] + 0.3, (
        ours, theirs)
    assert abs(ours["mean_mse"] - theirs["mean_mse"]) < 0.04, (ours, theirs)


# ----------------------------------------------------------------------------------------
# float64, one step from shared weights
# ----------------------------------------------------------------------------------------

def twin(build):
    """``build(lib)`` for both libraries in float64, PyTorch's copy loaded with gpugrad's
    weights."""
    gpugrad.manual_seed(0)
    ours = build(gpugrad).to(gpugrad.float64)
    torch.manual_seed(0)
    theirs = build(torch).to(torch.float64)
    state = ours.state_dict()
    assert list(state) == list(theirs.state_dict())
    theirs.load_state_dict({k: torch.from_numpy(np_(v)) for k, v in state.items()})
    return ours, theirs


def batch(lib, n=12, dim=1, seed=1):
    x, y = M.inverse_problem(n, seed, dim=dim)
    return lib.as_tensor(x, dtype=lib.float64), lib.as_tensor(y, dtype=lib.float64)


def step_and_snapshot(lib, model, loss_fn, lr=1e-2, steps=2):
    opt = lib.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        losses.append(loss.item())
        grads = {k: np_(p.grad) for k, p in model.named_parameters()}
        opt.step()
    weights = {k: np_(p) for k, p in model.named_parameters()}
    return losses, grads, weights


def assert_same_step(a, b):
    la, ga, wa = a
    lb, gb, wb = b
    assert la == pytest.approx(lb, rel=1e-10, abs=1e-12)
    assert ga.keys() == gb.keys() and wa.keys() == wb.keys()
    for k in gb:
        close(ga[k], gb[k], err_msg=f"grad {k}")
        close(wa[k], wb[k], err_msg=f"weight {k}")


@pytest.mark.parametrize("sigma_mode", ["exp", "softplus", "clamp"])
@pytest.mark.parametrize("nll", ["hand", "unsqueeze", "mixture"])
def test_mdn_step_matches_torch_in_float64(sigma_mode, nll):
    ours, theirs = twin(lambda lib: M.build_mdn(lib, hidden=8, sigma_mode=sigma_mode))
    results = []
    for lib, model in ((gpugrad, ours), (torch, theirs)):
        x, y = batch(lib)

        def loss_fn(lib=lib, model=model, x=x, y=y):
            out = model(x)
            if nll == "hand":
                return M.mdn_nll(lib, *out, y)
            if nll == "unsqueeze":
                return M.mdn_nll_unsqueeze(lib, *out, y.squeeze(-1))
            return M.mdn_nll_mixture(lib, *out, y.squeeze(-1))

        results.append(step_and_snapshot(lib, model, loss_fn))
    assert_same_step(*results)


def test_mdn_2d_independent_step_matches_torch_in_float64():
    ours, theirs = twin(lambda lib: M.build_mdn(lib, hidden=8, out_dim=2))
    results = []
    for lib, model in ((gpugrad, ours), (torch, theirs)):
        x, y = batch(lib, dim=2)
        pi_logits, mu, sigma = model(x)
        assert tuple(mu.shape) == (12, 5, 2) and tuple(sigma.shape) == (12, 5, 2)
        dist = M.mixture(lib, pi_logits, mu, sigma)
        assert tuple(dist.batch_shape) == (12,) and tuple(dist.event_shape) == (2,)
        results.append(step_and_snapshot(
            lib, model, lambda lib=lib, model=model, x=x, y=y: M.mdn_nll_mixture(
                lib, *model(x), y)))
    assert_same_step(*results)


def bnn_noise(lib, model, n_samples, seed=2):
    rng = np.random.default_rng(seed)
    return [[(lib.as_tensor(rng.standard_normal(tuple(layer.weight_mu.shape))),
              lib.as_tensor(rng.standard_normal(tuple(layer.bias_mu.shape))))
             for layer in model.layers] for _ in range(n_samples)]


@pytest.mark.parametrize("kl_mode,mc_kl", [("closed", False), ("hand", False),
                                           ("closed", True)])
def test_bayes_step_matches_torch_in_float64(kl_mode, mc_kl):
    ours, theirs = twin(lambda lib: M.build_bayes_mlp(lib, hidden=8, kl_mode=kl_mode))
    results, kls = [], []
    for lib, model in ((gpugrad, ours), (torch, theirs)):
        x, y = batch(lib)
        eps = bnn_noise(lib, model, 3)
        model.train()

        def loss_fn(lib=lib, model=model, x=x, y=y, eps=eps):
            loss, nll, kl = M.elbo_loss(lib, model, x, y, num_batches=4, n_samples=3,
                                        mc_kl=mc_kl, eps=eps)
            return loss

        kls.append(M.elbo_loss(lib, model, x, y, 4, 3, mc_kl=mc_kl, eps=eps)[2].item())
        results.append(step_and_snapshot(lib, model, loss_fn))
        # evaluation uses the means: two passes agree exactly
        model.eval()
        with lib.no_grad():
            assert lib.equal(model(x), model(x))
    assert kls[0] == pytest.approx(kls[1], rel=1e-10)
    assert_same_step(*results)


def test_closed_form_kl_written_by_hand_equals_kl_divergence():
    for lib in LIBS:
        lib.manual_seed(0)
        a = M.build_bayes_mlp(lib, hidden=8, kl_mode="closed").to(lib.float64)
        b = M.build_bayes_mlp(lib, hidden=8, kl_mode="hand").to(lib.float64)
        b.load_state_dict(a.state_dict())
        assert a.kl().item() == pytest.approx(b.kl().item(), rel=1e-12), lib.__name__


@pytest.mark.parametrize("lib", LIBS, ids=IDS)
def test_train_eval_toggle_and_noise_draws(lib):
    lib.manual_seed(0)
    for eps_mode in ("randn_like", "empty_like"):
        model = M.build_bayes_mlp(lib, hidden=8, eps_mode=eps_mode)
        x = lib.linspace(0, 1, 5).unsqueeze(-1)
        model.train()
        assert all(layer.sample for layer in model.layers) and model.training
        assert not lib.equal(model(x), model(x))
        model.eval()
        assert not any(layer.sample for layer in model.layers) and not model.training
        assert lib.equal(model(x), model(x))
        mean, std = M.predict(lib, model, x, n_samples=6)
        assert tuple(mean.shape) == (5, 1) and bool((std > 0).all())
        assert not mean.requires_grad
        # initial posterior scale: log1p(exp(-4))
        sigma = lib.log1p(lib.exp(model.layers[0].weight_rho))
        assert sigma[0, 0].item() == pytest.approx(math.log1p(math.exp(-4.0)), rel=1e-6)


# ----------------------------------------------------------------------------------------
# the distributions, method by method
# ----------------------------------------------------------------------------------------

def mdn_outputs(lib, b=6, k=4, d=None, seed=3):
    rng = np.random.default_rng(seed)
    shape = (b, k) if d is None else (b, k, d)
    logits = lib.as_tensor(rng.standard_normal((b, k)), dtype=lib.float64)
    mu = lib.as_tensor(rng.standard_normal(shape), dtype=lib.float64)
    sigma = lib.as_tensor(rng.uniform(0.2, 1.5, shape), dtype=lib.float64)
    y = lib.as_tensor(rng.standard_normal((b,) if d is None else (b, d)), dtype=lib.float64)
    return logits, mu, sigma, y


def test_hand_written_nll_equals_mixture_same_family():
    values = {}
    for lib in LIBS:
        logits, mu, sigma, y = mdn_outputs(lib)
        hand = M.mdn_nll(lib, logits, mu, sigma, y.unsqueeze(-1)).item()
        unsq = M.mdn_nll_unsqueeze(lib, logits, mu, sigma, y).item()
        mix = M.mdn_nll_mixture(lib, logits, mu, sigma, y).item()
        assert hand == pytest.approx(mix, rel=1e-12) and unsq == pytest.approx(mix, rel=1e-12)
        # 2-D: Independent components against the hand-written sum over the last dim
        logits, mu, sigma, y = mdn_outputs(lib, d=2)
        comp = lib.distributions.Normal(mu, sigma).log_prob(y.unsqueeze(1)).sum(-1)
        hand2 = -lib.logsumexp(lib.log_softmax(logits, -1) + comp, dim=-1).mean().item()
        mix2 = M.mdn_nll_mixture(lib, logits, mu, sigma, y).item()
        assert hand2 == pytest.approx(mix2, rel=1e-12)
        values[lib.__name__] = (hand, hand2)
    assert values["gpugrad"] == pytest.approx(values["torch"], rel=1e-12)


def test_mixture_methods_agree_with_torch():
    got = {}
    for lib in LIBS:
        D = lib.distributions
        logits, mu, sigma, y = mdn_outputs(lib)
        mix = M.mixture(lib, logits, mu, sigma)
        out = {"mean": mix.mean, "variance": mix.variance, "stddev": mix.stddev,
               "log_prob": mix.log_prob(y), "cdf": mix.cdf(y),
               "log_prob_grid": mix.log_prob(lib.linspace(-1, 1, 3).view(3, 1)),
               "probs": mix.mixture_distribution.probs,
               "comp_mean": mix.component_distribution.mean}
        assert tuple(mix.batch_shape) == (6,) and tuple(mix.event_shape) == ()
        assert tuple(mix.sample().shape) == (6,)
        assert tuple(mix.sample((7,)).shape) == (7, 6)
        assert tuple(mix.sample(lib.Size([2, 3])).shape) == (2, 3, 6)
        logits, mu, sigma, y = mdn_outputs(lib, d=2)
        mix2 = M.mixture(lib, logits, mu, sigma)
        out["mean2"], out["variance2"] = mix2.mean, mix2.variance
        out["log_prob2"] = mix2.log_prob(y)
        assert tuple(mix2.sample((4,)).shape) == (4, 6, 2)
        ind = D.Independent(D.Normal(mu, sigma), 1)
        out["ind_entropy"] = ind.entropy()
        out["ind_log_prob"] = ind.log_prob(y.unsqueeze(1))
        assert tuple(ind.batch_shape) == (6, 4) and tuple(ind.event_shape) == (2,)
        got[lib.__name__] = {k: np_(v) for k, v in out.items()}
    for key, expected in got["torch"].items():
        close(got["gpugrad"][key], expected, rel=1e-12, err_msg=key)


def test_normal_and_categorical_methods_agree_with_torch():
    got = {}
    for lib in LIBS:
        D = lib.distributions
        logits, mu, sigma, y = mdn_outputs(lib)
        n = D.Normal(mu, sigma)
        c = D.Categorical(logits=logits)
        value = y.unsqueeze(-1)
        out = {"log_prob": n.log_prob(value), "cdf": n.cdf(value), "entropy": n.entropy(),
               "icdf": n.icdf(lib.full_like(mu, 0.3)), "variance": n.variance,
               "stddev": n.stddev, "c_entropy": c.entropy(), "c_probs": c.probs,
               "c_logits": c.logits, "c_log_prob": c.log_prob(lib.arange(6) % 4),
               "kl_nn": D.kl_divergence(n, D.Normal(0.0, 1.0)),
               "kl_nn_t": D.kl_divergence(n, D.Normal(lib.zeros_like(mu), lib.ones_like(mu))),
               "kl_cc": D.kl_divergence(c, D.Categorical(logits=lib.zeros(4,
                                                                          dtype=lib.float64))),
               "scalar_lp": D.Normal(0.0, 1.0).log_prob(lib.tensor(0.5, dtype=lib.float64))}
        got[lib.__name__] = {k: np_(v) for k, v in out.items()}
        assert n.has_rsample and not c.has_rsample
    for key, expected in got["torch"].items():
        close(got["gpugrad"][key], expected, rel=1e-12, err_msg=key)


def test_rsample_gradients_agree_with_torch():
    """``rsample`` with a fixed seed is not comparable across libraries, but its gradient is
    ``d(mu + sigma * eps)``: the gradient w.r.t. ``sigma`` is the drawn ``eps``."""
    for lib in LIBS:
        mu = lib.zeros(3, 4, dtype=lib.float64, requires_grad=True)
        sigma = lib.full((3, 4), 2.0, dtype=lib.float64, requires_grad=True)
        lib.manual_seed(0)
        z = lib.distributions.Normal(mu, sigma).rsample((5,))
        assert tuple(z.shape) == (5, 3, 4) and z.requires_grad
        z.sum().backward()
        np.testing.assert_allclose(mu.grad.numpy(), np.full((3, 4), 5.0))
        np.testing.assert_allclose(sigma.grad.numpy(), (np_(z) / 2.0).sum(0), rtol=1e-12)
        # the sample() path carries no graph
        assert not lib.distributions.Normal(mu, sigma).sample().requires_grad
        # MixtureSameFamily has no rsample
        mix = M.mixture(lib, lib.zeros(3, 2), lib.zeros(3, 2), lib.ones(3, 2))
        assert not mix.has_rsample
        with pytest.raises(NotImplementedError):
            mix.rsample()


def test_hand_sampling_picks_components_by_weight():
    for lib in LIBS:
        lib.manual_seed(0)
        logits = lib.log(lib.tensor([[0.7, 0.2, 0.1]], dtype=lib.float64)).expand(3000, 3)
        mu = lib.tensor([[-5.0, 0.0, 5.0]], dtype=lib.float64).expand(3000, 3)
        sigma = lib.full((3000, 3), 1e-3, dtype=lib.float64)
        draws, k = M.sample_mdn(lib, logits, mu, sigma)
        assert tuple(draws.shape) == (3000,) and k.dtype == lib.int64
        freq = np.bincount(k.numpy(), minlength=3) / 3000
        np.testing.assert_allclose(freq, [0.7, 0.2, 0.1], atol=0.03)
        np.testing.assert_allclose(draws.numpy(), np.array([-5.0, 0.0, 5.0])[k.numpy()],
                                   atol=0.01)
        # shared noise: the draw is exactly mu_k + sigma_k * eps
        eps = lib.ones(3000, 1, dtype=lib.float64)
        draws, k = M.sample_mdn(lib, logits, mu, sigma, noise=eps)
        np.testing.assert_allclose(draws.numpy(), np.array([-5.0, 0.0, 5.0])[k.numpy()] + 1e-3)


# ----------------------------------------------------------------------------------------
# argument validation
# ----------------------------------------------------------------------------------------

def outcome(fn):
    """What ``fn()`` does: ('ok', the result's shape) or (exception type name, message, the
    library's name written as torch's)."""
    try:
        out = fn()
    except Exception as e:  # noqa: BLE001 - the type and the words are what is compared
        return type(e).__name__, str(e).replace("gpugrad", "torch")
    shape = getattr(out, "shape", None)
    return "ok", None if shape is None else tuple(shape)


def validation_cases(lib):
    D = lib.distributions
    t = lambda *v: lib.tensor(v, dtype=lib.float64)  # noqa: E731
    return {
        "normal_negative_scale": lambda: D.Normal(t(0.0), t(-1.0), validate_args=True),
        "normal_zero_scale": lambda: D.Normal(t(0.0), t(0.0), validate_args=True),
        "normal_nan_loc": lambda: D.Normal(t(float("nan")), t(1.0), validate_args=True),
        "normal_negative_scale_unchecked": lambda: D.Normal(t(0.0), t(-1.0),
                                                            validate_args=False),
        "normal_log_prob_nan_value": lambda: D.Normal(t(0.0), t(1.0), validate_args=True)
        .log_prob(t(float("nan"))),
        "normal_sample_int": lambda: D.Normal(t(0.0), t(1.0)).sample(3),
        "normal_sample_tuple": lambda: D.Normal(t(0.0), t(1.0)).sample((3,)),
        "normal_sample_list": lambda: D.Normal(t(0.0), t(1.0)).sample([3, 2]),
        "normal_sample_size": lambda: D.Normal(t(0.0), t(1.0)).sample(lib.Size([3])),
        "normal_rsample_int": lambda: D.Normal(t(0.0), t(1.0)).rsample(2),
        "normal_sample_float_tuple": lambda: D.Normal(t(0.0), t(1.0)).sample((2.0,)),
        "normal_sample_nested_tuple": lambda: D.Normal(t(0.0), t(1.0)).sample(((2,),)),
        "independent_sample_int": lambda: D.Independent(
            D.Normal(lib.zeros(6, 4), lib.ones(6, 4)), 1).sample(3),
        "mixture_sample_int": lambda: M.mixture(
            lib, lib.zeros(6, 4), lib.zeros(6, 4), lib.ones(6, 4)).sample(3),
        "size_of_floats": lambda: lib.Size((2.0, 3)),
        "normal_broadcast_fail": lambda: D.Normal(lib.zeros(3), lib.ones(2)),
        "categorical_both": lambda: D.Categorical(probs=t(0.5, 0.5), logits=t(0.0, 0.0)),
        "categorical_neither": lambda: D.Categorical(),
        "categorical_bad_probs": lambda: D.Categorical(probs=t(-0.5, 1.5),
                                                       validate_args=True),
        "categorical_scalar_logits": lambda: D.Categorical(logits=t(0.0)[0]),
        "categorical_log_prob_out_of_support": lambda: D.Categorical(
            logits=t(0.0, 0.0), validate_args=True).log_prob(lib.tensor(5)),
        "mixture_mismatched_k": lambda: D.MixtureSameFamily(
            D.Categorical(logits=lib.zeros(6, 3)), D.Normal(lib.zeros(6, 4), lib.ones(6, 4))),
        "mixture_not_categorical": lambda: D.MixtureSameFamily(
            D.Normal(lib.zeros(6), lib.ones(6)), D.Normal(lib.zeros(6, 4), lib.ones(6, 4))),
        "mixture_component_not_distribution": lambda: D.MixtureSameFamily(
            D.Categorical(logits=lib.zeros(6, 4)), lib.zeros(6, 4)),
        "mixture_bad_batch": lambda: D.MixtureSameFamily(
            D.Categorical(logits=lib.zeros(5, 4)), D.Normal(lib.zeros(6, 4), lib.ones(6, 4))),
        "mixture_log_prob_wrong_shape": lambda: M.mixture(
            lib, lib.zeros(6, 4), lib.zeros(6, 4), lib.ones(6, 4)).log_prob(lib.zeros(5)),
        "independent_too_many_dims": lambda: D.Independent(
            D.Normal(lib.zeros(6, 4), lib.ones(6, 4)), 3),
        "independent_log_prob_broadcast": lambda: D.Independent(
            D.Normal(lib.zeros(6, 4), lib.ones(6, 4)), 1).log_prob(lib.zeros(4)),
        "kl_not_implemented": lambda: D.kl_divergence(
            D.Normal(lib.zeros(2), lib.ones(2)), D.Categorical(logits=lib.zeros(2))),
        "multinomial_negative": lambda: lib.multinomial(lib.tensor([[0.5, -0.5]]), 1),
        "multinomial_zero_sum": lambda: lib.multinomial(lib.zeros(2, 3), 1),
        "multinomial_too_many": lambda: lib.multinomial(lib.tensor([0.5, 0.5, 0.0]), 3),
        "multinomial_3d": lambda: lib.multinomial(lib.ones(2, 2, 2), 1),
        "multinomial_float_count": lambda: lib.multinomial(lib.ones(2, 3), 2.0),
        "multinomial_bool_count": lambda: lib.multinomial(lib.ones(2, 3), True),
        "multinomial_replacement_str": lambda: lib.multinomial(lib.ones(2, 3), 2, "yes"),
        "gather_bad_index_dtype": lambda: lib.zeros(3, 4).gather(1, lib.zeros(3, 1)),
    }


def test_argument_validation_matches_torch():
    ours, theirs = validation_cases(gpugrad), validation_cases(torch)
    diffs = {}
    for name in theirs:
        a, b = outcome(ours[name]), outcome(theirs[name])
        if a != b:
            diffs[name] = f"{name}: gpugrad {a} | torch {b}"
    assert not diffs, "\n".join(diffs.values())


def test_size_of_sample_shape_elements():
    """``sample_shape`` and ``Size`` given NumPy or 0-d tensor integers: the shapes and the
    types of the elements kept are PyTorch's (a 0-d tensor becomes an ``int``)."""
    seen = {}
    for lib in LIBS:
        n = lib.distributions.Normal(lib.zeros(2), lib.ones(2))
        row = []
        for count in (np.int64(3), lib.tensor(3)):
            shape = n.sample((count,)).shape
            size = lib.Size((count, 2))
            assert tuple(shape) == (3, 2) and size == (3, 2), lib.__name__
            row.append(([type(s).__name__ for s in shape], [type(s).__name__ for s in size]))
        seen[lib.__name__] = row
    assert seen["gpugrad"] == seen["torch"]


def test_single_draw_predictive_std_warns_like_torch():
    """``torch.stack(preds).std(0)`` of a single draw: NaN, and PyTorch's one warning (no
    NumPy warning besides), named after the function called."""
    import warnings

    seen = {}
    for lib in LIBS:
        messages = []
        for fn in (lambda x: x.std(0), lambda x, lib=lib: lib.var_mean(x, 0)):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                out = fn(lib.stack([lib.ones(3)]))
            first = out[0] if isinstance(out, tuple) else out
            assert bool(first.isnan().all())
            messages.append([str(w.message).split(" (Triggered")[0] for w in caught])
        seen[lib.__name__] = messages
    assert seen["gpugrad"] == seen["torch"]

"""The temporal convolutional network of ``tcn_adding.py``, run with gpugrad and with PyTorch:
both learn the adding problem with either weight normalisation, and with one set of weights the
two libraries compute the same model (forward, gradients, state_dict keys, a few Adam steps)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import gpugrad

from ._compare import both, load

TCN = load("tcn_adding")
TRIVIAL_MSE = 1 / 6  # always guessing the mean sum, 1


def test_tcn_learns_the_adding_problem():
    """The current weight normalisation (``parametrizations``) trained by both libraries; the
    hook variant's training is held to PyTorch's step by step below (same weights, 20 steps),
    which is stricter and ~8 s cheaper than training it to convergence twice more."""
    ours, theirs = both(lambda m: TCN.main(m, "parametrizations"))
    for result in (ours, theirs):
        assert result["steps"] == 480 and result["output_dtype"] == "float32", result
        assert result["final_loss"] < 0.2 * result["initial_loss"], result
        assert result["test_loss"] < 0.06 < TRIVIAL_MSE < result["initial_test"], result
        assert result["test_loss"] < 0.3 * min(result["curve"][:3]), result  # past the plateau
    assert ours["n_params"] == theirs["n_params"] == 6817
    # different random streams: compare convergence, not bits
    assert ours["test_loss"] <= 3 * theirs["test_loss"] + 0.02, (ours, theirs)
    assert abs(ours["final_loss"] - theirs["final_loss"]) <= theirs["final_loss"] + 0.03


@pytest.mark.parametrize("variant", TCN.VARIANTS)
def test_old_weight_norm_warns_once_per_convolution(variant):
    """The old weight_norm warns once a convolution (six), the parametrization never."""
    counts = []
    for lib in (gpugrad, torch):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            TCN.build(lib, variant)
        counts.append(sum(issubclass(w.category, FutureWarning) and "weight_norm" in
                          str(w.message) and "deprecated" in str(w.message) for w in caught))
    assert counts == [6, 6] if variant == "hook" else counts == [0, 0]


def twin_models(variant, dtype):
    """The TCN built by gpugrad and by PyTorch, PyTorch's loaded with gpugrad's weights."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        gpugrad.manual_seed(0)
        ours = TCN.build(gpugrad, variant)
        torch.manual_seed(0)
        theirs = TCN.build(torch, variant)
    if dtype == "float64":
        ours.double()
        theirs.double()
    our_state, their_state = ours.state_dict(), theirs.state_dict()
    assert list(our_state) == list(their_state)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    theirs.load_state_dict({k: torch.from_numpy(v.detach().cpu().numpy().copy())
                            for k, v in our_state.items()})
    return ours, theirs


@pytest.mark.parametrize("variant", TCN.VARIANTS)
def test_state_dict_keys_follow_the_weight_norm_kind(variant):
    ours, theirs = twin_models(variant, "float32")
    keys = list(ours.state_dict())
    conv = "tcn.network.0.conv1."
    if variant == "hook":
        expected = [conv + "bias", conv + "weight_g", conv + "weight_v"]
    else:
        expected = [conv + "bias", conv + "parametrizations.weight.original0",
                    conv + "parametrizations.weight.original1"]
    assert [k for k in keys if k.startswith(conv)] == expected
    assert len(keys) == len(theirs.state_dict()) == 40  # conv1/conv2 also appear under net.*
    for model in (ours, theirs):
        conv1 = model.tcn.network[0].conv1
        g = conv1.weight_g if variant == "hook" else conv1.parametrizations.weight.original0
        v = conv1.weight_v if variant == "hook" else conv1.parametrizations.weight.original1
        assert tuple(g.shape) == (16, 1, 1) and tuple(v.shape) == (16, 2, 5)
        # init_weights' draw into conv.weight.data never reaches weight_v (default init kept)
        assert float(v.detach().std()) > 0.05


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("variant", TCN.VARIANTS)
def test_same_weights_same_outputs_and_gradients(variant, dtype):
    ours, theirs = twin_models(variant, dtype)
    x, y = TCN.adding_problem(16, seed=3)
    x, y = x.astype(dtype), y.astype(dtype)
    rtol = 1e-5 if dtype == "float32" else 1e-12
    outputs = []
    for lib, model in ((gpugrad, ours), (torch, theirs)):
        model.eval()
        out = model(lib.from_numpy(x))
        lib.nn.functional.mse_loss(out, lib.from_numpy(y)).backward()
        outputs.append(out.detach().numpy())
    assert outputs[0].dtype == outputs[1].dtype == np.dtype(dtype)
    np.testing.assert_allclose(outputs[0], outputs[1], rtol=rtol, atol=rtol * 1e-2)
    for (name, p_ours), (_, p_theirs) in zip(ours.named_parameters(), theirs.named_parameters()):
        g_ours, g_theirs = p_ours.grad.numpy(), p_theirs.grad.numpy()
        scale = np.abs(g_theirs).max()
        np.testing.assert_allclose(g_ours, g_theirs, rtol=0, atol=rtol * scale,
                                   err_msg=name)
    # the weight that forward used: g * v / ||v|| (norms over all dims but 0)
    for model in (ours, theirs):
        conv = model.tcn.network[1].conv2
        assert tuple(conv.weight.shape) == (16, 16, 5)
    np.testing.assert_allclose(ours.tcn.network[1].conv2.weight.detach().numpy(),
                               theirs.tcn.network[1].conv2.weight.detach().numpy(),
                               rtol=rtol, atol=rtol * 1e-2)


@pytest.mark.parametrize("variant", TCN.VARIANTS)
def test_same_weights_same_training_steps(variant):
    """Twenty steps of Adam with clip_grad_norm_ and StepLR on the same batches, in float64:
    the two libraries' losses, gradient norms and weights stay together."""
    ours, theirs = twin_models(variant, "float64")
    x, y = TCN.adding_problem(256, seed=4)
    x, y = x.astype("float64"), y.astype("float64")
    rng = np.random.default_rng(5)
    batches = [rng.choice(256, 32, replace=False) for _ in range(20)]
    runs = []
    for lib, model in ((gpugrad, ours), (torch, theirs)):
        optimizer = lib.optim.Adam(model.parameters(), lr=5e-3)
        scheduler = lib.optim.lr_scheduler.StepLR(optimizer, step_size=5, gamma=0.5)
        X, Y = lib.from_numpy(x), lib.from_numpy(y)
        model.train()
        losses, norms = [], []
        for index in batches:
            index = lib.from_numpy(index)
            optimizer.zero_grad()
            loss = lib.nn.functional.mse_loss(model(X[index]), Y[index])
            loss.backward()
            norms.append(float(lib.nn.utils.clip_grad_norm_(model.parameters(), 1.0)))
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
        state = {k: v.detach().numpy() for k, v in model.state_dict().items()}
        runs.append((losses, norms, state, optimizer.param_groups[0]["lr"]))
    (l_ours, n_ours, s_ours, lr_ours), (l_theirs, n_theirs, s_theirs, lr_theirs) = runs
    np.testing.assert_allclose(l_ours, l_theirs, rtol=1e-10)
    np.testing.assert_allclose(n_ours, n_theirs, rtol=1e-10)
    assert lr_ours == lr_theirs == pytest.approx(5e-3 / 16)
    for key in s_theirs:
        np.testing.assert_allclose(s_ours[key], s_theirs[key], rtol=1e-9, atol=1e-12,
                                   err_msg=key)


def test_assigning_a_parametrized_weight_goes_through_right_inverse():
    """``conv.weight = w`` under no_grad sets g = ||w|| (per output channel) and v = w."""
    w = np.random.default_rng(6).normal(0, 0.1, (4, 3, 5)).astype(np.float32)
    stored = []
    for lib in (gpugrad, torch):
        conv = lib.nn.utils.parametrizations.weight_norm(lib.nn.Conv1d(3, 4, 5))
        with lib.no_grad():
            conv.weight = lib.from_numpy(w)
        stored.append({k: v.detach().numpy() for k, v in conv.state_dict().items()})
        np.testing.assert_allclose(conv.weight.detach().numpy(), w, rtol=1e-5, atol=1e-7)
    assert list(stored[0]) == list(stored[1])
    for key in ("parametrizations.weight.original0", "parametrizations.weight.original1"):
        np.testing.assert_allclose(stored[0][key], stored[1][key], rtol=1e-6, err_msg=key)


@pytest.mark.parametrize("lib", [gpugrad, torch], ids=["gpugrad", "torch"])
def test_old_weight_norm_checkpoint_loads_into_the_parametrized_tcn(lib):
    """A state_dict saved from the hook-based TCN (``weight_g``/``weight_v``) loads into the
    TCN built with ``parametrizations.weight_norm``: its load_state_dict pre-hook renames the
    keys to ``parametrizations.weight.original0/1``, and the two models agree."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        old = TCN.build(lib, "hook")
    new = TCN.build(lib, "parametrizations")
    result = new.load_state_dict(old.state_dict())
    assert not result.missing_keys and not result.unexpected_keys
    old.eval()
    new.eval()
    x = lib.from_numpy(TCN.adding_problem(4, seed=7)[0])
    with lib.no_grad():
        np.testing.assert_allclose(new(x).numpy(), old(x).numpy(), rtol=1e-6, atol=1e-7)

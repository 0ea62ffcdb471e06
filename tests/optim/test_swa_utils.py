"""optim.swa_utils against PyTorch's: AveragedModel with each averaging function, with and
without buffers; update_bn; the averaging functions' checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad


def _model(m, dtype):
    model = m.nn.Sequential(m.nn.Linear(4, 5), m.nn.BatchNorm1d(5), m.nn.ReLU(),
                            m.nn.Linear(5, 2))
    return model.double() if dtype == "float64" else model


def _snapshots(dtype, n=5):
    """``n`` successive weight sets (parameters and batch-norm buffers) of the model."""
    torch.manual_seed(0)
    model = _model(torch, dtype)
    out = []
    for i in range(n):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p) * 0.1)
            model[1].running_mean.add_(0.05 * i)
            model[1].running_var.mul_(1.1)
            model[1].num_batches_tracked.add_(3)
        out.append({k: v.detach().clone() for k, v in model.state_dict().items()})
    return out


def _as(m, state):
    return {k: (v if m is torch else gpugrad.tensor(v.numpy())) for k, v in state.items()}


FNS = [
    ("swa", {}),
    ("ema_avg_fn", {"avg_fn": lambda m: m.optim.swa_utils.get_ema_avg_fn(0.9)}),
    ("swa_avg_fn", {"avg_fn": lambda m: m.optim.swa_utils.get_swa_avg_fn()}),
    ("ema_multi", {"multi_avg_fn": lambda m: m.optim.swa_utils.get_ema_multi_avg_fn(0.8)}),
    ("swa_multi", {"multi_avg_fn": lambda m: m.optim.swa_utils.get_swa_multi_avg_fn()}),
]


@pytest.mark.parametrize("use_buffers", [False, True])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,fns", FNS, ids=[n for n, _ in FNS])
def test_averaged_model_matches_torch(name, fns, dtype, use_buffers):
    snapshots = _snapshots(dtype)
    x = np.random.default_rng(1).standard_normal((6, 4)).astype(dtype)
    results = {}
    refused = name == "swa_multi" and use_buffers  # the integer num_batches_tracked
    for m in (gpugrad, torch):
        model = _model(m, dtype)
        kwargs = {k: make(m) for k, make in fns.items()}
        averaged = m.optim.swa_utils.AveragedModel(model, use_buffers=use_buffers, **kwargs)
        for i, state in enumerate(snapshots):
            model.load_state_dict(_as(m, state))
            if refused and i > 0:
                with pytest.raises(RuntimeError):
                    averaged.update_parameters(model)
                break
            averaged.update_parameters(model)
        if refused:
            continue
        averaged.eval()
        out = averaged(m.tensor(x)).detach().numpy()
        results[m.__name__] = ({k: v.detach().numpy() for k, v in averaged.state_dict().items()},
                               out)
    if refused:
        return
    g_state, t_state = results["gpugrad"][0], results["torch"][0]
    assert list(g_state) == list(t_state)
    tol = dict(rtol=1e-12, atol=1e-14) if dtype == "float64" else dict(rtol=1e-5, atol=1e-6)
    for key in t_state:
        assert g_state[key].dtype == t_state[key].dtype, key
        np.testing.assert_allclose(g_state[key], t_state[key], **tol, err_msg=key)
    np.testing.assert_allclose(results["gpugrad"][1], results["torch"][1], **tol)
    assert t_state["n_averaged"] == len(snapshots)


def test_averaged_model_copies_and_leaves_the_source_alone():
    model = _model(gpugrad, "float32")
    averaged = gpugrad.optim.swa_utils.AveragedModel(model)
    assert averaged.module[0].weight is not model[0].weight
    before = model[0].weight.detach().numpy().copy()
    averaged.update_parameters(model)
    with gpugrad.no_grad():
        model[0].weight.add_(1.0)
    averaged.update_parameters(model)
    np.testing.assert_array_equal(model[0].weight.detach().numpy(), before + 1.0)
    np.testing.assert_allclose(averaged.module[0].weight.detach().numpy(), before + 0.5,
                               rtol=1e-6)
    assert averaged.module[0].weight.requires_grad


@pytest.mark.parametrize("batches", ["tensors", "pairs"])
def test_update_bn_matches_torch(batches):
    rng = np.random.default_rng(2)
    data = [rng.standard_normal((8, 4)) * (i + 1) + i for i in range(4)]
    init = {k: v.detach().clone() for k, v in _model(torch, "float64").state_dict().items()}
    out = {}
    for m in (gpugrad, torch):
        model = _model(m, "float64")
        model.load_state_dict(_as(m, init))
        model[1].momentum = 0.3
        model.eval()
        loader = [m.tensor(d) for d in data]
        if batches == "pairs":
            loader = [(x, m.zeros(8)) for x in loader]
        m.optim.swa_utils.update_bn(loader, model)
        assert model[1].momentum == 0.3 and not model.training
        out[m.__name__] = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    for key, value in out["torch"].items():
        np.testing.assert_allclose(out["gpugrad"][key], value, rtol=1e-12, err_msg=key)


def test_update_bn_without_batch_norm_and_instance_norm_untouched():
    model = gpugrad.nn.Sequential(gpugrad.nn.Linear(3, 3),
                                  gpugrad.nn.InstanceNorm1d(3, track_running_stats=True))
    before = model[1].running_mean.numpy().copy()
    calls = []
    gpugrad.optim.swa_utils.update_bn([gpugrad.ones(2, 3, 4)], model)
    gpugrad.optim.swa_utils.update_bn(calls, gpugrad.nn.Linear(2, 2))  # nothing to do
    np.testing.assert_array_equal(model[1].running_mean.numpy(), before)


@pytest.mark.parametrize("fn", ["get_ema_avg_fn", "get_ema_multi_avg_fn"])
def test_decay_out_of_range_raises_as_torch(fn):
    messages = []
    for m in (gpugrad, torch):
        with pytest.raises(ValueError) as info:
            getattr(m.optim.swa_utils, fn)(1.5)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_both_averaging_functions_refused():
    fns = dict(avg_fn=gpugrad.optim.swa_utils.get_swa_avg_fn(),
               multi_avg_fn=gpugrad.optim.swa_utils.get_swa_multi_avg_fn())
    with pytest.raises(AssertionError, match="Only one of avg_fn and multi_avg_fn"):
        gpugrad.optim.swa_utils.AveragedModel(gpugrad.nn.Linear(2, 2), **fns)

"""Layer modules against PyTorch: values, gradients, default initialisation, reprs, options."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch_oracle import as_oracle_prints

import gpugrad
from gpugrad import nn

TOLS = {"float64": dict(rtol=1e-10, atol=1e-12), "float32": dict(rtol=2e-5, atol=2e-6)}


def _run_both(make, x, dtype, copy_state=True, upstream_seed=1):
    """Build the layer in both libraries (same weights), run forward+backward, return
    (gpugrad output, torch output, gpugrad input grad, torch input grad, modules)."""
    g_mod, t_mod = make(gpugrad), make(torch)
    t_mod = t_mod.double() if dtype == "float64" else t_mod
    g_mod = g_mod.double() if dtype == "float64" else g_mod
    if copy_state:
        g_mod.load_state_dict({k: v.detach().numpy() for k, v in t_mod.state_dict().items()})
    x = x.astype(dtype) if x.dtype.kind == "f" else x
    gx = gpugrad.tensor(x, requires_grad=x.dtype.kind == "f")
    tx = torch.tensor(x, requires_grad=x.dtype.kind == "f")
    g_out, t_out = g_mod(gx), t_mod(tx)
    up = np.random.default_rng(upstream_seed).standard_normal(tuple(t_out.shape)).astype(dtype)
    g_out.backward(gpugrad.tensor(up))
    t_out.backward(torch.tensor(up))
    return g_out, t_out, gx, tx, g_mod, t_mod


def _check_params(g_mod, t_mod, tols):
    for (name, gp), (_, tp) in zip(g_mod.named_parameters(), t_mod.named_parameters()):
        if tp.grad is None:
            assert gp.grad is None or not np.any(gp.grad.numpy()), name
            continue
        np.testing.assert_allclose(gp.grad.numpy(), tp.grad.numpy(), **tols, err_msg=name)


LAYERS = [
    ("Linear", lambda m: m.nn.Linear(5, 3), (4, 5)),
    ("Linear_3d", lambda m: m.nn.Linear(5, 3), (2, 4, 5)),
    ("Linear_no_bias", lambda m: m.nn.Linear(5, 3, bias=False), (4, 5)),
    ("LayerNorm", lambda m: m.nn.LayerNorm(6), (3, 6)),
    ("LayerNorm_2d", lambda m: m.nn.LayerNorm((2, 3), eps=1e-3), (4, 2, 3)),
    ("LayerNorm_no_affine", lambda m: m.nn.LayerNorm(6, elementwise_affine=False), (3, 6)),
    ("LayerNorm_no_bias", lambda m: m.nn.LayerNorm(6, bias=False), (3, 6)),
    ("ReLU", lambda m: m.nn.ReLU(), (3, 4)),
    ("LeakyReLU", lambda m: m.nn.LeakyReLU(0.1), (3, 4)),
    ("GELU", lambda m: m.nn.GELU(), (3, 4)),
    ("GELU_tanh", lambda m: m.nn.GELU(approximate="tanh"), (3, 4)),
    ("SiLU", lambda m: m.nn.SiLU(), (3, 4)),
    ("Sigmoid", lambda m: m.nn.Sigmoid(), (3, 4)),
    ("Tanh", lambda m: m.nn.Tanh(), (3, 4)),
    ("Softmax", lambda m: m.nn.Softmax(dim=1), (3, 4)),
    ("LogSoftmax", lambda m: m.nn.LogSoftmax(dim=-1), (3, 4)),
    ("Identity", lambda m: m.nn.Identity(54, unused=True), (3, 4)),
    ("Flatten", lambda m: m.nn.Flatten(), (2, 3, 4)),
    ("Flatten_dims", lambda m: m.nn.Flatten(0, 1), (2, 3, 4)),
    ("Unflatten", lambda m: m.nn.Unflatten(1, (2, -1)), (3, 4)),
    ("Dropout_eval", lambda m: m.nn.Dropout(0.3).eval(), (3, 4)),
    ("MLP", lambda m: m.nn.Sequential(m.nn.Linear(4, 8), m.nn.GELU(), m.nn.LayerNorm(8),
                                      m.nn.Linear(8, 2)), (5, 4)),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,make,shape", LAYERS, ids=[c[0] for c in LAYERS])
def test_layers_match_torch(name, make, shape, dtype):
    x = np.random.default_rng(0).standard_normal(shape)
    g_out, t_out, gx, tx, g_mod, t_mod = _run_both(make, x, dtype)
    assert tuple(g_out.shape) == tuple(t_out.shape)
    np.testing.assert_allclose(g_out.detach().numpy(), t_out.detach().numpy(), **TOLS[dtype])
    np.testing.assert_allclose(gx.grad.numpy(), tx.grad.numpy(), **TOLS[dtype])
    _check_params(g_mod, t_mod, TOLS[dtype])
    assert as_oracle_prints(repr(g_mod)) == repr(t_mod)


@pytest.mark.parametrize("kwargs", [{}, {"padding_idx": 1}, {"padding_idx": -1},
                                    {"scale_grad_by_freq": True}, {"max_norm": 1.0}])
def test_embedding_matches_torch(kwargs):
    idx = np.array([[0, 1, 4], [1, 1, 3]])
    g_out, t_out, _, _, g_mod, t_mod = _run_both(lambda m: m.nn.Embedding(5, 3, **kwargs), idx,
                                                 "float64")
    np.testing.assert_allclose(g_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(g_mod.weight.grad.numpy(), t_mod.weight.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(g_mod.weight.detach().numpy(), t_mod.weight.detach().numpy(),
                               rtol=1e-6)  # max_norm renormalizes rows in place
    assert as_oracle_prints(repr(g_mod)) == repr(t_mod)


def test_embedding_init_errors_and_from_pretrained():
    emb = nn.Embedding(10, 4, padding_idx=3)
    assert emb.weight[3].abs().sum().item() == 0
    with pytest.raises(IndexError, match="index out of range in self"):
        emb(gpugrad.tensor([1, 10]))
    with pytest.raises(RuntimeError, match="Long, Int"):
        emb(gpugrad.tensor([1.0]))
    weights = gpugrad.randn(3, 2)
    frozen = nn.Embedding.from_pretrained(weights)
    assert not frozen.weight.requires_grad
    np.testing.assert_array_equal(frozen(gpugrad.tensor([2])).numpy(), weights[2:3].numpy())


def test_linear_default_init_follows_torch():
    gpugrad.manual_seed(0)
    lin = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    assert w.dtype == np.float32 and np.abs(w).max() <= bound and np.abs(b).max() <= bound
    # kaiming_uniform_(a=sqrt(5)) is U(-1/sqrt(fan_in), 1/sqrt(fan_in)): std bound/sqrt(3)
    assert abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound
    assert abs(w.mean()) < 0.01 * bound and np.abs(w).max() > 0.99 * bound
    assert abs(b.std() - bound / math.sqrt(3)) < 0.1 * bound
    gpugrad.manual_seed(0)
    again = nn.Linear(400, 300)
    np.testing.assert_array_equal(again.weight.detach().numpy(), w)
    assert nn.Linear(3, 2, dtype=gpugrad.float64).weight.dtype == gpugrad.float64
    assert nn.Linear(0, 2).bias.abs().sum().item() == 0


def test_dropout():
    gpugrad.manual_seed(0)
    drop = nn.Dropout(0.25)
    x = gpugrad.ones(200, 100, requires_grad=True)
    y = drop(x)
    kept = y.detach().numpy() != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(y.detach().numpy()[kept], 1 / 0.75, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.detach().numpy())
    drop.eval()
    assert drop(x) is x
    assert nn.Dropout(0.0)(x) is x
    assert nn.Dropout(1.0)(x).abs().sum().item() == 0
    with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
        nn.Dropout(1.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.functional.dropout(x, -0.1)


def test_flatten_unflatten_errors():
    with pytest.raises(RuntimeError, match="don't multiply up"):
        nn.Unflatten(1, (3, 3))(gpugrad.ones(2, 4))
    with pytest.raises(IndexError, match="Dimension out of range"):
        nn.Flatten(3)(gpugrad.ones(2, 4))


def test_layer_norm_shape_error():
    with pytest.raises(RuntimeError, match=r"expected input with shape \[\*, 5\]"):
        nn.LayerNorm(5)(gpugrad.ones(2, 4))


def test_gelu_float32_exact_form_is_accurate():
    x = np.linspace(-8, 8, 10001).astype(np.float32)
    ours = nn.functional.gelu(gpugrad.tensor(x)).numpy()
    ref = torch.nn.functional.gelu(torch.tensor(x, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-6)


def test_erf_formula_accuracy_float64():
    from gpugrad.backend.formulas import UNARY

    x = np.concatenate([np.linspace(-7, 7, 20001), [0.0, 0.46875, -0.46875, 4.0, -4.0, 30.0]])
    ref = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(UNARY["erf"].forward(np, x), ref, rtol=1e-15, atol=3e-16)


@pytest.mark.parametrize("name", ["ReLU", "Dropout"])
def test_inplace_layers_write_into_their_input(name):
    results = []
    for m in (gpugrad, torch):
        m.manual_seed(0)
        x = m.tensor([[-1.0, 2.0, -3.0, 4.0]] * 50, requires_grad=True)
        h = x * 2
        layer = m.nn.ReLU(inplace=True) if name == "ReLU" else m.nn.Dropout(0.5, inplace=True)
        out = layer(h)
        assert out is h or out.data_ptr() == h.data_ptr()
        (out * out).sum().backward()
        results.append((h.detach().numpy().copy(), x.grad.numpy().copy()))
    if name == "ReLU":
        np.testing.assert_array_equal(results[0][0], results[1][0])
        np.testing.assert_array_equal(results[0][1], results[1][1])
    else:  # different random masks: check the relation between output and gradient
        h, grad = results[0]
        np.testing.assert_allclose(grad, 2 * 2 * h * (h != 0) * 2, rtol=1e-6)

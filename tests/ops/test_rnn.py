"""The fused LSTM layer (``ops/rnn.py``): against the composed layer it replaces and against
PyTorch's ``nn.LSTM``, in both dtypes and every layout ``nn.LSTM`` accepts; the node it leaves;
which gradients it gets; and when ``nn.LSTM`` falls back to the composition. (The registry spec
``nn.lstm_layer`` runs the generic checks, gradcheck and gradgradcheck included.)"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad
from gpugrad.ops.rnn import LSTMLayer, lstm_bidirectional, lstm_layer, lstm_layer_composed


def _layer_args(rng, steps, n, inputs, hidden, dtype, bias=True):
    shapes = [(steps, n, inputs), (n, hidden), (n, hidden), (4 * hidden, inputs),
              (4 * hidden, hidden)] + ([(4 * hidden,)] * 2 if bias else [])
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
    return [gpugrad.tensor(a, requires_grad=True) for a in arrays] + [None] * (0 if bias else 2)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("used", ["all", "output", "h", "c"])
def test_fused_matches_composed(dtype, reverse, bias, used):
    rng = np.random.default_rng(0)
    args = _layer_args(rng, 6, 3, 4, 5, dtype, bias)
    tol = {"float64": 1e-12, "float32": 2e-5}[dtype]
    fused = LSTMLayer.apply(*args, reverse)
    composed = lstm_layer_composed(*args, reverse)
    assert type(fused[0].grad_fn).__name__ == "MkldnnRnnLayerBackward0"
    ups = [gpugrad.tensor(rng.standard_normal(tuple(o.shape)).astype(dtype)) for o in fused]
    pick = {"all": (0, 1, 2), "output": (0,), "h": (1,), "c": (2,)}[used]
    inputs = [a for a in args if a is not None]
    grads = []
    for outs in (fused, composed):
        for a, b in zip(outs, (fused, composed)[0]):
            assert a.dtype == b.dtype and tuple(a.shape) == tuple(b.shape)
        grads.append(gpugrad.autograd.grad([outs[k] for k in pick], inputs,
                                           [ups[k] for k in pick], allow_unused=True))
    for a, b in zip(fused, composed):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=tol, rtol=tol)
    for k, (a, b) in enumerate(zip(*grads)):
        assert a is not None and b is not None, k
        assert a.dtype == b.dtype
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=tol * 10, rtol=tol * 10,
                                   err_msg=f"input {k}")
    arrays = [g.numpy() for g in grads[0]]
    for i in range(len(arrays)):
        for j in range(i + 1, len(arrays)):
            assert not np.shares_memory(arrays[i], arrays[j])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("bias", [True, False])
def test_bidirectional_joint_loop_matches_one_direction_at_a_time(dtype, bias):
    # lstm_bidirectional runs both directions' steps in one loop; each direction alone
    # (lstm_layer) must give the same outputs, nodes and gradients.
    rng = np.random.default_rng(1)
    fwd = _layer_args(rng, 5, 2, 3, 4, dtype, bias)
    bwd = [fwd[0]] + _layer_args(rng, 5, 2, 3, 4, dtype, bias)[1:]
    states, weights = [fwd[1:3], bwd[1:3]], [fwd[3:], bwd[3:]]
    joint = lstm_bidirectional(fwd[0], states, weights)
    alone = [lstm_layer(fwd[0], *s, *w, reverse=d == 1)
             for d, (s, w) in enumerate(zip(states, weights))]
    inputs = [a for a in fwd + bwd[1:] if a is not None]
    ups = [gpugrad.tensor(rng.standard_normal(tuple(o.shape)).astype(dtype))
           for outs in joint for o in outs]
    grads = []
    for results in (joint, alone):
        outs = [o for r in results for o in r]
        assert [type(o.grad_fn).__name__ for o in outs] == ["MkldnnRnnLayerBackward0"] * 6
        grads.append(gpugrad.autograd.grad(outs, inputs, ups))
    tol = 1e-12 if dtype == "float64" else 1e-6  # (a batched matmul may round otherwise)
    for a, b in zip([o for r in joint for o in r], [o for r in alone for o in r]):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=tol, atol=tol)
    for k, (a, b) in enumerate(zip(*grads)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=tol, atol=tol, err_msg=f"input {k}")


def test_bidirectional_with_mixed_dtypes_runs_each_direction_composed():
    rng = np.random.default_rng(2)
    fwd = _layer_args(rng, 3, 1, 2, 2, "float64")
    bwd = [fwd[0]] + _layer_args(rng, 3, 1, 2, 2, "float32")[1:]
    results = lstm_bidirectional(fwd[0], [fwd[1:3], bwd[1:3]], [fwd[3:], bwd[3:]])
    assert [r[0].dtype for r in results] == [gpugrad.float64, gpugrad.float64]
    assert type(results[0][0].grad_fn).__name__ == "MkldnnRnnLayerBackward0"
    assert type(results[1][0].grad_fn).__name__ == "StackBackward0"


CONFIGS = [{}, {"num_layers": 2}, {"bidirectional": True},
           {"batch_first": True, "num_layers": 2, "bidirectional": True}, {"bias": False}]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kw", CONFIGS)
def test_module_matches_torch_and_records_torchs_nodes(dtype, kw):
    theirs = torch.nn.LSTM(3, 4, **kw).to(getattr(torch, dtype))
    ours = gpugrad.nn.LSTM(3, 4, dtype=getattr(gpugrad, dtype), **kw)
    ours.load_state_dict({k: gpugrad.tensor(v.detach().numpy())
                          for k, v in theirs.state_dict().items()})
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 5, 3) if kw.get("batch_first") else (5, 2, 3)).astype(dtype)
    xg, xt = gpugrad.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_g, (h_g, c_g) = ours(xg)
    out_t, (h_t, c_t) = theirs(xt)
    tol = 1e-12 if dtype == "float64" else 1e-5
    for a, b in ((out_g, out_t), (h_g, h_t), (c_g, c_t)):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=tol)
    if dtype == "float32":  # PyTorch's float64 LSTM is composed, its float32 one fused
        assert type(out_g.grad_fn).__name__ == type(out_t.grad_fn).__name__
        assert type(h_g.grad_fn).__name__ == type(h_t.grad_fn).__name__

        def names(node):
            return [type(n).__name__ if n is not None else None for n, _ in node.next_functions]

        layer_g, layer_t = h_g.grad_fn.next_functions[0][0], h_t.grad_fn.next_functions[0][0]
        assert type(layer_g).__name__ == "MkldnnRnnLayerBackward0"
        # (the input's own node may differ: PyTorch copies a batch-first input, we view it)
        assert names(layer_g)[1:] == names(layer_t)[1:]
    (out_g.sum() + h_g.pow(2).sum() + c_g.sum()).backward()
    (out_t.sum() + h_t.pow(2).sum() + c_t.sum()).backward()
    np.testing.assert_allclose(xg.grad.numpy(), xt.grad.numpy(), atol=tol * 10)
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), atol=tol * 10, err_msg=name)


def test_module_edge_cases_as_torch():
    ours, theirs = gpugrad.nn.LSTM(3, 4), torch.nn.LSTM(3, 4)
    with pytest.raises(RuntimeError, match="Expected sequence length to be larger than 0"):
        ours(gpugrad.randn(0, 2, 3))
    with pytest.raises(RuntimeError, match="Expected sequence length to be larger than 0"):
        theirs(torch.randn(0, 2, 3))
    x = gpugrad.randn(3, 0, 3, requires_grad=True)
    out, (h, c) = ours(x)
    assert tuple(out.shape) == (3, 0, 4) and tuple(h.shape) == (1, 0, 4)
    (out.sum() + h.sum() + c.sum()).backward()
    assert tuple(x.grad.shape) == (3, 0, 3)


def test_module_falls_back_to_the_composition_for_other_dtypes():
    lstm = gpugrad.nn.LSTM(3, 4, dtype=gpugrad.float64)
    x = gpugrad.randn(4, 1, 3, dtype=gpugrad.float32, requires_grad=True)
    for module in (lstm, torch.nn.LSTM(3, 4).double()):
        with pytest.raises(ValueError, match=r"RNN input dtype \(\w+.float32\) does not match"):
            module(x if module is lstm else torch.randn(4, 1, 3))
    out, _ = lstm(x.double())
    assert type(out.grad_fn).__name__ == "MkldnnRnnLayerBackward0"
    half = gpugrad.nn.LSTM(3, 4, dtype=gpugrad.float16)  # composed, as PyTorch's
    out, _ = half(x.half())
    assert type(out.grad_fn).__name__ == "StackBackward0" and out.dtype == gpugrad.float16
    out.float().sum().backward()
    assert half.weight_hh_l0.grad.dtype == gpugrad.float16


def test_saved_values_are_version_checked_and_outputs_are_fresh():
    rng = np.random.default_rng(2)
    args = _layer_args(rng, 4, 2, 3, 2, "float64")
    out, h, c = LSTMLayer.apply(*args, False)
    out.detach().mul_(0)  # writing into an output cannot change what backward reads
    h.sum().backward(retain_graph=True)
    expected = args[3].grad.numpy().copy()
    args[3].grad = None
    h.sum().backward(retain_graph=True)
    np.testing.assert_array_equal(args[3].grad.numpy(), expected)
    with gpugrad.no_grad():
        args[0].mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        h.sum().backward()


def test_double_backward_through_the_layer_matches_torch():
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal(s) for s in [(3, 2, 2), (2, 3), (2, 3), (12, 2), (12, 3),
                                               (12,), (12,)]]
    g_args = [gpugrad.tensor(a, requires_grad=True) for a in arrays]
    t_args = [torch.tensor(a, requires_grad=True) for a in arrays]
    out_g = LSTMLayer.apply(*g_args, False)[0]
    out_t, _, _ = torch.lstm(t_args[0], (t_args[1][None], t_args[2][None]), t_args[3:], True, 1,
                             0.0, False, False, False)
    (gx_g,) = gpugrad.autograd.grad(out_g.pow(2).sum(), g_args[0], create_graph=True)
    (gx_t,) = torch.autograd.grad(out_t.pow(2).sum(), t_args[0], create_graph=True)
    np.testing.assert_allclose(gx_g.detach().numpy(), gx_t.detach().numpy(), atol=1e-12)
    gx_g.pow(2).sum().backward()
    gx_t.pow(2).sum().backward()
    for a, b in zip(g_args, t_args):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=1e-10)

"""RNNCell, LSTMCell and GRUCell against PyTorch's with the same parameters: batched and
unbatched inputs, given and zero states, outputs, states and every gradient; names, shapes and
initialisation of the parameters; errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

CELLS = [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}), ("RNNCell", {"bias": False}),
         ("LSTMCell", {}), ("LSTMCell", {"bias": False}), ("GRUCell", {}),
         ("GRUCell", {"bias": False})]


def _pair(name, dtype="float64", **kw):
    theirs = getattr(torch.nn, name)(3, 4, dtype=getattr(torch, dtype), **kw)
    ours = getattr(gpugrad.nn, name)(3, 4, dtype=getattr(gpugrad, dtype), **kw)
    ours.load_state_dict({k: gpugrad.tensor(v.detach().numpy())
                          for k, v in theirs.state_dict().items()})
    assert repr(ours) == repr(theirs)
    return ours, theirs


def _flat(out):
    return list(out) if isinstance(out, tuple) else [out]


@pytest.mark.parametrize("batch", [(2,), ()], ids=["batched", "unbatched"])
@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,kw", CELLS)
def test_matches_torch(name, kw, dtype, with_state, batch):
    ours, theirs = _pair(name, dtype, **kw)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((*batch, 3)).astype(dtype)
    args_g = [gpugrad.tensor(x, requires_grad=True)]
    args_t = [torch.tensor(x, requires_grad=True)]
    states = [rng.standard_normal((*batch, 4)).astype(dtype)
              for _ in range(2 if name == "LSTMCell" else 1)]
    hx_g = [gpugrad.tensor(s, requires_grad=True) for s in states]
    hx_t = [torch.tensor(s, requires_grad=True) for s in states]
    if with_state:
        args_g.append(tuple(hx_g) if name == "LSTMCell" else hx_g[0])
        args_t.append(tuple(hx_t) if name == "LSTMCell" else hx_t[0])
    tol = {"atol": 1e-12} if dtype == "float64" else {"atol": 1e-5, "rtol": 1e-5}
    # Two steps, so the second sees a state that depends on the parameters.
    outs_g = _flat(ours(*args_g))
    outs_g = _flat(ours(args_g[0], tuple(outs_g) if name == "LSTMCell" else outs_g[0]))
    outs_t = _flat(theirs(*args_t))
    outs_t = _flat(theirs(args_t[0], tuple(outs_t) if name == "LSTMCell" else outs_t[0]))
    for a, b in zip(outs_g, outs_t, strict=True):
        assert tuple(a.shape) == tuple(b.shape) and a.dtype.name == dtype
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), **tol)
    sum(o.pow(2).sum() for o in outs_g).backward()
    sum(o.pow(2).sum() for o in outs_t).backward()
    np.testing.assert_allclose(args_g[0].grad.numpy(), args_t[0].grad.numpy(), **tol)
    if with_state:
        for a, b in zip(hx_g, hx_t):
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), **tol)
    for (n, p), (m, q) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
        assert n == m
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), err_msg=n, **tol)


@pytest.mark.parametrize("name,gates", [("RNNCell", 1), ("LSTMCell", 4), ("GRUCell", 3)])
def test_parameters_and_initialisation(name, gates):
    cell = getattr(gpugrad.nn, name)(5, 16)
    shapes = {n: tuple(p.shape) for n, p in cell.named_parameters()}
    assert shapes == {"weight_ih": (gates * 16, 5), "weight_hh": (gates * 16, 16),
                      "bias_ih": (gates * 16,), "bias_hh": (gates * 16,)}
    values = np.concatenate([p.detach().numpy().ravel() for p in cell.parameters()])
    assert np.abs(values).max() <= 0.25 and values.std() > 0.1  # U(-1/4, 1/4)
    bare = getattr(gpugrad.nn, name)(5, 16, bias=False)
    assert bare.bias_ih is None and [n for n, _ in bare.named_parameters()] == [
        "weight_ih", "weight_hh"]


def test_cell_agrees_with_one_layer_of_the_full_layer():
    cell, layer = gpugrad.nn.GRUCell(3, 4), gpugrad.nn.GRU(3, 4)
    layer.load_state_dict({f"{k}_l0": v for k, v in cell.state_dict().items()})
    x = gpugrad.randn(5, 2, 3)
    h = None
    for t in range(5):
        h = cell(x[t], h)
    np.testing.assert_allclose(h.detach().numpy(), layer(x)[1][0].detach().numpy(), atol=1e-6)


BAD = [
    ("RNNCell", {}, ((4, 2, 3),), ValueError, "RNNCell: Expected input to be 1D or 2D, got 3D"),
    ("GRUCell", {}, ((2, 3), (1, 2, 4)), ValueError, "GRUCell: Expected hidden to be 1D or 2D"),
    ("LSTMCell", {}, ((2, 3), [(2, 4), (2, 2, 4)]), ValueError,
     r"LSTMCell: Expected hx\[1\] to be 1D or 2D, got 3D"),
    ("LSTMCell", {}, ((2, 5),), RuntimeError, "input has inconsistent input_size: got 5 "
                                              "expected 3"),
    ("GRUCell", {}, ((2, 3), (3, 4)), RuntimeError,
     "Input batch size 2 doesn't match hidden0 batch size 3"),
    ("LSTMCell", {}, ((2, 3), [(2, 4), (2, 5)]), RuntimeError,
     "hidden1 has inconsistent hidden_size: got 5, expected 4"),
    ("RNNCell", {"nonlinearity": "gelu"}, ((2, 3),), RuntimeError, "Unknown nonlinearity: gelu"),
]


def _zeros(m, shape):
    return [m.zeros(s) for s in shape] if isinstance(shape, list) else m.zeros(shape)


@pytest.mark.parametrize("name,kw,shapes,exc,match", BAD)
def test_errors_as_torch(name, kw, shapes, exc, match):
    for m in (gpugrad, torch):
        cell = getattr(m.nn, name)(3, 4, **kw)
        with pytest.raises(exc, match=match):
            cell(*[_zeros(m, s) for s in shapes])

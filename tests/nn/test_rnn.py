"""RNN, LSTM and GRU against PyTorch's with the same parameters: layers, directions, layouts,
initial states, outputs, final states and every gradient; errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

CONFIGS = [
    {}, {"num_layers": 2}, {"bidirectional": True}, {"batch_first": True, "num_layers": 2,
                                                     "bidirectional": True},
    {"bias": False},
]


def _pair(name, **kw):
    theirs = getattr(torch.nn, name)(3, 4, **kw).double()
    ours = getattr(gpugrad.nn, name)(3, 4, dtype=gpugrad.float64, **kw)
    ours.load_state_dict({k: gpugrad.tensor(v.detach().numpy())
                          for k, v in theirs.state_dict().items()})
    assert repr(ours) == repr(theirs)
    return ours, theirs


def _flat(result):
    out, state = result
    return [out, *state] if isinstance(state, tuple) else [out, state]


@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("kw", CONFIGS)
@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_matches_torch(name, kw, with_state):
    ours, theirs = _pair(name, **kw)
    rng = np.random.default_rng(0)
    shape = (2, 5, 3) if kw.get("batch_first") else (5, 2, 3)
    x = rng.standard_normal(shape)
    layers = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
    states = [rng.standard_normal((layers, 2, 4)) for _ in range(2 if name == "LSTM" else 1)]
    args_g = [gpugrad.tensor(x, requires_grad=True)]
    args_t = [torch.tensor(x, requires_grad=True)]
    if with_state:
        hx_g = [gpugrad.tensor(s, requires_grad=True) for s in states]
        hx_t = [torch.tensor(s, requires_grad=True) for s in states]
        args_g.append(tuple(hx_g) if name == "LSTM" else hx_g[0])
        args_t.append(tuple(hx_t) if name == "LSTM" else hx_t[0])
    outs_g, outs_t = _flat(ours(*args_g)), _flat(theirs(*args_t))
    for a, b in zip(outs_g, outs_t, strict=True):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=1e-12)
    sum(o.pow(2).sum() for o in outs_g).backward()
    sum(o.pow(2).sum() for o in outs_t).backward()
    np.testing.assert_allclose(args_g[0].grad.numpy(), args_t[0].grad.numpy(), atol=1e-11)
    if with_state:
        for a, b in zip(hx_g, hx_t):
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=1e-11)
    for (n, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), atol=1e-11, err_msg=n)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_unbatched_input_matches_torch(name):
    ours, theirs = _pair(name, num_layers=2)
    x = np.random.default_rng(1).standard_normal((6, 3))
    for a, b in zip(_flat(ours(gpugrad.tensor(x))), _flat(theirs(torch.tensor(x)))):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=1e-12)


def test_relu_nonlinearity_and_initialization():
    ours, theirs = _pair("RNN", nonlinearity="relu")
    x = np.random.default_rng(2).standard_normal((4, 2, 3))
    np.testing.assert_allclose(ours(gpugrad.tensor(x))[0].detach().numpy(),
                               theirs(torch.tensor(x))[0].detach().numpy(), atol=1e-12)
    fresh = gpugrad.nn.LSTM(3, 16)
    assert all(np.abs(p.detach().numpy()).max() <= 0.25 for p in fresh.parameters())


def test_errors():
    lstm = gpugrad.nn.LSTM(3, 4)
    with pytest.raises(RuntimeError, match="input_size. Expected 3, got 5"):
        lstm(gpugrad.randn(2, 1, 5))
    with pytest.raises(RuntimeError, match=r"Expected hidden\[0\] size"):
        lstm(gpugrad.randn(2, 1, 3), (gpugrad.zeros(1, 2, 4), gpugrad.zeros(1, 2, 4)))
    with pytest.raises(ValueError, match="Expected input to be 2D or 3D"):
        lstm(gpugrad.randn(3))
    with pytest.raises(ValueError, match="Unknown nonlinearity"):
        gpugrad.nn.RNN(3, 4, nonlinearity="gelu")
    with pytest.raises(ValueError, match="only supported for LSTM"):
        gpugrad.nn.GRU(3, 4, proj_size=2)
    with pytest.raises(ValueError, match="smaller than hidden_size"):
        gpugrad.nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="positive integer or zero"):
        gpugrad.nn.LSTM(3, 4, proj_size=-1)
    projected = gpugrad.nn.LSTM(3, 4, proj_size=2)
    with pytest.raises(RuntimeError, match=r"Expected hidden\[0\] size \(1, 2, 2\)"):
        projected(gpugrad.randn(2, 2, 3), (gpugrad.zeros(1, 2, 4), gpugrad.zeros(1, 2, 4)))


def test_dropout_between_layers_only_in_training():
    gru = gpugrad.nn.GRU(3, 4, num_layers=2, dropout=0.5)
    x = gpugrad.randn(5, 2, 3)
    gru.eval()
    np.testing.assert_array_equal(gru(x)[0].detach().numpy(), gru(x)[0].detach().numpy())
    gru.train()
    assert not np.allclose(gru(x)[0].detach().numpy(), gru(x)[0].detach().numpy())


def _states(rng, name, layers, batch, hidden, proj=0):
    shapes = [(layers, batch, proj or hidden)] + ([(layers, batch, hidden)] if name == "LSTM"
                                                  else [])
    return [rng.standard_normal(shape) for shape in shapes]


def _run_both(ours, theirs, args_g, args_t):
    """Both modules on their arguments; every output compared, then every gradient."""
    outs_g, outs_t = _flat(ours(*args_g)), _flat(theirs(*args_t))
    outs_g = [o.data if isinstance(o, tuple) else o for o in outs_g]  # a PackedSequence's data
    outs_t = [o.data if isinstance(o, tuple) else o for o in outs_t]
    for a, b in zip(outs_g, outs_t, strict=True):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=1e-12)
    sum(o.pow(2).sum() for o in outs_g).backward()
    sum(o.pow(2).sum() for o in outs_t).backward()
    for (n, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), atol=1e-11, err_msg=n)


@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("kw", [{}, {"num_layers": 2, "bidirectional": True},
                                {"batch_first": True, "bias": False}])
def test_projected_lstm_matches_torch(kw, with_state):
    ours, theirs = _pair("LSTM", proj_size=2, **kw)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 5, 3) if kw.get("batch_first") else (5, 2, 3))
    layers = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
    args_g, args_t = [gpugrad.tensor(x, requires_grad=True)], [torch.tensor(x,
                                                                           requires_grad=True)]
    if with_state:
        hx = _states(rng, "LSTM", layers, 2, 4, proj=2)
        args_g.append(tuple(gpugrad.tensor(h) for h in hx))
        args_t.append(tuple(torch.tensor(h) for h in hx))
    _run_both(ours, theirs, args_g, args_t)
    np.testing.assert_allclose(args_g[0].grad.numpy(), args_t[0].grad.numpy(), atol=1e-11)


PACKED = [("RNN", {}), ("GRU", {"num_layers": 2, "bidirectional": True}),
          ("LSTM", {}), ("LSTM", {"num_layers": 2, "bidirectional": True}),
          ("LSTM", {"proj_size": 2, "bidirectional": True}), ("GRU", {"batch_first": True})]


@pytest.mark.parametrize("enforce_sorted", [True, False])
@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("name,kw", PACKED)
def test_packed_sequences_match_torch(name, kw, with_state, enforce_sorted):
    """A PackedSequence in, one out (only the real time steps of each sequence run), final
    states of each sequence's last step, in the caller's order; gradients to the padded input,
    the initial states and the weights."""
    from torch.nn.utils import rnn as trnn

    from gpugrad.nn.utils import rnn

    ours, theirs = _pair(name, **kw)
    rng = np.random.default_rng(4)
    lengths = [5, 3, 3, 1] if enforce_sorted else [3, 5, 1, 3]
    batch_first = kw.get("batch_first", False)
    x = rng.standard_normal((4, 5, 3) if batch_first else (5, 4, 3))
    xg, xt = gpugrad.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    args_g = [rnn.pack_padded_sequence(xg, lengths, batch_first, enforce_sorted)]
    args_t = [trnn.pack_padded_sequence(xt, lengths, batch_first, enforce_sorted)]
    layers = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
    if with_state:
        hx = _states(rng, name, layers, 4, 4, proj=kw.get("proj_size", 0))
        hg = [gpugrad.tensor(h, requires_grad=True) for h in hx]
        ht = [torch.tensor(h, requires_grad=True) for h in hx]
        args_g.append(tuple(hg) if name == "LSTM" else hg[0])
        args_t.append(tuple(ht) if name == "LSTM" else ht[0])
    out_g = ours(*args_g)[0]
    assert isinstance(out_g, rnn.PackedSequence)
    _run_both(ours, theirs, args_g, args_t)
    np.testing.assert_allclose(xg.grad.numpy(), xt.grad.numpy(), atol=1e-11)
    if with_state:
        for a, b in zip(hg, ht):
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=1e-11)


def test_rnn_base_modes_and_positional_nonlinearity_as_torch():
    for lib in (gpugrad, torch):
        relu = lib.nn.RNN(3, 4, 2, "relu", False)  # nonlinearity is the fourth argument
        assert relu.nonlinearity == "relu" and relu.mode == "RNN_RELU" and not relu.bias
        assert isinstance(relu, lib.nn.RNNBase)
        assert lib.nn.LSTM(3, 4).mode == "LSTM" and lib.nn.GRU(3, 4).mode == "GRU"
        with pytest.raises(ValueError, match="Unrecognized RNN mode: X"):
            lib.nn.RNNBase("X", 3, 4)
        with pytest.raises(ValueError, match="proj_size argument is only supported for LSTM"):
            lib.nn.RNN(3, 4, proj_size=0)
        with pytest.raises(ValueError, match="proj_size argument is only supported for LSTM"):
            lib.nn.GRU(3, 4, proj_size=2)
    assert repr(gpugrad.nn.RNN(3, 4, 2, "relu")) == repr(torch.nn.RNN(3, 4, 2, "relu"))
    base = gpugrad.nn.RNNBase("LSTM", 3, 4)
    assert repr(base) == repr(torch.nn.RNNBase("LSTM", 3, 4))
    assert [n for n, _ in base.named_parameters()] == \
        [n for n, _ in torch.nn.RNNBase("LSTM", 3, 4).named_parameters()]


@pytest.mark.parametrize("mode,kw", [("GRU", {"num_layers": 2, "bidirectional": True}),
                                     ("LSTM", {"proj_size": 2}), ("RNN", {"bias": False})])
def test_flat_weights_all_weights_and_flatten_parameters_as_torch(mode, kw):
    layouts = []
    for lib in (torch, gpugrad):
        m = getattr(lib.nn, mode)(3, 4, **kw)
        assert m.flatten_parameters() is None
        assert all(w is getattr(m, name) for w, name in zip(m._flat_weights,
                                                            m._flat_weights_names))
        layouts.append(([tuple(w.shape) for w in m._flat_weights],
                        [[tuple(w.shape) for w in cell] for cell in m.all_weights]))
    assert layouts[1] == layouts[0]


def test_dropout_with_one_layer_warns_as_torch():
    import warnings

    messages = []
    for lib in (torch, gpugrad):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lib.nn.GRU(3, 4, dropout=0.5)
            lib.nn.LSTM(3, 4, num_layers=2, dropout=0.5)  # (no warning)
        messages.append([str(w.message) for w in caught])
    assert messages[1] == messages[0] and len(messages[0]) == 1

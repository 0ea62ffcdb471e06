"""The layers beyond the op registry on each device against PyTorch on the CPU with the same
parameters: convolution, pooling, normalisation, embedding, attention, transformer and
recurrent layers; outputs, input gradients and parameter gradients, in float32.

The CPU cases check the table itself in CI; the CUDA cases run where CuPy sees a GPU.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)]  # gpu: skipped without one


# name: (builder of the module given the nn namespace, input shape, extra forward kwargs builder)
LAYERS = {
    "Conv1d": (lambda nn: nn.Conv1d(3, 4, 3, stride=2, padding=1), (2, 3, 9)),
    "Conv2d-groups-dilation": (lambda nn: nn.Conv2d(4, 6, 3, padding=2, dilation=2, groups=2),
                               (2, 4, 7, 6)),
    "Conv2d-stride-same": (lambda nn: nn.Conv2d(3, 5, (3, 2), padding="same"), (2, 3, 6, 5)),
    "MaxPool1d": (lambda nn: nn.MaxPool1d(3, stride=2, padding=1), (2, 3, 9)),
    "MaxPool2d": (lambda nn: nn.MaxPool2d((3, 2), stride=(2, 1)), (2, 3, 7, 5)),
    "AvgPool2d": (lambda nn: nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
                  (2, 3, 7, 6)),
    "BatchNorm1d": (lambda nn: nn.BatchNorm1d(5), (8, 5)),
    "BatchNorm2d": (lambda nn: nn.BatchNorm2d(3), (4, 3, 5, 5)),
    "LayerNorm": (lambda nn: nn.LayerNorm(6), (3, 4, 6)),
    "MultiheadAttention": (lambda nn: nn.MultiheadAttention(8, 2, batch_first=True), (2, 5, 8)),
    "TransformerEncoderLayer": (lambda nn: nn.TransformerEncoderLayer(
        8, 2, dim_feedforward=16, dropout=0.0, batch_first=True), (2, 5, 8)),
    "LSTM-2-layers-bidirectional": (lambda nn: nn.LSTM(4, 6, num_layers=2, bidirectional=True),
                                    (5, 2, 4)),
    "GRU-batch-first": (lambda nn: nn.GRU(4, 6, batch_first=True), (2, 5, 4)),
    "RNN-relu": (lambda nn: nn.RNN(4, 6, nonlinearity="relu"), (5, 2, 4)),
}


def _pair(name, device):
    torch.manual_seed(0)
    theirs = LAYERS[name][0](torch.nn)
    ours = LAYERS[name][0](gpugrad.nn)
    ours.load_state_dict({k: gpugrad.tensor(v.detach().numpy())
                          for k, v in theirs.state_dict().items()})
    return ours.to(device), theirs


def _outputs(result):
    """The tensors a layer returns, flattened (recurrent layers return (out, state))."""
    if isinstance(result, (tuple, list)):
        return [t for r in result for t in _outputs(r)]
    return [] if result is None else [result]


def _call(module, x, name):
    if name == "MultiheadAttention":
        return module(x, x, x)
    return module(x)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_matches_torch(name, device):
    ours, theirs = _pair(name, device)
    x_np = np.random.default_rng(1).standard_normal(LAYERS[name][1]).astype(np.float32)
    x_g = gpugrad.tensor(x_np, device=device, requires_grad=True)
    x_t = torch.tensor(x_np, requires_grad=True)
    outs_g, outs_t = _outputs(_call(ours, x_g, name)), _outputs(_call(theirs, x_t, name))
    assert len(outs_g) == len(outs_t)
    for a, b in zip(outs_g, outs_t):
        assert a.device.type == device
        np.testing.assert_allclose(a.detach().cpu().numpy(), b.detach().numpy(), rtol=1e-4,
                                   atol=1e-5)
    rng = np.random.default_rng(2)
    ups = [rng.standard_normal(tuple(t.shape)).astype(np.float32) for t in outs_t]
    gpugrad.autograd.backward(outs_g, [gpugrad.tensor(u, device=device) for u in ups])
    torch.autograd.backward(outs_t, [torch.from_numpy(u) for u in ups])
    np.testing.assert_allclose(x_g.grad.cpu().numpy(), x_t.grad.numpy(), rtol=1e-4, atol=1e-5)
    for (n, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
        assert p.grad.device.type == device, n
        np.testing.assert_allclose(p.grad.cpu().numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-4,
                                   err_msg=n)
    for (n, b), (_, c) in zip(ours.named_buffers(), theirs.named_buffers(), strict=True):
        np.testing.assert_allclose(b.cpu().numpy(), c.numpy(), rtol=1e-5, atol=1e-6, err_msg=n)


@pytest.mark.parametrize("device", DEVICES)
def test_scaled_dot_product_attention_matches_torch(device):
    rng = np.random.default_rng(3)
    q, k, v = (rng.standard_normal((2, 2, 5, 4)).astype(np.float32) for _ in range(3))
    args_g = [gpugrad.tensor(a, device=device, requires_grad=True) for a in (q, k, v)]
    args_t = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    out_g = gpugrad.nn.functional.scaled_dot_product_attention(*args_g, is_causal=True)
    out_t = torch.nn.functional.scaled_dot_product_attention(*args_t, is_causal=True)
    np.testing.assert_allclose(out_g.detach().cpu().numpy(), out_t.detach().numpy(), rtol=1e-4,
                               atol=1e-5)
    out_g.sum().backward()
    out_t.sum().backward()
    for a, b in zip(args_g, args_t):
        np.testing.assert_allclose(a.grad.cpu().numpy(), b.grad.numpy(), rtol=1e-4, atol=1e-5)

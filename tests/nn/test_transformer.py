"""``TransformerEncoderLayer``/``TransformerEncoder`` against PyTorch's with the same
parameters (post- and pre-norm, relu and gelu, masks, batch-first), outputs and gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad


def _copy_params(ours, theirs):
    names_g = [n for n, _ in ours.named_parameters()]
    names_t = [n for n, _ in theirs.named_parameters()]
    assert names_g == names_t
    ours.load_state_dict({k: gpugrad.tensor(v.detach().numpy())
                          for k, v in theirs.state_dict().items()})


@pytest.mark.filterwarnings("ignore:Support for mismatched src_key_padding_mask")  # torch's
@pytest.mark.parametrize("kw", [{}, {"norm_first": True, "activation": "gelu"},
                                {"batch_first": True}])
def test_encoder_matches_torch(kw):
    torch.manual_seed(0)
    layer_t = torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, **kw)
    theirs = torch.nn.TransformerEncoder(layer_t, 2, norm=torch.nn.LayerNorm(8),
                                         enable_nested_tensor=False).double()
    layer_g = gpugrad.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, **kw)
    ours = gpugrad.nn.TransformerEncoder(layer_g, 2, norm=gpugrad.nn.LayerNorm(8)).double()
    _copy_params(ours, theirs)
    shape = (3, 5, 8) if kw.get("batch_first") else (5, 3, 8)
    x = np.random.default_rng(1).standard_normal(shape)
    mask = np.triu(np.full((5, 5), -np.inf), 1)
    padding = np.zeros((3, 5), bool)
    padding[1, 3:] = True
    xg, xt = gpugrad.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_g = ours(xg, mask=gpugrad.tensor(mask), src_key_padding_mask=gpugrad.tensor(padding))
    out_t = theirs(xt, mask=torch.tensor(mask), src_key_padding_mask=torch.tensor(padding))
    np.testing.assert_allclose(out_g.detach().numpy(), out_t.detach().numpy(), atol=1e-10)
    (out_g ** 3).sum().backward()
    (out_t ** 3).sum().backward()
    np.testing.assert_allclose(xg.grad.numpy(), xt.grad.numpy(), atol=1e-9)
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), atol=1e-9, err_msg=name)


def test_layers_are_independent_copies_and_dropout_follows_the_mode():
    layer = gpugrad.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.5)
    encoder = gpugrad.nn.TransformerEncoder(layer, 2)
    a, b = encoder.layers[0].linear1.weight, encoder.layers[1].linear1.weight
    assert a is not b and np.array_equal(a.detach().numpy(), b.detach().numpy())
    x = gpugrad.randn(4, 2, 8)
    encoder.eval()
    np.testing.assert_array_equal(encoder(x).detach().numpy(), encoder(x).detach().numpy())
    encoder.train()
    assert not np.allclose(encoder(x).detach().numpy(), encoder(x).detach().numpy())
    with pytest.raises(RuntimeError, match="relu/gelu"):
        gpugrad.nn.TransformerEncoderLayer(8, 2, activation="tanh")

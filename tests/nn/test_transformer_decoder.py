"""``TransformerDecoderLayer``, ``TransformerDecoder`` and ``Transformer`` against PyTorch's
with the same parameters: outputs and every gradient, masks, batch-first, unbatched, pre-norm,
activations, eval-mode dropout, float32; the causal mask and the initialization."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import gpugrad

pytestmark = [pytest.mark.filterwarnings("ignore:enable_nested_tensor is True"),  # torch's
              pytest.mark.filterwarnings("ignore:Support for mismatched")]


def _copy(ours, theirs):
    assert repr(ours) == repr(theirs)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    ours.load_state_dict({k: gpugrad.tensor(v.detach().numpy())
                          for k, v in theirs.state_dict().items()})


def _compare(ours, theirs, arrays, others, dtype=np.float64, atol=1e-10):
    """Run both on the float ``arrays`` (given gradients) plus keyword ``others`` (masks as
    NumPy arrays, flags); compare the output and all gradients."""
    g_in = [gpugrad.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    t_in = [torch.tensor(a.astype(dtype), requires_grad=True) for a in arrays]

    def convert(lib, v):
        return lib.tensor(v) if isinstance(v, np.ndarray) else v

    out_g = ours(*g_in, **{k: convert(gpugrad, v) for k, v in others.items()})
    out_t = theirs(*t_in, **{k: convert(torch, v) for k, v in others.items()})
    np.testing.assert_allclose(out_g.detach().numpy(), out_t.detach().numpy(), atol=atol)
    up = np.random.default_rng(7).standard_normal(tuple(out_t.shape)).astype(dtype)
    out_g.backward(gpugrad.tensor(up))
    out_t.backward(torch.tensor(up))
    for g, t in zip(g_in, t_in):
        np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), atol=atol * 10)
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters(),
                                 strict=True):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), atol=atol * 10,
                                   err_msg=name)


def _masks(tgt_len, src_len, batch):
    padding_t = np.zeros((batch, tgt_len), bool)
    padding_t[1, -1] = True
    padding_m = np.zeros((batch, src_len), bool)
    padding_m[0, -2:] = True
    return {"tgt_mask": np.triu(np.full((tgt_len, tgt_len), -np.inf), 1),
            "memory_mask": np.random.default_rng(3).standard_normal((tgt_len, src_len)),
            "tgt_key_padding_mask": padding_t, "memory_key_padding_mask": padding_m}


@pytest.mark.parametrize("kw", [{}, {"norm_first": True, "activation": "gelu"},
                                {"batch_first": True, "layer_norm_eps": 1e-3},
                                {"bias": False}])
def test_decoder_matches_torch(kw):
    torch.manual_seed(0)
    layer_t = torch.nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, dropout=0.0, **kw)
    theirs = torch.nn.TransformerDecoder(layer_t, 2, norm=torch.nn.LayerNorm(8)).double()
    layer_g = gpugrad.nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, dropout=0.0, **kw)
    ours = gpugrad.nn.TransformerDecoder(layer_g, 2, norm=gpugrad.nn.LayerNorm(8)).double()
    _copy(ours, theirs)
    rng = np.random.default_rng(1)
    tgt_shape, mem_shape = ((3, 4, 8), (3, 5, 8)) if kw.get("batch_first") else \
        ((4, 3, 8), (5, 3, 8))
    arrays = [rng.standard_normal(tgt_shape), rng.standard_normal(mem_shape)]
    _compare(ours, theirs, arrays, _masks(4, 5, 3))
    _compare(ours, theirs, arrays, {})


def test_decoder_layer_unbatched_callable_activation_and_causal_hint():
    torch.manual_seed(1)
    theirs = torch.nn.TransformerDecoderLayer(6, 3, 10, dropout=0.0,
                                              activation=torch.tanh).double()
    ours = gpugrad.nn.TransformerDecoderLayer(6, 3, 10, dropout=0.0,
                                              activation=gpugrad.tanh).double()
    _copy(ours, theirs)
    rng = np.random.default_rng(2)
    causal = np.triu(np.full((4, 4), -np.inf), 1)
    _compare(ours, theirs, [rng.standard_normal((4, 6)), rng.standard_normal((5, 6))],
             {"tgt_mask": causal, "tgt_is_causal": True})
    for lib, layer in ((gpugrad, ours), (torch, theirs)):
        with pytest.raises(RuntimeError, match="Need attn_mask"):
            layer(lib.zeros(4, 2, 6, dtype=lib.float64), lib.zeros(5, 2, 6, dtype=lib.float64),
                  memory_is_causal=True)
    with pytest.raises(RuntimeError, match="relu/gelu, not tanh"):
        gpugrad.nn.TransformerDecoderLayer(6, 3, activation="tanh")


@pytest.mark.parametrize("kw", [{}, {"batch_first": True, "norm_first": True}])
def test_transformer_matches_torch_in_eval_mode(kw):
    torch.manual_seed(2)
    theirs = torch.nn.Transformer(8, 2, 2, 2, 16, dropout=0.3, **kw).double().eval()
    ours = gpugrad.nn.Transformer(8, 2, 2, 2, 16, dropout=0.3, **kw).double().eval()
    _copy(ours, theirs)
    rng = np.random.default_rng(4)
    src_shape, tgt_shape = ((3, 5, 8), (3, 4, 8)) if kw else ((5, 3, 8), (4, 3, 8))
    padding = np.zeros((3, 5), bool)
    padding[2, -1] = True
    masks = {"src_mask": np.zeros((5, 5)), "tgt_mask": np.triu(np.full((4, 4), -np.inf), 1),
             "src_key_padding_mask": padding, "memory_key_padding_mask": padding}
    _compare(ours, theirs, [rng.standard_normal(src_shape), rng.standard_normal(tgt_shape)],
             masks)


def test_transformer_float32_and_unbatched():
    torch.manual_seed(3)
    theirs = torch.nn.Transformer(8, 4, 1, 2, 12, dropout=0.0)
    ours = gpugrad.nn.Transformer(8, 4, 1, 2, 12, dropout=0.0)
    _copy(ours, theirs)
    rng = np.random.default_rng(5)
    _compare(ours, theirs, [rng.standard_normal((6, 2, 8)), rng.standard_normal((3, 2, 8))],
             {"tgt_mask": np.triu(np.full((3, 3), -np.inf), 1)}, dtype=np.float32, atol=2e-5)
    _compare(ours, theirs, [rng.standard_normal((6, 8)), rng.standard_normal((3, 8))], {},
             dtype=np.float32, atol=2e-5)


def test_transformer_errors_mask_and_initialization():
    model = gpugrad.nn.Transformer(8, 2, 1, 1, 16)
    for p in model.parameters():
        if p.dim() > 1:  # xavier_uniform_: U(-a, a), a = sqrt(6 / (fan_in + fan_out))
            bound = math.sqrt(6 / (p.shape[0] + p.shape[1]))
            values = np.abs(p.detach().numpy())
            assert values.max() <= bound and values.max() > 0.7 * bound
    norm = model.decoder.layers[0].norm3
    assert np.all(norm.weight.detach().numpy() == 1)
    assert np.all(model.encoder.layers[0].self_attn.in_proj_bias.detach().numpy() == 0)
    theirs = torch.nn.Transformer(8, 2, 1, 1, 16)
    for lib, m in ((gpugrad, model), (torch, theirs)):
        with pytest.raises(RuntimeError, match="batch number of src and tgt must be equal"):
            m(lib.zeros(5, 2, 8), lib.zeros(4, 3, 8))
        with pytest.raises(RuntimeError, match="feature number of src and tgt"):
            m(lib.zeros(5, 2, 8), lib.zeros(4, 2, 6))
    mask = gpugrad.nn.Transformer.generate_square_subsequent_mask(4, dtype=gpugrad.float64)
    expected = torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=torch.float64)
    assert mask.dtype == gpugrad.float64
    np.testing.assert_array_equal(mask.numpy(), expected.numpy())

    class Passthrough(gpugrad.nn.Module):
        def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
            return src

    custom = gpugrad.nn.Transformer(8, 2, custom_encoder=Passthrough(), num_decoder_layers=1,
                                    dim_feedforward=8)
    assert isinstance(custom.encoder, Passthrough)
    assert custom(gpugrad.zeros(3, 1, 8), gpugrad.zeros(2, 1, 8)).shape == (2, 1, 8)


def test_dropout_follows_the_mode():
    model = gpugrad.nn.Transformer(8, 2, 1, 1, 16, dropout=0.5)
    src, tgt = gpugrad.randn(4, 2, 8), gpugrad.randn(3, 2, 8)
    model.eval()
    np.testing.assert_array_equal(model(src, tgt).detach().numpy(),
                                  model(src, tgt).detach().numpy())
    model.train()
    assert not np.allclose(model(src, tgt).detach().numpy(), model(src, tgt).detach().numpy())

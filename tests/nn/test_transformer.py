"""``TransformerEncoderLayer``/``TransformerEncoder`` against PyTorch's with the same
parameters (post- and pre-norm, relu and gelu, masks, batch-first), outputs and gradients."""

from __future__ import annotations

import contextlib
import warnings

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
    ours = gpugrad.nn.TransformerEncoder(layer_g, 2, norm=gpugrad.nn.LayerNorm(8),
                                         enable_nested_tensor=False).double()
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


def _encoders(layer_kw=None, **kw):
    """PyTorch's encoder and ours, same parameters, float64, in eval mode, with the warnings
    each constructor gave."""
    layer_kw = {"batch_first": True, **(layer_kw or {})}
    torch.manual_seed(0)
    made = []
    for lib in (torch, gpugrad):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            layer = lib.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0,
                                                   **layer_kw)
            encoder = lib.nn.TransformerEncoder(layer, 2, norm=lib.nn.LayerNorm(8), **kw)
        made.append((encoder.double().eval(), [str(w.message) for w in caught]))
    (theirs, warned_t), (ours, warned_g) = made
    _copy_params(ours, theirs)
    return ours, theirs, warned_g, warned_t


LEFT_ALIGNED = np.array([[False] * 5, [False] * 3 + [True] * 2, [True] * 5])
NOT_ALIGNED = np.array([[False] * 5, [True] + [False] * 4, [False, True] * 2 + [False]])
NESTED_CASES = {  # (encoder kwargs, padding, how it runs) -> PyTorch's outputs
    "nested inference": ({}, LEFT_ALIGNED, "no_grad"),
    "float padding mask": ({}, np.where(LEFT_ALIGNED, -np.inf, 0.0), "no_grad"),
    "params need grad": ({}, LEFT_ALIGNED[:2], "grad"),
    "training": ({}, LEFT_ALIGNED[:2], "train"),
    "padding not at the end": ({}, NOT_ALIGNED, "no_grad"),
    "mask_check off": ({"mask_check": False}, LEFT_ALIGNED, "no_grad"),
    "nested tensors off": ({"enable_nested_tensor": False}, LEFT_ALIGNED[:2], "no_grad"),
    "pre-norm layer": ({"layer": {"norm_first": True}}, LEFT_ALIGNED[:2], "no_grad"),
}


@pytest.mark.parametrize("case", list(NESTED_CASES))
def test_encoder_inference_zeros_the_padding_as_pytorchs_nested_tensors(case):
    """Eval mode, no gradient, padding at the ends: PyTorch's encoder runs on nested tensors
    and gives zeros at the padded positions (then ``norm`` of zeros); otherwise values."""
    kw, padding, how = NESTED_CASES[case]
    kw = dict(kw)
    ours, theirs, warned_g, warned_t = _encoders(kw.pop("layer", None), **kw)
    assert warned_g == warned_t
    x = np.random.default_rng(2).standard_normal((len(padding), 5, 8))
    outs = []
    for lib, encoder in ((gpugrad, ours), (torch, theirs)):
        if how == "train":
            encoder.train()
        with lib.no_grad() if how == "no_grad" else contextlib.nullcontext():
            out = encoder(lib.tensor(x), src_key_padding_mask=lib.tensor(padding))
        outs.append(out.detach().numpy())
    np.testing.assert_allclose(outs[0], outs[1], atol=1e-10)
    zeroed = np.allclose(outs[1][padding.astype(bool)], theirs.norm.bias.detach().numpy())
    assert zeroed == (case in ("nested inference", "float padding mask", "mask_check off"))


def test_encoder_warns_why_it_will_not_use_nested_tensors():
    for layer_kw, reason in (({"batch_first": False}, "self_attn.batch_first was not True"),
                             ({"activation": lambda t: t}, "activation_relu_or_gelu"),
                             ({"layer_norm_eps": 1e-5}, None)):
        *_, warned_g, warned_t = _encoders(layer_kw)
        assert warned_g == warned_t
        assert (reason is None and not warned_g) or reason in warned_g[0]


def test_mask_dtypes_warn_and_fail_as_pytorch():
    """Masks of different dtypes warn (each module that combines them, with its names); a mask
    neither bool nor float fails, with PyTorch's AssertionError."""
    padding = np.array([[False, False, True], [False] * 3])
    results = []
    for lib in (torch, gpugrad):
        layer = lib.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
        encoder = lib.nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)
        attention = lib.nn.MultiheadAttention(8, 2, batch_first=True)
        x = lib.randn(2, 3, 8)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            encoder(x, mask=lib.zeros(3, 3), src_key_padding_mask=lib.tensor(padding))
            layer(x, src_mask=lib.zeros(3, 3), src_key_padding_mask=lib.tensor(padding))
            attention(x, x, x, key_padding_mask=lib.tensor(padding).float(),
                      attn_mask=lib.zeros(3, 3, dtype=lib.bool))
        errors = []
        with pytest.raises(AssertionError) as info:
            encoder(x, src_key_padding_mask=lib.tensor(padding).long())
        errors.append(str(info.value))
        with pytest.raises(AssertionError) as info:
            attention(x, x, x, attn_mask=lib.zeros(3, 3, dtype=lib.int32))
        errors.append(str(info.value))
        results.append(([str(w.message) for w in caught], errors))
    assert results[0] == results[1]
    assert len(results[0][0]) == 3 and "only bool and floating types" in results[0][1][0]


@pytest.mark.parametrize("batch_first", [True, False])
def test_transformer_inputs_of_too_few_dims_fail_as_pytorch(batch_first):
    """A 1-D src or tgt: PyTorch reads the batch dim (and the encoder the sequence length)
    before it checks the dims, so the error is an IndexError (an AssertionError from the
    attention for an encoder given 1-D input with batch_first=False)."""
    def outcomes(m):
        m.manual_seed(0)
        model = m.nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1,
                                 num_decoder_layers=1, dim_feedforward=16, dropout=0.0,
                                 batch_first=batch_first)
        out = []
        for fn in (lambda: model(m.ones(8), m.ones(4, 8)),
                   lambda: model(m.ones(5, 8), m.ones(8)),
                   lambda: model.encoder(m.ones(8)),
                   lambda: model(m.ones(2, 5, 8), m.ones(3, 5, 8))):
            try:
                out.append(tuple(fn().shape))
            except (IndexError, AssertionError, RuntimeError) as exc:
                out.append(type(exc))
        return out

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert outcomes(gpugrad) == outcomes(torch)

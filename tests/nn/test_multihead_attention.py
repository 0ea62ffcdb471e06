"""``nn.MultiheadAttention`` against PyTorch's, with the same parameters: layouts (sequence
first, batch first, unbatched), self- and cross-attention, bool and float masks, key padding,
per-head weights, gradients of inputs and parameters; errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad


def _pair(embed=8, heads=2, **kw):
    theirs = torch.nn.MultiheadAttention(embed, heads, **kw).double()
    ours = gpugrad.nn.MultiheadAttention(embed, heads, dtype=gpugrad.float64, **kw)
    ours.load_state_dict({k: gpugrad.tensor(v.detach().numpy())
                          for k, v in theirs.state_dict().items()})
    return ours, theirs


def _inputs(shape_q, shape_kv, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in (shape_q, shape_kv, shape_kv)]


def _masks(lib, spec):
    return {k: lib.tensor(v) for k, v in spec.items()}


L, S, N, E = 4, 5, 3, 8
rng = np.random.default_rng(1)
MASK_CASES = {
    "none": {},
    "bool attn_mask": {"attn_mask": rng.standard_normal((L, S)) > 0.8},
    "float attn_mask 3D": {"attn_mask": rng.standard_normal((N * 2, L, S))},
    "key padding": {"key_padding_mask": np.array([[False] * S, [False] * 3 + [True] * 2,
                                                  [True] + [False] * (S - 1)])},
    "both": {"attn_mask": np.triu(np.ones((L, S), bool), 1),
             "key_padding_mask": np.array([[False] * 4 + [True]] * N)},
}


CONFIGS = {
    "packed": {},
    "kdim vdim": {"kdim": 5, "vdim": 3},
    "bias kv": {"add_bias_kv": True},
    "zero attn": {"add_zero_attn": True},
    "all": {"kdim": 5, "vdim": 3, "add_bias_kv": True, "add_zero_attn": True},
}


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("average", [True, False])
@pytest.mark.parametrize("case", list(MASK_CASES))
@pytest.mark.parametrize("batch_first", [False, True])
def test_matches_torch(batch_first, case, average, config):
    kw = CONFIGS[config]
    ours, theirs = _pair(batch_first=batch_first, **kw)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    kdim, vdim = kw.get("kdim", E), kw.get("vdim", E)
    rng = np.random.default_rng(0)
    shapes = [(L, E), (S, kdim), (S, vdim)]
    arrays = [rng.standard_normal((N, *s) if batch_first else (s[0], N, s[1])) for s in shapes]
    xs_g = [gpugrad.tensor(a, requires_grad=True) for a in arrays]
    xs_t = [torch.tensor(a, requires_grad=True) for a in arrays]
    out_g, w_g = ours(*xs_g, **_masks(gpugrad, MASK_CASES[case]), average_attn_weights=average)
    out_t, w_t = theirs(*xs_t, **_masks(torch, MASK_CASES[case]), average_attn_weights=average)
    np.testing.assert_allclose(out_g.detach().numpy(), out_t.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(w_g.detach().numpy(), w_t.detach().numpy(), atol=1e-12)
    (out_g.pow(2).sum() + w_g.sum()).backward()
    (out_t.pow(2).sum() + w_t.sum()).backward()
    for a, b in zip(xs_g, xs_t):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=1e-11)
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), atol=1e-11, err_msg=name)


def test_unbatched_self_attention_without_weights():
    ours, theirs = _pair(bias=False)
    x = np.random.default_rng(2).standard_normal((L, E))
    out_g, w_g = ours(*(gpugrad.tensor(x),) * 3, need_weights=False)
    out_t, _ = theirs(*(torch.tensor(x),) * 3, need_weights=False)
    assert w_g is None and out_g.shape == (L, E)
    np.testing.assert_allclose(out_g.detach().numpy(), out_t.detach().numpy(), atol=1e-12)


def test_causal_hint_and_errors():
    ours, theirs = _pair()
    q, k, v = (gpugrad.tensor(a) for a in _inputs((L, N, E), (L, N, E)))
    causal = gpugrad.triu(gpugrad.ones(L, L, dtype=gpugrad.bool), diagonal=1)
    out, _ = ours(q, k, v, attn_mask=causal, is_causal=True)
    expected, _ = theirs(*(torch.tensor(t.numpy()) for t in (q, k, v)),
                         attn_mask=torch.tensor(causal.numpy()), is_causal=True)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), atol=1e-12)
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        ours(q, k, v, is_causal=True)
    with pytest.raises(RuntimeError, match="2D attn_mask"):
        ours(q, k, v, attn_mask=gpugrad.zeros(2, 2))
    with pytest.raises(AssertionError, match="divisible by num_heads"):
        gpugrad.nn.MultiheadAttention(8, 3)
    assert gpugrad.nn.MultiheadAttention(8, 2, kdim=4).in_proj_weight is None
    assert gpugrad.nn.MultiheadAttention(8, 2).q_proj_weight is None


def test_dropout_only_in_training():
    ours, _ = _pair(dropout=0.5)
    q = gpugrad.tensor(_inputs((L, N, E), (L, N, E))[0])
    ours.eval()
    first, _ = ours(q, q, q)
    np.testing.assert_array_equal(ours(q, q, q)[0].detach().numpy(), first.detach().numpy())
    ours.train()
    assert not np.allclose(ours(q, q, q)[0].detach().numpy(), first.detach().numpy())


def test_a_query_masked_from_every_key_attends_to_nothing_without_weights():
    """PyTorch's path without weights (``scaled_dot_product_attention``) gives zeros for a
    fully masked query, and no NaN gradient; with the weights, NaN as PyTorch."""
    ours, theirs = _pair(batch_first=True)
    x = np.random.default_rng(3).standard_normal((2, S, E))
    padding = np.array([[False] * S, [True] * S])  # the second sequence is all padding
    results = []
    for lib, module in ((gpugrad, ours), (torch, theirs)):
        t = lib.tensor(x, requires_grad=True)
        out, _ = module(t, t, t, key_padding_mask=lib.tensor(padding), need_weights=False)
        out.pow(2).sum().backward()
        with_weights, _ = module(t, t, t, key_padding_mask=lib.tensor(padding))
        results.append((out.detach().numpy(), t.grad.numpy(),
                        np.isnan(with_weights.detach().numpy()[1]).all()))
    (out_g, grad_g, nan_g), (out_t, grad_t, nan_t) = results
    assert not np.isnan(out_g).any() and not np.isnan(grad_g).any()
    np.testing.assert_allclose(out_g, out_t, atol=1e-12)
    np.testing.assert_allclose(grad_g, grad_t, atol=1e-11)
    assert nan_g and nan_t

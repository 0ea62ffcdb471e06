"""``F.scaled_dot_product_attention`` against PyTorch (masks, causal, scale, broadcasting),
float64 gradcheck and gradgradcheck, dropout, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

SDPA = gpugrad.nn.functional.scaled_dot_product_attention
rng = np.random.default_rng(0)
MASKS = {
    "none": {}, "causal": {"is_causal": True}, "scale": {"scale": 0.3},
    "bool mask": {"attn_mask": rng.standard_normal((4, 5)) > -0.5},
    "float mask": {"attn_mask": rng.standard_normal((3, 4, 5))},
    # a query that may attend to nothing (a row all False / all -inf): zeros, no NaN
    "bool mask, a row masked out": {"attn_mask": np.array([[True] * 5, [False] * 5,
                                                           [True, False] * 2 + [True],
                                                           [False] * 4 + [True]])},
    "float mask, a row masked out": {"attn_mask": np.where(
        np.arange(4)[:, None] == 2, -np.inf, rng.standard_normal((3, 4, 5)))},
}


def _to(lib, kw, dtype):
    return {k: (lib.tensor(v if v.dtype == bool else v.astype(dtype))
                if isinstance(v, np.ndarray) else v) for k, v in kw.items()}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", list(MASKS))
def test_matches_torch(case, dtype):
    shapes = [(2, 3, 4, 8), (2, 3, 5, 8), (3, 5, 6)]  # value broadcasts over the batch dim
    arrays = [np.random.default_rng(1).standard_normal(s).astype(dtype) for s in shapes]
    ours = [gpugrad.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out_g = SDPA(*ours, **_to(gpugrad, MASKS[case], dtype))
    out_t = torch.nn.functional.scaled_dot_product_attention(*theirs,
                                                            **_to(torch, MASKS[case], dtype))
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out_g.detach().numpy(), out_t.detach().numpy(), rtol=tol,
                               atol=tol)
    (out_g * out_g).sum().backward()
    (out_t * out_t).sum().backward()
    for g, t in zip(ours, theirs):
        np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("case", ["none", "causal", "float mask",
                                  "bool mask, a row masked out"])
def test_gradcheck_and_gradgradcheck(case):
    gen = np.random.default_rng(2)
    q, k, v = (gpugrad.tensor(gen.standard_normal(s), requires_grad=True)
               for s in [(3, 4, 8), (3, 5, 8), (3, 5, 2)])
    kw = _to(gpugrad, MASKS[case], np.float64)

    def fn(q, k, v):
        return SDPA(q, k, v, **kw)

    assert gpugrad.autograd.gradcheck(fn, (q, k, v))
    assert gpugrad.autograd.gradgradcheck(fn, (q, k, v))


def test_dropout_is_reproducible_and_changes_the_weights():
    q, k, v = (gpugrad.randn(2, 4, 8) for _ in range(3))
    gpugrad.manual_seed(3)
    first = SDPA(q, k, v, dropout_p=0.5)
    gpugrad.manual_seed(3)
    np.testing.assert_array_equal(SDPA(q, k, v, dropout_p=0.5).numpy(), first.numpy())
    assert not np.allclose(first.numpy(), SDPA(q, k, v).numpy())


def test_errors():
    q, k = gpugrad.randn(2, 4, 8), gpugrad.randn(2, 5, 8)
    with pytest.raises(RuntimeError, match="should not be set when is_causal"):
        SDPA(q, k, k, attn_mask=gpugrad.ones(4, 5, dtype=gpugrad.bool), is_causal=True)
    with pytest.raises(RuntimeError, match="does not match key"):
        SDPA(q, gpugrad.randn(2, 5, 7), k)
    with pytest.raises(IndexError, match="Dimension out of range"):
        SDPA(q[0], k[0], k[0], enable_gqa=True)  # no heads dim to group

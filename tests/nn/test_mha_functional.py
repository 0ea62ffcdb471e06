"""``F.multi_head_attention_forward`` against PyTorch's on the same weights: packed and separate
projections, bias_k/bias_v, add_zero_attn, static_k/static_v, batched and unbatched inputs,
bool and float masks (2-D, 3-D, key padding), per-head and averaged weights, the causal hint;
values and gradients in float64 and float32; argument checks and their messages."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

L, S, N, E, H = 4, 5, 3, 8, 2
KDIM, VDIM = 6, 3


def _arrays(seed=0, batched=True, kdim=E, vdim=E):
    """Inputs and weights, as NumPy arrays (float64)."""
    rng = np.random.default_rng(seed)

    def draw(*shape):
        return rng.standard_normal(shape) * 0.5

    batch = (N,) if batched else ()
    return {
        "query": draw(L, *batch, E), "key": draw(S, *batch, kdim), "value": draw(S, *batch, vdim),
        "in_proj_weight": draw(3 * E, E), "in_proj_bias": draw(3 * E),
        "q_proj_weight": draw(E, E), "k_proj_weight": draw(E, kdim),
        "v_proj_weight": draw(E, vdim), "bias_k": draw(1, 1, E), "bias_v": draw(1, 1, E),
        "out_proj_weight": draw(E, E), "out_proj_bias": draw(E),
        "static_k": draw(N * H if batched else H, S + 1, E // H),
        "static_v": draw(N * H if batched else H, S + 1, E // H),
    }


def _call(lib, arrays, names, dtype, masks=None, **kw):
    """Runs ``lib``'s function on tensors of ``arrays`` (those in ``names`` requiring grad;
    the rest of the arrays passed only where ``kw`` names them). Returns the tensors too."""
    tensors = {k: lib.tensor(v, dtype=dtype, requires_grad=k in names) for k, v in arrays.items()}
    separate = kw.get("use_separate_proj_weight", False)
    args = {k: tensors[k] if kw.pop(k, False) else None
            for k in ("bias_k", "bias_v", "static_k", "static_v")}
    masks = {k: lib.tensor(v, dtype=dtype) if v.dtype.kind == "f" else lib.tensor(v)
             for k, v in (masks or {}).items()}
    out = lib.nn.functional.multi_head_attention_forward(
        tensors["query"], tensors["key"], tensors["value"], E, H,
        None if separate else tensors["in_proj_weight"], tensors["in_proj_bias"],
        args["bias_k"], args["bias_v"], kw.pop("add_zero_attn", False), 0.0,
        tensors["out_proj_weight"], tensors["out_proj_bias"],
        q_proj_weight=tensors["q_proj_weight"] if separate else None,
        k_proj_weight=tensors["k_proj_weight"] if separate else None,
        v_proj_weight=tensors["v_proj_weight"] if separate else None,
        static_k=args["static_k"], static_v=args["static_v"], **masks, **kw)
    return out, tensors


rng = np.random.default_rng(1)
MASKS = {
    "none": {},
    "bool 2D": {"attn_mask": rng.standard_normal((L, S)) > 0.7},
    "float 2D": {"attn_mask": rng.standard_normal((L, S))},
    "bool 3D": {"attn_mask": rng.standard_normal((N * H, L, S)) > 0.7},
    "float 3D": {"attn_mask": rng.standard_normal((N * H, L, S))},
    "bool padding": {"key_padding_mask": np.array([[False] * S, [False] * 3 + [True] * 2,
                                                   [True] + [False] * (S - 1)])},
    "float padding": {"key_padding_mask": rng.standard_normal((N, S))},
    "both": {"attn_mask": np.triu(np.ones((L, S), bool), 1),
             "key_padding_mask": np.array([[False] * 4 + [True]] * N)},
}
CONFIGS = {
    "packed": {},
    "separate": {"use_separate_proj_weight": True},
    "bias kv": {"bias_k": True, "bias_v": True},
    "zero attn": {"add_zero_attn": True},
    "bias kv, zero attn, separate": {"bias_k": True, "bias_v": True, "add_zero_attn": True,
                                     "use_separate_proj_weight": True},
}
WEIGHTS = ["query", "key", "value", "in_proj_weight", "in_proj_bias", "q_proj_weight",
           "k_proj_weight", "v_proj_weight", "bias_k", "bias_v", "out_proj_weight",
           "out_proj_bias", "static_k", "static_v"]
TOLERANCES = {"float64": (1e-11, 1e-11), "float32": (2e-5, 2e-5)}


def _compare(arrays, dtype, masks=None, **kw):
    """Outputs, weights and every gradient of gpugrad's call against torch's."""
    (out_g, w_g), ts_g = _call(gpugrad, arrays, WEIGHTS, getattr(gpugrad, dtype), masks,
                               **dict(kw))
    (out_t, w_t), ts_t = _call(torch, arrays, WEIGHTS, getattr(torch, dtype), masks, **dict(kw))
    atol, rtol = TOLERANCES[dtype]
    np.testing.assert_allclose(out_g.detach().numpy(), out_t.detach().numpy(), atol=atol,
                               rtol=rtol)
    assert (w_g is None) == (w_t is None)
    loss_g, loss_t = out_g.pow(2).sum(), out_t.pow(2).sum()
    if w_t is not None:
        np.testing.assert_allclose(w_g.detach().numpy(), w_t.detach().numpy(), atol=atol,
                                   rtol=rtol)
        weights = np.random.default_rng(5).standard_normal(tuple(w_t.shape))
        loss_g = loss_g + (w_g * gpugrad.tensor(weights, dtype=w_g.dtype)).sum()
        loss_t = loss_t + (w_t * torch.tensor(weights, dtype=w_t.dtype)).sum()
    loss_g.backward()
    loss_t.backward()
    for name in WEIGHTS:
        grad_g, grad_t = ts_g[name].grad, ts_t[name].grad
        assert (grad_g is None) == (grad_t is None), name
        if grad_t is not None:
            np.testing.assert_allclose(grad_g.numpy(), grad_t.numpy(), atol=atol * 10,
                                       rtol=rtol * 10, err_msg=name)
    return out_g, w_g


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("case", list(MASKS))
def test_matches_torch(case, config, dtype):
    kdim, vdim = ((KDIM, VDIM) if CONFIGS[config].get("use_separate_proj_weight") else (E, E))
    arrays = _arrays(kdim=kdim, vdim=vdim)
    for need_weights, average in ((True, True), (True, False), (False, True)):
        _compare(arrays, dtype, MASKS[case], need_weights=need_weights,
                 average_attn_weights=average, **CONFIGS[config])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("zero_attn", [False, True])
@pytest.mark.parametrize("case", ["none", "bool 2D", "bool padding"])
def test_static_keys_and_values(case, zero_attn, dtype):
    """``static_k``/``static_v`` replace the projected keys and values: the key's projection
    gets no gradient, and the masks are over the static keys."""
    arrays, masks = _arrays(), dict(MASKS[case])
    if "key_padding_mask" in masks:  # over the S + 1 static keys
        masks["key_padding_mask"] = np.pad(masks["key_padding_mask"], [(0, 0), (0, 1)])
    if "attn_mask" in masks:  # PyTorch checks a 2-D attn_mask against the key's length
        for name in ("static_k", "static_v"):
            arrays[name] = arrays[name][:, :S]
    kw = {"static_k": True, "static_v": True, "add_zero_attn": zero_attn}
    _compare(arrays, dtype, masks, **kw)
    _compare(arrays, dtype, masks, need_weights=False, **kw)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", ["none", "bool 2D", "float 3D"])
def test_unbatched(case, dtype):
    masks = dict(MASKS[case])
    if "attn_mask" in masks and masks["attn_mask"].ndim == 3:
        masks["attn_mask"] = masks["attn_mask"][:H]
    arrays = _arrays(batched=False)
    for need_weights, average in ((True, True), (True, False), (False, True)):
        out, weights = _compare(arrays, dtype, masks, need_weights=need_weights,
                                average_attn_weights=average)
        assert out.shape == (L, E)
    _compare(arrays, dtype, {"key_padding_mask": np.array([False] * 3 + [True] * 2)})


def test_causal_hint():
    """With ``is_causal`` and neither padding nor weights, PyTorch attends causally whatever
    ``attn_mask`` says; otherwise the mask is used."""
    arrays = _arrays()
    not_causal = {"attn_mask": np.random.default_rng(3).standard_normal((L, S)) > 0.5}
    for kw in ({"need_weights": False}, {"need_weights": True},
               {"need_weights": False, "bias_k": True, "bias_v": True, "add_zero_attn": True}):
        _compare(arrays, "float64", not_causal, is_causal=True, **kw)
    padding = {**not_causal, "key_padding_mask": MASKS["bool padding"]["key_padding_mask"]}
    _compare(arrays, "float64", padding, is_causal=True, need_weights=False)


def test_a_query_masked_from_every_key():
    """Without weights a fully masked query attends to nothing (zeros, as PyTorch's scaled
    dot-product attention); with them, the weights are NaN as PyTorch's."""
    padding = {"key_padding_mask": np.array([[False] * S, [True] * S, [False] * S])}
    out, _ = _compare(_arrays(), "float64", padding, need_weights=False)
    assert not np.isnan(out.detach().numpy()).any()
    (_, weights), _ = _call(gpugrad, _arrays(), [], gpugrad.float64, padding)
    assert np.isnan(weights.numpy()[1]).all() and not np.isnan(weights.numpy()[0]).any()


def test_dropout_only_in_training():
    arrays = _arrays()
    ts = {k: gpugrad.tensor(v) for k, v in arrays.items()}
    F = gpugrad.nn.functional

    def run(training):
        return F.multi_head_attention_forward(
            ts["query"], ts["key"], ts["value"], E, H, ts["in_proj_weight"], None, None, None,
            False, 0.5, ts["out_proj_weight"], None, training=training)

    gpugrad.manual_seed(0)
    first, second = run(True), run(True)
    assert not np.allclose(first[0].numpy(), second[0].numpy())
    np.testing.assert_array_equal(run(False)[1].numpy(), run(False)[1].numpy())
    assert not np.allclose(run(False)[1].numpy(), first[1].numpy())


def _error_cases():
    """(what to change in the call, its expected exception) pairs."""
    a = _arrays()
    return {
        "4-D query": ({"query": a["query"][None]}, AssertionError),
        "2-D key": ({"key": a["key"][:, 0]}, AssertionError),
        "1-D padding, batched": ({"masks": {"key_padding_mask": np.zeros(S, bool)}},
                                 AssertionError),
        "2-D padding, unbatched": ({"query": a["query"][:, 0], "key": a["key"][:, 0],
                                    "value": a["value"][:, 0],
                                    "masks": {"key_padding_mask": np.zeros((1, S), bool)}},
                                   AssertionError),
        "1-D attn_mask": ({"masks": {"attn_mask": np.zeros(S, bool)}}, AssertionError),
        "3-D attn_mask, unbatched": ({"query": a["query"][:, 0], "key": a["key"][:, 0],
                                      "value": a["value"][:, 0],
                                      "masks": {"attn_mask": np.zeros((N * H, L, S), bool)}},
                                     AssertionError),
        "int mask": ({"masks": {"attn_mask": np.zeros((L, S), np.int64)}}, AssertionError),
        "causal without mask": ({"is_causal": True}, RuntimeError),
        "embedding": ({"query": a["query"][..., :6], "key": a["key"][..., :6],
                       "value": a["value"][..., :6]}, AssertionError),
        "key and value": ({"value": a["value"][:4]}, AssertionError),
        "separate key and value": ({"value": a["value"][:4], "use_separate_proj_weight": True},
                                   AssertionError),
        "separate weight shape": ({"key": a["key"][..., :6], "value": a["value"][..., :6],
                                   "use_separate_proj_weight": True}, AssertionError),
        "2-D attn_mask shape": ({"masks": {"attn_mask": np.zeros((L, L), bool)}}, RuntimeError),
        "3-D attn_mask shape": ({"masks": {"attn_mask": np.zeros((H, L, S), bool)}},
                                RuntimeError),
        "padding shape": ({"masks": {"key_padding_mask": np.zeros((N, L), bool)}},
                          AssertionError),
        "padding batch": ({"masks": {"key_padding_mask": np.zeros((2, S), bool)}},
                          AssertionError),
        "bias_k without bias_v": ({"bias_k": True}, AssertionError),
        "bias_v without bias_k": ({"bias_v": True}, AssertionError),
        "bias and static key": ({"bias_k": True, "bias_v": True, "static_k": True},
                                AssertionError),
        "bias and static value": ({"bias_k": True, "bias_v": True, "static_v": True},
                                  AssertionError),
        "static key heads": ({"static_k": True, "static_k_array": a["static_k"][:2]},
                             AssertionError),
        "static value size": ({"static_v": True, "static_v_array": a["static_v"][..., :2]},
                              AssertionError),
    }


@pytest.mark.parametrize("case", list(_error_cases()))
def test_errors_as_torch(case):
    change, error = _error_cases()[case]
    change = dict(change)
    messages = []
    for lib, dtype in ((gpugrad, gpugrad.float64), (torch, torch.float64)):
        arrays = _arrays()
        for name in ("query", "key", "value"):
            arrays[name] = change.get(name, arrays[name])
        for name in ("static_k", "static_v"):
            arrays[name] = change.get(name + "_array", arrays[name])
        kw = {k: v for k, v in change.items()
              if k not in ("query", "key", "value") and not k.endswith("_array")}
        masks = kw.pop("masks", None)
        with pytest.raises(error) as info:
            _call(lib, arrays, [], dtype, masks, **kw)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_mismatched_mask_dtypes_warn_as_torch():
    masks = {"attn_mask": np.zeros((L, S), bool), "key_padding_mask": np.zeros((N, S))}
    with pytest.warns(UserWarning, match="mismatched key_padding_mask and attn_mask"):
        _call(gpugrad, _arrays(), [], gpugrad.float64, masks)

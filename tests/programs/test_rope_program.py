"""The LLaMA-style decoder with complex rotary embeddings (rope_complex.py), run with gpugrad
and with PyTorch: both train, gpugrad's losses land in a band around PyTorch's (the random
streams differ); from the same weights and batches the two train to the same losses, and one
batch's gradients agree to rounding. The rotary op itself (``torch.polar``,
``view_as_complex``, complex multiplication, ``view_as_real``) is checked against PyTorch and
a NumPy reference, forward and backward, and by float64 finite differences."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

from ._compare import assert_trains_like_torch, both, load

ROPE = load("rope_complex")
LIBS = pytest.mark.parametrize("lib", [gpugrad, torch], ids=["gpugrad", "torch"])


def test_rope_complex_decoder_trains_like_torch():
    ours, theirs = both(lambda m: ROPE.main(m, steps=100))
    assert_trains_like_torch(ours, theirs, shrink=0.6)
    text = ROPE.corpus()
    for result in (ours, theirs):
        # wq and wk get their gradients only through the complex rotation
        assert result["grads_set"], result
        # the cache path rotates one token at position start_pos > 0
        assert result["cache_error"] < 1e-5, result
        assert len(result["sample"]) == 18 and result["sample"].startswith(text[:6])
        assert set(result["sample"]) <= set(text)


def _same_start_state(dtype):
    """gpugrad's freshly initialized weights, and the same as PyTorch tensors (via NumPy)."""
    gpugrad.manual_seed(0)
    state = ROPE.make_model(gpugrad, dtype).state_dict()
    return state, {k: torch.from_numpy(v.detach().numpy().copy()) for k, v in state.items()}


@pytest.mark.parametrize("dtype, rel", [("float64", 1e-9), ("float32", 1e-4)])
def test_same_start_trains_as_torch(dtype, rel):
    """From gpugrad's initial weights copied into PyTorch's model, with the same batches, 40
    AdamW steps give the same loss at every step (PyTorch's own float32 and float64 runs
    differ by under 1e-6)."""
    ours_state, theirs_state = _same_start_state(dtype)
    ours = ROPE.main(gpugrad, steps=40, dtype=dtype, initial_state=ours_state)
    theirs = ROPE.main(torch, steps=40, dtype=dtype, initial_state=theirs_state)
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=rel)
    assert ours["sample"] == theirs["sample"]
    assert ours["cache_error"] < 1e-5 and theirs["cache_error"] < 1e-5


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-10), ("float32", 2e-5)])
def test_one_gradient_matches_torch(dtype, rtol):
    """Same weights, same batch: the loss and every parameter's ``.grad`` agree."""
    ours_state, theirs_state = _same_start_state(dtype)
    ours_loss, ours = ROPE.loss_and_grads(gpugrad, ROPE.make_model(gpugrad, dtype, ours_state))
    theirs_loss, theirs = ROPE.loss_and_grads(torch, ROPE.make_model(torch, dtype,
                                                                     theirs_state))
    assert ours_loss == pytest.approx(theirs_loss, rel=rtol)
    assert ours.keys() == theirs.keys()
    for name in theirs:
        assert str(ours[name].dtype)[-7:] == str(theirs[name].dtype)[-7:] == dtype, name
        expected = theirs[name].numpy()
        np.testing.assert_allclose(ours[name].numpy(), expected, rtol=rtol,
                                   atol=rtol * np.abs(expected).max(), err_msg=name)


SHAPE = (2, 5, 3, 8)  # bsz, seqlen, heads, head_dim


def _arrays(dtype, seed=3):
    rng = np.random.default_rng(seed)
    return {k: rng.standard_normal(SHAPE).astype(dtype) for k in ("xq", "xk", "gq", "gk")}


def _reference(x, angles):
    """NumPy: pairs of ``x``'s last axis rotated by ``angles`` (seqlen, head_dim // 2)."""
    z = x[..., 0::2] + 1j * x[..., 1::2]
    z = z * np.exp(1j * angles)[None, :, None, :]
    return np.stack([z.real, z.imag], axis=-1).reshape(x.shape)


def _angles(start_pos, seqlen, head_dim, theta=10000.0):
    freqs = theta ** (-np.arange(0, head_dim, 2) / head_dim)
    return np.outer(np.arange(start_pos, start_pos + seqlen), freqs)


def _run_rotary(lib, arrays, dtype, start_pos):
    """apply_rotary_emb's outputs and the gradients of sum(out_q * gq + out_k * gk) w.r.t.
    xq and xk, as NumPy arrays, with the output and rotation dtypes."""
    xq = lib.from_numpy(arrays["xq"].copy()).requires_grad_()
    xk = lib.from_numpy(arrays["xk"].copy()).requires_grad_()
    _, seqlen, _, head_dim = SHAPE
    table = ROPE.precompute_freqs_cis(lib, head_dim, 16, dtype=dtype)
    freqs_cis = table[start_pos: start_pos + seqlen]
    out_q, out_k = ROPE.apply_rotary_emb(lib, xq, xk, freqs_cis)
    ((out_q * lib.from_numpy(arrays["gq"])).sum()
     + (out_k * lib.from_numpy(arrays["gk"])).sum()).backward()
    assert xq.grad is not None and xk.grad is not None
    return {"out_q": out_q.detach().numpy(), "out_k": out_k.detach().numpy(),
            "grad_q": xq.grad.numpy(), "grad_k": xk.grad.numpy(),
            "table": lib.view_as_real(table).numpy(),
            "dtypes": (str(out_q.dtype), str(xq.grad.dtype), str(table.dtype))}


@pytest.mark.parametrize("start_pos", [0, 7])
@pytest.mark.parametrize("dtype, tol", [("float64", 1e-12), ("float32", 2e-6)])
def test_apply_rotary_emb_matches_torch(dtype, tol, start_pos):
    """Forward and backward of ``apply_rotary_emb`` (also at a later position, as the cache
    uses it) agree with PyTorch's, and both with NumPy's complex arithmetic: the outputs are
    the pairs rotated by ``m * theta_j``, and the gradient flows back through
    ``view_as_real``, the complex product and ``view_as_complex`` as the upstream gradient
    rotated back by the same angles."""
    arrays = _arrays(dtype)
    ours, theirs = (_run_rotary(lib, arrays, dtype, start_pos) for lib in (gpugrad, torch))
    complex_name = {"float32": "complex64", "float64": "complex128"}[dtype]
    for result in (ours, theirs):
        out_dtype, grad_dtype, table_dtype = result["dtypes"]
        assert out_dtype.endswith(dtype) and grad_dtype.endswith(dtype)
        assert table_dtype.endswith(complex_name)
    for key in ("table", "out_q", "out_k", "grad_q", "grad_k"):
        np.testing.assert_allclose(ours[key], theirs[key], rtol=tol, atol=tol, err_msg=key)

    # NumPy in float64; PyTorch's float32 angles are rounded (positions up to 12 rad)
    _, seqlen, _, head_dim = SHAPE
    angles = _angles(start_pos, seqlen, head_dim)
    loose = 1e-12 if dtype == "float64" else 1e-5
    table = _angles(0, 16, head_dim)
    np.testing.assert_allclose(ours["table"], np.stack([np.cos(table), np.sin(table)], -1),
                               atol=loose)
    for x, g, name in (("xq", "gq", "q"), ("xk", "gk", "k")):
        x, g = arrays[x].astype(np.float64), arrays[g].astype(np.float64)
        np.testing.assert_allclose(ours["out_" + name], _reference(x, angles), atol=loose)
        np.testing.assert_allclose(ours["grad_" + name], _reference(g, -angles), atol=loose)


@LIBS
def test_rotary_scores_depend_on_relative_position(lib):
    """The point of rotary embeddings: the same query and key vectors at positions m and n
    score ``q . k`` as a function of ``m - n`` only, and rotation keeps each vector's norm."""
    rng = np.random.default_rng(5)
    seqlen, head_dim = 9, 8
    q = np.broadcast_to(rng.standard_normal(head_dim), (1, seqlen, 1, head_dim)).copy()
    k = np.broadcast_to(rng.standard_normal(head_dim), (1, seqlen, 1, head_dim)).copy()
    freqs_cis = ROPE.precompute_freqs_cis(lib, head_dim, seqlen, dtype="float64")
    rq, rk = ROPE.apply_rotary_emb(lib, lib.from_numpy(q), lib.from_numpy(k), freqs_cis)
    rq, rk = rq.numpy()[0, :, 0], rk.numpy()[0, :, 0]
    np.testing.assert_allclose(np.linalg.norm(rq, axis=-1), np.linalg.norm(q[0, :, 0], axis=-1))
    scores = rq @ rk.T
    for offset in range(-seqlen + 1, seqlen):
        diagonal = np.diagonal(scores, offset)
        np.testing.assert_allclose(diagonal, diagonal[0], rtol=1e-10, atol=1e-10)
    assert abs(scores[0, 0] - scores[0, 1]) > 1e-3  # a different offset scores differently


@LIBS
def test_rotation_gradcheck(lib):
    """Float64 central differences of real-in, real-out functions through the complex view:
    x -> view_as_real(view_as_complex(x) * c).flatten(-2), and apply_rotary_emb on (xq, xk)."""
    rng = np.random.default_rng(11)
    seqlen, head_dim = 3, 4
    freqs_cis = ROPE.precompute_freqs_cis(lib, head_dim, 8, dtype="float64")[2: 2 + seqlen]
    pairs = lib.from_numpy(rng.standard_normal((2, seqlen, 2, head_dim // 2, 2)))
    pairs.requires_grad_()
    rotations = freqs_cis.view(1, seqlen, 1, head_dim // 2)
    assert lib.autograd.gradcheck(lambda x: ROPE.rotate_pairs(lib, x, rotations), (pairs,))

    xq, xk = (lib.from_numpy(rng.standard_normal((2, seqlen, 2, head_dim))).requires_grad_()
              for _ in range(2))
    assert lib.autograd.gradcheck(lambda q, k: ROPE.apply_rotary_emb(lib, q, k, freqs_cis),
                                  (xq, xk))

"""``linear_cross_entropy`` / ``LinearCrossEntropyLoss``: the chunked fused path against PyTorch's
``cross_entropy(linear(...))`` (values and gradients), its options, errors and memory."""

from __future__ import annotations

import tracemalloc
import warnings

import numpy as np
import pytest
import torch

import gpugrad
from gpugrad.nn import LinearCrossEntropyOptions

F = gpugrad.nn.functional
TF = torch.nn.functional
N, H, C = 29, 12, 37
TORCH_HAS_IT = hasattr(TF, "linear_cross_entropy")


def _inputs(rng, dtype="float64", bias=True, probs=False, n=N, ignored=(3, 11)):
    h = rng.standard_normal((n, H))
    w = rng.standard_normal((C, H)) * 0.4
    b = rng.standard_normal(C) if bias else None
    if probs:
        target = rng.dirichlet(np.ones(C), n)
    else:
        target = rng.integers(0, C, n)
        target[[i for i in ignored if i < n]] = -100
    return [None if a is None else a.astype(dtype) if a.dtype.kind == "f" else a
            for a in (h, w, b, target)]


def _run(m, arrays, class_weight=None, grad_output=None, **kw):
    """Loss and gradients of (h, w, b) through ``m`` (gpugrad: linear_cross_entropy; torch:
    the reference ``cross_entropy(linear(...))``)."""
    h, w, b, target = (None if a is None else m.tensor(a) for a in arrays)
    for t in (h, w, b):
        if t is not None:
            t.requires_grad_()
    weight = None if class_weight is None else m.tensor(class_weight)
    if m is gpugrad:
        loss = F.linear_cross_entropy(h, w, target, linear_bias=b, weight=weight, **kw)
    else:
        kw.pop("options", None)
        kw.setdefault("ignore_index", -100)
        if kw["ignore_index"] is None:
            kw["ignore_index"] = -100
        loss = TF.cross_entropy(TF.linear(h, w, b), target, weight=weight, **kw)
    up = m.ones(()) if loss.ndim == 0 else m.tensor(grad_output)
    loss.backward(up.to(loss.dtype))
    return [loss] + [None if t is None else t.grad for t in (h, w, b)]


def _assert_close(g_out, t_out, rtol=1e-9, atol=1e-11):
    for g, t in zip(g_out, t_out):
        if t is None:
            assert g is None
            continue
        assert g.dtype.name == str(t.dtype).removeprefix("torch.")
        assert tuple(g.shape) == tuple(t.shape)
        np.testing.assert_allclose(_host(g), _host(t), rtol=rtol, atol=atol)


def _host(x):
    x = x.detach()
    return (x.float() if x.dtype.itemsize == 2 else x).numpy()


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("chunk", [1, 7, N, 1000])
def test_chunked_matches_torch_reference(reduction, chunk):
    rng = np.random.default_rng(chunk)
    arrays = _inputs(rng)
    up = rng.standard_normal(N)
    opts = LinearCrossEntropyOptions(batch_chunk_size=chunk)
    g = _run(gpugrad, arrays, reduction=reduction, options=opts, grad_output=up)
    t = _run(torch, arrays, reduction=reduction, grad_output=up)
    _assert_close(g, t)


@pytest.mark.parametrize("case", ["weight", "smoothing", "weight+smoothing", "probs",
                                  "probs+weight+smoothing", "no_bias", "ignore_index=2"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_options_of_cross_entropy(case, reduction):
    rng = np.random.default_rng(len(case))
    probs = case.startswith("probs")
    arrays = _inputs(rng, bias=case != "no_bias", probs=probs)
    kw = {"reduction": reduction}
    if "weight" in case:
        kw["class_weight"] = rng.uniform(0.2, 2.0, C)
    if "smoothing" in case:
        kw["label_smoothing"] = 0.15
    if case == "ignore_index=2":
        arrays[3][arrays[3] == -100] = 2
        kw["ignore_index"] = 2
    up = rng.standard_normal(N)
    g = _run(gpugrad, arrays, options=LinearCrossEntropyOptions(batch_chunk_size=6),
             grad_output=up, **kw)
    t = _run(torch, arrays, grad_output=up, **kw)
    _assert_close(g, t)


def test_float32_default_options_and_fully_ignored_batch():
    rng = np.random.default_rng(0)
    arrays = _inputs(rng, "float32", n=300)
    _assert_close(_run(gpugrad, arrays, options=LinearCrossEntropyOptions()),
                  _run(torch, arrays), rtol=2e-5, atol=1e-6)
    arrays[3][:] = -100  # nothing counts: the mean is nan, the gradients 0 (PyTorch's)
    g = _run(gpugrad, arrays, options=LinearCrossEntropyOptions(batch_chunk_size=64))
    t = _run(torch, arrays)
    assert np.isnan(g[0].item()) and np.isnan(t[0].item())
    _assert_close(g[1:], t[1:])


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("policy", ["accurate", "balanced", "compact", "auto"])
def test_half_precision_with_float32_accumulation(dtype, policy):
    """Inputs rounded to the half dtype once; PyTorch's reference in float32 on the same values:
    within the half dtype's rounding, gradients in the inputs' dtype."""
    rng = np.random.default_rng(1)
    arrays = _inputs(rng, "float32", n=64)
    half = [None if a is None or a.dtype.kind != "f" else
            torch.tensor(a).to(getattr(torch, dtype)).float().numpy() for a in arrays]
    half[3] = arrays[3]
    g_args = [None if a is None else gpugrad.tensor(a) for a in half]
    g_args = [t.to(getattr(gpugrad, dtype)) if t is not None and t.is_floating_point() else t
              for t in g_args]
    for t in g_args[:3]:
        t.requires_grad_()
    opts = LinearCrossEntropyOptions(batch_chunk_size=16, acc_policy=policy)
    loss = F.linear_cross_entropy(g_args[0], g_args[1], g_args[3], linear_bias=g_args[2],
                                  label_smoothing=0.1, options=opts)
    loss.backward()
    t = _run(torch, half, label_smoothing=0.1)
    assert loss.dtype.name == dtype
    for got, want in zip([loss] + [a.grad for a in g_args[:3]], t):
        assert got.dtype.name == dtype
        np.testing.assert_allclose(got.detach().float().numpy(), want.detach().numpy(),
                                   rtol=2e-2, atol=2e-3)


def test_weight_tying_accumulates_with_the_embedding():
    rng = np.random.default_rng(2)
    tokens = rng.integers(0, C, N)
    target = rng.integers(0, C, N)
    w = rng.standard_normal((C, H)) * 0.3
    grads = {}
    for m in (gpugrad, torch):
        weight = m.tensor(w, requires_grad=True)
        hidden = m.nn.functional.embedding(m.tensor(tokens), weight).tanh()
        if m is gpugrad:
            loss = F.linear_cross_entropy(hidden, weight, m.tensor(target),
                                          options=LinearCrossEntropyOptions(batch_chunk_size=5))
        else:
            loss = TF.cross_entropy(TF.linear(hidden, weight), m.tensor(target))
        loss.backward()
        grads[m.__name__] = (loss.item(), weight.grad.numpy())
    assert grads["gpugrad"][0] == pytest.approx(grads["torch"][0], rel=1e-12)
    np.testing.assert_allclose(grads["gpugrad"][1], grads["torch"][1], rtol=1e-9, atol=1e-12)


def test_retained_graph_recomputes_and_create_graph_is_refused():
    rng = np.random.default_rng(3)
    arrays = _inputs(rng)
    h, w, b = (gpugrad.tensor(a, requires_grad=True) for a in arrays[:3])
    loss = F.linear_cross_entropy(h, w, gpugrad.tensor(arrays[3]), linear_bias=b,
                                  options=LinearCrossEntropyOptions(batch_chunk_size=4))
    loss.backward(retain_graph=True)
    first = [t.grad.numpy().copy() for t in (h, w, b)]
    loss.backward(gpugrad.tensor(0.5, dtype=gpugrad.float64))
    for t, g in zip((h, w, b), first):
        np.testing.assert_allclose(t.grad.numpy(), 1.5 * g, rtol=1e-12)
    loss = F.linear_cross_entropy(h, w, gpugrad.tensor(arrays[3]),
                                  options=LinearCrossEntropyOptions())
    with pytest.raises(RuntimeError, match="create_graph"):
        gpugrad.autograd.grad(loss, h, create_graph=True)


def test_unbatched_input_and_no_grad():
    rng = np.random.default_rng(4)
    h, w, b, _ = _inputs(rng)
    opts = LinearCrossEntropyOptions()
    for target in (np.array(5), rng.dirichlet(np.ones(C))):
        for reduction in ("mean", "none"):
            g = F.linear_cross_entropy(gpugrad.tensor(h[0]), gpugrad.tensor(w),
                                       gpugrad.tensor(target), reduction=reduction, options=opts)
            t = TF.cross_entropy(TF.linear(torch.tensor(h[0]), torch.tensor(w)),
                                 torch.tensor(target), reduction=reduction)
            assert tuple(g.shape) == tuple(t.shape) == ()
            assert g.item() == pytest.approx(t.item(), rel=1e-12)
    with gpugrad.no_grad():
        hg = gpugrad.tensor(h, requires_grad=True)
        loss = F.linear_cross_entropy(hg, gpugrad.tensor(w), gpugrad.tensor(np.arange(N) % C),
                                      options=opts)
    assert loss.grad_fn is None and not loss.requires_grad


def test_k_dimensional_head_falls_back_to_the_reference_with_a_warning():
    rng = np.random.default_rng(5)
    h = rng.standard_normal((4, H))
    w = rng.standard_normal((C, 3, H))
    target = rng.integers(0, C, (4, 3))
    want = TF.cross_entropy(TF.linear(torch.tensor(h), torch.tensor(w.reshape(-1, H)))
                            .reshape(4, C, 3), torch.tensor(target))
    with pytest.warns(UserWarning, match="options"):
        got = F.linear_cross_entropy(gpugrad.tensor(h), gpugrad.tensor(w), gpugrad.tensor(target),
                                     options=LinearCrossEntropyOptions())
    assert got.item() == pytest.approx(want.item(), rel=1e-12)


def test_chunked_path_never_holds_the_logits():
    """Peak memory of forward + backward: the unfused path holds (N, C) logits and their
    gradient; the chunked one, a chunk's worth (plus gradients the size of the inputs)."""
    rng = np.random.default_rng(6)
    n, hidden, classes = 512, 16, 4096
    h = gpugrad.tensor(rng.standard_normal((n, hidden)).astype(np.float32), requires_grad=True)
    w = gpugrad.tensor(rng.standard_normal((classes, hidden)).astype(np.float32) * 0.1,
                       requires_grad=True)
    target = gpugrad.tensor(rng.integers(0, classes, n))
    logits_bytes = n * classes * 4

    def peak(options):
        tracemalloc.start()
        tracemalloc.reset_peak()
        F.linear_cross_entropy(h, w, target, options=options).backward()
        size = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        h.grad = w.grad = None
        return size

    assert peak(None) > 2 * logits_bytes
    assert peak(LinearCrossEntropyOptions(batch_chunk_size=32)) < logits_bytes / 2


def test_module_matches_torch_reference_and_prints_like_torch():
    rng = np.random.default_rng(7)
    gpugrad.manual_seed(0)
    opts = LinearCrossEntropyOptions(batch_chunk_size=8)
    module = gpugrad.nn.LinearCrossEntropyLoss(H, C, bias=True, label_smoothing=0.05,
                                               options=opts)
    assert [n for n, _ in module.named_parameters()] == ["linear.weight", "linear.bias"]
    h = rng.standard_normal((N, H)).astype(np.float32)
    target = rng.integers(0, C, N)
    loss = module(gpugrad.tensor(h), gpugrad.tensor(target))
    lin = torch.nn.Linear(H, C)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(module.linear.weight.detach().numpy()))
        lin.bias.copy_(torch.tensor(module.linear.bias.detach().numpy()))
    want = TF.cross_entropy(lin(torch.tensor(h)), torch.tensor(target), label_smoothing=0.05)
    assert loss.item() == pytest.approx(want.item(), rel=1e-5)
    if TORCH_HAS_IT:
        t_module = torch.nn.LinearCrossEntropyLoss(H, C, bias=True, label_smoothing=0.05)
        assert repr(module).replace("gpugrad", "torch") == repr(t_module).replace(
            "options=None", f"options={opts}")


@pytest.mark.skipif(not TORCH_HAS_IT, reason="the installed torch has no linear_cross_entropy")
def test_chunk_sizes_follow_torchs_aspect_ratio_rule():
    from torch.nn import LinearCrossEntropyOptions as TorchOptions

    for n, hidden, classes, method in [(4096, 1024, 32768, "aspect_ratio"),
                                       (4096, 1024, 32768, "aspect_ratio:2"),
                                       (1000, 64, 50000, "aspect_ratio:4"), (7, 3, 5, None)]:
        size = None if method else 3
        ours = LinearCrossEntropyOptions(chunking_method=method, batch_chunk_size=size)
        theirs = TorchOptions(chunking_method=method, batch_chunk_size=size)
        got = ours._resolve(n, hidden, classes, gpugrad.float32, "cpu")[0]
        assert got == theirs._adjust(n, hidden, classes, torch.float32).batch_chunk_size


def test_bad_arguments_raise_like_torch():
    h, w, t = gpugrad.randn(4, H), gpugrad.randn(C, H), gpugrad.tensor([0, 1, 2, 3])
    opts = LinearCrossEntropyOptions()
    cases = [
        ((gpugrad.randn(2, 2, H), w, t), {}, RuntimeError, "dimensionality 1 or 2, got 3"),
        ((h, gpugrad.randn(H), t), {}, RuntimeError, "linear_weight with dimensionality"),
        ((h, gpugrad.randn(C, H + 1), t), {}, RuntimeError, "last dimensions"),
        ((h, w, t), {"linear_bias": gpugrad.randn(C + 1)}, RuntimeError, "linear_bias shape"),
        ((h, w, gpugrad.rand(4, C)), {"ignore_index": 1}, RuntimeError, "ignore_index cannot"),
        ((h, w, t), {"reduction": "avg"}, ValueError, "not a valid value for reduction"),
        ((h, w, t), {"label_smoothing": 1.5}, RuntimeError, "label_smoothing must be between"),
        ((h, w, gpugrad.tensor([0, 1, 2, C])), {}, IndexError, "out of bounds"),
        ((h, w, gpugrad.tensor([0, 1, 2])), {}, ValueError, "batch_size"),
        ((h, w, t.int()), {}, RuntimeError, "expected target dtype to be Long"),
        ((h, w, t), {"weight": gpugrad.ones(C + 1)}, RuntimeError, "weight tensor should be"),
    ]
    for args, kw, exc, match in cases:
        with pytest.raises(exc, match=match):
            F.linear_cross_entropy(*args, options=opts, **kw)
    for kw, match in [({"acc_policy": "fast"}, "invalid acc_policy"),
                      ({"chunking_method": "rows"}, "invalid chunking_method"),
                      ({"chunking_method": "aspect_ratio:0"}, "invalid chunking_method"),
                      ({"batch_chunk_size": 0}, "batch_chunk_size must be positive"),
                      ({"acc_dtype": gpugrad.int64}, "acc_dtype must be one of")]:
        with pytest.raises(ValueError, match=match):
            LinearCrossEntropyOptions(**kw)
    with pytest.raises(ValueError, match="give different chunk sizes"):
        F.linear_cross_entropy(h, w, t, options=LinearCrossEntropyOptions(
            batch_chunk_size=3, chunking_method="aspect_ratio"))
    with pytest.raises(RuntimeError, match="expected weight shape"):
        gpugrad.nn.LinearCrossEntropyLoss(H, C, weight=gpugrad.ones(3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert F.linear_cross_entropy(h, w, t, options=opts).requires_grad is False

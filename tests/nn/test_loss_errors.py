"""Loss functions and modules on bad or legacy input, against PyTorch: out-of-range and
mistyped targets, weights that do not broadcast, size-mismatch warnings, the legacy
``size_average``/``reduce`` flags, BCE's log clamp, the modules' repr and buffers."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import gpugrad


def test_bce_clamps_log_at_minus_100():
    x = gpugrad.tensor([0.0, 1.0, 0.0], requires_grad=True)
    y = gpugrad.tensor([1.0, 0.0, 0.0])
    loss = gpugrad.nn.functional.binary_cross_entropy(x, y, reduction="none")
    ref = torch.nn.functional.binary_cross_entropy(torch.tensor([0.0, 1.0, 0.0]),
                                                   torch.tensor([1.0, 0.0, 0.0]), reduction="none")
    np.testing.assert_allclose(loss.detach().numpy(), ref.numpy())
    assert loss.detach().numpy().tolist() == [100.0, 100.0, 0.0]


def test_out_of_range_targets_name_value_and_range():
    x = gpugrad.randn(2, 3, 4)
    with pytest.raises(IndexError, match=r"Target 7 is out of bounds.*\[0, 2\]"):
        gpugrad.nn.functional.cross_entropy(x, gpugrad.tensor([[0, 1, 7, 0], [1, 1, 1, 1]]))
    with pytest.raises(IndexError, match="Target -3"):
        gpugrad.nn.functional.nll_loss(x, gpugrad.tensor([[0, 1, -3, 0], [1, 1, 1, 1]]))


def test_target_errors():
    x = gpugrad.randn(3, 4)
    with pytest.raises(RuntimeError, match="Long or Byte, but got Int"):
        gpugrad.nn.functional.cross_entropy(x, gpugrad.tensor([1, 2, 3], dtype=gpugrad.int32))
    uint8 = gpugrad.nn.functional.cross_entropy(x, gpugrad.tensor([1, 2, 3], dtype=gpugrad.uint8))
    np.testing.assert_allclose(uint8.item(), gpugrad.nn.functional.cross_entropy(
        x, gpugrad.tensor([1, 2, 3])).item())
    with pytest.raises(ValueError, match="batch_size"):
        gpugrad.nn.functional.cross_entropy(x, gpugrad.tensor([1, 2]))
    with pytest.raises(ValueError, match="reduction"):
        gpugrad.nn.CrossEntropyLoss(reduction="average")(x, gpugrad.tensor([1, 2, 3]))


@pytest.mark.parametrize("key,shape,match", [
    ("pos_weight", (4,), "must match the size of tensor"),
    ("weight", (4,), "must match the size of tensor"),
    ("pos_weight", (2, 2, 3, 5, 7), "doesn't match the broadcast shape"),
    ("weight", (2, 2, 3, 5, 7), "doesn't match the broadcast shape"),
])
def test_bce_with_logits_weights_must_broadcast_into_the_input_as_torch(key, shape, match):
    for m in (gpugrad, torch):
        x = m.zeros(2, 3, 5, 7)
        with pytest.raises(RuntimeError, match=match):
            m.nn.functional.binary_cross_entropy_with_logits(x, x, reduction="none",
                                                             **{key: m.ones(shape)})


def test_size_mismatch_warns_like_torch():
    with pytest.warns(UserWarning, match="different to the input size"):
        gpugrad.nn.MSELoss()(gpugrad.randn(3, 1), gpugrad.randn(3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gpugrad.nn.HuberLoss()(gpugrad.randn(3), gpugrad.randn(3))


def test_legacy_reduction_flags():
    x, y = gpugrad.randn(4), gpugrad.randn(4)
    with pytest.warns(UserWarning, match="reduction='sum'"):
        loss = gpugrad.nn.MSELoss(size_average=False)
    assert loss.reduction == "sum"
    np.testing.assert_allclose(loss(x, y).item(), ((x - y) ** 2).sum().item(), rtol=1e-6)


def test_loss_module_repr_and_buffers():
    w = gpugrad.ones(3)
    ce = gpugrad.nn.CrossEntropyLoss(weight=w, label_smoothing=0.1)
    assert repr(ce) == "CrossEntropyLoss()"
    assert ce.weight is w and "weight" in dict(ce.named_buffers())


@pytest.mark.parametrize("smoothing", [-0.1, -2.0, float("nan"), 0.25, 1.0, 1.5])
def test_label_smoothing_out_of_range(smoothing):
    """As PyTorch: over 1 is a RuntimeError; a negative value or nan smooths nothing, for
    class indices (ignore_index too), class probabilities and linear_cross_entropy."""
    rng = np.random.default_rng(0)
    logits, probs = rng.standard_normal((4, 5)), rng.dirichlet(np.ones(5), 4)
    hidden, weight = rng.standard_normal((4, 3)), rng.standard_normal((5, 3))
    target = np.array([0, 1, 4, 2])

    def losses(m):
        F, t = m.nn.functional, lambda a: m.tensor(a, dtype=m.float32)
        out = []
        for fn in (lambda: F.cross_entropy(t(logits), m.tensor(target), label_smoothing=smoothing),
                   lambda: F.cross_entropy(t(logits), m.tensor(target), ignore_index=1,
                                           label_smoothing=smoothing, reduction="none"),
                   lambda: F.cross_entropy(t(logits), t(probs), label_smoothing=smoothing),
                   lambda: m.nn.CrossEntropyLoss(label_smoothing=smoothing)(
                       t(logits), m.tensor(target)),
                   lambda: F.linear_cross_entropy(t(hidden), t(weight), m.tensor(target),
                                                  label_smoothing=smoothing)):
            try:
                out.append(fn().detach().numpy())
            except RuntimeError as exc:
                out.append(type(exc))
        return out

    for got, want in zip(losses(gpugrad), losses(torch), strict=True):
        if isinstance(want, type):
            assert got is want
        else:
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    if smoothing > 1:
        with pytest.raises(RuntimeError, match="label_smoothing must be between 0.0 and 1.0"):
            gpugrad.nn.functional.cross_entropy(gpugrad.randn(2, 3), gpugrad.tensor([0, 1]),
                                                label_smoothing=smoothing)


@pytest.mark.parametrize("ignore_index", [True, 1.0, None, "1", np.int64(1), "tensor-0d",
                                          "tensor-1", "float-tensor"])
def test_ignore_index_is_an_int_argument(ignore_index):
    """As PyTorch's int argument: an int, a NumPy integer or a one-element integer tensor;
    a TypeError otherwise (linear_cross_entropy's None means -100)."""
    def losses(m):
        value = {"tensor-0d": m.tensor(1), "tensor-1": m.tensor([1]),
                 "float-tensor": m.tensor(1.0)}.get(str(ignore_index), ignore_index)
        F, x, t = m.nn.functional, m.ones(2, 3), m.tensor([0, 1])
        out = []
        for fn in (lambda: F.cross_entropy(x, t, ignore_index=value),
                   lambda: m.nn.CrossEntropyLoss(ignore_index=value)(x, t),
                   lambda: F.nll_loss(x, t, ignore_index=value),
                   lambda: m.nn.NLLLoss(ignore_index=value)(x, t),
                   lambda: F.linear_cross_entropy(x, m.ones(3, 3), t, ignore_index=value)):
            try:
                out.append(round(fn().item(), 6))
            except TypeError:
                out.append(TypeError)
        return out

    assert losses(gpugrad) == losses(torch)
    if ignore_index is True:
        with pytest.raises(TypeError, match="argument 'ignore_index' must be int, not bool"):
            gpugrad.nn.functional.cross_entropy(gpugrad.ones(2, 3), gpugrad.tensor([0, 1]),
                                                ignore_index=True)


@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("shape", [(2, 4), (4,), (2, 4, 3), (2, 4, 3, 3)], ids=str)
def test_uint8_targets_only_for_class_dims_alone_as_pytorch(fn, shape):
    target_shape = shape[:1] + shape[2:] if len(shape) > 1 else ()
    outcomes = []
    for lib in (torch, gpugrad):
        try:
            getattr(lib.nn.functional, fn)(lib.zeros(*shape),
                                           lib.zeros(target_shape, dtype=lib.uint8))
            outcomes.append("ok")
        except RuntimeError as err:
            outcomes.append(str(err))
    assert outcomes[1] == outcomes[0]


_X = np.random.default_rng(0).standard_normal((3, 2))
_P = np.random.default_rng(1).random((3, 2))
_X3 = np.random.default_rng(2).standard_normal((3, 2, 4))
_P3 = np.random.default_rng(3).random((3, 2, 4))
WEIGHTED = {  # a loss with a class weight (w, (2,)) that requires grad
    "ce probs": lambda L, F, x, w: F.cross_entropy(x, L.tensor(_P), weight=w),
    "ce probs none": lambda L, F, x, w: F.cross_entropy(x, L.tensor(_P), weight=w,
                                                         reduction="none").sum(),
    "ce probs sum smoothed": lambda L, F, x, w: F.cross_entropy(
        x, L.tensor(_P), weight=w, reduction="sum", label_smoothing=0.2),
    "ce probs 1-d": lambda L, F, x, w: F.cross_entropy(x[0], L.tensor(_P[0]), weight=w),
    "ce probs 3-d": lambda L, F, x, w: F.cross_entropy(L.tensor(_X3), L.tensor(_P3), weight=w,
                                                       label_smoothing=0.3),
    "ce indices": lambda L, F, x, w: F.cross_entropy(x, L.tensor([1, 0, 1]), weight=w),
    "ce indices smoothed": lambda L, F, x, w: F.cross_entropy(x, L.tensor([1, 0, 1]), weight=w,
                                                              label_smoothing=0.1),
    "nll": lambda L, F, x, w: F.nll_loss(x, L.tensor([1, 0, 1]), weight=w),
    "nll 3-d": lambda L, F, x, w: F.nll_loss(L.tensor(_X3), L.tensor([[1, 0, 1, 0]] * 3),
                                             weight=w),
    "bce": lambda L, F, x, w: F.binary_cross_entropy(L.sigmoid(x[0]), L.tensor(_P[0]), weight=w),
    "bce logits": lambda L, F, x, w: F.binary_cross_entropy_with_logits(x[0], L.tensor(_P[0]),
                                                                        weight=w),
    "bce logits pos_weight": lambda L, F, x, w: F.binary_cross_entropy_with_logits(
        x[0], L.tensor(_P[0]), pos_weight=w),
    "multi margin": lambda L, F, x, w: F.multi_margin_loss(x, L.tensor([1, 0, 1]), weight=w),
    "multilabel soft margin": lambda L, F, x, w: F.multilabel_soft_margin_loss(
        x, L.tensor(_P), weight=w),
}


@pytest.mark.parametrize("case", list(WEIGHTED))
def test_a_weight_that_requires_grad_is_differentiated_or_refused_as_pytorch(case):
    """PyTorch differentiates a class weight where its loss is a composition (probability
    targets, multilabel soft margin) and refuses one that requires grad elsewhere; it must never
    be silently left without its gradient."""
    seen = []
    for lib in (torch, gpugrad):
        w = lib.tensor([0.2, 0.7], dtype=lib.float64, requires_grad=True)
        x = lib.tensor(_X, requires_grad=True)
        try:
            loss = WEIGHTED[case](lib, lib.nn.functional, x, w)
        except RuntimeError as err:
            seen.append(str(err))
            continue
        loss.backward()
        seen.append([round(loss.item(), 12), np.round(w.grad.numpy(), 12).tolist(),
                     np.round(x.grad.numpy(), 12).tolist() if x.grad is not None else None])
        with lib.no_grad():  # outside grad mode nothing is refused
            WEIGHTED[case](lib, lib.nn.functional, x, w)
    assert seen[1] == seen[0]

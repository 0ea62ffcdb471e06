"""Specs of the ``nn.functional`` layers built on windows and statistics: ``conv1d``/``conv2d``,
``unfold``/``fold``, max and average pooling, ``batch_norm``, ``dropout`` (with a fixed mask)
and ``scaled_dot_product_attention``."""

from __future__ import annotations

import numpy as np

import gpugrad

from ..core import ErrorCase, OpSpec, Sample, randn, register


def F(m):
    return m.nn.functional


def distinct(rng, *shape):
    """Well-separated values in random order: max pooling's gradient has no ties to split
    and finite differences cannot move the maximum."""
    n = int(np.prod(shape))
    return (rng.permutation(n).reshape(shape) * 0.1 - n * 0.05).astype(np.float64)


# ----------------------------------------------------------------------- convolution
def _conv2d_samples(rng):
    return [
        Sample((randn(rng, 2, 3, 5, 6), randn(rng, 4, 3, 3, 2), randn(rng, 4))),
        Sample((randn(rng, 2, 4, 6, 5), randn(rng, 6, 2, 2, 3), randn(rng, 6)),
               {"stride": 2, "padding": 1, "groups": 2}),
        Sample((randn(rng, 1, 2, 7, 7), randn(rng, 3, 2, 3, 3)),
               {"stride": (2, 1), "padding": (0, 2), "dilation": (2, 1)}),
        Sample((randn(rng, 2, 5, 5), randn(rng, 3, 2, 3, 3), randn(rng, 3)),
               {"padding": "same"}, note="unbatched"),
        Sample((randn(rng, 0, 2, 4, 4), randn(rng, 3, 2, 2, 2))),
    ]


def _conv1d_samples(rng):
    return [
        Sample((randn(rng, 2, 4, 7), randn(rng, 6, 2, 3), randn(rng, 6)), {"groups": 2}),
        Sample((randn(rng, 3, 9), randn(rng, 2, 3, 2)),
               {"stride": 2, "padding": 1, "dilation": 2}),
    ]


def _conv(name):
    def op(m, x, w, b=None, **kw):
        return getattr(F(m), name)(x, w, b, **kw)

    return op


_CONV_ERRORS = [
    ErrorCase((np.ones((1, 3, 4, 4)), np.ones((2, 2, 3, 3))), RuntimeError, "channels"),
    ErrorCase((np.ones((1, 2, 2, 2)), np.ones((2, 2, 3, 3))), RuntimeError,
              "Kernel size can't be greater than actual input size"),
]


def _unfold_samples(rng):
    return [
        Sample((randn(rng, 2, 3, 4, 5), (2, 3))),
        Sample((randn(rng, 1, 2, 5, 5), 2), {"dilation": 2, "padding": 1, "stride": 2}),
    ]


def _fold_samples(rng):
    return [
        Sample((randn(rng, 2, 3 * 4, 12), (4, 5), (2, 2))),
        Sample((randn(rng, 2 * 4, 9), (5, 5), 2), {"padding": 1, "stride": 2}),
    ]


register(
    OpSpec("nn.conv2d", _conv("conv2d"), _conv2d_samples, errors=_CONV_ERRORS, atol32=1e-4),
    OpSpec("nn.conv1d", _conv("conv1d"), _conv1d_samples, atol32=1e-4),
    OpSpec("nn.unfold", lambda m, x, k, **kw: F(m).unfold(x, k, **kw), _unfold_samples),
    OpSpec("nn.fold", lambda m, x, size, k, **kw: F(m).fold(x, size, k, **kw), _fold_samples),
)


# ---------------------------------------------------------------------------- pooling
def _pool2d_samples(rng):
    return [
        Sample((distinct(rng, 2, 3, 6, 5), 2)),
        Sample((distinct(rng, 1, 2, 5, 6), (3, 2)), {"stride": (2, 1), "padding": 1}),
        Sample((distinct(rng, 2, 7, 7), 3), {"stride": 2, "padding": 1}, note="unbatched"),
    ]


def _pool1d_samples(rng):
    return [Sample((distinct(rng, 2, 3, 9), 3), {"stride": 2, "padding": 1}),
            Sample((distinct(rng, 1, 2, 6), 2)),
            Sample((distinct(rng, 3, 8), 2), note="unbatched")]


def _pool_unpool2d(m, x, k, stride=None, padding=0, output_size=None):
    """max_unpool2d of max_pool2d's values and indices (the use it has)."""
    values, indices = F(m).max_pool2d(x, k, stride, padding, return_indices=True)
    return F(m).max_unpool2d(values, indices, k, stride, padding, output_size)


def _ceil_samples(rng):
    """Sizes that leave a partial last window (and one where ceil_mode drops a window that
    would start in the padding)."""
    return [
        Sample((distinct(rng, 2, 3, 5, 5), 2)),
        Sample((distinct(rng, 1, 2, 6, 7), 3), {"stride": 2, "padding": 1}),
        Sample((distinct(rng, 1, 2, 5, 4), (3, 2)), {"stride": (3, 2), "padding": (1, 0)}),
        Sample((distinct(rng, 2, 4, 4), 2), {"stride": 2, "padding": 1}, note="unbatched"),
    ]


register(
    OpSpec("nn.max_pool2d", lambda m, x, k, **kw: F(m).max_pool2d(x, k, **kw),
           _pool2d_samples),
    OpSpec("nn.max_pool2d_dilated", lambda m, x: F(m).max_pool2d(x, 2, 1, 0, 2),
           lambda rng: [Sample((distinct(rng, 1, 2, 6, 6),))]),
    OpSpec("nn.max_pool1d", lambda m, x, k, **kw: F(m).max_pool1d(x, k, **kw),
           _pool1d_samples),
    OpSpec("nn.avg_pool2d", lambda m, x, k, **kw: F(m).avg_pool2d(x, k, **kw),
           _pool2d_samples),
    OpSpec("nn.avg_pool2d_exclude_pad",
           lambda m, x: F(m).avg_pool2d(x, 3, 2, 1, count_include_pad=False),
           lambda rng: [Sample((randn(rng, 2, 2, 5, 6),))]),
    OpSpec("nn.avg_pool2d_divisor", lambda m, x: F(m).avg_pool2d(x, 2, divisor_override=3),
           lambda rng: [Sample((randn(rng, 1, 2, 4, 4),))]),
    OpSpec("nn.avg_pool1d", lambda m, x, k, **kw: F(m).avg_pool1d(x, k, **kw),
           _pool1d_samples),
    OpSpec("nn.max_pool2d_ceil", lambda m, x, k, **kw: F(m).max_pool2d(x, k, ceil_mode=True,
                                                                       **kw), _ceil_samples),
    OpSpec("nn.avg_pool2d_ceil", lambda m, x, k, **kw: F(m).avg_pool2d(x, k, ceil_mode=True,
                                                                       **kw), _ceil_samples),
    OpSpec("nn.avg_pool2d_ceil_exclude_pad",
           lambda m, x, k, **kw: F(m).avg_pool2d(x, k, ceil_mode=True, count_include_pad=False,
                                                 **kw), _ceil_samples),
    OpSpec("nn.max_pool1d_ceil", lambda m, x: F(m).max_pool1d(x, 3, 2, 1, ceil_mode=True),
           lambda rng: [Sample((distinct(rng, 2, 3, 8),))]),
    OpSpec("nn.avg_pool1d_ceil", lambda m, x: F(m).avg_pool1d(x, 2, 3, ceil_mode=True),
           lambda rng: [Sample((distinct(rng, 2, 3, 8),))]),
    OpSpec("nn.max_pool2d_indices",
           lambda m, x, k, **kw: F(m).max_pool2d(x, k, return_indices=True, **kw),
           lambda rng: _pool2d_samples(rng) + _ceil_samples(rng), outputs=tuple),
    OpSpec("nn.max_pool1d_indices",
           lambda m, x, k, **kw: F(m).max_pool1d(x, k, return_indices=True, **kw),
           _pool1d_samples, outputs=tuple),
    # (windows that do not overlap: where two windows share their maximum, the unpooling
    # writes it twice, and neither library's gradient is the derivative)
    OpSpec("nn.max_unpool2d", _pool_unpool2d, lambda rng: [
        Sample((distinct(rng, 2, 3, 6, 4), 2)),
        Sample((distinct(rng, 1, 2, 7, 7), 3), {"padding": 1}),
        Sample((distinct(rng, 1, 2, 7, 7), 2), {"output_size": (7, 7)}),
        Sample((distinct(rng, 2, 4, 4), 2), note="unbatched"),
    ], errors=[
        ErrorCase((np.ones((1, 1, 4, 4)), 2), ValueError, "invalid output_size",
                  {"output_size": (9, 9)}),
    ]),
    OpSpec("nn.max_unpool1d", lambda m, x: F(m).max_unpool1d(
        *F(m).max_pool1d(x, 2, return_indices=True), 2, output_size=(9,)),
        lambda rng: [Sample((distinct(rng, 2, 3, 8),))]),
)



# ------------------------------------------------------------------------ batch norm
def _batch_norm_train(m, x, w=None, b=None, eps=1e-5):
    return F(m).batch_norm(x, None, None, w, b, training=True, eps=eps)


def _batch_norm_eval(m, x, mean, var, w, b):
    return F(m).batch_norm(x, mean, var, w, b, training=False)


register(
    OpSpec("nn.batch_norm", _batch_norm_train, lambda rng: [
        Sample((randn(rng, 4, 3), randn(rng, 3), randn(rng, 3))),
        Sample((randn(rng, 2, 3, 4, 2), randn(rng, 3), randn(rng, 3)), {"eps": 0.1}),
        Sample((randn(rng, 3, 2, 5),)),
    ], atol32=1e-4),
    OpSpec("nn.batch_norm_eval", _batch_norm_eval, lambda rng: [
        Sample((randn(rng, 4, 3, 2), randn(rng, 3), randn(rng, 3, lo=0.5, hi=2), randn(rng, 3),
                randn(rng, 3)), grad_args=(0, 3, 4)),
    ]),
)


# --------------------------------------------------------------------------- dropout
_DROPOUT_DEVICE = ["cpu"]  # where gpugrad's side last drew its mask (the tests run it first)


def _dropout_keep(shape, p: float):
    """The mask gpugrad's dropout draws after ``manual_seed(7)`` (True: kept), on the device
    gpugrad's side ran on (each device has its own generator)."""
    gpugrad.manual_seed(7)
    ones = gpugrad.ones(shape, device=_DROPOUT_DEVICE[0])
    return gpugrad.nn.functional.dropout(ones, p).cpu().numpy() != 0


def _dropout(m, x, p, training=True):
    """gpugrad's dropout with a fixed seed; PyTorch's side applies the very same mask."""
    if m is gpugrad:
        _DROPOUT_DEVICE[0] = x.device
        gpugrad.manual_seed(7)
        return F(m).dropout(x, p, training)
    if not training:
        return F(m).dropout(x, p, training)
    keep = m.from_numpy(_dropout_keep(tuple(x.shape), p))
    return x * keep / (1 - p) if p < 1 else x * 0


register(
    OpSpec("nn.dropout", _dropout, lambda rng: [
        Sample((randn(rng, 4, 5), 0.3)),
        Sample((randn(rng, 2, 3, 4), 0.5)),
        Sample((randn(rng, 3, 2), 1.0)),
        Sample((randn(rng, 3, 2), 0.5, False), note="eval: the identity"),
    ], errors=[ErrorCase((np.ones(3), 1.5), ValueError, "dropout probability")]),
)


# ----------------------------------------------------------------- attention
def _sdpa(m, q, k, v, mask=None, **kw):
    return F(m).scaled_dot_product_attention(q, k, v, attn_mask=mask, **kw)


def _sdpa_samples(rng):
    allowed = rng.random((3, 5)) < 0.6
    allowed[:, 0] = True  # every query sees at least one key (no all-masked row of NaNs)
    return [
        Sample((randn(rng, 2, 3, 4), randn(rng, 2, 5, 4), randn(rng, 2, 5, 6))),
        Sample((randn(rng, 2, 3, 4), randn(rng, 2, 5, 4), randn(rng, 2, 5, 6),
                randn(rng, 3, 5)), grad_args=(0, 1, 2)),
        Sample((randn(rng, 1, 2, 3, 4), randn(rng, 1, 2, 5, 4), randn(rng, 1, 2, 5, 3),
                allowed)),
        Sample((randn(rng, 2, 4, 3), randn(rng, 2, 4, 3), randn(rng, 2, 4, 2)),
               {"is_causal": True}),
        Sample((randn(rng, 3, 4), randn(rng, 5, 4), randn(rng, 5, 2)), {"scale": 0.3}),
        Sample((randn(rng, 2, 4, 3, 2), randn(rng, 2, 2, 5, 2), randn(rng, 2, 1, 5, 3)),
               {"enable_gqa": True}, note="grouped heads: 2 and 1 key/value heads for 4"),
        Sample((randn(rng, 4, 3, 2), randn(rng, 2, 3, 2), randn(rng, 2, 3, 2)),
               {"enable_gqa": True, "is_causal": True}, note="unbatched"),
    ]


register(
    OpSpec("nn.scaled_dot_product_attention", _sdpa, _sdpa_samples, atol32=1e-4, errors=[
        ErrorCase((np.ones((2, 3)), np.ones((2, 4)), np.ones((2, 4))), RuntimeError, "query"),
        ErrorCase((np.ones((4, 2, 3)), np.ones((3, 2, 3)), np.ones((3, 2, 3))), RuntimeError,
                  "must divide the number of heads", {"enable_gqa": True}),
    ]),
)


# ------------------------------------------------------------------------ recurrent
def _lstm_layer(m, x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False):
    """One LSTM layer and direction: gpugrad's fused op, PyTorch's ``torch.lstm``."""
    if m is gpugrad:
        from gpugrad.ops.rnn import LSTMLayer

        return LSTMLayer.apply(x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse)
    weights = [w_ih, w_hh] + ([] if b_ih is None else [b_ih, b_hh])
    xs = x.flip(0) if reverse else x
    out, h, c = m.lstm(xs, (h0[None], c0[None]), weights, b_ih is not None, 1, 0.0, False,
                       False, False)
    return out.flip(0) if reverse else out, h[0], c[0]


def _lstm_samples(rng):
    def layer(steps, n, inputs, hidden, bias=True):
        args = (randn(rng, steps, n, inputs), randn(rng, n, hidden), randn(rng, n, hidden),
                randn(rng, 4 * hidden, inputs) * 0.5, randn(rng, 4 * hidden, hidden) * 0.5)
        return args + ((randn(rng, 4 * hidden), randn(rng, 4 * hidden)) if bias else ())

    return [
        Sample(layer(5, 2, 3, 4)),
        Sample(layer(4, 3, 2, 3) + (True,), note="reverse"),
        Sample(layer(3, 1, 4, 2, bias=False)),
        Sample(layer(1, 2, 3, 2)),
        Sample(layer(3, 0, 2, 3), note="empty batch"),
    ]


register(
    OpSpec("nn.lstm_layer", _lstm_layer, _lstm_samples, atol32=1e-5),
)

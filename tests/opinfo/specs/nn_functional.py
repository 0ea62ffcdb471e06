"""Specs of ``nn.functional``: layers, activations and losses (``m.nn.functional.NAME`` spells
the same on gpugrad and torch)."""

from __future__ import annotations

import warnings

import numpy as np

from ..core import ErrorCase, OpSpec, Sample, away_from, randn, register


def F(m):
    return m.nn.functional


def _quiet(fn):
    """Run ``fn`` without the size-mismatch warning the broadcast samples provoke on purpose."""
    def run(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return fn(*args, **kwargs)

    return run


# ------------------------------------------------------------------------------ layers
def _linear_samples(rng):
    return [
        Sample((randn(rng, 3, 4), randn(rng, 5, 4), randn(rng, 5))),
        Sample((randn(rng, 2, 3, 4), randn(rng, 5, 4), randn(rng, 5))),
        Sample((randn(rng, 4), randn(rng, 2, 4), randn(rng, 2))),
        Sample((randn(rng, 0, 4), randn(rng, 3, 4), randn(rng, 3))),
    ]


def _linear_nobias_samples(rng):
    return [Sample((randn(rng, 3, 4), randn(rng, 2, 4)))]


def _layer_norm_samples(rng):
    return [
        Sample((randn(rng, 3, 5), randn(rng, 5), randn(rng, 5)), {"shape": (5,)}),
        Sample((randn(rng, 2, 3, 4), randn(rng, 3, 4), randn(rng, 3, 4)), {"shape": (3, 4)}),
        Sample((randn(rng, 4, 6), randn(rng, 6), randn(rng, 6)), {"shape": (6,), "eps": 0.1}),
    ]


def _embedding_samples(rng):
    idx = np.array([[0, 2, 5], [2, 2, 1]], dtype=np.int64)
    return [Sample((idx, randn(rng, 6, 4)), grad_args=(1,)),
            Sample((np.array([3, 0, 3], dtype=np.int64), randn(rng, 4, 2)), grad_args=(1,))]


register(
    OpSpec("nn.linear", lambda m, x, w, b: F(m).linear(x, w, b), _linear_samples),
    OpSpec("nn.linear_no_bias", lambda m, x, w: F(m).linear(x, w), _linear_nobias_samples,
           errors=[ErrorCase((np.ones((2, 3)), np.ones((4, 2))), RuntimeError,
                             "cannot be multiplied")]),
    OpSpec("nn.layer_norm",
           lambda m, x, w, b, shape, eps=1e-5: F(m).layer_norm(x, shape, w, b, eps),
           _layer_norm_samples, atol32=1e-4),
    OpSpec("nn.layer_norm_no_affine", lambda m, x: F(m).layer_norm(x, (4,)),
           lambda rng: [Sample((randn(rng, 3, 4),))], atol32=1e-4),
    OpSpec("nn.embedding", lambda m, i, w: F(m).embedding(i, w), _embedding_samples),
)


# ------------------------------------------------------------------------- activations
def _act_samples(kinks=()):
    def make(rng):
        return [Sample((away_from(randn(rng, *shape, lo=-4, hi=4), kinks),))
                for shape in ((3, 4), (), (2, 0, 3), (2, 3, 4))]

    return make


register(
    OpSpec("nn.gelu", lambda m, x: F(m).gelu(x), _act_samples()),
    OpSpec("nn.gelu_tanh", lambda m, x: F(m).gelu(x, approximate="tanh"), _act_samples()),
    OpSpec("nn.silu", lambda m, x: F(m).silu(x), _act_samples()),
    OpSpec("nn.leaky_relu", lambda m, x: F(m).leaky_relu(x, 0.2), _act_samples(kinks=(0,))),
    OpSpec("nn.softmax", lambda m, x: F(m).softmax(x, dim=-1), _act_samples()),
    OpSpec("nn.log_softmax", lambda m, x: F(m).log_softmax(x, dim=1),
           lambda rng: [Sample((randn(rng, 3, 4),))]),
)


# ---------------------------------------------------------------------- cross-entropy
def _labels(rng, n, c, ignored=()):
    t = rng.integers(0, c, n).astype(np.int64)
    for i in ignored:
        t[i] = -100
    return t


def _ce_samples(rng):
    out = []
    for reduction in ("mean", "sum", "none"):
        out += [
            Sample((randn(rng, 5, 4), _labels(rng, 5, 4)), {"reduction": reduction}),
            Sample((randn(rng, 5, 4), _labels(rng, 5, 4, ignored=(1, 3)), randn(rng, 4, lo=0.5,
                                                                                   hi=2)),
                   {"reduction": reduction, "label_smoothing": 0.1}, grad_args=(0,)),
            Sample((randn(rng, 2, 3, 4), _labels(rng, 8, 3).reshape(2, 4)),
                   {"reduction": reduction, "label_smoothing": 0.3}),
            Sample((randn(rng, 5, 4), rng.dirichlet(np.ones(4), 5)),
                   {"reduction": reduction}),
            Sample((randn(rng, 3, 4), rng.dirichlet(np.ones(4), 3), randn(rng, 4, lo=0.5, hi=2)),
                   {"reduction": reduction, "label_smoothing": 0.2}, grad_args=(0, 1)),
        ]
    out += [
        Sample((randn(rng, 4), np.array(2, dtype=np.int64))),
        Sample((randn(rng, 4), np.array(1, dtype=np.int64)), {"reduction": "none"}),
        Sample((randn(rng, 0, 4), _labels(rng, 0, 4)), {"reduction": "sum"}),
        Sample((randn(rng, 5, 4), np.array([3, 0, 3, 1, 2], dtype=np.int64)),
               {"ignore_index": 3, "reduction": "mean"}),
    ]
    return out


def _ce(m, x, t, w=None, **kw):
    return F(m).cross_entropy(x, t, weight=w, **kw)


def _nll_samples(rng):
    out = []
    for reduction in ("mean", "sum", "none"):
        out += [
            Sample((randn(rng, 5, 4), _labels(rng, 5, 4, ignored=(2,))), {"reduction": reduction}),
            Sample((randn(rng, 5, 4), _labels(rng, 5, 4), randn(rng, 4, lo=0.5, hi=2)),
                   {"reduction": reduction}, grad_args=(0,)),
            Sample((randn(rng, 2, 3, 2), _labels(rng, 4, 3).reshape(2, 2)),
                   {"reduction": reduction}),
        ]
    return out + [Sample((randn(rng, 3), np.array(0, dtype=np.int64)))]


def _nll(m, x, t, w=None, **kw):
    return F(m).nll_loss(x, t, weight=w, **kw)


_BAD_TARGET = ErrorCase((np.ones((2, 3)), np.array([0, 3])), IndexError, r"Target 3 .*\[0, 2\]")

register(
    OpSpec("nn.cross_entropy", _ce, _ce_samples, atol32=1e-4, errors=[
        _BAD_TARGET,
        ErrorCase((np.ones((2, 3)), np.array([0, -1])), IndexError, "Target -1"),
        ErrorCase((np.ones((2, 3)), np.array([0, 1, 2])), ValueError, "batch_size"),
        ErrorCase((np.ones((2, 3)), np.array([0, 1]), np.ones(4)), RuntimeError, "weight"),
        ErrorCase((np.ones((2, 3)), np.array([0, 1])), RuntimeError, "label_smoothing",
                  {"label_smoothing": 1.5}),
        ErrorCase((np.ones((2, 3)), np.array([0, 1])), ValueError, "reduction",
                  {"reduction": "avg"}),
    ]),
    OpSpec("nn.nll_loss", _nll, _nll_samples, errors=[_BAD_TARGET]),
)


# ------------------------------------------------------------------ elementwise losses
def _regression_samples(kinks):
    def make(rng):
        out = []
        for reduction in ("mean", "sum", "none"):
            x = randn(rng, 3, 4)
            y = x - away_from(randn(rng, 3, 4), kinks)
            out.append(Sample((x, y), {"reduction": reduction}))
        x = randn(rng, 3, 1)
        y = randn(rng, 4)
        out.append(Sample((x + 10, y), {"reduction": "mean"}))  # broadcast, far from kinks
        out.append(Sample((randn(rng, 0, 3), randn(rng, 0, 3)), {"reduction": "sum"}))
        return out

    return make


register(
    OpSpec("nn.mse_loss", _quiet(lambda m, x, y, **kw: F(m).mse_loss(x, y, **kw)),
           _regression_samples(())),
    OpSpec("nn.l1_loss", _quiet(lambda m, x, y, **kw: F(m).l1_loss(x, y, **kw)),
           _regression_samples((0,))),
    OpSpec("nn.smooth_l1_loss",
           _quiet(lambda m, x, y, **kw: F(m).smooth_l1_loss(x, y, beta=0.5, **kw)),
           _regression_samples((0, 0.5, -0.5))),
    OpSpec("nn.smooth_l1_loss_beta0",
           _quiet(lambda m, x, y, **kw: F(m).smooth_l1_loss(x, y, beta=0.0, **kw)),
           _regression_samples((0,))),
    OpSpec("nn.huber_loss", _quiet(lambda m, x, y, **kw: F(m).huber_loss(x, y, delta=0.7, **kw)),
           _regression_samples((0, 0.7, -0.7))),
    OpSpec("nn.mse_loss_weighted",
           lambda m, x, y, w, **kw: F(m).mse_loss(x, y, weight=w, **kw),
           lambda rng: [Sample((randn(rng, 3, 4), randn(rng, 3, 4), randn(rng, 3, 4, lo=0.5,
                                                                          hi=1)),
                               {"reduction": r}, grad_args=(0, 1)) for r in ("mean", "none")]),
)


def _bce_samples(rng):
    out = []
    for reduction in ("mean", "sum", "none"):
        x = randn(rng, 3, 4, lo=0.05, hi=0.95)
        out.append(Sample((x, randn(rng, 3, 4, lo=0, hi=1)), {"reduction": reduction}))
        out.append(Sample((x, randn(rng, 3, 4, lo=0, hi=1), randn(rng, 4, lo=0.5, hi=2)),
                          {"reduction": reduction}, grad_args=(0, 1)))
    return out


def _bce_logits_samples(rng):
    out = []
    for reduction in ("mean", "sum", "none"):
        x = randn(rng, 3, 4, lo=-5, hi=5)
        y = randn(rng, 3, 4, lo=0, hi=1)
        out.append(Sample((x, y), {"reduction": reduction}))
        out.append(Sample((x, y, randn(rng, 3, 1, lo=0.5, hi=2), randn(rng, 4, lo=0.5, hi=3)),
                          {"reduction": reduction}, grad_args=(0, 1)))
    out.append(Sample((np.array([-1e4, -30.0, 0.0, 30.0, 1e4]), np.array([0, 1, 0.5, 0, 1.0]))))
    return out


def _bce(m, x, y, w=None, **kw):
    return F(m).binary_cross_entropy(x, y, weight=w, **kw)


def _bce_logits(m, x, y, w=None, pw=None, **kw):
    return F(m).binary_cross_entropy_with_logits(x, y, weight=w, pos_weight=pw, **kw)


register(
    OpSpec("nn.binary_cross_entropy", _bce, _bce_samples, atol32=1e-4, errors=[
        ErrorCase((np.array([0.5, 1.5]), np.array([0.0, 1.0])), ValueError, "between 0 and 1"),
        ErrorCase((np.array([0.5, -0.5]), np.array([0.0, 1.0])), RuntimeError, "between 0 and 1"),
        ErrorCase((np.array([0.5, 0.5]), np.array([1.0])), ValueError, "target size"),
    ]),
    OpSpec("nn.binary_cross_entropy_with_logits", _bce_logits, _bce_logits_samples,
           atol32=1e-4, errors=[
               ErrorCase((np.ones((2, 3)), np.ones((3,))), ValueError, "Target size"),
           ]),
)

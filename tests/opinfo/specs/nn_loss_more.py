"""Specs of the distance, margin and likelihood losses of ``nn.functional`` (composites)."""

from __future__ import annotations

import warnings

import numpy as np

from ..core import ErrorCase, OpSpec, Sample, randn, register


def F(m):
    return m.nn.functional


def _signs(rng, *shape):
    return rng.choice([-1.0, 1.0], size=shape)


def _reductions(make, empty=None):
    """A sample reduced to the mean and an unreduced one from ``make(rng) -> (args, kwargs,
    grad_args)`` (``'sum'`` differs from ``'mean'`` by a constant factor only); and, given
    ``empty`` (the args' shapes for a batch of none), a zero-size one, summed: its mean is NaN,
    and so are the second derivatives through that mean, where gradgradcheck wants zeros."""
    def samples(rng):
        out = []
        for reduction in ("mean", "none"):
            args, kwargs, grad_args = make(rng)
            out.append(Sample(args, {"reduction": reduction, **kwargs}, grad_args=grad_args))
        if empty is not None:
            out.append(Sample(tuple(np.zeros(shape) for shape in empty), {"reduction": "sum"},
                              grad_args=grad_args))
        return out

    return samples


def _quiet(fn):
    def run(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return fn(*args, **kwargs)

    return run


# --------------------------------------------------------------------------- distances
def _distance_samples(rng):
    return [Sample((randn(rng, 4, 3), randn(rng, 4, 3))),
            Sample((randn(rng, 2, 1, 3), randn(rng, 4, 3))),  # broadcast
            Sample((randn(rng, 3), randn(rng, 3))),
            Sample((randn(rng, 0, 3), randn(rng, 0, 3)))]


register(
    OpSpec("nn.cosine_similarity", lambda m, a, b: F(m).cosine_similarity(a, b, dim=-1),
           _distance_samples, errors=[
               ErrorCase((np.ones((4, 3)), np.ones((4, 2))), RuntimeError,
                         r"The size of tensor a \(3\) must match the size of tensor b \(2\)"),
               ErrorCase((np.ones((2, 3), np.int64), np.ones((2, 3), np.int64)), RuntimeError,
                         "expected common dtype to be floating point, yet common dtype is Long"),
           ]),
    OpSpec("nn.pairwise_distance", lambda m, a, b: F(m).pairwise_distance(a, b),
           _distance_samples),
    OpSpec("nn.pairwise_distance_p1", lambda m, a, b: F(m).pairwise_distance(a, b, 1.0,
                                                                               keepdim=True),
           lambda rng: [Sample((randn(rng, 4, 3), randn(rng, 4, 3)))]),
    OpSpec("nn.pdist", lambda m, x, p=2: F(m).pdist(x, p),
           lambda rng: [Sample((randn(rng, 4, 3),)), Sample((randn(rng, 3, 2), 3.0)),
                        Sample((randn(rng, 1, 2),))]),
)


# -------------------------------------------------------------------------- margins
def _ranking(rng):
    x1, x2 = randn(rng, 5), randn(rng, 5)
    x2 += np.where(np.abs(np.abs(x1 - x2) - 0.2) < 0.05, 0.3, 0)  # off the kinks at +-margin
    return (x1, x2, _signs(rng, 5)), {"margin": 0.2}, (0, 1)


def _hinge(rng):
    x = randn(rng, 3, 4, lo=0.1, hi=2)
    x[np.abs(x - 1.0) < 0.05] = 1.2
    return (x, _signs(rng, 3, 4)), {}, (0,)


def _soft_margin(rng):
    return (randn(rng, 3, 4), _signs(rng, 3, 4)), {}, (0,)


def _multilabel_soft(rng):
    return (randn(rng, 3, 4), rng.integers(0, 2, (3, 4)).astype(float), randn(rng, 4, lo=0.5,
                                                                               hi=2)), {}, (0, 1)


def _cos_embedding(rng):
    return (randn(rng, 4, 3), randn(rng, 4, 3), np.array([1.0, -1, -1, 1])), {"margin": -0.2}, \
        (0, 1)


def _multi_margin(rng):
    x = np.round(randn(rng, 4, 3), 1) + rng.uniform(0.01, 0.04, (4, 3))  # off the hinge kinks
    return (x, np.array([0, 2, 1, 2]), randn(rng, 3, lo=0.5, hi=2)), {"p": 2, "margin": 0.7}, (0,)


def _triplet(rng):
    return (randn(rng, 4, 3), randn(rng, 4, 3), randn(rng, 4, 3)), {"margin": 3.0, "swap": True}, \
        None


register(
    OpSpec("nn.margin_ranking_loss",
           lambda m, a, b, y, **kw: F(m).margin_ranking_loss(a, b, y, **kw),
           _reductions(_ranking, ((0,), (0,), (0,))), errors=[
               ErrorCase((np.ones(4), np.ones((4, 1)), np.ones(4)), RuntimeError,
                         "All input tensors should have same dimension")]),
    OpSpec("nn.hinge_embedding_loss",
           lambda m, x, y, **kw: F(m).hinge_embedding_loss(x, y, **kw),
           _reductions(_hinge, ((0, 3), (0, 3)))),
    OpSpec("nn.soft_margin_loss", lambda m, x, y, **kw: F(m).soft_margin_loss(x, y, **kw),
           _reductions(_soft_margin, ((0, 3), (0, 3))), errors=[
               ErrorCase((np.ones((4, 1)), np.ones(3)), RuntimeError,
                         r"output with shape \[4, 1\] doesn't match the broadcast shape")]),
    OpSpec("nn.multilabel_soft_margin_loss",
           lambda m, x, y, w, **kw: F(m).multilabel_soft_margin_loss(x, y, w, **kw),
           _reductions(_multilabel_soft, ((0, 4), (0, 4), (4,)))),
    OpSpec("nn.cosine_embedding_loss",
           lambda m, a, b, y, **kw: F(m).cosine_embedding_loss(a, b, y, **kw),
           _reductions(_cos_embedding, ((0, 3), (0, 3), (0,))), errors=[
               ErrorCase((np.ones(3), np.ones(3), np.ones(1)), RuntimeError,
                         "1D target tensor expects 2D input tensors")]),
    OpSpec("nn.multi_margin_loss",
           lambda m, x, y, w, **kw: F(m).multi_margin_loss(x, y, weight=w, **kw),
           _reductions(_multi_margin), errors=[
               ErrorCase((np.ones((4, 3)), np.array([0, 1, 3, 1]), np.ones(3)), RuntimeError,
                         "target out of range"),
               ErrorCase((np.ones((4, 3)), np.array([0, 1]), np.ones(3)), RuntimeError,
                         r"Expected target size \[4\], but got \[2\]"),
               ErrorCase((np.ones((4, 3)), np.array([0, 1, 1, 1]), np.ones(2)), RuntimeError,
                         r"inconsistent weight size, expected 3 but got \[2\]"),
               ErrorCase((np.ones((4, 3)), np.array([0, 1, 1, 1]), None), ValueError,
                         "only p == 1 and p == 2 supported", {"p": 3}),
           ]),
    OpSpec("nn.multi_margin_loss_1d", lambda m, x, y: F(m).multi_margin_loss(x, y),
           lambda rng: [Sample((np.array([0.3, -0.45, 0.12]), np.array(1)))]),
    OpSpec("nn.multilabel_margin_loss",
           lambda m, x, y, **kw: F(m).multilabel_margin_loss(x, y, **kw),
           lambda rng: [Sample((np.round(randn(rng, 3, 4), 1) + 0.013,
                                np.array([[3, 0, -1, 1], [1, 1, 2, -1], [-1, 0, 0, 0]])),
                               {"reduction": r}) for r in ("mean", "none")]
           + [Sample((np.array([0.1, 0.52, -0.33]), np.array([2, -1, 0])))], errors=[
               ErrorCase((np.ones((2, 3)), np.array([[0, 1, -1]])), RuntimeError,
                         "inconsistent target size"),
               ErrorCase((np.ones(3), np.array([5, -1, 0])), RuntimeError, "out of range")]),
    OpSpec("nn.triplet_margin_loss",
           lambda m, a, p, n, **kw: F(m).triplet_margin_loss(a, p, n, **kw),
           _reductions(_triplet, ((0, 3), (0, 3), (0, 3))), errors=[
               ErrorCase((np.ones((4, 3)), np.ones((4, 3)), np.ones(3)), RuntimeError,
                         "anchor 2D, positive 2D, and negative 1D inputs"),
               ErrorCase((np.ones(3), np.ones(3), np.ones(3)), ValueError,
                         "margin must be greater than 0, got -1", {"margin": -1})]),
    OpSpec("nn.triplet_margin_loss_p1",
           lambda m, a, p, n: F(m).triplet_margin_loss(a, p, n, p=1, margin=2.0),
           lambda rng: [Sample((randn(rng, 3), randn(rng, 3), randn(rng, 3)))]),
    OpSpec("nn.triplet_margin_with_distance_loss",
           lambda m, a, p, n: F(m).triplet_margin_with_distance_loss(
               a, p, n, distance_function=lambda x, y: 1 - F(m).cosine_similarity(x, y),
               margin=1.5, swap=True),
           lambda rng: [Sample((randn(rng, 4, 3), randn(rng, 4, 3), randn(rng, 4, 3)))]),
)


# -------------------------------------------------------------------- likelihoods
def _kl(log_target):
    def make(rng):
        out = []
        for reduction in ("batchmean", "sum", "none", "mean"):
            x = np.log(rng.dirichlet(np.ones(4), 3))
            t = rng.dirichlet(np.ones(4), 3)
            t[0, 1] = 0.0  # 0 * log(0) counts as 0
            out.append(Sample((x, np.log(t + 1e-3) if log_target else t),
                              {"reduction": reduction, "log_target": log_target},
                              grad_args=(0, 1) if log_target else (0,)))
        out.append(Sample((np.zeros((0, 4)), np.zeros((0, 4))),
                          {"reduction": "batchmean", "log_target": log_target}, grad_args=(0,)))
        return out

    return make


def _poisson(rng):
    out = []
    for reduction, log_input, full in (("mean", True, False), ("sum", False, True),
                                       ("none", True, True)):
        x = randn(rng, 3, 4) if log_input else randn(rng, 3, 4, lo=0.2, hi=3)
        y = rng.integers(0, 5, (3, 4)).astype(float)
        out.append(Sample((x, y), {"reduction": reduction, "log_input": log_input, "full": full},
                          grad_args=(0,)))
    out.append(Sample((np.zeros((0, 3)), np.zeros((0, 3))), grad_args=(0,)))
    return out


def _gaussian(rng):
    out = []
    for reduction, var_shape, full in (("mean", (3, 4), False), ("sum", (3,), True),
                                       ("none", (3, 1), False)):
        var = randn(rng, *var_shape, lo=0.2, hi=2)
        out.append(Sample((randn(rng, 3, 4), randn(rng, 3, 4), var),
                          {"reduction": reduction, "full": full}))
    out.append(Sample((randn(rng, 2, 3, 4), randn(rng, 2, 3, 4), randn(rng, 2, 1, 4, lo=0.5,
                                                                          hi=1))))
    out.append(Sample((np.zeros((0, 3)), np.zeros((0, 3)), np.ones((0, 3)))))
    return out


register(
    OpSpec("nn.kl_div", _quiet(lambda m, x, t, **kw: F(m).kl_div(x, t, **kw)), _kl(False),
           errors=[ErrorCase((np.ones(2), np.ones(2)), ValueError,
                             "avg is not a valid value for reduction", {"reduction": "avg"})]),
    OpSpec("nn.kl_div_log_target", _quiet(lambda m, x, t, **kw: F(m).kl_div(x, t, **kw)),
           _kl(True)),
    OpSpec("nn.poisson_nll_loss", lambda m, x, y, **kw: F(m).poisson_nll_loss(x, y, **kw),
           _poisson),
    OpSpec("nn.gaussian_nll_loss", lambda m, x, y, v, **kw: F(m).gaussian_nll_loss(x, y, v, **kw),
           _gaussian, errors=[
               ErrorCase((np.ones((4, 3)), np.ones((4, 3)), np.ones((4, 2))), ValueError,
                         "var is of incorrect size"),
               ErrorCase((np.ones((4, 3)), np.ones((4, 3)), -np.ones((4, 3))), ValueError,
                         "var has negative entry/entries"),
               ErrorCase((np.ones((4, 3)), np.ones((4, 3)), np.ones((4, 3))), ValueError,
                         "x is not valid", {"reduction": "x"})]),
)


def _ctc(rng):
    """Logits (T, N, C) through log_softmax (PyTorch's ctc gradient is the logits' gradient, so
    finite differences hold only through it), padded or concatenated targets with repeats, an
    empty target and an input too short for its target (zero_infinity)."""
    out = []
    targets = np.array([[1, 1, 2], [3, 0, 0], [2, 3, 2], [1, 2, 3]])
    short = (np.array([6, 5, 4, 2]), np.array([3, 0, 3, 3]))  # the last sample: inf
    for reduction, zero_infinity, lengths in (("mean", True, short), ("sum", True, short),
                                              ("none", False, (np.array([6, 6, 4, 3]), short[1]))):
        out.append(Sample((randn(rng, 6, 4, 4), targets, *lengths),
                          {"reduction": reduction, "zero_infinity": zero_infinity}))
    out.append(Sample((randn(rng, 5, 2, 3), np.array([1, 1, 2, 1]), np.array([5, 4]),
                       np.array([2, 2])), {"blank": 0}))
    out.append(Sample((randn(rng, 5, 3), np.array([2, 2]), np.array([5]), np.array([2])),
                      {"blank": 1, "reduction": "none"}))
    return out


def _ctc_loss(m, logits, targets, input_lengths, target_lengths, **kw):
    log_probs = F(m).log_softmax(logits, -1)
    return F(m).ctc_loss(log_probs, targets, input_lengths, target_lengths, **kw)


register(
    OpSpec("nn.ctc_loss", _ctc_loss, _ctc, gradgrad=False, errors=[
        ErrorCase((np.zeros((6, 2, 4)), np.ones((2, 3), int), np.array([7, 6]),
                   np.array([3, 3])), RuntimeError,
                  "Expected input_lengths to have value at most 6, but got value 7"),
        ErrorCase((np.zeros((6, 2, 4)), np.ones((2, 3), int), np.array([6, 6]),
                   np.array([3, 3])), RuntimeError, "blank must be in label range",
                  {"blank": 4}),
        ErrorCase((np.zeros((6, 2, 4)), np.ones((2, 3), int), np.array([6, 6]),
                   np.array([3, 3])), ValueError, "x is not a valid value for reduction",
                  {"reduction": "x"})]),
)

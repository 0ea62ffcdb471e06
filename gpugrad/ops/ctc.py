"""Connectionist temporal classification: the negative log-likelihood of each sample's target
under all its alignments (``CtcLoss``), and its gradient (``CtcLossGrad``). Argument checks and
the reductions live in ``nn/functional/loss_ctc.py``.

A target ``l`` of length ``L`` is extended with blanks to ``l'`` = (blank, l1, blank, l2, ...,
blank), ``2L + 1`` states. In log space, with ``y[t, s] = log_probs[t, l'[s]]``:

    alpha[0, 0] = y[0, 0],  alpha[0, 1] = y[0, 1]  (if L > 0)
    alpha[t, s] = logsumexp(alpha[t-1, s], alpha[t-1, s-1], alpha[t-1, s-2] if l'[s] != l'[s-2])
                  + y[t, s]
    nll = -logsumexp(alpha[T-1, 2L], alpha[T-1, 2L-1])        (T: the sample's input length)

and beta the same recursion run backwards from ``T-1`` (it includes ``y[t, s]`` too). The
gradient is PyTorch's:

    grad[t, c] = exp(log_probs[t, c]) - exp(logsumexp_{s: l'[s]=c}(alpha[t, s] + beta[t, s])
                                            + nll - log_probs[t, c])        for t < T, else 0

the derivative of the loss with respect to the logits that ``log_probs = log_softmax(logits)``
comes from. It differs from the derivative with respect to ``log_probs`` by ``softmax``, which
the backward of ``log_softmax`` removes (each row of the second term sums to 1): chained through
``log_softmax`` it is exact.

Both recursions step over time in Python, each step a few array ops over (batch, states) with
the inputs' array module, so they run on NumPy and CuPy alike; padding columns of ``-inf``
stand in for the states before 0 (alpha) and after ``2L`` (beta). States past a sample's
``2L`` take values in alpha but never flow back (the recursion only moves up), and stay
``-inf`` in beta, so they add nothing to the gradient; steps past a sample's length likewise.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function

__all__ = ["CtcLoss", "CtcLossGrad"]


def _logsumexp3(xp, a, b, c):
    """``log(exp(a) + exp(b) + exp(c))`` elementwise, ``-inf`` where all three are."""
    m = xp.maximum(xp.maximum(a, b), c)
    m = xp.where(xp.isneginf(m), 0, m)
    return xp.log(xp.exp(a - m) + xp.exp(b - m) + xp.exp(c - m)) + m


def _emissions(xp, log_probs, ext):
    """``y[t, n, s] = log_probs[t, n, ext[n, s]]`` (T, N, 2L + 1)."""
    return log_probs[:, xp.arange(ext.shape[0])[:, None], ext]


def _alpha(xp, y, can_skip, input_lengths, target_lengths):
    """Forward variables (T, N, 2 + S2): two ``-inf`` columns first, then the states; and the
    log-likelihood of each sample (N,)."""
    T, N, S2 = y.shape
    alpha = xp.full((T, N, S2 + 2), -np.inf, dtype=y.dtype)
    alpha[0, :, 2] = y[0, :, 0]
    if S2 > 1:
        alpha[0, :, 3] = xp.where(target_lengths > 0, y[0, :, 1], -np.inf)
    for t in range(1, T):
        prev = alpha[t - 1]
        skip = xp.where(can_skip, prev[:, :-2], -np.inf)
        alpha[t, :, 2:] = _logsumexp3(xp, prev[:, 2:], prev[:, 1:-1], skip) + y[t]
    rows = xp.arange(N)
    last = xp.maximum(input_lengths - 1, 0)
    end = alpha[last, rows, 2 + 2 * target_lengths]
    before = xp.where(target_lengths > 0,
                      alpha[last, rows, 2 + xp.maximum(2 * target_lengths - 1, 0)], -np.inf)
    ll = _logsumexp3(xp, end, before, xp.full_like(end, -np.inf))
    ll = xp.where(input_lengths > 0, ll, xp.where(target_lengths > 0, -np.inf, 0.0))
    return alpha, ll.astype(y.dtype, copy=False)


class CtcLoss(Function):
    """The CTC loss of each sample (N,), for ``log_probs`` (T, N, C) and the extended targets
    ``ext`` (N, 2L + 1) (an index array: blanks at even states); lengths as index arrays (N,)
    on the same device."""

    node_name = "CtcLossBackward0"
    _next_inputs = (0,)

    @staticmethod
    def forward(ctx, log_probs, ext, input_lengths, target_lengths, zero_infinity):
        backend = log_probs._backend
        xp = backend.xp
        with np.errstate(divide="ignore", invalid="ignore"):
            y = _emissions(xp, log_probs._data, ext)
            can_skip = xp.zeros(ext.shape, dtype=bool)
            can_skip[:, 2:] = ext[:, 2:] != ext[:, :-2]
            alpha, ll = _alpha(xp, y, can_skip, input_lengths, target_lengths)
        nll = -ll
        ctx.save_for_backward(log_probs)
        ctx.arrays = (ext, input_lengths, target_lengths, alpha, can_skip, nll)
        ctx.zero_infinity = zero_infinity
        return log_probs._new(nll)

    @staticmethod
    def backward(ctx, grad):
        (log_probs,) = ctx.saved_tensors
        return CtcLossGrad.apply(grad, log_probs, ctx.arrays, ctx.zero_infinity), *(None,) * 4


class CtcLossGrad(Function):
    """The gradient of ``CtcLoss`` for the upstream gradient ``grad`` (N,), as its own node:
    PyTorch has no derivative for it, and neither has this one."""

    node_name = "CtcLossBackwardBackward0"

    @staticmethod
    def forward(ctx, grad, log_probs, arrays, zero_infinity):
        backend = log_probs._backend
        xp = backend.xp
        lp = log_probs._data
        ext, input_lengths, target_lengths, alpha, can_skip, nll = arrays
        T, N, C = lp.shape
        S2 = ext.shape[1]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            y = _emissions(xp, lp, ext)
            states = xp.arange(S2)
            ends = ((states == 2 * target_lengths[:, None])
                    | ((states == 2 * target_lengths[:, None] - 1)
                       & (target_lengths[:, None] > 0)))
            skip_up = xp.zeros_like(can_skip)
            skip_up[:, :-2] = can_skip[:, 2:]  # from s + 2 down to s
            beta = xp.full((T, N, S2 + 2), -np.inf, dtype=lp.dtype)
            last = (input_lengths - 1)[:, None]
            for t in range(T - 1, -1, -1):
                if t < T - 1:
                    nxt = beta[t + 1]
                    step = _logsumexp3(xp, nxt[:, :S2], nxt[:, 1:S2 + 1],
                                       xp.where(skip_up, nxt[:, 2:], -np.inf)) + y[t]
                else:
                    step = xp.full((N, S2), -np.inf, dtype=lp.dtype)
                start = xp.where(ends, y[t], -np.inf)
                beta[t, :, :S2] = xp.where(t == last, start, xp.where(t < last, step, -np.inf))
            ab = alpha[:, :, 2:] + beta[:, :, :S2]
            top = ab.max(axis=2, keepdims=True)
            top = xp.where(xp.isneginf(top), 0, top)
            summed = xp.zeros((T, N, C), dtype=lp.dtype)
            backend.scatter_add(summed, 2, xp.broadcast_to(ext[None], ab.shape),
                                xp.exp(ab - top))
            lcab = xp.log(summed) + top
            out = xp.exp(lp) - xp.exp(lcab + nll[None, :, None] - lp)
        keep = xp.arange(T)[:, None] < input_lengths[None, :]
        if zero_infinity:
            keep = keep & ~xp.isinf(nll)[None, :]
        out = xp.where(keep[:, :, None], out, 0) * grad._data[None, :, None]
        return log_probs._new(out.astype(lp.dtype, copy=False))

    @staticmethod
    def backward(ctx, grad_grad):
        raise RuntimeError("derivative for aten::_ctc_loss_backward is not implemented")

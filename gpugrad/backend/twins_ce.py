"""NumPy twins of the fused softmax-cross-entropy kernels, for class indices and for class
probabilities (conventions: ``twins_loss.py``)."""

from __future__ import annotations

import numpy as np

from .bfloat16 import widened
from .twins_loss import PARALLEL_ELEMENTS, mean_scale, run_in_halves

# Cross-entropy works through the logits in blocks of rows, so that the passes of one block
# (max, exp, sum, scale) run on data that is still in cache; blocks spread over threads.
_BLOCK_ELEMENTS = 1 << 18


class CrossEntropyTwins:
    """Mixin of the cross-entropy primitives for a backend with ``self.xp``."""

    def cross_entropy(self, logits, target, weight, ignore_index: int, label_smoothing: float,
                      reduction: str, need_grad: bool):
        """Softmax cross-entropy on ``logits`` (N, C) of class indices ``target`` (N,) int64;
        ``weight`` a (C,) array or None. Returns ``(loss, grad_logits)``.

        Row i contributes ``(1-eps) * w[t_i] * (lse_i - x[i, t_i]) + eps/C * sum_c w[c] *
        (lse_i - x[i, c])`` (``eps`` the label smoothing, rows whose target is ``ignore_index``
        contribute 0) and the mean divides by ``sum_i w[t_i]`` over kept rows. Its gradient is
        ``p_ij * a_i - b_ij`` with ``p`` the softmax, ``a_i = (1-eps) * w[t_i] + eps/C *
        sum_c w[c]`` and ``b_ij = (1-eps) * w[t_i] * [j == t_i] + eps/C * w[j]``.
        """
        if logits.dtype.kind == "V":  # bfloat16 (bfloat16.py)
            return widened(self.cross_entropy, logits, target, weight, ignore_index,
                           label_smoothing, reduction, need_grad)
        xp = self.xp
        n, c = logits.shape
        dtype = logits.dtype
        if (weight is None and not label_smoothing and 0 < n * c <= _BLOCK_ELEMENTS
                and bool((target != ignore_index).all())):
            return self._plain_cross_entropy(logits, target, reduction, need_grad)
        keep = target != ignore_index
        w_t = keep.astype(dtype) if weight is None else xp.where(
            keep, weight[xp.where(keep, target, 0)], 0).astype(dtype)
        denom = w_t.sum()
        row_scale = xp.asarray(1.0, dtype) / denom if reduction == "mean" else 1.0
        grad = xp.empty((n, c), dtype) if need_grad else None
        row_loss = xp.empty(n, dtype)
        w_sum = c if weight is None else weight.sum()

        def block(lo: int, hi: int) -> None:
            x = logits[lo:hi]
            buf = grad[lo:hi] if need_grad else xp.empty(x.shape, dtype)
            shifted = self._shifted(x, buf)
            t = xp.where(keep[lo:hi], target[lo:hi], 0)
            rows = xp.arange(hi - lo)
            shifted_t = shifted[rows, t]
            if label_smoothing:
                shifted_w = shifted.sum(axis=1) if weight is None else shifted @ weight
            sum_exp, log_sum = self._exp_sums(buf)
            wt = w_t[lo:hi]
            loss = (1 - label_smoothing) * wt * (log_sum - shifted_t)
            if label_smoothing:
                smooth = label_smoothing / c * (log_sum * w_sum - shifted_w)
                loss = loss + xp.where(keep[lo:hi], smooth, 0)
            row_loss[lo:hi] = loss
            if not need_grad:
                return
            scale = xp.where(keep[lo:hi], row_scale, 0).astype(dtype)
            a = (1 - label_smoothing) * wt
            if label_smoothing:
                a = a + label_smoothing / c * w_sum
            buf *= (scale * a / sum_exp)[:, None]
            buf[rows, t] -= scale * (1 - label_smoothing) * wt
            if label_smoothing:
                smooth_w = 1.0 if weight is None else weight[None, :]
                buf -= (scale * (label_smoothing / c))[:, None] * smooth_w

        self._row_blocks(block, n, c)
        if reduction == "none":
            return row_loss, grad
        total = row_loss.sum()
        if reduction == "mean":
            total = total / denom  # 0/0 = nan when nothing counts
        return xp.asarray(total, dtype), grad

    def cross_entropy_probs(self, logits, target, weight, label_smoothing: float,
                            reduction: str, need_grad: bool):
        """Softmax cross-entropy on ``logits`` (N, C) of class probabilities ``target`` (N, C)
        (the logits' dtype); ``weight`` a (C,) array or None. Returns ``(loss, grad_logits)``.

        With ``q`` smoothed to ``(1-eps) * q + eps/C``, row i contributes ``sum_c w[c] q_ic
        (lse_i - x_ic)``, the mean divides by N, and the gradient is ``p_ij * sum_c w[c] q_ic
        - w[j] q_ij``.
        """
        if logits.dtype.kind == "V":  # bfloat16 (bfloat16.py)
            return widened(self.cross_entropy_probs, logits, target, weight, label_smoothing,
                           reduction, need_grad)
        xp = self.xp
        n, c = logits.shape
        dtype = logits.dtype
        row_scale = mean_scale(reduction, n)
        grad = xp.empty((n, c), dtype) if need_grad else None
        row_loss = xp.empty(n, dtype)

        def block(lo: int, hi: int) -> None:
            x = logits[lo:hi]
            buf = grad[lo:hi] if need_grad else xp.empty(x.shape, dtype)
            shifted = self._shifted(x, buf)
            q = target[lo:hi]
            if label_smoothing:
                q = q * (1 - label_smoothing) + label_smoothing / c
            wq = q if weight is None else q * weight
            shifted_dot = xp.einsum("ij,ij->i", wq, shifted)
            sum_exp, log_sum = self._exp_sums(buf)
            total = wq.sum(axis=1)
            row_loss[lo:hi] = log_sum * total - shifted_dot
            if need_grad:
                buf *= (row_scale * total / sum_exp)[:, None]
                buf -= row_scale * wq

        self._row_blocks(block, n, c)
        if reduction == "none":
            return row_loss, grad
        total = row_loss.sum()
        if reduction == "mean":
            total = total / n if n else np.nan
        return xp.asarray(total, dtype), grad

    def _shifted(self, x, buf):
        """``x - max`` of each row, written into ``buf``. The loss reads terms of it (exact
        where it matters: lse - x_c = log(sum_exp) - (x_c - max)) before ``_exp_sums`` turns
        it into exp(x - max) in place."""
        row_max = x.max(axis=1, keepdims=True) if x.shape[1] else self.xp.zeros(
            (x.shape[0], 1), x.dtype)
        return self.xp.subtract(x, row_max, out=buf)

    def _exp_sums(self, buf):
        """``buf`` (shifted logits) exponentiated in place; each row's sum of exp and its log."""
        xp = self.xp
        xp.exp(buf, out=buf)
        sum_exp = buf.sum(axis=1)
        return sum_exp, xp.log(sum_exp)

    def _plain_cross_entropy(self, logits, target, reduction: str, need_grad: bool):
        """``cross_entropy`` with class indices, no weight, no smoothing, no ignored row, in
        one block: the same arithmetic in half the array calls, for the small batches whose
        time is all per-call cost. Row i: ``lse_i - x[i, t_i]``; gradient ``p_ij - [j == t_i]``,
        over N for a mean."""
        xp = self.xp
        n = logits.shape[0]
        rows = xp.arange(n)
        shifted = logits - logits.max(axis=1, keepdims=True)
        row_loss = -shifted[rows, target]
        exp = xp.exp(shifted, out=shifted)
        sum_exp = exp.sum(axis=1)
        row_loss += xp.log(sum_exp)
        grad = None
        scale = 1.0 / n if reduction == "mean" else 1.0
        if need_grad:
            grad = exp
            grad *= (scale / sum_exp)[:, None]
            grad[rows, target] -= scale
        if reduction == "none":
            return row_loss, grad
        total = row_loss.sum()
        return xp.asarray(total / n if reduction == "mean" else total, logits.dtype), grad

    def _row_blocks(self, block, n: int, c: int) -> None:
        """Run ``block(lo, hi)`` over row blocks, on two threads for big NumPy inputs."""
        rows = max(1, _BLOCK_ELEMENTS // max(c, 1))
        bounds = [(lo, min(lo + rows, n)) for lo in range(0, n, rows)] or [(0, 0)]
        if self.xp is not np or n * c < PARALLEL_ELEMENTS or len(bounds) < 2:
            for lo, hi in bounds:
                block(lo, hi)
            return

        def run(first: int, last: int) -> None:
            for lo, hi in bounds[first:last]:
                block(lo, hi)

        run_in_halves(run, len(bounds))

"""NumPy twins of the fused loss kernels.

Every loss primitive computes the loss AND the gradient of its input in one pass, so that
backward only scales that gradient by ``grad_output`` (``scale_loss_grad``). Shapes and
conventions:
- ``reduction`` is ``"mean"``, ``"sum"`` or ``"none"``; the loss is a 0-d array for mean and sum,
  per-element (per-row for cross-entropy) for none;
- the returned gradient is d(loss)/d(input) for an upstream gradient of 1 (of ones for none), in
  a fresh array the caller owns; ``None`` when ``need_grad`` is False (under ``no_grad`` it is
  not computed);
- a mean over zero elements is nan (0/0), as in PyTorch; its gradient is all zeros;
- inputs have already been validated (shapes, dtypes, target ranges) by the op layer;
- bfloat16 inputs compute in float32 and round once (``bfloat16.py``).
"""

from __future__ import annotations

import numpy as np

from .bfloat16 import widened

# Inputs from this many elements on are swept on two threads (NumPy releases the GIL inside
# its loops).
PARALLEL_ELEMENTS = 1 << 20
# The elementwise losses sweep flat blocks the same way: the passes of a block (a dozen for
# BCE) run on data still in cache, the full-size arrays are read and written once. 2^17 was
# fastest on a 2-core EPYC (smaller blocks pay Python's per-call cost, 2^14: 1.5x slower).
_FLAT_BLOCK_ELEMENTS = 1 << 17
_INT_OF = {2: np.int16, 4: np.int32, 8: np.int64}


def _reduce(xp, loss, reduction: str):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.mean() if loss.size else xp.asarray(np.nan, loss.dtype)


def mean_scale(reduction: str, n: int) -> float:
    return 1.0 / n if reduction == "mean" and n else 1.0


class LossTwins:
    """Mixin of loss primitives for a backend with ``self.xp``."""

    # ----------------------------------------------------------- binary cross-entropy
    def bce_with_logits(self, x, y, weight, pos_weight, reduction: str, need_grad: bool):
        """Binary cross-entropy on logits, ``weight``/``pos_weight`` broadcastable or None.

        ``loss = (1 - y) * x + (1 + (pos_weight - 1) * y) * softplus(-x)``, times ``weight``,
        with ``softplus(-x) = max(-x, 0) + log1p(exp(-|x|))`` (stable for any ``x``).
        Gradient: ``(1 - y) - (1 + (pos_weight - 1) * y) * sigmoid(-x)``, times ``weight``.
        """
        if x.dtype.kind == "V":  # bfloat16 (bfloat16.py)
            return widened(self.bce_with_logits, x, y, weight, pos_weight, reduction, need_grad)
        xp = self.xp
        if xp is np and weight is None and pos_weight is None and x.dtype.itemsize in _INT_OF:
            return _flat_loss(_bce_logits_block, 4, x, y, reduction, need_grad)
        e = xp.exp(-xp.abs(x))
        softplus_neg = xp.maximum(-x, 0) + xp.log1p(e)
        log_weight = None if pos_weight is None else 1 + (pos_weight - 1) * y
        loss = (1 - y) * x + (softplus_neg if log_weight is None else log_weight * softplus_neg)
        if weight is not None:
            loss = loss * weight
        grad = None
        if need_grad:
            # sigmoid(-x) from e = exp(-|x|) without overflow: e/(1+e) for x >= 0, 1/(1+e) else
            # sigmoid(-x) = where(x >= 0, e, 1) / (1 + e); maximum(e, x < 0) selects the same
            # (e <= 1) without where's per-element branch.
            sig_neg = xp.maximum(e, x < 0) / (1 + e)
            if log_weight is None:
                grad = (1 - y) - sig_neg
            else:
                grad = (1 - y) - log_weight * sig_neg
            if weight is not None:
                grad = grad * weight
            grad = self._scaled(grad, reduction, loss.size, x.dtype)
        return _reduce(xp, loss.astype(x.dtype, copy=False), reduction), grad

    def bce(self, x, y, weight, reduction: str, need_grad: bool):
        """Binary cross-entropy on probabilities ``x`` in [0, 1], logs clamped at -100.

        ``loss = -(y * max(log x, -100) + (1 - y) * max(log(1 - x), -100))``, times ``weight``;
        gradient ``(x - y) / max(x * (1 - x), 1e-12)``, times ``weight`` (PyTorch's formulas).
        """
        if x.dtype.kind == "V":  # bfloat16 (bfloat16.py)
            return widened(self.bce, x, y, weight, reduction, need_grad)
        xp = self.xp
        log_x = xp.maximum(xp.log(x), -100)
        log_1mx = xp.maximum(xp.log1p(-x), -100)
        loss = (y - 1) * log_1mx - y * log_x
        if weight is not None:
            loss = loss * weight
        grad = None
        if need_grad:
            grad = (x - y) / xp.maximum((1 - x) * x, 1e-12)
            if weight is not None:
                grad = grad * weight
            grad = self._scaled(grad, reduction, loss.size, x.dtype)
        return _reduce(xp, loss.astype(x.dtype, copy=False), reduction), grad

    # ------------------------------------------------------------------- regression
    def mse(self, x, y, reduction: str, need_grad: bool):
        """Mean squared error; the gradient of ``y`` is the negative of the returned one."""
        if x.dtype.kind == "V":  # bfloat16 (bfloat16.py)
            return widened(self.mse, x, y, reduction, need_grad)
        if self.xp is np and x.shape == y.shape:
            return _flat_loss(_mse_block, 1, x, y, reduction, need_grad)
        diff = self.xp.subtract(x, y)
        loss = diff * diff
        grad = None
        if need_grad:
            diff *= 2
            grad = self._scaled(diff, reduction, loss.size, x.dtype)
        return _reduce(self.xp, loss, reduction), grad

    def l1(self, x, y, reduction: str, need_grad: bool):
        """Mean absolute error; the gradient of ``y`` is the negative of the returned one."""
        if x.dtype.kind == "V":  # bfloat16 (bfloat16.py)
            return widened(self.l1, x, y, reduction, need_grad)
        if self.xp is np and x.shape == y.shape:
            return _flat_loss(_l1_block, 1, x, y, reduction, need_grad)
        xp = self.xp
        diff = xp.subtract(x, y)
        grad = self._scaled(xp.sign(diff), reduction, diff.size, x.dtype) if need_grad else None
        return _reduce(xp, xp.abs(diff, out=diff), reduction), grad

    def smooth_l1(self, x, y, beta: float, reduction: str, need_grad: bool):
        """``0.5 * d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 * beta`` (``d = x - y``);
        ``beta == 0`` is the L1 loss. The gradient of ``y`` is the negative of the returned one."""
        if x.dtype.kind == "V":  # bfloat16 (bfloat16.py)
            return widened(self.smooth_l1, x, y, beta, reduction, need_grad)
        if beta == 0:
            return self.l1(x, y, reduction, need_grad)
        xp = self.xp
        diff = xp.subtract(x, y)
        abs_diff = xp.abs(diff)
        inside = abs_diff < beta
        loss = xp.where(inside, 0.5 / beta * diff * diff, abs_diff - 0.5 * beta)
        grad = None
        if need_grad:
            grad = self._scaled(xp.where(inside, diff / beta, xp.sign(diff)), reduction,
                                diff.size, x.dtype)
        return _reduce(xp, loss.astype(x.dtype, copy=False), reduction), grad

    def huber(self, x, y, delta: float, reduction: str, need_grad: bool):
        """``0.5 * d^2`` where ``|d| < delta``, else ``delta * (|d| - 0.5 * delta)``; the gradient
        of ``y`` is the negative of the returned one."""
        if x.dtype.kind == "V":  # bfloat16 (bfloat16.py)
            return widened(self.huber, x, y, delta, reduction, need_grad)
        xp = self.xp
        diff = xp.subtract(x, y)
        abs_diff = xp.abs(diff)
        inside = abs_diff < delta
        loss = xp.where(inside, 0.5 * diff * diff, delta * (abs_diff - 0.5 * delta))
        grad = None
        if need_grad:
            grad = self._scaled(xp.where(inside, diff, delta * xp.sign(diff)), reduction,
                                diff.size, x.dtype)
        return _reduce(xp, loss.astype(x.dtype, copy=False), reduction), grad

    # ---------------------------------------------------------------------- backward
    def scale_loss_grad(self, grad_input, grad_output):
        """``grad_input * grad_output`` in place (``grad_output`` broadcasts against it: 0-d for
        mean/sum, the loss's shape, with trailing 1s, for none); returns ``grad_input``. (After
        ``loss.backward()`` the op does not call it: the engine tells it the upstream gradient is
        the all-ones seed.)"""
        if grad_input.dtype.kind == "V":  # bfloat16 (bfloat16.py)
            return widened(self.scale_loss_grad, grad_input, grad_output)
        grad_input *= grad_output
        return grad_input

    def _scaled(self, grad, reduction: str, n: int, dtype):
        """The elementwise gradient divided by ``n`` for a mean, in ``dtype``."""
        grad = grad.astype(dtype, copy=False)
        if reduction == "mean" and n:
            grad *= 1.0 / n
        return grad


_pool = None


def _threads() -> int:
    import os

    return max(1, min(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                      else (os.cpu_count() or 1)))


def run_in_halves(run, count: int) -> None:
    """``run(0, half)`` and ``run(half, count)`` on two threads of a shared pool."""
    global _pool
    if _pool is None:
        from concurrent.futures import ThreadPoolExecutor

        _pool = ThreadPoolExecutor(max_workers=_threads())
    half = (count + 1) // 2
    for f in [_pool.submit(run, 0, half), _pool.submit(run, half, count)]:
        f.result()


# ------------------------------------------------------------- blockwise elementwise losses
def _flat_loss(block, n_scratch: int, x, y, reduction: str, need_grad: bool):
    """Run ``block(x, y, loss, grad, scale, scratch)`` over flat blocks of ``x`` and ``y`` (same
    shape, NumPy), which writes the block's per-element loss into ``loss`` (the output's slice
    for reduction none, else a scratch buffer summed here) and its gradient into ``grad`` (None
    without ``need_grad``) times ``scale`` (the mean's 1/n, else 1); ``scratch`` holds
    ``n_scratch`` block buffers."""
    dtype, shape, n = x.dtype, x.shape, x.size
    x, y = np.ascontiguousarray(x).reshape(-1), np.ascontiguousarray(y, dtype).reshape(-1)
    keep = reduction == "none"
    # The results own their memory (the engine steals such a gradient instead of copying it);
    # the blocks write through flat views.
    loss_out = np.empty(shape, dtype) if keep else None
    grad_out = np.empty(shape, dtype) if need_grad else None
    loss = None if loss_out is None else loss_out.reshape(-1)
    grad = None if grad_out is None else grad_out.reshape(-1)
    scale = mean_scale(reduction, n)
    bounds = [(lo, min(lo + _FLAT_BLOCK_ELEMENTS, n)) for lo in range(0, n, _FLAT_BLOCK_ELEMENTS)]
    sums = np.zeros(len(bounds))
    acc = np.float32 if dtype.itemsize < 4 else dtype  # half sums as PyTorch: in float32

    def run(first: int, last: int) -> None:
        size = min(_FLAT_BLOCK_ELEMENTS, n)
        scratch = np.empty((n_scratch + (not keep), size), dtype)
        for i in range(first, last):
            lo, hi = bounds[i]
            k = hi - lo
            out = loss[lo:hi] if keep else scratch[-1, :k]
            block(x[lo:hi], y[lo:hi], out, None if grad is None else grad[lo:hi], scale,
                  [buf[:k] for buf in scratch[:n_scratch]])
            if not keep:
                sums[i] = np.add.reduce(out, dtype=acc)

    if n < PARALLEL_ELEMENTS:
        run(0, len(bounds))
    else:
        run_in_halves(run, len(bounds))
    if keep:
        return loss_out, grad_out
    total = sums.sum()
    if reduction == "mean":
        total = total / n if n else np.nan
    return np.asarray(total, dtype), grad_out


def _bce_logits_block(x, y, loss, grad, scale, scratch):
    """BCE-with-logits of one block, as the unblocked formula, in branch-free passes: the sign
    bit gives -|x| (one OR), min(x, 0) (x AND its sign mask) and the select of sigmoid(-x)'s
    numerator (1 where x < 0, else e = exp(-|x|))."""
    e, sign, one_minus_y, tmp = scratch
    ints = _INT_OF[x.dtype.itemsize]
    x_bits, e_bits, sign_bits = x.view(ints), e.view(ints), sign.view(ints)
    np.right_shift(x_bits, x.dtype.itemsize * 8 - 1, out=sign_bits)  # all ones where x < 0
    np.bitwise_or(x_bits, np.iinfo(ints).min, out=e_bits)  # -|x|
    np.exp(e, out=e)
    np.log1p(e, out=loss)
    tmp_bits = tmp.view(ints)
    np.bitwise_and(x_bits, sign_bits, out=tmp_bits)  # min(x, 0): x where negative, else +0
    loss -= tmp  # softplus(-x) = max(-x, 0) + log1p(e)
    np.subtract(1, y, out=one_minus_y)
    np.multiply(one_minus_y, x, out=tmp)
    np.add(tmp, loss, out=loss)
    if grad is not None:
        # sigmoid(-x) = where(x < 0, 1, e) / (1 + e) = maximum(e, 1.0 where x < 0 else 0) / ...
        np.bitwise_and(sign_bits, np.ones((), x.dtype).view(ints), out=sign_bits)
        np.maximum(e, sign, out=sign)
        e += 1
        np.divide(sign, e, out=sign)
        np.subtract(one_minus_y, sign, out=grad)
        if scale != 1.0:
            grad *= scale


def _mse_block(x, y, loss, grad, scale, scratch):
    (diff,) = scratch
    np.subtract(x, y, out=diff)
    np.multiply(diff, diff, out=loss)
    if grad is not None:
        np.add(diff, diff, out=grad)
        if scale != 1.0:
            grad *= scale


def _l1_block(x, y, loss, grad, scale, scratch):
    (diff,) = scratch
    np.subtract(x, y, out=diff)
    if grad is not None:
        np.sign(diff, out=grad)
        if scale != 1.0:
            grad *= scale
    np.abs(diff, out=loss)

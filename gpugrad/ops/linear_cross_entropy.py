"""Fused linear + softmax cross-entropy over chunks of rows: the (N, C) logits never exist.

For rows ``lo:hi`` of the hidden states ``h`` (N, H), with the head ``W`` (C, H) and bias ``b``:

    logits = h[lo:hi] @ W.T + b                       (hi - lo, C): the only logits alive
    loss_rows, g = cross_entropy(logits, ...)         one pass: the losses and d loss / d logits
    grad_h[lo:hi] = g @ W        grad_W += g.T @ h[lo:hi]        grad_b += g.sum(0)

``cross_entropy`` is the backend's fused primitive (``cross_entropy`` of class indices or
``cross_entropy_probs`` of probabilities: a Triton kernel on CUDA, its NumPy twin on the CPU),
called per chunk with reduction "none"; the mean divides by the summed class weights of the
kept rows (or N with probability targets), computed once over the whole batch. Forward produces
the gradients of ``h``, ``W`` and ``b`` as it goes; backward scales them by ``grad_output`` (not
at all after ``loss.backward()``: ``is_unit_seed``; reduction "none" recomputes the chunks in
backward with each row's ``grad_output``, as a second backward through a retained graph does).
Peak extra memory: one chunk's logits and their gradient, plus the accumulators.

Precision policies (``LinearCrossEntropyOptions.acc_policy``, for float16/bfloat16 inputs):
"accurate" computes the chunk's logits, their gradient and ``grad_h`` in ``acc_dtype`` (float32)
from a float32 copy of ``W``; "balanced" computes the logits in the input dtype and accumulates
``grad_W``/``grad_b`` in an ``acc_dtype`` scratch; "compact" accumulates straight into the
input-dtype ``grad_W`` (cuBLAS keeps float32 inside each product; CUDA only: elsewhere it is
"balanced"). For float32/float64 inputs the three are the same computation.
"""

from __future__ import annotations

import numpy as np

from ..autograd.engine import is_unit_seed
from ..autograd.function import Function

__all__ = ["LinearCrossEntropy"]

_UNSUPPORTED_DOUBLE_BACKWARD = (
    "linear_cross_entropy with options (the chunked path) does not support create_graph "
    "(higher-order gradients); call it with options=None"
)


class LinearCrossEntropy(Function):
    """``cross_entropy(linear(h, W, b), target)`` in chunks of ``chunk`` rows; ``h`` is 2-D."""

    node_name = "LinearCrossEntropyBackward0"

    @staticmethod
    def forward(ctx, h, w, b, target, weight, ignore_index, label_smoothing, reduction, chunk,
                policy, acc_dtype):
        backend = h._backend
        ctx.args = (ignore_index, label_smoothing, reduction, chunk, policy, acc_dtype)
        ctx.save_for_backward(h, w, b, target, weight)
        need = ctx.needs_input_grad[:3] if reduction != "none" else (False, False, False)
        loss, grads = _run(backend, h._data, w._data, None if b is None else b._data,
                           target._data, None if weight is None else weight._data, ctx.args,
                           need, None)
        ctx.grads = grads
        return h._new(loss)

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError(_UNSUPPORTED_DOUBLE_BACKWARD)

    def _array_backward(self, grad):
        h, w, b, target, weight = self.saved_arrays()
        backend = self._backend
        need = self.needs_input_grad[:3]
        reduction = self.args[2]
        if reduction == "none":  # each row's own grad_output: the chunks run again
            grads = _run(backend, h, w, b, target, weight, self.args, need, grad)[1]
        else:
            grads = self.grads
            self.grads = None  # handed on once; a retained graph recomputes them
            if grads is None:
                grads = _run(backend, h, w, b, target, weight, self.args, need, None)[1]
            if not is_unit_seed(grad):  # after loss.backward() they are the gradients
                grads = [None if g is None else backend.scale_loss_grad(g, grad) for g in grads]
        return (*grads, None, None, None, None, None, None, None, None)


def _run(backend, h, w, b, target, weight, args, need, row_scale):
    """The loss (reduced as asked) and ``[grad_h, grad_w, grad_b]`` (None where not needed),
    each gradient times ``row_scale`` per row when it is given (reduction "none")."""
    ignore_index, label_smoothing, reduction, chunk, policy, acc_dtype = args
    xp = backend.xp
    n, c = h.shape[0], w.shape[0]
    dtype = h.dtype
    probs = target.ndim == 2
    acc = np.dtype(acc_dtype)
    compute = acc if policy == "accurate" else dtype  # logits, their gradient, grad_h
    w_compute, b_compute, weight = _as(w, compute), _as(b, compute), _as(weight, compute)
    if probs:
        target = _as(target, compute)
    need_h, need_w, need_b = need
    grad_h = xp.empty(h.shape, compute) if need_h else None
    # grad_W / grad_b accumulate in the input dtype under "compact", else in acc_dtype
    grad_dtype = dtype if policy == "compact" else acc
    grad_w = xp.zeros(w.shape, grad_dtype) if need_w else None
    grad_b = xp.zeros((c,), grad_dtype) if need_b else None
    denom = _denominator(xp, target, weight, ignore_index, probs, n) if reduction == "mean" \
        else None
    if denom is not None:  # what each row's gradient is scaled by: 0 when nothing counts
        inv_denom = xp.where(denom > 0, 1 / xp.maximum(denom, 1e-300), 0.0).astype(
            np.float32 if compute.itemsize < 4 else compute)
    rows = xp.empty(n, dtype) if reduction == "none" else None
    total = xp.zeros((), np.float64 if dtype == np.float64 else np.float32)
    any_grad = need_h or need_w or need_b
    for lo in range(0, n, chunk):
        hi = min(lo + chunk, n)
        h_rows = _as(h[lo:hi], compute)
        logits = backend.matmul(h_rows, w_compute.T)
        if b_compute is not None:
            logits += b_compute
        if probs:
            row_loss, g = backend.cross_entropy_probs(logits, target[lo:hi], weight,
                                                      label_smoothing, "none", any_grad)
        else:
            row_loss, g = backend.cross_entropy(logits, target[lo:hi], weight, ignore_index,
                                                label_smoothing, "none", any_grad)
        del logits
        if rows is not None:
            rows[lo:hi] = row_loss
        else:
            total += row_loss.astype(total.dtype).sum()
        if not any_grad:
            continue
        if row_scale is not None:
            g *= row_scale[lo:hi, None]
        elif denom is not None:
            g *= inv_denom
        if need_h:  # as (W.T @ g.T).T: OpenBLAS runs g @ W (few rows, long K) 2-5x slower
            grad_h[lo:hi] = backend.matmul(w_compute.T, g.T).T
        if need_w:
            backend.matmul_accumulate(grad_w, g.T, h_rows)
        if need_b:
            grad_b += backend.reduce("sum", g, (0,), False).astype(grad_dtype)
        del g  # before the next chunk's logits: one chunk's logits and gradient at a time
    if rows is not None:
        loss = rows
    elif reduction == "mean":
        loss = (total / denom).astype(dtype)  # 0/0 = nan when no row counts, as PyTorch
    else:
        loss = total.astype(dtype)
    grads = [None if g is None else g.astype(ref.dtype, copy=False)
             for g, ref in ((grad_h, h), (grad_w, w), (grad_b, b))]
    return loss, grads


def _as(a, dtype):
    return a if a is None or a.dtype == dtype else a.astype(dtype)


def _denominator(xp, target, weight, ignore_index, probs, n):
    """What the mean divides by, a float64 0-d array on the device (no host sync): N with
    probabilities, else the summed class weights of the kept rows (PyTorch's weighted mean)."""
    if probs:
        return xp.asarray(float(n))
    keep = target != ignore_index
    if weight is None:
        return keep.sum(dtype=np.float64)
    return xp.where(keep, weight[xp.where(keep, target, 0)].astype(np.float64), 0).sum()

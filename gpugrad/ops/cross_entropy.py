"""The classification losses' Functions: softmax cross-entropy (on logits) and the negative
log-likelihood (on log-probabilities). Argument checks live in ``nn/functional/loss_ce.py``.

Inputs are (N, C), (C,) or (N, C, d1, ...); the class dim moves last and the rest flattens to
rows, so the backend sees (M, C) logits and (M,) class indices or (M, C) probabilities.

Cross-entropy's forward makes ONE pass over the logits (the backend's fused ``cross_entropy``)
that yields the loss and the gradient of the logits; backward scales that buffer by
``grad_output`` (``scale_loss_grad``; not at all after ``loss.backward()``, whose all-ones seed
the engine recognizes: ``is_unit_seed``) and hands it on, no copy. Under ``no_grad``
the gradient is not computed. The buffer is handed on only once: a second backward through a
retained graph recomputes it.
"""

from __future__ import annotations

from ..autograd.engine import is_unit_seed
from ..autograd.function import Function
from ._util import Tensor, math_ns


def _rows(x, xp):
    """(N, C, d1, ...) -> (N*d1*..., C); (N, C) and (C,) -> 2-D as they are."""
    if x.ndim == 1:
        return x.reshape(1, -1)
    if x.ndim == 2:
        return x
    return xp.moveaxis(x, 1, -1).reshape(-1, x.shape[1])


def _unrows(g, shape, xp):
    """The inverse of ``_rows`` for a gradient of the (M, C) rows: back to ``shape`` (``g``
    itself when that is its shape: a view would make the engine copy it into ``.grad``)."""
    if g.shape == shape:
        return g
    if len(shape) <= 2:
        return g.reshape(shape)
    c = shape[1]
    return xp.moveaxis(g.reshape((shape[0],) + tuple(shape[2:]) + (c,)), -1, 1)


class _SoftmaxCrossEntropy(Function):
    """Base of the two cross-entropies: forward runs the subclass's fused primitive (``_fused``:
    the loss and the gradient of the logits' rows), the array backward hands that gradient on;
    the Tensor backward (create_graph) is each subclass's own."""

    node_name = "NllLossBackward0"
    _next_inputs = (0,)  # the target and weight are not inputs PyTorch lists

    def _fused(self, backend, rows, target, weight, need_grad: bool):
        raise NotImplementedError

    def _forward(self, logits, target, weight, reduction):
        backend = logits._backend
        rows = _rows(logits._data, backend.xp)
        w = None if weight is None else weight._data
        loss, self.grad_rows = self._fused(backend, rows, target._data, w,
                                           self.needs_input_grad[0])
        self.save_for_backward(logits, target, weight)
        if reduction == "none":
            loss = loss.reshape(loss_shape(logits._data.shape))
        return logits._new(loss)

    def _array_backward(self, grad):
        logits, target, weight = self.saved_arrays()
        need_x, need_t = self.needs_input_grad[0], self.needs_input_grad[1]
        backend = self._backend
        xp = backend.xp
        unit = is_unit_seed(grad)  # after loss.backward() the buffer is the gradient
        go = grad if grad.ndim == 0 else grad.reshape(-1, 1)
        gx = gt = None
        if need_x:
            rows = self.grad_rows
            self.grad_rows = None  # handed on once; a retained graph recomputes it
            if rows is None:
                rows = self._fused(backend, _rows(logits, xp), target, weight, True)[1]
            gx = _unrows(rows if unit else backend.scale_loss_grad(rows, go), logits.shape, xp)
        if need_t:
            rows = self._target_grad_rows(backend, _rows(logits, xp), weight)
            gt = _unrows(rows if unit else rows * go, target.shape, xp)
        return (gx, gt) + (None,) * (len(self.needs_input_grad) - 2)


class CrossEntropy(_SoftmaxCrossEntropy):
    """Softmax cross-entropy of class indices (the backend's ``cross_entropy``)."""

    @staticmethod
    def forward(ctx, logits, target, weight, ignore_index, label_smoothing, reduction):
        ctx.params = (ignore_index, label_smoothing, reduction)
        return ctx._forward(logits, target, weight, reduction)

    def _fused(self, backend, rows, target, weight, need_grad):
        return backend.cross_entropy(rows, target.reshape(-1), weight, *self.params, need_grad)

    @staticmethod
    def backward(ctx, grad):
        # On Tensors (create_graph). The gradient is linear in the softmax p of each row:
        # p * a - b, with a and b constants of the target and weights (kernels/cross_entropy.py).
        logits, target, weight = ctx.saved_tensors
        ignore_index, eps, reduction = ctx.params
        shape = logits.shape
        c = shape[1] if len(shape) > 1 else shape[0]
        x2 = _composite_rows(logits)
        p = math_ns().softmax(x2, 1)
        xp = logits._backend.xp
        dtype = logits._data.dtype
        t = target._data.reshape(-1)
        keep = t != ignore_index
        safe_t = xp.where(keep, t, 0)
        w_arr = xp.ones(c, dtype) if weight is None else weight._data
        w_t = xp.where(keep, w_arr[safe_t], 0).astype(dtype)
        row_scale = (1.0 / w_t.sum() if w_t.sum() else 0.0) if reduction == "mean" else 1.0
        scale = xp.where(keep, row_scale, 0).astype(dtype)
        a = (1 - eps) * w_t + eps / c * w_arr.sum()
        b = xp.zeros(x2.shape, dtype)
        b[xp.arange(t.shape[0]), safe_t] = (1 - eps) * w_t
        b += eps / c * w_arr
        go = grad.reshape(()) if grad.ndim == 0 else grad.reshape(-1, 1)
        gx2 = (p * logits._new((scale * a)[:, None]) - logits._new(b * scale[:, None])) * go
        return _composite_unrows(gx2, shape), None, None, None, None, None


class CrossEntropyProbs(_SoftmaxCrossEntropy):
    """Softmax cross-entropy of class probabilities (the backend's ``cross_entropy_probs``);
    differentiable in the target too."""

    @staticmethod
    def forward(ctx, logits, target, weight, label_smoothing, reduction):
        ctx.params = (label_smoothing, reduction)
        return ctx._forward(logits, target, weight, reduction)

    def _fused(self, backend, rows, target, weight, need_grad):
        return backend.cross_entropy_probs(rows, _rows(target, backend.xp), weight, *self.params,
                                           need_grad)

    def _target_grad_rows(self, backend, rows, weight):
        """d(loss)/d(target), rows (M, C): ``-(1 - eps) * w[c] * log_softmax``, over N for a
        mean."""
        eps, reduction = self.params
        g = backend.softmax(rows, 1, True) * -(1 - eps)
        if weight is not None:
            g *= weight
        if reduction == "mean" and rows.shape[0]:
            g *= 1.0 / rows.shape[0]
        return g

    @staticmethod
    def backward(ctx, grad):
        # On Tensors (create_graph): p * T - w q' for the logits, -(1 - eps) w log p for q.
        logits, target, weight = ctx.saved_tensors
        eps, reduction = ctx.params
        need_x, need_t = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        shape = logits.shape
        c = shape[1] if len(shape) > 1 else shape[0]
        x2 = _composite_rows(logits)
        logp = math_ns().log_softmax(x2, 1)
        go = grad.reshape(()) if grad.ndim == 0 else grad.reshape(-1, 1)
        q = _composite_rows(target) * (1 - eps) + eps / c
        wq = q if weight is None else q * weight
        scale = 1.0 / x2.shape[0] if reduction == "mean" and x2.shape[0] else 1.0
        gx2 = gt2 = None
        if need_x:
            gx2 = (logp.exp() * wq.sum(1, keepdim=True) - wq) * (scale * go)
        if need_t:
            wl = logp if weight is None else logp * weight
            gt2 = wl * (-(1 - eps) * scale) * go
        return (_composite_unrows(gx2, shape), _composite_unrows(gt2, shape), None, None, None)


def loss_shape(shape):
    """The shape of the unreduced loss: the input's shape without the class dim."""
    return () if len(shape) == 1 else (shape[0],) + tuple(shape[2:])


def _composite_rows(x: Tensor) -> Tensor:
    """``_rows`` with Tensor ops."""
    nd = x.ndim
    if nd <= 2:
        return x.reshape(1, -1) if nd == 1 else x
    return x.permute(0, *range(2, nd), 1).reshape(-1, x.shape[1])


def _composite_unrows(g2, shape):
    """``_unrows`` with Tensor ops."""
    if g2 is None:
        return None
    if len(shape) <= 2:
        return g2.reshape(shape)
    nd = len(shape)
    g = g2.reshape((shape[0],) + tuple(shape[2:]) + (shape[1],))
    return g.permute(0, nd - 1, *range(1, nd - 1))


class NllLoss(Function):
    """``-w[t_i] * x[i, t_i]`` per row (0 where ignored). The gradient is a constant of the
    input, ``-w[t_i]`` at ``t_i`` (over the summed weights for a mean), scaled by grad_output."""

    node_name = "NllLossBackward0"
    _next_inputs = (0,)  # the target and weight are not inputs PyTorch lists

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, reduction):
        xp = x._backend.xp
        x2 = _rows(x._data, xp)
        t = target._data.reshape(-1)
        keep = t != ignore_index
        safe_t = xp.where(keep, t, 0)
        w_t = keep.astype(x2.dtype) if weight is None else xp.where(
            keep, weight._data[safe_t], 0).astype(x2.dtype)
        picked = xp.take_along_axis(x2, safe_t[:, None], axis=1)[:, 0]
        row_loss = -w_t * picked
        row_loss = xp.where(keep, row_loss, 0).astype(x2.dtype)
        if reduction == "none":
            loss = row_loss.reshape(loss_shape(x._data.shape))
            scale = keep.astype(x2.dtype)
        elif reduction == "sum":
            loss = row_loss.sum()
            scale = keep.astype(x2.dtype)
        else:
            total = w_t.sum()
            loss = row_loss.sum() / total  # 0/0 = nan when every row is ignored
            scale = xp.where(keep, 1 / total if total else 0, 0).astype(x2.dtype)
        if ctx.needs_input_grad[0]:
            rows = xp.zeros(x2.shape, x2.dtype)
            rows[xp.arange(t.shape[0]), safe_t] = -w_t * scale
            ctx.save_for_backward(x._new(_unrows(rows, x._data.shape, xp)))
        return x._new(xp.asarray(loss, x2.dtype))

    @staticmethod
    def backward(ctx, grad):
        (g_unit,) = ctx.saved_tensors
        if grad._data.ndim:  # reduction='none': (N, d1, ...) against (N, C, d1, ...)
            grad = grad.reshape(grad.shape[:1] + (1,) + grad.shape[1:])
        return g_unit * grad, None, None, None, None

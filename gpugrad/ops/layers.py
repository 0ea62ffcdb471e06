"""The layers' Functions: ``Linear``, ``LayerNorm``, ``Embedding`` (and its weight gradient as an
op), ``LeakyRelu``. Argument checks live in ``nn/functional``.

Linear and LayerNorm have a fused backward on arrays (all the input gradients from one pass
over what forward saved); under ``create_graph=True`` the backward is rebuilt from Tensor ops
on the saved inputs, so it is differentiable again.
"""

from __future__ import annotations

from ..autograd.function import Function
from ..autograd.sparse_grad import SparseGrad
from ._grad_of_input import keep_input
from ._util import Tensor, math_ns


class Linear(Function):
    """``x @ weight.T + bias``: one matmul and an in-place bias add forward; backward gives
    ``grad @ weight``, ``grad.T @ x`` and ``grad.sum(rows)`` from the 2-D views."""

    node_name = "AddmmBackward0"
    _next_inputs = (2, 0, 1)  # PyTorch's addmm(bias, input, weight.T) lists the bias first

    @staticmethod
    def forward(ctx, x, weight, bias):
        need_x, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        ctx.save_for_backward(x if need_w else None, weight if need_x else None)
        ctx.x_shape = x._data.shape
        backend = x._backend
        if bias is None:
            return x._new(backend.matmul(x._data, weight._data.T))
        return x._new(backend.matmul_add(x._data, weight._data.T, bias._data))

    @staticmethod
    def backward(ctx, grad):
        # On Tensors (create_graph); the engine otherwise calls _array_backward.
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        n_in = ctx.x_shape[-1]
        g2 = grad.reshape(-1, grad._data.shape[-1] if grad._data.ndim else 1)
        return (grad.matmul(weight) if need_x else None,
                g2.t().matmul(x.reshape(-1, n_in)) if need_w else None,
                g2.sum(0) if need_b else None)

    def _array_backward(self, grad):
        x, weight = self.saved_arrays()
        need_x, need_w, need_b = self.needs_input_grad
        backend = self._backend
        g2 = grad.reshape(-1, grad.shape[-1] if grad.ndim else 1)
        return (backend.matmul(grad, weight) if need_x else None,
                backend.matmul(g2.T, x.reshape(-1, self.x_shape[-1])) if need_w else None,
                backend.reduce("sum", g2, (0,), False) if need_b else None)


class LinearNoBias(Linear):
    node_name = "MmBackward0"
    _next_inputs = (0, 1)


class LayerNorm(Function):
    """Normalize over the last ``k`` dims, then scale and shift:
    ``y = (x - mean) * rstd * weight + bias`` with ``rstd = 1 / sqrt(var + eps)``.

    Backward (``xhat`` the normalized input, ``gh = grad * weight``, means over the
    normalized dims): ``gx = rstd * (gh - mean(gh) - xhat * mean(gh * xhat))``,
    ``gweight = sum(grad * xhat)``, ``gbias = sum(grad)`` over the leading dims.
    """

    node_name = "NativeLayerNormBackward0"
    _next_inputs = (0, 1, 2)  # input, weight, bias (None when absent), as PyTorch

    @staticmethod
    def forward(ctx, x, weight, bias, k, eps):
        xp = x._backend.xp
        xd = x._data
        axes = tuple(range(xd.ndim - k, xd.ndim))
        mean = xd.mean(axis=axes, keepdims=True)
        centered = xd - mean
        var = (centered * centered).mean(axis=axes, keepdims=True)
        rstd = 1 / xp.sqrt(var + eps)
        xhat = centered
        xhat *= rstd
        out = xhat * weight._data if weight is not None else xhat.copy()
        if bias is not None:
            out += bias._data
        ctx.k, ctx.eps = k, eps
        ctx.save_for_backward(x, weight, x._new(xhat), x._new(rstd))
        return x._new(out)

    @staticmethod
    def backward(ctx, grad):
        # On Tensors (create_graph): recomputed from x, so it is differentiable again.
        x, weight, _, _ = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        axes = tuple(range(grad.dim() - ctx.k, grad.dim()))
        lead = tuple(range(grad.dim() - ctx.k))
        mean = x.mean(axes, keepdim=True)
        centered = x - mean
        rstd = ((centered * centered).mean(axes, keepdim=True) + ctx.eps).rsqrt()
        xhat = centered * rstd
        gh = grad * weight if weight is not None else grad
        gx = rstd * (gh - gh.mean(axes, keepdim=True)
                     - xhat * (gh * xhat).mean(axes, keepdim=True)) if need_x else None
        gw = (grad * xhat).sum(lead) if need_w else None
        gb = grad.sum(lead) if need_b else None
        return gx, gw, gb, None, None

    def _array_backward(self, grad):
        _, weight, xhat, rstd = self.saved_arrays()
        need_x, need_w, need_b = self.needs_input_grad[:3]
        axes = tuple(range(grad.ndim - self.k, grad.ndim))
        lead = tuple(range(grad.ndim - self.k))
        gx = gw = gb = None
        if need_x:
            gh = grad * weight if weight is not None else grad.copy()
            proj = (gh * xhat).mean(axis=axes, keepdims=True)
            gh -= gh.mean(axis=axes, keepdims=True)
            gh -= xhat * proj
            gh *= rstd
            gx = gh
        if need_w:
            gw = (grad * xhat).sum(axis=lead)
        if need_b:
            gb = grad.sum(axis=lead)
        return gx, gw, gb, None, None


class Embedding(Function):
    """Rows of ``weight`` picked by ``indices``; backward adds each grad row into its index's
    row (``add_at``), zeroing ``padding_idx``'s row."""

    node_name = "EmbeddingBackward0"

    @staticmethod
    def forward(ctx, weight, indices, padding_idx, scale_grad_by_freq):
        ctx.num_weights = weight._data.shape[0]
        ctx.padding_idx, ctx.scale_grad_by_freq = padding_idx, scale_grad_by_freq
        ctx.save_for_backward(indices)
        return weight._new(weight._data.take(indices._data, axis=0))  # (xp.take: a Python layer)

    @staticmethod
    def backward(ctx, grad):
        (indices,) = ctx.saved_tensors
        args = (indices, ctx.num_weights, ctx.padding_idx, ctx.scale_grad_by_freq)
        return EmbeddingDenseBackward.apply(grad, *args), None, None, None


class EmbeddingSparse(Embedding):
    """``Embedding`` whose weight gradient is sparse (``nn.Embedding(sparse=True)``): one entry
    per looked-up index (repeats listed as they come, ``padding_idx`` left out), as PyTorch's.
    Only a leaf weight gets it (``autograd/sparse_grad.py``); a weight computed by other ops,
    and a backward that records its own graph (``create_graph``), get the dense gradient."""

    node_name = "EmbeddingBackward0"

    def _array_backward(self, grad):
        if self.scale_grad_by_freq:  # (PyTorch's error, raised in backward as there)
            raise RuntimeError("embedding_backward: scale_grad_by_freq not supported with "
                               "sparse gradients")
        edge = self._edges[0]
        if edge is None or not isinstance(edge[0], Tensor):
            return super()._array_backward(grad)
        (indices,) = self.saved_tensors
        backend = self._backend
        xp = backend.xp
        dim = grad.shape[-1]
        idx = indices._data.reshape(-1)
        rows = grad.reshape(-1, dim)
        if self.padding_idx is not None:
            keep = idx != self.padding_idx
            idx, rows = idx[keep], rows[keep]
        values = xp.array(rows, copy=True)  # (fresh: .grad may own it)
        index = idx.astype(xp.int64).reshape(1, -1)
        return SparseGrad(index, values, (self.num_weights, dim)), None, None, None


class EmbeddingDenseBackward(Function):
    """The weight gradient of ``Embedding`` as its own op, so double backward works (its own
    gradient is the gather of the incoming gradient)."""

    node_name = "EmbeddingDenseBackwardBackward0"

    @staticmethod
    def forward(ctx, grad, indices, num_weights, padding_idx, scale_grad_by_freq):
        backend = grad._backend
        xp = backend.xp
        dim = grad._data.shape[-1]
        idx = indices._data.reshape(-1)
        rows = grad._data.reshape(-1, dim)
        if scale_grad_by_freq:
            counts = xp.bincount(idx, minlength=num_weights)
            rows = rows / counts[idx][:, None].astype(rows.dtype)
        out = xp.zeros((num_weights, dim), grad._data.dtype)
        backend.add_at(out, idx, rows)
        if padding_idx is not None:
            out[padding_idx] = 0
        ctx.padding_idx, ctx.scale_grad_by_freq = padding_idx, scale_grad_by_freq
        ctx.save_for_backward(indices)
        return grad._new(out)

    @staticmethod
    def backward(ctx, gg):
        (indices,) = ctx.saved_tensors
        if ctx.scale_grad_by_freq or ctx.padding_idx is not None:
            raise NotImplementedError(
                "double backward of embedding with padding_idx or scale_grad_by_freq"
            )
        return Embedding.apply(gg, indices, None, False), None, None, None, None


class LeakyRelu(Function):
    node_name = "LeakyReluBackward0"

    @staticmethod
    def forward(ctx, x, negative_slope):
        ctx.save_for_backward(x)
        ctx.negative_slope = negative_slope
        xd = x._data
        return x._new(x._backend.xp.where(xd > 0, xd, xd * negative_slope))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        grad_input = math_ns().where(x > 0, grad, grad * ctx.negative_slope)
        return keep_input("LeakyReluBackwardBackward0", grad_input, x), None

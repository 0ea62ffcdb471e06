"""Layer functions: ``linear``, ``dropout``, ``layer_norm``, ``embedding``, ``one_hot``.

Each is one Function with a fused backward on arrays (all the input gradients from one pass
over what forward saved); under ``create_graph=True`` the backward is rebuilt from Tensor ops
on the saved inputs, so it is differentiable again.
"""

from __future__ import annotations

import math

from ...autograd.function import Function
from ...autograd.grad_mode import no_grad
from ...ops._util import Tensor, check_tensor

__all__ = ["linear", "dropout", "layer_norm", "embedding", "one_hot"]


class Linear(Function):
    """``x @ weight.T + bias``: one matmul and an in-place bias add forward; backward gives
    ``grad @ weight``, ``grad.T @ x`` and ``grad.sum(rows)`` from the 2-D views."""

    node_name = "AddmmBackward0"

    @staticmethod
    def forward(ctx, x, weight, bias):
        need_x, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        ctx.save_for_backward(x if need_w else None, weight if need_x else None)
        ctx.x_shape = x._data.shape
        out = x._backend.xp.matmul(x._data, weight._data.T)
        if bias is not None:
            out += bias._data
        return x._new(out)

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
        xp = self._backend.xp
        g2 = grad.reshape(-1, grad.shape[-1] if grad.ndim else 1)
        return (xp.matmul(grad, weight) if need_x else None,
                xp.matmul(g2.T, x.reshape(-1, self.x_shape[-1])) if need_w else None,
                g2.sum(axis=0) if need_b else None)


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias``: input (*, in_features), weight (out_features,
    in_features), bias (out_features,) or None; returns (*, out_features)."""
    check_tensor(input, "linear")
    check_tensor(weight, "linear", "weight")
    if weight._data.ndim != 2 or input._data.ndim == 0:
        out = input.matmul(weight.t())
        return out if bias is None else out + bias
    if input._data.shape[-1] != weight._data.shape[1]:
        rows = math.prod(input._data.shape[:-1])
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({rows}x{input._data.shape[-1]} and "
            f"{weight._data.shape[1]}x{weight._data.shape[0]})"
        )
    if input._data.dtype != weight._data.dtype or (
            bias is not None and bias._data.dtype != input._data.dtype):
        raise RuntimeError(
            f"mat1 and mat2 must have the same dtype, but got {input.dtype} and {weight.dtype}"
        )
    if bias is not None and bias._data.shape not in ((weight._data.shape[0],), (1,), ()):
        raise RuntimeError(
            f"The size of tensor a ({weight._data.shape[0]}) must match the size of tensor b "
            f"({bias._data.shape[-1]}) at non-singleton dimension 1"
        )
    return Linear.apply(input, weight, bias)


def dropout(input: Tensor, p: float = 0.5, training: bool = True,
            inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``, in
    training (into ``input`` itself with ``inplace``); the identity otherwise."""
    check_tensor(input, "dropout")
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    backend = input._backend
    if p == 1.0:
        scale = backend.xp.zeros(input._data.shape, input._data.dtype)
    else:
        scale = backend.bernoulli_mask(1.0 - p, input._data.shape).astype(input._data.dtype)
        scale *= 1.0 / (1.0 - p)
    mask = Tensor._make(scale, backend)
    return input.mul_(mask) if inplace else input * mask


class LayerNorm(Function):
    """Normalize over the last ``k`` dims, then scale and shift:
    ``y = (x - mean) * rstd * weight + bias`` with ``rstd = 1 / sqrt(var + eps)``.

    Backward (``xhat`` the normalized input, ``gh = grad * weight``, means over the
    normalized dims): ``gx = rstd * (gh - mean(gh) - xhat * mean(gh * xhat))``,
    ``gweight = sum(grad * xhat)``, ``gbias = sum(grad)`` over the leading dims.
    """

    node_name = "NativeLayerNormBackward0"

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


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Layer normalization over the trailing ``normalized_shape`` dims of ``input``."""
    check_tensor(input, "layer_norm")
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(int(n) for n in normalized_shape)
    k = len(normalized_shape)
    shape = tuple(input._data.shape)
    if k == 0 or shape[len(shape) - k:] != normalized_shape or len(shape) < k:
        raise RuntimeError(
            f"Given normalized_shape={list(normalized_shape)}, expected input with shape "
            f"[*, {', '.join(str(n) for n in normalized_shape)}], but got input of size"
            f"{list(shape)}"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t._data.shape) != normalized_shape:
            raise RuntimeError(
                f"Expected {name} to be of same shape as normalized_shape, but got {name} of "
                f"shape {list(t.shape)} and normalized_shape = {list(normalized_shape)}"
            )
    return LayerNorm.apply(input, weight, bias, k, float(eps))


class Embedding(Function):
    """Rows of ``weight`` picked by ``indices``; backward adds each grad row into its index's
    row (``add_at``), zeroing ``padding_idx``'s row."""

    node_name = "EmbeddingBackward0"

    @staticmethod
    def forward(ctx, weight, indices, padding_idx, scale_grad_by_freq):
        ctx.num_weights = weight._data.shape[0]
        ctx.padding_idx, ctx.scale_grad_by_freq = padding_idx, scale_grad_by_freq
        ctx.save_for_backward(indices)
        return weight._new(weight._backend.xp.take(weight._data, indices._data, axis=0))

    @staticmethod
    def backward(ctx, grad):
        (indices,) = ctx.saved_tensors
        args = (indices, ctx.num_weights, ctx.padding_idx, ctx.scale_grad_by_freq)
        return EmbeddingDenseBackward.apply(grad, *args), None, None, None


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


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Look up rows of ``weight`` (num_embeddings, embedding_dim) at integer ``input``;
    returns ``input.shape + (embedding_dim,)``. With ``max_norm``, looked-up rows whose norm
    exceeds it are renormalized in place first."""
    check_tensor(input, "embedding")
    check_tensor(weight, "embedding", "weight")
    if sparse:
        raise NotImplementedError("sparse embedding gradients are not supported")
    if input._data.dtype.kind not in "iu":
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar "
            f"types: Long, Int; but got {input.dtype} instead (while checking arguments for "
            "embedding)"
        )
    num = weight._data.shape[0]
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise AssertionError("Padding_idx must be within num_embeddings")
        padding_idx %= num
    idx = input._data
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())  # host check, as PyTorch's CPU kernel
        if lo < 0 or hi >= num:
            bad = lo if lo < 0 else hi
            raise IndexError(f"index {bad} is out of range for an embedding of {num} rows "
                             f"(valid indices are 0..{num - 1})")
    if max_norm is not None:
        _renorm_rows(weight, idx, max_norm, norm_type)
    return Embedding.apply(weight, input, padding_idx, scale_grad_by_freq)


def _renorm_rows(weight: Tensor, idx, max_norm: float, norm_type: float) -> None:
    """Scale the rows ``idx`` of ``weight`` to norm ``max_norm`` where above it (in place)."""
    xp = weight._backend.xp
    rows = xp.unique(idx.reshape(-1))
    with no_grad():
        w = weight._data
        norms = (xp.abs(w[rows]) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
        scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(w.dtype)
        w[rows] *= scale[:, None]
        weight._vc.value += 1


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 ``tensor.shape + (num_classes,)``: 1 at each class index, 0 elsewhere; with
    ``num_classes=-1`` the number of classes is ``tensor.max() + 1``."""
    check_tensor(tensor, "one_hot", "tensor")
    if tensor._data.dtype != "int64":
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    idx = tensor._data
    xp = tensor._backend.xp
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())  # host check, as PyTorch's CPU kernel
        if lo < 0:
            raise RuntimeError("Class values must be non-negative.")
        if num_classes == -1:
            num_classes = hi + 1
        elif hi >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    elif num_classes == -1:
        raise RuntimeError("Can not infer total number of classes from empty tensor.")
    elif num_classes < 0:
        raise RuntimeError("Class values must be smaller than num_classes.")
    classes = xp.arange(num_classes, dtype=idx.dtype)
    return tensor._new((idx[..., None] == classes).astype(idx.dtype))

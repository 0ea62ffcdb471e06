"""Layer functions: ``linear``, ``layer_norm``, ``embedding``, ``one_hot`` (``dropout`` is in
``dropout.py``).

PyTorch's arguments, checked here; the ops are in ``ops/layers.py``.
"""

from __future__ import annotations

import math

from ... import _dtype as dt
from ...ops._util import Tensor, check_range, check_tensor
from ...ops.layers import Embedding, EmbeddingSparse, LayerNorm, Linear, LinearNoBias
from ...ops.linalg import raise_matmul_dtype_error
from ._norm_dtype import is_mixed

__all__ = ["linear", "bilinear", "layer_norm", "embedding", "one_hot"]


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
    names = dt.SCALAR_TYPE_NAMES
    if input._data.dtype != weight._data.dtype:
        if bias is None:  # PyTorch multiplies by matmul
            raise_matmul_dtype_error(input, weight)
        raise RuntimeError("mat1 and mat2 must have the same dtype, but got "
                           f"{names[input.dtype.name]} and {names[weight.dtype.name]}")
    if bias is not None and bias._data.dtype != input._data.dtype:
        raise RuntimeError(  # (PyTorch's addmm names the bias "self")
            "self and mat2 must have the same dtype, but got "
            f"{names[bias.dtype.name]} and {names[weight.dtype.name]}")
    if bias is not None and bias._data.shape not in ((weight._data.shape[0],), (1,), ()):
        raise RuntimeError(
            f"The size of tensor a ({weight._data.shape[0]}) must match the size of tensor b "
            f"({bias._data.shape[-1]}) at non-singleton dimension 1"
        )
    return (Linear if bias is not None else LinearNoBias).apply(input, weight, bias)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor,
             bias: Tensor | None = None) -> Tensor:
    """``y[..., o] = input1[..., i] * weight[o, i, j] * input2[..., j] + bias[o]`` (summed over
    ``i``, ``j``): input1 (*, in1), input2 (*, in2), weight (out, in1, in2), bias (out,);
    returns (*, out). One matmul of ``input1`` with all of ``weight``, then a product with
    ``input2`` summed over ``j``."""
    check_tensor(input1, "bilinear", "input1")
    check_tensor(input2, "bilinear", "input2")
    check_tensor(weight, "bilinear", "weight")
    if input1.dim() != input2.dim():
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {input1.dim()} and "
                           f"{input2.dim()}")
    for d in range(input1.dim() - 1):
        if input1.shape[d] != input2.shape[d]:
            raise RuntimeError(f"bilinear(): input batch dimensions do not match at dim {d}: "
                               f"got {input1.shape[d]} and {input2.shape[d]}")
    if weight.dim() != 3:
        raise RuntimeError(f"bilinear(): weight must be three-dimensional, but got {weight.dim()}")
    out_features, in1, in2 = weight.shape
    for name, x, size in (("input1", input1, in1), ("input2", input2, in2)):
        if x.shape[-1] != size:
            raise RuntimeError(f"bilinear(): {name} size does not match weight size: got "
                               f"{x.shape[-1]} but expected {size}")
    if bias is not None and tuple(bias.shape) != (out_features,):
        raise RuntimeError(f"bilinear(): bias size does not match weight size: got "
                           f"{bias.shape[-1] if bias.dim() else 1} but expected {out_features}")
    mixed = input1.matmul(weight.transpose(0, 1).reshape(in1, out_features * in2))
    out = (mixed.reshape(*input1.shape[:-1], out_features, in2) * input2.unsqueeze(-2)).sum(-1)
    return out if bias is None else out + bias


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Layer normalization over the trailing ``normalized_shape`` dims of ``input``. A
    float16/bfloat16 ``input`` may have float32 ``weight`` and ``bias`` (computed in float32,
    the result in ``input``'s dtype), as PyTorch's."""
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
    if is_mixed("LayerNormKernelImpl", input, weight, bias):
        return LayerNorm.apply(input.float(), weight, bias, k, float(eps)).to(input.dtype)
    return LayerNorm.apply(input, weight, bias, k, float(eps))


def check_indices(input: Tensor, op: str) -> None:
    """PyTorch's check of an embedding's indices: int64 or int32 only."""
    if input.dtype in (dt.int64, dt.int32):
        return
    # (PyTorch names the legacy type, torch.FloatTensor, where the dtype has one)
    kind = input.type()
    if input.dtype == dt.bool or input.dtype in dt.LIMITED_UNSIGNED:
        kind = f"{'CUDA' if input.is_cuda else 'CPU'}{dt.SCALAR_TYPE_NAMES[input.dtype.name]}Type"
    raise RuntimeError(
        "Expected tensor for argument #1 'indices' to have one of the following scalar "
        f"types: Long, Int; but got {kind} instead (while checking arguments for {op})"
    )


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Look up rows of ``weight`` (num_embeddings, embedding_dim) at integer ``input``;
    returns ``input.shape + (embedding_dim,)``. With ``max_norm``, looked-up rows whose norm
    exceeds it are renormalized in place first."""
    check_tensor(input, "embedding")
    check_tensor(weight, "embedding", "weight")
    check_indices(input, "embedding")
    num = weight._data.shape[0]
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise AssertionError("Padding_idx must be within num_embeddings")
        padding_idx %= num
    idx = input._data
    check_range(idx, 0, num, lambda v: IndexError(  # a host check, as PyTorch's CPU kernel
        "index out of range in self"))
    if max_norm is not None:
        _renorm_rows(weight, idx, max_norm, norm_type)
    return (EmbeddingSparse if sparse else Embedding).apply(weight, input, padding_idx,
                                                           scale_grad_by_freq)


def _renorm_rows(weight: Tensor, idx, max_norm: float, norm_type: float) -> None:
    """Scale the rows ``idx`` of ``weight`` to norm ``max_norm`` where above it (in place)."""
    xp = weight._backend.xp
    rows = xp.unique(idx.reshape(-1))
    w = weight._data
    norms = (xp.abs(w[rows]) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(w.dtype)
    w[rows] *= scale[:, None]
    weight._bump_version()


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

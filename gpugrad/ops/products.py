"""Products built from ``matmul``, ``einsum`` and elementwise ops (their backward comes from
those): ``tensordot``, ``kron``, ``inner``, ``ger``, ``vdot``, the scaled sums ``addmm``,
``addmv``, ``addr``, ``addbmm``, ``baddbmm`` (and their in-place forms), ``chain_matmul``.
(``cross`` lives with ``linalg.cross`` in ``linalg_products``.)"""

from __future__ import annotations

import warnings

from .. import _dtype as dt
from . import inplace
from ._util import Tensor, check_tensor, math_ns, wrap_dim
from .contraction import _LETTERS, einsum
from .indexing import masked_fill
from .linalg import MatMul, matmul, outer

__all__ = ["tensordot", "kron", "inner", "ger", "vdot", "addmm", "addmv", "addr", "addbmm",
           "baddbmm", "chain_matmul"]


def _name(t: Tensor) -> str:
    return dt.SCALAR_TYPE_NAMES.get(t.dtype.name, t.dtype.name)


def _same_dtype(a: Tensor, b: Tensor, message: str) -> None:
    if a.dtype != b.dtype:
        raise RuntimeError(message.format(_name(a), _name(b)))


# ---------------------------------------------------------------------- tensordot, kron, inner
def _dims_list(value, name: str) -> list:
    if isinstance(value, Tensor):
        value = value.tolist()
    if isinstance(value, int):
        return [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(d, int) for d in value):
        raise TypeError(f"tensordot(): argument '{name}' must be tuple of ints, not "
                        f"{type(value).__name__}")
    return list(value)


def tensordot(a: Tensor, b: Tensor, dims=2) -> Tensor:
    """Sum of products over ``dims``: the last ``dims`` dims of ``a`` against the first of
    ``b`` (an int), or the dims listed in a pair ``(dims_a, dims_b)``."""
    check_tensor(a, "tensordot", "a")
    check_tensor(b, "tensordot", "b")
    if isinstance(dims, Tensor) and dims._data.ndim == 0:
        dims = int(dims.item())
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > a.ndim or dims > b.ndim:
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        dims_a, dims_b = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        if isinstance(dims, Tensor):
            dims = dims.tolist()
        if not isinstance(dims, (list, tuple)) or len(dims) != 2:
            raise RuntimeError("tensordot expects dims to be an int or a pair of lists of dims")
        dims_a, dims_b = _dims_list(dims[0], "dims_self"), _dims_list(dims[1], "dims_other")
    if len(dims_a) != len(dims_b):
        raise RuntimeError("both dimension lists should have same length")
    _same_dtype(a, b, "both inputs should have same dtype")
    letters_a = list(_LETTERS[:a.ndim])
    letters_b = list(_LETTERS[a.ndim:a.ndim + b.ndim])
    for da, db in zip(dims_a, dims_b):
        i, j = wrap_dim(da, a.ndim), wrap_dim(db, b.ndim)
        if a.shape[i] != b.shape[j]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size "
                               f"{a.shape[i]} in dim {da} and second has size {b.shape[j]} in "
                               f"dim {db}")
        letters_b[j] = letters_a[i]
    summed = set(letters_b) & set(letters_a)
    out = [c for c in letters_a if c not in summed] + [c for c in letters_b if c not in summed]
    return einsum("".join(letters_a) + "," + "".join(letters_b) + "->" + "".join(out), a, b)


def kron(input: Tensor, other: Tensor) -> Tensor:
    """The Kronecker product: block ``(i, j, ...)`` of the result is ``input[i, j, ...] *
    other``; the shorter shape is padded with leading 1s."""
    check_tensor(input, "kron")
    check_tensor(other, "kron", "other")
    n = max(input.ndim, other.ndim)
    sa = (1,) * (n - input.ndim) + tuple(input.shape)
    sb = (1,) * (n - other.ndim) + tuple(other.shape)
    a = input.reshape(tuple(x for s in sa for x in (s, 1)))
    b = other.reshape(tuple(x for s in sb for x in (1, s)))
    return (a * b).reshape(tuple(x * y for x, y in zip(sa, sb)))


def inner(input: Tensor, other: Tensor) -> Tensor:
    """Sum of products over the last dims (a product when either is 0-d)."""
    check_tensor(input, "inner")
    check_tensor(other, "inner", "other")
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got "
                           f"shapes {list(input.shape)} and {list(other.shape)}")
    return tensordot(input, other, ([-1], [-1]))


def ger(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product of two 1-D tensors (an alias of ``outer``)."""
    return outer(input, vec2)


def vdot(input: Tensor, other: Tensor) -> Tensor:
    """Dot product of two 1-D tensors (the first conjugated: real dtypes only here)."""
    check_tensor(input, "vdot")
    check_tensor(other, "vdot", "other")
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    _same_dtype(input, other, "dot : expected both vectors to have same dtype, but found {} and {}")
    if input.shape[0] != other.shape[0]:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{input.shape[0]}] and src "
                           f"[{other.shape[0]}] to have the same number of elements, but got "
                           f"{input.shape[0]} and {other.shape[0]} elements respectively")
    return Vdot.apply(input, other)


class Vdot(MatMul):
    node_name = "VdotBackward0"


# ---------------------------------------------------------------------- beta * input + alpha * AB
def _scaled_sum(input: Tensor, product_of, operands: tuple, beta, alpha,
                fused: bool = True) -> Tensor:
    """``beta * input + alpha * product_of(*operands)`` with ``input`` broadcast to the
    product's shape; with ``beta == 0`` the values of ``input`` (nan, inf) are ignored, as
    PyTorch does. ``fused`` (PyTorch's ``addmm``, ``addmv``, ``baddbmm``): in float16 and
    bfloat16 all of it is computed in float32 and rounded once, as PyTorch's kernel rounds (the
    gradients too: each is a float32 product or sum, rounded once by the casts' backward)."""
    if fused and operands[0].dtype.name in ("float16", "bfloat16"):
        dtype = operands[0].dtype
        wide = [t.float() for t in operands]
        return _scaled_sum(input.float(), product_of, wide, beta, alpha).to(dtype)
    product = product_of(*operands)
    base = input.expand(product.shape)
    if not product.is_floating_point():
        beta, alpha = int(beta), int(alpha)
    if alpha != 1:
        product = product * alpha
    if beta == 0:  # (a zero gradient for input, as PyTorch gives)
        return product + masked_fill(base, base._new(base._backend.xp.asarray(True)), 0)
    return product + (base if beta == 1 else base * beta)


def _check_same(fn: str, *tensors) -> None:
    names = [_name(t) for t in tensors]
    if len(set(names)) > 1:
        raise RuntimeError(f"{fn} input tensors must have the same dtype, but got "
                           f"{', '.join(names[:-1])}, and {names[-1]}")


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)`` (``input`` broadcast to the product's shape)."""
    for name, t in (("input", input), ("mat1", mat1), ("mat2", mat2)):
        check_tensor(t, "addmm", name)
    for name, t in (("mat1", mat1), ("mat2", mat2)):
        if t.ndim != 2:
            raise RuntimeError(f"{name} must be a matrix, got {t.ndim}-D tensor")
    _same_dtype(input, mat2, "self and mat2 must have the same dtype, but got {} and {}")
    _same_dtype(mat1, mat2, "mat1 and mat2 must have the same dtype, but got {} and {}")
    return _scaled_sum(input, matmul, (mat1, mat2), beta, alpha)


def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (mat @ vec)``."""
    for name, t in (("input", input), ("mat", mat), ("vec", vec)):
        check_tensor(t, "addmv", name)
    if mat.ndim != 2 or vec.ndim != 1 or input.ndim > 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {input.ndim}, {mat.ndim}, "
                           f"{vec.ndim}")
    if mat.shape[1] != vec.shape[0] or (input.ndim and input.shape[0] not in (1, mat.shape[0])):
        raise RuntimeError(f"size mismatch, got input ({input.shape[0] if input.ndim else 1}), "
                           f"mat ({mat.shape[0]}x{mat.shape[1]}), vec ({vec.shape[0]})")
    _check_same("addmv", input, mat, vec)
    return _scaled_sum(input, matmul, (mat, vec), beta, alpha)


def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * outer(vec1, vec2)``."""
    for name, t in (("input", input), ("vec1", vec1), ("vec2", vec2)):
        check_tensor(t, "addr", name)
    for name, t in (("vec1", vec1), ("vec2", vec2)):
        if t.ndim != 1:
            raise RuntimeError(f"addr: Expected 1-D argument {name}, but got {t.ndim}-D")
    _check_same("addr", input, vec1, vec2)
    if input.dtype.name == "bool":  # PyTorch: logical and, or
        product = outer(vec1, vec2) if alpha else outer(vec1, vec2).logical_and(False)
        return product if not beta else product.logical_or(input.expand(product.shape))
    return _scaled_sum(input, _outer_product, (vec1, vec2), beta, alpha, fused=False)


def _outer_product(vec1: Tensor, vec2: Tensor) -> Tensor:
    """``outer`` as a matrix product (a column times a row): its gradients are the products
    ``grad @ vec2`` and ``grad.T @ vec1``, rounded once, as PyTorch differentiates ``addr``
    (``outer`` itself differentiates as the broadcast multiply it is)."""
    return matmul(vec1.unsqueeze(1), vec2.unsqueeze(0))


def _check_batches(fn: str, batch1: Tensor, batch2: Tensor) -> None:
    for name, t in (("batch1", batch1), ("batch2", batch2)):
        if t.ndim != 3:
            raise RuntimeError(f"{name} must be a 3D tensor")
    if batch1.shape[0] != batch2.shape[0]:
        raise RuntimeError(f"batch1 and batch2 must have same number of batches, got "
                           f"{batch1.shape[0]} and {batch2.shape[0]}")
    if batch1.shape[2] != batch2.shape[1]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{batch1.shape[0]}, {batch1.shape[2]}] but got: "
                           f"[{batch2.shape[0]}, {batch2.shape[1]}].")
    _same_dtype(batch1, batch2, "expected scalar type {} but found {}")


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * bmm(batch1, batch2)``."""
    for name, t in (("input", input), ("batch1", batch1), ("batch2", batch2)):
        check_tensor(t, "baddbmm", name)
    _check_batches("baddbmm", batch1, batch2)
    _same_dtype(input, batch1, "expected scalar type {1} but found {0}")
    return _scaled_sum(input, matmul, (batch1, batch2), beta, alpha)


def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * sum_b batch1[b] @ batch2[b]`` (one matrix product over the
    batch and the inner dim together)."""
    for name, t in (("input", input), ("batch1", batch1), ("batch2", batch2)):
        check_tensor(t, "addbmm", name)
    _check_batches("addbmm", batch1, batch2)
    _same_dtype(input, batch1, "expected scalar type {1} but found {0}")
    b, n, k = batch1.shape
    p = batch2.shape[2]
    return _scaled_sum(input, matmul, (batch1.permute(1, 0, 2).reshape(n, b * k),
                                       batch2.reshape(b * k, p)), beta, alpha, fused=False)


def _inplace(fn):
    def method(self: Tensor, a: Tensor, b: Tensor, *, beta=1, alpha=1) -> Tensor:
        def compute(s: Tensor) -> Tensor:
            out = fn(s, a, b, beta=beta, alpha=alpha)
            if out.shape != s.shape:
                raise RuntimeError(f"Bad in-place call: input tensor size {list(s.shape)} and "
                                   f"output tensor size {list(out.shape)} should match")
            return out

        return inplace._apply(self, compute, (a, b))

    method.__name__ = method.__qualname__ = fn.__name__ + "_"
    method.__doc__ = f"In-place ``{fn.__name__}``."
    return method


# ---------------------------------------------------------------------- chain_matmul
def chain_matmul(*matrices) -> Tensor:
    """The product of 2-D matrices, left to right (deprecated in PyTorch for
    ``linalg.multi_dot``)."""
    warnings.warn("torch.chain_matmul is deprecated and will be removed in a future PyTorch "
                  "release. Use torch.linalg.multi_dot instead, which accepts a list of two or "
                  "more tensors rather than multiple parameters.", UserWarning, stacklevel=2)
    if len(matrices) == 1 and isinstance(matrices[0], (list, tuple)):
        matrices = tuple(matrices[0])
    if not matrices:
        raise RuntimeError("chain_matmul(): Expected one or more matrices")
    for i, m in enumerate(matrices):
        check_tensor(m, "chain_matmul", f"matrices[{i}]")
        if m.ndim != 2:
            raise RuntimeError(f"Tensor dimension is {m.ndim}, expected 2 instead.")
    if len(matrices) == 1:
        return matrices[0].clone()
    out = matrices[0]
    for m in matrices[1:]:
        out = math_ns().matmul(out, m)  # (the public name: autocast lowers it, as PyTorch's mm)
    return out


METHODS = {
    "kron": kron, "inner": inner, "ger": ger,
    "vdot": vdot, "addmm": addmm, "addmv": addmv, "addr": addr, "addbmm": addbmm,
    "baddbmm": baddbmm,
    "addmm_": _inplace(addmm), "addmv_": _inplace(addmv), "addr_": _inplace(addr),
    "addbmm_": _inplace(addbmm), "baddbmm_": _inplace(baddbmm),
}

"""PyTorch's complex-number API: ``complex``, ``polar``, ``view_as_real``, ``view_as_complex``,
``real``, ``imag``, ``conj`` (and ``conj_physical``, ``resolve_conj``, ``resolve_neg``) and
``angle``, and ``abs`` of a complex tensor.

On a real tensor ``conj``, ``conj_physical``, ``resolve_conj``, ``resolve_neg`` and ``real`` give
the tensor itself, as PyTorch's do; ``imag`` raises PyTorch's error; ``angle`` is 0 for a number
>= 0 and pi for a negative one (NaN stays NaN), with a zero gradient.

On a complex tensor gradients follow PyTorch's convention: for a real loss L, the gradient of
z is dL/dRe(z) + i dL/dIm(z). ``real`` and ``imag`` are views (``view_as_real`` then a select,
as in PyTorch); ``conj`` is a copy here (PyTorch's is a lazily conjugated view).
"""

from __future__ import annotations

import math

import numpy as np

from .. import _dtype as dt
from ..autograd.function import Function, ViewFunction
from ._inplace_graph import needs_graph
from ._util import Tensor, check_tensor
from .join import select

__all__ = ["conj", "conj_physical", "conj_physical_", "resolve_conj", "resolve_neg", "real",
           "imag", "angle", "complex", "polar", "view_as_real", "view_as_complex"]


def _is_complex(x: Tensor) -> bool:
    return x._data.dtype.kind == "c"


def _pairs_array(data, xp):
    """A complex array's memory as its (real, imaginary) pairs: a real view, one more dim
    (strided from the real part's view, which NumPy and CuPy both give)."""
    re = data.real
    return xp.lib.stride_tricks.as_strided(re, data.shape + (2,), data.strides + (re.itemsize,))


def _complex_array(data, xp):
    """The complex view of an array whose last dim holds (real, imaginary) pairs (its stride 1,
    checked by the caller)."""
    if xp is not np and not data.flags.c_contiguous:
        raise NotImplementedError(
            "view_as_complex of a non-contiguous CUDA tensor: CuPy changes an array's item size "
            "only for C-contiguous memory (call .contiguous() first)")
    return data.view(_complex_np(data.dtype))[..., 0]


_PART_NP = frozenset((np.dtype(np.float32), np.dtype(np.float64)))  # the parts' dtypes


def _complex_np(real_np):
    """The complex NumPy dtype with parts ``real_np``, read through the gpugrad dtype: a first
    complex result opens the complex gate (``_dtype.on_first_complex_use``)."""
    return (dt.complex64 if real_np == np.float32 else dt.complex128).np


def _from_parts(xp, re, im):
    """A new complex array ``re + i im`` (the parts broadcast together)."""
    out = xp.empty(np.broadcast_shapes(re.shape, im.shape), _complex_np(re.dtype))
    out.real[...] = re
    out.imag[...] = im
    return out


class ViewAsReal(ViewFunction):
    node_name = "ViewAsRealBackward0"

    @staticmethod
    def view_array(ctx, x, params):
        return _pairs_array(x._data, x._backend.xp)

    @staticmethod
    def backward(ctx, grad):
        return view_as_complex(grad.contiguous())

    def _array_backward(self, grad):
        xp = self._backend.xp
        return (_complex_array(xp.ascontiguousarray(grad), xp),)


class ViewAsComplex(ViewFunction):
    node_name = "ViewAsComplexBackward0"

    @staticmethod
    def view_array(ctx, x, params):
        return _complex_array(x._data, x._backend.xp)

    @staticmethod
    def backward(ctx, grad):
        return view_as_real(grad)

    def _array_backward(self, grad):
        return (_pairs_array(grad, self._backend.xp),)


def view_as_real(input: Tensor) -> Tensor:
    """A complex tensor's memory as a real one with a last dim of 2 (real, imaginary)."""
    check_tensor(input, "view_as_real")
    if not _is_complex(input):
        raise RuntimeError("view_as_real is only supported for complex tensors")
    return ViewAsReal.apply_view(input)


def view_as_complex(input: Tensor) -> Tensor:
    """A float32/float64 tensor whose last dim (of size 2, stride 1) holds (real, imaginary)
    pairs, viewed as a complex tensor without that dim."""
    check_tensor(input, "view_as_complex")
    d = input._data
    if d.dtype not in _PART_NP:
        raise RuntimeError("view_as_complex is only supported for float and double tensors, "
                           "but got a tensor of scalar type: "
                           f"{dt.SCALAR_TYPE_NAMES[input.dtype.name]}")
    if d.ndim == 0 or d.shape[-1] != 2:
        raise RuntimeError("Tensor must have a last dimension of size 2")
    strides = input.stride() if d.size else (2 * d.shape[-1], 1)[-d.ndim:]  # (as PyTorch's)
    if strides[-1] != 1:
        raise RuntimeError("Tensor must have a last dimension with stride 1")
    if any(s % 2 for s in strides[:-1]):
        raise RuntimeError("Tensor must have a stride divisible by 2 for all but last dimension")
    if input.storage_offset() % 2:
        raise RuntimeError("Tensor must have a storage_offset divisible by 2")
    return ViewAsComplex.apply_view(input)


class Complex(Function):
    """``complex(real, imag)``: a new complex tensor; each part's gradient is the matching part
    of the output's."""

    node_name = "ComplexBackward0"

    @staticmethod
    def forward(ctx, re, im):
        return re._new(_from_parts(re._backend.xp, re._data, im._data))

    @staticmethod
    def backward(ctx, grad):
        return grad.real, grad.imag

    def _array_backward(self, grad):
        return grad.real, grad.imag


def complex(real: Tensor, imag: Tensor) -> Tensor:  # noqa: A001 - PyTorch's name
    """The complex tensor ``real + i imag`` (float32 parts give complex64, float64 complex128;
    the parts broadcast)."""
    check_tensor(real, "complex", "real")
    check_tensor(imag, "complex", "imag")
    _check_parts("complex", real, imag)
    return Complex.apply(real, imag)


def _check_parts(name: str, a: Tensor, b: Tensor) -> None:
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"Expected object of scalar type {dt.SCALAR_TYPE_NAMES[a.dtype.name]}"
                           f" but got scalar type {dt.SCALAR_TYPE_NAMES[b.dtype.name]} for "
                           "second argument")
    if a._data.dtype not in _PART_NP:
        raise RuntimeError(f"Expected both inputs to be Half, Float or Double tensors but got "
                           f"{dt.SCALAR_TYPE_NAMES[a.dtype.name]} and "
                           f"{dt.SCALAR_TYPE_NAMES[b.dtype.name]}")
    if a._backend is not b._backend:
        raise RuntimeError("Expected all tensors to be on the same device")


class Polar(Function):
    """``polar(abs, angle)``: abs * (cos(angle) + i sin(angle)). With g the output's gradient
    and u = e^(i angle): abs gets Re(g conj(u)), angle gets Im(g conj(abs u)). Backward
    rebuilds u from the saved inputs, so that under ``create_graph`` it is a function of
    them."""

    node_name = "PolarBackward0"

    @staticmethod
    def forward(ctx, r, theta):
        ctx.save_for_backward(r, theta)
        xp = r._backend.xp
        return r._new(_from_parts(xp, xp.cos(theta._data), xp.sin(theta._data)) * r._data)

    @staticmethod
    def backward(ctx, grad):
        r, theta = ctx.saved_tensors
        unit = complex(theta.cos(), theta.sin())
        return (grad * unit.conj()).real, (grad * (unit * r).conj()).imag

    def _array_backward(self, grad):
        r, theta = self.saved_arrays()
        xp = self._backend.xp
        unit = _from_parts(xp, xp.cos(theta), xp.sin(theta))
        return (grad * unit.conj()).real, (grad * (unit * r).conj()).imag


def polar(abs: Tensor, angle: Tensor) -> Tensor:  # noqa: A002 - PyTorch's names
    """The complex tensor with absolute value ``abs`` and argument ``angle``."""
    check_tensor(abs, "polar", "abs")
    check_tensor(angle, "polar", "angle")
    _check_parts("polar", abs, angle)
    return Polar.apply(abs, angle)


class Conj(Function):
    node_name = "ConjBackward0"

    @staticmethod
    def forward(ctx, z):
        return z._new(z._backend.xp.conj(z._data))

    @staticmethod
    def backward(ctx, grad):
        return grad.conj()

    def _array_backward(self, grad):
        return (grad.conj(),)


class ConjPhysical(Conj):
    node_name = "ConjPhysicalBackward0"


class ComplexAbs(Function):
    """|z|, real: z's gradient is g z / |z| (0 where z is 0)."""

    node_name = "AbsBackward0"

    @staticmethod
    def forward(ctx, z):
        out = z._new(z._backend.xp.abs(z._data))
        ctx.save_for_backward(z, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        z, r = ctx.saved_tensors
        zero = r == 0
        return grad * (z / r.masked_fill(zero, 1)).masked_fill(zero, 0)

    def _array_backward(self, grad):
        z, r = self.saved_arrays()
        xp = self._backend.xp
        zero = r == 0
        return (grad * xp.where(zero, 0, z / xp.where(zero, 1, r)),)


class ComplexAngle(Function):
    """arg(z), real: z's gradient is g i z / |z|^2 (0 where z is 0), as PyTorch's."""

    node_name = "AngleBackward0"

    @staticmethod
    def forward(ctx, z):
        ctx.save_for_backward(z)
        return z._new(z._backend.xp.angle(z._data))

    @staticmethod
    def backward(ctx, grad):
        (z,) = ctx.saved_tensors
        r2 = (z * z.conj()).real
        zero = r2 == 0
        return grad * (z * 1j / r2.masked_fill(zero, 1)).masked_fill(zero, 0)

    def _array_backward(self, grad):
        (z,) = self.saved_arrays()
        xp = self._backend.xp
        r2 = (z * z.conj()).real
        zero = r2 == 0
        return (grad * xp.where(zero, 0, z * 1j / xp.where(zero, 1, r2)),)


def _itself(name: str):
    def fn(input: Tensor) -> Tensor:
        return check_tensor(input, name)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``input`` itself: a real tensor is its own ``{name}`` (as in PyTorch)."
    return fn


resolve_conj = _itself("resolve_conj")
resolve_neg = _itself("resolve_neg")


def conj(input: Tensor) -> Tensor:
    """The complex conjugate (a real tensor is its own; a complex one's is a copy here)."""
    check_tensor(input, "conj")
    return Conj.apply(input) if _is_complex(input) else input


def conj_physical(input: Tensor) -> Tensor:
    """The complex conjugate, computed (a real tensor is its own)."""
    check_tensor(input, "conj_physical")
    return ConjPhysical.apply(input) if _is_complex(input) else input


def real(input: Tensor) -> Tensor:
    """The real part: a view of a complex tensor, and a real tensor itself."""
    check_tensor(input, "real")
    return select(ViewAsReal.apply_view(input), -1, 0) if _is_complex(input) else input


def complex_abs(input: Tensor) -> Tensor:
    """``abs`` of a complex tensor: a real tensor of the parts' dtype."""
    return ComplexAbs.apply(input)


def conj_physical_(input: Tensor) -> Tensor:
    """``input`` itself, unchanged, after an in-place op's checks (a leaf that requires grad
    is refused, as by PyTorch); conjugated in place when complex."""
    needs_graph(check_tensor(input, "conj_physical_"))
    if _is_complex(input):
        return input.copy_(conj_physical(input))
    return input


def imag(input: Tensor) -> Tensor:
    """The imaginary part of a complex tensor, a view; PyTorch's error for a real one."""
    check_tensor(input, "imag")
    if not _is_complex(input):
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    return select(ViewAsReal.apply_view(input), -1, 1)


class Angle(Function):
    """The argument of a real number: pi where it is negative, else 0 (NaN kept); a step
    function, so its gradient is zero."""

    node_name = "AngleBackward0"

    @staticmethod
    def forward(ctx, x, np_dtype):
        d = x._data
        xp = x._backend.xp
        out = xp.where(d < 0, math.pi, xp.where(d != d, d, 0)).astype(np_dtype, copy=False)
        return x._new(out)

    @staticmethod
    def backward(ctx, grad):
        return grad.new_zeros(grad.shape), None  # (not grad * 0: a NaN gradient gives 0)


def angle(input: Tensor) -> Tensor:
    """The argument of each element: pi for negative numbers, 0 otherwise (NaN stays NaN).
    Integer and bool inputs give the default float dtype."""
    check_tensor(input, "angle")
    kind = input._data.dtype.kind
    if kind == "c":
        return ComplexAngle.apply(input)
    np_dtype = input._data.dtype if kind in dt.FLOAT_KINDS else dt.get_default_dtype().np
    return Angle.apply(input, np.dtype(np_dtype))


METHODS = {
    "conj": conj, "conj_physical": conj_physical, "conj_physical_": conj_physical_,
    "resolve_conj": resolve_conj, "resolve_neg": resolve_neg, "angle": angle,
    "real": property(real), "imag": property(imag),
}

"""``gpugrad.fft``: PyTorch's ``torch.fft``, differentiable, for float32/float64 and
complex64/complex128 tensors on the CPU (NumPy) and on CUDA (cuFFT through CuPy).

Every transform is one of three ops (``ops/fft.py``): complex to complex, real to complex,
complex to real, with a crop or zero-pad in front where ``n``/``s`` asks for another length.
The rest are compositions, as in PyTorch: ``ifft`` of a real tensor is the conjugate of a
forward transform, ``hfft`` an ``irfft`` of the conjugate, ``ihfft`` the conjugate of an
``rfft``, the shifts are ``roll``. Integer and bool tensors compute in the default float dtype;
float16 and bfloat16 are refused, as PyTorch's CPU build refuses them.
"""

from __future__ import annotations

import numbers

import numpy as np

from . import _dtype as dt
from .ops._util import Tensor, check_tensor, wrap_dim
from .ops.complex_api import _complex_np, conj
from .ops.fft import ADJOINT_NORM, FftC2C, FftC2R, FftR2C, resize
from .ops.roll import roll

__all__ = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fft2", "ifft2", "rfft2", "irfft2",
           "hfft2", "ihfft2", "fftn", "ifftn", "rfftn", "irfftn", "hfftn", "ihfftn", "fftfreq",
           "rfftfreq", "fftshift", "ifftshift"]


# ------------------------------------------------------------------------ arguments
def _norm(norm) -> str:
    if norm is None:
        return "backward"
    if norm not in ADJOINT_NORM:
        raise RuntimeError(f'Invalid normalization mode: "{norm}"')
    return norm


def _int(value, name: str, arg: str) -> int:
    if isinstance(value, Tensor) and value.numel() == 1 and not value.is_floating_point():
        value = value.item()
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"fft_{name}(): argument '{arg}' must be int, not "
                        f"{type(value).__name__}")
    return int(value)


def _length(n, name: str):
    """A 1-D transform's ``n`` as ``s``."""
    return None if n is None else (_int(n, name, "n"),)


def _dim(d, ndim: int, name: str) -> int:
    if ndim == 0:
        raise IndexError(f"Dimension specified as {d} but tensor has no dimensions")
    return wrap_dim(_int(d, name, "dim"), ndim)


def _dims_and_sizes(x: Tensor, s, dim, name: str) -> tuple:
    """The transformed dims (in the order given) and the requested length along each (``None``
    where the input's length stands)."""
    ndim = x.dim()
    if s is not None:
        s = [_int(n, name, "s") for n in (s if isinstance(s, (tuple, list)) else (s,))]
    if dim is None:
        if s is not None and len(s) > ndim:
            raise RuntimeError(f"Got shape with {len(s)} values but input tensor only has "
                               f"{ndim} dimensions.")
        dims = tuple(range(ndim - len(s), ndim)) if s is not None else tuple(range(ndim))
    else:
        dims = tuple(_dim(d, ndim, name)
                     for d in (dim if isinstance(dim, (tuple, list)) else (dim,)))
        if len(set(dims)) != len(dims):
            raise RuntimeError("FFT dims must be unique")
    if s is None:
        return dims, [None] * len(dims)
    if len(s) != len(dims):
        raise RuntimeError("When given, dim and shape arguments must have the same length")
    return dims, [None if n == -1 else n for n in s]


def _plan(name: str, input, s, dim, norm, needs_a_dim: bool) -> tuple:
    """The checks every transform starts with, in PyTorch's order: the normalisation, the dims
    and the requested lengths (``_dims_and_sizes``)."""
    check_tensor(input, name)
    norm = _norm(norm)
    dims, sizes = _dims_and_sizes(input, s, dim, name)
    if needs_a_dim and not dims:
        raise RuntimeError(f"{name} must transform at least one axis")
    return norm, dims, sizes


def _lengths(x: Tensor, dims: tuple, sizes: list) -> list:
    """The signal's length along each transformed dim: the requested one, else ``x``'s."""
    return [n if n is not None else x.shape[d] for d, n in zip(dims, sizes)]


def _checked_lengths(lengths) -> None:
    for n in lengths:
        if n < 1:
            raise RuntimeError(f"Invalid number of data points ({n}) specified")


def _real_operand(x: Tensor, name: str) -> Tensor:
    """``x`` in the float dtype a real transform computes in; a complex ``x`` is refused."""
    if x.dtype.is_complex:
        raise RuntimeError(f"{name} expects a real input tensor, but got "
                           f"{dt.SCALAR_TYPE_NAMES[x.dtype.name]}")
    return _floating(x)


def _floating(x: Tensor) -> Tensor:
    if x.dtype in (dt.float16, dt.bfloat16):
        raise RuntimeError(f"Unsupported dtype {dt.SCALAR_TYPE_NAMES[x.dtype.name]}")
    if x.dtype.is_complex or x.dtype.is_floating_point:
        return x
    return x.to(dt.get_default_dtype())


def _complex_operand(x: Tensor) -> Tensor:
    x = _floating(x)
    return x if x.dtype.is_complex else x.to(x.dtype.to_complex())


# ------------------------------------------------------------------------ the transforms
def _c2c(name: str, input, s, dim, norm, forward: bool) -> Tensor:
    """``fftn`` (``forward``) or ``ifftn`` over ``dim``. As in PyTorch, a real input of a 1-D
    transform is transformed as real (``ifft`` of it is the conjugate of the forward transform
    with the adjoint norm); the others make it complex first."""
    norm, dims, sizes = _plan(name, input, s, dim, norm, False)
    x = _floating(input) if len(dims) == 1 else _complex_operand(input)
    lengths = _lengths(x, dims, sizes)
    _checked_lengths(lengths)
    x = resize(x, dims, tuple(lengths))
    if x.dtype.is_complex:
        return FftC2C.apply(x, dims, norm, forward) if dims else x.clone()
    complex_np = _complex_np(x._data.dtype)
    if forward:
        return FftR2C.apply(x, dims, norm, False, complex_np)
    return conj(FftR2C.apply(x, dims, ADJOINT_NORM[norm], False, complex_np))


def _r2c(name: str, input, s, dim, norm, inverse: bool = False) -> Tensor:
    """``rfftn`` over ``dim`` (the one-sided half along the last); ``inverse`` gives
    ``ihfftn``, its conjugate with the adjoint norm."""
    norm, dims, sizes = _plan(name, input, s, dim, norm, True)
    x = _real_operand(input, name)
    lengths = _lengths(x, dims, sizes)
    _checked_lengths(lengths)
    x = resize(x, dims, tuple(lengths))
    complex_np = _complex_np(x._data.dtype)
    if inverse:
        return conj(FftR2C.apply(x, dims, ADJOINT_NORM[norm], True, complex_np))
    return FftR2C.apply(x, dims, norm, True, complex_np)


def _c2r(name: str, input, s, dim, norm, hermitian: bool = False) -> Tensor:
    """``irfftn`` over ``dim``: a real output, ``2 * (m - 1)`` long along the last dim unless
    ``s`` says; ``hermitian`` gives ``hfftn``, the ``irfftn`` of the conjugate with the adjoint
    norm."""
    norm, dims, sizes = _plan(name, input, s, dim, norm, True)
    z = _complex_operand(input)
    lengths = _lengths(z, dims, sizes)
    if sizes[-1] is None:
        lengths[-1] = 2 * (z.shape[dims[-1]] - 1)
    _checked_lengths(lengths)
    z = resize(z, dims, tuple(lengths[:-1]) + (lengths[-1] // 2 + 1,))
    real_np = z.dtype.to_real().np
    if hermitian:
        return FftC2R.apply(conj(z), dims, ADJOINT_NORM[norm], lengths[-1], real_np)
    return FftC2R.apply(z, dims, norm, lengths[-1], real_np)


# ------------------------------------------------------------------------ PyTorch's names
def fft(input, n=None, dim=-1, norm=None) -> Tensor:
    """The discrete Fourier transform along ``dim`` (of length ``n``: cropped or zero-padded)."""
    return _c2c("fft", input, _length(n, "fft"), (dim,), norm, True)


def ifft(input, n=None, dim=-1, norm=None) -> Tensor:
    """The inverse discrete Fourier transform along ``dim``."""
    return _c2c("ifft", input, _length(n, "ifft"), (dim,), norm, False)


def rfft(input, n=None, dim=-1, norm=None) -> Tensor:
    """The Fourier transform of a real signal: its ``n // 2 + 1`` non-negative frequencies."""
    return _r2c("rfft", input, _length(n, "rfft"), (dim,), norm)


def irfft(input, n=None, dim=-1, norm=None) -> Tensor:
    """The real signal (of length ``n``, default ``2 * (m - 1)``) whose ``rfft`` is ``input``."""
    return _c2r("irfft", input, _length(n, "irfft"), (dim,), norm)


def hfft(input, n=None, dim=-1, norm=None) -> Tensor:
    """The (real) Fourier transform of a Hermitian-symmetric signal given by its first half."""
    return _c2r("hfft", input, _length(n, "hfft"), (dim,), norm, hermitian=True)


def ihfft(input, n=None, dim=-1, norm=None) -> Tensor:
    """The inverse of ``hfft``: the first half of a real signal's inverse transform."""
    return _r2c("ihfft", input, _length(n, "ihfft"), (dim,), norm, inverse=True)


def fft2(input, s=None, dim=(-2, -1), norm=None) -> Tensor:
    """``fftn`` over two dims (the last two by default)."""
    return _c2c("fft2", input, s, dim, norm, True)


def ifft2(input, s=None, dim=(-2, -1), norm=None) -> Tensor:
    """``ifftn`` over two dims."""
    return _c2c("ifft2", input, s, dim, norm, False)


def rfft2(input, s=None, dim=(-2, -1), norm=None) -> Tensor:
    """``rfftn`` over two dims."""
    return _r2c("rfft2", input, s, dim, norm)


def irfft2(input, s=None, dim=(-2, -1), norm=None) -> Tensor:
    """``irfftn`` over two dims."""
    return _c2r("irfft2", input, s, dim, norm)


def hfft2(input, s=None, dim=(-2, -1), norm=None) -> Tensor:
    """``hfftn`` over two dims."""
    return _c2r("hfft2", input, s, dim, norm, hermitian=True)


def ihfft2(input, s=None, dim=(-2, -1), norm=None) -> Tensor:
    """``ihfftn`` over two dims."""
    return _r2c("ihfft2", input, s, dim, norm, inverse=True)


def fftn(input, s=None, dim=None, norm=None) -> Tensor:
    """The N-dimensional discrete Fourier transform over ``dim`` (all dims, or the last
    ``len(s)``), each cropped or zero-padded to ``s``."""
    return _c2c("fftn", input, s, dim, norm, True)


def ifftn(input, s=None, dim=None, norm=None) -> Tensor:
    """The N-dimensional inverse discrete Fourier transform."""
    return _c2c("ifftn", input, s, dim, norm, False)


def rfftn(input, s=None, dim=None, norm=None) -> Tensor:
    """The N-dimensional transform of a real signal, one-sided along the last of ``dim``."""
    return _r2c("rfftn", input, s, dim, norm)


def irfftn(input, s=None, dim=None, norm=None) -> Tensor:
    """The inverse of ``rfftn``: a real signal (``s[-1]`` long, default ``2 * (m - 1)``, along
    the last of ``dim``)."""
    return _c2r("irfftn", input, s, dim, norm)


def hfftn(input, s=None, dim=None, norm=None) -> Tensor:
    """The N-dimensional transform of a Hermitian-symmetric signal given by its one-sided
    half."""
    return _c2r("hfftn", input, s, dim, norm, hermitian=True)


def ihfftn(input, s=None, dim=None, norm=None) -> Tensor:
    """The inverse of ``hfftn``."""
    return _r2c("ihfftn", input, s, dim, norm, inverse=True)


# ------------------------------------------------------------------------ helpers
def _frequencies(name: str, count: int, n: int, d, dtype, device, requires_grad,
                 onesided: bool) -> Tensor:
    """``arange(count)`` (wrapped to negative frequencies past the middle unless ``onesided``)
    times ``1 / (n * d)``, computed as PyTorch does (in ``dtype``; ``inf``/``nan`` for a zero
    ``n * d``)."""
    from .factories import tensor

    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    dtype = dt.get_default_dtype() if dtype is None else dtype
    if not dtype.is_floating_point:
        if dtype.is_complex:
            raise NotImplementedError(
                f'"arange_cpu" not implemented for {dt.SCALAR_TYPE_NAMES[dtype.name]!r}')
        raise RuntimeError(f"{name} requires a floating point or complex dtype")
    k = np.arange(count, dtype=np.float64)
    if not onesided:
        k[(n + 1) // 2:] -= n
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = float(np.float64(1.0) / np.float64(n * d))
        values = k.astype(dtype.np) * scale  # (in dtype, as PyTorch's arange times a scale)
    out = tensor(values, dtype=dtype, device=device)
    return out.requires_grad_() if requires_grad else out


def fftfreq(n, d=1.0, *, dtype=None, layout=None, device=None, requires_grad=False) -> Tensor:
    """The sample frequencies of an ``n``-point transform with sample spacing ``d``:
    ``[0, 1, ..., (n - 1) // 2, -(n // 2), ..., -1] / (d * n)``."""
    n = _int(n, "fftfreq", "n")
    return _frequencies("fftfreq", max(n, 0), n, d, dtype, device, requires_grad, False)


def rfftfreq(n, d=1.0, *, dtype=None, layout=None, device=None, requires_grad=False) -> Tensor:
    """The sample frequencies of ``rfft``: ``[0, 1, ..., n // 2] / (d * n)``."""
    n = _int(n, "rfftfreq", "n")
    return _frequencies("rfftfreq", max(n, 0) // 2 + 1, n, d, dtype, device, requires_grad,
                        True)


def _shifted(input, dim, sign: int, name: str) -> Tensor:
    check_tensor(input, name)
    ndim = input.dim()
    if dim is None:
        dims = tuple(range(ndim))
    else:
        dims = tuple(wrap_dim(d, ndim) for d in (dim if isinstance(dim, (tuple, list))
                                                 else (dim,)))
    return roll(input, tuple(sign * (input.shape[d] // 2) for d in dims), dims)


def fftshift(input, dim=None) -> Tensor:
    """``input`` with the zero frequency moved to the centre of ``dim`` (all dims by default):
    a ``roll`` by half of each length."""
    return _shifted(input, dim, 1, "fftshift")


def ifftshift(input, dim=None) -> Tensor:
    """The inverse of ``fftshift``."""
    return _shifted(input, dim, -1, "ifftshift")

"""The discrete Fourier transforms behind ``gpugrad.fft``: three differentiable ops, as PyTorch
has them (complex to complex, real to complex, complex to real), over any set of dims, computed
by the backend's ``xp.fft`` (NumPy's pocketfft on the CPU, cuFFT through CuPy on CUDA).

Each transform is linear, so its backward is its adjoint, which is again a transform: the
inverse direction with the normalisation moved to the other side (``_ADJOINT_NORM``). For a
real loss that is PyTorch's gradient convention (dL/dRe + i dL/dIm) with no conjugation to
add. The one-sided transforms need two corrections:

- real to complex (``rfftn``) keeps half of a full spectrum: its adjoint zero-fills the half
  that was dropped, transforms back and keeps the real part;
- complex to real (``irfftn``) reads the kept half as a Hermitian-symmetric full spectrum: the
  entries that stand for two (every one with a mirror image outside the kept half) get twice the
  gradient.

``resize`` crops, then zero-pads, a signal to the length the transform is asked for (``n=``,
``s=``): two ops, each the other's adjoint.
"""

from __future__ import annotations

from ..autograd.function import Function
from .complex_api import _complex_np, real

__all__ = ["ADJOINT_NORM", "Crop", "ZeroPad", "resize", "FftC2C", "FftR2C", "FftC2R"]

ADJOINT_NORM = {"backward": "forward", "forward": "backward", "ortho": "ortho"}


class Crop(Function):
    """The first ``sizes`` entries along ``dims`` (PyTorch's ``narrow``, here a copy)."""

    node_name = "SliceBackward0"

    @staticmethod
    def forward(ctx, x, dims, sizes):
        ctx.dims, ctx.old = dims, tuple(x.shape[d] for d in dims)
        index = [slice(None)] * x.dim()
        for d, n in zip(dims, sizes):
            index[d] = slice(0, n)
        return x._new(x._data[tuple(index)].copy())

    @staticmethod
    def backward(ctx, grad):
        return ZeroPad.apply(grad, ctx.dims, ctx.old), None, None


class ZeroPad(Function):
    """Zeros appended along ``dims`` up to ``sizes`` (PyTorch's ``constant_pad_nd``)."""

    node_name = "ConstantPadNdBackward0"

    @staticmethod
    def forward(ctx, x, dims, sizes):
        ctx.dims, ctx.old = dims, tuple(x.shape[d] for d in dims)
        shape = list(x.shape)
        for d, n in zip(dims, sizes):
            shape[d] = n
        out = x._backend.xp.zeros(shape, x._data.dtype)
        out[tuple(slice(0, m) for m in x.shape)] = x._data
        return x._new(out)

    @staticmethod
    def backward(ctx, grad):
        return Crop.apply(grad, ctx.dims, ctx.old), None, None


def resize(x, dims: tuple, sizes: tuple):
    """``x`` cropped, then zero-padded, to ``sizes`` along ``dims`` (itself if it has them)."""
    have = [x.shape[d] for d in dims]
    if any(n < m for n, m in zip(sizes, have)):
        x = Crop.apply(x, dims, tuple(min(n, m) for n, m in zip(sizes, have)))
    if any(n > m for n, m in zip(sizes, have)):
        x = ZeroPad.apply(x, dims, sizes)
    return x


def _cast(out, dtype_np):
    return out if out.dtype == dtype_np else out.astype(dtype_np)


class FftC2C(Function):
    """``fftn`` (``forward``) or ``ifftn`` of a complex tensor over ``dims``."""

    node_name = "FftC2CBackward0"

    @staticmethod
    def forward(ctx, z, dims, norm, forward):
        ctx.dims, ctx.norm, ctx.forward = dims, norm, forward
        xp = z._backend.xp
        transform = xp.fft.fftn if forward else xp.fft.ifftn
        return z._new(_cast(transform(z._data, axes=dims, norm=norm), z._data.dtype))

    @staticmethod
    def backward(ctx, grad):
        g = FftC2C.apply(grad, ctx.dims, ADJOINT_NORM[ctx.norm], not ctx.forward)
        return g, None, None, None


class FftR2C(Function):
    """The forward transform of a real tensor over ``dims``: its one-sided half (``rfftn``) or,
    without ``onesided``, the full spectrum."""

    node_name = "FftR2CBackward0"

    @staticmethod
    def forward(ctx, x, dims, norm, onesided, complex_np):
        ctx.dims, ctx.norm, ctx.onesided = dims, norm, onesided
        ctx.length = x.shape[dims[-1]]
        xp = x._backend.xp
        transform = xp.fft.rfftn if onesided else xp.fft.fftn
        return x._new(_cast(transform(x._data, axes=dims, norm=norm), complex_np))

    @staticmethod
    def backward(ctx, grad):
        if ctx.onesided:  # the dropped half of the spectrum sent nothing: zeros
            grad = resize(grad, ctx.dims[-1:], (ctx.length,))
        g = FftC2C.apply(grad, ctx.dims, ADJOINT_NORM[ctx.norm], False)
        return real(g), None, None, None, None


class FftC2R(Function):
    """``irfftn``: the real signal of length ``length`` along the last of ``dims`` whose
    spectrum's one-sided half is ``z`` (``length // 2 + 1`` long there)."""

    node_name = "FftC2RBackward0"

    @staticmethod
    def forward(ctx, z, dims, norm, length, real_np):
        ctx.dims, ctx.norm, ctx.length = dims, norm, length
        xp = z._backend.xp
        sizes = tuple(z.shape[d] for d in dims[:-1]) + (length,)
        return z._new(_cast(xp.fft.irfftn(z._data, s=sizes, axes=dims, norm=norm), real_np))

    @staticmethod
    def backward(ctx, grad):
        g = FftR2C.apply(grad, ctx.dims, ADJOINT_NORM[ctx.norm], True,
                         _complex_np(grad._data.dtype))
        half = g.shape[ctx.dims[-1]]
        doubled = ctx.length - half  # entries 1..doubled have a mirror image outside the half
        if doubled > 0:
            xp = grad._backend.xp
            shape = [1] * g.dim()
            shape[ctx.dims[-1]] = half
            weight = xp.ones(half, grad._data.dtype)
            weight[1:1 + doubled] = 2
            g = g * g._new(weight.reshape(shape))
        return g, None, None, None, None


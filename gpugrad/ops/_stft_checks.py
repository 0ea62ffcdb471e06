"""The argument checks of ``stft`` and ``istft`` (``ops/stft.py``), in PyTorch's order and
words: its parser's type errors, its checks of sizes, windows and devices, ``F.pad``'s checks of
the centring pad, its warnings, and the call description its messages start with."""

from __future__ import annotations

import numbers

import numpy as np

from .. import _dtype as dt
from .._warnings import warn_user_once
from ._util import Tensor

# PyTorch's warnings, word for word (its TORCH_WARN_ONCE: once a process).
_STFT_NO_WINDOW = (
    "A window was not provided. A rectangular window will be applied,which is known to cause "
    "spectral leakage. Other windows such as torch.hann_window or torch.hamming_window are "
    "recommended to reduce spectral leakage.To suppress this warning and use a rectangular "
    "window, explicitly set `window=torch.ones(n_fft, device=<device>)`.")
_ISTFT_NO_WINDOW = (
    "A window was not provided. A rectangular window will be applied.Please provide the same "
    "window used by stft to make the inversion lossless.To suppress this warning and use a "
    "rectangular window, explicitly set `window=torch.ones(n_fft, device=<device>)`.")
_REAL_PAIRS_DEPRECATED = (
    "stft with return_complex=False is deprecated. In a future pytorch release, stft will "
    "return complex tensors for all inputs, and return_complex=False will raise an error.\n"
    "Note: you can still call torch.view_as_real on the complex output to recover the old "
    "return format.")
_PADDED_TAIL = (
    "The length of signal is shorter than the length parameter. Result is being padded with "
    "zeros in the tail. Please check your center and hop_length settings.")

_STFT_SIGNATURES = (
    ' * (Tensor input, int n_fft, int hop_length = None, int win_length = None, Tensor window '
    '= None, bool center = True, str pad_mode = "reflect", bool normalized = False, bool '
    'onesided = None, bool return_complex = None, bool align_to_window = None)\n'
    ' * (Tensor input, int n_fft, int hop_length = None, int win_length = None, Tensor window '
    '= None, bool normalized = False, bool onesided = None, bool return_complex = None, bool '
    'align_to_window = None)\n')

# The dtypes PyTorch names by a legacy tensor type (``torch.DoubleTensor``) in an op's call
# description; the others it names by backend and scalar type (``CPUComplexDoubleType``).
_LEGACY_TYPES = frozenset(("float16", "float32", "float64", "uint8", "int8", "int16", "int32",
                           "int64"))


# ------------------------------------------------------------------------ arguments
def _as_int(value):
    """``value`` as PyTorch's parser reads an ``int`` argument (a one-element integer tensor
    counts, a bool does not), or None where it is not one."""
    if isinstance(value, Tensor) and value.numel() == 1 and value.dtype.name != "bool" and \
            not value.is_floating_point() and not value.dtype.is_complex:
        value = value.item()
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
        return int(value)
    return None


def _is_bool(value) -> bool:
    return isinstance(value, (bool, np.bool_))


def _type_word(value) -> str:
    return "Tensor" if isinstance(value, Tensor) else type(value).__name__


def _stft_arguments(args: tuple) -> tuple:
    """``(input, n_fft, hop_length, win_length, window, normalized, onesided, return_complex,
    align_to_window)`` read as PyTorch's ``_VF.stft`` reads them: the ints as ints, else its
    TypeError listing the argument types."""
    x, n_fft, hop, win, window, normalized, onesided, return_complex, align = args
    ints = [_as_int(v) for v in (n_fft, hop, win)]
    valid = (isinstance(x, Tensor) and ints[0] is not None
             and all(v is None or i is not None for v, i in zip((hop, win), ints[1:]))
             and (window is None or isinstance(window, Tensor)) and _is_bool(normalized)
             and all(v is None or _is_bool(v) for v in (onesided, return_complex, align)))
    if not valid:
        got = ", ".join(_type_word(v) for v in args)
        raise TypeError(f"stft() received an invalid combination of arguments - got ({got}), "
                        f"but expected one of:\n{_STFT_SIGNATURES}")
    return tuple(ints)


def _istft_arguments(n_fft, hop, win, window, center, normalized, onesided, length,
                     return_complex) -> tuple:
    """The ints of ``istft``'s arguments, after PyTorch's parser's checks of every argument."""
    def must_be(name: str, kind: str, value, where: str = ""):
        raise TypeError(f"istft(): argument '{name}'{where} must be {kind}, not "
                        f"{_type_word(value)}")

    ints = {}
    for name, value in (("n_fft", n_fft), ("hop_length", hop), ("win_length", win),
                        ("length", length)):
        ints[name] = _as_int(value)
        if ints[name] is None and (value is not None or name == "n_fft"):
            must_be(name, "int", value, " (position 2)" if name == "n_fft" else "")
    if window is not None and not isinstance(window, Tensor):
        must_be("window", "Tensor", window)
    for name, value in (("center", center), ("normalized", normalized),
                        ("onesided", onesided), ("return_complex", return_complex)):
        if not _is_bool(value) and not (value is None and name == "onesided"):
            must_be(name, "bool", value)
    return ints["n_fft"], ints["hop_length"], ints["win_length"], ints["length"]


def _type_name(t: Tensor) -> str:
    """How PyTorch names a tensor's type in a call description."""
    cuda = t.device.type == "cuda"
    scalar = dt.SCALAR_TYPE_NAMES[t.dtype.name]
    if t.dtype.name in _LEGACY_TYPES:
        return f"torch.{'cuda.' if cuda else ''}{scalar}Tensor"
    return f"{'CUDA' if cuda else 'CPU'}{scalar}Type"


def _shape_text(t: Tensor) -> str:
    return "[" + ", ".join(str(n) for n in t.shape) + "]"


def _flag(value) -> str:
    """An optional bool as PyTorch prints it in a call description: None, 0 or 1."""
    return "None" if value is None else str(int(value))


def _window_text(window) -> str:
    return "None" if window is None else f"{_type_name(window)}{{{_shape_text(window)}}}"


def _window_shape_ok(window, win_length: int) -> bool:
    return window is None or (window.dim() == 1 and window.shape[0] == win_length)


def _check_window_device(name: str, x: Tensor, window) -> None:
    if window is not None and window.device != x.device:
        raise RuntimeError(f"{name} input and window must be on the same device but got self on "
                           f"{x.device} and window on {window.device}")


def _check_fft_dtype(frames: Tensor) -> None:
    """float16 and bfloat16 frames: PyTorch's CPU FFT (oneMKL) refuses them, with this message;
    gpugrad's transforms refuse them on both devices."""
    if frames.dtype in (dt.float16, dt.bfloat16):
        raise RuntimeError("MKL FFT doesn't support tensors of type: "
                           f"{dt.SCALAR_TYPE_NAMES[frames.dtype.name]}")


def _check_center_pad(shape: tuple, pad: int, mode) -> None:
    """``F.pad``'s checks of the call that pads a 3-D view of shape ``shape`` by ``pad`` at
    both ends of its last dim (negative: a crop)."""
    if not isinstance(mode, str):
        raise TypeError(f"pad(): argument 'mode' (position 3) must be str, not "
                        f"{type(mode).__name__}")
    size = shape[-1] + 2 * pad
    if mode == "constant":
        if size < 0:
            raise RuntimeError("narrow(): length must be non-negative.")
        return
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if len(shape) != 3:
        raise NotImplementedError(
            f"Padding size 2 is not supported for {len(shape)}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    if mode != "circular" and 0 in shape[1:]:
        raise RuntimeError("Expected 2D or 3D (batch mode) tensor with possibly 0 batch size "
                           f"and other non-zero dimensions for input, but got: {list(shape)}")
    if mode == "reflect" and pad >= shape[2]:
        raise RuntimeError(
            "Argument #4: Padding size should be less than the corresponding input dimension, "
            f"but got: padding ({pad}, {pad}) at dimension 2 of input {list(shape)}")
    if mode == "circular":
        if pad > shape[2]:
            raise RuntimeError("Padding value causes wrapping around more than once.")
        if size < 0:
            raise RuntimeError("Negative padding value is resulting in an empty dimension")
    elif size <= 0:
        raise RuntimeError(f"input (W: {shape[2]}) is too small. Calculated output W: {size}")


def _checked_stft(x: Tensor, n_fft: int, hop: int, win: int, window, onesided,
                  return_complex, call: str) -> bool:
    """PyTorch's checks of ``stft``'s (padded) signal and arguments, in its order, with its
    warnings; returns ``onesided`` resolved (one-sided unless the signal or window is
    complex)."""
    if window is None:
        warn_user_once(_STFT_NO_WINDOW)
    complex_in = x.dtype.is_complex or (window is not None and window.dtype.is_complex)
    if return_complex is None and not complex_in:
        raise RuntimeError(
            "stft requires the return_complex parameter be given for real inputs, and will "
            "further require that return_complex=True in a future PyTorch release.")
    if return_complex is not None and not return_complex:
        warn_user_once(_REAL_PAIRS_DEPRECATED)
    if not (x.is_floating_point() or x.dtype.is_complex):
        raise RuntimeError(call + "expected a tensor of floating point or complex values")
    if x.dim() not in (1, 2):
        raise RuntimeError(call + "expected a 1D or 2D tensor")
    length = x.shape[-1]
    if n_fft <= 0 or n_fft > length:
        # (PyTorch's message shows win_length as the n_fft it got: kept, to read the same)
        raise RuntimeError(call + f"expected 0 < n_fft < {length}, but got n_fft={win}")
    if hop <= 0:
        raise RuntimeError(call + f"expected hop_length > 0, but got hop_length={hop}")
    if win <= 0 or win > n_fft:
        raise RuntimeError(call + f"expected 0 < win_length <= n_fft, but got win_length={win}")
    if not _window_shape_ok(window, win):
        raise RuntimeError(call + "expected a 1D window tensor of size equal to "
                           f"win_length={win}, but got window with size {list(window.shape)}")
    _check_window_device("stft", x, window)
    if onesided is None:
        return not complex_in
    if onesided and complex_in:
        raise RuntimeError("Cannot have onesided output if window or input is complex")
    return onesided


def _checked_istft(input: Tensor, n_fft: int, hop: int, win: int, window, onesided,
                   return_complex: bool, call: str) -> bool:
    """PyTorch's checks of ``istft``'s spectrum and arguments, in its order; returns whether
    the spectrum is one-sided (by default: whether it has other than ``n_fft`` frequencies)."""
    if input.numel() == 0:
        raise RuntimeError(call + "input tensor cannot be empty.")
    if input.dim() not in (2, 3):  # (counted, as PyTorch does, with the pairs' dim)
        raise RuntimeError(call + "expected a tensor with 3 or 4 dimensions, but got "
                           f"{input.dim() + 1}")
    fft_size = input.shape[-2]
    half = int(n_fft / 2) + 1  # (C++ division: toward zero)
    sided = fft_size != n_fft if onesided is None else onesided
    if sided and fft_size != half:
        raise RuntimeError(call + "expected the frequency dimension (3rd to the last) of the "
                           "input tensor to match n_fft / 2 + 1 when onesided=True, but got "
                           f"{fft_size}")
    if not sided and fft_size != n_fft:
        raise RuntimeError(call + "expected the frequency dimension (3rd to the last) of the "
                           f"input tensor to match n_fft when onesided=False, but got {fft_size}")
    if not 0 < hop <= win:
        raise RuntimeError(call + "expected 0 < hop_length <= win_length")
    if not 0 < win <= n_fft:
        raise RuntimeError(call + "expected 0 < win_length <= n_fft")
    if not _window_shape_ok(window, win):
        raise RuntimeError(call + "Invalid window shape. window has to be 1D and length of "
                           "`win_length`")
    _check_window_device("istft", input, window)
    if return_complex and sided:
        raise RuntimeError("Cannot have onesided output if window or input is complex")
    if not return_complex and window is not None and window.dtype.is_complex:
        raise RuntimeError("Complex windows are incompatible with return_complex=False")
    return sided

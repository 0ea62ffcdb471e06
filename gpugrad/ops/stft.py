"""The short-time Fourier transform and its inverse: ``stft`` and ``istft``, with PyTorch's
arguments, defaults, checks and messages.

Neither is an op of its own: each is a composition of differentiable ops, so its gradient (for
the signal, the spectrum and the window alike) is theirs.

- ``stft``: the signal padded at both ends (``center``, any ``F.pad`` mode), cut into frames of
  ``n_fft`` samples every ``hop_length`` (``unfold``: a strided view of the signal, no
  copy), each frame times the window (zero-padded to ``n_fft``, centred), then one transform
  of the frames (real to complex, one-sided or not; complex to complex for a complex signal
  or window), transposed to (frequency, frame).
- ``istft``: the inverse transform of each frame (complex to real unless ``return_complex``),
  times the window, added up where the frames overlap (``unfold``'s adjoint, the op behind
  its backward), divided by the overlap-added squared window (the envelope), trimmed.

Both take complex tensors (a spectrum, a complex signal or window), so their public names
belong on the complex net's list of ops that compute on them (``ops/_complex.py``); inside,
they call the ops modules' functions directly (the FFTs are ``ops/fft.py``'s), each one an op
that computes on complex numbers.
"""

from __future__ import annotations

from .. import _capture
from .._warnings import warn_user_once
from ._stft_checks import (
    _ISTFT_NO_WINDOW,
    _PADDED_TAIL,
    _check_center_pad,
    _check_fft_dtype,
    _checked_istft,
    _checked_stft,
    _flag,
    _istft_arguments,
    _shape_text,
    _stft_arguments,
    _type_name,
    _type_word,
    _window_text,
)
from ._util import Tensor
from .arithmetic import mul
from .complex_api import _complex_np, view_as_real
from .convert import contiguous, to
from .diagonal import UnfoldBackward, unfold
from .division import div
from .fft import Crop, FftC2C, FftC2R, FftR2C
from .join import narrow
from .padding import constant_pad, index_pad
from .shape import expand, reshape, transpose

__all__ = ["stft", "istft"]

# ------------------------------------------------------------------------ shared pieces
def _full_window(window, win_length: int, n_fft: int, like: Tensor):
    """The window as ``n_fft`` samples, a shorter one centred between zeros; None for the
    rectangular window of ``n_fft`` ones (a multiplication by it would change nothing)."""
    if window is None:
        if win_length == n_fft:
            return None
        xp = like._backend.xp
        window = like._new(xp.ones(win_length, dtype=like.dtype.to_real().np))
    left = (n_fft - win_length) // 2
    if win_length < n_fft:
        window = constant_pad(window, (left, n_fft - win_length - left), 0)
    return window


def _center_pad(x: Tensor, pad: int, mode) -> Tensor:
    """``x`` with ``pad`` samples added at both ends of its last dim in ``F.pad``'s ``mode``,
    through the 3-D view PyTorch pads (``F.pad``'s modes need a batch and a channel dim)."""
    ndim = x.dim()
    shape = (1,) * (3 - ndim) + tuple(x.shape)
    _check_center_pad(shape, pad, mode)
    x3 = reshape(x, shape)
    if mode == "constant":
        padded = constant_pad(x3, (pad, pad), 0)
    else:
        padded = index_pad(x3, (pad, pad), mode)
    # back to the input's dims (a 0-d input stays 3-D, as PyTorch's view leaves it)
    return reshape(padded, tuple(padded.shape[3 - ndim:]) if 0 < ndim <= 3 else padded.shape)


# ------------------------------------------------------------------------ stft
def stft(input: Tensor, n_fft: int, hop_length: int | None = None, win_length: int | None = None,
         window: Tensor | None = None, center: bool = True, pad_mode: str = "reflect",
         normalized: bool = False, onesided: bool | None = None,
         return_complex: bool | None = None, align_to_window: bool | None = None) -> Tensor:
    """The short-time Fourier transform of a signal (``(L,)``) or a batch of them (``(B, L)``):
    the spectrum of each frame of ``n_fft`` samples, frames ``hop_length`` apart (default
    ``n_fft // 4``), each multiplied by ``window`` (``win_length`` samples, default ``n_fft``
    ones, centred between zeros when shorter). Shape ``(B?, freq, frames)``.

    ``center`` pads ``n_fft // 2`` samples at both ends first (``pad_mode``: an ``F.pad`` mode),
    so that frame ``t`` is centred on sample ``t * hop_length``; without it,
    ``align_to_window`` places each frame so that its window starts at ``t * hop_length``.
    ``onesided`` (the default for a real signal and window) keeps ``n_fft // 2 + 1``
    frequencies; ``normalized`` scales by ``n_fft ** -0.5``. ``return_complex`` must be given
    for a real signal: False returns the (real, imaginary) pairs (deprecated, as in PyTorch)."""
    if center and not isinstance(input, Tensor):  # (PyTorch reads input.dim() to pad it)
        raise AttributeError(f"'{type(input).__name__}' object has no attribute 'dim'")
    n_fft, hop, win = _stft_arguments((input, n_fft, hop_length, win_length, window, normalized,
                                       onesided, return_complex, align_to_window))
    if center and align_to_window is not None:
        raise RuntimeError("stft align_to_window should only be set when center = false")
    x = _center_pad(input, n_fft // 2, pad_mode) if center else input
    hop = n_fft >> 2 if hop is None else hop
    win = n_fft if win is None else win
    call = (f"stft({_type_name(x)}{_shape_text(x)}, n_fft={n_fft}, hop_length={hop}, "
            f"win_length={win}, window={_window_text(window)}, normalized={int(normalized)}, "
            f"onesided={_flag(onesided)}, return_complex={_flag(return_complex)}, "
            f"align_to_window={_flag(align_to_window)}) : ")

    onesided = _checked_stft(x, n_fft, hop, win, window, onesided, return_complex, call)

    if not center and align_to_window:
        # each window's first sample at t * hop_length: zeros for the frames' padded edges
        left = (n_fft - win) // 2
        x = constant_pad(x, (left, n_fft - win - left), 0)
    frames = unfold(x, -1, n_fft, hop)  # (B?, frames, n_fft): a view of the signal
    full_window = _full_window(window, win, n_fft, x)
    if full_window is not None:
        frames = mul(frames, full_window)
    _check_fft_dtype(frames)
    norm = "ortho" if normalized else "backward"
    last = (frames.dim() - 1,)
    if frames.dtype.is_complex:
        spectrum = FftC2C.apply(frames, last, norm, True)
    else:
        spectrum = FftR2C.apply(frames, last, norm, onesided, _complex_np(frames._data.dtype))
    # (B?, frames, freq) in row-major order, as PyTorch's transform leaves it
    out = transpose(contiguous(spectrum), -1, -2)
    return view_as_real(out) if return_complex is not None and not return_complex else out


# ------------------------------------------------------------------------ istft
@_capture.island(repeatable=True)  # a host read: checked again at each replay of a capture
def _check_envelope(envelope, call: str, device_word: str) -> None:
    """PyTorch's NOLA check: the overlap-added squared window must not vanish anywhere in the
    kept signal (the division by it would have nothing to invert)."""
    if envelope.size == 0:
        raise RuntimeError("min(): Expected reduction dim to be specified for input.numel() == "
                           "0. Specify the reduction dim with the 'dim' argument.")
    if bool(abs(envelope).min() < 1e-11):
        raise RuntimeError(f"{call} window overlap add min: 1\n[ {device_word}BoolType{{}} ]")


def _overlap_add(frames: Tensor, full_window: Tensor, hop: int) -> tuple:
    """The frames ``(B?, frames, n_fft)`` times the window, added up where they overlap
    (``unfold``'s adjoint), and the squared window added up likewise (the envelope): two
    signals of ``n_fft + hop * (frames - 1)`` samples."""
    n_frames, n_fft = frames.shape[-2], frames.shape[-1]
    total = n_fft + hop * (n_frames - 1)
    signal = UnfoldBackward.apply(mul(frames, full_window), tuple(frames.shape[:-2]) + (total,),
                                  frames.dim() - 2, n_fft, hop)
    squares = expand(mul(full_window, full_window), (n_frames, n_fft))
    return signal, UnfoldBackward.apply(squares, (total,), 0, n_fft, hop)


def istft(input: Tensor, n_fft: int, hop_length: int | None = None,
          win_length: int | None = None, window: Tensor | None = None, center: bool = True,
          normalized: bool = False, onesided: bool | None = None, length: int | None = None,
          return_complex: bool = False) -> Tensor:
    """The inverse of ``stft``: the signal (``(L,)``, or ``(B, L)`` for a ``(B, freq, frames)``
    input) whose ``stft`` with the same arguments is ``input``, where the windows overlap
    enough to invert (least squares: the frames' inverse transforms, windowed, overlap-added
    and divided by the overlap-added squared window). ``onesided`` defaults to whether the
    input has fewer than ``n_fft`` frequencies; ``center`` trims ``n_fft // 2`` samples at both
    ends; ``length`` trims the result, or pads it with zeros, to that many samples.
    ``return_complex`` gives a complex signal (from a two-sided input)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"istft(): argument 'input' (position 1) must be Tensor, not "
                        f"{_type_word(input)}")
    n_fft, hop, win, length = _istft_arguments(n_fft, hop_length, win_length, window, center,
                                               normalized, onesided, length, return_complex)
    if window is None:
        warn_user_once(_ISTFT_NO_WINDOW)
    if not input.dtype.is_complex:
        raise RuntimeError("istft requires a complex-valued input tensor matching the output "
                           "from stft with return_complex=True.")
    ndim = input.dim() + 1  # PyTorch checks the (real, imaginary) pairs' view
    if ndim < 3:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-ndim}, "
                         f"{ndim - 1}], but got -3)")
    hop = n_fft >> 2 if hop is None else hop
    win = n_fft if win is None else win
    described = (f"istft({_type_name(input)}{_shape_text(input)}, n_fft={n_fft}, "
                 f"hop_length={hop}, win_length={win}, window={_window_text(window)}, "
                 f"center={int(center)}, normalized={int(normalized)}, "
                 f"onesided={_flag(onesided)}, length={length}, "
                 f"return_complex={int(return_complex)})")
    call = described + " : "

    sided = _checked_istft(input, n_fft, hop, win, window, onesided, return_complex, call)

    # each frame's signal: (B?, frames, n_fft)
    norm = "ortho" if normalized else "backward"
    spectra = transpose(input, -1, -2)
    last = (spectra.dim() - 1,)
    if return_complex:
        frames = FftC2C.apply(spectra, last, norm, False)
    else:
        if not sided:  # a two-sided spectrum's first half holds the real signal's
            spectra = Crop.apply(spectra, last, (n_fft // 2 + 1,))
        frames = FftC2R.apply(spectra, last, norm, n_fft, input.dtype.to_real().np)
    real = frames.dtype.to_real()
    if window is None:
        window = frames._new(frames._backend.xp.ones(win, dtype=real.np))
    elif not (window.is_floating_point() or window.dtype.is_complex):
        # an integer or bool window: its squares and their sums in the frames' float dtype
        # (a bool window's sum would stay bool)
        window = to(window, real)
    full_window = _full_window(window, win, n_fft, frames)

    signal, envelope = _overlap_add(frames, full_window, hop)

    total = signal.shape[-1]
    start = n_fft // 2 if center else 0
    if length is not None:
        end = start + length
    else:
        end = -(n_fft // 2) if center else total
    first, stop, _ = slice(start, end).indices(total)  # (PyTorch's slice: Python's rules)
    kept = max(stop - first, 0)
    signal = narrow(signal, -1, first, kept)
    envelope = narrow(envelope, -1, first, kept)
    _check_envelope(envelope._data, described, "CUDA" if input.is_cuda else "CPU")
    signal = div(signal, envelope)
    if end > total:
        warn_user_once(_PADDED_TAIL)
        signal = constant_pad(signal, (0, end - total), 0)
    return signal


METHODS = {"stft": stft, "istft": istft}

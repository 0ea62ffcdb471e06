"""``stft`` and ``istft`` against PyTorch's: values, dtypes, shapes, strides and gradients (of
the signal, the spectrum and the window) in float64 and float32 over the arguments' variants;
round trips; float64 finite differences; a multi-resolution spectrogram loss as vocoder training
computes it; the warnings; and the errors, message for message."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import gpugrad
from gpugrad import _warnings
from gpugrad.autograd import gradcheck

LIBS = (torch, gpugrad)


def _window(L, n, dtype, kind="hann"):
    """A window of ``n`` samples: Hann (``hann``), or one that vanishes nowhere (``bumpy``),
    for the frames' edges without ``center``."""
    if kind == "hann":
        return L.hann_window(n, dtype=dtype)
    return L.hann_window(n, dtype=dtype) * 0.5 + 0.5


# name -> (fn(L, x, w), the signal's kind ("r" real, "c" complex), its shape, the window's
# length or None, the window's kind)
STFT_CASES = {
    "hann": (lambda L, x, w: L.stft(x, 16, 4, window=w, return_complex=True), "r", (40,), 16,
             "hann"),
    "rectangular": (lambda L, x, w: L.stft(x, 16, return_complex=True), "r", (40,), None, ""),
    "short_window": (lambda L, x, w: L.stft(x, 16, 5, 10, window=w, return_complex=True), "r",
                     (43,), 10, "hann"),
    "short_odd_window": (lambda L, x, w: L.stft(x, 15, 4, 8, window=w, return_complex=True),
                         "r", (41,), 8, "bumpy"),
    "short_default_window": (lambda L, x, w: L.stft(x, 12, 3, 7, return_complex=True), "r",
                             (30,), None, ""),
    "no_center": (lambda L, x, w: L.stft(x, 16, 3, window=w, center=False,
                                         return_complex=True), "r", (41,), 16, "hann"),
    "constant_pad": (lambda L, x, w: L.stft(x, 16, 4, window=w, pad_mode="constant",
                                            return_complex=True), "r", (37,), 16, "hann"),
    "replicate_pad": (lambda L, x, w: L.stft(x, 8, 2, window=w, pad_mode="replicate",
                                             return_complex=True), "r", (21,), 8, "hann"),
    "circular_pad": (lambda L, x, w: L.stft(x, 8, 3, window=w, pad_mode="circular",
                                            return_complex=True), "r", (22,), 8, "bumpy"),
    "normalized": (lambda L, x, w: L.stft(x, 16, 4, window=w, normalized=True,
                                          return_complex=True), "r", (40,), 16, "hann"),
    "two_sided": (lambda L, x, w: L.stft(x, 10, 3, window=w, onesided=False,
                                         return_complex=True), "r", (33,), 10, "hann"),
    "batched": (lambda L, x, w: L.stft(x, 16, 4, window=w, return_complex=True), "r", (3, 45),
                16, "hann"),
    "batched_no_center": (lambda L, x, w: L.stft(x, 8, 8, 6, window=w, center=False,
                                                 return_complex=True), "r", (2, 35), 6, "hann"),
    "hop_beyond_window": (lambda L, x, w: L.stft(x, 8, 11, window=w, return_complex=True), "r",
                          (50,), 8, "hann"),
    "complex_signal": (lambda L, x, w: L.stft(x, 16, 4, window=w), "c", (40,), 16, "hann"),
    "complex_signal_batched": (lambda L, x, w: L.stft(x, 8, 2, 6, window=w, normalized=True,
                                                      return_complex=True), "c", (2, 20), 6,
                               "hann"),
    "complex_window": (lambda L, x, w: L.stft(x, 12, 3, window=w * (1 + 0.5j)), "r", (30,), 12,
                       "hann"),
    "pairs": (lambda L, x, w: L.stft(x, 16, 4, window=w, return_complex=False), "r", (40,), 16,
              "hann"),
    "complex_pairs": (lambda L, x, w: L.stft(x, 8, 2, window=w, center=False,
                                             return_complex=False), "c", (20,), 8, "hann"),
    "align_to_window": (lambda L, x, w: L.stft(x, 16, 4, 8, window=w, center=False,
                                               align_to_window=True, return_complex=True), "r",
                        (40,), 8, "bumpy"),
    "n_fft_is_length": (lambda L, x, w: L.stft(x, 16, 4, window=w, center=False,
                                               return_complex=True), "r", (16,), 16, "hann"),
    "method": (lambda L, x, w: x.stft(16, hop_length=4, window=w, return_complex=True), "r",
               (40,), 16, "hann"),
    "strided_signal": (lambda L, x, w: L.stft(x[..., ::2], 8, 2, window=w, return_complex=True),
                       "r", (2, 41), 8, "hann"),
    "magnitude": (lambda L, x, w: L.stft(x, 16, 4, window=w, return_complex=True).abs(), "r",
                  (2, 40), 16, "hann"),
}


def _values(kind: str, shape, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    return a + 1j * rng.standard_normal(shape) if kind == "c" else a


def _dtypes(L, single: bool) -> tuple:
    return (L.float32, L.complex64) if single else (L.float64, L.complex128)


def _leaf(L, array, dtype):
    return L.tensor(array, dtype=dtype, requires_grad=True)


def _compare_outputs(L_outs, single: bool, seed: int = 7):
    """Values, dtypes, shapes and strides alike; then each library's gradients of one real
    weighted sum of the outputs (its real and imaginary parts for a complex output)."""
    (t_out, t_inputs), (g_out, g_inputs) = L_outs
    assert str(g_out.dtype).split(".")[-1] == str(t_out.dtype).split(".")[-1]
    assert tuple(g_out.shape) == tuple(t_out.shape)
    assert g_out.stride() == t_out.stride()
    rtol, atol = (2e-4, 2e-5) if single else (1e-10, 1e-11)
    t_vals = t_out.detach().resolve_conj().numpy()
    np.testing.assert_allclose(g_out.detach().numpy(), t_vals, rtol=rtol, atol=atol)
    weights = np.random.default_rng(seed).standard_normal(tuple(t_out.shape) + (2,))
    grads = []
    for lib, out, inputs in ((torch, t_out, t_inputs), (gpugrad, g_out, g_inputs)):
        parts = lib.view_as_real(out) if out.dtype.is_complex else out[..., None]
        w = lib.tensor(weights[..., :parts.shape[-1]], dtype=parts.dtype)
        (parts * w).sum().backward()
        grads.append([x.grad for x in inputs])
    for t_grad, g_grad in zip(*grads):
        assert g_grad is not None and t_grad is not None
        assert str(g_grad.dtype).split(".")[-1] == str(t_grad.dtype).split(".")[-1]
        np.testing.assert_allclose(g_grad.numpy(), t_grad.numpy(), rtol=rtol, atol=atol)


@pytest.mark.parametrize("single", [False, True], ids=["float64", "float32"])
@pytest.mark.parametrize("name", list(STFT_CASES))
def test_stft_matches_torch(name, single):
    fn, kind, shape, win, wkind = STFT_CASES[name]
    signal = _values(kind, shape, 0)
    outs = []
    for L in LIBS:
        real, cplx = _dtypes(L, single)
        x = _leaf(L, signal, cplx if kind == "c" else real)
        inputs = [x]
        w = None
        if win is not None:
            w = _window(L, win, real, wkind).requires_grad_()
            inputs.append(w)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outs.append((fn(L, x, w), inputs))
    _compare_outputs(outs, single)


# name -> (the stft's arguments (n_fft, hop, win, window kind, center, onesided, normalized),
# istft's fn(L, spectrum, w), the signal's kind and shape)
ISTFT_CASES = {
    "hann": ((16, 4, 16, "hann", True, None, False),
             lambda L, s, w: L.istft(s, 16, 4, window=w), "r", (40,)),
    "rectangular": ((16, 4, 16, "ones", True, None, False),
                    lambda L, s, w: L.istft(s, 16, 4), "r", (40,)),
    "length_shorter": ((16, 4, 16, "hann", True, None, False),
                       lambda L, s, w: L.istft(s, 16, 4, window=w, length=33), "r", (40,)),
    "length_longer": ((16, 4, 16, "hann", True, None, False),
                      lambda L, s, w: L.istft(s, 16, 4, window=w, length=47), "r", (40,)),
    "no_center": ((16, 4, 16, "bumpy", False, None, False),
                  lambda L, s, w: L.istft(s, 16, 4, window=w, center=False), "r", (42,)),
    "no_center_negative_length": ((16, 4, 16, "bumpy", False, None, False),
                                  lambda L, s, w: L.istft(s, 16, 4, window=w, center=False,
                                                          length=-3), "r", (42,)),
    "short_window": ((16, 4, 10, "hann", True, None, False),
                     lambda L, s, w: L.istft(s, 16, 4, 10, window=w), "r", (37,)),
    "odd_n_fft": ((15, 5, 15, "hann", True, None, False),
                  lambda L, s, w: L.istft(s, 15, 5, window=w), "r", (44,)),
    "normalized": ((16, 4, 16, "hann", True, None, True),
                   lambda L, s, w: L.istft(s, 16, 4, window=w, normalized=True), "r", (40,)),
    "two_sided": ((12, 3, 12, "hann", True, False, False),
                  lambda L, s, w: L.istft(s, 12, 3, window=w), "r", (30,)),
    "two_sided_complex": ((12, 3, 12, "hann", True, False, False),
                          lambda L, s, w: L.istft(s, 12, 3, window=w, return_complex=True), "c",
                          (30,)),
    "complex_window": ((12, 3, 12, "hann", True, False, False),
                       lambda L, s, w: L.istft(s, 12, 3, window=w * (1 - 0.5j),
                                               return_complex=True), "c", (30,)),
    "batched": ((16, 4, 16, "hann", True, None, False),
                lambda L, s, w: L.istft(s, 16, 4, window=w), "r", (3, 40)),
    "method": ((8, 2, 8, "hann", True, None, False),
               lambda L, s, w: s.istft(8, 2, window=w, length=25), "r", (2, 25)),
}


@pytest.mark.parametrize("single", [False, True], ids=["float64", "float32"])
@pytest.mark.parametrize("name", list(ISTFT_CASES))
def test_istft_matches_torch(name, single):
    (n_fft, hop, win, wkind, center, onesided, normalized), fn, kind, shape = ISTFT_CASES[name]
    signal = torch.tensor(_values(kind, shape, 1))
    w64 = None if wkind == "ones" else _window(torch, win, torch.float64, wkind)
    spectrum = torch.stft(signal, n_fft, hop, win, window=w64, center=center,
                          onesided=onesided, normalized=normalized, return_complex=True)
    outs = []
    for L in LIBS:
        real, cplx = _dtypes(L, single)
        s = _leaf(L, spectrum.numpy(), cplx)
        inputs = [s]
        w = None
        if wkind != "ones":
            w = _window(L, win, real, wkind).requires_grad_()
            inputs.append(w)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outs.append((fn(L, s, w), inputs))
    _compare_outputs(outs, single)


@pytest.mark.parametrize("case", [(16, 4, 16, True, "hann"), (16, 4, 11, True, "hann"),
                                  (15, 5, 15, False, "bumpy"), (32, 8, 32, True, "hann"),
                                  (8, 2, 8, False, "bumpy")])
def test_round_trip_gives_the_signal_back(case):
    n_fft, hop, win, center, wkind = case
    x = gpugrad.tensor(_values("r", (2, 64), 3))
    w = _window(gpugrad, win, gpugrad.float64, wkind)
    spectrum = gpugrad.stft(x, n_fft, hop, win, window=w, center=center, return_complex=True)
    back = gpugrad.istft(spectrum, n_fft, hop, win, window=w, center=center, length=None)
    kept = back.shape[-1]
    assert kept <= 64
    np.testing.assert_allclose(back.numpy(), x.numpy()[:, :kept], rtol=1e-12, atol=1e-12)
    if center:
        again = gpugrad.istft(spectrum, n_fft, hop, win, window=w, length=64)
        np.testing.assert_allclose(again.numpy(), x.numpy(), rtol=1e-12, atol=1e-12)


def test_round_trip_of_a_complex_signal():
    z = gpugrad.tensor(_values("c", (50,), 4))
    w = gpugrad.hann_window(12, dtype=gpugrad.float64)
    spectrum = gpugrad.stft(z, 12, 3, window=w)
    back = gpugrad.istft(spectrum, 12, 3, window=w, return_complex=True, length=50)
    np.testing.assert_allclose(back.numpy(), z.numpy(), rtol=1e-12, atol=1e-12)


def test_gradcheck_of_stft():
    x = gpugrad.tensor(_values("r", (2, 30), 5), requires_grad=True)
    w = (gpugrad.hann_window(12, dtype=gpugrad.float64) + 0.1).requires_grad_()

    def spectrum_pairs(x, w):
        return gpugrad.view_as_real(gpugrad.stft(x, 16, 4, 12, window=w, return_complex=True))

    assert gradcheck(spectrum_pairs, (x, w))
    z = gpugrad.tensor(_values("r", (20, 2), 6), requires_grad=True)
    assert gradcheck(lambda z: gpugrad.stft(gpugrad.view_as_complex(z), 8, 2,
                                            window=w.detach()[2:10], return_complex=False),
                     (z,))


def test_gradcheck_of_istft():
    w = (gpugrad.hann_window(16, dtype=gpugrad.float64) + 0.1).requires_grad_()
    pairs = gpugrad.tensor(_values("r", (9, 7, 2), 8), requires_grad=True)

    def signal(pairs, w):
        return gpugrad.istft(gpugrad.view_as_complex(pairs), 16, 4, window=w)

    assert gradcheck(signal, (pairs, w))
    full = gpugrad.tensor(_values("r", (2, 8, 5, 2), 9), requires_grad=True)
    assert gradcheck(lambda p: gpugrad.view_as_real(gpugrad.istft(
        gpugrad.view_as_complex(p), 8, 2, window=w.detach()[:8], center=False,
        return_complex=True)), (full,))


def _multi_resolution_loss(L, pred, target):
    """The spectrogram loss of vocoder training (Parallel WaveGAN's, MelGAN's): at several
    resolutions, the spectral convergence ||T - P|| / ||T|| plus the mean absolute difference
    of the log magnitudes, and of the magnitudes themselves."""
    loss = 0
    for n_fft, hop, win in ((64, 16, 48), (32, 8, 24), (128, 32, 96)):
        w = L.hann_window(win, dtype=pred.dtype)
        p = L.stft(pred, n_fft, hop, win, window=w, return_complex=True).abs()
        t = L.stft(target, n_fft, hop, win, window=w, return_complex=True).abs()
        convergence = ((t - p) ** 2).sum().sqrt() / (t ** 2).sum().sqrt()
        log_l1 = (L.log(p.clamp(min=1e-7)) - L.log(t.clamp(min=1e-7))).abs().mean()
        loss = loss + convergence + log_l1 + L.nn.functional.l1_loss(p, t)
    return loss / 3


@pytest.mark.parametrize("single", [False, True], ids=["float64", "float32"])
def test_multi_resolution_spectrogram_loss(single):
    rng = np.random.default_rng(10)
    target = np.sin(np.linspace(0, 40, 512))[None] * np.array([[1.0], [0.5]])
    pred = target + 0.3 * rng.standard_normal((2, 512))
    results = []
    for L in LIBS:
        dtype = L.float32 if single else L.float64
        p = L.tensor(pred, dtype=dtype, requires_grad=True)
        loss = _multi_resolution_loss(L, p, L.tensor(target, dtype=dtype))
        loss.backward()
        results.append((loss.item(), p.grad.numpy()))
    (t_loss, t_grad), (g_loss, g_grad) = results
    rtol = 1e-4 if single else 1e-10
    np.testing.assert_allclose(g_loss, t_loss, rtol=rtol)
    np.testing.assert_allclose(g_grad, t_grad, rtol=rtol, atol=rtol * np.abs(t_grad).max())


def test_second_order_through_stft_matches_torch():
    grads = []
    for L in LIBS:
        x = L.tensor(_values("r", (33,), 11), requires_grad=True)
        w = L.hann_window(8, dtype=L.float64)
        mag = L.stft(x, 8, 2, window=w, return_complex=True).abs()
        (g,) = L.autograd.grad((mag ** 3).sum(), x, create_graph=True)
        (g ** 2).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-9)


def test_functional_and_tensor_names():
    assert gpugrad.functional.stft is gpugrad.stft
    assert gpugrad.functional.istft is gpugrad.istft
    assert {"stft", "istft"} <= set(gpugrad.functional.__all__)
    x = gpugrad.tensor(_values("r", (20,), 12))
    w = gpugrad.ones(8, dtype=gpugrad.float64)
    assert gpugrad.equal(x.stft(8, window=w, return_complex=True),
                         gpugrad.stft(x, 8, window=w, return_complex=True))


# ------------------------------------------------------------------------ dtypes
@pytest.mark.parametrize("signal, window", [("float32", "float64"), ("float64", "float32"),
                                            ("float32", "int64"), ("float64", "bool"),
                                            ("float32", "float16"), ("float16", "float32"),
                                            ("complex64", "float64"), ("float32", "complex128")])
@pytest.mark.parametrize("short", [False, True])
def test_stft_promotes_as_torch(signal, window, short):
    outs = []
    for L in LIBS:
        x = L.tensor(_values("r", (30,), 13)).to(getattr(L, signal))
        w = L.ones(6 if short else 8, dtype=getattr(L, window))
        outs.append(L.stft(x, 8, 2, 6 if short else 8, window=w, return_complex=True))
    assert str(outs[1].dtype).split(".")[-1] == str(outs[0].dtype).split(".")[-1]
    np.testing.assert_allclose(outs[1].numpy(), outs[0].numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("spectrum, window", [("complex64", "float64"), ("complex128", "float32"),
                                              ("complex64", "int64"), ("complex128", "bool"),
                                              ("complex64", "float16")])
def test_istft_promotes_as_torch(spectrum, window):
    outs = []
    base = torch.stft(torch.tensor(_values("r", (30,), 14)), 8, 2, window=torch.ones(8),
                      return_complex=True)
    for L in LIBS:
        s = L.tensor(base.numpy()).to(getattr(L, spectrum))
        outs.append(L.istft(s, 8, 2, window=L.ones(8, dtype=getattr(L, window))))
    assert str(outs[1].dtype).split(".")[-1] == str(outs[0].dtype).split(".")[-1]
    np.testing.assert_allclose(outs[1].numpy(), outs[0].numpy(), rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------------ warnings
def _warned(call, message_start: str) -> list:
    _warnings._warned_once.clear()  # (PyTorch's warnings come once a process)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return [str(w.message) for w in caught if str(w.message).startswith(message_start)]


@pytest.mark.parametrize("name", ["stft_window", "istft_window", "pairs", "padded_tail"])
def test_warnings_are_torchs(name):
    def call(L):
        x = L.tensor(_values("r", (40,), 15))
        ones = L.ones(16, dtype=L.float64)
        spectrum = L.stft(x, 16, 4, window=ones, return_complex=True)
        return {"stft_window": lambda: L.stft(x, 16, 4, return_complex=True),
                "istft_window": lambda: L.istft(spectrum, 16, 4),
                "pairs": lambda: L.stft(x, 16, 4, window=ones, return_complex=False),
                "padded_tail": lambda: L.istft(spectrum, 16, 4, window=ones, length=52)}[name]

    torch_call, gpugrad_call = call(torch), call(gpugrad)
    always = torch._C._get_warnAlways()
    torch._C._set_warnAlways(True)  # (PyTorch's once-a-process warnings, every time)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch_call()
    finally:
        torch._C._set_warnAlways(always)
    (want,) = [str(w.message).split(" (Triggered internally")[0] for w in caught]
    assert _warned(gpugrad_call, want[:20]) == [want]
    assert _warned(lambda: None, want[:20]) == []


# ------------------------------------------------------------------------ errors
def _error_cases():
    x40 = _values("r", (40,), 16)
    spec = torch.stft(torch.tensor(x40), 16, 4, window=torch.hann_window(16, dtype=torch.float64),
                      return_complex=True).numpy()
    full = torch.stft(torch.tensor(x40), 16, 4, window=torch.hann_window(16, dtype=torch.float64),
                      onesided=False, return_complex=True).numpy()

    def t(L, a, dtype="float64"):
        return L.tensor(a).to(getattr(L, dtype))

    def hann(L, n=16, dtype="float64"):
        return L.hann_window(n, dtype=L.float64).to(getattr(L, dtype))

    return {
        # stft
        "no_return_complex": lambda L: L.stft(t(L, x40), 16, window=hann(L)),
        "n_fft_zero": lambda L: L.stft(t(L, x40), 0, window=hann(L), return_complex=True),
        "n_fft_negative": lambda L: L.stft(t(L, x40), -4, center=False, return_complex=True),
        "n_fft_too_long": lambda L: L.stft(t(L, x40), 41, center=False, return_complex=True),
        "n_fft_shown_as_win_length": lambda L: L.stft(t(L, x40), 50, 4, 8, center=False,
                                                       return_complex=True),
        "reflect_too_long": lambda L: L.stft(t(L, x40), 100, window=hann(L, 100),
                                             return_complex=True),
        "hop_zero": lambda L: L.stft(t(L, x40), 16, 0, window=hann(L), return_complex=True),
        "hop_negative": lambda L: L.stft(t(L, x40), 16, -2, window=hann(L),
                                         return_complex=True),
        "hop_default_zero": lambda L: L.stft(t(L, x40), 1, center=False, return_complex=True),
        "win_zero": lambda L: L.stft(t(L, x40), 16, 4, 0, return_complex=True),
        "win_too_long": lambda L: L.stft(t(L, x40), 16, 4, 20, return_complex=True),
        "window_size": lambda L: L.stft(t(L, x40), 16, 4, 12, window=hann(L),
                                        return_complex=True),
        "window_2d": lambda L: L.stft(t(L, x40), 16, 4, window=hann(L)[None],
                                      return_complex=True),
        "window_complex_2d": lambda L: L.stft(t(L, x40, "float32"), 16, 4, center=False,
                                              window=hann(L, 16, "complex64")[None],
                                              return_complex=True),
        "window_bool_shown": lambda L: L.stft(t(L, x40, "float32"), 50, window=L.ones(
            50, dtype=L.bool), center=False, return_complex=True, normalized=True,
            onesided=True),
        "signal_3d": lambda L: L.stft(t(L, x40).reshape(2, 2, 10), 4, window=hann(L, 4),
                                      return_complex=True),
        "signal_3d_constant": lambda L: L.stft(t(L, x40).reshape(2, 2, 10), 4, window=hann(L, 4),
                                               pad_mode="constant", return_complex=True),
        "signal_4d_reflect": lambda L: L.stft(t(L, x40).reshape(2, 2, 2, 5), 4,
                                              return_complex=True),
        "signal_0d": lambda L: L.stft(t(L, x40)[0], 4, center=False, return_complex=True),
        "signal_0d_center": lambda L: L.stft(t(L, x40)[0], 1, 1, window=hann(L, 1),
                                             return_complex=True),
        "signal_int": lambda L: L.stft(L.arange(40), 16, window=hann(L), return_complex=True),
        "signal_bool": lambda L: L.stft(t(L, x40) > 0, 16, center=False, return_complex=True),
        "signal_float16": lambda L: L.stft(t(L, x40, "float16"), 16, center=False,
                                           return_complex=True),
        "complex_onesided": lambda L: L.stft(t(L, x40, "complex128"), 16, window=hann(L),
                                             onesided=True, return_complex=True),
        "complex_window_onesided": lambda L: L.stft(t(L, x40), 16, window=hann(
            L, 16, "complex128"), onesided=True, return_complex=True),
        "complex_signal_shown": lambda L: L.stft(t(L, x40, "complex64"), 0, center=False,
                                                 window=hann(L, 16, "float32")),
        "pairs_shown": lambda L: L.stft(t(L, x40, "float32"), 0, center=False,
                                        window=hann(L, 16, "float32"), return_complex=False,
                                        normalized=True, onesided=False, align_to_window=False),
        "align_with_center": lambda L: L.stft(t(L, x40), 16, window=hann(L),
                                              align_to_window=True, return_complex=True),
        "pad_mode_unknown": lambda L: L.stft(t(L, x40), 16, window=hann(L), pad_mode="foo",
                                             return_complex=True),
        "pad_mode_none": lambda L: L.stft(t(L, x40), 16, window=hann(L), pad_mode=None,
                                          return_complex=True),
        "circular_wraps": lambda L: L.stft(t(L, x40)[:5], 16, window=hann(L),
                                           pad_mode="circular", return_complex=True),
        "empty_batch_reflect": lambda L: L.stft(L.zeros(0, 40), 16, 4, window=hann(L),
                                                return_complex=True),
        "hop_float": lambda L: L.stft(t(L, x40), 16, 4.0, window=hann(L), return_complex=True),
        "n_fft_bool": lambda L: L.stft(t(L, x40), True, return_complex=True),
        "normalized_int": lambda L: L.stft(t(L, x40), 16, normalized=1, return_complex=True),
        "window_list": lambda L: L.stft(t(L, x40), 16, window=[1.0] * 16, return_complex=True),
        "signal_list": lambda L: L.stft([1.0] * 40, 16, return_complex=True),
        # istft
        "istft_real": lambda L: L.istft(t(L, spec).real, 16, 4, window=hann(L)),
        "istft_pairs": lambda L: L.istft(L.view_as_real(t(L, spec, "complex128")), 16, 4,
                                         window=hann(L)),
        "istft_1d": lambda L: L.istft(t(L, spec, "complex128")[:, 0], 16, 4, window=hann(L)),
        "istft_4d": lambda L: L.istft(t(L, spec, "complex128")[None, None], 16, 4,
                                      window=hann(L)),
        "istft_empty": lambda L: L.istft(t(L, spec, "complex128")[:0], 16, 4, window=hann(L)),
        "istft_empty_4d": lambda L: L.istft(t(L, spec, "complex128")[None, None, :, :0], 16, 4,
                                            window=hann(L)),
        "istft_n_fft_mismatch": lambda L: L.istft(t(L, spec, "complex128"), 32, 4,
                                                  window=hann(L, 32)),
        "istft_n_fft_zero": lambda L: L.istft(t(L, spec, "complex128"), 0, 4, window=hann(L)),
        "istft_onesided_false": lambda L: L.istft(t(L, spec, "complex128"), 16, 4,
                                                  window=hann(L), onesided=False),
        "istft_onesided_true": lambda L: L.istft(t(L, full, "complex128"), 16, 4,
                                                 window=hann(L), onesided=True),
        "istft_hop_zero": lambda L: L.istft(t(L, spec, "complex128"), 16, 0, window=hann(L)),
        "istft_hop_beyond_win": lambda L: L.istft(t(L, spec, "complex128"), 16, 8, 4,
                                                  window=hann(L, 4)),
        "istft_win_too_long": lambda L: L.istft(t(L, spec, "complex128"), 16, 4, 20),
        "istft_window_size": lambda L: L.istft(t(L, spec, "complex64"), 16, 4, 12,
                                               window=hann(L, 16, "float32")),
        "istft_complex_onesided": lambda L: L.istft(t(L, spec, "complex128"), 16, 4,
                                                    window=hann(L), return_complex=True),
        "istft_complex_window": lambda L: L.istft(t(L, full, "complex128"), 16, 4,
                                                  window=hann(L, 16, "complex128")),
        "istft_nola_zeros": lambda L: L.istft(t(L, spec, "complex128"), 16, 4,
                                              window=L.zeros(16, dtype=L.float64)),
        "istft_nola_edges": lambda L: L.istft(t(L, spec, "complex128"), 16, 4, window=hann(L),
                                              center=False, length=10),
        "istft_length_zero": lambda L: L.istft(t(L, spec, "complex128"), 16, 4, window=hann(L),
                                               length=0),
        "istft_one_frame": lambda L: L.istft(t(L, spec, "complex128")[:, :1], 16, 4,
                                             window=hann(L)),
        "istft_input_list": lambda L: L.istft([1.0], 16),
        "istft_n_fft_float": lambda L: L.istft(t(L, spec, "complex128"), 16.0),
        "istft_length_float": lambda L: L.istft(t(L, spec, "complex128"), 16, window=hann(L),
                                                length=4.0),
        "istft_center_none": lambda L: L.istft(t(L, spec, "complex128"), 16, window=hann(L),
                                               center=None),
        "istft_window_list": lambda L: L.istft(t(L, spec, "complex128"), 16, window=[1.0]),
    }


ERRORS = _error_cases()


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_are_torchs(name):
    call = ERRORS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as want:
            call(torch)
        with pytest.raises(Exception) as got:
            call(gpugrad)
    assert got.type is want.type
    if "invalid combination of arguments" in str(want.value):
        # PyTorch's parser then says which overload failed on which argument: not kept
        expected = str(want.value).split("\n")[0]
        assert str(got.value).split("\n")[0] == expected
    else:
        assert str(got.value) == str(want.value)

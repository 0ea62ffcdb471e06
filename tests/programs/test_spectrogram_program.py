"""The log-mel keyword classifier (spectrogram_classifier.py), run with gpugrad and with
PyTorch: both learn the six synthetic sounds to a high test accuracy (in a band around each
other: the random streams differ); from PyTorch's initial weights and the same batches, ten
AdamW steps under OneCycleLR leave both at the same losses, weights and BatchNorm statistics.
The feature pipeline (``stft`` with a Hann window, ``abs() ** 2``, the mel ``matmul``, ``log``,
the per-clip normalisation) is checked on its own against PyTorch and a NumPy STFT, its
gradient with respect to the waveform against PyTorch's and by finite differences; ``istft``
gives the clips back, and a masked spectrogram's inverse and its gradient agree with
PyTorch's."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

from ._compare import assert_trains_like_torch, both, load

SPEC = load("spectrogram_classifier")
LIBS = pytest.mark.parametrize("lib", [gpugrad, torch], ids=["gpugrad", "torch"])


def test_classifier_trains_like_torch():
    ours, theirs = both(lambda m: SPEC.main(m))
    # over seeds 0-5 both end at 0.98-1.0 test accuracy, final epoch loss 0.07-0.14
    assert_trains_like_torch(ours, theirs, shrink=0.2, rel=1.0)
    for result in (ours, theirs):
        assert result["grads_set"], result
        assert result["dtypes"] == ["float32"], result
        # running BatchNorm statistics at their start: every clip gets the same class
        assert result["initial_accuracy"] < 0.3, result
        assert result["accuracy"] >= 0.95, result
        # OneCycleLR: up from max_lr / 25 over 30% of the steps, down to max_lr / 25 / 1e4
        rates = result["rates"]
        assert len(rates) == 5 * 12
        assert rates[0] == pytest.approx(2e-2 / 25, rel=1e-6)
        assert max(rates) == rates[17] == pytest.approx(2e-2, rel=1e-6)
        assert rates[-1] == pytest.approx(2e-2 / 25 / 1e4, rel=1e-6)
    assert abs(ours["accuracy"] - theirs["accuracy"]) <= 0.05, (ours, theirs)
    np.testing.assert_allclose(ours["rates"], theirs["rates"], rtol=1e-12)


def _torch_state(dtype):
    """PyTorch's freshly initialized state (parameters and BatchNorm buffers), as PyTorch
    tensors and as gpugrad tensors (via NumPy)."""
    torch.manual_seed(0)
    state = SPEC.make_model(torch, dtype).state_dict()
    return {k: gpugrad.from_numpy(v.numpy().copy()) for k, v in state.items()}, state


def test_same_start_trains_as_torch():
    """From PyTorch's initial weights and BatchNorm buffers, the same batches in order, ten
    AdamW steps under OneCycleLR in float64: the same loss at every step, the same weights
    and running statistics. Measured: 4e-16 (losses), 7e-15 (state). Moving one convolution
    weight by 1e-7 at the start moves the losses by 3e-9 and the state by 5e-7; building the
    Hann window in float32 and casting it (gpugrad's float32 window is the correctly rounded
    one, PyTorch's is computed in float32) moves them by 6e-9 and 1e-7."""
    ours_state, theirs_state = _torch_state("float64")
    assert list(ours_state) == list(SPEC.make_model(gpugrad, "float64").state_dict())
    assert "features.window" not in theirs_state  # non-persistent buffers
    settings = dict(epochs=2, max_steps=10, shuffle=False, dtype="float64")
    ours = SPEC.main(gpugrad, initial_state=ours_state, **settings)
    theirs = SPEC.main(torch, initial_state=theirs_state, **settings)
    assert len(ours["losses"]) == len(theirs["losses"]) == 10
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=1e-11)
    np.testing.assert_allclose(ours["rates"], theirs["rates"], rtol=1e-14)
    assert ours["losses"][-1] < 0.8 * ours["losses"][0]
    assert ours["initial_accuracy"] == theirs["initial_accuracy"]
    assert ours["accuracy"] == theirs["accuracy"]
    assert ours["state"].keys() == theirs["state"].keys()
    for name, expected in theirs["state"].items():
        got = ours["state"][name]
        assert got.dtype == expected.dtype, name
        if name.endswith("num_batches_tracked"):
            assert got == expected == 10, name
            continue
        start = theirs_state[name].numpy()
        assert np.abs(expected - start).max() > 1e-3, name  # everything moved
        np.testing.assert_allclose(got, expected, rtol=1e-11,
                                   atol=1e-11 * np.abs(expected).max(), err_msg=name)


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-12), ("float32", 2e-5)])
def test_one_gradient_matches_torch(dtype, rtol):
    """Same weights, same batch: the loss and every parameter's gradient agree (the feature
    pipeline included). Float32 only for one step: ten AdamW steps take the float32 runs
    apart by 4e-3 (relative to each weight's largest), a change of one unit in the last
    place of one weight in PyTorch alone by 1e-4. Measured here: 5e-15 and 6e-6."""
    ours_state, theirs_state = _torch_state(dtype)
    clips, labels = SPEC.make_clips(np.random.default_rng(5), 24)
    grads = {}
    for lib, state in ((gpugrad, ours_state), (torch, theirs_state)):
        model = SPEC.make_model(lib, dtype, state)
        loss = lib.nn.CrossEntropyLoss()(model(lib.from_numpy(clips.astype(dtype))),
                                         lib.from_numpy(labels))
        loss.backward()
        grads[lib.__name__] = (loss.item(), {n: p.grad.numpy()
                                             for n, p in model.named_parameters()})
    (ours_loss, ours), (theirs_loss, theirs) = grads["gpugrad"], grads["torch"]
    assert ours_loss == pytest.approx(theirs_loss, rel=rtol)
    assert ours.keys() == theirs.keys()
    for name, expected in theirs.items():
        assert ours[name].dtype == expected.dtype == np.dtype(dtype), name
        scale = np.abs(expected).max()
        assert scale > 1e-4, name
        np.testing.assert_allclose(ours[name], expected, rtol=rtol, atol=rtol * scale,
                                   err_msg=name)


def _numpy_stft(x, n_fft=SPEC.N_FFT, hop=SPEC.HOP):
    """Centred STFT (reflect padding by n_fft // 2, periodic Hann window), (batch, bins,
    frames), complex128."""
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    padded = np.pad(x, ((0, 0), (n_fft // 2, n_fft // 2)), mode="reflect")
    frames = 1 + x.shape[-1] // hop
    index = np.arange(frames)[:, None] * hop + np.arange(n_fft)
    return np.fft.rfft(padded[:, index] * window, axis=-1).transpose(0, 2, 1)


def _numpy_logmel(x):
    power = np.abs(_numpy_stft(x)) ** 2
    logmel = np.log(SPEC.mel_filterbank() @ power + 1e-6)
    mean = logmel.mean(axis=(-2, -1), keepdims=True)
    std = logmel.std(axis=(-2, -1), keepdims=True, ddof=1)
    return (logmel - mean) / (std + 1e-5)


def test_mel_filterbank():
    """Triangles between mel-spaced edges: each filter is non-negative with its peak in the
    right place, and between the first and last centres the filters sum to one."""
    bank = SPEC.mel_filterbank()
    assert bank.shape == (SPEC.MELS, SPEC.N_FFT // 2 + 1) and bank.min() >= 0
    bins = np.linspace(0, SPEC.RATE / 2, SPEC.N_FFT // 2 + 1)
    edges = SPEC.mel_to_hz(np.linspace(0, SPEC.hz_to_mel(SPEC.RATE / 2), SPEC.MELS + 2))
    assert np.all(np.abs(bins[bank.argmax(axis=1)] - edges[1:-1]) <= SPEC.RATE / SPEC.N_FFT)
    inside = (bins >= edges[1]) & (bins <= edges[-2])
    np.testing.assert_allclose(bank[:, inside].sum(axis=0), 1.0, atol=1e-12)
    np.testing.assert_allclose(SPEC.mel_to_hz(SPEC.hz_to_mel([0, 700, 4000])), [0, 700, 4000])


@LIBS
@pytest.mark.parametrize("dtype, tol", [("float64", 1e-10), ("float32", 2e-4)])
def test_features_match_numpy(lib, dtype, tol):
    """The complex STFT and the normalised log-mel features (batch, 1, mels, frames) equal a
    NumPy computation of the same; the classes' sounds are where they should be."""
    clips, labels = SPEC.make_clips(np.random.default_rng(2), 12)
    LogMel, _ = SPEC.build(lib)
    features = LogMel(dtype=getattr(lib, dtype))
    x = lib.from_numpy(clips.astype(dtype))
    spec = features.spectrogram(x)
    assert str(spec.dtype).endswith({"float64": "complex128", "float32": "complex64"}[dtype])
    expected_spec = _numpy_stft(clips)
    assert tuple(spec.shape) == expected_spec.shape == (12, 129, 63)
    np.testing.assert_allclose(spec.numpy(), expected_spec,
                               atol=tol * np.abs(expected_spec).max())
    logmel = features(x)
    assert tuple(logmel.shape) == (12, 1, SPEC.MELS, 63)
    np.testing.assert_allclose(logmel.numpy()[:, 0], _numpy_logmel(clips), atol=50 * tol)
    # a steady tone's loudest mel band is the one whose filter is largest at its frequency
    band = logmel.numpy()[:, 0].max(axis=-1).argmax(axis=-1)
    bins = np.linspace(0, SPEC.RATE / 2, SPEC.N_FFT // 2 + 1)
    bank = SPEC.mel_filterbank()
    for label, freq in enumerate(SPEC.TONES):
        expected_band = bank[:, np.abs(bins - freq).argmin()].argmax()
        assert np.all(np.abs(band[labels == label] - expected_band) <= 1), (label, band)


def _feature_gradient(lib, clips, upstream, normalize):
    LogMel, _ = SPEC.build(lib)
    features = LogMel(normalize=normalize, dtype=lib.float64)
    x = lib.from_numpy(clips.copy()).requires_grad_()
    out = features(x)
    (out * lib.from_numpy(upstream)).sum().backward()
    return out.detach().numpy(), x.grad.numpy()


@pytest.mark.parametrize("normalize", [True, False])
def test_feature_gradient_matches_torch(normalize):
    """The gradient of ``sum(features * upstream)`` with respect to the waveform (through the
    normalisation, log, mel matmul, power and STFT) equals PyTorch's in float64. Measured:
    5e-15 of the largest."""
    clips, _ = SPEC.make_clips(np.random.default_rng(3), 4)
    upstream = np.random.default_rng(4).standard_normal((4, 1, SPEC.MELS, 63))
    (ours_out, ours), (theirs_out, theirs) = (
        _feature_gradient(lib, clips, upstream, normalize) for lib in (gpugrad, torch))
    np.testing.assert_allclose(ours_out, theirs_out, rtol=1e-12, atol=1e-12)
    scale = np.abs(theirs).max()
    assert scale > 1e-2
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10 * scale)


@LIBS
def test_feature_gradcheck(lib):
    """Float64 central differences of the whole feature pipeline on short clips (a 32-point
    STFT, hop 8, six mel bands)."""
    LogMel, _ = SPEC.build(lib)
    features = LogMel(n_fft=32, hop=8, mels=6, dtype=lib.float64)
    x = lib.from_numpy(np.random.default_rng(6).standard_normal((2, 64))).requires_grad_()
    assert tuple(features(x).shape) == (2, 1, 6, 9)
    assert lib.autograd.gradcheck(features, (x,))


@LIBS
@pytest.mark.parametrize("dtype, tol", [("float64", 1e-12), ("float32", 1e-5)])
def test_istft_round_trip(lib, dtype, tol):
    """``istft`` of the STFT gives the clips back (``length`` given); without ``length`` it
    stops after the last full hop, ``hop * (frames - 1)`` samples, still the clips'."""
    clips, _ = SPEC.make_clips(np.random.default_rng(8), 6)
    window = lib.hann_window(SPEC.N_FFT, dtype=getattr(lib, dtype))
    x = lib.from_numpy(clips.astype(dtype))
    spec = lib.stft(x, n_fft=SPEC.N_FFT, hop_length=SPEC.HOP, window=window,
                    return_complex=True)
    back = SPEC.reconstruct(lib, spec, window)
    assert str(back.dtype).endswith(dtype) and tuple(back.shape) == clips.shape
    np.testing.assert_allclose(back.numpy(), clips, atol=tol * np.abs(clips).max())
    short = lib.istft(spec, SPEC.N_FFT, SPEC.HOP, window=window)
    assert tuple(short.shape) == (6, SPEC.HOP * (spec.shape[-1] - 1))
    np.testing.assert_allclose(short.numpy(), clips[:, :short.shape[-1]],
                               atol=tol * np.abs(clips).max())


def _masked_inverse(lib, clips, upstream):
    """A soft low-pass mask (a parameter, one value per frequency bin) on the STFT, inverted;
    the output and the gradients of ``sum(out * upstream)`` for the mask and the input."""
    window = lib.hann_window(SPEC.N_FFT, dtype=lib.float64)
    x = lib.from_numpy(clips.copy()).requires_grad_()
    bins = lib.linspace(0, SPEC.RATE / 2, SPEC.N_FFT // 2 + 1, dtype=lib.float64)
    mask = lib.sigmoid((1500.0 - bins) / 200.0).requires_grad_()
    spec = lib.stft(x, SPEC.N_FFT, SPEC.HOP, window=window, return_complex=True)
    out = SPEC.reconstruct(lib, spec * mask[:, None], window)
    (out * lib.from_numpy(upstream)).sum().backward()
    return {"out": out.detach().numpy(), "mask": mask.grad.numpy(), "x": x.grad.numpy()}


def test_masked_inverse_matches_torch():
    """Masking the spectrogram and inverting it (a denoiser's forward): the filtered clips and
    the gradients for the mask and the waveform equal PyTorch's; the mask took out the
    2.2 kHz tone and left the 400 Hz one."""
    clips, labels = SPEC.make_clips(np.random.default_rng(9), 6)
    upstream = np.random.default_rng(10).standard_normal(clips.shape)
    ours, theirs = (_masked_inverse(lib, clips, upstream) for lib in (gpugrad, torch))
    for key in ("out", "mask", "x"):
        scale = np.abs(theirs[key]).max()
        assert scale > 1e-2, key
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-10, atol=1e-10 * scale,
                                   err_msg=key)
    energy = (ours["out"] ** 2).sum(-1) / (clips ** 2).sum(-1)
    assert np.all(energy[labels == 0] > 0.8) and np.all(energy[labels == 2] < 0.2), energy

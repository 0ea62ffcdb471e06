"""The one-dimensional Fourier neural operator (fourier_operator.py), run with gpugrad and with
PyTorch: both learn the advection-diffusion map (the relative test error falls to a small
fraction of its start) and gpugrad's error lands in a band around PyTorch's (the random
streams differ); from PyTorch's initial weights, complex spectral weights included, and the
same batches, Adam takes both to the same losses and weights. The pieces are checked on their
own: the data's exact solution (``rfft``, ``rfftfreq``, a complex ``exp``, ``irfft``) against
NumPy and against a plain shift of the grid; the spectral convolution's output and the
gradients of its input and complex weight against PyTorch and NumPy, and by float64 finite
differences (through ``view_as_real`` storage for the weight)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

from ._compare import assert_trains_like_torch, both, load

FNO = load("fourier_operator")
LIBS = pytest.mark.parametrize("lib", [gpugrad, torch], ids=["gpugrad", "torch"])


def test_fno_trains_like_torch():
    ours, theirs = both(lambda m: FNO.main(m, epochs=10))
    assert_trains_like_torch(ours, theirs, shrink=0.2, rel=1.0)
    for result in (ours, theirs):
        assert result["grads_set"], result  # the spectral weights reached through the FFTs
        assert result["dtypes"] == ["complex64", "float32"], result
        assert result["lr"] == pytest.approx(5e-3 * 0.5 ** 2)  # StepLR: halved at 4 and 8
        # an untrained model predicts next to nothing: a relative error near 1
        assert 0.8 < result["initial_error"] < 1.3, result
        assert result["error"] < 0.1 * result["initial_error"], result
    # over seeds 0-2 PyTorch ends between 0.016 and 0.025
    assert theirs["error"] / 2.5 < ours["error"] < 2.5 * theirs["error"], (ours, theirs)


def _same_start_state(dtype):
    """PyTorch's freshly initialized weights (complex spectral weights included), as PyTorch
    tensors and as gpugrad tensors (via NumPy)."""
    torch.manual_seed(0)
    state = FNO.make_model(torch, dtype).state_dict()
    return ({k: gpugrad.from_numpy(v.detach().numpy().copy()) for k, v in state.items()},
            state)


@pytest.mark.parametrize("dtype, rel", [("float64", 1e-10), ("float32", 1e-4)])
def test_same_start_trains_as_torch(dtype, rel):
    """From PyTorch's initial weights loaded into gpugrad's model, with the same batches in
    order (no shuffle), 20 Adam steps over two epochs (StepLR halving the rate after the
    first) give the same loss at every step and the same weights after, the complex spectral
    weights included (Adam treats each as a pair of reals). Measured: 4e-16 (losses) and
    5e-14 (weights) in float64, 2e-7 and 1.3e-5 in float32; moving one complex weight by
    1e-7 i at the start moves the float64 losses by 3e-8."""
    ours_state, theirs_state = _same_start_state(dtype)
    assert list(ours_state) == list(FNO.make_model(gpugrad, dtype).state_dict())
    spectral = [k for k in theirs_state if k.startswith("spectral")]
    assert spectral and all(theirs_state[k].is_complex() for k in spectral)
    settings = dict(epochs=2, step_size=1, max_steps=20, shuffle=False, dtype=dtype)
    ours = FNO.main(gpugrad, initial_state=ours_state, **settings)
    theirs = FNO.main(torch, initial_state=theirs_state, **settings)
    assert len(ours["losses"]) == len(theirs["losses"]) == 20
    assert ours["initial_error"] == pytest.approx(theirs["initial_error"], rel=rel / 100)
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=rel)
    assert ours["losses"][-1] < 0.5 * ours["losses"][0]
    assert ours["lr"] == theirs["lr"] == 5e-3 * 0.5 ** 2
    assert ours["weights"].keys() == theirs["weights"].keys()
    for name, expected in theirs["weights"].items():
        got = ours["weights"][name]
        assert got.dtype == expected.dtype, name
        start = theirs_state[name].detach().numpy()
        assert np.abs(expected - start).max() > 1e-4, name  # every weight moved
        np.testing.assert_allclose(got, expected, rtol=rel, atol=rel * np.abs(expected).max(),
                                   err_msg=name)


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-10), ("float32", 2e-5)])
def test_one_gradient_matches_torch(dtype, rtol):
    """Same weights, same batch: the loss and every parameter's ``.grad``, complex ones
    included, agree."""
    ours_state, theirs_state = _same_start_state(dtype)
    grads = {}
    for lib, state in ((gpugrad, ours_state), (torch, theirs_state)):
        model = FNO.make_model(lib, dtype, state)
        x, y = FNO.make_data(lib, 16, seed=5, dtype=dtype)
        loss = FNO.relative_l2(lib, model(x), y)
        loss.backward()
        grads[lib.__name__] = (loss.item(), {n: p.grad.numpy() for n, p in
                                             model.named_parameters()})
    (ours_loss, ours), (theirs_loss, theirs) = grads["gpugrad"], grads["torch"]
    assert ours_loss == pytest.approx(theirs_loss, rel=rtol)
    assert ours.keys() == theirs.keys()
    for name, expected in theirs.items():
        assert ours[name].dtype == expected.dtype, name
        np.testing.assert_allclose(ours[name], expected, rtol=rtol,
                                   atol=rtol * np.abs(expected).max(), err_msg=name)


@LIBS
@pytest.mark.parametrize("dtype, tol", [("float64", 1e-12), ("float32", 1e-5)])
def test_exact_solution_matches_numpy(lib, dtype, tol):
    """The library's spectral solver (rfft, rfftfreq wavenumbers, complex exp, irfft) equals
    NumPy's full-FFT one; without viscosity, advecting by exactly 5 grid cells is a roll of
    the grid by 5 (the wavenumbers' signs and scale are right)."""
    u0 = FNO.initial_profiles(np.random.default_rng(3), 6)
    u = lib.from_numpy(u0.astype(dtype))
    evolved = FNO.evolve(lib, u)
    assert str(evolved.dtype).endswith(dtype) and tuple(evolved.shape) == u0.shape
    expected = FNO.evolve_numpy(u0)
    assert np.abs(expected - u0).max() > 0.5  # the profiles moved
    np.testing.assert_allclose(evolved.numpy(), expected, atol=tol * np.abs(u0).max())
    shifted = FNO.evolve(lib, u, time=5 / FNO.GRID, speed=1.0, viscosity=0.0)
    np.testing.assert_allclose(shifted.numpy(), np.roll(u0, 5, axis=-1),
                               atol=tol * np.abs(u0).max())
    targets = FNO.make_data(lib, 6, seed=3, dtype=dtype)[1].numpy()
    np.testing.assert_allclose(targets, np.tanh(expected), atol=tol)


def _mixer_arrays(n, modes, dtype, seed=4, batch=3, cin=4, cout=2):
    rng = np.random.default_rng(seed)
    cdtype = FNO.COMPLEX[dtype]
    weight = (rng.standard_normal((cin, cout, modes))
              + 1j * rng.standard_normal((cin, cout, modes))).astype(cdtype)
    return {"x": rng.standard_normal((batch, cin, n)).astype(dtype), "weight": weight,
            "upstream": rng.standard_normal((batch, cout, n)).astype(dtype)}


def _run_mixer(lib, arrays):
    """The spectral convolution with this weight on ``x``, and the gradients of
    ``sum(out * upstream)`` for ``x`` and the complex weight."""
    SpectralMixer, _ = FNO.build(lib)
    cin, cout, modes = arrays["weight"].shape
    cdtype = getattr(lib, str(arrays["weight"].dtype))
    layer = SpectralMixer(cin, cout, modes, dtype=cdtype)
    layer.load_state_dict({"weight": lib.from_numpy(arrays["weight"].copy())})
    x = lib.from_numpy(arrays["x"].copy()).requires_grad_()
    out = layer(x)
    (out * lib.from_numpy(arrays["upstream"])).sum().backward()
    return {"out": out.detach().numpy(), "x": x.grad.numpy(), "weight": layer.weight.grad.numpy()}


def _reference_mixer(x, weight, n):
    spectrum = np.fft.rfft(x.astype(np.float64), axis=-1)
    modes = weight.shape[-1]
    mixed = np.zeros((x.shape[0], weight.shape[1], n // 2 + 1), dtype=np.complex128)
    mixed[:, :, :modes] = np.einsum("bix,iox->box", spectrum[:, :, :modes], weight)
    return np.fft.irfft(mixed, n=n, axis=-1)


# an even grid keeping some modes; all of them (the Nyquist bin included); an odd grid
SIZES = pytest.mark.parametrize("n, modes", [(16, 5), (8, 5), (9, 5)])


@SIZES
@pytest.mark.parametrize("dtype, tol", [("float64", 1e-12), ("float32", 2e-5)])
def test_spectral_mixer_matches_torch(n, modes, dtype, tol):
    """Output and the gradients of the input and of the complex weight (PyTorch's convention:
    d/dRe + i d/dIm) agree with PyTorch's; the output with NumPy's FFTs."""
    arrays = _mixer_arrays(n, modes, dtype)
    ours, theirs = (_run_mixer(lib, arrays) for lib in (gpugrad, torch))
    for key in ("out", "x", "weight"):
        assert ours[key].dtype == theirs[key].dtype, key
        scale = np.abs(theirs[key]).max()
        assert scale > 1e-2, key
        np.testing.assert_allclose(ours[key], theirs[key], rtol=tol, atol=tol * scale,
                                   err_msg=key)
    reference = _reference_mixer(arrays["x"], arrays["weight"], n)
    np.testing.assert_allclose(ours["out"], reference, atol=tol * np.abs(reference).max())


@LIBS
@SIZES
def test_spectral_mixer_gradcheck(lib, n, modes):
    """Float64 central differences: of the layer as a function of its real input (the complex
    weight fixed), and of its input and the weight's real (in, out, modes, 2) storage read
    through ``view_as_complex`` by ``torch.func.functional_call``."""
    arrays = _mixer_arrays(n, modes, "float64", seed=6, batch=2, cin=2, cout=2)
    SpectralMixer, _ = FNO.build(lib)
    layer = SpectralMixer(2, 2, modes, dtype=lib.complex128)
    layer.load_state_dict({"weight": lib.from_numpy(arrays["weight"].copy())})
    x = lib.from_numpy(arrays["x"].copy()).requires_grad_()
    assert lib.autograd.gradcheck(layer, (x,))

    pairs = lib.from_numpy(np.stack([arrays["weight"].real, arrays["weight"].imag], -1))
    pairs.requires_grad_()

    def with_weight(x, pairs):
        return lib.func.functional_call(layer, {"weight": lib.view_as_complex(pairs)}, (x,))

    assert lib.autograd.gradcheck(with_weight, (x, pairs))

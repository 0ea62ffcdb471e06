"""``signal.windows`` against ``torch.signal.windows``: values for both symmetries and float
dtypes, the edge lengths, the arguments' checks, and the tensor options."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

WINDOWS = {
    "bartlett": {}, "blackman": {}, "cosine": {}, "hamming": {}, "hann": {}, "nuttall": {},
    "gaussian": {"std": 2.5}, "kaiser": {"beta": 5.0}, "exponential": {"tau": 3.0},
    "general_hamming": {"alpha": 0.6}, "general_cosine": {"a": [0.5, 0.3, 0.2]},
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("sym", [True, False])
@pytest.mark.parametrize("M", [0, 1, 2, 5, 16])
@pytest.mark.parametrize("name", list(WINDOWS))
def test_values_as_torch(name, M, sym, dtype):
    ours = getattr(gpugrad.signal.windows, name)(M, sym=sym, dtype=getattr(gpugrad, dtype),
                                                 **WINDOWS[name])
    theirs = getattr(torch.signal.windows, name)(M, sym=sym, dtype=getattr(torch, dtype),
                                                 **WINDOWS[name])
    assert ours.dtype.name == str(theirs.dtype).split(".")[-1]
    tol = 1e-6 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=tol, atol=tol)


def test_a_periodic_exponential_window_takes_a_center():
    ours = gpugrad.signal.windows.exponential(7, center=2.0, tau=1.5, sym=False)
    theirs = torch.signal.windows.exponential(7, center=2.0, tau=1.5, sym=False)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


@pytest.mark.parametrize("call", [
    "hann(-1)", "bartlett(-2)", "hann(3, dtype={m}.int64)", "kaiser(3, dtype={m}.float16)",
    "gaussian(3, std=0)", "exponential(3, center=1.0)", "exponential(3, tau=0)",
    "kaiser(3, beta=-1)", "general_cosine(3, a=[])", "general_cosine(3, a=None)",
])
def test_bad_arguments_raise_as_torch(call):
    outcomes = []
    for m, name in ((gpugrad, "gpugrad"), (torch, "torch")):
        try:
            eval(f"m.signal.windows.{call.format(m=name)}", {"m": m, name: m})
            outcomes.append(None)
        except Exception as e:  # noqa: BLE001 (the type and message are compared)
            outcomes.append((type(e), str(e).replace("torch.", "gpugrad.")))
    assert outcomes[0] == outcomes[1]


def test_tensor_options():
    w = gpugrad.signal.windows.hann(4, requires_grad=True, device="cpu", layout=gpugrad.strided)
    assert w.requires_grad and w.is_leaf and w.dtype == gpugrad.get_default_dtype()
    with pytest.raises(ValueError, match="implemented for strided tensors only"):
        gpugrad.signal.windows.hann(4, layout="sparse")  # (gpugrad has no other layout)
    with pytest.raises(TypeError, match="'M' must be int"):
        gpugrad.signal.windows.hann(2.5)


@pytest.mark.parametrize("name", ["hann_window", "hamming_window", "blackman_window",
                                  "bartlett_window", "kaiser_window"])
def test_a_complex_window_dtype_raises_as_torch(name):
    for L in (torch, gpugrad):
        with pytest.raises(NotImplementedError, match="not implemented for 'ComplexFloat'"):
            getattr(L, name)(4, dtype=L.complex64)


def test_reflect_padding_errors_number_the_argument_as_torch():
    for L in (torch, gpugrad):
        with pytest.raises(RuntimeError, match="^Argument #6: Padding size should be less"):
            L.nn.functional.pad(L.ones(2, 3, 4, 4), (1, 1, 4, 4), mode="reflect")

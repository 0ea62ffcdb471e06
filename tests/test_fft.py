"""``gpugrad.fft`` against ``torch.fft``: values, dtypes and gradients of every transform (float32
and float64, complex and real inputs, contiguous, transposed, sliced and zero-size), second
order through ``create_graph``, float64 finite differences, node names, errors and the helpers
(``fftfreq``, ``rfftfreq``, ``fftshift``, ``ifftshift``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad
from gpugrad.autograd import gradcheck, gradgradcheck

LIBS = (torch, gpugrad)

# name -> (fn(L, x), the input's kind: "c" complex or "r" real, its shape, zero-size works)
CASES = {
    "fft": (lambda L, x: L.fft.fft(x), "c", (3, 6), True),
    "fft_of_real": (lambda L, x: L.fft.fft(x), "r", (3, 6), True),
    "fft_n_padded": (lambda L, x: L.fft.fft(x, n=9), "c", (3, 6), True),
    "fft_n_cropped": (lambda L, x: L.fft.fft(x, n=4, dim=0), "r", (6, 3), False),
    "fft_ortho": (lambda L, x: L.fft.fft(x, norm="ortho"), "c", (3, 5), True),
    "ifft": (lambda L, x: L.fft.ifft(x), "c", (3, 6), True),
    "ifft_of_real": (lambda L, x: L.fft.ifft(x, norm="forward"), "r", (3, 6), True),
    "ifft_dim0": (lambda L, x: L.fft.ifft(x, n=7, dim=0), "c", (4, 3), False),
    "rfft": (lambda L, x: L.fft.rfft(x), "r", (3, 6), True),
    "rfft_odd": (lambda L, x: L.fft.rfft(x, norm="ortho"), "r", (3, 7), True),
    "rfft_n": (lambda L, x: L.fft.rfft(x, n=10, norm="forward"), "r", (3, 6), True),
    "irfft": (lambda L, x: L.fft.irfft(x), "c", (3, 6), True),
    "irfft_odd_n": (lambda L, x: L.fft.irfft(x, n=9), "c", (3, 6), True),
    "irfft_cropped": (lambda L, x: L.fft.irfft(x, n=4, norm="ortho"), "c", (3, 6), True),
    "irfft_padded": (lambda L, x: L.fft.irfft(x, n=14, norm="forward"), "c", (3, 6), True),
    "irfft_of_real": (lambda L, x: L.fft.irfft(x), "r", (3, 6), True),
    "irfft_n1": (lambda L, x: L.fft.irfft(x, n=1), "c", (3, 6), True),
    "hfft": (lambda L, x: L.fft.hfft(x), "c", (3, 6), True),
    "hfft_odd": (lambda L, x: L.fft.hfft(x, n=7, norm="ortho"), "c", (3, 6), True),
    "ihfft": (lambda L, x: L.fft.ihfft(x), "r", (3, 6), True),
    "ihfft_n": (lambda L, x: L.fft.ihfft(x, n=5, norm="forward"), "r", (3, 6), True),
    "fft2": (lambda L, x: L.fft.fft2(x), "c", (3, 4), False),
    "fft2_s": (lambda L, x: L.fft.fft2(x, s=(2, 7)), "r", (3, 4), False),
    "ifft2": (lambda L, x: L.fft.ifft2(x, norm="ortho"), "c", (3, 4), False),
    "rfft2": (lambda L, x: L.fft.rfft2(x), "r", (4, 6), False),
    "irfft2": (lambda L, x: L.fft.irfft2(x), "c", (4, 4), False),
    "irfft2_s": (lambda L, x: L.fft.irfft2(x, s=(5, 7)), "c", (4, 4), False),
    "hfft2": (lambda L, x: L.fft.hfft2(x), "c", (3, 4), False),
    "ihfft2": (lambda L, x: L.fft.ihfft2(x), "r", (3, 4), False),
    "fftn": (lambda L, x: L.fft.fftn(x, dim=(1, 0)), "c", (3, 4), False),
    "fftn_s_only": (lambda L, x: L.fft.fftn(x, s=(5,)), "c", (3, 4), True),
    "fftn_s_keep": (lambda L, x: L.fft.fftn(x, s=(-1, 6)), "c", (3, 4), False),
    "ifftn_of_real": (lambda L, x: L.fft.ifftn(x), "r", (3, 4), False),
    "rfftn": (lambda L, x: L.fft.rfftn(x, dim=(1, 0), norm="ortho"), "r", (3, 4), False),
    "irfftn": (lambda L, x: L.fft.irfftn(x, dim=(0, 1)), "c", (3, 4), False),
    "irfftn_last": (lambda L, x: L.fft.irfftn(x, s=(6,)), "c", (3, 4), True),
    "hfftn": (lambda L, x: L.fft.hfftn(x, norm="forward"), "c", (3, 4), False),
    "ihfftn": (lambda L, x: L.fft.ihfftn(x, s=(4, 5)), "r", (3, 4), False),
    "fftshift": (lambda L, x: L.fft.fftshift(L.fft.fft(x)), "r", (3, 5), False),
    "ifftshift_dim": (lambda L, x: L.fft.ifftshift(x, dim=-1) * 2, "c", (3, 5), True),
    "round_trip": (lambda L, x: L.fft.irfft(L.fft.rfft(x) * 2j, n=x.shape[-1]), "r", (3, 6),
                   True),
    "spectral_filter": (lambda L, x: L.fft.ifft(L.fft.fft(x) * L.fft.fftfreq(
        x.shape[-1], dtype=x.real.dtype)), "c", (3, 6), True),
}

LAYOUTS = ["contiguous", "transposed", "sliced", "zero_size"]


def _dtype(L, kind: str, single: bool):
    if kind == "c":
        return L.complex64 if single else L.complex128
    return L.float32 if single else L.float64


def _values(kind: str, shape, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    return a + 1j * rng.standard_normal(shape) if kind == "c" else a


def _input(L, kind, shape, single, layout, seed=0):
    """A leaf (requiring grad) and the input made from it in ``layout``."""
    if layout == "zero_size":
        shape = (0,) + shape[1:]
    full = {"transposed": shape[::-1], "sliced": shape[:-1] + (2 * shape[-1],)}.get(layout,
                                                                                   shape)
    leaf = L.tensor(_values(kind, full, seed), dtype=_dtype(L, kind, single),
                    requires_grad=True)
    if layout == "transposed":
        return leaf, leaf.t()
    if layout == "sliced":
        return leaf, leaf[..., ::2]
    return leaf, leaf


def _loss(L, out):
    """A real loss whose gradient is neither constant nor real."""
    w = L.tensor(_values("c", tuple(out.shape), 99),
                 dtype=L.complex64 if out.dtype in (L.float32, L.complex64) else L.complex128)
    p = out * w
    return L.view_as_real(p).pow(2).sum() + p.imag.sum()


def _np(t):
    return t.detach().resolve_conj().numpy() if hasattr(t, "resolve_conj") else t.numpy()


def _dname(dtype) -> str:
    return str(dtype).split(".")[-1]


def _close(got, want, single):
    tol = dict(rtol=2e-4, atol=2e-4) if single else dict(rtol=1e-9, atol=1e-10)
    assert _dname(got.dtype) == _dname(want.dtype)
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(_np(got), _np(want), **tol)


def _run(L, name, single, layout):
    fn, kind, shape, _ = CASES[name]
    leaf, x = _input(L, kind, shape, single, layout)
    out = fn(L, x)
    _loss(L, out).backward()
    return out, leaf.grad


@pytest.mark.parametrize("layout", ["contiguous", "transposed", "sliced"])
@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("single", [False, True], ids=["double", "single"])
def test_values_and_gradients_as_torch(name, single, layout):
    want_out, want_grad = _run(torch, name, single, layout)
    got_out, got_grad = _run(gpugrad, name, single, layout)
    _close(got_out, want_out, single)
    _close(got_grad, want_grad, single)


@pytest.mark.parametrize("name", [n for n in CASES if CASES[n][3]])
def test_zero_size_batches(name):
    """An empty batch (a dim not transformed) gives an empty result shaped as torch's for one
    row, and zero gradients. (torch 2.13's CPU build raises an oneMKL error here instead.)"""
    fn, kind, shape, _ = CASES[name]
    x = torch.ones((1,) + shape[1:], dtype=_dtype(torch, kind, False))
    want = fn(torch, x)
    leaf, z = _input(gpugrad, kind, shape, False, "zero_size")
    out = fn(gpugrad, z)
    assert tuple(out.shape) == (0,) + tuple(want.shape)[1:]
    assert _dname(out.dtype) == _dname(want.dtype)
    _loss(gpugrad, out).backward()
    assert leaf.grad.shape == leaf.shape and not leaf.grad.numpy().any()


@pytest.mark.parametrize("name", ["fft", "rfft", "irfft", "hfft", "ihfft", "fft2", "ifft2",
                                  "rfft2", "irfft2", "fftn", "rfftn", "irfftn", "hfftn"])
def test_a_transformed_zero_size_dim_raises_as_torch(name):
    fn, kind, shape, _ = CASES[name]
    for L in LIBS:
        x = L.zeros(shape[:-1] + (0,), dtype=_dtype(L, kind, False))
        with pytest.raises(RuntimeError, match="Invalid number of data points"):
            fn(L, x)


def _second_order(L, name):
    fn, kind, shape, _ = CASES[name]
    leaf, x = _input(L, kind, shape, False, "contiguous")
    (g,) = L.autograd.grad(_loss(L, fn(L, x)), leaf, create_graph=True)
    g = g.resolve_conj()
    (L.view_as_real(g) if g.dtype.is_complex else g).pow(2).sum().backward()
    return g, leaf.grad


@pytest.mark.parametrize("name", CASES)
def test_create_graph_second_order_as_torch(name):
    want = _second_order(torch, name)
    got = _second_order(gpugrad, name)
    for g, w in zip(got, want):
        _close(g, w, False)


def _as_real_function(name):
    """``CASES[name]`` as a function of a real float64 tensor (complex inputs given as their
    (real, imaginary) pairs) with a real output (complex outputs as their pairs), for
    ``gradcheck``."""
    fn, kind, shape, _ = CASES[name]

    def f(x):
        z = gpugrad.view_as_complex(x) if kind == "c" else x
        out = fn(gpugrad, z)
        return gpugrad.view_as_real(out) if out.dtype.is_complex else out

    return f, shape + (2,) if kind == "c" else shape


@pytest.mark.parametrize("name", CASES)
def test_gradcheck_and_gradgradcheck(name):
    f, shape = _as_real_function(name)
    x = gpugrad.tensor(np.random.default_rng(1).standard_normal(shape), requires_grad=True)
    assert gradcheck(f, (x,))
    assert gradgradcheck(f, (x,))


def _node_names(node, depth=3):
    if node is None or depth == 0:
        return None
    return (node.name(), [_node_names(n, depth - 1) for n, _ in node.next_functions])


@pytest.mark.parametrize("name", ["fft", "fft_of_real", "fft_n_padded", "fft_n_cropped", "rfft",
                                  "irfft", "irfft_cropped", "hfft", "ihfft", "ifft_of_real",
                                  "fft2_s", "irfft2_s", "fftshift"])
def test_node_names_as_torch(name):
    fn, kind, shape, _ = CASES[name]
    got, want = ([_node_names(fn(L, _input(L, kind, shape, False, "contiguous")[1]).grad_fn)]
                 for L in (gpugrad, torch))
    assert got == want


@pytest.mark.parametrize("single", [False, True])
def test_result_dtypes_as_torch(single):
    for name, (fn, kind, shape, _) in CASES.items():
        got, want = (fn(L, L.ones(shape, dtype=_dtype(L, kind, single))).dtype
                     for L in (gpugrad, torch))
        assert _dname(got) == _dname(want), name


@pytest.mark.parametrize("dtype", ["int64", "int8", "bool"])
def test_integer_and_bool_inputs_compute_in_the_default_float_dtype(dtype):
    for default in ("float32", "float64"):
        results = []
        for L in LIBS:
            L.set_default_dtype(getattr(L, default))
            try:
                x = L.tensor([1, 0, 1, 1], dtype=getattr(L, dtype))
                results.append((L.fft.fft(x), L.fft.rfft(x), L.fft.irfft(x)))
            finally:
                L.set_default_dtype(L.float32)
        for g, w in zip(*results):
            _close(g, w, default == "float32")


ERRORS = {
    "half": lambda L: L.fft.fft(L.ones(4, dtype=L.float16)),
    "bfloat16": lambda L: L.fft.rfft(L.ones(4, dtype=L.bfloat16)),
    "n_zero": lambda L: L.fft.fft(L.ones(3), n=0),
    "n_negative": lambda L: L.fft.rfft(L.ones(3), n=-2),
    "n_float": lambda L: L.fft.fft(L.ones(3), n=3.0),
    "irfft_of_one": lambda L: L.fft.irfft(L.ones(3, 1, dtype=L.complex64)),
    "irfft_of_nothing": lambda L: L.fft.irfft(L.ones(3, 0, dtype=L.complex64)),
    "bad_norm": lambda L: L.fft.fft(L.ones(3), norm="bad"),
    "dim_out_of_range": lambda L: L.fft.fft(L.ones(2, 3), dim=2),
    "zero_dim": lambda L: L.fft.fft(L.tensor(1.0)),
    "fft2_of_a_vector": lambda L: L.fft.fft2(L.ones(3)),
    "dims_repeated": lambda L: L.fft.fftn(L.ones(2, 3), dim=(0, 0)),
    "s_and_dim_lengths": lambda L: L.fft.fftn(L.ones(2, 3), s=(3,), dim=(0, 1)),
    "rfft_of_complex": lambda L: L.fft.rfft(L.ones(3, dtype=L.complex64)),
    "ihfft_of_complex": lambda L: L.fft.ihfft(L.ones(3, dtype=L.complex128)),
    "rfftn_of_no_dims": lambda L: L.fft.rfftn(L.ones(2, 3), dim=()),
    "irfftn_of_no_dims": lambda L: L.fft.irfftn(L.ones(2, 3), dim=()),
    "not_a_tensor": lambda L: L.fft.fft([1.0, 2.0]),
    "fftfreq_negative": lambda L: L.fft.fftfreq(-1),
    "fftfreq_integer_dtype": lambda L: L.fft.fftfreq(4, dtype=L.int64),
    "fftshift_of_a_scalar": lambda L: L.fft.fftshift(L.tensor(1.0)),
}


@pytest.mark.parametrize("name", ERRORS)
def test_bad_input_raises_as_torch(name):
    raised = []
    for L in LIBS:
        with pytest.raises(Exception) as info:
            ERRORS[name](L)
        raised.append(info.value)
    want, got = raised
    assert type(got) is type(want)
    if name != "not_a_tensor":  # (torch's argument parser words it its own way)
        assert str(got) == str(want)


FREQUENCIES = {
    "fftfreq": lambda L: L.fft.fftfreq(5),
    "fftfreq_even_d": lambda L: L.fft.fftfreq(8, d=0.25),
    "fftfreq_double": lambda L: L.fft.fftfreq(7, 0.1, dtype=L.float64),
    "fftfreq_one": lambda L: L.fft.fftfreq(1),
    "fftfreq_none": lambda L: L.fft.fftfreq(0),
    "fftfreq_d_zero": lambda L: L.fft.fftfreq(3, d=0),
    "fftfreq_grad": lambda L: L.fft.fftfreq(4, requires_grad=True),
    "rfftfreq": lambda L: L.fft.rfftfreq(6),
    "rfftfreq_odd": lambda L: L.fft.rfftfreq(7, 0.3),
    "rfftfreq_none": lambda L: L.fft.rfftfreq(0),
    "rfftfreq_half": lambda L: L.fft.rfftfreq(4, dtype=L.float16),
    "fftshift": lambda L: L.fft.fftshift(L.arange(10.0).reshape(2, 5)),
    "fftshift_dim": lambda L: L.fft.fftshift(L.arange(12).reshape(3, 4), dim=0),
    "ifftshift": lambda L: L.fft.ifftshift(L.arange(10.0).reshape(2, 5)),
    "ifftshift_dims": lambda L: L.fft.ifftshift(L.arange(15).reshape(3, 5), dim=(1, 0)),
    "shift_round_trip": lambda L: L.fft.ifftshift(L.fft.fftshift(L.arange(7.0))),
}


@pytest.mark.parametrize("name", FREQUENCIES)
def test_frequencies_and_shifts_as_torch(name):
    got, want = (FREQUENCIES[name](L) for L in (gpugrad, torch))
    assert _dname(got.dtype) == _dname(want.dtype)
    assert got.requires_grad == want.requires_grad
    np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())


def test_fftfreq_of_a_complex_dtype_raises_as_torch():
    for L in LIBS:
        with pytest.raises(NotImplementedError, match="not implemented for 'ComplexFloat'"):
            L.fft.fftfreq(4, dtype=L.complex64)


def test_a_spectral_derivative_by_hand():
    """d/dx sin(3x) on a periodic grid, through ``rfft`` and ``irfft``: 3 cos(3x)."""
    n = 32
    x = gpugrad.arange(n, dtype=gpugrad.float64) * (2 * np.pi / n)
    k = gpugrad.fft.rfftfreq(n, d=1.0 / n, dtype=gpugrad.float64)
    du = gpugrad.fft.irfft(1j * k * gpugrad.fft.rfft(gpugrad.sin(3 * x)), n=n)
    np.testing.assert_allclose(du.numpy(), 3 * np.cos(3 * x.numpy()), atol=1e-12)


def test_parseval_and_the_gradient_of_the_energy():
    """sum |fft(x, norm="ortho")|^2 = sum |x|^2, so its gradient is 2x."""
    xn = _values("c", (4, 8), 3)
    x = gpugrad.tensor(xn, requires_grad=True)
    energy = gpugrad.fft.fft(x, norm="ortho").abs().pow(2).sum()
    np.testing.assert_allclose(energy.item(), (np.abs(xn) ** 2).sum(), rtol=1e-12)
    energy.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * xn, rtol=1e-12)


def test_a_first_complex_result_from_a_real_tensor_opens_the_gate():
    """An ``rfft`` can be a program's first complex tensor: ops on it take their complex forms
    (``abs`` with its complex gradient) and ops outside the list refuse it."""
    x = gpugrad.tensor([1.0, 2.0, -1.0, 0.5], requires_grad=True)
    spectrum = gpugrad.fft.rfft(x)
    spectrum.abs().sum().backward()
    xt = torch.tensor([1.0, 2.0, -1.0, 0.5], requires_grad=True)
    torch.fft.rfft(xt).abs().sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-6)
    with pytest.raises(NotImplementedError):
        gpugrad.nn.functional.relu(spectrum)

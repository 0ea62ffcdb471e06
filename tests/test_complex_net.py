"""The net of ``ops/_complex.py``: installed on the first use of a complex dtype, it leaves the
listed ops to compute and makes every other public entry point refuse complex arguments; and
on the kernel backend complex arrays go to the CuPy/NumPy twins, not to the launchers."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import gpugrad
from gpugrad.ops import _complex

ROOT = os.path.dirname(os.path.dirname(__file__))


def test_net_costs_nothing_until_first_use():
    code = ("import numpy as np, gpugrad\n"
            "def wrapped():\n"
            "    return tuple(f.__code__.co_filename.endswith('_complex.py')\n"
            "                 for f in (gpugrad.asin, gpugrad.Tensor.asin))\n"
            "before = wrapped()\n"
            "x = gpugrad.ones(2)\n"
            "x + x; x.asin()\n"
            "middle = wrapped()\n"
            "z = gpugrad.from_numpy(np.ones(2, np.complex64))\n"
            "after = wrapped()\n"
            "try:\n    z.asin()\n    refused = False\n"
            "except NotImplementedError:\n    refused = True\n"
            "print(*before, *middle, *after, refused, (x.asin() == x.asin()).all().item())\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.split() == ["False"] * 4 + ["True"] * 4


def _public_functions(namespace):
    return [n for n, v in vars(namespace).items() if not n.startswith("_") and callable(v)
            and not isinstance(v, type) and not isinstance(v, type(os))]


def _netted(fn) -> bool:
    code = getattr(fn, "__code__", None)
    return code is not None and code.co_filename.endswith("_complex.py")


def test_every_entry_point_outside_the_list_refuses_complex():
    """After the first use, each public function of gpugrad, nn.functional, linalg and special,
    each Tensor method and operator is either on the list or refuses a complex tensor."""
    z = gpugrad.ones(3, dtype=gpugrad.complex64)  # (opens the gate)
    unchecked = []
    for prefix, namespace in (("", gpugrad), ("F.", gpugrad.nn.functional),
                              ("linalg.", gpugrad.linalg), ("special.", gpugrad.special)):
        for name in _public_functions(namespace):
            fn = getattr(namespace, name)
            if prefix == "" and not _complex.is_op(fn):
                continue  # seeding, devices, vmap...: left as they are
            if name not in _complex.ALLOWED and not _netted(fn):
                unchecked.append(prefix + name)
    for name in dir(gpugrad.Tensor):
        value = getattr(gpugrad.Tensor, name, None)
        if not callable(value) or isinstance(value, type):
            continue
        if name.startswith("_") and name not in _complex._OPERATORS or not _complex.is_op(value):
            continue
        if name not in _complex.ALLOWED and not _netted(value):
            unchecked.append("Tensor." + name)
    assert not unchecked, unchecked
    # one function exported under several names stays one object
    assert gpugrad.manual_seed is gpugrad.random.manual_seed and gpugrad.vmap is gpugrad.func.vmap
    for call in (lambda: gpugrad.asin(z), lambda: z.erf(), lambda: z.cumsum(0), lambda: z < z,
                 lambda: gpugrad.nn.functional.softmax(z, 0), lambda: gpugrad.linalg.det(z),
                 lambda: gpugrad.special.expit(z), lambda: gpugrad.arange(2, dtype=gpugrad.cfloat),
                 lambda: gpugrad.clamp(gpugrad.ones(2), 1j), lambda: z.max()):
        with pytest.raises(NotImplementedError, match="complex"):
            call()


def test_real_tensors_still_compute_after_the_gate_opens():
    gpugrad.ones(1, dtype=gpugrad.complex128)
    x = gpugrad.linspace(-1, 1, 5, requires_grad=True)
    gpugrad.nn.functional.softmax(x.sin(), 0).max().backward()
    ref = __import__("torch")
    xt = ref.linspace(-1, 1, 5, requires_grad=True, dtype=ref.float32)
    ref.nn.functional.softmax(xt.sin(), 0).max().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-6)


def test_kernel_backend_sends_complex_arrays_to_the_twins():
    """The interpreted kernel backend (the CUDA backend's launchers run by Triton's interpreter
    on host arrays) computes complex ops and their gradients through the twins."""
    from gpugrad.backend.interpret_backend import InterpretBackend

    backend = InterpretBackend()
    zn = (np.linspace(-2, 2, 12) + 1j * np.linspace(1, 3, 12)).reshape(3, 4)
    xn = np.linspace(-1, 2, 12).reshape(3, 4)
    z = gpugrad.Tensor._make(zn.copy(), backend).requires_grad_()
    x = gpugrad.Tensor._make(xn.copy(), backend).requires_grad_()
    y = (z.exp() * z * x + z / 2 - 1j).sum()
    gpugrad.view_as_real(y).sum().backward()
    assert z.grad._backend is backend and z.grad.dtype is gpugrad.complex128
    np.testing.assert_allclose(y.item(), (np.exp(zn) * zn * xn + zn / 2 - 1j).sum())
    dy_dz = np.exp(zn) * (1 + zn) * xn + 0.5
    np.testing.assert_allclose(z.grad.numpy(), (1 + 1j) * np.conj(dy_dz))
    np.testing.assert_allclose(x.grad.numpy(), ((1 + 1j) * np.conj(np.exp(zn) * zn)).real)


def test_recorded_writes_through_a_part_view_are_refused():
    """An in-place change through ``z.real`` of a tensor in a graph would need the view's
    positions in the complex memory: refused clearly, not recorded wrong; without a graph
    the write goes through."""
    z = gpugrad.tensor([1 + 2j, 3 - 1j], requires_grad=True)
    w = z * 2
    with pytest.raises(NotImplementedError, match="real or imaginary view"):
        w.real.mul_(2)
    plain = gpugrad.tensor([1 + 2j, 3 - 1j])
    plain.real.mul_(2)
    gpugrad.view_as_real(plain)[1, 1] = 7
    assert plain.tolist() == [2 + 2j, 6 + 7j]


_FIRST_COMPLEX = {
    "tensor_of_numpy": lambda: gpugrad.tensor(np.ones(2, np.complex64)),
    "tensor_of_python": lambda: gpugrad.tensor([1j]),
    "tensor_of_numpy_scalars": lambda: gpugrad.tensor([np.complex64(1j), 2]),
    "as_tensor": lambda: gpugrad.as_tensor(np.ones(2, np.complex128)),
    "from_numpy": lambda: gpugrad.from_numpy(np.ones(2, np.complex64)),
    "asarray": lambda: gpugrad.asarray(np.ones(2, np.complex64)),
    "from_dlpack": lambda: gpugrad.from_dlpack(np.ones(2, np.complex64)),
    "complex": lambda: gpugrad.complex(gpugrad.ones(2), gpugrad.ones(2)),
    "polar": lambda: gpugrad.polar(gpugrad.ones(2), gpugrad.ones(2)),
    "view_as_complex": lambda: gpugrad.view_as_complex(gpugrad.ones(2, 2)),
    "times_1j": lambda: gpugrad.ones(2) * 1j,
    "to": lambda: gpugrad.ones(2).to(gpugrad.cfloat),
    "factory": lambda: gpugrad.zeros(2, dtype=gpugrad.complex128),
    "randn": lambda: gpugrad.randn(2, dtype=gpugrad.cfloat),
    "view_dtype": lambda: gpugrad.ones(2, 2).view(gpugrad.complex64),
    "full": lambda: gpugrad.full((2,), 1j),
}


@pytest.mark.parametrize("path", list(_FIRST_COMPLEX))
def test_every_way_to_a_first_complex_tensor_installs_the_net(path):
    """Whichever way a program makes its first complex tensor, the net is up before it can
    call an op on it (a complex array that became a tensor unseen would compute ``abs`` with
    the real formula and ``asin`` unchecked)."""
    _complex.uninstall(gpugrad)  # (closed, as in a program that has not used complex numbers)
    z = _FIRST_COMPLEX[path]()
    assert gpugrad._dtype._COMPLEX_GATE.hooks is None, path  # (before z.dtype is read)
    with pytest.raises(NotImplementedError):
        z.asin()
    assert z.dtype.is_complex

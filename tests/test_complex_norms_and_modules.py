"""Complex numbers in the places a complex model reaches beyond the elementwise ops, against
torch 2.13: norms (of the magnitudes, with their complex gradients, and ``clip_grad_norm_`` on
complex gradients), ``F.linear``/``nn.Linear`` on complex tensors, and ``Module.to`` with a
complex dtype or from complex parameters to a real one."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import gpugrad

LIBS = (torch, gpugrad)
_Z = np.array([[3 + 4j, 12j, 0.5 - 2j], [1 - 1j, 2 + 0j, -0.25 + 0.75j]])

NORMS = {
    "norm": lambda L, z: L.norm(z),
    "norm_p1_dim": lambda L, z: L.norm(z, p=1, dim=1),
    "norm_fro_keepdim": lambda L, z: L.norm(z, "fro", dim=(0, 1), keepdim=True),
    "norm_inf": lambda L, z: L.norm(z, float("inf")),
    "tensor_norm_p3": lambda L, z: z.norm(p=3),
    "vector_norm": lambda L, z: L.linalg.vector_norm(z),
    "vector_norm_ord1_dim0": lambda L, z: L.linalg.vector_norm(z, 1, dim=0),
    "vector_norm_ord0": lambda L, z: L.linalg.vector_norm(z, 0),
    "vector_norm_ord_neg_inf": lambda L, z: L.linalg.vector_norm(z, -float("inf"), dim=1),
    "linalg_norm": lambda L, z: L.linalg.norm(z),
    "linalg_norm_matrix_1": lambda L, z: L.linalg.norm(z, ord=1),
    "linalg_norm_matrix_inf": lambda L, z: L.linalg.norm(z, float("inf")),
    "linalg_norm_vector_dim": lambda L, z: L.linalg.norm(z, 3, dim=1),
    "matrix_norm_fro": lambda L, z: L.linalg.matrix_norm(z),
    "matrix_norm_neg1": lambda L, z: L.linalg.matrix_norm(z, -1),
}


@pytest.mark.parametrize("name", NORMS)
@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_norms_and_their_gradients_as_torch(name, dtype):
    results = []
    for L in LIBS:
        z = L.tensor(_Z, dtype=getattr(L, dtype), requires_grad=True)
        out = NORMS[name](L, z)
        (out * L.arange(1.0, out.numel() + 1).reshape(out.shape)).sum().backward()
        results.append((out, z.grad))
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == "complex64" else dict(rtol=1e-12)
    (want, want_grad), (got, got_grad) = results
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), **tol)
    if want_grad is None:  # (the 0 "norm", a count: no gradient reaches the input)
        assert got_grad is None
    else:
        np.testing.assert_allclose(got_grad.numpy(), want_grad.numpy(), **tol)


@pytest.mark.parametrize("call", [
    lambda L, z: L.linalg.norm(z, ord=2), lambda L, z: L.linalg.norm(z, "nuc"),
    lambda L, z: L.linalg.matrix_norm(z, -2), lambda L, z: L.norm(z, p="nuc"),
])
def test_spectral_norms_of_complex_tensors_are_refused(call):
    """torch computes them from singular values, which gpugrad's complex set lacks: a clear
    NotImplementedError rather than a norm of the magnitudes, which would be wrong."""
    call(torch, torch.tensor(_Z))
    with pytest.raises(NotImplementedError, match="not the spectral or nuclear norms"):
        call(gpugrad, gpugrad.tensor(_Z))


def test_clip_grad_norm_of_complex_gradients_as_torch():
    results = []
    for L in LIBS:
        w = L.nn.Parameter(L.zeros(3, dtype=L.complex64))
        v = L.nn.Parameter(L.zeros(2))
        w.grad, v.grad = L.tensor([3 + 4j, 0j, 12j]), L.tensor([1.0, -2.0])
        total = L.nn.utils.clip_grad_norm_([w, v], 1.0)
        results.append((total.item(), w.grad.numpy(), v.grad.numpy()))
    for got, want in zip(results[1], results[0]):
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_complex_linear_layer_as_torch():
    """``nn.Linear(...).to(complex64)`` warns (PyTorch's complex modules are a new feature;
    gpugrad's complex set is limited) and computes ``x @ W.T + b`` with complex gradients."""
    torch.manual_seed(0)
    ref = torch.nn.Linear(3, 2)
    x_np = _Z.copy()
    results = []
    for L in LIBS:
        layer = L.nn.Linear(3, 2)
        layer.load_state_dict({k: L.tensor(v.detach().numpy()) for k, v in
                               ref.state_dict().items()})
        with pytest.warns(UserWarning, match="omplex modules"):
            layer.to(L.complex64)
        assert str(layer.weight.dtype).endswith("complex64")
        x = L.tensor(x_np, dtype=L.complex64, requires_grad=True)
        out = layer(x)
        L.view_as_real(out).pow(2).sum().backward()
        results.append([out.detach(), x.grad, layer.weight.grad, layer.bias.grad])
    for got, want in zip(results[1], results[0]):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)


def test_functional_linear_without_bias_and_with_a_vector_weight_as_torch():
    results = []
    for L in LIBS:
        x = L.tensor(_Z)
        w = L.tensor(_Z[:, :3] * 0.5j)
        results.append([L.nn.functional.linear(x, w), L.nn.functional.linear(x, w[0]),
                        L.nn.functional.linear(x, w, w[1, :2])])
    for got, want in zip(*results[::-1]):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)


def test_module_to_a_real_dtype_casts_complex_parameters_as_torch():
    """As PyTorch: complex parameters become real (the imaginary part dropped, with the cast's
    warning); integer buffers stay. (Both libraries warn once a process: gpugrad's record of
    its warnings is cleared, torch's cannot be, so only gpugrad's warning is looked for.)"""
    from gpugrad import _warnings

    _warnings._warned_once.discard("Casting complex values to real discards the imaginary part")
    results = []
    for L in LIBS:
        m = L.nn.Module()
        m.w = L.nn.Parameter(L.tensor([1 + 2j, 3 - 1j]))
        m.register_buffer("count", L.tensor([4]))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            m.to(L.float64)
        if L is gpugrad:
            assert any("discards the imaginary part" in str(w.message) for w in caught)
        results.append((str(m.w.dtype).split(".")[-1], m.w.tolist(),
                        str(m.count.dtype).split(".")[-1]))
    assert results[1] == results[0]


def test_module_to_refuses_an_integer_dtype_as_torch():
    for L in LIBS:
        with pytest.raises(TypeError, match="only accepts floating point or complex dtypes"):
            L.nn.Linear(2, 2).to(L.int64)

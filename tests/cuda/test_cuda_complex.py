"""Complex tensors on each device against the same ops on the CPU: the allowed ops run on CuPy
(no kernel computes complex numbers; products go to cuBLAS), views included (``view_as_real``
of a transposed tensor, ``real``/``imag`` written through), gradients by PyTorch's
convention, and the rotary embedding of LLaMA-style code.

The CPU cases check the cases themselves in CI; the CUDA cases run where CuPy sees a GPU.
"""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)]  # gpu: skipped without one


def _values(seed: int, shape, complex_dtype: str = "complex64") -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(complex_dtype)


def _run(device: str) -> dict:
    zn, wn = _values(0, (3, 4)), _values(1, (4,))
    xn = np.random.default_rng(2).standard_normal((3, 4, 2)).astype(np.float32)
    z = gpugrad.tensor(zn, device=device, requires_grad=True)
    w = gpugrad.tensor(wn, device=device, requires_grad=True)
    x = gpugrad.tensor(xn, device=device, requires_grad=True)
    c = gpugrad.view_as_complex(x)
    y = (z * w + c / (w + 2) - z.conj() * 1j).exp() * 0.1
    parts = gpugrad.view_as_real(y.t())  # a strided view
    loss = parts.pow(2).sum() + y.abs().mean() + y.angle().sum() + z.real.sum() * z.imag.mean()
    loss = loss + gpugrad.polar(x[..., 0].abs() + 1, x[..., 1]).sum().real
    products = (z @ z.t().conj()).sum() + gpugrad.einsum("ij,j->i", z, w).sum()
    loss = loss + gpugrad.view_as_real(products).sum()
    loss.backward()
    written = gpugrad.tensor(zn, device=device)
    written.real.mul_(2)
    written.imag[0] = 5
    out = {"loss": loss, "z": z.grad, "w": w.grad, "x": x.grad, "written": written,
           "sum": y.sum(0), "mean": y.mean(), "randn": gpugrad.randn(3, dtype=gpugrad.cfloat,
                                                                    device=device).dtype}
    return {k: v.detach().cpu().numpy() if isinstance(v, gpugrad.Tensor) else v
            for k, v in out.items()}


@pytest.mark.parametrize("device", DEVICES)
def test_complex_ops_and_gradients_match_the_cpu(device):
    ours, ref = _run(device), _run("cpu")
    for key, value in ref.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_allclose(ours[key], value, rtol=2e-5, atol=2e-6, err_msg=key)
        else:
            assert ours[key] == value, key


@pytest.mark.parametrize("device", DEVICES)
def test_rotary_embedding_matches_the_cpu(device):
    """``apply_rotary_emb`` as LLaMA-style code writes it, on each device: the output and the
    gradient of the queries."""
    rng = np.random.default_rng(3)
    qn = rng.standard_normal((2, 5, 4, 8)).astype(np.float32)

    def rotate(dev):
        q = gpugrad.tensor(qn, device=dev, requires_grad=True)
        freqs = 1.0 / (10000 ** (gpugrad.arange(0, 8, 2, device=dev).float() / 8))
        angles = gpugrad.outer(gpugrad.arange(5, device=dev).float(), freqs)
        rotations = gpugrad.polar(gpugrad.ones_like(angles), angles).view(1, 5, 1, 4)
        q_ = gpugrad.view_as_complex(q.float().reshape(2, 5, 4, -1, 2))
        out = gpugrad.view_as_real(q_ * rotations).flatten(3)
        (out * out.roll(1, -1)).sum().backward()
        return out.detach().cpu().numpy(), q.grad.cpu().numpy()

    (out, grad), (ref_out, ref_grad) = rotate(device), rotate("cpu")
    np.testing.assert_allclose(out, ref_out, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-5, atol=1e-6)


def _spectral(device: str) -> dict:
    """The FFT family (cuFFT through CuPy on CUDA) with gradients, one Adam step on a complex
    parameter (the optimizer's kernel on the parts), and the gradient of eigenvalues."""
    xn = np.random.default_rng(3).standard_normal((4, 10)).astype(np.float32)
    x = gpugrad.tensor(xn, device=device, requires_grad=True)
    w = gpugrad.tensor(_values(4, (6,)), device=device, requires_grad=True)
    spectrum = gpugrad.fft.rfft(x, norm="ortho")
    y = gpugrad.fft.irfft(spectrum * w, n=10)
    z = gpugrad.fft.fft2(gpugrad.fft.fftshift(y.t()), s=(12, 5))
    loss = y.pow(2).sum() + gpugrad.view_as_real(gpugrad.fft.ifft(z, dim=0)).abs().sum()
    loss.backward()
    opt = gpugrad.optim.Adam([w], lr=0.1)
    opt.step()
    a = gpugrad.tensor(np.random.default_rng(5).standard_normal((4, 4)), device=device,
                       requires_grad=True)
    gpugrad.linalg.eigvals(a).abs().sum().backward()  # (CuPy's geev, or the host's)
    out = {"loss": loss, "x": x.grad, "w_grad": w.grad, "w_after": w,
           "exp_avg": opt.state[w]["exp_avg"], "freq": gpugrad.fft.fftfreq(6, device=device),
           "eig_grad": a.grad}
    return {k: v.detach().cpu().numpy() for k, v in out.items()}


@pytest.mark.parametrize("device", DEVICES)
def test_fft_gradients_and_a_complex_adam_step_match_the_cpu(device):
    ours, ref = _spectral(device), _spectral("cpu")
    for key, value in ref.items():
        assert ours[key].dtype == value.dtype, key
        np.testing.assert_allclose(ours[key], value, rtol=2e-5, atol=2e-5, err_msg=key)

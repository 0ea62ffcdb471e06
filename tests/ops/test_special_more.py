"""``gpugrad.special``'s ``i1``, ``i0e``, ``i1e``, ``erfcx``, ``zeta``, the Bessel functions of the
first kind and the modified ones at the edges, against torch.special (and reference values where
torch's own float64 Bessel functions are good to ~1e-8 only)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

INF, NAN = np.inf, np.nan
X = np.array([0.0, -0.0, 1e-8, -0.3, 4.99, 5.01, 19.99, 20.01, -24.9, 25.1, 100.0, -700.0,
              800.0, 1e4, INF, -INF, NAN])


def _close(ours, ref, rtol, atol=0.0):
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=rtol, atol=atol, equal_nan=True)


@pytest.mark.parametrize("name", ["i1", "i0e", "i1e", "erfcx", "spherical_bessel_j0",
                                  "modified_bessel_i0", "modified_bessel_i1"])
def test_edges_match_torch(name):
    x = X if name != "erfcx" else np.concatenate([X, [-5.0, -26.0, -27.0, 0.46875, 4.0, 27.0]])
    with np.errstate(all="ignore"):
        _close(getattr(gpugrad.special, name)(gpugrad.tensor(x)),
               getattr(torch.special, name)(torch.tensor(x)), 1e-13)
        _close(getattr(gpugrad.special, name)(gpugrad.tensor(x, dtype=gpugrad.float32)),
               getattr(torch.special, name)(torch.tensor(x, dtype=torch.float32)), 2e-6)


@pytest.mark.parametrize("name", ["i1", "i0e", "i1e", "erfcx"])
def test_gradients_at_zero_and_far_out(name):
    x = np.array([0.0, -0.5, 21.0, -30.0, 3.0])
    a = gpugrad.tensor(x, requires_grad=True)
    t = torch.tensor(x, requires_grad=True)
    getattr(gpugrad.special, name)(a).sum().backward()
    getattr(torch.special, name)(t).sum().backward()
    _close(a.grad, t.grad, 1e-12)


# mpmath.besselj(0 or 1, x) to 17 digits
J_REF = {2.0: (0.22389077914123567, 0.5767248077568734),
         -4.63876673: (-0.2860143798378925, 0.2656465714444049),
         8.21770124: (0.11763443424496796, 0.2595634177032091),
         12.01728657: (0.051541851294727624, -0.22226857770126282),
         30.5: (-0.01938975451776215, -0.14349430015097095)}


def test_bessel_j_reference_values_and_torch():
    x = np.array(list(J_REF))
    j0 = gpugrad.special.bessel_j0(gpugrad.tensor(x)).numpy()
    j1 = gpugrad.special.bessel_j1(gpugrad.tensor(x)).numpy()
    np.testing.assert_allclose(j0, [v[0] for v in J_REF.values()], rtol=1e-13)
    np.testing.assert_allclose(j1, [v[1] for v in J_REF.values()], rtol=1e-13)
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-40, 40, 300), X])
    for name in ("bessel_j0", "bessel_j1"):
        with np.errstate(all="ignore"):
            _close(getattr(gpugrad.special, name)(gpugrad.tensor(x)),
                   getattr(torch.special, name)(torch.tensor(x)), 1e-6, atol=1e-6)
        out = getattr(gpugrad.special, name)(gpugrad.tensor([1, 2]))
        assert out.dtype == gpugrad.float32 and not out.requires_grad
        t = gpugrad.tensor([1.0], requires_grad=True)
        assert not getattr(gpugrad.special, name)(t).requires_grad  # as PyTorch's
        assert getattr(gpugrad.special, name)(gpugrad.zeros(0, 2)).shape == (0, 2)


def test_zeta_edges_and_gradient_rules():
    s = np.array([1.0, 0.5, 2.0, 2.0, 3.0, 2.5, 2.0, NAN, 2.0, 4.0, 40.0])
    q = np.array([1.0, 1.0, 0.0, -1.0, -1.5, -1.5, INF, 1.0, NAN, 0.01, 2.0])
    _close(gpugrad.special.zeta(gpugrad.tensor(s), gpugrad.tensor(q)),
           torch.special.zeta(torch.tensor(s), torch.tensor(q)), 1e-13)
    _close(gpugrad.special.zeta(gpugrad.tensor([2, 3]), 1), torch.special.zeta(
        torch.tensor([2, 3]), 1), 1e-6)
    _close(gpugrad.special.zeta(2.0, gpugrad.tensor([[1.5], [3.0]])), torch.special.zeta(
        2.0, torch.tensor([[1.5], [3.0]])), 1e-6)
    x = gpugrad.tensor([2.5], requires_grad=True)
    with pytest.raises(RuntimeError, match="derivative for 'zeta' is not implemented"):
        gpugrad.special.zeta(x, gpugrad.tensor([1.5])).backward()
    with pytest.raises(TypeError, match="Tensor"):
        gpugrad.special.zeta(2.0, 1.0)


def test_kernels_far_branches_match_twin(monkeypatch):
    """The kernels' asymptotic branch (|x| > 20), which the table-wide kernel test's values
    (|x| <= 3) do not reach."""
    from gpugrad.kernels import elementwise_ops as ew

    from gpugrad.backend.formulas import UNARY

    x = np.array([-800.0, -30.0, -20.5, 0.0, 1.0, 19.5, 21.0, 50.0, 1e5])
    g = np.ones_like(x)
    for op in ("special_i0e", "special_i1e", "special_erfcx"):
        with np.errstate(all="ignore"):
            y = UNARY[op].forward(np, x)
            dy = UNARY[op].grad(np, g, x, y)
        out = ew.unary(op, x)
        np.testing.assert_allclose(np.asarray(out), y, rtol=1e-13, err_msg=op)
        np.testing.assert_allclose(np.asarray(ew.unary_grad(op, g, x, out)), dy, rtol=1e-12,
                                   err_msg=op)

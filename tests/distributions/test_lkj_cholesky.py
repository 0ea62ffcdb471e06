"""LKJCholesky and CorrCholeskyTransform against torch: log_prob and its gradients, the
transform's shapes, registry and round trip, and draws (support, and the off-diagonal
correlations' known marginal variance)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.distributions as td
from dist_oracle import TOL

import gpugrad
import gpugrad.distributions as gd


def _torch_factors(dim, conc, n, dtype):
    torch.manual_seed(0)
    return td.LKJCholesky(dim, torch.tensor(conc, dtype=dtype)).sample((n,)).numpy()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("dim", [2, 3, 5])
def test_log_prob(dim, dtype):
    conc = np.array([0.3, 1.0, 2.5], dtype=dtype)
    value = _torch_factors(dim, conc, 4, getattr(torch, np.dtype(dtype).name))
    gc = gpugrad.tensor(conc, requires_grad=True)
    tc = torch.tensor(conc, requires_grad=True)
    gv = gpugrad.tensor(value, requires_grad=True)
    tv = torch.tensor(value, requires_grad=True)
    go, to = gd.LKJCholesky(dim, gc).log_prob(gv), td.LKJCholesky(dim, tc).log_prob(tv)
    assert tuple(go.shape) == tuple(to.shape) == (4, 3)
    np.testing.assert_allclose(go.detach().numpy(), to.detach().numpy(), **TOL[dtype])
    w = np.random.default_rng(0).standard_normal((4, 3)).astype(dtype)
    (go * gpugrad.tensor(w)).sum().backward()
    (to * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(gc.grad.numpy(), tc.grad.numpy(), **TOL[dtype])
    np.testing.assert_allclose(gv.grad.numpy(), tv.grad.numpy(), **TOL[dtype])


def test_number_concentration_and_attributes():
    g, t = gd.LKJCholesky(3), td.LKJCholesky(3)
    assert g.batch_shape == t.batch_shape == () and g.event_shape == t.event_shape == (3, 3)
    assert g.concentration.dtype == gpugrad.float32
    v = _torch_factors(3, 1.0, 2, torch.float32)
    np.testing.assert_allclose(g.log_prob(gpugrad.tensor(v)).numpy(),
                               t.log_prob(torch.tensor(v)).numpy(), rtol=1e-6)
    assert not g.has_rsample and g.support is gd.constraints.corr_cholesky
    assert g.arg_constraints == {"concentration": gd.constraints.positive}
    with pytest.raises(NotImplementedError):
        g.mean  # noqa: B018
    e = gd.LKJCholesky(4, gpugrad.tensor([1.0, 2.0])).expand((3, 2))
    assert e.batch_shape == (3, 2) and e.dim == 4 and e._beta.batch_shape == (3, 2, 4)
    assert tuple(e.sample((5,)).shape) == (5, 3, 2, 4, 4)


def test_validation():
    for lib, mod in ((gd, gpugrad), (td, torch)):
        with pytest.raises(ValueError, match="Expected dim to be an integer greater than or "
                                             "equal to 2. Found dim=1."):
            lib.LKJCholesky(1)
        with pytest.raises(ValueError, match="concentration"):
            lib.LKJCholesky(3, mod.tensor([-1.0]), validate_args=True)
        with pytest.raises(ValueError, match="within the support"):
            lib.LKJCholesky(2).log_prob(mod.tensor([[1.0, 0.0], [0.9, 0.9]]))


@pytest.mark.parametrize("dtype", [gpugrad.float32, gpugrad.float64])
def test_samples(dtype):
    gpugrad.manual_seed(0)
    n, dim = 20000, 4
    conc = gpugrad.tensor([0.5, 1.0, 4.0], dtype=dtype)
    x = gd.LKJCholesky(dim, conc).sample((n,))
    assert tuple(x.shape) == (n, 3, dim, dim) and x.dtype == dtype
    assert bool(gd.constraints.corr_cholesky.check(x).all())
    rows, cols = np.tril_indices(dim, -1)
    off = (x @ x.mT).numpy().astype(np.float64)[..., rows, cols]  # (n, 3, 6) correlations
    # torch's draws as the oracle: its onion method gives correlations past the first a
    # larger spread than the LKJ marginal (r + 1) / 2 ~ Beta(b, b), b = conc - 1 + dim / 2,
    # which only the first, r_21, follows; the same algorithm here gives the same spread
    torch.manual_seed(0)
    t = td.LKJCholesky(dim, torch.tensor(conc.numpy())).sample((n,))
    t_off = (t @ t.mT).double().numpy()[..., rows, cols]
    var = t_off.var(0)
    np.testing.assert_array_less(np.abs(off.mean(0)), 6 * np.sqrt(var / n))
    np.testing.assert_allclose(off.var(0), var, rtol=0.05)
    np.testing.assert_allclose(var[:, 0], 1 / (2 * conc.numpy() + dim - 1), rtol=0.05)


def test_corr_cholesky_transform_shapes_and_registry():
    t = gd.CorrCholeskyTransform()
    assert t == gd.CorrCholeskyTransform() and t.bijective
    assert t.domain is gd.constraints.real_vector and t.codomain is gd.constraints.corr_cholesky
    assert t.forward_shape((2, 6)) == (2, 4, 4) and t.inverse_shape((2, 4, 4)) == (2, 6)
    for lib in (gd, td):
        tr = lib.transforms.CorrCholeskyTransform()
        with pytest.raises(ValueError, match="Input is not a flattened lower-diagonal number"):
            tr.forward_shape((2, 5))
        with pytest.raises(ValueError, match="Too few dimensions on input"):
            tr.forward_shape(())
        with pytest.raises(ValueError, match="Input is not square"):
            tr.inverse_shape((3, 4))
        with pytest.raises(ValueError, match="Too few dimensions on input"):
            tr.inverse_shape((3,))
    for registry in ("biject_to", "transform_to"):
        tg = getattr(gd, registry)(gd.constraints.corr_cholesky)
        tt = getattr(td, registry)(td.constraints.corr_cholesky)
        assert isinstance(tg, gd.CorrCholeskyTransform) and repr(tg) == repr(tt)
    x = gpugrad.tensor(np.random.default_rng(1).standard_normal((5, 10)))
    y = t(x)
    assert bool(gd.constraints.corr_cholesky.check(y).all())
    np.testing.assert_allclose(t.inv(y).numpy(), x.numpy(), atol=1e-9)

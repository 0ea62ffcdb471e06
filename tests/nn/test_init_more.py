"""``nn.init.orthogonal_``, ``sparse_``, ``dirac_`` and the deprecated aliases, as PyTorch's
(random draws differ from PyTorch's stream: the checks are of structure and statistics)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad
from gpugrad.nn import init


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (5, 2, 3), (3, 3)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_orthogonal(shape, dtype):
    t = gpugrad.empty(shape, dtype=getattr(gpugrad, dtype))
    assert init.orthogonal_(t, gain=2.0) is t
    flat = t.numpy().reshape(shape[0], -1).astype(np.float64)
    small = min(flat.shape)
    gram = flat @ flat.T if flat.shape[0] == small else flat.T @ flat
    np.testing.assert_allclose(gram, 4.0 * np.eye(small), atol=1e-5)
    g = gpugrad.Generator().manual_seed(7)
    a = init.orthogonal_(gpugrad.empty(shape), generator=g).numpy()
    g.manual_seed(7)
    np.testing.assert_array_equal(a, init.orthogonal_(gpugrad.empty(shape), generator=g).numpy())


def test_sparse_zeroes_the_share_of_each_column():
    gpugrad.manual_seed(0)
    t = init.sparse_(gpugrad.empty(10, 300), sparsity=0.3, std=0.5)
    zeros_per_column = (t.numpy() == 0).sum(axis=0)
    assert (zeros_per_column == 3).all()  # ceil(0.3 * 10)
    nonzero = t.numpy()[t.numpy() != 0]
    assert abs(nonzero.std() - 0.5) < 0.03 and abs(nonzero.mean()) < 0.03


@pytest.mark.parametrize("shape,groups", [((4, 2, 3), 2), ((3, 5, 3, 3), 1), ((6, 2, 3, 3, 3), 3),
                                          ((2, 4, 5), 1)])
def test_dirac_equals_pytorch(shape, groups):
    ours = init.dirac_(gpugrad.empty(shape), groups=groups).numpy()
    theirs = torch.nn.init.dirac_(torch.empty(shape), groups=groups).numpy()
    np.testing.assert_array_equal(ours, theirs)


def test_errors_as_pytorch():
    for m in (gpugrad, torch):
        with pytest.raises(ValueError, match="2 or more dimensions"):
            m.nn.init.orthogonal_(m.empty(3))
        with pytest.raises(ValueError, match="Only tensors with 2 dimensions"):
            m.nn.init.sparse_(m.empty(3, 3, 3), 0.5)
        with pytest.raises(ValueError, match="3, 4, or 5 dimensions"):
            m.nn.init.dirac_(m.empty(3, 3))
        with pytest.raises(ValueError, match="divisible by groups"):
            m.nn.init.dirac_(m.empty(3, 3, 3), groups=2)


@pytest.mark.parametrize("name", ["uniform", "normal", "constant", "eye", "dirac",
                                  "xavier_uniform", "xavier_normal", "kaiming_uniform",
                                  "kaiming_normal", "orthogonal", "sparse"])
def test_deprecated_aliases_warn_and_fill(name):
    args = {"constant": (0.5,), "sparse": (0.1,)}.get(name, ())
    shape = (3, 2, 3) if name == "dirac" else (4, 3)
    for m in (gpugrad, torch):
        t = m.zeros(shape)
        with pytest.warns(FutureWarning, match=f"`nn.init.{name}` is now deprecated"):
            out = getattr(m.nn.init, name)(t, *args)
        assert out is t


@pytest.mark.parametrize("call", [
    "L.nn.init.uniform_(L.empty(3), 1.5, 0)", "L.nn.init.normal_(L.empty(3), std=-1.0)",
    "L.nn.init.uniform_(L.zeros(3, dtype=L.int64))", "L.nn.init.normal_(L.zeros(3, dtype=L.int64))",
    "L.nn.init.trunc_normal_(L.empty(3), a=2, b=1)",
    "L.nn.init.trunc_normal_(L.zeros(3, dtype=L.int64))",
    "L.outer(L.ones(2, 2), L.ones(2))", "L.outer(L.tensor(2.0), L.ones(2))",
    "L.ger(L.ones(2), L.ones(2, 1))", "L.outer(L.ones(2), 3)",
])
def test_fills_and_outer_check_their_arguments_as_torch(call):
    seen = []
    for L in (torch, gpugrad):
        with pytest.raises((RuntimeError, NotImplementedError, TypeError)) as err:
            eval(call, {"L": L})
        seen.append((err.type, str(err.value)))
    assert seen[1] == seen[0]

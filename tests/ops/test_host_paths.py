"""The host-side shortcuts of the small ops, each against its general path and PyTorch: keys
of 0-d integer tensors (``normalize_key``: views, as PyTorch indexes with them as with ints),
``cat`` of one dtype, the remembered shapes of
``view``/``reshape``/``expand`` (asked twice, wrong the second time too), iteration as one
``unbind``, and views made under ``no_grad`` (not registered with their base)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad
from gpugrad.autograd.views import live_views
from gpugrad.ops import _index_key


def _both(fn, *arrays, grad=True):
    """``fn(m, *tensors)`` in gpugrad and torch: the outputs and the inputs' gradients."""
    results = []
    for m in (gpugrad, torch):
        ts = [m.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
        out = fn(m, *ts)
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        if grad:
            sum((o * (k + 1.5)).sum() for k, o in enumerate(outs) if o.requires_grad).backward()
        results.append(([o.detach().numpy() for o in outs],
                        [t.grad.numpy() if t.grad is not None else None for t in ts
                         if t.requires_grad]))
    (g_out, g_grads), (t_out, t_grads) = results
    for a, b in zip(g_out, t_out, strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_allclose(a, b, atol=1e-12)
    for a, b in zip(g_grads, t_grads, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-12)


INDEX_KEYS = {
    "t": lambda m, t: (t,),
    "t, u": lambda m, t: (t, m.tensor(1)),
    "negative": lambda m, t: (m.tensor(-2), m.tensor(-1)),
    "int32": lambda m, t: (m.tensor(2, dtype=m.int32),),
    "t, int": lambda m, t: (t, 1),
    "int, t": lambda m, t: (0, t),
    "t, slice": lambda m, t: (t, slice(1, 3)),
    "bool": lambda m, t: (m.tensor(True),),
    "uint8": lambda m, t: (m.tensor(1, dtype=m.uint8),),
}


@pytest.mark.parametrize("name", list(INDEX_KEYS))
def test_keys_of_0d_integer_tensors_match_the_general_walk_and_torch(name):
    x = np.random.default_rng(0).standard_normal((3, 4))

    def op(m, xt):
        key = INDEX_KEYS[name](m, m.tensor(1))
        return xt[key], xt[key] * 2  # a repeated key accumulates
    _both(op, x)
    views = []
    for m in (gpugrad, torch):  # the same node and the same memory as PyTorch's
        xt = m.tensor(x, requires_grad=True) * 1
        out = xt[INDEX_KEYS[name](m, m.tensor(1))]
        views.append((type(out.grad_fn).__name__, out._base is not None))
    assert views[0] == views[1]
    xg = gpugrad.tensor(x)
    key = INDEX_KEYS[name](gpugrad, gpugrad.tensor(1))
    fast = _index_key.normalize_key(xg, key)
    general = _index_key.normalize_key(xg, list(key))  # a list skips the shortcut
    assert fast[0] == general[0]
    assert (fast[1] is None) == (general[1] is None)
    for a, b in zip(fast[1] or (), general[1] or ()):
        if isinstance(a, slice):
            assert a == b
        else:
            assert a.dtype == b.dtype and a.shape == b.shape and (a == b).all()


@pytest.mark.parametrize("key", [(7,), (1, -5), (-4,)])
def test_out_of_range_0d_tensor_keys_raise_as_torch(key):
    for m in (gpugrad, torch):
        x = m.zeros(3, 4)
        with pytest.raises(IndexError, match="out of bounds for dimension"):
            x[tuple(m.tensor(k) for k in key)]


def test_0d_tensor_keys_write_in_place_as_torch():
    for m in (gpugrad, torch):
        x = m.zeros(3, 4)
        x[m.tensor(1), m.tensor(-1)] = 5.0
        x[m.tensor(2)] += 1.0
        assert x.numpy().tolist() == [[0, 0, 0, 0], [0, 0, 0, 5], [1, 1, 1, 1]]


@pytest.mark.parametrize("dtypes", [("float64", "float64"), ("float32", "float64"),
                                    ("float64", "int64"), ("float32", "float32")])
def test_cat_of_one_dtype_and_of_several_as_torch(dtypes):
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal((2, 3)).astype(dtypes[0]),
              (rng.standard_normal((2, 1)) * 5).astype(dtypes[1]),
              np.zeros((0,), dtypes[0])]  # the legacy empty 1-D tensor, skipped
    _both(lambda m, a, b, c: m.cat([a, b, c, a], 1), *arrays)


def test_cat_errors_as_torch():
    for m in (gpugrad, torch):
        with pytest.raises(RuntimeError, match="Sizes of tensors must match except in dimension"):
            m.cat([m.zeros(2, 3), m.zeros(3, 3)], 1)
        with pytest.raises(RuntimeError, match="zero-dimensional tensor"):
            m.cat([m.zeros(()), m.zeros(())])


def test_remembered_view_and_expand_shapes_still_check():
    x = gpugrad.randn(2, 6)
    for _ in range(2):  # the second call finds the first one's shape remembered
        assert tuple(x.view(3, -1).shape) == (3, 4)
        assert tuple(x.reshape([4, -1]).shape) == (4, 3)
        assert tuple(x[:1].expand(5, -1).shape) == (5, 6)
        assert tuple(x.expand((1, 2, 6)).shape) == (1, 2, 6)
        with pytest.raises(RuntimeError, match="shape '\\[5, -1\\]' is invalid"):
            x.view(5, -1)
        with pytest.raises(RuntimeError, match="must match the existing size"):
            x.expand(4, 6)
        with pytest.raises(TypeError, match="got bool"):
            x.view(True, -1)  # (True == 1: it must not find (1, -1)'s shape)
        assert tuple(x.view(1, -1).shape) == (1, 12)
    assert tuple(x.view(gpugrad.tensor(3), 4).shape) == (3, 4)  # a 0-d tensor as a size


def test_iteration_is_one_unbind_as_torch():
    x = np.random.default_rng(2).standard_normal((4, 3))
    _both(lambda m, t: [r for r in t * 1.0][1:3], x)
    rows = list(gpugrad.tensor(x, requires_grad=True) * 1.0)
    assert {type(r.grad_fn).__name__ for r in rows} == {"UnbindBackward0"}
    assert len({id(r.grad_fn) for r in rows}) == 1
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        iter(gpugrad.tensor(1.0))


def test_views_made_under_no_grad_are_not_registered_yet_refuse_in_place_as_torch():
    for m in (gpugrad, torch):
        base = m.randn(3, 4, requires_grad=True) * 1.0
        with m.no_grad():
            v = base[0]
        with pytest.raises(RuntimeError, match="no_grad mode"):
            v.mul_(2)
    base = gpugrad.randn(3, 4) * 1.0
    with gpugrad.no_grad():
        quiet = base[1]
    loud = base[2]
    assert [id(v) for v in live_views(base)] == [id(loud)]
    assert quiet._view_of == (base, False)

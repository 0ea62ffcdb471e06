"""Generic checks of every op in the registry against PyTorch and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from opinfo import REGISTRY
from opinfo.build import as_numpy, build_args

import gpugrad
from gpugrad.autograd import gradcheck, gradgradcheck

TOL = {"float64": (1e-7, 1e-10), "float32": None}


def _cases():
    for spec in REGISTRY:
        samples = spec.samples(np.random.default_rng(0))
        for dtype in spec.dtypes:
            for i, sample in enumerate(samples):
                for layout in ("contiguous", "strided"):
                    yield pytest.param(spec, dtype, sample, layout,
                                       id=f"{spec.name}-{dtype}-{i}-{layout}")


def _outputs(spec, out):
    outs = spec.outputs(out) if spec.outputs else out
    return outs if isinstance(outs, (tuple, list)) else (outs,)


def _tols(spec, dtype):
    if dtype == "float32":
        return spec.rtol32, spec.atol32
    return 1e-7, 1e-10


@pytest.mark.parametrize("spec,dtype,sample,layout", list(_cases()))
def test_values_and_grads_match_torch(spec, dtype, sample, layout):
    g_args, t_args, grad_idx, host = build_args(sample, dtype, layout, spec.differentiable)
    g_out = _outputs(spec, spec.op(gpugrad, *g_args, **sample.kwargs))
    t_out = _outputs(spec, spec.op(torch, *t_args, **sample.kwargs))
    rtol, atol = _tols(spec, dtype)
    assert len(g_out) == len(t_out)
    for go, to in zip(g_out, t_out):
        assert tuple(go.shape) == tuple(to.shape), (go.shape, to.shape)
        assert go.dtype.name == str(to.dtype).replace("torch.", ""), (go.dtype, to.dtype)
        np.testing.assert_allclose(as_numpy(go), as_numpy(to), rtol=rtol, atol=atol,
                                   equal_nan=True)
    for held, before in host:
        np.testing.assert_array_equal(held, before)  # forward never mutates its inputs

    if not grad_idx:
        return
    rng = np.random.default_rng(1)
    diff = [(go, to) for go, to in zip(g_out, t_out) if to.requires_grad]
    ups = [rng.standard_normal(tuple(to.shape)).astype(dtype) for _, to in diff]
    ups_before = [u.copy() for u in ups]
    gpugrad.autograd.backward([g for g, _ in diff],
                              [gpugrad.from_numpy(u) for u in ups])
    torch.autograd.backward([t for _, t in diff], [torch.from_numpy(u.copy()) for u in ups])
    for u, b in zip(ups, ups_before):
        np.testing.assert_array_equal(u, b)  # upstream gradients are never mutated
    grads = []
    for i in grad_idx:
        gg, tg = g_args[i].grad, t_args[i].grad
        if tg is None:
            assert gg is None or not np.any(as_numpy(gg)), f"arg {i}: torch has no grad"
            continue
        assert gg is not None, f"arg {i}: no gradient"
        assert tuple(gg.shape) == tuple(g_args[i].shape)
        assert gg.dtype == g_args[i].dtype
        np.testing.assert_allclose(as_numpy(gg), as_numpy(tg), rtol=rtol, atol=atol,
                                   equal_nan=True, err_msg=f"grad of arg {i}")
        grads.append(gg)
    for a in range(len(grads)):
        for b in range(a + 1, len(grads)):
            assert not np.shares_memory(grads[a].numpy(), grads[b].numpy())
    for held, before in host:
        np.testing.assert_array_equal(held, before)  # backward never mutates inputs


def _gradcheck_cases():
    for spec in REGISTRY:
        if not spec.differentiable:
            continue
        for i, sample in enumerate(spec.samples(np.random.default_rng(0))):
            has_float = any(isinstance(a, np.ndarray) and a.dtype.kind == "f" and a.size
                            for a in sample.args)
            if has_float:
                yield pytest.param(spec, sample, id=f"{spec.name}-{i}")


@pytest.mark.parametrize("spec,sample", list(_gradcheck_cases()))
def test_gradcheck(spec, sample):
    g_args, _, grad_idx, _ = build_args(sample, "float64", "contiguous", True)
    assert grad_idx

    def fn(*args):
        return _outputs(spec, spec.op(gpugrad, *args, **sample.kwargs))

    assert gradcheck(fn, tuple(g_args), atol=spec.gradcheck_atol)
    if spec.gradgrad:
        assert gradgradcheck(fn, tuple(g_args), atol=spec.gradcheck_atol)


def _create_graph_cases():
    for spec in REGISTRY:
        if not spec.differentiable:
            continue
        for i, sample in enumerate(spec.samples(np.random.default_rng(0))):
            for layout in ("contiguous", "strided"):
                yield pytest.param(spec, sample, layout, id=f"{spec.name}-{i}-{layout}")


@pytest.mark.parametrize("spec,sample,layout", list(_create_graph_cases()))
def test_create_graph_gradients_match_plain_and_torch(spec, sample, layout):
    """An op's backward runs on Tensors under ``create_graph=True`` and on arrays without it:
    both must give PyTorch's first-order gradient (gradgradcheck cannot see a wrong Tensor
    backward: it checks that path only against itself)."""
    g_args, t_args, grad_idx, _ = build_args(sample, "float64", layout, True)
    if not grad_idx:
        return
    g_out = [o for o in _outputs(spec, spec.op(gpugrad, *g_args, **sample.kwargs))
             if o.requires_grad]
    t_out = [o for o in _outputs(spec, spec.op(torch, *t_args, **sample.kwargs))
             if o.requires_grad]
    assert len(g_out) == len(t_out)
    rng = np.random.default_rng(2)
    ups = [rng.standard_normal(tuple(o.shape)) for o in t_out]
    g_inputs = [g_args[i] for i in grad_idx]
    t_inputs = [t_args[i] for i in grad_idx]
    plain = gpugrad.autograd.grad(g_out, g_inputs, [gpugrad.from_numpy(u) for u in ups],
                                  retain_graph=True, allow_unused=True)
    graphed = gpugrad.autograd.grad(g_out, g_inputs, [gpugrad.from_numpy(u) for u in ups],
                                    create_graph=True, allow_unused=True)
    expected = torch.autograd.grad(t_out, t_inputs, [torch.from_numpy(u) for u in ups],
                                   allow_unused=True)
    for i, p, g, t in zip(grad_idx, plain, graphed, expected):
        if t is None:
            for got in (p, g):
                assert got is None or not np.any(as_numpy(got)), f"arg {i}: torch has no grad"
            continue
        for path, got in (("without create_graph", p), ("with create_graph", g)):
            assert got is not None, f"arg {i}: no gradient {path}"
            np.testing.assert_allclose(as_numpy(got), as_numpy(t), rtol=1e-7, atol=1e-10,
                                       equal_nan=True, err_msg=f"grad of arg {i} {path}")


def _error_cases():
    for spec in REGISTRY:
        for i, case in enumerate(spec.errors):
            yield pytest.param(spec, case, id=f"{spec.name}-{i}")


@pytest.mark.parametrize("spec,case", list(_error_cases()))
def test_errors(spec, case):
    args = [gpugrad.tensor(a) if isinstance(a, np.ndarray) else a for a in case.args]
    with pytest.raises(case.exc, match=case.match):
        spec.op(gpugrad, *args, **case.kwargs)
    # State stays usable: the same op on valid input still works afterwards.
    assert (gpugrad.ones(2) + 1).tolist() == [2.0, 2.0]

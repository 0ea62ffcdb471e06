"""bfloat16 through every op of the registry, against PyTorch's bfloat16 on the CPU.

The samples are rounded to bfloat16 once and handed to both libraries; values and gradients are
compared in float64 with tolerances for an 8-bit mantissa (PyTorch's own for bfloat16: rtol
1.6e-2) plus an absolute term for the results that cancel. The dtype of every output and
gradient must be PyTorch's. Where PyTorch's CPU build has no bfloat16 kernel for an op (pdist,
the margin losses, 3-d pooling: its CUDA build has them), the reference is PyTorch in float32 on
the same rounded values, and gpugrad's results must still be bfloat16.
"""

from __future__ import annotations

import re

import numpy as np
import opinfo.specs
import pytest
import torch
from opinfo import REGISTRY

import gpugrad

RTOL, ATOL = 1.6e-2, 2e-2


def _cases():
    for spec in REGISTRY:
        if "float32" not in spec.dtypes:
            continue
        samples = spec.samples(np.random.default_rng(0))
        for i, sample in enumerate(samples[:3]):
            yield pytest.param(spec, sample, id=f"{spec.name}-{i}")


def _args(sample, differentiable, dtype=torch.bfloat16):
    g_args, t_args, grad_idx = [], [], []
    for i, a in enumerate(sample.args):
        if not isinstance(a, np.ndarray):
            g_args.append(a)
            t_args.append(a)
            continue
        if a.dtype.kind != "f":
            g_args.append(gpugrad.from_numpy(a.copy()))
            t_args.append(torch.from_numpy(a.copy()))
            continue
        # (rounded to bfloat16 first: a float32 reference sees the same values)
        t = torch.from_numpy(a.astype(np.float32)).to(torch.bfloat16).to(dtype)
        g = gpugrad.from_numpy(t.float().numpy()).to(gpugrad.bfloat16)
        if differentiable and (sample.grad_args is None or i in sample.grad_args):
            t.requires_grad_()
            g.requires_grad_()
            grad_idx.append(i)
        g_args.append(g)
        t_args.append(t)
    return g_args, t_args, grad_idx


def _host(x):
    """A float64 NumPy copy of a torch or gpugrad tensor (the two spell this the same)."""
    x = x.detach()
    return (x.float() if x.is_floating_point() else x).numpy().astype(np.float64)


def _outputs(spec, out):
    outs = spec.outputs(out) if spec.outputs else out
    return outs if isinstance(outs, (tuple, list)) else (outs,)


def _torch_dtype_name(t, float32_reference: bool) -> str:
    name = str(t.dtype).removeprefix("torch.")
    return "bfloat16" if float32_reference and name == "float32" else name


# Ops that PyTorch has no bfloat16 kernel for on any device: gpugrad refuses them too.
NO_BFLOAT16 = {"nn.ctc_loss", "linalg.householder_product", "orgqr", "geqrf"}
# Ops whose PyTorch CPU bfloat16 kernel is not a reference: its matrix_exp overflows to inf on
# inputs of norm ~3 (its Taylor terms are computed in bfloat16). gpugrad computes them in
# float32 and rounds once; they are held to PyTorch's float32 result of the same rounded inputs.
FLOAT32_REFERENCE = {"linalg.matrix_exp", "matrix_exp"}
# Ops that PyTorch refuses in bfloat16 with another error (a spec module may list its own as
# ``BFLOAT16_REFUSED``: name -> (exception, message)); gpugrad refuses them the same way.
BFLOAT16_REFUSED = {}
for _module in vars(opinfo.specs).values():
    BFLOAT16_REFUSED.update(getattr(_module, "BFLOAT16_REFUSED", {}))
# Results that bfloat16 cannot carry to these tolerances, so that two libraries agree only
# where they round alike: PyTorch's grid_sample computes its sample positions in bfloat16 (an
# ulp of a position moves the sample, and nearest mode may pick the next pixel; gpugrad's
# computes them in float32), and the grid's gradient sums differences of neighbouring pixels
# over the channels. gpugrad's result must be no further from the float64 result of the same
# rounded inputs than twice PyTorch's distance (name -> "out" and the args whose gradients are
# held to this).
# cdist's matmul form |a|^2 + |b|^2 - 2 a.b cancels: PyTorch rounds each term to bfloat16,
# gpugrad computes it in float32 and rounds the result.
ROUNDING_BOUND = dict.fromkeys(["nn.grid_sample_bilinear", "nn.grid_sample_bicubic",
                                 "nn.grid_sample_nearest", "cdist_mm"], {"out", 0, 1})
# sinc's gradient (cos(pi x) pi x - sin(pi x)) / (pi x^2) cancels: PyTorch's, in bfloat16, is
# ten times further from the float64 gradient than gpugrad's (computed in float32).
ROUNDING_BOUND.update(dict.fromkeys(["sinc", "special.sinc"], {0}))


def _no_further(ours, theirs, exact, what: str) -> None:
    if exact.size == 0:  # zero-size samples: nothing to round
        assert ours.shape == theirs.shape, what
        return
    bound = 2 * np.abs(theirs - exact).max() + ATOL
    assert np.abs(ours - exact).max() <= bound, what


def _float64_out(spec, sample, t_args):
    args = [a.detach().double() if isinstance(a, torch.Tensor) and a.is_floating_point()
            else a for a in t_args]
    return [o.detach().numpy() for o in _outputs(spec, spec.op(torch, *args, **sample.kwargs))]


def _float64_grad(spec, sample, t_args, ups, i):
    """The float64 gradient of arg ``i`` at the bfloat16-rounded arguments ``t_args``."""
    args = [a.detach().double().requires_grad_(j == i) if isinstance(a, torch.Tensor)
            and a.is_floating_point() else a for j, a in enumerate(t_args)]
    outs = _outputs(spec, spec.op(torch, *args, **sample.kwargs))
    diff = [o for o in outs if o.requires_grad]
    torch.autograd.backward(diff, [u.double() for u in ups])
    return args[i].grad.numpy()


def _torch_refusal(spec, sample, t_args):
    """The start of PyTorch's message (an escaped pattern) where it rejects bfloat16 with a
    RuntimeError that is not a missing kernel (``Low precision dtypes not supported``)."""
    try:
        spec.op(torch, *t_args, **sample.kwargs)
    except NotImplementedError:
        return None
    except RuntimeError as e:
        return re.escape(str(e).split(". ")[0].split("(")[0][:40])
    return None


@pytest.mark.parametrize("spec,sample", list(_cases()))
def test_bfloat16_values_and_grads_match_torch(spec, sample):
    g_args, t_args, grad_idx = _args(sample, spec.differentiable)
    if spec.name in NO_BFLOAT16:
        for m, args in ((gpugrad, g_args), (torch, t_args)):
            with pytest.raises(NotImplementedError, match="not implemented for 'BFloat16'"):
                spec.op(m, *args, **sample.kwargs)
        return
    if spec.name in BFLOAT16_REFUSED:
        exc, match = BFLOAT16_REFUSED[spec.name]
        for m, args in ((gpugrad, g_args), (torch, t_args)):
            with pytest.raises(exc, match=match):
                spec.op(m, *args, **sample.kwargs)
        return
    refusal = _torch_refusal(spec, sample, t_args)
    if refusal is not None:  # PyTorch refuses bfloat16 itself (linalg.inv): so must gpugrad
        with pytest.raises(RuntimeError, match=refusal):
            spec.op(gpugrad, *g_args, **sample.kwargs)
        return
    g_out = _outputs(spec, spec.op(gpugrad, *g_args, **sample.kwargs))
    float32_reference = False
    try:
        if spec.name in FLOAT32_REFERENCE:
            raise NotImplementedError("not implemented for 'BFloat16'")
        t_out = _outputs(spec, spec.op(torch, *t_args, **sample.kwargs))
    except NotImplementedError as e:  # no bfloat16 kernel in PyTorch's CPU build
        assert "not implemented for 'BFloat16'" in str(e)
        float32_reference = True
        _, t_args, _ = _args(sample, spec.differentiable, torch.float32)
        t_out = _outputs(spec, spec.op(torch, *t_args, **sample.kwargs))
    bound = ROUNDING_BOUND.get(spec.name, ())
    exact_outs = _float64_out(spec, sample, t_args) if "out" in bound else None
    for k, (go, to) in enumerate(zip(g_out, t_out)):
        assert go.dtype.name == _torch_dtype_name(to, float32_reference), (go.dtype, to.dtype)
        if exact_outs is not None:
            _no_further(_host(go), _host(to), exact_outs[k], f"output {k}")
            continue
        np.testing.assert_allclose(_host(go), _host(to), rtol=RTOL, atol=ATOL, equal_nan=True)
    diff = [(go, to) for go, to in zip(g_out, t_out) if to.requires_grad]
    if not grad_idx or not diff:
        return
    rng = np.random.default_rng(1)
    ups = [torch.from_numpy(rng.standard_normal(tuple(to.shape)).astype(np.float32))
           .to(to.dtype) for _, to in diff]
    gpugrad.autograd.backward([g for g, _ in diff],
                              [gpugrad.from_numpy(u.float().numpy()).to(g.dtype)
                               for u, (g, _) in zip(ups, diff)])
    try:
        torch.autograd.backward([t for _, t in diff], ups)
    except NotImplementedError as e:  # a backward without a bfloat16 CPU kernel
        assert "not implemented for 'BFloat16'" in str(e)
        _, t_args, _ = _args(sample, spec.differentiable, torch.float32)
        t_out = _outputs(spec, spec.op(torch, *t_args, **sample.kwargs))
        diff = [(go, to) for go, to in zip(g_out, t_out) if to.requires_grad]
        torch.autograd.backward([t for _, t in diff], [u.float() for u in ups])
    for i in grad_idx:
        gg, tg = g_args[i].grad, t_args[i].grad
        if tg is None:
            continue
        assert gg is not None and gg.dtype is gpugrad.bfloat16, f"grad of arg {i}"
        if i in bound:
            exact = _float64_grad(spec, sample, t_args, ups, i)
            _no_further(_host(gg), _host(tg), exact, f"grad of arg {i}")
            continue
        np.testing.assert_allclose(_host(gg), _host(tg), rtol=RTOL, atol=ATOL, equal_nan=True,
                                   err_msg=f"grad of arg {i}")

"""A module of gpugrad against the same module of PyTorch: parameters copied over, the same
inputs, outputs and every gradient compared."""

from __future__ import annotations

import numpy as np
import torch

import gpugrad


def module_pair(name: str, *args, **kwargs):
    """``gpugrad.nn.<name>(*args, **kwargs)`` and torch's, in float64, with torch's parameters
    and buffers; their reprs must agree."""
    theirs = getattr(torch.nn, name)(*args, **kwargs).double()
    ours = getattr(gpugrad.nn, name)(*args, **kwargs).double()
    ours.load_state_dict({k: gpugrad.tensor(v.detach().numpy())
                          for k, v in theirs.state_dict().items()})
    assert repr(ours) == repr(theirs)
    return ours, theirs


def assert_same_run(ours, theirs, inputs, grad_inputs=None, atol=1e-10):
    """Run both modules on ``inputs`` (NumPy arrays, or other values passed as they are) and
    compare the output, the gradient of each float input (or those in ``grad_inputs``) and of
    each parameter, for a random upstream gradient."""
    g_args, t_args = [], []
    for i, a in enumerate(inputs):
        if isinstance(a, np.ndarray):
            wants = a.dtype.kind == "f" and (grad_inputs is None or i in grad_inputs)
            g_args.append(gpugrad.tensor(a, requires_grad=wants))
            t_args.append(torch.tensor(a, requires_grad=wants))
        else:
            g_args.append(a)
            t_args.append(a)
    g_out, t_out = ours(*g_args), theirs(*t_args)
    assert tuple(g_out.shape) == tuple(t_out.shape)
    np.testing.assert_allclose(g_out.detach().numpy(), t_out.detach().numpy(), atol=atol)
    up = np.random.default_rng(1).standard_normal(tuple(t_out.shape))
    g_out.backward(gpugrad.tensor(up))
    t_out.backward(torch.tensor(up))
    for g, t in zip(g_args, t_args):
        if isinstance(t, torch.Tensor) and t.requires_grad:
            np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), atol=atol)
    for (n, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), atol=atol, err_msg=n)
    return g_out, t_out

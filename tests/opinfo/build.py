"""Turn registry samples into gpugrad and torch arguments, in a dtype and a memory layout."""

from __future__ import annotations

import numpy as np
import torch

import gpugrad

POISON_FLOAT = np.nan
POISON_INT = 10**6


def strided_copy(values: np.ndarray) -> np.ndarray:
    """A non-contiguous view holding ``values``, whose gaps hold poison (NaN or 10**6)."""
    if values.ndim == 0 or values.size == 0:
        return values.copy()
    poison = POISON_FLOAT if values.dtype.kind == "f" else POISON_INT
    if values.dtype.kind == "b":
        poison = True
    big = np.full(values.shape[:-1] + (values.shape[-1] * 2,), poison, dtype=values.dtype)
    view = big[..., ::2]
    view[...] = values
    assert not view.flags.c_contiguous or view.size <= 1
    return view


def build_args(sample, dtype: str, layout: str, grad: bool):
    """(gpugrad args, torch args, indices that require grad, host copies for mutation checks)."""
    np_dtype = np.dtype(dtype)
    g_args, t_args, grad_idx, host = [], [], [], []
    wanted = sample.grad_args
    for i, a in enumerate(sample.args):
        if isinstance(a, np.ndarray):
            arr = a.astype(np_dtype) if a.dtype.kind == "f" else a
            held = strided_copy(arr) if layout == "strided" else arr.copy()
            needs = grad and arr.dtype.kind == "f" and (wanted is None or i in wanted)
            g = gpugrad.from_numpy(held)
            t = torch.from_numpy(np.array(arr, copy=True, order="C"))
            if needs:
                g.requires_grad_()
                t.requires_grad_()
                grad_idx.append(i)
            g_args.append(g)
            t_args.append(t)
            host.append((held, held.copy()))
        else:
            g_args.append(a)
            t_args.append(a)
    return g_args, t_args, grad_idx, host


def as_numpy(x):
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    if isinstance(x, gpugrad.Tensor):
        return np.asarray(x.detach().cpu().numpy())
    return np.asarray(x)

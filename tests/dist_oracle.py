"""Compare a gpugrad distribution with torch's on the same parameters and values: each
method's value and the gradients of a weighted sum of it with respect to the parameters (and
the value, for continuous distributions), in float64 and float32."""

from __future__ import annotations

import numpy as np
import torch

import gpugrad

TOL = {np.float64: dict(rtol=1e-9, atol=1e-10), np.float32: dict(rtol=2e-4, atol=2e-5)}


def _make(lib, arrays: dict, dtype, grad_keys):
    out = {}
    for k, a in arrays.items():
        if isinstance(a, (int, float)):
            out[k] = a
            continue
        a = np.asarray(a)
        a = a.astype(dtype) if a.dtype.kind == "f" else a
        t = (gpugrad.tensor(a) if lib == "g" else torch.tensor(a))
        if k in grad_keys and a.dtype.kind == "f":
            t.requires_grad_(True)
        out[k] = t
    return out


def _numpy(t):
    return t.detach().numpy() if isinstance(t, (torch.Tensor, gpugrad.Tensor)) else np.asarray(t)


def check(g_cls, t_cls, params: dict, value=None, methods=(), dtype=np.float64,
          value_grad=True, icdf_value=None, weights_seed=0):
    """Build both distributions from ``params`` (keyword arguments: arrays or numbers) and
    compare ``methods`` (names of methods taking the value, of methods without arguments, or
    of properties)."""
    for name in methods:
        tol = TOL[dtype]
        arrays = dict(params)
        grad_keys = set(params)
        if name in ("log_prob", "cdf"):
            arrays["value"] = value
            if value_grad:
                grad_keys.add("value")
        elif name == "icdf":
            arrays["value"] = icdf_value
            grad_keys.add("value")
        gp = _make("g", arrays, dtype, grad_keys)
        tp = _make("t", arrays, dtype, grad_keys)
        gv, tv = gp.pop("value", None), tp.pop("value", None)
        gd, td = g_cls(**gp), t_cls(**tp)
        if gv is not None:
            go, to = getattr(gd, name)(gv), getattr(td, name)(tv)
        else:
            go, to = getattr(gd, name), getattr(td, name)
            if callable(to):
                go, to = go(), to()
        assert tuple(go.shape) == tuple(to.shape), (name, go.shape, to.shape)
        assert str(go.dtype).split(".")[-1] == str(to.dtype).split(".")[-1], (name, go.dtype)
        if to.dtype == torch.float32:  # numbers as parameters give float32 in any case
            tol = TOL[np.float32]
        np.testing.assert_allclose(_numpy(go), _numpy(to), err_msg=name, equal_nan=True, **tol)
        if not to.requires_grad:
            continue
        w = np.random.default_rng(weights_seed).standard_normal(tuple(to.shape)).astype(dtype)
        finite = np.isfinite(_numpy(to))
        w = np.where(finite, w, 0).astype(dtype)
        gl = (go * gpugrad.tensor(w)).where(gpugrad.tensor(finite), 0.0).sum()
        tl = (to * torch.tensor(w)).where(torch.tensor(finite), 0.0).sum()
        tl.backward()
        gl.backward()
        for k in grad_keys:
            gk, tk = (gp.get(k), tp.get(k)) if k != "value" else (gv, tv)
            if not isinstance(tk, torch.Tensor) or not tk.requires_grad:
                continue
            if tk.grad is None:
                assert gk.grad is None or not np.any(_numpy(gk.grad)), (name, k)
                continue
            assert gk.grad is not None, (name, k)
            np.testing.assert_allclose(_numpy(gk.grad), _numpy(tk.grad), err_msg=f"{name} d{k}",
                                       equal_nan=True, **tol)


def check_kl(gp_cls, tp_cls, p_params: dict, gq_cls, tq_cls, q_params: dict,
             dtype=np.float64):
    """kl_divergence(p, q) and its gradients with respect to both sets of parameters."""
    tol = TOL[dtype]
    gpp = _make("g", p_params, dtype, set(p_params))
    tpp = _make("t", p_params, dtype, set(p_params))
    gqp = _make("g", q_params, dtype, set(q_params))
    tqp = _make("t", q_params, dtype, set(q_params))
    go = gpugrad.distributions.kl_divergence(gp_cls(**gpp), gq_cls(**gqp))
    to = torch.distributions.kl_divergence(tp_cls(**tpp), tq_cls(**tqp))
    assert tuple(go.shape) == tuple(to.shape)
    np.testing.assert_allclose(_numpy(go), _numpy(to), equal_nan=True, **tol)
    assert go.requires_grad == to.requires_grad
    if not to.requires_grad:  # an infinite divergence, for any parameters
        return
    finite = np.isfinite(_numpy(to))
    w = np.where(finite, np.random.default_rng(0).standard_normal(tuple(to.shape)), 0)
    w = w.astype(dtype)
    (go.where(gpugrad.tensor(finite), 0.0) * gpugrad.tensor(w)).sum().backward()
    (to.where(torch.tensor(finite), 0.0) * torch.tensor(w)).sum().backward()
    for g_params, t_params in ((gpp, tpp), (gqp, tqp)):
        for k, tk in t_params.items():
            if isinstance(tk, torch.Tensor) and tk.requires_grad and tk.grad is not None:
                np.testing.assert_allclose(_numpy(g_params[k].grad), _numpy(tk.grad),
                                           err_msg=f"d{k}", **tol)

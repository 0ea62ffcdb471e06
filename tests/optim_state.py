"""Helper of the optimizer tests: a gpugrad optimizer's state dict against torch's."""

from __future__ import annotations

import copy

import numpy as np
import torch

import gpugrad


def to_numpy(t):
    return t.detach().numpy() if isinstance(t, (torch.Tensor, gpugrad.Tensor)) else t


def state_dict_for(m, state_dict: dict) -> dict:
    """A copy of an optimizer's state dict whose tensors are module ``m``'s (gpugrad or torch),
    for loading one library's state into the other's optimizer."""
    out = copy.deepcopy(state_dict)
    out["state"] = {i: {k: m.tensor(to_numpy(v)) if isinstance(v, (torch.Tensor, gpugrad.Tensor))
                        else v for k, v in s.items()} for i, s in out["state"].items()}
    return out


def assert_state_equal(g_opt, t_opt, tol):
    """The same param groups, and each state entry of the same dtype, shape and values."""
    g_sd, t_sd = g_opt.state_dict(), t_opt.state_dict()
    assert g_sd["param_groups"] == t_sd["param_groups"]
    assert sorted(g_sd["state"]) == sorted(t_sd["state"])
    for i, t_state in t_sd["state"].items():
        g_state = g_sd["state"][i]
        assert list(g_state) == list(t_state)
        for key, value in t_state.items():
            assert str(g_state[key].dtype).split(".")[-1] == str(value.dtype).split(".")[-1], key
            assert tuple(g_state[key].shape) == tuple(value.shape), key
            np.testing.assert_allclose(to_numpy(g_state[key]), to_numpy(value), **tol,
                                       err_msg=f"state {i} {key}")


def step_side_by_side(ours: tuple, theirs: tuple, feed, grads, tol) -> None:
    """Step a gpugrad optimizer and torch's (``(params, optimizer)`` each) once per entry of
    ``grads``, ``feed(module, params, step_grads, step)`` setting the gradients before each
    step; after each, the parameters and the state must agree."""
    (g_params, g_opt), (t_params, t_opt) = ours, theirs
    for step, step_grads in enumerate(grads):
        feed(gpugrad, g_params, step_grads, step)
        feed(torch, t_params, step_grads, step)
        g_opt.step()
        t_opt.step()
        for i, (gp, tp) in enumerate(zip(g_params, t_params)):
            np.testing.assert_allclose(to_numpy(gp), to_numpy(tp), **tol,
                                       err_msg=f"step {step} param {i}")
        assert_state_equal(g_opt, t_opt, tol)

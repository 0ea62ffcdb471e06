"""PPO with a Gaussian policy (ppo_continuous.py), run with gpugrad and with PyTorch: both
learn to steer the point to its goal and gpugrad's returns land in a band around PyTorch's
(the random streams differ, so that compares learning, not bits); and from the same initial
weights, with the policy noise drawn from NumPy, a few float64 updates (rollouts, GAE, shuffled
minibatches, clipped losses, gradient clipping, annealed Adam) give PyTorch's numbers to
rounding."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import gpugrad

from ._compare import load

PPO = load("ppo_continuous")


def test_ppo_learns_like_torch():
    updates = 30
    ours, theirs = PPO.main(gpugrad, num_updates=updates), PPO.main(torch, num_updates=updates)
    for result in (ours, theirs):
        # a random policy loses about 30 per episode; a trained one well under half that
        assert result["late_return"] > result["early_return"] + 10, result
        assert result["late_return"] > 0.5 * result["early_return"], result
        # the learning rate was annealed linearly towards zero, by hand
        assert [h["lr"] for h in result["history"]] == pytest.approx(
            [3e-3 * (1 - u / updates) for u in range(updates)])
        for h in result["history"]:
            for key, value in h.items():
                assert np.all(np.isfinite(value)), (key, h)
        # no entropy bonus: the state-independent log-std moves little from 0
        assert 2.3 < result["entropy"] < 3.2, result
    assert abs(ours["late_return"] - theirs["late_return"]) <= (
        0.5 * abs(theirs["late_return"]) + 2.0), (ours, theirs)
    assert abs(ours["early_return"] - theirs["early_return"]) <= (
        0.25 * abs(theirs["early_return"]) + 2.0), (ours, theirs)


def test_same_start_is_torch_to_rounding_in_float64():
    """gpugrad's freshly initialized agent copied into PyTorch's, actions drawn as
    ``mean + std * eps`` with NumPy's ``eps``: four updates agree to float64 rounding."""
    gpugrad.manual_seed(3)
    state = PPO.build_agent(gpugrad).to(gpugrad.float64).state_dict()
    arrays = {k: v.detach().numpy().copy() for k, v in state.items()}
    kwargs = dict(num_updates=4, dtype="float64", numpy_noise=True, learning_rate=1e-2)
    ours = PPO.main(gpugrad, initial_state={k: gpugrad.tensor(v) for k, v in arrays.items()},
                    **kwargs)
    theirs = PPO.main(torch, initial_state={k: torch.from_numpy(v.copy())
                                            for k, v in arrays.items()}, **kwargs)
    assert len(ours["history"]) == len(theirs["history"]) == 4
    for update, (a, b) in enumerate(zip(ours["history"], theirs["history"])):
        assert a.keys() == b.keys()
        # which ratios fall outside the clip range is decided by comparisons: exactly equal
        assert a["clipfrac"] == b["clipfrac"], update
        for key in a:
            np.testing.assert_allclose(a[key], b[key], rtol=1e-9, atol=1e-12,
                                       err_msg=f"update {update}: {key}")
    # the checked path goes through both clips: some ratios clipped, some norms clipped
    assert any(h["clipfrac"] > 0.05 for h in theirs["history"])
    assert any(h["grad_norm"] > 0.5 for h in theirs["history"])
    np.testing.assert_allclose(ours["obs_mean"], theirs["obs_mean"], rtol=1e-12)
    assert ours["final_state"].keys() == theirs["final_state"].keys()
    for name, expected in theirs["final_state"].items():
        got = ours["final_state"][name]
        assert got.dtype == expected.dtype == np.float64, name
        # the weights moved, and moved the same way
        assert np.abs(expected - arrays[name]).max() > 1e-4, name
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("lib", [gpugrad, torch], ids=["gpugrad", "torch"])
def test_layer_init_is_orthogonal(lib):
    """``orthogonal_(weight, std)`` gives orthonormal rows or columns scaled by ``std`` and
    ``constant_(bias, 0)`` zeros; the log-std parameter starts at zero."""
    lib.manual_seed(0)
    agent = PPO.build_agent(lib)
    names = [name for name, _ in agent.named_parameters()]
    assert names == [name for name, _ in PPO.build_agent(torch).named_parameters()]
    stds = {"0": math.sqrt(2), "2": math.sqrt(2), "4": None}
    for head, last_std in (("critic", 1.0), ("actor_mean", 0.01)):
        for index, std in stds.items():
            std = last_std if std is None else std
            layer = getattr(agent, head)[int(index)]
            w = layer.weight.detach().numpy().astype(np.float64)
            gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
            np.testing.assert_allclose(gram, std ** 2 * np.eye(len(gram)), atol=1e-5 * std ** 2,
                                       err_msg=f"{head}.{index}")
            assert not layer.bias.detach().numpy().any(), f"{head}.{index}"
    assert agent.actor_logstd.requires_grad
    assert tuple(agent.actor_logstd.shape) == (1, PPO.ACT_DIM)
    assert not agent.actor_logstd.detach().numpy().any()

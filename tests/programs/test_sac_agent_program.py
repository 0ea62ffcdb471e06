"""Soft Actor-Critic (``sac_agent.py``), run with gpugrad and with PyTorch: both learn to move
the point to its goal and gpugrad's returns land in a band around PyTorch's (the random
streams differ, so that compares learning, not bits); and from the same weights, the same
minibatch and the same Gaussian noise, float64 updates give PyTorch's critic, actor and
temperature losses, gradients, Adam steps, ``log_alpha`` and Polyak-averaged target critics
to rounding, for each of the three ways of writing the Polyak update and both ways of
writing the tanh log-probability correction. Also: the target critics are frozen deep copies,
the checkpoint survives ``io.BytesIO``, and critics frozen after the actor loss is built (but
before ``backward``) get no gradient, as in PyTorch."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import gpugrad

from ._compare import load

SAC = load("sac_agent")
B = 16


def test_sac_learns_like_torch():
    ours, theirs = SAC.main(gpugrad), SAC.main(torch)
    for result in (ours, theirs):
        # random actions lose about 30 per episode; the trained policy well under half that
        assert result["final_eval"] > result["initial_eval"] + 12, result
        assert result["late_return"] > result["early_return"] + 8, result
        assert result["updates"] == 600 and result["episodes"] == 32, result
        # the temperature falls from 1 as the policy narrows
        assert result["alphas"][0] < 1.0 and result["alpha"] < 0.5, result
        assert all(np.isfinite(result["alphas"])), result
        for key, value in result["last"].items():
            assert np.isfinite(value), (key, result)
        assert result["restored_same_actions"] and result["restored_same_targets"], result
        assert result["restored_alpha"] == result["alpha"], result
        assert result["restored_adam_step"] == result["updates"], result
        assert result["targets_frozen"] and result["q_thawed"], result
        assert result["eval_action_range"] <= 1.0, result
    assert abs(ours["final_eval"] - theirs["final_eval"]) <= (
        0.5 * abs(theirs["final_eval"]) + 3.0), (ours, theirs)
    assert abs(ours["late_return"] - theirs["late_return"]) <= (
        0.5 * abs(theirs["late_return"]) + 3.0), (ours, theirs)


def twin_agents(polyak_mode: str = "data", stable: bool = False, hidden: int = 16):
    """The SAC agent built by gpugrad and by PyTorch in float64, PyTorch's networks loaded
    with gpugrad's weights (targets included)."""
    gpugrad.manual_seed(0)
    ours = SAC.SAC(gpugrad, hidden=hidden, polyak_mode=polyak_mode, stable_logprob=stable,
                   dtype=gpugrad.float64, lr=1e-2, alpha_lr=1e-2, polyak=0.9)
    torch.manual_seed(0)
    theirs = SAC.SAC(torch, hidden=hidden, polyak_mode=polyak_mode, stable_logprob=stable,
                     dtype=torch.float64, lr=1e-2, alpha_lr=1e-2, polyak=0.9)
    for name in ("actor", "q1", "q2", "q1_targ", "q2_targ"):
        state = getattr(ours, name).state_dict()
        assert list(state) == list(getattr(theirs, name).state_dict()), name
        getattr(theirs, name).load_state_dict(
            {k: torch.from_numpy(v.detach().numpy().copy()) for k, v in state.items()})
    return ours, theirs


def twin_batch(lib, seed: int = 0):
    """One minibatch and two draws of actor noise, NumPy-made, as ``lib`` float64 tensors."""
    rng = np.random.default_rng(seed)
    arrays = {"obs": rng.uniform(-1, 1, (B, SAC.OBS_DIM)),
              "obs2": rng.uniform(-1, 1, (B, SAC.OBS_DIM)),
              "act": rng.uniform(-1, 1, (B, SAC.ACT_DIM)),
              "rew": -rng.uniform(0, 2, (B, 1)),
              "done": (rng.uniform(0, 1, (B, 1)) < 0.25).astype(np.float64)}
    data = {k: lib.as_tensor(v, dtype=lib.float64) for k, v in arrays.items()}
    noise = lib.as_tensor(rng.standard_normal((B, SAC.ACT_DIM)), dtype=lib.float64)
    noise_pi = lib.as_tensor(rng.standard_normal((B, SAC.ACT_DIM)), dtype=lib.float64)
    return data, noise, noise_pi


def snapshot(agent: SAC.SAC) -> dict:
    """Every weight, gradient and Adam moment of the agent, and ``log_alpha``, in NumPy."""
    out = {}
    for name in ("actor", "q1", "q2", "q1_targ", "q2_targ"):
        for k, p in getattr(agent, name).named_parameters():
            out[f"{name}.{k}"] = p.detach().numpy().copy()
            if p.grad is not None:
                out[f"{name}.{k}.grad"] = p.grad.numpy().copy()
    out["log_alpha"] = agent.log_alpha.detach().numpy().copy()
    out["log_alpha.grad"] = agent.log_alpha.grad.numpy().copy()
    for opt_name in ("pi_optimizer", "q_optimizer", "alpha_optimizer"):
        opt = getattr(agent, opt_name)
        for i, p in enumerate(opt.param_groups[0]["params"]):
            state = opt.state[p]
            out[f"{opt_name}.{i}.step"] = float(state["step"])
            out[f"{opt_name}.{i}.exp_avg"] = state["exp_avg"].numpy().copy()
            out[f"{opt_name}.{i}.exp_avg_sq"] = state["exp_avg_sq"].numpy().copy()
    return out


@pytest.mark.parametrize("polyak_mode,stable", [("data", False), ("foreach", True),
                                                ("lerp", False)])
def test_same_start_same_updates_in_float64(polyak_mode, stable):
    """Three updates on the same minibatch and noise: losses, Q means, alpha, every gradient,
    the Adam moments, the weights and the Polyak-averaged targets agree to ~1e-10."""
    ours, theirs = twin_agents(polyak_mode, stable)
    start = {k: v.detach().numpy().copy() for k, v in theirs.q1_targ.state_dict().items()}
    infos = []
    for lib, agent in ((gpugrad, ours), (torch, theirs)):
        data, noise, noise_pi = twin_batch(lib)
        infos.append([agent.update(data, noise, noise_pi) for _ in range(3)])
    for step, (a, b) in enumerate(zip(*infos)):
        assert a.keys() == b.keys()
        for key in a:
            assert a[key] == pytest.approx(b[key], rel=1e-10, abs=1e-12), (step, key)
    mine, ref = snapshot(ours), snapshot(theirs)
    assert mine.keys() == ref.keys()
    for key, expected in ref.items():
        got = mine[key]
        scale = max(np.abs(expected).max(), 1e-300)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10 * scale, err_msg=key)
    # the targets moved towards the critics, and by Polyak's rule
    for key, w in start.items():
        assert np.abs(ref[f"q1_targ.{key}"] - w).max() > 1e-6, key
    # Adam's first step moves log_alpha by lr times the sign of its gradient
    first_alpha = infos[1][0]["alpha"]
    assert abs(np.log(first_alpha)) == pytest.approx(1e-2, rel=1e-6), first_alpha
    assert ours.log_alpha.requires_grad and ours.log_alpha.is_leaf


def test_polyak_rules_agree_with_each_other():
    """``data.mul_/add_``, ``_foreach_mul_/_foreach_add_`` and ``lerp_`` give the same
    targets, and those are ``polyak * target + (1 - polyak) * online``."""
    for lib in (gpugrad, torch):
        results = {}
        for mode in ("data", "foreach", "lerp"):
            lib.manual_seed(0)
            agent = SAC.SAC(lib, hidden=8, polyak_mode=mode, dtype=lib.float64, polyak=0.75)
            with lib.no_grad():
                for p in agent.q1.parameters():
                    p.add_(1.0)
            before = [p.detach().numpy().copy() for p in agent.q1_targ.parameters()]
            online = [p.detach().numpy().copy() for p in agent.q1.parameters()]
            agent.polyak_update()
            results[mode] = [p.detach().numpy().copy() for p in agent.q1_targ.parameters()]
            for got, b, o in zip(results[mode], before, online):
                np.testing.assert_allclose(got, 0.75 * b + 0.25 * o, rtol=1e-12,
                                           err_msg=f"{lib.__name__} {mode}")
            assert not any(p.requires_grad for p in agent.q1_targ.parameters())
            assert all(p.requires_grad for p in agent.q1.parameters())


@pytest.mark.parametrize("lib", [gpugrad, torch], ids=["gpugrad", "torch"])
def test_target_critics_are_frozen_deep_copies(lib):
    lib.manual_seed(0)
    agent = SAC.SAC(lib, hidden=8)
    for p, p_targ in zip(agent.q1.parameters(), agent.q1_targ.parameters()):
        assert p is not p_targ and lib.equal(p, p_targ)
        assert p.requires_grad and not p_targ.requires_grad and p_targ.is_leaf
    with lib.no_grad():
        agent.q1.fc1.weight.add_(1.0)
    assert not lib.equal(agent.q1.fc1.weight, agent.q1_targ.fc1.weight)
    # a target output carries no graph; the online critic's does
    obs, act = lib.zeros(3, SAC.OBS_DIM), lib.zeros(3, SAC.ACT_DIM)
    assert not agent.q1_targ(obs, act).requires_grad
    assert agent.q1(obs, act).requires_grad
    assert tuple(agent.q1(obs, act).shape) == (3, 1)
    # the critic optimizer got both critics' parameters through itertools.chain
    assert len(agent.q_optimizer.param_groups[0]["params"]) == 12


def test_squashed_log_prob_corrections_agree():
    """The two tanh corrections agree (up to the 1e-6 guard) and match PyTorch."""
    ours, theirs = twin_agents()
    rows = []
    for lib, agent in ((gpugrad, ours), (torch, theirs)):
        data, noise, _ = twin_batch(lib)
        row = {}
        for stable in (False, True):
            a, logp = agent.actor(data["obs"], stable=stable, noise=noise)
            assert tuple(logp.shape) == (B, 1) and tuple(a.shape) == (B, SAC.ACT_DIM)
            row[stable] = (a.detach().numpy(), logp.detach().numpy())
        a_det, none = agent.actor(data["obs"], deterministic=True, with_logprob=False)
        assert none is None
        np.testing.assert_allclose(a_det.detach().numpy(),
                                   agent.deterministic_action(data["obs"]).numpy(), rtol=1e-14)
        np.testing.assert_allclose(row[False][0], row[True][0], rtol=0, atol=0)
        np.testing.assert_allclose(row[False][1], row[True][1], rtol=0, atol=1e-3)
        rows.append(row)
    for stable in (False, True):
        np.testing.assert_allclose(rows[0][stable][1], rows[1][stable][1], rtol=1e-12)


def test_rsample_is_reparameterized_and_log_std_clamped():
    """``rsample`` carries gradients to the actor; a huge ``log_std`` is clamped to 2."""
    for lib in (gpugrad, torch):
        lib.manual_seed(0)
        actor = SAC.build_actor(lib, hidden=8)
        with lib.no_grad():
            actor.log_std_layer.bias.fill_(50.0)
        obs = lib.zeros(5, SAC.OBS_DIM)
        a, logp = actor(obs)
        (a.sum() + logp.sum()).backward()
        assert actor.mu_layer.weight.grad is not None
        # clamped: no gradient flows back into log_std's layer
        assert float(actor.log_std_layer.bias.grad.abs().max()) == 0.0, lib.__name__
        dist = lib.distributions.Normal(lib.zeros(2), lib.exp(lib.clamp(lib.full((2,), 50.0),
                                                                         -20, 2)))
        assert float(dist.scale[0]) == pytest.approx(np.exp(2.0))


def test_checkpoint_round_trip_through_bytesio():
    """``torch.save`` of networks, optimizers and ``log_alpha`` into ``io.BytesIO``, then
    ``torch.load`` into a fresh agent: same actions, same optimizer state, and a further
    update from either agent gives the same result."""
    import io

    for lib in (gpugrad, torch):
        lib.manual_seed(0)
        agent = SAC.SAC(lib, hidden=8, dtype=lib.float64)
        data, noise, noise_pi = twin_batch(lib)
        agent.update(data, noise, noise_pi)
        f = io.BytesIO()
        lib.save(agent.checkpoint(), f)
        f.seek(0)
        ckpt = lib.load(f)
        assert ckpt["log_alpha"].requires_grad, lib.__name__
        fresh = SAC.SAC(lib, hidden=8, dtype=lib.float64)
        fresh.restore(ckpt)
        clone = copy.deepcopy(agent.checkpoint()["pi_optimizer"])
        assert clone["param_groups"] == fresh.pi_optimizer.state_dict()["param_groups"]
        a, b = agent.update(data, noise, noise_pi), fresh.update(data, noise, noise_pi)
        for key in a:
            assert a[key] == pytest.approx(b[key], rel=1e-12, abs=1e-14), (lib.__name__, key)


@pytest.mark.parametrize("lib", [gpugrad, torch], ids=["gpugrad", "torch"])
def test_critics_frozen_between_actor_forward_and_backward_get_no_grad(lib):
    """A variant ordering seen in SAC code: the actor loss is built, then the critics are
    frozen, then ``backward``. PyTorch checks ``requires_grad`` when it accumulates, so the
    frozen critics get no ``.grad`` while the actor does."""
    ours, theirs = twin_agents()
    agent = ours if lib is gpugrad else theirs
    data, _, noise_pi = twin_batch(lib)
    agent.pi_optimizer.zero_grad()
    agent.q_optimizer.zero_grad()
    loss_pi, _ = agent.compute_loss_pi(data, noise_pi)
    for p in agent.q_params:
        p.requires_grad = False
    loss_pi.backward()
    for p in agent.q_params:
        p.requires_grad = True
    assert all(p.grad is not None for p in agent.actor.parameters())
    assert all(p.grad is None for p in agent.q_params), [
        None if p.grad is None else tuple(p.grad.shape) for p in agent.q_params]

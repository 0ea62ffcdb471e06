"""The WGAN-GP program (wgan_gp.py) run with gpugrad and with PyTorch: both must learn the eight
Gaussians, with gpugrad's run in a band around PyTorch's (the random streams differ, so the
comparison is of training, not of bits); and, for one fixed critic, the gradient penalty and its
double-backward gradients agree with PyTorch's to float32 rounding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

from ._compare import both, load

WGAN = load("wgan_gp")


def _trained(result: dict) -> None:
    """What every variant's run must show, whichever library ran it."""
    assert result["finite"] and result["sample_shape"] == (512, 2), result
    assert result["critic_grads_untouched"] and result["generator_grads"], result
    # the untrained generator sits near the origin, far from the ring
    assert result["mode_distance_before"] > 1.4 and result["energy_before"] > 1.0, result
    assert result["energy_late"] < 0.6 * result["energy_before"], result


def test_wgan_one_sided_penalty_trains_like_torch():
    """The one-sided penalty converges steadily in a few hundred steps: the samples reach the
    ring and nearly every mode, and gpugrad's figures sit close to PyTorch's."""
    ours, theirs = both(lambda m: WGAN.main(m, "one_sided", iters=100))
    for result in (ours, theirs):
        _trained(result)
        assert result["energy_late"] < 0.15 and result["modes_covered_after"] >= 6, result
        assert result["mode_distance_after"] < 0.5 * result["mode_distance_before"], result
        assert abs(result["radius_after"] - WGAN.RADIUS) < 0.4, result
        assert result["gp_last"] < 0.1 and result["w_first"] > result["w_last"] > 0, result
    assert abs(ours["energy_late"] - theirs["energy_late"]) < 0.05, (ours, theirs)
    assert abs(ours["mode_distance_after"] - theirs["mode_distance_after"]) < 0.2, (ours, theirs)
    assert abs(ours["w_first"] - theirs["w_first"]) < 0.3, (ours, theirs)
    assert abs(ours["w_last"] - theirs["w_last"]) < 0.15, (ours, theirs)


def test_wgan_spectral_norm_critic():
    """``nn.utils.spectral_norm`` on the critic's layers: its state_dict names match PyTorch's,
    the weights the forward used have unit spectral norm, and training goes as PyTorch's."""
    ours, theirs = both(lambda m: WGAN.main(m, "spectral_norm", iters=60))
    assert ours["critic_state"] == theirs["critic_state"]
    assert "main.0.weight_orig" in ours["critic_state"]
    for result in (ours, theirs):
        _trained(result)
        assert result["energy_late"] < 0.45 and result["gp_last"] < 0.05, result
        assert result["mode_distance_after"] < 0.75 * result["mode_distance_before"], result
        assert 0 < result["w_last"] and 0.2 < result["w_first"] < 0.7, result
        np.testing.assert_allclose(result["critic_sigmas"], 1.0, atol=0.1)
    assert abs(ours["energy_late"] - theirs["energy_late"]) < 0.2, (ours, theirs)
    assert abs(ours["w_first"] - theirs["w_first"]) < 0.15, (ours, theirs)


@pytest.mark.parametrize("spectral", [None, "hook", "parametrization"])
def test_gradient_penalty_double_backward_matches_torch(spectral):
    """One critic, gpugrad's initial weights copied into PyTorch's, the same real, fake and
    alpha: the penalty, the input gradients it is built on and the penalty's gradients with
    respect to every parameter (second order, through ``create_graph=True``) agree."""
    gpugrad.manual_seed(3)
    netD = WGAN.build_critic(gpugrad, spectral=spectral)
    twin = WGAN.build_critic(torch, spectral=spectral)
    twin.load_state_dict({k: torch.tensor(v.numpy()) for k, v in netD.state_dict().items()})
    rng = np.random.default_rng(7)
    real = WGAN.eight_gaussians(32, rng)
    fake = (0.3 * rng.standard_normal((32, 2))).astype(np.float32)
    alpha = rng.random((32, 1)).astype(np.float32)
    ours = WGAN.penalty_and_grads(gpugrad, netD, *map(gpugrad.from_numpy, (real, fake, alpha)))
    theirs = WGAN.penalty_and_grads(torch, twin, *map(torch.from_numpy, (real, fake, alpha)))
    assert ours[0] == pytest.approx(theirs[0], rel=1e-5)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-5, atol=1e-6)
    for name in ours[2].keys() & theirs[2].keys():
        np.testing.assert_allclose(ours[2][name], theirs[2][name], rtol=1e-5, atol=2e-6,
                                   err_msg=name)
    if spectral:  # the power iteration moved both critics' vectors alike
        for k, v in twin.state_dict().items():
            np.testing.assert_allclose(netD.state_dict()[k].numpy(), v.numpy(), rtol=1e-5,
                                       atol=1e-6, err_msg=k)
    # The hidden biases reach the penalty only through LeakyReLU's backward, whose slope does
    # not depend on them: PyTorch's graph still holds them, and their .grad is a tensor of
    # zeros; only the last bias, not in the graph of the input gradients at all, stays None.
    assert sorted(theirs[2]) == sorted(n for n, _ in twin.named_parameters()
                                       if n != "main.4.bias")
    assert sorted(ours[2]) == sorted(theirs[2])
    for name in ("main.0.bias", "main.2.bias"):
        assert not theirs[2][name].any()

"""Programs that use ``distributions`` on their first lines (policy gradients, a VAE), run
with gpugrad and with PyTorch: both must learn, and gpugrad must land in a band around
PyTorch (the random streams differ, so this compares learning, not bits)."""

from __future__ import annotations

import pytest
import torch

import gpugrad

from ._compare import load


@pytest.mark.parametrize("kind", ["reinforce", "squashed_gaussian"])
def test_policy_gradient(kind):
    run = getattr(load("policy_gradient"), kind)
    ours, theirs = run(gpugrad), run(torch)
    for result in (ours, theirs):
        assert result["last"] > result["first"] + 0.2, result
    assert abs(ours["last"] - theirs["last"]) < 0.15, (ours, theirs)


def test_vae():
    vae = load("vae")
    ours, theirs = vae.main(gpugrad), vae.main(torch)
    for result in (ours, theirs):
        assert result["final_loss"] < 0.7 * result["initial_loss"], result
    assert abs(ours["final_loss"] - theirs["final_loss"]) < 0.15 * theirs["final_loss"] + 0.3, (
        ours, theirs)

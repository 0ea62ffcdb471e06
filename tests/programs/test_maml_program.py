"""MAML on sine waves (maml_sine.py), run with gpugrad and with PyTorch: both meta-learn an
initialization that one gradient step adapts to a new wave, gpugrad's numbers land in a band
around PyTorch's (the random streams differ), and from the same weights and tasks one
second-order meta-gradient (backward through ``autograd.grad(create_graph=True)``) is
PyTorch's to rounding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

from ._compare import both, load

MAML = load("maml_sine")


@pytest.mark.parametrize("variant", ["second_order", "first_order"])
def test_maml_sine_meta_learns_like_torch(variant):
    ours, theirs = both(lambda m: MAML.main(m, variant))
    for result in (ours, theirs):
        assert result["grads_set"], result
        # meta-training makes one adaptation step worth more: the adapted loss falls...
        assert result["final_post"] < 0.8 * result["initial_post"], result
        # ...and ends clearly below the unadapted loss of the meta-trained model
        assert result["final_post"] < 0.93 * result["final_pre"], result
        assert result["last_meta_loss"] < 0.85 * result["first_meta_loss"], result
    # the initial weights are each library's own random draws: convergence is compared by
    # band only (test_same_start_trains_as_torch compares from the same weights)
    assert ours["initial_post"] == pytest.approx(theirs["initial_post"], rel=0.3)
    for key in ("final_post", "final_pre", "last_meta_loss"):
        assert abs(ours[key] - theirs[key]) <= 0.4 * theirs[key] + 0.05, (key, ours, theirs)


@pytest.mark.parametrize("variant", MAML.VARIANTS)
def test_same_start_trains_as_torch(variant):
    """From gpugrad's initial weights copied into PyTorch's model, with the same tasks, 40
    meta-steps of Adam land on the same losses to float32 rounding."""
    ours_model, _ = _same_models("float32")
    state = ours_model.state_dict()
    ours = MAML.main(gpugrad, variant, meta_steps=40, initial_state=state)
    theirs = MAML.main(torch, variant, meta_steps=40, initial_state={
        k: torch.from_numpy(v.numpy().copy()) for k, v in state.items()})
    for key in ("initial_pre", "initial_post", "final_pre", "final_post", "first_meta_loss",
                "last_meta_loss"):
        assert ours[key] == pytest.approx(theirs[key], rel=1e-4), key


def test_functional_call_variant_is_the_manual_one():
    """``torch.func.functional_call`` with the adapted dict runs the same operations as the
    hand-written ``F.linear`` forward, in each library."""
    for lib in (gpugrad, torch):
        manual = MAML.main(lib, "second_order", meta_steps=20)
        functional = MAML.main(lib, "functional_call", meta_steps=20)
        for key in ("final_pre", "final_post", "last_meta_loss"):
            assert functional[key] == pytest.approx(manual[key], rel=1e-5), (lib, key)


def _same_models(dtype):
    """gpugrad's freshly initialized model, and PyTorch's with its weights (via NumPy)."""
    gpugrad.manual_seed(0)
    ours = MAML.build_model(gpugrad).to(getattr(gpugrad, dtype))
    theirs = MAML.build_model(torch).to(getattr(torch, dtype))
    theirs.load_state_dict({k: torch.from_numpy(v.detach().numpy().copy())
                            for k, v in ours.state_dict().items()})
    return ours, theirs


@pytest.mark.parametrize("variant", MAML.VARIANTS)
@pytest.mark.parametrize("dtype, rtol", [("float32", 2e-5), ("float64", 1e-11)])
def test_one_meta_gradient_matches_torch(variant, dtype, rtol):
    """Same initial weights, same four tasks, two inner steps: the meta-loss and every
    parameter's ``.grad`` after ``meta_loss.backward()`` agree with PyTorch's."""
    ours_model, theirs_model = _same_models(dtype)
    tasks = MAML.sample_tasks(np.random.default_rng(7), 4, dtype=np.dtype(dtype))
    # a larger inner step than training's, so the second-order terms matter
    ours_loss, ours = MAML.meta_gradients(gpugrad, ours_model, tasks, variant, inner_lr=0.05)
    theirs_loss, theirs = MAML.meta_gradients(torch, theirs_model, tasks, variant,
                                              inner_lr=0.05)
    assert ours_loss == pytest.approx(theirs_loss, rel=rtol)
    assert ours.keys() == theirs.keys()
    for name in theirs:
        assert str(ours[name].dtype)[-7:] == str(theirs[name].dtype)[-7:] == dtype, name
        expected = theirs[name].numpy()
        scale = np.abs(expected).max()
        np.testing.assert_allclose(ours[name].numpy(), expected, rtol=rtol,
                                   atol=rtol * scale, err_msg=name)


def test_second_order_terms_are_there():
    """The second-order meta-gradient differs from the first-order one (PyTorch's too), so
    the exact check above would see dropped second-order terms."""
    for lib in (gpugrad, torch):
        model = _same_models("float64")[0 if lib is gpugrad else 1]
        tasks = MAML.sample_tasks(np.random.default_rng(7), 4, dtype=np.float64)
        _, second = MAML.meta_gradients(lib, model, tasks, "second_order", inner_lr=0.05)
        second = {k: v.numpy().copy() for k, v in second.items()}
        _, first = MAML.meta_gradients(lib, model, tasks, "first_order", inner_lr=0.05)
        difference = max(np.abs(second[k] - first[k].numpy()).max() for k in second)
        assert difference > 1e-4, lib

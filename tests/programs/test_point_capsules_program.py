"""The PointNet and the capsule network of ``point_capsules.py``, run with gpugrad and with
PyTorch: both libraries train both models well above chance, gpugrad's losses landing in a band
around PyTorch's (the random streams differ, so convergence is compared, not bits); and from
PyTorch's initial weights in float64, over the same batches, the two libraries take the same
training steps (losses, BatchNorm running statistics, every weight) and compute the same
eval-mode outputs (the T-Nets' transforms, the routed capsules, the masked reconstruction)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

from ._compare import both, load

PROGRAM = load("point_capsules")


def test_both_models_learn_like_torch():
    """Eight PointNet epochs and six CapsNet epochs in each library: both well above chance,
    gpugrad's final losses and accuracies near PyTorch's (seeds 0-3 measured in both)."""
    ours, theirs = both(lambda m: PROGRAM.main(m))
    for result in (ours, theirs):
        # PointNet: four surfaces, chance is 1/4
        assert result["pointnet_final_loss"] < 0.5 * result["pointnet_initial_loss"], result
        assert result["pointnet_accuracy"] >= 0.75, result
        assert result["pointnet_lr"] == pytest.approx(2e-3 * 0.5 ** 2)  # StepLR at 3 and 6
        # CapsNet: five glyphs, chance is 1/5
        assert result["capsnet_final_loss"] < 0.3 * result["capsnet_initial_loss"], result
        assert result["capsnet_accuracy"] >= 0.9, result
        assert result["capsnet_train_accuracy"] >= 0.9, result
        assert result["capsnet_recon"] < 0.6 * result["capsnet_initial_recon"], result
        assert result["capsnet_lr"] == pytest.approx(3e-3 * 0.8 ** 6)
    for key, rel in (("pointnet_final_loss", 0.6), ("capsnet_final_loss", 0.6)):
        assert abs(ours[key] - theirs[key]) <= rel * theirs[key] + 0.05, (key, ours, theirs)
    assert ours["pointnet_accuracy"] >= theirs["pointnet_accuracy"] - 0.15, (ours, theirs)
    assert ours["capsnet_accuracy"] >= theirs["capsnet_accuracy"] - 0.1, (ours, theirs)


def _torch_start(build, **options):
    """PyTorch's freshly initialised float64 weights (buffers included), as a PyTorch
    state_dict and as one of gpugrad tensors."""
    torch.manual_seed(0)
    state = build(torch, **options).double().state_dict()
    ours = {k: gpugrad.from_numpy(v.detach().numpy().copy()) for k, v in state.items()}
    return ours, state


def _cancelled_by_batchnorm(name: str) -> bool:
    """A PointNet bias whose shift a later train-mode BatchNorm takes out again: those added
    just before a BatchNorm, and the ``bn3`` biases of the input T-Net and of the encoder
    (their per-channel shift passes the max pooling unchanged and reaches ``fc1``, followed by
    a BatchNorm). Their exact gradient is zero, so each library's is rounding noise (~1e-15),
    which Adam divides by eps (1e-8) into steps of ~1e-10 in no shared direction."""
    *_, layer, kind = name.split(".")
    return kind == "bias" and (layer in ("conv1", "conv2", "conv3", "fc1", "fc2")
                               or name in ("feat.stn.bn3.bias", "feat.bn3.bias"))


def _assert_same_run(ours, theirs, start, rtol=1e-9, batchnorm=False):
    assert len(ours["losses"]) == len(theirs["losses"]) > 1
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=rtol)
    assert ours["losses"][-1] < ours["losses"][0]
    assert list(ours["state"]) == list(theirs["state"])
    for name, expected in theirs["state"].items():
        got = ours["state"][name]
        assert got.dtype == expected.dtype and got.shape == expected.shape, name
        if batchnorm and _cancelled_by_batchnorm(name):
            for run in (got, expected):
                np.testing.assert_allclose(run, start[name].numpy(), rtol=0, atol=1e-7,
                                           err_msg=name)
        elif batchnorm and name.endswith("running_mean"):
            # each BatchNorm's input carries one of those biases, and its running mean follows
            # the bias's noise (measured: up to ~2e-9)
            np.testing.assert_allclose(got, expected, rtol=0, atol=1e-7, err_msg=name)
        elif expected.dtype.kind == "f":
            assert np.abs(expected - start[name].numpy()).max() > 0, name  # it moved
            # an absolute floor of rtol: some of the T-Net's BatchNorm biases are mostly
            # cancelled too (all but the channels that ReLU zeroes for some cloud) and sit at
            # ~1e-11, noise included
            np.testing.assert_allclose(got, expected, rtol=rtol,
                                       atol=rtol * max(np.abs(expected).max(), 1.0),
                                       err_msg=name)
        else:  # BatchNorm's num_batches_tracked
            np.testing.assert_array_equal(got, expected, err_msg=name)
    assert ours["lr"] == theirs["lr"]


def test_pointnet_same_start_same_steps():
    """No dropout, no shuffling, float64: eight Adam steps over three epochs (StepLR halving
    the rate after the third) with train-mode BatchNorm; the losses, the running statistics and
    the weights agree to ~1e-9 (the biases that BatchNorm cancels barely move in either), and
    so do the eval-mode accuracies before and after."""
    ours_state, theirs_state = _torch_start(PROGRAM.build_pointnet, dropout=0.0)
    settings = dict(epochs=3, dtype="float64", dropout=0.0, shuffle=False, max_steps=8,
                    train_size=96, test_size=64)
    ours = PROGRAM.train_pointnet(gpugrad, initial_state=ours_state, **settings)
    theirs = PROGRAM.train_pointnet(torch, initial_state=theirs_state, **settings)
    assert ours["initial_accuracy"] == theirs["initial_accuracy"]
    assert ours["accuracy"] == theirs["accuracy"]
    _assert_same_run(ours, theirs, theirs_state, batchnorm=True)


def test_pointnet_eval_outputs_match_torch():
    """Eval mode (running statistics, dropout off) from the same weights: the log-probabilities,
    both T-Nets' transforms, the regulariser and the loss's gradients agree."""
    ours_state, theirs_state = _torch_start(PROGRAM.build_pointnet)
    points, labels = PROGRAM.point_clouds(12, seed=7)
    runs = []
    for lib, state in ((gpugrad, ours_state), (torch, theirs_state)):
        model = PROGRAM.build_pointnet(lib).double()
        model.load_state_dict(state)
        model.eval()
        x = lib.from_numpy(points.astype(np.float64))
        pred, trans, trans_feat = model(x.transpose(2, 1))
        loss, _ = PROGRAM.pointnet_loss(lib, model, x, lib.from_numpy(labels))
        loss.backward()
        runs.append({"pred": pred.detach().numpy(), "trans": trans.detach().numpy(),
                     "trans_feat": trans_feat.detach().numpy(), "loss": loss.item(),
                     "reg": PROGRAM.feature_transform_regularizer(lib, trans_feat).item(),
                     **{n: p.grad.numpy() for n, p in model.named_parameters()}})
    ours, theirs = runs
    assert ours["trans"].shape == (12, 3, 3)
    assert ours["trans_feat"].shape == (12, PROGRAM.FEATURE_K, PROGRAM.FEATURE_K)
    assert theirs["reg"] > 0
    for key, expected in theirs.items():
        scale = np.abs(expected).max()
        np.testing.assert_allclose(ours[key], expected, rtol=0, atol=1e-10 * scale,
                                   err_msg=key)


def test_capsnet_same_start_same_steps():
    """Float64, no shuffling: six Adam steps over two epochs (ExponentialLR after the first)
    through dynamic routing, the margin loss and the masked reconstruction; before and after,
    the test accuracy and reconstruction error from the predicted-class mask (``scatter_``)."""
    ours_state, theirs_state = _torch_start(PROGRAM.build_capsnet)
    settings = dict(epochs=2, dtype="float64", shuffle=False, max_steps=6, train_size=160,
                    test_size=40, batch_size=32)
    ours = PROGRAM.train_capsnet(gpugrad, initial_state=ours_state, **settings)
    theirs = PROGRAM.train_capsnet(torch, initial_state=theirs_state, **settings)
    for key in ("initial_accuracy", "accuracy"):
        assert ours[key] == theirs[key], key
    for key in ("initial_recon", "recon"):
        assert ours[key] == pytest.approx(theirs[key], rel=1e-9), key
    _assert_same_run(ours, theirs, theirs_state)


def test_capsule_routing_matches_torch():
    """The class capsules of one batch from the same weights: the prediction vectors through
    the 5-D broadcast ``matmul``, their lengths, and the gradients of the margin loss with
    respect to the transformation matrices and the primary capsules (``u_hat`` detached in
    all but the last routing pass) agree."""
    ours_state, theirs_state = _torch_start(PROGRAM.build_capsnet)
    images, labels = PROGRAM.glyph_images(6, seed=9)
    runs = []
    for lib, state in ((gpugrad, ours_state), (torch, theirs_state)):
        model = PROGRAM.build_capsnet(lib).double()
        model.load_state_dict(state)
        x = lib.nn.functional.relu(model.conv1(lib.from_numpy(images.astype(np.float64))))
        u = model.primary(x).detach().requires_grad_()
        v = model.digits(u)
        lengths = v.norm(dim=-1)
        PROGRAM.margin_loss(lib, lengths, lib.from_numpy(labels)).backward()
        runs.append({"u": u.detach().numpy(), "v": v.detach().numpy(),
                     "lengths": lengths.detach().numpy(), "u_grad": u.grad.numpy(),
                     "W_grad": model.digits.W.grad.numpy()})
    ours, theirs = runs
    assert ours["v"].shape == (6, len(PROGRAM.GLYPHS), 8)
    assert ours["u"].shape == (6, 8 * 4 * 4, 4)
    assert np.all(theirs["lengths"] < 1) and np.all(np.linalg.norm(theirs["u"], axis=-1) < 1)
    for key, expected in theirs.items():
        np.testing.assert_allclose(ours[key], expected, rtol=0,
                                   atol=1e-10 * np.abs(expected).max(), err_msg=key)

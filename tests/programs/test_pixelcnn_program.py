"""The PixelCNNs of ``pixelcnn.py`` (masked convolutions with BatchNorm, and the gated
vertical/horizontal-stack variant), run with gpugrad and with PyTorch: both learn the shapes'
distribution, stay causal, sample reproducibly from a seeded generator and round-trip their
state dicts (mask buffers included) through ``torch.save``/``torch.load``; and from the same
weights in float64 the two libraries compute the same logits, losses (mean and bits per dim),
gradients, clipped norm, Adam step and BatchNorm running statistics. Last, two smaller
idioms: the mask multiplied into the kernel inside the graph through ``Conv2d._conv_forward``,
and uint8 targets for 4-D logits, which PyTorch rejects."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

from ._compare import assert_trains_like_torch, both, load

PIXELCNN = load("pixelcnn")
SIZE, LEVELS = PIXELCNN.SIZE, PIXELCNN.LEVELS


@pytest.mark.parametrize("kind", ["masked", "gated"])
def test_pixelcnn_learns_the_shapes_like_torch(kind):
    ours, theirs = both(lambda lib: PIXELCNN.main(lib, kind))
    # PyTorch (seed 0): per-pixel NLL 1.35 -> 0.31 (masked), 1.41 -> 0.43 (gated)
    assert_trains_like_torch(ours, theirs, shrink=0.45, rel=0.3)
    assert abs(ours["test_bpd"] - theirs["test_bpd"]) <= 0.3 * theirs["test_bpd"] + 0.05
    for result in (ours, theirs):
        assert result["steps"] == 6 * 8, result
        assert result["lr_end"] == pytest.approx(5e-3), result
        assert result["max_norm"] > 0, result
        assert result["logits_shape"] == (64, LEVELS, SIZE, SIZE), result
        # bits per dim of the per-image sum = mean per-pixel nats / ln 2
        assert result["test_bpd"] == pytest.approx(result["test_nll"] / np.log(2), rel=1e-5)
        # causal: nothing at or after the pixel; the masked stack's blind spot hides one
        # pixel up and to the right of (3, 4), the gated stacks see all 28 before it
        assert [leak for leak, _ in result["leaks"]] == [0, 0, 0], result
        assert result["leaks"][0][1] == 0, result
        if kind == "masked":
            assert 20 <= result["leaks"][1][1] <= 27, result
        else:
            assert result["leaks"][1][1] == 28, result
        assert result["sample_shape"] == (16, 1, SIZE, SIZE), result
        assert set(result["sample_levels"]) <= set(range(LEVELS)), result
        assert abs(result["sample_background"] - result["data_background"]) < 0.2, result
        assert result["sample_reproducible"], result
        assert result["masks_restored"] and result["restored_max_diff"] == 0.0, result
    assert ours["state_keys"] == theirs["state_keys"]
    if kind == "masked":
        assert sum(key.endswith("mask") for key in ours["state_keys"]) == 3


def test_mask_buffer_is_built_and_applied_like_torch():
    """The 'A' and 'B' masks of a 5x5 kernel, a buffer (not a parameter) that follows
    ``.double()``; after a forward the masked weights are exactly zero."""
    expected_a = np.ones((5, 5))
    expected_a[2, 2:] = 0
    expected_a[3:] = 0
    expected_b = expected_a.copy()
    expected_b[2, 2] = 1
    for lib in (gpugrad, torch):
        lib.manual_seed(0)
        model = PIXELCNN.build(lib, "masked").double()
        first, second = model.net[0], model.net[3]
        assert "mask" in dict(first.named_buffers())
        assert "mask" not in dict(first.named_parameters())
        assert first.mask.dtype == lib.float64 and not first.mask.requires_grad
        assert tuple(first.mask.shape) == (16, 1, 5, 5)
        np.testing.assert_array_equal(first.mask.numpy(), np.broadcast_to(expected_a,
                                                                          (16, 1, 5, 5)))
        np.testing.assert_array_equal(second.mask.numpy()[0, 0], expected_b[1:4, 1:4])
        assert float(first.weight.detach().abs().sum()) > 0
        model(lib.rand(2, 1, SIZE, SIZE, dtype=lib.float64))
        assert first.weight.is_leaf and first.weight.requires_grad
        assert float((first.weight.detach() * (1 - first.mask)).abs().max()) == 0.0
        assert float((first.weight.detach() * first.mask).abs().min()) >= 0


def twin_models(kind, seed=0):
    """The PixelCNN built by gpugrad and by PyTorch in float64, PyTorch's loaded with
    gpugrad's state dict (weights, masks and BatchNorm buffers)."""
    gpugrad.manual_seed(seed)
    ours = PIXELCNN.build(gpugrad, kind).double()
    torch.manual_seed(seed)
    theirs = PIXELCNN.build(torch, kind).double()
    our_state = ours.state_dict()
    assert list(our_state) == list(theirs.state_dict())
    theirs.load_state_dict({k: torch.from_numpy(v.detach().cpu().numpy().copy())
                            for k, v in our_state.items()})
    return ours, theirs


@pytest.mark.parametrize("kind", ["masked", "gated"])
def test_same_weights_same_loss_gradients_and_adam_step(kind):
    ours, theirs = twin_models(kind)
    images = PIXELCNN.make_shapes(8, seed=3)

    def run(lib, model):
        F = lib.nn.functional
        target = lib.from_numpy(images.copy()).long()
        x = PIXELCNN.to_input(target).double()
        model.train()
        optimizer = lib.optim.Adam(model.parameters(), lr=1e-2)
        scheduler = lib.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
        optimizer.zero_grad()
        logits = model(x)
        loss = F.cross_entropy(logits, target)
        bpd = PIXELCNN.bits_per_dim(lib, logits, target)
        params = list(model.parameters())
        grads = lib.autograd.grad(bpd, params, retain_graph=True)
        loss.backward()
        backward = [p.grad.detach().numpy().copy() for p in params]
        norm = lib.nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5)
        optimizer.step()
        scheduler.step()
        # a second step at the halved rate, then the evaluation-mode logits
        optimizer.zero_grad()
        F.cross_entropy(model(x), target).backward()
        optimizer.step()
        model.eval()
        with lib.no_grad():
            eval_logits = model(x)
        return {"logits": logits.detach().numpy(), "loss": loss.item(), "bpd": bpd.item(),
                "grads": [g.numpy() for g in grads], "backward": backward,
                "norm": float(norm), "lr": optimizer.param_groups[0]["lr"],
                "state": {k: v.detach().numpy().copy() for k, v in model.state_dict().items()},
                "eval_logits": eval_logits.numpy(), "dtype": str(logits.dtype)}

    mine, ref = run(gpugrad, ours), run(torch, theirs)
    assert mine["dtype"].endswith("float64") and ref["dtype"].endswith("float64")
    np.testing.assert_allclose(mine["logits"], ref["logits"], rtol=1e-10, atol=1e-12)
    assert mine["loss"] == pytest.approx(ref["loss"], rel=1e-10)
    assert mine["bpd"] == pytest.approx(ref["bpd"], rel=1e-10)
    assert ref["bpd"] == pytest.approx(ref["loss"] / np.log(2), rel=1e-12)
    names = [n for n, _ in theirs.named_parameters()]
    for name, g_ours, g_theirs in zip(names, mine["grads"], ref["grads"]):
        np.testing.assert_allclose(g_ours, g_theirs, rtol=0,
                                   atol=1e-10 * np.abs(g_theirs).max() + 1e-15, err_msg=name)
    for name, b_ours, b_theirs in zip(names, mine["backward"], ref["backward"]):
        np.testing.assert_allclose(b_ours, b_theirs, rtol=0,
                                   atol=1e-10 * np.abs(b_theirs).max() + 1e-15, err_msg=name)
    assert mine["norm"] == pytest.approx(ref["norm"], rel=1e-10)
    assert mine["lr"] == ref["lr"] == pytest.approx(5e-3)
    assert list(mine["state"]) == list(ref["state"])
    for key, value in ref["state"].items():
        np.testing.assert_allclose(mine["state"][key], value, rtol=1e-9, atol=1e-11,
                                   err_msg=key)
    np.testing.assert_allclose(mine["eval_logits"], ref["eval_logits"], rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("kind", ["masked", "gated"])
def test_same_weights_same_input_gradient_of_one_pixel(kind):
    """``autograd.grad`` of output pixel (4, 3) w.r.t. an input that requires grad: the same
    values in both libraries, zero from (4, 3) on in raster order."""
    ours, theirs = twin_models(kind)
    rng = np.random.default_rng(5)
    image = rng.uniform(0, 1, (2, 1, SIZE, SIZE))
    results = []
    for lib, model in ((gpugrad, ours), (torch, theirs)):
        model.eval()
        x = lib.tensor(image, requires_grad=True)
        out = model(x)
        (grad,) = lib.autograd.grad(out[:, :, 4, 3].sum(), x)
        assert grad.shape == x.shape
        results.append(grad.numpy())
    mine, ref = results
    np.testing.assert_allclose(mine, ref, rtol=0, atol=1e-10 * np.abs(ref).max())
    raster = mine.reshape(2, -1)
    assert np.all(raster[:, 4 * SIZE + 3:] == 0)
    assert np.all(np.abs(raster[:, :4 * SIZE + 3]).sum(axis=1) > 0)


def test_mask_inside_the_graph_by_conv_forward():
    """``self._conv_forward(x, self.weight * self.mask, self.bias)``: from the same weights the
    model computes what the in-place ``weight.data *= mask`` one does, but the masked taps get
    no gradient; gpugrad and PyTorch agree in float64."""
    gpugrad.manual_seed(0)
    in_place = PIXELCNN.build(gpugrad, "masked").double()
    state = in_place.state_dict()
    images = PIXELCNN.make_shapes(4, seed=7)
    results = []
    for lib in (gpugrad, torch):
        model = PIXELCNN.build(lib, "masked_in_graph").double()
        model.load_state_dict({k: lib.from_numpy(v.detach().numpy().copy())
                               for k, v in state.items()})
        target = lib.from_numpy(images.copy()).long()
        loss = lib.nn.functional.cross_entropy(model(PIXELCNN.to_input(target).double()),
                                               target)
        loss.backward()
        first = model.net[0]
        assert float((first.weight.grad * (1 - first.mask)).abs().max()) == 0.0
        results.append((loss.item(), [p.grad.numpy() for p in model.parameters()]))
    target = gpugrad.from_numpy(images.copy()).long()
    reference = gpugrad.nn.functional.cross_entropy(
        in_place(PIXELCNN.to_input(target).double()), target).item()
    (mine, mine_grads), (ref, ref_grads) = results
    assert mine == pytest.approx(ref, rel=1e-10)
    assert mine == pytest.approx(reference, rel=1e-10)
    for g_ours, g_theirs in zip(mine_grads, ref_grads):
        np.testing.assert_allclose(g_ours, g_theirs, rtol=0,
                                   atol=1e-10 * np.abs(g_theirs).max() + 1e-15)


def test_uint8_targets_for_4d_logits_raise_like_torch():
    """Forgetting ``.long()`` on the stored uint8 images: PyTorch's cross-entropy over (N, K, H,
    W) logits raises (it takes uint8 class indices only for (N, K) logits)."""
    images = PIXELCNN.make_shapes(4, seed=7)
    for lib in (gpugrad, torch):
        lib.manual_seed(0)
        model = PIXELCNN.build(lib, "masked")
        target = lib.from_numpy(images.copy())
        assert target.dtype == lib.uint8
        logits = model(PIXELCNN.to_input(target))
        with pytest.raises(RuntimeError, match="expected scalar type Long but found Byte"):
            lib.nn.functional.cross_entropy(logits, target)
        flat = logits.permute(0, 2, 3, 1).reshape(-1, LEVELS)
        loss = lib.nn.functional.cross_entropy(flat, target.flatten())
        assert loss.item() == pytest.approx(
            lib.nn.functional.cross_entropy(logits, target.long()).item(), rel=1e-6)

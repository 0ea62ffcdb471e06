"""Neural style transfer (``style_transfer.py``) run with gpugrad and with PyTorch: both cut the
weighted style + content loss by a similar factor with L-BFGS and with Adam + total variation
(float32 L-BFGS drifts apart after a few iterations, so that is a band); and from the same
NumPy-made CNN weights and images in float64: the resized style image, every closure
evaluation of the first L-BFGS step (style score, content score, loss), the updated image and
L-BFGS's counters, and one Adam step (loss, gradient, image) agree with PyTorch to ~1e-10.
Also: the ``mm`` and ``bmm`` Gram matrices agree with each other and with PyTorch, and
features captured by forward hooks give the loss modules' loss and gradient."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

from ._compare import load

ST = load("style_transfer")


def numpy_of(t) -> np.ndarray:
    return t.detach().numpy().copy()


def assert_close(got, expected, rel=1e-10, err_msg=""):
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape, (err_msg, got.shape, expected.shape)
    scale = max(np.abs(expected).max(), 1e-300)
    np.testing.assert_allclose(got, expected, rtol=0, atol=rel * scale, err_msg=err_msg)


def test_style_transfer_learns_like_torch():
    ours, theirs = ST.main(gpugrad), ST.main(torch)
    # the same weights and images: the starting losses agree to float32 rounding
    assert ours["initial_loss"] == pytest.approx(theirs["initial_loss"], rel=1e-5)
    assert ours["first_closure"] == pytest.approx(theirs["first_closure"], rel=1e-5, abs=1e-6)
    assert ours["adam_initial"] == pytest.approx(theirs["adam_initial"], rel=1e-5)
    for result in (ours, theirs):
        # three L-BFGS steps of 20 evaluations: the loss falls by more than a hundred
        assert result["final_loss"] < 0.02 * result["initial_loss"], result
        assert result["step_losses"][0] == pytest.approx(result["initial_loss"], rel=1e-6)
        assert result["step_losses"][2] < 0.05 * result["step_losses"][0], result
        assert result["evaluations"] == 60, result
        # the content image is the start: no content loss at first
        assert result["first_closure"][1] == 0.0, result
        assert result["hooked_final_loss"] == pytest.approx(result["final_loss"], rel=1e-5)
        assert 0.0 <= result["range"][0] and result["range"][1] <= 1.0, result
        assert 0.0 <= result["adam_range"][0] and result["adam_range"][1] <= 1.0, result
        assert result["same_object"] and result["input_grad"] and not result["cnn_grads"]
        assert result["adam_final"] < 0.2 * result["adam_initial"], result
    # L-BFGS in float32 drifts apart: compare how far each got, on a log scale
    ratio = [np.log(r["final_loss"] / r["initial_loss"]) for r in (ours, theirs)]
    assert abs(ratio[0] - ratio[1]) <= 0.5 * abs(ratio[1]), (ours, theirs)
    # Adam's steps are sign-like: the same data give nearly the same path
    assert ours["adam_final"] == pytest.approx(theirs["adam_final"], rel=0.05)
    assert ours["names"] == theirs["names"]
    assert ours["names"][-1] == "style_loss_4" and "content_loss_3" in ours["names"]
    assert ours["buffers"] == theirs["buffers"] == [
        "0.mean", "0.std", "bn_2.running_mean", "bn_2.running_var", "bn_2.num_batches_tracked"]


def twin_setup(lib):
    """The float64 CNN and images for ``lib``."""
    cnn = ST.build_cnn(lib, seed=0, dtype=lib.float64)
    content_img, style_img = ST.load_images(lib, dtype=lib.float64)
    return cnn, content_img, style_img


def test_same_weights_and_images_in_float64():
    """``load_state_dict`` of NumPy arrays and ``F.interpolate`` give the same numbers."""
    ours, theirs = twin_setup(gpugrad), twin_setup(torch)
    state, ref = ours[0].state_dict(), theirs[0].state_dict()
    assert list(state) == list(ref)
    for key in ref:
        expected = gpugrad.int64 if "num_batches" in key else gpugrad.float64
        assert state[key].dtype == expected, key
        np.testing.assert_array_equal(numpy_of(state[key]), numpy_of(ref[key]), err_msg=key)
    for a, b in zip(ours[1:], theirs[1:]):
        assert tuple(a.shape) == tuple(b.shape) == (1, 3, 16, 16)
        assert_close(numpy_of(a), numpy_of(b), rel=1e-14)
    assert not any(p.requires_grad for p in ours[0].parameters())
    assert not ours[0].training and not ours[0][3].training


def test_first_lbfgs_step_agrees_in_float64():
    """One ``optimizer.step(closure)`` of L-BFGS (20 evaluations): each closure's scores and
    loss, the image it leaves, and L-BFGS's state, as in PyTorch to ~1e-10."""
    runs = []
    for lib in (gpugrad, torch):
        cnn, content_img, style_img = twin_setup(lib)
        input_img = content_img.clone()
        history = []
        output, info = ST.run_style_transfer(lib, cnn, content_img, style_img, input_img,
                                             num_steps=1, history=history)
        state = info["optimizer"].state[output]
        runs.append({"history": history, "image": numpy_of(output),
                     "step_loss": info["step_losses"][0], "evaluations": info["evaluations"],
                     "func_evals": state["func_evals"], "n_iter": state["n_iter"],
                     "t": float(state["t"]), "d": numpy_of(state["d"]),
                     "H_diag": float(state["H_diag"]), "old_dirs": len(state["old_dirs"])})
    ours, theirs = runs
    assert ours["evaluations"] == theirs["evaluations"] == 20
    assert len(ours["history"]) == len(theirs["history"]) == 20
    for k, (a, b) in enumerate(zip(ours["history"], theirs["history"])):
        assert a == pytest.approx(b, rel=1e-10, abs=1e-12), k
    assert theirs["history"][-1][2] < 0.5 * theirs["history"][0][2]
    assert ours["step_loss"] == pytest.approx(theirs["step_loss"], rel=1e-12)
    for key in ("func_evals", "n_iter", "old_dirs"):
        assert ours[key] == theirs[key], key
    for key in ("t", "H_diag"):
        assert ours[key] == pytest.approx(theirs[key], rel=1e-9), key
    assert_close(ours["d"], theirs["d"], rel=1e-9, err_msg="d")
    assert_close(ours["image"], theirs["image"], rel=1e-10, err_msg="image")


def test_one_adam_step_with_total_variation_agrees_in_float64():
    """Two Adam steps from the content image: the losses, the image's gradients (style,
    content and total variation) and the clamped images agree with PyTorch."""
    runs = []
    for lib in (gpugrad, torch):
        cnn, content_img, style_img = twin_setup(lib)
        history = []
        img, losses = ST.run_adam_transfer(lib, cnn, content_img, style_img, steps=2,
                                           tv_weight=0.5, history=history)
        runs.append((history, numpy_of(img), losses))
    (h_ours, img_ours, l_ours), (h_theirs, img_theirs, l_theirs) = runs
    assert l_ours == pytest.approx(l_theirs, rel=1e-10)
    for k, (a, b) in enumerate(zip(h_ours, h_theirs)):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-10), k
        assert_close(numpy_of(a["grad"]), numpy_of(b["grad"]), rel=1e-10, err_msg=str(k))
    assert_close(img_ours, img_theirs, rel=1e-10, err_msg="image")
    # the total variation alone, and its gradient (abs at 0 has subgradient 0 in both)
    grads = []
    for lib in (gpugrad, torch):
        x = lib.tensor(np.round(ST.make_images()[0] * 4) / 4, requires_grad=True)
        tv = ST.total_variation(x)
        tv.backward()
        grads.append((tv.item(), numpy_of(x.grad)))
    assert grads[0][0] == pytest.approx(grads[1][0], rel=1e-12)
    assert_close(grads[0][1], grads[1][1], rel=1e-12, err_msg="tv grad")


@pytest.mark.parametrize("lib", [gpugrad, torch], ids=["gpugrad", "torch"])
def test_gram_matrix_forms_agree(lib):
    rng = np.random.default_rng(1)
    x_np = rng.standard_normal((2, 5, 4, 3))
    x = lib.tensor(x_np, requires_grad=True)
    batched = ST.gram_matrix_batched(lib, x)
    assert tuple(batched.shape) == (2, 5, 5)
    for i in range(2):
        single = ST.gram_matrix(lib, x[i:i + 1])
        assert tuple(single.shape) == (5, 5)
        assert_close(numpy_of(single), numpy_of(batched[i]), rel=1e-14, err_msg=str(i))
    # over the whole batch the mm form mixes images: its diagonal blocks are the batched
    # ones divided by b
    whole = ST.gram_matrix(lib, x)
    assert tuple(whole.shape) == (10, 10)
    assert_close(numpy_of(whole[5:, 5:]) * 2, numpy_of(batched[1]), rel=1e-14)
    # the NumPy truth, and the gradient of sum(G * W) through bmm
    f = x_np.reshape(2, 5, 12)
    expected = np.einsum("bik,bjk->bij", f, f) / 60
    assert_close(numpy_of(batched), expected, rel=1e-14)
    w = rng.standard_normal((2, 5, 5))
    (batched * lib.tensor(w)).sum().backward()
    assert_close(numpy_of(x.grad), (np.einsum("bij,bjk->bik", w + w.transpose(0, 2, 1), f)
                                    / 60).reshape(2, 5, 4, 3), rel=1e-13)


def test_style_loss_modules_agree_with_torch_for_both_gram_forms():
    """The model's loss modules, with the ``mm`` and the ``bmm`` Gram matrix, on a random
    image: the same style and content losses as PyTorch, and as each other."""
    rng = np.random.default_rng(2)
    img_np = rng.uniform(0, 1, (1, 3, 16, 16))
    found = {}
    for lib in (gpugrad, torch):
        cnn, content_img, style_img = twin_setup(lib)
        for batched in (False, True):
            model, style_losses, content_losses = ST.get_style_model_and_losses(
                lib, cnn, style_img, content_img, batched_gram=batched)
            assert isinstance(model, lib.nn.Sequential)
            img = lib.tensor(img_np, requires_grad=True)
            out = model(img)
            assert tuple(out.shape) == (1, 8, 8, 8)
            loss = sum(sl.loss for sl in style_losses) * 1e4 + content_losses[0].loss
            loss.backward()
            found[lib.__name__, batched] = ([sl.loss.item() for sl in style_losses],
                                            content_losses[0].loss.item(), numpy_of(img.grad))
    for batched in (False, True):
        a, b = found["gpugrad", batched], found["torch", batched]
        assert a[0] == pytest.approx(b[0], rel=1e-11)
        assert a[1] == pytest.approx(b[1], rel=1e-11)
        assert_close(a[2], b[2], rel=1e-10, err_msg=str(batched))
    a, b = found["gpugrad", False], found["gpugrad", True]
    assert a[0] == pytest.approx(b[0], rel=1e-12)


@pytest.mark.parametrize("lib", [gpugrad, torch], ids=["gpugrad", "torch"])
def test_hook_capture_equals_loss_module_capture(lib):
    """Forward hooks on the CNN's convolutions capture what the loss modules see: the
    content target, the same weighted loss and the same gradient; removed hooks capture
    nothing."""
    cnn, content_img, style_img = twin_setup(lib)
    model, style_losses, content_losses = ST.get_style_model_and_losses(
        lib, cnn, style_img, content_img)
    rng = np.random.default_rng(3)
    img_np = rng.uniform(0, 1, (1, 3, 16, 16))

    img = lib.tensor(img_np, requires_grad=True)
    loss = ST.style_losses_of(lib, model, style_losses, content_losses, img, 1e4, 1.0)
    loss.backward()

    hooked_img = lib.tensor(img_np, requires_grad=True)
    hooked, feats, extractor = ST.hooked_losses(lib, cnn, content_img, style_img, hooked_img)
    hooked.backward()
    assert sorted(feats) == ["conv_1", "conv_2", "conv_3", "conv_4", "conv_5"]
    assert feats["conv_3"].requires_grad and tuple(feats["conv_3"].shape) == (1, 8, 8, 8)
    assert hooked.item() == pytest.approx(loss.item(), rel=1e-12)
    assert_close(numpy_of(hooked_img.grad), numpy_of(img.grad), rel=1e-12)

    # the content target the loss module holds is the hooked feature of the content image
    extractor = ST.FeatureExtractor(cnn, {6: "conv_3"})
    norm = model[0]
    with lib.no_grad():
        cnn(norm(content_img))
    assert_close(numpy_of(extractor.features["conv_3"]), numpy_of(content_losses[0].target),
                 rel=1e-15)
    assert not content_losses[0].target.requires_grad
    extractor.remove()
    extractor.features.clear()
    cnn(content_img)
    assert extractor.features == {}

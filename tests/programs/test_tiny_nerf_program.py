"""The tiny NeRF of ``tiny_nerf.py``, run with gpugrad and with PyTorch: both learn the
three-sphere scene (the held-out view's PSNR rises well above the all-black image's), gpugrad's
PSNR lands in a band around PyTorch's (the random streams differ), and from the same weights in
float64 with the same NumPy-drawn rays, jitter, noise and importance draws, the two libraries
render the same pixels, sample the same depths and take the same Adam steps."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

from ._compare import both, load

NERF = load("tiny_nerf")
LIBS = (gpugrad, torch)


def test_tiny_nerf_learns_the_scene_like_torch():
    ours, theirs = both(NERF.main)
    black = -10 * np.log10(np.mean(NERF.make_dataset()[2] ** 2))  # all-black guess: 11.7 dB
    for result in (ours, theirs):
        assert result["finite"] and result["image_shape"] == (NERF.H, NERF.W, 3), result
        assert result["image_dtype"].endswith("float32"), result
        # PyTorch (seed 0): loss 0.29 -> 0.015, held-out PSNR 7.5 -> 24 dB
        assert result["final_loss"] < 0.25 * result["initial_loss"], result
        assert result["final_psnr"] > black + 6, result
        assert result["final_psnr"] > result["initial_psnr"] + 8, result
        assert result["train_psnr"] > 18, result
        assert result["lr"] == pytest.approx(2e-3 * 0.1 ** (200 / 1000), rel=1e-12), result
        # the checkpoint (both networks and Adam, through torch.save/torch.load) renders the
        # same view, and the restored optimizer carries the decayed learning rate
        assert result["reloaded_psnr"] == result["final_psnr"], result
        assert result["reloaded_lr"] == result["lr"] and result["reloaded_step"] == 200, result
        lo, hi = result["acc_range"]
        assert -1e-6 <= lo and hi <= 1 + 1e-6 and hi > 0.5, result  # opacities, not all empty
    # different random streams (weights, shuffles, jitter): compare learning, not bits
    assert abs(ours["final_psnr"] - theirs["final_psnr"]) < 5.0, (ours, theirs)


# ------------------------------------------------------------------ same weights, float64
def twin_nerfs():
    """``create_nerf`` in each library, cast to float64 after the optimizer was made (as
    ``model.to(...)`` after building the optimizer does), PyTorch's loaded with gpugrad's
    weights."""
    gpugrad.manual_seed(0)
    ours = NERF.create_nerf(gpugrad)
    torch.manual_seed(0)
    theirs = NERF.create_nerf(torch)
    for (models, _, _), lib in ((ours, gpugrad), (theirs, torch)):
        for model in models:
            model.double()
            assert next(model.parameters()).dtype == lib.float64
    for our_model, their_model in zip(ours[0], theirs[0]):
        state = our_model.state_dict()
        assert list(state) == list(their_model.state_dict())
        their_model.load_state_dict({k: torch.from_numpy(v.detach().numpy().copy())
                                     for k, v in state.items()})
    return ours, theirs


def numpy_draws(lib, seed):
    """``rand(shape)`` and ``randn(shape)`` for ``render_rays`` from one NumPy stream, as
    float64 ``lib`` tensors."""
    rng = np.random.default_rng(seed)

    def rand(shape):
        return lib.from_numpy(rng.random(tuple(shape)))

    def randn(shape):
        return lib.from_numpy(rng.standard_normal(tuple(shape)))

    return rand, randn


def training_rays(lib, images, poses):
    """Every training ray and its colour, (N * H * W, 3, 3), as ``main`` builds them."""
    rays = lib.stack([lib.stack(NERF.get_rays(lib, NERF.H, NERF.W, NERF.FOCAL, p), 0)
                      for p in lib.from_numpy(poses)[:, :3, :4]], 0)
    rays_rgb = lib.cat([rays, lib.from_numpy(images)[:, None]], 1)
    return rays_rgb.permute(0, 2, 3, 1, 4).reshape(-1, 3, 3)


def test_rays_match_numpy_and_torch():
    """``get_rays`` (meshgrid 'xy', the broadcast rotation, the expanded origin) gives the
    NumPy ray-marcher's rays in both libraries, float64 and float32."""
    pose = NERF.pose_looking_at_origin(40.0, 20.0)
    ro_np, rd_np = NERF.get_rays_np(NERF.H, NERF.W, NERF.FOCAL, pose)
    for lib in LIBS:
        for dtype, tol in ((lib.float64, 1e-14), (lib.float32, 1e-5)):
            ro, rd = NERF.get_rays(lib, NERF.H, NERF.W, NERF.FOCAL,
                                   lib.from_numpy(pose).to(dtype))
            assert tuple(rd.shape) == (NERF.H, NERF.W, 3) and rd.dtype == dtype
            np.testing.assert_allclose(rd.numpy(), rd_np, rtol=0, atol=tol)
            np.testing.assert_allclose(ro.numpy(), ro_np, rtol=0, atol=4 * tol)
    assert training_rays(gpugrad, *NERF.make_dataset(2)[:2]).shape == (2 * NERF.H * NERF.W, 3, 3)


def test_pose_spherical_is_the_look_at_pose():
    """The render-path pose built from ``torch.Tensor`` matrices and ``@`` is the NumPy
    look-at pose, in float32."""
    for lib in LIBS:
        for theta, phi in ((22.5, 25.0), (-120.0, 40.0), (200.0, -10.0)):
            c2w = NERF.pose_spherical(lib, theta, phi, NERF.RADIUS)
            assert c2w.dtype == lib.float32 and tuple(c2w.shape) == (4, 4)
            np.testing.assert_allclose(c2w.numpy(), NERF.pose_looking_at_origin(theta, phi),
                                       rtol=0, atol=1e-6)


def test_single_image_batch_picks_one_views_pixels():
    """The no-batching draw (``torch.randint`` for the view, a ``randperm`` of the
    ``meshgrid(indexing='ij')`` pixel grid, rays picked by two index columns): every ray
    of a batch is a distinct pixel of one view, carrying that pixel's colour."""
    images, poses = NERF.make_dataset(4)[:2]
    rays = [NERF.get_rays_np(NERF.H, NERF.W, NERF.FOCAL, p) for p in poses]
    for lib in LIBS:
        lib.manual_seed(0)
        views = set()
        for _ in range(6):
            batch = NERF.single_image_batch(lib, lib.from_numpy(images).float(),
                                            lib.from_numpy(poses).float(), 40).numpy()
            assert batch.shape == (40, 3, 3) and batch.dtype == np.float32
            # which view and pixel each ray is: its direction is one pixel's direction
            matches = [np.argwhere(np.abs(rd - batch[:, 1, None, None]).max(-1) < 1e-5)
                       for _, rd in rays]  # per view: (ray, row, col) hits
            view = [v for v, m in enumerate(matches)
                    if len(m) == 40 and np.abs(rays[v][0][0, 0] - batch[:, 0]).max() < 1e-5]
            assert len(view) == 1, matches
            hits = matches[view[0]]
            assert sorted(hits[:, 0]) == list(range(40))
            assert len({(r, c) for _, r, c in hits}) == 40  # no pixel twice
            np.testing.assert_allclose(batch[hits[:, 0], 2],
                                       images[view[0]][hits[:, 1], hits[:, 2]], atol=1e-6)
            views.add(view[0])
        assert len(views) >= 2, views  # the view changes from draw to draw


def test_same_weights_same_render_and_gradients():
    """One batch of rays through both passes, in float64 from the same weights and draws:
    the coarse weights, the importance-sampled depths, the pixels and every parameter's
    gradient agree; the roll and cat spellings of the exclusive cumprod agree; a chunked
    no_grad render of a view equals its one-chunk render."""
    ours, theirs = twin_nerfs()
    images, poses = NERF.make_dataset(2)[:2]
    rng = np.random.default_rng(3)
    pick = rng.choice(2 * NERF.H * NERF.W, 48, replace=False)
    alpha_np = rng.random((6, 9))
    bins_np = np.sort(rng.uniform(2, 6, (6, 8)), -1)
    results = []
    for lib, (models, embedders, _) in ((gpugrad, ours), (torch, theirs)):
        rays_rgb = training_rays(lib, images, poses)[lib.from_numpy(pick)]
        rand, randn = numpy_draws(lib, 7)
        out = NERF.render_rays(lib, rays_rgb[:, :2].reshape(-1, 6), models, embedders,
                               n_samples=12, n_importance=10, raw_noise_std=1., rand=rand,
                               randn=randn)
        loss = (lib.nn.functional.mse_loss(out["rgb_map"], rays_rgb[:, 2])
                + lib.nn.functional.mse_loss(out["rgb0"], rays_rgb[:, 2]))
        loss.backward()
        params = [p for m in models for p in m.parameters()]

        # the two transmittance spellings, and sample_pdf on fixed draws
        alpha = lib.from_numpy(alpha_np)
        rolled = NERF.cumprod_exclusive(lib, 1. - alpha + 1e-10)
        catted = lib.cumprod(lib.cat([lib.ones((6, 1), dtype=lib.float64), 1. - alpha + 1e-10],
                                     -1), -1)[:, :-1]
        bins = lib.from_numpy(bins_np)
        u_rand, _ = numpy_draws(lib, 8)
        samples = NERF.sample_pdf(lib, bins, alpha[:, :7], 5, rand=u_rand)
        det = NERF.sample_pdf(lib, bins, alpha[:, :7], 5, det=True)

        pose = lib.from_numpy(NERF.pose_looking_at_origin(100.0, 10.0))
        chunked = NERF.render_view(lib, pose, models, embedders, chunk=96, n_samples=12,
                                   n_importance=10)
        whole = NERF.render_view(lib, pose, models, embedders, chunk=NERF.H * NERF.W,
                                 n_samples=12, n_importance=10)
        assert not chunked[0].requires_grad
        results.append({
            "rgb_map": out["rgb_map"].detach().numpy(), "rgb0": out["rgb0"].detach().numpy(),
            "depth": out["depth_map"].detach().numpy(), "acc": out["acc_map"].detach().numpy(),
            "z_std": out["z_std"].numpy(), "loss": loss.item(),
            "grads": [p.grad.numpy().copy() for p in params],
            "rolled": rolled.numpy(), "catted": catted.numpy(), "samples": samples.numpy(),
            "det": det.numpy(), "chunked": chunked[0].numpy(), "whole": whole[0].numpy()})
    mine, ref = results
    for key in ("rgb_map", "rgb0", "depth", "acc", "z_std", "rolled", "catted", "samples",
                "det", "chunked", "whole"):
        np.testing.assert_allclose(mine[key], ref[key], rtol=1e-10, atol=1e-12, err_msg=key)
    assert mine["loss"] == pytest.approx(ref["loss"], rel=1e-11)
    names = [f"{part}.{n}" for part, model in zip(("coarse", "fine"), theirs[0])
             for n, _ in model.named_parameters()]
    for name, g_ours, g_theirs in zip(names, mine["grads"], ref["grads"]):
        np.testing.assert_allclose(g_ours, g_theirs, rtol=0,
                                   atol=1e-10 * np.abs(g_theirs).max() + 1e-300, err_msg=name)
    for res in (mine, ref):
        np.testing.assert_allclose(res["rolled"], res["catted"], rtol=1e-15)
        np.testing.assert_allclose(res["chunked"], res["whole"], rtol=1e-12, atol=1e-14)
        # the samples stay in the bins' range, sorted draws from linspace stay sorted
        assert res["samples"].min() >= 2 and res["samples"].max() <= 6
        assert np.all(np.diff(res["det"], axis=-1) >= 0)


def test_same_weights_same_training_steps():
    """Six training steps in float64 from the same weights, batches (a NumPy permutation)
    and draws: the summed coarse + fine losses, PSNRs and decayed learning rates agree to
    1e-9, and so do the final weights."""
    ours, theirs = twin_nerfs()
    images, poses = NERF.make_dataset(4)[:2]
    order = np.random.default_rng(11).permutation(4 * NERF.H * NERF.W)

    def run(lib, nerf):
        models, embedders, optimizer = nerf
        rays_rgb = training_rays(lib, images, poses)[lib.from_numpy(order)]
        rand, randn = numpy_draws(lib, 12)
        history = []
        for step in range(6):
            batch = rays_rgb[step * 64:(step + 1) * 64]
            history.append(NERF.train_step(lib, batch, models, embedders, optimizer, step,
                                           decay_steps=4, n_samples=12, n_importance=8,
                                           raw_noise_std=1., rand=rand, randn=randn))
        weights = [p.detach().numpy().copy() for m in models for p in m.parameters()]
        return np.array(history), weights

    (mine, my_weights), (ref, ref_weights) = run(gpugrad, ours), run(torch, theirs)
    np.testing.assert_allclose(mine, ref, rtol=1e-9)
    assert ref[-1, 0] < ref[0, 0]  # the steps descend
    np.testing.assert_allclose(ref[:, 2], 2e-3 * 0.1 ** (np.arange(1, 7) / 4), rtol=1e-12)
    for w_ours, w_theirs in zip(my_weights, ref_weights):
        np.testing.assert_allclose(w_ours, w_theirs, rtol=1e-8, atol=1e-11)

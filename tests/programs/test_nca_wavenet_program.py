"""The Neural Cellular Automaton and the tiny WaveNet of ``nca_wavenet.py``, run with gpugrad
and with PyTorch: both automata learn to grow something closer to the target than the seed,
both WaveNets learn the two-sine clips (the random streams differ, so those compare learning in
a band, not bits); from shared weights in float64 the automaton run a fixed number of steps
with fixed update masks (three ways of padding the perception) and one WaveNet training step
give PyTorch's losses, gradients (before and after the per-parameter normalisation or
clipping) and Adam updates to rounding; the causal convolutions are causal (``autograd.grad``
of one output element is zero at later inputs); mu-law companding, its two quantisations and
the sampling loop behave as PyTorch's."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

from ._compare import both, load

P = load("nca_wavenet")
LIBS = pytest.mark.parametrize("lib", [gpugrad, torch], ids=["gpugrad", "torch"])


def assert_close(got, expected, name, rel=1e-10):
    got, expected = np.asarray(got, np.float64), np.asarray(expected, np.float64)
    assert got.shape == expected.shape, name
    scale = max(np.abs(expected).max(), 1e-300)
    np.testing.assert_allclose(got, expected, rtol=0, atol=rel * scale, err_msg=name)


# ---------------------------------------------------------------------------------- training
def test_nca_grows_towards_the_target_like_torch():
    """Twelve pool iterations of 8-16 steps (the 20-40 of the public code would take too long
    here): the grown pattern is well closer to the target than the single seed cell."""
    kw = dict(iterations=12, min_steps=8, max_steps=16, lr=3e-3, batch=2, pool_size=8)
    ours, theirs = both(lambda m: P.main_nca(m, **kw))
    for result in (ours, theirs):
        assert result["finite"], result
        assert result["seed_loss"] == pytest.approx(0.11579, abs=1e-4), result
        assert result["best_loss"] < 0.75 * result["seed_loss"], result
        assert result["grown_loss"] < 0.8 * result["seed_loss"], result
        assert 0.05 < result["alive_fraction"] < 1.0, result
        assert all(8 <= s < 16 for s in result["steps"]), result
        assert len(result["losses"]) == 12
        # MultiStepLR at 6 and 9: 3e-3 * 0.3 ** 2
        assert result["lr"] == pytest.approx(3e-3 * 0.09, rel=1e-12), result
    assert abs(ours["grown_loss"] - theirs["grown_loss"]) <= 0.5 * theirs["grown_loss"] + 0.01
    assert abs(ours["best_loss"] - theirs["best_loss"]) <= 0.3 * theirs["best_loss"] + 0.01


def test_wavenet_learns_the_sines_like_torch():
    ours, theirs = both(lambda m: P.main_wavenet(m, iterations=40, length=48))
    for result in (ours, theirs):
        # log(64) = 4.16 for a uniform guess
        assert result["initial_test"] == pytest.approx(np.log(P.CLASSES), abs=0.15), result
        assert result["final_loss"] < 0.85 * result["initial_loss"], result
        assert result["test_loss"] < result["initial_test"] - 0.6, result
        assert result["drawn_shape"] == (2, 56), result
        assert result["drawn_dtype"].endswith("int64"), result
        assert 0 <= result["drawn_range"][0] <= result["drawn_range"][1] <= P.MU, result
        assert result["audio_max"] <= 1.0 and result["roundtrip_err"] < 0.06, result
    assert abs(ours["test_loss"] - theirs["test_loss"]) <= 0.15 * theirs["test_loss"] + 0.05
    assert ours["roundtrip_err"] == pytest.approx(theirs["roundtrip_err"], rel=1e-5)


# ------------------------------------------------------------------- NCA, same weights
def twin_nca(padding):
    gpugrad.manual_seed(0)
    ours = P.build_nca(gpugrad, padding=padding).double()
    torch.manual_seed(0)
    theirs = P.build_nca(torch, padding=padding).double()
    state = ours.state_dict()
    assert list(state) == list(theirs.state_dict())
    rng = np.random.default_rng(1)
    arrays = {k: v.detach().numpy().copy() for k, v in state.items()}
    # the zeroed last layer would leave every earlier gradient zero: give it small weights
    arrays["update.2.weight"] = 0.1 * rng.standard_normal(arrays["update.2.weight"].shape)
    ours.load_state_dict({k: gpugrad.from_numpy(v.copy()) for k, v in arrays.items()})
    theirs.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in arrays.items()})
    return ours, theirs


def nca_inputs(lib, steps=10, batch=2):
    rng = np.random.default_rng(2)
    x = np.zeros((batch, P.CHANNELS, P.SIZE, P.SIZE))
    c = P.SIZE // 2
    x[:, 3:, c - 2:c + 2, c - 2:c + 2] = rng.uniform(0.0, 1.0, (batch, P.CHANNELS - 3, 4, 4))
    x[:, 3, c, c] = 1.0
    masks = [(rng.uniform(size=(batch, 1, P.SIZE, P.SIZE)) < 0.5).astype(np.float64)
             for _ in range(steps)]
    target = np.repeat(P.target_image()[None].astype(np.float64), batch, 0)
    return (lib.from_numpy(x), [lib.from_numpy(m) for m in masks], lib.from_numpy(target))


@pytest.mark.parametrize("padding", ["zeros", "circular", "module"])
def test_nca_same_weights_same_loss_and_gradients_in_float64(padding):
    """Ten steps with fixed masks, ``F.mse_loss`` on RGBA, the gradients, the normalised
    gradients, one Adam step and the loss after it agree with PyTorch to ~1e-10."""
    models = twin_nca(padding)
    rows = []
    for lib, model in zip((gpugrad, torch), models):
        F = lib.nn.functional
        x, masks, target = nca_inputs(lib)
        optimizer = lib.optim.Adam(model.parameters(), lr=1e-2)
        out = model(x, masks=masks)
        loss = F.mse_loss(out[:, :4], target)
        optimizer.zero_grad()
        loss.backward()
        row = {"loss": loss.item(), "out": out.detach().numpy().copy(),
               "alive": model.alive(out).numpy().copy()}
        trained = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
        assert len(trained) == 3
        for name, p in trained:
            row[name + ".grad"] = p.grad.numpy().copy()
        P.normalize_grads(lib, model)
        for name, p in trained:
            row[name + ".ngrad"] = p.grad.numpy().copy()
            assert float(p.grad.norm()) == pytest.approx(1.0, abs=1e-6), name
        optimizer.step()
        for name, p in model.named_parameters():
            row[name] = p.detach().numpy().copy()
        with lib.no_grad():
            row["loss_after"] = F.mse_loss(model(x, masks=masks)[:, :4], target).item()
        rows.append(row)
    ours, theirs = rows
    assert ours.keys() == theirs.keys()
    assert theirs["alive"].dtype == np.bool_ and ours["alive"].dtype == np.bool_
    assert 0 < theirs["alive"].sum() < theirs["alive"].size
    np.testing.assert_array_equal(ours["alive"], theirs["alive"])
    for key in theirs:
        if key != "alive":
            assert_close(ours[key], theirs[key], key)
    assert theirs["loss_after"] < theirs["loss"]


@LIBS
def test_perception_filters_and_padding(lib):
    """The tiled filters are (48, 1, 3, 3) identity/Sobel per channel; circular padding by
    ``F.pad`` and by ``padding_mode`` agree; zero padding differs only at the border."""
    filters = P.perception_filters(lib)
    assert tuple(filters.shape) == (3 * P.CHANNELS, 1, 3, 3)
    ref = P.perception_filters(torch).numpy()
    np.testing.assert_array_equal(filters.numpy(), ref)
    assert ref[1, 0, 1, 2] == 0.25 and ref[2, 0, 2, 1] == 0.25 and ref[3, 0, 1, 1] == 1.0
    lib.manual_seed(0)
    x = lib.rand(2, P.CHANNELS, 6, 7)
    results = {}
    for padding in ("zeros", "circular", "module"):
        model = P.build_nca(lib, padding=padding)
        results[padding] = model.perceive(x).numpy()
        assert results[padding].shape == (2, 3 * P.CHANNELS, 6, 7)
    np.testing.assert_allclose(results["circular"], results["module"], rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(results["zeros"][:, 0::3], x.numpy())  # identity rows
    inner = (slice(None), slice(None), slice(1, -1), slice(1, -1))
    np.testing.assert_allclose(results["zeros"][inner], results["circular"][inner], atol=1e-6)
    assert not np.allclose(results["zeros"], results["circular"])
    model = P.build_nca(lib, padding="module")
    assert [n for n, p in model.named_parameters() if p.requires_grad] == [
        "update.0.weight", "update.0.bias", "update.2.weight"]
    assert "filters" in dict(model.named_buffers())
    assert not model.perceive_conv.weight.requires_grad
    assert float(model.update[2].weight.detach().abs().sum()) == 0.0


@LIBS
def test_nca_starts_as_the_identity_and_dead_cells_stay_dead(lib):
    lib.manual_seed(0)
    model = P.build_nca(lib)
    seed = P.make_seed(lib, 2)
    out = model(seed, 5)
    # the zeroed last layer: nothing changes, the seed cell and its neighbours stay alive
    np.testing.assert_array_equal(out.detach().numpy(), seed.numpy())
    alive = model.alive(seed)
    assert alive.dtype == lib.bool and tuple(alive.shape) == (2, 1, P.SIZE, P.SIZE)
    assert int(alive.sum()) == 18
    lib.nn.init.normal_(model.update[2].weight, std=0.2)
    out = model(seed, 6).detach()
    far = np.ones((P.SIZE, P.SIZE), bool)
    far[P.SIZE // 2 - 7:P.SIZE // 2 + 8, P.SIZE // 2 - 7:P.SIZE // 2 + 8] = False
    assert np.all(out.numpy()[:, :, far] == 0.0)  # growth of at most one cell a step
    mask = (lib.rand(1, 1, 4, 4) <= 0.5).float()
    assert mask.dtype == lib.float32 and set(np.unique(mask.numpy())) <= {0.0, 1.0}


@LIBS
def test_pool_writes_and_reseeding(lib):
    """``pool[idx] = x.detach()`` under ``no_grad`` with a ``randperm`` index, and the worst
    sample (by ``argsort(descending=True)``) replaced by the seed through ``x[:1] = seed``."""
    lib.manual_seed(0)
    seed = P.make_seed(lib)
    pool = seed.repeat(6, 1, 1, 1)
    assert tuple(pool.shape) == (6, P.CHANNELS, P.SIZE, P.SIZE)
    idx = lib.tensor([4, 1, 3])
    x = pool[idx] + lib.arange(3.0).reshape(3, 1, 1, 1)
    losses = (x ** 2).mean(dim=(1, 2, 3))
    rank = losses.argsort(descending=True)
    assert rank.tolist() == [2, 1, 0]
    x = x[rank]
    x[:1] = seed
    w = lib.ones(1, requires_grad=True)
    with lib.no_grad():
        pool[idx[rank]] = (x * w).detach()
    assert not pool.requires_grad
    got = pool[:, 0, 0, 0].tolist()
    # ranked: x = [x2 + 2, x1 + 1, x0] at idx [3, 1, 4], then the first row reseeded
    assert got == [0.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    assert float(pool[4, 3, 8, 8]) == 1.0 and float(pool[4, 3, 0, 0]) == 0.0


@LIBS
def test_multistep_lr(lib):
    opt = lib.optim.Adam([lib.zeros(2, requires_grad=True)], lr=1.0)
    sched = lib.optim.lr_scheduler.MultiStepLR(opt, milestones=[2, 4, 4], gamma=0.5)
    lrs = []
    for _ in range(6):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    assert lrs == [1.0, 0.5, 0.5, 0.125, 0.125, 0.125]  # a repeated milestone counts twice
    assert sched.state_dict()["milestones"] == {2: 1, 4: 2}


# --------------------------------------------------------------- WaveNet, same weights
def twin_wavenet():
    gpugrad.manual_seed(0)
    ours = P.build_wavenet(gpugrad).double()
    torch.manual_seed(0)
    theirs = P.build_wavenet(torch).double()
    state = ours.state_dict()
    assert list(state) == list(theirs.state_dict())
    theirs.load_state_dict({k: torch.from_numpy(v.detach().numpy().copy())
                            for k, v in state.items()})
    return ours, theirs


def test_wavenet_same_weights_same_step_in_float64():
    """One teacher-forced step: the loss, every gradient, the clipped norm and the Adam
    update agree with PyTorch to ~1e-10; the class targets agree exactly."""
    clips = P.waveform(4, 40, seed=3)
    rows = []
    for lib, model in zip((gpugrad, torch), twin_wavenet()):
        q = P.mu_law_encode(lib, lib.from_numpy(clips))
        criterion = lib.nn.CrossEntropyLoss()
        optimizer = lib.optim.Adam(model.parameters(), lr=1e-2)
        optimizer.zero_grad()
        loss = P.wavenet_loss(lib, model, q, criterion)
        loss.backward()
        row = {"q": q.numpy().copy(), "loss": loss.item()}
        # the last block's residual output is unused: its 1x1 convolution gets no gradient
        assert model.blocks[-1].res.weight.grad is None
        for name, p in model.named_parameters():
            if p.grad is not None:
                row[name + ".grad"] = p.grad.numpy().copy()
        row["norm"] = float(lib.nn.utils.clip_grad_norm_(model.parameters(), 0.1))
        for name, p in model.named_parameters():
            if p.grad is not None:
                row[name + ".clipped"] = p.grad.numpy().copy()
        optimizer.step()
        for name, p in model.named_parameters():
            row[name] = p.detach().numpy().copy()
        with lib.no_grad():
            row["loss_after"] = P.wavenet_loss(lib, model, q, criterion).item()
        rows.append(row)
    ours, theirs = rows
    assert ours.keys() == theirs.keys()
    np.testing.assert_array_equal(ours["q"], theirs["q"])
    assert theirs["norm"] > 0.1  # the clipping did something
    for key in theirs:
        assert_close(ours[key], theirs[key], key)
    assert theirs["loss_after"] < theirs["loss"]


@LIBS
def test_causal_convolutions_are_causal(lib):
    """``autograd.grad`` of one output logit w.r.t. the one-hot input: zero after t, nonzero
    at t, and zero before the receptive field."""
    lib.manual_seed(0)
    model = P.build_wavenet(lib)
    rf = model.receptive_field
    assert rf == 32
    T, t = 50, 40
    x = P.one_hot(lib, lib.randint(0, P.CLASSES, (1, T))).requires_grad_(True)
    out = model(x)
    assert tuple(out.shape) == (1, P.CLASSES, T)
    (g,) = lib.autograd.grad(out[0, 5, t], x)
    reach = np.abs(g.numpy()).sum(axis=(0, 1))
    assert np.all(reach[t + 1:] == 0.0)
    assert reach[t] > 0 and reach[t - rf + 1] > 0
    assert np.all(reach[:t - rf + 1] == 0.0)
    # one layer: F.pad on the left keeps the length and the causality
    block = model.blocks[3].dilated
    assert block.left == 8 and block.dilation == (8,) and block.padding == (0,)
    h = lib.randn(1, 16, 20, requires_grad=True)
    y = block(h)
    assert tuple(y.shape) == (1, 32, 20)
    (gh,) = lib.autograd.grad(y[0, :, 10].sum(), h)
    nonzero = np.nonzero(np.abs(gh.numpy()).sum(axis=(0, 1)))[0].tolist()
    assert nonzero == [2, 10]


@LIBS
def test_mu_law_quantisations_agree(lib):
    x = lib.linspace(-1, 1, 1001)
    q_round = P.mu_law_encode(lib, x)
    q_bucket = P.mu_law_encode(lib, x, bucketize=True)
    assert q_round.dtype == q_bucket.dtype == lib.int64
    assert int(q_round.min()) == 0 and int(q_round.max()) == P.MU
    assert int((q_round != q_bucket).sum()) <= 2
    ref = P.mu_law_encode(torch, torch.linspace(-1, 1, 1001)).numpy()
    np.testing.assert_array_equal(q_round.numpy(), ref)
    ref_b = P.mu_law_encode(torch, torch.linspace(-1, 1, 1001), bucketize=True).numpy()
    np.testing.assert_array_equal(q_bucket.numpy(), ref_b)
    back = P.mu_law_decode(lib, q_round)
    assert back.dtype == lib.float32
    assert float((back - x).abs().max()) < 0.07
    assert float(P.mu_law_decode(lib, lib.tensor([0, P.MU]))[0]) == pytest.approx(-1.0)
    oh = P.one_hot(lib, q_round.reshape(1, -1)[:, :7])
    assert tuple(oh.shape) == (1, P.CLASSES, 7) and oh.dtype == lib.float32
    assert oh.sum(1).tolist() == [[1.0] * 7]


@LIBS
def test_sampling_grows_the_buffer(lib):
    lib.manual_seed(0)
    model = P.build_wavenet(lib)
    prime = lib.randint(0, P.CLASSES, (3, 5))
    drawn = P.generate(lib, model, prime, 7, temp=0.5)
    assert tuple(drawn.shape) == (3, 12) and drawn.dtype == lib.int64
    assert lib.equal(drawn[:, :5], prime)
    assert model.training
    # a tiny temperature draws the argmax
    with lib.no_grad():
        logits = model(P.one_hot(lib, prime))[:, :, -1]
    probs = lib.nn.functional.softmax(logits / 1e-3, -1)
    pick = lib.multinomial(probs, 1)
    assert tuple(pick.shape) == (3, 1)
    assert pick[:, 0].tolist() == logits.argmax(-1).tolist()

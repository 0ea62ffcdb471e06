"""The BYOL pre-training and FixMatch training of ``byol_fixmatch.py``, run with gpugrad and with
PyTorch: both learn (the BYOL loss falls and a linear probe on the frozen encoder classifies the
textures; FixMatch's pseudo-labels become confident and its model and EMA classify the held-out
textures), gpugrad within a band of PyTorch. In float64, from one set of weights and with the
augmentations drawn from NumPy, the two libraries take the same BYOL steps (online, predictor
and EMA target, by the loop and by the ``_foreach`` update) and the same FixMatch steps (model,
``AveragedModel`` by ``avg_fn`` and by ``get_ema_multi_avg_fn``, learning rates)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

from ._compare import load

PROGRAM = load("byol_fixmatch")
CHANCE = 1 / PROGRAM.CLASSES
LIBS = (gpugrad, torch)


def test_byol_and_fixmatch_learn_like_torch():
    theirs, ours = (PROGRAM.main(lib) for lib in (torch, gpugrad))
    for result in (ours, theirs):
        assert result["finite"] and result["target_frozen"], result
        assert result["byol_final_loss"] < 0.95 * result["byol_initial_loss"], result
        assert result["probe_after"] > CHANCE + 0.5, result
        assert result["target_probe"] > CHANCE + 0.4, result
        assert result["fixmatch_final_loss"] < 0.5 * result["fixmatch_initial_loss"], result
        assert result["mask_rate_first"] < 0.2 < 0.6 < result["mask_rate_last"], result
        assert result["fixmatch_accuracy"] > CHANCE + 0.4, result
        assert result["ema_accuracy"] > CHANCE + 0.35, result
        assert result["n_averaged"] == 60, result
    # the schedules are arithmetic: the same in both
    for key in ("tau_first", "tau_last", "byol_lr_end", "lr_max", "lr_last"):
        assert ours[key] == pytest.approx(theirs[key], rel=1e-12, abs=1e-15), key
    # different random streams: compare learning, not bits
    assert abs(ours["byol_final_loss"] - theirs["byol_final_loss"]) <= 0.5, (ours, theirs)
    assert ours["probe_after"] >= theirs["probe_after"] - 0.15, (ours, theirs)
    assert abs(ours["fixmatch_final_loss"] - theirs["fixmatch_final_loss"]) <= 0.3, (ours, theirs)
    assert ours["fixmatch_accuracy"] >= theirs["fixmatch_accuracy"] - 0.25, (ours, theirs)
    assert ours["ema_accuracy"] >= theirs["ema_accuracy"] - 0.25, (ours, theirs)


def numpy_state(module):
    return {k: v.detach().numpy().copy() for k, v in module.state_dict().items()}


def copy_into(source, destination):
    """Load gpugrad module ``source``'s state into the PyTorch module ``destination``."""
    state = source.state_dict()
    assert list(state) == list(destination.state_dict())
    destination.load_state_dict({k: torch.from_numpy(v.detach().numpy().copy())
                                 for k, v in state.items()})


def assert_states_close(ours, theirs, rtol=1e-9):
    assert list(ours) == list(theirs)
    for key in theirs:
        assert ours[key].dtype == theirs[key].dtype, key
        scale = max(np.abs(theirs[key]).max(), 1e-300)
        np.testing.assert_allclose(ours[key], theirs[key], rtol=0, atol=rtol * scale,
                                   err_msg=key)


def data64(n=96, seed=7):
    images, labels = PROGRAM.textures(n, seed)
    return images.astype("float64"), labels


def twin_byol():
    gpugrad.manual_seed(0)
    ours = [m.double() for m in PROGRAM.build_byol(gpugrad)]
    torch.manual_seed(0)
    theirs = [m.double() for m in PROGRAM.build_byol(torch)]
    for a, b in zip(ours, theirs):
        copy_into(a, b)
    return ours, theirs


def run_byol(lib, online, predictor, target, steps=3, foreach=False):
    images, _ = data64()
    rng = np.random.default_rng(11)
    optimizer = lib.optim.SGD(list(online.parameters()) + list(predictor.parameters()),
                              lr=0.05, momentum=0.9, weight_decay=1e-4)
    scheduler = lib.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    losses = []
    for step in range(steps):
        index = rng.permutation(len(images))[:32]
        x = lib.from_numpy(images[index])
        loss = PROGRAM.byol_step(lib, online, predictor, target, x, optimizer,
                                 PROGRAM.tau_at(step, steps, base=0.9), rng=rng,
                                 foreach=foreach)
        assert loss.dtype == lib.float64
        scheduler.step()
        losses.append(loss.item())
    return losses, optimizer


@pytest.mark.parametrize("foreach", [False, True], ids=["loop", "foreach"])
def test_byol_steps_match_in_float64(foreach):
    ours, theirs = twin_byol()
    l_ours, _ = run_byol(gpugrad, *ours, foreach=foreach)
    l_theirs, _ = run_byol(torch, *theirs, foreach=foreach)
    np.testing.assert_allclose(l_ours, l_theirs, rtol=1e-10)
    for a, b in zip(ours, theirs):
        assert_states_close(numpy_state(a), numpy_state(b))
    online, _, target = theirs
    # the target moved towards the online network but is not equal to it, and stayed frozen
    moved = [float((o - t).detach().abs().max()) for o, t in zip(online.parameters(),
                                                        target.parameters())]
    assert max(moved) > 0
    for _lib, (_, _, tgt) in zip(LIBS, (ours, theirs)):
        assert all(not p.requires_grad and p.grad is None for p in tgt.parameters())


def test_loop_and_foreach_updates_agree():
    """The two ways of writing the EMA give the same target, in each library."""
    for lib in LIBS:
        lib.manual_seed(3)
        online, _, target = PROGRAM.build_byol(lib)
        other = [t.detach().clone() for t in target.parameters()]
        with lib.no_grad():
            for p in online.parameters():
                p.add_(0.1)
        PROGRAM.update_target(lib, online, target, 0.9, foreach=False)
        clone = PROGRAM.build_byol(lib)[2]
        with lib.no_grad():
            for c, o in zip(clone.parameters(), other):
                c.copy_(o)
        PROGRAM.update_target(lib, online, clone, 0.9, foreach=True)
        for a, b in zip(target.parameters(), clone.parameters()):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7)


def test_interleave_round_trip():
    x = np.arange(7 * 4 * 3, dtype="float64").reshape(7 * 4, 3)
    out = []
    for lib in LIBS:
        t = lib.from_numpy(x)
        mixed = PROGRAM.interleave(lib, t, 7)
        assert np.array_equal(PROGRAM.de_interleave(lib, mixed, 7).numpy(), x)
        out.append(mixed.numpy())
    np.testing.assert_array_equal(out[0], out[1])


@pytest.mark.parametrize("ema_kind", ["avg_fn", "multi"])
def test_fixmatch_steps_match_in_float64(ema_kind):
    images, labels = data64(n=112, seed=8)
    gpugrad.manual_seed(0)
    ours = PROGRAM.build_classifier(gpugrad).double()
    torch.manual_seed(0)
    theirs = PROGRAM.build_classifier(torch).double()
    copy_into(ours, theirs)
    runs = []
    for lib, model in zip(LIBS, (ours, theirs)):
        ema = PROGRAM.make_ema(lib, model, decay=0.9, kind=ema_kind)
        optimizer = lib.optim.SGD(PROGRAM.fixmatch_groups(model, 5e-4), lr=0.1, momentum=0.9,
                                  nesterov=True)
        assert [len(g["params"]) for g in optimizer.param_groups] == [3, 7]
        scheduler = lib.optim.lr_scheduler.LambdaLR(optimizer,
                                                    PROGRAM.cosine_with_warmup(2, 6))
        rng = np.random.default_rng(12)
        records = []
        for _ in range(4):
            li = rng.integers(0, 16, 8)
            ui = 16 + rng.integers(0, 96, 24)
            records.append(PROGRAM.fixmatch_step(
                lib, model, ema, optimizer, scheduler, lib.from_numpy(images[li]),
                lib.from_numpy(labels[li]), lib.from_numpy(images[ui]), rng=rng, mu=3,
                threshold=0.3, T=0.5) + tuple(g["lr"] for g in optimizer.param_groups))
        runs.append((records, numpy_state(model), numpy_state(ema),
                     PROGRAM.accuracy(lib, ema, lib.from_numpy(images), lib.from_numpy(labels))))
    (r_ours, m_ours, e_ours, a_ours), (r_theirs, m_theirs, e_theirs, a_theirs) = runs
    np.testing.assert_allclose(np.array(r_ours), np.array(r_theirs), rtol=1e-9, atol=1e-12)
    # some pseudo-labels passed the threshold, so the unlabelled loss was exercised
    assert max(r[3] for r in r_theirs) > 0 and max(r[2] for r in r_theirs) > 0
    assert_states_close(m_ours, m_theirs)
    assert_states_close(e_ours, e_theirs)
    assert int(e_theirs["n_averaged"]) == 4
    assert a_ours == a_theirs

"""The SimCLR pre-training of ``simclr_lars.py`` with its hand-written LARS, run with gpugrad and
with PyTorch: both learn (the NT-Xent loss falls, the frozen features classify the shapes well
above chance), and with one set of weights in float64 the two libraries compute the same
augmentations, loss, gradients, LARS steps and optimizer state_dicts. The last four tests hold
gpugrad's ``Optimizer`` to PyTorch 2.13's: ``repr``, ``named_parameters()`` groups, and
``__setstate__`` (called by ``load_state_dict`` and by ``copy.deepcopy``)."""

from __future__ import annotations

import copy
import io

import numpy as np
import pytest
import torch

import gpugrad

from ._compare import both, load

SIMCLR = load("simclr_lars")
CHANCE = 1 / SIMCLR.CLASSES
LIBS = (gpugrad, torch)


def test_simclr_with_lars_learns_like_torch():
    ours, theirs = both(SIMCLR.main)
    for result in (ours, theirs):
        assert result["resumed"].pop("repr").startswith("LARS (\nParameter Group 0\n")
        assert result["steps"] == 80 and result["finite"], result
        assert result["initial_loss"] < result["uniform_loss"], result
        assert result["final_loss"] < 0.95 * result["initial_loss"], result
        assert result["probe_after"] > CHANCE + 0.35, result
        assert result["knn_after"] > CHANCE + 0.25, result
        assert result["lr_peak"] == pytest.approx(1.0) and result["lr_end"] < 1e-12, result
        resumed = result["resumed"]
        assert resumed["step"] == 40.0 and resumed["n_state"] == 11, result
        assert resumed["initial_lr"] == 1.0
        assert resumed["lr"] == pytest.approx(resumed["scheduler_last_lr"])
    assert ours["resumed"] == pytest.approx(theirs["resumed"], rel=1e-12)
    # different random streams: compare convergence, not bits
    assert abs(ours["final_loss"] - theirs["final_loss"]) <= 0.3, (ours, theirs)
    assert ours["probe_after"] >= theirs["probe_after"] - 0.15, (ours, theirs)
    assert ours["knn_after"] >= theirs["knn_after"] - 0.15, (ours, theirs)


def twin_models(dtype="float64"):
    """The model built by gpugrad and by PyTorch, PyTorch's loaded with gpugrad's weights and
    BatchNorm buffers."""
    gpugrad.manual_seed(0)
    ours = SIMCLR.build(gpugrad)
    torch.manual_seed(0)
    theirs = SIMCLR.build(torch)
    if dtype == "float64":
        ours.double()
        theirs.double()
    our_state = ours.state_dict()
    assert list(our_state) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    theirs.load_state_dict({k: torch.from_numpy(v.detach().cpu().numpy().copy())
                            for k, v in our_state.items()})
    return ours, theirs


def views(seed, n=16):
    """Two fixed float64 views of ``n`` drawings (NumPy), the same for both libraries."""
    images, _ = SIMCLR.drawings(n, seed)
    rng = np.random.default_rng(seed + 1)
    first = images + 0.1 * rng.standard_normal(images.shape)
    second = np.roll(images, 1, axis=3) + 0.1 * rng.standard_normal(images.shape)
    return first.astype("float64"), second.astype("float64")


def numpy_state(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def assert_states_close(ours, theirs, rtol=1e-10, floor=0.0):
    """Same keys and dtypes, values within ``rtol`` of each tensor's largest entry (or of
    ``floor``, for tensors that are zero up to rounding: the bias of a convolution followed by
    BatchNorm has a zero gradient)."""
    assert list(ours) == list(theirs)
    for key in theirs:
        assert ours[key].dtype == theirs[key].dtype, key
        scale = max(np.abs(theirs[key]).max(), floor, 1e-300)
        np.testing.assert_allclose(ours[key], theirs[key], rtol=0, atol=rtol * scale,
                                   err_msg=key)


def test_transform_is_the_same_augmentation():
    """Crop-and-resize, roll, masked flip, reflect-pad crop and noise from fixed draws."""
    images, _ = SIMCLR.drawings(8, seed=3)
    rng = np.random.default_rng(4)
    flip = rng.random(8) < 0.5
    offsets = rng.integers(0, 5, (8, 2))
    noise = 0.1 * rng.standard_normal(images.shape)
    out = []
    for lib in LIBS:
        x = lib.from_numpy(images.astype("float64"))
        y = SIMCLR.transform(lib, x, (1, 2, 9), (2, -1), lib.from_numpy(flip),
                             lib.from_numpy(offsets), lib.from_numpy(noise))
        assert tuple(y.shape) == (8, 1, 12, 12) and y.dtype == lib.float64
        out.append(y.numpy())
        # the random version: right shape and dtype
        lib.manual_seed(0)
        z = SIMCLR.augment(lib, lib.from_numpy(images))
        assert tuple(z.shape) == (8, 1, 12, 12) and z.dtype == lib.float32
    np.testing.assert_allclose(out[0], out[1], rtol=0, atol=1e-12)


@pytest.mark.parametrize("fill", [-9e15, float("-inf")], ids=["-9e15", "-inf"])
def test_same_weights_same_nt_xent_and_gradients(fill):
    ours, theirs = twin_models()
    first, second = views(seed=5)
    losses, grads = [], []
    for lib, model in zip(LIBS, (ours, theirs)):
        model.train()
        z1, z2 = model(lib.from_numpy(first)), model(lib.from_numpy(second))
        loss = SIMCLR.nt_xent(lib, z1, z2, temperature=0.5, fill=fill)
        assert loss.dtype == lib.float64
        loss.backward()
        losses.append(loss.item())
        grads.append({n: p.grad.numpy().copy() for n, p in model.named_parameters()})
    assert losses[0] == pytest.approx(losses[1], rel=1e-10, abs=1e-12)
    assert list(grads[0]) == list(grads[1])
    largest = max(np.abs(g).max() for g in grads[1].values())
    assert_states_close(grads[0], grads[1], floor=1e-3 * largest)
    # the BatchNorm running statistics saw the same two batches
    assert_states_close(numpy_state(ours), numpy_state(theirs))


def run_lars(lib, model, steps, optimizer=None, scheduler=None, seed=10):
    """``steps`` LARS steps of NT-Xent on fixed views; returns the optimizer, the scheduler
    and the losses."""
    LARS = SIMCLR.make_lars(lib)
    if optimizer is None:
        optimizer = LARS(SIMCLR.param_groups(model, weight_decay=1e-3), lr=0.5, momentum=0.9,
                         eta=0.02)
        scheduler = lib.optim.lr_scheduler.LambdaLR(optimizer, SIMCLR.warmup_cosine(10, 2))
    model.train()
    losses = []
    for i in range(steps):
        first, second = views(seed + i)
        loss = SIMCLR.nt_xent(lib, model(lib.from_numpy(first)), model(lib.from_numpy(second)))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    return optimizer, scheduler, losses


def numpy_optimizer_state(optimizer):
    state = optimizer.state_dict()
    return {f"{index}.{key}": (value.numpy().copy() if hasattr(value, "numpy") else value)
            for index, entry in state["state"].items() for key, value in entry.items()}


def test_five_lars_steps_match():
    ours, theirs = twin_models()
    runs = [run_lars(lib, model, 5) for lib, model in zip(LIBS, (ours, theirs))]
    (opt_ours, _, l_ours), (opt_theirs, _, l_theirs) = runs
    np.testing.assert_allclose(l_ours, l_theirs, rtol=1e-10)
    assert_states_close(numpy_state(ours), numpy_state(theirs), rtol=1e-9)
    assert_states_close(numpy_optimizer_state(opt_ours), numpy_optimizer_state(opt_theirs),
                        rtol=1e-9)
    assert [g["lr"] for g in opt_ours.param_groups] == \
        pytest.approx([g["lr"] for g in opt_theirs.param_groups], rel=1e-15)
    # the gradients were not all zero, so the steps compared real updates
    assert sum(float((p.grad != 0).sum()) for p in theirs.parameters()) > 0


def test_lars_closure_returns_the_loss():
    ours, theirs = twin_models()
    first, second = views(seed=20)
    returned = []
    for lib, model in zip(LIBS, (ours, theirs)):
        optimizer = SIMCLR.make_lars(lib)(model.parameters(), lr=0.1)

        def closure(lib=lib, model=model, optimizer=optimizer):
            optimizer.zero_grad()
            loss = SIMCLR.nt_xent(lib, model(lib.from_numpy(first)),
                                  model(lib.from_numpy(second)))
            loss.backward()
            return loss

        loss = optimizer.step(closure)
        assert loss.requires_grad and loss.grad_fn is not None
        returned.append(loss.item())
    assert returned[0] == pytest.approx(returned[1], rel=1e-10)
    assert_states_close(numpy_state(ours), numpy_state(theirs), rtol=1e-9)


def describe(state_dict):
    """The structure of an optimizer state_dict: state keys, entry keys, value types and
    dtypes, and the groups' keys and param ids."""
    state = {index: [(key, type(value).__name__, str(getattr(value, "dtype", "")).split(".")[-1],
                      tuple(getattr(value, "shape", ())))
                     for key, value in entry.items()]
             for index, entry in state_dict["state"].items()}
    groups = [(sorted(group), group["params"]) for group in state_dict["param_groups"]]
    return {"keys": list(state_dict), "state": state, "groups": groups}


def saved_and_loaded(lib, model, optimizer):
    buffer = io.BytesIO()
    lib.save(optimizer.state_dict(), buffer)
    buffer.seek(0)
    state_dict = lib.load(buffer)
    fresh = SIMCLR.make_lars(lib)(SIMCLR.param_groups(model, weight_decay=1e-3), lr=0.5,
                                  momentum=0.9, eta=0.02)
    fresh.load_state_dict(state_dict)
    return state_dict, fresh


def test_state_dict_round_trip_has_torchs_structure():
    ours, theirs = twin_models()
    described, resumed = [], []
    for lib, model in zip(LIBS, (ours, theirs)):
        optimizer, scheduler, _ = run_lars(lib, model, 3)
        before = optimizer.state_dict()
        loaded, fresh = saved_and_loaded(lib, model, optimizer)
        after = fresh.state_dict()
        for sd in (before, loaded, after):
            described.append(describe(sd))
        assert describe(after) == describe(before)
        assert type(after["state"][0]["step"]) is type(before["state"][0]["step"])
        # the resumed schedule picks up where the first one stopped
        scheduler = lib.optim.lr_scheduler.LambdaLR(fresh, SIMCLR.warmup_cosine(10, 2),
                                                    last_epoch=2)
        # continuing: two more steps with the fresh optimizer
        run_lars(lib, model, 2, fresh, scheduler, seed=13)
        resumed.append((numpy_state(model), numpy_optimizer_state(fresh),
                        [g["lr"] for g in fresh.param_groups], scheduler.last_epoch))
    for ours_d, theirs_d in zip(described[:3], described[3:]):
        assert ours_d == theirs_d
    theirs_d = described[3]
    assert theirs_d["state"][0] == [("step", "Tensor", "float32", ()),
                                    ("mu", "Tensor", "float64", (16, 1, 3, 3))]
    assert theirs_d["groups"][0][1] == [0, 1, 2, 3] and len(theirs_d["groups"]) == 2
    (s_ours, o_ours, lr_ours, e_ours), (s_theirs, o_theirs, lr_theirs, e_theirs) = resumed
    assert e_ours == e_theirs == 5
    assert lr_ours == pytest.approx(lr_theirs, rel=1e-15)
    assert_states_close(s_ours, s_theirs, rtol=1e-9)
    assert_states_close(o_ours, o_theirs, rtol=1e-9)


def test_loading_casts_buffers_to_the_params_dtype_but_not_step():
    """A float32 model's LARS state loaded into the same optimizer over float64 parameters:
    the momentum buffers become float64, ``step`` stays as saved (PyTorch's rule)."""
    described = []
    for lib in LIBS:
        lib.manual_seed(0)
        model = SIMCLR.build(lib)
        first, second = views(seed=30)
        optimizer = SIMCLR.make_lars(lib)(SIMCLR.param_groups(model, 1e-3), lr=0.5)
        loss = SIMCLR.nt_xent(lib, model(lib.from_numpy(first.astype("float32"))),
                              model(lib.from_numpy(second.astype("float32"))))
        loss.backward()
        optimizer.step()
        saved = optimizer.state_dict()
        model.double()
        fresh = SIMCLR.make_lars(lib)(SIMCLR.param_groups(model, 1e-3), lr=0.5)
        fresh.load_state_dict(saved)
        first_param = fresh.param_groups[0]["params"][0]
        entry = fresh.state[first_param]
        assert entry["mu"].dtype == lib.float64
        assert entry["step"].dtype == lib.float32
        described.append(describe(fresh.state_dict()))
    assert described[0] == described[1]


def test_knn_vote_agrees_on_the_same_features():
    rng = np.random.default_rng(40)
    bank = rng.standard_normal((60, 8))
    bank_labels = rng.integers(0, SIMCLR.CLASSES, 60)
    query = bank[:20] + 0.3 * rng.standard_normal((20, 8))
    accuracies = [SIMCLR.knn_accuracy(lib, lib.from_numpy(bank), lib.from_numpy(bank_labels),
                                      lib.from_numpy(query), lib.from_numpy(bank_labels[:20]),
                                      k=5)
                  for lib in LIBS]
    assert accuracies[0] == accuracies[1] > CHANCE


def test_optimizer_repr_matches_torch():
    """``print(optimizer)``: PyTorch leaves a blank line between parameter groups."""
    reprs = []
    for lib in LIBS:
        lib.manual_seed(0)
        model = SIMCLR.build(lib)
        reprs.append(repr(SIMCLR.make_lars(lib)(SIMCLR.param_groups(model, 1e-6), lr=0.3)))
    assert "\n\nParameter Group 1\n" in reprs[1]
    assert reprs[0] == reprs[1]


def test_lars_over_named_parameters():
    """PyTorch >= 2.6 takes ``model.named_parameters()``: each group gets ``param_names``,
    which LARS uses to exclude biases and BatchNorm parameters; the steps equal those of the
    two explicit groups, and the names travel in the state_dict."""
    ours, theirs = twin_models()
    runs = []
    for lib, model in zip(LIBS, (ours, theirs)):
        LARS = SIMCLR.make_lars(lib)
        optimizer = LARS(model.named_parameters(), lr=0.5, weight_decay=1e-3, eta=0.02)
        names = [n for n, _ in model.named_parameters()]
        assert optimizer.param_groups[0]["param_names"] == names
        assert optimizer.state_dict()["param_groups"][0]["param_names"] == names
        scheduler = lib.optim.lr_scheduler.LambdaLR(optimizer, SIMCLR.warmup_cosine(10, 2))
        run_lars(lib, model, 3, optimizer, scheduler)
        runs.append(numpy_state(model))
    assert_states_close(runs[0], runs[1], rtol=1e-9)
    # the same three steps over the two explicit groups
    torch.manual_seed(0)
    grouped = SIMCLR.build(torch).double()
    grouped.load_state_dict(twin_models()[1].state_dict())
    run_lars(torch, grouped, 3)
    assert_states_close(numpy_state(grouped), runs[1], rtol=1e-9)


def test_old_checkpoint_gets_the_new_option_from_setstate():
    """``load_state_dict`` ends in ``self.__setstate__``: LARS's override fills ``lars_adapt``
    into the groups of a checkpoint saved before the option existed."""
    ours, theirs = twin_models()
    results = []
    for lib, model in zip(LIBS, (ours, theirs)):
        optimizer, _, _ = run_lars(lib, model, 1)
        old = copy.deepcopy(optimizer.state_dict())
        for group in old["param_groups"]:
            del group["lars_adapt"]
        fresh = SIMCLR.make_lars(lib)(SIMCLR.param_groups(model, 1e-3), lr=0.5)
        fresh.load_state_dict(old)
        results.append([group.get("lars_adapt", "missing") for group in fresh.param_groups])
    assert results[1] == [True, True]
    assert results[0] == results[1]


def test_deepcopy_of_the_optimizer():
    """``copy.deepcopy(optimizer)`` (a snapshot of the whole object) goes through
    ``Optimizer.__getstate__``/``__setstate__``, which LARS's override extends."""
    ours, theirs = twin_models()
    steps = []
    for lib, model in zip(LIBS, (ours, theirs)):
        optimizer, _, _ = run_lars(lib, model, 2)
        snapshot = copy.deepcopy(optimizer)
        assert len(snapshot.state) == len(optimizer.state)
        first = snapshot.param_groups[0]["params"][0]
        assert first is not optimizer.param_groups[0]["params"][0]
        steps.append(float(snapshot.state[first]["step"]))
    assert steps == [2.0, 2.0]

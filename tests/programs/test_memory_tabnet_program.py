"""A Neural Turing Machine on the copy task and TabNet-lite on a tabular task
(``memory_tabnet.py``), run with gpugrad and with PyTorch: both learn (the copy task's bit
errors fall, the held-out accuracy rises) and gpugrad lands in a band around PyTorch (the
random streams differ, so that compares learning, not bits); the hand-written sparsemax
``autograd.Function`` passes ``gradcheck`` in float64 and gives PyTorch's values and
gradients; and from shared float64 weights and inputs, a training step of each model gives
PyTorch's losses, gradients, optimizer state and updated weights to rounding, for both ways
of writing the circular shift and the memory write and both gradient clippings."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

from ._compare import load

P = load("memory_tabnet")


def assert_close(got, expected, key, tol=1e-10):
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.shape == expected.shape, (key, got.shape, expected.shape)
    scale = max(float(np.abs(expected).max()) if expected.size else 0.0, 1e-300)
    np.testing.assert_allclose(got, expected, rtol=0, atol=tol * scale, err_msg=key)


def numpy_state(module) -> dict:
    return {k: v.detach().numpy().copy() for k, v in module.state_dict().items()}


def twin_models(build, **kwargs):
    """``build`` made by gpugrad and by PyTorch in float64, PyTorch's loaded with gpugrad's
    parameters and buffers."""
    gpugrad.manual_seed(0)
    ours = build(gpugrad, **kwargs).double()
    torch.manual_seed(0)
    theirs = build(torch, **kwargs).double()
    state = ours.state_dict()
    assert list(state) == list(theirs.state_dict())
    theirs.load_state_dict({k: torch.from_numpy(v.detach().numpy().copy())
                            for k, v in state.items()})
    return ours, theirs


def snapshot(model, optimizer) -> dict:
    out = {}
    for k, p in model.named_parameters():
        out[k] = p.detach().numpy().copy()
        if p.grad is not None:
            out[k + ".grad"] = p.grad.numpy().copy()
    for k, b in model.named_buffers():
        out["buffer." + k] = b.numpy().copy()
    for i, p in enumerate(optimizer.param_groups[0]["params"]):
        for name, value in optimizer.state[p].items():
            out[f"opt.{i}.{name}"] = (float(value) if name == "step"
                                      else value.numpy().copy())
    return out


def assert_snapshots_match(mine: dict, ref: dict, tol=1e-10):
    assert mine.keys() == ref.keys(), sorted(set(mine) ^ set(ref))
    for key, expected in ref.items():
        assert_close(mine[key], expected, key, tol)


# ---------------------------------------------------------------------------------------
# learning


def test_ntm_learns_copy_like_torch():
    ours, theirs = P.train_ntm(gpugrad, steps=40), P.train_ntm(torch, steps=40)
    for result in (ours, theirs):
        # chance is half of the 16 bits of an average sequence
        assert 6.5 < result["initial_errors"] < 10, result
        assert result["final_errors"] < result["initial_errors"] - 1.5, result
        assert result["final_loss"] < result["initial_loss"] - 0.04, result
        assert result["buffers"] == ["mem_bias"] and not result["mem_bias_trainable"], result
    assert abs(ours["final_errors"] - theirs["final_errors"]) < 1.5, (ours, theirs)
    assert abs(ours["final_loss"] - theirs["final_loss"]) < 0.06, (ours, theirs)


def test_tabnet_learns_like_torch():
    ours, theirs = P.train_tabnet(gpugrad, epochs=4), P.train_tabnet(torch, epochs=4)
    for result in (ours, theirs):
        assert result["initial_acc"] < 0.65, result
        assert result["final_acc"] > 0.72, result
        assert result["final_loss"] < result["initial_loss"] - 0.1, result
        assert result["batches"] == 4 * 6, result  # 768 rows, 128 a batch, last one dropped
        assert result["lrs"] == pytest.approx([0.02, 0.02, 0.016, 0.016]), result
        assert result["mask_rows_sum"] == pytest.approx(1.0, abs=1e-5), result
        assert result["mask_zero_share"] > 0.2, result  # sparsemax is sparse
        assert result["bn_running_var_min"] > 0.1, result
    assert abs(ours["final_acc"] - theirs["final_acc"]) < 0.1, (ours, theirs)
    assert abs(ours["final_loss"] - theirs["final_loss"]) < 0.15, (ours, theirs)


# ---------------------------------------------------------------------------------------
# sparsemax


def test_sparsemax_gradcheck_and_values_match_torch():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((5, 7)) * 2
    w = rng.standard_normal((5, 7))
    results = []
    for lib in (gpugrad, torch):
        sparsemax = P.make_sparsemax(lib).apply
        x = lib.tensor(z, dtype=lib.float64, requires_grad=True)
        assert lib.autograd.gradcheck(sparsemax, (x, -1), eps=1e-6, atol=1e-8)
        out = sparsemax(x, -1)
        assert out.requires_grad and out.grad_fn is not None
        (out * lib.tensor(w, dtype=lib.float64)).sum().backward()
        results.append((out.detach().numpy(), x.grad.numpy().copy()))
        # rows sum to one, nothing negative, some zeros
        probs = out.detach().numpy()
        np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-12)
        assert probs.min() >= 0 and (probs == 0).any()
        # the gradient of a sum over a row is zero (the simplex constraint)
        x.grad = None
        sparsemax(x, -1).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), 0.0, atol=1e-12)
    assert_close(results[0][0], results[1][0], "sparsemax")
    assert_close(results[0][1], results[1][1], "sparsemax grad")
    # a worked example: sparsemax([1, 0.5, -1]) = [0.75, 0.25, 0]
    for lib in (gpugrad, torch):
        out = P.make_sparsemax(lib).apply(lib.tensor([[1.0, 0.5, -1.0]]), -1)
        np.testing.assert_allclose(out.numpy(), [[0.75, 0.25, 0.0]], rtol=1e-6)


@pytest.mark.parametrize("lib", [gpugrad, torch], ids=["gpugrad", "torch"])
def test_sparsemax_without_grad_and_on_3d(lib):
    sparsemax = P.make_sparsemax(lib).apply
    z = lib.tensor(np.random.default_rng(1).standard_normal((2, 3, 6)), dtype=lib.float32)
    out = sparsemax(z, -1)
    assert not out.requires_grad and out.dtype == lib.float32
    assert tuple(out.shape) == (2, 3, 6)
    np.testing.assert_allclose(out.sum(-1).numpy(), 1.0, rtol=1e-5)
    with lib.no_grad():
        w = lib.zeros(2, 3, 6, requires_grad=True)
        assert not sparsemax(w, -1).requires_grad
    # all-equal scores spread evenly
    np.testing.assert_allclose(sparsemax(lib.zeros(1, 4), -1).numpy(), 0.25)


# ---------------------------------------------------------------------------------------
# float64 from shared weights


@pytest.mark.parametrize("shift_mode,write_mode,clip", [("roll", "bmm", "value"),
                                                         ("conv", "outer", "norm")])
def test_ntm_same_start_same_updates_in_float64(shift_mode, write_mode, clip):
    """Two RMSprop steps (momentum kicks in on the second) on two copy batches: losses, bit
    errors, every gradient, RMSprop's square averages and momentum buffers and the weights
    agree with PyTorch."""
    kwargs = dict(hidden=12, n=8, m=5, shift_mode=shift_mode, write_mode=write_mode)
    ours, theirs = twin_models(P.build_ntm, **kwargs)
    rng = np.random.default_rng(3)
    batches = [P.copy_batch(rng, 3, length) for length in (3, 4)]
    infos, snaps = [], []
    for lib, model in ((gpugrad, ours), (torch, theirs)):
        opt = lib.optim.RMSprop(model.parameters(), lr=1e-2, momentum=0.9, alpha=0.95)
        info = []
        for inp, seq in batches:
            inp = lib.tensor(inp, dtype=lib.float64)
            seq = lib.tensor(seq, dtype=lib.float64)
            info.append(P.ntm_step(lib, model, opt, inp, seq, clip=clip))
        infos.append(info)
        snaps.append(snapshot(model, opt))
    for (loss_a, err_a), (loss_b, err_b) in zip(*infos):
        assert loss_a == pytest.approx(loss_b, rel=1e-10)
        assert err_a == err_b
    assert_snapshots_match(*snaps)


def test_ntm_shift_and_write_forms_agree():
    """The ``roll`` and ``conv1d`` shifts give the same weighting; the ``bmm`` and ``outer``
    writes give the same memory; in both libraries."""
    rng = np.random.default_rng(0)
    w = rng.dirichlet(np.ones(8), size=3)
    s = rng.dirichlet(np.ones(3), size=3)
    mem = rng.standard_normal((3, 8, 5))
    e, a = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    outs = []
    for lib in (gpugrad, torch):
        F = lib.nn.functional
        wt, st = lib.tensor(w), lib.tensor(s)
        rolled = (st[:, 0:1] * lib.roll(wt, 1, dims=1) + st[:, 1:2] * wt
                  + st[:, 2:3] * lib.roll(wt, -1, dims=1))
        padded = lib.cat([wt[:, -1:], wt, wt[:, :1]], 1)
        conv = F.conv1d(padded.unsqueeze(0), st.unsqueeze(1), groups=3).squeeze(0)
        np.testing.assert_allclose(rolled.numpy(), conv.numpy(), rtol=1e-12)
        ref = np.stack([s[b, 0] * np.roll(w[b], 1) + s[b, 1] * w[b] + s[b, 2] * np.roll(w[b], -1)
                        for b in range(3)])
        np.testing.assert_allclose(rolled.numpy(), ref, rtol=1e-12)
        memory = lib.tensor(mem)
        writes = {}
        for mode in ("bmm", "outer"):
            model = P.build_ntm(lib, n=8, m=5, write_mode=mode)
            writes[mode] = model.write(memory, wt, lib.tensor(e), lib.tensor(a)).numpy()
        np.testing.assert_allclose(writes["bmm"], writes["outer"], rtol=1e-12)
        outs.append((rolled.numpy(), writes["bmm"]))
    assert_close(outs[0][0], outs[1][0], "shift")
    assert_close(outs[0][1], outs[1][1], "write")


def test_tabnet_same_start_same_update_in_float64():
    """Two Adam steps with ghost batch norm in training mode, then an evaluation pass:
    logits, the sparsity term, the masks, every gradient, Adam's moments, the weights and the
    batch-norm running statistics agree with PyTorch."""
    ours, theirs = twin_models(P.build_tabnet, virtual_batch_size=16)
    x, cat, y = P.tabular_data(40, seed=2)
    results, snaps = [], []
    for lib, model in ((gpugrad, ours), (torch, theirs)):
        xb = lib.tensor(x, dtype=lib.float64)
        cb, yb = lib.from_numpy(cat), lib.from_numpy(y)
        opt = lib.optim.Adam(model.parameters(), lr=1e-2)
        sched = lib.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
        row = []
        for _ in range(2):
            loss, logits, m_loss, masks = P.tabnet_step(lib, model, opt, xb, cb, yb)
            sched.step()
            row += [loss.item(), logits.detach().numpy(), m_loss.item(), masks.detach().numpy()]
        model.eval()
        with lib.no_grad():
            row += [t.numpy() for t in model(xb, cb)[::2]]
        results.append(row)
        snaps.append(snapshot(model, opt))
    for i, (a, b) in enumerate(zip(*results)):
        assert_close(a, b, f"output {i}")
    assert_snapshots_match(*snaps)
    assert ours.feat_transformers[0].layers[0].fc is ours.feat_transformers[2].layers[0].fc


@pytest.mark.parametrize("lib", [gpugrad, torch], ids=["gpugrad", "torch"])
def test_sparsemax_apply_with_keyword_dim(lib):
    """``Function.apply`` binds keyword arguments to ``forward``'s parameters, so
    ``SparsemaxFunction.apply(z, dim=-1)`` is the positional call, gradient included."""
    sparsemax = P.make_sparsemax(lib)
    z = lib.tensor([[1.0, 0.5, -1.0]], dtype=lib.float64, requires_grad=True)
    out = sparsemax.apply(z, dim=-1)
    np.testing.assert_allclose(out.detach().numpy(), [[0.75, 0.25, 0.0]], rtol=1e-12)
    (out * lib.tensor([[1.0, 0.0, 0.0]], dtype=lib.float64)).sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), [[0.5, -0.5, 0.0]], rtol=1e-12)


@pytest.mark.parametrize("lib", [gpugrad, torch], ids=["gpugrad", "torch"])
def test_outer_and_init_check_their_arguments(lib):
    """``torch.outer`` (the row-by-row memory write) takes only vectors; ``nn.init.uniform_``
    refuses ``a > b`` and ``nn.init.normal_`` a negative ``std``, as the tensor methods do."""
    with pytest.raises(RuntimeError, match="1-D"):
        lib.outer(lib.ones(2, 2), lib.ones(2))
    with pytest.raises(RuntimeError, match="1-D"):
        lib.outer(lib.tensor(2.0), lib.ones(2))
    with pytest.raises(RuntimeError):
        lib.nn.init.uniform_(lib.empty(3), 1.0, 0.0)
    with pytest.raises(RuntimeError):
        lib.nn.init.normal_(lib.empty(3), std=-1.0)

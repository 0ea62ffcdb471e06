"""The N-BEATS-style forecaster (``nbeats_windows.py``), run with gpugrad and with PyTorch: both
cut the validation sMAPE well below the naive forecast's and gpugrad's lands in a band around
PyTorch's (the random streams differ); from shared weights and the same windows, float64
updates give PyTorch's sMAPE/MASE losses, gradients (the shared blocks' accumulated over their
uses), clipped norms, learning rates and Adam steps to rounding. Also: the windows made by
``Tensor.unfold`` have PyTorch's values, strides, contiguity and storage offsets and carry
gradients back through overlapping windows; ``unfold``'s edge cases and errors; in-place
writes through unfolded views; and ``nn.functional.unfold`` (image patches) next to
``Tensor.unfold`` (sliding windows)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

from ._compare import load

NB = load("nbeats_windows")
LIBS = pytest.mark.parametrize("lib", [gpugrad, torch], ids=["gpugrad", "torch"])


def layout(t) -> tuple:
    """What a view is: shape, strides, contiguity, storage offset and values."""
    return (tuple(t.shape), tuple(t.stride()), t.is_contiguous(), t.storage_offset(),
            t.tolist())


@pytest.mark.parametrize("config,limit,rel,slack", [
    ({}, 1.6, 0.5, 0.5),
    ({"norm": "last", "sched": "cosine"}, 5.0, 0.6, 1.5),
], ids=["revin-onecycle", "last-cosine"])
def test_nbeats_learns_like_torch(config, limit, rel, slack):
    ours, theirs = NB.main(gpugrad, **config), NB.main(torch, **config)
    for result in (ours, theirs):
        assert result["final_smape"] < limit, result
        assert result["final_smape"] < 0.25 * result["naive_smape"], result
        assert result["final_smape"] < 0.5 * result["initial_smape"], result
        assert result["rollout_smape"] < 0.6 * result["naive_smape"], result
        # early stopping kept the best weights: reloading them gives the best score again
        assert result["reloaded_smape"] == result["final_smape"], result
        assert result["final_smape"] == min(result["history"]), result
        assert result["train_windows"] == 242 and result["batches"] == 7, result
        assert result["val_windows"] == 30 and result["epochs"] == 8, result
        assert result["grad_norms_finite"], result
        assert not result["rollout_requires_grad"] and not result["rollout_is_inference"]
        assert result["lr"] < 1e-3, result
    # the naive forecast is data only: the two libraries agree on it
    assert ours["naive_smape"] == pytest.approx(theirs["naive_smape"], rel=1e-5)
    assert abs(ours["final_smape"] - theirs["final_smape"]) <= (
        rel * theirs["final_smape"] + slack), (ours, theirs)
    assert abs(ours["mase"] - theirs["mase"]) <= rel * theirs["mase"] + slack, (ours, theirs)


# ---------------------------------------------------------------- float64, shared weights
def twin_models(norm: str, hidden: int = 16):
    """The model built by gpugrad and by PyTorch in float64, PyTorch's loaded with gpugrad's
    weights; the bases (buffers) agree before the load."""
    gpugrad.manual_seed(0)
    ours = NB.build_model(gpugrad, hidden=hidden, norm=norm).to(gpugrad.float64)
    torch.manual_seed(0)
    theirs = NB.build_model(torch, hidden=hidden, norm=norm).to(torch.float64)
    state = ours.state_dict()
    assert list(state) == list(theirs.state_dict())
    for name, buf in ours.named_buffers():
        ref = dict(theirs.named_buffers())[name]
        assert buf.dtype == gpugrad.float64
        np.testing.assert_allclose(buf.numpy(), ref.numpy(), rtol=0, atol=1e-6, err_msg=name)
    theirs.load_state_dict({k: torch.from_numpy(v.detach().numpy().copy())
                            for k, v in state.items()})
    return ours, theirs


def first_batch(lib, batch_size: int = 16):
    """The first ``batch_size`` windows (unshuffled) of the float64 series, via the
    ``Dataset``/``DataLoader`` the program uses."""
    series = lib.from_numpy(NB.make_series(length=120).astype(np.float64))
    dataset = NB.build_dataset(lib)(series, step=3)
    loader = lib.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False,
                                       drop_last=True, num_workers=0, collate_fn=None)
    x, y = next(iter(loader))
    assert x.dtype == lib.float64 and tuple(x.shape) == (batch_size, NB.LOOKBACK)
    assert tuple(y.shape) == (batch_size, NB.HORIZON)
    return x, y


def train_steps(lib, model, steps: int = 3) -> list:
    x, y = first_batch(lib)
    optimizer = lib.optim.Adam(model.parameters(), lr=1e-2)
    scheduler = lib.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=2e-2, total_steps=10)
    records = []
    for _ in range(steps):
        optimizer.zero_grad()
        forecast = model(x)
        smape = NB.smape_loss(lib, forecast, y)
        mase = NB.mase_loss(lib, x, forecast, y)
        loss = smape + mase
        loss.backward()
        record = {"smape": smape.item(), "mase": mase.item(), "lr": scheduler.get_last_lr()[0]}
        for name, p in model.named_parameters():
            # the last block's backcast is never used: its layers get no gradient
            record[f"{name}.grad"] = None if p.grad is None else p.grad.numpy().copy()
        record["norm"] = float(lib.nn.utils.clip_grad_norm_(model.parameters(), 5.0))
        for name, p in model.named_parameters():
            if p.grad is not None:
                record[f"{name}.clipped"] = p.grad.numpy().copy()
        optimizer.step()
        scheduler.step()
        for name, p in model.named_parameters():
            record[name] = p.detach().numpy().copy()
        records.append(record)
    return records


@pytest.mark.parametrize("norm", ["revin", "last"])
def test_same_start_same_updates_in_float64(norm):
    """Three Adam steps on one batch: sMAPE, MASE, every gradient (the shared trend and
    seasonality blocks' included), the clipped norm, OneCycleLR's rates and the updated
    weights agree with PyTorch to ~1e-10."""
    ours, theirs = twin_models(norm)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    mine, ref = train_steps(gpugrad, ours), train_steps(torch, theirs)
    for step, (a, b) in enumerate(zip(mine, ref)):
        assert a.keys() == b.keys()
        for key, expected in b.items():
            if expected is None:
                assert a[key] is None, (step, key)
            elif isinstance(expected, float):
                assert a[key] == pytest.approx(expected, rel=1e-10, abs=1e-13), (step, key)
            else:
                scale = max(np.abs(expected).max(), 1e-300)
                np.testing.assert_allclose(a[key], expected, rtol=0, atol=1e-10 * scale,
                                           err_msg=f"step {step} {key}")
    # the shared blocks are one set of parameters: blocks.1 and blocks.3 have none of their own
    names = [n for n, _ in ours.named_parameters()]
    assert not any(n.startswith(("blocks.1.", "blocks.3.")) for n in names), names
    assert "blocks.1.fc.0.weight" in ours.state_dict()
    assert ref[-1]["norm"] > 0
    unused = sorted(k for k, v in ref[0].items() if v is None)
    assert unused == ["blocks.4.basis.back.bias.grad", "blocks.4.basis.back.weight.grad",
                      "blocks.4.theta_b_fc.weight.grad"], unused


@pytest.mark.parametrize("lib", [gpugrad, torch], ids=["gpugrad", "torch"])
def test_shared_block_gradient_is_the_sum_over_its_uses(lib):
    """A block appended twice gets the sum of the gradients two copies of it would get; the
    shared model's ``state_dict`` (with its repeated keys) loads into the unshared one."""
    lib.manual_seed(0)
    shared = NB.build_model(lib, hidden=8, share=True).to(lib.float64)
    unshared = NB.build_model(lib, hidden=8, share=False).to(lib.float64)
    unshared.load_state_dict(shared.state_dict())
    assert shared.blocks[0] is shared.blocks[1] and unshared.blocks[0] is not unshared.blocks[1]
    assert len(list(shared.parameters())) < len(list(unshared.parameters()))
    x, y = first_batch(lib, batch_size=8)
    for model in (shared, unshared):
        NB.smape_loss(lib, model(x), y).backward()
    for i, j in ((0, 1), (2, 3)):
        for (name, p), q, r in zip(shared.blocks[i].named_parameters(),
                                   unshared.blocks[i].parameters(),
                                   unshared.blocks[j].parameters()):
            np.testing.assert_allclose(p.grad.numpy(), (q.grad + r.grad).numpy(), rtol=1e-12,
                                       atol=1e-14, err_msg=f"{i} {name}")
    np.testing.assert_allclose(shared(x).detach().numpy(), unshared(x).detach().numpy(),
                               rtol=1e-14)


def test_losses_by_hand_match_torch():
    """sMAPE with zero denominators and MASE with a constant history: ``torch.where`` and
    ``nan_to_num`` keep them (and their gradients) finite, as in PyTorch."""
    forecast = np.array([[0.0, 1.0, -2.0], [3.0, 0.0, 5.0]])
    target = np.array([[0.0, 2.0, 2.0], [3.0, 0.0, 4.0]])
    history = np.array([[1.0] * 14, np.arange(14.0)])
    out = []
    for lib in (gpugrad, torch):
        f = lib.tensor(forecast, requires_grad=True)
        t, h = lib.tensor(target), lib.tensor(history)
        smape = NB.smape_loss(lib, f, t)
        mase = NB.mase_loss(lib, h, f, t, m=12)
        (smape + mase).backward()
        out.append((smape.item(), mase.item(), f.grad.numpy().copy()))
    assert np.isfinite(out[1][2]).all()
    assert out[0][0] == pytest.approx(out[1][0], rel=1e-14)
    assert out[0][1] == pytest.approx(out[1][1], rel=1e-14)
    np.testing.assert_allclose(out[0][2], out[1][2], rtol=1e-14)


@LIBS
def test_rollout_under_inference_mode(lib):
    """The rollout's inputs are inference tensors; they cannot be used in autograd later,
    and the model still trains afterwards."""
    lib.manual_seed(0)
    model = NB.build_model(lib, hidden=8).eval()
    x = lib.from_numpy(NB.make_series(length=60)[:, :NB.LOOKBACK].copy())
    with lib.inference_mode():
        y_hat = model(x)
    assert y_hat.is_inference() and not y_hat.requires_grad
    with pytest.raises(RuntimeError, match="Inference tensors cannot be saved for backward"):
        (model(x) * y_hat).sum().backward()
    with pytest.raises(RuntimeError, match="Inplace update to inference tensor"):
        y_hat.add_(1)
    roll = NB.rollout(lib, model, x, steps=4)
    assert tuple(roll.shape) == (2, 4) and not roll.requires_grad
    with lib.no_grad():
        first = model(x)[:, :1]
    np.testing.assert_allclose(roll[:, :1].numpy(), first.numpy(), rtol=1e-6)
    model.train()
    NB.smape_loss(lib, model(x), y_hat.clone()).backward()
    unused = {n for n, p in model.named_parameters() if p.grad is None}
    assert unused == {"blocks.4.theta_b_fc.weight", "blocks.4.basis.back.weight",
                      "blocks.4.basis.back.bias"}, unused


# ---------------------------------------------------------------------- Tensor.unfold
def test_unfold_windows_match_torch():
    """1-D and 2-D series windowed by ``unfold``: the views (values, strides, contiguity,
    storage offset), the permuted copies, the dataset's items, and the ``torch.stack`` of
    slices, all as in PyTorch."""
    data = NB.make_series(length=50)
    out = []
    for lib in (gpugrad, torch):
        series = lib.from_numpy(data)
        row = {"1d": layout(series[0].unfold(0, 10, 3)),
               "1d-offset": layout(series[1, 5:].unfold(0, 7, 7)),
               "2d": layout(series.unfold(1, 8, 4)),
               "2d-permuted": layout(series.unfold(1, 8, 4).permute(1, 0, 2)),
               "2d-copied": layout(series.unfold(1, 8, 4).permute(1, 0, 2).contiguous()
                                   .view(-1, 8)),
               "2d-t": layout(series.t().unfold(0, 5, 5)),
               "windows-of-windows": layout(series.unfold(1, 12, 4).unfold(2, 4, 2))}
        dataset = NB.build_dataset(lib)(series, lookback=6, horizon=2, step=5)
        x, y = dataset[3]
        row["dataset"] = (len(dataset), layout(x), layout(y), dataset.windows.is_contiguous())
        sx, sy = NB.stacked_windows(lib, series[0], lookback=6, horizon=2, step=5)
        unf = series[0].unfold(0, 8, 5)
        assert lib.equal(sx, unf[:, :6]) and lib.equal(sy, unf[:, 6:])
        row["stacked"] = (layout(sx), layout(sy))
        base = series[0].unfold(0, 10, 3)
        assert base._base is series or base._base is series._base
        assert base.data_ptr() == series.data_ptr()
        out.append(row)
    assert out[0].keys() == out[1].keys()
    for key in out[1]:
        assert out[0][key] == out[1][key], key


def test_gradient_flows_back_through_overlapping_windows():
    """Each element's gradient is the sum over the windows that read it (overlap 1 to 4
    times here), through ``permute``/``contiguous``/``view`` too, and in float64 to second
    order."""
    rng = np.random.default_rng(0)
    data, weights = rng.normal(size=(2, 23)), rng.normal(size=(5, 2, 7))
    grads = []
    for lib in (gpugrad, torch):
        x = lib.tensor(data, requires_grad=True)
        w = x.unfold(1, 7, 4).permute(1, 0, 2).contiguous()
        assert w.grad_fn is not None and tuple(w.shape) == (5, 2, 7)
        loss = (w * lib.tensor(weights)).pow(2).sum()
        (g,) = lib.autograd.grad(loss, x, create_graph=True)
        g.pow(2).sum().backward()
        one = lib.arange(10.0, requires_grad=True)
        one.unfold(0, 4, 2).sum().backward()
        strided = lib.arange(10.0, requires_grad=True)
        strided.unfold(0, 2, 3).sum().backward()  # step > size: some elements unread
        grads.append((g.detach().numpy(), x.grad.numpy(), one.grad.tolist(),
                      strided.grad.tolist(), x.unfold(1, 7, 4).grad_fn.name()))
    np.testing.assert_allclose(grads[0][0], grads[1][0], rtol=1e-13)
    np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-13)
    assert grads[0][2:] == grads[1][2:]
    assert grads[1][2] == [1.0, 1.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 1.0, 1.0]
    assert gpugrad.autograd.gradcheck(lambda t: t.unfold(0, 3, 2).unfold(1, 2, 1),
                                      (gpugrad.randn(7, 4, dtype=gpugrad.float64,
                                                     requires_grad=True),))


UNFOLD_CASES = {
    "step>size": lambda lib: lib.arange(10.0).unfold(0, 2, 3),
    "step>length": lambda lib: lib.arange(5.0).unfold(0, 2, 100),
    "size==length": lambda lib: lib.arange(10.0).unfold(0, 10, 1),
    "size0": lambda lib: lib.arange(5.0).unfold(0, 0, 1),
    "size0-step2": lambda lib: lib.arange(5.0).unfold(0, 0, 2),
    "negative-dim": lambda lib: lib.arange(12.0).reshape(3, 4).unfold(-1, 2, 1),
    "negative-dim-first": lambda lib: lib.arange(12.0).reshape(3, 4).unfold(-2, 2, 1),
    "transposed": lambda lib: lib.arange(12.0).reshape(3, 4).t().unfold(0, 2, 2),
    "transposed-dim1": lambda lib: lib.arange(12.0).reshape(3, 4).t().unfold(1, 2, 1),
    "sliced": lambda lib: lib.arange(20.0)[3:].unfold(0, 4, 3),
    "every-other": lambda lib: lib.arange(20.0)[::2].unfold(0, 3, 2),
    "expanded": lambda lib: lib.arange(3.0).expand(2, 3).unfold(1, 2, 1),
    "int64": lambda lib: lib.arange(10).unfold(0, 3, 2),
    "float16": lambda lib: lib.arange(10.0).half().unfold(0, 3, 2),
    "bool": lambda lib: (lib.arange(10) > 4).unfold(0, 3, 2),
    "keywords": lambda lib: lib.arange(10.0).unfold(dimension=0, size=3, step=2),
    "unbound": lambda lib: lib.Tensor.unfold(lib.arange(6.0), 0, 2, 2),
    "0-d": lambda lib: lib.tensor(3.0).unfold(0, 1, 1),
    "0-d-dim-1": lambda lib: lib.tensor(3.0).unfold(-1, 1, 1),
    "0-d-size0": lambda lib: lib.tensor(3.0).unfold(0, 0, 1),
    "complex64": lambda lib: lib.arange(10.0).to(lib.complex64).unfold(0, 3, 2),
    # (not compared: empty inputs, whose strides NumPy 2.4 reports as 0 where PyTorch's
    # factories give row-major ones)
}


@pytest.mark.parametrize("case", list(UNFOLD_CASES))
def test_unfold_edge_cases_like_torch(case):
    make = UNFOLD_CASES[case]
    ours, theirs = make(gpugrad), make(torch)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    assert layout(ours) == layout(theirs)


UNFOLD_ERRORS = {
    "size>length": lambda lib: lib.arange(5.0).unfold(0, 6, 1),
    "step0": lambda lib: lib.arange(5.0).unfold(0, 2, 0),
    "negative-step": lambda lib: lib.arange(5.0).unfold(0, 2, -1),
    "negative-size": lambda lib: lib.arange(5.0).unfold(0, -1, 1),
    "dim-out-of-range": lambda lib: lib.arange(5.0).unfold(1, 2, 1),
    "0-d-dim1": lambda lib: lib.tensor(3.0).unfold(1, 1, 1),
    "missing-step": lambda lib: lib.arange(6.0).unfold(0, 2),
    "float-size": lambda lib: lib.arange(10.0).unfold(0, 3.0, 2),
    "bool-size": lambda lib: lib.arange(6.0).unfold(0, True, 2),
    "float-step": lambda lib: lib.arange(6.0).unfold(0, 2, 1.5),
    "view-of-windows": lambda lib: lib.arange(10.0).unfold(0, 4, 2).view(-1),
}


@pytest.mark.parametrize("case", list(UNFOLD_ERRORS))
def test_unfold_errors_like_torch(case):
    """Bad arguments raise PyTorch's exception type (and, for the checks on values, its
    message)."""
    make = UNFOLD_ERRORS[case]
    with pytest.raises(Exception) as theirs:
        make(torch)
    with pytest.raises(Exception) as ours:
        make(gpugrad)
    assert ours.type is theirs.type, (ours.value, theirs.value)
    if theirs.type is not TypeError:
        assert str(ours.value) == str(theirs.value)


@LIBS
def test_writes_through_unfolded_views(lib):
    """Windows are views: writing the series shows in them, writing non-overlapping windows
    writes the series, ``contiguous()`` copies; the view shares the base's version counter;
    in-place use of a leaf's windows, and writes to an expanded tensor, raise."""
    x = lib.arange(8.0)
    windows = x.unfold(0, 4, 2)
    copied = windows.contiguous()
    x[5] = 50.0
    assert windows[1, 3].item() == 50.0 and windows[2, 1].item() == 50.0
    assert copied[1, 3].item() == 5.0
    tiles = x.unfold(0, 2, 2)  # no overlap
    version = x._version
    tiles.mul_(2)
    assert x._version == tiles._version == version + 1
    assert x.tolist() == [0.0, 2.0, 4.0, 6.0, 8.0, 100.0, 12.0, 14.0]
    tiles[1] = lib.tensor([-1.0, -2.0])
    windows[:, 0] = 0.0  # the first element of each window: no element written twice
    assert x.tolist() == [0.0, 2.0, 0.0, -2.0, 0.0, 100.0, 12.0, 14.0]

    leaf = lib.arange(6.0, requires_grad=True)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        leaf.unfold(0, 3, 3).add_(1)
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        lib.ones(3).expand(4, 3).add_(1)
    # a window saved for backward, then its series modified in place
    y = lib.arange(6.0, requires_grad=True).clone()
    loss = (y.unfold(0, 3, 1) ** 2).sum()
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()
    # and windows made under no_grad are views a later in-place write still reaches
    z = lib.arange(6.0)
    with lib.no_grad():
        w = z.unfold(0, 2, 2)
    w.add_(1)
    assert z.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]


# -------------------------------------------------- nn.functional.unfold vs Tensor.unfold
def test_functional_unfold_is_patches_not_windows():
    """``F.unfold`` (im2col) is ``Tensor.unfold`` along both spatial dims, rearranged to
    (N, C * kh * kw, L); ``nn.Unfold``/``F.fold`` agree; there is no ``torch.unfold``."""
    image = np.arange(2 * 3 * 5 * 6, dtype=np.float64).reshape(2, 3, 5, 6)
    out = []
    for lib in (gpugrad, torch):
        F = lib.nn.functional
        x = lib.tensor(image, requires_grad=True)
        cols = F.unfold(x, kernel_size=(2, 3), stride=(1, 3))
        patches = x.unfold(2, 2, 1).unfold(3, 3, 3)  # (N, C, oh, ow, kh, kw)
        by_hand = patches.permute(0, 1, 4, 5, 2, 3).reshape(2, 3 * 2 * 3, -1)
        assert lib.equal(cols, by_hand)
        assert lib.equal(lib.nn.Unfold((2, 3), stride=(1, 3))(x), cols)
        folded = F.fold(cols, output_size=(5, 6), kernel_size=(2, 3), stride=(1, 3))
        (cols.sum() + folded.pow(2).sum()).backward()
        out.append((layout(cols.detach()), layout(folded.detach()), x.grad.numpy().copy()))
        assert not hasattr(lib, "unfold")
        assert lib.Tensor.unfold is not F.unfold
    assert out[0][:2] == out[1][:2]
    np.testing.assert_allclose(out[0][2], out[1][2], rtol=1e-14)


def test_functional_unfold_unbatched_input():
    """``F.unfold`` takes an unbatched (C, H, W) image as PyTorch does, giving
    (C * kh * kw, L)."""
    image = np.arange(2 * 4 * 4, dtype=np.float32).reshape(2, 4, 4)
    ref = torch.nn.functional.unfold(torch.tensor(image), 2)
    ours = gpugrad.nn.functional.unfold(gpugrad.tensor(image), 2)
    assert layout(ours) == layout(ref)
    ref = torch.nn.Unfold(2, stride=2)(torch.tensor(image))
    ours = gpugrad.nn.Unfold(2, stride=2)(gpugrad.tensor(image))
    assert layout(ours) == layout(ref)


@pytest.mark.parametrize("shape", [(10,), (4, 4)], ids=["1-d", "2-d"])
def test_functional_unfold_rejects_like_torch(shape):
    """Inputs ``F.unfold`` cannot take (a series, a matrix: what ``Tensor.unfold`` is for)
    raise PyTorch's exception type."""
    with pytest.raises(Exception) as theirs:
        torch.nn.functional.unfold(torch.zeros(shape), 2)
    with pytest.raises(Exception) as ours:
        gpugrad.nn.functional.unfold(gpugrad.zeros(shape), 2)
    assert ours.type is theirs.type, (ours.value, theirs.value)

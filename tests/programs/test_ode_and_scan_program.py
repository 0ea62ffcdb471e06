"""The neural ODE and the Mamba-like selective state-space model of ``ode_and_scan.py``, run
with gpugrad and with PyTorch: both fit the spiral (adjoint method, RMSprop, clipping) and
learn selective copying (AdamW, cross entropy) with losses in a band around PyTorch's; the
adjoint gradients agree with backprop through the RK4 stages, the sequential scan with the
parallel (cumsum / segment-sum) scan, the Dormand-Prince solver takes the same steps in both
libraries; and from the same weights in float64 the two libraries give the same losses and
gradients (both ODE gradient paths, both scans) and the same first training steps."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

from ._compare import assert_trains_like_torch, both, load

PROGRAM = load("ode_and_scan")
LIBS = pytest.mark.parametrize("lib", [gpugrad, torch], ids=["gpugrad", "torch"])


@pytest.fixture(scope="module")
def runs():
    return both(PROGRAM.main)


def test_neural_ode_fits_the_spiral_like_torch(runs):
    ours, theirs = (r["ode"] for r in runs)
    # PyTorch (seed 0): window loss 0.70 -> 0.12 in 40 RMSprop steps
    assert_trains_like_torch(ours, theirs, shrink=0.3, rel=0.5)
    for result, lib in ((ours, gpugrad), (theirs, torch)):
        assert result["pred_shape"] == (8, 16, 1, 2), result
        assert result["output_dtype"] == str(lib.float32), result
        assert len(result["losses"]) == 40 and np.all(np.isfinite(result["grad_norms"]))
        assert result["loss_adjoint"] == pytest.approx(result["loss_direct"], rel=1e-6)
        assert result["adjoint_grad_rel"] < 1e-4, result
        assert result["t_weight_grad"] == 0.0, result  # unused: allow_unused -> None -> zeros
    # the data: the same spiral (integrated in float64) and the same accepted/rejected steps
    np.testing.assert_allclose(ours["true_y"], theirs["true_y"], rtol=1e-6, atol=1e-6)
    assert (ours["dopri_accepted"], ours["dopri_rejected"]) == (theirs["dopri_accepted"],
                                                                theirs["dopri_rejected"])


def test_mamba_learns_selective_copying_like_torch(runs):
    ours, theirs = (r["mamba"] for r in runs)
    # PyTorch (seed 0): 8.0 -> 0.21 in 50 AdamW steps, accuracy 0.93; seeds vary 0.1-0.35
    assert_trains_like_torch(ours, theirs, shrink=0.1, rel=1.0)
    for result, lib in ((ours, gpugrad), (theirs, torch)):
        assert result["accuracy"] > 0.85, result
        assert result["param_groups"] == [11, 12], result  # tied head counted once
        assert result["logits_shape"] == (64, 12, 10), result
        assert result["output_dtype"] == str(lib.float32), result
        assert result["scan_loss"][0] == pytest.approx(result["scan_loss"][1], rel=1e-5)
        assert result["scan_logit_diff"] < 1e-4, result
        assert result["scan_grad_rel"] < 1e-4, result


@LIBS
def test_dopri5_matches_fine_rk4(lib):
    """The adaptive solver against RK4 with a tiny step, in float64, on the true spiral."""
    t, true_y, accepted, rejected = PROGRAM.spiral_data(lib, dtype=lib.float64)
    assert tuple(true_y.shape) == (64, 1, 2) and true_y.dtype == lib.float64
    assert 100 < accepted < 1000 and rejected < accepted
    with lib.no_grad():
        fine = PROGRAM.odeint_rk4(lib, PROGRAM.Lambda(lib, lib.float64), true_y[0], t, 5e-3)
    np.testing.assert_allclose(fine.numpy(), true_y.numpy(), rtol=0, atol=1e-5)


def twin_ode(std=0.3, time_dependent=True):
    """One ODEFunc in float64 (weights ~ N(0, std)) for gpugrad and the same for PyTorch."""
    gpugrad.manual_seed(0)
    ours = PROGRAM.build_ode(gpugrad, time_dependent=time_dependent).double()
    with gpugrad.no_grad():
        for p in ours.parameters():
            p.normal_(0, std)
    theirs = PROGRAM.build_ode(torch, time_dependent=time_dependent).double()
    theirs.load_state_dict({k: torch.from_numpy(v.detach().numpy().copy())
                            for k, v in ours.state_dict().items()})
    return ours, theirs


def ode_window(lib, batch_time=6):
    t, true_y, _, _ = PROGRAM.spiral_data(lib, dtype=lib.float64)
    s = lib.arange(0, 40, 4)
    return true_y[s], t[:batch_time], lib.stack([true_y[s + i] for i in range(batch_time)])


@pytest.mark.parametrize("time_dependent", [True, False])
def test_same_weights_same_ode_gradients_adjoint_and_direct(time_dependent):
    results = []
    for lib, func in zip((gpugrad, torch), twin_ode(time_dependent=time_dependent)):
        y0, t, target = ode_window(lib)
        results.append(PROGRAM.ode_gradients(lib, func, y0, t, target, 0.025))
    (ld, la, gd, ga), (ref_ld, ref_la, ref_gd, ref_ga) = results
    assert ld == pytest.approx(ref_ld, rel=1e-10)
    assert la == pytest.approx(ref_la, rel=1e-10)
    assert la == pytest.approx(ld, rel=1e-12)  # the adjoint's forward is the same RK4
    for name, ref in ref_gd.items():
        scale = np.abs(ref).max()
        if name == "t_weight" and not time_dependent:
            assert scale == 0 and np.abs(ga[name]).max() == 0 == np.abs(ref_ga[name]).max()
            continue
        assert scale > 0, name
        np.testing.assert_allclose(gd[name], ref, rtol=0, atol=1e-10 * scale, err_msg=name)
        np.testing.assert_allclose(ga[name], ref_ga[name], rtol=0, atol=1e-10 * scale,
                                   err_msg=name)
        # continuous adjoint vs discrete backprop: equal up to the RK4 error
        np.testing.assert_allclose(ga[name], gd[name], rtol=0, atol=1e-3 * scale,
                                   err_msg=name)


def test_same_start_same_ode_training_in_float64():
    ours, _ = twin_ode(std=0.1, time_dependent=False)
    ours_state = ours.state_dict()
    theirs_state = {k: torch.from_numpy(v.detach().numpy().copy())
                    for k, v in ours_state.items()}
    mine = PROGRAM.train_ode(gpugrad, iters=5, dtype="float64", initial_state=ours_state)
    ref = PROGRAM.train_ode(torch, iters=5, dtype="float64", initial_state=theirs_state)
    assert mine["initial_loss"] == pytest.approx(ref["initial_loss"], rel=1e-10)
    np.testing.assert_allclose(mine["losses"], ref["losses"], rtol=1e-9)
    np.testing.assert_allclose(mine["grad_norms"], ref["grad_norms"], rtol=1e-9)
    assert mine["final_loss"] == pytest.approx(ref["final_loss"], rel=1e-9)


def twin_mamba():
    gpugrad.manual_seed(0)
    ours = PROGRAM.build_mamba(gpugrad).double()
    theirs = PROGRAM.build_mamba(torch).double()
    state = ours.state_dict()
    assert list(state) == list(theirs.state_dict())
    theirs.load_state_dict({k: torch.from_numpy(v.detach().numpy().copy())
                            for k, v in state.items()})
    return ours, theirs


@pytest.mark.parametrize("scan", ["sequential", "parallel"])
def test_same_weights_same_mamba_loss_and_gradients(scan):
    tokens, targets = PROGRAM.copy_batch(np.random.default_rng(3), 8, 12)
    results = []
    for lib, model in zip((gpugrad, torch), twin_mamba()):
        model.set_scan(scan)
        loss, logits = PROGRAM.mamba_loss(lib, model, lib.from_numpy(tokens),
                                          lib.from_numpy(targets))
        loss.backward()
        assert logits.dtype == lib.float64
        results.append((loss.item(), logits.detach().numpy(),
                        {n: p.grad.numpy() for n, p in model.named_parameters()}))
    (loss, logits, grads), (ref_loss, ref_logits, ref_grads) = results
    assert loss == pytest.approx(ref_loss, rel=1e-10)
    np.testing.assert_allclose(logits, ref_logits, rtol=1e-10, atol=1e-12)
    assert list(grads) == list(ref_grads)
    for name, ref in ref_grads.items():
        np.testing.assert_allclose(grads[name], ref, rtol=0, atol=1e-10 * np.abs(ref).max(),
                                   err_msg=name)


@LIBS
def test_scans_agree_in_float64(lib):
    """The sequential loop and the cumsum/segment-sum scan, forward and input gradients."""
    rng = np.random.default_rng(0)
    b, l, d, n = 2, 9, 3, 4
    arrays = {"u": rng.normal(size=(b, l, d)), "delta": rng.uniform(0.01, 0.5, (b, l, d)),
              "A": -rng.uniform(0.5, 4.0, (d, n)), "B": rng.normal(size=(b, l, n)),
              "C": rng.normal(size=(b, l, n)), "D": rng.normal(size=d)}
    weights = rng.normal(size=(b, l, d))
    outs = []
    for scan in (PROGRAM.selective_scan_sequential, PROGRAM.selective_scan_parallel):
        inputs = {k: lib.from_numpy(v.copy()).requires_grad_(True) for k, v in arrays.items()}
        y = scan(lib, **inputs)
        (y * lib.from_numpy(weights)).sum().backward()
        outs.append((y.detach().numpy(), {k: v.grad.numpy() for k, v in inputs.items()}))
    (y_seq, g_seq), (y_par, g_par) = outs
    np.testing.assert_allclose(y_par, y_seq, rtol=1e-12, atol=1e-12)
    for k in arrays:
        np.testing.assert_allclose(g_par[k], g_seq[k], rtol=1e-10, atol=1e-12, err_msg=k)


def test_same_start_same_mamba_training_in_float64():
    ours, _ = twin_mamba()
    ours_state = ours.state_dict()
    theirs_state = {k: torch.from_numpy(v.detach().numpy().copy())
                    for k, v in ours_state.items()}
    mine = PROGRAM.train_mamba(gpugrad, steps=5, dtype="float64", initial_state=ours_state)
    ref = PROGRAM.train_mamba(torch, steps=5, dtype="float64", initial_state=theirs_state)
    assert mine["scan_loss"] == pytest.approx(ref["scan_loss"], rel=1e-10)
    np.testing.assert_allclose(mine["losses"], ref["losses"], rtol=1e-9)
    assert mine["accuracy"] == ref["accuracy"]

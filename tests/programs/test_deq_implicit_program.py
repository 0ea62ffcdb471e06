"""The deep equilibrium model of ``deq_implicit.py``, run with gpugrad and with PyTorch: both
train on two spirals with an Anderson forward solve and the implicit (hook) backward, their
implicit gradients agree with backprop through unrolled iterations, the gradient the hook
hands on solves the backward fixed point (checked by ``autograd.functional.jacobian`` and
``vjp``), and with one set of weights in float64 the two libraries find the same fixed point
in the same number of Anderson steps and compute the same loss and gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

from ._compare import load

DEQ = load("deq_implicit")


@pytest.fixture(scope="module")
def results():
    return {"gpugrad": DEQ.main(gpugrad), "torch": DEQ.main(torch)}


def test_deq_trains_on_two_spirals_like_torch(results):
    ours, theirs = results["gpugrad"], results["torch"]
    for result in (ours, theirs):
        # PyTorch (seed 0): cross-entropy 0.65 -> 0.006, accuracy 1.0, Jacobian term 0.16 ->
        # 0.03, about 21 Anderson steps forward and 5 backward per batch; over seeds the final
        # loss is 0.15 to 0.3 of the first and the accuracy 0.88 to 1 (both libraries)
        assert result["final_loss"] < 0.45 * result["initial_loss"], result
        assert result["accuracy"] >= 0.85, result
        assert result["jac_loss"][1] < result["jac_loss"][0], result
        assert 2 <= result["mean_forward_steps"] <= 38, result
        assert result["max_forward_steps"] <= 38, result
        assert 1 <= result["mean_backward_steps"] <= 38, result
        assert result["max_backward_res"] < 1e-4, result  # the backward solve always converges
        assert result["eval_res"] < 0.2, result
        assert 0 < result["rho"] < 3, result
        assert result["lr_end"] == pytest.approx(0.0, abs=1e-12)
        conv = result["conv_losses"]
        assert len(conv) == 6 and conv[-1] < 0.9 * conv[0], result
        for forward_res, backward_res in result["conv_res"]:
            assert forward_res < 1e-4 and backward_res < 1e-4, result
    # different random streams: compare convergence, not bits
    assert ours["final_loss"] <= theirs["final_loss"] + 0.25, (ours, theirs)
    assert ours["accuracy"] >= theirs["accuracy"] - 0.15, (ours, theirs)


@pytest.mark.parametrize("which", ["grad_check", "conv_grad_check"])
@pytest.mark.parametrize("lib", ["gpugrad", "torch"])
def test_implicit_gradient_matches_unrolled_backprop(results, lib, which):
    check = results[lib][which]
    assert check["loss"] == pytest.approx(check["loss_unrolled"], rel=1e-10), check
    assert check["rel_err_unrolled"] < 1e-8, check
    assert check["rel_err_plain_vs_anderson"] < 1e-8, check
    for solver in ("anderson", "plain"):
        assert check[f"{solver}_forward_res"] < 1e-11, check
        assert check[f"{solver}_backward_res"] < 1e-11, check
        assert check[f"{solver}_hook_removed"], check
    # Anderson needs fewer steps than plain iteration on the same contraction
    assert check["anderson_forward_steps"] < check["plain_forward_steps"], check
    # the Jacobian-free gradient is a descent direction close to the implicit one
    assert 0.5 < check["jfb_cosine"] < 1.0, check


@pytest.mark.parametrize("lib", ["gpugrad", "torch"])
def test_backward_fixed_point_by_jacobian_and_vjp(results, lib):
    check = results[lib]["backward_check"]
    assert check["hooks_called"] == 1 and check["hook_removed"], check
    assert check["gradcheck"] is True
    np.testing.assert_allclose(check["g"], check["g_direct"], rtol=1e-10, atol=1e-12)
    assert check["fixed_point_gap"] < 1e-10, check
    assert check["forward_gap"] < 1e-11, check
    np.testing.assert_allclose(check["x_grad"], check["x_grad_direct"], rtol=1e-10,
                               atol=1e-12)
    rho = np.abs(np.linalg.eigvals(check["jacobian"])).max()
    assert check["rho"] == pytest.approx(rho, rel=0.03), (check["rho"], rho)


def twin_models(builder, seed=0, **kwargs):
    """The model built by gpugrad and by PyTorch in float64, PyTorch's loaded with gpugrad's
    weights."""
    gpugrad.manual_seed(seed)
    ours = builder(gpugrad, **kwargs).double()
    torch.manual_seed(seed)
    theirs = builder(torch, **kwargs).double()
    our_state = ours.state_dict()
    assert list(our_state) == list(theirs.state_dict())
    theirs.load_state_dict({k: torch.from_numpy(v.detach().cpu().numpy().copy())
                            for k, v in our_state.items()})
    return ours, theirs


@pytest.mark.parametrize("conv", [False, True], ids=["tanh", "conv"])
def test_same_weights_same_fixed_point_loss_and_gradients_float64(conv):
    if conv:
        images, labels = DEQ.stripes(4)
        builder, data, index = DEQ.build_conv, images.astype(np.float64), 2
    else:
        points, labels = DEQ.two_spirals(12)
        builder, data, index = DEQ.build, points.astype(np.float64), 0
    kwargs = {"tol": 1e-10, "max_iter": 60}
    pair = twin_models(builder, **kwargs)
    runs = []
    for lib, model in zip((gpugrad, torch), pair):
        model.eval()  # no Jacobian regularizer: nothing random in the forward
        deq = model[index]
        x = lib.from_numpy(data.copy()).requires_grad_(True)
        y = lib.from_numpy(labels)
        run = {}
        for mode in ("implicit", "jfb"):
            deq.backward_mode = mode
            model.zero_grad()
            logits = model(x)
            loss = lib.nn.functional.cross_entropy(logits, y)
            x.grad = None
            loss.backward()
            run[mode] = {
                "logits": logits.detach().numpy(), "loss": loss.item(),
                "forward_res": list(deq.forward_res),
                "grads": {n: p.grad.numpy().copy() for n, p in model.named_parameters()},
                "x_grad": x.grad.numpy().copy()}
        run["backward_res"] = list(deq.backward_res)
        run["hook"] = deq.hook
        runs.append(run)
    mine, ref = runs
    assert mine["hook"] is None and ref["hook"] is None
    for mode in ("implicit", "jfb"):
        a, b = mine[mode], ref[mode]
        assert len(a["forward_res"]) == len(b["forward_res"]), (a["forward_res"],
                                                                b["forward_res"])
        np.testing.assert_allclose(a["forward_res"][:8], b["forward_res"][:8], rtol=1e-8)
        np.testing.assert_allclose(a["logits"], b["logits"], rtol=1e-10, atol=1e-12)
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-10)
        for name, g in b["grads"].items():
            np.testing.assert_allclose(a["grads"][name], g, rtol=0,
                                       atol=1e-10 * np.abs(g).max(), err_msg=f"{mode} {name}")
        np.testing.assert_allclose(a["x_grad"], b["x_grad"], rtol=0,
                                   atol=1e-10 * np.abs(b["x_grad"]).max(), err_msg=mode)
    assert len(mine["backward_res"]) == len(ref["backward_res"])


def test_same_weights_same_adam_cosine_training_float64():
    """Five full-batch Adam steps with the cosine schedule (Jacobian term off) from the same
    weights: the same losses, solver step counts, learning rates and final weights."""
    pair = twin_models(DEQ.build, tol=1e-10, max_iter=60)
    points, labels = DEQ.two_spirals(12)
    runs = []
    for lib, model in zip((gpugrad, torch), pair):
        x, y = lib.from_numpy(points.astype(np.float64)), lib.from_numpy(labels)
        model.eval()
        optimizer = lib.optim.Adam(model.parameters(), lr=3e-2)
        scheduler = lib.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=5)
        criterion = lib.nn.CrossEntropyLoss()
        losses, steps, lrs = [], [], []
        for _ in range(5):
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
            steps.append((len(model[0].forward_res), len(model[0].backward_res)))
            lrs.append(scheduler.get_last_lr()[0])
        runs.append({"losses": losses, "steps": steps, "lrs": lrs,
                     "weights": {k: v.numpy().copy() for k, v in model.state_dict().items()}})
    mine, ref = runs
    np.testing.assert_allclose(mine["losses"], ref["losses"], rtol=1e-9)
    assert mine["steps"] == ref["steps"]
    np.testing.assert_allclose(mine["lrs"], ref["lrs"], rtol=1e-12, atol=1e-15)
    for key, w in ref["weights"].items():
        np.testing.assert_allclose(mine["weights"][key], w, rtol=1e-8, atol=1e-10, err_msg=key)


@pytest.mark.parametrize("lib", [gpugrad, torch], ids=["gpugrad", "torch"])
def test_anderson_beats_plain_iteration_on_the_same_map(lib):
    """Both solvers reach the same fixed point of a float64 tanh cell; Anderson in fewer
    steps, with the documented residual bookkeeping (one entry per step)."""
    lib.manual_seed(0)
    TanhCell, _, _ = DEQ.make_cells(lib)
    cell = TanhCell(2, 16, scale=0.7).double()
    x = lib.from_numpy(DEQ.two_spirals(8)[0].astype(np.float64))
    solvers = DEQ.make_solvers(lib)
    with lib.no_grad():
        z_a, res_a = solvers["anderson"](lambda z: cell(z, x), cell.initial_state(x),
                                         tol=1e-12, max_iter=80)
        z_p, res_p = solvers["plain"](lambda z: cell(z, x), cell.initial_state(x), tol=1e-12,
                                      max_iter=200)
    assert res_a[-1] < 1e-12 and res_p[-1] < 1e-12, (res_a[-3:], res_p[-3:])
    assert len(res_a) < len(res_p)
    assert tuple(z_a.shape) == (16, 16) and not z_a.requires_grad
    np.testing.assert_allclose(z_a.numpy(), z_p.numpy(), atol=1e-10)
    np.testing.assert_allclose(cell(z_a, x).detach().numpy(), z_a.numpy(), atol=1e-11)

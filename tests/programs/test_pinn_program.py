"""The heat-equation PINN of ``pinn_heat.py``, run with gpugrad and with PyTorch: both train
(Adam, then L-BFGS with the strong-Wolfe line search) to a small relative L2 error against the
exact solution, and with one set of weights and points in float64 the two libraries compute the
same residual (second derivatives by ``autograd.grad(create_graph=True)``), the same loss, the
same third-order parameter gradients, and the same L-BFGS trajectory."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

from ._compare import both, load

PINN = load("pinn_heat")


def test_pinn_learns_the_heat_equation_like_torch():
    ours, theirs = both(PINN.main)
    for result in (ours, theirs):
        assert result["prediction_shape"] == (41 * 41, 1), result
        assert result["output_dtype"] == "float32", result
        # PyTorch (seed 0): initial 0.87, after Adam 5e-4, after L-BFGS 5e-5, rel. L2 4.5e-3
        assert result["adam_loss"] < 1e-2 * result["initial_loss"], result
        assert result["final_loss"] < 1e-3 * result["initial_loss"], result
        assert result["final_loss"] < 0.5 * result["adam_loss"], result
        assert result["rel_l2"] < 2e-2, result
        # the closure runs at least once per L-BFGS iteration and at most max_eval (125) times
        assert 50 <= result["lbfgs_calls"] <= 125, result
        assert result["history_len"] == 300 + result["lbfgs_calls"], result
    # different random streams: compare convergence, not bits
    assert ours["rel_l2"] <= 3 * theirs["rel_l2"] + 5e-3, (ours, theirs)
    assert ours["final_loss"] <= 10 * theirs["final_loss"] + 1e-4, (ours, theirs)


def twin_models(dtype="float64", seed=0):
    """The PINN built by gpugrad and by PyTorch, PyTorch's loaded with gpugrad's weights."""
    gpugrad.manual_seed(seed)
    ours = PINN.build(gpugrad)
    torch.manual_seed(seed)
    theirs = PINN.build(torch)
    if dtype == "float64":
        ours.double()
        theirs.double()
    our_state = ours.state_dict()
    assert list(our_state) == list(theirs.state_dict())
    theirs.load_state_dict({k: torch.from_numpy(v.detach().cpu().numpy().copy())
                            for k, v in our_state.items()})
    return ours, theirs


def twin_points(lib, n_interior=64, n_boundary=16, seed=1):
    """The same collocation points (NumPy-drawn, float64) as ``lib`` tensors."""
    rng = np.random.default_rng(seed)
    x_f, t_f = rng.uniform(0, 1, (2, n_interior, 1))
    x_0 = np.linspace(0, 1, n_boundary).reshape(-1, 1)
    t_b = np.linspace(0, 1, n_boundary).reshape(-1, 1)
    arrays = {"x_f": x_f, "t_f": t_f, "x_0": x_0, "t_0": np.zeros_like(x_0),
              "u_0": np.sin(np.pi * x_0),
              "x_b": np.concatenate([np.zeros_like(t_b), np.ones_like(t_b)]),
              "t_b": np.concatenate([t_b, t_b]), "u_b": np.zeros((2 * n_boundary, 1))}
    points = {k: lib.from_numpy(v.copy()) for k, v in arrays.items()}
    points["x_f"].requires_grad_(True)
    points["t_f"].requires_grad_(True)
    return points


def test_init_weights_are_xavier_normal_and_zero_bias():
    for lib in (gpugrad, torch):
        lib.manual_seed(0)
        model = PINN.build(lib)
        linears = [m for m in model.modules() if isinstance(m, lib.nn.Linear)]
        assert len(linears) == 4
        for m in linears:
            assert float(m.bias.detach().abs().max()) == 0.0
            fan_out, fan_in = m.weight.shape
            std = float(m.weight.detach().std())
            expected = (2.0 / (fan_in + fan_out)) ** 0.5
            assert 0.6 * expected < std < 1.4 * expected, (lib.__name__, m, std)


def test_same_weights_same_residual_loss_and_third_order_gradients():
    ours, theirs = twin_models("float64")
    results = []
    for lib, model in ((gpugrad, ours), (torch, theirs)):
        points = twin_points(lib)
        x, t = points["x_f"], points["t_f"]
        u = model(x, t)
        u_x, u_t = lib.autograd.grad(u, (x, t), grad_outputs=lib.ones_like(u),
                                     create_graph=True)
        u_xx = lib.autograd.grad(u_x, x, grad_outputs=lib.ones_like(u_x), create_graph=True)[0]
        f = PINN.pde_residual(lib, model, x, t)
        loss, parts = PINN.pinn_loss(lib, model, points)
        params = list(model.parameters())
        grads = lib.autograd.grad(loss, params + [x], retain_graph=True)
        model.zero_grad()
        loss.backward()
        assert f.dtype == u_xx.dtype == lib.float64
        results.append({
            "u": u.detach().numpy(), "u_x": u_x.detach().numpy(), "u_t": u_t.detach().numpy(),
            "u_xx": u_xx.detach().numpy(), "f": f.detach().numpy(), "loss": loss.item(),
            "parts": [p.item() for p in parts],
            "grads": [g.detach().numpy() for g in grads],
            "backward": [p.grad.numpy() for p in params]})
    mine, ref = results
    for key in ("u", "u_x", "u_t", "u_xx", "f"):
        np.testing.assert_allclose(mine[key], ref[key], rtol=1e-10, atol=1e-12, err_msg=key)
    assert mine["loss"] == pytest.approx(ref["loss"], rel=1e-10)
    np.testing.assert_allclose(mine["parts"], ref["parts"], rtol=1e-10)
    names = [n for n, _ in theirs.named_parameters()] + ["x_f"]
    for name, g_ours, g_theirs, b_ours in zip(names, mine["grads"], ref["grads"],
                                              mine["backward"] + [None]):
        scale = np.abs(g_theirs).max()
        np.testing.assert_allclose(g_ours, g_theirs, rtol=0, atol=1e-10 * scale, err_msg=name)
        if b_ours is not None:  # .backward() accumulates what autograd.grad returned
            np.testing.assert_allclose(b_ours, g_ours, rtol=0, atol=1e-12 * scale,
                                       err_msg=name)
    for b_ours, b_theirs, name in zip(mine["backward"], ref["backward"], names):
        np.testing.assert_allclose(b_ours, b_theirs, rtol=0,
                                   atol=1e-10 * np.abs(b_theirs).max(), err_msg=name)


def test_same_weights_same_adam_and_strong_wolfe_lbfgs_steps():
    """From the same weights and points in float64: 10 Adam steps, then three L-BFGS steps of
    at most 8 iterations with the strong-Wolfe line search; every closure's loss, the number
    of closure calls, the optimizer's state and the final weights agree."""
    ours, theirs = twin_models("float64")

    def run(lib, model):
        points = twin_points(lib)
        adam = lib.optim.Adam(model.parameters(), lr=1e-2)
        adam_losses = []
        for _ in range(10):
            adam.zero_grad()
            loss, _ = PINN.pinn_loss(lib, model, points)
            loss.backward()
            adam.step()
            adam_losses.append(loss.item())
        optimizer = lib.optim.LBFGS(model.parameters(), lr=1, max_iter=8, history_size=50,
                                    tolerance_grad=1e-12, tolerance_change=1e-14,
                                    line_search_fn="strong_wolfe")
        closure_losses, step_returns = [], []

        def closure():
            optimizer.zero_grad()
            loss, _ = PINN.pinn_loss(lib, model, points)
            loss.backward()
            closure_losses.append(loss.item())
            return loss

        for _ in range(3):
            step_returns.append(optimizer.step(closure).item())
        state = optimizer.state[optimizer._params[0]]
        weights = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
        return {"adam": adam_losses, "closure": closure_losses, "steps": step_returns,
                "n_iter": state["n_iter"], "func_evals": state["func_evals"],
                "history": len(state["old_dirs"]), "t": float(state["t"]), "weights": weights}

    mine, ref = run(gpugrad, ours), run(torch, theirs)
    np.testing.assert_allclose(mine["adam"], ref["adam"], rtol=1e-10)
    assert len(mine["closure"]) == len(ref["closure"]), (mine["closure"], ref["closure"])
    np.testing.assert_allclose(mine["closure"], ref["closure"], rtol=1e-8)
    np.testing.assert_allclose(mine["steps"], ref["steps"], rtol=1e-8)
    for key in ("n_iter", "func_evals", "history"):
        assert mine[key] == ref[key], key
    assert mine["t"] == pytest.approx(ref["t"], rel=1e-6)
    assert ref["closure"][-1] < 0.5 * ref["closure"][0]
    for key, w in ref["weights"].items():
        np.testing.assert_allclose(mine["weights"][key], w, rtol=1e-7, atol=1e-9, err_msg=key)


def test_collocation_points_and_test_grid_idioms():
    """``collocation`` and the meshgrid test grid give the same shapes, dtypes and flags."""
    for lib in (gpugrad, torch):
        lib.manual_seed(0)
        points = PINN.collocation(lib, n_interior=32, n_boundary=8)
        assert tuple(points["x_f"].shape) == (32, 1) and points["x_f"].requires_grad
        assert points["x_f"].is_leaf and points["x_f"].dtype == lib.float32
        assert float(points["x_f"].detach().min()) >= 0 and float(points["x_f"].detach().max()) < 1
        assert tuple(points["x_b"].shape) == (16, 1) and not points["x_b"].requires_grad
        np.testing.assert_allclose(points["u_0"].numpy()[:, 0],
                                   np.sin(np.pi * np.linspace(0, 1, 8)), atol=1e-6)
        X, T = lib.meshgrid(lib.linspace(0, 1, 3), lib.linspace(0, 2, 4), indexing="ij")
        assert tuple(X.shape) == (3, 4)
        np.testing.assert_allclose(X.reshape(-1, 1).numpy()[:, 0], np.repeat([0, .5, 1], 4))
        np.testing.assert_allclose(T.reshape(-1, 1).numpy()[:, 0],
                                   np.tile(np.linspace(0, 2, 4), 3), rtol=1e-6)

"""A physics-informed neural network (PINN) for the 1-D heat equation, in the style of public
PyTorch PINN code. The equation is u_t = k u_xx on x in [0, 1], t in [0, 1], with
u(x, 0) = sin(pi x) and u(0, t) = u(1, t) = 0, whose exact solution is
u = exp(-k pi^2 t) sin(pi x) (public PINN code often solves Burgers' equation the same way; the
heat equation has a closed form and trains in a fraction of the time).

Idioms: a tanh MLP ``u(x, t)`` built from an ``nn.Sequential`` of ``nn.Linear``/``nn.Tanh``
and fed ``torch.cat([x, t], dim=1)``; weights set by ``torch.nn.init.xavier_normal_`` and
``nn.init.zeros_`` in an ``_init_weights`` applied with ``model.apply``; interior collocation
points drawn by ``torch.rand(N, 1)`` scaled into the domain and made
``.requires_grad_(True)``; boundary and initial points from ``torch.linspace``; derivatives by
``torch.autograd.grad(u, x, grad_outputs=torch.ones_like(u), create_graph=True)[0]`` and a
second ``grad`` of ``u_x`` for ``u_xx``; a residual loss ``torch.mean(f ** 2)`` plus
boundary/initial losses by ``F.mse_loss``; training by Adam, then by
``torch.optim.LBFGS(..., history_size=50, line_search_fn="strong_wolfe")`` with a ``closure``
that zeroes, computes, backpropagates and returns the loss; a loss-history list; and a
prediction under ``model.eval()`` + ``torch.no_grad()`` on a ``torch.meshgrid(indexing="ij")``
test grid flattened by ``.reshape(-1, 1)``, compared with the exact solution by the relative
L2 error in NumPy.

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import numpy as np

K = 0.1  # diffusivity


def exact_solution(x, t, k: float = K):
    """u(x, t) = exp(-k pi^2 t) sin(pi x), on NumPy arrays."""
    return np.exp(-k * np.pi ** 2 * t) * np.sin(np.pi * x)


def build(torch, hidden: int = 20, depth: int = 3):
    """The tanh MLP (x, t) -> u with ``depth`` hidden layers of ``hidden`` units."""
    nn = torch.nn

    def _init_weights(m):
        if isinstance(m, nn.Linear):
            torch.nn.init.xavier_normal_(m.weight)
            nn.init.zeros_(m.bias)

    class PINN(nn.Module):
        def __init__(self):
            super().__init__()
            layers = [nn.Linear(2, hidden), nn.Tanh()]
            for _ in range(depth - 1):
                layers += [nn.Linear(hidden, hidden), nn.Tanh()]
            layers.append(nn.Linear(hidden, 1))
            self.net = nn.Sequential(*layers)

        def forward(self, x, t):
            return self.net(torch.cat([x, t], dim=1))

    model = PINN()
    model.apply(_init_weights)
    return model


def pde_residual(torch, model, x, t, k: float = K):
    """f = u_t - k u_xx at the collocation points (x and t require grad)."""
    u = model(x, t)
    u_x = torch.autograd.grad(u, x, grad_outputs=torch.ones_like(u), create_graph=True)[0]
    u_t = torch.autograd.grad(u, t, grad_outputs=torch.ones_like(u), create_graph=True)[0]
    u_xx = torch.autograd.grad(u_x, x, grad_outputs=torch.ones_like(u_x),
                               create_graph=True)[0]
    return u_t - k * u_xx


def collocation(torch, n_interior: int = 256, n_boundary: int = 64, dtype=None):
    """Interior points (random, requiring grad), initial points (t = 0) and boundary points
    (x = 0 and x = 1), with the targets for the last two."""
    dtype = dtype or torch.get_default_dtype()
    x_f = (torch.rand(n_interior, 1, dtype=dtype) * 1.0).requires_grad_(True)
    t_f = (torch.rand(n_interior, 1, dtype=dtype) * 1.0).requires_grad_(True)
    x_0 = torch.linspace(0, 1, n_boundary, dtype=dtype).reshape(-1, 1)
    t_0 = torch.zeros_like(x_0)
    u_0 = torch.sin(np.pi * x_0)
    t_b = torch.linspace(0, 1, n_boundary, dtype=dtype).reshape(-1, 1)
    x_b = torch.cat([torch.zeros_like(t_b), torch.ones_like(t_b)], dim=0)
    t_b = torch.cat([t_b, t_b], dim=0)
    u_b = torch.zeros_like(t_b)
    return {"x_f": x_f, "t_f": t_f, "x_0": x_0, "t_0": t_0, "u_0": u_0,
            "x_b": x_b, "t_b": t_b, "u_b": u_b}


def pinn_loss(torch, model, points, k: float = K):
    """Residual loss + initial-condition loss + boundary loss, and the three parts."""
    F = torch.nn.functional
    f = pde_residual(torch, model, points["x_f"], points["t_f"], k)
    loss_f = torch.mean(f ** 2)
    loss_0 = F.mse_loss(model(points["x_0"], points["t_0"]), points["u_0"])
    loss_b = F.mse_loss(model(points["x_b"], points["t_b"]), points["u_b"])
    return loss_f + loss_0 + loss_b, (loss_f, loss_0, loss_b)


def main(torch, adam_steps: int = 300, lbfgs_iters: int = 100, n_interior: int = 256,
         seed: int = 0) -> dict:
    """Train by Adam then L-BFGS; returns the loss history's ends, the number of closure calls,
    and the relative L2 error of the prediction on a 41 x 41 test grid."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(seed)
    model = build(torch).to(device)
    points = {name: p.to(device) for name, p in collocation(torch, n_interior).items()}

    history = []
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(adam_steps):
        optimizer.zero_grad()
        loss, _ = pinn_loss(torch, model, points)
        loss.backward()
        optimizer.step()
        history.append(loss.item())
    adam_loss = history[-1]

    optimizer = torch.optim.LBFGS(model.parameters(), lr=1, max_iter=lbfgs_iters,
                                  history_size=50, tolerance_grad=1e-9,
                                  tolerance_change=1e-12, line_search_fn="strong_wolfe")
    calls = [0]

    def closure():
        optimizer.zero_grad()
        loss, _ = pinn_loss(torch, model, points)
        loss.backward()
        calls[0] += 1
        history.append(loss.item())
        return loss

    optimizer.step(closure)
    final_loss, parts = pinn_loss(torch, model, points)

    model.eval()
    x = torch.linspace(0, 1, 41)
    t = torch.linspace(0, 1, 41)
    X, T = torch.meshgrid(x, t, indexing="ij")
    x_test, t_test = X.reshape(-1, 1).to(device), T.reshape(-1, 1).to(device)
    with torch.no_grad():
        u_pred = model(x_test, t_test).cpu().numpy()
    u_true = exact_solution(x_test.cpu().numpy(), t_test.cpu().numpy())
    rel_l2 = float(np.linalg.norm(u_pred - u_true) / np.linalg.norm(u_true))
    return {"initial_loss": history[0], "adam_loss": adam_loss, "final_loss": final_loss.item(),
            "parts": [p.item() for p in parts], "history_len": len(history),
            "lbfgs_calls": calls[0], "rel_l2": rel_l2,
            "prediction_shape": tuple(u_pred.shape), "output_dtype": str(u_pred.dtype)}


if __name__ == "__main__":
    import argparse
    import importlib

    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", default="gpugrad", choices=("gpugrad", "torch"))
    args = parser.parse_args()
    print(main(importlib.import_module(args.lib)))

"""A deep equilibrium model (DEQ), written the way readers of the implicit-layers tutorials
write one: the layer's output is the fixed point z* = f(z*, x) of a cell, found without
recording a graph, and its gradient comes from the implicit function theorem instead of from
backpropagating through the solver.

Idioms: a cell ``f(z, x) = tanh(W z + U x + b)`` of ``nn.Linear`` layers and a small conv
cell of ``nn.Conv2d`` and ``nn.GroupNorm`` (weights drawn small by ``nn.init.normal_`` so the
map contracts); a forward solve under ``torch.no_grad()`` by plain fixed-point iteration and by
Anderson acceleration (``torch.zeros(bsz, m, d)`` history buffers filled by slicing
assignment, a chained ``H[:, 0, 1:] = H[:, 1:, 0] = 1``, ``torch.bmm(G, G.transpose(1, 2))``
plus a ridge ``* torch.eye(n)[None]`` floored by ``torch.finfo(dtype).tiny``, a bordered
system solved by ``torch.linalg.solve``, the
mixing weights applied by batched ``@``, ``.view_as`` of a strided slice, residual norms read
by ``.norm().item()``); one more ``f`` evaluation with grad, then the implicit backward: a
detached ``z0 = z.clone().detach().requires_grad_()``, ``f0 = f(z0, x)`` and
``z.register_hook(backward_hook)`` whose hook removes itself (``self.hook.remove()``) and
solves ``g = grad + J^T g`` with the same solver by iterating
``torch.autograd.grad(f0, z0, g, retain_graph=True)``; a Hutchinson Jacobian regularizer
(``autograd.grad(..., create_graph=True)`` with a ``torch.randn_like`` probe) added to the
loss; the Jacobian-free variant (no hook);
the implicit gradient checked against backprop through many unrolled iterations; the backward
fixed point checked on a tiny instance with ``torch.autograd.functional.jacobian``,
``torch.autograd.functional.vjp`` and ``torch.linalg.solve``, and the layer by
``torch.autograd.gradcheck(..., check_undefined_grad=False)``; a spectral-radius estimate by
power iteration with ``torch.linalg.vector_norm``; and training on two NumPy spirals with
``Adam``, ``nn.CrossEntropyLoss`` and ``torch.optim.lr_scheduler.CosineAnnealingLR``,
reporting residuals, iteration counts and accuracy.

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import math

import numpy as np

# ----------------------------------------------------------------------------- solvers

def make_solvers(torch):
    """The two forward/backward solvers, ``fixed_point_iteration`` and ``anderson``."""

    def fixed_point_iteration(f, z0, max_iter: int = 50, tol: float = 1e-4):
        """Iterate ``z <- f(z)``; returns the last iterate and each step's relative residual."""
        z = z0
        residuals = []
        for _ in range(max_iter):
            z_next = f(z)
            residuals.append((z_next - z).norm().item() / (1e-5 + z_next.norm().item()))
            z = z_next
            if residuals[-1] < tol:
                break
        return z, residuals

    def anderson(f, z0, m: int = 5, lam: float = 1e-4, beta: float = 1.0, max_iter: int = 50,
                 tol: float = 1e-4):
        """Anderson acceleration of ``z <- f(z)`` with a history of ``m`` iterates. Each step
        picks the affine combination ``alpha`` (weights summing to one) of the stored ``f``
        values whose residuals ``f(z_i) - z_i`` have the smallest (ridge-regularised) norm,
        from the bordered system [[0, 1^T], [1, G G^T + lam I]] [nu; alpha] = [1; 0], with
        ``lam`` relative to the mean squared residual (an absolute one stalls the solve once
        the residuals fall below its square root)."""
        bsz = z0.shape[0]
        width = z0[0].numel()
        opts = {"dtype": z0.dtype, "device": z0.device}
        past_z = torch.zeros(bsz, m, width, **opts)
        past_f = torch.zeros(bsz, m, width, **opts)
        past_z[:, 0] = z0.reshape(bsz, -1)
        past_f[:, 0] = f(z0).reshape(bsz, -1)
        past_z[:, 1] = past_f[:, 0]
        past_f[:, 1] = f(past_f[:, 0].view_as(z0)).reshape(bsz, -1)

        system = torch.zeros(bsz, m + 1, m + 1, **opts)
        system[:, 0, 1:] = system[:, 1:, 0] = 1
        rhs = torch.zeros(bsz, m + 1, 1, **opts)
        rhs[:, 0] = 1

        residuals = []
        slot = 1
        for k in range(2, max_iter):
            n = min(k, m)
            G = past_f[:, :n] - past_z[:, :n]
            gram = torch.bmm(G, G.transpose(1, 2))
            # ridge scaled to the residuals (floored: all-zero residuals, e.g. a zero gradient)
            ridge = (lam * gram.diagonal(dim1=1, dim2=2).mean(dim=1)).clamp_min(
                torch.finfo(gram.dtype).tiny)
            system[:, 1:n + 1, 1:n + 1] = gram + ridge[:, None, None] * torch.eye(n, **opts)[None]
            alpha = torch.linalg.solve(system[:, :n + 1, :n + 1], rhs[:, :n + 1])[:, 1:n + 1, 0]
            slot = k % m
            mixed_f = (alpha[:, None] @ past_f[:, :n])[:, 0]
            mixed_z = (alpha[:, None] @ past_z[:, :n])[:, 0]
            past_z[:, slot] = beta * mixed_f + (1 - beta) * mixed_z
            past_f[:, slot] = f(past_z[:, slot].view_as(z0)).reshape(bsz, -1)
            gap = past_f[:, slot] - past_z[:, slot]
            residuals.append(gap.norm().item() / (1e-5 + past_f[:, slot].norm().item()))
            if residuals[-1] < tol:
                break
        return past_z[:, slot].view_as(z0), residuals

    return {"plain": fixed_point_iteration, "anderson": anderson}


# ----------------------------------------------------------------------------- cells

def make_cells(torch):
    """The two cells and the DEQ wrapper, as classes of ``torch.nn.Module``."""
    nn = torch.nn
    autograd = torch.autograd

    class TanhCell(nn.Module):
        """f(z, x) = tanh(W z + U x + b)."""

        def __init__(self, in_features: int, hidden: int, scale: float = 0.5):
            super().__init__()
            self.hidden = hidden
            self.W = nn.Linear(hidden, hidden, bias=False)
            self.U = nn.Linear(in_features, hidden)  # U x + b
            nn.init.normal_(self.W.weight, std=scale / math.sqrt(hidden))

        def initial_state(self, x):
            return torch.zeros(x.shape[0], self.hidden, dtype=x.dtype, device=x.device)

        def forward(self, z, x):
            return torch.tanh(self.W(z) + self.U(x))

    class ConvCell(nn.Module):
        """f(z, x) = GN(relu(x + conv2(GN(relu(conv1(z))))))."""

        def __init__(self, channels: int, inner: int, groups: int = 4):
            super().__init__()
            self.conv1 = nn.Conv2d(channels, inner, 3, padding=1, bias=False)
            self.conv2 = nn.Conv2d(inner, channels, 3, padding=1, bias=False)
            self.norm1 = nn.GroupNorm(groups, inner)
            self.norm2 = nn.GroupNorm(groups, channels)
            for conv in (self.conv1, self.conv2):
                nn.init.normal_(conv.weight, std=0.02)

        def initial_state(self, x):
            return torch.zeros_like(x)

        def forward(self, z, x):
            y = self.norm1(torch.relu(self.conv1(z)))
            return self.norm2(torch.relu(x + self.conv2(y)))

    class DEQFixedPoint(nn.Module):
        """z* = f(z*, x). ``backward="implicit"`` differentiates through the fixed point by a
        hook that solves g = grad + J^T g; ``backward="jfb"`` keeps only the last step's
        graph (the Jacobian-free approximation J ~ 0). In training mode ``jac_loss`` holds a
        one-sample Hutchinson estimate of ||J||_F^2 / d at the fixed point, differentiable in
        the parameters, to add to the loss and keep f contractive."""

        def __init__(self, f, solver, backward: str = "implicit", **solver_kwargs):
            super().__init__()
            self.f = f
            self.solver = solver
            self.backward_mode = backward
            self.solver_kwargs = solver_kwargs
            self.hook = None
            self.forward_res, self.backward_res = [], []
            self.jac_loss = None

        def forward(self, x):
            with torch.no_grad():
                z_star, self.forward_res = self.solver(lambda z: self.f(z, x),
                                                       self.f.initial_state(x),
                                                       **self.solver_kwargs)
            z = self.f(z_star, x)  # re-engage the tape with one step
            if self.backward_mode == "jfb" or not z.requires_grad:
                return z

            z0 = z.clone().detach().requires_grad_()
            f0 = self.f(z0, x)
            if self.training:  # on a graph of its own: backward frees what it runs through
                z1 = z.detach().requires_grad_()
                v = torch.randn_like(z1)
                vJ = autograd.grad(self.f(z1, x), z1, v, create_graph=True)[0]
                self.jac_loss = vJ.pow(2).sum() / v.numel()

            def backward_hook(grad):
                if self.hook is not None:
                    self.hook.remove()  # one solve per backward, even if called again
                    self.hook = None
                g, self.backward_res = self.solver(
                    lambda y: autograd.grad(f0, z0, y, retain_graph=True)[0] + grad,
                    grad, **self.solver_kwargs)
                return g

            self.hook = z.register_hook(backward_hook)
            return z

    return TanhCell, ConvCell, DEQFixedPoint


def build(torch, in_features: int = 2, hidden: int = 24, classes: int = 2,
          backward: str = "implicit", solver: str = "anderson", **solver_kwargs):
    """Input -> DEQ(tanh cell) -> linear classifier."""
    nn = torch.nn
    TanhCell, _, DEQFixedPoint = make_cells(torch)
    kwargs = {"max_iter": 40, "tol": 1e-4}
    kwargs.update(solver_kwargs)
    layer = DEQFixedPoint(TanhCell(in_features, hidden), make_solvers(torch)[solver], backward,
                          **kwargs)
    return nn.Sequential(layer,
                         nn.Linear(hidden, classes))


def build_conv(torch, channels: int = 8, inner: int = 16, classes: int = 2,
               backward: str = "implicit", solver: str = "anderson", **solver_kwargs):
    """Image -> conv stem + GroupNorm -> DEQ(conv cell) -> average pool -> linear."""
    nn = torch.nn
    _, ConvCell, DEQFixedPoint = make_cells(torch)
    kwargs = {"max_iter": 40, "tol": 1e-4}
    kwargs.update(solver_kwargs)
    return nn.Sequential(nn.Conv2d(1, channels, 3, padding=1, bias=False),
                         nn.GroupNorm(4, channels),
                         DEQFixedPoint(ConvCell(channels, inner), make_solvers(torch)[solver],
                                       backward, **kwargs),
                         nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(),
                         nn.Linear(channels, classes))


# ----------------------------------------------------------------------------- data

def two_spirals(n_per_class: int = 96, turns: float = 0.75, noise: float = 0.04, seed: int = 0):
    """Two interleaved spirals in the plane (float32 NumPy) and their 0/1 labels."""
    rng = np.random.default_rng(seed)
    angle = np.sqrt(rng.uniform(0.02, 1.0, n_per_class)) * turns * 2 * np.pi
    arm = np.stack([angle * np.cos(angle), angle * np.sin(angle)], axis=1) / (turns * 2 * np.pi)
    points = np.concatenate([arm, -arm]) + noise * rng.standard_normal((2 * n_per_class, 2))
    labels = np.concatenate([np.zeros(n_per_class), np.ones(n_per_class)])
    return points.astype(np.float32), labels.astype(np.int64)


def stripes(n: int = 8, size: int = 6, seed: int = 0):
    """Noisy horizontal (label 0) or vertical (label 1) stripes, shape (n, 1, size, size)."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    images = rng.normal(0, 0.3, (n, 1, size, size))
    for i, label in enumerate(labels):
        phase = rng.integers(2)
        if label:
            images[i, 0, :, phase::2] += 1.0
        else:
            images[i, 0, phase::2, :] += 1.0
    return images.astype(np.float32), labels.astype(np.int64)


# ----------------------------------------------------------------------------- checks

def unrolled(cell, x, steps: int):
    """Backprop-through-the-solver reference: ``steps`` plain iterations recorded on the tape."""
    z = cell.initial_state(x)
    for _ in range(steps):
        z = cell(z, x)
    return z


def spectral_radius(torch, cell, z_star, x, iters: int = 60):
    """Power iteration on J^T = (df/dz)^T at z* through vector-Jacobian products; the geometric
    mean of the per-step growth of ``||v||`` estimates the spectral radius of J (it also works
    when the dominant eigenvalues are a complex pair). One estimate per sample."""
    z0 = z_star.detach().clone().requires_grad_()
    f0 = cell(z0, x)
    v = torch.randn_like(z0)
    log_growth = torch.zeros(z0.shape[0], dtype=z0.dtype, device=z0.device)
    for _ in range(iters):
        v = v / torch.linalg.vector_norm(v.flatten(1), dim=1).view(-1, *[1] * (v.dim() - 1))
        v = torch.autograd.grad(f0, z0, v, retain_graph=True)[0]
        log_growth += torch.log(torch.linalg.vector_norm(v.flatten(1), dim=1))
    return torch.exp(log_growth / iters)


def gradient_check(torch, conv: bool = False, unroll: int = 80, seed: int = 0) -> dict:
    """Float64: the implicit gradient of a cross-entropy loss against backprop through
    ``unroll`` plain iterations, and the cosine between the Jacobian-free and implicit
    gradients. Both solvers are tried in the forward and the backward solve."""
    torch.manual_seed(seed)
    F = torch.nn.functional
    if conv:
        images, labels = stripes(4)
        model = build_conv(torch, tol=1e-11, max_iter=80).double()
        x_in = torch.from_numpy(images).double()
    else:
        points, labels = two_spirals(16)
        model = build(torch, tol=1e-11, max_iter=80).double()
        x_in = torch.from_numpy(points).double()
    y = torch.from_numpy(labels)
    deq = model[-2] if not conv else model[2]
    head = model[-1]
    params = list(model.parameters())
    out = {}

    solvers = make_solvers(torch)
    for name in ("anderson", "plain"):
        deq.solver = solvers[name]
        deq.backward_mode = "implicit"
        loss = F.cross_entropy(model(x_in), y)
        model.zero_grad()
        loss.backward()
        out[f"{name}_forward_res"] = deq.forward_res[-1]
        out[f"{name}_backward_res"] = deq.backward_res[-1]
        out[f"{name}_forward_steps"] = len(deq.forward_res)
        out[f"{name}_backward_steps"] = len(deq.backward_res)
        out[f"{name}_hook_removed"] = deq.hook is None
        out[f"{name}_grads"] = [p.grad.detach().clone() for p in params]
    implicit = out["anderson_grads"]

    # the same loss with the fixed point reached by unrolled, recorded iterations
    stem = model[:2] if conv else (lambda t: t)
    pooled = (lambda t: model[3:](t)) if conv else head
    z_unrolled = unrolled(deq.f, stem(x_in), unroll)
    loss_unrolled = F.cross_entropy(pooled(z_unrolled), y)
    unrolled_grads = torch.autograd.grad(loss_unrolled, params)

    deq.backward_mode = "jfb"
    deq.solver = solvers["anderson"]
    loss_jfb = F.cross_entropy(model(x_in), y)
    jfb_grads = torch.autograd.grad(loss_jfb, params)

    flat = lambda gs: torch.cat([g.reshape(-1) for g in gs])  # noqa: E731
    g_imp, g_unr, g_jfb = flat(implicit), flat(unrolled_grads), flat(jfb_grads)
    g_plain = flat(out["plain_grads"])
    return {
        "loss": loss.item(), "loss_unrolled": loss_unrolled.item(),
        "rel_err_unrolled": ((g_imp - g_unr).norm() / g_unr.norm()).item(),
        "rel_err_plain_vs_anderson": ((g_plain - g_imp).norm() / g_imp.norm()).item(),
        "jfb_cosine": F.cosine_similarity(g_jfb, g_imp, dim=0).item(),
        **{k: v for k, v in out.items() if not k.endswith("_grads")},
    }


def backward_fixed_point_check(torch, d: int = 5, in_features: int = 3, seed: int = 0) -> dict:
    """On one sample of a tiny tanh cell (float64): the gradient the hook hands on equals
    (I - J)^{-T} v, satisfies g - J^T g = v (by ``autograd.functional.vjp``), and the
    gradient reaching the input equals J_x^T g (by ``autograd.functional.jacobian``); and
    ``autograd.gradcheck`` passes on the layer."""
    torch.manual_seed(seed)
    TanhCell, _, DEQFixedPoint = make_cells(torch)
    cell = TanhCell(in_features, d, scale=0.9).double()
    deq = DEQFixedPoint(cell, make_solvers(torch)["anderson"], tol=1e-13, max_iter=60)
    x = torch.randn(1, in_features, dtype=torch.float64, requires_grad=True)
    v = torch.randn(1, d, dtype=torch.float64)

    z = deq(x)
    seen = []
    z.register_hook(lambda g: seen.append(g.detach().clone()))  # runs after the DEQ hook
    z.backward(v)
    g = seen[0]
    hook_removed = deq.hook is None

    z_star = z.detach()
    J = torch.autograd.functional.jacobian(lambda t: cell(t, x.detach()), z_star)
    J = J.reshape(d, d)
    J_x = torch.autograd.functional.jacobian(lambda t: cell(z_star, t), x.detach())
    J_x = J_x.reshape(d, in_features)
    eye = torch.eye(d, dtype=torch.float64)
    g_direct = torch.linalg.solve((eye - J).T, v.reshape(d, 1)).reshape(1, d)
    f_z, JTg = torch.autograd.functional.vjp(lambda t: cell(t, x.detach()), z_star, g)
    rho = spectral_radius(torch, cell, z_star, x.detach(), iters=200)
    # finite differences through the whole layer (the hook gives no gradient for an undefined
    # output gradient, so that check of gradcheck's is switched off, as the tutorials do)
    passed = torch.autograd.gradcheck(deq, (x.detach().clone().requires_grad_(),), eps=1e-6,
                                      atol=1e-7, check_undefined_grad=False)
    return {
        "g": g.numpy(), "g_direct": g_direct.numpy(),
        "fixed_point_gap": (g - JTg - v).abs().max().item(),
        "forward_gap": (f_z - z_star).abs().max().item(),
        "x_grad": x.grad.numpy(), "x_grad_direct": (g @ J_x).numpy(),
        "jacobian": J.numpy(), "rho": rho.item(),
        "hooks_called": len(seen), "hook_removed": hook_removed, "gradcheck": passed,
    }


# ----------------------------------------------------------------------------- training

def main(torch, epochs: int = 40, hidden: int = 24, conv_steps: int = 6, jac_weight: float = 2.0,
         seed: int = 0) -> dict:
    """Train the tanh DEQ on two spirals (full batch, Adam + cosine schedule, Anderson forward
    and backward), a few steps of the conv DEQ on stripe images, and run the float64 checks."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(seed)
    points, labels = two_spirals()
    x = torch.from_numpy(points).to(device)
    y = torch.from_numpy(labels).to(device)

    model = build(torch, hidden=hidden).to(device)
    deq = model[0]
    solvers = make_solvers(torch)
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-2)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    losses, jac_losses, forward_steps, backward_steps = [], [], [], []
    forward_res, backward_res = [], []
    model.train()
    for _ in range(epochs):
        optimizer.zero_grad()
        ce = criterion(model(x), y)
        loss = ce + jac_weight * deq.jac_loss
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(ce.item())
        jac_losses.append(deq.jac_loss.item())
        forward_steps.append(len(deq.forward_res))
        backward_steps.append(len(deq.backward_res))
        forward_res.append(deq.forward_res[-1])
        backward_res.append(deq.backward_res[-1])

    model.eval()
    with torch.no_grad():
        logits = model(x)
        accuracy = (logits.argmax(dim=1) == y).float().mean().item()
        final_loss = criterion(logits, y).item()
    eval_res = deq.forward_res[-1]
    # the trained cell's Jacobian at the fixed point: contractive when rho < 1
    with torch.no_grad():
        z_star, _ = solvers["anderson"](lambda z: deq.f(z, x), deq.f.initial_state(x), tol=1e-6,
                             max_iter=60)
    rho = spectral_radius(torch, deq.f, z_star, x).max().item()

    # the conv DEQ: a few Adam steps on stripes, implicit backward
    torch.manual_seed(seed)
    images, image_labels = stripes(8)
    xi = torch.from_numpy(images).to(device)
    yi = torch.from_numpy(image_labels).to(device)
    conv_model = build_conv(torch).to(device)
    conv_deq = conv_model[2]
    conv_opt = torch.optim.Adam(conv_model.parameters(), lr=1e-2)
    conv_losses, conv_res = [], []
    for _ in range(conv_steps):
        conv_opt.zero_grad()
        loss = criterion(conv_model(xi), yi)
        loss.backward()
        conv_opt.step()
        conv_losses.append(loss.item())
        conv_res.append((conv_deq.forward_res[-1], conv_deq.backward_res[-1]))

    return {
        "initial_loss": losses[0], "final_loss": final_loss, "accuracy": accuracy,
        "jac_loss": [jac_losses[0], jac_losses[-1]],
        "mean_forward_steps": float(np.mean(forward_steps)),
        "max_forward_steps": int(max(forward_steps)),
        "mean_backward_steps": float(np.mean(backward_steps)),
        "max_forward_res": float(max(forward_res)), "max_backward_res": float(max(backward_res)),
        "eval_res": eval_res, "rho": rho,
        "lr_end": scheduler.get_last_lr()[0],
        "conv_losses": conv_losses, "conv_res": conv_res,
        "grad_check": gradient_check(torch, unroll=60),
        "conv_grad_check": gradient_check(torch, conv=True, unroll=80),
        "backward_check": backward_fixed_point_check(torch),
    }


if __name__ == "__main__":
    import argparse
    import importlib

    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", default="gpugrad", choices=("gpugrad", "torch"))
    args = parser.parse_args()
    print(main(importlib.import_module(args.lib)))

"""A Wasserstein GAN with gradient penalty (WGAN-GP) on the 2-D toy problem such code trains
first: eight Gaussians on a ring. As the public implementations write it: a generator and a
critic as small MLPs (``nn.Sequential`` inside ``nn.Module``, ReLU / LeakyReLU, no batch norm in
the critic), Adam with ``betas=(0.5, 0.9)``, ``n_critic`` critic steps per generator step with
``fake = netG(noise).detach()``, the critic's parameters frozen around the generator's step by
toggling ``p.requires_grad``, the penalty on random interpolates (``torch.rand(B, 1)`` widened by
``expand_as``, ``requires_grad_(True)``, ``torch.autograd.grad`` with ``grad_outputs`` of ones,
``create_graph=True, retain_graph=True, only_inputs=True``, then ``view(size(0), -1)`` and
``norm(2, dim=1)``), the loss ``fake.mean() - real.mean() + gp`` and ``.item()`` for logging,
samples under ``torch.no_grad()`` read back with ``.numpy()``.

Variants: ``"gp"`` (the two-sided penalty ``((norm - 1) ** 2).mean() * LAMBDA``),
``"one_sided"`` (only norms above one are penalised, ``torch.clamp(..., min=0)``) and
``"spectral_norm"`` (the critic's Linear layers wrapped in ``nn.utils.spectral_norm``, the
one-sided penalty kept as a safety net). The learning rate is above the usual 1e-4 so that a
few hundred steps suffice.

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import math

import numpy as np

VARIANTS = ("gp", "one_sided", "spectral_norm")
RADIUS = 2.0
SPREAD = 0.05
MODES = np.array([[RADIUS * math.cos(2 * math.pi * k / 8), RADIUS * math.sin(2 * math.pi * k / 8)]
                  for k in range(8)], np.float32)
LAMBDA = 10  # the paper's weight
NZ = 2


def eight_gaussians(n: int, rng) -> np.ndarray:
    """``n`` points, each near one of the eight modes (chosen uniformly)."""
    centres = MODES[rng.integers(0, 8, n)]
    return (centres + SPREAD * rng.standard_normal((n, 2))).astype(np.float32)


def sample_quality(points: np.ndarray) -> dict:
    """How close the points are to the data: the energy distance to a fixed draw of as many
    data points, the mean distance to the nearest mode, how many modes hold at least 2% of the
    points within 0.5 of them, and the mean radius."""
    reference = eight_gaussians(len(points), np.random.default_rng(12345))

    def mean_distance(a, b):
        return np.linalg.norm(a[:, None, :] - b[None, :, :], axis=2).mean()

    energy = (2 * mean_distance(points, reference) - mean_distance(points, points)
              - mean_distance(reference, reference))
    d = np.linalg.norm(points[:, None, :] - MODES[None, :, :], axis=2)
    close = d.min(1) < 0.5
    counts = np.bincount(d.argmin(1)[close], minlength=8)
    return {"energy": float(energy), "mode_distance": float(d.min(1).mean()),
            "modes_covered": int((counts >= 0.02 * len(points)).sum()),
            "radius": float(np.linalg.norm(points, axis=1).mean())}


def build_critic(torch, hidden: int = 64, spectral: str | None = None):
    """The critic; ``spectral``: ``"hook"`` wraps its Linear layers in the hook-based
    ``nn.utils.spectral_norm``, ``"parametrization"`` in
    ``nn.utils.parametrizations.spectral_norm``."""
    nn = torch.nn

    def linear(i, o):
        layer = nn.Linear(i, o)
        if spectral == "hook":
            return nn.utils.spectral_norm(layer)
        if spectral == "parametrization":
            return nn.utils.parametrizations.spectral_norm(layer)
        return layer

    class Critic(nn.Module):
        def __init__(self):
            super().__init__()
            self.main = nn.Sequential(
                linear(2, hidden), nn.LeakyReLU(0.2),
                linear(hidden, hidden), nn.LeakyReLU(0.2),
                linear(hidden, 1),
            )

        def forward(self, inputs):
            return self.main(inputs).view(-1)

    return Critic()


def build_generator(torch, hidden: int = 64):
    nn = torch.nn

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.main = nn.Sequential(
                nn.Linear(NZ, hidden), nn.ReLU(True),
                nn.Linear(hidden, hidden), nn.ReLU(True),
                nn.Linear(hidden, 2),
            )

        def forward(self, noise):
            return self.main(noise)

    return Generator()


def calc_gradient_penalty(torch, netD, real_data, fake_data, one_sided: bool = False):
    """The penalty on points drawn uniformly between real and fake samples."""
    alpha = torch.rand(real_data.size(0), 1)
    alpha = alpha.expand_as(real_data)
    interpolates = alpha * real_data + ((1 - alpha) * fake_data)
    interpolates = interpolates.detach().requires_grad_(True)
    disc_interpolates = netD(interpolates)
    gradients = torch.autograd.grad(outputs=disc_interpolates, inputs=interpolates,
                                    grad_outputs=torch.ones(disc_interpolates.size()),
                                    create_graph=True, retain_graph=True,
                                    only_inputs=True)[0]
    gradients = gradients.view(gradients.size(0), -1)
    gradient_norm = gradients.norm(2, dim=1)
    if one_sided:
        return (torch.clamp(gradient_norm - 1, min=0) ** 2).mean() * LAMBDA
    return ((gradient_norm - 1) ** 2).mean() * LAMBDA


def set_requires_grad(net, requires_grad: bool) -> None:
    for p in net.parameters():
        p.requires_grad = requires_grad


def main(torch, variant: str = "gp", iters: int = 100, n_critic: int = 5, batch_size: int = 64,
         lr: float = 2e-3, seed: int = 0) -> dict:
    """Train for ``iters`` generator steps (each after ``n_critic`` critic steps); returns the
    Wasserstein estimates (the critic's real minus fake scores) early and late, the last
    penalties, the samples' quality before and after training (and their energy distance
    averaged over the last three tenths), the largest singular values of the critic's weights
    and its state_dict's names, and whether the frozen critic's gradients survived the
    generator's steps."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    netG = build_generator(torch)
    netD = build_critic(torch, spectral="hook" if variant == "spectral_norm" else None)
    optimizerD = torch.optim.Adam(netD.parameters(), lr=lr, betas=(0.5, 0.9))
    optimizerG = torch.optim.Adam(netG.parameters(), lr=lr, betas=(0.5, 0.9))
    fixed_noise = torch.randn(512, NZ)

    with torch.no_grad():
        before = sample_quality(netG(fixed_noise).numpy())

    w_dist, penalties, g_costs = [], [], []
    critic_grads_untouched = True
    energies = []  # the samples' energy distance every tenth of the run
    for iteration in range(iters):
        # (1) the critic: maximise D(real) - D(G(z)), penalised
        set_requires_grad(netD, True)
        for _ in range(n_critic):
            real = torch.from_numpy(eight_gaussians(batch_size, rng))
            netD.zero_grad()
            D_real = netD(real).mean()
            noise = torch.randn(batch_size, NZ)
            fake = netG(noise).detach()
            D_fake = netD(fake).mean()
            gradient_penalty = calc_gradient_penalty(torch, netD, real, fake,
                                                     one_sided=variant != "gp")
            D_cost = D_fake - D_real + gradient_penalty
            D_cost.backward()
            optimizerD.step()
        w_dist.append((D_real - D_fake).item())
        penalties.append(gradient_penalty.item())

        # (2) the generator: maximise D(G(z)), the critic frozen
        set_requires_grad(netD, False)
        kept = [p.grad.clone() for p in netD.parameters()]
        netG.zero_grad()
        noise = torch.randn(batch_size, NZ)
        G_cost = -netD(netG(noise)).mean()
        G_cost.backward()
        optimizerG.step()
        # the frozen critic's gradients are left as its own step left them
        critic_grads_untouched &= all(bool(torch.equal(g, p.grad))
                                      for g, p in zip(kept, netD.parameters()))
        if (iteration + 1) % max(iters // 10, 1) == 0:
            with torch.no_grad():
                energies.append(sample_quality(netG(fixed_noise).numpy())["energy"])
        g_costs.append(G_cost.item())

    set_requires_grad(netD, True)
    netG.eval()
    netD.eval()
    with torch.no_grad():
        samples = netG(fixed_noise).detach().numpy()
        netD(real)  # (in eval mode spectral norm reuses its vectors: no power iteration)
    after = sample_quality(samples)
    # the largest singular value of each of the critic's weights as the forward used them
    sigmas = [float(np.linalg.svd(m.weight.detach().numpy(), compute_uv=False)[0])
              for m in netD.modules() if isinstance(m, torch.nn.Linear)]
    return {
        "w_first": float(np.mean(w_dist[:10])),
        "w_last": float(np.mean(w_dist[-20:])),
        "gp_last": float(np.mean(penalties[-20:])),
        "g_cost_last": float(np.mean(g_costs[-20:])),
        "energy_late": float(np.mean(energies[-3:])),  # smoother than the last alone
        **{f"{k}_before": v for k, v in before.items()},
        **{f"{k}_after": v for k, v in after.items()},
        "finite": bool(np.isfinite(samples).all()),
        "sample_shape": tuple(samples.shape),
        "critic_grads_untouched": critic_grads_untouched,
        "critic_sigmas": sigmas,
        "critic_state": sorted(netD.state_dict()),
        "generator_grads": all(p.grad is not None for p in netG.parameters()),
    }


def penalty_and_grads(torch, netD, real, fake, alpha):
    """For the exact comparison: the two-sided penalty at a given ``alpha`` (one per row), the
    gradients of the critic's output with respect to the interpolates, and the penalty's
    gradients with respect to the critic's parameters (a double backward through
    ``create_graph=True``), as NumPy arrays."""
    alpha = alpha.expand(real.size())
    interpolates = (alpha * real + (1 - alpha) * fake).detach()
    interpolates.requires_grad_(True)
    out = netD(interpolates)
    gradients = torch.autograd.grad(outputs=out, inputs=interpolates,
                                    grad_outputs=torch.ones_like(out),
                                    create_graph=True, retain_graph=True, only_inputs=True)[0]
    gp = ((gradients.view(gradients.size(0), -1).norm(2, dim=1) - 1) ** 2).mean() * LAMBDA
    netD.zero_grad()
    gp.backward()
    grads = {name: p.grad.detach().numpy().copy() for name, p in netD.named_parameters()
             if p.grad is not None}  # (the last bias is not in the penalty's graph)
    return gp.item(), gradients.detach().numpy().copy(), grads


if __name__ == "__main__":
    import importlib
    import sys
    import time

    lib = importlib.import_module(sys.argv[1] if len(sys.argv) > 1 else "gpugrad")
    for v in VARIANTS:
        t = time.perf_counter()
        print(v, main(lib, v), f"{time.perf_counter() - t:.2f}s")

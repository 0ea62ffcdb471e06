"""Exact Gaussian-process regression and Bayesian linear regression written by hand, the way
PyTorch users write them without GPyTorch, on a noisy sine (x in [-4, 4], noise sd 0.1) drawn
with NumPy's ``np.random.default_rng`` and brought over by ``torch.from_numpy`` and
``torch.tensor``.

Idioms: ``torch.set_default_dtype(torch.float64)`` inside ``main``, restored in a
``try``/``finally``; kernels as ``nn.Module``s whose hyperparameters are raw ``nn.Parameter``s
mapped through ``F.softplus`` (lengthscale, noise variance) and ``torch.exp`` (signal
variance): an RBF kernel from broadcasting ``(x1[:, None] - x2[None]) ** 2`` summed over the
last dimension, the same RBF from ``torch.cdist(x1 / ls, x2 / ls).pow(2)``, and a Matern-5/2
kernel from ``torch.cdist``; the Gram matrix plus ``noise * torch.eye(n)`` and a jitter
``torch.eye(n) * 1e-6``; the negative log marginal likelihood by ``torch.linalg.cholesky``,
``torch.cholesky_solve`` and ``torch.diagonal(L).log().sum()``, and four variants of it -- by
``torch.linalg.solve_triangular``, by ``torch.logdet`` + ``torch.linalg.solve``, by
``torch.linalg.slogdet``, and as ``-MultivariateNormal(mean, scale_tril=L).log_prob(y)``;
training by ``torch.optim.Adam``; the posterior mean and variance at test points by
``torch.cholesky_solve`` (and by ``solve_triangular``) with ``.clamp_min(1e-10)`` under
``torch.no_grad()``, the factor there from a jitter-retry loop on
``torch.linalg.cholesky_ex`` that raises ``torch.linalg.LinAlgError`` when no jitter helps;
and Bayesian linear regression on polynomial features ``x.unsqueeze(-1) **
torch.arange(d)``: the posterior precision, its inverse by
``torch.linalg.inv`` (symmetrised), the posterior mean by ``torch.linalg.solve``, the log
evidence by ``slogdet``, and weight samples by ``MultivariateNormal(m, covariance_matrix=S)
.rsample((k,))`` pushed through the features for a predictive band.

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import math

import numpy as np

KERNELS = ("rbf", "rbf_cdist", "matern52")
NLL_METHODS = ("cholesky", "triangular", "logdet", "slogdet", "mvn")
NOISE_SD = 0.1


def make_data(n_train: int = 40, n_test: int = 60, seed: int = 0):
    """A noisy sine as NumPy float64 arrays: x_train (n, 1), y_train (n,), x_test (m, 1) and
    the noiseless y_test (m,)."""
    rng = np.random.default_rng(seed)
    x_train = np.sort(rng.uniform(-4.0, 4.0, size=n_train))[:, None]
    y_train = np.sin(x_train[:, 0]) + NOISE_SD * rng.standard_normal(n_train)
    x_test = np.linspace(-3.5, 3.5, n_test)[:, None]
    return x_train, y_train, x_test, np.sin(x_test[:, 0])


def inverse_softplus(value: float) -> float:
    return math.log(math.expm1(value))


def build_gp(torch, kernel: str = "rbf", lengthscale: float = 1.0, outputscale: float = 1.0,
             noise: float = 0.1, mean: float = 0.0):
    """An exact GP with a constant mean; the hyperparameters start at the given values."""
    nn, F = torch.nn, torch.nn.functional

    class RBFKernel(nn.Module):
        def __init__(self, use_cdist: bool = False):
            super().__init__()
            self.use_cdist = use_cdist
            self.raw_lengthscale = nn.Parameter(torch.tensor(inverse_softplus(lengthscale)))
            self.log_outputscale = nn.Parameter(torch.tensor(math.log(outputscale)))

        @property
        def lengthscale(self):
            return F.softplus(self.raw_lengthscale)

        @property
        def outputscale(self):
            return torch.exp(self.log_outputscale)

        def forward(self, x1, x2):
            ls = self.lengthscale
            if self.use_cdist:
                sq_dist = torch.cdist(x1 / ls, x2 / ls).pow(2)
            else:
                sq_dist = ((x1[:, None] - x2[None]) ** 2).sum(-1) / ls ** 2
            return self.outputscale * torch.exp(-0.5 * sq_dist)

    class Matern52Kernel(RBFKernel):
        def forward(self, x1, x2):
            d = torch.cdist(x1, x2) / self.lengthscale
            sqrt5_d = math.sqrt(5.0) * d
            return self.outputscale * (1.0 + sqrt5_d + 5.0 / 3.0 * d ** 2) * torch.exp(-sqrt5_d)

    class ExactGP(nn.Module):
        def __init__(self):
            super().__init__()
            if kernel == "matern52":
                self.kernel = Matern52Kernel()
            elif kernel in ("rbf", "rbf_cdist"):
                self.kernel = RBFKernel(use_cdist=kernel == "rbf_cdist")
            else:
                raise ValueError(f"unknown kernel {kernel!r}")
            self.raw_noise = nn.Parameter(torch.tensor(inverse_softplus(noise)))
            self.mean_constant = nn.Parameter(torch.tensor(mean))

        @property
        def noise(self):
            return F.softplus(self.raw_noise)

        def covariance(self, x):
            n = x.shape[0]
            K = self.kernel(x, x) + self.noise * torch.eye(n, dtype=x.dtype, device=x.device)
            return K + torch.eye(n, dtype=x.dtype, device=x.device) * 1e-6

    return ExactGP()


def negative_log_marginal_likelihood(torch, gp, x, y, method: str = "cholesky"):
    """-log p(y | x, theta) of the GP, computed five ways."""
    n = y.shape[0]
    K = gp.covariance(x)
    mean = gp.mean_constant.expand(n)
    r = y - mean
    const = 0.5 * n * math.log(2 * math.pi)
    if method == "logdet":
        return 0.5 * r @ torch.linalg.solve(K, r) + 0.5 * torch.logdet(K) + const
    if method == "slogdet":
        sign, logabsdet = torch.linalg.slogdet(K)
        alpha = torch.linalg.solve(K, r.unsqueeze(-1)).squeeze(-1)
        return 0.5 * torch.dot(r, alpha) + 0.5 * logabsdet + const
    L = torch.linalg.cholesky(K)
    if method == "mvn":
        MultivariateNormal = torch.distributions.MultivariateNormal
        return -MultivariateNormal(mean, scale_tril=L).log_prob(y)
    if method == "cholesky":
        alpha = torch.cholesky_solve(r.unsqueeze(-1), L)
        data_fit = 0.5 * (r.unsqueeze(-1) * alpha).sum()
    elif method == "triangular":
        v = torch.linalg.solve_triangular(L, r.unsqueeze(-1), upper=False)
        data_fit = 0.5 * v.pow(2).sum()
    else:
        raise ValueError(method)
    return data_fit + torch.diagonal(L).log().sum() + const


def cholesky_with_jitter(torch, K, jitters=(0.0, 1e-6, 1e-5, 1e-4, 1e-3)):
    """The Cholesky factor of ``K``, adding growing jitter to the diagonal while
    ``torch.linalg.cholesky_ex`` reports failure; the jitter used comes back too."""
    eye = torch.eye(K.shape[-1], dtype=K.dtype, device=K.device)
    for jitter in jitters:
        L, info = torch.linalg.cholesky_ex(K + jitter * eye)
        if not info.any():
            return L, jitter
    raise torch.linalg.LinAlgError(f"K is not positive-definite even with jitter {jitter}")


def predict(torch, gp, x, y, x_test):
    """Posterior mean and variance of f at ``x_test`` (no gradients): the variance both by
    ``cholesky_solve`` and by ``solve_triangular``."""
    with torch.no_grad():
        K = gp.covariance(x)
        L, _ = cholesky_with_jitter(torch, K)
        r = (y - gp.mean_constant).unsqueeze(-1)
        alpha = torch.cholesky_solve(r, L)
        K_s = gp.kernel(x, x_test)                       # (n, m)
        k_ss = torch.diagonal(gp.kernel(x_test, x_test))  # (m,)
        mean = (K_s.T @ alpha).squeeze(-1) + gp.mean_constant
        var = (k_ss - (K_s * torch.cholesky_solve(K_s, L)).sum(0)).clamp_min(1e-10)
        v = torch.linalg.solve_triangular(L, K_s, upper=False)
        var_tri = (k_ss - v.pow(2).sum(dim=0)).clamp_min(1e-10)
    return mean, var, var_tri


def polynomial_features(torch, x, degree: int = 5):
    """(n,) -> (n, degree + 1): 1, x, x^2, ..."""
    return x.unsqueeze(-1) ** torch.arange(degree + 1, dtype=x.dtype, device=x.device)


def blr_posterior(torch, Phi, y, alpha, beta):
    """Posterior N(m, S) of the weights under the prior N(0, I / alpha) and noise precision
    beta, and the log evidence log p(y | alpha, beta)."""
    n, d = Phi.shape
    A = alpha * torch.eye(d, dtype=Phi.dtype, device=Phi.device) + beta * Phi.T @ Phi
    S = torch.linalg.inv(A)
    S = 0.5 * (S + S.T)
    m = beta * torch.linalg.solve(A, Phi.T @ y)
    _, logdet_A = torch.linalg.slogdet(A)
    fit = 0.5 * beta * (y - Phi @ m).pow(2).sum() + 0.5 * alpha * m.dot(m)
    log_evidence = (0.5 * d * torch.log(alpha) + 0.5 * n * torch.log(beta) - fit
                    - 0.5 * logdet_A - 0.5 * n * math.log(2 * math.pi))
    return m, S, log_evidence


def bayesian_linear_regression(torch, x, y, x_test, n_samples: int = 500, degree: int = 5):
    """The BLR posterior, its log evidence's gradient in log alpha / log beta, and a sample
    based predictive mean and band on ``x_test``."""
    MultivariateNormal = torch.distributions.MultivariateNormal
    Phi = polynomial_features(torch, x, degree)
    Phi_test = polynomial_features(torch, x_test, degree)
    log_alpha = torch.tensor(math.log(1.0), dtype=x.dtype, requires_grad=True)
    log_beta = torch.tensor(math.log(1.0 / NOISE_SD ** 2), dtype=x.dtype, requires_grad=True)
    m, S, log_evidence = blr_posterior(torch, Phi, y, log_alpha.exp(), log_beta.exp())
    grad_alpha, grad_beta = torch.autograd.grad(log_evidence, (log_alpha, log_beta))
    posterior = MultivariateNormal(m.detach(), covariance_matrix=S.detach())
    w = posterior.rsample((n_samples,))                  # (k, d)
    f_samples = w @ Phi_test.T                           # (k, m)
    return {"m": m.detach(), "S": S.detach(), "log_evidence": log_evidence.item(),
            "grad_log_alpha": grad_alpha.item(), "grad_log_beta": grad_beta.item(),
            "samples_shape": tuple(w.shape), "exact_mean": Phi_test @ m.detach(),
            "sample_mean": f_samples.mean(0), "sample_std": f_samples.std(0)}


def main(torch, steps: int = 100, kernel: str = "rbf", n_train: int = 40, n_test: int = 60,
         lr: float = 0.05, seed: int = 0) -> dict:
    """Fit the GP's hyperparameters by Adam on the NLL, predict at the test points, and run
    Bayesian linear regression on the same data."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    previous_dtype = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        torch.manual_seed(seed)
        x_np, y_np, xt_np, yt_np = make_data(n_train, n_test, seed)
        x = torch.from_numpy(x_np).to(device)
        y = torch.tensor(y_np, device=device)
        x_test = torch.from_numpy(xt_np).to(device)
        y_test = torch.tensor(yt_np, dtype=torch.float64, device=device)

        gp = build_gp(torch, kernel, lengthscale=0.5, outputscale=0.5, noise=0.5).to(device)
        optimizer = torch.optim.Adam(gp.parameters(), lr=lr)
        history = []
        for _ in range(steps):
            optimizer.zero_grad()
            loss = negative_log_marginal_likelihood(torch, gp, x, y) / n_train
            loss.backward()
            optimizer.step()
            history.append(loss.item())
        with torch.no_grad():
            nlls = {method: negative_log_marginal_likelihood(torch, gp, x, y, method).item()
                    for method in NLL_METHODS}
        mean, var, var_tri = predict(torch, gp, x, y, x_test)
        rmse = torch.sqrt(torch.mean((mean - y_test) ** 2)).item()
        z = (y_test - mean) / var.sqrt()

        blr = bayesian_linear_regression(torch, x[:, 0], y, x_test[:, 0])
        blr_rmse = torch.sqrt(((blr["exact_mean"] - y_test) ** 2).mean()).item()
        sample_gap = (blr["sample_mean"] - blr["exact_mean"]).abs().max().item()
        return {
            "initial_nll": history[0], "final_nll": nlls["cholesky"] / n_train,
            "nlls": nlls, "history_len": len(history),
            "lengthscale": gp.kernel.lengthscale.item(),
            "outputscale": gp.kernel.outputscale.item(), "noise": gp.noise.item(),
            "mean_constant": gp.mean_constant.item(),
            "rmse": rmse, "max_abs_z": z.abs().max().item(),
            "var_min": var.min().item(), "var_gap": (var - var_tri).abs().max().item(),
            "pred_is_float64": mean.dtype == torch.float64,
            "blr_rmse": blr_rmse, "blr_sample_gap": sample_gap,
            "blr_sample_std_max": blr["sample_std"].max().item(),
            "blr_samples_shape": blr["samples_shape"],
            "blr_log_evidence": blr["log_evidence"],
            "default_dtype_inside": torch.get_default_dtype() == torch.float64,
        }
    finally:
        torch.set_default_dtype(previous_dtype)


if __name__ == "__main__":
    import argparse
    import importlib

    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", default="gpugrad", choices=("gpugrad", "torch"))
    parser.add_argument("--kernel", default="rbf", choices=KERNELS)
    args = parser.parse_args()
    print(main(importlib.import_module(args.lib), kernel=args.kernel))

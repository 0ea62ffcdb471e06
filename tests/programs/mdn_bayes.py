"""Two probabilistic regressors on a multimodal inverse problem, written the way the common
PyTorch tutorials and single-file repositories write them: the forward map is
x = y + 0.3 sin(2 pi y) + noise, and the task is to predict y from x, which has up to three
answers for the same x.

1. A mixture density network (MDN): an ``nn.Sequential`` trunk with three ``nn.Linear``
   heads for the mixture logits ``pi``, the means ``mu`` and the scales, the scale made
   positive in one of three ways (``torch.exp(log_sigma)``, ``F.softplus(...) + 1e-6``, or
   ``torch.exp`` of a ``torch.clamp``-ed value). Its negative log-likelihood is written by
   hand, ``-torch.logsumexp(F.log_softmax(pi, -1) + Normal(mu, sigma).log_prob(y.unsqueeze(-1)),
   dim=-1)``, and also through ``MixtureSameFamily(Categorical(logits=pi), Normal(mu, sigma))``
   (``Independent(Normal(mu, sigma), 1)`` components for a 2-D target), with the mixture's
   ``.mean``, ``.variance`` and ``.sample((n,))``, and sampling written by hand with
   ``torch.multinomial(pi, 1)`` and ``gather``.
2. A Bayes-by-Backprop Bayesian MLP: ``BayesLinear`` modules holding ``weight_mu`` /
   ``weight_rho`` / ``bias_mu`` / ``bias_rho`` parameters (set by ``nn.init.uniform_`` and
   ``nn.init.constant_``), ``sigma = torch.log1p(torch.exp(rho))``, reparameterised weights
   ``mu + sigma * torch.randn_like(sigma)`` (or ``torch.empty_like(sigma).normal_()``), the
   KL to the prior either closed-form through ``torch.distributions.kl_divergence(Normal(mu,
   sigma), Normal(0, 1)).sum()``, closed-form by hand, or a Monte Carlo estimate against a
   scale-mixture prior (``torch.logsumexp`` over two ``Normal(0, s).log_prob``); an ELBO of
   ``n_samples`` forward passes in a Python loop, the KL weighted by ``1 / num_batches``;
   ``model.train()`` / ``model.eval()`` toggling the modules' sampling; predictive mean and
   spread from ``torch.stack(preds).mean(0)`` / ``.std(0)`` under ``torch.no_grad()``.

Both trained with ``optim.Adam`` over ``DataLoader(TensorDataset(x, y), batch_size=...,
shuffle=True)``. Written once against the module ``torch`` passed in: ``gpugrad`` or
PyTorch. Noise may be handed in (``eps`` lists for the Bayesian layers) so that two libraries
started from the same weights can be compared number for number.
"""

from __future__ import annotations

import math

import numpy as np

AMPLITUDE = 0.3
NOISE = 0.05


def inverse_problem(n: int, seed: int = 0, dim: int = 1):
    """``n`` pairs (x, y) with x = y + 0.3 sin(2 pi y) + noise, y uniform in [0, 1]; float32
    NumPy arrays of shape (n, 1). With ``dim=2`` the target gets a second column
    ``cos(2 pi y)`` (a 2-D target that is still multimodal in x)."""
    rng = np.random.default_rng(seed)
    y = rng.uniform(0.0, 1.0, (n, 1))
    x = y + AMPLITUDE * np.sin(2 * np.pi * y) + NOISE * rng.standard_normal((n, 1))
    if dim == 2:
        y = np.concatenate([y, np.cos(2 * np.pi * y)], axis=1)
    return x.astype(np.float32), y.astype(np.float32)


def branches(x0: float) -> np.ndarray:
    """Every y in [0, 1] with y + 0.3 sin(2 pi y) = x0 (the noise-free inverse)."""
    ys = np.linspace(0.0, 1.0, 20001)
    f = ys + AMPLITUDE * np.sin(2 * np.pi * ys) - x0
    above = f > 0
    idx = np.nonzero(above[:-1] != above[1:])[0]
    return ys[idx] - f[idx] * (ys[idx + 1] - ys[idx]) / (f[idx + 1] - f[idx])


# ----------------------------------------------------------------------------------------
# Mixture density network
# ----------------------------------------------------------------------------------------

def build_mdn(torch, n_components: int = 5, hidden: int = 32, sigma_mode: str = "exp",
              out_dim: int = 1):
    nn = torch.nn
    F = torch.nn.functional

    class MDN(nn.Module):
        def __init__(self):
            super().__init__()
            self.out_dim = out_dim
            self.trunk = nn.Sequential(nn.Linear(1, hidden), nn.Tanh(),
                                       nn.Linear(hidden, hidden), nn.Tanh())
            self.pi = nn.Linear(hidden, n_components)
            self.mu = nn.Linear(hidden, n_components * out_dim)
            self.sigma = nn.Linear(hidden, n_components * out_dim)

        def forward(self, x):
            h = self.trunk(x)
            pi_logits = self.pi(h)
            mu = self.mu(h)
            if sigma_mode == "exp":
                log_sigma = self.sigma(h)
                sigma = torch.exp(log_sigma)
            elif sigma_mode == "softplus":
                sigma = F.softplus(self.sigma(h)) + 1e-6
            elif sigma_mode == "clamp":
                sigma = torch.exp(torch.clamp(self.sigma(h), min=-7.0, max=7.0))
            else:
                raise ValueError(sigma_mode)
            if self.out_dim > 1:
                mu = mu.view(-1, n_components, self.out_dim)
                sigma = sigma.view(-1, n_components, self.out_dim)
            return pi_logits, mu, sigma

    return MDN()


def mdn_nll(torch, pi_logits, mu, sigma, y):
    """The negative log-likelihood written out: ``y`` is (B, 1), ``mu``/``sigma`` (B, K)."""
    F = torch.nn.functional
    Normal = torch.distributions.Normal
    log_pi = F.log_softmax(pi_logits, dim=-1)
    log_prob = Normal(mu, sigma).log_prob(y)  # (B, 1) against (B, K)
    return -torch.logsumexp(log_pi + log_prob, dim=-1).mean()


def mdn_nll_unsqueeze(torch, pi_logits, mu, sigma, y):
    """The same with a (B,) target, ``y.unsqueeze(-1)`` against the (B, K) components."""
    log_pi = torch.log_softmax(pi_logits, dim=-1)
    comp = torch.distributions.Normal(mu, sigma).log_prob(y.unsqueeze(-1))
    return -torch.logsumexp(log_pi + comp, dim=-1).mean()


def mixture(torch, pi_logits, mu, sigma):
    """``MixtureSameFamily`` of the MDN's output; 3-D ``mu`` makes ``Independent`` components
    over the last dimension."""
    D = torch.distributions
    mix = D.Categorical(logits=pi_logits)
    comp = D.Normal(mu, sigma)
    if mu.dim() == 3:
        comp = D.Independent(comp, 1)
    return D.MixtureSameFamily(mix, comp)


def mdn_nll_mixture(torch, pi_logits, mu, sigma, y):
    """``y`` is (B,) for scalar components, (B, D) for ``Independent`` ones."""
    return -mixture(torch, pi_logits, mu, sigma).log_prob(y).mean()


def sample_mdn(torch, pi_logits, mu, sigma, noise=None):
    """One draw per row, written by hand: a component by ``torch.multinomial`` of the mixture
    weights, its mean and scale by ``gather``, then ``mu + sigma * eps``."""
    F = torch.nn.functional
    pi = F.softmax(pi_logits, dim=-1)
    k = torch.multinomial(pi, 1)  # (B, 1)
    mu_k = mu.gather(1, k)
    sigma_k = sigma.gather(1, k)
    eps = torch.randn_like(mu_k) if noise is None else noise
    return (mu_k + sigma_k * eps).squeeze(-1), k.squeeze(-1)


def train_mdn(torch, epochs: int = 30, n: int = 512, batch_size: int = 64, lr: float = 1e-2,
              sigma_mode: str = "exp", use_mixture: bool = False, seed: int = 0) -> dict:
    """Fit the MDN; returns the loss history and what it predicts at x = 0.5 (three
    branches there)."""
    DataLoader, TensorDataset = torch.utils.data.DataLoader, torch.utils.data.TensorDataset
    torch.manual_seed(seed)
    np.random.seed(seed)
    x_np, y_np = inverse_problem(n, seed)
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True)
    model = build_mdn(torch, sigma_mode=sigma_mode)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)

    losses = []
    for _ in range(epochs):
        model.train()
        total, count = 0.0, 0
        for xb, yb in loader:
            pi_logits, mu, sigma = model(xb)
            if use_mixture:
                loss = mdn_nll_mixture(torch, pi_logits, mu, sigma, yb.squeeze(-1))
            else:
                loss = mdn_nll(torch, pi_logits, mu, sigma, yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * xb.shape[0]
            count += xb.shape[0]
        losses.append(total / count)

    model.eval()
    with torch.no_grad():
        x_full = torch.from_numpy(x_np)
        pi_logits, mu, sigma = model(x_full)
        full_nll = mdn_nll(torch, pi_logits, mu, sigma, torch.from_numpy(y_np)).item()
        probe = torch.full((1, 1), 0.5)
        pi_logits, mu, sigma = model(probe)
        weights = torch.softmax(pi_logits, dim=-1)[0]
        mixture_dist = mixture(torch, pi_logits, mu, sigma)
        draws = mixture_dist.sample((400,)).squeeze(-1)  # (400,)
        hand, _ = sample_mdn(torch, pi_logits.expand(400, -1), mu.expand(400, -1),
                             sigma.expand(400, -1))
        mix_mean = mixture_dist.mean.item()
        mix_var = mixture_dist.variance.item()

    truth = branches(0.5)
    mus, ws = mu[0].numpy(), weights.numpy()
    # a branch is covered when a component of weight > 0.05 sits within 0.08 of it
    covered = [bool(np.any((ws > 0.05) & (np.abs(mus - t) < 0.08))) for t in truth]
    draws_np, hand_np = draws.numpy(), hand.numpy()

    def near(d):
        return float(np.mean(np.min(np.abs(d[:, None] - truth[None, :]), axis=1) < 0.1))

    return {"initial_loss": losses[0], "final_loss": losses[-1], "losses": losses,
            "full_nll": full_nll, "branches": truth.tolist(), "covered": covered,
            "draws_near_branches": near(draws_np), "hand_near_branches": near(hand_np),
            "mixture_mean": mix_mean, "mixture_var": mix_var,
            "draw_mean": float(draws_np.mean()), "draw_var": float(draws_np.var())}


# ----------------------------------------------------------------------------------------
# Bayes by Backprop
# ----------------------------------------------------------------------------------------

def build_bayes_linear(torch):
    nn = torch.nn
    D = torch.distributions

    class BayesLinear(nn.Module):
        """A linear layer with a factorised Gaussian posterior over its weights."""

        def __init__(self, in_features, out_features, prior_sigma: float = 1.0,
                     kl_mode: str = "closed", eps_mode: str = "randn_like"):
            super().__init__()
            self.in_features, self.out_features = in_features, out_features
            self.weight_mu = nn.Parameter(torch.empty(out_features, in_features))
            self.weight_rho = nn.Parameter(torch.empty(out_features, in_features))
            self.bias_mu = nn.Parameter(torch.empty(out_features))
            self.bias_rho = nn.Parameter(torch.empty(out_features))
            self.prior_sigma = prior_sigma
            self.kl_mode, self.eps_mode = kl_mode, eps_mode
            self.sample = True
            self.eps = None  # optional (eps_w, eps_b) handed in from outside
            self.reset_parameters()

        def reset_parameters(self):
            bound = 1.0 / math.sqrt(self.in_features)
            nn.init.uniform_(self.weight_mu, -bound, bound)
            nn.init.constant_(self.weight_rho, -4.0)
            nn.init.uniform_(self.bias_mu, -bound, bound)
            nn.init.constant_(self.bias_rho, -4.0)

        def _noise(self, sigma):
            if self.eps_mode == "randn_like":
                return torch.randn_like(sigma)
            return torch.empty_like(sigma).normal_()

        def forward(self, x):
            weight_sigma = torch.log1p(torch.exp(self.weight_rho))
            bias_sigma = torch.log1p(torch.exp(self.bias_rho))
            if self.sample:
                if self.eps is not None:
                    eps_w, eps_b = self.eps
                else:
                    eps_w, eps_b = self._noise(weight_sigma), self._noise(bias_sigma)
                weight = self.weight_mu + weight_sigma * eps_w
                bias = self.bias_mu + bias_sigma * eps_b
            else:
                weight, bias = self.weight_mu, self.bias_mu
            self._last = (weight, bias)
            return nn.functional.linear(x, weight, bias)

        def kl(self):
            weight_sigma = torch.log1p(torch.exp(self.weight_rho))
            bias_sigma = torch.log1p(torch.exp(self.bias_rho))
            total = 0
            for mu, sigma in ((self.weight_mu, weight_sigma), (self.bias_mu, bias_sigma)):
                if self.kl_mode == "closed":
                    prior = D.Normal(torch.zeros_like(mu), self.prior_sigma * torch.ones_like(mu))
                    total = total + D.kl_divergence(D.Normal(mu, sigma), prior).sum()
                elif self.kl_mode == "hand":
                    p = self.prior_sigma
                    total = total + (math.log(p) - torch.log(sigma)
                                     + (sigma ** 2 + mu ** 2) / (2 * p ** 2) - 0.5).sum()
                else:
                    raise ValueError(self.kl_mode)
            return total

        def mc_kl(self, pi: float = 0.5, s1: float = 1.0, s2: float = math.exp(-6)):
            """log q(w) - log p(w) at the weights of the last forward pass, p a scale
            mixture ``pi N(0, s1) + (1 - pi) N(0, s2)`` (Blundell et al.)."""
            weight, bias = self._last
            weight_sigma = torch.log1p(torch.exp(self.weight_rho))
            bias_sigma = torch.log1p(torch.exp(self.bias_rho))
            log_q = (D.Normal(self.weight_mu, weight_sigma).log_prob(weight).sum()
                     + D.Normal(self.bias_mu, bias_sigma).log_prob(bias).sum())
            log_p = 0
            for w in (weight, bias):
                stacked = torch.stack([math.log(pi) + D.Normal(0.0, s1).log_prob(w),
                                       math.log(1 - pi) + D.Normal(0.0, s2).log_prob(w)])
                log_p = log_p + torch.logsumexp(stacked, dim=0).sum()
            return log_q - log_p

    return BayesLinear


def build_bayes_mlp(torch, hidden: int = 32, kl_mode: str = "closed",
                    eps_mode: str = "randn_like"):
    nn = torch.nn
    BayesLinear = build_bayes_linear(torch)

    class BayesMLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([
                BayesLinear(1, hidden, kl_mode=kl_mode, eps_mode=eps_mode),
                BayesLinear(hidden, hidden, kl_mode=kl_mode, eps_mode=eps_mode),
                BayesLinear(hidden, 1, kl_mode=kl_mode, eps_mode=eps_mode)])

        def train(self, mode: bool = True):
            super().train(mode)
            for layer in self.layers:
                layer.sample = mode
            return self

        def forward(self, x):
            for i, layer in enumerate(self.layers):
                x = layer(x)
                if i < len(self.layers) - 1:
                    x = torch.relu(x)
            return x

        def kl(self):
            return sum(layer.kl() for layer in self.layers)

        def mc_kl(self):
            return sum(layer.mc_kl() for layer in self.layers)

        def set_noise(self, eps):
            for layer, e in zip(self.layers, eps if eps is not None else [None] * 3):
                layer.eps = e

    return BayesMLP()


def elbo_loss(torch, model, xb, yb, num_batches: int, n_samples: int = 2,
              noise_std: float = 0.1, mc_kl: bool = False, eps=None):
    """Minus the ELBO of one minibatch, averaged over ``n_samples`` weight draws: the Gaussian
    negative log-likelihood summed over the batch plus the KL scaled by ``1 / num_batches``.
    ``eps`` (a list over samples of per-layer (eps_w, eps_b)) replaces the random draws."""
    Normal = torch.distributions.Normal
    nll_total, kl_total = 0.0, 0.0
    for s in range(n_samples):
        if eps is not None:
            model.set_noise(eps[s])
        pred = model(xb)
        nll_total = nll_total - Normal(pred, noise_std).log_prob(yb).sum()
        kl_total = kl_total + (model.mc_kl() if mc_kl else model.kl())
    model.set_noise(None)
    nll = nll_total / n_samples
    kl = kl_total / n_samples
    return nll + kl / num_batches, nll, kl


def predict(torch, model, x, n_samples: int = 20):
    """Predictive mean and spread from ``n_samples`` stochastic passes."""
    model.train()  # keep sampling weights
    with torch.no_grad():
        preds = [model(x) for _ in range(n_samples)]
    stacked = torch.stack(preds)
    return stacked.mean(0), stacked.std(0)


def train_bnn(torch, epochs: int = 25, n: int = 256, batch_size: int = 64, lr: float = 1e-2,
              n_samples: int = 2, kl_mode: str = "closed", mc_kl: bool = False,
              eps_mode: str = "randn_like", seed: int = 0) -> dict:
    DataLoader, TensorDataset = torch.utils.data.DataLoader, torch.utils.data.TensorDataset
    torch.manual_seed(seed)
    x_np, y_np = inverse_problem(n, seed)
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True)
    num_batches = len(loader)
    model = build_bayes_mlp(torch, kl_mode=kl_mode, eps_mode=eps_mode)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)

    history = []
    for _ in range(epochs):
        model.train()
        total_nll, total_kl = 0.0, 0.0
        for xb, yb in loader:
            optimizer.zero_grad()
            loss, nll, kl = elbo_loss(torch, model, xb, yb, num_batches, n_samples,
                                      mc_kl=mc_kl)
            loss.backward()
            optimizer.step()
            total_nll += nll.item()
            total_kl += kl.item()
        history.append((total_nll / n, total_kl / num_batches))

    # evaluation: the mean network, then the predictive distribution
    model.eval()
    with torch.no_grad():
        mean_pred = model(x)
        mean_mse = ((mean_pred - y) ** 2).mean().item()
    assert not model.layers[0].sample
    inside = torch.linspace(0.0, 1.0, 11).unsqueeze(-1)
    outside = torch.linspace(2.5, 3.5, 11).unsqueeze(-1)
    mu_in, std_in = predict(torch, model, inside)
    mu_out, std_out = predict(torch, model, outside)
    model.eval()
    return {"initial_loss": history[0][0], "final_loss": history[-1][0],
            "initial_kl": history[0][1], "final_kl": history[-1][1],
            "mean_mse": mean_mse, "std_inside": std_in.mean().item(),
            "std_outside": std_out.mean().item(), "pred_shape": tuple(mu_in.shape)}


def main(torch, seed: int = 0) -> dict:
    return {"mdn": train_mdn(torch, seed=seed), "bnn": train_bnn(torch, seed=seed)}


if __name__ == "__main__":
    import argparse
    import importlib

    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", default="gpugrad", choices=("gpugrad", "torch"))
    args = parser.parse_args()
    print(main(importlib.import_module(args.lib)))

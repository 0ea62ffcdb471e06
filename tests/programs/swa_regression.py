"""A tabular regression script in the style people write for small scientific datasets:
features whitened with a Cholesky factor of their covariance (``torch.cov``,
``torch.linalg.cholesky``, ``torch.linalg.solve_triangular``), outliers clipped at quantiles
(``torch.quantile``), an MLP with ``BatchNorm1d`` whose pairwise feature interactions are an
``einsum``, ``RAdam`` with a ``OneCycleLR`` schedule stepped per batch, gradients clipped by
their ``torch.linalg.vector_norm``, then stochastic weight averaging (``AveragedModel``,
``SWALR``, ``update_bn``) and the median absolute error of both models on held-out rows.

The task: y = x0 * x1 - 2 sin(x2) + noise, on correlated inputs. Written once against the
module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import numpy as np

FEATURES = 5


def dataset(n: int, seed: int):
    """``n`` rows of correlated features (float32 NumPy) and their targets."""
    rng = np.random.default_rng(seed)
    mixing = np.eye(FEATURES) + 0.5 * rng.standard_normal((FEATURES, FEATURES))
    x = rng.standard_normal((n, FEATURES)) @ mixing.T + 3.0
    latent = np.linalg.solve(mixing, (x - 3.0).T).T  # the independent factors
    y = latent[:, 0] * latent[:, 1] - 2 * np.sin(latent[:, 2]) + 0.05 * rng.standard_normal(n)
    return x.astype(np.float32), y.astype(np.float32)


def main(torch, epochs: int = 12, swa_epochs: int = 4, seed: int = 0) -> dict:
    """Train, average, evaluate; returns the first and last epoch losses and the median absolute
    errors on held-out rows of the last model and of the averaged one."""
    nn = torch.nn
    AveragedModel, SWALR, update_bn = (torch.optim.swa_utils.AveragedModel,
                                       torch.optim.swa_utils.SWALR, torch.optim.swa_utils.update_bn)
    torch.manual_seed(seed)
    x_np, y_np = dataset(1200, seed)
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    x_train, y_train, x_test, y_test = x[:1000], y[:1000], x[1000:], y[1000:]

    # Whitening from the training rows only: x -> L^-1 (x - mean), with cov = L L^T.
    mean = x_train.mean(dim=0)
    chol = torch.linalg.cholesky(torch.cov(x_train.T))

    def whiten(rows):
        return torch.linalg.solve_triangular(chol, (rows - mean).T, upper=False).T

    low, high = torch.quantile(y_train, torch.tensor([0.01, 0.99]))
    y_train = y_train.clamp(low.item(), high.item())
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(whiten(x_train), y_train), batch_size=50, shuffle=True)

    class InteractionNet(nn.Module):
        def __init__(self, hidden: int = 32):
            super().__init__()
            self.pairs = nn.Parameter(0.1 * torch.randn(FEATURES, FEATURES, hidden))
            self.body = nn.Sequential(
                nn.Linear(FEATURES, hidden), nn.BatchNorm1d(hidden), nn.SiLU(),
                nn.Linear(hidden, hidden), nn.SiLU())
            self.head = nn.Linear(hidden, 1)

        def forward(self, rows):
            interactions = torch.einsum("bi,bj,ijh->bh", rows, rows, self.pairs)
            return self.head(self.body(rows) + interactions).squeeze(-1)

    model = InteractionNet()
    optimizer = torch.optim.RAdam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=1e-2, epochs=epochs, steps_per_epoch=len(loader))
    loss_fn = nn.MSELoss()

    def run_epoch(after_batch):
        model.train()
        total = 0.0
        for rows, targets in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(rows), targets)
            loss.backward()
            norm = torch.linalg.vector_norm(
                torch.stack([torch.linalg.vector_norm(p.grad) for p in model.parameters()]))
            if norm > 5.0:
                for p in model.parameters():
                    p.grad.mul_(5.0 / norm)
            optimizer.step()
            after_batch()
            total += loss.item() * len(rows)
        return total / len(loader.dataset)

    losses = [run_epoch(scheduler.step) for _ in range(epochs)]

    swa_model = AveragedModel(model)
    swa_scheduler = SWALR(optimizer, swa_lr=2e-3, anneal_epochs=2)
    for _ in range(swa_epochs):
        losses.append(run_epoch(lambda: None))
        swa_model.update_parameters(model)
        swa_scheduler.step()
    update_bn(loader, swa_model)

    def median_abs_error(net):
        net.eval()
        with torch.no_grad():
            return torch.median((net(whiten(x_test)) - y_test).abs()).item()

    return {"initial_loss": losses[0], "final_loss": losses[-1],
            "median_error": median_abs_error(model),
            "swa_median_error": median_abs_error(swa_model),
            "lr_after": optimizer.param_groups[0]["lr"]}

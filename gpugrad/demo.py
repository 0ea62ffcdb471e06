"""``python -m gpugrad.demo``: train an MLP on the handwritten digits bundled with scikit-learn.

The training loop is a PyTorch loop with ``import gpugrad as torch``. It runs on the GPU when
CuPy sees one, else on the CPU, shows a progress bar per epoch, prints the loss, the test
accuracy and the throughput after each epoch, and saves a PNG of the loss and accuracy curves.

Needs the ``demo`` extra: ``pip install gpugrad[demo]`` (scikit-learn, matplotlib, tqdm).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

import gpugrad as torch
from gpugrad import nn, optim


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m gpugrad.demo",
        description="Train an MLP on scikit-learn's 8x8 handwritten digits with gpugrad.",
    )
    parser.add_argument("--epochs", type=int, default=30, help="training epochs (default 30)")
    parser.add_argument("--batch-size", type=int, default=64, help="batch size (default 64)")
    parser.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate")
    parser.add_argument("--hidden", type=int, default=256, help="hidden layer width")
    parser.add_argument("--device", default=None,
                        help="'cuda' or 'cpu' (default: cuda when available, or $GPUGRAD_DEVICE)")
    parser.add_argument("--out", default=os.path.join(".", "demo_out"),
                        help="folder for the PNG of the curves (default ./demo_out)")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    return parser.parse_args(argv)


def load_digits(seed: int):
    """The 1,797 digit images (64 pixels scaled to [0, 1]) split 80/20, stratified."""
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    digits = sklearn_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    return train_test_split(x, y, test_size=0.2, random_state=seed, stratify=y)


def make_model(hidden: int) -> nn.Module:
    return nn.Sequential(
        nn.Linear(64, hidden), nn.ReLU(),
        nn.Linear(hidden, hidden), nn.ReLU(),
        nn.Linear(hidden, 10),
    )


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Accuracy of ``model`` on (x, y), in [0, 1]."""
    model.eval()
    with torch.no_grad():
        correct = (model(x).argmax(dim=1) == y).sum().item()
    model.train()
    return correct / len(y)


def save_curves(history: dict, path: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    epochs = np.arange(1, len(history["loss"]) + 1)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(epochs, history["loss"], marker="o", markersize=3)
    ax_loss.set(title="training loss (cross-entropy)", xlabel="epoch", ylabel="loss")
    ax_loss.set_yscale("log")
    ax_acc.plot(epochs, 100 * np.asarray(history["accuracy"]), marker="o", markersize=3,
                color="tab:green")
    ax_acc.set(title="test accuracy", xlabel="epoch", ylabel="accuracy (%)")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(f"gpugrad MLP on scikit-learn digits ({history['device']})")
    fig.tight_layout()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def main(argv=None) -> dict:
    """Run the demo; returns the history (loss, accuracy, samples/s per epoch) and the PNG path."""
    from threadpoolctl import threadpool_limits  # comes with scikit-learn

    args = parse_args(argv)
    device = args.device or str(torch.get_default_device())  # CUDA when CuPy sees a GPU
    if device != "cpu":
        return train(args, device)
    # These matrices are tiny: one BLAS thread is as fast, and a threaded BLAS slows down
    # badly when another process keeps the other cores busy.
    with threadpool_limits(limits=1, user_api="blas"):
        return train(args, device)


def train(args: argparse.Namespace, device: str) -> dict:
    """The training loop of the demo."""
    from tqdm import tqdm

    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    x_train, x_test, y_train, y_test = load_digits(args.seed)
    x_test_t = torch.tensor(x_test, device=device)
    y_test_t = torch.tensor(y_test, device=device)
    model = make_model(args.hidden).to(device)
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    loss_fn = nn.CrossEntropyLoss()

    print(f"gpugrad {torch.__version__} | device: {device} | train {len(x_train)} / "
          f"test {len(x_test)} digits (8x8)")
    print(model)
    history = {"loss": [], "accuracy": [], "samples_per_s": [], "device": device}
    n_batches = (len(x_train) + args.batch_size - 1) // args.batch_size
    for epoch in range(1, args.epochs + 1):
        order = rng.permutation(len(x_train))
        total, seen = 0.0, 0
        start = time.perf_counter()
        bar = tqdm(range(n_batches), desc=f"epoch {epoch:>3}/{args.epochs}", unit="batch",
                   leave=False, disable=args.no_progress, file=sys.stdout)
        for b in bar:
            idx = order[b * args.batch_size:(b + 1) * args.batch_size]
            inputs = torch.tensor(x_train[idx], device=device)
            targets = torch.tensor(y_train[idx], device=device)
            optimizer.zero_grad()
            loss = loss_fn(model(inputs), targets)
            loss.backward()
            optimizer.step()
            batch_loss = loss.item()
            total += batch_loss * len(idx)
            seen += len(idx)
            bar.set_postfix(loss=f"{batch_loss:.4f}", refresh=False)
        bar.close()
        elapsed = time.perf_counter() - start
        scheduler.step()
        accuracy = evaluate(model, x_test_t, y_test_t)
        history["loss"].append(total / seen)
        history["accuracy"].append(accuracy)
        history["samples_per_s"].append(seen / elapsed)
        tqdm.write(f"epoch {epoch:>3}/{args.epochs}  loss {total / seen:.4f}  "
                   f"test accuracy {100 * accuracy:6.2f}%  {seen / elapsed:>9,.0f} samples/s",
                   file=sys.stdout)

    path = save_curves(history, os.path.join(args.out, "digits_mlp.png"))
    history["png"] = path
    print(f"final test accuracy {100 * history['accuracy'][-1]:.2f}% on {device}; "
          f"median {np.median(history['samples_per_s']):,.0f} samples/s")
    print(f"curves saved to {os.path.abspath(path)}")
    return history


if __name__ == "__main__":
    main()

"""The PyTorch quickstart tutorial's shape, on made-up 28x28 "images" instead of a download:
device selection on the first lines, ``Dataset``/``DataLoader``, a ``Flatten`` + ``Linear`` stack,
``train``/``test`` functions with the tutorial's progress lines, ``save``/``load`` of the
``state_dict`` and a prediction from the reloaded model.

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np


def _images(n: int, seed: int):
    """Ten classes of 28x28 images: a noisy class template (a bar at a class-specific place)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    images = rng.normal(0.0, 0.6, (n, 1, 28, 28)).astype(np.float32)
    for i, c in enumerate(labels):
        images[i, 0, 2 * c + 4:2 * c + 8, 4:24] += 1.0
    return images, labels.astype(np.int64)


def main(torch, epochs: int = 3, seed: int = 0) -> dict:
    """Train for ``epochs``; returns the first and last training loss printed, the test
    accuracy and loss, and the reloaded model's predictions."""
    nn = torch.nn
    DataLoader, TensorDataset = torch.utils.data.DataLoader, torch.utils.data.TensorDataset

    device = ("cuda" if torch.cuda.is_available()
              else "mps" if torch.backends.mps.is_available() else "cpu")
    print(f"Using {device} device")
    torch.manual_seed(seed)

    train_x, train_y = _images(1024, seed)
    test_x, test_y = _images(256, seed + 1)
    training_data = TensorDataset(torch.from_numpy(train_x), torch.from_numpy(train_y))
    test_data = TensorDataset(torch.from_numpy(test_x), torch.from_numpy(test_y))
    batch_size = 64
    train_dataloader = DataLoader(training_data, batch_size=batch_size, shuffle=True)
    test_dataloader = DataLoader(test_data, batch_size=batch_size)
    for X, y in test_dataloader:
        print(f"Shape of X [N, C, H, W]: {X.shape}")
        print(f"Shape of y: {y.shape} {y.dtype}")
        break

    class NeuralNetwork(nn.Module):
        def __init__(self):
            super().__init__()
            self.flatten = nn.Flatten()
            self.linear_relu_stack = nn.Sequential(
                nn.Linear(28 * 28, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                nn.Linear(128, 10),
            )

        def forward(self, x):
            return self.linear_relu_stack(self.flatten(x))

    model = NeuralNetwork().to(device)
    print(model)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-1)
    printed = []

    def train(dataloader, model, loss_fn, optimizer):
        size = len(dataloader.dataset)
        model.train()
        for batch, (X, y) in enumerate(dataloader):
            X, y = X.to(device), y.to(device)
            pred = model(X)
            loss = loss_fn(pred, y)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            if batch % 5 == 0:
                loss, current = loss.item(), (batch + 1) * len(X)
                printed.append(loss)
                print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")

    def test(dataloader, model, loss_fn):
        size = len(dataloader.dataset)
        num_batches = len(dataloader)
        model.eval()
        test_loss, correct = 0, 0
        with torch.no_grad():
            for X, y in dataloader:
                X, y = X.to(device), y.to(device)
                pred = model(X)
                test_loss += loss_fn(pred, y).item()
                correct += (pred.argmax(1) == y).type(torch.float).sum().item()
        test_loss /= num_batches
        correct /= size
        print(f"Test Error: \n Accuracy: {(100 * correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")
        return correct, test_loss

    for t in range(epochs):
        print(f"Epoch {t + 1}\n-------------------------------")
        train(train_dataloader, model, loss_fn, optimizer)
        accuracy, test_loss = test(test_dataloader, model, loss_fn)
    print("Done!")

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.pth")
        torch.save(model.state_dict(), path)
        model = NeuralNetwork().to(device)
        model.load_state_dict(torch.load(path, weights_only=True))
    model.eval()
    x, y = test_data[0][0], test_data[0][1]
    with torch.no_grad():
        x = x.to(device)
        pred = model(x)
        predicted, actual = pred[0].argmax(0).item(), y.item()
    return {"initial_loss": printed[0], "final_loss": printed[-1], "accuracy": accuracy,
            "test_loss": test_loss, "prediction": (predicted, actual)}


if __name__ == "__main__":
    import argparse
    import importlib

    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", default="gpugrad", choices=("gpugrad", "torch"))
    args = parser.parse_args()
    print(main(importlib.import_module(args.lib)))

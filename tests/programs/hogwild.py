"""Hogwild training, the shape of PyTorch's ``mnist_hogwild`` example on made-up 8x8 "digits":
one model whose parameters ``share_memory()`` moves into shared memory, several processes
started with ``spawn`` that each train it with their own optimizer and ``DataLoader``, without
locks, and the parent testing the model they trained together.

Written once against the library passed to ``main`` (``gpugrad`` or PyTorch); the processes
get its name and import it. The model class is made per library at module level
(``Net_gpugrad``, ``Net_torch``), so that ``spawn`` can pickle the model by reference.
"""

from __future__ import annotations

import importlib

import numpy as np

CLASSES = 4


def _digits(n: int, seed: int):
    """Noisy 8x8 images of four classes, each a bar in a class-specific row band."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, CLASSES, n)
    images = rng.normal(0.0, 1.0, (n, 1, 8, 8)).astype(np.float32)
    for i, c in enumerate(labels):
        images[i, 0, 2 * c:2 * c + 2, 1:7] += 1.2
    return images, labels.astype(np.int64)


def _net_class(torch):
    nn, F = torch.nn, torch.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, kernel_size=3)
            self.conv2 = nn.Conv2d(6, 12, kernel_size=3)
            self.conv2_drop = nn.Dropout2d()
            self.fc1 = nn.Linear(48, 32)
            self.fc2 = nn.Linear(32, CLASSES)

        def forward(self, x):
            x = F.relu(self.conv1(x))
            x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
            x = x.view(-1, 48)
            x = F.relu(self.fc1(x))
            x = F.dropout(x, training=self.training)
            return F.log_softmax(self.fc2(x), dim=1)

    Net.__name__ = Net.__qualname__ = f"Net_{torch.__name__}"
    Net.__module__ = __name__
    return Net


def __getattr__(name: str):
    """``Net_<library>``: the model class for that library, made on first use (in a spawned
    process, when the pickled model names it)."""
    if not name.startswith("Net_"):
        raise AttributeError(name)
    cls = _net_class(importlib.import_module(name[4:]))
    globals()[name] = cls
    return cls


def train(rank: int, library: str, model, dataset, epochs: int, seed: int, log) -> None:
    """One Hogwild process: its own optimizer and loader over the shared model; the mean loss
    of each of its epochs goes to ``log[rank]`` (shared too)."""
    torch = importlib.import_module(library)
    F = torch.nn.functional
    torch.manual_seed(seed + rank)
    loader = torch.utils.data.DataLoader(dataset, batch_size=32, shuffle=True)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.5)
    model.train()
    for epoch in range(epochs):
        total, batches = 0.0, 0
        for data, target in loader:
            optimizer.zero_grad()
            loss = F.nll_loss(model(data), target)
            loss.backward()
            optimizer.step()
            total, batches = total + loss.item(), batches + 1
        log[rank, epoch] = total / batches


def test(torch, model, dataset) -> tuple:
    """Mean loss and accuracy of ``model`` on ``dataset``."""
    F = torch.nn.functional
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for data, target in torch.utils.data.DataLoader(dataset, batch_size=128):
            output = model(data)
            loss += F.nll_loss(output, target, reduction="sum").item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    return loss / len(dataset), correct / len(dataset)


def main(torch, processes: int = 2, epochs: int = 3, seed: int = 0) -> dict:
    """Train with ``processes`` Hogwild processes; returns the test loss before and after,
    the accuracy, the processes' epoch losses and whether the parameters stayed shared."""
    mp = torch.multiprocessing
    torch.manual_seed(seed)
    train_x, train_y = _digits(1024, seed)
    test_x, test_y = _digits(256, seed + 1)
    train_set = torch.utils.data.TensorDataset(torch.from_numpy(train_x),
                                               torch.from_numpy(train_y))
    test_set = torch.utils.data.TensorDataset(torch.from_numpy(test_x), torch.from_numpy(test_y))

    model = getattr(importlib.import_module(__name__), f"Net_{torch.__name__}")()
    initial_loss, _ = test(torch, model, test_set)
    model.share_memory()  # gradients are made later, in each process: they are not shared
    log = torch.zeros(processes, epochs).share_memory_()

    context = mp.get_context("spawn")
    workers = []
    for rank in range(processes):
        p = context.Process(target=train, args=(rank, torch.__name__, model, train_set, epochs,
                                                seed, log))
        p.start()
        workers.append(p)
    for p in workers:
        p.join()
    if any(p.exitcode != 0 for p in workers):
        raise RuntimeError(f"a Hogwild process failed: exit codes {[p.exitcode for p in workers]}")

    final_loss, accuracy = test(torch, model, test_set)
    print(f"Test set: average loss {final_loss:.4f}, accuracy {100 * accuracy:.0f}%")
    return {"initial_loss": initial_loss, "final_loss": final_loss, "accuracy": accuracy,
            "worker_losses": log.tolist(),
            "shared": all(p.is_shared() for p in model.parameters())}

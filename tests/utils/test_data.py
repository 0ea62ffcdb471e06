"""gpugrad.utils.data behaves as torch.utils.data for the common training-loop uses."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad
from gpugrad.utils.data import DataLoader, TensorDataset, random_split


def _datasets(n=10):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n, dtype=np.int64)
    return (gpugrad.utils.data.TensorDataset(gpugrad.tensor(x), gpugrad.tensor(y)),
            torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y)))


@pytest.mark.parametrize("batch_size,drop_last", [(1, False), (3, False), (3, True), (10, True)])
def test_batches_match_torch_without_shuffle(batch_size, drop_last):
    gds, tds = _datasets()
    g_loader = DataLoader(gds, batch_size=batch_size, drop_last=drop_last)
    t_loader = torch.utils.data.DataLoader(tds, batch_size=batch_size, drop_last=drop_last)
    assert len(g_loader) == len(t_loader)
    g_batches, t_batches = list(g_loader), list(t_loader)
    assert len(g_batches) == len(t_batches)
    for (gx, gy), (tx, ty) in zip(g_batches, t_batches):
        np.testing.assert_array_equal(gx.numpy(), tx.numpy())
        np.testing.assert_array_equal(gy.numpy(), ty.numpy())
        assert gy.dtype == gpugrad.int64


def test_shuffle_is_a_seeded_permutation_of_every_sample():
    gds, _ = _datasets(17)
    gpugrad.manual_seed(3)
    first = [y.tolist() for _, y in DataLoader(gds, batch_size=4, shuffle=True)]
    gpugrad.manual_seed(3)
    again = [y.tolist() for _, y in DataLoader(gds, batch_size=4, shuffle=True)]
    assert first == again
    flat = sorted(v for batch in first for v in batch)
    assert flat == list(range(17)) and [len(b) for b in first] == [4, 4, 4, 4, 1]


def test_default_collate_of_numbers_dicts_and_lists():
    samples = [{"x": gpugrad.ones(2) * i, "label": i, "pair": (i, float(i))} for i in range(3)]
    batch = next(iter(DataLoader(samples, batch_size=3)))
    assert batch["x"].shape == (3, 2) and batch["label"].tolist() == [0, 1, 2]
    assert batch["label"].dtype == gpugrad.int64
    assert batch["pair"][1].tolist() == [0.0, 1.0, 2.0]


def test_random_split_lengths_and_fractions():
    gds, _ = _datasets(10)
    a, b = random_split(gds, [7, 3])
    assert (len(a), len(b)) == (7, 3)
    assert sorted(a.indices + b.indices) == list(range(10))
    parts = random_split(gds, [0.5, 0.3, 0.2])
    assert [len(p) for p in parts] == [5, 3, 2]
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(gds, [4, 4])


def test_bad_arguments_raise_like_torch():
    gds, tds = _datasets()
    for m, ds in ((gpugrad.utils.data, gds), (torch.utils.data, tds)):
        with pytest.raises(ValueError, match="batch_size"):
            m.DataLoader(ds, batch_size=0)
        with pytest.raises(ValueError, match="mutually exclusive"):
            m.DataLoader(ds, sampler=[0, 1], shuffle=True)
    with pytest.raises(ValueError, match="Size mismatch"):
        TensorDataset(gpugrad.ones(3), gpugrad.ones(4))


def test_a_training_loop_over_a_dataloader_learns():
    gpugrad.manual_seed(0)
    x = gpugrad.randn(64, 4)
    y = (x.sum(1) > 0).long()
    model = gpugrad.nn.Linear(4, 2)
    opt = gpugrad.optim.SGD(model.parameters(), lr=0.5)
    loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True)
    for _ in range(20):
        for xb, yb in loader:
            opt.zero_grad()
            gpugrad.nn.functional.cross_entropy(model(xb), yb).backward()
            opt.step()
    accuracy = (model(x).argmax(1) == y).float().mean().item()
    assert accuracy > 0.9

"""DataLoader and collation behave as torch.utils.data's: batches, options, iterable datasets,
worker processes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad
from gpugrad.utils.data import DataLoader, IterableDataset, TensorDataset


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


def test_bad_arguments_raise_like_torch():
    gds, tds = _datasets()
    for m, ds in ((gpugrad.utils.data, gds), (torch.utils.data, tds)):
        with pytest.raises(ValueError, match="batch_size"):
            m.DataLoader(ds, batch_size=0)
        with pytest.raises(ValueError, match="mutually exclusive"):
            m.DataLoader(ds, sampler=[0, 1], shuffle=True)


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


@pytest.mark.parametrize("batch", [
    [1.0, 2.5], [1, 2], [True, False], ["a", "b"], [(1, 2.0), (3, 4.0)],
    [{"a": 1, "b": [1.5, 2]}, {"a": 2, "b": [3.0, 4]}], [np.float32(1), np.float32(2)],
    [np.ones(2), np.zeros(2)], [np.arange(3, dtype=np.int32)] * 2,
    # a field of strings in (text, label) samples stays zip's tuple; in a mapping, a list
    [("ab", 1), ("cd", 0)], [["x", 1.5], ["y", 2.5]], [{"s": "a"}, {"s": "b"}],
    [((("p", 1),), 2), ((("q", 3),), 4)],
])
def test_default_collate_matches_torch(batch):
    def flat(x):
        if isinstance(x, (gpugrad.Tensor, torch.Tensor)):
            return (str(x.dtype).split(".")[-1], tuple(x.shape), x.tolist())
        if isinstance(x, dict):
            return {k: flat(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return (type(x).__name__, [flat(v) for v in x])
        return x

    ours = gpugrad.utils.data.default_collate(batch)
    theirs = torch.utils.data.default_collate(batch)
    assert flat(ours) == flat(theirs)


@pytest.mark.parametrize("sample", [np.ones(2), (np.int64(3), "x"), {"k": np.zeros(1)}, 4.0])
def test_default_convert_matches_torch(sample):
    ours = gpugrad.utils.data.default_convert(sample)
    theirs = torch.utils.data.default_convert(sample)
    assert type(ours).__name__ in (type(theirs).__name__, "Tensor")
    assert str(ours).replace("gpugrad", "torch") == str(theirs)


def test_batch_size_none_yields_converted_samples():
    loader = DataLoader([np.arange(2), np.arange(2, 4)], batch_size=None)
    assert [b.tolist() for b in loader] == [[0, 1], [2, 3]] and len(loader) == 2


class _Range(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = gpugrad.utils.data.get_worker_info()
        if info is None:
            return iter(range(self.n))
        return iter(range(info.id, self.n, info.num_workers))  # each worker its share

    def __len__(self):
        return self.n


class _TorchRange(torch.utils.data.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


@pytest.mark.parametrize("batch_size,drop_last", [(3, False), (3, True), (None, False)])
def test_iterable_datasets_batch_like_torch(batch_size, drop_last):
    ours = DataLoader(_Range(7), batch_size=batch_size, drop_last=drop_last)
    theirs = torch.utils.data.DataLoader(_TorchRange(7), batch_size=batch_size,
                                         drop_last=drop_last)
    def values(loader):
        return [b.tolist() if hasattr(b, "tolist") else b for b in loader]

    assert values(ours) == values(theirs) and len(ours) == len(theirs)


@pytest.mark.parametrize("kwargs,match", [
    (dict(batch_size=None, drop_last=True), "mutually exclusive with drop_last"),
    (dict(num_workers=-1), "num_workers option should be non-negative"),
    (dict(timeout=-1), "timeout option should be non-negative"),
    (dict(prefetch_factor=2), "prefetch_factor option could only be specified"),
    (dict(persistent_workers=True), "persistent_workers option needs num_workers > 0"),
    (dict(batch_size=1.5), "batch_size should be a positive integer value"),
    (dict(batch_sampler=[[0]], batch_size=2), "batch_sampler option is mutually exclusive"),
    (dict(multiprocessing_context="fork"), "can only be used with multi-process loading"),
    (dict(num_workers=1, multiprocessing_context="nope"), "should specify a valid start method"),
])
def test_bad_options_raise_like_torch(kwargs, match):
    for m in (gpugrad.utils.data, torch.utils.data):
        with pytest.raises(ValueError, match=match):
            m.DataLoader(range(4), **kwargs)


@pytest.mark.parametrize("kwargs,name", [
    (dict(shuffle=True), "shuffle"), (dict(sampler=[0]), "sampler"),
    (dict(batch_sampler=[[0]]), "batch_sampler"),
])
def test_iterable_datasets_refuse_samplers_like_torch(kwargs, name):
    with pytest.raises(ValueError, match=f"expected unspecified {name} option"):
        DataLoader(_Range(3), **kwargs)
    with pytest.raises(ValueError, match=f"expected unspecified {name} option"):
        torch.utils.data.DataLoader(_TorchRange(3), **kwargs)


def test_shuffle_follows_the_loader_generator_and_getitems_fetches_a_batch():
    gds, _ = _datasets(9)

    def order(seed):
        g = gpugrad.Generator().manual_seed(seed)
        return [y.tolist() for _, y in DataLoader(gds, batch_size=4, shuffle=True, generator=g)]

    assert order(1) == order(1) and order(1) != order(2)

    class Batched(gpugrad.utils.data.Dataset):
        calls = []

        def __getitems__(self, indices):
            self.calls.append(list(indices))
            return [float(i) for i in indices]

        def __len__(self):
            return 5

    assert [b.tolist() for b in DataLoader(Batched(), batch_size=2)] == [[0, 1], [2, 3], [4]]
    assert Batched.calls == [[0, 1], [2, 3], [4]]


def test_pin_memory_warns_without_an_accelerator():
    with pytest.warns(UserWarning, match="no accelerator is found"):
        DataLoader(range(3), pin_memory=True)


def _seed_of_worker(_):
    info = gpugrad.utils.data.get_worker_info()
    return (info.id, info.seed, gpugrad.initial_seed())


class _Squares(gpugrad.utils.data.Dataset):
    def __getitem__(self, i):
        if i == 13:
            raise KeyError("thirteen")
        return gpugrad.tensor([i * i])

    def __len__(self):
        return 12


def test_worker_processes_load_in_order_with_seeds_and_raise_worker_errors():
    batches = list(DataLoader(_Squares(), batch_size=5, num_workers=2))
    assert [b.flatten().tolist() for b in batches] == [[i * i for i in range(0, 5)],
                                                       [i * i for i in range(5, 10)],
                                                       [100, 121]]
    g = gpugrad.Generator().manual_seed(3)
    seeds = list(DataLoader(range(4), batch_size=1, num_workers=2, collate_fn=_seed_of_worker,
                            generator=g))
    assert {s[0] for s in seeds} == {0, 1} and all(s[1] == s[2] for s in seeds)
    assert {s[1] - s[0] for s in seeds} == {seeds[0][1] - seeds[0][0]}  # base_seed + id
    # An iterable dataset shards itself with get_worker_info; persistent workers run epochs.
    loader = DataLoader(_Range(10), batch_size=2, num_workers=2, persistent_workers=True)
    for _ in range(2):
        assert sorted(v for b in loader for v in b.tolist()) == list(range(10))
    bad = DataLoader(_Squares(), sampler=[13], num_workers=1)
    with pytest.raises(KeyError, match="Caught KeyError in DataLoader worker process 0"):
        next(iter(bad))


def test_named_tuple_samples_with_a_string_field_collate_as_torch():
    import collections

    Sample = collections.namedtuple("Sample", "name value")
    batch = [Sample("a", 1.0), Sample("b", 2.0)]
    ours = gpugrad.utils.data.default_collate(batch)
    theirs = torch.utils.data.default_collate(batch)
    assert type(ours).__name__ == type(theirs).__name__ == "Sample"
    assert ours.name == theirs.name == ("a", "b")
    assert ours.value.tolist() == theirs.value.tolist()

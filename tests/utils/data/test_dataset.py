"""Datasets and random_split against torch.utils.data.dataset."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad
from gpugrad.utils import data as gdata
from gpugrad.utils.data.dataset import (
    ChainDataset,
    ConcatDataset,
    IterableDataset,
    StackDataset,
    Subset,
    TensorDataset,
    random_split,
)


def _stream_class(base):
    class Stream(base):
        def __init__(self, values):
            self.values = values

        def __iter__(self):
            return iter(self.values)

        def __len__(self):
            return len(self.values)

    return Stream


_Stream = _stream_class(IterableDataset)


def test_the_package_is_laid_out_as_torch_utils_data():
    from gpugrad.utils.data.dataloader import DataLoader, default_collate, get_worker_info
    from gpugrad.utils.data.sampler import BatchSampler

    assert gdata.DataLoader is DataLoader and gdata.BatchSampler is BatchSampler
    assert gdata.default_collate is default_collate and gdata.get_worker_info is get_worker_info
    assert get_worker_info() is None  # in the main process
    missing = {name for name in ("dataloader", "dataset", "sampler", "Dataset", "IterableDataset",
                                 "TensorDataset", "StackDataset", "ConcatDataset",
                                 "ChainDataset", "Subset", "random_split", "Sampler",
                                 "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
                                 "WeightedRandomSampler", "BatchSampler", "DataLoader",
                                 "get_worker_info", "default_collate", "default_convert")
               if not hasattr(gdata, name)}
    assert not missing and all(hasattr(torch.utils.data, name) for name in gdata.__all__)


def test_concat_stack_subset_and_chain_match_torch():
    a, b = list(range(3)), list(range(10, 14))
    for m in (gdata, torch.utils.data):
        cat = m.ConcatDataset([a, b])
        assert len(cat) == 7 and cat.cumulative_sizes == [3, 7]
        assert [cat[i] for i in range(-7, 7)] == [*a, *b, *a, *b]
    joined = TensorDataset(gpugrad.ones(2)) + TensorDataset(gpugrad.zeros(3))
    assert isinstance(joined, ConcatDataset) and len(joined) == 5 and joined[4][0].item() == 0
    stacked = StackDataset(a, [x * 2 for x in a])
    assert len(stacked) == 3 and stacked[1] == (1, 2)
    assert StackDataset(x=a, y=a)[2] == {"x": 2, "y": 2}
    sub = Subset(b, [3, 0])
    assert len(sub) == 2 and sub[0] == 13
    assert sub.__getitems__([1, 0]) == [10, 13]
    chain = _Stream([1, 2]) + _Stream([3])
    assert isinstance(chain, ChainDataset) and list(chain) == [1, 2, 3] and len(chain) == 3


@pytest.mark.parametrize("build,exc,match", [
    (lambda m: m.ConcatDataset([]), AssertionError, "should not be an empty iterable"),
    (lambda m: m.ConcatDataset([_stream_class(m.IterableDataset)([1])]), AssertionError,
     "does not support Iterable"),
    (lambda m: m.ConcatDataset([[1, 2]])[-3], ValueError, "should not exceed dataset length"),
    (lambda m: m.StackDataset([1], [1, 2]), ValueError, "Size mismatch between datasets"),
    (lambda m: m.StackDataset([1], a=[1]), ValueError, "both types are given"),
    (lambda m: len(m.ChainDataset([[1]])), AssertionError, "only supports IterableDataset"),
    (lambda m: (lambda t: m.TensorDataset(t.ones(3), t.ones(4)))(gpugrad if m is gdata else torch),
     AssertionError, "Size mismatch between tensors"),
    (lambda m: m.random_split(range(10), [0.5, 1.5, -1.0]), ValueError, "Fraction at index 1"),
    (lambda m: m.random_split(range(10), [4, 4]), ValueError, "Sum of input lengths"),
])
def test_bad_datasets_raise_like_torch(build, exc, match):
    for m in (gdata, torch.utils.data):
        with pytest.raises(exc, match=match):
            build(m)


@pytest.mark.parametrize("n,lengths", [(10, [0.33, 0.33, 0.34]), (11, [0.25, 0.25, 0.5]),
                                       (10, [7, 3]), (5, [1.0])])
def test_random_split_sizes_match_torch(n, lengths):
    ours = random_split(range(n), lengths)
    theirs = torch.utils.data.random_split(range(n), lengths)
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    assert sorted(i for s in ours for i in s.indices) == list(range(n))


def test_random_split_warns_on_an_empty_split_and_follows_its_generator():
    with pytest.warns(UserWarning, match="Length of split at index 2 is 0"):
        random_split(range(2), [0.1, 0.9, 0.0])
    first = random_split(range(20), [0.5, 0.5], generator=gpugrad.Generator().manual_seed(4))
    again = random_split(range(20), [0.5, 0.5], generator=gpugrad.Generator().manual_seed(4))
    assert [s.indices for s in first] == [s.indices for s in again]
    gpugrad.manual_seed(5)
    seeded = random_split(range(20), [10, 10])
    gpugrad.manual_seed(5)
    assert [s.indices for s in random_split(range(20), [10, 10])] == [s.indices for s in seeded]


def test_tensor_dataset_rows():
    x, y = np.arange(6.0).reshape(3, 2), np.arange(3)
    ds = TensorDataset(gpugrad.tensor(x), gpugrad.tensor(y))
    assert len(ds) == 3 and ds[1][0].tolist() == [2.0, 3.0] and ds[1][1].item() == 1

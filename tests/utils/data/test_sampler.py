"""Samplers against torch.utils.data.sampler: order, laziness, generators, bad arguments."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import gpugrad
from gpugrad.utils.data import DataLoader
from gpugrad.utils.data.sampler import (
    BatchSampler,
    RandomSampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)


def test_sequential_and_batch_samplers_match_torch():
    for drop_last in (False, True):
        ours = BatchSampler(SequentialSampler(range(10)), 3, drop_last)
        theirs = torch.utils.data.BatchSampler(torch.utils.data.SequentialSampler(range(10)), 3,
                                               drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_random_sampler_is_a_permutation_repeated_to_num_samples():
    order = list(RandomSampler(range(7)))
    assert sorted(order) == list(range(7))
    long = list(RandomSampler(range(4), num_samples=10))
    assert len(long) == 10 and sorted(long[:4]) == sorted(long[4:8]) == [0, 1, 2, 3]
    drawn = list(RandomSampler(range(3), replacement=True, num_samples=2000))
    assert len(drawn) == 2000 and set(drawn) == {0, 1, 2}


def test_a_huge_sampler_with_replacement_is_drawn_lazily():
    sampler = RandomSampler(range(5), replacement=True, num_samples=10**10)
    assert len(sampler) == 10**10
    head = list(itertools.islice(iter(sampler), 5000))
    assert len(head) == 5000 and all(0 <= i < 5 for i in head)
    loader = DataLoader(range(5), batch_size=4, sampler=sampler)
    assert len(loader) == 10**10 // 4
    batches = list(itertools.islice(iter(loader), 3))
    assert [b.shape[0] for b in batches] == [4, 4, 4]


def test_random_samplers_follow_their_generator_and_the_global_seed():
    def run(make, seed):
        """Two passes over a sampler with a generator seeded ``seed`` (None: the default)."""
        if seed is None:
            gpugrad.manual_seed(2)
            sampler = make(None)
        else:
            sampler = make(gpugrad.Generator().manual_seed(seed))
        return [list(sampler) for _ in range(2)]

    for make in (lambda g: RandomSampler(range(9), generator=g),
                 lambda g: RandomSampler(range(9), True, 20, generator=g),
                 lambda g: SubsetRandomSampler([5, 6, 7, 8], generator=g),
                 lambda g: WeightedRandomSampler([0.1, 2.0, 1.0], 12, generator=g)):
        assert run(make, 11) == run(make, 11) and run(make, 11) != run(make, 12)
        assert run(make, None) == run(make, None)
    g = gpugrad.Generator().manual_seed(0)
    sampler = RandomSampler(range(50), generator=g)
    assert list(sampler) != list(sampler)  # the generator moves on between passes


def test_weighted_sampler_draws_in_proportion_and_without_replacement():
    gpugrad.manual_seed(0)
    draws = np.array(list(WeightedRandomSampler([1.0, 0.0, 3.0], 8000)))
    counts = np.bincount(draws, minlength=3) / draws.size
    np.testing.assert_allclose(counts, [0.25, 0.0, 0.75], atol=0.02)
    picks = list(WeightedRandomSampler([1.0, 0.0, 5.0, 2.0], 3, replacement=False))
    assert sorted(picks) == [0, 2, 3]
    assert WeightedRandomSampler([1, 2], 2).weights.dtype == gpugrad.float64


@pytest.mark.parametrize("build,exc,match", [
    (lambda m: m.RandomSampler(range(3), replacement=1), TypeError, "replacement should be a"),
    (lambda m: m.RandomSampler(range(3), num_samples=0), ValueError, "num_samples should be a"),
    (lambda m: m.RandomSampler(range(0)), ValueError, "num_samples=0"),
    (lambda m: m.RandomSampler(range(3), num_samples=2.0), ValueError, "positive integer"),
    (lambda m: m.BatchSampler(range(3), 0, False), ValueError, "batch_size should be a"),
    (lambda m: m.BatchSampler(range(3), True, False), ValueError, "batch_size=True"),
    (lambda m: m.BatchSampler(range(3), 2, 1), ValueError, "drop_last should be a boolean"),
    (lambda m: m.WeightedRandomSampler([[1.0, 2.0]], 2), ValueError, r"1d sequence .*\(1, 2\)"),
    (lambda m: m.WeightedRandomSampler([1.0], 0), ValueError, "num_samples should be"),
    (lambda m: m.WeightedRandomSampler([1.0], 1, 1), ValueError, "replacement should be"),
    (lambda m: list(m.WeightedRandomSampler([1.0, 2.0], 3, False)), RuntimeError,
     "cannot sample n_sample > prob_dist.size"),
    (lambda m: list(m.WeightedRandomSampler([1.0, -2.0], 3)), RuntimeError,
     "probability entry < 0"),
    (lambda m: list(m.WeightedRandomSampler([0.0, 0.0], 3)), RuntimeError,
     "sum of probabilities <= 0"),
])
def test_bad_samplers_raise_like_torch(build, exc, match):
    for m in (gpugrad.utils.data, torch.utils.data):
        with pytest.raises(exc, match=match):
            build(m)


def test_generator_of_another_device_or_type_is_refused():
    with pytest.raises(TypeError, match="must be torch.Generator, not int"):
        list(RandomSampler(range(3), generator=3))

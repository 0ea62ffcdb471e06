"""Samplers with PyTorch's names: the order in which a ``DataLoader`` visits a dataset.

Every sampler yields its indices lazily, so ``RandomSampler(ds, replacement=True,
num_samples=10**10)`` costs nothing until iterated. Random samplers draw from their
``generator``; without one each pass draws a fresh seed from the default generator, so
``gpugrad.manual_seed`` makes the order reproducible.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence, Sized

import numpy as np

from ..._dtype import float64, int64
from ..._generator import Generator
from ...factories import empty, tensor
from ...sampling import rand, randint, randperm

__all__ = [
    "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
    "WeightedRandomSampler", "BatchSampler",
]

# Indices drawn with replacement come in chunks of this many (one draw call each).
_CHUNK = 1024


class Sampler:
    """Base class of samplers: subclasses define ``__iter__`` (the indices) and, when the
    count is known, ``__len__``."""

    def __iter__(self) -> Iterator:
        raise NotImplementedError


def _check_positive_int(name: str, value) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} should be a positive integer value, but got {name}={value}")


def _pass_generator(generator) -> Generator:
    """The generator of one pass: the sampler's own, or one seeded from the default one."""
    if generator is not None:
        return generator
    seed = int(empty((), dtype=int64, device="cpu").random_().item())
    return Generator().manual_seed(seed)


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source: Sized):
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """Random indices into ``data_source``: a permutation (repeated, then cut, when
    ``num_samples`` exceeds its length), or with ``replacement`` ``num_samples`` independent
    draws."""

    def __init__(self, data_source: Sized, replacement: bool = False,
                 num_samples: int | None = None, generator=None):
        self.data_source, self.replacement = data_source, replacement
        self._num_samples, self.generator = num_samples, generator
        if not isinstance(replacement, bool):
            raise TypeError(
                f"replacement should be a boolean value, but got replacement={replacement}"
            )
        _check_positive_int("num_samples", self.num_samples)

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n, count = len(self.data_source), self.num_samples
        generator = _pass_generator(self.generator)
        if self.replacement:
            while count > 0:
                size = min(count, _CHUNK)
                yield from randint(n, (size,), generator=generator, device="cpu").tolist()
                count -= size
            return
        while count > 0:
            order = randperm(n, generator=generator, device="cpu").tolist()
            yield from order[:count]
            count -= n

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The elements of ``indices`` in a random order."""

    def __init__(self, indices: Sequence[int], generator=None):
        self.indices, self.generator = indices, generator

    def __iter__(self) -> Iterator[int]:
        for i in randperm(len(self.indices), generator=self.generator, device="cpu").tolist():
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices into ``weights`` drawn with probability proportional to the
    weight, with ``replacement`` (default) or without."""

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True,
                 generator=None):
        _check_positive_int("num_samples", num_samples)
        if not isinstance(replacement, bool):
            raise ValueError(
                f"replacement should be a boolean value, but got replacement={replacement}"
            )
        self.weights = tensor(weights, dtype=float64, device="cpu")
        if self.weights.ndim != 1:
            raise ValueError(
                "weights should be a 1d sequence but given weights have shape "
                f"{tuple(self.weights.shape)}"
            )
        self.num_samples, self.replacement, self.generator = num_samples, replacement, generator

    def _check(self, w: np.ndarray) -> None:
        if (w < 0).any() or not np.isfinite(w).all():
            raise RuntimeError(
                "invalid multinomial distribution (encountering probability entry < 0)"
            )
        if w.sum() <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        if not self.replacement and self.num_samples > w.size:
            raise RuntimeError(
                "cannot sample n_sample > prob_dist.size(-1) samples without replacement"
            )

    def __iter__(self) -> Iterator[int]:
        w = self.weights.numpy()
        self._check(w)
        u = rand(self.num_samples if self.replacement else w.size, dtype=float64,
                 generator=self.generator, device="cpu").numpy()
        if self.replacement:  # invert the cumulative distribution at uniform draws
            cdf = np.cumsum(w)
            picks = np.searchsorted(cdf, u * cdf[-1], side="right")
            yield from np.minimum(picks, w.size - 1).tolist()
            return
        # Without replacement: the largest keys u ** (1 / w) are a weighted sample (keys of
        # zero weight are 0, never ahead of a positive weight's).
        with np.errstate(divide="ignore"):
            keys = np.where(w > 0, np.log(u) / w, -np.inf)
        yield from np.argsort(-keys, kind="stable")[:self.num_samples].tolist()

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Lists of ``batch_size`` indices from ``sampler``; the last one shorter, or dropped with
    ``drop_last``."""

    def __init__(self, sampler: Sampler | Iterable[int], batch_size: int, drop_last: bool):
        _check_positive_int("batch_size", batch_size)
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def __iter__(self) -> Iterator[list[int]]:
        batch = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

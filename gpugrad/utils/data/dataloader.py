"""``DataLoader``: batches of a dataset, in the order of a sampler, in the calling process or in
``num_workers`` worker processes (``_worker.py``)."""

from __future__ import annotations

import itertools
import math
import multiprocessing
import warnings

from ...backend import cuda_available
from ._collate import default_collate, default_convert
from ._worker import MultiProcessIterator, get_worker_info
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader", "get_worker_info", "default_collate", "default_convert"]


class _InfiniteConstantSampler(Sampler):
    """The sampler of an iterable dataset: no indices, only the count of samples to take."""

    def __iter__(self):
        return itertools.repeat(None)


class Fetcher:
    """Turns what the index sampler yields (an index, a list of indices, or placeholders for
    an iterable dataset) into a collated batch; raises StopIteration when the stream ends."""

    def __init__(self, dataset, auto_collation: bool, collate_fn, drop_last: bool):
        self.dataset, self.auto_collation = dataset, auto_collation
        self.collate_fn, self.drop_last = collate_fn, drop_last
        self.stream = iter(dataset) if isinstance(dataset, IterableDataset) else None

    def __call__(self, index):
        if self.stream is not None:
            if not self.auto_collation:
                return self.collate_fn(next(self.stream))
            samples = list(itertools.islice(self.stream, len(index)))
            if not samples or (self.drop_last and len(samples) < len(index)):
                raise StopIteration
            return self.collate_fn(samples)
        if not self.auto_collation:
            return self.collate_fn(self.dataset[index])
        getitems = getattr(self.dataset, "__getitems__", None)
        samples = getitems(index) if callable(getitems) else [self.dataset[i] for i in index]
        return self.collate_fn(samples)


class _SingleProcessIterator:
    def __init__(self, loader: DataLoader):
        self._indices = iter(loader._index_sampler)
        self._fetch = Fetcher(loader.dataset, loader._auto_collation, loader.collate_fn,
                              loader.drop_last)

    def __iter__(self):
        return self

    def __next__(self):
        return self._fetch(next(self._indices))


def _check_options(dataset, batch_size, shuffle, sampler, batch_sampler, num_workers,
                   drop_last, timeout, prefetch_factor, persistent_workers,
                   multiprocessing_context) -> None:
    """PyTorch's checks of the loader's options, with its messages."""
    if multiprocessing_context is not None:
        if num_workers == 0:
            raise ValueError(
                "multiprocessing_context can only be used with multi-process loading "
                f"(num_workers > 0), but got num_workers={num_workers}"
            )
        methods = multiprocessing.get_all_start_methods()
        if isinstance(multiprocessing_context, str) and multiprocessing_context not in methods:
            raise ValueError(
                "multiprocessing_context option should specify a valid start method in "
                f"{methods!r}, but got multiprocessing_context={multiprocessing_context!r}"
            )
    if num_workers < 0:
        raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                         "disable multiprocessing.")
    if timeout < 0:
        raise ValueError("timeout option should be non-negative")
    if num_workers == 0 and prefetch_factor is not None:
        raise ValueError(
            "prefetch_factor option could only be specified in multiprocessing.let num_workers "
            "> 0 to enable multiprocessing, otherwise set prefetch_factor to None."
        )
    if persistent_workers and num_workers == 0:
        raise ValueError("persistent_workers option needs num_workers > 0")
    if isinstance(dataset, IterableDataset):
        for name, value in (("shuffle", shuffle), ("sampler", sampler),
                            ("batch_sampler", batch_sampler)):
            if value not in (None, False):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified {name} "
                                 f"option, but got {name}={value}")
    if sampler is not None and shuffle:
        raise ValueError("sampler option is mutually exclusive with shuffle")
    if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None
                                      or drop_last):
        raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, "
                         "sampler, and drop_last")
    if batch_size is None and drop_last:
        raise ValueError("batch_size=None option disables auto-batching and is mutually "
                         "exclusive with drop_last")


class DataLoader:
    """Iterate over ``dataset`` in batches of ``batch_size`` (``None``: single samples), in the
    order of ``sampler`` (default: sequential, or random with ``shuffle``; a ``generator``
    drives the shuffle and the workers' seeds). ``num_workers > 0`` loads in that many worker
    processes, each seeded with ``base_seed + worker_id`` (see ``get_worker_info``)."""

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler=None, batch_sampler=None, num_workers: int = 0, collate_fn=None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True):
        _check_options(dataset, batch_size, shuffle, sampler, batch_sampler, num_workers,
                       drop_last, timeout, prefetch_factor, persistent_workers,
                       multiprocessing_context)
        if isinstance(dataset, IterableDataset):
            sampler = _InfiniteConstantSampler()
        elif sampler is None:
            sampler = (RandomSampler(dataset, generator=generator) if shuffle
                       else SequentialSampler(dataset))
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset, self.batch_size, self.drop_last = dataset, batch_size, drop_last
        self.sampler, self.batch_sampler, self.generator = sampler, batch_sampler, generator
        self.num_workers, self.timeout, self.worker_init_fn = num_workers, timeout, worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.prefetch_factor = 2 if num_workers and prefetch_factor is None else prefetch_factor
        self.persistent_workers, self.in_order = persistent_workers, in_order
        self.pin_memory, self.pin_memory_device = pin_memory, pin_memory_device
        if pin_memory and not cuda_available():
            warnings.warn("'pin_memory' argument is set as true but no accelerator is found, "
                          "then device pinned memory won't be used.", stacklevel=2)
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self._workers = None  # the persistent workers' iterator

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        """What each batch is fetched from: a list of indices, or one index."""
        return self.batch_sampler if self._auto_collation else self.sampler

    def __iter__(self):
        if self.num_workers == 0:
            return _SingleProcessIterator(self)
        if not self.persistent_workers:
            return MultiProcessIterator(self)
        if self._workers is None:
            self._workers = MultiProcessIterator(self)
        else:
            self._workers.reset()
        return self._workers

    def __len__(self) -> int:
        if isinstance(self.dataset, IterableDataset):
            n = len(self.dataset)
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)
            return n
        return len(self._index_sampler)

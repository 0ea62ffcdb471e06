"""``DistributedSampler``: each rank's share of a dataset, as PyTorch's."""

from __future__ import annotations

import math

import numpy as np

from .sampler import Sampler

__all__ = ["DistributedSampler"]


class DistributedSampler(Sampler):
    """Restrict data loading to a subset of the dataset: rank ``r`` of ``num_replicas`` gets
    every ``num_replicas``-th index starting at ``r``, from one order shared by all ranks.

    With ``shuffle`` the order is a permutation drawn from ``seed + epoch`` (call ``set_epoch``
    at the start of each epoch for a new order; every rank draws the same one). Without
    ``drop_last`` the indices are padded by repeating the first ones until every rank gets the
    same number; with it the tail that does not divide evenly is dropped. Use it as a
    ``DataLoader``'s ``sampler``.

    Args:
        dataset: the dataset (anything with ``len``).
        num_replicas: the number of ranks (default: the default process group's world size).
        rank: this process's rank (default: its rank in the default process group).
        shuffle: shuffle the indices (default True).
        seed: the seed of the shuffle, the same on every rank (default 0).
        drop_last: drop the tail instead of padding (default False).
    """

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None or rank is None:
            from ... import distributed as dist

            if not dist.is_available():
                raise RuntimeError("Requires distributed package to be available")
            if num_replicas is None:
                num_replicas = dist.get_world_size()
            if rank is None:
                rank = dist.get_rank()
        if rank >= num_replicas or rank < 0:
            raise ValueError(
                f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]"
            )
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.epoch, self.drop_last, self.shuffle, self.seed = 0, drop_last, shuffle, seed
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            indices = np.random.default_rng(self.seed + self.epoch).permutation(n).tolist()
        else:
            indices = list(range(n))
        if not self.drop_last:
            padding = self.total_size - len(indices)
            if padding <= len(indices):
                indices += indices[:padding]
            else:
                indices += (indices * math.ceil(padding / len(indices)))[:padding]
        else:
            indices = indices[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch the next iteration shuffles for (the same on every rank)."""
        self.epoch = epoch

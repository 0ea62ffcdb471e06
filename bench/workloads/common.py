"""What a workload is made of, and the helpers every workload module shares.

A workload yields ``Case`` objects (one per size or configuration). A case makes its host inputs
once (NumPy arrays, random, never zeros) and, for each implementation, a builder turns them into
that library's objects and returns ``step``: a zero-argument callable that runs one repetition.
The harness times ``step``; the builder does all setup outside the timed region.
"""

from __future__ import annotations

import itertools
import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "Builder", "Case", "Context", "FeatureMissing", "Workload", "gpugrad_feature", "n_copies",
    "rotate", "to_cupy", "to_gpugrad", "to_torch", "torch_compile", "training_step",
]

Builder = Callable[[object], Callable[[], object]]


class FeatureMissing(Exception):
    """An implementation lacks what the workload needs (reported, not an error)."""


@dataclass
class Context:
    """What the workloads know about this run."""

    device: str  # "cpu" or "cuda"
    scale: str  # "full", "quick" (smaller sizes), or "smoke" (tiny sizes, for tests)
    peers: dict  # name -> bench.peers.Peer
    cache_bytes: int  # last-level cache (CPU) or L2 (GPU): inputs smaller than this rotate
    seed: int = 0

    @property
    def quick(self) -> bool:
        return self.scale != "full"

    @property
    def smoke(self) -> bool:
        return self.scale == "smoke"

    def module(self, name: str):
        return self.peers[name].module

    def rng(self, *key) -> np.random.Generator:
        """A generator seeded by the run seed and ``key``: same inputs for every implementation."""
        return np.random.default_rng([self.seed, *(zlib.crc32(str(k).encode()) for k in key)])


@dataclass
class Case:
    """One configuration of a workload, timed for every implementation that has a builder."""

    label: str
    inputs: Callable[[], object]  # makes the host data shared by every implementation
    builders: dict[str, Builder]
    size: int | None = None  # x axis of a sweep plot (elements)
    ops: int = 1  # ops per step: times are reported per op
    items: int | None = None  # samples per step: reported as a throughput
    bytes: int | None = None  # least traffic a step must move: GB/s and fraction of the floor
    memory: bool = False  # measure the peak memory of one step
    notes: dict[str, str] = field(default_factory=dict)  # impl -> what it runs, if not the same
    rounds: int = 1  # > 1: measure the implementations in turn, this many rounds (see harness)
    budget_scale: float = 1.0  # sampling time: the budget's seconds times this
    goal: float | None = None  # the speed-up over PyTorch eager that gpugrad.compile aims at


@dataclass
class Workload:
    name: str
    title: str
    definition: str  # what exactly is timed, printed under the table
    cases: Callable[[Context], list[Case]]
    sweep: bool = False  # cases are sizes: log-log plot of time against size


def gpugrad_feature(dotted: str):
    """``gpugrad.<dotted>``, or FeatureMissing while gpugrad does not have it yet."""
    import importlib

    module_path, _, attr = dotted.rpartition(".")
    try:
        obj = importlib.import_module(f"gpugrad.{module_path}" if module_path else "gpugrad")
    except ImportError as exc:
        raise FeatureMissing(f"gpugrad feature missing: gpugrad.{dotted} ({exc})") from None
    if not hasattr(obj, attr):
        raise FeatureMissing(f"gpugrad feature missing: gpugrad.{dotted}")
    return getattr(obj, attr)


def training_step(ctx: Context, lib, model, opt, cross_entropy, batches, compiled: bool):
    """One classifier training step over rotating ``batches`` (host arrays): ``zero_grad``,
    cross-entropy of ``model(x)`` (``torch.compile``'d if ``compiled``), backward, ``step``."""
    forward = torch_compile(model) if compiled else model
    nxt = rotate([(lib.tensor(x, device=ctx.device), lib.tensor(y, device=ctx.device))
                  for x, y in batches])

    def step():
        x, y = nxt()
        opt.zero_grad()
        loss = cross_entropy(forward(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def n_copies(ctx: Context, nbytes: int, limit: int = 64) -> int:
    """How many input sets to rotate through so a step does not find its inputs in cache.

    Inputs larger than the cache get one set; smaller ones get enough sets to cover twice the
    cache (at most ``limit``: the tiniest inputs stay cache-resident anyway).
    """
    if nbytes >= ctx.cache_bytes:
        return 1
    return max(2, min(limit, math.ceil(2 * ctx.cache_bytes / max(nbytes, 1))))


def rotate(items: list) -> Callable[[], object]:
    """A callable returning the next item, round-robin."""
    return itertools.cycle(items).__next__


def torch_compile(fn):
    """``torch.compile`` with a fresh Dynamo cache: each case compiles for its own shapes
    (no recompilation limit, no switch to dynamic shapes across the cases of a sweep)."""
    import torch

    torch._dynamo.reset()
    return torch.compile(fn, dynamic=False)


def to_gpugrad(ctx: Context, arr: np.ndarray, requires_grad: bool = False):
    import gpugrad

    return gpugrad.tensor(arr, device=ctx.device, requires_grad=requires_grad)


def to_torch(ctx: Context, arr: np.ndarray, requires_grad: bool = False):
    import torch

    return torch.tensor(arr, device=ctx.device).requires_grad_(requires_grad)


def to_cupy(arr: np.ndarray):
    import cupy

    return cupy.asarray(arr)

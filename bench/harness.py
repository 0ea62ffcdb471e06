"""Timing, statistics and the run loop of the benchmark suite.

How one figure is made, the same way for every implementation of a case, in one process:

1. warm-up: ``step`` runs until at least two calls and ``budget.warmup_s`` have passed (caches,
   allocator pools, lazy compilation such as ``torch.compile`` or Triton's JIT settle);
2. calibration: one timed call sets how many calls a sample batches, so that a sample lasts at
   least ``MIN_SAMPLE_S`` and the clock's resolution does not show;
3. samples until ``budget.seconds`` are spent and at least ``budget.min_reps`` samples exist;
   the figure is the median time per call, the spread the interquartile range.

A case with ``rounds`` > 1 builds every implementation first, then measures them in turn,
round after round (each round a share of the budget), and pools the samples: a machine whose
load drifts during the run then weighs on every implementation alike, not on whichever ran in
the bad minute. A ``step`` may carry an ``info`` attribute, a callable returning a line of text
that the row keeps (``gpugrad.compile``'s counters, say), read after the timing.

CPU samples use the host clock with the garbage collector off, as ``timeit``; between samples
of more than 10 ms it collects what the samples left (the older heap frozen out of its scan).
With ``budget.gc`` (``--gc``) the collector runs during the samples, as in a user's program, and
each library pays for the collections its own objects cause (the heap that exists before the
samples, both libraries' modules among it, is still frozen out of the scans).
GPU samples use CUDA events of the implementation's own library around the batch, after a
device synchronize, as ``triton.testing.do_bench``: never a host clock without a synchronize.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from dataclasses import dataclass

from .clocks import CpuClock, CudaEventClock, clock_for, peak_memory, release_device_memory
from .peers import IMPLS
from .workloads.common import Case, Context, FeatureMissing, Workload

__all__ = ["Budget", "Stats", "FULL", "QUICK", "SMOKE", "BUDGETS", "CpuClock", "CudaEventClock",
           "clock_for", "measure", "peak_memory", "run"]

MIN_SAMPLE_S = 1e-3


@dataclass(frozen=True)
class Budget:
    """How long to measure one implementation of one case."""

    seconds: float  # time spent sampling (at least)
    min_reps: int
    max_reps: int
    warmup_s: float
    gc: bool = False  # the cyclic garbage collector runs during the samples


FULL = Budget(seconds=1.0, min_reps=10, max_reps=2000, warmup_s=0.2)
QUICK = Budget(seconds=0.15, min_reps=5, max_reps=500, warmup_s=0.05)
SMOKE = Budget(seconds=0.005, min_reps=3, max_reps=10, warmup_s=0.0)
BUDGETS = {"full": FULL, "quick": QUICK, "smoke": SMOKE}


@dataclass(frozen=True)
class Stats:
    """Seconds per call over the samples."""

    median: float
    q1: float
    q3: float
    min: float
    reps: int  # samples
    number: int  # calls per sample

    @classmethod
    def from_samples(cls, samples: list[float], number: int) -> Stats:
        if len(samples) > 1:
            q1, median, q3 = statistics.quantiles(samples, n=4, method="inclusive")
        else:
            q1 = median = q3 = samples[0]
        return cls(median, q1, q3, min(samples), len(samples), number)

    @property
    def spread(self) -> float:
        """The interquartile range relative to the median."""
        return (self.q3 - self.q1) / self.median if self.median > 0 else 0.0


# ---------------------------------------------------------------------------- measuring
def measure(step, clock, budget: Budget) -> Stats:
    """Time ``step`` as the module docstring describes."""
    return Stats.from_samples(*_samples(step, clock, budget))


def _samples(step, clock, budget: Budget) -> tuple[list[float], int]:
    """Seconds per call of each sample, and the calls per sample."""
    start = time.perf_counter()
    calls = 0
    while calls < 2 or time.perf_counter() - start < budget.warmup_s:
        step()
        calls += 1
    clock.sync()
    once = clock.time(step, 1)
    number = 1 if once >= MIN_SAMPLE_S else min(10_000, math.ceil(MIN_SAMPLE_S / max(once, 1e-9)))
    samples: list[float] = []
    gc_was_enabled = gc.isenabled()
    gc.disable()
    # What exists now is set aside from the collections between samples: with PyTorch's heap
    # in the process, each one otherwise takes ~0.1 s of the budget, and a 10 ms step got a
    # few dozen samples where it could have hundreds.
    gc.collect()
    gc.freeze()
    if budget.gc:
        gc.enable()
    start = time.perf_counter()
    try:
        while len(samples) < budget.max_reps:
            samples.append(clock.time(step, number) / number)
            spent = time.perf_counter() - start
            if spent >= budget.seconds and len(samples) >= budget.min_reps:
                break
            if spent >= 4 * budget.seconds and len(samples) >= 3:  # slow calls: 3 samples do
                break
            if samples[-1] * number > 0.01 and not budget.gc:  # big steps: free cyclic
                gc.collect()  # garbage between samples
    finally:
        gc.unfreeze()
        if gc_was_enabled:
            gc.enable()
        else:
            gc.disable()
    return samples, number


# ---------------------------------------------------------------------------- run loop
class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_description(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, enabled: bool):
    if not enabled:
        return _NoBar()
    try:
        from tqdm import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(total=total, unit="timing", dynamic_ncols=True)


def _runnable(ctx: Context, case: Case) -> list[str]:
    return [i for i in IMPLS if ctx.peers[i].usable and i in case.builders]


def run(workloads: list[Workload], ctx: Context, budget: Budget, floor: dict | None,
        progress: bool = True) -> list[dict]:
    """Time every case of ``workloads`` with every implementation; one row per (case, impl)."""
    plan = [(w, w.cases(ctx)) for w in workloads]
    bar = _progress(sum(len(_runnable(ctx, c)) for _, cases in plan for c in cases), progress)
    rows: list[dict] = []
    try:
        for workload, cases in plan:
            for case in cases:
                rows.extend(_run_case(workload, case, ctx, budget, floor, bar))
    finally:
        bar.close()
    return rows


def _run_case(workload: Workload, case: Case, ctx: Context, budget: Budget, floor, bar):
    inputs = case.inputs() if _runnable(ctx, case) else None
    if case.budget_scale != 1:
        budget = Budget(budget.seconds * case.budget_scale, budget.min_reps, budget.max_reps,
                        budget.warmup_s)
    rows = []
    for impl in IMPLS:
        row = {"workload": workload.name, "case": case.label, "impl": impl, "size": case.size,
               "ops": case.ops, "items": case.items, "bytes": case.bytes,
               "note": case.notes.get(impl), "goal": case.goal}
        peer = ctx.peers[impl]
        if not peer.usable:
            row.update(status="missing", reason=peer.missing)
        elif impl not in case.builders:
            row.update(status="n/a", reason=f"{impl} has no implementation of this workload")
        elif case.rounds == 1:
            bar.set_description(f"{workload.name} {case.label} {impl}")
            row.update(_time_impl(case, impl, inputs, ctx, budget))
            bar.update(1)
        rows.append(row)
    if case.rounds > 1 and inputs is not None:
        bar.set_description(f"{workload.name} {case.label} (interleaved)")
        _time_interleaved(case, [r for r in rows if "status" not in r], inputs, ctx, budget, bar)
    del inputs
    release_device_memory(ctx.device)
    _derive(rows, floor)
    return rows


def _time_impl(case: Case, impl: str, inputs, ctx: Context, budget: Budget) -> dict:
    try:
        step = case.builders[impl](inputs)
    except Exception as exc:
        return _failed(exc, "setup: ")
    try:
        stats = measure(step, clock_for(ctx.device, impl), budget)
        peak = peak_memory(step, ctx.device, impl) if case.memory else None
        info = _info(step)
    except Exception as exc:
        return _failed(exc)
    finally:
        del step
        release_device_memory(ctx.device)
    return _ok(stats, peak, info)


def _ok(stats: Stats, peak: int | None, info: str | None) -> dict:
    out = {"status": "ok", "median_s": stats.median, "q1_s": stats.q1, "q3_s": stats.q3,
           "min_s": stats.min, "spread": stats.spread, "reps": stats.reps,
           "number": stats.number, "peak_bytes": peak}
    if info is not None:
        out["info"] = info
    return out


def _info(step) -> str | None:
    info = getattr(step, "info", None)
    return str(info()) if callable(info) else None


def _failed(exc: Exception, during: str = "") -> dict:
    if isinstance(exc, FeatureMissing):
        return {"status": "feature missing", "reason": str(exc)}
    return {"status": "error", "reason": f"{during}{type(exc).__name__}: {exc}"}


def _time_interleaved(case: Case, rows: list[dict], inputs, ctx: Context, budget: Budget,
                      bar) -> None:
    """Build every implementation, then measure them in turn for ``case.rounds`` rounds."""
    steps = {}
    for row in rows:
        try:
            steps[row["impl"]] = case.builders[row["impl"]](inputs)
        except Exception as exc:
            row.update(_failed(exc, "setup: "))
            bar.update(1)
    rounds = case.rounds
    share = Budget(seconds=budget.seconds / rounds, min_reps=max(1, -(-budget.min_reps // rounds)),
                   max_reps=max(1, budget.max_reps // rounds), warmup_s=budget.warmup_s)
    samples: dict[str, list[float]] = {impl: [] for impl in steps}
    number = {}
    for _ in range(rounds):
        for impl in list(steps):
            try:
                got, number[impl] = _samples(steps[impl], clock_for(ctx.device, impl), share)
            except Exception as exc:
                next(row for row in rows if row["impl"] == impl).update(_failed(exc))
                del steps[impl]
                bar.update(1)
                continue
            samples[impl] += got
        share = Budget(share.seconds, share.min_reps, share.max_reps, warmup_s=0.0)
    for impl, step in steps.items():
        row = next(row for row in rows if row["impl"] == impl)
        try:
            peak = peak_memory(step, ctx.device, impl) if case.memory else None
            row.update(_ok(Stats.from_samples(samples[impl], number[impl]), peak, _info(step)))
        except Exception as exc:
            row.update(_failed(exc))
        bar.update(1)
    steps.clear()
    release_device_memory(ctx.device)


def _derive(rows: list[dict], floor: dict | None) -> None:
    """Per-op time, throughput, bandwidth, fraction of the floor, the ratio to gpugrad, and
    the speed-up over PyTorch eager (torch time / this time)."""
    ours = next((r for r in rows if r["impl"] == "gpugrad" and r["status"] == "ok"), None)
    torch = next((r for r in rows if r["impl"] == "torch" and r["status"] == "ok"), None)
    for r in rows:
        if r["status"] != "ok":
            continue
        t = r["median_s"]
        r["per_op_s"] = t / r["ops"]
        if r["items"]:
            r["items_per_s"] = r["items"] / t
        if r["bytes"]:
            r["gbps"] = r["bytes"] / t / 1e9
            if floor:
                r["floor_fraction"] = r["gbps"] / floor["gbps"]
        r["ratio"] = t / ours["median_s"] if ours is not None else None
        if torch is not None:
            r["speedup_vs_torch"] = torch["median_s"] / t

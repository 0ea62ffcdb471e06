"""GPU checks of gpugrad's Triton kernels against the floors and against PyTorch eager, in one run.

``python -m bench.gpu_kernels [--out DIR] [--smoke]`` measures, on the current GPU:

- the floor: device-to-device copy bandwidth (bytes read + written per second);
- elementwise and reduction kernels on >= 64 MB tensors, as a fraction of that floor (goal >= 0.85),
  with a sweep of the block sizes in each kernel module's ``TUNING``;
- softmax-cross-entropy on 8192x32768 and 8192x128256 logits, float32 and float16: forward alone
  (no gradient), forward with the fused gradient, forward+backward, against PyTorch eager's
  ``F.cross_entropy``; peak extra memory of each over the logits' bytes (goals: >= 1.5x faster than
  PyTorch, fwd+bwd <= 1.1x our forward alone, extra memory <= 1.05x the logits);
- host overhead per small op (gpugrad, the bare launcher, Triton's generic launch, PyTorch);
- an MLP training step (gpugrad vs PyTorch eager);
- mixed precision (``bench/gpu_mixed_precision.py``): the chunked linear cross-entropy of a 128256-
  word head in bfloat16, and a GPT-style block's training step under bfloat16 autocast, against
  PyTorch eager (and Liger-Kernel where installed);
- only when asked for (``--only compile``, its own step in ``gpu_check.sh``): ``gpugrad.compile``'s
  replayed CUDA graphs against eager gpugrad, PyTorch eager and ``torch.compile`` (reduce-overhead)
  (``bench/gpu_compile.py``).

Times are medians of CUDA-event timed batches after a warm-up (compilation excluded). Results go
to ``DIR/NAME.json`` (``--name``, default gpu_kernels), each row to ``DIR/NAME.jsonl`` as it is
measured; a table is printed last. ``--smoke`` runs every section at tiny sizes
(on the CPU under the interpreter when there is no GPU) to check the script itself.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from . import gpu_compile
from . import gpu_cross_entropy as ce_sections
from . import gpu_host_sections as host_sections
from . import gpu_mixed_precision as mixed


class Env:
    """The arrays, clocks and PyTorch peer of this run (CUDA, or the CPU for --smoke)."""

    def __init__(self, smoke: bool):
        from gpugrad.kernels import MODE

        import gpugrad

        self.gpugrad = gpugrad
        self.smoke = smoke
        self.cuda = MODE == "compiled"
        self.device = "cuda" if self.cuda else "cpu"
        if self.cuda:
            import cupy

            self.xp = cupy
        else:
            self.xp = np
        try:
            import torch

            self.torch = torch
            self.torch_device = "cuda" if self.cuda and torch.cuda.is_available() else "cpu"
        except ImportError:
            self.torch = None

    def sync(self):
        if self.cuda:
            self.xp.cuda.runtime.deviceSynchronize()

    def time(self, fn, repeat: int = 7, min_batch_s: float = 2e-3) -> float:
        """Median seconds per call of ``fn``: batches sized to last ``min_batch_s``, timed with
        CUDA events on the default stream (shared by CuPy and PyTorch), after a warm-up."""
        fn()
        self.sync()
        t0 = time.perf_counter()
        fn()
        self.sync()
        once = max(time.perf_counter() - t0, 1e-7)
        batch = 1 if self.smoke else max(1, min(1000, int(min_batch_s / once)))
        samples = []
        for _ in range(1 if self.smoke else repeat):
            if self.cuda:
                start, end = self.xp.cuda.Event(), self.xp.cuda.Event()
                start.record()
                for _ in range(batch):
                    fn()
                end.record()
                end.synchronize()
                samples.append(self.xp.cuda.get_elapsed_time(start, end) / 1e3 / batch)
            else:
                t0 = time.perf_counter()
                for _ in range(batch):
                    fn()
                samples.append((time.perf_counter() - t0) / batch)
        return statistics.median(samples)

    def host_time(self, fn, calls: int) -> float:
        """Seconds per call on the host clock for a run of ``calls`` (tiny ops: the host bounds)."""
        fn()
        self.sync()
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        self.sync()
        return (time.perf_counter() - t0) / calls

    def random(self, shape, dtype, seed=0):
        """Standard normal values made on the device (host generation of GBs takes seconds)."""
        rng = self.xp.random.default_rng(seed)
        return rng.standard_normal(shape, dtype=np.float32).astype(dtype, copy=False)

    def tensor(self, arr, requires_grad=False):
        """A gpugrad leaf holding ``arr`` (no copy)."""
        from gpugrad.backend import get_backend

        t = self.gpugrad.Tensor._make(arr, get_backend(self.device))
        return t.requires_grad_() if requires_grad else t


ROWS: list = []
ROWS_FILE: list = []  # the open gpu_kernels.jsonl: each row lands there as soon as it is measured


def record(section, name, value, unit, goal=None, ok=None, **extra):
    row = {"section": section, "name": name, "value": value, "unit": unit, "goal": goal,
           "ok": ok, **extra}
    ROWS.append(row)
    if ROWS_FILE:  # a run cut short by a timeout keeps every row measured so far
        ROWS_FILE[0].write(json.dumps(row, default=_json_value) + "\n")
        ROWS_FILE[0].flush()
    shown = f"{value:.4g}" if isinstance(value, float) else value
    print(f"  {section:>13} | {name:<46} {shown} {unit}"
          + (f"  (goal {goal}: {'ok' if ok else 'MISSED'})" if goal else ""), flush=True)
    return value


# --------------------------------------------------------------------------- copy floor
def copy_floor(env: Env) -> float:
    n = (1 << 20) if env.smoke else (1 << 28)  # 1 GiB of float32
    src = env.random(n, np.float32)
    dst = env.xp.empty_like(src)

    def copy():
        dst[...] = src

    seconds = env.time(copy)
    bandwidth = 2 * src.nbytes / seconds
    record("floor", f"device-to-device copy {src.nbytes >> 20} MiB", bandwidth / 1e9, "GB/s")
    return bandwidth


# ------------------------------------------------------------------ elementwise, reduction
def memory_bound(env: Env, floor: float):
    sizes = [1 << 14] if env.smoke else [1 << 24, 1 << 26]  # float32: 64 MiB and 256 MiB
    for n in sizes:
        _memory_bound_at(env, floor, n)
        gc.collect()


def _memory_bound_at(env: Env, floor: float, n: int):
    from gpugrad.kernels import elementwise_ops as ew
    from gpugrad.kernels import reduction, softmax

    mib = n * 4 >> 20
    a = env.random(n, np.float32, 1)
    b = env.random(n, np.float32, 2)
    g = env.random(n, np.float32, 3)
    a2, bias = a.reshape(n // 4096, 4096), b[:4096]
    cases = {
        "exp (1 read, 1 write)": (lambda: ew.unary("exp", a), 2 * a.nbytes),
        "add (2 reads, 1 write)": (lambda: ew.binary("add", a, b), 3 * a.nbytes),
        "bias add (N,C)+(C,)": (lambda: ew.binary("add", a2, bias), 2 * a.nbytes),
        "mul backward fused (3 reads, 2 writes)":
            (lambda: ew.binary_grad("mul", g, a, b, None, True, True), 5 * a.nbytes),
        "sum of all": (lambda: reduction.reduce("sum", a, None, False), a.nbytes),
        "sum over rows (N,4096)->(N,)": (lambda: reduction.reduce("sum", a2, (1,), False),
                                         a.nbytes),
        "sum over columns (N,4096)->(4096,)":
            (lambda: reduction.reduce("sum", a2, (0,), False), a.nbytes),
        "softmax rows of 4096": (lambda: softmax.softmax(a2, 1, False), 2 * a.nbytes),
        "log_softmax backward": (lambda: softmax.softmax_grad(a2, a2, 1, True), 3 * a.nbytes),
    }
    for name, (fn, nbytes) in cases.items():
        fraction = nbytes / env.time(fn) / floor
        goal = ">=0.85" if "softmax" not in name else None
        record("bandwidth", f"{name} {mib} MiB", fraction, "of copy", goal,
               fraction >= 0.85 if goal else None)


def sweep(env: Env, floor: float):
    """Block sizes and warps of the elementwise and reduction kernels at 256 MiB."""
    from gpugrad.kernels import elementwise, reduction
    from gpugrad.kernels import elementwise_ops as ew

    n = (1 << 14) if env.smoke else (1 << 26)
    a, b = env.random(n, np.float32, 1), env.random(n, np.float32, 2)
    saved = dict(elementwise.TUNING)
    best = None
    for block in (1024, 2048, 4096, 8192):
        for warps in (4, 8):
            elementwise.TUNING.update(block=block, num_warps=warps)
            fraction = 3 * a.nbytes / env.time(lambda: ew.binary("add", a, b)) / floor
            record("sweep", f"add block={block} warps={warps}", fraction, "of copy")
            best = max(best or (0,), (fraction, block, warps))
    elementwise.TUNING.update(saved)
    record("sweep", "add: best (fraction, block, warps)", str(best), "")
    saved = dict(reduction.TUNING)
    a2 = a.reshape(-1, 4096)
    cases = (("rows", a2, (1,)), ("columns", a2, (0,)), ("all", a, None))
    for tile, warps in ((2048, 4), (4096, 8), (8192, 8), (8192, 16)):
        reduction.TUNING.update(tile=tile, num_warps=warps)
        for name, arr, axes in cases:
            seconds = env.time(lambda arr=arr, axes=axes: reduction.reduce("sum", arr, axes,
                                                                           False))
            record("sweep", f"sum {name} tile={tile} warps={warps}",
                   a.nbytes / seconds / floor, "of copy")
    reduction.TUNING.update(saved)


# ------------------------------------------------------------------------ peak memory
def _peak_extra(env: Env, fn, torch_side: bool) -> float | None:
    """Peak bytes allocated beyond what was live before ``fn`` (None off the GPU)."""
    if not env.cuda:
        return None
    gc.collect()
    env.sync()
    if torch_side:
        torch = env.torch
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        fn()
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - base
    cuda = env.gpugrad.cuda
    base = cuda.memory_allocated()
    cuda.reset_peak_memory_stats()
    fn()
    env.sync()
    return cuda.max_memory_allocated() - base


def _json_value(v):
    return None if isinstance(v, float) and math.isnan(v) else str(v)


def print_goals(rows) -> None:
    """The goal rows as one table (also run by gpu_check.sh on the .jsonl of a cut-short run)."""
    print("\n== goals ==")
    for row in rows:
        if row["goal"]:
            value = row["value"]
            shown = f"{value:.3g}" if isinstance(value, float) else value
            print(f"{'ok    ' if row['ok'] else 'MISSED'} {row['section']:>13} | {row['name']:<50}"
                  f" {shown} {row['unit']} (goal {row['goal']})")


FLOOR = [1.0]
# The goals first, the tuning sweeps after them and the mixed-precision sections last (a run cut
# short by a timeout keeps the goals; gpu_check.sh's budget was sized before the mixed-precision
# sections existed). Host overhead and the MLP step run before cross-entropy: its peak-memory
# measurement installs a CuPy memory hook, a Python call per allocation, for the rest of the
# process.
SECTIONS = {"memory_bound": memory_bound,
            "host": lambda env: host_sections.host_overhead(env, record),
            "mlp": lambda env: host_sections.mlp_step(env, record),
            "cross_entropy": lambda env: ce_sections.cross_entropy(
                env, record, _peak_extra, FLOOR[0]),
            "sweep": sweep,
            "ce_variants": lambda env: ce_sections.cross_entropy_variants(env, record, FLOOR[0]),
            "linear_ce": lambda env: mixed.linear_cross_entropy(env, record, _peak_extra),
            "gpt_block": lambda env: mixed.gpt_block(env, record, _peak_extra),
            "compile": lambda env: gpu_compile.run(env, record)}
# Run only when named: gpu_check.sh gives the compile section its own process and time limit.
ON_REQUEST = ("compile",)
# The sections that express their figures as fractions of the copy floor (measured first).
NEED_FLOOR = ("memory_bound", "sweep", "cross_entropy", "ce_variants")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.gpu_kernels", description=__doc__)
    p.add_argument("--out", type=Path, default=Path("bench/results"))
    p.add_argument("--smoke", action="store_true", help="tiny sizes: check the script runs")
    p.add_argument("--only", help=f"comma-separated sections of {', '.join(SECTIONS)} (all "
                                  f"but {', '.join(ON_REQUEST)} by default)")
    p.add_argument("--name", default="gpu_kernels",
                   help="stem of the result files in DIR (NAME.jsonl, NAME.json)")
    p.add_argument("--profile", action="store_true",
                   help="run the sections under cProfile; the top functions go to "
                        "DIR/host_profile.txt (where host time per launch goes)")
    args = p.parse_args(argv)
    env = Env(args.smoke)
    if not env.cuda and not args.smoke:
        print("no GPU: run with --smoke to check the script on the CPU", file=sys.stderr)
        return 2
    info = {"device": env.device}
    if env.cuda:
        import triton

        info.update(name=env.gpugrad.cuda.get_device_name(), triton=triton.__version__,
                    cupy=env.xp.__version__, torch=getattr(env.torch, "__version__", None))
    print("gpu_kernels:", info, flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    wanted = args.only.split(",") if args.only else [s for s in SECTIONS if s not in ON_REQUEST]
    unknown = [s for s in wanted if s not in SECTIONS]
    if unknown:
        p.error(f"unknown section(s) {', '.join(unknown)}; known: {', '.join(SECTIONS)}")
    ROWS_FILE.append(open(args.out / f"{args.name}.jsonl", "w"))
    if any(s in NEED_FLOOR for s in wanted):
        FLOOR[0] = copy_floor(env)
    failures = []
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    for name in wanted:
        t0 = time.perf_counter()
        try:
            if name in ("memory_bound", "sweep"):
                SECTIONS[name](env, FLOOR[0])
            else:
                SECTIONS[name](env)
        except Exception as exc:  # a section that fails must not hide the others' numbers
            failures.append(f"{name}: {type(exc).__name__}: {exc}")
            print(f"  section {name} FAILED: {type(exc).__name__}: {exc}", flush=True)
        print(f"  ({name}: {time.perf_counter() - t0:.1f} s)", flush=True)
    if profiler is not None:
        import io
        import pstats

        profiler.disable()
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(30)
        (args.out / "host_profile.txt").write_text(text.getvalue())
    ROWS_FILE.pop().close()
    path = args.out / f"{args.name}.json"
    path.write_text(json.dumps({"machine": info, "rows": ROWS, "failures": failures}, indent=1,
                               default=_json_value))
    print(f"\nwrote {path}")
    print_goals(ROWS)
    for f in failures:
        print("FAILED section", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""The ``compile`` section of ``python -m bench.gpu_kernels`` (issue 12 on CUDA): steps replayed
from CUDA graphs by ``gpugrad.compile`` against eager gpugrad, PyTorch eager and
``torch.compile(mode="reduce-overhead")``, side by side in one run, as ratios.

- chain: host_overhead's chain (64 tiny elementwise ops on 16-element vectors, ``sum``,
  ``backward``; the compile workload's step), as host time per chain op: how long the host takes
  to issue a step, on the host clock, for ``HOST_CALLS`` calls in a row with the device
  synchronized before the clock starts and after it stops (few calls, so the launch queue never
  fills and the device's pace does not leak in). Columns: compiled gpugrad (goal < 1 us per op),
  eager gpugrad, PyTorch eager; and each one's step time on the device clock (CUDA events).
- MLP training steps, 784-512-512-10 batch 256 and 64-32-32-10 batch 32 (the compile workload's:
  ``zero_grad``, forward, ``CrossEntropyLoss``, ``backward``, ``SGD(momentum=0.9).step()``): time
  per step (CUDA events) of compiled gpugrad, eager gpugrad, PyTorch eager and, last, the same
  step under ``torch.compile(mode="reduce-overhead", dynamic=False)`` (goals: PyTorch eager / ours
  >= 1.5, torch.compile / ours >= 1); and each one's host time per step (as for the chain), which
  tells a host-bound step from a device-bound one. A torch.compile that fails (no compiler, an
  inductor error) posts an error row and the section goes on; so does any other part that
  raises (an error row named "<part>: part").
- memory of one MLP step: what one call takes from a fresh CuPy memory pool made the allocator for
  that call (its high-water mark: blocks freed within the call are reused), plus, for the
  replayed step, what its program keeps (the capture's pool and the input buffers) (goal: replayed
  <= eager). No CuPy memory hook is installed: a hook stays for the rest of the process and makes
  every allocation after it pay a Python call (``gpu_check.sh``'s issue-10 note).

Before a compiled step is timed it runs beside an eager twin from the same weights over the same
batches (``bench.workloads.compile._check``: a loss, gradient or parameter off by more than 1e-4
relative posts an error row and no time); the agreement and ``compiled.stats`` of the timed calls
are rows too, so a step that fell back to eager cannot pass for a replay.

``run(env, record)`` takes the run's ``Env`` and ``record`` (``bench/gpu_kernels.py``); with
``env.smoke`` on the CPU it runs at tiny sizes on NumPy (``torch.compile`` with its "eager"
backend there), which is what ``tests/bench/test_gpu_compile_smoke.py`` checks.
"""

from __future__ import annotations

import gc
import statistics
import time
import tracemalloc

from .workloads import compile as workload
from .workloads.common import Context
from .workloads.host_overhead import N_OPS
from .workloads.host_overhead import _inputs as chain_inputs

SECTION = "compile"
HOST_CALLS = 32  # calls per host-clock sample: the launch queue stays far from full
MLPS = (((784, 512, 512, 10), 256), ((64, 32, 32, 10), 32))
SMOKE_MLPS = (((32, 16, 16, 10), 8),)
_POOLS: list = []  # the measuring pools stay alive: arrays they gave out return to them


def run(env, record) -> None:
    ctx = Context(device=env.device, scale="smoke" if env.smoke else "full", peers={},
                  cache_bytes=(1 << 20) if env.smoke else (50 << 20))
    _guarded(record, "chain", chain, env, record, ctx)
    prepared = {}
    for dims, batch in (SMOKE_MLPS if env.smoke else MLPS):
        prepared[(dims, batch)] = _guarded(record, _mlp_tag(dims, batch), mlp, env, record, ctx,
                                           dims, batch)
    # torch.compile last: its compilation takes the longest and may not fit the step's time limit.
    for dims, batch in (SMOKE_MLPS if env.smoke else MLPS):
        if prepared[(dims, batch)] is not None:
            mlp_torch_compile(env, record, ctx, dims, batch, prepared[(dims, batch)])


def _guarded(record, tag, fn, *args):
    """``fn(*args)``; an exception becomes an error row and the section goes on (None)."""
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - one broken part must not hide the others' rows
        record(SECTION, f"{tag}: part", f"error: {type(exc).__name__}: {_first_line(exc)}", "",
               "runs", False)
        return None


def _first_line(exc) -> str:
    text = str(exc)
    return text.splitlines()[0][:300] if text else ""


def _mlp_tag(dims, batch) -> str:
    return f"MLP {'-'.join(map(str, dims))} batch {batch} step"


# ------------------------------------------------------------------------------- chain
def chain(env, record, ctx: Context) -> None:
    sets = chain_inputs(ctx)()
    tag = f"chain of {N_OPS} tiny ops fwd+bwd"

    def make(lib):
        return workload._chain_program(ctx, lib, sets)

    steps = {"gpugrad": _eager_step(make(env.gpugrad))}
    compiled = _compiled_step(env, record, tag, make)
    if compiled is not None:
        steps["gpugrad.compile"] = compiled
    if env.torch is not None:
        tctx = Context(env.torch_device, ctx.scale, {}, ctx.cache_bytes, ctx.seed)
        steps["torch"] = _eager_step(workload._chain_program(tctx, env.torch, sets))
    host = {}
    for name, step in steps.items():
        host[name] = _host_seconds(env, step) / N_OPS
        goal = "<1" if name == "gpugrad.compile" else None
        record(SECTION, f"{tag}: {name} host", host[name] * 1e6, "us/op", goal,
               host[name] * 1e6 < 1 if goal else None)
    for name, step in steps.items():
        record(SECTION, f"{tag}: {name} step (CUDA events)", env.time(step) * 1e6, "us")
    if "gpugrad.compile" in host:
        ours = host["gpugrad.compile"]
        for name in ("gpugrad", "torch"):
            if name in host:
                record(SECTION, f"{tag}: {name} host / compiled host", host[name] / ours, "x")
        _stats_row(record, tag, compiled)


# --------------------------------------------------------------------------------- MLP
def mlp(env, record, ctx: Context, dims, batch):
    """The three eager-or-replayed columns and the memory rows; returns what torch.compile's
    column needs (the inputs, and the compiled step's time)."""
    tag = _mlp_tag(dims, batch)
    inputs = workload._mlp_inputs(ctx, dims, batch)()

    def make(lib, dev_ctx=ctx):
        return workload._training_program(dev_ctx, lib, workload._mlp(lib, dims), *inputs,
                                          workload.LR)

    steps = {"gpugrad eager": _eager_step(make(env.gpugrad))}
    compiled = _compiled_step(env, record, tag, make)
    if compiled is not None:
        steps["gpugrad.compile"] = compiled
    if env.torch is not None:
        tctx = Context(env.torch_device, ctx.scale, {}, ctx.cache_bytes, ctx.seed)
        steps["torch eager"] = _eager_step(make(env.torch, tctx))
    times = {}
    for name, step in steps.items():
        times[name] = env.time(step)
        record(SECTION, f"{tag}: {name}", times[name] * 1e3, "ms")
    for name, step in steps.items():  # host- or device-bound: the host's share of a step
        record(SECTION, f"{tag}: {name} host", _host_seconds(env, step) * 1e3, "ms")
    if compiled is not None:
        _stats_row(record, tag, compiled)
    eager = steps["gpugrad eager"]
    ours = times.get("gpugrad.compile")
    if ours is not None:
        record(SECTION, f"{tag}: gpugrad eager / compiled", times["gpugrad eager"] / ours, "x")
        if "torch eager" in times:
            ratio = times["torch eager"] / ours
            record(SECTION, f"{tag}: torch eager / gpugrad.compile", ratio, "x", ">=1.5",
                   ratio >= 1.5)
        _memory_rows(env, record, tag, eager, compiled)
    return inputs, ours


def mlp_torch_compile(env, record, ctx: Context, dims, batch, prepared) -> None:
    """PyTorch's step under ``torch.compile(mode="reduce-overhead")``: an error row if it fails."""
    if env.torch is None:
        return
    inputs, ours = prepared
    torch = env.torch
    tag = _mlp_tag(dims, batch)
    tctx = Context(env.torch_device, ctx.scale, {}, ctx.cache_bytes, ctx.seed)
    t0 = time.perf_counter()
    try:
        program = workload._training_program(tctx, torch, workload._mlp(torch, dims), *inputs,
                                             workload.LR)
        step = _torch_compiled(env, program)
        for _ in range(3):  # compilation, then the CUDA graphs' warm-up and recording
            step()
        env.sync()
        warm = time.perf_counter() - t0
        seconds = env.time(step)
    except Exception as exc:  # noqa: BLE001 - no compiler, an inductor error: say so, go on
        record(SECTION, f"{tag}: torch.compile", f"error: {type(exc).__name__}: "
               f"{_first_line(exc)}", "", "runs", False)
        return
    record(SECTION, f"{tag}: torch.compile first 3 calls", warm, "s")
    record(SECTION, f"{tag}: torch.compile {_torch_mode(env)}", seconds * 1e3, "ms")
    if ours is not None:
        ratio = seconds / ours
        record(SECTION, f"{tag}: torch.compile / gpugrad.compile", ratio, "x", ">=1",
               ratio >= 1)


def _torch_mode(env) -> str:
    return "backend=eager (smoke)" if env.smoke else "reduce-overhead"


def _torch_compiled(env, program):
    torch = env.torch
    torch._dynamo.reset()
    if env.smoke:  # on the CPU: no C++ compiler needed, the path is what is checked
        fn = torch.compile(program.fn, backend="eager", dynamic=False)
    else:
        fn = torch.compile(program.fn, mode="reduce-overhead", dynamic=False)

    def step():
        # A new iteration: the CUDA graphs may reuse the previous call's output memory.
        torch.compiler.cudagraph_mark_step_begin()
        return fn(*program.args())

    return step


# ------------------------------------------------------------------------------ helpers
def _eager_step(program):
    return lambda: program.fn(*program.args())


def _compiled_step(env, record, tag, make):
    """The compiled step after its check against an eager twin (an error row, and None, when
    they disagree or the compile fails)."""
    try:
        twin, program = make(env.gpugrad), make(env.gpugrad)
        step_fn = env.gpugrad.compile(program.fn)
        agreement, caught = workload._check(twin, program, step_fn)
    except Exception as exc:  # noqa: BLE001 - a wrong replay must post no number
        record(SECTION, f"{tag}: compiled == eager", f"error: {type(exc).__name__}: "
               f"{_first_line(exc)}", "", "agrees", False)
        return None
    record(SECTION, f"{tag}: compiled == eager", agreement, "", "agrees", True)

    def step():
        return step_fn(*program.args())

    step.fn = step_fn
    step.before = workload._counters(step_fn)
    step.caught = caught
    step.agreement = agreement
    return step


def _stats_row(record, tag, step) -> None:
    """compiled.stats and how the calls since the check went: ok only if every one replayed."""
    text = workload._describe(step.fn, step.before, step.agreement, step.caught)
    record(SECTION, f"{tag}: replayed", text, "", "every call", not text.startswith("FELL"))


def _host_seconds(env, step, calls: int = HOST_CALLS, repeat: int = 9) -> float:
    """Median host seconds per call of ``step`` over runs of ``calls`` calls; the device is idle
    when the clock starts and is waited for only after it stops."""
    step()
    env.sync()
    samples = []
    for _ in range(1 if env.smoke else repeat):
        env.sync()
        t0 = time.perf_counter()
        for _ in range(calls):
            step()
        samples.append((time.perf_counter() - t0) / calls)
        env.sync()
    return statistics.median(samples)


def _memory_rows(env, record, tag, eager, compiled) -> None:
    eager_bytes = _taken_by(env, eager)
    replay_bytes = _taken_by(env, compiled)
    kept = program_bytes(compiled.fn)
    mib = 1 / 2**20
    record(SECTION, f"{tag}: gpugrad eager step memory", eager_bytes * mib, "MiB")
    record(SECTION, f"{tag}: replayed step memory (program + call)",
           (kept + replay_bytes) * mib, "MiB")
    ratio = (kept + replay_bytes) / max(eager_bytes, 1)
    record(SECTION, f"{tag}: replayed / eager memory", ratio, "x", "<=1", ratio <= 1)


def _taken_by(env, fn) -> int:
    """Bytes one call of ``fn`` takes at its high-water mark: on CUDA, from a fresh CuPy memory
    pool that is the allocator during the call (no hook); on the CPU, tracemalloc's peak."""
    gc.collect()
    env.sync()
    if not env.cuda:
        tracemalloc.start()
        try:
            fn()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    cupy = env.xp
    pool = cupy.cuda.MemoryPool()
    _POOLS.append(pool)
    previous = cupy.cuda.get_allocator()
    cupy.cuda.set_allocator(pool.malloc)
    try:
        fn()
        env.sync()
    finally:
        cupy.cuda.set_allocator(previous)
    return int(pool.total_bytes())


def program_bytes(compiled_fn) -> int:
    """Device bytes the captured programs of ``compiled_fn`` keep: each CUDA capture's memory
    pool (its graphs' buffers) and the input buffers the replays copy arguments into. (On the
    CPU, the input buffers only.)"""
    total = 0
    for programs in compiled_fn._programs.values():
        for p in programs:
            keep = getattr(p, "keep", None)
            if keep is not None:
                total += int(keep[0].total_bytes())
            total += sum(b.nbytes for b in p.input_buffers if b is not None)
    return total


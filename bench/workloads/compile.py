"""gpugrad.compile (issue 12): one step eager, compiled, and in PyTorch eager, side by side.

Each case is a function that does a whole step; the ``gpugrad.compile`` column hands that
function to ``gpugrad.compile`` (call 1 eager, call 2 captured, then replays), the others call it
as it is. The same code runs in both libraries but for the module it is given:

- chain: host_overhead's chain (64 tiny elementwise ops on 16-element vectors, ``sum``,
  ``backward``), time per chain op;
- MLP 64-32-32-10 batch 32 and 784-512-512-10 batch 256, as the mlp workload: ``zero_grad``,
  forward, ``nn.CrossEntropyLoss``, ``backward``, ``SGD(lr=0.01, momentum=0.9).step()``;
- a bidirectional LSTM tagger written with ``nn.LSTMCell`` unrolled over the sequence in both
  directions, a linear layer over both directions' states, ``nn.CrossEntropyLoss`` over every
  position, an SGD step: thousands of tiny ops per step.

The last column is PyTorch eager's time over the compiled step's, against the goal of issue 12;
the peak memory of one step (tracemalloc, after the timing, plus the buffers the compiled
program keeps between calls: ``compiled.stats.buffer_bytes``) compares the replayed step with the
eager one (the goal: no more). The implementations are measured in turn over several rounds
(``Case.rounds``) so that a loaded machine weighs on all of them alike.

A fast number from a broken replay must not be possible: before the timing, the compiled
builder runs the compiled step next to an eager twin (same weights, same batches; twice through
the rotating inputs, so each of them is replayed) and raises if a loss, a gradient or a parameter
differs. Its ``info`` line, read after the timing, reports ``compiled.stats`` and how the timed
calls went (replayed, captured, eager), so a step that fell back to eager shows in the notes.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .common import Case, Context, Workload, n_copies, rotate
from .host_overhead import N_OPS, _chain
from .host_overhead import _inputs as _chain_inputs

LR, MOMENTUM = 0.01, 0.9  # as the mlp workload
RNN_LR = 0.05
CHECK_STEPS = 6  # at least: call 1 runs eagerly, call 2 captures, the rest replay
# A broken replay (stale weights, a skipped optimizer step, a lost gradient) is off by far more;
# bit-for-bit is what the NumPy backend promises and the info line says whether it held.
RTOL, ATOL = 1e-4, 1e-6


@dataclass
class Program:
    """One library's step: ``fn(*args())`` runs a step and returns the loss; ``state()`` lists
    the tensors a step leaves behind (parameters or gradients), compared by the check;
    ``period``: how many input sets ``args`` rotates through."""

    fn: Callable
    args: Callable[[], tuple]
    state: Callable[[], list]
    period: int


# ------------------------------------------------------------------------------ the steps
def _chain_program(ctx: Context, lib, sets) -> Program:
    def tensor(a, grad=False):
        return lib.tensor(a, device=ctx.device).requires_grad_(grad)

    nxt = rotate([(tensor(x, True), tensor(a), tensor(b)) for x, a, b in sets])
    last = []

    def args():
        x, a, b = nxt()
        x.grad = None  # as host_overhead's step: a fresh gradient every step
        last[:] = [x]
        return x, a, b

    def fn(x, a, b):
        out = _chain(x, a, b, lib.tanh, lib.sin)
        out.backward()
        return out

    return Program(fn, args, lambda: [last[0].grad], len(sets))


def _mlp(lib, dims):
    layers = []
    for fan_in, fan_out in zip(dims[:-1], dims[1:]):
        layers += [lib.nn.Linear(fan_in, fan_out), lib.nn.ReLU()]
    return lib.nn.Sequential(*layers[:-1])


def _bilstm(lib, sizes):
    """A tagger as a PyTorch user writes one by hand: two ``LSTMCell``, one per direction."""
    n_in, hidden, n_tags = sizes
    nn = lib.nn

    class BiLSTMTagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.forward_cell = nn.LSTMCell(n_in, hidden)
            self.backward_cell = nn.LSTMCell(n_in, hidden)
            self.tags = nn.Linear(2 * hidden, n_tags)

        def _run(self, cell, steps):
            h = c = steps[0].new_zeros((steps[0].shape[0], hidden))
            out = []
            for x in steps:
                h, c = cell(x, (h, c))
                out.append(h)
            return out

        def forward(self, xs):  # (seq, batch, n_in) -> (seq * batch, n_tags)
            steps = xs.unbind(0)
            ahead = self._run(self.forward_cell, steps)
            behind = self._run(self.backward_cell, steps[::-1])[::-1]
            states = lib.stack([lib.cat([a, b], 1) for a, b in zip(ahead, behind)])
            return self.tags(states).reshape(-1, n_tags)

    return BiLSTMTagger()


def _training_program(ctx: Context, lib, model, weights, batches, lr) -> Program:
    model.load_state_dict({k: lib.tensor(v, device=ctx.device) for k, v in weights.items()})
    model.to(ctx.device)
    loss_fn = lib.nn.CrossEntropyLoss()
    opt = lib.optim.SGD(model.parameters(), lr=lr, momentum=MOMENTUM)
    nxt = rotate([(lib.tensor(x, device=ctx.device), lib.tensor(y, device=ctx.device))
                  for x, y in batches])
    period = len(batches)

    def fn(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return Program(fn, nxt, lambda: list(model.parameters()), period)


# ----------------------------------------------------------------------------- the inputs
def _weights(ctx: Context, make_model) -> dict:
    """gpugrad's initial weights (seeded), as host arrays every implementation loads."""
    import gpugrad

    gpugrad.manual_seed(ctx.seed)
    return {k: v.detach().cpu().numpy().copy() for k, v in make_model(gpugrad).state_dict().items()}


def _mlp_inputs(ctx: Context, dims, batch):
    def make():
        rng = ctx.rng("compile mlp", dims, batch)
        batches = [(rng.standard_normal((batch, dims[0]), dtype=np.float32),
                    rng.integers(0, dims[-1], batch, dtype=np.int64))
                   for _ in range(n_copies(ctx, batch * dims[0] * 4, limit=8))]
        return _weights(ctx, lambda lib: _mlp(lib, dims)), batches
    return make


def _bilstm_inputs(ctx: Context, sizes, seq, batch):
    def make():
        rng = ctx.rng("compile bilstm", sizes, seq, batch)
        n_in, _, n_tags = sizes
        batches = [(rng.standard_normal((seq, batch, n_in), dtype=np.float32),
                    rng.integers(0, n_tags, seq * batch, dtype=np.int64)) for _ in range(4)]
        return _weights(ctx, lambda lib: _bilstm(lib, sizes)), batches
    return make


# ---------------------------------------------------------------------------- the builders
def _builders(make_program: Callable) -> dict:
    """``make_program(lib, inputs) -> Program`` as the three columns: eager gpugrad, compiled
    gpugrad, PyTorch eager."""

    def eager(impl):
        def build(inputs):
            program = make_program(_lib(impl), inputs)
            return lambda: program.fn(*program.args())
        return build

    def compiled(inputs):
        import gpugrad

        twin, program = make_program(gpugrad, inputs), make_program(gpugrad, inputs)
        step_fn = gpugrad.compile(program.fn)
        agreement, caught = _check(twin, program, step_fn)
        before = _counters(step_fn)

        def step():
            return step_fn(*program.args())

        step.info = lambda: _describe(step_fn, before, agreement, caught)
        step.held_bytes = lambda: getattr(step_fn.stats, "buffer_bytes", 0)
        return step

    return {"gpugrad": eager("gpugrad"), "gpugrad.compile": compiled, "torch": eager("torch")}


def _lib(impl: str):
    import importlib

    return importlib.import_module(impl)


def _host(t) -> np.ndarray | None:
    return None if t is None else np.asarray(t.detach().cpu().numpy(), dtype=np.float64)


def _check(twin: Program, program: Program, step_fn) -> tuple[str, list[str]]:
    """Run the compiled step and its eager twin side by side; raise at the first loss, gradient
    or parameter that differs. Returns how close they were, and the warnings seen."""
    steps = max(CHECK_STEPS, 2 * program.period + 2)
    worst = 0.0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i in range(steps):
            want = [twin.fn(*twin.args()), *twin.state()]
            got = [step_fn(*program.args()), *program.state()]
            for k, (w, g) in enumerate(zip(want, got)):
                what = "the loss" if k == 0 else f"state tensor {k - 1} (a parameter or .grad)"
                w, g = _host(w), _host(g)
                where = f"gpugrad.compile disagrees with eager gpugrad at step {i + 1} of {steps}"
                if (w is None) != (g is None) or (w is not None and w.shape != g.shape):
                    raise AssertionError(
                        f"{where}: {what} is {_shape(g)} compiled, {_shape(w)} eager "
                        f"(compiled.stats: {_stats_text(step_fn)})")
                if w is None:
                    continue
                diff = float(np.max(np.abs(w - g), initial=0.0))
                worst = max(worst, diff)
                if not np.allclose(g, w, rtol=RTOL, atol=ATOL):
                    raise AssertionError(
                        f"{where}: {what} differs by up to {diff:.3g} (compiled.stats: "
                        f"{_stats_text(step_fn)}); a replay must give eager's numbers")
    agreement = ("bit for bit" if worst == 0 else f"within {worst:.2g}")
    return (f"agreed with eager over {steps} steps {agreement}",
            [f"{type(w.message).__name__}: {w.message}" for w in caught])


def _shape(a) -> str:
    return "None" if a is None else f"shape {tuple(a.shape)}"


def _stat(stats, name: str):
    return stats.get(name) if isinstance(stats, dict) else getattr(stats, name, None)


_COUNTERS = ("replays", "captures", "eager_calls")


def _counters(step_fn) -> dict | None:
    stats = getattr(step_fn, "stats", None)
    return None if stats is None else {k: _stat(stats, k) or 0 for k in _COUNTERS}


def _stats_text(step_fn) -> str:
    stats = getattr(step_fn, "stats", None)
    if stats is None:
        return "none (the compiled function has no .stats)"
    fallbacks = _stat(stats, "fallbacks") or []
    return (f"eager_calls {_stat(stats, 'eager_calls')}, captures {_stat(stats, 'captures')}, "
            f"replays {_stat(stats, 'replays')}, fallbacks "
            f"{'; '.join(map(str, fallbacks)) if fallbacks else 'none'}")


def _describe(step_fn, before: dict | None, agreement: str, caught: list[str]) -> str:
    """The info line: the counters, and how the calls after the check went (the timed ones,
    with their warm-up): loud when any of them did not replay."""
    after = _counters(step_fn)
    text = f"compiled.stats: {_stats_text(step_fn)}; {agreement}"
    if caught:
        text += "; warnings: " + " | ".join(dict.fromkeys(caught))
    if after is None or before is None:
        return "FELL BACK TO EAGER? (no compiled.stats to tell): " + text
    timed = {k: after[k] - before[k] for k in _COUNTERS}
    text += "; after the check: " + ", ".join(f"{timed[k]} {k}" for k in _COUNTERS)
    if timed["replays"] == 0 or timed["captures"] or timed["eager_calls"]:
        return "FELL BACK TO EAGER (not every timed call replayed): " + text
    if _stat(getattr(step_fn, "stats", None), "fallbacks"):
        return "FELL BACK TO EAGER (a signature fell back): " + text
    return text


# ------------------------------------------------------------------------------- the cases
def _chain_case(ctx: Context) -> Case:
    return Case(
        label="chain forward+backward", inputs=_chain_inputs(ctx), ops=N_OPS, memory=True,
        goal=3.0, **_interleaved(ctx),
        builders=_builders(lambda lib, sets: _chain_program(ctx, lib, sets)))


def _mlp_case(ctx: Context, dims, batch, goal: float) -> Case:
    return Case(
        label=f"MLP {'-'.join(map(str, dims))} batch {batch} step",
        inputs=_mlp_inputs(ctx, dims, batch), items=batch, memory=True, goal=goal,
        **_interleaved(ctx),
        builders=_builders(lambda lib, inputs: _training_program(
            ctx, lib, _mlp(lib, dims), *inputs, LR)))


def _bilstm_case(ctx: Context, sizes, seq, batch) -> Case:
    return Case(
        label=f"BiLSTM cells, seq {seq}, hidden {sizes[1]}, batch {batch} step",
        inputs=_bilstm_inputs(ctx, sizes, seq, batch), items=batch, memory=True,
        goal=2.0, **_interleaved(ctx),
        builders=_builders(lambda lib, inputs: _training_program(
            ctx, lib, _bilstm(lib, sizes), *inputs, RNN_LR)))


def _interleaved(ctx: Context) -> dict:
    """Rounds, and three times the usual sampling: ratios of 2-4x between columns are the
    point here, and a loaded machine's drift must not pick the winner."""
    if ctx.smoke:
        return {"rounds": 2}  # the interleaved path runs in the tests
    return {"rounds": 3 if ctx.quick else 5, "budget_scale": 3.0}


def cases(ctx: Context) -> list[Case]:
    if ctx.smoke:
        return [_chain_case(ctx), _mlp_case(ctx, (64, 32, 32, 10), 16, 2.0),
                _bilstm_case(ctx, (8, 8, 5), 3, 2)]
    big = ((4096, 4096, 4096, 10), 4096) if ctx.device == "cuda" else ((784, 512, 512, 10), 256)
    return [_chain_case(ctx), _mlp_case(ctx, (64, 32, 32, 10), 32, 2.0),
            _mlp_case(ctx, *big, 1.3), _bilstm_case(ctx, (16, 32, 8), 40, 4)]


WORKLOAD = Workload(
    name="compile",
    title="gpugrad.compile: eager, compiled (captured, replayed) and PyTorch eager",
    definition=("One step per call, the same function in each column, compiled whole in "
                "gpugrad.compile's: host_overhead's chain + sum + backward (per chain op); MLP "
                "training steps (zero_grad, CrossEntropyLoss, backward, SGD momentum 0.9); a "
                "BiLSTM tagger of two LSTMCells unrolled both ways + Linear + CrossEntropyLoss + "
                "SGD step. Last column: torch eager time / compiled time against issue 12's "
                "goal; peak memory: compiled / eager gpugrad (goal ≤ 1). Interleaved rounds."),
    cases=cases,
)

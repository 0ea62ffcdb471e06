"""Where a BiLSTM-CRF training step's forward spends its time: the cost of each recorded op of
the CRF's forward algorithm (``tests/programs/bilstm_crf.py``'s inner loop, one (word, tag)
pair), timed where it runs, in the loop, with gpugrad and with PyTorch side by side.

An op timed alone (``timeit``, warm caches, the garbage collector off) costs less than the same
op between the program's other ops; this times each line of one iteration with
``perf_counter`` in the loop itself, averages over a 12-word sentence's 60 iterations and takes
the median over repetitions. ``--no-gc`` runs with the garbage collector off, to show its share.
``--decode`` times the Viterbi decode's (word, tag) step instead, under ``no_grad``.
``--phases`` times the program's phases instead (LSTM features and Viterbi loop under
``no_grad``, the recorded forward algorithm and its backward) with both libraries loaded in one
process, round after round in turn, and keeps each phase's minimum: on a machine whose speed
drifts, that compares the two at the same moments.

    python -m bench.bilstm_crf_ops [--decode | --phases] [--no-gc] [--reps 300]

Otherwise each library runs in its own process (one thread), one after the other.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import statistics
import subprocess
import sys
import time

STEPS = ("feat[k]", "view(1,-1)", "expand", "T[k]", "view(1,-1)", "fv + trans", "+ emit",
         "max(vec, 1)", "item()", "vec[0, i]", "view(1,-1)", "expand", "vec - max", "exp",
         "sum", "log", "max + log", "view(1)")


def _iteration(lib, transitions, forward_var, feat, k, marks):
    """One (word, tag) step of the forward algorithm, a clock reading after each op."""
    clock = time.perf_counter
    t0 = clock()
    emit = feat[k]
    t1 = clock()
    emit = emit.view(1, -1)
    t2 = clock()
    emit = emit.expand(1, 5)
    t3 = clock()
    trans = transitions[k]
    t4 = clock()
    trans = trans.view(1, -1)
    t5 = clock()
    vec = forward_var + trans
    t6 = clock()
    vec = vec + emit
    t7 = clock()
    _, idx = lib.max(vec, 1)
    t8 = clock()
    i = idx.item()
    t9 = clock()
    best = vec[0, i]
    t10 = clock()
    shift = best.view(1, -1)
    t11 = clock()
    shift = shift.expand(1, 5)
    t12 = clock()
    centred = vec - shift
    t13 = clock()
    e = lib.exp(centred)
    t14 = clock()
    s = lib.sum(e)
    t15 = clock()
    lg = lib.log(s)
    t16 = clock()
    score = best + lg
    t17 = clock()
    out = score.view(1)
    t18 = clock()
    marks.append((t0, t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11, t12, t13, t14, t15, t16,
                  t17, t18))
    return out


DECODE_STEPS = ("T[k]", "fv + trans", "max(vec, 1)", "item()", "vec[0]", "[i]", "view(1)")


def _decode_iteration(lib, transitions, forward_var, k, marks):
    """One (word, tag) step of the Viterbi decode, a clock reading after each op."""
    clock = time.perf_counter
    t0 = clock()
    trans = transitions[k]
    t1 = clock()
    vec = forward_var + trans
    t2 = clock()
    _, idx = lib.max(vec, 1)
    t3 = clock()
    i = idx.item()
    t4 = clock()
    row = vec[0]
    t5 = clock()
    best = row[i]
    t6 = clock()
    out = best.view(1)
    t7 = clock()
    marks.append((t0, t1, t2, t3, t4, t5, t6, t7))
    return out


def measure(name: str, reps: int, collect: bool, decode: bool = False) -> list:
    """Median µs per op of one iteration, for the library ``name``."""
    lib = importlib.import_module(name)
    if name == "torch":
        lib.set_num_threads(1)
    lib.manual_seed(0)
    feats = lib.randn(12, 5, requires_grad=True)
    transitions = lib.randn(5, 5, requires_grad=True)
    start = lib.randn(1, 5, requires_grad=True) * 1
    if not collect:
        gc.disable()
    steps = DECODE_STEPS if decode else STEPS
    per_rep = []
    for _ in range(reps):
        marks = []
        forward_var = start
        if decode:
            with lib.no_grad():
                for feat in feats:
                    forward_var = (lib.cat([_decode_iteration(lib, transitions, forward_var, k,
                                                              marks) for k in range(5)])
                                   + feat).view(1, -1)
        else:
            for feat in feats:
                forward_var = lib.cat([_iteration(lib, transitions, forward_var, feat, k, marks)
                                       for k in range(5)]).view(1, -1)
        per_rep.append([sum(m[j + 1] - m[j] for m in marks) / len(marks)
                        for j in range(len(steps))])
    return [statistics.median(r[j] for r in per_rep) * 1e6 for j in range(len(steps))]


PHASES = ("LSTM features (no_grad)", "Viterbi loop (no_grad)", "forward algorithm (recorded)",
          "its backward")


def phases(reps: int) -> dict:
    """Minimum µs of each phase of one 12-word sentence, per library (see the docstring)."""
    import os

    import torch

    import gpugrad

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "programs"))
    import bilstm_crf

    torch.set_num_threads(1)
    setups = {}
    for lib in (gpugrad, torch):
        lib.manual_seed(0)
        model_cls, word_to_ix, _, prepare_sequence = bilstm_crf.build(lib)
        model = model_cls()
        sentence = prepare_sequence(bilstm_crf.TRAINING_DATA[0][0], word_to_ix)
        with lib.no_grad():
            feats = model._get_lstm_features(sentence)
        setups[lib.__name__] = (lib, model, sentence, feats)
    gc.collect()
    gc.freeze()
    gc.disable()
    clock = time.perf_counter
    best = {name: [float("inf")] * len(PHASES) for name in setups}
    for _ in range(reps):
        for name, (lib, model, sentence, feats) in setups.items():
            with lib.no_grad():
                t0 = clock()
                model._get_lstm_features(sentence)
                t1 = clock()
                model._viterbi_decode(feats)
                t2 = clock()
            loss = model._forward_alg(feats)
            t3 = clock()
            loss.backward()
            t4 = clock()
            best[name] = [min(b, t) for b, t in zip(best[name], (t1 - t0, t2 - t1, t3 - t2,
                                                                  t4 - t3))]
    return {name: [v * 1e6 for v in times] for name, times in best.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=300)
    parser.add_argument("--no-gc", action="store_true", help="garbage collector off")
    parser.add_argument("--decode", action="store_true", help="the Viterbi decode's step")
    parser.add_argument("--phases", action="store_true",
                        help="the program's phases, both libraries in one process")
    parser.add_argument("--worker", choices=("gpugrad", "torch"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phases:
        best = phases(args.reps)
        print(f"{'phase':<30}{'gpugrad µs':>12}{'torch µs':>10}{'torch/gpugrad':>15}")
        for j, phase in enumerate(PHASES):
            ours, theirs = best["gpugrad"][j], best["torch"][j]
            print(f"{phase:<30}{ours:>12.1f}{theirs:>10.1f}{theirs / ours:>15.2f}")
        return
    if args.worker:
        costs = measure(args.worker, args.reps, not args.no_gc, args.decode)
        print(" ".join(f"{v:.3f}" for v in costs))
        return
    steps = DECODE_STEPS if args.decode else STEPS
    costs = {}
    for name in ("gpugrad", "torch"):
        cmd = [sys.executable, "-m", "bench.bilstm_crf_ops", "--worker", name,
               "--reps", str(args.reps)] + (["--no-gc"] if args.no_gc else [])
        cmd += ["--decode"] if args.decode else []
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        costs[name] = [float(v) for v in out.split()]
    print(f"{'op':<14}{'gpugrad µs':>12}{'torch µs':>10}{'ratio':>8}")
    for j, step in enumerate(steps):
        ours, theirs = costs["gpugrad"][j], costs["torch"][j]
        print(f"{step:<14}{ours:>12.2f}{theirs:>10.2f}{ours / theirs:>8.2f}")
    ours, theirs = sum(costs["gpugrad"]), sum(costs["torch"])
    print(f"{'iteration':<14}{ours:>12.2f}{theirs:>10.2f}{ours / theirs:>8.2f}")


if __name__ == "__main__":
    main()

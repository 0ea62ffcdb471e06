"""Distributed benchmarks: ``python -m bench.distributed [--quick | --smoke] [--only NAMES]``.

Starts itself under ``mpiexec`` (run it from the repository root) and measures on this machine:

- ``allreduce``: ``gpugrad.distributed.all_reduce`` (float32, SUM, in place) against mpi4py's bare
  ``Comm.Allreduce(MPI.IN_PLACE, buf)`` on the same buffers, 1 KB to 256 MB, on 2 ranks. Bus
  bandwidth = bytes x 2(n-1)/n / time (nccl-tests' convention). Goal: at least 0.9x mpi4py's.
- ``overlap``: a DistributedDataParallel training step (bucketed all-reduces started during
  backward) against the same step done one after the other (the whole backward, then one
  all-reduce of all gradients flattened together) and against the step without communication,
  alternated in one run on 2 ranks: the time saved, and the share of the communication hidden.
- ``scaling``: the MLP training step (784-512-512-10, batch 256 per rank, SGD with momentum)
  in samples/s on 1 rank and on 2 ranks (DistributedDataParallel), one BLAS thread per rank;
  efficiency = samples/s on 2 / (2 x samples/s on 1).

Every time is the median over rounds that alternate the implementations, each round the
slowest rank's time after a barrier. Results go to ``DIR/distributed_<machine>_<date>.json``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
SECTIONS = ("allreduce", "overlap", "scaling")
SIZES = {"full": [1 << k for k in range(10, 29, 2)], "quick": [1 << k for k in range(10, 25, 2)],
         "smoke": [1 << 10, 1 << 16]}
ROUNDS = {"full": 31, "quick": 11, "smoke": 2}
STEPS = {"full": 10, "quick": 10, "smoke": 2}  # training steps per round
MLP = {"full": ((784, 512, 512, 10), 256), "quick": ((784, 512, 512, 10), 256),
       "smoke": ((64, 32, 10), 16)}
BIG_MLP = ((784, 2048, 2048, 10), 256)  # 23 MB of gradients: several buckets


# ---------------------------------------------------------------------- the workers (per rank)
def _timed(comm, fn, reps: int) -> float:
    """Seconds per call of ``fn``, on the slowest rank, after a barrier."""
    comm.Barrier()
    start = time.perf_counter()
    for _ in range(reps):
        fn()
    return comm.allreduce((time.perf_counter() - start) / reps, op=_mpi().MAX)


def _alternate(comm, variants: dict, rounds: int, reps: int) -> dict:
    """Median seconds per call of each variant, the variants alternated round by round (each
    round starting with the next one, so that no variant always runs first)."""
    samples = {name: [] for name in variants}
    names = list(variants)
    for fn in variants.values():
        fn()  # warm-up
    for i in range(rounds):
        for name in names[i % len(names):] + names[:i % len(names)]:
            samples[name].append(_timed(comm, variants[name], reps))
    return {name: statistics.median(s) for name, s in samples.items()}


def _mpi():
    from mpi4py import MPI

    return MPI


def work_allreduce(scale: str) -> list:
    import gpugrad.distributed as dist

    dist.init_process_group("mpi")
    rows = [_allreduce_row(nbytes, scale) for nbytes in SIZES[scale]]
    dist.destroy_process_group()
    return rows


def _allreduce_row(nbytes: int, scale: str) -> dict:
    import gpugrad
    import gpugrad.distributed as dist

    comm, in_place = _mpi().COMM_WORLD, _mpi().IN_PLACE
    n = comm.Get_size()
    buf = np.zeros(nbytes // 4, np.float32)  # zeros: the sums stay finite
    tensor = gpugrad.from_numpy(buf)

    group_comm = dist.group.WORLD.mpi.comm  # the duplicate of COMM_WORLD gpugrad talks on

    def raw():
        comm.Allreduce(in_place, buf)

    def raw_on_group_comm():
        group_comm.Allreduce(in_place, buf)

    def ours():
        dist.all_reduce(tensor)

    estimate = _timed(comm, raw, 3)
    reps = max(1, min(2000, int(0.02 / max(estimate, 1e-7))))  # short blocks, many rounds
    times = _alternate(comm, {"mpi4py": raw, "gpugrad": ours,
                              "mpi4py on the group's communicator": raw_on_group_comm},
                       ROUNDS[scale], reps)
    bus = {k: nbytes * 2 * (n - 1) / n / t / 1e9 for k, t in times.items()}
    return {"bytes": nbytes, "reps": reps, "seconds": times, "bus_gbps": bus,
            "ratio": bus["gpugrad"] / bus["mpi4py"],
            "ratio_same_communicator": bus["gpugrad"] / bus["mpi4py on the group's communicator"]}


def _mlp(dims, seed: int = 0):
    import gpugrad
    from gpugrad import nn

    gpugrad.manual_seed(seed)
    layers = []
    for fan_in, fan_out in zip(dims[:-1], dims[1:]):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def _step(model, opt, x, y, after_backward=None):
    import gpugrad.nn.functional as F

    def step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        if after_backward is not None:
            after_backward()
        opt.step()
    return step


def _batch(dims, batch: int, rank: int):
    import gpugrad

    rng = np.random.default_rng(rank)
    return (gpugrad.tensor(rng.standard_normal((batch, dims[0]), dtype=np.float32)),
            gpugrad.tensor(rng.integers(0, dims[-1], batch)))


def work_overlap(scale: str) -> list:
    import gpugrad.distributed as dist

    dist.init_process_group("mpi")
    configs = [MLP[scale]] + ([BIG_MLP] if scale == "full" else [])
    rows = [_overlap_row(dims, batch, scale) for dims, batch in configs]
    dist.destroy_process_group()
    return rows


def _overlap_row(dims, batch: int, scale: str) -> dict:
    import gpugrad
    import gpugrad.distributed as dist
    from gpugrad.nn.parallel import DistributedDataParallel

    n = dist.get_world_size()
    x, y = _batch(dims, batch, dist.get_rank())
    ddp = DistributedDataParallel(_mlp(dims))
    plain, local = _mlp(dims), _mlp(dims)
    params = list(plain.parameters())

    def all_reduce_once():  # every gradient in one buffer, one all-reduce, after backward
        flat = gpugrad.from_numpy(np.concatenate([p.grad._data.ravel() for p in params]))
        dist.all_reduce(flat)
        flat._data /= n
        start = 0
        for p in params:
            size = p.grad._data.size
            p.grad._data[...] = flat._data[start:start + size].reshape(p.grad._data.shape)
            start += size

    def sgd(model):
        return gpugrad.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    variants = {"overlapped (DDP)": _step(ddp, sgd(ddp), x, y),
                "one after the other": _step(plain, sgd(plain), x, y, all_reduce_once),
                "no communication": _step(local, sgd(local), x, y)}
    times = _alternate(_mpi().COMM_WORLD, variants, ROUNDS[scale], STEPS[scale])
    serial, overlapped = times["one after the other"], times["overlapped (DDP)"]
    comm_s = serial - times["no communication"]
    return {"dims": dims, "batch_per_rank": batch, "ranks": n,
            "buckets": len(ddp.reducer.buckets), "seconds": times,
            "saved_s": serial - overlapped, "saved_fraction": (serial - overlapped) / serial,
            "hidden_fraction": (serial - overlapped) / comm_s if comm_s > 0 else None}


def work_scaling(scale: str) -> list:
    import gpugrad
    import gpugrad.distributed as dist
    from gpugrad.nn.parallel import DistributedDataParallel

    comm = _mpi().COMM_WORLD
    n = comm.Get_size()
    dims, batch = MLP[scale]
    x, y = _batch(dims, batch, comm.Get_rank())
    model = _mlp(dims)
    if n > 1:
        dist.init_process_group("mpi")
        model = DistributedDataParallel(model)
    opt = gpugrad.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    seconds = _alternate(comm, {"step": _step(model, opt, x, y)}, ROUNDS[scale],
                         STEPS[scale])["step"]
    if n > 1:
        dist.destroy_process_group()
    return [{"dims": dims, "batch_per_rank": batch, "ranks": n,
             "threads": os.environ.get("OMP_NUM_THREADS"), "step_s": seconds,
             "samples_per_s": n * batch / seconds}]


WORKERS = {"allreduce": work_allreduce, "overlap": work_overlap, "scaling": work_scaling}


# ---------------------------------------------------------------------- the launcher
def _mpiexec() -> str:
    beside = Path(sys.executable).parent / "mpiexec"
    found = str(beside) if beside.exists() else None
    if found is None:
        import shutil

        found = shutil.which("mpiexec")
    if found is None:
        raise SystemExit("no mpiexec: pip install -e '.[dist]' (mpi4py, mpich)")
    return found


def _launch(section: str, scale: str, ranks: int, threads: int) -> list:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads), GPUGRAD_DEVICE="cpu")
    cmd = [_mpiexec(), "-n", str(ranks), sys.executable, "-m", "bench.distributed",
           "--worker", section, "--scale", scale]
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=1200)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise SystemExit(f"{section} on {ranks} rank(s) failed:\n{proc.stdout}\n{proc.stderr}")


def _report(results: dict) -> str:
    lines = []
    if "allreduce" in results:
        lines += ["all_reduce bus bandwidth, 2 ranks, float32 SUM in place (goal >= 0.9x); "
                  "the last column: against mpi4py on gpugrad's own communicator",
                  f"{'bytes':>10} {'mpi4py GB/s':>12} {'gpugrad GB/s':>13} {'ratio':>7} "
                  f"{'gpugrad us':>11} {'same comm':>10}"]
        for r in results["allreduce"]:
            lines.append(f"{r['bytes']:>10} {r['bus_gbps']['mpi4py']:>12.3f} "
                         f"{r['bus_gbps']['gpugrad']:>13.3f} {r['ratio']:>6.2f}x "
                         f"{r['seconds']['gpugrad'] * 1e6:>11.1f} "
                         f"{r['ratio_same_communicator']:>9.2f}x")
    for r in results.get("overlap", []):
        t = r["seconds"]
        hidden = "n/a" if r["hidden_fraction"] is None else f"{r['hidden_fraction']:.0%}"
        lines += ["", f"DDP overlap, MLP {'-'.join(map(str, r['dims']))}, batch "
                      f"{r['batch_per_rank']} per rank, {r['ranks']} ranks, {r['buckets']} buckets"]
        lines += [f"  {name:22} {s * 1e3:8.2f} ms" for name, s in t.items()]
        lines.append(f"  saved {r['saved_s'] * 1e3:.2f} ms per step ({r['saved_fraction']:.1%}); "
                     f"communication hidden: {hidden}")
    if "scaling" in results:
        lines += ["", "scaling, MLP training step (samples/s)"]
        for r in results["scaling"]:
            lines.append(f"  {r['ranks']} rank(s), {r['threads']} BLAS thread(s) each: "
                         f"{r['samples_per_s']:10.0f} samples/s ({r['step_s'] * 1e3:.2f} ms/step)")
        one = [r for r in results["scaling"] if r["ranks"] == 1 and r["threads"] == "1"]
        two = [r for r in results["scaling"] if r["ranks"] == 2]
        if one and two:
            eff = two[0]["samples_per_s"] / (2 * one[0]["samples_per_s"])
            lines.append(f"  efficiency 2 ranks vs 1 (1 thread each): {eff:.0%}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.distributed", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="sizes up to 16 MB, fewer rounds")
    p.add_argument("--smoke", action="store_true", help="tiny sizes: checks that it runs")
    p.add_argument("--only", metavar="NAME[,NAME]", help=f"sections, from {', '.join(SECTIONS)}")
    p.add_argument("--out", type=Path, default=RESULTS, help=f"results folder (default {RESULTS})")
    p.add_argument("--worker", choices=SECTIONS, help=argparse.SUPPRESS)
    p.add_argument("--scale", default="full", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        rows = WORKERS[args.worker](args.scale)
        if _mpi().COMM_WORLD.Get_rank() == 0:
            print("RESULT " + json.dumps(rows), flush=True)
        return 0
    scale = "smoke" if args.smoke else "quick" if args.quick else "full"
    sections = [s.strip() for s in (args.only or ",".join(SECTIONS)).split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        raise SystemExit(f"unknown section(s) {sorted(unknown)}; choose from {SECTIONS}")
    from .machine import describe

    host = describe("cpu")
    results = {}
    for section in sections:
        if section == "scaling":
            results[section] = (_launch(section, scale, 1, 1) + _launch(section, scale, 2, 1)
                                + _launch(section, scale, 1, 2))
        else:
            results[section] = _launch(section, scale, 2, 1)
    now = datetime.datetime.now()
    print(f"{host['name']} · {now:%Y-%m-%d %H:%M} · {scale} run · load {os.getloadavg()}")
    print(_report(results))
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"distributed_{host['slug']}_{now:%Y%m%d-%H%M%S}_{scale}.json"
    path.write_text(json.dumps({"machine": host, "date": now.isoformat(timespec="seconds"),
                                "scale": scale, "results": results}, indent=1))
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

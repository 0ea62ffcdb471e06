"""``python -m bench``: time gpugrad against its peers; table, JSON and plots at the end."""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import sys
from pathlib import Path

from . import harness, machine, report
from .peers import DESCRIPTIONS, IMPLS, Peer, discover
from .workloads import ALL, BY_NAME
from .workloads.common import Context

RESULTS = Path(__file__).resolve().parent / "results"


def _default_device() -> str:
    try:
        from gpugrad.backend import cuda_available

        return "cuda" if cuda_available() else "cpu"
    except ImportError:
        return "cpu"


def _parse(argv):
    p = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__,
        epilog="Also: python -m bench.gpu_kernels (the GPU checks) and python -m "
               "bench.distributed (MPI: all_reduce bandwidth, DDP overlap, scaling).")
    p.add_argument("--device", choices=("cpu", "cuda"),
                   help="default: cuda when gpugrad sees a GPU")
    p.add_argument("--quick", action="store_true",
                   help="short run (under two minutes on 2 CPU cores): smaller sizes and budgets")
    p.add_argument("--smoke", action="store_true",
                   help="tiny sizes and budgets: checks that everything runs (for tests)")
    p.add_argument("--only", metavar="NAME[,NAME]", help="workloads to run (see --list)")
    p.add_argument("--peers", metavar="NAME[,NAME]",
                   help=f"implementations to run (default: all installed; from {', '.join(IMPLS)})")
    p.add_argument("--out", type=Path, default=RESULTS, help=f"results folder (default {RESULTS})")
    p.add_argument("--max-time", type=float, metavar="S",
                   help="seconds of sampling per implementation and case (overrides the budget)")
    p.add_argument("--threads", type=int, metavar="N",
                   help="intra-op threads for PyTorch and BLAS (default: the libraries' own)")
    p.add_argument("--gc", action="store_true",
                   help="keep the garbage collector on while sampling (as a user's program runs)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--list", action="store_true", help="list the workloads and exit")
    return p.parse_args(argv)


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def _restrict(peers: dict, wanted: str | None) -> dict:
    """Keep the implementations named by ``--peers``; the others are reported as not selected."""
    if not wanted:
        return peers
    names = _names(wanted)
    unknown = [n for n in names if n not in peers]
    if unknown:
        raise SystemExit(f"unknown implementation(s) {', '.join(unknown)}; choose from "
                         f"{', '.join(peers)}")
    return {n: p if n in names else Peer(n, None, p.version, "not selected (--peers)")
            for n, p in peers.items()}


def _select(only: str | None):
    if not only:
        return list(ALL)
    names = _names(only)
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise SystemExit(f"unknown workload(s) {', '.join(unknown)}; choose from "
                         f"{', '.join(BY_NAME)}")
    return [BY_NAME[n] for n in names]


def _threads(n: int | None, peers) -> dict:
    """Apply ``--threads`` and report the thread counts the run used."""
    if n is not None:
        try:
            from threadpoolctl import threadpool_limits

            threadpool_limits(n)
        except ImportError:
            print("threadpoolctl is not installed: BLAS threads left as they are", file=sys.stderr)
    out = {"requested": n}
    torch = peers["torch"].module
    if torch is not None:
        if n is not None:
            torch.set_num_threads(n)
        out["torch"] = torch.get_num_threads()
    return out


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def main(argv=None) -> int:
    args = _parse(argv)
    if args.list:
        for w in ALL:
            print(f"{w.name:16} {w.title}")
        return 0
    workloads = _select(args.only)
    device = args.device or _default_device()
    scale = "smoke" if args.smoke else "quick" if args.quick else "full"
    budget = harness.BUDGETS[scale]
    if args.max_time is not None:
        budget = harness.Budget(seconds=args.max_time, min_reps=min(budget.min_reps, 3),
                                max_reps=budget.max_reps, warmup_s=min(budget.warmup_s,
                                                                       args.max_time))
    if args.gc:
        budget = dataclasses.replace(budget, gc=True)
    peers = _restrict(discover(device), args.peers)
    if device == "cuda" and not (peers["cupy"].usable or peers["torch"].usable):
        raise SystemExit("--device cuda: neither CuPy nor PyTorch sees a CUDA device "
                         f"(cupy: {peers['cupy'].missing}; torch: {peers['torch'].missing})")
    threads = _threads(args.threads, peers)
    load_before = _load()
    host = machine.describe(device)
    ctx = Context(device=device, scale=scale, peers=peers,
                  cache_bytes=machine.cache_bytes(device))
    now = datetime.datetime.now()
    print(f"machine: {host['name']}; device: {device}; {scale} run; load average "
          f"{load_before}", file=sys.stderr)
    if args.threads is None and load_before and load_before[0] > 0.5 * (os.cpu_count() or 1):
        print("warning: the machine is busy; multi-threaded peers suffer most (try --threads 1)",
              file=sys.stderr)
    for name, peer in peers.items():
        state = (peer.version or "") if peer.usable else f"missing: {peer.missing}"
        print(f"  {name:15} {state:24} {DESCRIPTIONS[name]}", file=sys.stderr)

    floor = machine.copy_bandwidth(device, scale, budget,
                                        "cupy" if peers["cupy"].usable else "torch")
    rows = harness.run(workloads, ctx, budget, floor, progress=not args.no_progress)

    meta = {
        "date": now.isoformat(timespec="seconds"),
        "command": "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:]),
        "device": device, "scale": scale, "machine": host, "floor": floor,
        "budget": vars(budget), "threads": threads,
        "load_average": {"before": load_before, "after": _load()},
        "peers": {n: {"version": p.version, "missing": p.missing} for n, p in peers.items()},
        "workloads": {w.name: {"title": w.title, "definition": w.definition} for w in workloads},
    }
    print()
    print(f"{host['name']} · {device} · {meta['date']} · floor: copy "
          f"{floor['gbps']:.3g} GB/s ({floor['how']})")
    print(report.tables(workloads, rows, floor))

    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"{host['slug']}_{device}_{now:%Y%m%d-%H%M%S}" + ("" if scale == "full" else
                                                                  f"_{scale}")
    json_path = args.out / f"{stem}.json"
    report.save_json(json_path, meta, rows)
    md_path = args.out / f"{stem}.md"
    md_path.write_text(report.markdown(workloads, rows, meta))
    written = [json_path, md_path]
    if not args.no_plots:
        try:
            written += report.save_plots(args.out, stem, workloads, rows,
                                         f"{host['name']} · {device} · {meta['date']}")
        except ImportError as exc:
            print(f"plots skipped: {exc} (pip install -e .[bench])", file=sys.stderr)
    print("\nwrote " + ", ".join(str(p) for p in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The ``compile`` workload at tiny sizes, in process: it runs, and its correctness check and its
report of ``compiled.stats`` catch a replay that is wrong or that never happened.

No timing is asserted. Until ``gpugrad.compile`` exists, its column is reported missing; the
guards are exercised with stand-ins for ``gpugrad.compile`` either way.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="the compile workload compares against PyTorch eager")

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # bench is not an installed package

import gpugrad  # noqa: E402
from bench import harness, report  # noqa: E402
from bench.peers import discover  # noqa: E402
from bench.workloads import BY_NAME  # noqa: E402
from bench.workloads import compile as workload  # noqa: E402
from bench.workloads.common import Context  # noqa: E402


def _run(only_first: bool = False) -> list[dict]:
    ctx = Context(device="cpu", scale="smoke", peers=discover("cpu"), cache_bytes=1 << 20)
    cases = workload.cases(ctx)[:1] if only_first else workload.cases(ctx)
    wl = workload.WORKLOAD
    one = type(wl)(wl.name, wl.title, wl.definition, lambda _ctx: cases)
    return harness.run([one], ctx, harness.SMOKE, None, progress=False)


def _stand_in(replay):
    """A ``gpugrad.compile`` whose calls after the second are ``replay(f, args, last)``."""

    def compile(model=None, **kwargs):
        def wrap(f):
            stats = {"eager_calls": 0, "captures": 0, "replays": 0, "fallbacks": []}
            last = []

            def run(*args):
                calls = stats["eager_calls"] + stats["captures"]
                if calls < 2:
                    stats["eager_calls" if calls == 0 else "captures"] += 1
                    last[:] = [f(*args).detach()]
                    return last[0]
                stats["replays"] += 1
                return replay(f, args, last)

            run.stats = stats
            return run

        return wrap if model is None else wrap(model)

    return compile


def test_registered():
    assert BY_NAME["compile"] is workload.WORKLOAD


def test_runs_with_every_column():
    rows = _run()
    assert {r["case"] for r in rows} == {c.label for c in workload.cases(
        Context("cpu", "smoke", discover("cpu"), 1 << 20))}
    for r in rows:
        if r["impl"] in ("gpugrad", "torch"):
            assert r["status"] == "ok", r
            assert r["median_s"] > 0 and r["speedup_vs_torch"] > 0
        if r["impl"] == "gpugrad":
            assert r["peak_bytes"] > 0  # tracemalloc sees NumPy's buffers
    compiled = [r for r in rows if r["impl"] == "gpugrad.compile"]
    if not callable(getattr(gpugrad, "compile", None)):
        assert all(r["status"] == "missing" for r in compiled)
        return
    for r in compiled:
        assert r["status"] == "ok", r
        assert "replays" in r["info"] and not r["info"].startswith("FELL BACK"), r["info"]
        assert r["peak_bytes"] > 0 and r["speedup_vs_torch"] > 0
    assert report.COMPILED_HEADER in report.tables([workload.WORKLOAD], rows, None)


def test_a_wrong_replay_posts_no_number(monkeypatch):
    # Replays that hand back the captured loss without running the step: stale numbers.
    monkeypatch.setattr(gpugrad, "compile", _stand_in(lambda f, args, last: last[0]),
                        raising=False)
    (row,) = [r for r in _run(only_first=True) if r["impl"] == "gpugrad.compile"]
    assert row["status"] == "error" and "median_s" not in row
    assert "disagrees with eager gpugrad at step 3" in row["reason"], row["reason"]
    assert "replays 1" in row["reason"]


def test_a_step_that_never_replays_is_flagged(monkeypatch):
    # Right numbers, but every call ran eagerly: the figure must say so.
    def eager(f, args, last):
        return f(*args).detach()

    def never_replays(model=None, **kwargs):
        run = _stand_in(eager)(model)
        run.stats["fallbacks"].append("a host sync (.item()) at step.py:3")
        return run

    monkeypatch.setattr(gpugrad, "compile", never_replays, raising=False)
    rows = _run(only_first=True)
    (row,) = [r for r in rows if r["impl"] == "gpugrad.compile"]
    assert row["status"] == "ok"
    assert row["info"].startswith("FELL BACK TO EAGER"), row["info"]
    assert "a host sync (.item()) at step.py:3" in row["info"]
    assert "FELL BACK TO EAGER" in report.markdown([workload.WORKLOAD], rows, {
        "machine": {"name": "test"}, "device": "cpu", "date": "-", "command": "-",
        "scale": "smoke", "peers": {}})


def test_timed_calls_that_did_not_replay_are_flagged():
    def step():
        pass

    step.stats = {"eager_calls": 1, "captures": 1, "replays": 4, "fallbacks": []}
    before = workload._counters(step)
    step.stats = {"eager_calls": 3, "captures": 1, "replays": 90, "fallbacks": []}
    text = workload._describe(step, before, "agreed", [])
    assert text.startswith("FELL BACK TO EAGER (not every timed call replayed)"), text
    assert "86 replays, 0 captures, 2 eager_calls" in text
    step.stats = {"eager_calls": 1, "captures": 1, "replays": 90, "fallbacks": []}
    assert not workload._describe(step, before, "agreed", []).startswith("FELL BACK")

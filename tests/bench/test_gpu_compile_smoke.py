"""``bench/gpu_compile.py`` (the compile section of ``bench/gpu_check.sh``) on the CPU at tiny
sizes: every row it posts on a GPU is posted here too, its correctness rows (compiled == eager,
every timed call replayed) must hold, a failing ``torch.compile`` becomes an error row without
stopping the section, and a wrong replay posts no time. The figures are meaningless on a CPU;
no timing is asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="the section compares against PyTorch")

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # bench is not an installed package

import gpugrad  # noqa: E402
from bench import gpu_compile, gpu_kernels  # noqa: E402


def _rows_of(tmp_path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "gpu_compile.jsonl").read_text().splitlines()]


def test_the_section_runs_from_the_command_line(tmp_path):
    env = dict(os.environ, GPUGRAD_DEVICE="cpu")
    env.pop("GPUGRAD_KERNELS", None)  # NumPy: the interpreter would take minutes for the chain
    proc = subprocess.run(
        [sys.executable, "-m", "bench.gpu_kernels", "--smoke", "--only", "compile", "--name",
         "gpu_compile", "--out", str(tmp_path)], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Traceback" not in proc.stdout + proc.stderr
    rows = _rows_of(tmp_path)
    assert rows and all(r["section"] == "compile" for r in rows)  # no copy floor, no others
    names = [r["name"] for r in rows]
    for part in ("chain of 64 tiny ops fwd+bwd: gpugrad.compile host",
                 "chain of 64 tiny ops fwd+bwd: gpugrad host",
                 "chain of 64 tiny ops fwd+bwd: torch host",
                 "step: gpugrad.compile", "step: gpugrad eager", "step: torch eager",
                 "step: torch eager / gpugrad.compile", "step: replayed / eager memory",
                 "step: torch.compile / gpugrad.compile"):
        assert any(part in n for n in names), (part, names)
    for r in rows:
        if r["goal"] in ("agrees", "every call", "runs"):
            assert r["ok"], r  # correctness, not speed: must hold on any machine
    summary = json.loads((tmp_path / "gpu_compile.json").read_text())
    assert summary["failures"] == [] and len(summary["rows"]) == len(rows)


def test_default_sections_leave_compile_out_and_unknown_sections_are_refused(tmp_path):
    assert "compile" in gpu_kernels.SECTIONS and "compile" in gpu_kernels.ON_REQUEST
    with pytest.raises(SystemExit):
        gpu_kernels.main(["--smoke", "--only", "nosuch", "--out", str(tmp_path)])


def _run_in_process(monkeypatch, mlps) -> list[dict]:
    """The section in this process, its chain skipped (the MLP columns are what is checked)."""
    rows = []

    def record(section, name, value, unit, goal=None, ok=None, **extra):
        rows.append({"section": section, "name": name, "value": value, "unit": unit,
                     "goal": goal, "ok": ok})
        return value

    monkeypatch.setattr(gpu_compile, "SMOKE_MLPS", mlps)
    monkeypatch.setattr(gpu_compile, "chain", lambda env, record, ctx: None)
    monkeypatch.setattr(gpu_compile, "_host_seconds", lambda env, step, **kw: 1e-6)
    env = gpu_kernels.Env(smoke=True)
    gpu_compile.run(env, record)
    return rows


def test_a_failing_torch_compile_is_an_error_row_and_the_section_goes_on(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("no C++ compiler found\nsecond line")

    monkeypatch.setattr(torch, "compile", broken)
    mlps = (((8, 8, 4), 4), ((6, 5, 3), 2))
    rows = _run_in_process(monkeypatch, mlps)
    errors = [r for r in rows if r["name"].endswith("torch.compile")]
    assert len(errors) == 2, rows  # one per MLP: the first failure did not end the section
    for r in errors:
        assert r["ok"] is False and r["goal"] == "runs"
        assert r["value"] == "error: RuntimeError: no C++ compiler found"
    assert any("6-5-3 batch 2 step: gpugrad.compile" in r["name"] for r in rows)


def test_a_part_that_raises_is_an_error_row_and_the_section_goes_on(monkeypatch):
    from bench.workloads import compile as workload

    def broken(*args):
        raise ValueError("chain broke")

    monkeypatch.setattr(workload, "_chain_program", broken)
    rows = []
    monkeypatch.setattr(gpu_compile, "_host_seconds", lambda env, step, **kw: 1e-6)
    gpu_compile.run(gpu_kernels.Env(smoke=True),
                    lambda section, name, value, unit, goal=None, ok=None: rows.append(
                        (name, value, goal, ok)))
    assert ("chain: part", "error: ValueError: chain broke", "runs", False) in rows
    assert any(name.endswith("step: gpugrad.compile") for name, *_ in rows), rows


def test_a_wrong_replay_posts_no_time(monkeypatch):
    real = gpugrad.compile

    def stale(fn, **kwargs):  # every call after the second returns the second call's loss
        compiled = real(fn, **kwargs)
        last = []

        def call(*args):
            if len(last) < 2:
                last.append(compiled(*args))
            return last[-1]

        call._programs, call.stats = compiled._programs, compiled.stats
        return call

    monkeypatch.setattr(gpugrad, "compile", stale)
    rows = _run_in_process(monkeypatch, (((8, 8, 4), 4),))
    (check,) = [r for r in rows if r["name"].endswith("compiled == eager")]
    assert check["ok"] is False and check["value"].startswith("error: AssertionError"), check
    assert "disagrees with eager gpugrad" in check["value"]
    assert not any(r["name"].endswith("step: gpugrad.compile") for r in rows)
    assert not any("/ gpugrad.compile" in r["name"] for r in rows)
    assert any(r["name"].endswith("step: torch eager") for r in rows)


def test_memory_is_measured_without_hooks_and_counts_what_the_program_keeps():
    gpugrad.manual_seed(0)
    w = gpugrad.randn(64, 32, requires_grad=True)
    step = gpugrad.compile(lambda x: (x @ w).sum())
    with gpugrad.no_grad():
        x = gpugrad.randn(16, 64)
        for _ in range(3):
            step(x)
    assert gpu_compile.program_bytes(step) == 16 * 64 * 4  # the input buffer (CPU: no pool)
    env = gpu_kernels.Env(smoke=True)
    taken = gpu_compile._taken_by(env, lambda: gpugrad.ones(1000).numpy().copy())
    assert taken >= 2 * 4000

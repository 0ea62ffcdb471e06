"""The benchmark harness end to end at tiny sizes: it runs, and leaves its table, JSON and plots.

Runs ``python -m bench`` in a subprocess from the repository root (``bench`` is not an installed
package). No timing is asserted: only that every workload ran and was recorded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE_WORKLOADS = ("host_overhead", "elementwise", "reductions")


def _bench(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    proc = _bench("--device", "cpu", "--smoke", "--threads", "1", "--no-progress",
                  "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-4000:]
    (json_path,) = out.glob("*.json")
    return proc, out, json.loads(json_path.read_text())


def test_every_workload_runs_without_errors(smoke_run):
    _, _, record = smoke_run
    rows = record["results"]
    assert {r["workload"] for r in rows} == set(record["workloads"])
    errors = [f"{r['workload']} [{r['case']}] {r['impl']}: {r['reason']}"
              for r in rows if r["status"] == "error"]
    assert not errors, "\n".join(errors)
    for name in record["workloads"]:
        assert any(r["status"] == "ok" for r in rows if r["workload"] == name), name


def test_gpugrad_core_workloads_are_timed_with_ratios(smoke_run):
    _, _, record = smoke_run
    for r in record["results"]:
        if r["workload"] in CORE_WORKLOADS and r["impl"] in ("gpugrad", "torch", "numpy"):
            if r["impl"] == "numpy" and r["status"] == "n/a":
                continue  # a case without a bare-NumPy floor (host_overhead's single ops)
            assert r["status"] == "ok", r
            assert r["median_s"] > 0 and r["q1_s"] <= r["median_s"] <= r["q3_s"]
            assert r["ratio"] > 0
            if r["impl"] == "gpugrad":
                assert r["ratio"] == 1.0


def test_gpu_only_peers_are_reported_missing_on_cpu(smoke_run):
    _, _, record = smoke_run
    assert record["peers"]["cupy"]["missing"] == "GPU-only peer"
    for r in record["results"]:
        if r["impl"] in ("cupy", "liger", "torch.compile"):
            assert r["status"] == "missing" and r["reason"] == "GPU-only peer"


def test_table_and_markdown_are_written(smoke_run):
    proc, out, record = smoke_run
    for name in record["workloads"]:
        assert f"== {name}:" in proc.stdout
    assert "peer time / gpugrad time" in proc.stdout
    (md,) = out.glob("*.md")
    text = md.read_text()
    assert "| case | gpugrad |" in text and record["machine"]["name"] in text
    assert record["floor"]["gbps"] > 0


def test_one_plot_per_workload(smoke_run):
    pytest.importorskip("matplotlib", reason="plots need the bench extra (matplotlib)")
    _, out, record = smoke_run
    for name in record["workloads"]:
        assert len(list(out.glob(f"*_{name}.png"))) == 1, name


def test_list_and_unknown_workload():
    listed = _bench("--list")
    assert listed.returncode == 0
    assert all(name in listed.stdout for name in CORE_WORKLOADS)
    bad = _bench("--only", "host_overhead,nosuch", "--smoke")
    assert bad.returncode != 0
    assert "unknown workload(s) nosuch" in bad.stderr and "host_overhead" in bad.stderr


def test_bilstm_crf_op_costs_table():
    """``python -m bench.bilstm_crf_ops`` prints a row per op of the CRF's inner loop, both
    libraries timed."""
    proc = subprocess.run([sys.executable, "-m", "bench.bilstm_crf_ops", "--reps", "2"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    lines = proc.stdout.strip().splitlines()
    assert lines[0].split() == ["op", "gpugrad", "µs", "torch", "µs", "ratio"]
    assert len(lines) == 1 + 18 + 1, proc.stdout
    assert lines[-1].startswith("iteration")
    for line in lines[1:]:
        ours, theirs, ratio = (float(v) for v in line.split()[-3:])
        assert ours > 0 and theirs > 0 and ratio > 0, line


def test_bilstm_crf_phases_table():
    """``--phases`` prints one row per phase of the program, both libraries timed."""
    proc = subprocess.run([sys.executable, "-m", "bench.bilstm_crf_ops", "--phases", "--reps",
                           "2"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    lines = proc.stdout.strip().splitlines()
    assert lines[0].split()[0] == "phase" and len(lines) == 1 + 4, proc.stdout
    assert [line.split("  ")[0] for line in lines[1:]] == [
        "LSTM features (no_grad)", "Viterbi loop (no_grad)", "forward algorithm (recorded)",
        "its backward"]
    for line in lines[1:]:
        ours, theirs, ratio = (float(v) for v in line.split()[-3:])
        assert ours > 0 and theirs > 0 and ratio > 0, line

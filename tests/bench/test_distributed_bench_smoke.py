"""``python -m bench.distributed --smoke`` end to end: every section runs under mpiexec and leaves
its JSON (no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_distributed_benchmarks_run(tmp_path):
    pytest.importorskip("mpi4py", reason="mpi4py is not installed (pip install -e '.[dist]')")
    proc = subprocess.run([sys.executable, "-m", "bench.distributed", "--smoke", "--out",
                           str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    if "no mpiexec" in proc.stderr:
        pytest.skip("no mpiexec (pip install -e '.[dist]')")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (path,) = tmp_path.glob("distributed_*.json")
    results = json.loads(path.read_text())["results"]
    assert [r["bytes"] for r in results["allreduce"]] == [1024, 65536]
    assert all(r["ratio"] > 0 for r in results["allreduce"])
    (overlap,) = results["overlap"]
    assert set(overlap["seconds"]) == {"overlapped (DDP)", "one after the other",
                                       "no communication"}
    assert sorted((r["ranks"], r["threads"]) for r in results["scaling"]) == [
        (1, "1"), (1, "2"), (2, "1")]
    assert "all_reduce bus bandwidth" in proc.stdout and "efficiency" in proc.stdout

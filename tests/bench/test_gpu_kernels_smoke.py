"""``bench/gpu_kernels.py`` (the GPU benchmarks of ``bench/gpu_check.sh``) end to end on the CPU:
with ``GPUGRAD_KERNELS=interpret`` every section runs its kernels under Triton's interpreter at
smoke sizes, so a broken section shows here and not first on a rare GPU run. The figures are
meaningless on a CPU; only that every section ran and wrote its table is checked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_gpu_benchmark_section_runs_under_the_interpreter(tmp_path):
    env = dict(os.environ, GPUGRAD_KERNELS="interpret", GPUGRAD_DEVICE="cpu")
    proc = subprocess.run([sys.executable, "-m", "bench.gpu_kernels", "--smoke", "--out",
                           str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "== goals ==" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
    for section in ("bandwidth", "cross_entropy", "host", "mlp"):
        assert f" {section} |" in proc.stdout, section
    assert any(tmp_path.iterdir()), "no result files written"

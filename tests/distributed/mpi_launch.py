"""Running a script under ``mpiexec -n N`` from a test, with a timeout that always holds.

Each rank of a script in ``tests/distributed/scripts`` prints ``rank R PASS <check>`` for each
check that held; an assertion that fails ends the job with an error on every rank (gpugrad's
distributed failure handling), so the test sees a non-zero exit and the traceback.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent / "scripts"


def mpiexec() -> str | None:
    """The ``mpiexec`` that belongs to this Python's environment, else the one on PATH."""
    beside = Path(sys.executable).parent / "mpiexec"
    return str(beside) if beside.exists() else shutil.which("mpiexec")


def require_mpi() -> str:
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        pytest.skip("mpi4py is not installed (pip install -e '.[dist]')")
    launcher = mpiexec()
    if launcher is None:
        pytest.skip("no mpiexec found (pip install -e '.[dist]' brings MPICH's)")
    return launcher


@dataclass
class Job:
    returncode: int
    output: str
    seconds: float

    def passed(self, n_ranks: int = 2) -> dict[int, set[str]]:
        """The checks each rank reported as passed."""
        found: dict[int, set[str]] = {r: set() for r in range(n_ranks)}
        for line in self.output.splitlines():
            parts = line.split()
            if len(parts) >= 4 and parts[0] == "rank" and parts[2] == "PASS":
                found.setdefault(int(parts[1]), set()).add(parts[3])
        return found


def run(script: str, *args: str, n: int = 2, timeout: float = 60.0, env: dict | None = None
        ) -> Job:
    """Run ``scripts/<script>`` on ``n`` ranks; the whole job is killed after ``timeout`` s.
    One rank runs without ``mpiexec`` where there is none (MPI starts it as a singleton)."""
    if n == 1 and mpiexec() is None:
        pytest.importorskip("mpi4py", reason="mpi4py is not installed")
        launch = []
    else:
        launch = [require_mpi(), "-n", str(n)]
    full_env = dict(os.environ, GPUGRAD_DEVICE="cpu", OMP_NUM_THREADS="1",
                    OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    full_env.update(env or {})
    cmd = [*launch, sys.executable, str(SCRIPTS / script), *args]
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=full_env, start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        pytest.fail(f"{script} did not finish within {timeout} s:\n{output[-6000:]}")
    except BaseException:  # interrupted (Ctrl-C, a step's time limit): leave no ranks behind
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    return Job(proc.returncode, output, time.monotonic() - start)


def run_checks(script: str, expected: set[str], *args: str, n: int = 2,
               timeout: float = 60.0) -> Job:
    """Run a script that must pass on every rank, and check each rank reported ``expected``."""
    job = run(script, *args, n=n, timeout=timeout)
    assert job.returncode == 0, job.output[-8000:]
    for rank, names in job.passed(n).items():
        missing = expected - names
        assert not missing, f"rank {rank} did not report {sorted(missing)}:\n{job.output[-4000:]}"
    return job

"""A failing rank ends the whole job, with an error on every rank and a non-zero exit, in
bounded time (``scripts/faults.py``)."""

from __future__ import annotations

from mpi_launch import run


def test_a_rank_raising_mid_step_ends_the_job_on_every_rank():
    job = run("faults.py", "raise", timeout=30)
    assert job.returncode != 0, job.output
    assert "ValueError: boom on rank 1 at step 2" in job.output  # rank 1's traceback
    assert "[rank 1] gpugrad.distributed: an uncaught exception on this rank" in job.output
    assert "[rank 0] gpugrad.distributed: stopping: rank 1 failed: ValueError: boom" \
        in job.output, job.output
    assert "ended normally" not in job.output
    assert job.seconds < 20


def test_a_collective_past_the_timeout_ends_the_job_on_every_rank():
    job = run("faults.py", "timeout", timeout=30)
    assert job.returncode != 0, job.output
    assert "[rank 0] gpugrad.distributed: all_reduce did not complete within the timeout (2 s)" \
        in job.output, job.output
    assert "[rank 1] gpugrad.distributed: stopping: rank 0 failed: all_reduce did not " \
        "complete within the timeout" in job.output, job.output
    assert job.seconds < 20

"""Collectives and DistributedDataParallel on CUDA tensors (``scripts/cuda.py``): the NCCL
backend with world size 1, MPI on CUDA tensors staged through host memory, and backend=None
routing each device to its backend. Marked ``gpu``: ``bench/gpu_check.sh`` runs them. On the
CPU the same script runs on CPU tensors under MPI, which checks the script itself."""

from __future__ import annotations

import pytest
from mpi_launch import mpiexec, run_checks

CHECKS = {"all_reduce_float32", "all_reduce_float16", "all_reduce_int64", "all_reduce_bool",
          "broadcast_gather_scatter", "device_routing", "ddp_matches_one_process"}


def test_the_cuda_script_on_cpu_tensors_under_mpi():
    run_checks("cuda.py", CHECKS, "mpi", "cpu", n=2, timeout=60)


@pytest.mark.gpu
def test_nccl_backend_world_size_1():
    run_checks("cuda.py", CHECKS, "nccl", n=1, timeout=25)


@pytest.mark.gpu
def test_default_backend_picks_nccl_for_cuda_and_mpi_for_cpu():
    run_checks("cuda.py", CHECKS, "default", n=1, timeout=25)


@pytest.mark.gpu
def test_mpi_backend_on_cuda_tensors_staged_through_the_host():
    n = 2 if mpiexec() else 1  # two ranks may share the one GPU: MPI moves host memory
    run_checks("cuda.py", CHECKS, "mpi", n=n, timeout=25)

"""Every collective on 2 MPI ranks against NumPy on the same data (``scripts/collectives.py``)."""

from __future__ import annotations

from mpi_launch import run_checks

DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]
COLLECTIVES = ["all_reduce", "broadcast", "all_gather", "all_gather_into_tensor",
               "reduce_scatter_tensor"]


def test_every_collective_op_and_dtype_sync_and_async_matches_numpy():
    expected = {f"{c}_{d}" for c in COLLECTIVES for d in DTYPES} | {
        "collective_before_init", "init_errors", "init", "all_reduce_views",
        "all_reduce_errors", "broadcast_views_and_errors", "all_gather_errors", "send_recv",
        "barrier_and_objects", "destroy",
    }
    run_checks("collectives.py", expected)

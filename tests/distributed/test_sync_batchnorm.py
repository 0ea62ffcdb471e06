"""SyncBatchNorm on 2 MPI ranks with uneven parts of each batch against BatchNorm on the whole
batch, and on one rank as plain batch norm (``scripts/sync_batchnorm.py``)."""

from __future__ import annotations

from mpi_launch import run_checks


def test_sync_batchnorm_on_two_ranks_matches_batchnorm_on_the_whole_batch():
    run_checks("sync_batchnorm.py", {"sync_batchnorm_matches_batchnorm_on_the_whole_batch",
                                     "converted_model_synchronizes"})


def test_sync_batchnorm_on_one_rank_is_batchnorm():
    run_checks("sync_batchnorm.py", {"sync_batchnorm_matches_batchnorm_on_the_whole_batch",
                                     "one_rank_is_plain_batch_norm"}, n=1)

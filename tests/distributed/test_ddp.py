"""DistributedDataParallel on 2 MPI ranks against one process on the whole batch
(``scripts/ddp.py``): SGD, Adam, no_sync, unused parameters, batch norm, structure, errors."""

from __future__ import annotations

from mpi_launch import run_checks


def test_ddp_on_two_ranks_matches_one_process_on_the_whole_batch():
    run_checks("ddp.py", {
        "ddp_sgd_matches_one_process", "ddp_adam_matches_one_process",
        "ddp_no_sync_accumulation_matches_one_process",
        "ddp_unused_parameters_match_one_process", "ddp_unused_parameter_error",
        "ddp_batch_norm_buffers_match_one_process", "ddp_module_and_state_dict",
        "ddp_all_reduce_overlaps_backward", "ddp_mismatched_models_error_on_every_rank",
        "ddp_errors", "distributed_sampler_splits_the_dataset",
    })

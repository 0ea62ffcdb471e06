"""``gpugrad.multiprocessing``: Python's multiprocessing as ``torch.multiprocessing`` re-exports
it, and ``spawn`` / ``start_processes`` raising a worker's failure in the parent as PyTorch's."""

from __future__ import annotations

import multiprocessing

import mp_workers
import pytest
import torch.multiprocessing as torch_mp

import gpugrad
import gpugrad.multiprocessing as mp


def test_the_names_torch_multiprocessing_has():
    missing = {n for n in dir(torch_mp) if not n.startswith("_")} - set(dir(mp))
    # (torch's own submodules and hooks into its C tensor sharing)
    assert missing <= {"ENV_VAR_PARALLEL_START", "init_reductions", "reducer", "reductions",
                       "torch", "multiprocessing", "sys", "SpawnContext"}
    assert mp.Process is multiprocessing.Process and mp.get_context is multiprocessing.get_context
    assert gpugrad.multiprocessing is mp


def test_spawn_runs_each_index_with_pickled_tensors(tmp_path):
    t = gpugrad.tensor([1.0, 2.0])
    assert mp.spawn(mp_workers.write_square, args=(t, str(tmp_path)), nprocs=2) is None
    for i in range(2):
        assert gpugrad.load(tmp_path / f"{i}.pt").tolist() == [(i * 1.0) ** 2, (i * 2.0) ** 2]


def test_a_failing_worker_is_raised_in_the_parent():
    with pytest.raises(mp.ProcessRaisedException, match="worker 1 gives up") as info:
        mp.spawn(mp_workers.fail_in_one, nprocs=2)
    assert info.value.error_index == 1 and "Process 1 terminated" in str(info.value)
    with pytest.raises(mp.ProcessExitedException, match="process 0 terminated with exit code 3"):
        mp.start_processes(mp_workers.exit_with_code, args=(3,), nprocs=1)


def test_join_false_returns_the_context():
    context = mp.spawn(mp_workers.exit_with_code, args=(0,), nprocs=2, join=False)
    assert len(context.pids()) == 2
    while not context.join(timeout=30):
        pass


def test_sharing_strategies_as_torch():
    assert mp.get_all_sharing_strategies() == torch_mp.get_all_sharing_strategies()
    assert mp.get_sharing_strategy() == torch_mp.get_sharing_strategy()
    mp.set_sharing_strategy("file_system")
    assert mp.get_sharing_strategy() == "file_system"
    mp.set_sharing_strategy("file_descriptor")
    for lib in (mp, torch_mp):
        with pytest.raises(AssertionError, match="invalid sharing strategy"):
            lib.set_sharing_strategy("shared")

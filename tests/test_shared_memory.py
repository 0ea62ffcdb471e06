"""``Tensor.share_memory_`` and shared tensors crossing process boundaries, against PyTorch:
a spawned (or forked) process writes into the parent's tensors; a queue carries a shared tensor
by its memory. Where gpugrad refuses what PyTorch does (moving memory that other tensors use),
the refusal is tested on its own."""

from __future__ import annotations

import copy
import gc
import multiprocessing
import os
import pickle

import mp_workers
import numpy as np
import pytest
import torch

import gpugrad
import gpugrad.multiprocessing as gmp
from gpugrad import _shared_memory

LIBS = {"gpugrad": gpugrad, "torch": torch}


@pytest.mark.parametrize("name", LIBS)
def test_share_memory_keeps_values_and_copies_stay_private(name):
    lib = LIBS[name]
    t = lib.arange(6.0).reshape(2, 3)
    assert not t.is_shared()
    assert t.share_memory_() is t and t.is_shared()
    assert t.share_memory_() is t and t.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert t[1].is_shared() and t.t().is_shared()  # views of shared memory
    t[0, 0] = 7.0  # in-place writes stay in it
    t.add_(1)
    assert t.is_shared() and t[0, 0].item() == 8.0
    for copied in (t.clone(), copy.deepcopy(t), pickle.loads(pickle.dumps(t)), t + 0):
        assert not copied.is_shared() and copied.tolist() == t.tolist()
    for dtype, shape in ((lib.int64, (0, 3)), (lib.bool, (2,)), (lib.float32, ())):
        u = lib.zeros(shape, dtype=dtype).share_memory_()
        assert u.is_shared() and u.shape == shape and u.dtype == dtype


@pytest.mark.parametrize("name", LIBS)
def test_leaf_parameters_keep_their_graph_role(name):
    lib = LIBS[name]
    w = lib.nn.Parameter(lib.ones(3))
    w.share_memory_()
    (w * lib.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert isinstance(w, lib.nn.Parameter) and w.is_leaf and w.grad.tolist() == [1, 2, 3]
    lib.optim.SGD([w], lr=0.5).step()  # the step writes the shared memory in place
    assert w.is_shared() and w.tolist() == [0.5, 0.0, -0.5]


def test_a_view_whose_base_nothing_else_holds_moves_alone():
    t = gpugrad.arange(6.0).reshape(2, 3)  # (a view of a temporary)
    t.share_memory_()
    assert t.is_shared() and t._base is None and t.tolist() == [[0, 1, 2], [3, 4, 5]]
    x = gpugrad.randn(4, requires_grad=True)
    y = (x * 2).view(2, 2)  # a recorded view: its node stays
    y.share_memory_()
    y.sum().backward()
    assert y.is_shared() and x.grad.tolist() == [2.0] * 4


def _with_another_user(kind: str):
    """A tensor [0, 1, 2, 3] (or its exp), and what else uses its memory."""
    x = gpugrad.arange(4.0)
    if kind == "base":  # the tensor viewed is alive
        return x.view(2, 2), x
    if kind == "saved":  # exp's node saves its output's array
        y = gpugrad.arange(4.0, requires_grad=True).exp()
        return y, y.grad_fn
    return x, {"view": x[1:], "alias": x.detach(), "numpy": x.numpy()}[kind]


@pytest.mark.parametrize("kind", ["base", "view", "alias", "numpy", "saved"])
def test_memory_other_tensors_use_is_refused_and_left_as_it_was(kind):
    # PyTorch moves the storage under all of them; gpugrad's arrays cannot be moved under
    # their views, so it refuses (README "Differences").
    target, other = _with_another_user(kind)
    before = target.detach().reshape(-1).tolist()
    with pytest.raises(RuntimeError, match="other tensors use this tensor's memory"):
        target.share_memory_()
    assert not target.is_shared() and target.detach().reshape(-1).tolist() == before
    assert other is not None


@pytest.mark.parametrize("name", LIBS)
def test_spawned_processes_write_into_the_parents_shared_tensors(name):
    lib = LIBS[name]
    counts = lib.zeros(3, dtype=lib.int64).share_memory_()
    param = lib.nn.Parameter(lib.zeros(2, dtype=lib.float64))
    param.share_memory_()
    report = lib.zeros(4, dtype=lib.float64).share_memory_()
    mp = gmp if lib is gpugrad else torch.multiprocessing
    mp.spawn(mp_workers.write_shared, args=(name, counts, param, report), nprocs=2)
    assert counts.tolist() == [3, 3, 3] and param.tolist() == [1.0, 1.0]
    assert report.tolist() == [1.0, 1.0, 1.0, 1.0]  # shared, shared, a Parameter, requires grad


def test_a_forked_process_writes_into_the_mapping_it_inherits():
    counts = gpugrad.zeros(3, dtype=gpugrad.int64).share_memory_()
    param = gpugrad.nn.Parameter(gpugrad.zeros(2, dtype=gpugrad.float64)).share_memory_()
    report = gpugrad.zeros(4, dtype=gpugrad.float64).share_memory_()
    process = multiprocessing.get_context("fork").Process(
        target=mp_workers.write_shared, args=(1, "gpugrad", counts, param, report))
    process.start()
    process.join(60)
    assert process.exitcode == 0
    assert counts.tolist() == [2, 2, 2] and param.tolist() == [0.0, 1.0]


@pytest.mark.parametrize("name", LIBS)
def test_a_queue_carries_a_shared_tensor_by_its_memory(name):
    lib = LIBS[name]
    mp = gmp if lib is gpugrad else torch.multiprocessing
    context = mp.get_context("spawn")
    inbox, outbox = context.Queue(), context.Queue()
    worker = context.Process(target=mp_workers.echo_doubled, args=(name, inbox, outbox))
    worker.start()
    try:
        shared = lib.arange(4.0).share_memory_()
        inbox.put(shared[1:])  # a view: the receiver maps the same pages at its offset
        back = outbox.get(timeout=60)
        assert shared.tolist() == [0.0, 2.0, 4.0, 6.0] and back.tolist() == [2.0, 4.0, 6.0]
        back.add_(1)  # the tensor sent back maps the same memory again
        assert shared.tolist() == [0.0, 3.0, 5.0, 7.0] and back.is_shared()
        if lib is gpugrad:  # a private tensor goes as a copy (PyTorch moves it to shared memory)
            private = gpugrad.ones(2)
            inbox.put(private)
            assert outbox.get(timeout=60).tolist() == [2.0, 2.0]
            assert private.tolist() == [1.0, 1.0] and not private.is_shared()
    finally:
        inbox.put(None)
        worker.join(60)
    assert worker.exitcode == 0


def test_the_shared_file_closes_with_the_last_array_that_maps_it():
    t = gpugrad.ones(3).share_memory_()
    mapping = _shared_memory.mapping_of(t._data)
    fd = mapping.fd
    np.testing.assert_array_equal(np.frombuffer(mapping, np.float32), [1, 1, 1])
    os.fstat(fd)
    del t, mapping
    gc.collect()
    with pytest.raises(OSError):
        os.fstat(fd)


def test_a_shared_tensor_shrinks_in_place_and_refuses_to_grow():
    # (PyTorch's error; its CPU build 2.13 crashes on this call instead of raising)
    t = gpugrad.arange(4.0).share_memory_()
    t.resize_(2)
    assert t.is_shared() and t.tolist() == [0.0, 1.0]
    with pytest.raises(RuntimeError, match="Trying to resize storage that is not resizable"):
        t.resize_(5)
    assert t.is_shared() and t.tolist() == [0.0, 1.0]


@pytest.mark.parametrize("name", LIBS)
def test_an_optimizer_state_shared_before_the_first_step_stays_shared(name):
    """A3C's shared Adam: the moments and step count made and shared by hand before any step
    (for every process to update); each step writes them in place."""
    lib = LIBS[name]
    w = lib.nn.Parameter(lib.tensor([1.0, -2.0, 3.0]))
    w.share_memory_()
    opt = lib.optim.Adam([w], lr=0.1, betas=(0.9, 0.99))
    state = opt.state[w]
    state["step"] = lib.zeros(1)
    state["exp_avg"], state["exp_avg_sq"] = lib.zeros_like(w.data), lib.zeros_like(w.data)
    shared = [state[k].share_memory_() for k in ("step", "exp_avg", "exp_avg_sq")]
    for _ in range(3):
        opt.zero_grad()
        (w ** 2).sum().backward()
        opt.step()
    assert all(state[k] is t and t.is_shared() for k, t in zip(("step", "exp_avg",
                                                                 "exp_avg_sq"), shared))
    assert state["step"].tolist() == [3.0] and w.is_shared()
    np.testing.assert_allclose(w.tolist(), [0.7014972, -1.7005804, 2.7003531], rtol=1e-6)

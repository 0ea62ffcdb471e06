"""``untyped_storage()``/``storage()`` and ``dim_order`` against PyTorch: what the storage
objects report for tensors and their views, their refusals to write, and ``dim_order`` over
permuted, sliced, expanded and size-1 layouts."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import torch

import gpugrad

VIEWS = [lambda v: v, lambda v: v[1:], lambda v: v[1:, 2:], lambda v: v.t(), lambda v: v[:, 1],
         lambda v: v[2, 3:], lambda v: v.reshape(-1)[5:], lambda v: v[::2, ::3],
         lambda v: v[None, 1:].expand(2, 3, 6)]


def _facts(storage, tensor, typed):
    facts = [storage.nbytes(), storage.size(), len(storage), str(storage.device),
             storage.element_size(), storage.is_cuda,
             storage.data_ptr() == tensor.data_ptr() - tensor.storage_offset() *
             tensor.element_size(),
             storage.data_ptr() == tensor.data_ptr()]
    if typed:
        facts.append(str(storage.dtype).split(".")[1])
    return facts


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int16", "bool"])
def test_storages_report_as_torchs(view, dtype):
    results = []
    for m in (gpugrad, torch):
        root = (m.arange(24.0).reshape(4, 6) % 3).to(getattr(m, dtype))
        t = view(root)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            typed = t.storage()
        results.append((_facts(t.untyped_storage(), t, False), _facts(typed, t, True),
                        t.untyped_storage().data_ptr() == root.data_ptr(),
                        t.untyped_storage() is root.untyped_storage(),
                        typed.untyped() is root.untyped_storage(), m.is_storage(typed)))
    assert results[0] == results[1]


@pytest.mark.parametrize("make", [lambda m: m.tensor(3.0), lambda m: m.empty(0),
                                  lambda m: m.zeros(2, 0, 3), lambda m: m.ones(5, 1)])
def test_storages_of_scalars_and_empty_tensors(make):
    results = []
    for m in (gpugrad, torch):
        t = make(m)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            typed = t.storage()
        u = t.untyped_storage()
        # an empty tensor's address is NumPy's in gpugrad (PyTorch's is 0): compare nothing else
        same_start = u.data_ptr() == t.data_ptr() if t.numel() else None
        results.append((u.nbytes(), len(u), len(typed), typed.element_size(), same_start))
    assert results[0] == results[1]


def test_a_0d_tensors_strided_view_shares_its_memory():
    for m in (gpugrad, torch):
        x = m.tensor(3.0)
        x.as_strided((1,), (1,))[0] = 5.0
        assert x.item() == 5.0


def test_storage_warns_deprecated_once_like_torch():
    from gpugrad import _warnings
    from gpugrad.ops import memory

    _warnings._warned_once.discard(memory._TYPED_STORAGE_WARNING)  # (an earlier test's)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gpugrad.ones(2).storage()
        gpugrad.ones(2).storage()
    assert len(caught) == 1 and caught[0].category is UserWarning
    assert str(caught[0].message).startswith("TypedStorage is deprecated.")
    assert caught[0].filename == __file__


def test_storage_follows_resize_of_its_tensor():
    x = gpugrad.zeros(2)
    storage = x.untyped_storage()
    x.resize_(10)
    assert storage is x.untyped_storage() and storage.nbytes() == 40
    assert storage.data_ptr() == x.data_ptr()


@pytest.mark.parametrize("write", [
    lambda s, x: s.__setitem__(0, 1), lambda s, x: s.fill_(0), lambda s, x: s.copy_(s),
    lambda s, x: s.resize_(4),
])
def test_writing_through_a_storage_is_refused(write):
    x = gpugrad.arange(4.0)
    for storage in (x.untyped_storage(), x.storage()):
        with pytest.raises(NotImplementedError, match=r"read-only"):
            write(storage, x)
    assert x.tolist() == [0.0, 1.0, 2.0, 3.0]


def test_set_is_refused():
    x = gpugrad.arange(4.0)
    for source in ((), (gpugrad.zeros(2),), (x.untyped_storage(), 0, (2,))):
        with pytest.raises(NotImplementedError, match="set_"):
            x.set_(*source)
    assert x.tolist() == [0.0, 1.0, 2.0, 3.0]


# -------------------------------------------------------------------------------- dim_order
def _layouts():
    shapes = [(2, 3, 4, 5), (2, 1, 3), (1, 3, 1, 1), (3, 3), (4,), (), (2, 3, 4, 5, 2)]
    for shape in shapes:
        for perm in itertools.permutations(range(len(shape))):
            yield shape, lambda t, p=perm: t.permute(p)
    yield (2, 3), lambda t: t.expand(4, 2, 3)
    yield (2, 1, 3), lambda t: t.expand(2, 5, 3)
    yield (4, 6), lambda t: t[:, ::2]
    yield (4, 6), lambda t: t[::2].t()
    yield (1, 1), lambda t: t.t()
    yield (3, 1, 2), lambda t: t.transpose(0, 2)
    yield (2, 3, 4, 5), lambda t: t.contiguous(memory_format=t_format(t, "channels_last"))
    yield (2, 3, 4, 5, 2), lambda t: t.contiguous(memory_format=t_format(t, "channels_last_3d"))
    yield (2, 1, 4, 4), lambda t: t.contiguous(memory_format=t_format(t, "channels_last"))


def t_format(t, name):
    return getattr(gpugrad if isinstance(t, gpugrad.Tensor) else torch, name)


LAYOUTS = list(_layouts())


@pytest.mark.parametrize("shape, layout", LAYOUTS)
def test_dim_order_like_torch(shape, layout):
    results = []
    for m in (gpugrad, torch):
        t = layout(m.zeros(shape))
        row = [t.dim_order()]
        for check in (True, [m.contiguous_format], [m.contiguous_format, m.channels_last]):
            try:
                row.append(t.dim_order(ambiguity_check=check))
            except RuntimeError as e:
                row.append(str(e))
        results.append(row)
    assert results[0] == results[1]


def test_dim_order_of_a_random_strided_tensor():
    rng = np.random.default_rng(0)
    for _ in range(50):
        shape = tuple(int(n) for n in rng.integers(1, 4, size=4))
        perm = tuple(int(p) for p in rng.permutation(4))
        steps = tuple(int(s) for s in rng.integers(1, 3, size=4))
        key = tuple(slice(None, None, s) for s in steps)
        got = gpugrad.zeros(shape).permute(*perm)[key].dim_order()
        want = torch.zeros(shape).permute(*perm)[key].dim_order()
        assert got == want, (shape, perm, steps)


def _copies_share_as_torch(lib):
    """What ``copy.deepcopy`` of tensors sharing memory gives, as plain values."""
    import copy

    t = lib.arange(6.).reshape(2, 3)
    copies = copy.deepcopy({"row": t[1], "t": t, "cols": t.t(), "e": t[0, :1].expand(4)})
    copies["t"][1, 2] = 100  # the copies share their copied memory, not the originals'
    seen = [copies["row"].tolist(), copies["cols"].tolist(), copies["cols"].stride(),
            copies["row"].storage_offset(), copies["e"].stride(), t.tolist()]
    with pytest.raises(RuntimeError) as err:  # an expanded copy still shares its elements
        copies["e"].add_(1)
    seen.append(str(err.value))
    alone = copy.deepcopy(t[1])  # a view copied alone: its root's memory, copied
    alone[0] = -1
    seen += [alone.tolist(), alone.storage_offset(), alone.untyped_storage().nbytes(), t.tolist()]
    p = lib.nn.Parameter(lib.ones(3))
    p_copy, view_copy = copy.deepcopy([p, p.detach()[1:]])  # a Parameter's copy shares nothing
    with lib.no_grad():
        p_copy[1] = 7
    seen += [view_copy.tolist(), view_copy.requires_grad, type(p_copy).__name__]
    a = lib.ones(2, requires_grad=True)
    a_copy, detached_copy = copy.deepcopy((a, a.detach()))
    with lib.no_grad():
        detached_copy[0] = 5
    (a_copy * 2).sum().backward()
    seen += [a_copy.tolist(), a_copy.grad.tolist(), detached_copy.is_leaf,
             detached_copy.requires_grad, copy.deepcopy(lib.zeros(0, 3)[:, 1]).shape]
    return seen


def test_deepcopy_keeps_tensors_that_share_memory_sharing_as_torch():
    assert _copies_share_as_torch(gpugrad) == _copies_share_as_torch(torch)

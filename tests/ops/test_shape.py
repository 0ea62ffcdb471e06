"""Shape ops beyond the registry's value/gradient checks: which results are views (sharing
memory and the version counter), PyTorch's split sizes, dtype promotion, one backward node
for split/chunk/unbind."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import gpugrad

VIEWS = {
    "view": lambda x: x.view(4, 6), "reshape": lambda x: x.reshape(-1),
    "flatten": lambda x: x.flatten(1), "unflatten": lambda x: x.unflatten(2, (2, 2)),
    "squeeze": lambda x: x.unsqueeze(0).squeeze(), "unsqueeze": lambda x: x.unsqueeze(-1),
    "transpose": lambda x: x.transpose(0, 2), "permute": lambda x: x.permute(2, 0, 1),
    "movedim": lambda x: x.movedim(0, -1), "expand": lambda x: x[:, :1].expand(2, 5, 4),
    "narrow": lambda x: x.narrow(1, 1, 2), "select": lambda x: x.select(2, -1),
    "split": lambda x: x.split(2, 1)[1], "chunk": lambda x: x.chunk(2, 2)[0],
    "unbind": lambda x: x.unbind(1)[2], "T": lambda x: x[0].T, "mT": lambda x: x.mT,
    "ravel": lambda x: x.ravel(),
}


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_views_share_memory_and_version_counter(name):
    x = gpugrad.arange(24.0).reshape(2, 3, 4)
    v = VIEWS[name](x)
    assert np.shares_memory(v.numpy(), x.numpy())
    x.add_(1)
    assert v._version == x._version == 1


def test_flatten_and_reshape_copy_only_when_the_layout_demands():
    x = gpugrad.arange(24.0).reshape(2, 3, 4).transpose(0, 2)
    assert not np.shares_memory(x.flatten().numpy(), x.numpy())
    assert np.shares_memory(x.flatten(1).numpy(), x.numpy()) is False
    assert np.shares_memory(x.flatten(0, 0).numpy(), x.numpy())
    y = gpugrad.arange(24.0).reshape(2, 3, 4)[:, :, ::2]
    assert np.shares_memory(y.flatten(0, 1).numpy(), y.numpy())


def test_view_checks_strides_without_numpy_warnings():
    x = gpugrad.arange(24.0).reshape(2, 3, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert x.transpose(0, 1).view(3, 2, 2, 2).shape == (3, 2, 2, 2)
        assert x[:, :, ::2].view(6, 2).shape == (6, 2)
        with pytest.raises(RuntimeError, match=r"view size is not compatible.*Use \.reshape"):
            x.transpose(0, 1).view(24)
        assert x[:, :, ::2].view(12).stride() == (2,)  # one uniform stride: still a view
        with pytest.raises(RuntimeError, match="view size is not compatible"):
            x[:, :2].view(16)
    t = torch.arange(24.0).reshape(2, 3, 4)
    for fn in (lambda a: a.transpose(1, 2).view(2, 2, 2, 3), lambda a: a[:, 1:].view(2, 8),
               lambda a: a.permute(1, 0, 2).view(3, 2, 4, 1)):
        assert tuple(fn(x).shape) == tuple(fn(t).shape)
        np.testing.assert_array_equal(fn(x).numpy(), fn(t).numpy())
    with pytest.raises(RuntimeError):
        x.transpose(1, 2).view(2, 12)
    with pytest.raises(RuntimeError):
        t.transpose(1, 2).view(2, 12)


@pytest.mark.parametrize("size", [0, 1, 5, 6, 7, 12])
@pytest.mark.parametrize("parts", [1, 2, 3, 4, 5])
def test_split_and_chunk_sizes_match_torch(size, parts):
    x, t = gpugrad.zeros(size, 2), torch.zeros(size, 2)
    assert [p.shape[0] for p in x.chunk(parts)] == [p.shape[0] for p in t.chunk(parts)]
    if parts or not size:
        assert ([p.shape[0] for p in x.split(parts)] == [p.shape[0] for p in t.split(parts)])


def test_split_pieces_share_one_node_and_unused_pieces_get_zeros():
    x = gpugrad.arange(6.0, requires_grad=True)
    a, b, c = x.split(2)
    assert a.grad_fn is b.grad_fn is c.grad_fn
    assert (a._output_nr, b._output_nr, c._output_nr) == (0, 1, 2)
    (b * 3).sum().backward()
    assert x.grad.tolist() == [0, 0, 3, 3, 0, 0]
    y = gpugrad.ones(4, 2, requires_grad=True)
    rows = y.unbind()
    (rows[1] * 2 + rows[3]).sum().backward()
    assert y.grad.tolist() == [[0, 0], [2, 2], [0, 0], [1, 1]]


def test_cat_and_stack_promote_dtypes_as_torch():
    parts = [np.zeros(2, dtype=np.int32), np.zeros(2, dtype=np.float16), np.zeros(1)]
    ours = gpugrad.cat([gpugrad.from_numpy(p) for p in parts])
    theirs = torch.cat([torch.from_numpy(p) for p in parts])
    assert ours.dtype.name == str(theirs.dtype).replace("torch.", "")
    s = gpugrad.stack([gpugrad.tensor([1, 2]), gpugrad.tensor([0.5, 1.0])])
    assert s.dtype == gpugrad.float32
    assert gpugrad.cat([gpugrad.zeros(0), gpugrad.zeros(0)]).shape == (0,)
    with pytest.raises(TypeError, match="must be tuple of Tensors"):
        gpugrad.cat(gpugrad.zeros(2))


def test_cat_and_stack_gradients_keep_each_input_dtype():
    a = gpugrad.ones(2, dtype=gpugrad.float32, requires_grad=True)
    b = gpugrad.ones(3, dtype=gpugrad.float64, requires_grad=True)
    out = gpugrad.cat([a, b])
    assert out.dtype == gpugrad.float64
    out.sum().backward()
    assert a.grad.dtype == gpugrad.float32 and b.grad.dtype == gpugrad.float64


def test_method_and_function_forms():
    x = gpugrad.arange(6.0).reshape(2, 3)
    assert gpugrad.flatten(x).shape == x.flatten().shape == (6,)
    assert gpugrad.squeeze(x[None], 0).shape == (2, 3)
    assert gpugrad.unsqueeze(x, 1).shape == (2, 1, 3)
    assert gpugrad.movedim(x, 0, 1).shape == gpugrad.moveaxis(x, 0, 1).shape == (3, 2)
    assert x.repeat(2, 1, 2).shape == (2, 2, 6)
    assert gpugrad.tile(x, (2,)).shape == (2, 6)
    assert gpugrad.narrow(x, 1, 0, 2).shape == (2, 2)
    assert gpugrad.concat([x, x], 1).shape == gpugrad.concatenate([x, x], 1).shape == (2, 6)
    assert gpugrad.flip(x, [0]).tolist() == [[3, 4, 5], [0, 1, 2]]
    assert len(gpugrad.split(x, [1, 2], 1)) == len(gpugrad.chunk(x, 2, 1)) == 2
    assert x.squeeze((0, 1)).shape == (2, 3)


@pytest.mark.parametrize("dim", [1, -1])
def test_split_with_sizes_error_names_the_dim_as_given(dim):
    messages = []
    for lib in (torch, gpugrad):
        with pytest.raises(RuntimeError) as err:
            lib.split(lib.ones(2, 5), [2, 2], dim=dim)
        messages.append(str(err.value))
    assert messages[1] == messages[0]


@pytest.mark.parametrize("shape", [(2, 3, 4), (2, 3), (3,)])  # (0-d: PyTorch warns once)
def test_T_warns_beyond_two_dims_as_torch(shape):
    seen = []
    for L in (torch, gpugrad):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = L.ones(shape).T
        seen.append((tuple(out.shape), [str(w.message).split(" (Triggered")[0] for w in caught]))
    assert seen[1] == seen[0]

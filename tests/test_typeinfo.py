"""finfo/iinfo, the layout, the predicates (is_signed, is_nonzero ...) and the Tensor
methods about memory (storage_offset, shared and pinned memory, resize_, apply_/map_,
new_empty_strided), against PyTorch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import gpugrad


def _pair(name):
    return getattr(gpugrad, name), getattr(torch, name)


@pytest.mark.parametrize("name", ["float16", "bfloat16", "float32", "float64"])
def test_finfo(name):
    ours, theirs = gpugrad.finfo(getattr(gpugrad, name)), torch.finfo(getattr(torch, name))
    for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
        assert getattr(ours, attr) == getattr(theirs, attr), attr
        assert type(getattr(ours, attr)) is type(getattr(theirs, attr)), attr
    assert repr(ours) == repr(theirs)
    assert ours == gpugrad.finfo(getattr(gpugrad, name))


def test_finfo_default_dtype():
    assert gpugrad.finfo() == gpugrad.finfo(gpugrad.float32)
    gpugrad.set_default_dtype(gpugrad.float64)
    try:
        assert gpugrad.finfo().dtype == "float64"
    finally:
        gpugrad.set_default_dtype(gpugrad.float32)


@pytest.mark.parametrize("name", ["uint8", "int8", "int16", "int32", "int64"])
def test_iinfo(name):
    ours, theirs = gpugrad.iinfo(getattr(gpugrad, name)), torch.iinfo(getattr(torch, name))
    for attr in ("bits", "max", "min", "dtype"):
        assert getattr(ours, attr) == getattr(theirs, attr)
        assert type(getattr(ours, attr)) is type(getattr(theirs, attr))
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("call", [("finfo", "int32"), ("finfo", "bool"), ("iinfo", "float32"),
                                  ("iinfo", "bool")])
def test_info_errors(call):
    fn, dtype = call
    with pytest.raises(TypeError) as theirs:
        getattr(torch, fn)(getattr(torch, dtype))
    with pytest.raises(TypeError) as ours:
        getattr(gpugrad, fn)(getattr(gpugrad, dtype))
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(TypeError, match="must be torch.dtype"):
        gpugrad.finfo("float32")


def test_layout():
    x = gpugrad.ones(2)
    assert x.layout is gpugrad.strided and isinstance(gpugrad.strided, gpugrad.layout)
    assert repr(gpugrad.strided) == "gpugrad.strided"
    import pickle

    assert pickle.loads(pickle.dumps(gpugrad.strided)) is gpugrad.strided


def _cases():
    return [np.array([1.5, -2.0]), np.array([0.0]), np.array(3, dtype=np.int64),
            np.array([[True]]), np.array([], dtype=np.float32), np.array([7], dtype=np.uint8)]


@pytest.mark.parametrize("name", ["is_signed", "is_complex", "is_conj", "is_neg",
                                  "is_inference", "is_nonzero"])
def test_predicates_match_torch(name):
    for data in _cases():
        results = []
        for m in (gpugrad, torch):
            t = m.tensor(data)
            try:
                results.append((getattr(m, name)(t), getattr(t, name)() if hasattr(
                    torch.Tensor, name) and name != "is_complex" else None))
            except RuntimeError as e:
                results.append((RuntimeError, str(e)))
        assert results[0] == results[1], data


def test_predicates_on_non_tensors():
    assert gpugrad.is_storage(gpugrad.ones(2)) is torch.is_storage(torch.ones(2)) is False
    for name in ("is_signed", "is_complex", "is_nonzero", "is_inference"):
        with pytest.raises(TypeError, match="must be Tensor"):
            getattr(gpugrad, name)(3)
    x = gpugrad.ones(2, 3)
    assert gpugrad.is_same_size(x, gpugrad.zeros(2, 3)) and x.is_same_size(gpugrad.zeros(2, 3))
    assert not gpugrad.is_same_size(x, gpugrad.zeros(3, 2))
    with gpugrad.inference_mode():
        made = gpugrad.ones(2)
    assert made.is_inference() and gpugrad.is_inference(made)


def test_typename():
    cases = [(gpugrad.ones(2), torch.ones(2)), (gpugrad.ones(2, dtype=gpugrad.int64),
                                                torch.ones(2, dtype=torch.int64)),
             (gpugrad.ones(2, dtype=gpugrad.bool), torch.ones(2, dtype=torch.bool)), (3, 3),
             ("s", "s")]
    for ours, theirs in cases:
        assert gpugrad.typename(ours) == torch.typename(theirs)
    assert gpugrad.typename(gpugrad.nn.Linear(1, 1)) == "gpugrad.nn.modules.linear.Linear"
    assert gpugrad.typename(gpugrad.nn.Linear) == "gpugrad.nn.modules.linear.Linear"


def test_get_device_and_storage_offset():
    x = gpugrad.arange(24.0).reshape(4, 6)
    t = torch.arange(24.0).reshape(4, 6)
    assert x.get_device() == t.get_device() == -1
    for view in (lambda v: v, lambda v: v[1:], lambda v: v[2:, 3:], lambda v: v.t()[1:],
                 lambda v: v[:, 2], lambda v: v.reshape(-1)[5:].view(19), lambda v: v[3, 1:]):
        assert view(x).storage_offset() == view(t).storage_offset()


def test_shared_and_pinned_memory():
    x = gpugrad.ones(3)
    assert not x.is_shared() and not x.is_pinned()
    assert x.share_memory_() is x and x.is_shared()  # (tests/test_shared_memory.py)
    with pytest.raises(RuntimeError) as ours:
        x.pin_memory()
    with pytest.raises(RuntimeError) as theirs:
        torch.ones(3).pin_memory()
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("shape", [(2, 3), (6,), (4,), (3, 3), (0,)])
def test_resize_matches_torch(shape):
    x, t = gpugrad.arange(6.0), torch.arange(6.0)
    version = x._version
    assert x.resize_(*shape) is x
    t.resize_(*shape)
    assert tuple(x.shape) == tuple(t.shape)
    n = min(6, int(np.prod(shape)))
    np.testing.assert_array_equal(x.numpy().reshape(-1)[:n], t.numpy().reshape(-1)[:n])
    assert x._version > version or shape == (6,)
    y = gpugrad.zeros(2, 2)
    assert y.resize_as_(gpugrad.ones(3, 1)) is y and tuple(y.shape) == (3, 1)


def test_resize_shares_memory_when_shrinking():
    x = gpugrad.arange(6.0)
    view = x[:]
    x.resize_(2, 2)
    x[0, 0] = 9.0
    assert view[0].item() == 9.0


def test_resize_refusals():
    with pytest.raises(RuntimeError, match="cannot resize variables that require grad"):
        gpugrad.ones(2, requires_grad=True).resize_(3)
    with pytest.raises(RuntimeError, match="cannot resize variables that require grad"):
        (gpugrad.ones(2, requires_grad=True) * 2).resize_(3)
    with pytest.raises(NotImplementedError, match="contiguous"):
        gpugrad.ones(2, 3).t().resize_(6)
    with pytest.raises(NotImplementedError, match="grow a view"):
        gpugrad.ones(6)[1:].resize_(8)
    with pytest.raises(RuntimeError, match="negative dimension"):
        gpugrad.ones(2).resize_(-1)


def test_apply_and_map():
    data = np.arange(6)
    x, t = gpugrad.tensor(data), torch.tensor(data)
    assert x.apply_(lambda v: v * 2.7) is x
    t.apply_(lambda v: v * 2.7)
    np.testing.assert_array_equal(x.numpy(), t.numpy())
    x, t = gpugrad.tensor(data.reshape(2, 3)), torch.tensor(data.reshape(2, 3))
    assert x.map_(gpugrad.tensor([1, 2, 3]), lambda u, v: u * 10 + v) is x
    t.map_(torch.tensor([1, 2, 3]), lambda u, v: u * 10 + v)
    np.testing.assert_array_equal(x.numpy(), t.numpy())
    with pytest.raises(RuntimeError, match="Can't call apply_"):
        gpugrad.ones(2, requires_grad=True).apply_(float)
    with pytest.raises(RuntimeError, match="Can't call map_"):
        gpugrad.ones(2, requires_grad=True).map_(gpugrad.ones(2), max)
    with pytest.raises(TypeError, match="expected torch.LongTensor"):
        gpugrad.arange(3).map_(gpugrad.ones(3), max)
    with pytest.raises(RuntimeError, match="expanded size"):
        gpugrad.arange(6).map_(gpugrad.tensor([1, 2]), max)


def test_new_empty_strided():
    x = gpugrad.ones(2, dtype=gpugrad.float64)
    y = x.new_empty_strided((2, 3), (1, 2))
    assert y.stride() == (1, 2) and y.dtype == gpugrad.float64 and tuple(y.shape) == (2, 3)
    z = x.new_empty_strided((2,), (1,), dtype=gpugrad.int32, requires_grad=False)
    assert z.dtype == gpugrad.int32


def test_top_level_detach_and_fill():
    x = gpugrad.ones(2, requires_grad=True) * 3
    d = gpugrad.detach(x)
    assert not d.requires_grad and np.shares_memory(d.numpy(), x.detach().numpy())
    gpugrad.detach_(x)
    assert not x.requires_grad and x.is_leaf
    for data, value in ((np.ones(3), 2.5), (np.ones(3, dtype=np.int64), 2.7),
                        (np.ones((2, 2)), True)):
        ours = gpugrad.fill(gpugrad.tensor(data), value)
        theirs = torch.fill(torch.tensor(data), value)
        assert ours.dtype.name == str(theirs.dtype).split(".")[1]
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    v = gpugrad.tensor(2.0, requires_grad=True)
    out = gpugrad.fill(gpugrad.zeros(3), v)
    out.sum().backward()
    assert v.grad.item() == 3.0
    with pytest.raises(RuntimeError, match="0-dimension"):
        gpugrad.fill(gpugrad.zeros(3), gpugrad.ones(1))


FORMATS = ["contiguous_format", "channels_last", "channels_last_3d", "preserve_format"]
LAYOUTS = [lambda v: v, lambda v: v.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2),
           lambda v: v.transpose(2, 3), lambda v: v[:, :1], lambda v: v[:1, :1, :1, :1]]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("layout", range(len(LAYOUTS)))
def test_memory_formats_match_torch(fmt, layout):
    data = np.arange(120.0).reshape(2, 3, 4, 5)
    leaf = gpugrad.tensor(data, requires_grad=True)
    ours = LAYOUTS[layout](leaf)
    theirs = LAYOUTS[layout](torch.tensor(data, requires_grad=True))
    ofmt, tfmt = getattr(gpugrad, fmt), getattr(torch, fmt)
    assert ours.is_contiguous(memory_format=ofmt) == theirs.is_contiguous(memory_format=tfmt)
    for call in (lambda t, f: t.contiguous(memory_format=f), lambda t, f: t.to(memory_format=f),
                 lambda t, f: t.clone(memory_format=f), lambda t, f: t.double(memory_format=f)):
        try:
            want = call(theirs, tfmt)
        except RuntimeError as e:
            with pytest.raises(RuntimeError, match=str(e)):
                call(ours, ofmt)
            continue
        got = call(ours, ofmt)
        np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
        if fmt != "preserve_format":  # (gpugrad's clone is row-major for preserve_format)
            sized = [n != 1 for n in want.shape]  # (a dim of size 1 may have any stride)
            assert np.array(got.stride())[sized].tolist() == \
                np.array(want.stride())[sized].tolist()
    out = ours.contiguous(memory_format=gpugrad.channels_last) * 2
    out.sum().backward()
    assert leaf.grad.sum().item() == 2 * ours.numel()


def test_memory_format_errors_and_names():
    x = gpugrad.ones(2, 3, 4)
    with pytest.raises(RuntimeError, match="required rank 4 tensor to use channels_last"):
        x.contiguous(memory_format=gpugrad.channels_last)
    with pytest.raises(RuntimeError, match="required rank 5"):
        x.to(memory_format=gpugrad.channels_last_3d)
    with pytest.raises(TypeError, match="must be torch.memory_format"):
        x.is_contiguous(memory_format=3)
    assert not x.is_contiguous(memory_format=gpugrad.channels_last)
    assert repr(gpugrad.channels_last) == "gpugrad.channels_last"
    assert isinstance(gpugrad.preserve_format, gpugrad.memory_format)
    y = gpugrad.ones(2, 2)
    with pytest.raises(NotImplementedError, match="row-major"):
        y.resize_(1, 1, 2, 2, memory_format=gpugrad.channels_last)
    assert tuple(y.resize_(4, memory_format=gpugrad.contiguous_format).shape) == (4,)
    z = gpugrad.empty_permuted((2, 3, 4, 5), (0, 2, 3, 1))
    assert z.is_contiguous(memory_format=gpugrad.channels_last)


def test_module_to_channels_last():
    ours, theirs = gpugrad.nn.Conv2d(2, 3, 3).double(), torch.nn.Conv2d(2, 3, 3).double()
    ours.load_state_dict({k: gpugrad.tensor(v.detach().numpy())
                          for k, v in theirs.state_dict().items()})
    assert ours.to(memory_format=gpugrad.channels_last) is ours
    theirs.to(memory_format=torch.channels_last)
    assert ours.weight.stride() == theirs.weight.stride()
    assert ours.bias.stride() == theirs.bias.stride()
    x = np.random.default_rng(0).standard_normal((2, 2, 5, 5))
    xo = gpugrad.tensor(x).contiguous(memory_format=gpugrad.channels_last)
    xt = torch.tensor(x).contiguous(memory_format=torch.channels_last)
    np.testing.assert_allclose(ours(xo).detach().numpy(), theirs(xt).detach().numpy(),
                               rtol=1e-10)
    ours(xo).sum().backward()
    theirs(xt).sum().backward()
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-10)
    with pytest.raises(RuntimeError, match="required rank 5"):
        gpugrad.nn.Conv2d(1, 1, 1).to(memory_format=gpugrad.channels_last_3d)


def test_top_level_get_device_resize_as_fill_():
    assert gpugrad.get_device(gpugrad.ones(2)) == torch.get_device(torch.ones(2)) == -1
    with pytest.raises(TypeError, match="must be Tensor"):
        gpugrad.get_device(3)
    x = gpugrad.ones(2, 3)
    assert gpugrad.resize_as_(x, gpugrad.ones(6)) is x and tuple(x.shape) == (6,)
    y = gpugrad.ones(2)
    assert gpugrad.fill_(y, 3) is y and y.tolist() == [3.0, 3.0]
    z = gpugrad.ones(2, 3).t().contiguous(memory_format=gpugrad.legacy_contiguous_format)
    assert z.stride() == torch.ones(2, 3).t().contiguous(
        memory_format=torch.legacy_contiguous_format).stride()
    assert gpugrad.init_num_threads() is None


def _subclasses(m):
    return type("Sub", (m.Tensor,), {})


@pytest.mark.parametrize("requires_grad", [False, True])
@pytest.mark.parametrize("make", [lambda m, x: x, lambda m, x: x * 2, lambda m, x: x[1:]])
def test_as_subclass_aliases_like_torch(make, requires_grad):
    facts = []
    for m in (gpugrad, torch):
        sub = _subclasses(m)
        x = m.arange(4.0).requires_grad_(requires_grad)
        t = make(m, x)
        s = t.as_subclass(sub)
        facts.append((type(s) is sub, s.requires_grad, s.is_leaf, s.data_ptr() == t.data_ptr(),
                      s.grad_fn and s.grad_fn.name(), s.tolist(), s is t))
        if requires_grad:
            (s * m.arange(4.0)[:s.shape[0]]).sum().backward()
            facts.append(x.grad.tolist())
        else:
            s.add_(1)  # one memory and one version counter
            facts.append((t.tolist(), t._version, s._version))
    assert facts[:2] == facts[2:]


def test_as_subclass_to_parameter_and_back_and_errors():
    for m in (gpugrad, torch):
        p = m.zeros(2).as_subclass(m.nn.Parameter)
        assert type(p) is m.nn.Parameter and not p.requires_grad and p.is_leaf
        assert type(p.as_subclass(m.Tensor)) is m.Tensor
    for bad, match in ((int, "does not inherit from Tensor"), (object, "does not inherit"),
                       (3, r"cls must be a type \(got int\)")):
        for m in (gpugrad, torch):
            with pytest.raises(TypeError, match=match):
                m.ones(1).as_subclass(bad)


@pytest.mark.parametrize("call", [
    lambda x, m: x.resize(2, 3), lambda x, m: x.resize(6), lambda x, m: x.resize(1, 6, 1),
    lambda x, m: x.resize_as(m.zeros(3, 2)), lambda x, m: x.reshape(2, 3).t().resize(3, 2),
])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_resize_is_deprecated_and_keeps_the_elements_like_torch(call, dtype):
    results = []
    for m in (gpugrad, torch):
        x = m.arange(6, dtype=getattr(m, dtype)).requires_grad_()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = call(x, m)
        (out * m.arange(6.0, dtype=out.dtype).reshape(out.shape)).sum().backward()
        results.append((tuple(out.shape), out.tolist(), out.dtype == getattr(m, dtype),
                        out.requires_grad, x.grad.tolist(),
                        [(w.category, str(w.message)) for w in caught]))
    assert results[0] == results[1]


def test_resize_shares_memory_when_contiguous_and_refuses_other_counts():
    for m in (gpugrad, torch):
        x = m.arange(6.0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert x.resize(3, 2).data_ptr() == x.data_ptr()
    for args in ((4,), (8,), ((2, 3),), (2, 4)):
        errors = []
        for m in (gpugrad, torch):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with pytest.raises(RuntimeError) as caught:
                    m.arange(6.0).resize(*args)
            errors.append(str(caught.value))
        assert errors[0] == errors[1]

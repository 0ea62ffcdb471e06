"""Legacy typed constructors (``FloatTensor``...), ``isinstance`` against them, ``Tensor.type``,
``Tensor.new`` and ``set_default_tensor_type``, against torch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import gpugrad

NAMES = ["FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor", "ByteTensor",
         "CharTensor", "ShortTensor", "IntTensor", "LongTensor", "BoolTensor"]


def _same(ours, theirs):
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert ours.dtype.name == str(theirs.dtype).split(".")[-1]
    assert ours.device.type == theirs.device.type == "cpu"


@pytest.mark.parametrize("name", NAMES)
def test_typed_constructors_match_torch(name):
    for args in ([[1, 0, 2]], [[[1.7, 2.0]]], [np.array([3, 1])], [2, 3], [],
                 [torch.Size([2, 1])]):
        theirs = getattr(torch, name)(*args)
        ours = getattr(gpugrad, name)(*(gpugrad.Size(a) if isinstance(a, torch.Size) else a
                                        for a in args))
        _same(ours, theirs)
        if args and not isinstance(args[0], (int, torch.Size)):
            assert ours.tolist() == theirs.tolist()
    cls = getattr(gpugrad, name)
    assert repr(cls) == repr(getattr(torch, name)) and cls.__name__ == name
    assert str(cls.dtype).split(".")[-1] == str(getattr(torch, name).dtype).split(".")[-1]
    t = cls([1, 0])
    assert isinstance(t, cls) and isinstance(t, gpugrad.Tensor)
    assert not isinstance(t, gpugrad.cuda.FloatTensor)
    assert [isinstance(t, getattr(gpugrad, other)) for other in NAMES] == [
        other == name for other in NAMES]
    assert t.type() == f"torch.{name}" == getattr(torch, name)([1, 0]).type()


def test_a_tensor_of_the_type_is_viewed_and_others_refused():
    base = gpugrad.ones(3, requires_grad=True)
    view = gpugrad.FloatTensor(base)
    assert view._base is base and view.requires_grad and view is not base
    with pytest.raises(TypeError, match=r"expected torch.LongTensor \(got torch.FloatTensor\)"):
        gpugrad.LongTensor(base)
    with pytest.raises(TypeError):
        torch.LongTensor(torch.ones(3))


@pytest.mark.parametrize("args,kwargs,exc,match", [
    (([1], [2]), {}, TypeError, "invalid combination of arguments"),
    (("ab",), {}, TypeError, "invalid data type 'str'"),
    ((2.5,), {}, TypeError, r"data must be a sequence \(got float\)"),
    ((-1,), {}, RuntimeError, "negative dimension -1"),
    (([1],), {"device": "cuda"}, RuntimeError, "legacy constructor expects device type: cpu"),
    (([1],), {"dtype": "float64"}, TypeError, "dtype"),
])
def test_bad_constructor_calls_raise_like_torch(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        gpugrad.FloatTensor(*args, **kwargs)
    with pytest.raises(exc):
        torch.FloatTensor(*args, **{k: getattr(torch, v) if k == "dtype" else v
                                    for k, v in kwargs.items()})


def test_cuda_types_need_cuda():
    assert repr(gpugrad.cuda.LongTensor) == "<class 'torch.cuda.LongTensor'>"
    assert gpugrad.cuda.FloatTensor.is_cuda and not gpugrad.FloatTensor.is_cuda
    with pytest.raises(TypeError, match="type torch.cuda.FloatTensor not available"):
        gpugrad.cuda.FloatTensor([1.0])
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        gpugrad.cuda.Nope  # noqa: B018


def test_type_casts_like_torch():
    for m in (gpugrad, torch):
        t = m.tensor([1.5, 2.0])
        assert t.type(m.FloatTensor) is t and t.type("torch.FloatTensor") is t
        assert t.type(m.LongTensor).tolist() == [1, 2] and t.type(m.LongTensor).type() == (
            "torch.LongTensor")
        assert t.type("torch.IntTensor").dtype == m.int32
        assert t.type(m.float64).dtype == m.float64
        with pytest.raises(ValueError, match="invalid type: 'torch.Foo'"):
            t.type("torch.Foo")
        with pytest.raises(TypeError, match="dtype must be a type, str, or dtype object"):
            t.type(3)
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        gpugrad.ones(1).type("torch.cuda.FloatTensor")


def test_new_and_the_plain_tensor_constructor_match_torch():
    for m in (gpugrad, torch):
        t = m.ones(2, dtype=m.float64)
        assert tuple(t.new(2, 3).shape) == (2, 3) and t.new(2, 3).dtype == m.float64
        assert t.new([1, 2]).tolist() == [1.0, 2.0] and tuple(t.new().shape) == (0,)
        assert m.ones(1, dtype=m.long).new([1.5]).tolist() == [1]
        assert m.Tensor([1, 2]).dtype == m.float32 and tuple(m.Tensor(2, 2).shape) == (2, 2)


def test_set_default_tensor_type_sets_the_default_dtype():
    try:
        for m in (gpugrad, torch):
            with pytest.warns(UserWarning, match="set_default_tensor_type\\(\\) is deprecated"):
                m.set_default_tensor_type(m.DoubleTensor)
            assert m.get_default_dtype() == m.float64 and m.tensor([1.0]).dtype == m.float64
            assert m.Tensor([1]).dtype == m.float64
            with pytest.raises(TypeError, match="only floating-point types are supported"):
                m.set_default_tensor_type(m.LongTensor)
            with warnings.catch_warnings():  # PyTorch warns once per process
                warnings.simplefilter("ignore")
                m.set_default_tensor_type("torch.FloatTensor")
            assert m.get_default_dtype() == m.float32
    finally:
        gpugrad.set_default_dtype(gpugrad.float32)
        torch.set_default_dtype(torch.float32)


def test_new_factories_match_torch():
    def made(m):
        t = m.ones(2, dtype=m.float64)
        outs = [t.new_zeros(2, 3), t.new_zeros((2, 3)), t.new_ones([2]), t.new_full((2,), 3),
                t.new_full((2,), 3.5), t.new_tensor([1, 2]), t.new_empty(0),
                t.long().new_full((2,), 3.7), t.new_tensor([1, 2], dtype=m.int32),
                t.new_zeros(2, dtype=m.float32)]
        grad = t.new_zeros(2, requires_grad=True).requires_grad
        return [(str(o.dtype).split(".")[-1], tuple(o.shape), o.tolist()) for o in outs], grad

    assert made(gpugrad) == made(torch)
    source = gpugrad.ones(2, requires_grad=True)
    with pytest.warns(UserWarning, match="To copy construct from a tensor"):
        copy = source.new_tensor(source)
    assert not copy.requires_grad and copy.tolist() == [1.0, 1.0]

"""empty_strided/empty_permuted, frombuffer, asarray, logspace, range, the windows,
binomial and poisson, against PyTorch."""

from __future__ import annotations

import array
import warnings

import numpy as np
import pytest
import torch

import gpugrad


def _same(ours, theirs, exact=False):
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert ours.dtype.name == str(theirs.dtype).split(".")[1]
    if exact:
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    else:
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("size,stride", [((2, 3), (1, 2)), ((2, 3), (3, 1)), ((4,), (2,)),
                                         ((2, 0, 3), (0, 1, 5)), ((3, 2), (0, 1))])
def test_empty_strided(size, stride):
    ours = gpugrad.empty_strided(size, stride, dtype=gpugrad.float64)
    theirs = torch.empty_strided(size, stride, dtype=torch.float64)
    assert ours.stride() == theirs.stride() and tuple(ours.shape) == tuple(theirs.shape)
    ours.fill_(1.0)
    assert (ours.numpy() == 1).all()


def test_empty_strided_errors_and_options():
    with pytest.raises(RuntimeError, match="dimensionality of sizes"):
        gpugrad.empty_strided((2, 3), (1,))
    x = gpugrad.empty_strided([2], [1], requires_grad=True)
    assert x.requires_grad and x.dtype == gpugrad.float32
    with pytest.raises(RuntimeError, match="pin_memory=True requires"):
        gpugrad.empty_strided((2,), (1,), pin_memory=True)
    with pytest.raises(NotImplementedError, match="strided layout"):
        gpugrad.empty_strided((2,), (1,), layout="sparse")
    assert gpugrad.empty_strided((2,), (1,), layout=gpugrad.strided).layout is gpugrad.strided


@pytest.mark.parametrize("size,order", [((2, 3, 4), (2, 0, 1)), ((2, 3, 4, 5), (0, 2, 3, 1)),
                                        ((3,), (0,))])
def test_empty_permuted(size, order):
    ours = gpugrad.empty_permuted(size, order)
    theirs = torch.empty_permuted(size, order)
    assert ours.stride() == theirs.stride() and tuple(ours.shape) == tuple(theirs.shape)


def test_empty_permuted_errors():
    with pytest.raises(RuntimeError, match="physical_layout"):
        gpugrad.empty_permuted((2, 3, 4), (2, 0))
    with pytest.raises(RuntimeError, match="permutation"):
        gpugrad.empty_permuted((2, 3), (0, 0))


def test_frombuffer_shares_memory():
    buf = bytearray(np.array([1.0, 2.0, 3.0], dtype=np.float32).tobytes())
    x = gpugrad.frombuffer(buf, dtype=gpugrad.float32)
    buf[0:4] = np.float32(7).tobytes()
    assert x.tolist() == [7.0, 2.0, 3.0]
    x[1] = 5.0
    assert np.frombuffer(buf, np.float32)[1] == 5.0
    part = gpugrad.frombuffer(buf, dtype=gpugrad.int16, count=2, offset=2)
    theirs = torch.frombuffer(bytearray(buf), dtype=torch.int16, count=2, offset=2)
    _same(part, theirs, exact=True)
    y = gpugrad.frombuffer(array.array("d", [1.0, 2.0]), dtype=gpugrad.float64,
                           requires_grad=True)
    assert y.requires_grad and y.tolist() == [1.0, 2.0]


def test_frombuffer_errors_match_torch():
    buf = bytearray(8)
    for kwargs in ({"count": 5}, {"offset": 9}, {"offset": -1}, {"count": 0}):
        with pytest.raises(ValueError) as ours:
            gpugrad.frombuffer(buf, dtype=gpugrad.int16, **kwargs)
        with pytest.raises(ValueError) as theirs:
            torch.frombuffer(buf, dtype=torch.int16, **kwargs)
        assert str(ours.value) == str(theirs.value)
    with pytest.raises(ValueError, match="must not be 0"):
        gpugrad.frombuffer(b"", dtype=gpugrad.int16)
    with pytest.raises(ValueError, match="multiple of element size"):
        gpugrad.frombuffer(bytearray(7), dtype=gpugrad.int16)


def test_frombuffer_read_only_buffer_warns_and_refuses_writes():
    with pytest.warns(UserWarning, match="not writable"):
        x = gpugrad.frombuffer(np.array([1.0, 2.0], np.float32).tobytes(),
                               dtype=gpugrad.float32)
    assert x.tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match="read-only"):
        x.add_(1)


def test_asarray_tensor():
    x = gpugrad.ones(3)
    assert gpugrad.asarray(x) is x
    copy = gpugrad.asarray(x, copy=True)
    assert copy is not x and not np.shares_memory(copy.numpy(), x.numpy())
    wider = gpugrad.asarray(x, dtype=gpugrad.float64)
    assert wider.dtype == gpugrad.float64
    with pytest.raises(ValueError) as ours:
        gpugrad.asarray(x, dtype=gpugrad.float64, copy=False)
    with pytest.raises(ValueError) as theirs:
        torch.asarray(torch.ones(3), dtype=torch.float64, copy=False)
    assert str(ours.value) == str(theirs.value)
    y = gpugrad.asarray(x, requires_grad=True)
    assert y is x and x.requires_grad


def test_asarray_numpy_shares_memory_as_torch():
    arr = np.arange(3.0)
    ours, theirs = gpugrad.asarray(arr), torch.asarray(arr)
    arr[0] = 7.0
    assert ours[0].item() == theirs[0].item() == 7.0
    converted = gpugrad.asarray(arr, dtype=gpugrad.float32)
    arr[1] = 9.0
    assert converted[1].item() == 1.0  # (a converted copy)
    with pytest.raises(ValueError, match="can't alias tensor with dtype 'Double' into dtype "
                                         "'Float'"):
        gpugrad.asarray(arr, dtype=gpugrad.float32, copy=False)
    copied = gpugrad.asarray(arr, copy=True)
    arr[2] = -1.0
    assert copied[2].item() == 2.0
    with pytest.raises(RuntimeError, match="floating point"):
        gpugrad.asarray(np.arange(3), requires_grad=True)


def test_asarray_sequences_scalars_buffers():
    for obj in ([1, 2], [1, 2.0], 3, np.float32(3), [[True, False]], 2.5):
        _same(gpugrad.asarray(obj), torch.asarray(obj), exact=True)
    with pytest.raises(ValueError) as ours:
        gpugrad.asarray([1, 2], copy=False)
    with pytest.raises(ValueError) as theirs:
        torch.asarray([1, 2], copy=False)
    assert str(ours.value) == str(theirs.value)
    for obj in (bytearray(np.array([1.0, 2.0], np.float32).tobytes()),
                array.array("d", [1.0, 2.0])):
        _same(gpugrad.asarray(obj), torch.asarray(obj), exact=True)
    buf = bytearray(np.array([1, 2], np.int32).tobytes())
    shared = gpugrad.asarray(buf, dtype=gpugrad.int32)
    buf[0:4] = np.int32(5).tobytes()
    assert shared.tolist() == [5, 2]
    y = gpugrad.asarray([1.0, 2.0], dtype=gpugrad.float64, requires_grad=True)
    assert y.requires_grad and y.dtype == gpugrad.float64


@pytest.mark.parametrize("args,kwargs", [((0, 2, 3), {}), ((0, 2, 3), {"base": 2}),
                                         ((-1.5, 2, 7), {"dtype": "float64"}),
                                         ((0, 2, 3), {"base": 2, "dtype": "int64"}),
                                         ((0, 2, 1), {}), ((0, 2, 0), {}),
                                         ((1, 3, 4), {"dtype": "int32", "base": 3})])
def test_logspace(args, kwargs):
    mk = {k: (getattr(gpugrad, v) if k == "dtype" else v) for k, v in kwargs.items()}
    tk = {k: (getattr(torch, v) if k == "dtype" else v) for k, v in kwargs.items()}
    _same(gpugrad.logspace(*args, **mk), torch.logspace(*args, **tk))
    with pytest.raises(RuntimeError, match="non-negative"):
        gpugrad.logspace(0, 1, -1)
    _same(gpugrad.logspace(gpugrad.tensor(0.0), 2, 3), torch.logspace(torch.tensor(0.0), 2, 3))


@pytest.mark.parametrize("args,kwargs", [((1, 4), {}), ((0, 1, 0.3), {}), ((4, 1, -1), {}),
                                         ((0, 4), {"dtype": "int64"}),
                                         ((0.5, 2.5, 0.5), {"dtype": "float64"})])
def test_range(args, kwargs):
    mk = {k: getattr(gpugrad, v) for k, v in kwargs.items()}
    tk = {k: getattr(torch, v) for k, v in kwargs.items()}
    with pytest.warns(UserWarning, match="torch.range is deprecated"):
        ours = gpugrad.range(*args, **mk)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = torch.range(*args, **tk)
    _same(ours, theirs)


def test_range_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError, match="inconsistent with step sign"):
            gpugrad.range(4, 1)
        with pytest.raises(RuntimeError, match="step must be nonzero"):
            gpugrad.range(1, 4, 0)


WINDOWS = [("hann_window", ()), ("hamming_window", ()), ("hamming_window", (0.5, 0.4)),
           ("blackman_window", ()), ("bartlett_window", ()), ("kaiser_window", ()),
           ("kaiser_window", (3.0,))]


@pytest.mark.parametrize("name,extra", WINDOWS)
@pytest.mark.parametrize("length", [0, 1, 2, 5, 8])
@pytest.mark.parametrize("periodic", [True, False])
def test_windows(name, extra, length, periodic):
    for ours_dtype, their_dtype in ((gpugrad.float64, torch.float64), (None, None)):
        ours = getattr(gpugrad, name)(length, periodic, *extra, dtype=ours_dtype)
        theirs = getattr(torch, name)(length, periodic, *extra, dtype=their_dtype)
        _same(ours, theirs)


def test_window_defaults_and_errors():
    _same(gpugrad.hann_window(6), torch.hann_window(6))
    _same(gpugrad.kaiser_window(6, True, 5.0), torch.kaiser_window(6, True, 5.0))
    with pytest.raises(RuntimeError, match="floating point"):
        gpugrad.hann_window(5, dtype=gpugrad.int64)
    with pytest.raises(RuntimeError, match="non-negative window_length"):
        gpugrad.blackman_window(-1)
    w = gpugrad.hann_window(4, requires_grad=True)
    assert w.requires_grad


def test_poisson():
    rates = gpugrad.tensor([[0.0, 1.0, 50.0]] * 4000, dtype=gpugrad.float64)
    draws = gpugrad.poisson(rates).numpy()
    assert draws.dtype == np.float64 and (draws[:, 0] == 0).all()
    assert (draws == np.round(draws)).all()
    np.testing.assert_allclose(draws.mean(0), [0, 1, 50], atol=0.4)
    np.testing.assert_allclose(draws.var(0), [0, 1, 50], rtol=0.1, atol=0.1)
    a = gpugrad.poisson(rates[:10], gpugrad.Generator().manual_seed(5))
    b = gpugrad.poisson(rates[:10], generator=gpugrad.Generator().manual_seed(5))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    r = gpugrad.tensor([1.0, 2.0], requires_grad=True)
    out = gpugrad.poisson(r)
    assert type(out.grad_fn).__name__ == "PoissonBackward0"
    out.sum().backward()
    assert r.grad.tolist() == [0.0, 0.0]  # as PyTorch's


def test_poisson_errors():
    with pytest.raises(RuntimeError, match="non-negative"):
        gpugrad.poisson(gpugrad.tensor([-1.0]))
    with pytest.raises(NotImplementedError, match="Long"):
        gpugrad.poisson(gpugrad.tensor([1]))
    with pytest.raises(TypeError, match="generator"):
        gpugrad.poisson(gpugrad.ones(2), generator=1)


def test_binomial():
    count = gpugrad.tensor([[10.0, 0.0, 40.0]] * 4000)
    prob = gpugrad.tensor([0.3, 0.5, 1.0])
    draws = gpugrad.binomial(count, prob).numpy()
    assert draws.dtype == np.float32
    assert ((draws >= 0) & (draws <= count.numpy())).all() and (draws[:, 2] == 40).all()
    np.testing.assert_allclose(draws.mean(0), [3, 0, 40], atol=0.1)
    g = gpugrad.Generator()
    one = gpugrad.binomial(count[:5], prob, generator=g.manual_seed(1))
    two = gpugrad.binomial(count[:5], prob, g.manual_seed(1))
    np.testing.assert_array_equal(one.numpy(), two.numpy())
    c = gpugrad.tensor([5.0, 3.0], requires_grad=True)
    out = gpugrad.binomial(c, gpugrad.tensor([0.5, 0.5]))
    out.sum().backward()
    assert c.grad.tolist() == [0.0, 0.0]


def test_binomial_errors_match_torch():
    cases = [((gpugrad.tensor([10, 5]), gpugrad.tensor([0.5, 0.5])),
              (torch.tensor([10, 5]), torch.tensor([0.5, 0.5]))),
             ((gpugrad.tensor([10.0, 5.0]), gpugrad.tensor([0.5, 0.5], dtype=gpugrad.float64)),
              (torch.tensor([10.0, 5.0]), torch.tensor([0.5, 0.5], dtype=torch.float64)))]
    for ours_args, their_args in cases:
        with pytest.raises(Exception) as theirs:
            torch.binomial(*their_args)
        with pytest.raises(Exception) as ours:
            gpugrad.binomial(*ours_args)
        assert type(ours.value) is type(theirs.value)
        assert str(ours.value) == str(theirs.value)
    with pytest.raises(RuntimeError, match="prob in"):  # (PyTorch draws garbage)
        gpugrad.binomial(gpugrad.tensor([1.0]), gpugrad.tensor([1.5]))


@pytest.mark.parametrize("factory,args", [("empty_like", ()), ("zeros_like", ()),
                                          ("ones_like", ()), ("full_like", (2.0,)),
                                          ("rand_like", ()), ("randn_like", ()),
                                          ("randint_like", (5,))])
def test_like_factories_keep_the_layout_as_pytorch(factory, args):
    """``memory_format`` (default ``preserve_format``): a permuted dense input's strides are
    kept, a strided or overlapping one's are not; ``contiguous_format``/``channels_last``
    are followed."""
    sources = [lambda m: m.ones(2, 3, 4).permute(2, 0, 1),
               lambda m: m.ones(2, 3, 4, 5).contiguous(memory_format=m.channels_last),
               lambda m: m.ones(4, 6)[:, ::2], lambda m: m.ones(3, 1).expand(3, 4)]
    for source in sources:
        for fmt in (None, "contiguous_format", "channels_last"):
            results = []
            for m in (torch, gpugrad):
                x = source(m)
                kw = {} if fmt is None else {"memory_format": getattr(m, fmt)}
                try:
                    out = getattr(m, factory)(x, *args, **kw)
                    results.append((tuple(out.shape), out.stride()))
                except RuntimeError as e:
                    results.append(str(e))
            assert results[0] == results[1], (factory, fmt, results)
    t = getattr(gpugrad, factory)(gpugrad.ones(2, 3).t(), *args, requires_grad=factory not in
                                  ("randint_like",))
    assert t.is_leaf


@pytest.mark.parametrize("data, dtype", [
    (2**63, None), ([1, 2**63], None), ([-2**63 - 1], None), ([[1], [2**70]], None),
    ([True, 2**63], None), ([2**63], "int32"), ([1, 2**63], "float32"), (2**63, "float64"),
    ([1.5, 2**63], None), ([2**63], "uint64"), ([2**63 - 1, -2**63], None),
])
def test_python_ints_past_int64_as_torch(data, dtype):
    """Python ints that an int64 tensor cannot hold: PyTorch's ValueError where they would be
    int64 (no dtype, or an integer one), converted where a float or uint64 dtype is asked."""
    outcomes = []
    for m in (gpugrad, torch):
        try:
            t = m.tensor(data, dtype=None if dtype is None else getattr(m, dtype))
            outcomes.append((str(t.dtype).split(".")[1], str(t.tolist())))
        except ValueError as e:
            outcomes.append(("ValueError", str(e)))
    assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16", "int64"])
def test_linspace_values_are_torchs_bit_for_bit(dtype):
    # PyTorch counts the first half up from start and the second down from end, each value
    # rounded once (float32/64) or after each operation (float16/bfloat16)
    for steps in [*range(0, 40), 64, 100, 1001]:
        for start, end in ((0, 1), (0, 8), (-3.7, 2.2), (1, 0), (0, 2 * np.pi), (1e-3, 10),
                           (5, 5), (2, -7.5)):
            if dtype == "int64" and not float(start).is_integer():
                continue
            want = torch.linspace(start, end, steps, dtype=getattr(torch, dtype))
            got = gpugrad.linspace(start, end, steps, dtype=getattr(gpugrad, dtype))
            assert np.array_equal(got.float().numpy(), want.float().numpy()), (steps, start, end)


ARANGE_CASES = [(0.5, 3.7, 1), (1.7, 5.0, 1.5), (0.5, 3.2, 0.9), (3.7, 0.5, -1), (5.0, 1.7, -1.5),
                (0, 5, 2.5), (-2.5, 2.5, 1.0), (0.2, 0.9, 0.3), (1, 10, 3.5), (10, 0, -3), (1, 0),
                (0, 5, -1), (0.0, 1.0, 0.0)]


@pytest.mark.parametrize("dtype", ["int64", "int32", "int16", "uint8", "float32", None])
@pytest.mark.parametrize("bounds", ARANGE_CASES)
def test_arange_counts_and_fails_as_torch(bounds, dtype):
    seen = []
    for L in (torch, gpugrad):
        try:
            t = L.arange(*bounds, dtype=None if dtype is None else getattr(L, dtype))
            seen.append((t.tolist(), str(t.dtype).split(".")[1]))
        except (RuntimeError, ValueError) as err:
            seen.append((type(err), str(err)))
    assert seen[1] == seen[0]


@pytest.mark.parametrize("make", ["from_numpy", "as_tensor", "tensor"])
def test_arrays_of_the_other_byte_order_are_refused_as_torch(make):
    big_endian = np.arange(3, dtype=">f4")
    for L in (torch, gpugrad):
        with pytest.raises(ValueError, match="byte order different from the native"):
            getattr(L, make)(big_endian)
        assert getattr(L, make)(np.arange(3, dtype=">i1")).tolist() == [0, 1, 2]

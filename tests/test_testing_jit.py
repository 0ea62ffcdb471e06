"""``gpugrad.testing`` (assert_close's verdicts and messages as ``torch.testing``'s, sparse
operands included, the deprecated assert_allclose, make_tensor) and ``gpugrad.jit``'s
pass-through entry points."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad


@pytest.mark.parametrize("case", [
    ([1.0, 2.0, 3.0], [1.0, 2.1, 3.0], {}),
    ([1.0, 2.0], [1.0, 2.0 + 1e-6], {}),
    ([1.0, 2.0], [1.0, 2.5], {"rtol": 0.3, "atol": 0.0}),
    ([1.0, float("nan")], [1.0, float("nan")], {}),
    ([1.0, float("nan")], [1.0, float("nan")], {"equal_nan": True}),
    ([1, 2], [1, 3], {}),
    (3.0, 3.5, {}),
])
def test_assert_close_verdicts_and_messages(case):
    actual, expected, kwargs = case
    messages = []
    for m in (gpugrad, torch):
        try:
            m.testing.assert_close(m.tensor(actual), m.tensor(expected), **kwargs)
            messages.append(None)
        except AssertionError as e:
            messages.append(str(e).split("\n")[0:3])
    assert messages[0] == messages[1]


def test_assert_close_attributes_and_containers():
    for m in (gpugrad, torch):
        with pytest.raises(AssertionError, match="attribute 'dtype' do not match"):
            m.testing.assert_close(m.tensor([1.0]), m.tensor([1.0], dtype=m.float64))
        m.testing.assert_close(m.tensor([1.0]), m.tensor([1.0], dtype=m.float64),
                               check_dtype=False)
        with pytest.raises(AssertionError, match="attribute 'shape' do not match"):
            m.testing.assert_close(m.ones(2), m.ones(3))
        with pytest.raises(AssertionError, match=r"occurred for item \[1\]"):
            m.testing.assert_close([m.ones(1), m.ones(1)], [m.ones(1), m.zeros(1)])
        with pytest.raises(AssertionError, match=r"occurred for item \['b'\]"):
            m.testing.assert_close({"a": m.ones(1), "b": m.ones(1)},
                                   {"a": m.ones(1), "b": m.zeros(1)})
        with pytest.raises(ValueError, match="Both 'rtol' and 'atol'"):
            m.testing.assert_close(m.ones(1), m.ones(1), rtol=1e-3)
        m.testing.assert_close(1.0, 1.0 + 1e-9)
        with pytest.raises(AssertionError, match="custom"):
            m.testing.assert_close(m.ones(1), m.zeros(1), msg="custom")


SPARSE_PAIRS = {
    "values_differ": ([[0.0, 1.0], [2.0, 0.0]], [[0.0, 1.0], [2.1, 0.0]], {}),
    "entries_differ": ([[0.0, 1.0], [2.0, 0.0]], [[1.0, 1.0], [2.0, 0.0]], {}),
    "same": ([[0.0, 1.0], [2.0, 0.0]], [[0.0, 1.0], [2.0, 0.0]], {}),
    "layouts_differ": ([[0.0, 1.0], [2.0, 0.0]], None, {}),
    "layouts_differ_unchecked": ([[0.0, 1.0], [2.0, 0.0]], None, {"check_layout": False}),
    "order_differs": ([[0.0, 1.0], [2.0, 0.0]], "flipped", {}),  # entries compared as stored
}


@pytest.mark.filterwarnings("ignore:Sparse invariant checks:UserWarning")
@pytest.mark.parametrize("name", SPARSE_PAIRS)
def test_assert_close_on_sparse_tensors_as_torch(name):
    actual, expected, kwargs = SPARSE_PAIRS[name]
    messages = []
    for m in (gpugrad, torch):
        a = m.tensor(actual).to_sparse()
        if expected == "flipped":
            e = m.sparse_coo_tensor(a.indices().flip(1), a.values().flip(0), (2, 2))
        else:
            e = m.tensor(actual) if expected is None else m.tensor(expected).to_sparse()
        try:
            m.testing.assert_close(a, e, **kwargs)
            messages.append(None)
        except AssertionError as err:
            messages.append(str(err).replace("torch.", "gpugrad.").split("\n")[0:3])
    assert messages[0] == messages[1]


@pytest.mark.filterwarnings("ignore:.*assert_allclose.* is deprecated:FutureWarning")
@pytest.mark.parametrize("case", [
    ([1.0, 2.0], [1.00001, 2.0], {}),  # within its (looser) float32 tolerances
    ([1.0, 2.0], [1.1, 2.0], {}),
    ([1.0, float("nan")], [1.0, float("nan")], {}),  # equal_nan by default
    ([1.0, float("nan")], [1.0, float("nan")], {"equal_nan": False}),
    ([1.0, 2.0], [1.5, 2.0], {"rtol": 0.5, "atol": 0.0}),
])
def test_deprecated_assert_allclose_as_torch(case):
    actual, expected, kwargs = case
    messages = []
    for m in (gpugrad, torch):
        with pytest.warns(FutureWarning, match="assert_allclose"):
            try:
                m.testing.assert_allclose(m.tensor(actual), expected, **kwargs)
                messages.append(None)
            except AssertionError as err:
                messages.append(str(err).split("\n")[0:3])
    assert messages[0] == messages[1]


def test_make_tensor():
    for m in (gpugrad, torch):
        t = m.testing.make_tensor(3, 4, dtype=m.float32, device="cpu", low=-2, high=2,
                                  noncontiguous=True, requires_grad=True)
        assert t.shape == (3, 4) and not t.is_contiguous() and t.requires_grad
        values = t.detach().numpy()
        assert values.min() >= -2 and values.max() <= 2
        i = m.testing.make_tensor((50,), dtype=m.int64, device="cpu", exclude_zero=True)
        assert (i.numpy() != 0).all() and i.dtype == m.int64
        u = m.testing.make_tensor(50, dtype=m.uint8, device="cpu")
        assert u.numpy().min() >= 0 and u.numpy().max() < 10
        c = m.testing.make_tensor(2, 3, 4, 5, dtype=m.float32, device="cpu",
                                  memory_format=m.channels_last)
        assert c.stride() == (60, 1, 15, 3)
        with pytest.raises(ValueError, match="mutually exclusive"):
            m.testing.make_tensor(2, 3, 4, 5, dtype=m.float32, device="cpu",
                                  memory_format=m.channels_last, noncontiguous=True)
        with pytest.raises(RuntimeError, match="rank 4"):
            m.testing.make_tensor(2, 3, dtype=m.float32, device="cpu",
                                  memory_format=m.channels_last)


def test_jit_entry_points_run_the_python():
    @gpugrad.jit.script
    def fused_gelu(x):
        return x * 0.5 * (1.0 + gpugrad.erf(x / 1.41421))

    x = gpugrad.tensor([0.3, -1.2])
    np.testing.assert_allclose(fused_gelu(x).numpy(),
                               torch.nn.functional.gelu(torch.tensor([0.3, -1.2])).numpy(),
                               rtol=1e-4)
    lin = gpugrad.nn.Linear(2, 2)
    assert gpugrad.jit.trace(lin, (x,)) is lin
    assert not gpugrad.jit.is_scripting() and not gpugrad.jit.is_tracing()
    assert gpugrad.jit.ignore(len) is len
    with pytest.raises(NotImplementedError, match="state_dict"):
        gpugrad.jit.save(lin, "model.pt")


_NAN, _INF = float("nan"), float("inf")


@pytest.mark.parametrize("dtype", [None, "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("pair", [
    ([_NAN, 1.0], [_NAN, 1.0]), ([1.0, _NAN], [1.5, 2.0]), ([1.0, 2.0], [1.0, 2.5]),
    ([1.0, _INF], [1.0, -_INF]), ([[1.0, 2.0], [3.0, 4.0]], [[1.0, 2.1], [3.5, 4.0]]),
    (1.1, 1.2), (0.0, 1e-3), (1e-3, 0.0), ([_INF], [_INF]), ([1.0, 3.0], [1.001, 2.0]),
], ids=str)
def test_assert_close_verdict_and_message_are_torchs(pair, dtype):
    messages = []
    for lib in (torch, gpugrad):
        kw = {} if dtype is None else {"dtype": getattr(lib, dtype)}
        try:
            lib.testing.assert_close(lib.tensor(pair[0], **kw), lib.tensor(pair[1], **kw))
            messages.append("passed")
        except AssertionError as err:
            messages.append(str(err))
    assert messages[1] == messages[0]


@pytest.mark.parametrize("pair", [([1 + 1j, 2 + 0j], [1 + 2j, 2 + 0j]), (1 + 1j, 1 + 2j),
                                  ([1 + 1j], [1 + 1.000001j]), ([1, 2], [1, 3]),
                                  ([True, False], [True, True])], ids=str)
def test_assert_close_of_complex_and_integer_tensors_is_torchs(pair):
    messages = []
    for lib in (torch, gpugrad):
        try:
            lib.testing.assert_close(lib.tensor(pair[0]), lib.tensor(pair[1]))
            messages.append("passed")
        except AssertionError as err:
            messages.append(str(err))
    assert messages[1] == messages[0]

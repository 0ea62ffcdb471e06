"""dtypes, aliases and PyTorch's type promotion."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import gpugrad

DTYPES = ["float16", "bfloat16", "float32", "float64", "uint8", "int8", "int16", "int32", "int64",
          "bool"]


def test_aliases():
    assert gpugrad.float is gpugrad.float32 and gpugrad.double is gpugrad.float64
    assert gpugrad.half is gpugrad.float16 and gpugrad.long is gpugrad.int64
    assert gpugrad.int is gpugrad.int32 and repr(gpugrad.float32) == "gpugrad.float32"


def _make(m, name, zero_dim):
    shape = () if zero_dim else (2,)
    return m.ones(shape, dtype=getattr(m, name))


@pytest.mark.parametrize("a,b", list(itertools.product(DTYPES, DTYPES)))
@pytest.mark.parametrize("zero_dim", [(False, False), (True, False), (False, True)])
def test_tensor_tensor_promotion_matches_torch(a, b, zero_dim):
    g = _make(gpugrad, a, zero_dim[0]) + _make(gpugrad, b, zero_dim[1])
    t = _make(torch, a, zero_dim[0]) + _make(torch, b, zero_dim[1])
    assert g.dtype.name == str(t.dtype).removeprefix("torch.")


@pytest.mark.parametrize("a", DTYPES)
@pytest.mark.parametrize("scalar", [True, 2, 2.5])
def test_tensor_scalar_promotion_matches_torch(a, scalar):
    g = _make(gpugrad, a, False) * scalar
    t = _make(torch, a, False) * scalar
    assert g.dtype.name == str(t.dtype).removeprefix("torch.")


@pytest.mark.parametrize("a", ["int32", "int64", "bool", "float16", "bfloat16"])
def test_true_division_of_integers_gives_default_float(a):
    g = _make(gpugrad, a, False) / _make(gpugrad, a, False)
    t = _make(torch, a, False) / _make(torch, a, False)
    assert g.dtype.name == str(t.dtype).removeprefix("torch.")


def test_default_dtype_switch():
    try:
        gpugrad.set_default_dtype(gpugrad.float64)
        assert gpugrad.tensor([1.0]).dtype == gpugrad.float64
        assert (gpugrad.tensor([1]) * 0.5).dtype == gpugrad.float64
    finally:
        gpugrad.set_default_dtype(gpugrad.float32)
    with pytest.raises(TypeError):
        gpugrad.set_default_dtype(gpugrad.int64)


def test_float16_reductions_accumulate_in_float32():
    x = gpugrad.full((4096,), 1.0, dtype=gpugrad.float16) * 0.1
    s = x.sum()
    assert s.dtype == gpugrad.float16
    assert abs(s.item() - float(np.float32(np.float16(0.1)) * 4096)) < 1.0


def _dtype_error_cases(m):
    """Calls that fail on a dtype, in programs' common mistakes (integer inputs, float class
    targets, float64 against float32 weights); PyTorch names the dtype as a scalar type
    (``Long``), a C++ type (matmul: ``double != float``) or its CPU kernel's name."""
    F = m.nn.functional
    i, f = m.tensor([[1, 2]]), m.tensor([[1.0, 2.0]])
    d = f.double()
    img, kernel, bias = m.ones(1, 1, 3, 3), m.ones(1, 1, 1, 1), m.ones(1)
    return {
        "mean": lambda: i.mean(), "mean_bool": lambda: i.bool().mean(dim=0),
        "norm": lambda: i.norm(), "where": lambda: m.where(f, f, f),
        "round_decimals": lambda: m.round(i, decimals=1),
        "softmax_lastdim": lambda: F.softmax(i, 1), "log_softmax_dim0": lambda: F.log_softmax(i, 0),
        "gelu": lambda: F.gelu(i), "silu": lambda: F.silu(i), "leaky_relu": lambda: F.leaky_relu(i),
        "mse": lambda: F.mse_loss(i, i), "l1": lambda: F.l1_loss(i, i),
        "smooth_l1": lambda: F.smooth_l1_loss(i, i), "huber": lambda: F.huber_loss(i, i),
        "bce": lambda: F.binary_cross_entropy(i, i),
        "bce_logits": lambda: F.binary_cross_entropy_with_logits(i, i),
        "ce_long_input": lambda: F.cross_entropy(i, m.tensor([0])),
        "ce_long_input_3d": lambda: F.cross_entropy(i[:, :, None], m.tensor([[0]])),
        "ce_float_indices": lambda: F.cross_entropy(f, m.tensor([1.0])),
        "ce_int_indices": lambda: F.cross_entropy(f, m.tensor([1], dtype=m.int32)),
        "ce_long_probs": lambda: F.cross_entropy(f, m.tensor([[0, 1]])),
        "nll_float_target": lambda: F.nll_loss(f, m.tensor([1.0])),
        "nll_bool_target": lambda: F.nll_loss(f, m.tensor([True])),
        "linear": lambda: F.linear(d, f, f[0, :1]), "linear_bias": lambda: F.linear(f, f, d[0, :1]),
        "linear_no_bias": lambda: F.linear(d, f), "linear_module": lambda: m.nn.Linear(2, 2)(d),
        "matmul": lambda: f @ d.T, "matmul_half": lambda: f.half() @ f.T,
        "matmul_long": lambda: i @ f.T, "mm_bfloat16": lambda: m.mm(f.bfloat16(), f.T),
        "conv_input": lambda: F.conv2d(img.double(), kernel),
        "conv_weight": lambda: F.conv2d(img, kernel.double(), bias),
        "conv_bias": lambda: F.conv2d(img, kernel, bias.double()),
        "conv_module": lambda: m.nn.Conv2d(1, 1, 1)(img.half()),
        "conv_transpose": lambda: F.conv_transpose2d(img.double(), kernel, bias),
        "masked_fill": lambda: f.masked_fill(i, 0), "masked_select": lambda: f.masked_select(i),
        "masked_scatter": lambda: f.masked_scatter(f, f), "gather": lambda: f.gather(1, f.long()),
        "gather_float": lambda: f.gather(1, f), "take": lambda: f.take(f),
        "index_fill": lambda: f.index_fill(1, f[0], 0.0),
        "embedding": lambda: F.embedding(f, kernel[0, 0]),
        "embedding_bool": lambda: m.nn.Embedding(2, 2)(i.bool()),
        "bmm": lambda: m.bmm(f[None], d.T[None]), "dot": lambda: m.dot(f[0], d[0]),
        "dot_long": lambda: m.dot(i[0], f[0]),
        "requires_grad_": lambda: i.requires_grad_(), "parameter": lambda: m.nn.Parameter(i),
        "requires_grad_attribute": lambda: setattr(i, "requires_grad", True),
        "factory_requires_grad": lambda: m.zeros(2, dtype=m.long, requires_grad=True),
        "tensor_requires_grad": lambda: m.tensor([1], requires_grad=True),
        "batch_norm": lambda: m.nn.BatchNorm1d(2)(i.expand(2, 2)),
        "batch_norm_eval_int": lambda: m.nn.BatchNorm1d(2).eval()(i.int()),
        "instance_norm": lambda: m.nn.InstanceNorm1d(2)(i[None]),
        "layer_norm": lambda: m.nn.LayerNorm(2)(i),
        "layer_norm_bare": lambda: F.layer_norm(i, (2,)),
        "group_norm": lambda: m.nn.GroupNorm(1, 2)(i), "rms_norm": lambda: F.rms_norm(i, (2,)),
        "layer_norm_half_double": lambda: m.nn.LayerNorm(2).double()(f.half()),
    }


@pytest.mark.parametrize("case", list(_dtype_error_cases(torch)))
def test_dtype_errors_name_the_dtype_as_torch(case):
    raised = []
    for m in (gpugrad, torch):
        with pytest.raises(Exception) as caught:
            _dtype_error_cases(m)[case]()
        raised.append((type(caught.value).__name__, str(caught.value).split("\n")[0]))
    assert raised[0] == raised[1]


_WRITES = {
    "full": lambda m, d, v: m.full((2,), v, dtype=d),
    "fill_": lambda m, d, v: m.zeros(2, dtype=d).fill_(v),
    "masked_fill": lambda m, d, v: m.zeros(2, dtype=d).masked_fill(m.tensor([True, False]), v),
    "masked_fill_": lambda m, d, v: m.zeros(2, dtype=d).masked_fill_(m.tensor([True, False]), v),
    "where": lambda m, d, v: m.where(m.tensor([True, False]), m.zeros(2, dtype=d), v),
    "clamp": lambda m, d, v: m.clamp(m.zeros(2, dtype=d), max=v),
}


@pytest.mark.parametrize("op", list(_WRITES))
@pytest.mark.parametrize("name,value", [
    ("uint8", 300), ("uint8", -1), ("uint8", -255), ("uint8", -256), ("uint8", -1.5),
    ("int8", 127.9), ("int8", 127.0), ("int8", -129), ("int8", float("nan")),
    ("int16", float("inf")), ("int32", 2**31), ("int64", 2**63), ("int64", -2**63),
    ("int64", 2**64), ("float32", 1e39), ("float32", float("inf")), ("float64", 1e300),
    ("bool", 7), ("int16", True),
])
def test_numbers_written_into_tensors_are_checked_as_torch(op, name, value):
    """fill_/full/masked_fill/where/clamp check that a number fits the dtype (unsigned types
    wrap negatives down to -max), where arithmetic would wrap silently."""
    def run(m):
        try:
            return m.__name__, repr(_WRITES[op](m, getattr(m, name), value).tolist())
        except (RuntimeError, OverflowError) as e:
            return type(e).__name__, str(e)
    ours, theirs = run(gpugrad), run(torch)
    if theirs[0] == "torch":
        assert ours == ("gpugrad", theirs[1]), ours
    else:
        assert ours == theirs


def test_to_real_and_to_complex():
    for name in ("float32", "float16", "bfloat16", "int64", "bool", "uint8", "complex64",
                 "complex128"):
        assert str(getattr(gpugrad, name).to_real()) == str(getattr(torch, name).to_real()
                                                            ).replace("torch", "gpugrad")
    for name in ("float32", "float64", "bfloat16", "complex64", "complex128"):
        assert str(getattr(gpugrad, name).to_complex()) == str(
            getattr(torch, name).to_complex()).replace("torch", "gpugrad")
    for name in ("int64", "bool"):
        with pytest.raises(RuntimeError, match="Unknown Complex ScalarType for"):
            getattr(gpugrad, name).to_complex()
    with pytest.raises(RuntimeError, match="complex32"):
        gpugrad.float16.to_complex()  # (PyTorch: complex32, which gpugrad lacks)

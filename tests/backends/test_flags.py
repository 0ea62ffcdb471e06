"""``gpugrad.backends`` and the float32 matmul precision: PyTorch's switches and their links."""

from __future__ import annotations

import pytest
import torch

import gpugrad


@pytest.fixture(autouse=True)
def _restore():
    yield
    gpugrad.set_float32_matmul_precision("highest")


def test_defaults_match_torch():
    assert gpugrad.get_float32_matmul_precision() == torch.get_float32_matmul_precision()
    assert gpugrad.backends.cuda.matmul.allow_tf32 is torch.backends.cuda.matmul.allow_tf32
    assert gpugrad.backends.cudnn.allow_tf32 is torch.backends.cudnn.allow_tf32
    m = gpugrad.backends.cuda.matmul
    assert m.allow_fp16_reduced_precision_reduction and m.allow_bf16_reduced_precision_reduction


def test_allow_tf32_and_precision_move_together():
    m = gpugrad.backends.cuda.matmul
    m.allow_tf32 = True
    assert gpugrad.get_float32_matmul_precision() == "high"
    gpugrad.set_float32_matmul_precision("medium")
    assert m.allow_tf32
    gpugrad.set_float32_matmul_precision("highest")
    assert not m.allow_tf32
    m.fp32_precision = "tf32"
    assert m.allow_tf32 and m.fp32_precision == "tf32"
    m.fp32_precision = "ieee"
    assert not m.allow_tf32


def test_bad_values_as_torch():
    m = gpugrad.backends.cuda.matmul
    with pytest.raises(RuntimeError, match="expects a bool, but got int"):
        m.allow_tf32 = 1
    with pytest.raises(RuntimeError, match="Unknown precision: bad"):
        m.fp32_precision = "bad"
    with pytest.raises(AttributeError, match="Unknown attribute foo"):
        m.foo = 1
    with pytest.raises(RuntimeError, match="expects a str, but got int"):
        gpugrad.set_float32_matmul_precision(3)
    with pytest.warns(UserWarning, match="low is not one of"):
        gpugrad.set_float32_matmul_precision("low")
    assert gpugrad.get_float32_matmul_precision() == "highest"

"""Warnings of ops reached through autocast's entry points (one more frame) or through other
gpugrad functions point at the caller's line, as PyTorch's do."""

from __future__ import annotations

import warnings

import pytest

import gpugrad

F = gpugrad.nn.functional


def _cases():
    x, p = gpugrad.randn(3, 4), gpugrad.rand(3, 4)
    w3 = gpugrad.randn(5, 2, 4)
    t = gpugrad.tensor([0, 1, 2])
    return {
        "kl_div mean": lambda: F.kl_div(x, p),
        "softmax implicit dim": lambda: F.softmax(x),
        "log_softmax implicit dim": lambda: F.log_softmax(x),
        "softmin implicit dim": lambda: F.softmin(x),
        "Softmin module": lambda: gpugrad.nn.Softmin()(x),
        "mse_loss sizes": lambda: F.mse_loss(x, p[0]),
        "l1_loss size_average": lambda: F.l1_loss(x, p, size_average=True),
        "linear_cross_entropy options ignored": lambda: F.linear_cross_entropy(
            x, w3, gpugrad.zeros(3, 2, dtype=gpugrad.int64),
            options=gpugrad.nn.LinearCrossEntropyOptions()),
        "cross_entropy reduce": lambda: F.cross_entropy(x, t, reduce=True),
    }


@pytest.mark.parametrize("autocast", [False, True])
@pytest.mark.parametrize("case", list(_cases()))
def test_warning_points_at_the_callers_line(case, autocast):
    fn = _cases()[case]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with gpugrad.autocast("cpu", enabled=autocast):
            fn()
    assert caught, case
    assert {w.filename for w in caught} == {__file__}, [(w.filename, w.lineno) for w in caught]

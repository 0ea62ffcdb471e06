"""Size: one elementwise op (forward, backward, a reduction) and one cross-entropy over more than
2**31 elements on a GPU, where an int32 offset would wrap; the elements past 2**31 must be
right. The same checks run on the CPU at small sizes (they test the checks themselves).
"""

from __future__ import annotations

import gc
import math

import numpy as np
import pytest

import gpugrad

BIG = 2**31 + 4096  # elements: the last 4096 sit past the int32 range
FLOAT32 = 4


def _free_device_bytes() -> int:
    """Free device memory, counting blocks CuPy's pool holds but does not use."""
    import cupy

    pool = cupy.get_default_memory_pool()
    pool.free_all_blocks()
    free, _ = cupy.cuda.runtime.memGetInfo()
    return int(free)


def _need(nbytes: int) -> None:
    free = _free_device_bytes()
    if free < nbytes:
        pytest.skip(f"needs {nbytes / 2**30:.1f} GiB of free device memory, "
                    f"{free / 2**30:.1f} GiB free")


def _release() -> None:
    gc.collect()
    try:
        import cupy

        cupy.get_default_memory_pool().free_all_blocks()
    except ImportError:
        pass


def _tail(t: gpugrad.Tensor, k: int = 8) -> np.ndarray:
    return t.reshape(-1)[-k:].detach().cpu().numpy()


def check_elementwise(n: int, device) -> None:
    """``y = 2 * x + 1`` on n float32 elements, its sum, and the gradient of the sum: the
    tail (offsets past 2**31 when n is BIG) holds distinct values and must come out right."""
    x = gpugrad.full((n,), 1.5, device=device)
    tail = np.arange(1, 9, dtype=np.float32)
    x[-8:] = gpugrad.tensor(tail, device=device)
    x.requires_grad_()
    y = x * 2 + 1
    np.testing.assert_array_equal(_tail(y), 2 * tail + 1)
    assert y[0].item() == 4.0
    total = y.sum()
    expected = 4.0 * (n - 8) + float((2 * tail + 1).sum())
    assert math.isclose(total.item(), expected, rel_tol=1e-4)  # float32 partial sums
    del y
    total.backward()
    np.testing.assert_array_equal(_tail(x.grad), np.full(8, 2.0, np.float32))
    assert x.grad[0].item() == 2.0


def check_cross_entropy(rows: int, classes: int, device) -> None:
    """Cross-entropy on all-zero logits except the last row, whose offsets are past 2**31 when
    rows * classes > 2**31: its loss and gradient must be the exact values."""
    logits = gpugrad.zeros(rows, classes, device=device)
    logits[-1, 3] = 10.0
    logits.requires_grad_()
    target = gpugrad.full((rows,), 3, dtype=gpugrad.int64, device=device)
    loss = gpugrad.nn.functional.cross_entropy(logits, target, reduction="none")
    loss.sum().backward()
    lse = 10.0 + math.log1p((classes - 1) * math.exp(-10.0))
    assert math.isclose(loss[-1].item(), lse - 10.0, rel_tol=1e-4, abs_tol=1e-6)
    assert math.isclose(loss[0].item(), math.log(classes), rel_tol=1e-5)
    last = logits.grad[-1].detach().cpu().numpy()
    p_other = math.exp(-lse)
    np.testing.assert_allclose(last[[0, 1, -1]], p_other, rtol=1e-4)
    assert math.isclose(float(last[3]), math.exp(10.0 - lse) - 1.0, rel_tol=1e-3, abs_tol=1e-6)
    first = logits.grad[0, :4].detach().cpu().numpy()
    np.testing.assert_allclose(first, [1 / classes] * 3 + [1 / classes - 1], rtol=1e-5)


def test_the_checks_on_the_cpu_at_small_sizes():
    check_elementwise(10_000, "cpu")
    check_cross_entropy(9, 40_000, "cpu")  # a long row: the chunked path on a GPU
    check_cross_entropy(300, 17, "cpu")


@pytest.mark.gpu
def test_elementwise_over_2_31_elements_on_cuda():
    _need(3 * BIG * FLOAT32 + 2**30)  # x, y, x.grad and headroom
    try:
        check_elementwise(BIG, "cuda")
    finally:
        _release()


@pytest.mark.gpu
@pytest.mark.parametrize("classes", [32768, 1000])  # chunked rows; single-block rows
def test_cross_entropy_over_2_31_elements_on_cuda(classes):
    rows = 2**31 // classes + 2  # the last row starts past 2**31
    _need(3 * rows * classes * FLOAT32 + 2**30)  # logits, the fused and the scaled gradient
    try:
        check_cross_entropy(rows, classes, "cuda")
    finally:
        _release()

"""Compile every kernel family for a GPU architecture without a GPU (run by test_kernel_compile).

Run as ``GPUGRAD_TRITON_AOT=90 python tests/kernels/aot_driver.py``: the launchers run on NumPy
stand-ins, and each new specialization is compiled by Triton for sm_90 (the code a GPU run
would build), so type errors the interpreter lets through show up on a CPU-only machine.
Prints one line per compiled kernel and a last line ``compiled N kernels``; with ``--ptx`` also
whether the contiguous float32 elementwise kernel uses 16-byte vector loads. Every math function
compiles in float32, one of each kernel shape in float16, bfloat16 and float64; ``--all`` every
function in every dtype (about 350 kernels, minutes).
"""

from __future__ import annotations

import os
import sys

import numpy as np


def main() -> int:
    assert os.environ.get("GPUGRAD_TRITON_AOT"), "set GPUGRAD_TRITON_AOT=<arch>, e.g. 90"
    from gpugrad.kernels import MODE, _launch, losses, optim, reduction, softmax, statistics
    from gpugrad.kernels import cross_entropy as ce
    from gpugrad.kernels import elementwise_ops as ew

    assert MODE == "aot", MODE
    rng = np.random.default_rng(0)
    full = "--all" in sys.argv
    for dtype in ("float32", "float16", "bfloat16", "float64"):
        # float32: every math function; the others: one of each kernel shape, plus the
        # branches that differ (float32-only IEEE division and square root) unless --all
        every = full or dtype == "float32"
        x = rng.standard_normal((64, 256)).astype(dtype)
        strided = np.ascontiguousarray(x.T).T
        row = rng.standard_normal(256).astype(dtype)
        for op in ew.um.UNARY if every else ("exp", "sqrt", "rsqrt", "tanh"):
            ew.unary(op, x)
            ew.unary_grad(op, x, x, x)
        for op in ew.bm.BINARY if every else ("div", "pow"):
            ew.binary(op, x, row)
            ew.binary_grad(op, x, x, row, x, True, True)
        ew.binary("mul", x, 0.5)
        ew.binary("mul", strided, x)
        ew.compare("lt", x, row)
        ew.where(x > 0, x, 0.0)
        ew.clamp(x, -1.0, 1.0)
        ew.clamp_grad(x, x, -1.0, None)
        for op in ("sum", "mean", "prod", "amax", "amin") if every else ("sum", "amax"):
            reduction.reduce(op, x, (1,), False)
            reduction.reduce(op, x, (0,), False)
            reduction.reduce(op, rng.standard_normal(1 << 16).astype(dtype), None, False)
        statistics.arg_reduce("max", x, 1, False)
        statistics.var(x, (0,), 1, False)
        statistics.logsumexp(x, (1,), False)
        for log in (False, True):
            softmax.softmax(x, 1, log)
            softmax.softmax_grad(x, x, 1, log)
            softmax.softmax(rng.standard_normal((4, 20000)).astype(dtype), 1, log)
        target = rng.integers(0, 256, 64)
        for weight in (None, row) if every else (row,):
            for smoothing in (0.0, 0.1) if every else (0.1,):
                ce.cross_entropy(x, target, weight, -100, smoothing, "mean", True)
        ce.cross_entropy_probs(x, x, None, 0.1, "sum", True)
        ce.cross_entropy_probs(x, x, row, 0.0, "mean", True)
        ce.cross_entropy(rng.standard_normal((4, 40000)).astype(dtype),
                         rng.integers(0, 40000, 4), None, -100, 0.0, "none", True)
        losses.bce_with_logits(x, x, row, row, "mean", True)
        losses.mse(x, x, "none", True)
        losses.l1(x, x, "sum", True)
        losses.scale_loss_grad(x, np.array(2.0, dtype))
        params = [x.copy(), row.copy()]
        optim.sgd_step(params, [x, row], [None, None], lr=0.1, momentum=0.9, dampening=0.0,
                       nesterov=True, weight_decay=0.01, maximize=False)
        optim.adam_step(params, [x, row], [x.copy(), row.copy()], [x.copy(), row.copy()],
                        [x.copy(), row.copy()], step=1, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8,
                        weight_decay=0.01, amsgrad=True, maximize=False,
                        decoupled_weight_decay=True)
    for dtype in ("int64", "int32", "bool"):
        a = rng.integers(0, 3, (64, 256)).astype(dtype)
        ew.compare("eq", a, a)
        reduction.reduce("sum", a, (1,), False)
        if dtype != "bool":
            ew.binary("add", a, a)
            ew.unary("abs", a)
            statistics.arg_reduce("min", a, 0, False)

    # integers equal to 1 become compile-time constants in Triton's specialization: sizes,
    # strides and scalars of 1 take other code paths than the values above
    one = np.ones(1, np.float32)
    ew.binary("add", one, 1.0)
    ew.binary("add", rng.integers(0, 3, 7), 1)
    ew.binary("mul", rng.standard_normal((5, 1)).astype(np.float32), one)
    reduction.reduce("sum", one, None, False)
    reduction.reduce("sum", rng.standard_normal((3, 1)).astype(np.float32), (1,), True)
    statistics.arg_reduce("max", rng.standard_normal((1, 5)).astype(np.float32), 0, False)
    softmax.softmax(rng.standard_normal((3, 1)).astype(np.float32), 1, False)
    ce.cross_entropy(rng.standard_normal((1, 1)).astype(np.float32), np.zeros(1, np.int64),
                     None, -100, 0.0, "mean", True)
    optim.sgd_step([one.copy()], [one], [None], lr=1.0, momentum=0.0, dampening=0.0,
                   nesterov=False, weight_decay=0.0, maximize=False)
    names = [name for name, _ in _launch.COMPILED]
    for name in sorted(set(names)):
        print(f"{name}: {names.count(name)} specializations")
    if "--ptx" in sys.argv:
        for name, compiled in _launch.COMPILED:
            if name == "_elementwise_kernel":
                vector = "ld.global.v4" in compiled.asm["ptx"]
                print(f"first elementwise kernel has 16-byte loads: {vector}")
                break
    print(f"compiled {len(names)} kernels")
    return 0


if __name__ == "__main__":
    sys.exit(main())

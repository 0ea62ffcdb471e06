"""The softmax-cross-entropy sections of ``python -m bench.gpu_kernels``: the fused kernel
against PyTorch eager's ``F.cross_entropy`` (time and peak memory), and its two strategies
(rows held in registers, rows streamed) at several block sizes. Each section takes the run's
``env`` and ``record`` (``bench/gpu_kernels.py``) and the copy floor in bytes per second."""

from __future__ import annotations

import gc

import numpy as np


def cross_entropy(env, record, peak_extra, floor: float):
    """Forward alone, forward with the fused gradient and forward+backward against PyTorch
    eager's, and the peak extra memory of each, at two vocabulary sizes and two dtypes."""
    shapes = [(64, 1000)] if env.smoke else [(8192, 32768), (8192, 128256)]
    for rows, classes in shapes:
        for dtype in ("float32", "float16"):
            _cross_entropy_case(env, record, peak_extra, floor, rows, classes, dtype)
            gc.collect()


def _cross_entropy_case(env, record, peak_extra, floor: float, rows: int, classes: int,
                        dtype: str):
    gg = env.gpugrad
    F = gg.nn.functional
    tag = f"{rows}x{classes} {dtype}"
    logits = env.random((rows, classes), dtype) * 2
    target_np = np.random.default_rng(1).integers(0, classes, rows)
    nbytes = logits.nbytes
    x = env.tensor(logits, requires_grad=True)
    t = gg.tensor(target_np, device=env.device)

    def ours_forward_only():
        with gg.no_grad():
            F.cross_entropy(x, t)

    def ours_forward():
        return F.cross_entropy(x, t)

    def ours_step():
        x.grad = None
        F.cross_entropy(x, t).backward()

    fwd_only = env.time(ours_forward_only)
    fwd = env.time(ours_forward)
    step = env.time(ours_step)
    ours_mem = peak_extra(env, ours_step, False)
    x.grad = None
    record("cross_entropy", f"{tag} ours forward alone (no grad)", fwd_only * 1e3, "ms")
    record("cross_entropy", f"{tag} ours forward (+fused grad)", fwd * 1e3, "ms")
    record("cross_entropy", f"{tag} ours forward+backward", step * 1e3, "ms")
    record("cross_entropy", f"{tag} fwd+bwd / forward", step / fwd, "x", "<=1.1",
           step / fwd <= 1.1)
    record("cross_entropy", f"{tag} ours fwd+bwd vs 2-word floor",
           step / (2 * nbytes / floor), "x floor")
    if ours_mem is not None:
        record("cross_entropy", f"{tag} ours peak extra memory", ours_mem / nbytes, "x logits",
               "<=1.05", ours_mem / nbytes <= 1.05)
    if env.torch is None:
        return
    torch = env.torch
    tx = torch.from_dlpack(x.detach()).to(env.torch_device).requires_grad_()
    tt = torch.as_tensor(target_np, device=env.torch_device)

    def torch_step():
        tx.grad = None
        torch.nn.functional.cross_entropy(tx, tt).backward()

    def torch_forward():
        with torch.no_grad():
            torch.nn.functional.cross_entropy(tx, tt)

    t_step = env.time(torch_step)
    t_fwd = env.time(torch_forward)
    t_mem = peak_extra(env, torch_step, True)
    record("cross_entropy", f"{tag} torch forward", t_fwd * 1e3, "ms")
    record("cross_entropy", f"{tag} torch forward+backward", t_step * 1e3, "ms")
    record("cross_entropy", f"{tag} speedup over torch fwd+bwd", t_step / step, "x", ">=1.5",
           t_step / step >= 1.5)
    if t_mem is not None:
        record("cross_entropy", f"{tag} torch peak extra memory", t_mem / nbytes, "x logits")


def cross_entropy_variants(env, record, floor: float):
    """Rows in registers (one read) vs streamed (two reads), at 8192x32768."""
    from gpugrad.kernels import cross_entropy as ce

    saved = dict(ce.TUNING)
    rows, classes = (64, 1000) if env.smoke else (8192, 32768)
    variants = [("streamed block 4096 warps 8", dict(single_max=0, block_c=4096, num_warps=8)),
                ("streamed block 8192 warps 16", dict(single_max=0, block_c=8192, num_warps=16)),
                ("registers warps 16", dict(single_max=1 << 20, single_warps=16)),
                ("registers warps 32", dict(single_max=1 << 20, single_warps=32))]
    try:
        for dtype in ("float32", "float16"):
            logits = env.random((rows, classes), dtype)
            target = env.xp.asarray(np.random.default_rng(1).integers(0, classes, rows))
            for name, tuning in variants:
                ce.TUNING.update(saved)
                ce.TUNING.update(tuning)
                seconds = env.time(lambda lg=logits, tg=target: ce.cross_entropy(
                    lg, tg, None, -100, 0.0, "mean", True))
                record("ce variants", f"{rows}x{classes} {dtype} {name}",
                       2 * logits.nbytes / seconds / floor, "of copy")
    finally:
        ce.TUNING.update(saved)

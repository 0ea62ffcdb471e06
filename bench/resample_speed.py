"""Forward + backward of F.interpolate (antialias too), F.grid_sample, uneven adaptive max
pooling, power-average and fractional max pooling, gpugrad
against PyTorch on the CPU, one thread, best of 5: ``python -m bench.resample_speed``."""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

import gpugrad  # noqa: E402

torch.set_num_threads(1)

SHAPE = (8, 32, 64, 64)


def _cases(lib):
    F = lib.nn.functional
    return {
        "nearest 2x": lambda x, g: F.interpolate(x, scale_factor=2, mode="nearest"),
        "bilinear 2x": lambda x, g: F.interpolate(x, scale_factor=2, mode="bilinear"),
        "bicubic 2x": lambda x, g: F.interpolate(x, scale_factor=2, mode="bicubic"),
        "trilinear 2x (5-D view)": lambda x, g: F.interpolate(
            x.reshape(8, 32, 16, 16, 16), scale_factor=2, mode="trilinear"),
        "grid_sample bilinear": lambda x, g: F.grid_sample(x, g, align_corners=False),
        "grid_sample bicubic": lambda x, g: F.grid_sample(x, g, mode="bicubic",
                                                          align_corners=False),
        "adaptive_max_pool2d 64->24": lambda x, g: F.adaptive_max_pool2d(x, 24),
        "adaptive_max_pool2d 64->1": lambda x, g: F.adaptive_max_pool2d(x, 1),
        "bilinear antialias 0.5x": lambda x, g: F.interpolate(x, scale_factor=0.5,
                                                              mode="bilinear", antialias=True),
        "bicubic antialias 0.5x": lambda x, g: F.interpolate(x, scale_factor=0.5,
                                                             mode="bicubic", antialias=True),
        "lp_pool2d p=2 k3 s2": lambda x, g: F.lp_pool2d(x, 2, 3, 2),
        "fractional_max_pool2d ->40": lambda x, g: F.fractional_max_pool2d(x, 3, 40),
    }


def _best(fn, repeat=5):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _step(lib, case, x_np, grid_np):
    x = lib.tensor(x_np, requires_grad=True)
    g = lib.tensor(grid_np, requires_grad=True)

    def step():
        case(x, g).sum().backward()
    return step


def main():
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal(SHAPE).astype(np.float32)
    grid_np = rng.uniform(-1.1, 1.1, (SHAPE[0], 64, 64, 2)).astype(np.float32)
    ours, theirs = _cases(gpugrad), _cases(torch)
    print(f"{'case':28s} {'torch ms':>9s} {'gpugrad ms':>11s} {'ratio':>6s}")
    for name in ours:
        t_torch = _best(_step(torch, theirs[name], x_np, grid_np))
        t_ours = _best(_step(gpugrad, ours[name], x_np, grid_np))
        print(f"{name:28s} {t_torch * 1e3:9.1f} {t_ours * 1e3:11.1f} {t_ours / t_torch:6.1f}")


if __name__ == "__main__":
    main()

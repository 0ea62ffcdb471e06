"""``gpugrad.backends``: what the tutorials' device selection asks."""

from __future__ import annotations

import gpugrad


def test_mps_is_reported_absent():
    assert gpugrad.backends.mps.is_available() is False
    assert gpugrad.backends.mps.is_built() is False
    device = ("cuda" if gpugrad.cuda.is_available()
              else "mps" if gpugrad.backends.mps.is_available() else "cpu")
    assert device in ("cuda", "cpu")


def test_cpu_libraries_gpugrad_does_not_use_are_reported_absent():
    import importlib

    for name in ("mkldnn", "mkl", "openmp"):
        module = getattr(gpugrad.backends, name)
        assert module.is_available() is False
        assert importlib.import_module(f"gpugrad.backends.{name}") is module
    assert gpugrad.backends.mkldnn.enabled is False


def _sdp_flags(m):
    c = m.backends.cuda
    return (c.flash_sdp_enabled(), c.mem_efficient_sdp_enabled(), c.math_sdp_enabled(),
            c.cudnn_sdp_enabled())


def test_attention_kernel_switches_as_torch():
    import warnings

    import pytest
    import torch

    for m in (gpugrad, torch):
        c = m.backends.cuda
        seen = [_sdp_flags(m)]
        c.enable_flash_sdp(False)
        c.enable_cudnn_sdp(False)
        seen.append(_sdp_flags(m))
        c.enable_flash_sdp(True)
        c.enable_cudnn_sdp(True)
        with pytest.warns(FutureWarning, match="sdp_kernel"):
            with c.sdp_kernel(enable_flash=False, enable_mem_efficient=False):
                seen.append(_sdp_flags(m))
        with m.nn.attention.sdpa_kernel(m.nn.attention.SDPBackend.MATH):
            seen.append(_sdp_flags(m))
        seen.append(_sdp_flags(m))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            with c.sdp_kernel(enable_math=False):
                q = m.ones(1, 1, 2, 4)
                seen.append(m.nn.functional.scaled_dot_product_attention(q, q, q).shape)
        if m is gpugrad:
            ours = seen
    assert ours == seen

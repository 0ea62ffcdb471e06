"""``nn.attention.SDPBackend`` / ``sdpa_kernel`` and ``Module.share_memory`` against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.attention as tattn

import gpugrad
from gpugrad.nn import attention


def test_backend_names_and_values_match_torch():
    ours = {n: int(b) for n, b in attention.SDPBackend.__members__.items()}
    theirs = {n: int(b.value) for n, b in tattn.SDPBackend.__members__.items()}
    assert ours == theirs


@pytest.mark.parametrize("bad", ["math", (0,), 1])
def test_sdpa_kernel_checks_its_argument_as_torch(bad):
    with pytest.raises(AssertionError) as theirs, tattn.sdpa_kernel(bad):
        pass
    with pytest.raises(AssertionError) as ours, attention.sdpa_kernel(bad):
        pass
    assert str(ours.value) == str(theirs.value)


def test_attention_inside_sdpa_kernel_is_unchanged_and_nests():
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((2, 3, 5, 4)) for _ in range(3))
    expected = torch.nn.functional.scaled_dot_product_attention(
        *(torch.tensor(a) for a in (q, k, v)), is_causal=True).numpy()
    sdpa = gpugrad.nn.functional.scaled_dot_product_attention
    every = attention.current_backends()
    with attention.sdpa_kernel(attention.SDPBackend.MATH):
        assert attention.current_backends() == (attention.SDPBackend.MATH,)
        with attention.sdpa_kernel([attention.SDPBackend.FLASH_ATTENTION,
                                    attention.SDPBackend.MATH]):
            assert len(attention.current_backends()) == 2
            out = sdpa(*(gpugrad.tensor(a) for a in (q, k, v)), is_causal=True)
        assert attention.current_backends() == (attention.SDPBackend.MATH,)
    assert attention.current_backends() == every
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_module_share_memory_moves_parameters_gradients_and_buffers_as_torch():
    for lib in (gpugrad, torch):
        m = lib.nn.BatchNorm1d(2)
        m(lib.randn(4, 2)).sum().backward()
        weight = m.weight
        assert not weight.is_shared() and not m.running_mean.is_shared()
        assert m.share_memory() is m and m.weight is weight
        assert all(t.is_shared() for t in (m.weight, m.bias, m.weight.grad, m.running_mean,
                                           m.running_var, m.num_batches_tracked))

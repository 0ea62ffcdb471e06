"""``gpugrad.functional`` and ``gpugrad.types`` against ``torch.functional`` and ``torch.types``."""

from __future__ import annotations

import typing

import numpy as np
import torch
import torch.functional
import torch.types

import gpugrad
import gpugrad.functional
import gpugrad.types


def test_functional_lists_torch_functional():
    assert set(gpugrad.functional.__all__) == set(torch.functional.__all__)
    for name in gpugrad.functional.__all__:
        assert getattr(gpugrad.functional, name) is getattr(gpugrad, name)
        assert getattr(torch.functional, name) is getattr(torch, name)  # (the same in torch)
    from gpugrad.functional import einsum

    a = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(einsum("ij->j", gpugrad.tensor(a)).numpy(),
                               torch.functional.einsum("ij->j", torch.tensor(a)).numpy())


def test_types_are_the_aliases_programs_annotate_with():
    for name in ("Number", "_Number", "_int", "_float", "_bool", "_str", "_complex", "_bytes"):
        assert getattr(gpugrad.types, name) == getattr(torch.types, name), name
    assert typing.get_args(gpugrad.types.Device) == (gpugrad.device, str, int, type(None))
    assert typing.get_args(gpugrad.types._size) == (gpugrad.Size, list[int], tuple[int, ...])
    assert gpugrad.types._dtype is gpugrad.dtype and gpugrad.types._device is gpugrad.device
    assert gpugrad.types.Tensor is gpugrad.Tensor

    def scale(x: gpugrad.types.Tensor, by: gpugrad.types.Number,
              device: gpugrad.types.Device = None) -> gpugrad.types.Tensor:
        return x.to(device) * by

    hints = typing.get_type_hints(scale)
    assert hints["by"] == int | float | bool
    assert scale(gpugrad.ones(2), 3, "cpu").tolist() == [3.0, 3.0]

"""What the program tests share: loading a program module, running it with gpugrad and with
PyTorch, and the convergence band gpugrad must land in (the random streams differ, so the
comparison is of training, not of bits)."""

from __future__ import annotations

import importlib

import torch

import gpugrad


def load(name: str):
    """The program ``tests/programs/<name>.py`` as a module."""
    return importlib.import_module(f"programs.{name}")


def both(run):
    """``run(gpugrad), run(torch)``."""
    return run(gpugrad), run(torch)


def assert_trains_like_torch(ours: dict, theirs: dict, shrink: float, rel: float = 0.15):
    """Both runs cut their loss below ``shrink`` times the first, and gpugrad's final loss is
    within ``rel`` of PyTorch's (plus 0.05)."""
    for result in (ours, theirs):
        assert result["final_loss"] < shrink * result["initial_loss"], result
    band = rel * theirs["final_loss"] + 0.05
    assert abs(ours["final_loss"] - theirs["final_loss"]) <= band, (ours, theirs)

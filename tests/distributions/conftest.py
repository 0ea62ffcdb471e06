"""PyTorch's argument validation on for every test here: ``torch.compile`` (whose first use
in a process patches torch) turns ``torch.distributions``' default validation off for the whole
process, so a test comparing torch's errors would see none after a compiled test ran in the same
worker."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _torch_validates_arguments():
    torch.distributions.Distribution.set_default_validate_args(True)
    yield

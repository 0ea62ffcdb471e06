"""Bad input: one table of cases across ops, autograd, losses, modules, optimizers, devices and
dtypes.

Each case is a function of the library namespace (``gpugrad`` or ``torch``), so the same code
runs on both. gpugrad must raise the expected exception type with a message that names the
problem (a regex), and the next valid operation (a small training step) must still work. Where
PyTorch has the same API, it must raise the same exception type; the cases where it cannot be
asked (no CUDA in this PyTorch build) say so in ``torch_exc``.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from bad_input_cases import CASES, SAME, Case
from torch_oracle import CPU_ONLY_BUILD

import gpugrad


def _training_step_works(m, device=None) -> None:
    """The next valid operation: two SGD steps of a small model lower its loss."""
    m.manual_seed(0)
    model = m.nn.Sequential(m.nn.Linear(4, 8), m.nn.ReLU(), m.nn.Linear(8, 3)).to(device)
    x = m.randn(16, 4, device=device)
    y = m.randint(0, 3, (16,), device=device)
    opt = m.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for _ in range(3):
        opt.zero_grad()
        loss = m.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0], losses


def test_the_table_is_broad():
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)


def _raises(case: Case):
    with pytest.raises(case.exc, match=case.match) as info:
        case.run(gpugrad)
    return info.value


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_gpugrad_raises_and_recovers(case):
    from gpugrad.backend import cuda_available

    if case.cpu_only and cuda_available():
        pytest.skip("a GPU is present: this input is valid here")
    exc = _raises(case)
    assert not type(exc).__module__.startswith("numpy"), f"a bare NumPy error: {exc!r}"
    assert gpugrad.is_grad_enabled()
    _training_step_works(gpugrad)


@pytest.mark.parametrize("case", [c for c in CASES if c.torch_exc is not None],
                         ids=lambda c: c.id)
def test_torch_raises_the_same_type(case):
    if case.cpu_only and not CPU_ONLY_BUILD:
        pytest.skip("the oracle is a CUDA build of torch: a CUDA device is valid for it, or "
                    "fails for want of a driver")
    want = case.exc if case.torch_exc == SAME else case.torch_exc
    with pytest.raises(Exception) as info:
        case.run(torch)
    assert isinstance(info.value, want), (
        f"torch raised {type(info.value).__name__}: {info.value}; the table says "
        f"{want.__name__}"
    )


@pytest.mark.gpu
def test_every_case_on_cuda_leaves_the_device_usable():
    """The table again with CUDA as the default device: each error is raised on the host (no
    device-side assert), and afterwards the CUDA context still trains."""
    import cupy

    previous = gpugrad.get_default_device()
    gpugrad.set_default_device("cuda")
    wrong = []
    try:
        for case in CASES:
            if case.cpu_only:
                continue
            try:
                case.run(gpugrad)
                wrong.append(f"{case.id}: no error")
            except Exception as e:  # collect every mismatch, then report them together
                if not isinstance(e, case.exc) or not re.search(case.match, str(e)):
                    wrong.append(f"{case.id}: {type(e).__name__}: {e}")
        cupy.cuda.Device().synchronize()
        _training_step_works(gpugrad, device="cuda")
    finally:
        gpugrad.set_default_device(previous)
    assert not wrong, "\n".join(wrong)


def test_messages_name_the_problem_not_the_implementation():
    """No message leaks a NumPy internals phrase in place of the problem."""
    leaks = re.compile(r"operands could not be broadcast|ndarray|ufunc|numpy\.|<[UfiS]\d",
                       re.IGNORECASE)
    for case in CASES:
        if case.cpu_only:
            continue
        try:
            case.run(gpugrad)
        except Exception as e:  # the table test checks the type; here only the wording
            assert not leaks.search(str(e)), f"{case.id}: {e}"

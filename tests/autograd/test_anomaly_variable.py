"""Anomaly detection (NaN gradients named with their node and forward traceback) and the
legacy ``Variable``, as PyTorch's."""

from __future__ import annotations

import warnings

import pytest
import torch

import gpugrad


def _nan_backward(m):
    x = m.tensor([0.0, 1.0], requires_grad=True)
    z = m.sqrt(x)
    (z / z).sum().backward()


@pytest.mark.parametrize("lib", [gpugrad, torch], ids=["gpugrad", "torch"])
def test_detect_anomaly_names_the_node_and_its_forward_line(lib):
    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
        mode = lib.autograd.detect_anomaly()
    with mode, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(RuntimeError, match=r"Function 'DivBackward0' returned nan values "
                                               r"in its \dth output"):
            _nan_backward(lib)
    messages = [str(w.message) for w in caught]
    assert any("Error detected in DivBackward0" in msg and "z / z" in msg for msg in messages)
    assert not lib.is_anomaly_enabled()


def test_without_anomaly_mode_nan_passes_silently():
    _nan_backward(gpugrad)  # no check, as PyTorch


def test_set_detect_anomaly_as_call_and_block():
    for m in (gpugrad, torch):
        m.autograd.set_detect_anomaly(True)
        assert m.is_anomaly_enabled() and m.is_anomaly_check_nan_enabled()
        m.autograd.set_detect_anomaly(False)
        assert not m.is_anomaly_enabled()
        with m.autograd.set_detect_anomaly(True, check_nan=False):
            assert m.is_anomaly_enabled() and not m.is_anomaly_check_nan_enabled()
            _nan_backward(m)  # check_nan=False: no error
        assert not m.is_anomaly_enabled() and m.is_anomaly_check_nan_enabled()
        m.set_anomaly_enabled(True)
        assert m.is_anomaly_enabled()
        m.set_anomaly_enabled(False)


def test_anomaly_mode_keeps_the_tape_order():
    """Nodes recorded before, during and after the mode keep increasing sequence numbers, so a
    backward across the switch runs in order and gives the usual gradients."""
    x = gpugrad.tensor([1.0, 2.0], requires_grad=True)
    a = x * 3
    with gpugrad.autograd.set_detect_anomaly(True):
        b = a.exp()
    c = (b * a).sum()
    c.backward()
    tx = torch.tensor([1.0, 2.0], requires_grad=True, dtype=torch.float64)
    ta = tx * 3
    (ta.exp() * ta).sum().backward()
    assert x.grad.tolist() == pytest.approx(tx.grad.tolist())


def test_variable_is_a_detached_tensor():
    from gpugrad.autograd import Variable

    x = gpugrad.ones(2)
    v = Variable(x, requires_grad=True)
    assert v is not x and v.requires_grad and not x.requires_grad
    assert isinstance(x, Variable) and isinstance(v, gpugrad.Tensor)
    v.data[0] = 5.0
    assert x[0].item() == 5.0  # shares memory, as PyTorch's
    y = (x * 2).requires_grad_()
    assert Variable(y * 1).grad_fn is None
    assert Variable().shape == (0,)
    with pytest.warns(UserWarning, match="volatile was removed"):
        Variable(x, volatile=True)
    with pytest.raises(TypeError, match="Variable data has to be a tensor, but got list"):
        Variable([1, 2])
    out = Variable(gpugrad.tensor([1.0, 2.0]), requires_grad=True)
    (out * out).sum().backward()
    assert out.grad.tolist() == [2.0, 4.0]

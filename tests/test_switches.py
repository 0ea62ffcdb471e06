"""The process-wide switches (threads, deterministic algorithms, warn-always, anomaly mode,
denormals): PyTorch's argument checks and errors, what each changes, and no value accepted
and ignored without a word."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import gpugrad
from gpugrad import _switches


def _both(fn_name, *args):
    """The exception type (or None) of ``fn_name(*args)`` in gpugrad and in torch."""
    kinds = []
    for m in (gpugrad, torch):
        try:
            getattr(m, fn_name)(*args)
            kinds.append(None)
        except Exception as e:  # noqa: BLE001 - the type is what is compared
            kinds.append(type(e))
    return kinds


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_thread_count_checks(bad):
    ours, theirs = _both("set_num_threads", bad)
    assert ours is theirs is RuntimeError


def test_set_num_threads_acts_on_numpys_blas():
    threadpoolctl = pytest.importorskip("threadpoolctl")  # (a test dependency: bench's)
    before = gpugrad.get_num_threads()
    try:
        gpugrad.set_num_threads(1)
        assert gpugrad.get_num_threads() == 1
        blas = [p for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
        assert blas and all(p["num_threads"] == 1 for p in blas)
    finally:
        gpugrad.set_num_threads(before)
    assert gpugrad.get_num_threads() == before


def test_set_num_threads_warns_without_threadpoolctl(monkeypatch):
    monkeypatch.setattr(_switches, "_blas_controller", lambda: None)
    with pytest.warns(UserWarning, match="threadpoolctl is not installed"):
        gpugrad.set_num_threads(2)
    assert gpugrad.get_num_threads() >= 1


def test_interop_threads_set_once(monkeypatch):
    monkeypatch.setattr(_switches, "_interop_threads", None)
    assert gpugrad.get_num_interop_threads() >= 1
    with pytest.raises(RuntimeError, match="positive integer"):
        gpugrad.set_num_interop_threads(0)
    gpugrad.set_num_interop_threads(3)
    assert gpugrad.get_num_interop_threads() == 3
    with pytest.raises(RuntimeError, match="cannot set number of interop threads"):
        gpugrad.set_num_interop_threads(2)


@pytest.fixture
def restore_deterministic():
    yield
    gpugrad.use_deterministic_algorithms(False)


def test_deterministic_flags(restore_deterministic):
    assert not gpugrad.are_deterministic_algorithms_enabled()
    assert gpugrad.get_deterministic_debug_mode() == 0
    gpugrad.use_deterministic_algorithms(True)
    assert gpugrad.are_deterministic_algorithms_enabled()
    assert not gpugrad.is_deterministic_algorithms_warn_only_enabled()
    assert gpugrad.get_deterministic_debug_mode() == 2
    gpugrad.use_deterministic_algorithms(True, warn_only=True)
    assert gpugrad.get_deterministic_debug_mode() == 1
    for mode, want in (("default", 0), ("warn", 1), ("error", 2), (0, 0), (1, 1), (2, 2)):
        gpugrad.set_deterministic_debug_mode(mode)
        assert gpugrad.get_deterministic_debug_mode() == want
    gpugrad.use_deterministic_algorithms(False, warn_only=True)
    assert gpugrad.get_deterministic_debug_mode() == 0
    assert gpugrad.is_deterministic_algorithms_warn_only_enabled()


@pytest.mark.parametrize("call", [
    ("use_deterministic_algorithms", 1), ("set_deterministic_debug_mode", "x"),
    ("set_deterministic_debug_mode", 3), ("set_deterministic_debug_mode", 1.0),
    ("set_warn_always", 1), ("set_flush_denormal", 1), ("set_anomaly_enabled", 1),
])
def test_switch_argument_errors(call, restore_deterministic):
    ours, theirs = _both(*call)
    assert ours is theirs and ours is not None
    with pytest.raises(TypeError, match="warn_only"):
        gpugrad.use_deterministic_algorithms(True, warn_only=1)


def test_warn_always_flag():
    assert not gpugrad.is_warn_always_enabled()
    gpugrad.set_warn_always(True)
    try:
        assert gpugrad.is_warn_always_enabled()
    finally:
        gpugrad.set_warn_always(False)
    assert not gpugrad.is_warn_always_enabled()


def test_anomaly_mode_switches_the_autograd_mode():
    assert not gpugrad.is_anomaly_enabled() and gpugrad.is_anomaly_check_nan_enabled()
    gpugrad.set_anomaly_enabled(True, False)
    try:
        assert gpugrad.is_anomaly_enabled() and not gpugrad.is_anomaly_check_nan_enabled()
        assert gpugrad.autograd.anomaly_mode.is_anomaly_enabled()
    finally:
        gpugrad.set_anomaly_enabled(False)
    assert not gpugrad.is_anomaly_enabled()


def test_flush_denormal_reports_unsupported():
    tiny = np.float32(1e-40)  # a float32 denormal
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gpugrad.set_flush_denormal(True) is False
        assert gpugrad.set_flush_denormal(False) is False
    assert (gpugrad.tensor([tiny]) * 1).item() != 0  # denormals are kept

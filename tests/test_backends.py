"""``gpugrad.backends``: what the tutorials' device selection asks."""

from __future__ import annotations

import gpugrad


def test_mps_is_reported_absent():
    assert gpugrad.backends.mps.is_available() is False
    assert gpugrad.backends.mps.is_built() is False
    device = ("cuda" if gpugrad.cuda.is_available()
              else "mps" if gpugrad.backends.mps.is_available() else "cpu")
    assert device in ("cuda", "cpu")

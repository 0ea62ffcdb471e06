"""Every op of the registry under ``gpugrad.compile``: a function of the op alone, called on
two sets of inputs of the same shapes in turn (call 1 eager, call 2 captured, then replays),
gives eager's values at every call. An op that computes something the capture cannot see
(indexing a constant array with a recorded one, a view built from a buffer) replays the
first call's numbers and fails here; one that falls back to eager passes, as it is correct.

Not collected by the suite itself: ``test_registry_compiled.py`` runs this file in fresh
processes, a part of the registry each (``GPUGRAD_REGISTRY_PART="i/n"``: every n-th spec from
the i-th)."""

from __future__ import annotations

import os
import warnings

import numpy as np
import opinfo.specs  # noqa: F401  (fills the registry)
import pytest
from opinfo import REGISTRY

import gpugrad


def _tensors(sample):
    out = []
    for a in sample.args:
        if isinstance(a, np.ndarray):
            out.append(gpugrad.tensor(a.astype(np.float32) if a.dtype == np.float64 else a))
        else:
            out.append(a)
    return out


def _arrays(result):
    parts = result if isinstance(result, (tuple, list)) else (result,)
    return [p.detach().numpy() for p in parts if isinstance(p, gpugrad.Tensor)]


_PART = os.environ.get("GPUGRAD_REGISTRY_PART")
SPECS = REGISTRY if _PART is None else REGISTRY[int(_PART.split("/")[0])::int(_PART.split("/")[1])]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_compiled_op_equals_eager_on_new_inputs(spec):
    pairs = list(zip(spec.samples(np.random.default_rng(0)),
                     spec.samples(np.random.default_rng(1))))[:2]
    for first, second in pairs:
        calls = [_tensors(first), _tensors(second)]
        if any(isinstance(a, gpugrad.Tensor) and a.shape != b.shape
               for a, b in zip(*calls)):
            continue  # (samples of random shapes: one signature each, nothing replayed)

        def fn(*args, _spec=spec, _kwargs=first.kwargs):
            return _spec.op(gpugrad, *args, **_kwargs)

        compiled = gpugrad.compile(fn)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for args in calls + calls:
                want, got = _arrays(fn(*args)), _arrays(compiled(*args))
                for w, g in zip(want, got, strict=True):
                    assert w.shape == g.shape
                    np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6, equal_nan=True)

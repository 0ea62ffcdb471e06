"""Specs of ``nn.functional.pad`` in its four modes: 1, 2 and 3 padded dims, batched and
unbatched inputs, negative pads (crops), empty batches, and PyTorch's errors."""

from __future__ import annotations

import numpy as np

from ..core import ErrorCase, OpSpec, Sample, randn, register


def _pad(mode):
    def op(m, x, pads, **kw):
        return m.nn.functional.pad(x, pads, mode, **kw)
    return op


def _index_mode_samples(rng):
    return [
        Sample((randn(rng, 2, 3, 5), (2, 1))),
        Sample((randn(rng, 3, 5), (1, 3)), note="unbatched"),
        Sample((randn(rng, 2, 2, 4, 5), (1, 2, 3, 0))),
        Sample((randn(rng, 2, 4, 5), (2, 2, 1, 1)), note="unbatched 2-D"),
        Sample((randn(rng, 1, 2, 3, 4, 5), (1, 1, 2, 0, 0, 2))),
        Sample((randn(rng, 2, 3, 5), (-1, 2)), note="crop on one side"),
        Sample((randn(rng, 0, 3, 5), (1, 1)), note="empty batch"),
    ]


def _constant_samples(rng):
    return [
        Sample((randn(rng, 2, 3, 5), (2, 1))),
        Sample((randn(rng, 2, 3, 5), (1, 0, 0, 2, 1, 1)), {"value": 1.5}),
        Sample((randn(rng, 4), (3, 1)), {"value": -2.0}, note="1-D"),
        Sample((randn(rng, 3, 6), (-2, 1, 1, -1)), note="crops"),
        Sample((randn(rng, 2, 5), (-3, -2)), note="cropped to nothing"),
        Sample((randn(rng, 0, 3), (1, 1, 2, 0)), note="empty"),
        Sample((randn(rng, 2, 3), ()), note="no padding"),
    ]


_ERRORS = [
    ErrorCase((np.ones((1, 2, 3)), (1, 2, 3)), RuntimeError, "divisible by 2"),
    ErrorCase((np.ones((2, 3)), (1, 1, 1, 1, 1, 1)), RuntimeError, "two times the input"),
    ErrorCase((np.ones((2, 3)), (-2, -2)), RuntimeError, "length must be non-negative"),
    ErrorCase((np.ones((2, 3)), (1.5, 1)), TypeError, "tuple of ints"),
]
_INDEX_ERRORS = [
    ErrorCase((np.ones(3), (1, 1)), NotImplementedError, "not supported for 1D input"),
    ErrorCase((np.ones((2, 3)), (1, 1, 1, 1)), NotImplementedError, "Padding size 4"),
    ErrorCase((np.ones((1, 0, 3)), (1, 1)), RuntimeError, "non-zero dimensions"),
]

register(
    OpSpec("nn.pad_constant", _pad("constant"), _constant_samples, errors=_ERRORS),
    OpSpec("nn.pad_reflect", _pad("reflect"), _index_mode_samples, errors=_INDEX_ERRORS + [
        ErrorCase((np.ones((1, 2, 3)), (3, 3)), RuntimeError, "Padding size should be less"),
        ErrorCase((np.ones((1, 2, 3)), (1, 1)), RuntimeError, "doesn't take in value",
                  {"value": 1.0}),
    ]),
    OpSpec("nn.pad_replicate", _pad("replicate"), _index_mode_samples, errors=_INDEX_ERRORS),
    OpSpec("nn.pad_circular", _pad("circular"), _index_mode_samples, errors=[
        ErrorCase((np.ones((1, 2, 3)), (4, 0)), RuntimeError, "wrapping around more than once"),
    ]),
    OpSpec("nn.pad_unknown_mode", _pad("mirror"), lambda rng: [], errors=[
        ErrorCase((np.ones((1, 2, 3)), (1, 1)), NotImplementedError, "Unrecognised padding"),
    ]),
)

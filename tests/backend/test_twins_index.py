"""The NumPy twins' flat fast paths of ``add_at`` and ``gather`` against NumPy's own
``np.add.at`` and ``take_along_axis`` on random shapes and keys: identical results."""

from __future__ import annotations

import numpy as np

from gpugrad.backend.numpy_backend import NumpyBackend


def _backend():
    backend = object.__new__(NumpyBackend)
    backend.xp = np
    return backend


def _random_key(rng, shape):
    """Full slices around one run of adjacent index arrays (repeats included), sometimes
    with the trailing slices left out."""
    nd = len(shape)
    first = int(rng.integers(0, nd))
    stop = int(rng.integers(first, nd)) + 1
    key = []
    for d in range(nd):
        if not first <= d < stop:
            key.append(slice(None))
        elif shape[d] == 0:
            key.append(np.zeros((0,), np.int64))
        elif d == first:
            key.append(rng.integers(0, shape[d], tuple(rng.integers(1, 4, rng.integers(0, 3)))))
        else:
            key.append(rng.integers(0, shape[d], (1,)))
    if rng.random() < 0.3:
        key = key[:stop]
    return tuple(key)


def test_add_at_matches_numpy_add_at():
    backend, rng = _backend(), np.random.default_rng(0)
    flat_paths = 0
    for _ in range(1000):
        shape = tuple(int(n) for n in rng.integers(0, 5, rng.integers(1, 5)))
        key = _random_key(rng, shape)
        expected, got = np.zeros(shape), np.zeros(shape)
        try:
            values = rng.standard_normal(expected[key].shape)
        except IndexError:  # a key NumPy itself refuses
            continue
        np.add.at(expected, key, values)
        backend.add_at(got, key, values)
        np.testing.assert_array_equal(got, expected)
        flat = backend.flat_index(got, key)
        flat_paths += flat is not None
        assert flat is None or flat.shape == expected[key].shape
    assert flat_paths > 500


def test_add_at_keeps_other_keys_on_numpys_path():
    backend = _backend()
    out = np.zeros((3, 4))
    key = (np.array([0, 0, 2]), slice(None), )
    strided = np.zeros((3, 8))[:, ::2]
    assert backend.flat_index(strided, key) is None
    assert backend.flat_index(out, (np.array([1]), slice(1, 3))) is None
    assert backend.flat_index(out, (np.array([1]), slice(None), np.array([1]))) is None
    backend.add_at(out, (np.array([-1, -1]), slice(None)), np.ones(4))
    np.testing.assert_array_equal(out[2], 2.0)


def test_gather_matches_take_along_axis():
    backend, rng = _backend(), np.random.default_rng(1)
    for _ in range(200):
        x = rng.standard_normal((3, 4, 5))
        dim = int(rng.integers(0, 3))
        shape = [int(rng.integers(1, n + 1)) if d != dim else 6 for d, n in enumerate(x.shape)]
        index = rng.integers(0, x.shape[dim], shape)
        crop = tuple(slice(0, n) if d != dim else slice(None) for d, n in enumerate(shape))
        expected = np.take_along_axis(x[crop], index, axis=dim)
        np.testing.assert_array_equal(backend.gather(x, dim, index), expected)
        np.testing.assert_array_equal(backend.gather(x.transpose(2, 0, 1).copy().transpose(
            1, 2, 0), dim, index), expected)

"""complex64 and complex128, gpugrad's first cut, held to torch 2.13's CPU build.

The allowed set: the two dtypes (aliases cfloat, cdouble) and their promotion with every other
dtype, 0-d tensors and Python numbers; creation (tensor, as_tensor, from_numpy, the factories
and their ``*_like``, complex, polar, view_as_complex, view_as_real); real and imag (views that
share memory), conj and its resolvers, abs, angle, copies, casts, numpy, tolist, item and
printing; + - * / with complex and real tensors and Python numbers, neg, exp, sum, mean, eq, ne;
the shape ops; autograd through all of them with PyTorch's convention (for a real loss L,
``z.grad`` is dL/dRe z + i dL/dIm z; a real input of a complex op gets a real gradient of its
own dtype). Everything else refuses a complex input with NotImplementedError.

Most cases run once with gpugrad and once with torch and compare the results: dtypes, shapes
and values (complex128 within 1e-12, complex64 within a few 1e-6 relative), or the type of what
was raised. Cases that state an outcome run with torch first, so that the statement is what
PyTorch does.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

import gpugrad

COMPLEX = ["complex64", "complex128"]
REAL_OF = {"complex64": "float32", "complex128": "float64"}
OTHER = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32",
         "float64"]
LIBS = (torch, gpugrad)  # torch first: a statement that torch breaks fails as such
_SINGLE = ("float16", "bfloat16", "float32", "complex64")


# ------------------------------------------------------------------------------ helpers
def _name(dtype) -> str:
    return str(dtype).split(".")[-1]


def _np(t) -> np.ndarray:
    """A tensor's values as a NumPy array. (torch's numpy() refuses a tensor whose conjugate or
    negative bit is set; the resolvers are no-ops elsewhere.)"""
    return t.detach().resolve_conj().resolve_neg().numpy()


def _tol(dtype_name: str, grad: bool = False) -> dict:
    if dtype_name in _SINGLE:
        return dict(rtol=2e-5, atol=2e-5) if grad else dict(rtol=2e-6, atol=1e-6)
    return dict(rtol=1e-11, atol=1e-12) if grad else dict(rtol=1e-12, atol=1e-12)


def _rand(shape, dtype_name: str, seed: int = 0) -> np.ndarray:
    """Normal values of a float or complex NumPy dtype."""
    rng = np.random.default_rng(seed)
    arr = rng.standard_normal(shape)
    if dtype_name.startswith("complex"):
        arr = arr + 1j * rng.standard_normal(shape)
    return arr.astype(dtype_name)


def _close(got, want, grad: bool = False, tol_of: str | None = None):
    """``got`` (gpugrad's) matches ``want`` (torch's): tensors in dtype, shape and values;
    numbers in type and value; dtypes, sizes and strings by name."""
    if isinstance(want, torch.Tensor):
        assert isinstance(got, gpugrad.Tensor), type(got)
        name = _name(want.dtype)
        assert _name(got.dtype) == name
        assert tuple(got.shape) == tuple(want.shape)
        ours, theirs = _np(got), _np(want)
        if ours.dtype.kind in "fc":
            np.testing.assert_allclose(ours, theirs, **_tol(tol_of or name, grad))
        else:
            np.testing.assert_array_equal(ours, theirs)
    elif isinstance(want, torch.dtype):
        assert _name(got) == _name(want)
    elif isinstance(want, torch.Size):
        assert tuple(got) == tuple(want)
    elif isinstance(want, (tuple, list)):
        assert isinstance(got, (tuple, list)) and len(got) == len(want)
        for g, w in zip(got, want):
            _close(g, w, grad, tol_of)
    elif isinstance(want, (complex, float)) and not isinstance(want, bool):
        assert type(got) is type(want), (got, want)
        np.testing.assert_allclose(got, want, **_tol(tol_of or "complex64", grad))
    elif isinstance(want, str):
        assert got.replace("gpugrad.", "torch.") == want
    else:
        assert got == want and type(got) is type(want)


def _same(fn, *args):
    """``fn(lib, *args)`` gives the same with gpugrad and torch; returns gpugrad's."""
    want = fn(torch, *args)
    got = fn(gpugrad, *args)
    _close(got, want)
    return got


def _same_outcome(fn, *args):
    """``fn(lib, *args)`` gives the same result, or raises the same type of exception, with
    gpugrad and torch."""
    try:
        want = fn(torch, *args)
    except Exception as exc:  # noqa: BLE001 - the error is the result compared
        assert _raised(fn, gpugrad, *args) == type(exc).__name__
        return
    _close(fn(gpugrad, *args), want)


def _raised(fn, lib, *args) -> str:
    with pytest.raises(Exception) as caught:
        fn(lib, *args)
    return type(caught.value).__name__


def _same_error(fn, *args):
    """``fn(lib, *args)`` raises the same type of exception with gpugrad and torch."""
    assert _raised(fn, gpugrad, *args) == _raised(fn, torch, *args)


def _z(L, d, shape=(2, 3), seed=0):
    return L.tensor(_rand(shape, d, seed))


def _dt(L, name):
    return getattr(L, name)


# ------------------------------------------------------------------------------ dtypes
def test_dtype_objects_and_aliases():
    assert gpugrad.cfloat is gpugrad.complex64 and gpugrad.cdouble is gpugrad.complex128
    for d in COMPLEX:
        ours, theirs = getattr(gpugrad, d), getattr(torch, d)
        assert repr(ours).replace("gpugrad.", "torch.") == repr(theirs) == f"torch.{d}"
        assert str(ours) == repr(ours)
        for attr in ("is_complex", "is_floating_point", "is_signed", "itemsize"):
            assert getattr(ours, attr) == getattr(theirs, attr), attr
        assert ours.is_complex and not ours.is_floating_point
        assert pickle.loads(pickle.dumps(ours)) is ours
        assert ours.to_real() is getattr(gpugrad, REAL_OF[d])
        assert ours.to_complex() is ours
        assert getattr(gpugrad, REAL_OF[d]).to_complex() is ours
    assert gpugrad.complex64.itemsize == 8 and gpugrad.complex128.itemsize == 16
    for name in OTHER:
        assert not getattr(gpugrad, name).is_complex


@pytest.mark.parametrize("name", ["float32", "float64", "bfloat16", "complex64", "complex128"])
def test_to_complex_and_to_real_as_torch(name):
    _same(lambda L: _dt(L, name).to_complex())
    _same(lambda L: _dt(L, name).to_real())


@pytest.mark.parametrize("name", ["int64", "bool", "uint8"])
def test_to_complex_of_a_non_floating_dtype_raises_as_torch(name):
    _same_error(lambda L: _dt(L, name).to_complex())


@pytest.mark.parametrize("other", OTHER + COMPLEX)
@pytest.mark.parametrize("d", COMPLEX)
def test_promote_types_as_torch(d, other):
    _same(lambda L: L.promote_types(_dt(L, d), _dt(L, other)))
    _same(lambda L: L.promote_types(_dt(L, other), _dt(L, d)))


def _dim(L, name):
    return L.ones(2, dtype=_dt(L, name))


def _zero_d(L, name):
    return L.tensor(1, dtype=_dt(L, name))


# (a, b) pairs across PyTorch's tiers: dimensioned tensors > 0-d tensors > Python numbers; a
# higher category (bool < int < float < complex) in a lower tier still sets the category, and a
# floating dim tensor keeps its precision (0-d complex128 + float32 -> complex64)
TIERS = {
    "f32+1j": lambda L: (_dim(L, "float32"), 1j),
    "f64+1j": lambda L: (_dim(L, "float64"), 1j),
    "bf16+1j": lambda L: (_dim(L, "bfloat16"), 1j),
    "i64+1j": lambda L: (_dim(L, "int64"), 1j),
    "i32+2j": lambda L: (_dim(L, "int32"), 2j),
    "u8+1j": lambda L: (_dim(L, "uint8"), 1j),
    "bool+1j": lambda L: (_dim(L, "bool"), 1 + 1j),
    "c64+int": lambda L: (_dim(L, "complex64"), 2),
    "c64+float": lambda L: (_dim(L, "complex64"), 2.5),
    "c64+bool": lambda L: (_dim(L, "complex64"), True),
    "c64+1j": lambda L: (_dim(L, "complex64"), 1j),
    "c128+1j": lambda L: (_dim(L, "complex128"), 1j),
    "c128+float": lambda L: (_dim(L, "complex128"), 0.5),
    "c64+0d_f64": lambda L: (_dim(L, "complex64"), _zero_d(L, "float64")),
    "c64+0d_c128": lambda L: (_dim(L, "complex64"), _zero_d(L, "complex128")),
    "c64+0d_i64": lambda L: (_dim(L, "complex64"), _zero_d(L, "int64")),
    "0d_c64+f64": lambda L: (_zero_d(L, "complex64"), _dim(L, "float64")),
    "0d_c64+f32": lambda L: (_zero_d(L, "complex64"), _dim(L, "float32")),
    "0d_c128+f32": lambda L: (_zero_d(L, "complex128"), _dim(L, "float32")),
    "0d_c128+bf16": lambda L: (_zero_d(L, "complex128"), _dim(L, "bfloat16")),
    "0d_c64+i64": lambda L: (_zero_d(L, "complex64"), _dim(L, "int64")),
    "0d_c128+i64": lambda L: (_zero_d(L, "complex128"), _dim(L, "int64")),
    "0d_c128+bool": lambda L: (_zero_d(L, "complex128"), _dim(L, "bool")),
    "0d_c128+c64": lambda L: (_zero_d(L, "complex128"), _dim(L, "complex64")),
    "f64*c64": lambda L: (_dim(L, "float64"), _dim(L, "complex64")),
    "f32*c128": lambda L: (_dim(L, "float32"), _dim(L, "complex128")),
    "i64*c64": lambda L: (_dim(L, "int64"), _dim(L, "complex64")),
    "c64*c128": lambda L: (_dim(L, "complex64"), _dim(L, "complex128")),
    "0d_f64*0d_c64": lambda L: (_zero_d(L, "float64"), _zero_d(L, "complex64")),
    "0d_c64*0d_f32": lambda L: (_zero_d(L, "complex64"), _zero_d(L, "float32")),
    "0d_i64+1j": lambda L: (_zero_d(L, "int64"), 1j),
    "0d_f64+1j": lambda L: (_zero_d(L, "float64"), 1j),
    "0d_f32+1j": lambda L: (_zero_d(L, "float32"), 1j),
    "0d_c64+float": lambda L: (_zero_d(L, "complex64"), 1.5),
    "0d_c128+int": lambda L: (_zero_d(L, "complex128"), 3),
}


@pytest.mark.parametrize("case", list(TIERS))
def test_result_type_and_operator_dtypes_across_tiers(case):
    make = TIERS[case]
    _same(lambda L: L.result_type(*make(L)))
    _same(lambda L: L.result_type(*reversed(make(L))))
    # (bool tensors refuse subtraction: RuntimeError, also with a complex other)
    for op in (lambda a, b: a + b, lambda a, b: b + a, lambda a, b: a * b, lambda a, b: b - a,
               lambda a, b: a / b, lambda a, b: b / a):
        _same_outcome(lambda L, op: op(*make(L)).dtype, op)


def test_result_type_of_two_python_numbers():
    _same(lambda L: L.result_type(1j, 2))
    _same(lambda L: L.result_type(2.5, 1j))


def test_float64_default_makes_python_complex_complex128():
    cases = {
        "tensor": lambda L: L.tensor(1 + 2j).dtype,
        "tensor_list": lambda L: L.tensor([1, 2j]).dtype,
        "as_tensor": lambda L: L.as_tensor([1j]).dtype,
        "full": lambda L: L.full((2,), 1j).dtype,
        "int_tensor_plus_1j": lambda L: (_dim(L, "int64") + 1j).dtype,
        "bool_0d_times_1j": lambda L: (_zero_d(L, "bool") * 1j).dtype,
        "result_type_int": lambda L: L.result_type(_dim(L, "int64"), 1j),
        "result_type_0d": lambda L: L.result_type(_zero_d(L, "int64"), 1j),
        # a floating dim tensor keeps its precision whatever the default
        "float32_plus_1j": lambda L: (_dim(L, "float32") + 1j).dtype,
        "complex64_plus_float": lambda L: (_dim(L, "complex64") + 1.5).dtype,
    }
    for L in LIBS:
        assert L.get_default_dtype() == L.float32
    try:
        for L in LIBS:
            L.set_default_dtype(L.float64)
        for L in LIBS:
            assert L.get_default_dtype() == L.float64
        got = {k: _name(fn(gpugrad)) for k, fn in cases.items()}
        want = {k: _name(fn(torch)) for k, fn in cases.items()}
    finally:
        for L in LIBS:
            L.set_default_dtype(L.float32)
    assert got == want
    assert want["tensor"] == want["int_tensor_plus_1j"] == "complex128"
    assert want["float32_plus_1j"] == "complex64"


# ------------------------------------------------------------------------------ creation
_C128 = np.array([[1 + 2j, -3.5j, 0.25], [2 - 1j, -1 - 1j, 4 + 4j]])

CREATE = {
    "tensor_scalar": lambda L: L.tensor(1 + 2j),
    "tensor_scalar_c128": lambda L: L.tensor(-1.5 + 0.5j, dtype=L.complex128),
    "tensor_list": lambda L: L.tensor([1 + 2j, -3j, 0.5]),
    "tensor_nested_mixed": lambda L: L.tensor([[1, 2j], [3.5, True]]),
    "tensor_dtype_c128": lambda L: L.tensor([1 + 2j, 3], dtype=L.complex128),
    "tensor_cdouble_alias": lambda L: L.tensor([0.1 + 0.2j], dtype=L.cdouble),
    "tensor_floats_as_complex": lambda L: L.tensor([1.5, 2], dtype=L.cfloat),
    "tensor_int_as_complex": lambda L: L.tensor(3, dtype=L.complex128),
    "tensor_empty": lambda L: L.tensor([], dtype=L.complex64),
    "tensor_nan_inf": lambda L: L.tensor([complex(float("nan"), 1), complex(1, float("inf"))]),
    "tensor_numpy_c128": lambda L: L.tensor(_C128),
    "tensor_numpy_c64": lambda L: L.tensor(_C128.astype(np.complex64)),
    "tensor_numpy_cast": lambda L: L.tensor(_C128, dtype=L.complex64),
    "tensor_numpy_real_to_complex": lambda L: L.tensor(np.array([1.5, 2.0]), dtype=L.complex128),
    "tensor_numpy_scalar": lambda L: L.tensor(np.complex128(1 + 2j)),
    "tensor_list_of_numpy_scalars": lambda L: L.tensor([np.complex128(1 + 2j), 3]),
    "as_tensor_list": lambda L: L.as_tensor([1j, 2]),
    "as_tensor_numpy": lambda L: L.as_tensor(_C128),
    "as_tensor_numpy_cast": lambda L: L.as_tensor(_C128.astype(np.complex64), dtype=L.complex128),
    "as_tensor_real_list": lambda L: L.as_tensor([1.0, 2.0], dtype=L.complex64),
    "from_numpy_c128": lambda L: L.from_numpy(_C128.copy()),
    "from_numpy_c64": lambda L: L.from_numpy(_C128.astype(np.complex64)),
    "from_numpy_transposed": lambda L: L.from_numpy(_C128.copy().T),
    "zeros": lambda L: L.zeros(2, 3, dtype=L.complex64),
    "zeros_tuple": lambda L: L.zeros((0, 2), dtype=L.complex128),
    "ones": lambda L: L.ones(3, dtype=L.cdouble),
    "ones_0d": lambda L: L.ones((), dtype=L.complex64),
    "full_complex": lambda L: L.full((2, 2), 1 - 2j, dtype=L.complex64),
    "full_inferred": lambda L: L.full((3,), 2 + 1j),
    "full_float_value": lambda L: L.full((2,), 1.5, dtype=L.complex128),
    "full_int_value": lambda L: L.full((2,), 3, dtype=L.complex64),
    "empty": lambda L: (L.empty(2, 3, dtype=L.complex128).shape,
                        L.empty(2, 3, dtype=L.complex128).dtype),
    "zeros_like": lambda L: L.zeros_like(L.tensor(_C128)),
    "ones_like": lambda L: L.ones_like(L.tensor(_C128, dtype=L.complex64)),
    "ones_like_real_to_complex": lambda L: L.ones_like(L.ones(2, 3), dtype=L.complex128),
    "full_like": lambda L: L.full_like(L.tensor(_C128), 1 + 1j),
    "full_like_real_to_complex": lambda L: L.full_like(L.ones(2), 1j, dtype=L.complex64),
    "empty_like": lambda L: (L.empty_like(L.tensor(_C128)).shape,
                             L.empty_like(L.tensor(_C128)).dtype),
    "zeros_like_transposed": lambda L: L.zeros_like(L.tensor(_C128).t()),
}


@pytest.mark.parametrize("name", list(CREATE))
def test_creation_as_torch(name):
    _same(CREATE[name])


@pytest.mark.parametrize("name", ["tensor_real_dtype", "tensor_int_dtype", "full_real_dtype",
                                  "full_like_real"])
def test_complex_numbers_into_real_dtypes_raise_as_torch(name):
    """torch: TypeError from tensor(), RuntimeError ("value cannot be converted to type float
    without overflow") from full and full_like."""
    _same_error({
        "tensor_real_dtype": lambda L: L.tensor([1j], dtype=L.float32),
        "tensor_int_dtype": lambda L: L.tensor([1 + 2j], dtype=L.int64),
        "full_real_dtype": lambda L: L.full((2,), 1j, dtype=L.float32),
        "full_like_real": lambda L: L.full_like(L.ones(2), 1j),
    }[name])


def test_from_numpy_and_as_tensor_share_memory():
    for L in LIBS:
        for make in (L.from_numpy, L.as_tensor):
            arr = _C128.copy()
            t = make(arr)
            assert np.shares_memory(t.numpy(), arr)
            arr[0, 0] = 7 - 7j
            assert t[0, 0].item() == 7 - 7j
        arr = _C128.astype(np.complex64)
        assert np.shares_memory(L.from_numpy(arr).numpy(), arr)
        assert not np.shares_memory(L.tensor(arr).numpy(), arr)


def _real_pair(L, d, shapes=((2, 3), (2, 3))):
    r = REAL_OF[d]
    return L.tensor(_rand(shapes[0], r, 1)), L.tensor(_rand(shapes[1], r, 2))


COMPLEX_FROM_PARTS = {
    "same_shape": lambda L, f, d: f(*_real_pair(L, d)),
    "broadcast": lambda L, f, d: f(*_real_pair(L, d, ((2, 1), (3,)))),
    "zero_d": lambda L, f, d: f(*_real_pair(L, d, ((), ()))),
    "empty": lambda L, f, d: f(*_real_pair(L, d, ((0, 3), (3,)))),
    "transposed": lambda L, f, d: f(*(t.t() for t in _real_pair(L, d))),
    "sliced": lambda L, f, d: f(*(t[:, ::2] for t in _real_pair(L, d))),
}


@pytest.mark.parametrize("case", list(COMPLEX_FROM_PARTS))
@pytest.mark.parametrize("fn", ["complex", "polar"])
@pytest.mark.parametrize("d", COMPLEX)
def test_complex_and_polar_as_torch(d, fn, case):
    _same(lambda L: COMPLEX_FROM_PARTS[case](L, getattr(L, fn), d))


def test_complex_and_polar_by_hand():
    for L in LIBS:
        z = L.complex(L.tensor([1.0, -2.0]), L.tensor([0.5, 3.0]))
        assert z.dtype == L.complex64 and z.tolist() == [1 + 0.5j, -2 + 3j]
        p = L.polar(L.tensor([2.0], dtype=L.float64), L.tensor([np.pi / 2], dtype=L.float64))
        assert p.dtype == L.complex128
        np.testing.assert_allclose(p.numpy(), [2j], atol=1e-15)


@pytest.mark.parametrize("fn", ["complex", "polar"])
@pytest.mark.parametrize("dtypes", [("float32", "float64"), ("float64", "float32"),
                                    ("int64", "int64"), ("complex64", "complex64"),
                                    ("bool", "bool")])
def test_complex_and_polar_refuse_other_dtypes_as_torch(fn, dtypes):
    """torch: RuntimeError ("Expected object of scalar type Float but got scalar type Double
    for second argument", "Expected both inputs to be Half, Float or Double tensors but got
    Long and Long")."""
    _same_error(lambda L: getattr(L, fn)(L.ones(2, dtype=_dt(L, dtypes[0])),
                                         L.ones(2, dtype=_dt(L, dtypes[1]))))


VIEW_AS_COMPLEX = {
    "rows": lambda L, r: L.view_as_complex(L.tensor(_rand((3, 2), r))),
    "one_pair_is_0d": lambda L, r: L.view_as_complex(L.tensor(_rand((2,), r))),
    "3d": lambda L, r: L.view_as_complex(L.tensor(_rand((2, 3, 2), r))),
    "every_other_row": lambda L, r: L.view_as_complex(L.tensor(_rand((4, 2), r))[::2]),
    "leading_columns": lambda L, r: L.view_as_complex(L.tensor(_rand((3, 4), r))[:, :2]),
    "even_offset": lambda L, r: L.view_as_complex(L.tensor(_rand((8,), r))[2:].view(3, 2)),
    "expanded": lambda L, r: L.view_as_complex(L.tensor(_rand((1, 2), r)).expand(3, 2)),
    # (torch.tensor of an empty NumPy array has all strides 0, which view_as_complex refuses)
    "empty": lambda L, r: L.view_as_complex(L.zeros(0, 2, dtype=_dt(L, r))),
    "strides": lambda L, r: L.view_as_complex(L.tensor(_rand((4, 3, 2), r))[::2]).stride(),
}


@pytest.mark.parametrize("case", list(VIEW_AS_COMPLEX))
@pytest.mark.parametrize("d", COMPLEX)
def test_view_as_complex_as_torch(d, case):
    _same(VIEW_AS_COMPLEX[case], REAL_OF[d])


VIEW_AS_COMPLEX_ERRORS = {
    "last_dim_3": lambda L: L.view_as_complex(L.ones(3, 3)),
    "last_dim_1": lambda L: L.view_as_complex(L.ones(3, 1)),
    "zero_d": lambda L: L.view_as_complex(L.tensor(1.0)),
    "transposed": lambda L: L.view_as_complex(L.ones(2, 3).t()),
    "last_stride_2": lambda L: L.view_as_complex(L.ones(3, 4)[:, ::2]),
    "odd_outer_stride": lambda L: L.view_as_complex(L.ones(3, 3)[:, :2]),
    "odd_offset": lambda L: L.view_as_complex(L.ones(7)[1:].view(3, 2)),
    "int64": lambda L: L.view_as_complex(L.ones(3, 2, dtype=L.int64)),
    "complex": lambda L: L.view_as_complex(L.ones(3, 2, dtype=L.complex64)),
}


@pytest.mark.parametrize("case", list(VIEW_AS_COMPLEX_ERRORS))
def test_view_as_complex_bad_input_raises_as_torch(case):
    """torch: RuntimeError for each ("Tensor must have a last dimension of size 2", "... with
    stride 1", "... a stride divisible by 2 for all but last dimension", "... a storage_offset
    divisible by 2", "view_as_complex is only supported for half, float and double tensors")."""
    _same_error(VIEW_AS_COMPLEX_ERRORS[case])


VIEW_AS_REAL = {
    "values": lambda L, z: L.view_as_real(z),
    "zero_d": lambda L, z: L.view_as_real(z[0, 1]),
    "stride": lambda L, z: L.view_as_real(z).stride(),
    "transposed": lambda L, z: L.view_as_real(z.t()),
    "transposed_stride": lambda L, z: L.view_as_real(z.t()).stride(),
    "sliced_stride": lambda L, z: L.view_as_real(z[:, 1:]).stride(),
    "empty": lambda L, z: L.view_as_real(z[:0]),
    "round_trip": lambda L, z: L.view_as_complex(L.view_as_real(z)),
}


@pytest.mark.parametrize("case", list(VIEW_AS_REAL))
@pytest.mark.parametrize("d", COMPLEX)
def test_view_as_real_as_torch(d, case):
    _same(lambda L: VIEW_AS_REAL[case](L, _z(L, d)))


def test_view_as_real_of_a_real_tensor_raises_as_torch():
    _same_error(lambda L: L.view_as_real(L.ones(3)))
    _same_error(lambda L: L.view_as_real(L.ones(3, dtype=L.int64)))


@pytest.mark.parametrize("d", COMPLEX)
def test_view_as_complex_and_view_as_real_share_memory(d):
    for L in LIBS:
        x = L.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=_dt(L, REAL_OF[d]))
        z = L.view_as_complex(x)
        x[1, 1] = -5.0
        assert z.tolist() == [1 + 2j, 3 - 5j] and z.dtype == _dt(L, d)
        z = L.tensor([1 + 2j, 3 - 4j], dtype=_dt(L, d))
        r = L.view_as_real(z)
        r[0, 1] = 9.0
        r[1] = 0.5
        assert z.tolist() == [1 + 9j, 0.5 + 0.5j] and r.dtype == _dt(L, REAL_OF[d])


# ------------------------------------------------------------------------------ attributes
# a negative real entry (angle pi) and a zero (angle 0, abs 0) among ordinary values
_VALUES = np.array([[1 + 2j, -3 + 0j, 0.5j, 0j], [2 - 1j, -1 - 1j, 4 + 4.5j, -0.25 + 3j]])


def _v(L, d):
    return L.tensor(_VALUES, dtype=_dt(L, d))


ATTRIBUTES = {
    "real": lambda L, z: z.real, "imag": lambda L, z: z.imag,
    "real_fn": lambda L, z: L.real(z), "imag_fn": lambda L, z: L.imag(z),
    "real_transposed": lambda L, z: z.t().real, "imag_sliced": lambda L, z: z[:, 1::2].imag,
    "real_stride": lambda L, z: z.real.stride(), "imag_stride": lambda L, z: z.t().imag.stride(),
    "imag_is_contiguous": lambda L, z: z.imag.is_contiguous(),
    "real_of_0d": lambda L, z: z[1, 3].real, "imag_of_empty": lambda L, z: z[:, :0].imag,
    "conj": lambda L, z: z.conj(), "conj_fn": lambda L, z: L.conj(z),
    "conj_conj": lambda L, z: z.conj().conj(), "conj_transposed": lambda L, z: z.t().conj(),
    "conj_real": lambda L, z: z.conj().real, "conj_imag": lambda L, z: z.conj().imag,
    "conj_physical": lambda L, z: z.conj_physical(),
    "conj_physical_fn": lambda L, z: L.conj_physical(z.t()),
    "resolve_conj": lambda L, z: z.conj().resolve_conj(),
    "resolve_conj_fn": lambda L, z: L.resolve_conj(z),
    "resolve_neg": lambda L, z: z.conj().imag.resolve_neg(),
    "resolve_neg_fn": lambda L, z: L.resolve_neg(z),
    "is_complex": lambda L, z: z.is_complex(), "is_complex_fn": lambda L, z: L.is_complex(z),
    "real_is_complex": lambda L, z: z.real.is_complex(),
    "abs": lambda L, z: z.abs(), "abs_fn": lambda L, z: L.abs(z.t()),
    "angle": lambda L, z: z.angle(), "angle_fn": lambda L, z: L.angle(z[:, ::2]),
    "clone": lambda L, z: z.clone(), "clone_transposed": lambda L, z: z.t().clone(),
    "detach": lambda L, z: z.detach(), "contiguous": lambda L, z: z.t().contiguous(),
    "contiguous_is": lambda L, z: z.t().contiguous().is_contiguous(),
    "to_complex128": lambda L, z: z.to(L.complex128), "to_complex64": lambda L, z:
    z.to(L.complex64), "to_dtype_keyword": lambda L, z: z.to(dtype=L.cdouble),
    "to_transposed": lambda L, z: z.t().to(L.complex128),
    "float32_to_complex": lambda L, z: z.real.to(z.dtype),
    "float64_to_complex64": lambda L, z: z.imag.double().to(L.complex64),
    "float32_to_complex128": lambda L, z: z.real.float().to(L.complex128),
    "int64_to_complex": lambda L, z: L.tensor([1, -2, 2**40]).to(z.dtype),
    "bool_to_complex": lambda L, z: L.tensor([True, False]).to(z.dtype),
    "uint8_to_complex": lambda L, z: L.tensor([0, 255], dtype=L.uint8).to(z.dtype),
    "numpy_dtype": lambda L, z: str(z.numpy().dtype),
    "numpy_values": lambda L, z: z.numpy().tolist(),
    "tolist": lambda L, z: z.tolist(), "tolist_0d": lambda L, z: z[0, 2].tolist(),
    "tolist_empty": lambda L, z: z[:0].tolist(), "item": lambda L, z: z[1, 2].item(),
    "item_real_valued": lambda L, z: z[0, 1].item(), "complex_of": lambda L, z: complex(z[0, 0]),
    "element_size": lambda L, z: z.element_size(),
}


@pytest.mark.parametrize("name", list(ATTRIBUTES))
@pytest.mark.parametrize("d", COMPLEX)
def test_attribute_as_torch(d, name):
    _same(lambda L: ATTRIBUTES[name](L, _v(L, d)))


@pytest.mark.parametrize("d", COMPLEX)
def test_real_and_imag_are_views_that_write_through(d):
    for L in LIBS:
        z = L.tensor([1 + 2j, 3 - 4j, 5j], dtype=_dt(L, d))
        assert z.real.dtype == z.imag.dtype == _dt(L, REAL_OF[d])
        z.real[0] = 10.0
        z.imag.mul_(2)
        assert z.tolist() == [10 + 4j, 3 - 8j, 10j]
        z.imag[1:] = 0.0
        z.real.copy_(L.tensor([1.0, 2.0, 3.0]))
        assert z.tolist() == [1 + 4j, 2 + 0j, 3 + 0j]
        m = L.tensor(_VALUES, dtype=_dt(L, d))
        m.t().imag[0] = -1.0  # a column of a transposed view
        assert m[:, 0].tolist() == [1 - 1j, 2 - 1j]
        z2 = L.tensor([1 + 1j], dtype=_dt(L, d))
        z2.real.fill_(0.5)
        assert z2.item() == 0.5 + 1j


@pytest.mark.parametrize("d", COMPLEX)
def test_copies_casts_and_numpy(d):
    for L in LIBS:
        z = _v(L, d)
        assert z.to(_dt(L, d)) is z and z.contiguous() is z
        assert z.clone().data_ptr() != z.data_ptr()
        c = z.clone()
        c.real[0, 0] = 100.0
        assert z[0, 0].item() == 1 + 2j
        det = z.detach()
        det.imag[0, 0] = 100.0  # detach shares memory
        assert z[0, 0].item() == 1 + 100j
        arr = z.numpy()
        assert arr.dtype == np.dtype(d) and np.shares_memory(arr, z.numpy())
        arr[1, 1] = 0j
        assert z[1, 1].item() == 0j
        assert type(z[0, 1].item()) is complex and type(z.tolist()[0][0]) is complex


@pytest.mark.parametrize("name", ["float32", "int64"])
def test_real_tensor_real_is_itself_and_imag_raises_as_torch(name):
    """A real tensor's ``.real`` is the tensor; its ``.imag`` raises RuntimeError ("imag is
    not implemented for tensors with non-complex dtypes.")."""
    for L in LIBS:
        x = L.ones(3, dtype=_dt(L, name))
        assert x.real is x or x.real.data_ptr() == x.data_ptr()
        assert not x.is_complex()
        assert x.conj().tolist() == x.tolist() and x.resolve_conj().tolist() == x.tolist()
    _same(lambda L: L.ones(3, dtype=_dt(L, name)).real)
    _same(lambda L: L.tensor([1.0, -2.0, 0.0], dtype=_dt(L, name)).angle())
    _same(lambda L: L.tensor([1.0, -2.0], dtype=_dt(L, name)).conj_physical())
    assert _raised(lambda L: L.ones(3, dtype=_dt(L, name)).imag, torch) == "RuntimeError"
    for L in LIBS:
        with pytest.raises(RuntimeError, match="imag is not implemented for tensors with "
                                               "non-complex dtypes"):
            _ = L.ones(3, dtype=_dt(L, name)).imag


PRINTS = {
    "small": np.array([1 + 2j, 3 - 1j, 0.5j], np.complex64),
    "integer_valued": np.array([1 + 0j, 2, 3j], np.complex64),
    "zero_d": np.array(1.5 - 2j, np.complex64),
    "complex128": np.array([1 + 2j, -3.25j]),
    "sci": np.array([1e-5 + 1j, 3e5], np.complex64),
    "nonfinite": np.array([complex(np.nan, 1), complex(1, np.inf)], np.complex64),
    "negative_zero": np.array([complex(-0.0, -0.0), 0j], np.complex64),
    "mixed_magnitude": np.array([1e-3 + 1000j, 1 + 1j], np.complex64),
    "large": np.array([1e10 + 1j], np.complex64),
    "tiny_imag": np.array([1 + 1e-10j]),
    "rand2d": _rand((3, 4), "complex64", 5),
    "rand3d": _rand((2, 2, 3), "complex128", 6),
    "wide": _rand(20, "complex64", 7),
    "summarized": _rand(1200, "complex64", 8),
    "empty": np.zeros((0,), np.complex64),
    "empty2d": np.zeros((2, 0), np.complex128),
}


@pytest.mark.parametrize("name", list(PRINTS))
def test_repr_and_str_as_torch(name):
    ours, theirs = gpugrad.from_numpy(PRINTS[name].copy()), torch.from_numpy(PRINTS[name].copy())
    assert repr(ours).replace("gpugrad.", "torch.") == repr(theirs)
    assert str(ours) == repr(ours)


def test_repr_with_requires_grad_as_torch():
    for d in COMPLEX:
        ours = gpugrad.tensor([1 + 2j, -0.5j], dtype=getattr(gpugrad, d), requires_grad=True)
        theirs = torch.tensor([1 + 2j, -0.5j], dtype=getattr(torch, d), requires_grad=True)
        assert repr(ours).replace("gpugrad.", "torch.") == repr(theirs)


# ------------------------------------------------------------------------------ arithmetic
OPERATORS = {
    "+": lambda L, a, b: a + b, "-": lambda L, a, b: a - b, "*": lambda L, a, b: a * b,
    "/": lambda L, a, b: a / b,
}
FUNCTIONS = {
    "add": lambda L, a, b: L.add(a, b), "sub": lambda L, a, b: L.sub(a, b),
    "mul": lambda L, a, b: L.mul(a, b), "div": lambda L, a, b: L.div(a, b),
    "add_method": lambda L, a, b: a.add(b), "sub_method": lambda L, a, b: a.sub(b),
    "mul_method": lambda L, a, b: a.mul(b), "div_method": lambda L, a, b: a.div(b),
    "true_divide": lambda L, a, b: L.true_divide(a, b),
}


def _real(L, name, shape=(2, 3), seed=1):
    if name == "bool":
        return L.ones(shape, dtype=L.bool)
    if name == "int64":
        return L.arange(1, 1 + int(np.prod(shape))).reshape(shape)
    return L.tensor(_rand(shape, name, seed))


# name -> f(lib, d) -> (a, b), ``a`` complex of ``d``; no zero divisors
OPERANDS = {
    "complex": lambda L, d: (_z(L, d), _z(L, d, seed=1)),
    "other_precision": lambda L, d: (_z(L, d), _z(L, "complex64" if d == "complex128"
                                                    else "complex128", seed=1)),
    "broadcast_row": lambda L, d: (_z(L, d), _z(L, d, (3,), 1)),
    "broadcast_both": lambda L, d: (_z(L, d, (2, 1)), _z(L, d, (1, 3), 1)),
    "broadcast_0d": lambda L, d: (_z(L, d), _z(L, d, (), 1)),
    "transposed": lambda L, d: (_z(L, d, (3, 2)).t(), _z(L, d, (3, 2), 1).t()),
    "sliced": lambda L, d: (_z(L, d, (2, 6))[:, ::2], _z(L, d, (4, 3), 1)[1:3]),
    "empty": lambda L, d: (_z(L, d, (0, 3)), _z(L, d, (3,), 1)),
    "float32": lambda L, d: (_z(L, d), _real(L, "float32")),
    "float64": lambda L, d: (_z(L, d), _real(L, "float64")),
    "float64_transposed": lambda L, d: (_z(L, d), _real(L, "float64", (3, 2)).t()),
    "float32_broadcast": lambda L, d: (_z(L, d), _real(L, "float32", (2, 1))),
    "int64": lambda L, d: (_z(L, d), _real(L, "int64")),
    "bool": lambda L, d: (_z(L, d), _real(L, "bool")),
    "0d_float64": lambda L, d: (_z(L, d), L.tensor(2.5, dtype=L.float64)),
    "0d_int64": lambda L, d: (_z(L, d), L.tensor(3)),
    "0d_complex128": lambda L, d: (_z(L, d), L.tensor(1 - 2j, dtype=L.complex128)),
    "0d_complex_self": lambda L, d: (_z(L, d, ()), _z(L, d, (), 1)),
    "int": lambda L, d: (_z(L, d), 3),
    "float": lambda L, d: (_z(L, d), -1.5),
    "complex_number": lambda L, d: (_z(L, d), 0.5 - 2j),
    "imaginary_unit": lambda L, d: (_z(L, d), 1j),
    "bool_number": lambda L, d: (_z(L, d), True),
}


@pytest.mark.parametrize("operands", list(OPERANDS))
@pytest.mark.parametrize("op", list(OPERATORS))
def test_operator_as_torch(op, operands):
    """Both orders: complex op other, other op complex (a Python number on the left too).
    (Subtraction with a bool tensor or True raises RuntimeError, complex or not.)"""
    fn, make = OPERATORS[op], OPERANDS[operands]
    for d in COMPLEX:
        _same_outcome(lambda L, d: fn(L, *make(L, d)), d)
        _same_outcome(lambda L, d: fn(L, *reversed(make(L, d))), d)


@pytest.mark.parametrize("operands", ["complex", "broadcast_row", "float64", "int64",
                                      "0d_complex128", "complex_number", "float", "transposed"])
@pytest.mark.parametrize("fn", list(FUNCTIONS))
def test_function_as_torch(fn, operands):
    for d in COMPLEX:
        _same(lambda L, d: FUNCTIONS[fn](L, *OPERANDS[operands](L, d)), d)
        if not isinstance(OPERANDS[operands](torch, d)[1], (int, float, complex)):
            _same(lambda L, d: FUNCTIONS[fn](L, *reversed(OPERANDS[operands](L, d))), d)


@pytest.mark.parametrize("d", COMPLEX)
def test_arithmetic_by_hand(d):
    for L in LIBS:
        a = L.tensor([1 + 2j, 3 - 1j], dtype=_dt(L, d))
        b = L.tensor([2 - 1j, 1j], dtype=_dt(L, d))
        assert (a + b).tolist() == [3 + 1j, 3 + 0j]
        assert (a - b).tolist() == [-1 + 3j, 3 - 2j]
        assert (a * b).tolist() == [4 + 3j, 1 + 3j]
        assert (a / b).tolist() == [0 + 1j, -1 - 3j]
        assert (a * 2).tolist() == [2 + 4j, 6 - 2j] and (1j * a).tolist() == [-2 + 1j, 1 + 3j]
        assert (-a).tolist() == [-1 - 2j, -3 + 1j]
        assert (L.tensor([1.0, 2.0]) * b).dtype == _dt(L, d)  # (float32 * complex128 dims)
        assert (L.tensor(2.0) * b).dtype == _dt(L, d)


UNARY = {
    "neg": lambda L, z: -z, "neg_fn": lambda L, z: L.neg(z), "neg_method": lambda L, z: z.neg(),
    "exp": lambda L, z: z.exp(), "exp_fn": lambda L, z: L.exp(z),
    "sum": lambda L, z: z.sum(), "sum_fn": lambda L, z: L.sum(z),
    "sum_dim0": lambda L, z: z.sum(0), "sum_dim_neg": lambda L, z: z.sum(-1),
    "sum_dims": lambda L, z: z.sum((0, 1)), "sum_keepdim": lambda L, z: z.sum(1, keepdim=True),
    "sum_fn_dim": lambda L, z: L.sum(z, dim=1), "mean": lambda L, z: z.mean(),
    "mean_fn": lambda L, z: L.mean(z), "mean_dim0": lambda L, z: z.mean(0),
    "mean_dim_neg": lambda L, z: z.mean(-1), "mean_keepdim": lambda L, z: z.mean(0, keepdim=True),
    "mean_dims": lambda L, z: z.mean((0, 1), keepdim=True), "mean_fn_dim": lambda L, z:
    L.mean(z, dim=1), "abs": lambda L, z: z.abs(), "angle": lambda L, z: z.angle(),
}
# The holomorphic functions (their gradient is grad * conj(f'(z))), each as a method and
# through the ``gpugrad`` function, and powers with a number exponent.
HOLOMORPHIC = {
    **{name: (lambda L, z, _n=name: getattr(z, _n)()) for name in (
        "log", "log1p", "expm1", "sqrt", "rsqrt", "sin", "cos", "tanh", "sinh", "cosh",
        "sigmoid", "reciprocal", "square")},
    **{f"{name}_fn": (lambda L, z, _n=name: getattr(L, _n)(z)) for name in (
        "log", "sqrt", "sin", "tanh", "sigmoid")},
    "pow_int": lambda L, z: z ** 3, "pow_half": lambda L, z: z ** 0.5,
    "pow_complex": lambda L, z: z ** (0.5 - 1j), "pow_fn": lambda L, z: L.pow(z, 2),
}
UNARY.update(HOLOMORPHIC)


@pytest.mark.parametrize("layout", ["contiguous", "transposed", "sliced"])
@pytest.mark.parametrize("name", list(UNARY))
@pytest.mark.parametrize("d", COMPLEX)
def test_unary_and_reductions_as_torch(d, name, layout):
    def make(L):
        if layout == "transposed":
            return _z(L, d, (4, 3)).t()
        if layout == "sliced":
            return _z(L, d, (3, 8))[:, 1::2]
        return _z(L, d, (3, 4))
    _same(lambda L: UNARY[name](L, make(L)))


@pytest.mark.parametrize("name", ["neg", "exp", "sum", "sum_dim0", "sum_keepdim", "mean_dim_neg",
                                  "abs", "angle"])
@pytest.mark.parametrize("d", COMPLEX)
def test_unary_and_reductions_of_empty_as_torch(d, name):
    _same(lambda L: UNARY[name](L, _z(L, d, (0, 3))))


def test_mean_of_nothing_is_nan_as_torch():
    _same(lambda L: _z(L, "complex64", (0, 3)).mean())
    _same(lambda L: _z(L, "complex128", (0, 3)).mean(0))


COMPARISONS = {
    "eq_self": lambda L, z, w: z == z, "eq": lambda L, z, w: z == w,
    "ne": lambda L, z, w: z != w, "eq_fn": lambda L, z, w: L.eq(z, w),
    "ne_method": lambda L, z, w: z.ne(w), "eq_method": lambda L, z, w: z.eq(w),
    "eq_broadcast": lambda L, z, w: z == w[0], "eq_real_tensor": lambda L, z, w:
    z == L.tensor([1.0, -3.0, 0.0, 0.0]), "ne_real_tensor": lambda L, z, w:
    L.tensor([1.0, -3.0, 0.0, 0.0], dtype=L.float64) != z,
    "eq_int_tensor": lambda L, z, w: z == L.tensor([1, -3, 0, 0]),
    "eq_complex_number": lambda L, z, w: z == 0.5j, "ne_complex_number": lambda L, z, w:
    z != (1 + 2j), "eq_int": lambda L, z, w: z == 0, "eq_float": lambda L, z, w: z == -3.0,
    "eq_0d": lambda L, z, w: z == L.tensor(-1 - 1j, dtype=L.complex128),
    "eq_other_precision": lambda L, z, w: z.to(L.complex128) == w,
    "eq_transposed": lambda L, z, w: z.t() == w.t(), "ne_empty": lambda L, z, w: z[:0] != w[:0],
}


@pytest.mark.parametrize("name", list(COMPARISONS))
@pytest.mark.parametrize("d", COMPLEX)
def test_eq_ne_as_torch(d, name):
    def run(L):
        z = _v(L, d)
        w = z.clone()
        w.imag[0] = 7.0  # the first row differs only in the imaginary part
        return COMPARISONS[name](L, z, w)
    _same(run)


# ------------------------------------------------------------------------------ shape ops
SHAPE = {
    "reshape": lambda L, z: z.reshape(6, 4), "reshape_flat": lambda L, z: z.reshape(-1),
    "reshape_fn": lambda L, z: L.reshape(z, (4, -1)), "view": lambda L, z: z.view(4, 6),
    "view_flat": lambda L, z: z.view(-1), "flatten": lambda L, z: z.flatten(),
    "flatten_from": lambda L, z: z.flatten(1), "flatten_fn": lambda L, z: L.flatten(z, 0, 1),
    "unflatten": lambda L, z: z.unflatten(2, (2, 2)), "transpose": lambda L, z: z.transpose(0, 2),
    "transpose_fn": lambda L, z: L.transpose(z, 1, 2), "permute": lambda L, z: z.permute(2, 0, 1),
    "permute_fn": lambda L, z: L.permute(z, (1, 2, 0)), "t": lambda L, z: z[0].t(),
    "t_fn": lambda L, z: L.t(z[1]), "unsqueeze": lambda L, z: z.unsqueeze(1),
    "unsqueeze_last": lambda L, z: L.unsqueeze(z, -1), "squeeze": lambda L, z:
    z.unsqueeze(1).squeeze(), "squeeze_dim": lambda L, z: z[:, :1].squeeze(1),
    "expand": lambda L, z: z[:, :1].expand(2, 5, 4), "expand_new_dim": lambda L, z:
    z[0, 0].expand(3, 4), "expand_as": lambda L, z: z[:1].expand_as(z),
    "index_int": lambda L, z: z[1], "index_ints": lambda L, z: z[-1, 2],
    "index_0d": lambda L, z: z[1, 2, 3], "index_slices": lambda L, z: z[:, 1:, ::2],
    "index_ellipsis": lambda L, z: z[..., 1], "index_none": lambda L, z: z[None, 0],
    "index_tensor": lambda L, z: z[L.tensor([1, 0, 1])], "index_tensor_dim1": lambda L, z:
    z[:, L.tensor([2, 0])], "index_mixed": lambda L, z: z[0, L.tensor([0, 2]), 1:3],
    "index_two_tensors": lambda L, z: z[L.tensor([0, 1]), L.tensor([2, 0])],
    "index_tensor_2d": lambda L, z: z[L.tensor([[0, 1], [1, 1]])],
    "cat": lambda L, z: L.cat([z, z * 2], 1), "cat_three": lambda L, z: L.cat([z, z[:1], z], 0),
    "cat_real": lambda L, z: L.cat([z, L.ones(2, 3, 4)], 0),
    "cat_float64": lambda L, z: L.cat([L.ones(1, 3, 4, dtype=L.float64), z]),
    "cat_int": lambda L, z: L.cat([z, L.ones(2, 3, 4, dtype=L.int64)], -1),
    "cat_empty": lambda L, z: L.cat([z[:0], z]), "stack": lambda L, z: L.stack([z, -z]),
    "stack_last": lambda L, z: L.stack([z, z], -1), "stack_real": lambda L, z:
    L.stack([z[0], L.zeros(3, 4)], 1), "split": lambda L, z: z.split(2, dim=2),
    "split_sizes": lambda L, z: z.split([1, 2], dim=1), "split_fn": lambda L, z: L.split(z, 1),
    "chunk": lambda L, z: z.chunk(2, -1), "chunk_fn": lambda L, z: L.chunk(z, 3, 1),
    "narrow": lambda L, z: z.narrow(1, 1, 2), "narrow_fn": lambda L, z: L.narrow(z, 2, 0, 3),
    "select": lambda L, z: z.select(2, 3), "select_fn": lambda L, z: L.select(z, 0, -1),
    "movedim": lambda L, z: z.movedim(0, -1), "movedim_many": lambda L, z:
    L.movedim(z, (0, 1), (2, 0)),
    # views of views and copies of non-contiguous complex tensors
    "reshape_transposed": lambda L, z: z.transpose(0, 2).reshape(4, 6),
    "flatten_permuted": lambda L, z: z.permute(1, 0, 2).flatten(),
    "view_of_sliced_rows": lambda L, z: z[:, ::2].view(2, 2, 2, 2),
    "cat_transposed": lambda L, z: L.cat([z.transpose(1, 2), z.transpose(1, 2)], 1),
    "stack_sliced": lambda L, z: L.stack([z[:, :, ::2], z[:, :, 1::2]]),
}
_VIEW_STRIDES = ["view", "transpose", "permute", "t", "unsqueeze", "expand", "expand_new_dim",
                 "index_int", "index_slices", "index_ellipsis", "narrow", "select", "movedim",
                 "unflatten", "squeeze_dim", "split", "chunk"]


@pytest.mark.parametrize("name", list(SHAPE))
@pytest.mark.parametrize("d", COMPLEX)
def test_shape_op_as_torch(d, name):
    _same(lambda L: SHAPE[name](L, _z(L, d, (2, 3, 4))))


@pytest.mark.parametrize("name", _VIEW_STRIDES)
def test_shape_view_strides_as_torch(name):
    def strides(L):
        out = SHAPE[name](L, _z(L, "complex64", (2, 3, 4)))
        outs = out if isinstance(out, (tuple, list)) else [out]
        return [(tuple(o.stride()), o.storage_offset()) for o in outs]
    _same(strides)


@pytest.mark.parametrize("name", [n for n in _VIEW_STRIDES if not n.startswith("expand")] +
                         ["reshape", "flatten", "index_none", "unsqueeze_last", "select_fn"])
def test_shape_views_write_through(name):
    """Writing into the real or imaginary part of a view changes the viewed tensor."""
    def run(L):
        z = _z(L, "complex128", (2, 3, 4))
        out = SHAPE[name](L, z)
        out = out[-1] if isinstance(out, (tuple, list)) else out
        out.imag.fill_(0.0)
        out.real[..., :1] = -1.0
        return z
    _same(run)


# ------------------------------------------------------------------------------ autograd
# name -> (f(lib, *inputs), [(kind, shape)], zero-size inputs allowed); kinds: "c" the complex
# dtype under test, "r" its real dtype, "p" its real dtype with positive values (polar's
# abs), or a dtype by name (mixed precision)
GRAD = {
    "add": (lambda L, a, b: a + b, [("c", (2, 3)), ("c", (2, 3))], True),
    "sub": (lambda L, a, b: a - b, [("c", (2, 3)), ("c", (2, 3))], True),
    "mul": (lambda L, a, b: a * b, [("c", (2, 3)), ("c", (2, 3))], True),
    "div": (lambda L, a, b: a / b, [("c", (2, 3)), ("c", (2, 3))], True),
    "add_fn": (lambda L, a, b: L.add(a, b), [("c", (2, 3)), ("c", (2, 3))], True),
    "sub_fn": (lambda L, a, b: L.sub(a, b), [("c", (2, 3)), ("r", (2, 3))], True),
    "mul_fn": (lambda L, a, b: L.mul(a, b), [("c", (2, 3)), ("c", (3,))], True),
    "div_fn": (lambda L, a, b: L.div(a, b), [("r", (2, 3)), ("c", (2, 3))], True),
    "add_broadcast": (lambda L, a, b: a + b, [("c", (2, 1)), ("c", (1, 3))], True),
    "mul_broadcast": (lambda L, a, b: a * b, [("c", (2, 3)), ("c", (3,))], True),
    "div_broadcast": (lambda L, a, b: a / b, [("c", (3,)), ("c", (2, 3))], True),
    "mul_0d": (lambda L, a, b: a * b, [("c", (2, 3)), ("c", ())], True),
    "add_complex_real": (lambda L, a, b: a + b, [("c", (2, 3)), ("r", (2, 3))], True),
    "add_real_complex": (lambda L, a, b: a + b, [("r", (2, 3)), ("c", (2, 3))], True),
    "sub_real_complex": (lambda L, a, b: a - b, [("r", (2, 3)), ("c", (2, 3))], True),
    "mul_complex_real": (lambda L, a, b: a * b, [("c", (2, 3)), ("r", (2, 3))], True),
    "mul_real_complex": (lambda L, a, b: a * b, [("r", (2, 3)), ("c", (2, 3))], True),
    "mul_real_broadcast": (lambda L, a, b: a * b, [("r", (2, 1)), ("c", (2, 3))], True),
    "div_complex_real": (lambda L, a, b: a / b, [("c", (2, 3)), ("r", (2, 3))], True),
    "div_real_complex": (lambda L, a, b: a / b, [("r", (2, 3)), ("c", (2, 3))], True),
    "mul_float64_complex64": (lambda L, a, b: a * b, [("float64", (2, 3)),
                                                      ("complex64", (2, 3))], True),
    "add_complex64_complex128": (lambda L, a, b: a + b, [("complex64", (2, 3)),
                                                         ("complex128", (3,))], True),
    "div_complex128_float32": (lambda L, a, b: a / b, [("complex128", (2, 3)),
                                                       ("float32", (2, 3))], True),
    **{f"holomorphic_{name}": (lambda L, z, _f=fn: _f(L, z), [("c", (2, 3))], True)
       for name, fn in HOLOMORPHIC.items()},
    "real_to_a_complex_power": (lambda L, x: x.abs() ** (1 + 2j), [("r", (2, 3))], True),
    "add_int": (lambda L, z: z + 2, [("c", (2, 3))], True),
    "rsub_float": (lambda L, z: 1.5 - z, [("c", (2, 3))], True),
    "mul_complex_number": (lambda L, z: z * (1 - 2j), [("c", (2, 3))], True),
    "rmul_complex_number": (lambda L, z: (0.5 + 1j) * z, [("c", (2, 3))], True),
    "div_number": (lambda L, z: z / (2 + 1j), [("c", (2, 3))], True),
    "rdiv_number": (lambda L, z: (1 + 1j) / z, [("c", (2, 3))], True),
    "real_plus_1j": (lambda L, x: x + 1j, [("r", (2, 3))], True),
    "real_times_1j": (lambda L, x: x * 1j, [("r", (2, 3))], True),
    "real_times_0d_complex": (lambda L, x: x * L.tensor(2 - 1j, dtype=L.complex128),
                              [("r", (2, 3))], True),
    "neg": (lambda L, z: -z, [("c", (2, 3))], True),
    "exp": (lambda L, z: z.exp(), [("c", (2, 3))], True),
    "exp_times": (lambda L, a, b: L.exp(a * b), [("c", (2, 3)), ("c", (2, 3))], True),
    "abs": (lambda L, z: z.abs(), [("c", (2, 3))], True),
    "angle": (lambda L, z: z.angle(), [("c", (2, 3))], True),
    "real": (lambda L, z: z.real, [("c", (2, 3))], True),
    "imag": (lambda L, z: z.imag, [("c", (2, 3))], True),
    "real_and_imag": (lambda L, z: z.real * z.imag, [("c", (2, 3))], True),
    "conj": (lambda L, z: z.conj(), [("c", (2, 3))], True),
    "conj_times": (lambda L, a, b: a.conj() * b, [("c", (2, 3)), ("c", (2, 3))], True),
    "conj_physical": (lambda L, z: z.conj_physical(), [("c", (2, 3))], True),
    "resolve_conj": (lambda L, z: z.conj().resolve_conj(), [("c", (2, 3))], True),
    "resolve_neg": (lambda L, z: z.conj().imag.resolve_neg(), [("c", (2, 3))], True),
    "conj_imag": (lambda L, z: z.conj().imag, [("c", (2, 3))], True),
    "sum": (lambda L, z: z.sum(), [("c", (2, 3))], True),
    "sum_dim": (lambda L, z: z.sum(0), [("c", (2, 3))], True),
    "sum_keepdim": (lambda L, z: z.sum(-1, keepdim=True), [("c", (2, 3))], True),
    "mean": (lambda L, z: z.mean(), [("c", (2, 3))], False),  # (nan over zero elements)
    "mean_dim": (lambda L, z: z.mean(1), [("c", (2, 3))], False),
    "mean_keepdim": (lambda L, z: z.mean(0, keepdim=True), [("c", (2, 3))], True),
    "complex": (lambda L, a, b: L.complex(a, b), [("r", (2, 3)), ("r", (2, 3))], True),
    "complex_broadcast": (lambda L, a, b: L.complex(a, b), [("r", (2, 1)), ("r", (3,))], True),
    "polar": (lambda L, r, t: L.polar(r, t), [("p", (2, 3)), ("r", (2, 3))], True),
    "polar_broadcast": (lambda L, r, t: L.polar(r, t), [("p", (3,)), ("r", (2, 3))], True),
    # (zero-size view_as_real / view_as_complex: torch's own backward raises, see the report)
    "view_as_real": (lambda L, z: L.view_as_real(z), [("c", (2, 3))], False),
    "view_as_complex": (lambda L, x: L.view_as_complex(x.contiguous()), [("r", (3, 2))], False),
    "view_as_complex_times": (lambda L, x, z: L.view_as_complex(x.contiguous()) * z,
                              [("r", (3, 2)), ("c", (3,))], False),
    "round_trip": (lambda L, z: L.view_as_complex(L.view_as_real(z) * 2), [("c", (2, 3))],
                   False),
    "to_other_precision": (lambda L, z: z.to(L.complex64 if z.dtype == L.complex128
                                             else L.complex128), [("c", (2, 3))], True),
    "real_to_complex": (lambda L, x: x.to(L.complex64 if x.dtype == L.float32 else
                                          L.complex128), [("r", (2, 3))], True),
    "float32_to_complex128": (lambda L, x: x.to(L.complex128), [("float32", (2, 3))], True),
    "clone": (lambda L, z: z.clone(), [("c", (2, 3))], True),
    "detach_mul": (lambda L, z: z.detach() * z, [("c", (2, 3))], True),
    "contiguous": (lambda L, z: z.contiguous() * 2, [("c", (2, 3))], True),
    "reshape": (lambda L, z: z.reshape(-1), [("c", (2, 3))], True),
    "view": (lambda L, z: z.contiguous().view(3, 2), [("c", (2, 3))], False),
    "flatten": (lambda L, z: z.flatten(), [("c", (2, 3))], True),
    "unflatten": (lambda L, z: z.unflatten(1, (3, 1)), [("c", (2, 3))], True),
    "transpose": (lambda L, z: z.transpose(0, 1), [("c", (2, 3))], True),
    "permute": (lambda L, z: z.permute(1, 0), [("c", (2, 3))], True),
    "t": (lambda L, z: z.t(), [("c", (2, 3))], True),
    "unsqueeze": (lambda L, z: z.unsqueeze(1), [("c", (2, 3))], True),
    "squeeze": (lambda L, z: z[:, :1].squeeze(1), [("c", (2, 3))], True),
    "expand": (lambda L, z: z[:, :1].expand(2, 4), [("c", (2, 3))], False),
    "expand_as": (lambda L, a, b: a.expand_as(b) * b, [("c", (3,)), ("c", (2, 3))], True),
    "index_int": (lambda L, z: z[1], [("c", (2, 3))], False),
    "index_slice": (lambda L, z: z[:, 1:], [("c", (2, 3))], True),
    "index_tensor_repeats": (lambda L, z: z[:, L.tensor([2, 0, 2, 2])], [("c", (2, 3))], True),
    "index_tensor_rows": (lambda L, z: z[L.tensor([1, 1, 0])], [("c", (2, 3))], False),
    "cat": (lambda L, a, b: L.cat([a, b, a], 0), [("c", (2, 3)), ("c", (1, 3))], True),
    "cat_real": (lambda L, a, b: L.cat([a, b], 1), [("c", (2, 3)), ("r", (2, 2))], True),
    "stack": (lambda L, a, b: L.stack([a, b], -1), [("c", (2, 3)), ("c", (2, 3))], True),
    "stack_real": (lambda L, a, b: L.stack([b, a]), [("c", (2, 3)), ("r", (2, 3))], True),
    "split": (lambda L, z: z.split([1, 2], 1), [("c", (2, 3))], True),
    "chunk": (lambda L, z: z.chunk(3, 1)[1:], [("c", (2, 3))], True),
    "narrow": (lambda L, z: z.narrow(1, 1, 2), [("c", (2, 3))], True),
    "select": (lambda L, z: z.select(1, 2), [("c", (2, 3))], True),
    "movedim": (lambda L, z: z.movedim(0, 1), [("c", (2, 3))], True),
    "chain": (lambda L, a, x: (L.complex(x, x * 2) * a.conj()).exp().sum(0) / a[0],
              [("c", (2, 3)), ("r", (2, 3))], False),
    # products: holomorphic in each operand
    "matmul": (lambda L, a, b: a @ b, [("c", (2, 3)), ("c", (3, 4))], False),
    "matmul_a_bT": (lambda L, a, b: a @ b.t(), [("c", (2, 3)), ("c", (2, 3))], True),
    "matmul_batched": (lambda L, a, b: L.matmul(a.unsqueeze(0).expand(2, 2, 3), b),
                       [("c", (2, 3)), ("c", (3, 4))], False),
    "matmul_matrix_vector": (lambda L, a, v: L.matmul(a, v), [("c", (2, 3)), ("c", (3,))],
                             False),
    "matmul_vector_matrix": (lambda L, v, a: v @ a, [("c", (2,)), ("c", (2, 3))], False),
    "mm": (lambda L, a, b: L.mm(a, b), [("c", (2, 3)), ("c", (3, 4))], False),
    "bmm": (lambda L, a, b: L.bmm(a.unsqueeze(0), b.unsqueeze(0)),
            [("c", (2, 3)), ("c", (3, 4))], False),
    "mv": (lambda L, a, v: L.mv(a, v), [("c", (2, 3)), ("c", (3,))], False),
    "dot": (lambda L, u, v: L.dot(u, v), [("c", (3,)), ("c", (3,))], True),
    "outer": (lambda L, u, v: L.outer(u, v), [("c", (2,)), ("c", (3,))], True),
    "einsum": (lambda L, a, b: L.einsum("ij,jk->ik", a, b), [("c", (2, 3)), ("c", (3, 4))],
               False),
    "einsum_rows": (lambda L, a, b: L.einsum("ij,ij->i", a, b), [("c", (2, 3)), ("c", (2, 3))],
                    True),
    "einsum_diagonal": (lambda L, a: L.einsum("ii->i", a @ a.t()), [("c", (2, 3))], True),
}

_LAYOUTS = ["contiguous", "transposed", "sliced", "zero_size"]


def _grad_inputs(L, d, spec, layout):
    """Leaves (requiring grad) and the inputs made from them in ``layout``."""
    leaves, inputs = [], []
    for i, (kind, shape) in enumerate(spec):
        name = d if kind == "c" else REAL_OF[d] if kind in "rp" else kind
        if layout == "zero_size" and len(shape) == 2:
            shape = (0,) + shape[1:]
        full = shape
        if layout == "transposed" and len(shape) == 2:
            full = (shape[1], shape[0])
        elif layout == "sliced" and len(shape) >= 1:
            full = shape[:-1] + (2 * shape[-1],)
        values = _rand(full, name, 10 + i)
        if kind == "p":
            values = np.abs(values) + np.array(0.25, name)
        leaf = L.tensor(values, requires_grad=True)
        x = leaf
        if layout == "transposed" and len(shape) == 2:
            x = leaf.t()
        elif layout == "sliced" and len(shape) >= 1:
            x = leaf[..., 1::2]
        leaves.append(leaf)
        inputs.append(x)
    return leaves, inputs


def _loss(L, out):
    """A real loss with a gradient that is neither constant nor real: the squares of the
    parts of ``out`` times a fixed complex weight, plus the imaginary parts."""
    if isinstance(out, (tuple, list)):
        return sum(_loss(L, o) for o in out)
    single = out.dtype in (L.float32, L.complex64)
    w = L.tensor(_rand(tuple(out.shape), "complex128", 99),
                 dtype=L.complex64 if single else L.complex128)
    p = out * w
    return L.view_as_real(p).pow(2).sum() + p.imag.sum()


def _grad_run(L, name, d, layout):
    fn, spec, _ = GRAD[name]
    leaves, inputs = _grad_inputs(L, d, spec, layout)
    loss = _loss(L, fn(L, *inputs))
    loss.backward()
    return [loss] + [leaf.grad for leaf in leaves]


@pytest.mark.parametrize("name,layout", [(name, layout) for name in GRAD for layout in _LAYOUTS
                                         if layout != "zero_size" or GRAD[name][2]])
@pytest.mark.parametrize("d", COMPLEX)
def test_gradients_as_torch(d, name, layout):
    """The loss and every leaf's gradient (dtype and values) as torch computes them."""
    want = _grad_run(torch, name, d, layout)
    got = _grad_run(gpugrad, name, d, layout)
    assert [g is None for g in got] == [w is None for w in want]
    single = d == "complex64" or any(kind in _SINGLE for kind, _ in GRAD[name][1])
    for g, w in zip(got, want):
        if w is not None:
            _close(g, w, grad=True, tol_of="complex64" if single else "complex128")


@pytest.mark.parametrize("d", COMPLEX)
def test_gradient_convention_by_hand(d):
    """For a real loss L, z.grad = dL/dRe z + i dL/dIm z: for L = Re(sum(a * b * w)),
    a.grad = conj(b * w) and b.grad = conj(a * w); with an upstream complex gradient g of
    out = a * b, a.grad = g * conj(b)."""
    an, bn = _rand(3, d, 1), _rand(3, d, 2)
    wn, gn = _rand(3, d, 3), _rand(3, d, 4)
    tol = _tol(d, grad=True)
    for L in LIBS:
        a, b = L.tensor(an, requires_grad=True), L.tensor(bn, requires_grad=True)
        (a * b * L.tensor(wn)).real.sum().backward()
        np.testing.assert_allclose(a.grad.numpy(), np.conj(bn * wn), **tol)
        np.testing.assert_allclose(b.grad.numpy(), np.conj(an * wn), **tol)
        a, b = L.tensor(an, requires_grad=True), L.tensor(bn, requires_grad=True)
        (a * b).backward(gradient=L.tensor(gn))
        np.testing.assert_allclose(a.grad.numpy(), gn * np.conj(bn), **tol)
        np.testing.assert_allclose(b.grad.numpy(), gn * np.conj(an), **tol)
        # |z| and its angle: grad of sum |z| is z / |z|; of sum angle(z) is i z / |z|^2
        z = L.tensor(an, requires_grad=True)
        z.abs().sum().backward()
        np.testing.assert_allclose(z.grad.numpy(), an / np.abs(an), **tol)
        z = L.tensor(an, requires_grad=True)
        z.angle().sum().backward()
        np.testing.assert_allclose(z.grad.numpy(), 1j * an / np.abs(an) ** 2, **tol)
        # a real input of a complex op: the real part of the complex gradient, its own dtype
        x = L.tensor(an.real.copy(), requires_grad=True)
        (x * L.tensor(bn) * L.tensor(wn)).real.sum().backward()
        assert x.grad.dtype == _dt(L, REAL_OF[d])
        np.testing.assert_allclose(x.grad.numpy(), (bn * wn).real, **tol)
        re, im = (L.tensor(an.real.copy(), requires_grad=True),
                  L.tensor(an.imag.copy(), requires_grad=True))
        (L.complex(re, im) * L.tensor(wn)).imag.sum().backward()
        np.testing.assert_allclose(re.grad.numpy(), wn.imag, **tol)
        np.testing.assert_allclose(im.grad.numpy(), wn.real, **tol)


@pytest.mark.parametrize("d", COMPLEX)
def test_abs_and_angle_gradients_at_zero_are_zero(d):
    for L in LIBS:
        z = L.zeros(3, dtype=_dt(L, d), requires_grad=True)
        z.abs().sum().backward()
        assert z.grad.tolist() == [0j, 0j, 0j]
        z.grad = None
        z.angle().sum().backward()
        assert z.grad.tolist() == [0j, 0j, 0j]


@pytest.mark.parametrize("d", COMPLEX)
def test_backward_of_a_complex_output_needs_a_complex_gradient(d):
    for L in LIBS:
        z = L.tensor([1 + 2j, 3 - 1j], dtype=_dt(L, d), requires_grad=True)
        with pytest.raises(RuntimeError, match="grad can be implicitly created only for real "
                                               "scalar outputs"):
            (z * z).sum().backward()
        with pytest.raises(RuntimeError, match="grad can be implicitly created only for "
                                               "scalar outputs"):
            (z * z).backward()
        # a real gradient for a complex output, a complex one for a real output: RuntimeError
        # ("For complex Tensors, both grad_output and output are required to have the same
        # dtype.")
        with pytest.raises(RuntimeError):
            (z * z).backward(gradient=L.tensor([1.0, 2.0], dtype=_dt(L, REAL_OF[d])))
        with pytest.raises(RuntimeError):
            z.abs().backward(gradient=L.tensor([1j, 2.0], dtype=_dt(L, d)))
        assert z.grad is None
        # a complex gradient: accepted, and gradients accumulate
        (z * z).sum().backward(gradient=L.tensor(1 + 1j, dtype=_dt(L, d)))
        np.testing.assert_allclose(z.grad.numpy(), [6 - 2j, 4 + 8j], **_tol(d))
        (z * z).backward(gradient=L.tensor([1j, 2.0], dtype=_dt(L, d)))
        np.testing.assert_allclose(z.grad.numpy(), [10 + 0j, 16 + 12j], **_tol(d))
        assert z.grad.dtype == _dt(L, d)
        # a real loss works as for real tensors
        z.grad = None
        L.view_as_real(z * z).sum().backward()
        np.testing.assert_allclose(z.grad.numpy(), [6 - 2j, 4 + 8j], **_tol(d))


def test_requires_grad_and_grad_fn_on_complex_tensors():
    for L in LIBS:
        z = L.zeros(2, dtype=L.complex64, requires_grad=True)
        assert z.requires_grad and z.is_leaf and z.grad_fn is None
        w = L.tensor([1j], dtype=L.complex128).requires_grad_()
        assert w.requires_grad
        a = L.ones(2, requires_grad=True)
        for out in (z * 2, z.real, z.conj(), L.complex(a, a), L.polar(a, a), a + 1j,
                    L.view_as_real(z), z.abs(), z.sum(), z[0]):
            assert out.requires_grad and out.grad_fn is not None
        assert not (z == z).requires_grad
        assert not z.detach().requires_grad
        with L.no_grad():
            assert not (z * 2).requires_grad


# ------------------------------------------------------------------------------ gradcheck
def _f64(L, shape, seed):
    return L.tensor(_rand(shape, "float64", seed), requires_grad=True)


# name -> (f(lib, *real float64 inputs) -> real float64 output, input shapes)
GRADCHECK = {
    "times_complex_constant": (lambda L, x: L.view_as_real(
        L.view_as_complex(x) * L.tensor([1 - 2j, 0.5j, 3 + 1j])), [(3, 2)]),
    "complex_abs": (lambda L, a, b: L.complex(a, b).abs(), [(2, 3), (2, 3)]),
    "complex_angle": (lambda L, a, b: L.complex(a, b).angle(), [(2, 3), (2, 3)]),
    # (abs > 0: torch's polar backward is not the derivative for abs <= 0, see the report)
    "polar": (lambda L, r, th: L.view_as_real(L.polar(r.exp(), th)), [(2, 3), (2, 3)]),
    "polar_broadcast": (lambda L, r, th: L.view_as_real(L.polar(r.exp(), th)), [(3,), (2, 3)]),
    "div_exp": (lambda L, a, b: L.view_as_real(L.complex(a, b).exp() / L.complex(b, a)),
                [(2, 3), (2, 3)]),
    "conj_product": (lambda L, a, b: (L.complex(a, b) * L.complex(b, a).conj()).real,
                     [(4,), (4,)]),
    "real_times_complex": (lambda L, x, y: L.view_as_real(L.view_as_complex(x) * y),
                           [(3, 2), (3,)]),
    "sum_mean": (lambda L, x: L.view_as_real(
        L.view_as_complex(x).sum(0) - L.view_as_complex(x).mean(0) * 1j), [(3, 2, 2)]),
    "shapes": (lambda L, x: L.view_as_real(L.cat([L.view_as_complex(x).t(),
                                                  L.view_as_complex(x)[:1].t().expand(3, 2)]
                                                 ).reshape(-1)[L.tensor([0, 5, 5, 11])]),
               [(2, 3, 2)]),
    "imag_of_square": (lambda L, x: (L.view_as_complex(x) * L.view_as_complex(x)).imag,
                       [(5, 2)]),
    "real_plus_python_complex": (lambda L, x: L.view_as_real((x + (1 - 1j)) * (x - 2j)),
                                 [(4,)]),
    "neg_exp_conj": (lambda L, x: L.view_as_real((-L.view_as_complex(x)).exp().conj_physical()),
                     [(3, 2)]),
}


@pytest.mark.parametrize("name", list(GRADCHECK))
def test_gradcheck_through_complex_ops(name):
    fn, shapes = GRADCHECK[name]
    for L in LIBS:
        inputs = tuple(_f64(L, s, 20 + i) for i, s in enumerate(shapes))
        assert L.autograd.gradcheck(lambda *xs, L=L: fn(L, *xs), inputs)


# name -> (f(lib, *inputs), input specs: ("c" complex128 or "r" float64, shape))
COMPLEX_GRADCHECK = {
    "holomorphic": (lambda L, z: (z * z).exp() / (z + 3), [("c", (3,))]),
    "two_complex_inputs": (lambda L, a, b: a.conj() * b + a @ b, [("c", (3,)), ("c", (3,))]),
    "complex_to_real": (lambda L, z: z.abs() * z.angle(), [("c", (2, 2))]),
    "real_to_complex": (lambda L, x: L.polar(x.exp(), x), [("r", (3,))]),
    "mixed": (lambda L, z, x: (z * x).sqrt(), [("c", (3,)), ("r", (3,))]),
    "several_outputs": (lambda L, z: (z.real, z * 1j, z.sum()), [("c", (2, 2))]),
    "fft": (lambda L, z: L.fft.ifft(L.fft.fft(z) * z), [("c", (4,))]),
}


def _gradcheck_inputs(L, spec):
    return tuple(L.tensor(_rand(shape, "complex128" if kind == "c" else "float64", 30 + i),
                          requires_grad=True) for i, (kind, shape) in enumerate(spec))


@pytest.mark.parametrize("name", list(COMPLEX_GRADCHECK))
def test_gradcheck_and_gradgradcheck_of_complex_inputs_and_outputs_as_torch(name):
    fn, spec = COMPLEX_GRADCHECK[name]
    for L in LIBS:
        inputs = _gradcheck_inputs(L, spec)
        assert L.autograd.gradcheck(lambda *xs, L=L: fn(L, *xs), inputs)
        assert L.autograd.gradgradcheck(lambda *xs, L=L: fn(L, *xs), inputs)


def test_gradcheck_finds_a_gradient_that_misses_the_conjugate_as_torch():
    """A custom square whose backward sends ``2 g z`` (holomorphic derivative, no conjugate):
    wrong by PyTorch's convention; both libraries say so, with the message naming the Jacobian
    mismatch. The inputs given are left unchanged."""
    for L in LIBS:
        class Square(L.autograd.Function):
            @staticmethod
            def forward(ctx, z):
                ctx.save_for_backward(z)
                return z * z

            @staticmethod
            def backward(ctx, g):
                (z,) = ctx.saved_tensors
                return 2 * g * z

        z = L.tensor(_rand(3, "complex128", 5), requires_grad=True)
        before = z.detach().clone()
        assert not L.autograd.gradcheck(Square.apply, (z,), raise_exception=False)
        with pytest.raises(RuntimeError, match="Jacobian mismatch"):
            L.autograd.gradcheck(Square.apply, (z,))
        assert z.grad is None and L.equal(z.detach(), before)


def test_gradgradcheck_takes_complex_grad_outputs():
    for L in LIBS:
        z = L.tensor(_rand(3, "complex128", 6), requires_grad=True)
        go = L.tensor(_rand(3, "complex128", 7), requires_grad=True)
        assert L.autograd.gradgradcheck(lambda a: (a * a).exp(), (z,), (go,))


# ------------------------------------------------------------------------------ refusals
REFUSED = {
    "asin": lambda L, z: L.asin(z), "atan": lambda L, z: z.atan(),
    "tensordot": lambda L, z: L.tensordot(z, z), "relu": lambda L, z: L.nn.functional.relu(z),
    "sort": lambda L, z: L.sort(z), "max": lambda L, z: z.max(), "log2": lambda L, z: z.log2(),
    "pow_tensor": lambda L, z: z.pow(z), "pow_op_tensor": lambda L, z: z ** z.real,
    "rpow": lambda L, z: 2 ** z, "erf": lambda L, z: L.erf(z), "exp_": lambda L, z: z.exp_(),
    "prod": lambda L, z: z.prod(), "cumsum": lambda L, z: z.cumsum(0),
    "vdot": lambda L, z: L.vdot(z[0], z[1]), "clamp": lambda L, z: L.clamp(z, 0, 1),
    "softmax": lambda L, z: L.softmax(z, -1), "sgn": lambda L, z: z.sgn(),
    "lt": lambda L, z: z < z, "argmax": lambda L, z: z.argmax(),
}


@pytest.mark.parametrize("name", list(REFUSED))
@pytest.mark.parametrize("d", COMPLEX)
def test_ops_outside_the_set_refuse_complex(d, name):
    z = gpugrad.tensor(_rand((2, 2), d))
    with pytest.raises(NotImplementedError):
        REFUSED[name](gpugrad, z)


REAL_OPS = {
    "sin": lambda L, x: L.sin(x), "sqrt": lambda L, x: x.abs().sqrt(),
    "matmul": lambda L, x: x @ x.t(), "relu": lambda L, x: L.nn.functional.relu(x),
    "sort": lambda L, x: L.sort(x, -1).values, "max": lambda L, x: x.max(),
    "add_scalar": lambda L, x: x + 1.5, "mul_int": lambda L, x: (x * 2).sum(0),
    "conj": lambda L, x: x.conj(), "angle": lambda L, x: x.angle(),
    "promotion": lambda L, x: x.double() * L.ones(3, dtype=L.float32),
}


@pytest.mark.parametrize("name", list(REAL_OPS))
def test_real_tensors_are_unaffected(name):
    _same(lambda L: REAL_OPS[name](L, L.tensor(_rand((2, 3), "float32"))))


def test_real_sgd_step_is_unaffected():
    def step(L):
        w = L.tensor(_rand(3, "float32"), requires_grad=True)
        opt = L.optim.SGD([w], lr=0.1, momentum=0.9)
        for _ in range(2):
            opt.zero_grad()
            (w * w).sum().backward()
            opt.step()
        return w.detach()
    _same(step)


@pytest.mark.parametrize("d", COMPLEX)
def test_random_complex_factories_match_torch_in_distribution(d):
    """``randn`` draws each part from N(0, 1/2) (so E|z|^2 = 1) and ``rand`` each part from
    [0, 1), as PyTorch's; the streams differ, so the moments are compared."""
    for L in LIBS:
        L.manual_seed(0)
        n = L.randn(40000, dtype=_dt(L, d))
        u = L.rand(40000, dtype=_dt(L, d))
        like = L.randn_like(n[:3])
        assert _name(n.dtype) == _name(u.dtype) == _name(like.dtype) == d
        assert abs((n * n.conj()).real.mean().item() - 1) < 0.03
        assert abs(n.real.std().item() - 0.5 ** 0.5) < 0.01
        assert abs(n.imag.std().item() - 0.5 ** 0.5) < 0.01
        for part in (u.real, u.imag):
            assert 0 <= part.min().item() and part.max().item() < 1
            assert abs(part.mean().item() - 0.5) < 0.01


@pytest.mark.parametrize("call", ["matmul", "matmul_op", "einsum", "mm"])
def test_products_of_real_and_complex_tensors_raise_as_torch(call):
    """PyTorch's products do not promote: a real and a complex operand is a RuntimeError."""
    calls = {"matmul": lambda L, x, z: L.matmul(x, z), "matmul_op": lambda L, x, z: z @ x,
             "einsum": lambda L, x, z: L.einsum("ij,jk->ik", x, z),
             "mm": lambda L, x, z: L.mm(z, x)}
    for L in LIBS:
        x = L.ones(3, 3)
        z = L.ones(3, 3, dtype=L.complex64)
        with pytest.raises(RuntimeError):
            calls[call](L, x, z)


def _first_grads(L, name, d, create_graph):
    fn, spec, _ = GRAD[name]
    leaves, inputs = _grad_inputs(L, d, spec, "contiguous")
    loss = _loss(L, fn(L, *inputs))
    return leaves, L.autograd.grad(loss, leaves, create_graph=create_graph, allow_unused=True)


@pytest.mark.parametrize("name", list(GRAD))
def test_create_graph_gradients_match_plain_and_torch(name):
    """The gradients computed on Tensors (``create_graph=True``: the formulas through the public
    ops) equal the ones the engine computes on arrays, op by op; and differentiating them once
    more (a real function of each gradient) gives PyTorch's second-order gradients."""
    d = "complex128"
    tol = "complex64" if any(kind in _SINGLE for kind, _ in GRAD[name][1]) else d
    _, plain = _first_grads(gpugrad, name, d, create_graph=False)
    leaves, graphed = _first_grads(gpugrad, name, d, create_graph=True)
    for p, g in zip(plain, graphed):
        assert (p is None) == (g is None)
        if p is not None:
            assert g.dtype == p.dtype
            np.testing.assert_allclose(_np(g), _np(p), **_tol(tol, grad=True))
    seconds = []
    for L, (lv, gs) in ((gpugrad, (leaves, graphed)),
                        (torch, _first_grads(torch, name, d, create_graph=True))):
        used = [g for g in gs if g is not None and g.requires_grad]
        if not used:  # a gradient that does not depend on the inputs (a linear op)
            seconds.append(None)
            continue
        total = sum((g * g.conj()).real.sum() for g in used)  # squares of all the parts
        seconds.append(L.autograd.grad(total, lv, allow_unused=True))
    assert (seconds[0] is None) == (seconds[1] is None), name
    if seconds[0] is not None:
        for got, want in zip(*seconds):
            if want is None:
                assert got is None or not np.any(_np(got)), name
            else:
                _close(got, want, grad=True, tol_of=tol)


def test_unfold_windows_of_a_complex_tensor_as_torch():
    seen = []
    for L in (torch, gpugrad):
        x = L.tensor(np.arange(10.0) + 1j * np.arange(10.0)[::-1], dtype=L.complex128,
                     requires_grad=True)
        windows = x.unfold(0, 3, 2)
        weights = L.tensor(np.arange(12.0).reshape(4, 3) + 0.5j, dtype=L.complex128)
        (windows * weights).abs().sum().backward()
        seen.append((tuple(windows.shape), windows.stride(), windows.detach().numpy(),
                     x.grad.numpy()))
    assert seen[1][:2] == seen[0][:2]
    np.testing.assert_allclose(seen[1][2], seen[0][2], rtol=0, atol=0)
    np.testing.assert_allclose(seen[1][3], seen[0][3], rtol=1e-12)

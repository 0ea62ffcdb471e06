"""The top-level names gpugrad adds to match ``dir(torch)``: constants, error classes, the
``*_copy`` views' fresh storage, the legacy linalg names' warnings and errors."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import gpugrad

COPIES = ["t_copy", "transpose_copy", "permute_copy", "expand_copy", "diagonal_copy",
          "select_copy", "slice_copy", "squeeze_copy", "unsqueeze_copy", "unbind_copy",
          "split_copy", "split_with_sizes_copy", "detach_copy", "alias_copy", "unfold_copy",
          "view_copy", "as_strided_copy"]
COPY_ARGS = {"transpose_copy": (0, 1), "permute_copy": ((1, 0),), "expand_copy": ((2, 3, 4),),
             "select_copy": (0, 1), "unsqueeze_copy": (0,), "split_copy": (2,),
             "split_with_sizes_copy": ([1, 2],), "unfold_copy": (1, 2, 1),
             "view_copy": ((4, 3),), "as_strided_copy": ((2, 2), (1, 3))}


@pytest.mark.parametrize("name", ["inf", "nan", "pi", "e", "newaxis"])
def test_constants_are_torchs(name):
    got, want = getattr(gpugrad, name), getattr(torch, name)
    assert type(got) is type(want)
    assert got == want or (math.isnan(got) and math.isnan(want))


def test_newaxis_adds_a_dimension():
    assert gpugrad.ones(2, 3)[gpugrad.newaxis].shape == torch.ones(2, 3)[torch.newaxis].shape


def test_out_of_memory_error_is_one_runtime_error_class():
    assert issubclass(torch.OutOfMemoryError, RuntimeError)
    assert issubclass(gpugrad.OutOfMemoryError, RuntimeError)
    assert torch.cuda.OutOfMemoryError is torch.OutOfMemoryError
    assert gpugrad.cuda.OutOfMemoryError is gpugrad.OutOfMemoryError
    assert gpugrad.OutOfMemoryError.__qualname__ == "OutOfMemoryError"


def test_grad_scaler_is_amps():
    assert torch.GradScaler is torch.amp.GradScaler
    assert gpugrad.GradScaler is gpugrad.amp.GradScaler


def test_copies_cover_torchs_dense_ones():
    dense = {n for n in dir(torch) if n.endswith("_copy") and not n.startswith("_")}
    dense -= {"index_copy", "narrow_copy", "indices_copy", "values_copy", "crow_indices_copy",
              "col_indices_copy", "ccol_indices_copy", "row_indices_copy",
              "view_as_real_copy", "view_as_complex_copy"}
    assert dense == set(COPIES)


@pytest.mark.parametrize("name", COPIES)
def test_copy_is_fresh_and_contiguous(name):
    src = np.arange(12.0).reshape(3, 4) if name != "expand_copy" else np.arange(4.0)[None]
    x = gpugrad.tensor(src)
    out = getattr(gpugrad, name)(x, *COPY_ARGS.get(name, ()))
    outs = out if isinstance(out, tuple) else (out,)
    t_out = getattr(torch, name)(torch.tensor(src), *COPY_ARGS.get(name, ()))
    t_outs = t_out if isinstance(t_out, tuple) else (t_out,)
    assert len(outs) == len(t_outs)
    for o, t in zip(outs, t_outs):
        assert o.is_contiguous() and o.stride() == t.stride()
        o.fill_(-1.0)
    np.testing.assert_array_equal(x.numpy(), src)  # the input kept its values: no aliasing


@pytest.mark.parametrize("name", COPIES)
def test_copy_refuses_non_tensor_like_torch(name):
    with pytest.raises(TypeError) as t_err:
        getattr(torch, name)([1.0, 2.0], *COPY_ARGS.get(name, ()))
    with pytest.raises(TypeError, match="must be Tensor, not list"):
        getattr(gpugrad, name)([1.0, 2.0], *COPY_ARGS.get(name, ()))
    if name != "view_copy":  # PyTorch lists view_copy's overloads instead
        assert "must be Tensor, not list" in str(t_err.value)


def test_detach_copy_holds_no_graph():
    # PyTorch's detach_copy keeps requires_grad but its backward raises "not implemented";
    # here it is detached, which is what the name promises.
    x = gpugrad.ones(3, requires_grad=True)
    assert not gpugrad.detach_copy(x).requires_grad


@pytest.mark.parametrize("name,call", [
    ("triangular_solve", lambda m: m.triangular_solve(m.ones(2, 1), m.eye(2))),
    ("lu", lambda m: m.lu(m.eye(2))),
    ("lu_solve", lambda m: m.lu_solve(m.ones(2, 1), *m.linalg.lu_factor(m.eye(2)))),
])
def test_legacy_linalg_warns_deprecated(name, call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call(gpugrad)
    assert any(issubclass(w.category, UserWarning) and f"torch.{name} is deprecated"
               in str(w.message) for w in caught)


def test_lu_returns_plain_tuple_and_infos_like_torch():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        singular = [[1.0, 2.0], [2.0, 4.0]]
        got = gpugrad.lu(gpugrad.tensor(singular))
        want = torch.lu(torch.tensor(singular))
        assert type(got) is tuple and type(want) is tuple
        got_i = gpugrad.lu(gpugrad.tensor(singular), get_infos=True)
        want_i = torch.lu(torch.tensor(singular), get_infos=True)
    assert got_i._fields == ("LU", "pivots", "info")
    for g, t in zip(got_i, (want_i.LU, want_i.pivots, want_i.info)):
        np.testing.assert_array_equal(g.numpy(), t.numpy())
        assert g.dtype.name == str(t.dtype).replace("torch.", "")


@pytest.mark.parametrize("name,args", [
    ("matrix_rank", (np.eye(2),)), ("matrix_rank", (np.eye(2), 0.1, True)),
    ("lstsq", (np.eye(2), np.eye(2))), ("solve", (np.eye(2), np.eye(2))),
    ("eig", (np.eye(2),)), ("eig", (np.eye(2), True)), ("symeig", (np.eye(2), True)),
])
def test_removed_linalg_raise_like_torch(name, args):
    with pytest.raises(RuntimeError) as t_err:
        getattr(torch, name)(*[torch.tensor(a) if isinstance(a, np.ndarray) else a
                               for a in args])
    with pytest.raises(RuntimeError) as g_err:
        getattr(gpugrad, name)(*[gpugrad.tensor(a) if isinstance(a, np.ndarray) else a
                                 for a in args])
    want, got = str(t_err.value), str(g_err.value)
    assert "deprecated since version 1.9 and is now removed" in got
    for replacement in ("torch.linalg." + w for w in
                        ("matrix_rank", "lstsq", "solve", "eigvals", "eigh")):
        assert (replacement in want) == (replacement in got)


@pytest.mark.parametrize("name", ["solve", "eig", "symeig", "lstsq"])
def test_removed_tensor_methods_raise(name):
    x = gpugrad.eye(2)
    with pytest.raises(RuntimeError, match="is now removed"):
        getattr(x, name)(*([x] if name in ("solve", "lstsq") else []))


@pytest.mark.parametrize("kwargs", [{"dim": []}, {}])
def test_gradient_of_no_dims_is_empty_tuple(kwargs):
    x = 1.5 if not kwargs else [[1.0, 2.0]]
    assert gpugrad.gradient(gpugrad.tensor(x), **kwargs) == ()
    assert torch.gradient(torch.tensor(x), **kwargs) == ()


@pytest.mark.parametrize("values,coords", [([1, 4, 9], None), ([1, 4, 9], [0, 1, 3]),
                                           ([1.0, 4.0, 9.0], [0.0, 1.0, 3.0])])
def test_gradient_result_dtype_like_torch(values, coords):
    def run(m):
        kw = {} if coords is None else {"spacing": (m.tensor(coords, dtype=m.float64)
                                                    if isinstance(coords[0], float)
                                                    else m.tensor(coords),)}
        return m.gradient(m.tensor(values), **kw)[0]

    got, want = run(gpugrad), run(torch)
    assert got.dtype.name == str(want.dtype).replace("torch.", "")
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


@pytest.mark.parametrize("spacing,exc,match", [
    ([gpugrad.tensor([0.0, 1.0, 2.0]), 1], TypeError, "expected Tensor as element 1"),
    ([gpugrad.tensor([[0.0, 1.0, 2.0]])], RuntimeError, "to have one dimension"),
])
def test_gradient_spacing_errors(spacing, exc, match):
    t_spacing = [torch.tensor(s.numpy()) if isinstance(s, gpugrad.Tensor) else s
                 for s in spacing]
    dim = tuple(range(len(spacing)))
    with pytest.raises(exc, match=match):
        torch.gradient(torch.ones(3, 3), spacing=t_spacing, dim=dim)
    with pytest.raises(exc, match=match):
        gpugrad.gradient(gpugrad.ones(3, 3), spacing=spacing, dim=dim)


_SPEC_NAMES = {"histogramdd", "gradient", "triangular_solve", "matrix_rank", "lstsq", "solve",
               "eig", "symeig", "t_copy", "slice_copy"}


def _torch_error_cases():
    import opinfo.specs  # noqa: F401  (fills the registry)
    from opinfo import REGISTRY

    for spec in REGISTRY:
        if spec.name in _SPEC_NAMES:
            for i, case in enumerate(spec.errors):
                yield pytest.param(spec, case, id=f"{spec.name}-{i}")


@pytest.mark.parametrize("spec,case", list(_torch_error_cases()))
def test_registry_errors_are_torchs(spec, case):
    """The registry checks gpugrad's errors; these are PyTorch's too."""
    args = [torch.tensor(a) if isinstance(a, np.ndarray) else a for a in case.args]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(case.exc, match=case.match):
            spec.op(torch, *args, **case.kwargs)


def test_version_module_as_torchs():
    """``print(torch.__version__, torch.version.cuda)``: the environment report of many scripts."""
    from pathlib import Path

    import tomllib

    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert gpugrad.__version__ == gpugrad.version.__version__ == project["project"]["version"]
    assert set(torch.version.__all__) <= set(dir(gpugrad.version)) | {"cuda"}
    for name in ("hip", "xpu"):
        assert getattr(gpugrad.version, name) is None
    import importlib.util

    cuda = gpugrad.version.cuda  # CuPy's CUDA runtime ("13.0"), None without CuPy
    if importlib.util.find_spec("cupy") is None:
        assert cuda is None
    else:
        major, minor = cuda.split(".")
        assert int(major) >= 11 and minor.isdigit()

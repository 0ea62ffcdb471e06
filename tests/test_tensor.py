"""The Tensor surface: factories, metadata, conversion, repr."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import gpugrad


def test_factories_shapes_and_dtypes():
    assert gpugrad.zeros(2, 3).shape == (2, 3)
    assert gpugrad.ones((2, 3)).dtype == gpugrad.float32
    assert gpugrad.full((2,), 7).dtype == gpugrad.int64
    assert gpugrad.full((2,), 7.0).tolist() == [7.0, 7.0]
    assert gpugrad.empty(0, 4).shape == (0, 4)
    assert gpugrad.arange(5).tolist() == [0, 1, 2, 3, 4]
    assert gpugrad.arange(1, 2, 0.25).dtype == gpugrad.float32
    np.testing.assert_allclose(gpugrad.linspace(0, 1, 5).numpy(), np.linspace(0, 1, 5))
    assert gpugrad.eye(3).numpy().trace() == 3
    assert gpugrad.zeros_like(gpugrad.ones(2, dtype=gpugrad.float64)).dtype == gpugrad.float64
    assert gpugrad.randint(0, 5, (10,)).dtype == gpugrad.int64
    with pytest.raises(RuntimeError, match="negative dimension"):
        gpugrad.zeros(-1)


def test_tensor_infers_dtypes_like_torch():
    for data in ([1, 2], [1.0, 2], [True, False], 3, 2.5, [[1, 2], [3, 4]], []):
        assert gpugrad.tensor(data).dtype.name == str(torch.tensor(data).dtype)[6:]
    assert gpugrad.tensor(np.ones(2)).dtype == gpugrad.float64
    with pytest.raises((ValueError, TypeError)):
        gpugrad.tensor([[1, 2], [3]])


def test_legacy_constructor():
    assert gpugrad.Tensor([1, 2]).dtype == gpugrad.float32
    assert gpugrad.Tensor(2, 3).shape == (2, 3)
    assert gpugrad.Tensor().shape == (0,)


def test_from_numpy_shares_memory_and_tensor_copies():
    a = np.zeros(3, np.float32)
    t = gpugrad.from_numpy(a)
    a[0] = 5
    assert t[0].item() == 5.0
    assert np.shares_memory(t.numpy(), a)
    c = gpugrad.tensor(a)
    assert not np.shares_memory(c.numpy(), a)
    assert np.shares_memory(gpugrad.as_tensor(a).numpy(), a)


_NUMPY_SOURCES = {
    "reversed": lambda: np.arange(5.0)[::-1], "reversed-cols": lambda: np.ones((2, 3))[:, ::-1],
    "reversed-size-1": lambda: np.ones((3, 1))[::-1],
    "empty-reversed": lambda: np.ones((0, 3))[::-1],
    "step-2": lambda: np.arange(5.0)[::2], "transposed": lambda: np.ones((2, 3)).T,
}
_FROM_NUMPY = {
    "from_numpy": lambda m, a: m.from_numpy(a), "as_tensor": lambda m, a: m.as_tensor(a),
    "as_tensor-f32": lambda m, a: m.as_tensor(a, dtype=m.float32),
    "asarray": lambda m, a: m.asarray(a), "asarray-copy": lambda m, a: m.asarray(a, copy=True),
}


def _from_numpy_outcome(m, make, source, writeable=True):
    a = _NUMPY_SOURCES[source]()
    a.flags.writeable = writeable
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            t = _FROM_NUMPY[make](m, a)
        except ValueError as e:
            return ValueError, str(e)
    said = [str(w.message).split(" This type of warning")[0] for w in caught]
    # (a copy's strides differ: PyTorch's asarray keeps the source's layout, gpugrad's not)
    return t.tolist(), t.stride() if make != "asarray-copy" else None, said


@pytest.mark.parametrize("source", _NUMPY_SOURCES)
@pytest.mark.parametrize("make", _FROM_NUMPY)
def test_arrays_with_negative_strides_are_refused_as_torch(make, source):
    assert _from_numpy_outcome(gpugrad, make, source) == _from_numpy_outcome(torch, make, source)


@pytest.mark.parametrize("make", _FROM_NUMPY)
def test_read_only_arrays_warn_where_torch_does(make):
    """PyTorch warns once a process (``set_warn_always`` makes it warn each time); gpugrad
    leaves that to Python's warning filters."""
    warn_always = torch.is_warn_always_enabled()
    torch.set_warn_always(True)
    try:
        expected = _from_numpy_outcome(torch, make, "step-2", writeable=False)
    finally:
        torch.set_warn_always(warn_always)
    assert _from_numpy_outcome(gpugrad, make, "step-2", writeable=False) == expected
    assert len(expected[2]) == (make != "asarray-copy")


def test_from_numpy_of_a_non_array_names_its_type_as_torch():
    for m in (gpugrad, torch):
        for value, name in [(np.float64(1.0), "numpy.float64"), ([1.0], "list")]:
            with pytest.raises(TypeError, match=rf"^expected np.ndarray \(got {name}\)$"):
                m.from_numpy(value)


def test_manual_seed_is_reproducible():
    gpugrad.manual_seed(123)
    a = gpugrad.randn(5).tolist()
    gpugrad.manual_seed(123)
    assert gpugrad.randn(5).tolist() == a


def test_metadata():
    x = gpugrad.zeros(2, 3, 4)
    assert x.size() == (2, 3, 4) and x.size(-1) == 4 and x.dim() == 3 and x.numel() == 24
    assert x.ndim == 3 and x.device == gpugrad.device("cpu") and x.device == "cpu"
    assert x.is_floating_point() and not x.is_cuda
    assert x.stride() == (12, 4, 1)
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.size(3)


def test_item_tolist_numpy():
    assert gpugrad.tensor(3.5).item() == 3.5
    with pytest.raises(RuntimeError, match="cannot be converted to Scalar"):
        gpugrad.ones(2).item()
    x = gpugrad.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        x.numpy()
    assert x.detach().numpy().tolist() == [1.0, 1.0]


_TO_NUMPY = {
    "asarray": np.asarray, "array": np.array, "asarray-f32": lambda t: np.asarray(t, np.float32),
    "__array__-dtype": lambda t: t.__array__(np.float64), "ufunc": np.exp,
    "ufunc-binary": lambda t: np.add(t, 1), "ufunc-bool": lambda t: np.greater(t, 3),
    "list": lambda t: np.array([t, t]),
    "numpy": lambda t: t.numpy(),
}


def _to_numpy_outcome(m, convert, grad_mode: bool):
    x = m.tensor([1.0, 2.0], requires_grad=True) * 2
    with m.set_grad_enabled(grad_mode):
        try:
            out = convert(x)
        except RuntimeError as e:
            return type(e), str(e)
    kind = "tensor" if isinstance(out, m.Tensor) else type(out).__name__
    return kind, str(out.dtype).split(".")[-1], out.tolist()


@pytest.mark.parametrize("grad_mode", [True, False])
@pytest.mark.parametrize("name", _TO_NUMPY)
def test_numpy_of_a_tensor_that_requires_grad_as_torch(name, grad_mode):
    """``np.asarray``/``np.array``/ufuncs refuse such a tensor as ``numpy()`` does, unless
    grad mode is off; a ufunc's result is a tensor again (booleans as uint8)."""
    convert = _TO_NUMPY[name]
    expected = _to_numpy_outcome(torch, convert, grad_mode)
    assert _to_numpy_outcome(gpugrad, convert, grad_mode) == expected
    assert (expected[0] is RuntimeError) == grad_mode


@pytest.mark.parametrize("m", [gpugrad, torch])
def test_np_array_copies_and_np_asarray_shares(m):
    x = m.zeros(3)
    np.array(x)[0] = 5
    np.asarray(x)[1] = 7
    assert x.tolist() == [0.0, 7.0, 0.0]


def _scalar_warnings(lib, convert):
    """The messages (and files) of the warnings ``convert`` gives on a scalar that requires
    grad, and on it under no_grad (PyTorch warns once per process unless warn_always is set)."""
    t = lib.ones((), requires_grad=True) * 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = convert(t)
        with lib.no_grad():
            convert(t)
        convert(t.detach())
    assert value == convert(lib.tensor(2.0))
    return [(str(w.message).split(" (Triggered internally")[0], w.filename) for w in caught]


@pytest.mark.parametrize("convert", [float, int, bool, lambda t: t.item()])
def test_float_of_a_tensor_that_requires_grad_warns_as_torch(convert):
    """A warning once a process in both (set_warn_always: each time, as tested here)."""
    seen = []
    for lib in (torch, gpugrad):
        warn_always = lib.is_warn_always_enabled()
        lib.set_warn_always(True)
        try:
            seen.append(_scalar_warnings(lib, convert))
        finally:
            lib.set_warn_always(warn_always)
    assert seen[1] == seen[0]
    assert len(seen[0]) == (convert is float)



def _typed_leaves(m):
    """Sequences mixing Python numbers with NumPy scalars, arrays and tensors."""
    return [[np.float64(1.0), 2.0], [np.float32(1), np.float64(2)], [np.int64(1), 2.0],
            [np.int32(1), 2], [1, np.float64(2)], [[np.float64(1)], [2.0]], [np.float16(1)],
            [np.uint8(1), np.int8(2)], [np.float32(1), True], [np.int8(1), 300],
            [m.tensor(1.0, dtype=m.float64), 2.0],
            [m.tensor(1, dtype=m.int32), m.tensor(2, dtype=m.int16)]]


@pytest.mark.parametrize("index", range(len(_typed_leaves(torch))))
def test_tensor_promotes_the_dtypes_of_numpy_and_tensor_leaves_like_torch(index):
    for factory in ("tensor", "asarray"):
        ours = getattr(gpugrad, factory)(_typed_leaves(gpugrad)[index])
        theirs = getattr(torch, factory)(_typed_leaves(torch)[index])
        assert (str(ours.dtype), ours.tolist()) == (str(theirs.dtype).replace("torch", "gpugrad"),
                                                    theirs.tolist()), factory


@pytest.mark.parametrize("m", [gpugrad, torch], ids=["gpugrad", "torch"])
def test_tensor_of_a_list_of_arrays_advises_one_array(m):
    m.set_warn_always(True)  # PyTorch's warn-once, every time: once per array
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            batch = m.tensor([np.zeros(2, np.float32), np.ones(2, np.float32)])
            m.tensor(np.array([np.zeros(2), np.ones(2)]))
            m.tensor([np.float32(1.0), np.float32(2.0)])  # NumPy scalars: no advice
    finally:
        m.set_warn_always(False)
    assert [str(w.message).split(" (Triggered")[0] for w in caught] == 2 * [
        "Creating a tensor from a list of numpy.ndarrays is extremely slow. Please consider "
        "converting the list to a single numpy.ndarray with numpy.array() before converting "
        "to a tensor."]
    assert str(batch.dtype).endswith("float32") and batch.tolist() == [[0, 0], [1, 1]]


@pytest.mark.parametrize("m", [gpugrad, torch], ids=["gpugrad", "torch"])
def test_tensor_of_a_tensor_copies_and_advises_detach_clone(m):
    source = m.ones(2, requires_grad=True) * 3
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        copy = m.tensor(source, dtype=m.float64)
    assert [str(w.message) for w in caught] == [
        "To copy construct from a tensor, it is recommended to use sourceTensor.detach()."
        "clone() or sourceTensor.detach().clone().requires_grad_(True), rather than "
        "torch.tensor(sourceTensor)."]
    assert caught[0].filename == __file__
    assert not copy.requires_grad and copy.dtype == m.float64 and copy.tolist() == [3.0, 3.0]
    with warnings.catch_warnings():  # data gpugrad copies itself does not warn
        warnings.simplefilter("error")
        m.tensor([1.0, 2.0])
        m.as_tensor(source)
        source.new_tensor([1.0])


@pytest.mark.parametrize("convert", [float, int, complex])
@pytest.mark.parametrize("shape", [(2,), (0,), (2, 1)])
def test_python_number_of_not_one_element_is_a_value_error(convert, shape):
    for m in (gpugrad, torch):  # item()'s RuntimeError is another message
        with pytest.raises(ValueError, match="^only one element tensors can be converted to "
                                             "Python scalars$"):
            convert(m.ones(shape))
        assert convert(m.ones(1, 1)) == 1


def test_conversions_are_differentiable():
    x = gpugrad.ones(2, requires_grad=True)
    y = x.double()
    assert y.dtype == gpugrad.float64
    y.sum().backward()
    assert x.grad.dtype == gpugrad.float32 and x.grad.tolist() == [1.0, 1.0]
    assert x.to(gpugrad.float32) is x
    assert x.long().dtype == gpugrad.int64
    assert x.clone().grad_fn is not None


def test_repr_like_torch():
    assert repr(gpugrad.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(gpugrad.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(gpugrad.tensor(2.0, requires_grad=True)) == "tensor(2., requires_grad=True)"
    assert repr(gpugrad.tensor([1.5], dtype=gpugrad.float64)) == \
        "tensor([1.5000], dtype=gpugrad.float64)"


def test_device_parsing():
    assert str(gpugrad.device("cuda:1")) == "cuda:1"
    assert gpugrad.device("cuda", 0).index == 0
    with pytest.raises(RuntimeError):
        gpugrad.device("tpu")


def test_cuda_device_without_gpu_is_a_clear_error():
    from gpugrad.backend import cuda_available

    if cuda_available():
        pytest.skip("a GPU is present")  # only meaningful on machines without CUDA
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        gpugrad.zeros(2, device="cuda")


def test_bool_and_len_and_iter():
    assert bool(gpugrad.tensor(1.0))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(gpugrad.ones(2))
    assert len(gpugrad.zeros(3, 2)) == 3


def test_randperm_is_a_seeded_permutation():
    gpugrad.manual_seed(5)
    p = gpugrad.randperm(50)
    assert p.dtype == gpugrad.int64 and sorted(p.tolist()) == list(range(50))
    gpugrad.manual_seed(5)
    assert gpugrad.randperm(50).tolist() == p.tolist()
    assert gpugrad.randperm(0).shape == (0,)
    with pytest.raises(RuntimeError, match="non-negative"):
        gpugrad.randperm(-1)


def test_nn_and_optim_use_only_the_narrow_internal_api():
    """nn and optim read a tensor's array and backend and use ``_new``, ``_write_``,
    ``_bump_version`` and ``_shared_as``; nothing else of its inside (version counter, graph
    fields, the raw constructor)."""
    import pathlib
    import re

    root = pathlib.Path(gpugrad.__file__).parent
    forbidden = re.compile(r"\._(vc|make|grad|requires_grad|output_nr|base|view|alias|init)\b")
    found = [f"{path.relative_to(root)}:{n}: {line.strip()}"
             for folder in ("nn", "optim") for path in sorted((root / folder).rglob("*.py"))
             for n, line in enumerate(path.read_text().splitlines(), 1)
             if forbidden.search(line)]
    assert not found, "\n".join(found)


def test_size_concatenation_and_repetition_stay_sizes():
    s = gpugrad.Size([2, 3])
    for got, want in [(s + gpugrad.Size([4]), torch.Size([2, 3]) + torch.Size([4])),
                      ((1,) + s, (1,) + torch.Size([2, 3])), (s + (5,), torch.Size([2, 3]) + (5,)),
                      (s * 2, torch.Size([2, 3]) * 2), (2 * s, 2 * torch.Size([2, 3]))]:
        assert type(got) is gpugrad.Size and type(want) is torch.Size
        assert tuple(got) == tuple(want)
    with pytest.raises(TypeError):
        s + [4]


def test_complex_api_on_real_tensors_as_torch():
    """conj & co give a real tensor itself, as PyTorch's; .imag raises; angle of integers is
    the default float dtype."""
    for lib in (torch, gpugrad):
        x = lib.tensor([-1.0, 0.0, 2.0], requires_grad=True)
        for name in ("conj", "conj_physical", "resolve_conj", "resolve_neg"):
            assert getattr(x, name)() is x and getattr(lib, name)(x) is x
        assert x.real is x
        y = x.detach()
        assert lib.conj_physical_(y) is y and y.tolist() == [-1.0, 0.0, 2.0]
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
            lib.conj_physical_(x)
        with pytest.raises(RuntimeError, match="imag is not implemented"):
            x.imag  # noqa: B018
        angles = lib.tensor([-1, 0, 3]).angle()
        assert str(angles.dtype).endswith("float32") and angles.tolist()[0] == pytest.approx(np.pi)


@pytest.mark.parametrize("stmt", [
    "L.as_tensor([L.ones(2), L.zeros(2)])", "L.tensor([L.ones(2), L.zeros(2)])",
    "L.tensor([[L.tensor(1.), L.tensor(3)], [2.0, 4]])",
    "L.as_tensor([L.tensor([1.]), L.tensor([2.])])",
    "L.tensor([L.ones(1, 1), 2.0])",
])
def test_a_list_holding_tensors_reads_each_as_a_number_as_torch(stmt):
    import torch

    seen = []
    for lib in (torch, gpugrad):
        try:
            seen.append(eval(stmt, {"L": lib}).tolist())
        except ValueError as err:
            seen.append(str(err))
    assert seen[1] == seen[0]

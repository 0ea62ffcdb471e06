"""Which ops compute on complex tensors, in one place.

gpugrad's complex tensors (complex64, complex128) take a first set of ops: creation, casts, the
parts (``real``, ``imag``, ``view_as_real``, ``view_as_complex``, ``complex``, ``polar``),
``conj``, ``abs``, ``angle``, ``+ - * /``, powers with a number exponent, the holomorphic
elementwise functions (``exp``, ``log``, ``sqrt``, ``sin``, ``tanh``, ``sigmoid``...), the
products (``matmul``, ``mm``, ``bmm``, ``mv``, ``dot``, ``outer``, ``einsum``, ``F.linear``),
``sum``, ``mean``, the norms of magnitudes, comparisons for equality, ``where``,
``masked_fill``, the shape, indexing and joining ops, ``stft``/``istft`` and ``gpugrad.fft``
(a namespace of its own, which the net leaves alone: every function there computes on complex
numbers). PyTorch computes most of its other ops on complex numbers too; NumPy would run
them here as well, but their gradients, promotion and kernels were written for real numbers, so
a complex answer would not be checked.

``install`` (run on the first use of a complex dtype, ``_dtype.on_first_complex_use``) puts a
wrapper in front of every other public op (a function, Tensor method or operator defined in an
ops module, and the functions of ``nn.functional``, ``linalg`` and ``special``) that raises
``NotImplementedError`` when a complex tensor, a Python complex number or a complex ``dtype``
is among the arguments; one function exported under several names gets one wrapper, so the
names stay one object. ``COMPLEX_FORMS`` sends the allowed ops whose real form does not hold
for complex numbers to their complex form (``abs``; ``pow`` takes number exponents only; the
norms take the magnitudes; ``F.linear`` the products).

A program that never uses complex numbers calls the ops themselves; after, each call outside
the allowed set pays a scan of its arguments. Internal calls between ops modules use the
functions themselves, except the formulas run on Tensors under ``create_graph``, which call the
public names (so the ops their complex gradients need are allowed).
"""

from __future__ import annotations

import functools
import inspect
import types

import numpy as np

from .. import _dtype as dt
from ._util import is_complex_scalar, is_scalar

__all__ = ["ALLOWED", "install"]

# The names that compute on complex tensors, as gpugrad functions and Tensor methods alike.
ALLOWED = frozenset("""
    tensor as_tensor asarray from_numpy zeros ones full empty zeros_like ones_like full_like
    empty_like new_zeros new_ones new_full new_empty new_tensor rand randn rand_like randn_like
    complex polar view_as_real view_as_complex real imag conj conj_physical conj_physical_
    resolve_conj resolve_neg is_conj is_complex is_floating_point is_tensor is_nonzero isreal
    numel dim ndimension size stride storage_offset is_contiguous data_ptr element_size nelement
    abs absolute angle add sub subtract mul multiply div divide true_divide neg negative exp
    add_ sub_ mul_ div_ neg_ zero_ fill_ copy_ sum sum_to_size mean eq ne equal
    log log1p expm1 sqrt rsqrt sin cos tanh sinh cosh sigmoid reciprocal square
    matmul mm bmm mv dot outer einsum __matmul__ __rmatmul__ stft istft eig eigvals
    reshape view view_as reshape_as flatten unflatten ravel transpose swapaxes swapdims permute
    t unsqueeze squeeze expand expand_as broadcast_to broadcast_tensors contiguous clone detach
    detach_ cat concat concatenate stack hstack vstack split chunk tensor_split unbind narrow
    unfold
    select movedim moveaxis flip roll repeat tile where masked_fill masked_fill_ nonzero argwhere
    to type type_as cpu cuda numpy tolist item float double half bfloat16 long int short char
    byte bool cfloat cdouble requires_grad_ retain_grad backward register_hook
    result_type promote_types can_cast
    __getitem__ __setitem__ __len__ __iter__ __repr__ __format__ __add__ __radd__ __iadd__
    __sub__ __rsub__ __isub__ __mul__ __rmul__ __imul__ __truediv__ __rtruediv__ __itruediv__
    __neg__ __pos__ __abs__ __eq__ __ne__ __array__ __reduce_ex__ __deepcopy__ __complex__
    __dlpack__ __dlpack_device__ __array_wrap__
""".split())

# The Tensor operators the net covers (the other dunders are Python's protocol, not ops).
_OPERATORS = frozenset("""
    __add__ __radd__ __iadd__ __sub__ __rsub__ __isub__ __mul__ __rmul__ __imul__ __truediv__
    __rtruediv__ __itruediv__ __floordiv__ __rfloordiv__ __ifloordiv__ __mod__ __rmod__
    __pow__ __rpow__ __ipow__ __matmul__ __rmatmul__ __lt__ __le__ __gt__ __ge__ __and__
    __rand__ __iand__ __or__ __ror__ __ior__ __xor__ __rxor__ __ixor__ __invert__ __lshift__
    __rlshift__ __ilshift__ __rshift__ __rrshift__ __irshift__ __float__ __int__ __index__
    __bool__ __neg__ __pos__ __abs__
""".split())


def _complex_abs(fn):
    """``abs`` of a complex tensor: ``complex_api.complex_abs`` (real, with its gradient)."""

    def complex_abs(input, *args, **kwargs):
        from .complex_api import complex_abs

        return complex_abs(input, *args, **kwargs)

    return complex_abs


def _number_exponent(fn):
    """``pow`` on complex numbers, with a Python number as the exponent: the gradient of a
    tensor exponent (``b`` in ``a ** b``) reads ``log(a)`` and compares ``b`` with 0, written
    for real numbers."""

    def pow_with_number_exponent(input, exponent, *args, **kwargs):
        if not (is_scalar(exponent) or is_complex_scalar(exponent)):
            raise NotImplementedError(
                "pow: gpugrad computes complex powers with a Python number as the exponent "
                "only, not a tensor")
        return fn(input, exponent, *args, **kwargs)

    return pow_with_number_exponent


def _of_magnitudes(order: str, spectral):
    """A norm of complex numbers: the same norm of their magnitudes (``abs``, which gives the
    complex gradient). ``spectral(ord, dim, ndim)`` tells the norms that read singular values
    instead, which are refused; ``order`` names the op's order argument."""

    def form(fn):
        signature = inspect.signature(fn)

        def norm_of_magnitudes(input, *args, **kwargs):
            from .complex_api import complex_abs

            bound = signature.bind(input, *args, **kwargs)
            bound.apply_defaults()
            ord_, dim = bound.arguments[order], bound.arguments.get("dim")
            if not _is_complex_value(input) or spectral(ord_, dim, input.dim()):
                raise NotImplementedError(
                    f"{fn.__name__}: gpugrad computes the norms of complex tensors that depend "
                    "on the magnitudes alone (vector norms, 'fro', and the 1 and inf matrix "
                    "norms), of a complex input, not the spectral or nuclear norms")
            return fn(complex_abs(input), *args, **kwargs)

        return norm_of_magnitudes

    return form


def _never(ord_, dim, ndim) -> bool:
    return False


def _nuclear(ord_, dim, ndim) -> bool:
    return ord_ == "nuc"


def _matrix_spectral(ord_, dim, ndim) -> bool:
    return ord_ in ("nuc", 2, -2)


def _linalg_norm_spectral(ord_, dim, ndim) -> bool:
    matrix = len(dim) == 2 if isinstance(dim, (tuple, list)) else dim is None and ndim == 2
    return matrix and ord_ in ("nuc", 2, -2)


def _linear_of_products(fn):
    """``F.linear`` of complex numbers: ``input @ weight.T + bias`` on the products."""

    def complex_linear(input, weight, bias=None):
        from .linalg import matmul

        out = matmul(input, weight.t())
        return out if bias is None else out + bias

    return complex_linear


# Allowed ops that take another form when an argument is complex: a name (or a qualified name,
# looked up first: ``linalg.norm``) -> a function of the op that gives that form (called with
# the op's arguments).
COMPLEX_FORMS = {"abs": _complex_abs, "absolute": _complex_abs, "__abs__": _complex_abs,
                 "pow": _number_exponent, "__pow__": _number_exponent,
                 "vector_norm": _of_magnitudes("ord", _never),
                 "norm": _of_magnitudes("p", _nuclear),
                 "linalg.norm": _of_magnitudes("ord", _linalg_norm_spectral),
                 "linalg.matrix_norm": _of_magnitudes("ord", _matrix_spectral),
                 "linear": _linear_of_products}


def _is_complex_value(x) -> bool:
    data = getattr(x, "_data", None)
    if data is not None:
        return getattr(data, "dtype", None) is not None and data.dtype.kind == "c"
    if isinstance(x, (complex, np.complexfloating)):
        return True
    return isinstance(x, dt.dtype) and x.is_complex


def _any_complex(args, kwargs) -> bool:
    for a in args:
        if _is_complex_value(a):
            return True
        if a.__class__ is list or a.__class__ is tuple:
            for b in a:
                if _is_complex_value(b):
                    return True
    for a in kwargs.values():
        if _is_complex_value(a):
            return True
    return False


_PLAIN = (int, float, bool, type(None), str)  # argument types that are never complex


def _refusing(fn, shown: str):
    @functools.wraps(fn)
    def refusing(*args, **kwargs):
        # the common call, kept cheap: real tensors and plain numbers, no keywords
        for a in args:
            cls = a.__class__
            if cls is Tensor:
                if a._data.dtype.kind == "c":
                    break
            elif cls not in _PLAIN:
                break
        else:
            if not kwargs:
                return fn(*args)
        if _any_complex(args, kwargs):
            raise NotImplementedError(
                f"{shown}: gpugrad does not compute this op on complex tensors yet (complex "
                "tensors take creation, casts, real/imag/view_as_real/view_as_complex, "
                "complex, polar, conj, abs, angle, + - * /, powers, exp, log, sqrt, sin, cos, "
                "tanh, sigmoid..., matmul, einsum, sum, mean, equality, where, masked_fill and "
                "the shape and indexing ops)")
        return fn(*args, **kwargs)

    return refusing


def _with_complex_form(fn, complex_form):
    @functools.wraps(fn)
    def dispatching(*args, **kwargs):
        if _any_complex(args, kwargs):
            return complex_form(*args, **kwargs)
        return fn(*args, **kwargs)

    return dispatching


_WRAPPERS: dict = {}  # (id of the function, name) -> its wrapper: one per function and name
_REPLACED: list = []  # (owner, name, what was there) for each entry point install replaced


def _wrap(owner, name: str, shown: str) -> None:
    fn = getattr(owner, name)
    form = COMPLEX_FORMS.get(shown, COMPLEX_FORMS.get(name))
    if form is None and name in ALLOWED:
        return
    key = (id(fn), name)
    if key not in _WRAPPERS:
        _WRAPPERS[key] = (fn, _with_complex_form(fn, form(fn)) if form is not None
                          else _refusing(fn, shown))
    _REPLACED.append((owner, name, owner.__dict__.get(name, _INHERITED)))
    setattr(owner, name, _WRAPPERS[key][1])


_INHERITED = object()  # (an entry point a class had from a base: removed again, not set)


# The modules whose functions are ops: the net leaves the others (seeding, devices, vmap,
# compile, save...) as they are, so that they stay the same objects wherever they are exported.
_OP_MODULES = ("gpugrad.ops.", "gpugrad.nn.functional", "gpugrad.factories", "gpugrad.sampling",
               "gpugrad._torch_aliases", "gpugrad._torch_cells", "gpugrad._windows",
               "gpugrad.lowrank")


def is_op(fn) -> bool:
    """Whether ``fn`` (under the wrappers put in front of it) is defined in an ops module."""
    module = getattr(inspect.unwrap(fn), "__module__", None) or ""
    return module.startswith(_OP_MODULES)


def _functions(namespace, ops_only: bool = True) -> list:
    """The public functions of a module (classes, modules and constants left out), and with
    ``ops_only`` only its ops."""
    return [n for n, v in vars(namespace).items()
            if not n.startswith("_") and callable(v) and not isinstance(v, type)
            and not isinstance(v, types.ModuleType) and (is_op(v) or not ops_only)]


def install(gpugrad) -> None:
    """Wrap the ops outside ``ALLOWED`` (see the module's docstring)."""
    global Tensor
    Tensor = tensor_cls = gpugrad.Tensor
    for name in _functions(gpugrad):
        _wrap(gpugrad, name, name)
    for prefix, namespace in (("nn.functional", gpugrad.nn.functional),
                              ("linalg", gpugrad.linalg), ("special", gpugrad.special)):
        for name in _functions(namespace, ops_only=False):
            _wrap(namespace, name, f"{prefix}.{name}")
    seen = set()
    for cls in tensor_cls.__mro__[:-1]:
        for name, v in vars(cls).items():
            if name in seen or not callable(v) or isinstance(v, (type, staticmethod,
                                                                 classmethod)):
                continue
            seen.add(name)
            if name.startswith("_") and name not in _OPERATORS or not is_op(v):
                continue
            _wrap(tensor_cls, name, f"Tensor.{name}")
    for name in ("H", "mH"):  # conjugate transposes: the transpose, conjugated
        _REPLACED.append((tensor_cls, name, tensor_cls.__dict__.get(name, _INHERITED)))
        setattr(tensor_cls, name, property(_conjugated(getattr(tensor_cls, name).fget)))


def uninstall(gpugrad) -> None:
    """Undo ``install`` and close the complex dtypes' gate again, so that their next use
    installs the net anew. For the test suite: one process runs tests with and without complex
    numbers, and the ones without should not pay for the wrappers (the CUDA backend's routing
    of complex arrays stays: it costs nothing on real arrays)."""
    while _REPLACED:
        owner, name, old = _REPLACED.pop()
        if old is _INHERITED:
            delattr(owner, name)
        else:
            setattr(owner, name, old)
    dt.close_complex_gate(lambda: install(gpugrad))


Tensor = None  # set by install


def _conjugated(transpose):
    @functools.wraps(transpose)
    def conjugate_transpose(self):
        out = transpose(self)
        return out.conj() if self._data.dtype.kind == "c" else out

    return conjugate_transpose

"""PyTorch's ``out=`` keyword: where it is taken, and what a call with it does.

PyTorch lets ``out=`` name the tensor (or the tuple of tensors, for ops with several results)
that receives a function's result. ``OUT_NAMES`` lists the public functions of ``gpugrad``,
``gpugrad.linalg``, ``gpugrad.special`` and ``gpugrad.fft`` whose PyTorch counterparts take it
(the adapter in ``_arg_adapter`` reads it at import; tests/test_out_arg.py holds it equal to
what torch 2.13 accepts). ``Tensor`` methods never take ``out=``.

A call with ``out=t`` computes the result as without it and then writes it into ``t``, which it
returns, so ``t`` may be one of the inputs. As in PyTorch: the write is an in-place one (it
bumps ``t``'s version counter) that autograd cannot record, so it is refused in grad mode when
an input or ``t`` requires grad; the result's dtype must cast to ``t``'s (no float into an
integer tensor), and be ``t``'s own for the ops in ``EXACT_DTYPE`` and those with several
results (PyTorch casts into ``out`` only in its elementwise and reduction kernels); ``t`` of
another shape is resized, with PyTorch's deprecation warning when it had elements; the
factories take ``t``'s dtype and device where the call names none. The result is computed in
new memory and copied, so an ``out`` that overlaps an input is never read half-written.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

from . import _dtype as dt
from .autograd.grad_mode import state as grad_state
from .ops.tensor_info import resize_memory
from .tensor import Tensor

__all__ = ["OUT_NAMES", "EXACT_DTYPE", "FACTORIES", "OutRule", "rule", "call_with_out"]

OUT_NAMES = {
    "gpugrad": """
    abs absolute acos acosh add addbmm addcdiv addcmul addmm addmv addr alias_copy all amax amin
    aminmax angle any arange arccos arccosh arcsin arcsinh arctan arctan2 arctanh argmax argmin
    argsort as_strided_copy asin asinh atan atan2 atanh baddbmm bernoulli bitwise_and
    bitwise_left_shift bitwise_not bitwise_or bitwise_right_shift bitwise_xor bmm bucketize cat
    ceil chain_matmul cholesky cholesky_inverse cholesky_solve clamp clamp_max clamp_min clip
    column_stack complex concat concatenate conj_physical copysign cos cosh cross cummax cummin
    cumprod cumsum deg2rad detach_copy diag diagonal_copy diff digamma div divide dot dstack empty
    eq erf erfc erfinv exp exp2 expand_copy expm1 eye fix float_power floor floor_divide fmax fmin
    fmod frac frexp frobenius_norm full gather gcd ge geqrf ger greater greater_equal gt
    hardshrink heaviside histc histogram hstack hypot i0 igamma igammac index_add index_copy
    index_reduce index_select inner inverse isin isneginf isposinf kron kthvalue lcm ldexp le
    lerp less less_equal lgamma linspace log log10 log1p log2 log_softmax logaddexp logaddexp2
    logcumsumexp logical_and logical_not logical_or logical_xor logit logspace logsumexp lstsq
    lt lu lu_solve lu_unpack masked_select matmul matrix_power matrix_rank max maximum mean
    median min minimum mm mode msort mul multinomial multiply mv mvlgamma nan_to_num nanmean
    nanmedian nanquantile nansum narrow_copy ne neg negative nextafter nonzero nonzero_static
    norm normal not_equal nuclear_norm ones orgqr outer permute_copy polar polygamma pow prod qr
    quantile rad2deg rand randint randn randperm range reciprocal remainder renorm round
    row_stack rsqrt scatter scatter_add scatter_reduce searchsorted select_copy sgn sigmoid sign
    signbit sin sinc sinh slice_copy slice_scatter slogdet softmax solve sort split_copy
    split_with_sizes_copy spmm sqrt square squeeze_copy stack std sub subtract sum svd symeig
    t_copy take take_along_dim tan tanh tensordot threshold topk transpose_copy triangular_solve
    tril triu true_divide trunc unbind_copy unfold_copy unsqueeze_copy var vdot view_copy vstack
    where xlogy zeros
    """.split(),
    "linalg": """
    cholesky cholesky_ex cond cross det eig eigh eigvals eigvalsh householder_product inv inv_ex
    lstsq lu lu_factor lu_factor_ex lu_solve matmul matrix_norm matrix_power matrix_rank
    multi_dot norm pinv qr slogdet solve solve_ex solve_triangular svd svdvals tensorinv
    tensorsolve vecdot vector_norm
    """.split(),
    "special": """
    airy_ai bessel_j0 bessel_j1 bessel_y0 bessel_y1 chebyshev_polynomial_t
    chebyshev_polynomial_u chebyshev_polynomial_v chebyshev_polynomial_w digamma entr erf erfc
    erfcx erfinv exp2 expit expm1 gammainc gammaincc gammaln hermite_polynomial_h
    hermite_polynomial_he i0 i0e i1 i1e laguerre_polynomial_l legendre_polynomial_p log1p
    log_ndtr logit logsumexp modified_bessel_i0 modified_bessel_i1 modified_bessel_k0
    modified_bessel_k1 multigammaln ndtr ndtri polygamma psi round scaled_modified_bessel_k0
    scaled_modified_bessel_k1 shifted_chebyshev_polynomial_t shifted_chebyshev_polynomial_u
    shifted_chebyshev_polynomial_v shifted_chebyshev_polynomial_w sinc spherical_bessel_j0
    xlog1py xlogy zeta
    """.split(),
    "fft": """
    fft fft2 fftfreq fftn hfft hfft2 hfftn ifft ifft2 ifftn ihfft ihfft2 ihfftn irfft irfft2
    irfftn rfft rfft2 rfftfreq rfftn
    """.split(),
}

# Ops whose out must have the result's dtype exactly; ops with several results are all of this
# kind. (tests/test_out_arg.py probes torch for the rest of OUT_NAMES, which cast.)
EXACT_DTYPE = {
    "gpugrad": """
    abs absolute addbmm addmm addmv alias_copy amax amin aminmax argmax argmin as_strided_copy
    baddbmm bmm ceil conj_physical cross cummax cummin detach_copy diag diagonal_copy dot
    expand_copy fix floor frac frexp frobenius_norm gather hardshrink heaviside histc histogram
    index_add index_copy index_reduce index_select inner inverse isin kthvalue log_softmax
    logcumsumexp masked_select matmul median mm mode msort mv nan_to_num nanmedian nanquantile
    narrow_copy neg negative nonzero nonzero_static norm nuclear_norm permute_copy qr quantile
    renorm round scatter scatter_add scatter_reduce select_copy sgn sign slice_copy
    slice_scatter slogdet softmax sort spmm squeeze_copy svd t_copy take
    take_along_dim tensordot topk transpose_copy triangular_solve tril triu trunc unbind_copy
    unfold_copy unsqueeze_copy vdot view_copy where
    """.split(),
    "linalg": """
    cholesky cholesky_ex cross det eigh eigvalsh inv inv_ex lu lu_factor lu_factor_ex matmul
    matrix_norm multi_dot norm qr slogdet solve solve_ex solve_triangular svd svdvals vecdot
    vector_norm
    """.split(),
    "special": """
    round
    """.split(),
    "fft": [],
}

# Without a dtype= or device=, these make the result in out's dtype and on out's device.
FACTORIES = frozenset("""
    arange empty eye full linspace logspace normal ones rand randint randn randperm range zeros
    fftfreq rfftfreq
""".split())
# PyTorch resizes a factory's out silently, but for these two, which warn in their own words.
_RANGE_WARNING = (
    "The number of elements in the out tensor of shape {old} is {n} which does not match the "
    "computed number of elements {new}. Note that this may occur as a result of rounding "
    "error. The out tensor will be resized to a tensor of shape ({shape},)."
)
_RESIZE_WARNING = (
    "An output with one or more elements was resized since it had shape {old}, which does not "
    "match the required output shape {new}. This behavior is deprecated, and in a future "
    "PyTorch release outputs will not be resized unless they have zero elements. You can "
    "explicitly reuse an out tensor t by resizing it, inplace, to zero elements with "
    "t.resize_(0)."
)


class OutRule(NamedTuple):
    """What a call with ``out=`` of one function needs to know."""

    name: str  # the op's name in PyTorch's messages (``linalg_qr``)
    exact: bool  # out must have the result's dtype
    factory: bool  # out's dtype and device are the defaults
    takes: frozenset  # the keywords the function has


# How PyTorch's messages name an op of each namespace.
_MESSAGE_PREFIX = {"gpugrad": "", "linalg": "linalg_", "special": "special_", "fft": "fft_"}


def rule(ns: str, name: str, params) -> OutRule | None:
    """The rule for ``out=`` of ``name`` in namespace ``ns`` (``"gpugrad"``, ``"linalg"``,
    ``"special"``, ``"fft"``) with parameters ``params``, or None where PyTorch takes no
    ``out=`` there or the function handles ``out`` itself (the removed ones, which refuse every
    call)."""
    if name not in _OUT_SETS.get(ns, ()) or "out" in params:
        return None
    return OutRule(_MESSAGE_PREFIX[ns] + name, name in _EXACT_SETS[ns],
                   ns in ("gpugrad", "fft") and name in FACTORIES, frozenset(params))


def call_with_out(fn, rule: OutRule, args: tuple, kwargs: dict, out):
    """``fn(*args, **kwargs)`` written into ``out`` (a tensor, or a tuple or list of them for
    ops with several results); returns ``out``, as a named tuple where the op returns one."""
    name = rule.name
    outs = tuple(out) if isinstance(out, (tuple, list)) else (out,)
    if rule.factory and not any(isinstance(a, Tensor) for a in args):  # (normal(mean, std))
        _default_to_out(kwargs, outs[0], rule.takes)
    if grad_state.enabled and (_any_requires_grad(outs) or _any_requires_grad(args)
                               or _any_requires_grad(kwargs.values())):
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support "
                           "automatic differentiation, but one of the arguments requires grad.")
    result = fn(*args, **kwargs)
    several = isinstance(result, tuple)
    results = result if several else (result,)
    _check_kind(name, out, results, several)
    for r, o in zip(results, outs):
        _write(rule, r, o, rule.exact or several)
    if not several:
        return out
    return type(result)(*outs) if hasattr(result, "_fields") else outs


def _default_to_out(kwargs: dict, out, takes: frozenset) -> None:
    """A factory's dtype and device come from ``out`` where the call gives none; a dtype that
    differs from out's is refused, as in PyTorch."""
    d = kwargs.get("dtype")
    if d is not None and d != out.dtype:
        raise RuntimeError(f"dtype {dt.SCALAR_TYPE_NAMES[d.name]} does not match dtype of out "
                           f"parameter ({dt.SCALAR_TYPE_NAMES[out.dtype.name]})")
    if "dtype" in takes:
        kwargs["dtype"] = out.dtype
    if "device" in takes and kwargs.get("device") is None:
        kwargs["device"] = out.device


def _any_requires_grad(values) -> bool:
    for v in values:
        if isinstance(v, (tuple, list)):  # cat's and stack's tensors
            if any(getattr(t, "_requires_grad", False) for t in v):
                return True
        elif getattr(v, "_requires_grad", False):
            return True
    return False


def _check_kind(name: str, out, results: tuple, several: bool) -> None:
    if several:
        if not (isinstance(out, (tuple, list)) and len(out) == len(results)
                and all(isinstance(o, Tensor) for o in out)):
            raise TypeError(f"{name}(): argument 'out' must be tuple of {len(results)} Tensors, "
                            f"not {type(out).__name__}")
    elif not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")


def _write(rule: OutRule, result, out, exact: bool) -> None:
    name = rule.name
    if result._backend is not out._backend and result.device != out.device:
        raise RuntimeError(f"Expected out tensor to have device {result.device}, but got "
                           f"{out.device} instead")
    if exact and result.dtype != out.dtype:
        raise RuntimeError(f"Expected out tensor to have dtype {_C10_NAMES[result.dtype.name]}, "
                           f"but got {_C10_NAMES[out.dtype.name]} instead")
    if not dt.can_cast(result.dtype, out.dtype):
        raise RuntimeError(f"result type {dt.SCALAR_TYPE_NAMES[result.dtype.name]} can't be "
                           "cast to the desired output type "
                           f"{dt.SCALAR_TYPE_NAMES[out.dtype.name]}")
    if out.shape != result.shape:
        old, new = list(out.shape), list(result.shape)
        if name in ("arange", "range"):
            if out.numel() and out.numel() != result.numel():
                warnings.warn(_RANGE_WARNING.format(old=old, n=out.numel(), new=result.numel(),
                                                    shape=result.numel()), stacklevel=4)
        elif out.numel() and not rule.factory:
            warnings.warn(_RESIZE_WARNING.format(old=old, new=new), stacklevel=4)
        resize_memory(out, tuple(result.shape))
    out._write_(result._data)


_OUT_SETS = {ns: frozenset(names) for ns, names in OUT_NAMES.items()}
_EXACT_SETS = {ns: frozenset(names) for ns, names in EXACT_DTYPE.items()}
# The C++ type names PyTorch's dtype-mismatch messages print.
_C10_NAMES = {
    "float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
    "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
    "uint8": "unsigned char", "uint16": "unsigned short", "uint32": "unsigned int",
    "uint64": "unsigned long", "bool": "bool", "complex64": "c10::complex<float>",
    "complex128": "c10::complex<double>",
}

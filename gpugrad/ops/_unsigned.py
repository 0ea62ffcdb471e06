"""PyTorch's refusals for its "limited support" unsigned dtypes (uint16, uint32, uint64), in
one place.

PyTorch 2.13 creates, casts, copies, views, indexes, joins and sorts tensors of these dtypes,
compares them for equality, multiplies, truly divides, sums and bitwise-ands them, but builds
most of its other CPU kernels without them: such an op raises ``NotImplementedError`` naming
its kernel (``"add_stub" not implemented for 'UInt16'``). NumPy computes every op on these
dtypes, so gpugrad would quietly do what PyTorch refuses. ``REFUSED`` names PyTorch's kernel for
each public entry point of such an op, and ``install`` replaces each entry point by a wrapper
that checks the dtype the op computes in (as ``amp/policy.py`` wraps its ops). It runs on the
first use of one of these dtypes (``_dtype.on_first_unsigned_use``): a program that never
uses them calls the ops themselves; after, each listed call pays a dtype lookup or two.
Internal calls between ops modules use the functions themselves and are never checked.
Mixing these dtypes with another non-floating dtype is refused in ``_dtype.promote_types``.
"""

from __future__ import annotations

import functools

from .._dtype import (
    LIMITED_UNSIGNED,
    LIMITED_UNSIGNED_NP,
    from_numpy_dtype,
    not_implemented_for,
    result_type,
    to_dtype,
)

__all__ = ["REFUSED", "install"]

Tensor = None  # set by install


def _max_kernel(stem: str):
    """``max``/``min``: the kernel depends on the form called (all, along a dim, elementwise)."""

    def kernel(args, kwargs):
        rest = args[1:] or tuple(kwargs.values())
        if not rest:
            return f"{stem}_all"
        return f"{stem}imum_cpu" if isinstance(rest[0], Tensor) else f"{stem}_cpu"

    return kernel


def _clamp_kernel(args, kwargs):
    lo = args[1] if len(args) > 1 else kwargs.get("min")
    hi = args[2] if len(args) > 2 else kwargs.get("max")
    if isinstance(lo, float) or isinstance(hi, float):
        return None  # computed in floating point
    if isinstance(lo, Tensor) or isinstance(hi, Tensor):
        if hi is None:
            return "maximum_cpu"
        return "minimum_cpu" if lo is None else "clamp_cpu"
    if hi is None:
        return "clamp_min_scalar_cpu"
    return "clamp_max_scalar_cpu" if lo is None else "clamp_scalar_cpu"


def _setitem_kernel(args, kwargs):
    """``x[key] = v``: a key holding a tensor writes through index_put (masked_fill for one
    bool mask); other keys are plain strided writes, which PyTorch allows."""
    key = args[1]
    keys = key if isinstance(key, tuple) else (key,)
    tensors = [k for k in keys if isinstance(k, Tensor)]
    if not tensors:
        return None
    if len(keys) == 1 and tensors[0]._data.dtype.kind == "b":
        return "masked_fill"
    return "index_put"


def _bound_kernel(kernel: str, bound: str):
    """``clamp_min``/``clamp_max``: refused unless the bound is a float (computed in floating
    point)."""

    def bound_kernel(args, kwargs):
        value = args[1] if len(args) > 1 else kwargs.get(bound)
        return None if isinstance(value, float) else kernel

    return bound_kernel


def _without_dim(kernel: str):
    """An op PyTorch refuses over the whole tensor but computes along a dim."""

    def whole_kernel(args, kwargs):
        return kernel if len(args) < 2 and kwargs.get("dim") is None else None

    return whole_kernel


def _index_select_kernel(args, kwargs):
    """PyTorch's CPU index_select lacks these dtypes only on its path for 1-D inputs."""
    return "index_select" if args[0]._data.ndim <= 1 else None


def _repeat_interleave_kernel(args, kwargs):
    """Repeats given as a tensor gather the (flattened or 1-D) input through index_select."""
    repeats = args[1] if len(args) > 1 else kwargs.get("repeats")
    dim = args[2] if len(args) > 2 else kwargs.get("dim")
    if isinstance(repeats, Tensor) and (dim is None or args[0]._data.ndim <= 1):
        return "index_select"
    return None


def _pad_kernel(args, kwargs):
    mode = args[2] if len(args) > 2 else kwargs.get("mode", "constant")
    kind = {"reflect": "reflection", "replicate": "replication"}.get(mode)
    if kind is None:
        return None
    pad = args[1] if len(args) > 1 else kwargs["pad"]
    return f"{kind}_pad{len(pad) // 2}d"


def _bernoulli_kernel(args, kwargs):
    p = args[1] if len(args) > 1 else kwargs.get("p")
    return "bernoulli_tensor_cpu_self_" if isinstance(p, Tensor) else "bernoulli_scalar_cpu_"


def _div_kernel(args, kwargs):
    mode = kwargs.get("rounding_mode")
    return None if mode is None else f"div_{mode}_cpu"


def _names(*names: str) -> tuple:
    """Each name as a gpugrad function and a Tensor method; a leading ``T.`` or ``G.`` keeps
    just one of them (``F.``: ``gpugrad.nn.functional``)."""
    out = []
    for name in names:
        if name[:2] in ("T.", "G.", "F."):
            out.append(name)
        else:
            out += ["G." + name, "T." + name]
    return tuple(out)


# How the op's compute dtype is found: the first tensor argument's dtype (UNARY), PyTorch's
# promotion of the first two arguments (BINARY: an elementwise op of a tensor and a tensor or
# number; BOUNDARIES: the two in reverse, as ``bucketize(input, boundaries)`` promotes), or the
# ``dtype`` keyword (DTYPE_ARG: a factory, or a reduction asked for that output dtype).
UNARY, BINARY, BOUNDARIES, DTYPE_ARG = "unary", "binary", "boundaries", "dtype_arg"

# kernel (a name, or a function of the call's args and kwargs giving the name or None for a
# call PyTorch allows) -> (how to find the compute dtype, entry points)
REFUSED = [
    ("add_stub", BINARY, _names("add", "sub", "T.add_", "T.sub_", "T.__add__", "T.__radd__",
                                "T.__iadd__", "T.__sub__", "T.__rsub__", "T.__isub__",
                                "G.rsub")),
    ("add_stub", UNARY, _names("diff")),
    ("add_stub", BINARY, _names("dist")),
    ("div_floor_cpu", BINARY, _names("floor_divide", "T.floor_divide_", "T.__floordiv__",
                                     "T.__rfloordiv__", "T.__ifloordiv__")),
    (_div_kernel, BINARY, _names("div", "divide", "T.div_", "T.divide_")),
    ("remainder_cpu", BINARY, _names("remainder", "T.remainder_", "T.__mod__", "T.__rmod__")),
    ("fmod_cpu", BINARY, _names("fmod", "T.fmod_")),
    ("pow", BINARY, _names("pow", "T.pow_", "T.__pow__", "T.__rpow__", "T.__ipow__")),
    ("pow", UNARY, _names("square", "square_")),
    ("neg_cpu", UNARY, _names("neg", "negative", "neg_", "negative_", "T.__neg__")),
    ("abs_cpu", UNARY, _names("abs", "absolute", "abs_", "T.absolute_", "T.__abs__")),
    ("sign_cpu", UNARY, _names("sign", "sgn", "T.sign_", "T.sgn_")),
    (_max_kernel("max"), UNARY, _names("max")),
    (_max_kernel("min"), UNARY, _names("min")),
    ("max_values_cpu", UNARY, _names("amax")),
    ("min_values_cpu", UNARY, _names("amin")),
    ("aminmax_cpu", UNARY, _names("aminmax", "histc")),
    ("maximum_cpu", BINARY, _names("maximum", "fmax")),
    ("minimum_cpu", BINARY, _names("minimum", "fmin")),
    ("argmax_cpu", UNARY, _names("argmax")),
    ("argmin_cpu", UNARY, _names("argmin")),
    ("topk_cpu", UNARY, _names("topk")),
    ("median_cpu", UNARY, _names("median", "nanmedian")),
    ("mode_cpu", UNARY, _names("mode")),
    ("kthvalue_cpu", UNARY, _names("kthvalue")),
    ("cummax_cpu", UNARY, _names("cummax")),
    ("cummin_cpu", UNARY, _names("cummin")),
    ("logcumsumexp_out_cpu", UNARY, _names("logcumsumexp")),
    ("addmm_impl_cpu_", UNARY, _names("matmul", "mm", "T.__matmul__", "G.tensordot",
                                      "F.linear")),
    ("addmv_impl_cpu", UNARY, _names("mv")),
    ("bmm", UNARY, _names("bmm", "G.einsum")),
    ("dot", UNARY, _names("dot")),
    ("trace", UNARY, _names("trace")),
    ("bitwise_not_cpu", UNARY, _names("bitwise_not", "T.bitwise_not_", "T.__invert__")),
    ("lshift_cpu", BINARY, _names("bitwise_left_shift", "T.__lshift__", "T.__rlshift__",
                                  "T.__ilshift__")),
    ("rshift_cpu", BINARY, _names("bitwise_right_shift", "T.__rshift__", "T.__rrshift__",
                                  "T.__irshift__")),
    ("lt_cpu", BINARY, _names("lt", "less", "T.lt_", "T.less_", "T.__lt__")),
    ("le_cpu", BINARY, _names("le", "less_equal", "T.le_", "T.less_equal_", "T.__le__")),
    ("gt_cpu", BINARY, _names("gt", "greater", "T.gt_", "T.greater_", "T.__gt__")),
    ("ge_cpu", BINARY, _names("ge", "greater_equal", "T.ge_", "T.greater_equal_", "T.__ge__")),
    ("logical_and_cpu", BINARY, _names("logical_and", "T.logical_and_")),
    ("logical_or_cpu", BINARY, _names("logical_or")),
    ("logical_xor_cpu", BINARY, _names("logical_xor")),
    ("logical_not_cpu", UNARY, _names("logical_not", "T.logical_not_")),
    (_clamp_kernel, UNARY, _names("clamp", "clip", "clamp_", "clip_")),
    (_bound_kernel("clamp_min_scalar_cpu", "min"), UNARY, _names("clamp_min", "clamp_min_")),
    ("clamp_min_scalar_cpu", UNARY, _names("relu", "relu_", "F.relu")),
    ("clamp_scalar_cpu", UNARY, ("F.hardtanh", "F.relu6")),
    ("threshold_cpu", UNARY, ("F.threshold",)),
    # convolution, pooling and padding
    ("slow_conv2d_cpu", UNARY, ("F.conv1d", "F.conv2d")),
    ("compute_columns3d", UNARY, ("F.conv3d",)),
    ("slow_conv_transpose2d_out_cpu", UNARY, ("F.conv_transpose1d",)),
    ("max_pool1d_impl", UNARY, ("F.max_pool1d",)),
    ("max_pool2d", UNARY, ("F.max_pool2d",)),
    ("max_pool3d", UNARY, ("F.max_pool3d",)),
    ("avg_pool2d", UNARY, ("F.avg_pool1d", "F.avg_pool2d")),
    ("avg_pool3d_out_frame", UNARY, ("F.avg_pool3d",)),
    ("adaptive_avg_pool2d", UNARY, ("F.adaptive_avg_pool1d",)),
    ("adaptive_max_pool2d", UNARY, ("F.adaptive_max_pool1d",)),
    (_pad_kernel, UNARY, ("F.pad",)),
    (_bernoulli_kernel, UNARY, ("T.bernoulli_",)),
    ("bernoulli_tensor_cpu_self_", UNARY, _names("bernoulli")),
    (_bound_kernel("clamp_max_scalar_cpu", "max"), UNARY, _names("clamp_max", "clamp_max_")),
    ("flip_cpu", UNARY, _names("flip", "fliplr", "flipud", "rot90")),
    ("masked_fill", UNARY, _names("masked_fill", "T.masked_fill_")),
    ("masked_select", UNARY, _names("masked_select")),
    ("masked_scatter", UNARY, _names("masked_scatter", "T.masked_scatter_")),
    (_setitem_kernel, UNARY, ("T.__setitem__",)),
    ("nonzero_count_cpu", UNARY, _names("nonzero", "argwhere")),
    (_without_dim("nonzero_count_cpu"), UNARY, _names("count_nonzero")),
    ("isin_default_cpu", UNARY, ("G.isin",)),
    ("scatter_gather_tensor_cpu", UNARY, _names("gather", "scatter", "T.scatter_",
                                                "take_along_dim")),
    (_index_select_kernel, UNARY, _names("index_select")),
    (_repeat_interleave_kernel, UNARY, _names("repeat_interleave")),
    ("index_put", UNARY, _names("index_put", "index_put_")),
    ("index_fill_cpu", UNARY, _names("index_fill", "T.index_fill_")),
    ("index_add_", UNARY, _names("index_add", "T.index_add_")),
    ("index_copy_cpu", UNARY, _names("index_copy", "T.index_copy_")),
    ("take_cpu", UNARY, _names("take")),
    ("take_put_cpu", UNARY, ("T.put", "T.put_")),
    ("tril", UNARY, _names("tril", "T.tril_")),
    ("triu", UNARY, _names("triu", "T.triu_")),
    ("searchsorted_out_cpu", BINARY, ("G.searchsorted",)),
    ("searchsorted_out_cpu", BOUNDARIES, ("G.bucketize",)),
    ("frac_cpu", UNARY, _names("frac", "T.frac_")),
    ("lcm_cpu", BINARY, _names("lcm")),
    ("lerp_kernel_scalar", UNARY, _names("lerp", "T.lerp_")),
    ("addcmul_cpu_out", UNARY, _names("addcmul", "T.addcmul_")),
    ("bincount_cpu", UNARY, _names("bincount")),
    ("heaviside_cpu", BINARY, _names("heaviside")),
    ("gcd_cpu", BINARY, _names("gcd")),
    ("hypot_cpu", BINARY, _names("hypot")),
    ("logaddexp_cpu", BINARY, _names("logaddexp")),
    ("arange_cpu", DTYPE_ARG, ("G.arange",)),
    ("eye", DTYPE_ARG, ("G.eye",)),
    ("linspace_cpu", DTYPE_ARG, ("G.linspace",)),
    ("randperm", DTYPE_ARG, ("G.randperm",)),
    ("tril_indices", DTYPE_ARG, ("G.tril_indices",)),
    ("triu_indices", DTYPE_ARG, ("G.triu_indices",)),
    ("sum_cpu", DTYPE_ARG, _names("sum", "nansum")),
    ("prod_out_cpu", DTYPE_ARG, _names("prod")),
    ("cumsum_out_cpu", DTYPE_ARG, _names("cumsum")),
    ("cumprod_out_cpu", DTYPE_ARG, _names("cumprod")),
]


def _compute_dtype(how: str, args, kwargs):
    """The dtype the op computes in, or None where it cannot be one of ours."""
    if how == DTYPE_ARG:
        d = kwargs.get("dtype")
        return None if d is None else to_dtype(d)
    if how == BINARY and len(args) >= 2:
        return result_type(args[0], args[1])
    if how == BOUNDARIES and len(args) >= 2:
        return result_type(args[1], args[0])
    for a in args:
        if isinstance(a, Tensor):
            return from_numpy_dtype(a._data.dtype)
    return None


def _wrap(fn, kernel, how: str):
    @functools.wraps(fn)
    def checked(*args, **kwargs):
        if how != DTYPE_ARG:
            # the fast exit: no operand of ours (a number operand never is one)
            for a in args[:2]:
                data = getattr(a, "_data", None)
                if data is not None and data.dtype in LIMITED_UNSIGNED_NP:
                    break
            else:
                return fn(*args, **kwargs)
        d = _compute_dtype(how, args, kwargs)
        if d in LIMITED_UNSIGNED:
            name = kernel if isinstance(kernel, str) else kernel(args, kwargs)
            if name is not None:
                raise not_implemented_for(name, d)
        return fn(*args, **kwargs)

    return checked


def install(gpugrad) -> None:
    """Replace every entry point named in ``REFUSED`` by its checking wrapper."""
    global Tensor
    Tensor = gpugrad.Tensor
    owners = {"G": gpugrad, "T": gpugrad.Tensor, "F": gpugrad.nn.functional}
    for kernel, how, names in REFUSED:
        for name in names:
            owner, attr = owners[name[0]], name[2:]
            setattr(owner, attr, _wrap(getattr(owner, attr), kernel, how))

"""Autocast's casting, in one place: a table per device type of op -> policy, and the wrapper
that applies it where the op is called.

PyTorch's autocast sits in its dispatcher in front of each listed op; here each listed public
entry point (a ``gpugrad`` function, a ``gpugrad.nn.functional`` function, a ``Tensor`` method,
a recurrent module's ``forward``) is replaced, once at import, by a wrapper that checks one
thread-local flag when autocast is off and otherwise casts the op's floating tensors of the
autocast device type (never float64) as its policy says, then runs the op with autocast off
inside, so that its own sub-ops are not cast again (PyTorch's ops are atomic in the same way).
Internal calls between gpugrad's ops modules use the functions themselves and are never
autocast; calls through the public names (an ``nn`` module's ``F.linear``) are.

Policies (PyTorch's names): ``LOWER`` casts to the autocast dtype (matmul, linear,
convolution), ``FP32`` casts to float32 (losses, norms, exp/log/pow on CUDA), ``PROMOTE`` casts
to the widest floating dtype among the inputs, ``OPAQUE`` casts nothing but keeps the op's
internals from being autocast (composites whose parts are listed), ``BANNED`` raises.
``LOWER_FP32_OUT`` is ``linear_cross_entropy``: the head's inputs in the autocast dtype, the
loss in float32, as PyTorch's ``cross_entropy(linear(...))`` gives under autocast.
``LOWER_OUT`` casts nothing in and rounds the output to the autocast dtype: ``linalg.pinv``,
which PyTorch does not list but whose last step is a matmul its autocast lowers.
``LOWER_INPUTS`` casts the input and states of a recurrent layer or cell that PyTorch runs as
one listed op (cuDNN's RNNs and the cells on CUDA, oneDNN's LSTM on the CPU) and leaves
autocast on inside, where the layer's matmuls cast its weights: the whole recurrence runs in
the autocast dtype, as PyTorch's.
"""

from __future__ import annotations

import functools

from .. import _dtype as dt
from .state import active_threads, state

__all__ = ["CPU", "CUDA", "install"]

LOWER, FP32, PROMOTE, OPAQUE, BANNED, LOWER_FP32_OUT, LOWER_INPUTS, LOWER_OUT = (
    "lower", "fp32", "promote", "opaque", "banned", "lower_fp32_out", "lower_inputs",
    "lower_out")

# The ops of PyTorch's CPU lists that gpugrad has (checked against torch's CPU autocast).
_CPU_LOWER = ["gpugrad.matmul", "gpugrad.mm", "gpugrad.bmm", "Tensor.matmul", "Tensor.mm",
              "Tensor.bmm", "Tensor.__matmul__", "Tensor.__rmatmul__", "F.linear", "F.conv1d",
              "F.conv2d", "F.conv3d", "F.conv_transpose1d", "F.conv_transpose2d",
              "F.conv_transpose3d", "F.prelu",
              "F.scaled_dot_product_attention",
              "gpugrad.addmm", "Tensor.addmm", "gpugrad.addbmm", "Tensor.addbmm",
              "gpugrad.baddbmm", "Tensor.baddbmm"]
# Composites whose products PyTorch runs through a listed op (bmm, mm): lowered as a whole.
# (chain_matmul calls the public matmul, which autocast lowers.)
_LOWER_COMPOSITES = ["gpugrad.einsum", "gpugrad.spmm"]
# Composites of listed ops that PyTorch runs as one unlisted op (in the input's dtype).
_OPAQUE = ["F.adaptive_avg_pool1d", "F.adaptive_avg_pool2d", "F.adaptive_avg_pool3d"]
_LOSSES = ["F.mse_loss", "F.l1_loss", "F.smooth_l1_loss", "F.huber_loss", "F.cross_entropy",
           "F.nll_loss", "F.binary_cross_entropy_with_logits", "F.kl_div", "F.poisson_nll_loss",
           "F.margin_ranking_loss", "F.hinge_embedding_loss", "F.soft_margin_loss",
           "F.cosine_embedding_loss", "F.multi_margin_loss", "F.multilabel_margin_loss",
           "F.triplet_margin_loss"]
# PyTorch's CPU list runs the 3-D poolings and fractional max pooling in float32.
_CPU_FP32_POOL3D = ["F.max_pool3d", "F.avg_pool3d", "F.max_unpool3d", "F.adaptive_avg_pool3d",
                    "F.adaptive_max_pool3d", "F.adaptive_max_pool3d_with_indices",
                    "F.fractional_max_pool2d", "F.fractional_max_pool3d",
                    "F.fractional_max_pool2d_with_indices",
                    "F.fractional_max_pool3d_with_indices"]
# The linalg ops of PyTorch's CPU float32 list (LAPACK has no lower precision).
_CPU_FP32_LINALG = [f"{ns}.{op}" for ns in ("gpugrad", "Tensor") for op in (
    "cholesky", "cholesky_inverse", "cholesky_solve", "inverse", "pinverse", "qr", "svd")] + [
    f"linalg.{op}" for op in ("cond", "matrix_rank", "solve", "cholesky", "svdvals", "eigvalsh",
                              "inv", "qr", "cholesky_ex", "svd", "eigh", "lstsq", "inv_ex")]
# Fourier transforms and eigendecompositions: float32 on both devices (PyTorch's CPU autocast
# gives them float32; gpugrad's transforms take no float16/bfloat16 on either device).
_FP32_SPECTRAL = [f"fft.{op}" for op in (
    "fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fft2", "ifft2", "rfft2", "irfft2", "hfft2",
    "ihfft2", "fftn", "ifftn", "rfftn", "irfftn", "hfftn", "ihfftn")] + [
    "gpugrad.stft", "Tensor.stft", "linalg.eig", "linalg.eigvals"]
CPU = {
    **dict.fromkeys(_CPU_LOWER + _LOWER_COMPOSITES + ["linalg.vecdot"], LOWER),
    **dict.fromkeys(_FP32_SPECTRAL, FP32),
    **dict.fromkeys(["gpugrad.tensordot", "gpugrad.inner", "Tensor.inner"], LOWER),
    **dict.fromkeys(_CPU_FP32_LINALG, FP32),
    "linalg.pinv": LOWER_OUT,
    # (PyTorch's are one op: the permutation is not a lowered matmul)
    **dict.fromkeys(["linalg.lu_solve", "gpugrad.lu_solve", "Tensor.lu_solve"], OPAQUE),
    **dict.fromkeys(_OPAQUE, OPAQUE),
    **dict.fromkeys(_CPU_FP32_POOL3D, FP32),
    "nn.LSTM.forward": LOWER_INPUTS,
    **dict.fromkeys(_LOSSES + ["F.binary_cross_entropy", "F.ctc_loss", "gpugrad.prod",
                               "Tensor.prod"], FP32),
    "F.linear_cross_entropy": LOWER_FP32_OUT,
    "F.grid_sample": FP32,
    "F.affine_grid": LOWER,  # (PyTorch's lowers the matmul inside)
    "gpugrad.cdist": FP32,
}

# PyTorch's CUDA lists (the autocast op reference), for the ops gpugrad has.
_FP32_MATH = ["exp", "expm1", "log", "log1p", "reciprocal", "rsqrt", "pow", "cosh", "sinh", "sum",
              "prod", "cumsum", "softmax", "log_softmax", "logsumexp", "norm",
              "acos", "arccos", "asin", "arcsin", "erfinv", "log10", "log2", "tan"]
_FP32_NN = ["F.layer_norm", "F.group_norm", "F.normalize", "F.softmax", "F.log_softmax",
            "F.softmin", "F.softplus", "F.cosine_similarity", "F.pdist"]
CUDA = {
    **dict.fromkeys(_FP32_SPECTRAL, FP32),
    **dict.fromkeys(_CPU_LOWER + _LOWER_COMPOSITES + [
        "gpugrad.mv", "Tensor.mv", "gpugrad.addmv", "Tensor.addmv", "gpugrad.addr",
        "Tensor.addr", "gpugrad.inner", "Tensor.inner", "linalg.vecdot"], LOWER),
    **dict.fromkeys(["linalg.pinv", "gpugrad.pinverse", "Tensor.pinverse"], LOWER_OUT),
    **dict.fromkeys(["linalg.lstsq", "linalg.lu_solve", "gpugrad.lu_solve", "Tensor.lu_solve"],
                    OPAQUE),  # (one op in PyTorch)
    **dict.fromkeys(_OPAQUE, OPAQUE),
    **dict.fromkeys([f"nn.{m}.forward" for m in ("RNN", "LSTM", "GRU", "RNNCell", "LSTMCell",
                                                  "GRUCell")], LOWER_INPUTS),
    **dict.fromkeys(_LOSSES + _FP32_NN + ["gpugrad.cdist"], FP32),
    **dict.fromkeys([f"{ns}.{op}" for op in _FP32_MATH for ns in ("gpugrad", "Tensor")], FP32),
    **dict.fromkeys(["Tensor.__pow__", "Tensor.__rpow__", "Tensor.__rtruediv__"], FP32),
    **dict.fromkeys(["gpugrad.dot", "Tensor.dot", "gpugrad.scatter_add", "Tensor.scatter_add",
                     "gpugrad.tensordot", "gpugrad.cross", "Tensor.cross"]
                    + [f"{ns}.{op}" for op in ("atan2", "arctan2", "addcmul", "addcdiv")
                       for ns in ("gpugrad", "Tensor")], PROMOTE),
    "F.binary_cross_entropy": BANNED,
    "F.linear_cross_entropy": LOWER_FP32_OUT,
    "F.grid_sample": PROMOTE,
    "F.affine_grid": LOWER,  # (PyTorch's lowers the batched matmul inside)
}
TABLES = {"cpu": CPU, "cuda": CUDA}

_BANNED_MESSAGE = (
    "torch.nn.functional.binary_cross_entropy and torch.nn.BCELoss are unsafe to autocast.\n"
    "Many models use a sigmoid layer right before the binary cross entropy layer.\n"
    "In this case, combine the two layers using torch.nn.functional.binary_cross_entropy_with_"
    "logits\nor torch.nn.BCEWithLogitsLoss.  binary_cross_entropy_with_logits and "
    "BCEWithLogits are\nsafe to autocast."
)

Tensor = None  # set by install (gpugrad.tensor imports this package's parent)


def _device_type(values):
    for v in values:
        if isinstance(v, Tensor):
            return v._backend.device.type
        if isinstance(v, (list, tuple)):
            found = _device_type(v)
            if found is not None:
                return found
    return None


def _eligible(v, device_type) -> bool:
    return (isinstance(v, Tensor) and v._backend.device.type == device_type
            and v.dtype.is_floating_point and v.dtype is not dt.float64)


def _cast(v, to, device_type):
    if isinstance(v, (list, tuple)):
        return type(v)(_cast(x, to, device_type) for x in v)
    if not _eligible(v, device_type) or v.dtype is to:
        return v
    # Parameters (float32 leaves that require grad) cast once per region, as PyTorch caches.
    cacheable = (state.cache_enabled and to is state.dtype[device_type] and v.dtype is dt.float32
                 and v.requires_grad and v.grad_fn is None and v._base is None)
    if not cacheable:
        return v.to(to)
    key = (id(v), to)
    hit = state.cache.get(key)
    if hit is not None and hit[0] is v and hit[1] == v._version:
        return hit[2]
    out = v.to(to)
    state.cache[key] = (v, v._version, out)
    return out


def _widest(values, device_type, low):
    for v in values:
        if isinstance(v, (list, tuple)):
            if _widest(v, device_type, low) is dt.float32:
                return dt.float32
        elif _eligible(v, device_type) and v.dtype is not low:
            return dt.float32
    return low


def _dispatch(fn, name, args, kwargs):
    device_type = _device_type(args) or _device_type(kwargs.values())
    if device_type is None or not state.enabled[device_type]:
        return fn(*args, **kwargs)
    policy = TABLES[device_type].get(name)
    if policy is None:
        return fn(*args, **kwargs)
    if policy is BANNED:
        raise RuntimeError(_BANNED_MESSAGE)
    low = state.dtype[device_type]
    if policy is LOWER_INPUTS:  # cast here, and the module's own ops are autocast inside
        return fn(*[_cast(a, low, device_type) for a in args],
                  **{k: _cast(v, low, device_type) for k, v in kwargs.items()})
    to = None
    if policy is LOWER or policy is LOWER_FP32_OUT:
        to = low
    elif policy is FP32 and kwargs.get("dtype") is None:  # an explicit dtype is respected
        to = dt.float32
    elif policy is PROMOTE:
        to = _widest(list(args) + list(kwargs.values()), device_type, low)
    if to is not None:
        args = tuple(_cast(a, to, device_type) for a in args)
        kwargs = {k: _cast(v, to, device_type) for k, v in kwargs.items()}
    state.active = False  # the op's own sub-ops are not autocast
    try:
        out = fn(*args, **kwargs)
    finally:
        state.active = True
    if policy is LOWER_FP32_OUT and _eligible(out, device_type):
        out = out.to(dt.float32)
    elif policy is LOWER_OUT and _eligible(out, device_type):
        out = out.to(low)
    return out


def _wrap(fn, name):
    # Over an entry of _arg_adapter, a call without keywords outside autocast goes straight to
    # what that entry would call (one Python frame less on ops such as exp, log, sum).
    keywordless = getattr(fn, "keywordless_call", fn)

    @functools.wraps(fn)
    def autocast_entry(*args, **kwargs):
        if not active_threads[0] or not state.active:
            return fn(*args, **kwargs) if kwargs else keywordless(*args)
        if kwargs.get("out") is not None:  # PyTorch autocasts no op's out= variant
            return fn(*args, **kwargs)
        return _dispatch(fn, name, args, kwargs)

    return autocast_entry


def install(gpugrad) -> None:
    """Replace every op named in the tables by its autocast entry point."""
    global Tensor
    Tensor = gpugrad.Tensor
    namespaces = {"gpugrad": gpugrad, "F": gpugrad.nn.functional, "Tensor": gpugrad.Tensor,
                  "nn": gpugrad.nn, "linalg": gpugrad.linalg, "fft": gpugrad.fft}
    for name in sorted(set(CPU) | set(CUDA)):
        ns, *path, attr = name.split(".")
        owner = namespaces[ns]
        for part in path:  # nn.LSTM.forward: the class, then its method
            owner = getattr(owner, part)
        setattr(owner, attr, _wrap(getattr(owner, attr), name))

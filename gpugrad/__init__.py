"""gpugrad: reverse-mode autodiff on NVIDIA GPUs with PyTorch's API.

``import gpugrad as torch`` and a PyTorch training loop runs: tensors live on the GPU as CuPy
arrays (or on the CPU as NumPy arrays), ops dispatch to fused Triton kernels, and a Python tape
records the graph for ``backward()``.
"""

from __future__ import annotations

from math import e, inf, nan, pi

from . import (
    _dtype,
    autograd,  # noqa: E402  (after Tensor: autograd's helpers import it lazily)
)
from ._device import device, get_default_device, get_device_module, set_default_device
from ._dtype import (
    bfloat16,
    bool,
    cdouble,
    cfloat,
    complex64,
    complex128,
    double,
    dtype,
    float,
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    int,
    int8,
    int16,
    int32,
    int64,
    long,
    promote_types,
    set_default_dtype,
    short,
    uint8,
    uint16,
    uint32,
    uint64,
)
from ._format import set_printoptions
from ._generator import Generator
from ._switches import *  # noqa: F403
from ._typeinfo import (
    channels_last,
    channels_last_3d,
    contiguous_format,
    finfo,
    iinfo,
    layout,
    legacy_contiguous_format,
    memory_format,
    preserve_format,
    sparse_coo,
    strided,
)
from ._windows import *  # noqa: F403
from .autograd import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .backend import _malloc
from .factories import *  # noqa: F403
from .factories_more import *  # noqa: F403
from .legacy import *  # noqa: F403
from .legacy import NEW_METHODS as _NEW_METHODS
from .lowrank import pca_lowrank, svd_lowrank
from .ops import TOPICS as _TOPICS
from .ops import install_methods as _install_methods
from .random import default_generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from .sampling import *  # noqa: F403
from .size import Size
from .tensor import Tensor

_install_methods(Tensor)
for _name, _method in _NEW_METHODS.items():  # Tensor.new, new_zeros, new_full ...
    setattr(Tensor, _name, _method)
_malloc.warm_up()
for _topic in _TOPICS:  # each ops module's public functions: gpugrad.exp, gpugrad.matmul, ...
    globals().update({_name: getattr(_topic, _name) for _name in _topic.__all__})

from . import version  # noqa: E402
from .version import __version__  # noqa: E402  (one place: gpugrad/version.py)

newaxis = None  # ``x[gpugrad.newaxis]`` adds a dimension, as NumPy's and PyTorch's


def result_type(tensor1, tensor2) -> dtype:
    """The dtype an op on these two operands (tensors or numbers) returns."""
    return _dtype.result_type(tensor1, tensor2)


def is_floating_point(input: Tensor) -> bool:
    return input.is_floating_point()


def can_cast(from_: dtype, to: dtype) -> bool:
    """Whether a cast from ``from_`` to ``to`` is allowed under PyTorch's casting rules: never
    from floating to integer nor from a non-bool to bool."""
    return _dtype.can_cast(from_, to)

# Mixed precision and the math-library switches (``torch.autocast``, ``torch.amp``,
# ``torch.backends``); autocast's entry points wrap the ops above, so they come last.
from . import (  # noqa: E402
    _arg_adapter,
    accelerator,
    amp,
    backends,
    compiler,
    cuda,
    distributed,
    distributions,
    fft,
    func,
    functional,
    hub,
    jit,
    linalg,
    mps,
    multiprocessing,
    nn,
    optim,
    profiler,
    random,
    signal,
    sparse,
    special,
    testing,
    types,
    utils,
    xpu,
)
from ._foreach_ops import *  # noqa: E402,F403  (torch._foreach_add_, _foreach_lerp_, ...)
from ._torch_aliases import *  # noqa: E402,F403  (torch.conv2d, batch_norm, dropout, cdist ...)
from ._torch_cells import *  # noqa: E402,F403  (torch.lstm_cell, gru_cell, rnn_tanh_cell ...)
from .amp import GradScaler, autocast  # noqa: E402
from .amp.state import *  # noqa: E402,F403
from .autograd import profiler as _autograd_profiler  # noqa: E402,F401  (torch.autograd.profiler)
from .backend import precision as _precision  # noqa: E402
from .compiler import compile  # noqa: E402
from .cuda import OutOfMemoryError  # noqa: E402
from .func import vmap  # noqa: E402
from .nn.functional._toplevel import *  # noqa: E402,F403  (torch.max_pool2d, torch.avg_pool1d...)
from .ops import _complex, _unsigned  # noqa: E402
from .serialization import load, save  # noqa: E402
from .sparse._build import sparse_coo_tensor  # noqa: E402

_arg_adapter.install(__import__(__name__))  # axis=, keepdims=, out= where PyTorch takes them
# the ops PyTorch refuses for uint16, uint32, uint64, checked from their first use on
_dtype.on_first_unsigned_use(lambda: _unsigned.install(__import__(__name__)))
# the ops that compute on complex tensors (the others refuse them), from their first use on
_dtype.on_first_complex_use(lambda: _complex.install(__import__(__name__)))
amp.policy.install(__import__(__name__))

cpu = amp.legacy.make_modules(cuda)


def set_float32_matmul_precision(precision: str) -> None:
    """How float32 matmuls may run on CUDA: "highest" (float32, the default), "high" or
    "medium" (TF32 tensor cores allowed)."""
    if not isinstance(precision, str):
        raise RuntimeError(
            f"set_float32_matmul_precision expects a str, but got {type(precision).__name__}")
    if precision not in _precision.PRECISIONS:
        import warnings

        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current"
                      "setFloat32MatmulPrecision call has no effect.", stacklevel=2)
        return
    _precision.set_precision(precision)


def get_float32_matmul_precision() -> str:
    return _precision.get_precision()

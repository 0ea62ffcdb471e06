"""``gpugrad.backends.cuda``: ``matmul.allow_tf32`` and its relatives, and the switches of the
attention kernels (``enable_flash_sdp``, ``sdp_kernel``...), as PyTorch's.

``matmul.allow_tf32 = True`` lets float32 matmuls on CUDA run on TF32 tensor cores (cuBLAS
through CuPy); it is ``set_float32_matmul_precision("high")``, False is "highest" (the default).
"""

from __future__ import annotations

from ..backend import precision

__all__ = ["matmul", "is_built", "sdp_kernel", "flash_sdp_enabled", "enable_flash_sdp",
           "mem_efficient_sdp_enabled", "enable_mem_efficient_sdp", "math_sdp_enabled",
           "enable_math_sdp", "cudnn_sdp_enabled", "enable_cudnn_sdp"]


class cuBLASModule:  # noqa: N801 - PyTorch's name
    """The cuBLAS switches: ``allow_tf32`` (False), ``fp32_precision`` ("none", "ieee" or
    "tf32"), and the reduced-precision reductions of float16/bfloat16 products (True: cuBLAS
    may reduce in the input precision; gpugrad's accumulating products always use float32)."""

    _flags = ("allow_fp16_reduced_precision_reduction", "allow_bf16_reduced_precision_reduction")

    def __init__(self):
        object.__setattr__(self, "_reduced", dict.fromkeys(self._flags, True))
        object.__setattr__(self, "_fp32_precision", "none")

    def __getattr__(self, name):
        if name == "allow_tf32":
            return precision.tf32_enabled()
        if name == "fp32_precision":
            return self._fp32_precision
        if name in self._flags:
            return self._reduced[name]
        raise AttributeError(f"Unknown attribute {name}")

    def __setattr__(self, name, value):
        if name == "allow_tf32":
            if not isinstance(value, bool):
                raise RuntimeError(
                    f"set_allow_tf32_cublas expects a bool, but got {type(value).__name__}")
            precision.set_precision("high" if value else "highest")
        elif name == "fp32_precision":
            if value not in ("ieee", "tf32", "none"):
                raise RuntimeError(f"Unknown precision: {value}")
            object.__setattr__(self, "_fp32_precision", value)
            if value != "none":
                precision.set_precision("high" if value == "tf32" else "highest")
        elif name in self._flags:
            if not isinstance(value, bool):
                raise RuntimeError(f"{name} expects a bool, but got {type(value).__name__}")
            self._reduced[name] = value
        else:
            raise AttributeError(f"Unknown attribute {name}")


matmul = cuBLASModule()


def is_built() -> bool:
    """Whether gpugrad can run CUDA tensors here (CuPy imports)."""
    try:
        import cupy  # noqa: F401
    except Exception:
        return False
    return True


# ------------------------------------------------------------------------ attention kernels
# Which scaled_dot_product_attention kernels are allowed: nn.attention's state, read and set
# one backend at a time as the older PyTorch API does. gpugrad has one attention
# implementation, used whatever is allowed.
def _sdp_backend(name: str):
    from ..nn.attention import SDPBackend

    return SDPBackend[name]


def _allowed(name: str) -> bool:
    """Whether the kernel ``SDPBackend.<name>`` is allowed."""
    from ..nn.attention import current_backends

    return _sdp_backend(name) in current_backends()


def _allow(name: str, enabled: bool) -> None:
    """Allow (or stop allowing) the kernel ``SDPBackend.<name>`` from now on."""
    from ..nn.attention import current_backends, set_backends

    backend = _sdp_backend(name)
    kept = [b for b in current_backends() if b != backend]
    set_backends(tuple(kept + [backend]) if enabled else tuple(kept))


def flash_sdp_enabled() -> bool:
    return _allowed("FLASH_ATTENTION")


def enable_flash_sdp(enabled: bool) -> None:
    _allow("FLASH_ATTENTION", enabled)


def mem_efficient_sdp_enabled() -> bool:
    return _allowed("EFFICIENT_ATTENTION")


def enable_mem_efficient_sdp(enabled: bool) -> None:
    _allow("EFFICIENT_ATTENTION", enabled)


def math_sdp_enabled() -> bool:
    return _allowed("MATH")


def enable_math_sdp(enabled: bool) -> None:
    _allow("MATH", enabled)


def cudnn_sdp_enabled() -> bool:
    return _allowed("CUDNN_ATTENTION")


def enable_cudnn_sdp(enabled: bool) -> None:
    _allow("CUDNN_ATTENTION", enabled)


def sdp_kernel(enable_flash: bool = True, enable_math: bool = True,
               enable_mem_efficient: bool = True, enable_cudnn: bool = True):
    """Deprecated (as in PyTorch) for ``nn.attention.sdpa_kernel``: allow the kernels whose
    flag is True inside the block."""
    import warnings

    from ..nn.attention import sdpa_kernel

    warnings.warn("`torch.backends.cuda.sdp_kernel()` is deprecated: use "
                  "`torch.nn.attention.sdpa_kernel()`, which takes the list of allowed backends",
                  FutureWarning, stacklevel=2)
    flags = (("FLASH_ATTENTION", enable_flash), ("MATH", enable_math),
             ("EFFICIENT_ATTENTION", enable_mem_efficient), ("CUDNN_ATTENTION", enable_cudnn))
    return sdpa_kernel([_sdp_backend(name) for name, on in flags if on])

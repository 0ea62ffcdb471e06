"""``gpugrad.backends.cuda``: ``matmul.allow_tf32`` and its relatives, as PyTorch's.

``matmul.allow_tf32 = True`` lets float32 matmuls on CUDA run on TF32 tensor cores (cuBLAS
through CuPy); it is ``set_float32_matmul_precision("high")``, False is "highest" (the default).
"""

from __future__ import annotations

from ..backend import precision

__all__ = ["matmul", "is_built"]


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

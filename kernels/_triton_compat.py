"""Where gpugrad works around a bug of one Triton release: each fix here, and nowhere else.

Triton 3.6's interpreter (``TRITON_INTERPRET=1``) turns a scalar into a Python int with
``int(handle.data)``, where ``handle.data`` is a NumPy array of shape ``(1,)``. NumPy 2.4 and newer
refuse that ("only 0-dimensional arrays can be converted to Python scalars"), so every kernel
loop with a run-time bound (``for start in range(0, n, BLOCK)``: reductions, softmax, statistics,
cross-entropy) fails there. Later Triton releases squeeze the array first; the fix below does the
same, and is applied only where the interpreter still holds the old expression.

The interpreter of every release so far also converts float32 to bfloat16 by dropping the low
16 bits, where the GPU rounds to nearest even (Triton's default for a narrowing cast): an
interpreted kernel's bfloat16 results were up to one unit in the last place below the GPU's and
the NumPy twins'. ``fix_bfloat16_rounding`` makes the interpreter round, for releases that
still truncate.

(Triton 3.6's CUDA driver check also needs PyTorch: without it, it raises ``RuntimeError``
rather than ``ImportError``. The launcher handles that where it binds Triton to CuPy,
``_launch._bind_triton_to_cupy``.)
"""

from __future__ import annotations

import inspect

_BUGGY_INDEX = "int(self.handle.data))"


def fix_interpreter() -> bool:
    """Patch the interpreter's scalar ``__index__`` if this Triton has the 3.6 bug; True if it
    did. Call after ``TRITON_INTERPRET=1`` is set."""
    try:
        from triton.runtime import interpreter
    except ImportError:
        return False
    original = getattr(interpreter, "_patch_lang_tensor", None)
    if original is None or getattr(original, "_gpugrad_fixed", False):
        return False
    try:
        source = inspect.getsource(original)
    except (OSError, TypeError):
        return False
    if _BUGGY_INDEX not in source:
        return False

    def patch_lang_tensor(tensor, scope):
        original(tensor, scope)
        # The scope restores attributes in reverse order, so this override is undone first.
        scope.set_attr(tensor, "__index__", lambda self: int(self.handle.data.reshape(-1)[0]))

    patch_lang_tensor._gpugrad_fixed = True
    interpreter._patch_lang_tensor = patch_lang_tensor
    return True


def _round_to_bfloat16_bits(values):
    """float32 array -> the uint16 bits of its nearest bfloat16 (ties to even; NaN stays NaN)."""
    import numpy as np

    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32)
    rounded = ((bits + np.uint32(0x7FFF) + ((bits >> 16) & np.uint32(1))) >> 16).astype(np.uint16)
    nan = np.isnan(values)
    if nan.any():  # (rounding could carry a NaN's payload into the sign bit): a quiet NaN
        rounded[nan] = ((bits[nan] >> 16) | np.uint32(0x40)).astype(np.uint16)
    return rounded


def fix_bfloat16_rounding() -> bool:
    """Make the interpreter's float32 -> bfloat16 cast round to nearest even, if this Triton
    truncates (probed with a value truncation would get wrong); True if it patched. Call after
    ``TRITON_INTERPRET=1`` is set."""
    try:
        import numpy as np
        import triton.language as tl
        from triton.runtime import interpreter
    except ImportError:
        return False
    builder = getattr(interpreter, "InterpreterBuilder", None)
    handle_cls = getattr(interpreter, "TensorHandle", None)
    original = getattr(builder, "create_fp_trunc", None)
    if original is None or handle_cls is None or getattr(original, "_gpugrad_fixed", False):
        return False
    probe = np.array([1.005859375], dtype=np.float32)  # 1 + 3/4 of a bfloat16 ulp: rounds up
    try:
        got = original(builder.__new__(builder), handle_cls(probe, tl.float32), tl.bfloat16)
        if np.asarray(got.data).view(np.uint16)[0] == 0x3F81:
            return False  # this release rounds
    except Exception:  # an interpreter laid out otherwise: leave it alone
        return False

    def create_fp_trunc(self, src, dst_type):
        if src.dtype.scalar == tl.float32 and dst_type.scalar == tl.bfloat16:
            return handle_cls(_round_to_bfloat16_bits(src.data), tl.bfloat16)
        return original(self, src, dst_type)

    create_fp_trunc._gpugrad_fixed = True
    builder.create_fp_trunc = create_fp_trunc
    return True

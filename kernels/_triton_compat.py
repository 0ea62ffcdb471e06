"""Where gpugrad works around a bug of one Triton release: each fix here, and nowhere else.

Triton 3.6's interpreter (``TRITON_INTERPRET=1``) turns a scalar into a Python int with
``int(handle.data)``, where ``handle.data`` is a NumPy array of shape ``(1,)``. NumPy 2.4 and newer
refuse that ("only 0-dimensional arrays can be converted to Python scalars"), so every kernel
loop with a run-time bound (``for start in range(0, n, BLOCK)``: reductions, softmax, statistics,
cross-entropy) fails there. Later Triton releases squeeze the array first; the fix below does the
same, and is applied only where the interpreter still holds the old expression.

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

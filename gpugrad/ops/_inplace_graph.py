"""How an in-place write changes the graph, as PyTorch's autograd does.

Every in-place op first computes its result out of place, with the graph, then calls
``commit`` to write it into the target's memory:

- the target is not a view and the result came from the op's own node: the target takes that
  node as its history (``y.mul_(2)`` leaves ``y.grad_fn`` a ``MulBackward0``);
- otherwise (a write through a view, ``y[idx] = v``, ``copy_``, ``fill_``): the root of the
  written memory gets a ``CopySlices`` node: "the old root with the written elements replaced
  by ``values``". Its backward sends the gradient outside the written elements to the old root
  and the gradient of the written elements to ``values``.

Then every live view of the root that overlaps the written bytes gets a fresh history,
"those elements of the new root" (``AsStridedBackward0``), so that using it later
differentiates through the write. Elements are addressed by their flat position in the root,
found from the memory layout (``backend.flat_positions``): this works for any chain of views.

Tensors that other nodes saved before the write keep their old version number, so backward
raises if it needs them (the version counter is shared by a tensor and its views).

The checks every in-place write makes first, with PyTorch's messages, live here too.
"""

from __future__ import annotations

import math

from .. import _dtype as dt
from ..autograd import record as _record
from ..autograd import saved as _saved
from ..autograd.function import Function
from ..autograd.inference import refuse_write
from ..autograd.views import forget, live_views, view_info
from ..backend.twins_index import address, byte_extent
from ._index_key import region
from ._util import Tensor, grad_state, math_ns
from .indexing import Index, scatter_to_shape

LEAF = "a leaf Variable that requires grad is being used in an in-place operation."
VIEW_OF_LEAF = (
    "a view of a leaf Variable that requires grad is being used in an in-place operation."
)
_NO_GRAD_VIEW = (
    "A view was created in no_grad mode and is being modified inplace with grad mode enabled. "
    "Given that this use case is ambiguous and error-prone, it is forbidden. You can clarify "
    "your code by moving both the view and the inplace either both inside the no_grad block "
    "(if you don't want the inplace to be tracked) or both outside (if you want the inplace to "
    "be tracked)."
)
_INFERENCE_VIEW = (
    "A view was created in inference mode and is being modified inplace in normal mode. Given "
    "that this use case is ambiguous and error-prone, it is forbidden. You can clarify your "
    "code by moving both the view and the inplace either both inside the inference_mode block "
    "(if you don't want the inplace to be tracked) or both outside (if you want the inplace to "
    "be tracked)."
)
_DETACHED_VIEW = (
    "this view no longer looks into the memory of its base (was the base's .data replaced?): "
    "it cannot be modified in place with grad mode enabled; use out-of-place ops"
)


# ---------------------------------------------------------------------- checks before writing
_INTERNAL_OVERLAP = (
    "unsupported operation: more than one element of the written-to tensor refers to a single "
    "memory location. Please clone() the tensor before performing the operation."
)
_PARTIAL_OVERLAP = (
    "unsupported operation: some elements of the input tensor and the written-to tensor refer "
    "to a single memory location. Please clone() the tensor before performing the operation."
)


def check_cast(result: dt.dtype, self: Tensor, c_names: bool = False) -> None:
    """PyTorch's ``canCast``: no floating result into an integer or bool tensor, nothing but
    bool into a bool tensor. ``c_names``: its error names the output type as C does (``long
    int``), as its ops taking a number (``clamp_(0, 4.5)``) word it."""
    to = self._data.dtype.kind
    if (result.is_floating_point and to in "iub") or (result.np.kind != "b" and to == "b"):
        names = dt.CPP_TYPE_NAMES if c_names else dt.SCALAR_TYPE_NAMES
        raise RuntimeError(
            f"result type {dt.SCALAR_TYPE_NAMES[result.name]} can't be cast to the desired "
            f"output type {names[self.dtype.name]}"
        )


def check_into(shape: tuple, other: tuple) -> None:
    """``other`` must broadcast to ``shape`` without changing it."""
    if other == shape or not other:
        return
    n = max(len(shape), len(other))
    a = (1,) * (n - len(shape)) + shape
    b = (1,) * (n - len(other)) + other
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y and x != 1 and y != 1:
            raise RuntimeError(
                f"The size of tensor a ({x}) must match the size of tensor b ({y}) at "
                f"non-singleton dimension {i}"
            )
    full = tuple(max(x, y) for x, y in zip(a, b))
    if full != shape:
        raise RuntimeError(
            f"output with shape {list(shape)} doesn't match the broadcast shape {list(full)}"
        )


def same_layout(a, b) -> bool:
    return a.shape == b.shape and a.strides == b.strides and address(a) == address(b)


def shares_elements(data) -> bool:
    """Whether several elements of the array ``data`` are one memory location (``expand``)."""
    return any(s == 0 and n > 1 for n, s in zip(data.shape, data.strides))


def dense(data) -> bool:
    """Whether ``data``'s elements fill its memory span without gaps or sharing, in some order of
    its dims (PyTorch's "non-overlapping and dense": a transpose of a contiguous array is)."""
    if data.flags.c_contiguous or data.flags.f_contiguous:
        return True
    expected = data.itemsize
    for n, stride in sorted((n, abs(s)) for n, s in zip(data.shape, data.strides) if n != 1):
        if stride != expected:
            return False
        expected *= n
    return True


def check_target(self: Tensor, operands=(), data=None, shared_ok: bool = False) -> None:
    """PyTorch refuses to write where elements share memory: an expanded target (unless
    ``shared_ok``: the fills and index writes PyTorch allows there), or an operand that
    partly overlaps the target. As PyTorch, overlap is judged between dense arrays only
    (strided ones, as a complex tensor's real and imag views, are left alone)."""
    data = self._data if data is None else data
    if self._base is not None and not shared_ok and shares_elements(data):
        raise RuntimeError(_INTERNAL_OVERLAP)
    for o in operands:
        if (isinstance(o, Tensor) and o._backend is self._backend
                and (o._base is not None or self._base is not None)):
            od = o._data
            if (od is not data and self._backend.xp.may_share_memory(data, od)
                    and not same_layout(data, od) and dense(data) and dense(od)):
                raise RuntimeError(_PARTIAL_OVERLAP)


def same_device(self: Tensor, other):
    """``other``, with a 0-d tensor on another device read as a number (as PyTorch allows)."""
    if isinstance(other, Tensor) and other._backend is not self._backend:
        if other._data.ndim == 0:
            return other.item()
        raise RuntimeError(
            f"Expected all tensors to be on the same device, but found at least two devices, "
            f"{self.device} and {other.device}!"
        )
    return other


def cast_like(t: Tensor, like: Tensor) -> Tensor:
    """``t`` in ``like``'s dtype (a differentiable cast when it differs)."""
    return t if t._data.dtype == like._data.dtype else t.to(like.dtype)


# ---------------------------------------------------------------------- recording the write
def needs_graph(self: Tensor, operands=(), leaf_message: str = LEAF) -> bool:
    """Whether an in-place write into ``self`` must be recorded; raises PyTorch's errors for
    writes it cannot allow (into an inference tensor outside inference mode; recorded, into a
    leaf that requires grad, a view of one, or a view made under no_grad or in inference
    mode)."""
    if self._vc.inference:
        refuse_write(self)
    if not grad_state.enabled:
        return False
    info = view_info(self)
    root = None if info is None else info[0]
    if not (self._requires_grad or (root is not None and root._requires_grad)
            or any(isinstance(o, Tensor) and o._requires_grad for o in operands)):
        return False
    if root is not None:
        made = info[1]
        if not made:  # a view made under no_grad (False) or in inference mode (None)
            raise RuntimeError(_NO_GRAD_VIEW if made is False else _INFERENCE_VIEW)
        if root._requires_grad and root.grad_fn is None:
            raise RuntimeError(VIEW_OF_LEAF)
        if root._requires_grad and not self._requires_grad:
            regenerate(root, self)  # a view that has not needed a history until now
    elif self._requires_grad and self.grad_fn is None:
        raise RuntimeError(leaf_message)
    return True


def record(self: Tensor, compute, adopt_output: bool = False) -> None:
    """Write ``compute(self)`` (an out-of-place op, run with the graph) into ``self``.

    The nodes this op records may have saved ``self`` (or views of its memory) for backward,
    which the write is about to overwrite: they get copies of the old values, with the same
    history (as PyTorch saves ``original_self``). Nodes recorded before the op keep what they
    saved, so backward raises for them, as in PyTorch."""
    since = _record.tape_position()  # nodes recorded from here on belong to this op
    result = compute(self)
    check_cast(result.dtype, self)
    check_into(self._data.shape, result._data.shape)
    _saved.protect_saved_inputs(result, self._vc, since)
    commit(self, cast_like(result, self), node=None, adopt_output=adopt_output)


class CopySlices(Function):
    """``root`` with the elements at ``key`` replaced by ``values`` (written in place)."""

    node_name = "torch::autograd::CopySlices"

    @staticmethod
    def forward(ctx, root, values, key):
        ctx.key = key
        basic, advanced = key
        target = region(root._data, basic)
        if advanced is None:
            target[...] = values._data
        else:
            target[advanced] = values._data
        return root._new(root._data)

    @staticmethod
    def backward(ctx, grad):
        need_root, need_values = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        basic, advanced = ctx.key
        # Tensor ops: differentiable under create_graph, plain arrays underneath otherwise.
        g_root = g_values = None
        if need_root:  # exact zeros where the values were written (a NaN there is dropped)
            g_root = math_ns().where(grad._new(_written(grad, ctx.key)), 0, grad)
        if need_values:
            g_values = Index.apply(grad, basic, advanced)
        return g_root, g_values, None


class SharedCopySlices(CopySlices):
    """A write into a target whose elements share memory: PyTorch records it, and its
    backward refuses (the gradient of the written target would be written in place too)."""

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError(_INTERNAL_OVERLAP)


class CopyBackwards(CopySlices):
    node_name = "torch::autograd::CopyBackwards"


class FillBackward(CopySlices):
    node_name = "FillBackward2"  # fill_ with a number: only the target is an input
    _next_inputs = (0,)


class FillTensorBackward(CopySlices):
    node_name = "FillBackward3"  # fill_ with a 0-d tensor


class ZeroBackward(CopySlices):
    node_name = "ZeroBackward0"
    _next_inputs = (0,)


def _written(grad: Tensor, key):
    """A bool array of ``grad``'s shape, True at ``key``."""
    mask = grad._backend.xp.zeros(grad._data.shape, dtype=bool)
    basic, advanced = key
    target = region(mask, basic)
    if advanced is None:
        target[...] = True
    else:
        target[advanced] = True
    return mask


class AsStrided(Function):
    """A view's history after its root was written: the root's elements at flat ``positions``."""

    node_name = "AsStridedBackward0"

    @staticmethod
    def forward(ctx, root, view_data, positions):
        ctx.shape, ctx.positions = root._data.shape, positions
        return root._new(view_data)

    @staticmethod
    def backward(ctx, grad):
        size = math.prod(ctx.shape)
        key = ((), (ctx.positions.reshape(-1),))
        return scatter_to_shape(grad.reshape(-1), (size,), key).reshape(ctx.shape), None, None


def _set_history(t: Tensor, node, output_nr: int) -> None:
    if t._retains_grad:  # only the newest version of ``t`` fills ``t.grad``
        old = t.grad_fn
        retained = old._retained if old is not None else None
        if retained and retained.get(t._output_nr, lambda: None)() is t:
            del retained[t._output_nr]
        node._retain(output_nr, t)
    t.grad_fn, t._output_nr, t._requires_grad = node, output_nr, True


def _positions(root: Tensor, view: Tensor):
    """Flat positions in ``root`` of ``view``'s elements, or None if it is not inside."""
    if view._data.itemsize != root._data.itemsize:  # real/imag of a complex root
        raise NotImplementedError(
            "in-place changes recorded through the real or imaginary view of a complex tensor "
            "(z.real, z.imag, view_as_real(z)) are not supported yet: build the complex tensor "
            "with torch.complex(real, imag) or out-of-place ops instead")
    if view._data.size == 0:
        return root._backend.xp.zeros(view._data.shape, dtype="int64")
    pos = root._backend.flat_positions(root._data, view._data)
    return None if int(pos.min()) < 0 else pos


def written_positions(root: Tensor, view: Tensor, key=None):
    """Flat positions in ``root`` of the elements of ``view`` (or of ``view[key]``, a
    normalized key) that a write changes."""
    pos = _positions(root, view)
    if pos is None:
        raise RuntimeError(_DETACHED_VIEW)
    if key is not None:
        pos = region(pos, key[0])
        if key[1] is not None:
            pos = pos[key[1]]
    return pos


def regenerate(root: Tensor, view: Tensor) -> None:
    """Give ``view`` the history "its elements of ``root``" (``root``'s current history)."""
    pos = _positions(root, view)
    if pos is None:
        forget(view)
        return
    out = AsStrided.apply(root, view._data, pos)
    if out.grad_fn is not None:
        _set_history(view, out.grad_fn, 0)


def _refresh_views(root: Tensor, written) -> None:
    """Regenerate the live views of ``root`` whose bytes overlap the array ``written``."""
    lo, hi = byte_extent(written)
    if lo == hi:
        return
    for view in live_views(root):
        v_lo, v_hi = byte_extent(view._data)
        if v_lo < hi and lo < v_hi:
            regenerate(root, view)


def commit(self: Tensor, values: Tensor, key=None, node=CopySlices,
           adopt_output: bool = False) -> None:
    """Write ``values`` (``self``'s dtype, broadcastable to the written region, with history)
    into ``self`` or into ``self[key]`` (a normalized key) and rewrite the graph.

    ``node=None`` asks for the rebase: ``self`` takes ``values``' node as its history when it
    can (``values`` has ``self``'s shape and is the fresh output of the op being applied);
    ``adopt_output``: that node saved ``values``, and should read ``self`` instead (what
    PyTorch's in-place ``exp_``, ``sigmoid_``, ``relu_``... save).
    """
    info = view_info(self)
    if node is None:
        if info is None and key is None and values.grad_fn is not None:
            self._backend.xp.copyto(self._data, values._data, casting="unsafe")
            self._vc.value += 1
            _set_history(self, values.grad_fn, values._output_nr)
            if adopt_output:  # its node saved ``values`` (exp_, sigmoid_, relu_...)
                _saved.retarget_saved_output(values, self)
            _refresh_views(self, self._data)
            return
        node = CopySlices
    if info is None:
        root, root_key = self, key if key is not None else ((), None)
        written = region(self._data, root_key[0]) if root_key[1] is None else self._data
    else:
        root, written = info[0], self._data
        pos = written_positions(root, self, key)
        xp = root._backend.xp
        root_key = ((), tuple(xp.unravel_index(pos, root._data.shape)) if root._data.ndim
                    else None)
    if root._data.ndim == 0 and values._data.ndim:
        values = values.reshape(())
    out = node.apply(root, values, root_key)
    root._vc.value += 1
    if out.grad_fn is not None:
        _set_history(root, out.grad_fn, 0)
    _refresh_views(root, written)

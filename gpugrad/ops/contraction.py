"""``einsum``: sums of products over labelled dims, one node whose backward is einsums again.

The equation is parsed once into a plan: one string of letters per operand (each ``...``
replaced by letters the equation does not use, right-aligned as PyTorch broadcasts them), the
output's letters, and each letter's size. Forward is the array module's ``einsum`` (with its
contraction-order search) on operands broadcast to the letters' sizes. The gradient of an
operand is the einsum of the output's gradient with the other operands into that operand's
letters: a letter no other term has is broadcast in by a vector of ones, and a letter the
operand repeats (``ii``, a diagonal) is written back onto that diagonal of zeros (``Embed``).
"""

from __future__ import annotations

import string

from .. import _dtype as dt
from ..autograd.function import Function
from ._util import Tensor, check_tensor, conjugate

__all__ = ["einsum"]

_LETTERS = string.ascii_uppercase + string.ascii_lowercase


def _widened(arr):
    """bfloat16 arrays compute in float32 (NumPy's einsum refuses them), rounded once after."""
    return arr.astype("float32") if arr.dtype.kind == "V" else arr


class Einsum(Function):
    node_name = "EinsumBackward0"

    @staticmethod
    def forward(ctx, plan, *operands):
        terms, out_term, sizes = plan
        ctx.plan = plan
        ctx.save_for_backward(*operands)
        xp = operands[0]._backend.xp
        arrays = []
        for term, x in zip(terms, operands):
            arr, full = _widened(x._data), tuple(sizes[c] for c in term)
            arrays.append(arr if arr.shape == full else xp.broadcast_to(arr, full))
        out = xp.einsum(",".join(terms) + "->" + out_term, *arrays, optimize=len(arrays) > 1)
        if any(xp.may_share_memory(out, a) for a in arrays):
            out = out.copy()  # a permutation or a diagonal comes back as a view
        dtype = operands[0]._data.dtype
        return operands[0]._new(out if out.dtype == dtype else out.astype(dtype))

    @staticmethod
    def backward(ctx, grad):
        terms, out_term, sizes = ctx.plan
        operands = ctx.saved_tensors
        if grad._data.dtype.kind == "c":  # (holomorphic in each operand)
            operands = [conjugate(x) for x in operands]
        grads = [None]
        for i in range(len(terms)):
            grads.append(_operand_grad(grad, operands, terms, out_term, sizes, i)
                         if ctx.needs_input_grad[i + 1] else None)
        return tuple(grads)


def _operand_grad(grad, operands, terms, out_term, sizes, i):
    """The gradient of operand ``i`` (in its letters' full sizes; the engine sums broadcast
    dims back to the operand's shape)."""
    term = terms[i]
    unique = "".join(dict.fromkeys(term))
    parts, args = [out_term], [grad]
    for j, x in enumerate(operands):
        if j != i:
            parts.append(terms[j])
            args.append(x)
    present = set("".join(parts))
    xp = grad._backend.xp
    for c in unique:
        if c not in present:
            parts.append(c)
            args.append(grad._new(xp.ones(sizes[c], dtype=grad._data.dtype)))
    g = Einsum.apply((tuple(parts), unique, sizes), *args)
    if len(unique) == len(term):
        return g
    return Embed.apply(g, term, unique, tuple(sizes[c] for c in term))


class Embed(Function):
    """Zeros of ``shape`` (letters ``term``, some repeated) holding ``g`` (letters ``unique``)
    on the diagonals the repeats describe; backward reads those diagonals back."""

    node_name = "EinsumBackward0"

    @staticmethod
    def forward(ctx, g, term, unique, shape):
        ctx.letters = (term, unique)
        xp = g._backend.xp
        out = xp.zeros(shape, dtype=g._data.dtype)
        n = len(unique)
        positions = []
        for c in term:
            k = unique.index(c)
            positions.append(xp.arange(g._data.shape[k]).reshape((1,) * k + (-1,) +
                                                                 (1,) * (n - k - 1)))
        out[tuple(positions)] = g._data
        return g._new(out)

    @staticmethod
    def backward(ctx, grad):
        term, unique = ctx.letters
        sizes = dict(zip(term, grad._data.shape))
        return Einsum.apply(((term,), unique, sizes), grad), None, None, None


# ---------------------------------------------------------------------- parsing
def _sublist_equation(args) -> tuple:
    """``einsum(op0, [0, 1], op1, [1, 2], [0, 2])``: the equation string and the operands."""
    def letters(sub) -> str:
        out = []
        for n in sub:
            if n is Ellipsis:
                out.append("...")
            elif isinstance(n, int) and 0 <= n < 52:
                out.append(_LETTERS[n])
            else:
                raise ValueError(f"einsum(): subscript in subscript list is not within the valid "
                                 f"range [0, 52), got {n}")
        return "".join(out)

    operands = list(args[0::2][:len(args) // 2])
    subs = [letters(s) for s in args[1::2]]
    equation = ",".join(subs)
    if len(args) % 2:
        equation += "->" + letters(args[-1])
    return equation, operands


def _labels(term: str, k: int, start: int, equation: str) -> list:
    """The labels of one term, ``None`` standing for its ellipsis."""
    out, i = [], 0
    while i < len(term):
        if term[i] == ".":
            if not term.startswith("...", i):
                raise RuntimeError(f"einsum(): found '.' for operand {k} that is not part of any "
                                   "ellipsis")
            if None in out:
                raise RuntimeError(f"einsum(): found '.' for operand {k} for which an ellipsis "
                                   "was already found")
            out.append(None)
            i += 3
            continue
        if term[i] not in _LETTERS:
            raise RuntimeError(f"einsum(): invalid subscript given at index {start + i} in the "
                               "equation string, subscripts must be in [a-zA-Z]")
        out.append(term[i])
        i += 1
    return out


def _plan(equation: str, operands: list) -> tuple:
    lhs, arrow, rhs = equation.partition("->")
    raw_terms = lhs.split(",")
    if len(raw_terms) > len(operands):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the "
                           "equation")
    if len(raw_terms) < len(operands):
        raise RuntimeError("einsum(): more operands were provided than specified in the "
                           "equation")
    labels, start = [], 0
    for k, term in enumerate(raw_terms):
        labels.append(_labels(term, k, start, equation))
        start += len(term) + 1
    spare = [c for c in _LETTERS if c not in equation]
    ell = []
    for k, (lab, x) in enumerate(zip(labels, operands)):
        named, ndim = len(lab) - (None in lab), x._data.ndim
        if None not in lab and named != ndim:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({named}) "
                               f"does not match the number of dimensions ({ndim}) for operand "
                               f"{k} and no ellipsis was given")
        if named > ndim:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({named}) "
                               f"is more than the number of dimensions ({ndim}) for operand {k}")
        ell.append(ndim - named)
    ell_letters = "".join(spare[:max(ell, default=0)])
    terms = []
    for lab, n in zip(labels, ell):
        tail = ell_letters[len(ell_letters) - n:] if n else ""
        terms.append("".join(tail if c is None else c for c in lab))
    if arrow:
        out_labels = _labels(rhs, len(operands), len(lhs) + 2, equation)
        seen = set()
        for c in out_labels:
            if c is not None and c not in lhs:
                raise RuntimeError(f"einsum(): output subscript {c} does not appear in the "
                                   "equation for any input operand")
            if c in seen:
                raise RuntimeError(f"einsum(): output subscript {c} appears more than once in "
                                   "the output")
            seen.add(c)
        out_term = "".join(ell_letters if c is None else c for c in out_labels)
    else:
        counts: dict = {}
        for term in terms:
            for c in term:
                counts[c] = counts.get(c, 0) + 1
        out_term = ell_letters + "".join(sorted(c for c, n in counts.items()
                                                if n == 1 and c not in ell_letters))
    sizes: dict = {}
    for k, (term, x) in enumerate(zip(terms, operands)):
        own: dict = {}
        for c, n in zip(term, x._data.shape):
            if own.setdefault(c, n) != n:
                raise RuntimeError(f"einsum(): subscript {c} is repeated for operand {k} but the "
                                   f"sizes don't match, {own[c]} != {n}")
            have = sizes.get(c, 1)
            if have != n and have != 1 and n != 1:
                raise RuntimeError(f"einsum(): operands do not broadcast: subscript {c} has size "
                                   f"{have} in one operand and {n} in operand {k}")
            sizes[c] = n if have == 1 else have
    return tuple(terms), out_term, sizes


def einsum(*args) -> Tensor:
    """Sums of products of the operands' elements, as the equation says: ``'ij,jk->ik'``
    (matrix product), ``'ii'`` (trace), ``'...ij->...ji'`` (broadcast batch dims). Without
    ``->`` the output has the ellipsis dims, then the letters used once, in alphabetical order.
    The operands may also come as one list, or in the sublist form
    ``einsum(a, [0, 1], b, [1, 2], [0, 2])``."""
    if not args:
        raise TypeError("einsum(): must specify the equation string and at least one operand, "
                        "or at least one operand and its subscripts list")
    if isinstance(args[0], str):
        equation, operands = args[0], list(args[1:])
        if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
            operands = list(operands[0])
    else:
        equation, operands = _sublist_equation(args)
    equation = equation.replace(" ", "")
    for i, x in enumerate(operands):
        check_tensor(x, "einsum", f"operands[{i}]")
    if not operands:
        raise RuntimeError("einsum(): must provide at least one operand")
    dtype = operands[0].dtype
    for x in operands[1:]:
        if x.dtype != dtype:
            raise RuntimeError(f"expected scalar type {dt.SCALAR_TYPE_NAMES[dtype.name]} "
                               f"but found {dt.SCALAR_TYPE_NAMES[x.dtype.name]}")
    return Einsum.apply(_plan(equation, operands), *operands)


METHODS: dict = {}

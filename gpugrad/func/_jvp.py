"""``torch.func.jvp`` and ``linearize``: Jacobian-vector products without forward-mode AD, by
the double backward trick. ``u -> J^T u`` (a backward pass with a placeholder cotangent ``u``,
recorded) is linear in ``u``; its own vector-Jacobian product against the tangents ``v`` is
``J v``. Two backward passes instead of one forward pass; the same numbers."""

from __future__ import annotations

from ..autograd import grad as _autograd_grad
from ..autograd.grad_mode import enable_grad
from . import _tensor_cls, _track  # (the package imports this module after defining them)
from ._vmap import _flatten, _unflatten

__all__ = ["jvp", "linearize"]

_JVP = "jvp(f, primals, tangents)"


def _check(primals, tangents) -> None:
    Tensor = _tensor_cls()
    if not isinstance(primals, tuple):
        raise RuntimeError(f"{_JVP}: Expected primals to be a tuple. E.g. it should be valid to "
                           "call f(*primals).")
    if not isinstance(tangents, tuple) or len(tangents) != len(primals):
        raise RuntimeError(f"{_JVP}: Expected primals and tangents to have the same python "
                           "structure. For example, if primals is a tuple of 3 tensors, tangents "
                           "also must be.")
    if not any(isinstance(p, Tensor) for p in primals):
        raise RuntimeError(f"{_JVP}: Expected primals to contain at least one Tensor.")
    for p, t in zip(primals, tangents):
        if not isinstance(p, Tensor) or not isinstance(t, Tensor):
            raise RuntimeError(f"{_JVP}: Expected primals and tangents to be tuples of Tensors")
        if tuple(p.shape) != tuple(t.shape):
            raise RuntimeError(
                "Trying to set a forward gradient that has a different size than that of the "
                f"original Tensor, this is not supported. Tensor is of size {list(p.shape)} "
                f"while the given forward gradient is of size {list(t.shape)}.")


def jvp(func, primals, tangents, *, strict: bool = False, has_aux: bool = False):
    """``(func(*primals), J @ tangents)`` (and ``aux`` with ``has_aux``): the output and its
    directional derivative along ``tangents`` (one per primal, each of its primal's shape)."""
    from ..factories import zeros_like
    if strict:
        raise RuntimeError("jvp(f, primals, tangents): strict=True is not implemented")
    _check(primals, tangents)
    Tensor = _tensor_cls()
    with enable_grad():
        args, tracked, nested = _track(primals, tuple(range(len(primals))))
        out = func(*args)
        aux = None
        if has_aux:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise RuntimeError(f"{_JVP}: output of function f should be a tuple: (output, "
                                   "aux) if has_aux is True")
            out, aux = out
        outs = (out,) if isinstance(out, Tensor) else out
        if not isinstance(outs, (tuple, list)) or not all(isinstance(o, Tensor) for o in outs):
            bad = next((type(o) for o in outs if not isinstance(o, Tensor)), type(out)) \
                if isinstance(outs, (tuple, list)) else type(out)
            raise RuntimeError(f"{_JVP}: expected f(*primals) to return only tensors, got "
                               f"unsupported type {bad}")
        live = [i for i, o in enumerate(outs) if o.requires_grad]
        placeholders = [zeros_like(outs[i]).requires_grad_(True) for i in live]
        products = [None] * len(outs)
        if live:
            back = _autograd_grad([outs[i] for i in live], tracked, placeholders,
                                  create_graph=True, allow_unused=True)
            pairs = [(g, t) for g, t in zip(back, tangents) if g is not None and g.requires_grad]
            if pairs:
                found = _autograd_grad([g for g, _ in pairs], placeholders,
                                       [t for _, t in pairs], create_graph=nested,
                                       allow_unused=True)
                for i, f in zip(live, found):
                    products[i] = f
        products = [zeros_like(o) if p is None else p for o, p in zip(outs, products)]
    if not nested:
        outs = [o.detach() for o in outs]
        products = [p.detach() for p in products]
        leaves, spec = _flatten(aux)
        aux = _unflatten(spec, iter([a.detach() if isinstance(a, Tensor) else a
                                     for a in leaves]))
    if isinstance(out, Tensor):
        result = (outs[0], products[0])
    else:
        result = (type(out)(outs), type(out)(products))
    return (*result, aux) if has_aux else result


def linearize(func, *primals):
    """``(func(*primals), jvp_fn)``: ``jvp_fn(*tangents)`` is ``jvp``'s product at ``primals``
    (each call runs the two backward passes again)."""
    out, _ = jvp(func, primals, tuple(p.new_zeros(p.shape) for p in primals))

    def jvp_fn(*tangents):
        return jvp(func, primals, tangents)[1]

    return out, jvp_fn

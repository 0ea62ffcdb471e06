"""Function transforms with ``torch.func``'s names: ``grad``, ``grad_and_value``, ``vjp``,
``jvp``, ``linearize``, ``jacrev``, ``jacfwd``, ``hessian``, ``vmap``, ``functional_call`` and
``stack_module_state`` (``_ensemble.py``).

They are built on the tape (``autograd.grad``), so they compose (``grad(grad(f))``,
``vmap(grad(f))``) and give PyTorch's numbers, but they are not PyTorch's functorch: ``vmap``
calls the function once per batch entry and stacks the results (a loop, not a batched rule
per op; the same values, at a loop's speed), and ``jacfwd``, ``jvp`` and ``linearize`` compute
in reverse mode (``_jvp.py``: two backward passes).
"""

from __future__ import annotations

from ..autograd import grad as _autograd_grad
from ..autograd.grad_mode import enable_grad
from ..autograd.leaf_hooks import leaf_edges
from ..nn.utils.stateless import call_with as functional_call
from ._ensemble import stack_module_state
from ._vmap import _flatten, _unflatten, vmap

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "linearize", "jacrev", "jacfwd", "hessian",
           "vmap", "functional_call", "stack_module_state"]


def _tensor_cls():
    from ..tensor import Tensor

    return Tensor


def _argnums(argnums, n: int) -> tuple:
    nums = argnums if isinstance(argnums, tuple) else (argnums,)
    for a in nums:
        if not isinstance(a, int) or isinstance(a, bool):
            raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(a)}")
        if not -n <= a < n:
            raise RuntimeError(f"Got argnums={a}, but only {n} positional inputs")
    return tuple(a % n for a in nums)


def _track(args, nums, trees: bool = False):
    """The arguments with those in ``nums`` replaced by tensors to differentiate against: views
    that keep their history when an enclosing transform differentiates them, else fresh
    leaves. Returns the new args, those tensors and whether to keep the graph; with ``trees``,
    an argument may be a tuple/list/dict of tensors (its tensors are tracked in order), and a
    fourth value rebuilds one such structure per argument from the flat gradients."""
    Tensor = _tensor_cls()
    args = list(args)
    tracked, nested, specs = [], False, []
    for i in nums:
        leaves, spec = _flatten(args[i]) if trees else ([args[i]], None)
        for k, a in enumerate(leaves):
            if not isinstance(a, Tensor):
                raise RuntimeError(f"Expected the argument {i} to be a Tensor, got {type(a)}")
            if a.requires_grad:
                nested = True
                a = a.view_as(a)
            else:
                a = a.detach().requires_grad_(True)
            leaves[k] = a
            tracked.append(a)
        args[i] = _unflatten(spec, iter(leaves))
        specs.append(spec)
    if not trees:
        return args, tracked, nested

    def rebuild(flat):
        flat = iter(flat)
        return tuple(_unflatten(spec, flat) for spec in specs)
    return args, tracked, nested, rebuild


def _reaches_outside(t, tracked) -> bool:
    """Whether tensor ``t``'s history reaches a tensor that requires grad other than the
    ``tracked`` ones (which the transform made): a weight the function captured, or an input
    that required grad. PyTorch's transforms leave a result that history, and no other."""
    Tensor = _tensor_cls()
    if not isinstance(t, Tensor) or not t.requires_grad:
        return False
    inside = {id(a) for a in tracked}
    if t.grad_fn is None:
        return id(t) not in inside
    return any(id(leaf) not in inside for _, leaf in leaf_edges([t]))


def _unwrapped(tree, tracked):
    """``tree`` (a tensor, or tuples/lists/dicts of them and other values) as the transform
    returns it: each tensor keeps its history where it reaches outside the transform
    (``_reaches_outside``), and is detached from the transform's own tracking otherwise."""
    Tensor = _tensor_cls()
    leaves, spec = _flatten(tree)
    leaves = [a.detach() if isinstance(a, Tensor) and not _reaches_outside(a, tracked) else a
              for a in leaves]
    return _unflatten(spec, iter(leaves))


def _zeros_for_none(grads, refs):
    from ..factories import zeros_like

    return tuple(zeros_like(r) if g is None else g for g, r in zip(grads, refs))


def grad_and_value(func, argnums=0, has_aux: bool = False):
    """``f -> (x -> (df/dx, f(x)))`` for a function returning a one-element tensor; an
    argument differentiated against may be a tuple, list or dict of tensors (the gradient has
    its structure)."""
    def wrapper(*args, **kwargs):
        nums = _argnums(argnums, len(args))
        with enable_grad():
            args, tracked, nested, rebuild = _track(args, nums, trees=True)
            out = func(*args, **kwargs)
            aux = None
            if has_aux:
                if not (isinstance(out, tuple) and len(out) == 2):
                    raise RuntimeError("grad_and_value(f)(*args): output of function f should be "
                                       "a tuple: (output, aux) if has_aux is True")
                out, aux = out
            if not isinstance(out, _tensor_cls()):
                raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a "
                                   f"Tensor, got {type(out)}")
            if out.dim() != 0:
                raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a "
                                   f"scalar Tensor, got tensor with {out.dim()} dims. Maybe you "
                                   f"wanted to use the vjp or jacrev APIs instead?")
            if out.requires_grad:
                # (a graph to differentiate later where the output reaches a captured weight)
                grads = _autograd_grad(out, tracked, allow_unused=True,
                                       create_graph=nested or _reaches_outside(out, tracked))
            else:
                grads = (None,) * len(tracked)
            grads = _zeros_for_none(grads, tracked)
        if not nested:
            grads, out = _unwrapped((tuple(grads), out), tracked)
        aux = _unwrapped(aux, tracked)
        grads = rebuild(grads)
        g = grads if isinstance(argnums, tuple) else grads[0]
        return (g, (out, aux)) if has_aux else (g, out)

    return wrapper


def grad(func, argnums=0, has_aux: bool = False):
    """``f -> (x -> df/dx)`` for a function returning a one-element tensor (``(df/dx, aux)``
    with ``has_aux``)."""
    inner = grad_and_value(func, argnums, has_aux)

    def wrapper(*args, **kwargs):
        g, value = inner(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapper


def vjp(func, *primals, has_aux: bool = False):
    """``(func(*primals), vjp_fn)``: ``vjp_fn(cotangents)`` gives one gradient per primal."""
    Tensor = _tensor_cls()
    with enable_grad():
        args, tracked, nested = _track(primals, tuple(range(len(primals))))
        out = func(*args)
        aux = None
        if has_aux:
            out, aux = out
    outs = (out,) if isinstance(out, Tensor) else tuple(out)
    keep = nested or any(_reaches_outside(o, tracked) for o in outs)

    def vjp_fn(*cotangents):
        cots = cotangents[0] if len(cotangents) == 1 and not isinstance(out, Tensor) \
            else cotangents
        cots = (cots,) if isinstance(cots, Tensor) else tuple(cots)
        if len(cots) != len(outs):
            raise RuntimeError(f"Expected pytree structure of cotangents to be the same as "
                               f"pytree structure of outputs to the function: {len(outs)} vs "
                               f"{len(cots)}")
        pairs = [(o, c) for o, c in zip(outs, cots) if o.requires_grad]
        with enable_grad():
            if pairs:
                grads = _autograd_grad([o for o, _ in pairs], tracked, [c for _, c in pairs],
                                       retain_graph=True, create_graph=keep, allow_unused=True)
            else:
                grads = (None,) * len(tracked)
        grads = _zeros_for_none(grads, tracked)
        return grads if nested else _unwrapped(tuple(grads), tracked)

    shown = out if nested else _unwrapped(out, tracked)
    return (shown, vjp_fn, _unwrapped(aux, tracked)) if has_aux else (shown, vjp_fn)


def jacrev(func, argnums=0, *, has_aux: bool = False, chunk_size=None,
           _preallocate_and_copy: bool = False):
    """``f -> (x -> J)``: the Jacobian of ``f`` with respect to ``args[argnums]``, shaped
    ``output.shape + input.shape`` (tuples where the output or ``argnums`` are tuples)."""
    from ..factories import zeros
    from ..ops.join import stack

    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size <= 0):
        raise ValueError("jacrev: `chunk_size` should be greater than 0.")
    Tensor = _tensor_cls()

    def wrapper(*args, **kwargs):
        nums = _argnums(argnums, len(args))
        with enable_grad():
            args, tracked, nested = _track(args, nums)
            out = func(*args, **kwargs)
            aux = None
            if has_aux:
                out, aux = out
            outs = (out,) if isinstance(out, Tensor) else tuple(out)
            table = []
            for o in outs:
                flat = o.reshape(-1)
                rows = [[] for _ in tracked]
                keep = nested or _reaches_outside(o, tracked)
                for k in range(flat.numel()):
                    if flat.requires_grad:
                        got = _autograd_grad(flat[k], tracked, retain_graph=True,
                                             create_graph=keep, allow_unused=True)
                    else:
                        got = (None,) * len(tracked)
                    for j, g in enumerate(_zeros_for_none(got, tracked)):
                        rows[j].append(g)
                cells = []
                for j, x in enumerate(tracked):
                    shape = tuple(o.shape) + tuple(x.shape)
                    cell = stack(rows[j], 0).reshape(shape) if rows[j] else \
                        zeros(shape, dtype=x.dtype, device=x.device)
                    cells.append(cell if nested else _unwrapped(cell, tracked))
                table.append(tuple(cells) if isinstance(argnums, tuple) else cells[0])
        result = table[0] if isinstance(out, Tensor) else type(out)(table)
        return (result, _unwrapped(aux, tracked)) if has_aux else result

    return wrapper


def jacfwd(func, argnums=0, has_aux: bool = False, *, randomness: str = "error"):
    """The Jacobian, as ``jacrev`` computes it (there is no forward-mode AD here; the numbers
    are the same)."""
    return jacrev(func, argnums, has_aux=has_aux)


def hessian(func, argnums=0):
    """``f -> (x -> H)``: the Jacobian of the gradient."""
    return jacrev(jacrev(func, argnums), argnums)


from ._jvp import jvp, linearize  # noqa: E402  (built on _track above)

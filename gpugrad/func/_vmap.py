"""``vmap``: a function mapped over a dimension of its inputs, as ``torch.vmap``.

gpugrad has no batching rules: ``vmap`` calls the function once per batch entry, on each
input's ``select(in_dim, i)`` (views, so autograd reaches the inputs), and stacks the entries'
outputs along ``out_dims``. The values are PyTorch's and everything composes with the tape
(``vmap(grad(f))``, ``.backward()`` through the result, ``vmap(vmap(f))``); the speed is a
loop's. Inputs and outputs are pytrees of tuples, lists and dicts, with PyTorch's rules for
matching ``in_dims`` / ``out_dims`` against them and PyTorch's messages.
"""

from __future__ import annotations

import functools
from collections import OrderedDict

import numpy as np

from .._generator import vmap_randomness
from ..autograd.grad_mode import no_grad

__all__ = ["vmap"]

_RANDOMNESS = ("error", "different", "same")


def _tensor_cls():
    from ..tensor import Tensor

    return Tensor


def _name(func) -> str:
    if hasattr(func, "__name__"):
        return func.__name__
    if isinstance(func, functools.partial):
        return f"functools.partial({_name(func.func)}, ...)"
    return repr(func)


# ---------------------------------------------------------------------------------- pytrees
# A spec is None for a leaf, else (container type, dict keys or None, child specs). Tuples,
# lists and dicts are containers (namedtuples too); everything else, None included, is a leaf.

def _flatten(tree):
    """``(leaves, spec)`` of ``tree``."""
    if isinstance(tree, (tuple, list)):
        keys, items = None, list(tree)
    elif isinstance(tree, dict):
        keys = list(tree)
        items = [tree[k] for k in keys]
    else:
        return [tree], None
    leaves, children = [], []
    for item in items:
        got, spec = _flatten(item)
        leaves += got
        children.append(spec)
    return leaves, (type(tree), keys, children)


def _unflatten(spec, leaves):
    """The tree of ``spec`` with its leaves taken in order from the iterator ``leaves``."""
    if spec is None:
        return next(leaves)
    typ, keys, children = spec
    items = [_unflatten(child, leaves) for child in children]
    if keys is not None:
        return (OrderedDict if typ is OrderedDict else dict)(zip(keys, items))
    if typ in (tuple, list):
        return typ(items)
    if hasattr(typ, "_fields"):  # a namedtuple
        return typ(*items)
    return typ(items)


def _count(spec) -> int:
    return 1 if spec is None else sum(_count(child) for child in spec[2])


def _broadcast(dims, spec):
    """``dims`` (a leaf for a whole subtree, or a container matching ``spec``'s) flattened to
    one entry per leaf of ``spec``; None when the structures do not match."""
    if not isinstance(dims, (tuple, list, dict)):
        return [dims] * _count(spec)
    if spec is None:
        return None
    typ, keys, children = spec
    if keys is not None:
        if not isinstance(dims, dict) or set(dims) != set(keys):
            return None
        parts = [dims[k] for k in keys]
    else:
        if isinstance(dims, dict) or isinstance(dims, list) != issubclass(typ, list) \
                or len(dims) != len(children):
            return None
        parts = list(dims)
    flat = []
    for part, child in zip(parts, children):
        got = _broadcast(part, child)
        if got is None:
            return None
        flat += got
    return flat


def _describe(spec) -> str:
    if spec is None:
        return "*"
    typ, keys, children = spec
    inner = ", ".join(_describe(c) if keys is None else f"{k!r}: {_describe(c)}"
                      for k, c in zip(keys or children, children))
    return f"{typ.__name__}({inner})"


# ------------------------------------------------------------------------------- randomness

class _SameDraws:
    """``randomness="same"``: every batch entry starts from the generator state the first
    started from, so the entries draw the same numbers and the stream afterwards is as if they
    were drawn once. A CPU generator's state is read and restored exactly; a CUDA generator's
    cannot be read, so it is reseeded with a value drawn from it (as ``checkpoint`` does)."""

    def __init__(self, tensors):
        from .._device import get_default_device
        from ..backend import cpu_backend, get_backend

        backends = [cpu_backend(), get_backend(get_default_device()),
                    *(t._backend for t in tensors)]
        backends = {id(b): b for b in backends}
        self.saved = []
        for b in backends.values():
            if b.device.type == "cpu":
                self.saved.append((b, b.rng_state(b._rng)))
            else:
                seed = int(b.randint(0, 2 ** 62, (1,), np.int64)[0])
                b.manual_seed(seed)
                self.saved.append((b, seed))

    def restore(self) -> None:
        for b, state in self.saved:
            if isinstance(state, int):
                b.manual_seed(state)
            else:
                b.set_rng_state(b._rng, state)


# ---------------------------------------------------------------------------------- vmap

def vmap(func, in_dims=0, out_dims=0, randomness: str = "error", *, chunk_size=None):
    """``func`` mapped over a dimension of its inputs.

    Args:
        func: a function of tensors (in any nesting of tuples, lists and dicts) returning
            tensors (likewise nested).
        in_dims: the dimension of each input to map over: an int for all of them, or a tuple
            with one entry per positional argument, each an int, None (not mapped) or a nested
            structure matching that argument's. Keyword arguments are passed unmapped.
        out_dims: where the mapped dimension goes in each output: an int, or a structure
            matching the outputs'; None returns an output that does not vary over the batch
            as it is (and lets ``func`` return non-tensors there).
        randomness: ``"error"`` (a random draw inside ``func`` raises), ``"different"`` (each
            entry draws its own numbers) or ``"same"`` (every entry draws the same numbers).
        chunk_size: accepted as in PyTorch (None or a positive int); gpugrad already computes
            one entry at a time, so it changes nothing.

    Returns:
        a function taking the same arguments as ``func``, whose outputs carry the batch
        dimension at ``out_dims``.
    """
    if randomness not in _RANDOMNESS:
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or "
                           f"'same'. Got {randomness}")
    if chunk_size is not None:
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int):
            raise TypeError(f"vmap: chunk_size should be None or an int, got "
                            f"{type(chunk_size).__name__}")
        if chunk_size <= 0:
            raise ValueError(f"vmap: chunk_size should be None or greater than 0. "
                             f"(got {chunk_size})")

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        return _call(func, in_dims, out_dims, randomness, args, kwargs)

    return wrapped


def _mapped_inputs(func, in_dims, args):
    """The flat inputs, their spec and their normalized in_dims (None: not mapped); checks
    them as PyTorch does, with its messages."""
    Tensor = _tensor_cls()
    name = _name(func)
    where = f"vmap({name}, in_dims={in_dims}, ...)(<inputs>)"
    if not isinstance(in_dims, (int, tuple)):
        raise ValueError(f"{where}: expected `in_dims` to be int or a (potentially nested) tuple "
                         f"matching the structure of inputs, got: {type(in_dims)}.")
    if not args:
        raise ValueError(f"vmap({name})(<inputs>): got no inputs. Maybe you forgot to add "
                         f"inputs, or you are trying to vmap over a function with no inputs. "
                         f"The latter is unsupported.")
    leaves, spec = _flatten(args)
    dims = _broadcast(in_dims, spec)
    if dims is None:
        _, dims_spec = _flatten(in_dims)
        raise ValueError(f"{where}: in_dims is not compatible with the structure of `inputs`. "
                         f"in_dims has structure {_describe(dims_spec)} but inputs has "
                         f"structure {_describe(spec)}.")
    normal = []
    for leaf, d in zip(leaves, dims):
        if d is None:
            normal.append(None)
            continue
        if isinstance(d, bool):  # (PyTorch fails on it later, with a TypeError from size())
            raise TypeError(f"{where}: in_dim must be an int or None, not bool")
        if not isinstance(d, int):
            raise ValueError(f"{where}: Got in_dim={d} for an input but in_dim must be either an "
                             f"integer dimension or None.")
        if not isinstance(leaf, Tensor):
            raise ValueError(f"{where}: Got in_dim={d} for an input but the input is of type "
                             f"{type(leaf)}. We cannot vmap over non-Tensor arguments, please "
                             f"use None as the respective in_dim")
        n = leaf.dim()
        if not -n <= d < n:
            raise ValueError(f"{where}: Got in_dim={d} for some input, but that input is a Tensor "
                             f"of dimensionality {n} so expected in_dim to satisfy -{n} <= in_dim "
                             f"< {n}.")
        normal.append(d % n)
    sizes = [leaf.shape[d] for leaf, d in zip(leaves, normal) if d is not None]
    if not sizes:
        raise ValueError("vmap: Expected at least one Tensor to vmap over")
    if any(s != sizes[0] for s in sizes):
        raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped "
                         f"dimension, got sizes {sizes} for the mapped dimension")
    return leaves, spec, normal, sizes[0]


def _flat_out_dims(func, out_dims, out_spec):
    name = _name(func)

    def bad_type():
        raise ValueError(f"vmap({name}, ..., out_dims={out_dims}): `out_dims` must be an int, "
                         f"None or a python collection of ints representing where in the "
                         f"outputs the vmapped dimension should appear.")

    for d in _flatten(out_dims)[0]:
        if d is not None and (isinstance(d, bool) or not isinstance(d, int)):
            bad_type()
    if out_spec is None:  # one output: PyTorch also takes a one-element tuple of out_dims
        flat = list(out_dims) if isinstance(out_dims, tuple) and len(out_dims) == 1 else \
            _broadcast(out_dims, None)
    else:
        flat = _broadcast(out_dims, out_spec)
    if flat is None:
        raise ValueError(f"vmap({name}, ..., out_dims={out_dims})(<inputs>): out_dims is not "
                         f"compatible with the structure of `outputs`. out_dims has structure "
                         f"{_describe(_flatten(out_dims)[1])} but outputs has structure "
                         f"{_describe(out_spec)}.")
    return flat


def _same_values(a, b) -> bool:
    if a is b:
        return True
    if a.shape != b.shape or a.dtype != b.dtype or a.device != b.device:
        return False
    with no_grad():
        same = a == b
        if a.is_floating_point():
            same = same | (a.isnan() & b.isnan())
        return bool(same.all())


def _call(func, in_dims, out_dims, randomness, args, kwargs):
    from ..ops.join import stack

    Tensor = _tensor_cls()
    name = _name(func)
    leaves, spec, dims, n = _mapped_inputs(func, in_dims, args)
    tensors = [leaf for leaf in leaves if isinstance(leaf, Tensor)]
    same = _SameDraws(tensors) if randomness == "same" and n > 1 else None

    def entry(i):
        # A zero-size batch has no entry: func runs once on zeros of an entry's shape (a sum
        # over the empty dim, so the graph still reaches the input) to learn the outputs'.
        flat = [leaf if d is None else leaf.select(d, i) if n else
                leaf.sum(d).to(leaf.dtype) for leaf, d in zip(leaves, dims)]
        if same is not None:
            same.restore()
        with vmap_randomness(randomness):
            return func(*_unflatten(spec, iter(flat)), **kwargs)

    per_entry = [entry(i) for i in range(max(n, 1))]
    first, out_spec = _flatten(per_entry[0])
    flat_out = [first]
    for out in per_entry[1:]:
        got, got_spec = _flatten(out)
        if got_spec != out_spec:
            raise ValueError(f"vmap({name}, ...): `{name}` returned outputs of different "
                             f"structures for different batch entries: {_describe(out_spec)} "
                             f"and {_describe(got_spec)}")
        flat_out.append(got)
    flat_dims = _flat_out_dims(func, out_dims, out_spec)
    results = []
    for k, d in enumerate(flat_dims):
        column = [outs[k] for outs in flat_out]
        if d is None:
            if isinstance(column[0], Tensor) and not all(
                    isinstance(c, Tensor) and _same_values(c, column[0]) for c in column[1:]):
                raise ValueError(f"vmap({name}, ...): `{name}` can not return a BatchedTensor "
                                 f"when out_dim is None")
            results.append(column[0])
            continue
        for c in column:
            if not isinstance(c, Tensor):
                raise ValueError(f"vmap({name}, ...): `{name}` must only return Tensors, got "
                                 f"type {type(c)}. Did you mean to set out_dims= to None for "
                                 f"output?")
        out = stack(column, d)
        results.append(out if n else out.narrow(d % out.dim(), 0, 0))
    return _unflatten(out_spec, iter(results))

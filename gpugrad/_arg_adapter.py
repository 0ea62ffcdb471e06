"""The keywords PyTorch's argument parser takes beyond a function's own parameters: NumPy's
spellings ``axis=`` / ``keepdims=`` and ``out=``, adapted in one place, at import.

PyTorch's C++ argument parser reads ``axis`` as ``dim`` and ``keepdims`` as ``keepdim`` for
every op it binds (``x.sum(axis=1, keepdims=True)``, ``torch.cat(ts, axis=0)``,
``x.size(axis=0)``, ``torch.linalg.vector_norm(x, axis=1)``), but the functions PyTorch writes
in Python take only their own names: ``torch.norm``, ``split``, ``unique``,
``unique_consecutive``, ``Tensor.unflatten`` and the ``nn.functional`` functions other than the
two that are the C++ ops themselves (``cosine_similarity``, ``pairwise_distance``) raise
``TypeError``. Checked against torch 2.13: each of its public functions and ``Tensor`` methods
that has a ``dim`` or ``keepdim`` parameter accepts the NumPy names exactly when it is a C++
builtin. ``out=`` is taken by the functions ``_out_arg.OUT_NAMES`` lists (its semantics live
there).

Each public entry point that needs one of these is replaced once by a single wrapper, built
for that function, that renames the NumPy keywords and hands an ``out=`` call to
``_out_arg.call_with_out``. Spelling one argument both ways, or naming one passed by position,
raises ``TypeError`` as in PyTorch. A call without keywords pays one extra Python call and
nothing else; there is never a second wrapper frame for these keywords.
"""

from __future__ import annotations

import functools
import inspect

from ._out_arg import call_with_out, rule

__all__ = ["install"]

NUMPY_NAMES = {"axis": "dim", "keepdims": "keepdim"}

# The functions and methods that PyTorch writes in Python: no NumPy names there.
PYTHON_WRITTEN = {
    "gpugrad": {"norm", "split", "unique", "unique_consecutive"},
    "Tensor": {"norm", "split", "unique", "unique_consecutive", "unflatten"},
    "linalg": set(),
    "special": set(),
    "fft": set(),
}
# ``nn.functional`` is Python throughout but for these, which are PyTorch's C++ ops.
F_BUILTIN = {"cosine_similarity", "pairwise_distance"}

# Reductions whose PyTorch overloads take ``keepdim`` only with a ``dim`` (``x.sum(keepdim=True)``
# is a TypeError there, not a full reduction that keeps its dims), and those that refuse
# ``dim=None`` (their dim overload takes only the type named). Functions and Tensor methods.
# (``max`` and ``min`` sort out their three overloads themselves: ``ops/minmax.py``.)
KEEPDIM_NEEDS_DIM = {"sum", "mean", "prod", "median", "nanmedian"}
DIM_TYPE = {"prod": "int", "median": "int", "nanmedian": "int", "logsumexp": "tuple of ints"}
_MISSING = object()


def _adapted(fn, params, renames: dict, out_rule, dim_rule=None):
    """``fn`` that also takes the NumPy spellings in ``renames`` (NumPy name -> own name) and,
    where ``out_rule`` (an ``_out_arg.OutRule``) is given, ``out=``; ``dim_rule``, where given:
    ``(keepdim_needs_dim, dim_type)`` of a reduction (KEEPDIM_NEEDS_DIM, DIM_TYPE)."""
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    # how many positional arguments reach each own name (keyword-only: none do)
    positions = {own: i if param.kind in positional else float("inf")
                 for i, (own, param) in enumerate(params.items())
                 if own in renames.values() or own == "dim"}

    # a reduction whose dim overload takes one type: the position where a None is refused
    none_at = positions["dim"] if dim_rule is not None and dim_rule[1] is not None else None

    @functools.wraps(fn)
    def entry(*args, **kwargs):
        if not kwargs:  # the common call, kept to one branch (no empty ** to unpack)
            if none_at is not None and len(args) > none_at and args[none_at] is None:
                _check_dim(fn.__name__, dim_rule, args, kwargs, none_at)  # (raises)
            return fn(*args)
        for numpy_name, own in renames.items():
            if numpy_name in kwargs:
                if own in kwargs or len(args) > positions[own]:  # given both ways
                    raise TypeError(f"{fn.__name__}() got an unexpected keyword argument "
                                    f"'{numpy_name}'")
                kwargs[own] = kwargs.pop(numpy_name)
        if dim_rule is not None:
            _check_dim(fn.__name__, dim_rule, args, kwargs, positions["dim"])
        if out_rule is not None:
            out = kwargs.pop("out", None)
            if out is not None:
                return call_with_out(fn, out_rule, args, kwargs, out)
        return fn(*args, **kwargs)

    # What a call without keywords comes down to, for a wrapper installed over this entry
    # (amp/policy.py) to call directly: one wrapper frame per call, not two.
    entry.keywordless_call = fn if none_at is None else entry
    return entry


def _check_dim(name: str, dim_rule: tuple, args: tuple, kwargs: dict, dim_at) -> None:
    """PyTorch's TypeError for a reduction's ``keepdim`` given without a ``dim`` and for
    ``dim=None`` where only a dim of ``dim_type`` is taken: its argument parser finds no
    overload."""
    keepdim_needs_dim, dim_type = dim_rule
    dim = args[dim_at] if len(args) > dim_at else kwargs.get("dim", _MISSING)
    if dim is _MISSING and keepdim_needs_dim and "keepdim" in kwargs:
        raise TypeError(f"{name}() received an invalid combination of arguments - got keepdim "
                        f"without dim: keepdim is taken with a dim only (give dim, or leave "
                        f"keepdim out for a full reduction)")
    if dim is None and dim_type is not None:
        raise TypeError(f"{name}(): argument 'dim' must be {dim_type}, not NoneType")


def install(gpugrad) -> None:
    """Wrap every public function and ``Tensor`` method that PyTorch lets take the NumPy
    names or ``out=``. A method a base class defines (``size``, ``stride``) is wrapped on that
    class."""
    functional = gpugrad.nn.functional
    namespaces = {"gpugrad": gpugrad, "Tensor": gpugrad.Tensor, "linalg": gpugrad.linalg,
                  "special": gpugrad.special, "fft": gpugrad.fft}
    for ns, owner in namespaces.items():
        for name in dir(owner):
            if not name.startswith("_"):
                _wrap(owner, ns, name, name not in PYTHON_WRITTEN[ns])
    for name in F_BUILTIN:
        _wrap(functional, "F", name, True)


def _wrap(owner, ns: str, name: str, numpy_names: bool) -> None:
    fn = getattr(owner, name)
    if isinstance(fn, type) or not callable(fn):
        return
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return
    renames = {numpy_name: own for numpy_name, own in NUMPY_NAMES.items()
               if numpy_names and own in params}
    out_rule = rule(ns, name, params)
    if not renames and out_rule is None:
        return
    if isinstance(owner, type):  # set it where the class hierarchy defines it
        owner = next(cls for cls in owner.__mro__ if name in cls.__dict__)
        if isinstance(owner.__dict__[name], (staticmethod, classmethod)):
            return
    dim_rule = None
    if ns in ("gpugrad", "Tensor") and "dim" in params and (
            name in KEEPDIM_NEEDS_DIM or name in DIM_TYPE):
        dim_rule = (name in KEEPDIM_NEEDS_DIM, DIM_TYPE.get(name))
    entry = _adapted(fn, params, renames, out_rule, dim_rule)
    # Named where it now lives, so that pickle (a DataLoader worker's collate_fn) finds it.
    entry.__module__ = owner.__module__ if isinstance(owner, type) else owner.__name__
    entry.__qualname__ = f"{owner.__qualname__}.{name}" if isinstance(owner, type) else name
    setattr(owner, name, entry)

"""``optim.Optimizer``: param groups, per-parameter state, ``zero_grad``, ``state_dict``."""

from __future__ import annotations

import copy
import functools
from collections import defaultdict

from .. import _capture
from .._warnings import warn_user
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor
from ..utils.hooks import RemovableHandle, add_hook
from ._complex import step_backend
from ._sparse import split_sparse
from ._state import cast_loaded_state, grouped
from ._step_options import check_implementation_options, occurrences, with_numbers

__all__ = ["Optimizer", "register_optimizer_step_pre_hook", "register_optimizer_step_post_hook"]

_global_step_pre_hooks: dict = {}
_global_step_post_hooks: dict = {}


def register_optimizer_step_pre_hook(hook) -> RemovableHandle:
    """Call ``hook(optimizer, args, kwargs)`` before every optimizer's ``step``; it may return
    ``(new_args, new_kwargs)``."""
    return add_hook(_global_step_pre_hooks, hook)


def register_optimizer_step_post_hook(hook) -> RemovableHandle:
    """Call ``hook(optimizer, args, kwargs)`` after every optimizer's ``step``."""
    return add_hook(_global_step_post_hooks, hook)


def _with_step_hooks(step):
    """``step`` running the global and the optimizer's step hooks around it (once, when a
    subclass's ``step`` calls its parent's)."""
    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        pre = self.__dict__.get("_optimizer_step_pre_hooks")
        post = self.__dict__.get("_optimizer_step_post_hooks")
        if (not pre and not post and not _global_step_pre_hooks and not _global_step_post_hooks) \
                or self.__dict__.get("_in_hooked_step"):
            return step(self, *args, **kwargs)
        for hook in (*_global_step_pre_hooks.values(), *(pre or {}).values()):
            result = hook(self, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError(f"{hook} must return None or a tuple of (new_args, "
                                       f"new_kwargs), but got {result}.")
                args, kwargs = result
        self.__dict__["_in_hooked_step"] = True
        try:
            out = step(self, *args, **kwargs)
        finally:
            self.__dict__["_in_hooked_step"] = False
        for hook in (*(post or {}).values(), *_global_step_post_hooks.values()):
            hook(self, args, kwargs)
        return out

    wrapper._gpugrad_step_hooks = True
    return wrapper


class _RequiredParameter:
    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


class Optimizer:
    """Base class of optimizers.

    Args:
        params: an iterable of Tensors, or of dicts (param groups) with a ``"params"`` entry
            and per-group options that override ``defaults``.
        defaults: the default options of every group.

    Subclasses implement ``step``; they update each group's parameters in ONE call of the
    backend's fused step primitive, in place under ``no_grad``, bumping version counters.
    """

    # Whether step refuses complex parameters (as PyTorch's Adafactor and Muon do); the others
    # update a complex number as the pair of its parts (``_complex.py``).
    _complex_refused = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is None or getattr(step, "_gpugrad_step_hooks", False):
            return
        if getattr(step, "__gpugrad_island__", False):  # hooks inside the island, so that a
            inner = step.__wrapped__  # replayed step runs them too
            cls.step = _capture.island(_with_step_hooks(inner), repeatable=getattr(
                inner, "__gpugrad_repeatable__", False))
            cls.step._gpugrad_step_hooks = True
        else:
            cls.step = _with_step_hooks(step)

    def __init__(self, params, defaults: dict):
        check_implementation_options(defaults)
        self.defaults = defaults
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict] = []
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                f"dicts, but got {params.type()}"
            )
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def __repr__(self) -> str:
        text = type(self).__name__ + " ("
        for i, group in enumerate(self.param_groups):  # (a blank line between groups)
            text += f"\nParameter Group {i}\n"
            text += "".join(f"    {key}: {group[key]}\n" for key in sorted(group)
                            if key != "params")
        return text + ")"

    def __getstate__(self) -> dict:
        """What a copy or a pickle keeps, as PyTorch: options, state and groups (no hooks)."""
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict) -> None:
        """Restore ``state`` (from a copy, a pickle or ``load_state_dict``). Subclasses that
        add options override it to fill them in groups saved before (calling this first, as
        PyTorch's do); here every option the groups lack takes its default."""
        self.__dict__.update(state)
        for group in self.param_groups:
            for name, default in self.defaults.items():
                if default is not required:
                    group.setdefault(name, default)

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters (with its own options) to optimize."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list instead."
            )
        params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]  # from named_parameters()
        if names:
            if len(names) != len(params):
                raise ValueError("all optimizer params should be with/without names. Some param "
                                 "names are missing")
            params = [p[1] for p in params]
        for group in self.param_groups:
            if bool(names) != ("param_names" in group):
                kind = "with names" if names else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {kind} to the optimizer")
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"optimizer can only optimize Tensors, but one of the params is "
                    f"{type(p).__name__}"
                )
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        group = dict(param_group, params=params)
        if names:
            group["param_names"] = names
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(
                    f"parameter group didn't specify a value of required optimization "
                    f"parameter {name}"
                )
            group.setdefault(name, default)
        if len({id(p) for p in params}) != len(params):  # (PyTorch warns, and keeps them)
            warn_user("optimizer contains a parameter group with duplicate parameters; in "
                      "future, this will cause an error; see github.com/pytorch/pytorch/issues/"
                      "40967 for more information")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    @_capture.island(repeatable=True)
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized parameters: to None (default), or to zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if g.grad_fn is not None:
                        g = g.detach()
                        p.grad = g
                    g._write_(0)

    @_capture.island
    @_with_step_hooks
    def step(self, closure=None):
        """Update every parameter that has a gradient; returns ``closure()``'s loss if given.

        Each param group's update is one call of ``_step_group`` (one backend primitive)."""
        loss = self._run_closure(closure)
        with no_grad():
            for group in self.param_groups:
                params, backend = self._with_grads(group)
                params = split_sparse(self, group, params)
                if not params:
                    continue
                if group.get("capturable") and backend.device.type != "cuda":
                    raise AssertionError(f"If capturable=True, {self._capturable_states} must be "
                                         f"on supported devices: {self._capturable_devices}.")
                backend = step_backend(self, params, backend)
                options = with_numbers(group)
                for run in occurrences(params):
                    self._step_group(options, run, backend)
                for p in params:  # the update wrote into each parameter in place
                    p._bump_version()
        return loss

    def _step_group(self, group: dict, params: list, backend) -> None:
        """Update ``params`` (those of ``group`` with a gradient) in place."""
        raise NotImplementedError

    _step_sparse = None  # (group, p, grad): the update of one sparse gradient (_sparse.py)
    _sparse_only = False  # SparseAdam: refuses dense gradients

    # (PyTorch's words, where capturable=True meets parameters off the GPU)
    _capturable_states = "params and state_steps"
    _capturable_devices = "['cuda', 'xpu', 'hpu', 'privateuseone', 'xla']"

    _step_type_error = ("API has changed, `state_steps` argument must contain a list of "
                        "singleton tensors")

    def _start_step(self, group: dict, params: list, new_state) -> list[dict]:
        """The states of ``params``, each started by ``new_state(group, p)`` (a dict) on its
        first step, with this step counted in its ``state["step"]``."""
        states = []
        for p in params:
            state = self.state[p]
            if not state:
                state.update(new_state(group, p))
            step = state["step"]
            if not isinstance(step, Tensor):  # (an int, as code written for old PyTorch sets)
                raise RuntimeError(self._step_type_error)
            step._write_(step._data + 1)
            states.append(state)
        return states

    def _by_step(self, group: dict, params: list, new_state) -> dict:
        """As ``_start_step``, then ``params`` grouped by their step count (an int): params whose
        counts differ (one skipped a step) update in separate primitive calls."""
        states = self._start_step(group, params, new_state)
        return grouped(params, [int(s["step"].item()) for s in states])

    def _with_grads(self, group: dict):
        """The params of ``group`` that have a gradient, and their backend (one per group)."""
        params = [p for p in group["params"] if p.grad is not None]
        backend = None
        for p in params:
            if backend is None:
                backend = p._backend
            elif p._backend is not backend:
                raise RuntimeError(
                    "all parameters of a param group must be on the same device, found "
                    f"{backend.device} and {p.device}"
                )
        return params, backend

    @staticmethod
    def _run_closure(closure):
        if closure is None:
            return None
        from ..autograd.grad_mode import enable_grad

        with enable_grad():
            return closure()


    # ----------------------------------------------------------------------- hooks
    def _hook_table(self, name: str) -> dict:
        table = self.__dict__.get(name)
        if table is None:
            table = self.__dict__[name] = {}
        return table

    def register_step_pre_hook(self, hook) -> RemovableHandle:
        """Call ``hook(optimizer, args, kwargs)`` before each ``step``; it may return
        ``(new_args, new_kwargs)``."""
        return add_hook(self._hook_table("_optimizer_step_pre_hooks"), hook)

    def register_step_post_hook(self, hook) -> RemovableHandle:
        """Call ``hook(optimizer, args, kwargs)`` after each ``step``."""
        return add_hook(self._hook_table("_optimizer_step_post_hooks"), hook)

    def register_state_dict_pre_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """Call ``hook(optimizer)`` before ``state_dict`` builds the dict."""
        return add_hook(self._hook_table("_state_dict_pre_hooks"), hook, prepend)

    def register_state_dict_post_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """Call ``hook(optimizer, state_dict)`` on the built dict; a returned dict replaces
        it."""
        return add_hook(self._hook_table("_state_dict_post_hooks"), hook, prepend)

    def register_load_state_dict_pre_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """Call ``hook(optimizer, state_dict)`` before loading; a returned dict is loaded
        instead."""
        return add_hook(self._hook_table("_load_state_dict_pre_hooks"), hook, prepend)

    def register_load_state_dict_post_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """Call ``hook(optimizer)`` after loading."""
        return add_hook(self._hook_table("_load_state_dict_post_hooks"), hook, prepend)

    # ----------------------------------------------------------------- state dicts
    def state_dict(self) -> dict:
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [index, ...]}]}``:
        parameters are referred to by their position across groups, as in PyTorch. The state
        tensors are shared, not copied."""
        for hook in tuple(self.__dict__.get("_state_dict_pre_hooks", {}).values()):
            hook(self)
        result = self._build_state_dict()
        for hook in tuple(self.__dict__.get("_state_dict_post_hooks", {}).values()):
            new = hook(self, result)
            if new is not None:
                result = new
        return result

    def _build_state_dict(self) -> dict:
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: s for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore options and state from ``state_dict()``, as PyTorch: the groups' options are
        copied, the state tensors cast to each parameter's device and (a floating parameter's)
        dtype, ``step`` excepted, and shared where they already match; state under an index
        that names no parameter is kept as it is. Ends by calling ``__setstate__``."""
        state_dict = dict(state_dict)  # (shallow, so that the hooks may edit it)
        for hook in tuple(self.__dict__.get("_load_state_dict_pre_hooks", {}).values()):
            new = hook(self, state_dict)
            if new is not None:
                state_dict = new
        self._load(state_dict)
        for hook in tuple(self.__dict__.get("_load_state_dict_post_hooks", {}).values()):
            hook(self)

    def _load(self, state_dict: dict) -> None:
        groups, saved_groups = self.param_groups, copy.deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError(
                "loaded state dict contains a parameter group that doesn't match the size of "
                "optimizer's group"
            )
        by_index = {}
        for group, saved in zip(groups, saved_groups):
            for p, i in zip(group["params"], saved["params"]):
                by_index[i] = p
        state = defaultdict(dict)
        for key, value in state_dict["state"].items():
            p = by_index.get(key)
            state[key if p is None else p] = value if p is None else cast_loaded_state(p, value)
        new_groups = []
        for group, saved in zip(groups, saved_groups):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
            new_groups.append(saved)
        self.__setstate__({"state": state, "param_groups": new_groups})

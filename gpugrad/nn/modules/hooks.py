"""A module's hooks: forward (pre-)hooks, with PyTorch's ``prepend``, ``with_kwargs`` and
``always_call``; full backward (pre-)hooks; and the state dict hooks. Also the global hooks
(``torch.nn.modules.module.register_module_*``): forward, backward and registration hooks.

Backward hooks work as in PyTorch: the module's tensor inputs and outputs pass through identity
nodes (``BackwardHookFunctionBackward``); the outputs' node sees ``grad_output`` (and runs the
pre-hooks, which may replace it), the inputs' node sees ``grad_input`` and runs the hooks, which
may replace it. When no input requires grad, the hooks run at the outputs' node with
``grad_input`` all None.
"""

from __future__ import annotations

from ..._warnings import warn_user
from ...autograd.function import Function
from ...tensor import Tensor
from ...utils.hooks import RemovableHandle as HookHandle
from ...utils.hooks import add_hook as _add

__all__ = ["HooksMixin", "register_module_forward_pre_hook", "register_module_forward_hook",
           "register_module_full_backward_pre_hook", "register_module_full_backward_hook",
           "register_module_backward_hook", "register_module_parameter_registration_hook",
           "register_module_buffer_registration_hook",
           "register_module_module_registration_hook"]

# The global forward hooks (``torch.nn.modules.module.register_module_forward_*``): every
# module's call runs them before its own hooks. Their with_kwargs / always_call flags by id.
_GLOBAL_PRE: dict = {}
_GLOBAL_FORWARD: dict = {}
_GLOBAL_WITH_KWARGS: dict = {}
_GLOBAL_ALWAYS: dict = {}
# The global full backward (pre-)hooks: they run before each module's own. The old
# ``register_module_backward_hook`` puts its hooks in the same table (as ``register_backward_hook``
# is the full backward hook); which of the two registered first is remembered, for good, as
# PyTorch does: the other then raises.
_GLOBAL_BACKWARD_PRE: dict = {}
_GLOBAL_BACKWARD: dict = {}
_global_is_full_backward_hook: bool | None = None
# The global registration hooks: ``register_parameter``, ``register_buffer`` and ``add_module``
# (and the assignments that go through them) call them in turn; a returned value replaces the
# one registered.
_GLOBAL_PARAMETER_REGISTRATION: dict = {}
_GLOBAL_BUFFER_REGISTRATION: dict = {}
_GLOBAL_MODULE_REGISTRATION: dict = {}


def register_module_forward_pre_hook(hook) -> HookHandle:
    """Call ``hook(module, args)`` before the forward of every module (before its own
    pre-hooks); a returned value replaces the args. Returns a handle that removes it."""
    return _add(_GLOBAL_PRE, hook)


def register_module_forward_hook(hook, *, with_kwargs: bool = False,
                                 always_call: bool = False) -> HookHandle:
    """Call ``hook(module, args, output)`` (``hook(module, args, kwargs, output)`` with
    ``with_kwargs``) after the forward of every module, before its own hooks; a returned value
    replaces the output. With ``always_call`` it runs even when forward raised."""
    handle = _add(_GLOBAL_FORWARD, hook)
    if with_kwargs:
        _GLOBAL_WITH_KWARGS[handle.id] = True
    if always_call:
        _GLOBAL_ALWAYS[handle.id] = True
    handle._tables += (_GLOBAL_WITH_KWARGS, _GLOBAL_ALWAYS)
    return handle


def register_module_full_backward_pre_hook(hook) -> HookHandle:
    """Call ``hook(module, grad_output)`` in the backward of every module (before its own
    backward pre-hooks); a returned value replaces ``grad_output``."""
    return _add(_GLOBAL_BACKWARD_PRE, hook)


def register_module_full_backward_hook(hook) -> HookHandle:
    """Call ``hook(module, grad_input, grad_output)`` in the backward of every module (before
    its own backward hooks); a returned value replaces ``grad_input``."""
    _set_global_backward_kind(full=True)
    return _add(_GLOBAL_BACKWARD, hook)


def register_module_backward_hook(hook) -> HookHandle:
    """The deprecated form of ``register_module_full_backward_hook``: in gpugrad the same hook
    (PyTorch's old hook saw only the last op of each module). It cannot be mixed with full
    backward hooks: whichever kind registers second raises ``RuntimeError``."""
    _set_global_backward_kind(full=False)
    return _add(_GLOBAL_BACKWARD, hook)


def _set_global_backward_kind(full: bool) -> None:
    global _global_is_full_backward_hook
    if _global_is_full_backward_hook is (not full):
        raise RuntimeError("Cannot use both regular backward hooks and full backward hooks as a "
                           "global Module hook. Please use only one of them.")
    _global_is_full_backward_hook = full


def register_module_parameter_registration_hook(hook) -> HookHandle:
    """Call ``hook(module, name, param)`` whenever any module registers a parameter (not
    None); a returned value is registered instead. Returns a handle that removes it."""
    return _add(_GLOBAL_PARAMETER_REGISTRATION, hook)


def register_module_buffer_registration_hook(hook) -> HookHandle:
    """Call ``hook(module, name, buffer)`` whenever any module registers a buffer (None
    included); a returned value is registered instead. Returns a handle that removes it."""
    return _add(_GLOBAL_BUFFER_REGISTRATION, hook)


def register_module_module_registration_hook(hook) -> HookHandle:
    """Call ``hook(module, name, submodule)`` whenever any module registers a child module
    (None included); a returned value is registered instead. Returns a handle that removes
    it."""
    return _add(_GLOBAL_MODULE_REGISTRATION, hook)


def run_registration_hooks(table: dict, module, name: str, value):
    """``value`` passed through the registration hooks of ``table`` in order (each sees what
    the one before returned)."""
    for hook in tuple(table.values()):
        result = hook(module, name, value)
        if result is not None:
            value = result
    return value


def has_backward_hooks(module) -> bool:
    """Whether a call of ``module`` must route its tensors through backward-hook nodes."""
    return bool(module._backward_hooks or module._backward_pre_hooks or _GLOBAL_BACKWARD
                or _GLOBAL_BACKWARD_PRE)


class _HookState:
    def __init__(self, module, n_inputs: int):
        self.module = module
        self.n_inputs = n_inputs
        self.grad_outputs = None
        self.inputs_wrapped = False


def _run_full_hooks(state: _HookState, grad_inputs: tuple) -> tuple:
    module = state.module
    for hook in (*_GLOBAL_BACKWARD.values(), *(module._backward_hooks or {}).values()):
        result = hook(module, grad_inputs, state.grad_outputs)
        if result is not None:
            result = tuple(result) if isinstance(result, (tuple, list)) else (result,)
            if len(result) != len(grad_inputs):
                raise RuntimeError(f"Backward hook returned an invalid number of grad_input, "
                                   f"got {len(result)}, but expected {len(grad_inputs)}")
            grad_inputs = result
    return grad_inputs


def _spread(grads, slots, n: int) -> tuple:
    """Gradients of the wrapped tensors placed at their slots among ``n`` (None elsewhere)."""
    full = [None] * n
    for slot, g in zip(slots, grads):
        full[slot] = g
    return tuple(full)


class BackwardHookFunction(Function):
    """Identity on a module's tensors that require grad; its backward runs the module's
    backward hooks (``slots``: where the wrapped tensors sit among the module's inputs or
    outputs, ``n`` of them in all)."""

    node_name = "BackwardHookFunctionBackward"

    @staticmethod
    def forward(ctx, state, side, slots, n, *tensors):
        ctx.state, ctx.side, ctx.slots, ctx.n = state, side, slots, n
        return tuple(t.view_as(t) for t in tensors)

    @staticmethod
    def backward(ctx, *grads):
        state = ctx.state
        module = state.module
        full = _spread(grads, ctx.slots, ctx.n)
        if ctx.side == "output":
            for hook in (*_GLOBAL_BACKWARD_PRE.values(),
                         *(module._backward_pre_hooks or {}).values()):
                result = hook(module, full)
                if result is not None:
                    result = tuple(result) if isinstance(result, (tuple, list)) else (result,)
                    if len(result) != len(full):
                        raise RuntimeError(f"Backward pre hook returned an invalid number of "
                                           f"grad_output, got {len(result)}, but expected "
                                           f"{len(full)}")
                    full = result
            state.grad_outputs = full
            if not state.inputs_wrapped:
                warn_user("Full backward hook is firing when gradients are computed with respect "
                          "to module outputs since no inputs require gradients. See "
                          "https://docs.pytorch.org/docs/main/generated/torch.nn.Module.html"
                          "#torch.nn.Module.register_full_backward_hook for more details.")
                _run_full_hooks(state, (None,) * state.n_inputs)
        else:
            full = _run_full_hooks(state, full)
        return (None, None, None, None) + tuple(full[slot] for slot in ctx.slots)


class _WithModule:
    """A load pre-hook registered with its module, which it gets as its first argument (a
    plain reference, so that ``copy.deepcopy`` of the module points the copy's at the copy)."""

    def __init__(self, hook, module):
        self.hook = hook
        self.module = module

    def __call__(self, *args, **kwargs):
        return self.hook(self.module, *args, **kwargs)


class HooksMixin:
    """The hook tables and their registration; ``Module.__call__`` runs them."""

    _backward_hooks = None  # created at the first backward hook (dict id -> hook)
    _backward_pre_hooks = None
    _forward_hooks_with_kwargs = None  # hook id -> True (created when first needed)
    _forward_hooks_always_called = None
    _forward_pre_hooks_with_kwargs = None
    _state_dict_pre_hooks = None
    _state_dict_hooks = None
    _load_state_dict_pre_hooks = None
    _load_state_dict_post_hooks = None
    _state_dict_hooks_public = None  # post-hook id -> True: registered by the public method

    def _table(self, name: str) -> dict:
        table = self.__dict__.get(name)
        if table is None:
            table = {}
            object.__setattr__(self, name, table)
        return table

    def register_forward_pre_hook(self, hook, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> HookHandle:
        """Call ``hook(module, args)`` (``hook(module, args, kwargs)`` with ``with_kwargs``)
        before each forward; a returned value replaces the args (``(args, kwargs)``)."""
        flags = self._table("_forward_pre_hooks_with_kwargs") if with_kwargs else None
        return _add(self._forward_pre_hooks, hook, prepend, flags, True)

    def register_forward_hook(self, hook, *, prepend: bool = False, with_kwargs: bool = False,
                              always_call: bool = False) -> HookHandle:
        """Call ``hook(module, args, output)`` (``hook(module, args, kwargs, output)`` with
        ``with_kwargs``) after each forward; a returned value replaces the output. With
        ``always_call`` it runs even when forward raised."""
        handle = _add(self._forward_hooks, hook, prepend)
        if with_kwargs:
            self._table("_forward_hooks_with_kwargs")[handle.id] = True
        if always_call:
            self._table("_forward_hooks_always_called")[handle.id] = True
        handle._tables += tuple(t for t in (self._forward_hooks_with_kwargs,
                                            self._forward_hooks_always_called) if t is not None)
        return handle

    def register_full_backward_pre_hook(self, hook, prepend: bool = False) -> HookHandle:
        """Call ``hook(module, grad_output)`` when the gradients of the module's outputs are
        known; a returned tuple replaces them."""
        self._table("_backward_hooks")
        return _add(self._table("_backward_pre_hooks"), hook, prepend)

    def register_full_backward_hook(self, hook, prepend: bool = False) -> HookHandle:
        """Call ``hook(module, grad_input, grad_output)`` when the gradients of the module's
        tensor inputs are known; a returned tuple replaces ``grad_input``."""
        self._table("_backward_pre_hooks")
        return _add(self._table("_backward_hooks"), hook, prepend)

    def register_backward_hook(self, hook) -> HookHandle:
        """The deprecated form of ``register_full_backward_hook`` (which it calls: PyTorch's
        old hook saw only the module's last op, and warns that it is deprecated)."""
        return self.register_full_backward_hook(hook)

    def register_state_dict_pre_hook(self, hook) -> HookHandle:
        """Call ``hook(module, prefix, keep_vars)`` before ``state_dict`` saves this module."""
        return _add(self._table("_state_dict_pre_hooks"), hook, False)

    def register_state_dict_post_hook(self, hook) -> HookHandle:
        """Call ``hook(module, state_dict, prefix, local_metadata)`` after ``state_dict`` saved
        this module (and its children); it must return None."""
        flags = self._table("_state_dict_hooks_public")
        return _add(self._table("_state_dict_hooks"), hook, False, flags, True)

    def _register_state_dict_hook(self, hook) -> HookHandle:
        """The private form of ``register_state_dict_post_hook``: a returned dict replaces the
        state dict."""
        return _add(self._table("_state_dict_hooks"), hook, False)

    def _register_load_state_dict_pre_hook(self, hook, with_module: bool = False) -> HookHandle:
        """Call ``hook(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
        error_msgs)`` (with the module first when ``with_module``) as this module's
        ``_load_from_state_dict`` starts."""
        return _add(self._table("_load_state_dict_pre_hooks"),
                    _WithModule(hook, self) if with_module else hook, False)

    def register_load_state_dict_pre_hook(self, hook) -> HookHandle:
        """Call ``hook(module, state_dict, prefix, local_metadata, strict, missing_keys,
        unexpected_keys, error_msgs)`` before ``load_state_dict`` loads this module."""
        return self._register_load_state_dict_pre_hook(hook, with_module=True)

    def register_load_state_dict_post_hook(self, hook) -> HookHandle:
        """Call ``hook(module, incompatible_keys)`` after ``load_state_dict`` loaded this module
        and its children (it may edit the keys lists in place; it must return None)."""
        return _add(self._table("_load_state_dict_post_hooks"), hook, False)

    # ------------------------------------------------------------------- running them
    def _call_with_hooks(self, args: tuple, kwargs: dict):
        pre_kwargs = self._forward_pre_hooks_with_kwargs or {}
        for key, hook in (*_GLOBAL_PRE.items(), *self._forward_pre_hooks.items()):
            if key in pre_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError("forward pre-hook must return None or a tuple of "
                                           f"(new_args, new_kwargs), but got {result}.")
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        state = None
        if has_backward_hooks(self):
            args, state = self._wrap_inputs(args)
        try:
            out = self.forward(*args, **kwargs)
        except Exception:
            always = {**_GLOBAL_ALWAYS, **(self._forward_hooks_always_called or {})}
            for key, hook in (*_GLOBAL_FORWARD.items(), *self._forward_hooks.items()):
                if key in always:
                    try:
                        hook(self, args, None)
                    except Exception:
                        pass
            raise
        with_kwargs = {**_GLOBAL_WITH_KWARGS, **(self._forward_hooks_with_kwargs or {})}
        for key, hook in (*_GLOBAL_FORWARD.items(), *self._forward_hooks.items()):
            result = hook(self, args, kwargs, out) if key in with_kwargs else \
                hook(self, args, out)
            if result is not None:
                out = result
        if state is not None:
            out = self._wrap_outputs(out, state)
        return out

    def _wrap_inputs(self, args: tuple):
        from ...autograd.grad_mode import is_grad_enabled

        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        state = _HookState(self, len(positions))
        wanted = [i for i in positions if args[i].requires_grad]
        if not is_grad_enabled():
            return args, None
        if wanted:
            state.inputs_wrapped = True
            slots = tuple(positions.index(i) for i in wanted)
            new = BackwardHookFunction.apply(state, "input", slots, len(positions),
                                             *[args[i] for i in wanted])
            args = list(args)
            for i, t in zip(wanted, new):
                args[i] = t
            args = tuple(args)
        return args, state

    def _wrap_outputs(self, out, state: _HookState):
        single = isinstance(out, Tensor)
        items = (out,) if single else out
        if not isinstance(items, (tuple, list)) or not all(isinstance(o, Tensor) for o in items):
            return out
        slots = tuple(i for i, o in enumerate(items) if o.requires_grad)
        if not slots:
            return out
        new = BackwardHookFunction.apply(state, "output", slots, len(items),
                                         *[items[i] for i in slots])
        items = list(items)
        for i, t in zip(slots, new):
            items[i] = t
        return items[0] if single else type(out)(items)

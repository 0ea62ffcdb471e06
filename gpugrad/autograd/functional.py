"""Higher-level derivatives of a function of tensors: ``vjp``, ``jvp``, ``jacobian``,
``hessian``, ``hvp``, ``vhp`` (``torch.autograd.functional``).

All are built on reverse mode (``autograd.grad``): a Jacobian is one backward pass per output
element, a Jacobian-vector product is the derivative of a vector-Jacobian product with respect
to its (dummy) vector, a Hessian is the Jacobian of the gradient. ``vectorize=True`` (which
PyTorch runs through vmap) computes the same numbers with the same loop; there is no
forward-mode AD, so ``strategy="forward-mode"`` raises ``NotImplementedError``.
"""

from __future__ import annotations

from .grad_mode import enable_grad

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]


def _tensor_cls():
    from ..tensor import Tensor

    return Tensor


def _as_tuple(value, arg_name: str, fn_name: str):
    """``(is_tuple, tuple of Tensors)``; a TypeError names anything else."""
    Tensor = _tensor_cls()
    is_tuple = isinstance(value, tuple)
    items = value if is_tuple else (value,)
    for i, item in enumerate(items):
        if not isinstance(item, Tensor):
            if is_tuple:
                raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a "
                                f"tuple of Tensors but the value at index {i} has type "
                                f"{type(item)}.")
            raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a "
                            f"tuple of Tensors but the given {arg_name} has type {type(item)}.")
    return is_tuple, items


def _as_tuple_list(value, arg_name: str, fn_name: str):
    """As ``_as_tuple``, also taking a list (the vectors ``v`` may come as lists)."""
    if isinstance(value, list):
        value = tuple(value)
    return _as_tuple(value, arg_name, fn_name)


def _unpack(items, is_tuple: bool):
    return items if is_tuple else items[0]


def _unpack_nested(items, outer_tuple: bool, inner_tuple: bool):
    """A Jacobian laid out as PyTorch's: ``items[i][j]`` for output i and input j, unwrapped
    where the function's output or input was a single Tensor."""
    if not inner_tuple:
        items = tuple(row[0] for row in items)
    return items if outer_tuple else items[0]


def _prepare_inputs(inputs, create_graph: bool):
    """Fresh leaves (or, under ``create_graph``, views that keep the inputs' history) that the
    function is run on and differentiated against."""
    out = []
    for x in inputs:
        if create_graph and x.requires_grad:
            out.append(x.view_as(x))
        else:
            out.append(x.detach().requires_grad_(True))
    return tuple(out)


def _finish(items, create_graph: bool):
    """What the caller gets: detached unless ``create_graph`` (then the graph is kept)."""
    if create_graph:
        return tuple(None if x is None else x for x in items)
    return tuple(None if x is None else x.detach() for x in items)


def _check_outputs(outputs, fn_name: str):
    Tensor = _tensor_cls()
    is_tuple = isinstance(outputs, tuple)
    items = outputs if is_tuple else (outputs,)
    for i, out in enumerate(items):
        if not isinstance(out, Tensor):
            if is_tuple:
                raise TypeError(f"The outputs of the user-provided function given to {fn_name} "
                                f"must be either a Tensor or a tuple of Tensors but the value at "
                                f"index {i} has type {type(out)}.")
            raise TypeError(f"The outputs of the user-provided function given to {fn_name} must "
                            f"be either a Tensor or a tuple of Tensors but the given outputs of "
                            f"the user-provided function has type {type(out)}.")
    return is_tuple, items


_NO_GRAD_MESSAGES = {
    "outputs": "Output {i} of the user-provided function does not require gradients. The "
               "outputs must be computed in a differentiable manner from the input when "
               "running in strict mode.",
    "grad_inputs": "The gradient with respect to input {i} is independent of the inputs of the "
                   "user-provided function. This is not allowed in strict mode.",
    "jacobian": "While computing the hessian, found that the jacobian of the user-provided "
                "function with respect to input {i} is independent of the input. This is not "
                "allowed in strict mode. You should ensure that your function is twice "
                "differentiable and that the jacobian depends on the inputs (this would be "
                "violated by a linear function for example).",
    "hessian": "The hessian of the user-provided function with respect to input {i} is "
               "independent of the input. This is not allowed in strict mode. You should "
               "ensure that your function is thrice differentiable and that the hessian "
               "depends on the inputs.",
}


def _check_requires_grad(items, kind: str, strict: bool) -> None:
    """Strict mode: each of ``items`` (outputs, or derivatives on the way to a higher one) must
    depend on the inputs; ``kind`` names which, in the error."""
    if not strict:
        return
    for i, item in enumerate(items):
        if item is None:
            raise RuntimeError(f"The output of the user-provided function is independent of "
                               f"input {i}. This is not allowed in strict mode.")
        if not item.requires_grad:
            raise RuntimeError(_NO_GRAD_MESSAGES[kind].format(i=i))


def _grads(outputs, inputs, grad_outputs, create_graph: bool, retain_graph: bool | None = None):
    """``autograd.grad`` of the outputs that require grad (None for inputs they do not reach)."""
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o is not None and o.requires_grad]
    if not pairs:
        return (None,) * len(inputs)
    from . import grad

    outs, gs = zip(*pairs)
    return grad(outs, inputs, gs, retain_graph=retain_graph, create_graph=create_graph,
                 allow_unused=True)


def _zeros_where_none(grads, refs, strict: bool, create_graph: bool, stage: str):
    from ..factories import zeros_like

    out = []
    for i, (g, ref) in enumerate(zip(grads, refs)):
        if g is None:
            if strict:
                messages = {
                    "back": f"The output of the user-provided function is independent of input "
                            f"{i}. This is not allowed in strict mode.",
                    "back_trick": f"The gradient with respect to the input is independent of "
                                  f"entry {i} in the grad_outputs when using the double backward "
                                  f"trick to compute forward mode gradients. This is not allowed "
                                  f"in strict mode.",
                    "double_back": f"The jacobian of the user-provided function is independent "
                                   f"of input {i}. This is not allowed in strict mode.",
                    "double_back_trick": f"The hessian of the user-provided function is "
                                         f"independent of entry {i} in the grad_jacobian. This "
                                         f"is not allowed in strict mode as it prevents from "
                                         f"using the double backward trick to replace forward "
                                         f"mode AD.",
                }
                raise RuntimeError(messages[stage])
            g = zeros_like(ref)
        elif strict and create_graph and not g.requires_grad:
            what = "hessian" if stage.startswith("double") else "jacobian"
            raise RuntimeError(
                f"The {what} of the user-provided function is independent of input "
                f"{i}. This is not allowed in strict mode when create_graph=True.")
        out.append(g)
    return tuple(out)


def _check_vectors(v, refs, fn_name: str, what: str = "inputs"):
    if len(v) != len(refs):
        raise RuntimeError(f"v is a tuple of invalid length: should be {len(refs)} but got "
                           f"{len(v)}.")
    for i, (a, b) in enumerate(zip(v, refs)):
        if a.shape != b.shape:
            raise RuntimeError(f"Entry {i} in v has invalid size: should be {b.shape} but got "
                               f"{a.shape}.")


def _default_vectors(refs, fn_name: str, what: str):
    from ..factories import ones_like

    if len(refs) != 1 or refs[0].numel() != 1:
        raise RuntimeError(f"The vector v can only be None if the {what} to the user-provided "
                           f"function is a single Tensor with a single element.")
    return (ones_like(refs[0]),)


def vjp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T J)``: the vector-Jacobian product of ``func`` at ``inputs``."""
    with enable_grad():
        in_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _prepare_inputs(inputs, create_graph)
        out_tuple, outputs = _check_outputs(func(*inputs), "vjp")
        _check_requires_grad(outputs, "outputs", strict)
        if v is not None:
            _, v = _as_tuple_list(v, "v", "vjp")
            _check_vectors(v, outputs, "vjp", "outputs")
        else:
            v = _default_vectors(outputs, "vjp", "outputs")
        grads = _grads(outputs, inputs, v, create_graph)
        grads = _zeros_where_none(grads, inputs, strict, create_graph, "back")
    return _unpack(_finish(outputs, create_graph), out_tuple), \
        _unpack(_finish(grads, create_graph), in_tuple)


def jvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), J v)``: the Jacobian-vector product, by the double backward trick."""
    from ..factories import zeros_like

    with enable_grad():
        in_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _prepare_inputs(inputs, create_graph)
        if v is not None:
            _, v = _as_tuple_list(v, "v", "jvp")
            _check_vectors(v, inputs, "jvp")
        else:
            v = _default_vectors(inputs, "jvp", "input")
        out_tuple, outputs = _check_outputs(func(*inputs), "jvp")
        _check_requires_grad(outputs, "outputs", strict)
        # u -> u^T J is linear in u; its gradient with respect to u, against v, is J v.
        dummies = tuple(zeros_like(o).requires_grad_(True) for o in outputs)
        grads = _grads(outputs, inputs, dummies, create_graph=True)
        _check_requires_grad(grads, "grad_inputs", strict)
        grads = _zeros_where_none(grads, inputs, False, create_graph, "back")
        products = _grads(grads, dummies, v, create_graph)
        products = _zeros_where_none(products, outputs, strict, create_graph, "back_trick")
    return _unpack(_finish(outputs, create_graph), out_tuple), \
        _unpack(_finish(products, create_graph), out_tuple)


def _check_strategy(vectorize: bool, strategy: str, name: str = "strategy"):
    if strategy not in ("forward-mode", "reverse-mode"):
        raise ValueError(f'Expected {name} to be either "forward-mode" or "reverse-mode". Hint: '
                         'If your function has more outputs than inputs, "forward-mode" tends '
                         'to be more performant. Otherwise, prefer to use "reverse-mode".')
    if strategy == "forward-mode":
        if not vectorize:
            raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-"
                                      "reverse Hessian is only implemented for `vectorize=True`.")
        raise NotImplementedError("gpugrad has no forward-mode AD: use strategy='reverse-mode' "
                                  "(the default), which gives the same Jacobian")


def _jacobian_rows(outputs, inputs, create_graph: bool, strict: bool):
    """For each output, for each input, ``d output / d input`` of shape out.shape + in.shape,
    one backward pass per output element."""
    from ..factories import zeros
    from ..ops.join import stack

    table = []
    for i, out in enumerate(outputs):
        flat = out.reshape(-1)
        per_input = [[] for _ in inputs]
        for k in range(flat.numel()):
            row = _grads((flat[k],), inputs, (None,), create_graph, retain_graph=True)
            for j, (g, x) in enumerate(zip(row, inputs)):
                if g is None:
                    if strict:
                        raise RuntimeError(
                            f"Output {i} of the user-provided function is independent of input "
                            f"{j}. This is not allowed in strict mode.")
                    g = zeros(x.shape, dtype=x.dtype, device=x.device)
                elif strict and create_graph and not g.requires_grad:
                    # (PyTorch's message gives the output's index here)
                    raise RuntimeError(
                        f"The jacobian of the user-provided function is independent of input "
                        f"{i}. This is not allowed in strict mode when create_graph=True.")
                per_input[j].append(g)
        cells = []
        for j, x in enumerate(inputs):
            if per_input[j]:
                cell = stack(per_input[j], 0).reshape(tuple(out.shape) + tuple(x.shape))
            else:  # an empty output
                cell = zeros(tuple(out.shape) + tuple(x.shape), dtype=x.dtype, device=x.device)
            cells.append(cell)
        table.append(_finish(cells, create_graph))
    return tuple(table)


def jacobian(func, inputs, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``: ``J[i][j]`` of shape ``outputs[i].shape +
    inputs[j].shape`` (unwrapped where the output or the input is a single Tensor)."""
    _check_strategy(vectorize, strategy)
    with enable_grad():
        in_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _prepare_inputs(inputs, create_graph)
        out_tuple, outputs = _check_outputs(func(*inputs), "jacobian")
        _check_requires_grad(outputs, "outputs", strict)
        if strict and vectorize:
            raise RuntimeError("torch.autograd.functional.jacobian: `strict=True` and "
                               "`vectorized=True` are not supported together. Please either "
                               "set `strict=False` or `vectorize=False`.")
        table = _jacobian_rows(outputs, inputs, create_graph, strict)
    return _unpack_nested(table, out_tuple, in_tuple)


def hessian(func, inputs, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode"):
    """The Hessian of the scalar function ``func`` at ``inputs``: ``H[i][j]`` of shape
    ``inputs[i].shape + inputs[j].shape``."""
    _check_strategy(vectorize, outer_jacobian_strategy, "outer_jacobian_strategy")
    in_tuple, items = _as_tuple(inputs, "inputs", "hessian")

    def gradient(*xs):
        out = _scalar_function(func, xs, "hessian", strict)
        g = _grads((out,), xs, (None,), create_graph=True)
        g = _zeros_where_none(g, xs, False, create_graph, "back")
        _check_requires_grad(g, "jacobian", strict)
        return g

    table = jacobian(gradient, items, create_graph=create_graph, strict=strict,
                     vectorize=vectorize)
    return _unpack_nested(table, in_tuple, in_tuple)


def _scalar_function(func, inputs, fn_name: str, strict: bool):
    out_tuple, outputs = _check_outputs(func(*inputs), fn_name)
    _check_requires_grad(outputs, "outputs", strict)
    _check_single_element(out_tuple, outputs, fn_name)
    return outputs[0]


def _check_single_element(is_tuple: bool, outputs, fn_name: str) -> None:
    if is_tuple and len(outputs) != 1:
        raise RuntimeError(f"The function given to {fn_name} should return a single Tensor")
    if outputs[0].numel() != 1:
        raise RuntimeError(f"The Tensor returned by the function given to {fn_name} should "
                           f"contain a single element")


def vhp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T H)``: a vector-Hessian product of the scalar function ``func``."""
    with enable_grad():
        in_tuple, inputs = _as_tuple(inputs, "inputs", "vhp")
        inputs = _prepare_inputs(inputs, create_graph)
        if v is not None:
            _, v = _as_tuple_list(v, "v", "vhp")
            _check_vectors(v, inputs, "vhp")
        else:
            v = _default_vectors(inputs, "vhp", "input")
        out = _scalar_function(func, inputs, "vhp", strict)
        jac = _grads((out,), inputs, (None,), create_graph=True)
        _check_requires_grad(jac, "jacobian", strict)
        jac = _zeros_where_none(jac, inputs, False, create_graph, "double_back")
        products = _grads(jac, inputs, v, create_graph)
        products = _zeros_where_none(products, inputs, strict, create_graph, "double_back")
    return _finish((out,), create_graph)[0], _unpack(_finish(products, create_graph), in_tuple)


def hvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), H v)``: a Hessian-vector product of the scalar function ``func`` (by
    the double backward trick)."""
    from ..factories import zeros_like

    with enable_grad():
        in_tuple, inputs = _as_tuple(inputs, "inputs", "hvp")
        inputs = _prepare_inputs(inputs, create_graph)
        if v is not None:
            _, v = _as_tuple_list(v, "v", "hvp")
            _check_vectors(v, inputs, "hvp")
        else:
            v = _default_vectors(inputs, "hvp", "input")
        out = _scalar_function(func, inputs, "hvp", strict)
        jac = _grads((out,), inputs, (None,), create_graph=True)
        _check_requires_grad(jac, "jacobian", strict)
        jac = _zeros_where_none(jac, inputs, False, create_graph, "double_back")
        dummies = tuple(zeros_like(x).requires_grad_(True) for x in inputs)
        grad_jac = _grads(jac, inputs, dummies, create_graph=True)
        grad_jac = _zeros_where_none(grad_jac, inputs, False, create_graph, "double_back")
        products = _grads(grad_jac, dummies, v, create_graph)
        products = _zeros_where_none(products, inputs, strict, create_graph,
                                     "double_back_trick")
    return _finish((out,), create_graph)[0], _unpack(_finish(products, create_graph), in_tuple)

"""``func.stack_module_state``: the parameters and buffers of several modules of one class,
stacked along a new leading dim, for running an ensemble with ``vmap`` over
``functional_call``."""

from __future__ import annotations

__all__ = ["stack_module_state"]


def stack_module_state(models) -> tuple[dict, dict]:
    """``(params, buffers)``: for each name of the first model's ``named_parameters`` and
    ``named_buffers``, the tensors of every model stacked (dim 0 is the model). The stacked
    parameters are new leaves (they require grad where the models' do), unrelated to the
    models' own, so an optimizer can train the ensemble through them."""
    from ..ops.join import stack

    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if len({m.training for m in models}) > 1:
        raise RuntimeError(
            "stack_module_state: Expected all models to have the same training/eval mode.")
    if any(type(m) is not type(models[0]) for m in models):
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")

    def stacked(named: list) -> dict:
        out = {}
        for name in named[0]:
            tensors = [entries[name] for entries in named]
            needs = {t.requires_grad for t in tensors}
            if len(needs) > 1:
                raise RuntimeError(f"Expected {name} from each model to have the same "
                                   ".requires_grad")
            joined = stack([t.detach() for t in tensors])
            out[name] = joined.requires_grad_() if needs == {True} else joined
        return out

    return (stacked([dict(m.named_parameters()) for m in models]),
            stacked([dict(m.named_buffers()) for m in models]))

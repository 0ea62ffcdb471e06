"""Model ensembling, per-sample gradients and Jacobians with ``torch.func``, and the pruning and
parametrization utilities of ``torch.nn.utils``, in the style of the code that readers of the
PyTorch tutorials on these subjects write.

Idioms, part one (``torch.func``): several small MLPs (``nn.Linear``/``F.relu`` and a
registered buffer) combined by ``torch.func.stack_module_state(models)`` into dicts of stacked
parameters and buffers; a stateless "base" copy made by ``copy.deepcopy(models[0]).to('meta')``
and run by ``torch.func.functional_call(base, (params, buffers), (x,))`` under
``torch.func.vmap(fmodel, in_dims=(0, 0, None))`` on one minibatch and under
``in_dims=(0, 0, 0)`` on one minibatch per model, each compared with a Python loop over the
models; per-sample gradients by ``vmap(grad(compute_loss), in_dims=(None, None, 0, 0))`` with
``{k: v.detach() for k, v in model.named_parameters()}`` and a loss that ``unsqueeze(0)``s the
single sample, compared with a loop of ``model.zero_grad()`` + ``loss.backward()`` per
sample, and the same with the logits returned as ``grad(..., has_aux=True)``'s auxiliary
output; ``torch.func.jacrev`` / ``jacfwd`` of an elementwise function (against the closed
form), ``jacrev(predict, argnums=2)`` of a ``F.linear``/``tanh`` layer with respect to its
input and its ``vmap``-batched form, and ``torch.func.hessian`` of a cubic (against the closed
form and ``jacfwd(jacrev(f))``); and training the ensemble by a hand-written SGD step
``{k: p - lr * grads[k] for k, p in params.items()}`` on ``torch.func.grad`` of the loss summed
over models (a ``vmap``-ed per-model loss), after which the stacked weights are loaded back
into the models by ``load_state_dict`` and the loop agrees with ``vmap`` again.

Idioms, part two (``torch.nn.utils``): ``prune.l1_unstructured(layer, name="weight",
amount=0.3)`` (``weight_orig`` in the parameters, ``weight_mask`` in the buffers, the forward
pre-hook, the smallest weights zeroed), ``prune.random_unstructured`` on a bias, iterative
pruning (a second ``l1_unstructured`` on the same weight), ``prune.global_unstructured(
parameters_to_prune, pruning_method=prune.L1Unstructured, amount=0.2)`` over the ``nn.Linear``
weights of an ``nn.Sequential``, a few SGD steps of training with the masks applied (the
pruned weights stay zero), ``prune.is_pruned`` and ``prune.remove`` (``prune`` and
``parametrize`` are imported as ``import torch.nn.utils.prune as prune`` is, through
``importlib`` on the passed module's name); and
``parametrize.register_parametrization`` with a user ``Symmetric`` module (``triu`` +
transposed strict ``triu``, and ``right_inverse``), ``layer.parametrizations.weight.original``,
assignment ``layer.weight = A + A.T`` under ``torch.no_grad()``, training that keeps
the weight symmetric, ``parametrize.cached()``, ``parametrize.remove_parametrizations(...,
leave_parametrized=True)``, and ``torch.nn.utils.parametrizations.orthogonal`` (``W W^T = I``
before and after a few Adam steps).

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import copy
import importlib
import math


def mlp_class(torch, in_features: int = 8, hidden: int = 16, n_classes: int = 3):
    """The class of a two-layer MLP with a (random) input-centering buffer."""
    nn, F = torch.nn, torch.nn.functional

    class SimpleMLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(in_features, hidden)
            self.fc2 = nn.Linear(hidden, n_classes)
            self.register_buffer("center", 0.1 * torch.randn(in_features))

        def forward(self, x):
            x = x.flatten(1) - self.center
            x = F.relu(self.fc1(x))
            return self.fc2(x)

    return SimpleMLP


def max_diff(torch, a, b) -> float:
    return (a.detach() - b.detach()).abs().max().item()


def make_data(torch, n: int, in_features: int, n_classes: int):
    """Inputs and labels from a fixed random linear teacher."""
    x = torch.randn(n, in_features)
    teacher = torch.randn(in_features, n_classes)
    y = (x @ teacher).argmax(dim=1)
    return x, y


def ensemble_part(torch, device, n_models, in_features, hidden, n_classes, batch,
                  train_steps, lr) -> dict:
    """Ensembling with ``stack_module_state`` + ``functional_call`` + ``vmap``, then training
    the stacked parameters with ``torch.func.grad`` and a hand-written SGD step."""
    F = torch.nn.functional
    functional_call, vmap = torch.func.functional_call, torch.func.vmap
    stack_module_state = torch.func.stack_module_state

    SimpleMLP = mlp_class(torch, in_features, hidden, n_classes)
    models = [SimpleMLP().to(device) for _ in range(n_models)]
    minibatch = torch.randn(batch, in_features, device=device)
    minibatches = torch.randn(n_models, batch, in_features, device=device)

    params, buffers = stack_module_state(models)
    base_model = copy.deepcopy(models[0])
    base_model = base_model.to("meta")

    def fmodel(params, buffers, x):
        return functional_call(base_model, (params, buffers), (x,))

    loop_same = torch.stack([model(minibatch) for model in models])
    vmap_same = vmap(fmodel, in_dims=(0, 0, None))(params, buffers, minibatch)
    loop_diff = torch.stack([model(mb) for model, mb in zip(models, minibatches)])
    vmap_diff = vmap(fmodel, in_dims=(0, 0, 0))(params, buffers, minibatches)

    # training the ensemble: one summed loss, torch.func.grad, a hand-written SGD step
    x_train, y_train = make_data(torch, 4 * batch, in_features, n_classes)
    x_train, y_train = x_train.to(device), y_train.to(device)

    def model_loss(params, buffers, x, y):
        return F.cross_entropy(fmodel(params, buffers, x), y)

    def ensemble_loss(params, buffers, x, y):
        losses = vmap(model_loss, in_dims=(0, 0, None, None))(params, buffers, x, y)
        return losses.sum()

    per_model = vmap(model_loss, in_dims=(0, 0, None, None))
    initial_losses = per_model(params, buffers, x_train, y_train).tolist()
    history = []
    grad_fn = torch.func.grad(ensemble_loss)
    for _ in range(train_steps):
        grads = grad_fn(params, buffers, x_train, y_train)
        params = {k: p - lr * grads[k] for k, p in params.items()}
        history.append(ensemble_loss(params, buffers, x_train, y_train).item())
    final_losses = per_model(params, buffers, x_train, y_train).tolist()

    # unstack the trained weights into the models; the loop agrees with vmap again
    for i, model in enumerate(models):
        state = {k: v[i] for k, v in params.items()}
        state.update({k: v[i] for k, v in buffers.items()})
        model.load_state_dict(state)
    with torch.no_grad():
        loop_trained = torch.stack([model(x_train) for model in models])
        vmap_trained = vmap(fmodel, in_dims=(0, 0, None))(params, buffers, x_train)

    return {
        "n_params": len(params), "n_buffers": len(buffers),
        "stacked_shapes": {k: tuple(v.shape) for k, v in params.items()},
        "stacked_requires_grad": all(v.requires_grad for v in stack_module_state(models)[0]
                                     .values()),
        "base_device": next(base_model.parameters()).device.type,
        "ensemble_same_shape": tuple(vmap_same.shape),
        "ensemble_same_diff": max_diff(torch, vmap_same, loop_same),
        "ensemble_diff_shape": tuple(vmap_diff.shape),
        "ensemble_diff_diff": max_diff(torch, vmap_diff, loop_diff),
        "initial_loss": sum(initial_losses), "final_loss": sum(final_losses),
        "initial_losses": initial_losses, "final_losses": final_losses,
        "history": history, "trained_diff": max_diff(torch, vmap_trained, loop_trained),
    }


def per_sample_part(torch, device, in_features, hidden, n_classes, batch) -> dict:
    """Per-sample gradients by ``vmap(grad(compute_loss))`` against a ``backward`` loop."""
    F = torch.nn.functional
    functional_call, grad, vmap = torch.func.functional_call, torch.func.grad, torch.func.vmap

    model = mlp_class(torch, in_features, hidden, n_classes)().to(device)
    data, targets = make_data(torch, batch, in_features, n_classes)
    data, targets = data.to(device), targets.to(device)

    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def compute_loss(params, buffers, sample, target):
        batch = sample.unsqueeze(0)
        targets = target.unsqueeze(0)
        predictions = functional_call(model, (params, buffers), (batch,))
        return F.cross_entropy(predictions, targets)

    ft_compute_grad = grad(compute_loss)
    ft_compute_sample_grad = vmap(ft_compute_grad, in_dims=(None, None, 0, 0))
    ft_per_sample_grads = ft_compute_sample_grad(params, buffers, data, targets)

    def compute_grad(sample, target):
        model.zero_grad()
        loss = F.cross_entropy(model(sample.unsqueeze(0)), target.unsqueeze(0))
        loss.backward()
        return [p.grad.detach().clone() for p in model.parameters()]

    sample_grads = [compute_grad(data[i], targets[i]) for i in range(batch)]
    sample_grads = [torch.stack(shards) for shards in zip(*sample_grads)]

    names = [name for name, _ in model.named_parameters()]
    diffs = {name: max_diff(torch, ft_per_sample_grads[name], g)
             for name, g in zip(names, sample_grads)}
    # the mean of the per-sample gradients is the minibatch gradient
    model.zero_grad()
    F.cross_entropy(model(data), targets).backward()
    mean_diff = max(max_diff(torch, ft_per_sample_grads[name].mean(0), p.grad)
                    for name, p in model.named_parameters())

    # the same with the logits returned alongside, as ``has_aux``
    def compute_loss_and_logits(params, buffers, sample, target):
        predictions = functional_call(model, (params, buffers), (sample.unsqueeze(0),))
        return F.cross_entropy(predictions, target.unsqueeze(0)), predictions.squeeze(0)

    aux_grads, aux_logits = vmap(grad(compute_loss_and_logits, has_aux=True),
                                 in_dims=(None, None, 0, 0))(params, buffers, data, targets)
    with torch.no_grad():
        logits = model(data)
    return {"per_sample_shapes": {k: tuple(v.shape) for k, v in ft_per_sample_grads.items()},
            "per_sample_diffs": diffs, "per_sample_mean_diff": mean_diff,
            "aux_grad_diff": max(max_diff(torch, aux_grads[k], v)
                                 for k, v in ft_per_sample_grads.items()),
            "aux_logits_diff": max_diff(torch, aux_logits, logits),
            "aux_requires_grad": aux_logits.requires_grad,
            "per_sample_grad_is_leafless": not any(v.requires_grad
                                                   for v in ft_per_sample_grads.values())}


def jacobian_part(torch, device) -> dict:
    """``jacrev`` / ``jacfwd`` / ``hessian`` of small functions against closed forms."""
    F = torch.nn.functional
    hessian, jacfwd, jacrev, vmap = (torch.func.hessian, torch.func.jacfwd, torch.func.jacrev,
                                     torch.func.vmap)

    x = torch.randn(5, device=device)

    def f(x):
        return x.sin() * x.sum()

    expected = torch.diag(x.cos() * x.sum()) + x.sin().unsqueeze(1) * torch.ones(5, 5)
    jac_rev = jacrev(f)(x)
    jac_fwd = jacfwd(f)(x)

    D = 4
    weight = torch.randn(D, D, device=device)
    bias = torch.randn(D, device=device)
    xs = torch.randn(6, D, device=device)

    def predict(weight, bias, x):
        return F.linear(x, weight, bias).tanh()

    jac_x = jacrev(predict, argnums=2)(weight, bias, xs[0])
    y0 = predict(weight, bias, xs[0])
    expected_x = (1 - y0 ** 2).unsqueeze(1) * weight
    jac_x_fwd = jacfwd(predict, argnums=2)(weight, bias, xs[0])
    batched = vmap(jacrev(predict, argnums=2), in_dims=(None, None, 0))(weight, bias, xs)
    rows = torch.stack([jacrev(predict, argnums=2)(weight, bias, xi) for xi in xs])
    jac_w, jac_b = jacrev(predict, argnums=(0, 1))(weight, bias, xs[0])

    def g(x):
        return (x ** 3).sum() + x[0] * x[1]

    z = torch.randn(3, device=device)
    hess = hessian(g)(z)
    expected_h = torch.diag(6 * z)
    expected_h[0, 1] += 1
    expected_h[1, 0] += 1
    hess_fr = jacfwd(jacrev(g))(z)
    return {
        "jac_shape": tuple(jac_rev.shape), "jacrev_err": max_diff(torch, jac_rev, expected),
        "jacfwd_err": max_diff(torch, jac_fwd, expected),
        "jac_x_shape": tuple(jac_x.shape), "jac_x_err": max_diff(torch, jac_x, expected_x),
        "jac_x_fwd_err": max_diff(torch, jac_x_fwd, expected_x),
        "batched_shape": tuple(batched.shape), "batched_err": max_diff(torch, batched, rows),
        "jac_w_shape": tuple(jac_w.shape), "jac_b_shape": tuple(jac_b.shape),
        "jac_b_err": max_diff(torch, jac_b, torch.diag(1 - y0 ** 2)),
        "hessian_shape": tuple(hess.shape), "hessian_err": max_diff(torch, hess, expected_h),
        "hessian_fr_err": max_diff(torch, hess_fr, expected_h),
    }


def sparsity(torch, tensor) -> float:
    return float(torch.sum(tensor == 0)) / float(tensor.nelement())


def prune_part(torch, device, in_features, hidden, n_classes, batch, prune_steps) -> dict:
    """``l1_unstructured``, ``random_unstructured``, iterative and global pruning, training
    with the masks, ``prune.remove``."""
    nn, F = torch.nn, torch.nn.functional
    # ``import torch.nn.utils.prune as prune``, for whichever library ``torch`` is
    prune = importlib.import_module(f"{torch.__name__}.nn.utils.prune")
    out = {}

    layer = nn.Linear(in_features, hidden).to(device)
    original = layer.weight.detach().clone()
    prune.l1_unstructured(layer, name="weight", amount=0.3)
    out["l1_param_names"] = sorted(name for name, _ in layer.named_parameters())
    out["l1_buffer_names"] = sorted(name for name, _ in layer.named_buffers())
    out["l1_sparsity"] = sparsity(torch, layer.weight)
    out["l1_mask_sparsity"] = sparsity(torch, layer.weight_mask)
    out["weight_is_orig_times_mask"] = max_diff(torch, layer.weight,
                                                layer.weight_orig * layer.weight_mask)
    out["weight_orig_unchanged"] = max_diff(torch, layer.weight_orig, original)
    hooks = list(layer._forward_pre_hooks.values())
    out["l1_hooks"] = [type(h).__name__ for h in hooks]
    pruned = original.abs()[layer.weight_mask == 0]
    kept = original.abs()[layer.weight_mask == 1]
    out["l1_prunes_smallest"] = bool(pruned.max() <= kept.min())

    prune.random_unstructured(layer, name="bias", amount=0.5)
    out["bias_sparsity"] = sparsity(torch, layer.bias)
    # iterative pruning: a second 30% of what is left
    prune.l1_unstructured(layer, name="weight", amount=0.3)
    out["iterative_sparsity"] = sparsity(torch, layer.weight)
    out["iterative_hook"] = type(layer._forward_pre_hooks[
        next(k for k, h in layer._forward_pre_hooks.items()
             if getattr(h, "_tensor_name", None) == "weight")]).__name__

    model = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(),
                          nn.Linear(hidden, hidden), nn.ReLU(),
                          nn.Linear(hidden, n_classes)).to(device)
    parameters_to_prune = [(m, "weight") for m in model if isinstance(m, nn.Linear)]
    prune.global_unstructured(parameters_to_prune, pruning_method=prune.L1Unstructured,
                              amount=0.2)
    total = sum(m.weight.nelement() for m, _ in parameters_to_prune)
    zeros = sum(float(torch.sum(m.weight == 0)) for m, _ in parameters_to_prune)
    out["global_sparsity"] = zeros / total
    out["global_expected"] = round(0.2 * total) / total
    out["layer_sparsities"] = [sparsity(torch, m.weight) for m, _ in parameters_to_prune]
    out["is_pruned"] = prune.is_pruned(model)
    masks = [m.weight_mask.clone() for m, _ in parameters_to_prune]

    x, y = make_data(torch, 4 * batch, in_features, n_classes)
    x, y = x.to(device), y.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for _ in range(prune_steps):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    out["prune_losses"] = losses
    out["masked_grads_zero"] = all(
        float(m.weight_orig.grad[mask == 0].abs().sum()) == 0.0
        for (m, _), mask in zip(parameters_to_prune, masks))
    out["sparsity_after_training"] = [sparsity(torch, m.weight) for m, _ in parameters_to_prune]

    for module, name in parameters_to_prune:
        prune.remove(module, name)
    first = model[0]
    out["removed_param_names"] = sorted(name for name, _ in first.named_parameters())
    out["removed_buffer_names"] = sorted(name for name, _ in first.named_buffers())
    out["removed_hooks"] = len(first._forward_pre_hooks)
    out["is_pruned_after_remove"] = prune.is_pruned(model)
    out["sparsity_after_remove"] = [sparsity(torch, m.weight) for m, _ in parameters_to_prune]
    out["weight_is_parameter"] = isinstance(first.weight, nn.Parameter)
    return out


def parametrize_part(torch, device, steps) -> dict:
    """``register_parametrization`` with a user module and ``parametrizations.orthogonal``."""
    nn = torch.nn
    parametrize = importlib.import_module(f"{torch.__name__}.nn.utils.parametrize")
    out = {}

    class Symmetric(nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).transpose(-1, -2)

        def right_inverse(self, A):
            return A.triu()

    layer = nn.Linear(5, 5).to(device)
    parametrize.register_parametrization(layer, "weight", Symmetric())
    out["is_parametrized"] = parametrize.is_parametrized(layer)
    out["is_parametrized_weight"] = parametrize.is_parametrized(layer, "weight")
    out["sym_param_names"] = sorted(name for name, _ in layer.named_parameters())
    out["sym_err"] = max_diff(torch, layer.weight, layer.weight.T)
    original = layer.parametrizations.weight.original
    out["sym_matches_original"] = max_diff(
        torch, layer.weight, original.triu() + original.triu(1).T)

    x = torch.randn(32, 5, device=device)
    target = torch.randn(32, 5, device=device)
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.05)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = ((layer(x) - target) ** 2).mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    out["sym_losses"] = losses
    out["sym_err_after"] = max_diff(torch, layer.weight, layer.weight.T)
    out["original_has_grad"] = original.grad is not None
    with parametrize.cached():
        out["cached_same_object"] = layer.weight is layer.weight
    # assigning to the parametrized weight goes through ``right_inverse``
    A = torch.randn(5, 5, device=device)
    with torch.no_grad():
        layer.weight = A + A.T
    out["assigned_err"] = max_diff(torch, layer.weight, A + A.T)
    parametrize.remove_parametrizations(layer, "weight", leave_parametrized=True)
    out["sym_names_after_remove"] = sorted(name for name, _ in layer.named_parameters())
    out["sym_err_after_remove"] = max_diff(torch, layer.weight, layer.weight.T)

    orth = torch.nn.utils.parametrizations.orthogonal(nn.Linear(6, 6)).to(device)
    eye = torch.eye(6, device=device)
    out["orth_err"] = max_diff(torch, orth.weight @ orth.weight.T, eye)
    x = torch.randn(32, 6, device=device)
    target = torch.randn(32, 6, device=device)
    optimizer = torch.optim.Adam(orth.parameters(), lr=1e-2)
    orth_losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = ((orth(x) - target) ** 2).mean()
        loss.backward()
        optimizer.step()
        orth_losses.append(loss.item())
    out["orth_losses"] = orth_losses
    out["orth_err_after"] = max_diff(torch, orth.weight @ orth.weight.T, eye)
    out["orth_param_names"] = sorted(name for name, _ in orth.named_parameters())
    return out


def main(torch, n_models: int = 4, in_features: int = 8, hidden: int = 16,
         n_classes: int = 3, batch: int = 16, train_steps: int = 30, lr: float = 0.5,
         prune_steps: int = 10, seed: int = 0) -> dict:
    """Part one (``torch.func``) and part two (pruning, parametrizations); returns the
    differences from the loops and closed forms, sparsities and losses."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(seed)
    result = {}
    result.update(ensemble_part(torch, device, n_models, in_features, hidden, n_classes,
                                batch, train_steps, lr))
    result.update(per_sample_part(torch, device, in_features, hidden, n_classes, batch))
    result.update(jacobian_part(torch, device))
    result.update(prune_part(torch, device, in_features, hidden, n_classes, batch,
                             prune_steps))
    result.update(parametrize_part(torch, device, prune_steps))
    result["chance_loss"] = n_models * math.log(n_classes)
    return result


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", default="gpugrad", choices=("gpugrad", "torch"))
    args = parser.parse_args()
    print(main(importlib.import_module(args.lib)))

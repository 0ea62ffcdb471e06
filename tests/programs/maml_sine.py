"""Model-agnostic meta-learning (MAML) on sine-wave regression, in the style of public PyTorch
MAML code: each task is a sine wave (amplitude 0.1-5, phase 0-pi, x in [-5, 5]) seen through
K=10 support points and K=10 query points. The network's ``forward`` takes an optional
``OrderedDict`` of "fast weights" and applies ``F.linear``/``F.relu`` by hand; the inner loop
takes ``torch.autograd.grad`` of the support loss with ``create_graph=True`` (second order) and
builds the fast weights as an ``OrderedDict`` of ``w - inner_lr * g``; the first-order variant
builds a list by ``map``/``lambda`` from ``create_graph=False`` gradients and ``.detach()``s
them; a third variant runs the network through ``torch.func.functional_call`` with
``dict(model.named_parameters())``, and a fourth, as functorch's MAML example does, takes the
inner gradient by ``torch.func.grad`` and ``torch.func.vmap``s the task loss over the stacked
meta-batch. The query losses of a meta-batch are ``torch.stack``ed and averaged, Adam steps
the meta-parameters, and evaluation measures the query MSE before and after one adaptation
step under ``torch.no_grad()`` (the adaptation itself under ``torch.enable_grad()``).

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

VARIANTS = ("second_order", "first_order", "functional_call", "vmap")
K = 10


def sample_tasks(rng, n_tasks: int, k: int = K, dtype=np.float32):
    """``n_tasks`` sine tasks as NumPy arrays: support x, y and query x, y, each (k, 1)."""
    tasks = []
    for _ in range(n_tasks):
        amplitude = rng.uniform(0.1, 5.0)
        phase = rng.uniform(0.0, np.pi)
        x = rng.uniform(-5.0, 5.0, size=(2 * k, 1))
        y = amplitude * np.sin(x - phase)
        tasks.append(tuple(a.astype(dtype) for a in (x[:k], y[:k], x[k:], y[k:])))
    return tasks


def build_model(torch, hidden: int = 40):
    nn, F = torch.nn, torch.nn.functional

    class SineNet(nn.Module):
        """1 -> hidden -> hidden -> 1; ``params`` replaces the module's own weights."""

        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(OrderedDict([
                ("l1", nn.Linear(1, hidden)), ("relu1", nn.ReLU()),
                ("l2", nn.Linear(hidden, hidden)), ("relu2", nn.ReLU()),
                ("l3", nn.Linear(hidden, 1)),
            ]))

        def forward(self, x, params=None):
            if params is None:
                return self.net(x)
            x = F.relu(F.linear(x, params["net.l1.weight"], params["net.l1.bias"]))
            x = F.relu(F.linear(x, params["net.l2.weight"], params["net.l2.bias"]))
            return F.linear(x, params["net.l3.weight"], params["net.l3.bias"])

    return SineNet()


def adapt(torch, model, x, y, variant: str, inner_lr: float, steps: int = 1,
          create_graph: bool = True):
    """The fast weights after ``steps`` gradient steps on the support set (x, y), and the
    function that runs the model with them."""
    F = torch.nn.functional
    if variant == "functional_call":
        params = dict(model.named_parameters())

        def run(p, inputs):
            return torch.func.functional_call(model, p, (inputs,))

        for _ in range(steps):
            loss = F.mse_loss(run(params, x), y)
            grads = torch.autograd.grad(loss, params.values(), create_graph=create_graph)
            params = {name: w - inner_lr * g for (name, w), g in zip(params.items(), grads)}
        return params, run

    def run(p, inputs):
        return model(inputs, p)

    names = [name for name, _ in model.named_parameters()]
    if variant == "first_order":
        fast_weights = list(model.parameters())
        for _ in range(steps):
            loss = F.mse_loss(model(x, OrderedDict(zip(names, fast_weights))), y)
            grads = torch.autograd.grad(loss, fast_weights)
            grads = [g.detach() for g in grads]
            fast_weights = list(map(lambda p: p[1] - inner_lr * p[0], zip(grads, fast_weights)))
        return OrderedDict(zip(names, fast_weights)), run

    fast_weights = OrderedDict(model.named_parameters())
    for _ in range(steps):
        loss = F.mse_loss(model(x, fast_weights), y)
        grads = torch.autograd.grad(loss, fast_weights.values(), create_graph=create_graph)
        fast_weights = OrderedDict(
            (name, param - inner_lr * grad)
            for ((name, param), grad) in zip(fast_weights.items(), grads))
    return fast_weights, run


def meta_loss(torch, model, tasks, variant: str, inner_lr: float, inner_steps: int = 1):
    """The meta-batch's mean query loss after adapting to each task's support set."""
    F = torch.nn.functional
    if variant == "vmap":
        def inner_loss(params, x, y):
            return F.mse_loss(torch.func.functional_call(model, params, (x,)), y)

        def task_loss(params, x_s, y_s, x_q, y_q):
            for _ in range(inner_steps):
                grads = torch.func.grad(inner_loss)(params, x_s, y_s)
                params = {k: params[k] - inner_lr * grads[k] for k in params}
            return inner_loss(params, x_q, y_q)

        x_s, y_s, x_q, y_q = (torch.from_numpy(np.stack(a)) for a in zip(*tasks))
        params = dict(model.named_parameters())
        return torch.func.vmap(task_loss, in_dims=(None, 0, 0, 0, 0))(
            params, x_s, y_s, x_q, y_q).mean()
    task_losses = []
    for x_s, y_s, x_q, y_q in tasks:
        x_s, y_s, x_q, y_q = (torch.from_numpy(a) for a in (x_s, y_s, x_q, y_q))
        fast, run = adapt(torch, model, x_s, y_s, variant, inner_lr, inner_steps,
                          create_graph=variant != "first_order")
        task_losses.append(F.mse_loss(run(fast, x_q), y_q))
    return torch.stack(task_losses).mean()


def evaluate(torch, model, tasks, inner_lr: float, inner_steps: int = 1):
    """Mean query MSE over ``tasks`` before and after adapting on each support set."""
    F = torch.nn.functional
    model.eval()
    pre, post = [], []
    for x_s, y_s, x_q, y_q in tasks:
        x_s, y_s, x_q, y_q = (torch.from_numpy(a) for a in (x_s, y_s, x_q, y_q))
        with torch.no_grad():
            pre.append(F.mse_loss(model(x_q), y_q).item())
            with torch.enable_grad():
                fast, _ = adapt(torch, model, x_s, y_s, "second_order", inner_lr,
                                inner_steps, create_graph=False)
            post.append(F.mse_loss(model(x_q, fast), y_q).item())
    model.train()
    return float(np.mean(pre)), float(np.mean(post))


def meta_gradients(torch, model, tasks, variant: str = "second_order", inner_lr: float = 0.01,
                   inner_steps: int = 2):
    """One meta-gradient: each parameter's ``.grad`` after ``meta_loss.backward()``, by name."""
    model.zero_grad()
    loss = meta_loss(torch, model, tasks, variant, inner_lr, inner_steps)
    loss.backward()
    return loss.item(), {name: p.grad for name, p in model.named_parameters()}


def main(torch, variant: str = "second_order", meta_steps: int = 250, meta_batch: int = 4,
         inner_lr: float = 0.01, meta_lr: float = 1e-2, hidden: int = 40,
         initial_state=None, seed: int = 0) -> dict:
    """Meta-train for ``meta_steps`` steps (from ``initial_state``, a state_dict, if given);
    returns the held-out tasks' query MSE before (``pre``) and after (``post``) one adaptation
    step, before and after meta-training. (Published MAML runs Adam at 1e-3 for tens of
    thousands of steps; 1e-2 shows the effect in a few hundred.)"""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    test_tasks = sample_tasks(np.random.default_rng(seed + 1000), 25)
    model = build_model(torch, hidden)
    if initial_state is not None:
        model.load_state_dict(initial_state)
    meta_optimizer = torch.optim.Adam(model.parameters(), lr=meta_lr)

    initial_pre, initial_post = evaluate(torch, model, test_tasks, inner_lr)
    losses = []
    for _ in range(meta_steps):
        tasks = sample_tasks(rng, meta_batch)
        loss = meta_loss(torch, model, tasks, variant, inner_lr)
        meta_optimizer.zero_grad()
        loss.backward()
        meta_optimizer.step()
        losses.append(loss.item())
    final_pre, final_post = evaluate(torch, model, test_tasks, inner_lr)
    return {"initial_pre": initial_pre, "initial_post": initial_post,
            "final_pre": final_pre, "final_post": final_post,
            "initial_loss": initial_post, "final_loss": final_post,
            "first_meta_loss": float(np.mean(losses[:25])),
            "last_meta_loss": float(np.mean(losses[-25:])),
            "grads_set": all(p.grad is not None for p in model.parameters())}


if __name__ == "__main__":
    import argparse
    import importlib

    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", default="gpugrad", choices=("gpugrad", "torch"))
    parser.add_argument("--variant", default="second_order", choices=VARIANTS)
    parser.add_argument("--meta-steps", type=int, default=250)
    args = parser.parse_args()
    print(main(importlib.import_module(args.lib), args.variant, args.meta_steps))

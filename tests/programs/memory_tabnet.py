"""Two models with hand-written machinery, in the styles of public PyTorch code.

(1) A Neural Turing Machine on the copy task (random bit sequences of length 3 to 5 and width
4, followed by a delimiter bit, to be played back once the input stops). An ``nn.LSTMCell``
controller; an ``N x M`` memory kept as a plain tensor and rewritten every step by erase/add,
either batched (``torch.bmm`` of ``w.unsqueeze(-1)`` with ``e.unsqueeze(1)``) or row by row
with ``torch.outer`` and ``torch.stack``; content addressing by
``F.cosine_similarity(memory, key.unsqueeze(1), dim=-1)`` sharpened by ``F.softplus`` beta and
``F.softmax``; a ``torch.sigmoid`` interpolation gate; a 3-tap circular shift written either
with ``torch.roll`` or with ``torch.cat([w[:, -1:], w, w[:, :1]], 1)`` and a grouped
``F.conv1d`` (one kernel per batch row); sharpening ``w ** gamma / (w ** gamma).sum(-1,
keepdim=True)``; reads by ``torch.matmul(w.unsqueeze(1), memory).squeeze(1)``; the memory
reset from a ``register_buffer`` bias set by ``nn.init.uniform_``, and learned initial
controller state and read vector (``nn.Parameter`` expanded with ``repeat``/``expand``);
``torch.nn.utils.clip_grad_value_`` or ``clip_grad_norm_``, ``optim.RMSprop(momentum=0.9,
alpha=0.95)``, ``F.binary_cross_entropy_with_logits`` and the bit error counted by
``(out.sigmoid() > 0.5).float().ne(target).sum().item()``.

(2) TabNet-lite on a made-up tabular task: sparsemax written by hand (``torch.sort(z,
descending=True)``, ``cumsum``, ``torch.arange(1, d + 1)``, a comparison, a ``sum(dim=-1,
keepdim=True)`` for the support size, ``gather`` of tau, ``torch.clamp(z - tau, min=0)``) as
a ``torch.autograd.Function`` with its own backward (``ctx.save_for_backward``,
``ctx.saved_tensors``, ``ctx.needs_input_grad``, ``None`` for the non-tensor argument);
ghost batch norm (``x.chunk(n_chunks, 0)``, each chunk through one
``nn.BatchNorm1d(momentum=0.02)``, ``torch.cat``); GLU blocks (``nn.Linear(bias=False)``,
ghost BN, ``F.glu(x, dim=-1)``, residuals scaled by ``math.sqrt(0.5)``) shared across steps
and per step; the attentive transformer with prior scales updated by ``prior = prior * (gamma
- mask)``; the sparsity regularizer ``torch.mean(torch.sum(-mask * torch.log(mask + 1e-10),
dim=1))``; ``nn.Embedding`` for the categorical columns; ``optim.Adam`` with
``lr_scheduler.StepLR``; ``TensorDataset`` + ``DataLoader(shuffle=True, drop_last=True)``.

Written once against the module ``torch`` passed to the functions: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import math

import numpy as np

WIDTH = 4  # bits per copy-task vector
MIN_LEN, MAX_LEN = 3, 5

# ---------------------------------------------------------------------------------------
# Neural Turing Machine


def copy_batch(rng, batch: int, length: int, width: int = WIDTH):
    """The copy task: inputs ``(length + 1, batch, width + 1)`` (the bits, then a step with
    only the delimiter channel on) and targets ``(length, batch, width)``."""
    seq = rng.integers(0, 2, (length, batch, width)).astype(np.float32)
    inp = np.zeros((length + 1, batch, width + 1), dtype=np.float32)
    inp[:length, :, :width] = seq
    inp[length, :, width] = 1.0
    return inp, seq


def build_ntm(torch, width: int = WIDTH, hidden: int = 32, n: int = 16, m: int = 8,
              shift_mode: str = "roll", write_mode: str = "bmm"):
    nn = torch.nn
    F = torch.nn.functional

    class NTMHead(nn.Module):
        """Addressing shared by the read and the write head: the controller state is mapped
        to (key, beta, g, shift, gamma) and, for writing, (erase, add)."""

        def __init__(self, is_write: bool):
            super().__init__()
            self.is_write = is_write
            self.sizes = [m, 1, 1, 3, 1] + ([m, m] if is_write else [])
            self.fc = nn.Linear(hidden, sum(self.sizes))
            nn.init.xavier_uniform_(self.fc.weight, gain=1.4)
            nn.init.normal_(self.fc.bias, std=0.01)

        def split(self, h):
            return torch.split(self.fc(h), self.sizes, dim=1)

        def address(self, memory, w_prev, key, beta, g, s, gamma):
            key = torch.tanh(key)
            beta = F.softplus(beta)
            g = torch.sigmoid(g)
            s = F.softmax(s, dim=1)
            gamma = 1 + F.softplus(gamma)
            # content addressing
            sim = F.cosine_similarity(memory + 1e-16, key.unsqueeze(1) + 1e-16, dim=-1)
            wc = F.softmax(beta * sim, dim=1)
            # interpolation
            wg = g * wc + (1 - g) * w_prev
            # circular convolution with the 3-tap shift
            if shift_mode == "roll":
                ws = (s[:, 0:1] * torch.roll(wg, 1, dims=1) + s[:, 1:2] * wg
                      + s[:, 2:3] * torch.roll(wg, -1, dims=1))
            else:
                padded = torch.cat([wg[:, -1:], wg, wg[:, :1]], 1)
                batch = wg.size(0)
                ws = F.conv1d(padded.unsqueeze(0), s.unsqueeze(1), groups=batch).squeeze(0)
            # sharpening
            w = ws ** gamma
            return w / w.sum(-1, keepdim=True)

    class NTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.n, self.m = n, m
            self.controller = nn.LSTMCell(width + 1 + m, hidden)
            self.read_head = NTMHead(False)
            self.write_head = NTMHead(True)
            self.fc_out = nn.Linear(hidden + m, width)
            self.register_buffer("mem_bias", torch.Tensor(n, m))
            stdev = 1 / math.sqrt(n + m)
            nn.init.uniform_(self.mem_bias, -stdev, stdev)
            self.h_bias = nn.Parameter(torch.randn(1, hidden) * 0.05)
            self.c_bias = nn.Parameter(torch.randn(1, hidden) * 0.05)
            self.read_bias = nn.Parameter(torch.randn(1, m) * 0.01)

        def init_state(self, batch: int):
            memory = self.mem_bias.clone().repeat(batch, 1, 1)
            h = self.h_bias.repeat(batch, 1)
            c = self.c_bias.expand(batch, -1)
            read = self.read_bias.clone().repeat(batch, 1)
            w_read = memory.new_zeros(batch, self.n)
            w_write = memory.new_zeros(batch, self.n)
            return memory, (h, c), read, w_read, w_write

        def write(self, memory, w, e, a):
            e, a = torch.sigmoid(e), torch.tanh(a)
            if write_mode == "bmm":
                erase = torch.bmm(w.unsqueeze(-1), e.unsqueeze(1))
                add = torch.bmm(w.unsqueeze(-1), a.unsqueeze(1))
                return memory * (1 - erase) + add
            rows = [memory[b] * (1 - torch.outer(w[b], e[b])) + torch.outer(w[b], a[b])
                    for b in range(memory.size(0))]
            return torch.stack(rows)

        def step(self, x, state):
            memory, (h, c), read, w_read, w_write = state
            h, c = self.controller(torch.cat([x, read], dim=1), (h, c))
            # read from the memory as it stands, then write
            rk, rb, rg, rs, rgm = self.read_head.split(h)
            w_read = self.read_head.address(memory, w_read, rk, rb, rg, rs, rgm)
            read = torch.matmul(w_read.unsqueeze(1), memory).squeeze(1)
            wk, wb, wg, ws, wgm, e, a = self.write_head.split(h)
            w_write = self.write_head.address(memory, w_write, wk, wb, wg, ws, wgm)
            memory = self.write(memory, w_write, e, a)
            out = self.fc_out(torch.cat([h, read], dim=1))
            return out, (memory, (h, c), read, w_read, w_write)

        def forward(self, inp, out_len: int):
            """``inp`` is ``(T, B, width + 1)``; returns logits ``(out_len, B, width)``."""
            state = self.init_state(inp.size(1))
            for t in range(inp.size(0)):
                _, state = self.step(inp[t], state)
            blank = inp.new_zeros(inp.size(1), inp.size(2))
            outs = []
            for _ in range(out_len):
                y, state = self.step(blank, state)
                outs.append(y)
            return torch.stack(outs)

    return NTM()


def ntm_step(torch, model, optimizer, inp, target, clip: str = "value"):
    """One update on one batch: returns the loss and the number of wrong bits."""
    F = torch.nn.functional
    optimizer.zero_grad()
    out = model(inp, target.size(0))
    loss = F.binary_cross_entropy_with_logits(out, target)
    loss.backward()
    if clip == "value":
        torch.nn.utils.clip_grad_value_(model.parameters(), 10)
    else:
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
    optimizer.step()
    errors = (out.sigmoid() > 0.5).float().ne(target).sum().item()
    return loss.item(), errors


def train_ntm(torch, steps: int = 30, batch: int = 16, seed: int = 0, lr: float = 3e-3,
              shift_mode: str = "roll", write_mode: str = "bmm", clip: str = "value") -> dict:
    """Train on random copy batches; returns the losses of the first and last fifth of the
    steps and the wrong bits per sequence on a fixed evaluation batch before and after."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = build_ntm(torch, shift_mode=shift_mode, write_mode=write_mode)
    optimizer = torch.optim.RMSprop(model.parameters(), lr=lr, momentum=0.9, alpha=0.95)
    eval_inp, eval_seq = (torch.from_numpy(a) for a in copy_batch(
        np.random.default_rng(1234), 64, 4))

    def evaluate():
        with torch.no_grad():
            out = model(eval_inp, eval_seq.size(0))
        return (out.sigmoid() > 0.5).float().ne(eval_seq).sum().item() / eval_seq.size(1)

    initial_errors = evaluate()
    losses = []
    for _ in range(steps):
        length = int(rng.integers(MIN_LEN, MAX_LEN + 1))
        inp, seq = copy_batch(rng, batch, length)
        loss, _ = ntm_step(torch, model, optimizer, torch.from_numpy(inp),
                           torch.from_numpy(seq), clip=clip)
        losses.append(loss)
    k = max(1, steps // 5)
    return {"initial_loss": float(np.mean(losses[:k])), "final_loss": float(np.mean(losses[-k:])),
            "initial_errors": initial_errors, "final_errors": evaluate(),
            "mem_bias_trainable": any(p is model.mem_bias for p in model.parameters()),
            "buffers": [name for name, _ in model.named_buffers()]}


# ---------------------------------------------------------------------------------------
# TabNet-lite


def make_sparsemax(torch):
    class SparsemaxFunction(torch.autograd.Function):
        """Sparsemax over the last dimension (Martins & Astudillo, 2016)."""

        @staticmethod
        def forward(ctx, z, dim=-1):
            assert dim in (-1, z.dim() - 1)
            d = z.size(-1)
            z = z - z.max(dim=-1, keepdim=True)[0]  # shift for stability, does not change output
            z_sorted, _ = torch.sort(z, dim=-1, descending=True)
            cum = z_sorted.cumsum(dim=-1) - 1
            rho = torch.arange(1, d + 1, dtype=z.dtype, device=z.device)
            support = rho * z_sorted > cum
            k = support.sum(dim=-1, keepdim=True)
            tau = cum.gather(-1, k - 1) / k.to(z.dtype)
            out = torch.clamp(z - tau, min=0)
            ctx.save_for_backward(k, out)
            return out

        @staticmethod
        def backward(ctx, grad_output):
            k, out = ctx.saved_tensors
            grad_input = None
            if ctx.needs_input_grad[0]:
                nonzero = (out > 0).to(grad_output.dtype)
                v_hat = (grad_output * nonzero).sum(dim=-1, keepdim=True) / k.to(out.dtype)
                grad_input = nonzero * (grad_output - v_hat)
            return grad_input, None

    return SparsemaxFunction


def tabular_data(n: int, seed: int):
    """Six numeric columns and two categorical ones; the label depends on two numeric
    columns and one categorical column, the rest is noise."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6)).astype(np.float32)
    cat = np.stack([rng.integers(0, 5, n), rng.integers(0, 3, n)], 1)
    effect = np.array([-1.5, -0.5, 0.0, 0.5, 1.5])
    score = 1.5 * x[:, 0] - 1.0 * x[:, 2] + effect[cat[:, 0]] + 0.2 * rng.standard_normal(n)
    return x, cat.astype(np.int64), (score > 0).astype(np.int64)


def build_tabnet(torch, n_numeric: int = 6, cardinalities=(5, 3), emb_dim: int = 2,
                 n_d: int = 8, n_a: int = 8, n_steps: int = 3, gamma: float = 1.3,
                 n_classes: int = 2, virtual_batch_size: int = 32):
    nn = torch.nn
    F = torch.nn.functional
    sparsemax = make_sparsemax(torch).apply

    class GhostBatchNorm(nn.Module):
        def __init__(self, features: int):
            super().__init__()
            self.bn = nn.BatchNorm1d(features, momentum=0.02)

        def forward(self, x):
            n_chunks = int(np.ceil(x.shape[0] / virtual_batch_size))
            chunks = x.chunk(n_chunks, 0)
            return torch.cat([self.bn(c) for c in chunks], dim=0)

    class GLULayer(nn.Module):
        def __init__(self, fc, out_dim: int):
            super().__init__()
            self.fc = fc
            self.bn = GhostBatchNorm(2 * out_dim)

        def forward(self, x):
            return F.glu(self.bn(self.fc(x)), dim=-1)

    class FeatTransformer(nn.Module):
        """Two shared GLU layers then two step-specific ones, residuals times sqrt(0.5)."""

        def __init__(self, shared: nn.ModuleList, in_dim: int, out_dim: int):
            super().__init__()
            self.layers = nn.ModuleList(
                [GLULayer(fc, out_dim) for fc in shared]
                + [GLULayer(nn.Linear(out_dim, 2 * out_dim, bias=False), out_dim)
                   for _ in range(2)])
            self.scale = math.sqrt(0.5)

        def forward(self, x):
            x = self.layers[0](x)
            for layer in self.layers[1:]:
                x = (x + layer(x)) * self.scale
            return x

    class AttentiveTransformer(nn.Module):
        def __init__(self, in_dim: int, out_dim: int):
            super().__init__()
            self.fc = nn.Linear(in_dim, out_dim, bias=False)
            self.bn = GhostBatchNorm(out_dim)

        def forward(self, prior, a):
            return sparsemax(self.bn(self.fc(a)) * prior, -1)

    class TabNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.embeddings = nn.ModuleList(nn.Embedding(c, emb_dim) for c in cardinalities)
            d = n_numeric + emb_dim * len(cardinalities)
            self.input_dim = d
            self.initial_bn = nn.BatchNorm1d(d, momentum=0.01)
            hid = n_d + n_a
            shared = nn.ModuleList([nn.Linear(d, 2 * hid, bias=False),
                                    nn.Linear(hid, 2 * hid, bias=False)])
            self.initial_splitter = FeatTransformer(shared, d, hid)
            self.feat_transformers = nn.ModuleList(
                FeatTransformer(shared, d, hid) for _ in range(n_steps))
            self.att_transformers = nn.ModuleList(
                AttentiveTransformer(n_a, d) for _ in range(n_steps))
            self.final = nn.Linear(n_d, n_classes)

        def forward(self, x_num, x_cat):
            emb = [e(x_cat[:, i]) for i, e in enumerate(self.embeddings)]
            x = self.initial_bn(torch.cat([x_num, *emb], dim=1))
            prior = torch.ones(x.shape, dtype=x.dtype, device=x.device)
            m_loss = 0
            out = 0
            att = self.initial_splitter(x)[:, n_d:]
            masks = []
            for step in range(n_steps):
                mask = self.att_transformers[step](prior, att)
                m_loss = m_loss + torch.mean(torch.sum(-mask * torch.log(mask + 1e-10), dim=1))
                prior = prior * (gamma - mask)
                h = self.feat_transformers[step](mask * x)
                out = out + F.relu(h[:, :n_d])
                att = h[:, n_d:]
                masks.append(mask)
            return self.final(out), m_loss / n_steps, torch.stack(masks)

    return TabNet()


def tabnet_step(torch, model, optimizer, x_num, x_cat, y, lambda_sparse: float = 1e-3):
    F = torch.nn.functional
    optimizer.zero_grad()
    logits, m_loss, masks = model(x_num, x_cat)
    loss = F.cross_entropy(logits, y) - lambda_sparse * m_loss
    loss.backward()
    optimizer.step()
    return loss, logits, m_loss, masks


def train_tabnet(torch, epochs: int = 6, seed: int = 0) -> dict:
    """Train on 768 rows; returns held-out accuracies before and after, the losses, the
    learning rates the scheduler gave and what the masks look like."""
    DataLoader, TensorDataset = torch.utils.data.DataLoader, torch.utils.data.TensorDataset
    torch.manual_seed(seed)
    x, cat, y = tabular_data(1024, seed=1)
    x, cat, y = torch.from_numpy(x), torch.from_numpy(cat), torch.from_numpy(y)
    train_rows, test_rows = slice(0, 768), slice(768, None)
    loader = DataLoader(TensorDataset(x[train_rows], cat[train_rows], y[train_rows]),
                        batch_size=128, shuffle=True, drop_last=True)
    model = build_tabnet(torch)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-2)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.8)

    def accuracy():
        model.eval()
        with torch.no_grad():
            logits, _, masks = model(x[test_rows], cat[test_rows])
        model.train()
        return (logits.argmax(dim=1) == y[test_rows]).float().mean().item(), masks

    initial_acc, _ = accuracy()
    losses, lrs, batches = [], [], 0
    for _ in range(epochs):
        running = 0.0
        for xb, cb, yb in loader:
            loss, _, _, _ = tabnet_step(torch, model, optimizer, xb, cb, yb)
            running += loss.item()
            batches += 1
        losses.append(running / len(loader))
        lrs.append(scheduler.get_last_lr()[0])
        scheduler.step()
    final_acc, masks = accuracy()
    share = masks.sum(dim=(0, 1)) / masks.sum()
    return {"initial_acc": initial_acc, "final_acc": final_acc, "initial_loss": losses[0],
            "final_loss": losses[-1], "lrs": lrs, "batches": batches,
            "mask_rows_sum": masks.sum(-1).mean().item(),
            "mask_zero_share": (masks == 0).float().mean().item(),
            "feature_share": share.tolist(),
            "bn_running_var_min": model.initial_bn.running_var.min().item()}


def main(torch) -> dict:
    return {"ntm": train_ntm(torch), "tabnet": train_tabnet(torch)}


if __name__ == "__main__":
    import argparse
    import importlib
    import time

    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", default="gpugrad", choices=("gpugrad", "torch"))
    args = parser.parse_args()
    lib = importlib.import_module(args.lib)
    t0 = time.time()
    print(train_ntm(lib), time.time() - t0)
    t0 = time.time()
    print(train_tabnet(lib), time.time() - t0)

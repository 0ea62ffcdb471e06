"""The mixed-precision sections of ``python -m bench.gpu_kernels`` (issue 14's GPU goals).

- ``linear_ce``: a language-model head, N=8192 rows, hidden 4096, vocabulary 128256, bfloat16:
  gpugrad's chunked ``linear_cross_entropy(..., options=LinearCrossEntropyOptions())`` against
  PyTorch eager ``cross_entropy(linear(h, W), t)`` (and PyTorch's own chunked path, and
  Liger-Kernel's fused linear cross-entropy, where installed): time of forward+backward and peak
  extra memory beyond the inputs and the two gradients every path returns (goals: time <= PyTorch
  eager's, extra memory <= 1/10 of it).
- ``gpt_block``: one training step (forward, backward, Adam) of a GPT-style block (pre-norm causal
  attention + GELU MLP, float32 parameters) under ``autocast(dtype=bfloat16)``, gpugrad against
  PyTorch eager under the same autocast: time and peak memory (goals: time <= PyTorch's, less
  peak memory).

Each section takes the run's ``env``, ``record`` and ``peak_extra`` (``bench/gpu_kernels.py``).
"""

from __future__ import annotations

import gc

import numpy as np


def linear_cross_entropy(env, record, peak_extra):
    rows, hidden, vocab = (64, 32, 1000) if env.smoke else (8192, 4096, 128256)
    tag = f"{rows}x{hidden}->{vocab} bf16"
    gg = env.gpugrad
    rng = np.random.default_rng(0)
    h32 = env.random((rows, hidden), "float32")
    w32 = env.random((vocab, hidden), "float32", seed=1) * hidden ** -0.5
    h, w = h32.astype(gg.bfloat16.np), w32.astype(gg.bfloat16.np)
    target_np = rng.integers(0, vocab, rows)
    returned = h.nbytes + w.nbytes  # grad_h and grad_W, returned by every path
    gh, gw = env.tensor(h, requires_grad=True), env.tensor(w, requires_grad=True)
    gt = gg.tensor(target_np, device=env.device)
    options = gg.nn.LinearCrossEntropyOptions()

    def ours():
        gh.grad = gw.grad = None
        loss = gg.nn.functional.linear_cross_entropy(gh, gw, gt, options=options)
        loss.backward()
        return loss

    ours_loss = float(ours().float().item())
    ours_s = env.time(ours, repeat=3)
    ours_mem = peak_extra(env, ours, False)
    gh.grad = gw.grad = None
    gc.collect()
    record("linear_ce", f"{tag} ours chunked fwd+bwd", ours_s * 1e3, "ms")
    if ours_mem is not None:
        record("linear_ce", f"{tag} ours peak extra beyond the grads",
               (ours_mem - returned) / 2**20, "MiB")
    if env.torch is None:
        return
    torch = env.torch
    # From the float32 values (NumPy's DLPack has no bfloat16), rounded the same way.
    th = torch.as_tensor(h32, device=env.torch_device).bfloat16().requires_grad_()
    tw = torch.as_tensor(w32, device=env.torch_device).bfloat16().requires_grad_()
    del h32, w32
    tt = torch.as_tensor(target_np, device=env.torch_device)
    F = torch.nn.functional
    peers = {"torch eager": lambda: F.cross_entropy(F.linear(th, tw), tt)}
    if hasattr(F, "linear_cross_entropy"):
        t_options = torch.nn.LinearCrossEntropyOptions()
        peers["torch chunked"] = lambda: F.linear_cross_entropy(th, tw, tt, options=t_options)
    try:
        from liger_kernel.transformers import LigerFusedLinearCrossEntropyLoss

        liger = LigerFusedLinearCrossEntropyLoss()
        peers["liger"] = lambda: liger(tw, th, tt)
    except Exception:  # not installed (or broken): reported as absent
        record("linear_ce", "liger", "not installed", "")
    for name, loss_fn in peers.items():
        def step(loss_fn=loss_fn):
            th.grad = tw.grad = None
            loss = loss_fn()
            loss.backward()
            return loss

        try:
            loss = float(step().float().item())
            seconds = env.time(step, repeat=3)
            mem = peak_extra(env, step, True)
        except Exception as exc:  # e.g. out of memory: the others still run
            record("linear_ce", f"{tag} {name}", f"failed: {type(exc).__name__}", "")
            continue
        th.grad = tw.grad = None
        gc.collect()
        record("linear_ce", f"{tag} {name} fwd+bwd", seconds * 1e3, "ms")
        record("linear_ce", f"{tag} {name} loss - ours", loss - ours_loss, "")
        if mem is not None:
            record("linear_ce", f"{tag} {name} peak extra beyond the grads",
                   (mem - returned) / 2**20, "MiB")
        if name == "torch eager":
            ratio = ours_s / seconds
            record("linear_ce", f"{tag} ours / torch eager time", ratio, "x", "<=1", ratio <= 1)
            if mem is not None and ours_mem is not None:
                share = (ours_mem - returned) / max(mem - returned, 1)
                record("linear_ce", f"{tag} ours / torch eager extra memory", share, "x",
                       "<=0.1", share <= 0.1)


def _gpt_block(m, width: int, heads: int, device):
    F = m.nn.functional

    class Block(m.nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = m.nn.LayerNorm(width), m.nn.LayerNorm(width)
            self.qkv, self.proj = m.nn.Linear(width, 3 * width), m.nn.Linear(width, width)
            self.fc, self.out = m.nn.Linear(width, 4 * width), m.nn.Linear(4 * width, width)

        def forward(self, x):
            b, t, c = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(c, dim=2)
            q, k, v = (z.reshape(b, t, heads, c // heads).transpose(1, 2) for z in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(y.transpose(1, 2).reshape(b, t, c))
            return x + self.out(F.gelu(self.fc(self.ln2(x))))

    return Block().to(device)


def gpt_block(env, record, peak_extra):
    batch, length, width, heads = (2, 16, 32, 2) if env.smoke else (4, 512, 768, 12)
    tag = f"B{batch} T{length} C{width} H{heads} bf16 autocast"
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((batch, length, width), dtype=np.float32)
    device_type = "cuda" if env.cuda else "cpu"
    gg, torch = env.gpugrad, env.torch
    gg.manual_seed(0)
    ours_block = _gpt_block(gg, width, heads, env.device)
    libraries = [("ours", gg, ours_block, env.device, False)]
    if torch is not None:
        theirs = _gpt_block(torch, width, heads, env.torch_device)
        with torch.no_grad():
            for p, q in zip(theirs.parameters(), ours_block.parameters()):
                p.copy_(torch.from_dlpack(q.detach()))
        libraries.append(("torch eager", torch, theirs, env.torch_device, True))
    times, mems = {}, {}
    for name, m, block, device, torch_side in libraries:
        opt = m.optim.Adam(block.parameters(), lr=1e-4)
        x = m.tensor(x_np, device=device)

        def step(m=m, block=block, opt=opt, x=x):
            opt.zero_grad()
            with m.autocast(device_type, dtype=m.bfloat16):
                loss = block(x).float().pow(2).mean()
            loss.backward()
            opt.step()
            return loss

        step()
        times[name] = env.time(step, repeat=3)
        mems[name] = peak_extra(env, step, torch_side)
        record("gpt_block", f"{tag} {name} training step", times[name] * 1e3, "ms")
        if mems[name] is not None:
            record("gpt_block", f"{tag} {name} peak extra memory", mems[name] / 2**20, "MiB")
        gc.collect()
    if "torch eager" in times:
        ratio = times["ours"] / times["torch eager"]
        record("gpt_block", f"{tag} ours / torch time", ratio, "x", "<=1", ratio <= 1)
        if mems["ours"] is not None and mems["torch eager"] is not None:
            share = mems["ours"] / max(mems["torch eager"], 1)
            record("gpt_block", f"{tag} ours / torch peak memory", share, "x", "<1", share < 1)

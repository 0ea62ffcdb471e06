"""LoRA fine-tuning of a small pre-trained transformer classifier, written the way the
LoRA/adapter code for PyTorch writes it (``loralib``-style layers, a PEFT-like surgery
helper), on two token-counting tasks made up here.

Pre-training: a tiny encoder (``nn.Embedding`` tokens, a ``pos_ids`` buffer registered with
``persistent=False``, one block with hand-written attention over ``nn.Linear`` ``q``/``k``/
``v``/``o`` and ``nn.LayerNorm``, then one ``nn.TransformerEncoderLayer(batch_first=True)``,
mean pooling and a linear head) initialised by ``model.apply(init_weights)`` and trained
with AdamW on task A (more "low" tokens than "high" ones?).

Fine-tuning on task B (more even tokens than odd ones?): module surgery that walks
``model.named_modules()``, finds the ``nn.Linear`` layers whose names end in the target
names, resolves their parent with ``model.get_submodule`` and swaps them with
``setattr(parent, child_name, new)`` (the ``nn.TransformerEncoderLayer`` stays frozen and
untouched: in eval mode under ``no_grad`` PyTorch's fast path reads ``linear1.weight`` and
would skip an adapter there), in either of two styles: a wrapper holding the frozen layer
(``base_layer``, PEFT-like) or an ``nn.Linear`` subclass (``loralib``-like, whose overridden
``reset_parameters`` is called by ``nn.Linear.__init__`` and which takes the old weights
through ``load_state_dict(strict=False)``). Each LoRA layer has
``nn.Parameter(torch.zeros(r, in))`` initialised by ``nn.init.kaiming_uniform_(A,
a=math.sqrt(5))``, a zero ``B``, ``scaling = alpha / r``, ``nn.Dropout`` on the LoRA path,
``F.linear(x, self.weight, self.bias)``, ``merge``/``unmerge`` under ``@torch.no_grad()``
(``self.weight += (B @ A) * scaling`` and a ``merged`` flag) and an ``extra_repr``. The
model is frozen with ``requires_grad_(False)`` and the LoRA parameters (and a new head)
unfrozen by name (``"lora_" in n``); trainable parameters are counted with ``sum(p.numel()
for p in model.parameters() if p.requires_grad)`` and trained by an AdamW over
``filter(lambda p: p.requires_grad, model.parameters())``. Only the LoRA (and head) weights
are saved (``{k: v for k, v in model.state_dict().items() if "lora_" in k}``) and loaded
into a fresh surgically-modified copy of the pre-trained model with ``load_state_dict(sd,
strict=False)``, whose ``missing_keys``/``unexpected_keys`` are checked. Activations are
captured by ``register_forward_hook`` and ``register_forward_pre_hook``; the merged model is
a ``copy.deepcopy``; ``torch.nn.utils.parameters_to_vector`` flattens the adapters;
``named_parameters(prefix=..., recurse=False)`` lists a layer's own.

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import copy
import io
import math

import numpy as np

VOCAB, SEQ = 10, 7
D_MODEL, HEADS, FF = 16, 2, 32
TARGETS = ("q", "v", "fc1")


def make_task(task: str, n: int, seed: int) -> tuple:
    """``n`` token sequences and their labels. Task A: are there more tokens below 5 than
    at or above 5? Task B: are there more even tokens than odd ones? (``SEQ`` is odd: no
    ties.)"""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, VOCAB, (n, SEQ))
    if task == "A":
        y = ((x < VOCAB // 2).sum(1) > SEQ // 2)
    elif task == "B":
        y = ((x % 2 == 0).sum(1) > SEQ // 2)
    else:
        raise ValueError(task)
    return x.astype(np.int64), y.astype(np.int64)


def build_model(torch, n_classes: int = 2):
    nn = torch.nn
    F = torch.nn.functional

    class SelfAttention(nn.Module):
        def __init__(self, d: int, heads: int):
            super().__init__()
            self.heads, self.d_head = heads, d // heads
            self.q = nn.Linear(d, d)
            self.k = nn.Linear(d, d)
            self.v = nn.Linear(d, d)
            self.o = nn.Linear(d, d)

        def forward(self, x):
            b, t, d = x.shape
            q = self.q(x).view(b, t, self.heads, self.d_head).transpose(1, 2)
            k = self.k(x).view(b, t, self.heads, self.d_head).transpose(1, 2)
            v = self.v(x).view(b, t, self.heads, self.d_head).transpose(1, 2)
            att = (q @ k.transpose(-2, -1)) / math.sqrt(self.d_head)
            att = att.softmax(dim=-1)
            y = (att @ v).transpose(1, 2).contiguous().view(b, t, d)
            return self.o(y)

    class Block(nn.Module):
        def __init__(self, d: int, heads: int, ff: int):
            super().__init__()
            self.ln1 = nn.LayerNorm(d)
            self.attn = SelfAttention(d, heads)
            self.ln2 = nn.LayerNorm(d)
            self.fc1 = nn.Linear(d, ff)
            self.fc2 = nn.Linear(ff, d)

        def forward(self, x):
            x = x + self.attn(self.ln1(x))
            return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))

    class TinyEncoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(VOCAB, D_MODEL)
            self.pos = nn.Embedding(SEQ, D_MODEL)
            self.register_buffer("pos_ids", torch.arange(SEQ), persistent=False)
            self.blocks = nn.ModuleList([
                Block(D_MODEL, HEADS, FF),
                nn.TransformerEncoderLayer(D_MODEL, HEADS, FF, dropout=0.0, batch_first=True),
            ])
            self.ln_f = nn.LayerNorm(D_MODEL)
            self.head = nn.Linear(D_MODEL, n_classes)

        def forward(self, idx):
            x = self.tok(idx) + self.pos(self.pos_ids[: idx.size(1)])
            for block in self.blocks:
                x = block(x)
            return self.head(self.ln_f(x).mean(dim=1))

    return TinyEncoder()


def init_weights(torch, module) -> None:
    """The GPT-style initialiser handed to ``model.apply``."""
    nn = torch.nn
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, mean=0.0, std=0.1)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):
        nn.init.normal_(module.weight, mean=0.0, std=1.0)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


def lora_classes(torch):
    """The two LoRA layer styles: ``LoRAWrapper`` holds the frozen layer as ``base_layer``;
    ``LoRALinear`` is an ``nn.Linear`` whose own weight is the frozen one."""
    nn = torch.nn
    F = torch.nn.functional

    class LoRAWrapper(nn.Module):
        def __init__(self, base_layer, r: int = 4, lora_alpha: float = 8.0,
                     lora_dropout: float = 0.0):
            super().__init__()
            self.base_layer = base_layer
            self.in_features, self.out_features = base_layer.in_features, base_layer.out_features
            self.r, self.lora_alpha = r, lora_alpha
            self.scaling = lora_alpha / r
            dtype = base_layer.weight.dtype
            self.lora_A = nn.Parameter(torch.zeros(r, self.in_features, dtype=dtype))
            self.lora_B = nn.Parameter(torch.zeros(self.out_features, r, dtype=dtype))
            self.lora_dropout = nn.Dropout(p=lora_dropout) if lora_dropout > 0 else nn.Identity()
            self.merged = False
            self.reset_lora_parameters()

        def reset_lora_parameters(self):
            nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
            nn.init.zeros_(self.lora_B)

        @property
        def weight(self):
            return self.base_layer.weight

        @property
        def bias(self):
            return self.base_layer.bias

        def forward(self, x):
            result = self.base_layer(x)
            if self.merged:
                return result
            return result + (self.lora_dropout(x) @ self.lora_A.T @ self.lora_B.T) * self.scaling

        @torch.no_grad()
        def merge(self):
            if not self.merged:
                self.base_layer.weight += (self.lora_B @ self.lora_A) * self.scaling
                self.merged = True

        @torch.no_grad()
        def unmerge(self):
            if self.merged:
                self.base_layer.weight -= (self.lora_B @ self.lora_A) * self.scaling
                self.merged = False

        def extra_repr(self) -> str:
            return f"r={self.r}, lora_alpha={self.lora_alpha}, merged={self.merged}"

    class LoRALinear(nn.Linear):
        def __init__(self, in_features: int, out_features: int, r: int = 4,
                     lora_alpha: float = 8.0, lora_dropout: float = 0.0, bias: bool = True,
                     **kwargs):
            self.r, self.lora_alpha = r, lora_alpha
            nn.Linear.__init__(self, in_features, out_features, bias=bias, **kwargs)
            factory = {"dtype": self.weight.dtype}
            self.lora_A = nn.Parameter(torch.zeros((r, in_features), **factory))
            self.lora_B = nn.Parameter(self.weight.new_zeros((out_features, r)))
            self.scaling = self.lora_alpha / self.r
            self.lora_dropout = (nn.Dropout(p=lora_dropout) if lora_dropout > 0.0
                                 else lambda x: x)
            self.weight.requires_grad = False
            self.merged = False
            self.reset_parameters()

        def reset_parameters(self):
            nn.Linear.reset_parameters(self)
            if hasattr(self, "lora_A"):
                nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
                nn.init.zeros_(self.lora_B)

        def train(self, mode: bool = True):
            nn.Linear.train(self, mode)
            # loralib merges on eval() and unmerges on train(); kept explicit here
            return self

        def forward(self, x):
            result = F.linear(x, self.weight, bias=self.bias)
            if self.r > 0 and not self.merged:
                result += (self.lora_dropout(x) @ self.lora_A.transpose(0, 1)
                           @ self.lora_B.transpose(0, 1)) * self.scaling
            return result

        @torch.no_grad()
        def merge(self):
            if not self.merged:
                self.weight.data += (self.lora_B @ self.lora_A) * self.scaling
                self.merged = True

        @torch.no_grad()
        def unmerge(self):
            if self.merged:
                self.weight.data -= (self.lora_B @ self.lora_A) * self.scaling
                self.merged = False

        def extra_repr(self) -> str:
            return f"{super().extra_repr()}, r={self.r}, merged={self.merged}"

    return LoRAWrapper, LoRALinear


def inject_lora(torch, model, style: str = "wrap", r: int = 4, lora_alpha: float = 8.0,
                lora_dropout: float = 0.0, targets=TARGETS) -> list:
    """Swap every ``nn.Linear`` whose name ends in one of ``targets`` for a LoRA layer;
    returns the names swapped."""
    nn = torch.nn
    LoRAWrapper, LoRALinear = lora_classes(torch)
    names = [name for name, module in model.named_modules()
             if isinstance(module, nn.Linear) and name.split(".")[-1] in targets]
    for name in names:
        parent_name, _, child_name = name.rpartition(".")
        parent = model.get_submodule(parent_name)
        old = getattr(parent, child_name)
        if style == "wrap":
            new = LoRAWrapper(old, r=r, lora_alpha=lora_alpha, lora_dropout=lora_dropout)
        elif style == "subclass":
            new = LoRALinear(old.in_features, old.out_features, r=r, lora_alpha=lora_alpha,
                             lora_dropout=lora_dropout, bias=old.bias is not None,
                             dtype=old.weight.dtype)
            result = new.load_state_dict(old.state_dict(), strict=False)
            assert sorted(result.missing_keys) == ["lora_A", "lora_B"], result
            assert result.unexpected_keys == [], result
        else:
            raise ValueError(style)
        setattr(parent, child_name, new)
    return names


def mark_only_lora_as_trainable(model, extra=("head.",)) -> None:
    model.requires_grad_(False)
    for n, p in model.named_parameters():
        if "lora_" in n or n.startswith(extra):
            p.requires_grad = True


def lora_state_dict(model, extra=("head.",)) -> dict:
    return {k: v for k, v in model.state_dict().items() if "lora_" in k or k.startswith(extra)}


def merge_all(torch, model) -> int:
    """Merge every LoRA layer through ``model.apply``; returns how many were merged."""
    count = [0]

    def fn(module):
        if hasattr(module, "merge") and hasattr(module, "lora_A"):
            module.merge()
            count[0] += 1

    model.apply(fn)
    return count[0]


def accuracy(torch, model, x, y) -> float:
    model.eval()
    with torch.no_grad():
        return (model(x).argmax(dim=-1) == y).float().mean().item()


def train(torch, model, x, y, steps: int, lr: float, batch: int = 32, seed: int = 0) -> list:
    F = torch.nn.functional
    opt = torch.optim.AdamW(filter(lambda p: p.requires_grad, model.parameters()), lr=lr,
                            weight_decay=0.01)
    rng = np.random.default_rng(seed)
    losses = []
    model.train()
    for _ in range(steps):
        idx = torch.as_tensor(rng.integers(0, len(x), batch))
        loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
    return losses


def main(torch, style: str = "wrap", pre_steps: int = 150, ft_steps: int = 120,
         seed: int = 0) -> dict:
    nn = torch.nn
    torch.manual_seed(seed)
    xa, ya = (torch.from_numpy(a) for a in make_task("A", 512, seed))
    xa_test, ya_test = (torch.from_numpy(a) for a in make_task("A", 256, seed + 1))
    xb, yb = (torch.from_numpy(a) for a in make_task("B", 256, seed + 2))
    xb_test, yb_test = (torch.from_numpy(a) for a in make_task("B", 256, seed + 3))

    # ---- pre-training on task A
    model = build_model(torch)
    model.apply(lambda m: init_weights(torch, m))
    total = sum(p.numel() for p in model.parameters())
    pre_losses = train(torch, model, xa, ya, pre_steps, lr=1e-2, seed=seed)
    acc_a = accuracy(torch, model, xa_test, ya_test)
    pretrained = copy.deepcopy(model.state_dict())
    buffers_in_state = "pos_ids" in pretrained

    # ---- LoRA surgery, a new head, fine-tuning on task B
    model.head = nn.Linear(D_MODEL, 2)
    head_init = copy.deepcopy(model.head.state_dict())
    acc_b_before = accuracy(torch, model, xb_test, yb_test)
    swapped = inject_lora(torch, model, style=style, lora_dropout=0.05)
    mark_only_lora_as_trainable(model)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    trainable_names = [n for n, p in model.named_parameters() if p.requires_grad]
    frozen_q = model.blocks[0].attn.q.weight.detach().clone()
    ft_losses = train(torch, model, xb, yb, ft_steps, lr=2e-2, seed=seed + 1)
    acc_b = accuracy(torch, model, xb_test, yb_test)
    frozen_kept = bool(torch.equal(frozen_q, model.blocks[0].attn.q.weight))

    # ---- hooks: the pooled features going into the head, the first attention's output
    captured = {}

    def pre_hook(module, args):
        captured["head_in"] = args[0].detach()

    def fwd_hook(module, args, output):
        captured["attn_out"] = output.detach()

    handles = [model.head.register_forward_pre_hook(pre_hook),
               model.blocks[0].attn.register_forward_hook(fwd_hook)]
    model.eval()
    with torch.no_grad():
        logits = model(xb_test)
    for h in handles:
        h.remove()
    hook_logits_match = bool(torch.allclose(model.head(captured["head_in"]), logits,
                                            atol=1e-6))

    # ---- merged copy gives the same outputs
    merged = copy.deepcopy(model)
    n_merged = merge_all(torch, merged)
    merged.eval()
    with torch.no_grad():
        merged_logits = merged(xb_test)
    merge_diff = (merged_logits - logits).abs().max().item()
    merged_acc = accuracy(torch, merged, xb_test, yb_test)

    # ---- save only the adapters (and head), load them into a fresh surgically-modified copy
    adapters = lora_state_dict(model)
    buf = io.BytesIO()
    torch.save(adapters, buf)
    buf.seek(0)
    loaded = torch.load(buf)
    fresh = build_model(torch)
    fresh.load_state_dict(pretrained)
    inject_lora(torch, fresh, style=style, lora_dropout=0.05)
    result = fresh.load_state_dict(loaded, strict=False)
    fresh_acc = accuracy(torch, fresh, xb_test, yb_test)
    with torch.no_grad():
        fresh_diff = (fresh(xb_test) - logits).abs().max().item()

    lora_vec = nn.utils.parameters_to_vector(
        [p for n, p in model.named_parameters() if "lora_" in n])
    return {"total": total, "trainable": trainable, "trainable_names": trainable_names,
            "swapped": swapped, "pre_initial": pre_losses[0],
            "pre_final": float(np.mean(pre_losses[-10:])), "acc_a": acc_a,
            "acc_b_before": acc_b_before, "ft_initial": ft_losses[0],
            "ft_final": float(np.mean(ft_losses[-10:])), "acc_b": acc_b,
            "frozen_kept": frozen_kept, "head_moved": not torch.equal(
                head_init["weight"], model.head.weight.detach()),
            "buffers_in_state": buffers_in_state, "hook_logits_match": hook_logits_match,
            "attn_out_shape": tuple(captured["attn_out"].shape),
            "n_merged": n_merged, "merge_diff": merge_diff, "merged_acc": merged_acc,
            "adapter_keys": sorted(adapters), "missing": sorted(result.missing_keys),
            "unexpected": list(result.unexpected_keys), "fresh_acc": fresh_acc,
            "fresh_diff": fresh_diff, "lora_numel": lora_vec.numel(),
            "lora_norm": lora_vec.norm().item()}


if __name__ == "__main__":
    import argparse
    import importlib
    import time

    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", default="gpugrad", choices=("gpugrad", "torch"))
    parser.add_argument("--style", default="wrap", choices=("wrap", "subclass"))
    args = parser.parse_args()
    t0 = time.perf_counter()
    out = main(importlib.import_module(args.lib), style=args.style)
    out.pop("trainable_names")
    out.pop("adapter_keys")
    print(out, f"{time.perf_counter() - t0:.2f}s")

"""A small vision transformer with a mixture-of-experts feed-forward block, trained
contrastively, as recent research code writes one: patches cut with ``unfold`` and embedded
by a ``Linear`` (and, in the other variant, by a strided ``Conv2d`` with ``flatten(2)``), a
learned class token and position embedding (``nn.Parameter`` of zeros, ``trunc_normal_``),
pre-norm blocks, top-2 routing of tokens to experts (``topk``, ``softmax`` over the chosen
logits, dispatch through ``nonzero``/``index_select`` and ``index_add_``, a load-balancing
loss from ``one_hot`` counts), and a SimCLR objective (two noisy views, ``F.normalize``, the
similarity matrix with its diagonal masked by ``masked_fill``, cross-entropy against the other
view's index). Also: ``torch.no_grad`` linear probing of the class token at the end.

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

VARIANTS = ("unfold", "conv")


def build(torch, variant: str, dim: int = 32, experts: int = 4, top_k: int = 2):
    nn = torch.nn
    F = torch.nn.functional
    patch, image = 4, 16
    n_patches = (image // patch) ** 2

    class PatchEmbed(nn.Module):
        def __init__(self):
            super().__init__()
            if variant == "conv":
                self.proj = nn.Conv2d(1, dim, kernel_size=patch, stride=patch)
            else:
                self.proj = nn.Linear(patch * patch, dim)

        def forward(self, x):
            if variant == "conv":
                return self.proj(x).flatten(2).transpose(1, 2)  # (B, N, dim)
            cols = F.unfold(x, kernel_size=patch, stride=patch)  # (B, patch*patch, N)
            return self.proj(cols.transpose(1, 2))

    class Experts(nn.Module):
        """Top-k routing of each token to ``experts`` small MLPs."""

        def __init__(self):
            super().__init__()
            self.router = nn.Linear(dim, experts, bias=False)
            self.w_in = nn.ModuleList(nn.Linear(dim, 2 * dim) for _ in range(experts))
            self.w_out = nn.ModuleList(nn.Linear(2 * dim, dim) for _ in range(experts))

        def forward(self, x):
            shape = x.shape
            tokens = x.reshape(-1, shape[-1])
            logits = self.router(tokens)
            weights, chosen = torch.topk(logits, top_k, dim=-1)
            weights = F.softmax(weights, dim=-1, dtype=torch.float32).to(tokens.dtype)
            out = torch.zeros_like(tokens)
            for e in range(experts):
                rows, slot = torch.nonzero(chosen == e, as_tuple=True)
                if rows.numel() == 0:
                    continue
                picked = tokens.index_select(0, rows)
                y = self.w_out[e](F.gelu(self.w_in[e](picked)))
                out = out.index_add(0, rows, y * weights[rows, slot].unsqueeze(-1))
            # Switch-style balance: the fraction routed to each expert times its mean gate
            counts = F.one_hot(chosen[:, 0], experts).float().mean(0)
            gates = F.softmax(logits, dim=-1).mean(0)
            self.balance_loss = experts * (counts * gates).sum()
            return out.reshape(shape)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm1 = nn.LayerNorm(dim)
            self.attn = nn.MultiheadAttention(dim, num_heads=4, batch_first=True)
            self.norm2 = nn.LayerNorm(dim)
            self.moe = Experts()

        def forward(self, x):
            h = self.norm1(x)
            x = x + self.attn(h, h, h, need_weights=False)[0]
            return x + self.moe(self.norm2(x))

    class ViT(nn.Module):
        def __init__(self, depth: int = 2, proj_dim: int = 16):
            super().__init__()
            self.embed = PatchEmbed()
            self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
            self.pos_embed = nn.Parameter(torch.zeros(1, n_patches + 1, dim))
            nn.init.trunc_normal_(self.pos_embed, std=0.02)
            nn.init.trunc_normal_(self.cls_token, std=0.02)
            self.blocks = nn.Sequential(*[Block() for _ in range(depth)])
            self.norm = nn.LayerNorm(dim)
            self.head = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, proj_dim))

        def features(self, x):
            x = self.embed(x)
            cls = self.cls_token.expand(x.shape[0], -1, -1)
            x = torch.cat((cls, x), dim=1) + self.pos_embed
            return self.norm(self.blocks(x))[:, 0]

        def forward(self, x):
            return self.head(self.features(x))

        def balance_loss(self):
            return sum(b.moe.balance_loss for b in self.blocks)

    return ViT


def images(torch, n: int, generator=None):
    """Bars: a bright horizontal (label 0) or vertical (label 1) bar at a random place."""
    labels = torch.randint(0, 2, (n,), generator=generator)
    where = torch.randint(2, 14, (n,), generator=generator)
    x = torch.zeros(n, 1, 16, 16)
    for i in range(n):
        if labels[i] == 0:
            x[i, 0, where[i], :] = 1.0
        else:
            x[i, 0, :, where[i]] = 1.0
    return x, labels


def simclr_loss(torch, z1, z2, temperature: float = 0.5):
    F = torch.nn.functional
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    sim = z @ z.T / temperature
    n = z1.shape[0]
    sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return F.cross_entropy(sim, targets)


def main(torch, variant: str = "unfold", steps: int = 40, seed: int = 0) -> dict:
    """Contrastive training on noisy views of bar images; returns the first and last losses
    and how well a least-squares probe on the frozen class token separates the two labels."""
    torch.manual_seed(seed)
    model = build(torch, variant)()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.05)
    losses = []
    for _ in range(steps):
        x, _ = images(torch, 16)
        view1 = x + 0.3 * torch.randn_like(x)
        view2 = torch.roll(x, shifts=1, dims=3) + 0.3 * torch.randn_like(x)
        loss = simclr_loss(torch, model(view1), model(view2)) + 0.01 * model.balance_loss()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        x, labels = images(torch, 64)
        feats = torch.cat([model.features(x), torch.ones(64, 1)], dim=1)
        target = labels.float().unsqueeze(1) * 2 - 1
        w = torch.linalg.lstsq(feats, target).solution
        accuracy = ((feats @ w > 0).squeeze(1).long() == labels).float().mean().item()
    return {"initial_loss": sum(losses[:4]) / 4, "final_loss": sum(losses[-4:]) / 4,
            "probe_accuracy": accuracy}

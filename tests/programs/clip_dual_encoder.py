"""A tiny CLIP-style contrastive dual encoder, written the way public PyTorch CLIP code writes
it, trained on paired data made up here: 8x8 RGB pictures of coloured shapes and short
"captions" of token ids that name the colour and the shape.

Idioms: an image encoder that is either a small ViT (a patch embedding by
``nn.Conv2d(3, D, kernel_size=patch, stride=patch, bias=False)`` followed by
``flatten(2).transpose(1, 2)``, a class token ``nn.Parameter(torch.zeros(1, 1, D))`` put in
front by ``expand(B, -1, -1)`` and ``torch.cat``, a learned positional embedding, ``ln_pre`` /
``ln_post`` LayerNorms, ``nn.TransformerEncoderLayer(batch_first=True, norm_first=True,
activation="gelu")``) or a small conv net (``Conv2d`` + ``BatchNorm2d`` named ``bn1``/``bn2``,
``AdaptiveAvgPool2d``); a text encoder with ``nn.Embedding``, a positional embedding, the causal
mask ``torch.full((L, L), float("-inf")).triu(1)`` handed to the encoder layer as ``src_mask``,
``ln_final`` and pooling at the end-of-text token (the largest id) by
``x[torch.arange(B), tokens.argmax(dim=-1)]``; projections ``nn.Parameter(torch.empty(D, E))``
initialized by ``nn.init.normal_(..., std=D ** -0.5)``; features normalized by
``F.normalize(x, dim=-1)`` or by ``x / x.norm(dim=-1, keepdim=True)``; the temperature
``logit_scale = nn.Parameter(torch.ones([]) * np.log(1 / 0.07))`` used as
``torch.clamp(self.logit_scale.exp(), max=100)`` and clamped after each optimizer step with
``model.logit_scale.data.clamp_(0, 4.6052)`` (or ``with torch.no_grad(): ...clamp_(...)``);
logits ``logit_scale * image_features @ text_features.t()`` and their transpose; the
symmetric loss ``(F.cross_entropy(logits_per_image, labels) + F.cross_entropy(logits_per_text,
labels)) / 2`` with ``labels = torch.arange(B)``; ``AdamW`` with two parameter groups built
from ``model.named_parameters()``, gains, biases, embeddings of rank < 2 and ``logit_scale``
excluded from weight decay by ``p.ndim < 2 or "bn" in n or "ln" in n or "bias" in n or
"logit_scale" in n``; a warm-up-then-cosine ``LambdaLR``; gradient accumulation over
micro-batches either plain (``(loss / accum).backward()``) or with cached features (a first
``torch.no_grad()`` pass over every micro-batch, then each micro-batch re-encoded with
gradients and put back into the cached lists before the full-batch loss is taken, so the
gradient equals the full batch's); zero-shot classification (a prompt per class encoded once,
``(100.0 * image_features @ text_features.T).softmax(dim=-1)``, ``topk(5)`` accuracy by
``pred.t().eq(target.view(1, -1).expand_as(pred))``); and retrieval recall@k both per row
(``logits[i].argsort(descending=True)`` and ``(ranks == i).nonzero()``) and vectorized
(``torch.where(ranking == ground_truth)[1]``).

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import math

import numpy as np

SIZE, PATCH = 8, 2
COLOURS = ("red", "green", "blue")
SHAPES = ("square", "frame", "plus", "diagonal")
CLASSES = [(c, s) for c in COLOURS for s in SHAPES]  # 12 classes
# vocabulary: 0 is padding, then start-of-text, the words, end-of-text (the largest id, as in
# CLIP, so that argmax over the token ids finds it)
WORDS = ("a", "photo", "of", "small") + COLOURS + SHAPES
PAD, SOT = 0, 1
WORD_ID = {w: i + 2 for i, w in enumerate(WORDS)}
EOT = len(WORDS) + 2
VOCAB = EOT + 1
CONTEXT = 8
TEMPLATES = ("a {} {}", "{} {}", "a photo of a {} {}", "a small {} {}")
PROMPT = "a photo of a {} {}"
MEAN = np.array([0.15, 0.15, 0.15], dtype=np.float32)
STD = np.array([0.35, 0.35, 0.35], dtype=np.float32)


def shape_mask(shape: str) -> np.ndarray:
    """A 5x5 boolean stencil of the shape."""
    m = np.zeros((5, 5), dtype=bool)
    if shape == "square":
        m[1:4, 1:4] = True
    elif shape == "frame":
        m[0, :] = m[-1, :] = m[:, 0] = m[:, -1] = True
    elif shape == "plus":
        m[2, :] = m[:, 2] = True
    elif shape == "diagonal":
        m[np.arange(5), np.arange(5)] = True
    else:
        raise ValueError(shape)
    return m


def draw(classes, rng) -> np.ndarray:
    """Pictures (float32, ``(n, 3, 8, 8)``) of the given class indices: the stencil in its
    colour, at a random offset, with a random brightness, on a noisy background."""
    images = 0.1 * rng.standard_normal((len(classes), 3, SIZE, SIZE)).astype(np.float32)
    for image, k in zip(images, classes):
        colour, shape = CLASSES[k]
        y, x = rng.integers(0, SIZE - 4, 2)
        m = shape_mask(shape)
        image[COLOURS.index(colour), y:y + 5, x:x + 5][m] += rng.uniform(0.7, 1.0)
    return images


def tokenize(texts) -> np.ndarray:
    """CLIP's tokenizer in miniature: ``[SOT] words... [EOT]`` padded with zeros to
    ``CONTEXT`` tokens (int64)."""
    out = np.zeros((len(texts), CONTEXT), dtype=np.int64)
    for row, text in zip(out, texts):
        ids = [SOT] + [WORD_ID[w] for w in text.split()] + [EOT]
        row[:len(ids)] = ids
    return out


def captions(classes, rng):
    return [TEMPLATES[rng.integers(len(TEMPLATES))].format(*CLASSES[k]) for k in classes]


def build_clip(torch, width: int = 32, embed_dim: int = 16, heads: int = 2, layers: int = 1,
               image_encoder: str = "vit", normalize: str = "functional"):
    nn = torch.nn
    F = torch.nn.functional

    def encoder(n_layers):
        return nn.ModuleList([
            nn.TransformerEncoderLayer(width, heads, dim_feedforward=2 * width, dropout=0.0,
                                       activation="gelu", batch_first=True, norm_first=True)
            for _ in range(n_layers)])

    class VisionTransformer(nn.Module):
        def __init__(self):
            super().__init__()
            scale = width ** -0.5
            self.conv1 = nn.Conv2d(3, width, kernel_size=PATCH, stride=PATCH, bias=False)
            self.class_embedding = nn.Parameter(torch.zeros(1, 1, width))
            n_tokens = (SIZE // PATCH) ** 2 + 1
            self.positional_embedding = nn.Parameter(scale * torch.randn(n_tokens, width))
            self.ln_pre = nn.LayerNorm(width)
            self.blocks = encoder(layers)
            self.ln_post = nn.LayerNorm(width)
            self.proj = nn.Parameter(torch.empty(width, embed_dim))
            nn.init.normal_(self.proj, std=width ** -0.5)

        def forward(self, x):
            x = self.conv1(x)  # (B, width, grid, grid)
            x = x.flatten(2).transpose(1, 2)  # (B, grid * grid, width)
            cls = self.class_embedding.expand(x.shape[0], -1, -1)
            x = torch.cat([cls, x], dim=1)
            x = x + self.positional_embedding
            x = self.ln_pre(x)
            for block in self.blocks:
                x = block(x)
            x = self.ln_post(x[:, 0, :])
            return x @ self.proj

    class ConvEncoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, width // 2, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(width // 2)
            self.conv2 = nn.Conv2d(width // 2, width, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(width)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.proj = nn.Parameter(torch.empty(width, embed_dim))
            nn.init.normal_(self.proj, std=width ** -0.5)

        def forward(self, x):
            x = F.relu(self.bn1(self.conv1(x)))
            x = F.relu(self.bn2(self.conv2(x)))
            x = self.pool(x).flatten(1)
            return x @ self.proj

    class CLIP(nn.Module):
        def __init__(self):
            super().__init__()
            self.visual = VisionTransformer() if image_encoder == "vit" else ConvEncoder()
            self.token_embedding = nn.Embedding(VOCAB, width)
            self.positional_embedding = nn.Parameter(torch.empty(CONTEXT, width))
            self.transformer = encoder(layers)
            self.ln_final = nn.LayerNorm(width)
            self.text_projection = nn.Parameter(torch.empty(width, embed_dim))
            self.logit_scale = nn.Parameter(torch.ones([]) * np.log(1 / 0.07))
            self.register_buffer("attn_mask", self.build_attention_mask(), persistent=False)
            self.initialize_parameters()

        def initialize_parameters(self):
            nn.init.normal_(self.token_embedding.weight, std=0.02)
            nn.init.normal_(self.positional_embedding, std=0.01)
            nn.init.normal_(self.text_projection, std=width ** -0.5)

        @staticmethod
        def build_attention_mask():
            # additive causal mask: -inf above the diagonal, zero on and below it
            mask = torch.empty(CONTEXT, CONTEXT)
            mask.fill_(float("-inf"))
            mask.triu_(1)
            return mask

        def encode_image(self, image):
            return self.visual(image)

        def encode_text(self, text):
            x = self.token_embedding(text)  # (B, L, width)
            x = x + self.positional_embedding
            mask = torch.full((CONTEXT, CONTEXT), float("-inf")).triu(1).to(x.dtype)
            for block in self.transformer:
                x = block(x, src_mask=mask)
            x = self.ln_final(x)
            # features at the end-of-text token, the largest id in each row
            x = x[torch.arange(x.shape[0]), text.argmax(dim=-1)] @ self.text_projection
            return x

        def forward(self, image, text):
            image_features = self.encode_image(image)
            text_features = self.encode_text(text)
            if normalize == "functional":
                image_features = F.normalize(image_features, dim=-1)
                text_features = F.normalize(text_features, dim=-1)
            else:
                image_features = image_features / image_features.norm(dim=-1, keepdim=True)
                text_features = text_features / text_features.norm(dim=-1, keepdim=True)
            return image_features, text_features, self.logit_scale.exp()

    return CLIP()


def clip_loss(torch, image_features, text_features, logit_scale):
    """The symmetric InfoNCE loss of CLIP."""
    F = torch.nn.functional
    logit_scale = torch.clamp(logit_scale, max=100)
    logits_per_image = logit_scale * image_features @ text_features.t()
    logits_per_text = logits_per_image.t()
    labels = torch.arange(image_features.shape[0], device=image_features.device)
    return (F.cross_entropy(logits_per_image, labels)
            + F.cross_entropy(logits_per_text, labels)) / 2


def param_groups(model, weight_decay: float):
    """Two AdamW groups: no decay for gains, biases, BatchNorm/LayerNorm and ``logit_scale``."""
    def exclude(n, p):
        return p.ndim < 2 or "bn" in n or "ln" in n or "bias" in n or "logit_scale" in n

    named_parameters = list(model.named_parameters())
    gain_or_bias = [p for n, p in named_parameters if exclude(n, p) and p.requires_grad]
    rest = [p for n, p in named_parameters if not exclude(n, p) and p.requires_grad]
    return [{"params": gain_or_bias, "weight_decay": 0.0},
            {"params": rest, "weight_decay": weight_decay}]


def cosine_with_warmup(warmup: int, total: int):
    def lr_lambda(step):
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    return lr_lambda


def train_step(torch, model, optimizer, images, texts, accum: int = 1,
               accum_mode: str = "cached", clamp_mode: str = "data") -> float:
    """One optimizer step on the batch, split into ``accum`` micro-batches. ``cached``: the
    features of every micro-batch are computed once without gradients, then each micro-batch is
    re-encoded with gradients and the full-batch loss back-propagated through it alone
    (gradients equal the full batch's, as long as no BatchNorm sees the micro-batches).
    ``plain``: each micro-batch's own loss, divided by ``accum``."""
    optimizer.zero_grad()
    if accum == 1:
        image_features, text_features, logit_scale = model(images, texts)
        loss = clip_loss(torch, image_features, text_features, logit_scale)
        loss.backward()
        total = loss.item()
    elif accum_mode == "cached":
        image_chunks, text_chunks = images.chunk(accum), texts.chunk(accum)
        with torch.no_grad():
            cached = [model(i, t) for i, t in zip(image_chunks, text_chunks)]
        accum_images = [c[0] for c in cached]
        accum_texts = [c[1] for c in cached]
        total = 0.0
        for j in range(accum):
            image_features, text_features, logit_scale = model(image_chunks[j],
                                                               text_chunks[j])
            all_images = torch.cat(accum_images[:j] + [image_features] + accum_images[j + 1:])
            all_texts = torch.cat(accum_texts[:j] + [text_features] + accum_texts[j + 1:])
            loss = clip_loss(torch, all_images, all_texts, logit_scale)
            loss.backward()
            total = loss.item()
    elif accum_mode == "plain":
        total = 0.0
        for i, t in zip(images.chunk(accum), texts.chunk(accum)):
            image_features, text_features, logit_scale = model(i, t)
            loss = clip_loss(torch, image_features, text_features, logit_scale) / accum
            loss.backward()
            total += loss.item()
    else:
        raise ValueError(accum_mode)
    optimizer.step()
    # keep the temperature from exceeding 100
    if clamp_mode == "data":
        model.logit_scale.data.clamp_(0, 4.6052)
    else:
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
    return total


def as_batch(torch, images: np.ndarray, tokens: np.ndarray, dtype=None):
    dtype = dtype or torch.float32
    mean = torch.tensor(MEAN, dtype=dtype).view(1, 3, 1, 1)
    std = torch.tensor(STD, dtype=dtype).view(1, 3, 1, 1)
    x = (torch.from_numpy(images).to(dtype) - mean) / std
    return x, torch.from_numpy(tokens)


def accuracy(output, target, topk=(1,)):
    """Top-k accuracies (counts) in the style of the ImageNet example."""
    pred = output.topk(max(topk), 1, True, True)[1].t()
    correct = pred.eq(target.view(1, -1).expand_as(pred))
    return [float(correct[:k].reshape(-1).float().sum(0, keepdim=True).item()) for k in topk]


def zero_shot(torch, model, images, labels):
    """Top-1 and top-5 zero-shot accuracy from one prompt per class."""
    model.eval()
    with torch.no_grad():
        prompts = torch.from_numpy(tokenize([PROMPT.format(*c) for c in CLASSES]))
        text_features = model.encode_text(prompts)
        text_features /= text_features.norm(dim=-1, keepdim=True)
        image_features = model.encode_image(images)
        image_features /= image_features.norm(dim=-1, keepdim=True)
        probs = (100.0 * image_features @ text_features.T).softmax(dim=-1)
        top1, top5 = accuracy(probs, labels, topk=(1, 5))
    model.train()
    n = len(labels)
    return top1 / n, top5 / n


def recall_at_k(torch, logits, ks=(1, 5)) -> dict:
    """Recall@k of the row item ``i`` being matched with column ``i``: per row with
    ``argsort`` and ``nonzero``, and vectorized with ``torch.where``; the two must agree."""
    n = logits.shape[0]
    ranks = torch.zeros(n, dtype=torch.long)
    for i in range(n):
        order = logits[i].argsort(descending=True)
        ranks[i] = (order == i).nonzero()[0, 0]
    ranking = torch.argsort(logits, dim=1, descending=True)
    ground_truth = torch.arange(n).view(-1, 1)
    preds = torch.where(ranking == ground_truth)[1]
    assert torch.equal(preds, ranks), (preds, ranks)
    out = {f"R@{k}": float((ranks < k).float().mean()) for k in ks}
    out["mean_rank"] = float(preds.float().mean() + 1)
    out["median_rank"] = float(torch.floor(torch.median(preds.float())) + 1)
    return out


def retrieval(torch, model, images, tokens) -> dict:
    model.eval()
    with torch.no_grad():
        image_features, text_features, logit_scale = model(images, tokens)
        logits_per_image = (logit_scale * image_features @ text_features.t()).detach()
    model.train()
    i2t = recall_at_k(torch, logits_per_image)
    t2i = recall_at_k(torch, logits_per_image.t())
    return {**{f"image_to_text_{k}": v for k, v in i2t.items()},
            **{f"text_to_image_{k}": v for k, v in t2i.items()}}


def main(torch, steps: int = 60, lr: float = 3e-3, weight_decay: float = 0.05, warmup: int = 5,
         accum: int = 2, accum_mode: str = "cached", image_encoder: str = "vit",
         normalize: str = "functional", clamp_mode: str = "data", seed: int = 1) -> dict:
    """Train on batches that hold each class once (random templates, offsets and noise), then
    score zero-shot classification and retrieval on held-out pictures."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = build_clip(torch, image_encoder=image_encoder, normalize=normalize)
    optimizer = torch.optim.AdamW(param_groups(model, weight_decay), lr=lr, betas=(0.9, 0.98),
                                  eps=1e-6)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, cosine_with_warmup(warmup, steps))

    test_classes = np.tile(np.arange(len(CLASSES)), 4)
    test_images, _ = as_batch(torch, draw(test_classes, np.random.default_rng(99)),
                              tokenize(["a"] * len(test_classes)))
    test_labels = torch.from_numpy(test_classes)
    initial_top1, initial_top5 = zero_shot(torch, model, test_images, test_labels)

    losses, lrs, scales = [], [], []
    for _ in range(steps):
        classes = rng.permutation(len(CLASSES))
        images, texts = as_batch(torch, draw(classes, rng), tokenize(captions(classes, rng)))
        losses.append(train_step(torch, model, optimizer, images, texts, accum=accum,
                                 accum_mode=accum_mode, clamp_mode=clamp_mode))
        lrs.append(optimizer.param_groups[0]["lr"])
        scheduler.step()
        scales.append(model.logit_scale.exp().item())

    top1, top5 = zero_shot(torch, model, test_images, test_labels)
    pair_rng = np.random.default_rng(7)
    pair_classes = pair_rng.permutation(len(CLASSES))
    pair_images, pair_tokens = as_batch(torch, draw(pair_classes, pair_rng),
                                        tokenize(captions(pair_classes, pair_rng)))
    window = max(1, steps // 6)
    return {"initial_loss": float(np.mean(losses[:window])),
            "final_loss": float(np.mean(losses[-window:])),
            "initial_top1": initial_top1, "initial_top5": initial_top5,
            "top1": top1, "top5": top5, "lrs": lrs, "scales": scales,
            **retrieval(torch, model, pair_images, pair_tokens)}


if __name__ == "__main__":
    import argparse
    import importlib
    import time

    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", default="gpugrad", choices=("gpugrad", "torch"))
    parser.add_argument("--encoder", default="vit", choices=("vit", "cnn"))
    parser.add_argument("--accum", default="cached", choices=("cached", "plain"))
    args = parser.parse_args()
    start = time.perf_counter()
    result = main(importlib.import_module(args.lib), image_encoder=args.encoder,
                  accum_mode=args.accum)
    result.pop("lrs")
    result["scales"] = result["scales"][::10]
    print(result, f"{time.perf_counter() - start:.2f}s")

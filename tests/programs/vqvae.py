"""A vector-quantised autoencoder (VQ-VAE) in the style of the public PyTorch VQ-VAE code: a
convolutional encoder (``Conv2d`` with stride 2, ``ReLU``, residual blocks whose first layer is
``nn.ReLU(True)``, in place), a 1x1 pre-quantisation convolution, a vector quantiser and a
decoder of residual blocks and ``ConvTranspose2d`` layers.

The quantiser is written the way the public code writes it: ``inputs.permute(0, 2, 3, 1)
.contiguous()`` and ``.view(-1, D)``; squared distances to the codebook as
``sum(flat**2, dim=1, keepdim=True) + sum(weight**2, dim=1) - 2 * matmul(flat, weight.t())``;
``argmin(...).unsqueeze(1)``; a one-hot matrix from ``torch.zeros(N, K, device=...)`` and
``scatter_(1, indices, 1)``; ``matmul(encodings, weight).view(input_shape)``; the codebook and
commitment losses ``F.mse_loss(quantized.detach(), inputs)`` / ``F.mse_loss(quantized,
inputs.detach())``; the straight-through estimator ``inputs + (quantized - inputs).detach()``;
the perplexity ``exp(-sum(p * log(p + 1e-10)))`` of the average one-hot; and
``permute(0, 3, 1, 2).contiguous()`` back.

Two variants. ``"codebook"``: an ``nn.Embedding`` initialised by ``weight.data.uniform_(-1/K,
1/K)`` and learned through the codebook loss. ``"ema"``: the codebook follows exponential moving
averages, updated only ``if self.training:`` -- a ``register_buffer`` cluster size updated in
place (``mul_(decay).add_(counts, alpha=1 - decay)``) under ``torch.no_grad()``, then Laplace
smoothed ``(n_i + eps) / (n + K * eps) * n`` and assigned back to the buffer's name; an
``nn.Parameter(..., requires_grad=False)`` holding the summed vectors, reassigned each step as a
new ``nn.Parameter``; and ``embedding.weight.data.copy_(ema_w / cluster_size.unsqueeze(1))``.

Training: ``Adam(lr=1e-3, amsgrad=False)`` on mini-batches drawn as the public loop draws them,
``(data, _) = next(iter(training_loader))`` from a shuffling ``DataLoader`` over a
``TensorDataset`` of images and labels; the reconstruction loss
``F.mse_loss(recon, x) / data_variance`` plus the quantiser's loss, ``model.train()`` /
``model.eval()``. Evaluation runs under a ``@torch.no_grad()`` decorator and looks the codes up a
second way, ``torch.cdist(...).argmin(1)`` and ``F.embedding(indices, weight)``, counting codebook
use with ``torch.bincount(minlength=K)`` and ``torch.unique(return_counts=True)``.

The images are made up: 3x8x8, a Gaussian blob of random colour at a random place over faint
grey stripes (across, down or diagonal) of random phase, plus a little noise; one stride-2
convolution makes a 4x4 grid of 2-dimensional latents, quantised against 16 codes. The EMA
variant takes its first codes from the first training batch (``torch.randperm``), as several
public versions do: with codes drawn from ``normal_()`` far from the encoder's output, all but
one code would be dead after the first update. Written once against the module ``torch``
passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import numpy as np

VARIANTS = ("codebook", "ema")
SIZE = 8


def images(n: int, seed: int = 0) -> tuple:
    """Float32 images ``(n, 3, SIZE, SIZE)`` in about [-0.5, 0.5] (as ``Normalize((0.5,) * 3,
    (1.0,) * 3)`` leaves pixels in [0, 1]): a coloured blob over grey stripes; and int64
    labels, the stripes' direction (unused, as the public code ignores its labels)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    out = np.empty((n, 3, SIZE, SIZE), np.float32)
    labels = rng.integers(0, 3, n)
    directions = [(1.0, 0.0), (0.0, 1.0), (0.7, 0.7)]
    for i in range(n):
        cy, cx = rng.uniform(1.5, SIZE - 1.5, 2)
        width = rng.uniform(1.0, 2.0)
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * width ** 2))
        colour = rng.uniform(0.2, 1.0, 3)[:, None, None]
        dy, dx = directions[labels[i]]
        stripes = 0.5 + 0.5 * np.sin(2 * np.pi * (dy * yy + dx * xx) / 4 + rng.uniform(0, 6.3))
        out[i] = (0.8 * colour * blob + 0.3 * stripes
                  + rng.normal(0, 0.02, (3, SIZE, SIZE)) - 0.5)
    return out, labels


def build(torch, variant: str = "codebook", num_hiddens: int = 32,
          num_residual_layers: int = 2, num_residual_hiddens: int = 8,
          num_embeddings: int = 16, embedding_dim: int = 2, commitment_cost: float = 0.25,
          decay: float = 0.99, epsilon: float = 1e-5):
    """The VQ-VAE (its modules made from ``torch``) with the ``variant`` quantiser."""
    nn = torch.nn
    F = torch.nn.functional

    class Residual(nn.Module):
        def __init__(self, channels, hidden):
            super().__init__()
            self._block = nn.Sequential(
                nn.ReLU(True),
                nn.Conv2d(channels, hidden, kernel_size=3, stride=1, padding=1, bias=False),
                nn.ReLU(True),
                nn.Conv2d(hidden, channels, kernel_size=1, stride=1, bias=False),
            )

        def forward(self, x):
            return x + self._block(x)

    class ResidualStack(nn.Module):
        def __init__(self, channels, layers, hidden):
            super().__init__()
            self._layers = nn.ModuleList([Residual(channels, hidden) for _ in range(layers)])

        def forward(self, x):
            for layer in self._layers:
                x = layer(x)
            return F.relu(x)

    class Encoder(nn.Module):
        def __init__(self, in_channels):
            super().__init__()
            self._conv_1 = nn.Conv2d(in_channels, num_hiddens // 2, kernel_size=4, stride=2,
                                     padding=1)
            self._conv_2 = nn.Conv2d(num_hiddens // 2, num_hiddens, kernel_size=3, stride=1,
                                     padding=1)
            self._residual_stack = ResidualStack(num_hiddens, num_residual_layers,
                                                 num_residual_hiddens)

        def forward(self, inputs):
            x = F.relu(self._conv_1(inputs))
            x = self._conv_2(x)
            return self._residual_stack(x)

    class Decoder(nn.Module):
        def __init__(self, out_channels):
            super().__init__()
            self._conv_1 = nn.Conv2d(embedding_dim, num_hiddens, kernel_size=3, stride=1,
                                     padding=1)
            self._residual_stack = ResidualStack(num_hiddens, num_residual_layers,
                                                 num_residual_hiddens)
            self._conv_trans_1 = nn.ConvTranspose2d(num_hiddens, num_hiddens // 2,
                                                    kernel_size=4, stride=2, padding=1)
            self._conv_trans_2 = nn.ConvTranspose2d(num_hiddens // 2, out_channels,
                                                    kernel_size=3, stride=1, padding=1)

        def forward(self, inputs):
            x = self._conv_1(inputs)
            x = self._residual_stack(x)
            x = F.relu(self._conv_trans_1(x))
            return self._conv_trans_2(x)

    class VectorQuantizer(nn.Module):
        """Nearest-code quantisation with a learned codebook (codebook + commitment loss)."""

        def __init__(self):
            super().__init__()
            self._embedding_dim = embedding_dim
            self._num_embeddings = num_embeddings
            self._commitment_cost = commitment_cost
            self._embedding = nn.Embedding(num_embeddings, embedding_dim)
            self._embedding.weight.data.uniform_(-1 / num_embeddings, 1 / num_embeddings)

        def _lookup(self, inputs):
            # BCHW -> BHWC, then one row per latent vector
            inputs = inputs.permute(0, 2, 3, 1).contiguous()
            input_shape = inputs.shape
            flat_input = inputs.view(-1, self._embedding_dim)
            distances = (torch.sum(flat_input ** 2, dim=1, keepdim=True)
                         + torch.sum(self._embedding.weight ** 2, dim=1)
                         - 2 * torch.matmul(flat_input, self._embedding.weight.t()))
            encoding_indices = torch.argmin(distances, dim=1).unsqueeze(1)
            encodings = torch.zeros(encoding_indices.shape[0], self._num_embeddings,
                                    device=inputs.device)
            encodings.scatter_(1, encoding_indices, 1)
            quantized = torch.matmul(encodings, self._embedding.weight).view(input_shape)
            return inputs, flat_input, encodings, quantized

        def _finish(self, inputs, quantized, encodings, loss):
            quantized = inputs + (quantized - inputs).detach()
            avg_probs = torch.mean(encodings, dim=0)
            perplexity = torch.exp(-torch.sum(avg_probs * torch.log(avg_probs + 1e-10)))
            return loss, quantized.permute(0, 3, 1, 2).contiguous(), perplexity, encodings

        def forward(self, inputs):
            inputs, _, encodings, quantized = self._lookup(inputs)
            e_latent_loss = F.mse_loss(quantized.detach(), inputs)
            q_latent_loss = F.mse_loss(quantized, inputs.detach())
            loss = q_latent_loss + self._commitment_cost * e_latent_loss
            return self._finish(inputs, quantized, encodings, loss)

    class VectorQuantizerEMA(VectorQuantizer):
        """The codebook follows moving averages of the vectors assigned to each code."""

        def __init__(self):
            super().__init__()
            self._embedding.weight.data.normal_()
            self._decay = decay
            self._epsilon = epsilon
            self.register_buffer('_ema_cluster_size', torch.zeros(num_embeddings))
            self._ema_w = nn.Parameter(torch.Tensor(num_embeddings, embedding_dim),
                                       requires_grad=False)
            self._ema_w.data.normal_()
            self.register_buffer('_initted', torch.tensor(False))

        @torch.no_grad()
        def _init_from_data(self, flat_input):
            # codes from the first training batch: N(0, 1) codes far from the encoder's output
            # would leave all but one code dead (an unused code's ema_w / cluster_size blows up)
            chosen = flat_input[torch.randperm(flat_input.shape[0])[:self._num_embeddings]]
            self._embedding.weight.data.copy_(chosen)
            self._ema_w.data.copy_(chosen)
            self._ema_cluster_size.fill_(1.0)
            self._initted.fill_(True)

        def forward(self, inputs):
            if self.training and not self._initted:
                self._init_from_data(inputs.permute(0, 2, 3, 1).reshape(-1, embedding_dim))
            inputs, flat_input, encodings, quantized = self._lookup(inputs)
            if self.training:
                with torch.no_grad():
                    self._ema_cluster_size.mul_(self._decay).add_(
                        torch.sum(encodings, 0), alpha=1 - self._decay)
                    n = torch.sum(self._ema_cluster_size)
                    self._ema_cluster_size = (
                        (self._ema_cluster_size + self._epsilon)
                        / (n + self._num_embeddings * self._epsilon) * n)
                    dw = torch.matmul(encodings.t(), flat_input)
                    self._ema_w = nn.Parameter(self._ema_w * self._decay
                                               + (1 - self._decay) * dw, requires_grad=False)
                    self._embedding.weight.data.copy_(
                        self._ema_w / self._ema_cluster_size.unsqueeze(1))
            e_latent_loss = F.mse_loss(quantized.detach(), inputs)
            loss = self._commitment_cost * e_latent_loss
            return self._finish(inputs, quantized, encodings, loss)

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self._encoder = Encoder(3)
            self._pre_vq_conv = nn.Conv2d(num_hiddens, embedding_dim, kernel_size=1, stride=1)
            self._vq_vae = VectorQuantizerEMA() if variant == "ema" else VectorQuantizer()
            self._decoder = Decoder(3)

        def encode(self, x):
            return self._pre_vq_conv(self._encoder(x))

        def forward(self, x):
            z = self.encode(x)
            loss, quantized, perplexity, _ = self._vq_vae(z)
            x_recon = self._decoder(quantized)
            return loss, x_recon, perplexity

    return Model()


def main(torch, variant: str = "codebook", steps: int = 120, batch_size: int = 32,
         seed: int = 0, **sizes) -> dict:
    """Train for ``steps`` mini-batches; returns reconstruction errors (normalised by the data
    variance) on held-out images before and after, the final perplexity and codes used."""
    F = torch.nn.functional
    torch.manual_seed(seed)
    (train_np, train_labels), (test_np, _) = images(512, seed), images(128, seed + 1)
    data_variance = float(np.var(train_np))
    test = torch.from_numpy(test_np)
    training_data = torch.utils.data.TensorDataset(torch.from_numpy(train_np),
                                                   torch.from_numpy(train_labels))
    training_loader = torch.utils.data.DataLoader(training_data, batch_size=batch_size,
                                                  shuffle=True)
    model = build(torch, variant, **sizes)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, amsgrad=False)
    K = model._vq_vae._num_embeddings

    @torch.no_grad()
    def evaluate():
        model.eval()
        z = model.encode(test)
        _, quantized, perplexity, encodings = model._vq_vae(z)
        recon = model._decoder(quantized)
        recon_error = F.mse_loss(recon, test) / data_variance
        # the same codes found another way: cdist + argmin, F.embedding for the vectors
        flat = z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])
        weight = model._vq_vae._embedding.weight
        indices = torch.cdist(flat, weight).argmin(dim=1)
        looked_up = F.embedding(indices, weight).view(z.shape[0], z.shape[2], z.shape[3], -1)
        looked_up = looked_up.permute(0, 3, 1, 2).contiguous()
        counts = torch.bincount(indices, minlength=K)
        used, used_counts = torch.unique(indices, return_counts=True)
        model.train()
        return {"recon_error": recon_error.item(), "perplexity": perplexity.item(),
                "codes_used": int((counts > 0).sum()), "unique_codes": int(used.numel()),
                "counts_agree": bool((counts[used] == used_counts).all()),
                "same_indices": (indices == encodings.argmax(dim=1)).float().mean().item(),
                "lookup_gap": (looked_up - quantized).abs().max().item()}

    before = evaluate()
    model.train()
    losses, perplexities = [], []
    for _step in range(steps):
        (x, _) = next(iter(training_loader))  # a fresh shuffle each update, as the public loop
        optimizer.zero_grad()
        vq_loss, data_recon, perplexity = model(x)
        recon_error = F.mse_loss(data_recon, x) / data_variance
        loss = recon_error + vq_loss
        loss.backward()
        optimizer.step()
        losses.append(recon_error.item())
        perplexities.append(perplexity.item())
    after = evaluate()
    return {"initial_recon": before["recon_error"], "final_recon": after["recon_error"],
            "train_initial": float(np.mean(losses[:5])), "train_final": float(np.mean(losses[-5:])),
            "train_perplexity": float(np.mean(perplexities[-5:])),
            "perplexity": after["perplexity"], "codes_used": after["codes_used"],
            "unique_codes": after["unique_codes"], "counts_agree": after["counts_agree"],
            "same_indices": after["same_indices"], "lookup_gap": after["lookup_gap"],
            "ema_buffers": sorted(k for k, _ in model.named_buffers())}

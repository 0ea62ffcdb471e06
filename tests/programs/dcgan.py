"""A small DCGAN in the style of the GAN tutorials: a transposed-convolution generator with
BatchNorm, a convolutional discriminator with in-place LeakyReLU, ``BCELoss`` against labels made
by ``torch.full`` and refilled with ``fill_``, two Adam optimizers with ``betas=(0.5, 0.999)``,
``weights_init`` applied through ``Module.apply`` by class name, ``fake.detach()`` for the
discriminator's step, and samples from fixed noise in eval mode. The data: 8x8 images of a
bright square at a random place.

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import numpy as np


def _images(n: int, seed: int):
    """8x8 single-channel images: a bright square at a random place on a dark background."""
    rng = np.random.default_rng(seed)
    x = np.full((n, 1, 8, 8), -1.0, np.float32)
    for i in range(n):
        r, c = rng.integers(0, 5, 2)
        x[i, 0, r:r + 3, c:c + 3] = 1.0
    return x


def main(torch, steps: int = 60, seed: int = 0) -> dict:
    """Train for ``steps`` batches; returns the generator's first and last losses, the
    discriminator's last loss (means over a few steps) and the samples' shape."""
    nn = torch.nn
    torch.manual_seed(seed)
    nz, ngf, ndf = 8, 8, 8
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    def weights_init(m):
        classname = m.__class__.__name__
        if classname.find("Conv") != -1:
            nn.init.normal_(m.weight.data, 0.0, 0.02)
        elif classname.find("BatchNorm") != -1:
            nn.init.normal_(m.weight.data, 1.0, 0.02)
            nn.init.constant_(m.bias.data, 0)

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.main = nn.Sequential(
                nn.ConvTranspose2d(nz, ngf * 2, 4, 1, 0, bias=False),  # 4x4
                nn.BatchNorm2d(ngf * 2),
                nn.ReLU(True),
                nn.ConvTranspose2d(ngf * 2, 1, 4, 2, 1, bias=False),  # 8x8
                nn.Tanh(),
            )

        def forward(self, input):
            return self.main(input)

    class Discriminator(nn.Module):
        def __init__(self):
            super().__init__()
            self.main = nn.Sequential(
                nn.Conv2d(1, ndf, 4, 2, 1, bias=False),  # 4x4
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),  # 2x2
                nn.BatchNorm2d(ndf * 2),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf * 2, 1, 2, 1, 0, bias=False),
                nn.Sigmoid(),
            )

        def forward(self, input):
            return self.main(input)

    netG = Generator().to(device)
    netG.apply(weights_init)
    netD = Discriminator().to(device)
    netD.apply(weights_init)
    criterion = nn.BCELoss()
    fixed_noise = torch.randn(16, nz, 1, 1, device=device)
    real_label, fake_label = 1.0, 0.0
    optimizerD = torch.optim.Adam(netD.parameters(), lr=0.002, betas=(0.5, 0.999))
    optimizerG = torch.optim.Adam(netG.parameters(), lr=0.002, betas=(0.5, 0.999))
    data = torch.from_numpy(_images(256, seed))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data), batch_size=32,
                                         shuffle=True, drop_last=True)
    G_losses, D_losses, D_x_hist = [], [], []
    step = 0
    while step < steps:
        for (real_cpu,) in loader:
            netD.zero_grad()
            real_cpu = real_cpu.to(device)
            b_size = real_cpu.size(0)
            label = torch.full((b_size,), real_label, dtype=torch.float, device=device)
            output = netD(real_cpu).view(-1)
            errD_real = criterion(output, label)
            errD_real.backward()
            D_x = output.mean().item()
            noise = torch.randn(b_size, nz, 1, 1, device=device)
            fake = netG(noise)
            label.fill_(fake_label)
            output = netD(fake.detach()).view(-1)
            errD_fake = criterion(output, label)
            errD_fake.backward()
            errD = errD_real + errD_fake
            optimizerD.step()
            netG.zero_grad()
            label.fill_(real_label)
            output = netD(fake).view(-1)
            errG = criterion(output, label)
            errG.backward()
            optimizerG.step()
            G_losses.append(errG.item())
            D_losses.append(errD.item())
            D_x_hist.append(D_x)
            step += 1
            if step >= steps:
                break
    with torch.no_grad():
        netG.eval()
        fake = netG(fixed_noise).detach().cpu()
    # how square-like the samples are: the share of pixels near +-1
    saturated = (fake.abs() > 0.8).float().mean().item()
    return {"G_first": float(np.mean(G_losses[:5])), "G_last": float(np.mean(G_losses[-10:])),
            "D_last": float(np.mean(D_losses[-10:])), "saturated": saturated,
            "shape": tuple(fake.shape)}


if __name__ == "__main__":
    import importlib
    import sys

    print(main(importlib.import_module(sys.argv[1] if len(sys.argv) > 1 else "gpugrad")))

"""Neural style transfer written the way the classic PyTorch tutorial code writes it, with a
small seeded random CNN standing in for the pretrained VGG (nothing is downloaded).

Idioms: an ``nn.Sequential`` feature extractor (``Conv2d``, ``ReLU(inplace=True)``,
``MaxPool2d``, an eval-mode ``BatchNorm2d``) given NumPy-made weights by
``load_state_dict`` and frozen by ``cnn.requires_grad_(False).eval()``; a ``Normalization``
module whose mean and std are buffers (``register_buffer``) shaped ``.view(-1, 1, 1)``; a new
``nn.Sequential`` built by walking ``cnn.children()`` with ``isinstance`` checks, naming each
layer, replacing in-place ReLUs and inserting ``ContentLoss``/``StyleLoss`` modules with
``add_module(name, layer)`` after chosen layers, then trimmed after the last loss module by
slicing (``model[:(i + 1)]``); loss modules that store ``self.loss = F.mse_loss(...)`` in
``forward`` against a ``.detach()``-ed target and ``return input``; the Gram matrix both as
``features = input.view(b * c, h * w)``, ``torch.mm(features, features.t())``,
``G.div(b * c * h * w)`` and batched as ``torch.bmm(f, f.transpose(1, 2))``; the style image
resized with ``F.interpolate(..., mode='bilinear', align_corners=False)``; the input image
``content_img.clone()`` with ``requires_grad_(True)``; ``optim.LBFGS([input_img])`` stepped
with a closure that clamps ``with torch.no_grad(): input_img.clamp_(0, 1)``, calls
``zero_grad``, sums the weighted style and content losses, calls ``loss.backward()`` and
returns the loss, its evaluations counted in a list (``run = [0]``); an Adam variant with a
total-variation regulariser written with slicing differences
(``x[:, :, 1:, :] - x[:, :, :-1, :]``) and ``img.data.clamp_(0, 1)`` after each step; and
features captured by ``register_forward_hook`` into a dict (hook handles removed afterwards)
as an alternative to the loss modules.

Written once against the module ``torch`` passed to the functions: ``gpugrad`` or PyTorch.
The CNN's weights and the images are NumPy-made, so both libraries start from the same
numbers and can be compared step for step in float64.
"""

from __future__ import annotations

import numpy as np

CNN_NORMALIZATION_MEAN = [0.485, 0.456, 0.406]
CNN_NORMALIZATION_STD = [0.229, 0.224, 0.225]
CONTENT_LAYERS = ["conv_3"]
STYLE_LAYERS = ["conv_1", "conv_2", "conv_3", "conv_4"]


def make_images(size: int = 16, style_size: int = 24, seed: int = 0):
    """A content image (a disc over a smooth gradient, with a little noise) of ``size`` pixels
    and a bigger style image (diagonal stripes in two colours), both (1, 3, H, W) in [0, 1],
    float64 NumPy."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:size, 0:size] / (size - 1)
    disc = ((xs - 0.55) ** 2 + (ys - 0.45) ** 2 < 0.08).astype(np.float64)
    content = np.stack([0.3 + 0.4 * xs, 0.2 + 0.5 * ys, 0.6 - 0.3 * xs * ys])
    content = 0.6 * content + 0.35 * disc[None] + 0.03 * rng.standard_normal((3, size, size))
    sy, sx = np.mgrid[0:style_size, 0:style_size] / (style_size - 1)
    wave = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * (sx + sy))
    style = np.stack([wave, 0.3 + 0.4 * (1 - wave), 0.8 * sx])
    return [np.clip(image, 0.0, 1.0)[None] for image in (content, style)]


def build_cnn(torch, seed: int = 0, dtype=None):
    """The stand-in for ``vgg19().features``: a frozen, eval-mode ``nn.Sequential`` whose
    weights (He-scaled normals) and batch-norm statistics come from NumPy."""
    nn = torch.nn
    dtype = dtype or torch.float32
    cnn = nn.Sequential(
        nn.Conv2d(3, 6, kernel_size=3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(6, 6, kernel_size=3, padding=1),
        nn.BatchNorm2d(6),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 8, kernel_size=3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(8, 8, kernel_size=3, padding=1),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=2, stride=2),
        nn.Conv2d(8, 8, kernel_size=3, padding=1),
        nn.ReLU(inplace=True),
    ).to(dtype)
    rng = np.random.default_rng(seed)
    state = {}
    for key, value in cnn.state_dict().items():
        shape = tuple(value.shape)
        if key.endswith("num_batches_tracked"):
            state[key] = value
        elif key.endswith("running_var"):
            state[key] = torch.from_numpy(rng.uniform(0.5, 1.5, shape))
        elif key.endswith("running_mean"):
            state[key] = torch.from_numpy(rng.normal(0, 0.1, shape))
        elif len(shape) > 1:
            fan_in = int(np.prod(shape[1:]))
            state[key] = torch.from_numpy(rng.normal(0, np.sqrt(2.0 / fan_in), shape))
        else:
            state[key] = torch.from_numpy(rng.normal(0, 0.05, shape))
    cnn.load_state_dict(state)  # float64 arrays copied into parameters of ``dtype``
    return cnn.requires_grad_(False).eval()


def gram_matrix(torch, input):
    b, c, h, w = input.size()  # (batch, channels, height, width)
    features = input.view(b * c, h * w)
    G = torch.mm(features, features.t())
    return G.div(b * c * h * w)


def gram_matrix_batched(torch, input):
    """One Gram matrix per image, normalised per image: (b, c, c)."""
    b, c, h, w = input.shape
    f = input.reshape(b, c, h * w)
    return torch.bmm(f, f.transpose(1, 2)) / (c * h * w)


def build_modules(torch):
    """The tutorial's ``ContentLoss``, ``StyleLoss`` and ``Normalization`` for ``torch``."""
    nn, F = torch.nn, torch.nn.functional

    class ContentLoss(nn.Module):
        def __init__(self, target):
            super().__init__()
            # a stated value, not a variable of the graph
            self.target = target.detach()

        def forward(self, input):
            self.loss = F.mse_loss(input, self.target)
            return input

    class StyleLoss(nn.Module):
        def __init__(self, target_feature, batched=False):
            super().__init__()
            self.batched = batched
            self.target = self.gram(target_feature).detach()

        def gram(self, input):
            if self.batched:
                return gram_matrix_batched(torch, input)
            return gram_matrix(torch, input)

        def forward(self, input):
            G = self.gram(input)
            self.loss = F.mse_loss(G, self.target)
            return input

    class Normalization(nn.Module):
        def __init__(self, mean, std):
            super().__init__()
            # (C, 1, 1): one value per channel, broadcast over each image's pixels
            self.register_buffer("mean", torch.tensor(mean).view(-1, 1, 1))
            self.register_buffer("std", torch.tensor(std).view(-1, 1, 1))

        def forward(self, img):
            return (img - self.mean) / self.std

    return ContentLoss, StyleLoss, Normalization


def get_style_model_and_losses(torch, cnn, style_img, content_img,
                               content_layers=CONTENT_LAYERS, style_layers=STYLE_LAYERS,
                               batched_gram=False):
    nn = torch.nn
    ContentLoss, StyleLoss, Normalization = build_modules(torch)
    normalization = Normalization(CNN_NORMALIZATION_MEAN, CNN_NORMALIZATION_STD).to(
        content_img.dtype)

    content_losses = []
    style_losses = []

    model = nn.Sequential(normalization)

    i = 0  # the number of convolutions met so far
    for layer in cnn.children():
        if isinstance(layer, nn.Conv2d):
            i += 1
            name = f"conv_{i}"
        elif isinstance(layer, nn.ReLU):
            name = f"relu_{i}"
            # an in-place ReLU would overwrite the features a loss module just read
            layer = nn.ReLU(inplace=False)
        elif isinstance(layer, nn.MaxPool2d):
            name = f"pool_{i}"
        elif isinstance(layer, nn.BatchNorm2d):
            name = f"bn_{i}"
        else:
            raise RuntimeError(f"no name for a {type(layer).__name__} layer")

        model.add_module(name, layer)

        if name in content_layers:
            target = model(content_img).detach()
            content_loss = ContentLoss(target)
            model.add_module(f"content_loss_{i}", content_loss)
            content_losses.append(content_loss)

        if name in style_layers:
            target_feature = model(style_img).detach()
            style_loss = StyleLoss(target_feature, batched=batched_gram)
            model.add_module(f"style_loss_{i}", style_loss)
            style_losses.append(style_loss)

    # nothing after the last loss module is needed
    for i in range(len(model) - 1, -1, -1):
        if isinstance(model[i], ContentLoss) or isinstance(model[i], StyleLoss):
            break

    model = model[:(i + 1)]
    return model, style_losses, content_losses


def load_images(torch, dtype=None, size: int = 16, style_size: int = 24):
    """The content image and the style image resized to the content's size."""
    F = torch.nn.functional
    dtype = dtype or torch.float32
    content_np, style_np = make_images(size, style_size)
    content_img = torch.tensor(content_np, dtype=dtype)
    style_big = torch.from_numpy(style_np).to(dtype)
    style_img = F.interpolate(style_big, size=content_img.shape[-2:], mode="bilinear",
                              align_corners=False)
    assert style_img.size() == content_img.size(), "style and content differ in size"
    return content_img, style_img


def run_style_transfer(torch, cnn, content_img, style_img, input_img, num_steps=3,
                       style_weight=1e4, content_weight=1, max_iter=20, history=None,
                       batched_gram=False):
    """The tutorial's loop: L-BFGS over the image, ``num_steps`` calls of ``step``.
    ``history`` (a list) collects each closure's style and content scores and loss."""
    optim = torch.optim
    model, style_losses, content_losses = get_style_model_and_losses(
        torch, cnn, style_img, content_img, batched_gram=batched_gram)

    # the image is the variable; the network is fixed
    input_img.requires_grad_(True)
    model.eval()
    model.requires_grad_(False)

    optimizer = optim.LBFGS([input_img], max_iter=max_iter)
    run = [0]
    step_losses = []
    for _ in range(num_steps):

        def closure():
            # keep the pixels in [0, 1] after the optimizer's last move
            with torch.no_grad():
                input_img.clamp_(0, 1)

            optimizer.zero_grad()
            model(input_img)
            style_score = 0
            content_score = 0

            for sl in style_losses:
                style_score += sl.loss
            for cl in content_losses:
                content_score += cl.loss

            style_score *= style_weight
            content_score *= content_weight

            loss = style_score + content_score
            loss.backward()

            run[0] += 1
            if history is not None:
                history.append((style_score.item(), content_score.item(), loss.item()))
            return style_score + content_score

        step_losses.append(optimizer.step(closure).item())

    # the image's pixels back in [0, 1] once more
    with torch.no_grad():
        input_img.clamp_(0, 1)

    return input_img, {"evaluations": run[0], "step_losses": step_losses,
                       "optimizer": optimizer, "model": model}


def total_variation(x):
    """Anisotropic total variation, mean absolute difference of neighbouring pixels."""
    dh = x[:, :, 1:, :] - x[:, :, :-1, :]
    dw = x[:, :, :, 1:] - x[:, :, :, :-1]
    return dh.abs().mean() + dw.abs().mean()


def style_losses_of(torch, model, style_losses, content_losses, img, style_weight,
                    content_weight):
    model(img)
    style_score = sum(sl.loss for sl in style_losses)
    content_score = sum(cl.loss for cl in content_losses)
    return style_weight * style_score + content_weight * content_score


def run_adam_transfer(torch, cnn, content_img, style_img, steps=20, lr=0.02, style_weight=1e4,
                      content_weight=1.0, tv_weight=1e-2, history=None):
    """The Adam variant, with a total-variation term; the image is kept in [0, 1] through
    ``.data`` after each step, and starts from the content image plus a little noise."""
    model, style_losses, content_losses = get_style_model_and_losses(
        torch, cnn, style_img, content_img, batched_gram=True)
    img = content_img.clone()
    img.requires_grad_(True)
    optimizer = torch.optim.Adam([img], lr=lr)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = style_losses_of(torch, model, style_losses, content_losses, img, style_weight,
                               content_weight)
        loss = loss + tv_weight * total_variation(img)
        loss.backward()
        if history is not None:
            history.append({"loss": loss.item(), "grad": img.grad.detach().clone()})
        optimizer.step()
        img.data.clamp_(0, 1)
        losses.append(loss.item())
    return img, losses


class FeatureExtractor:
    """Captures the activations of named layers of ``cnn`` with forward hooks into a dict."""

    def __init__(self, cnn, names: dict):
        self.features = {}
        self.handles = []
        for index, name in names.items():
            self.handles.append(cnn[index].register_forward_hook(self.save(name)))

    def save(self, name):
        def hook(module, input, output):
            self.features[name] = output.clone()  # the next in-place ReLU would change it
        return hook

    def remove(self):
        for handle in self.handles:
            handle.remove()


def conv_indices(torch, cnn) -> dict:
    """``{index in cnn: 'conv_k'}`` for its convolutions."""
    out, k = {}, 0
    for index, layer in enumerate(cnn.children()):
        if isinstance(layer, torch.nn.Conv2d):
            k += 1
            out[index] = f"conv_{k}"
    return out


def hooked_losses(torch, cnn, content_img, style_img, img, style_weight=1e4,
                  content_weight=1.0):
    """The same weighted loss as the loss modules', computed from hooked features."""
    F = torch.nn.functional
    _, _, Normalization = build_modules(torch)
    norm = Normalization(CNN_NORMALIZATION_MEAN, CNN_NORMALIZATION_STD).to(img.dtype)
    extractor = FeatureExtractor(cnn, conv_indices(torch, cnn))
    with torch.no_grad():
        cnn(norm(content_img))
        content_targets = {k: v.detach() for k, v in extractor.features.items()}
        cnn(norm(style_img))
        style_targets = {k: gram_matrix(torch, v).detach()
                         for k, v in extractor.features.items()}
    extractor.features.clear()
    cnn(norm(img))
    feats = extractor.features
    style_score = sum(F.mse_loss(gram_matrix(torch, feats[name]), style_targets[name])
                      for name in STYLE_LAYERS)
    content_score = sum(F.mse_loss(feats[name], content_targets[name])
                        for name in CONTENT_LAYERS)
    extractor.remove()
    return style_weight * style_score + content_weight * content_score, feats, extractor


def main(torch, num_steps: int = 3, adam_steps: int = 25, seed: int = 0) -> dict:
    """L-BFGS style transfer from the content image, then the Adam + TV variant; returns the
    losses before and after each, and what the tests check about the image and the model."""
    torch.manual_seed(seed)
    cnn = build_cnn(torch, seed)
    content_img, style_img = load_images(torch)
    input_img = content_img.clone()

    model, style_losses, content_losses = get_style_model_and_losses(
        torch, cnn, style_img, content_img)
    with torch.no_grad():
        initial_loss = style_losses_of(torch, model, style_losses, content_losses, input_img,
                                       1e4, 1.0).item()
    history = []
    output, info = run_style_transfer(torch, cnn, content_img, style_img, input_img,
                                      num_steps=num_steps, history=history)
    with torch.no_grad():
        final_loss = style_losses_of(torch, model, style_losses, content_losses, output,
                                     1e4, 1.0).item()
        hooked_final = hooked_losses(torch, cnn, content_img, style_img, output)[0].item()

    img, adam_losses = run_adam_transfer(torch, cnn, content_img, style_img, steps=adam_steps)
    names = [name for name, _ in info["model"].named_children()]
    return {"initial_loss": initial_loss, "final_loss": final_loss,
            "hooked_final_loss": hooked_final,
            "first_closure": history[0], "evaluations": info["evaluations"],
            "step_losses": info["step_losses"],
            "range": (output.min().item(), output.max().item()),
            "same_object": output is input_img,
            "cnn_grads": any(p.grad is not None for p in cnn.parameters()),
            "input_grad": input_img.grad is not None,
            "names": names, "buffers": [n for n, _ in info["model"].named_buffers()],
            "adam_initial": adam_losses[0], "adam_final": adam_losses[-1],
            "adam_range": (img.min().item(), img.max().item())}


if __name__ == "__main__":
    import argparse
    import importlib

    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", default="gpugrad", choices=("gpugrad", "torch"))
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()
    print(main(importlib.import_module(args.lib), args.steps))

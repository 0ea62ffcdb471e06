"""Optimizing an input image rather than weights, in the style of PyTorch's neural style
transfer tutorial: a small fixed random CNN (``requires_grad_(False)``, ``eval``) rebuilt into
an ``nn.Sequential`` by walking ``children()`` with content and style loss modules inserted
after chosen layers, Gram matrices by ``mm`` of the flattened features, L-BFGS over the image
with a closure that clamps it in place, and a forward hook that captures features into a dict
(feature visualization of one channel by gradient ascent with Adam).

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import numpy as np


def _images(size: int = 16):
    """A content image (a bright square on a ramp) and a style image (stripes), (1, 3, H, W)."""
    ys, xs = np.mgrid[0:size, 0:size] / (size - 1)
    content = np.stack([xs, ys, 0.5 * (xs + ys)])
    content[:, size // 4:3 * size // 4, size // 4:3 * size // 4] = 0.9
    stripes = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * xs)
    style = np.stack([stripes, 1 - stripes, 0.5 * np.ones_like(xs)])
    return [(0.1 + 0.8 * image[None]).astype(np.float32) for image in (content, style)]


def main(torch, steps: int = 8, seed: int = 0) -> dict:
    """Transfer the style for ``steps`` L-BFGS steps, then visualize a channel; returns the
    style and content losses before and after, the image's range, and the feature
    visualization's activation before and after."""
    nn, F, optim = torch.nn, torch.nn.functional, torch.optim
    torch.manual_seed(seed)

    def gram_matrix(input):
        b, c, h, w = input.size()
        features = input.view(b * c, h * w)
        G = torch.mm(features, features.t())
        return G.div(b * c * h * w)

    class ContentLoss(nn.Module):
        def __init__(self, target):
            super().__init__()
            self.target = target.detach()

        def forward(self, input):
            self.loss = F.mse_loss(input, self.target)
            return input

    class StyleLoss(nn.Module):
        def __init__(self, target_feature):
            super().__init__()
            self.target = gram_matrix(target_feature).detach()

        def forward(self, input):
            self.loss = F.mse_loss(gram_matrix(input), self.target)
            return input

    class Normalization(nn.Module):
        def __init__(self, mean, std):
            super().__init__()
            self.mean = torch.tensor(mean).view(-1, 1, 1)
            self.std = torch.tensor(std).view(-1, 1, 1)

        def forward(self, img):
            return (img - self.mean) / self.std

    cnn = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(inplace=True),
    )
    # "pretrained" weights, the same for both libraries: He-scaled normals from NumPy
    rng = np.random.default_rng(seed)
    cnn.load_state_dict({
        key: torch.from_numpy((rng.normal(0, 1, tuple(value.shape))
                               * np.sqrt(2 / np.prod(value.shape[1:]))).astype(np.float32))
        if value.dim() > 1 else torch.zeros_like(value)
        for key, value in cnn.state_dict().items()})
    cnn.eval()
    for p in cnn.parameters():
        p.requires_grad_(False)

    content_np, style_np = _images()
    content_img, style_img = torch.from_numpy(content_np), torch.from_numpy(style_np)
    content_layers, style_layers = ["conv_3"], ["conv_1", "conv_2", "conv_3", "conv_4"]

    model = nn.Sequential(Normalization([0.5, 0.5, 0.5], [0.25, 0.25, 0.25]))
    content_losses, style_losses = [], []
    i = 0
    for layer in cnn.children():
        if isinstance(layer, nn.Conv2d):
            i += 1
            name = f"conv_{i}"
        elif isinstance(layer, nn.ReLU):
            name = f"relu_{i}"
            layer = nn.ReLU(inplace=False)  # in place would overwrite what the losses saw
        elif isinstance(layer, nn.MaxPool2d):
            name = f"pool_{i}"
        else:
            raise RuntimeError(f"Unrecognized layer: {layer.__class__.__name__}")
        model.add_module(name, layer)
        if name in content_layers:
            target = model(content_img).detach()
            content_loss = ContentLoss(target)
            model.add_module(f"content_loss_{i}", content_loss)
            content_losses.append(content_loss)
        if name in style_layers:
            target_feature = model(style_img).detach()
            style_loss = StyleLoss(target_feature)
            model.add_module(f"style_loss_{i}", style_loss)
            style_losses.append(style_loss)
    # trim the layers after the last loss
    for i in range(len(model) - 1, -1, -1):
        if isinstance(model[i], (ContentLoss, StyleLoss)):
            break
    model = model[:(i + 1)]
    model.eval()
    model.requires_grad_(False)

    input_img = content_img.clone().requires_grad_(True)
    optimizer = optim.LBFGS([input_img])
    style_weight, content_weight = 1e4, 1.0

    def losses():
        model(input_img)
        style_score = sum(sl.loss for sl in style_losses)
        content_score = sum(cl.loss for cl in content_losses)
        return style_weight * style_score, content_weight * content_score

    with torch.no_grad():
        initial_style, initial_content = (s.item() for s in losses())
    calls, step_losses = [0], []
    for _ in range(steps):
        def closure():
            with torch.no_grad():
                input_img.clamp_(0, 1)
            optimizer.zero_grad()
            style_score, content_score = losses()
            loss = style_score + content_score
            loss.backward()
            calls[0] += 1
            return style_score + content_score

        step_losses.append(optimizer.step(closure).item())
    with torch.no_grad():
        input_img.clamp_(0, 1)
        final_style, final_content = (s.item() for s in losses())

    # feature visualization: ascend one channel of a hooked layer's activation
    activations = {}

    def save_to(name):
        def hook(module, input, output):
            activations[name] = output
        return hook

    handle = cnn[7].register_forward_hook(save_to("conv_4"))
    image = torch.rand(1, 3, 16, 16, requires_grad=True)
    visual_optimizer = optim.Adam([image], lr=0.05)
    objective = []
    for _ in range(30):
        visual_optimizer.zero_grad()
        cnn(image)
        activation = activations["conv_4"][0, 5].mean()
        (-activation).backward()
        visual_optimizer.step()
        with torch.no_grad():
            image.clamp_(0, 1)
        objective.append(activation.item())
    hook_shape = tuple(activations["conv_4"].shape)
    hook_requires_grad = activations["conv_4"].requires_grad
    handle.remove()
    activations.clear()
    cnn(image.detach())
    return {"initial_loss": initial_style + initial_content,
            "final_loss": final_style + final_content,
            "initial_style": initial_style, "final_style": final_style,
            "final_content": final_content, "closure_calls": calls[0],
            "step_losses": step_losses,
            "range": (input_img.min().item(), input_img.max().item()),
            "input_grad": input_img.grad is not None,
            "weights_grad": any(p.grad is not None for p in cnn.parameters()),
            "names": [name for name, _ in model.named_children()],
            "hook_shape": hook_shape, "hook_requires_grad": hook_requires_grad,
            "visual_first": objective[0], "visual_last": objective[-1],
            "hook_removed": not activations}


if __name__ == "__main__":
    import argparse
    import importlib

    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", default="gpugrad", choices=("gpugrad", "torch"))
    parser.add_argument("--steps", type=int, default=8)
    args = parser.parse_args()
    print(main(importlib.import_module(args.lib), args.steps))

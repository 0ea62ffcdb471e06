"""A small ResNet as the CIFAR training scripts write it: ``BasicBlock`` with an
``nn.Sequential`` 1x1-conv shortcut where the shape changes, ``BatchNorm2d`` and in-place
``ReLU``, ``AdaptiveAvgPool2d``, a Kaiming init loop over ``self.modules()`` by ``isinstance``;
trained from a shuffled ``DataLoader`` (``drop_last``) with Nesterov SGD with weight decay under
``OneCycleLR``, ``clip_grad_norm_``, a bfloat16 ``autocast`` forward and label smoothing; an
accuracy pass in ``eval`` mode under ``inference_mode``, and the ``state_dict`` saved to an
``io.BytesIO`` and loaded into a fresh model, which must predict the same.
The task: which of four quadrants of a noisy 8x8 image is brightest.

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import io

import numpy as np


def _images(n: int, seed: int):
    """Noisy 3x8x8 images, one quadrant brighter; the label is the quadrant."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3, 8, 8)).astype(np.float32)
    y = rng.integers(0, 4, n)
    for i, q in enumerate(y):
        r, c = divmod(int(q), 2)
        x[i, :, 4 * r:4 * r + 4, 4 * c:4 * c + 4] += 1.5
    return x, y.astype(np.int64)


def main(torch, epochs: int = 12, seed: int = 0) -> dict:
    """Train for ``epochs``; returns the mean loss of the first and last steps, the held-out
    accuracy, the reloaded model's agreement with the trained one and the autocast dtype."""
    nn, F = torch.nn, torch.nn.functional
    torch.manual_seed(seed)

    class BasicBlock(nn.Module):
        expansion = 1

        def __init__(self, in_planes, planes, stride=1):
            super().__init__()
            self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1,
                                   bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1,
                                   bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.shortcut = nn.Sequential()
            if stride != 1 or in_planes != self.expansion * planes:
                self.shortcut = nn.Sequential(
                    nn.Conv2d(in_planes, self.expansion * planes, kernel_size=1, stride=stride,
                              bias=False),
                    nn.BatchNorm2d(self.expansion * planes),
                )

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            out += self.shortcut(x)
            return self.relu(out)

    class ResNet(nn.Module):
        def __init__(self, block, num_blocks, num_classes=4):
            super().__init__()
            self.in_planes = 8
            self.conv1 = nn.Conv2d(3, 8, kernel_size=3, stride=1, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(8)
            self.layer1 = self._make_layer(block, 8, num_blocks[0], stride=1)
            self.layer2 = self._make_layer(block, 16, num_blocks[1], stride=2)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(16 * block.expansion, num_classes)
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)
            # zero-init the last BN of each residual branch: each block starts as identity
            for m in self.modules():
                if isinstance(m, BasicBlock):
                    nn.init.constant_(m.bn2.weight, 0)

        def _make_layer(self, block, planes, num_blocks, stride):
            strides = [stride] + [1] * (num_blocks - 1)
            layers = []
            for s in strides:
                layers.append(block(self.in_planes, planes, s))
                self.in_planes = planes * block.expansion
            return nn.Sequential(*layers)

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)), inplace=True)
            out = self.layer2(self.layer1(out))
            out = self.avgpool(out)
            out = torch.flatten(out, 1)
            return self.fc(out)

    x, y = _images(640, seed)
    train_set = torch.utils.data.TensorDataset(torch.from_numpy(x[:512]),
                                               torch.from_numpy(y[:512]))
    test_set = torch.utils.data.TensorDataset(torch.from_numpy(x[512:]), torch.tensor(y[512:]))
    train_loader = torch.utils.data.DataLoader(train_set, batch_size=48, shuffle=True,
                                               drop_last=True)
    test_loader = torch.utils.data.DataLoader(test_set, batch_size=64, shuffle=False)

    device = torch.device("cpu")
    model = ResNet(BasicBlock, [1, 1]).to(device)
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True,
                                weight_decay=5e-4)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, epochs=epochs,
                                                    steps_per_epoch=len(train_loader))
    losses, dtypes = [], None
    for _ in range(epochs):
        model.train()
        for inputs, targets in train_loader:
            inputs, targets = inputs.to(device), targets.to(device)
            optimizer.zero_grad()
            with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
                outputs = model(inputs)
                loss = criterion(outputs, targets)
            dtypes = (outputs.dtype, loss.dtype)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())

    def evaluate(net):
        net.eval()
        correct, total, predictions = 0, 0, []
        with torch.inference_mode():
            for inputs, targets in test_loader:
                _, predicted = net(inputs).max(1)
                total += targets.size(0)
                correct += predicted.eq(targets).sum().item()
                predictions.append(predicted)
        return 100.0 * correct / total, torch.cat(predictions)

    accuracy, predicted = evaluate(model)
    state = model.state_dict()
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    restored = ResNet(BasicBlock, [1, 1])
    restored.load_state_dict(torch.load(buffer, weights_only=True))
    restored_accuracy, restored_predicted = evaluate(restored)
    return {"initial_loss": float(np.mean(losses[:3])), "final_loss": float(np.mean(losses[-3:])),
            "accuracy": accuracy, "restored_accuracy": restored_accuracy,
            "agreement": (predicted == restored_predicted).float().mean().item(),
            "dtypes": [_name(d) for d in dtypes], "steps": len(losses),
            "lr_end": scheduler.get_last_lr()[0],
            "state": [(k, tuple(v.shape), _name(v.dtype)) for k, v in state.items()]}


def _name(dtype) -> str:
    """A dtype's name without its module (``torch.float32`` and ``gpugrad.float32`` alike)."""
    return str(dtype).rsplit(".", 1)[-1]


if __name__ == "__main__":
    import importlib
    import sys

    print(main(importlib.import_module(sys.argv[1] if len(sys.argv) > 1 else "gpugrad")))

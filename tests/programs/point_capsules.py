"""Two classic architectures from research repositories, trained on made-up data.

1. A PointNet classifier on point clouds sampled from four kinds of surface (a sphere, a cube's
   faces, a tall cylinder's side, a torus), each randomly stretched, turned about the up axis
   and tilted a little, jittered and normalised to the unit ball. A ``Dataset`` subclass serves
   them as the ShapeNet/ModelNet loaders do: ``__getitem__`` re-centres and rescales the cloud
   in NumPy and, for training, rotates it about the up axis and jitters it, returning the label
   as a (1,) tensor that the loop unwraps with ``target[:, 0]``. The model has the familiar
   layout (narrowed: a 64-wide global feature for the paper's 1024, 16 aligned feature channels
   for 64, 32 points a cloud): a T-Net predicts a 3x3 transform, its 9 outputs added to
   ``torch.eye(3).flatten().view(1, 9).repeat(B, 1)``, applied with ``torch.bmm`` to the points;
   shared MLPs are ``nn.Conv1d(k, m, 1)`` + ``nn.BatchNorm1d`` + ReLU on (B, C, N) tensors,
   switched back and forth with ``x.transpose(2, 1)``; a second T-Net aligns the point
   features, held near orthogonal by the regulariser ``mean(norm(I - A @ A^T, dim=(1, 2)))``;
   the points are pooled by ``torch.max(x, 2, keepdim=True)[0]`` then ``.view(-1, GLOBAL)``;
   the head has BatchNorm, dropout and ``F.log_softmax``, trained with ``F.nll_loss`` by Adam
   under ``StepLR``; the evaluation switches ``model.eval()``, reads ``pred.data.max(1)[1]`` and
   counts ``pred_choice.eq(target.data).cpu().sum()``.

2. A capsule network with dynamic routing on 16x16 glyphs of five kinds (a bar, a ring, a plus,
   a slash, an L). A ``Conv2d`` stem, primary capsules cut out of a strided convolution with
   ``view``/``permute``/``contiguous``, the ``squash`` non-linearity
   ``(sq / (1 + sq)) * x / torch.sqrt(sq + eps)``, prediction vectors by the 5-D broadcast
   ``torch.matmul(W, u[:, :, None, :, None])``, three routing iterations (``F.softmax`` of the
   logits over the output capsules, the weighted sum, the agreement update
   ``b = b + (u_hat * v).sum(-1, keepdim=True)``, ``u_hat.detach()`` in all but the last),
   capsule lengths ``v.norm(dim=-1)``, the margin loss on ``F.one_hot`` targets, a
   reconstruction decoder fed the capsules masked by the true class
   (``torch.sparse.torch.eye(n).index_select(dim=0, index=labels)``, the one-hot idiom of many
   public CapsNets) or, at test time, by the predicted one (``scatter_``), and
   ``F.mse_loss(..., reduction='sum')``; Adam under ``ExponentialLR``, accuracy from
   ``torch.argmax(lengths, dim=1)``.

``train_pointnet`` and ``train_capsnet`` accept an initial state, a dtype, ``shuffle=False``
(and for PointNet ``augment=False`` and ``dropout=0.0``) and ``max_steps`` so that the tests can
run both libraries from the same weights over the same batches. Written once against the module
``torch`` passed to ``main``: gpugrad or PyTorch.
"""

from __future__ import annotations

import math

import numpy as np

SURFACES = ("sphere", "cube", "cylinder", "torus")
GLYPHS = ("bar", "ring", "plus", "slash", "ell")
POINTS = 32  # points per cloud
GLOBAL = 64  # width of the PointNet global feature (1024 in the paper)
FEATURE_K = 16  # channels aligned by the feature transform (64 in the paper)
TILT = 0.3  # radians
SIDE = 16  # glyph images are SIDE x SIDE


# ----------------------------------------------------------------------------- the data

def _random_rotation(rng):
    """A random rotation about the up (z) axis, then a small tilt about x."""
    a, t = rng.uniform(0.0, 2 * math.pi), rng.uniform(-TILT, TILT)
    about_z = np.array([[math.cos(a), -math.sin(a), 0.0], [math.sin(a), math.cos(a), 0.0],
                        [0.0, 0.0, 1.0]])
    about_x = np.array([[1.0, 0.0, 0.0], [0.0, math.cos(t), -math.sin(t)],
                        [0.0, math.sin(t), math.cos(t)]])
    return about_x @ about_z


def _surface(kind: str, n: int, rng):
    """``n`` points on the surface ``kind`` (before any augmentation)."""
    if kind == "sphere":
        p = rng.standard_normal((n, 3))
        return p / np.linalg.norm(p, axis=1, keepdims=True)
    if kind == "cube":
        p = rng.uniform(-1.0, 1.0, (n, 3))
        face = rng.integers(0, 3, n)
        p[np.arange(n), face] = rng.choice([-1.0, 1.0], n)
        return p
    angle = rng.uniform(0.0, 2 * math.pi, n)
    if kind == "cylinder":
        return np.stack([0.6 * np.cos(angle), 0.6 * np.sin(angle), rng.uniform(-1.5, 1.5, n)],
                        axis=1)
    tube = rng.uniform(0.0, 2 * math.pi, n)
    ring = 1.0 + 0.35 * np.cos(tube)
    return np.stack([ring * np.cos(angle), ring * np.sin(angle), 0.35 * np.sin(tube)], axis=1)


def point_clouds(count: int, seed: int, points: int = POINTS):
    """``count`` clouds (count, points, 3) as float32 and their labels (int64): random
    anisotropic scale, rotation and jitter (clipped Gaussian, as PointNet's augmentation),
    centred and scaled into the unit ball."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(SURFACES), count)
    clouds = np.empty((count, points, 3))
    for i, label in enumerate(labels):
        p = _surface(SURFACES[label], points, rng) * rng.uniform(0.85, 1.15, 3)
        p = p @ _random_rotation(rng).T
        p = p + np.clip(0.02 * rng.standard_normal(p.shape), -0.05, 0.05)
        p = p - p.mean(axis=0)
        clouds[i] = p / np.linalg.norm(p, axis=1).max()
    return clouds.astype(np.float32), labels.astype(np.int64)


def glyph_images(count: int, seed: int, side: int = SIDE):
    """``count`` images (count, 1, side, side) in [0, 1] (float32) of the glyphs, each at a
    random offset with random size and stroke, plus a little noise; and their labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(GLYPHS), count)
    rows, cols = np.mgrid[0:side, 0:side].astype(np.float64)
    images = np.empty((count, 1, side, side))
    for i, label in enumerate(labels):
        cy, cx = side / 2 - 0.5 + rng.uniform(-2.0, 2.0, 2)
        half = rng.uniform(4.0, 6.0)
        width = rng.uniform(0.8, 1.4)
        dy, dx = rows - cy, cols - cx
        inside = (np.abs(dy) <= half) & (np.abs(dx) <= half)
        name = GLYPHS[label]
        if name == "bar":
            mask = (np.abs(dx) <= width) & (np.abs(dy) <= half)
        elif name == "ring":
            mask = np.abs(np.hypot(dy, dx) - 0.8 * half) <= width
        elif name == "plus":
            mask = ((np.abs(dx) <= width) | (np.abs(dy) <= width)) & inside
        elif name == "slash":
            mask = (np.abs(dy + dx) <= 1.4 * width) & inside
        else:  # an L: the left side and the bottom
            mask = ((np.abs(dx + half) <= width) | (np.abs(dy - half) <= width)) & inside
        image = mask.astype(np.float64) + 0.1 * rng.standard_normal((side, side))
        images[i, 0] = np.clip(image, 0.0, 1.0)
    return images.astype(np.float32), labels.astype(np.int64)


# ----------------------------------------------------------------------------- PointNet

def build_pointnet(torch, num_classes: int = len(SURFACES), dropout: float = 0.3):
    """The PointNet classifier (with input and feature transforms) for ``torch``."""
    nn, F = torch.nn, torch.nn.functional

    class TNet(nn.Module):
        """Predicts a k x k transform of its (B, k, N) input, starting near the identity."""

        def __init__(self, k: int = 3):
            super().__init__()
            self.k = k
            self.conv1 = nn.Conv1d(k, 16, 1)
            self.conv2 = nn.Conv1d(16, 32, 1)
            self.conv3 = nn.Conv1d(32, GLOBAL, 1)
            self.fc1 = nn.Linear(GLOBAL, 32)
            self.fc2 = nn.Linear(32, 32)
            self.fc3 = nn.Linear(32, k * k)
            self.relu = nn.ReLU()
            self.bn1 = nn.BatchNorm1d(16)
            self.bn2 = nn.BatchNorm1d(32)
            self.bn3 = nn.BatchNorm1d(GLOBAL)
            self.bn4 = nn.BatchNorm1d(32)
            self.bn5 = nn.BatchNorm1d(32)

        def forward(self, x):
            batchsize = x.size()[0]
            x = F.relu(self.bn1(self.conv1(x)))
            x = F.relu(self.bn2(self.conv2(x)))
            x = F.relu(self.bn3(self.conv3(x)))
            x = torch.max(x, 2, keepdim=True)[0]
            x = x.view(-1, GLOBAL)
            x = F.relu(self.bn4(self.fc1(x)))
            x = F.relu(self.bn5(self.fc2(x)))
            x = self.fc3(x)
            iden = torch.eye(self.k, dtype=x.dtype).flatten().view(1, self.k * self.k)
            iden = iden.repeat(batchsize, 1)
            if x.is_cuda:
                iden = iden.cuda()
            x = x + iden
            return x.view(-1, self.k, self.k)

    class PointNetEncoder(nn.Module):
        """Points (B, 3, N) to a global feature (B, GLOBAL), plus both transforms."""

        def __init__(self):
            super().__init__()
            self.stn = TNet(k=3)
            self.conv1 = nn.Conv1d(3, FEATURE_K, 1)
            self.conv2 = nn.Conv1d(FEATURE_K, 32, 1)
            self.conv3 = nn.Conv1d(32, GLOBAL, 1)
            self.bn1 = nn.BatchNorm1d(FEATURE_K)
            self.bn2 = nn.BatchNorm1d(32)
            self.bn3 = nn.BatchNorm1d(GLOBAL)
            self.fstn = TNet(k=FEATURE_K)

        def forward(self, x):
            trans = self.stn(x)
            x = x.transpose(2, 1)
            x = torch.bmm(x, trans)
            x = x.transpose(2, 1)
            x = F.relu(self.bn1(self.conv1(x)))
            trans_feat = self.fstn(x)
            x = x.transpose(2, 1)
            x = torch.bmm(x, trans_feat)
            x = x.transpose(2, 1)
            x = F.relu(self.bn2(self.conv2(x)))
            x = self.bn3(self.conv3(x))
            x = torch.max(x, 2, keepdim=True)[0]
            x = x.view(-1, GLOBAL)
            return x, trans, trans_feat

    class PointNetCls(nn.Module):
        def __init__(self, k: int = num_classes):
            super().__init__()
            self.feat = PointNetEncoder()
            self.fc1 = nn.Linear(GLOBAL, 32)
            self.fc2 = nn.Linear(32, 32)
            self.fc3 = nn.Linear(32, k)
            self.dropout = nn.Dropout(p=dropout)
            self.bn1 = nn.BatchNorm1d(32)
            self.bn2 = nn.BatchNorm1d(32)
            self.relu = nn.ReLU()

        def forward(self, x):
            x, trans, trans_feat = self.feat(x)
            x = F.relu(self.bn1(self.fc1(x)))
            x = F.relu(self.bn2(self.dropout(self.fc2(x))))
            x = self.fc3(x)
            return F.log_softmax(x, dim=1), trans, trans_feat

    return PointNetCls()


def feature_transform_regularizer(torch, trans):
    """How far the (B, d, d) transforms are from orthogonal: mean Frobenius norm of I - A A^T."""
    d = trans.size()[1]
    I = torch.eye(d, dtype=trans.dtype, device=trans.device)[None, :, :]
    return torch.mean(torch.norm(I - trans @ trans.transpose(2, 1), dim=(1, 2)))


def pointnet_loss(torch, model, points, target):
    """NLL of the predictions plus 0.001 times the feature-transform regulariser; the points
    come as (B, N, 3) and are transposed to the (B, 3, N) layout the convolutions take."""
    pred, trans, trans_feat = model(points.transpose(2, 1))
    loss = torch.nn.functional.nll_loss(pred, target)
    return loss + 0.001 * feature_transform_regularizer(torch, trans_feat), pred


def surface_dataset(torch, clouds, labels, data_augmentation: bool = True, seed: int = 0):
    """The clouds as a map-style ``Dataset`` in the ShapeNet/ModelNet loaders' manner: each item
    is re-centred and scaled into the unit ball in ``__getitem__`` and, when augmenting, turned
    by a random angle about the up axis and jittered (NumPy, the generator seeded by ``seed``);
    an item is a (N, 3) float32 tensor and its class as a (1,) int64 tensor."""

    class SurfaceDataset(torch.utils.data.Dataset):
        def __init__(self):
            self.rng = np.random.default_rng(seed)

        def __len__(self):
            return len(labels)

        def __getitem__(self, index):
            point_set = clouds[index].copy()
            point_set = point_set - np.expand_dims(np.mean(point_set, axis=0), 0)
            dist = np.max(np.sqrt(np.sum(point_set ** 2, axis=1)), 0)
            point_set = point_set / dist
            if data_augmentation:
                theta = self.rng.uniform(0, np.pi * 2)
                rotation_matrix = np.array([[np.cos(theta), -np.sin(theta)],
                                            [np.sin(theta), np.cos(theta)]])
                point_set[:, [0, 1]] = point_set[:, [0, 1]].dot(rotation_matrix)
                point_set += self.rng.normal(0, 0.02, size=point_set.shape)
            point_set = torch.from_numpy(point_set.astype(np.float32))
            cls = torch.from_numpy(np.array([labels[index]]).astype(np.int64))
            return point_set, cls

    return SurfaceDataset()


def train_pointnet(torch, epochs: int = 8, seed: int = 0, initial_state=None,
                   dtype: str = "float32", dropout: float = 0.3, shuffle: bool = True,
                   augment: bool = True, max_steps: int | None = None,
                   train_size: int = 320, test_size: int = 160, batch_size: int = 32) -> dict:
    """Train the PointNet classifier; returns per-epoch mean losses, every step's loss, the
    test accuracy before and after, the final state (NumPy) and the learning rate at the end."""
    torch.manual_seed(seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    real = getattr(torch, dtype)
    x, y = point_clouds(train_size + test_size, seed)
    dataset = surface_dataset(torch, x[:train_size], y[:train_size], augment, seed)
    test_dataset = surface_dataset(torch, x[train_size:], y[train_size:], False)
    dataloader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=shuffle,
                                             num_workers=0, drop_last=True)
    testdataloader = torch.utils.data.DataLoader(test_dataset, batch_size=batch_size,
                                                 shuffle=False)

    classifier = build_pointnet(torch, dropout=dropout).to(device=device, dtype=real)
    if initial_state is not None:
        classifier.load_state_dict(initial_state)
    optimizer = torch.optim.Adam(classifier.parameters(), lr=0.002, betas=(0.9, 0.999))
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)

    def accuracy():
        classifier.eval()
        total_correct, total_testset = 0, 0
        with torch.no_grad():
            for points, target in testdataloader:
                target = target[:, 0]
                points = points.transpose(2, 1).to(device=device, dtype=real)
                target = target.to(device)
                pred, _, _ = classifier(points)
                pred_choice = pred.data.max(1)[1]
                correct = pred_choice.eq(target.data).cpu().sum()
                total_correct += correct.item()
                total_testset += points.size()[0]
        classifier.train()
        return total_correct / float(total_testset)

    initial_accuracy = accuracy()
    losses, epoch_losses = [], []
    for _ in range(epochs):
        classifier.train()
        total, seen = 0.0, 0
        for data in dataloader:
            points, target = data
            target = target[:, 0]
            points, target = points.to(device=device, dtype=real), target.to(device)
            optimizer.zero_grad()
            loss, pred = pointnet_loss(torch, classifier, points, target)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            total += loss.item() * points.size(0)
            seen += points.size(0)
            if max_steps is not None and len(losses) >= max_steps:
                break
        scheduler.step()
        epoch_losses.append(total / seen)
        if max_steps is not None and len(losses) >= max_steps:
            break
    return {"initial_loss": epoch_losses[0], "final_loss": epoch_losses[-1],
            "losses": losses, "initial_accuracy": initial_accuracy, "accuracy": accuracy(),
            "state": {k: v.detach().cpu().numpy().copy()
                      for k, v in classifier.state_dict().items()},
            "lr": scheduler.get_last_lr()[0]}


# ----------------------------------------------------------------------------- CapsNet

def squash(torch, x, dim: int = -1, eps: float = 1e-8):
    """Shrinks short vectors to almost nothing and long ones to just under unit length."""
    sq = (x ** 2).sum(dim=dim, keepdim=True)
    return (sq / (1 + sq)) * x / torch.sqrt(sq + eps)


def build_capsnet(torch, num_classes: int = len(GLYPHS), routing_iterations: int = 3):
    """A small CapsNet for SIDE x SIDE single-channel images."""
    nn, F = torch.nn, torch.nn.functional

    class PrimaryCaps(nn.Module):
        """A strided convolution read as ``types`` capsule maps of ``dim``-vectors."""

        def __init__(self, in_channels=16, types=8, dim=4, kernel_size=5, stride=2):
            super().__init__()
            self.types, self.dim = types, dim
            self.conv = nn.Conv2d(in_channels, types * dim, kernel_size, stride=stride)

        def forward(self, x):
            out = self.conv(x)
            batch, _, height, width = out.size()
            out = out.view(batch, self.types, self.dim, height, width)
            out = out.permute(0, 1, 3, 4, 2).contiguous()
            return squash(torch, out.view(batch, -1, self.dim))

    class ClassCaps(nn.Module):
        """Routes ``in_caps`` capsules of ``in_dim`` to ``out_caps`` of ``out_dim``."""

        def __init__(self, in_caps, in_dim, out_caps, out_dim, iterations):
            super().__init__()
            self.in_caps, self.out_caps, self.iterations = in_caps, out_caps, iterations
            self.W = nn.Parameter(0.1 * torch.randn(1, in_caps, out_caps, out_dim, in_dim))

        def forward(self, u):
            # (1, in, out, od, id) @ (B, in, 1, id, 1) -> (B, in, out, od, 1)
            u_hat = torch.matmul(self.W, u[:, :, None, :, None]).squeeze(-1)
            b = torch.zeros(u.size(0), self.in_caps, self.out_caps, 1,
                            dtype=u.dtype, device=u.device)
            for i in range(self.iterations):
                c = F.softmax(b, dim=2)
                if i < self.iterations - 1:
                    # the routing weights are not trained through: only the last pass is
                    s = (c * u_hat.detach()).sum(dim=1, keepdim=True)
                    v = squash(torch, s)
                    b = b + (u_hat.detach() * v).sum(-1, keepdim=True)
                else:
                    s = (c * u_hat).sum(dim=1, keepdim=True)
                    v = squash(torch, s)
            return v.squeeze(1)  # (B, out_caps, out_dim)

    class CapsNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 16, kernel_size=5)  # 16 -> 12
            self.primary = PrimaryCaps(16, types=8, dim=4, kernel_size=5, stride=2)  # -> 4
            self.digits = ClassCaps(8 * 4 * 4, 4, num_classes, 8, routing_iterations)
            self.decoder = nn.Sequential(
                nn.Linear(8 * num_classes, 64), nn.ReLU(inplace=True),
                nn.Linear(64, 128), nn.ReLU(inplace=True),
                nn.Linear(128, SIDE * SIDE), nn.Sigmoid())

        def forward(self, x, y=None):
            x = F.relu(self.conv1(x), inplace=True)
            v = self.digits(self.primary(x))
            lengths = v.norm(dim=-1)
            if y is None:
                # at test time the decoder sees the most likely class's capsule
                index = torch.argmax(lengths, dim=1)
                mask = torch.zeros_like(lengths).scatter_(1, index.unsqueeze(1), 1.0)
            else:
                # one-hot rows of an identity, as the public CapsNets write it
                mask = torch.sparse.torch.eye(num_classes).to(v.device).index_select(
                    dim=0, index=y)
            reconstruction = self.decoder((v * mask[:, :, None]).view(x.size(0), -1))
            return lengths, reconstruction.view(-1, 1, SIDE, SIDE)

    return CapsNet()


def margin_loss(torch, lengths, labels, m_plus=0.9, m_minus=0.1, lam=0.5):
    """The CapsNet margin loss, summed over classes and averaged over the batch."""
    F = torch.nn.functional
    T = F.one_hot(labels, lengths.size(1)).to(lengths.dtype)
    loss = T * F.relu(m_plus - lengths) ** 2 + lam * (1.0 - T) * F.relu(lengths - m_minus) ** 2
    return loss.sum(dim=1).mean()


def capsule_loss(torch, model, images, labels, recon_weight=0.0005):
    """Margin loss plus the down-weighted summed squared reconstruction error per image."""
    lengths, reconstruction = model(images, labels)
    recon = torch.nn.functional.mse_loss(reconstruction, images, reduction="sum")
    return margin_loss(torch, lengths, labels) + recon_weight * recon / images.size(0), lengths


def train_capsnet(torch, epochs: int = 6, seed: int = 0, initial_state=None,
                  dtype: str = "float32", shuffle: bool = True, max_steps: int | None = None,
                  train_size: int = 400, test_size: int = 200, batch_size: int = 40) -> dict:
    """Train the CapsNet; returns per-epoch mean losses, every step's loss, the test accuracy
    before and after, the test reconstruction error, the final state and the learning rate."""
    torch.manual_seed(seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    real = getattr(torch, dtype)
    x, y = glyph_images(train_size + test_size, seed + 1)
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(x[:train_size]).to(real),
                                             torch.from_numpy(y[:train_size]))
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=shuffle)
    test_images = torch.from_numpy(x[train_size:]).to(device=device, dtype=real)
    test_labels = torch.from_numpy(y[train_size:]).to(device)

    model = build_capsnet(torch).to(device=device, dtype=real)
    if initial_state is not None:
        model.load_state_dict(initial_state)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.8)

    def evaluate():
        model.eval()
        with torch.no_grad():
            lengths, reconstruction = model(test_images)
            predicted = torch.argmax(lengths, dim=1)
            accuracy = (predicted == test_labels).float().mean().item()
            error = torch.nn.functional.mse_loss(reconstruction, test_images).item()
        model.train()
        return accuracy, error

    initial_accuracy, initial_recon = evaluate()
    losses, epoch_losses = [], []
    for _ in range(epochs):
        model.train()
        total, seen, correct = 0.0, 0, 0
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            optimizer.zero_grad()
            loss, lengths = capsule_loss(torch, model, images, labels)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            total += loss.item() * images.size(0)
            seen += images.size(0)
            correct += (torch.argmax(lengths, dim=1) == labels).sum().item()
            if max_steps is not None and len(losses) >= max_steps:
                break
        scheduler.step()
        epoch_losses.append(total / seen)
        if max_steps is not None and len(losses) >= max_steps:
            break
    accuracy, recon = evaluate()
    return {"initial_loss": epoch_losses[0], "final_loss": epoch_losses[-1],
            "losses": losses, "initial_accuracy": initial_accuracy, "accuracy": accuracy,
            "train_accuracy": correct / seen, "initial_recon": initial_recon, "recon": recon,
            "state": {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()},
            "lr": scheduler.get_last_lr()[0]}


def main(torch, pointnet_epochs: int = 8, capsnet_epochs: int = 6, seed: int = 0) -> dict:
    """Both models trained; the metrics of each, prefixed ``pointnet_`` and ``capsnet_``."""
    results = {}
    for name, run in (("pointnet", lambda: train_pointnet(torch, pointnet_epochs, seed)),
                      ("capsnet", lambda: train_capsnet(torch, capsnet_epochs, seed))):
        for key, value in run().items():
            if key not in ("losses", "state"):
                results[f"{name}_{key}"] = value
    return results


if __name__ == "__main__":
    import importlib
    import sys
    import time

    start = time.perf_counter()
    print(main(importlib.import_module(sys.argv[1] if len(sys.argv) > 1 else "gpugrad")),
          f"{time.perf_counter() - start:.1f}s")

"""An imbalanced tabular classifier, in the style of the entity-embedding models written for
tabular competitions: raw category codes mapped to indices by ``torch.unique(return_inverse=
True)``, one ``nn.Embedding`` per categorical column in a ``ModuleList``, a numeric column cut
into bins by ``torch.bucketize`` and embedded too, a small column one-hot encoded with
``F.one_hot``, the continuous columns through ``nn.BatchNorm1d``; the rare classes handled
twice over, by class weights in ``CrossEntropyLoss(weight=...)`` and by a
``WeightedRandomSampler`` that draws each class about equally often; ``AdamW`` and a
balanced-accuracy score from ``bincount``.

The task: three classes of 'customers', the rarest a tenth of the data, decided by a city
code, an age band, a plan and two measurements. Written once against the module ``torch``
passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import numpy as np

CITY_CODES = np.array([101, 205, 307, 411, 512, 618, 733, 840])
AGE_EDGES = [25.0, 35.0, 50.0, 65.0]
PLANS, CLASSES = 3, 3


def customers(n: int, seed: int) -> tuple:
    """Columns ``(city code, age, plan, spend, visits)`` and a label in ``0..2`` with about
    65/25/10 percent of the rows."""
    rng = np.random.default_rng(seed)
    city = rng.choice(CITY_CODES, n)
    age = rng.uniform(18, 80, n).astype(np.float32)
    plan = rng.integers(0, PLANS, n)
    spend = rng.lognormal(3.0, 0.5, n).astype(np.float32)
    visits = rng.poisson(4, n).astype(np.float32)
    score = ((city % 3 == 0) * 1.5 + (age > 50) * 1.0 + (plan == 2) * 1.0
             + (spend > 25) * 1.0 + rng.normal(0, 0.3, n))
    label = np.digitize(score, [1.7, 3.0])
    return city, age, plan, np.stack([spend, visits], 1), label


def main(torch, epochs: int = 12, seed: int = 0) -> dict:
    """Train on 1200 rows for ``epochs``; returns the first and last epochs' losses, the
    balanced accuracy on held-out rows and what the encoders saw."""
    nn, F = torch.nn, torch.nn.functional
    DataLoader, TensorDataset = torch.utils.data.DataLoader, torch.utils.data.TensorDataset
    torch.manual_seed(seed)

    city, age, plan, numeric, label = customers(1500, seed=1)
    codes, city_index = torch.unique(torch.from_numpy(city), return_inverse=True)
    boundaries = torch.tensor(AGE_EDGES)
    age_bin = torch.bucketize(torch.from_numpy(age), boundaries)
    categorical = torch.stack([city_index, age_bin], dim=1)
    plan_onehot = F.one_hot(torch.from_numpy(plan), num_classes=PLANS).float()
    numeric = torch.from_numpy(numeric).log1p()
    labels = torch.from_numpy(label)
    cardinalities = [len(codes), len(AGE_EDGES) + 1]

    train_rows, test_rows = slice(0, 1200), slice(1200, None)
    train_labels = labels[train_rows]
    counts = torch.bincount(train_labels, minlength=CLASSES)
    class_weights = counts.sum() / (CLASSES * counts.float())
    sampler = torch.utils.data.WeightedRandomSampler(
        (1.0 / counts.float())[train_labels], num_samples=len(train_labels), replacement=True)
    train = DataLoader(TensorDataset(categorical[train_rows], plan_onehot[train_rows],
                                     numeric[train_rows], train_labels),
                       batch_size=64, sampler=sampler)

    class EntityEmbeddingNet(nn.Module):
        def __init__(self, cardinalities, hidden: int = 32):
            super().__init__()
            self.embeddings = nn.ModuleList(
                nn.Embedding(n, min(8, (n + 1) // 2)) for n in cardinalities)
            self.numeric_norm = nn.BatchNorm1d(2)
            width = sum(e.embedding_dim for e in self.embeddings) + PLANS + 2
            self.mlp = nn.Sequential(
                nn.Linear(width, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Dropout(0.1),
                nn.Linear(hidden, CLASSES))

        def forward(self, categorical, onehot, numeric):
            embedded = [emb(categorical[:, i]) for i, emb in enumerate(self.embeddings)]
            return self.mlp(torch.cat([*embedded, onehot, self.numeric_norm(numeric)], dim=1))

    model = EntityEmbeddingNet(cardinalities)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=1e-3)
    criterion = nn.CrossEntropyLoss(weight=class_weights)
    epoch_losses, drawn = [], torch.zeros(CLASSES, dtype=torch.long)
    for _ in range(epochs):
        model.train()
        running = 0.0
        for cats, onehot, nums, y in train:
            optimizer.zero_grad()
            loss = criterion(model(cats, onehot, nums), y)
            loss.backward()
            optimizer.step()
            running += loss.item() * len(y)
            drawn += torch.bincount(y, minlength=CLASSES)
        epoch_losses.append(running / len(train_labels))

    model.eval()
    with torch.no_grad():
        predicted = model(categorical[test_rows], plan_onehot[test_rows],
                          numeric[test_rows]).argmax(dim=1)
    truth = labels[test_rows]
    hits = torch.bincount(truth[predicted == truth], minlength=CLASSES)
    recall = hits.float() / torch.bincount(truth, minlength=CLASSES).float()
    return {"initial_loss": epoch_losses[0], "final_loss": epoch_losses[-1],
            "balanced_accuracy": recall.mean().item(), "recall": recall.tolist(),
            "codes": codes.tolist(), "bins": torch.bincount(age_bin).tolist(),
            "class_weights": class_weights.tolist(), "drawn_share": (drawn / drawn.sum()).tolist(),
            "running_mean": model.numeric_norm.running_mean.tolist(),
            "index_dtype": str(city_index.dtype).split(".")[-1],
            "bin_dtype": str(age_bin.dtype).split(".")[-1]}

"""Knowledge distillation from a streamed data set, in the style of the distillation recipes:
an ``IterableDataset`` that makes samples on the fly and splits its stream between loader
workers with ``get_worker_info`` (and a ``worker_init_fn`` that seeds each worker); a teacher
trained on it, saved from its ``nn.DataParallel`` wrapper and loaded into a plain model after
``consume_prefix_in_state_dict_if_present``; a student with ``weight_norm`` parametrizations
and a block run through ``torch.utils.checkpoint``, trained on the temperature-scaled
``kl_div(..., log_target=True)`` of the teacher's logits mixed with cross-entropy, Adam with
``amsgrad`` under ``CosineAnnealingLR``, a gradient-norm probe from ``register_hook``, and an
EMA of the student (``swa_utils.AveragedModel`` with ``get_ema_multi_avg_fn``) evaluated
through ``torch.func.functional_call``.

The task: five classes of points on noisy concentric rings. Written once against the module
``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import io
import math

import numpy as np

CLASSES = 5


def rings(rng, n: int) -> tuple:
    """``n`` float32 points in 4 dimensions whose class is the ring (radius) they lie on."""
    label = rng.integers(0, CLASSES, n)
    angle = rng.uniform(0, 2 * math.pi, n)
    radius = 1.0 + label + rng.normal(0, 0.15, n)
    x = np.stack([radius * np.cos(angle), radius * np.sin(angle),
                  rng.normal(0, 1, n), rng.normal(0, 1, n)], 1)
    return x.astype(np.float32), label.astype(np.int64)


def main(torch, teacher_steps: int = 150, student_steps: int = 150, workers: int = 0,
         seed: int = 0) -> dict:
    """Train the teacher and then the student for the given numbers of batches; returns the
    teacher's and student's losses and accuracies, the EMA student's accuracy and agreement
    with the teacher, and checks on the stream and the parametrizations."""
    nn, F = torch.nn, torch.nn.functional
    data = torch.utils.data
    torch.manual_seed(seed)

    class RingStream(data.IterableDataset):
        def __init__(self, total: int, base_seed: int):
            super().__init__()
            self.total, self.base_seed = total, base_seed

        def __iter__(self):
            info = data.get_worker_info()
            worker, count = (0, 1) if info is None else (info.id, info.num_workers)
            rng = np.random.default_rng(self.base_seed + worker)
            x, y = rings(rng, self.total)
            for i in range(worker, self.total, count):
                yield torch.from_numpy(x[i]), int(y[i])

    def seed_worker(worker_id):
        np.random.seed(seed + worker_id)

    def stream(total, base_seed, batch_size=32):
        return data.DataLoader(RingStream(total, base_seed), batch_size=batch_size,
                               num_workers=workers, worker_init_fn=seed_worker)

    def mlp(width):
        return nn.Sequential(nn.Linear(4, width), nn.GELU(), nn.Linear(width, width), nn.GELU(),
                             nn.Linear(width, CLASSES))

    # The teacher, as a multi-GPU script would have trained and saved it.
    teacher = nn.DataParallel(mlp(64))
    opt = torch.optim.AdamW(teacher.parameters(), lr=1e-2)
    teacher_losses = []
    for x, y in stream(teacher_steps * 32, seed):
        loss = F.cross_entropy(teacher(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        teacher_losses.append(loss.item())
    buffer = io.BytesIO()
    torch.save(teacher.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    prefixed = all(k.startswith("module.") for k in state)
    nn.modules.utils.consume_prefix_in_state_dict_if_present(state, "module.")
    plain_teacher = mlp(64)
    plain_teacher.load_state_dict(state)
    plain_teacher.eval().requires_grad_(False)

    class Student(nn.Module):
        def __init__(self, width: int = 48):
            super().__init__()
            self.stem = nn.utils.parametrizations.weight_norm(nn.Linear(4, width))
            self.block = nn.Sequential(nn.Linear(width, width), nn.GELU(),
                                       nn.Linear(width, width), nn.GELU())
            self.head = nn.utils.parametrizations.weight_norm(nn.Linear(width, CLASSES))

        def forward(self, x):
            h = torch.tanh(self.stem(x))
            if self.training:  # recompute the block in backward instead of keeping it
                h = h + torch.utils.checkpoint.checkpoint(self.block, h, use_reentrant=False)
            else:
                h = h + self.block(h)
            return self.head(h)

    student = Student()
    ema = torch.optim.swa_utils.AveragedModel(
        student, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(0.9))
    opt = torch.optim.Adam(student.parameters(), lr=1e-2, amsgrad=True)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=student_steps, eta_min=1e-4)
    temperature, alpha = 2.0, 0.7
    grad_norms, student_losses = [], []
    for x, y in stream(student_steps * 32, seed + 1):
        with torch.no_grad():
            teacher_logits = plain_teacher(x)
        logits = student(x)
        logits.register_hook(lambda g: grad_norms.append(g.norm().item()))
        soft = F.kl_div(F.log_softmax(logits / temperature, dim=-1),
                        F.log_softmax(teacher_logits / temperature, dim=-1),
                        reduction="batchmean", log_target=True) * temperature ** 2
        loss = alpha * soft + (1 - alpha) * F.cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        ema.update_parameters(student)
        student_losses.append(loss.item())

    x, y = rings(np.random.default_rng(seed + 99), 500)
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    student.eval()
    with torch.no_grad():
        teacher_pred = plain_teacher(x).argmax(1)
        student_pred = student(x).argmax(1)
        params = {k: v for k, v in ema.module.named_parameters()}
        ema_pred = torch.func.functional_call(ema.module, params, (x,)).argmax(1)
    names = sorted(n for n, _ in student.named_parameters())
    return {"teacher_initial": float(np.mean(teacher_losses[:5])),
            "teacher_final": float(np.mean(teacher_losses[-10:])),
            "initial_loss": float(np.mean(student_losses[:5])),
            "final_loss": float(np.mean(student_losses[-10:])),
            "teacher_acc": (teacher_pred == y).float().mean().item(),
            "student_acc": (student_pred == y).float().mean().item(),
            "ema_acc": (ema_pred == y).float().mean().item(),
            "agreement": (student_pred == teacher_pred).float().mean().item(),
            "batches": (len(teacher_losses), len(student_losses)), "prefixed": prefixed,
            "grad_norms": len(grad_norms), "names": names,
            "n_averaged": int(ema.n_averaged), "lr_end": sched.get_last_lr()[0]}


if __name__ == "__main__":
    import importlib
    import sys

    print(main(importlib.import_module(sys.argv[1] if len(sys.argv) > 1 else "gpugrad")))

"""NumPy twins of the fused loss kernels (filled in by the nn/losses work).

Every loss primitive computes the loss AND the gradient of its input in one pass, so that
backward only scales that gradient by ``grad_output``. Shapes and conventions:
- ``reduction`` is ``"mean"``, ``"sum"`` or ``"none"``; the loss is a 0-d array for mean and sum,
  per-element (per-row for cross-entropy) for none;
- the returned gradient is d(loss)/d(input) for an upstream gradient of 1 (of ones for none);
  ``None`` when ``need_grad`` is False (under ``no_grad`` it is not computed);
- inputs have already been validated (shapes, dtypes, target ranges) by the op layer.
"""

from __future__ import annotations


class LossTwins:
    """Mixin of loss primitives for a backend with ``self.xp``."""

    def cross_entropy(self, logits, target, weight, ignore_index: int, label_smoothing: float,
                      reduction: str, need_grad: bool):
        """Softmax cross-entropy on ``logits`` (N, C).

        ``target`` is (N,) int64 class indices or (N, C) probabilities (same dtype as logits).
        ``weight`` is a (C,) array or None. Returns ``(loss, grad_logits)``.
        """
        raise NotImplementedError("cross_entropy twin arrives with the losses")

    def bce_with_logits(self, x, y, weight, pos_weight, reduction: str, need_grad: bool):
        """Binary cross-entropy on logits, ``weight``/``pos_weight`` broadcastable or None."""
        raise NotImplementedError("bce_with_logits twin arrives with the losses")

    def mse(self, x, y, reduction: str, need_grad: bool):
        """Mean squared error; the gradient of ``y`` is the negative of the returned one."""
        raise NotImplementedError("mse twin arrives with the losses")

    def l1(self, x, y, reduction: str, need_grad: bool):
        """Mean absolute error; the gradient of ``y`` is the negative of the returned one."""
        raise NotImplementedError("l1 twin arrives with the losses")

"""Precision-recall curves for TensorBoard's ``pr_curves`` plugin (``SummaryWriter.add_pr_curve``
and ``add_pr_curve_raw``): a float32 tensor of six rows (true positives, false positives, true
negatives, false negatives, precision, recall), one column per threshold, with the threshold
count in the plugin's metadata (``PrCurvePluginData``: version 1, num_thresholds 2)."""

from __future__ import annotations

import numpy as np

from . import messages
from .convert import make_np
from .protobuf import int_field
from .summary import tag_bytes

PLUGIN_NAME = "pr_curves"
# The pr_curves plugin shows at most this many thresholds.
MAX_THRESHOLDS = 127
# Keeps precision and recall finite where nothing was counted.
_MINIMUM_COUNT = 1e-7


def _as_array(values) -> np.ndarray:
    from ...tensor import Tensor

    return make_np(values) if isinstance(values, Tensor) else np.asarray(values)


def compute_curve(labels: np.ndarray, predictions: np.ndarray, num_thresholds: int,
                  weights=None) -> np.ndarray:
    """The ``(6, num_thresholds)`` curve of ``predictions`` (in [0, 1]) against the 0/1
    ``labels``: at threshold ``i``, the counts of the predictions whose bucket
    ``floor(p * (num_thresholds - 1))`` is ``i`` or above, each weighted by ``weights``."""
    weights = 1.0 if weights is None else _as_array(weights)
    buckets = np.floor(predictions * (num_thresholds - 1)).astype(np.int32)
    positive = labels.astype(np.float64)

    def counts_at_or_above(weight: np.ndarray) -> np.ndarray:
        per_bucket, _ = np.histogram(buckets, bins=num_thresholds,
                                     range=(0, num_thresholds - 1), weights=weight)
        return np.cumsum(per_bucket[::-1])[::-1]

    true_pos = counts_at_or_above(positive * weights)
    false_pos = counts_at_or_above((1.0 - positive) * weights)
    # Below a threshold: the totals (counted at the lowest threshold) less those above it.
    true_neg = false_pos[0] - false_pos
    false_neg = true_pos[0] - true_pos
    precision = true_pos / np.maximum(_MINIMUM_COUNT, true_pos + false_pos)
    recall = true_pos / np.maximum(_MINIMUM_COUNT, true_pos + false_neg)
    return np.stack((true_pos, false_pos, true_neg, false_neg, precision, recall))


def _summary(tag, curve: np.ndarray, num_thresholds: int) -> bytes:
    tensor = messages.tensor_proto(messages.DT_FLOAT, shape=(curve.shape[0], curve.shape[1]),
                                   float_val=curve)
    metadata = messages.summary_metadata(PLUGIN_NAME, int_field(2, num_thresholds))
    return messages.summary(messages.summary_value(tag_bytes(tag), metadata=metadata,
                                                   tensor=tensor))


def pr_curve(tag, labels, predictions, num_thresholds: int = MAX_THRESHOLDS,
             weights=None) -> bytes:
    """A PR-curve summary of ``predictions`` against ``labels`` (arrays of one shape), at
    ``num_thresholds`` (at most 127) evenly spaced thresholds."""
    num_thresholds = min(num_thresholds, MAX_THRESHOLDS)
    curve = compute_curve(labels, predictions, num_thresholds, weights)
    return _summary(tag, curve, num_thresholds)


def pr_curve_raw(tag, true_positive_counts, false_positive_counts, true_negative_counts,
                 false_negative_counts, precision, recall,
                 num_thresholds: int = MAX_THRESHOLDS) -> bytes:
    """A PR-curve summary from its six rows as given (each one value per threshold)."""
    num_thresholds = min(num_thresholds, MAX_THRESHOLDS)
    rows = (true_positive_counts, false_positive_counts, true_negative_counts,
            false_negative_counts, precision, recall)
    curve = np.stack([_as_array(row) for row in rows])
    return _summary(tag, curve, num_thresholds)

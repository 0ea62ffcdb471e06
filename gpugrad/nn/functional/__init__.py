"""``gpugrad.nn.functional``: the functional form of every layer and loss
(``import gpugrad.nn.functional as F``)."""

from __future__ import annotations

from .activation import gelu, leaky_relu, log_softmax, relu, sigmoid, silu, softmax, tanh
from .attention import scaled_dot_product_attention
from .conv import conv1d, conv2d, fold, unfold
from .layers import dropout, embedding, layer_norm, linear, one_hot
from .linear_cross_entropy import linear_cross_entropy
from .loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    huber_loss,
    l1_loss,
    mse_loss,
    smooth_l1_loss,
)
from .loss_ce import cross_entropy, nll_loss
from .normalization import batch_norm
from .pooling import avg_pool1d, avg_pool2d, max_pool1d, max_pool2d

__all__ = [
    "relu", "leaky_relu", "gelu", "silu", "sigmoid", "tanh", "softmax", "log_softmax",
    "linear", "dropout", "layer_norm", "batch_norm", "embedding", "one_hot", "conv1d", "conv2d",
    "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "unfold", "fold",
    "scaled_dot_product_attention",
    "cross_entropy", "nll_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "linear_cross_entropy",
]

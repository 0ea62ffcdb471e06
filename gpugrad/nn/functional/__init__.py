"""``gpugrad.nn.functional``: the functional form of every layer and loss
(``import gpugrad.nn.functional as F``)."""

from __future__ import annotations

from .. import grad  # ``F.grad`` is ``nn.grad``, as in PyTorch
from .activation import (
    gelu,
    leaky_relu,
    leaky_relu_,
    log_softmax,
    relu,
    relu_,
    sigmoid,
    silu,
    softmax,
    tanh,
)
from .activation_piecewise import (
    hardshrink,
    hardsigmoid,
    hardswish,
    hardtanh,
    hardtanh_,
    prelu,
    relu6,
    rrelu,
    rrelu_,
    softshrink,
    threshold,
    threshold_,
)
from .activation_smooth import (
    celu,
    celu_,
    elu,
    elu_,
    glu,
    gumbel_softmax,
    logsigmoid,
    mish,
    selu,
    selu_,
    softmin,
    softplus,
    softsign,
    tanhshrink,
)
from .attention import scaled_dot_product_attention
from .conv import conv1d, conv2d, conv3d, fold, unfold
from .conv_transpose import conv_transpose1d, conv_transpose2d, conv_transpose3d
from .distance import cosine_similarity, pairwise_distance, pdist
from .dropout import (
    alpha_dropout,
    dropout,
    dropout1d,
    dropout2d,
    dropout3d,
    feature_alpha_dropout,
)
from .grid import (
    GRID_SAMPLE_INTERPOLATION_MODES,
    GRID_SAMPLE_PADDING_MODES,
    affine_grid,
    grid_sample,
)
from .layers import bilinear, embedding, layer_norm, linear, one_hot
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
from .loss_ctc import ctc_loss
from .loss_likelihood import gaussian_nll_loss, kl_div, poisson_nll_loss
from .loss_margin import (
    cosine_embedding_loss,
    hinge_embedding_loss,
    margin_ranking_loss,
    multi_margin_loss,
    multilabel_margin_loss,
    multilabel_soft_margin_loss,
    soft_margin_loss,
    triplet_margin_loss,
    triplet_margin_with_distance_loss,
)
from .mha import multi_head_attention_forward
from .normalization import (
    batch_norm,
    group_norm,
    instance_norm,
    local_response_norm,
    normalize,
    rms_norm,
)
from .padding import pad
from .pooling import (
    avg_pool1d,
    avg_pool2d,
    avg_pool3d,
    max_pool1d,
    max_pool1d_with_indices,
    max_pool2d,
    max_pool2d_with_indices,
    max_pool3d,
    max_pool3d_with_indices,
    max_unpool1d,
    max_unpool2d,
    max_unpool3d,
)
from .pooling_adaptive import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_avg_pool3d,
    adaptive_max_pool1d,
    adaptive_max_pool1d_with_indices,
    adaptive_max_pool2d,
    adaptive_max_pool2d_with_indices,
    adaptive_max_pool3d,
    adaptive_max_pool3d_with_indices,
)
from .pooling_fractional import (
    fractional_max_pool2d,
    fractional_max_pool2d_with_indices,
    fractional_max_pool3d,
    fractional_max_pool3d_with_indices,
)
from .pooling_lp import lp_pool1d, lp_pool2d, lp_pool3d
from .shuffle import channel_shuffle, pixel_shuffle, pixel_unshuffle
from .sparse import embedding_bag
from .upsampling import interpolate, upsample, upsample_bilinear, upsample_nearest

__all__ = [
    "relu", "relu_", "leaky_relu", "leaky_relu_", "gelu", "silu", "sigmoid", "tanh", "softmax",
    "log_softmax",
    "elu", "elu_", "selu", "selu_", "celu", "celu_", "softplus", "softsign", "mish",
    "logsigmoid", "tanhshrink", "glu", "softmin", "gumbel_softmax",
    "hardtanh", "hardtanh_", "relu6", "hardsigmoid", "hardswish", "softshrink", "hardshrink",
    "threshold", "threshold_", "prelu", "rrelu", "rrelu_",
    "linear", "bilinear", "embedding_bag", "dropout", "dropout1d", "dropout2d", "dropout3d",
    "alpha_dropout", "feature_alpha_dropout", "layer_norm", "batch_norm", "group_norm",
    "instance_norm",
    "local_response_norm", "rms_norm", "normalize", "embedding", "one_hot", "conv1d", "conv2d",
    "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "max_pool3d",
    "avg_pool3d", "max_unpool3d",
    "pad", "max_pool1d", "max_pool2d", "max_unpool1d", "max_unpool2d", "avg_pool1d",
    "avg_pool2d", "unfold", "fold", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
    "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool1d_with_indices",
    "adaptive_max_pool2d_with_indices", "adaptive_avg_pool3d", "adaptive_max_pool3d",
    "adaptive_max_pool3d_with_indices", "max_pool1d_with_indices", "max_pool2d_with_indices",
    "max_pool3d_with_indices", "lp_pool1d", "lp_pool2d", "lp_pool3d", "fractional_max_pool2d",
    "fractional_max_pool3d", "fractional_max_pool2d_with_indices",
    "fractional_max_pool3d_with_indices",
    "scaled_dot_product_attention", "multi_head_attention_forward", "cosine_similarity",
    "pairwise_distance", "pdist",
    "cross_entropy", "nll_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "kl_div", "poisson_nll_loss",
    "gaussian_nll_loss", "margin_ranking_loss", "hinge_embedding_loss", "soft_margin_loss",
    "multilabel_soft_margin_loss", "cosine_embedding_loss", "multi_margin_loss",
    "multilabel_margin_loss", "triplet_margin_loss", "triplet_margin_with_distance_loss",
    "linear_cross_entropy", "ctc_loss",
    "interpolate", "upsample", "upsample_nearest", "upsample_bilinear", "pixel_shuffle",
    "pixel_unshuffle", "channel_shuffle", "affine_grid", "grid_sample",
    "GRID_SAMPLE_INTERPOLATION_MODES", "GRID_SAMPLE_PADDING_MODES",
]

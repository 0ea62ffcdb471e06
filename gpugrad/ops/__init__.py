"""Differentiable ops, one ``Function`` per op, grouped by topic.

Each topic module lists its public functions in ``__all__`` and the Tensor methods it provides
in ``METHODS`` (name -> function taking the tensor first); ``install_methods`` binds them.
"""

from __future__ import annotations

from .. import interop
from . import (
    arithmetic,
    compare,
    complex_api,
    contraction,
    convert,
    counting,
    diagonal,
    distance,
    division,
    elementwise,
    finite_diff,
    histograms,
    igamma,
    index_write,
    indexing,
    inplace,
    join,
    linalg,
    linalg_cholesky,
    linalg_householder,
    linalg_legacy,
    linalg_lu,
    linalg_pinv,
    linalg_products,
    linalg_solve,
    linalg_spectral,
    math_more,
    memory,
    more_methods,
    order_stats,
    products,
    quantize,
    random,
    reduction,
    repeat,
    roll,
    rounding,
    sampling,
    scans,
    scatter,
    scatter_reduce,
    segment_reduce,
    select,
    shape,
    softmax,
    sorting,
    splits,
    statistics,
    stft,
    strided,
    structure,
    tensor_info,
    view_copies,
)

TOPICS = [elementwise, arithmetic, division, compare, select, reduction, softmax, shape, join,
          indexing, inplace, linalg, convert, interop, sorting, scatter, random, roll, repeat,
          sampling, contraction, products, diagonal, structure, splits, linalg_solve,
          linalg_cholesky, linalg_spectral, linalg_pinv, linalg_products, linalg_lu,
          linalg_householder, linalg_legacy, order_stats, statistics, scans, counting,
          scatter_reduce, segment_reduce, index_write, tensor_info, math_more, rounding, strided,
          igamma, distance, complex_api, more_methods, memory, view_copies, finite_diff, histograms,
          stft, quantize]


def install_methods(cls) -> None:
    for module in TOPICS:
        for name, fn in module.METHODS.items():
            setattr(cls, name, fn)

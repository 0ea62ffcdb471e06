"""Specs of the complex-number API on real tensors (``ops/complex_api.py``): ``angle``, a step
function with a zero gradient, and the ops that give a real tensor itself."""

from __future__ import annotations

import numpy as np

from ..core import ErrorCase, OpSpec, register
from .elementwise import unary, unary_samples

register(
    unary("angle", kinks=(0,)),
    OpSpec("Tensor.angle", lambda m, x: x.angle(), unary_samples(kinks=(0,))),
    *[OpSpec(name, lambda m, x, _n=name: getattr(m, _n)(x), unary_samples())
      for name in ("conj", "conj_physical", "resolve_conj", "resolve_neg", "real")],
    OpSpec("Tensor.real", lambda m, x: x.real, unary_samples()),
    OpSpec("imag", lambda m, x: m.imag(x), lambda rng: [], differentiable=False,
           errors=[ErrorCase((np.ones(2),), RuntimeError, "imag is not implemented for tensors "
                             "with non-complex dtypes")]),
)

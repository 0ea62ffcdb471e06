"""Tensor methods PyTorch has for ops written in other topics: the in-place forms
``cumsum_``, ``cumprod_``, ``fmod_``, ``remainder_``, ``renorm_``, ``logical_not_``,
``logical_xor_``, ``bitwise_not_`` (each its op written into the tensor, through the in-place
machinery of ``inplace.py``), and ``mvlgamma`` / ``mvlgamma_``, PyTorch's other name for
``special.multigammaln`` (also ``gpugrad.mvlgamma``)."""

from __future__ import annotations

from ._util import Tensor
from .compare import bitwise_not, logical_not, logical_xor
from .division import fmod, remainder
from .inplace import inplace_method
from .reduction import cumsum
from .scans import cumprod
from .statistics import renorm

__all__ = ["mvlgamma"]


def mvlgamma(input: Tensor, p: int) -> Tensor:
    """The log of the multivariate gamma function of dimension ``p`` (``special.multigammaln``)."""
    from ..special import multigammaln  # (the special functions build on the ops)

    return multigammaln(input, p)


METHODS = {name + "_": inplace_method(fn, name) for name, fn in (
    ("cumsum", cumsum), ("cumprod", cumprod), ("fmod", fmod), ("remainder", remainder),
    ("renorm", renorm), ("logical_not", logical_not), ("logical_xor", logical_xor),
    ("bitwise_not", bitwise_not), ("mvlgamma", mvlgamma))}
METHODS["mvlgamma"] = mvlgamma

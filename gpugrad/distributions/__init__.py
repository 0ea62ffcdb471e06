"""``gpugrad.distributions``: parameterizable probability distributions and sampling, as
``torch.distributions``. Log-densities, entropies, CDFs and KL divergences are written with
gpugrad's Tensor ops, so gradients flow to the parameters; ``rsample`` draws with the
reparameterization trick. Draws come from gpugrad's generator (``gpugrad.manual_seed``): the
same seed gives a repeatable stream, but not PyTorch's numbers."""

import sys

from . import (
    constraints,
    kl_cross,  # noqa: F401  (registers the cross-family KL divergences)
    transforms,
)
from ._submodules import register_aliases
from .categorical import Bernoulli, Categorical, OneHotCategorical, OneHotCategoricalStraightThrough
from .constraint_registry import biject_to, transform_to
from .continuous import Cauchy, Exponential, Laplace, Normal, Uniform
from .continuous_bernoulli import ContinuousBernoulli
from .counts import Binomial, Geometric, Poisson
from .derived import Gumbel, HalfCauchy, HalfNormal, NegativeBinomial, Pareto, Weibull
from .distribution import Distribution, ExponentialFamily
from .gamma import Beta, Chi2, Dirichlet, Gamma, StudentT
from .gamma_derived import FisherSnedecor, InverseGamma
from .generalized_pareto import GeneralizedPareto
from .independent import Independent
from .kl import kl_divergence, register_kl
from .lkj_cholesky import LKJCholesky
from .lowrank_multivariate_normal import LowRankMultivariateNormal
from .mixture import MixtureSameFamily, Multinomial
from .multivariate_normal import MultivariateNormal
from .relaxed import RelaxedBernoulli, RelaxedOneHotCategorical
from .transformed_distribution import LogNormal, TransformedDistribution
from .transforms import *  # noqa: F403
from .unit import Kumaraswamy, LogisticNormal
from .von_mises import VonMises
from .wishart import Wishart

__all__ = [
    "Bernoulli", "Beta", "Binomial", "Categorical", "Cauchy", "Chi2", "ContinuousBernoulli",
    "Dirichlet",
    "Distribution", "Exponential", "ExponentialFamily", "FisherSnedecor", "Gamma",
    "GeneralizedPareto", "Geometric", "Gumbel", "HalfCauchy", "HalfNormal", "Independent",
    "InverseGamma", "Kumaraswamy", "LKJCholesky", "Laplace", "LogNormal", "LogisticNormal",
    "LowRankMultivariateNormal", "MixtureSameFamily", "Multinomial", "MultivariateNormal",
    "NegativeBinomial", "Normal", "OneHotCategorical", "OneHotCategoricalStraightThrough",
    "Pareto", "Poisson", "RelaxedBernoulli", "RelaxedOneHotCategorical", "StudentT",
    "TransformedDistribution", "Uniform", "VonMises", "Weibull", "Wishart", "biject_to",
    "constraints", "kl_divergence", "register_kl", "transform_to", "transforms",
    *transforms.__all__,
]

# PyTorch's per-family submodules (``gpugrad.distributions.normal`` ...), after the names exist
register_aliases(sys.modules[__name__])

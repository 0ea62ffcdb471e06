"""``gpugrad.distributions``: parameterizable probability distributions and sampling, as
``torch.distributions``. Log-densities, entropies, CDFs and KL divergences are written with
gpugrad's Tensor ops, so gradients flow to the parameters; ``rsample`` draws with the
reparameterization trick. Draws come from gpugrad's generator (``gpugrad.manual_seed``): the
same seed gives a repeatable stream, but not PyTorch's numbers."""

from . import constraints, transforms
from .categorical import Bernoulli, Categorical, OneHotCategorical, OneHotCategoricalStraightThrough
from .continuous import Cauchy, Exponential, Laplace, Normal, Uniform
from .counts import Binomial, Geometric, Poisson
from .distribution import Distribution, ExponentialFamily
from .gamma import Beta, Chi2, Dirichlet, Gamma, StudentT
from .independent import Independent
from .kl import kl_divergence, register_kl
from .multivariate_normal import MultivariateNormal
from .relaxed import RelaxedBernoulli, RelaxedOneHotCategorical
from .transformed_distribution import LogNormal, TransformedDistribution
from .transforms import *  # noqa: F403

__all__ = [
    "Bernoulli", "Beta", "Binomial", "Categorical", "Cauchy", "Chi2", "Dirichlet",
    "Distribution", "Exponential", "ExponentialFamily", "Gamma",
    "Geometric", "Independent", "Laplace", "LogNormal",
    "MultivariateNormal", "Normal", "OneHotCategorical", "OneHotCategoricalStraightThrough",
    "Poisson", "RelaxedBernoulli", "RelaxedOneHotCategorical", "StudentT",
    "TransformedDistribution", "Uniform", "constraints", "kl_divergence", "register_kl",
    "transforms", *transforms.__all__,
]

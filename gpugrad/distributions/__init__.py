"""``gpugrad.distributions``: parameterizable probability distributions and sampling, as
``torch.distributions``. Log-densities, entropies, CDFs and KL divergences are written with
gpugrad's Tensor ops, so gradients flow to the parameters; ``rsample`` draws with the
reparameterization trick. Draws come from gpugrad's generator (``gpugrad.manual_seed``): the
same seed gives a repeatable stream, but not PyTorch's numbers."""

from . import constraints
from .categorical import Bernoulli, Categorical, OneHotCategorical, OneHotCategoricalStraightThrough
from .continuous import Cauchy, Exponential, Laplace, Normal, Uniform
from .distribution import Distribution, ExponentialFamily
from .independent import Independent
from .kl import kl_divergence, register_kl
from .multivariate_normal import MultivariateNormal

__all__ = [
    "Bernoulli", "Categorical", "Cauchy", "Distribution", "Exponential", "ExponentialFamily",
    "Independent", "Laplace", "MultivariateNormal", "Normal", "OneHotCategorical",
    "OneHotCategoricalStraightThrough", "Uniform", "constraints", "kl_divergence", "register_kl",
]

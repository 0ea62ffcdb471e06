"""PyTorch's one-family submodules (``torch.distributions.normal``,
``torch.distributions.one_hot_categorical`` ...) as alias modules of this package.

gpugrad groups its distributions by topic (``continuous``, ``counts``, ``derived`` ...), while
PyTorch code imports them by PyTorch's file names: ``from torch.distributions.normal import
Normal``. Each name below becomes a module object in ``sys.modules`` holding the package's own
classes (the same objects), so ``import``, ``from ... import`` and attribute access all work.
Submodules that are real files here (``categorical``, ``constraints``, ``gamma``, ``kl``,
``transforms``, ``utils`` ...) are not listed.
"""

from __future__ import annotations

import importlib
import sys
import types

# PyTorch's submodule name -> (the topic module here that defines its names, those names:
# the submodule's ``__all__`` in PyTorch)
ALIASES = {
    "bernoulli": ("categorical", ("Bernoulli",)),
    "beta": ("gamma", ("Beta",)),
    "binomial": ("counts", ("Binomial",)),
    "cauchy": ("continuous", ("Cauchy",)),
    "chi2": ("gamma", ("Chi2",)),
    "dirichlet": ("gamma", ("Dirichlet",)),
    "exp_family": ("distribution", ("ExponentialFamily",)),
    "exponential": ("continuous", ("Exponential",)),
    "fishersnedecor": ("gamma_derived", ("FisherSnedecor",)),
    "geometric": ("counts", ("Geometric",)),
    "gumbel": ("derived", ("Gumbel",)),
    "half_cauchy": ("derived", ("HalfCauchy",)),
    "half_normal": ("derived", ("HalfNormal",)),
    "inverse_gamma": ("gamma_derived", ("InverseGamma",)),
    "kumaraswamy": ("unit", ("Kumaraswamy",)),
    "laplace": ("continuous", ("Laplace",)),
    "log_normal": ("transformed_distribution", ("LogNormal",)),
    "logistic_normal": ("unit", ("LogisticNormal",)),
    "mixture_same_family": ("mixture", ("MixtureSameFamily",)),
    "multinomial": ("mixture", ("Multinomial",)),
    "negative_binomial": ("derived", ("NegativeBinomial",)),
    "normal": ("continuous", ("Normal",)),
    "one_hot_categorical": ("categorical",
                            ("OneHotCategorical", "OneHotCategoricalStraightThrough")),
    "pareto": ("derived", ("Pareto",)),
    "poisson": ("counts", ("Poisson",)),
    "relaxed_bernoulli": ("relaxed", ("LogitRelaxedBernoulli", "RelaxedBernoulli")),
    "relaxed_categorical": ("relaxed", ("ExpRelaxedCategorical", "RelaxedOneHotCategorical")),
    "studentT": ("gamma", ("StudentT",)),
    "uniform": ("continuous", ("Uniform",)),
    "weibull": ("derived", ("Weibull",)),
}


def register_aliases(package: types.ModuleType) -> None:
    """Make each of ``ALIASES`` an importable submodule of ``package`` holding the objects
    its topic module defines."""
    for name, (topic, public) in ALIASES.items():
        full = f"{package.__name__}.{name}"
        source = importlib.import_module(f"{package.__name__}.{topic}")
        module = types.ModuleType(full, f"``{full}``: {', '.join(public)} (an alias module, "
                                        f"as ``torch.distributions.{name}``).")
        for attr in public:
            setattr(module, attr, getattr(source, attr))
        module.__all__ = list(public)
        sys.modules[full] = module
        setattr(package, name, module)

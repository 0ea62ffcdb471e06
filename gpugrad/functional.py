"""``gpugrad.functional``: the functions PyTorch defines in ``torch.functional`` (``einsum``,
``meshgrid``, ``cdist``, ``unique``...), which programs sometimes import from there. Each name
is the top-level function itself (``gpugrad.functional.einsum is gpugrad.einsum``), ``stft``
and ``istft`` included."""

from __future__ import annotations

__all__ = """atleast_1d atleast_2d atleast_3d broadcast_shapes broadcast_tensors cartesian_prod
    block_diag cdist chain_matmul einsum istft lu norm meshgrid pca_lowrank split stft svd_lowrank
    tensordot unique unique_consecutive unravel_index""".split()  # (served by __getattr__ below)


def __getattr__(name: str):
    # Read from the package when asked, so that each is the top-level object as installed
    # (wrapped for the NumPy spellings and out=, where those apply).
    if name in __all__:
        import gpugrad

        return getattr(gpugrad, name)
    raise AttributeError(f"module 'gpugrad.functional' has no attribute {name!r}")


def __dir__() -> list:
    return sorted(list(globals()) + __all__)

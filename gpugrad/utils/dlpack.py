"""``gpugrad.utils.dlpack``: ``torch.utils.dlpack``'s names, DLPack capsules in and out."""

from ..interop import from_dlpack, to_dlpack

__all__ = ["from_dlpack", "to_dlpack"]

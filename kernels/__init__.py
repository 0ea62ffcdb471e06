"""Triton kernels and their host launchers (installed as ``gpugrad.kernels``).

Kernels see raw arrays, never Tensors. Each launcher has the signature of its NumPy twin in
``gpugrad/backend``; the CUDA backend and the interpreter backend bind them.
"""

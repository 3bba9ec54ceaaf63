"""Runtime: specialization, launch through the CUDA driver API."""
from .driver import gpu_available
from .jit import JITFunction, jit

__all__ = ["JITFunction", "gpu_available", "jit"]

"""Runtime: specialization, launch through the CUDA driver API, caches, AOT."""
from .aot import compile
from .driver import gpu_available
from .jit import JITFunction, jit
from .loader import AOTKernel, load

__all__ = ["AOTKernel", "JITFunction", "compile", "gpu_available", "jit", "load"]

"""Runtime: specialization, launch through the CUDA driver API, caches, AOT."""
from .aot import compile
from .driver import gpu_available
from .jit import JITFunction, jit
from .loader import AOTKernel, load
from .metadata import MetadataError

__all__ = ["AOTKernel", "JITFunction", "MetadataError", "compile", "gpu_available", "jit", "load"]

"""tile: write NVIDIA Hopper kernels as short Python functions over tiles.

    @tile.jit
    def add(x, y, out, n, BLOCK: tile.constexpr):
        start = tile.program_id(0) * BLOCK
        a = tile.load(x, start, BLOCK, bound=n)
        b = tile.load(y, start, BLOCK, bound=n)
        tile.store(out, start, a + b, bound=n)
"""
from .errors import CaptureError, CompilationError
from .language import *  # noqa: F401,F403  (language.__all__: element types and functions)
from . import language as _language
from .runtime import JITFunction, compile, gpu_available, jit
from .autotune import Config, autotune  # noqa: E402  (after the runtime it uses)
from . import distributed  # noqa: E402  (worlds of ranks: docs/distributed.md)
from .copies import get, put  # noqa: E402  (written in the tile language: after jit)

__version__ = "0.1.0"

__all__ = [*_language.__all__, "CaptureError", "CompilationError", "Config", "JITFunction", "autotune", "compile",
           "distributed", "get", "gpu_available", "jit", "put"]

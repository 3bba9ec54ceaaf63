"""tile: write NVIDIA Hopper kernels as short Python functions over tiles.

    @tile.jit
    def add(x, y, out, n, BLOCK: tile.constexpr):
        start = tile.program_id(0) * BLOCK
        a = tile.load(x, start, BLOCK, bound=n)
        b = tile.load(y, start, BLOCK, bound=n)
        tile.store(out, start, a + b, bound=n)
"""
from .errors import CompilationError
from .language import (bfloat16, constexpr, dtype, float8e4m3, float8e5m2, float16, float32,
                       int8, int16, int32, int64, load, num_programs, program_id, store)
from .runtime import JITFunction, compile, gpu_available, jit

__version__ = "0.1.0"

__all__ = [
    "CompilationError", "JITFunction", "bfloat16", "compile", "constexpr", "dtype", "float8e4m3",
    "float8e5m2", "float16", "float32", "gpu_available", "int8", "int16", "int32", "int64",
    "jit", "load", "num_programs", "program_id", "store",
]

"""tile: write NVIDIA Hopper kernels as short Python functions over tiles.

    @tile.jit
    def add(x, y, out, n, BLOCK: tile.constexpr):
        start = tile.program_id(0) * BLOCK
        a = tile.load(x, start, BLOCK, bound=n)
        b = tile.load(y, start, BLOCK, bound=n)
        tile.store(out, start, a + b, bound=n)
"""
from .errors import CompilationError
from .language import (arange, bfloat16, cdiv, constexpr, dtype, exp, exp2, fdiv, float8e4m3,
                       float8e5m2, float16, float32, full, int1, int8, int16, int32, int64, load,
                       log, log2, max, maximum, min, minimum, mma, neg_inf, notify, num_programs,
                       program_id, sqrt, store, sum, transpose, wait, where, zeros)
from .language import (abs, ceil, clamp, cos, erf, floor, fma, rsqrt, sigmoid, sin,
                       static_assert, tanh)
from .language import argmax, argmin, cumprod, cumsum, device_assert, device_print, topk
from .language import atomic_add, atomic_cas, atomic_max, atomic_min, atomic_xchg
from .language import expand_dims, squeeze
from .language import rand, randint, randint4x, randn
from .language import barrier_all, num_ranks, rank, remote
from .runtime import JITFunction, compile, gpu_available, jit
from .autotune import Config, autotune  # noqa: E402  (after the runtime it uses)
from . import distributed  # noqa: E402  (worlds of ranks: docs/distributed.md)
from .copies import get, put  # noqa: E402  (written in the tile language: after jit)

__version__ = "0.1.0"

__all__ = [
    "CompilationError", "Config", "JITFunction", "arange", "autotune", "bfloat16", "cdiv", "compile", "constexpr",
    "dtype", "exp", "exp2", "fdiv", "float8e4m3", "float8e5m2", "float16", "float32", "full",
    "gpu_available", "int1", "int8", "int16", "int32", "int64", "jit", "load", "log", "log2",
    "max", "maximum", "min", "minimum", "mma", "neg_inf", "notify", "num_programs", "program_id",
    "sqrt", "store", "sum", "transpose", "wait", "where", "zeros",
]
__all__ += ["abs", "ceil", "clamp", "cos", "erf", "floor", "fma", "rsqrt", "sigmoid", "sin",
            "static_assert", "tanh"]
__all__ += ["argmax", "argmin", "cumprod", "cumsum", "device_assert", "device_print", "topk"]
__all__ += ["atomic_add", "atomic_cas", "atomic_max", "atomic_min", "atomic_xchg"]
__all__ += ["expand_dims", "squeeze"]
__all__ += ["rand", "randint", "randint4x", "randn"]
__all__ += ["barrier_all", "distributed", "get", "num_ranks", "put", "rank", "remote"]

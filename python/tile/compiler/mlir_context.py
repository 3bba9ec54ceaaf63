"""The MLIR context with tile's dialect and passes loaded.

tile's C++ library is loaded with ctypes and speaks only the MLIR C API, so
the same build works under every Python version of the `mlir` bindings.
"""
from __future__ import annotations

import ctypes
import os
from functools import lru_cache
from pathlib import Path

LIBRARY = "libTileCAPI.so"


def find_library() -> Path:
    """`$TILE_LIB` if set, else `_lib/` inside any directory of the tile package."""
    if env := os.environ.get("TILE_LIB"):
        path = Path(env)
        if not path.is_file():
            raise FileNotFoundError(f"TILE_LIB={env} is not a file")
        return path
    import tile
    for root in tile.__path__:
        candidate = Path(root) / "_lib" / LIBRARY
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"{LIBRARY} not found in {list(tile.__path__)}: build tile with "
        "`pip install --no-build-isolation -e .` (see README) or set TILE_LIB")


@lru_cache(maxsize=1)
def _library() -> ctypes.CDLL:
    import mlir.ir  # noqa: F401  (loads libMLIRPythonCAPI.so, which we link against)
    lib = ctypes.CDLL(str(find_library()))
    lib.tileRegisterDialect.argtypes = [ctypes.c_void_p]
    lib.tileRegisterDialect.restype = None
    lib.tileRegisterPasses.argtypes = []
    lib.tileRegisterPasses.restype = None
    lib.tileRegisterPasses()
    return lib


def _capsule_pointer(capsule, name: bytes) -> int:
    get = ctypes.pythonapi.PyCapsule_GetPointer
    get.restype = ctypes.c_void_p
    get.argtypes = [ctypes.py_object, ctypes.c_char_p]
    return get(capsule, name)


def new_context():
    """A fresh `mlir.ir.Context` that knows the tile dialect and passes."""
    from mlir import ir
    ctx = ir.Context()
    _library().tileRegisterDialect(_capsule_pointer(ctx._CAPIPtr, b"mlir.ir.Context._CAPIPtr"))
    return ctx

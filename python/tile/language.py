"""The tile language: what a `@tile.jit` kernel may call.

These functions are never executed by Python: the frontend reads a kernel's
source and turns each call into tile IR. Calling one outside a kernel raises.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class dtype:
    """An element type. `name` is the user-facing name, `mlir` the IR spelling."""

    name: str
    mlir: str
    bits: int

    @property
    def is_float(self) -> bool:
        return self.mlir.startswith(("f", "bf"))

    def __repr__(self) -> str:
        return f"tile.{self.name}"


float32 = dtype("float32", "f32", 32)
float16 = dtype("float16", "f16", 16)
bfloat16 = dtype("bfloat16", "bf16", 16)
float8e4m3 = dtype("float8e4m3", "f8E4M3FN", 8)
float8e5m2 = dtype("float8e5m2", "f8E5M2", 8)
int32 = dtype("int32", "i32", 32)
int16 = dtype("int16", "i16", 16)
int8 = dtype("int8", "i8", 8)
int64 = dtype("int64", "i64", 64)
int1 = dtype("int1", "i1", 1)

DTYPES = {d.name: d for d in (float32, float16, bfloat16, float8e4m3, float8e5m2,
                              int32, int16, int8, int64, int1)}
BY_MLIR = {d.mlir: d for d in DTYPES.values()}


class constexpr:
    """Annotation for a kernel parameter whose value is known at compile time.

    `def kernel(x, BLOCK: tile.constexpr)`: each distinct value of `BLOCK`
    compiles its own specialization.
    """


def _builtin(fn):
    """Marks a language function; calling it from plain Python is an error."""

    def outside_kernel(*args, **kwargs):
        raise RuntimeError(f"tile.{fn.__name__} can only be called inside a @tile.jit kernel")

    outside_kernel.__name__ = fn.__name__
    outside_kernel.__qualname__ = fn.__qualname__
    outside_kernel.__doc__ = fn.__doc__
    outside_kernel.__tile_builtin__ = fn.__name__
    return outside_kernel


@_builtin
def program_id(axis):
    """Index of this program (CTA) along grid axis 0, 1 or 2 (a constexpr)."""


@_builtin
def num_programs(axis):
    """Number of programs (CTAs) along grid axis 0, 1 or 2 (a constexpr)."""


@_builtin
def load(ptr, offset, size, bound=None):
    """Load the 1-D tile `ptr[offset : offset + size]` from global memory.

    `size` is a constexpr power of two. Elements at `offset + i >= bound` read
    as zero (the ragged edge); without `bound` every element is read.
    """


@_builtin
def store(ptr, offset, value, bound=None):
    """Store the 1-D tile `value` to `ptr[offset : offset + len(value)]`.

    Elements at `offset + i >= bound` are not written.
    """

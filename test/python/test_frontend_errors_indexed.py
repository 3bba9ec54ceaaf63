"""Misused gathers, scatters, masks and atomics: a CompilationError at the marked
line that says what is wrong."""
import pytest

import tile
from expect_error import expect_error

VEC, IVEC, MAT = "*f32:16", "*i32:16", "*f32[2]:16"


@tile.jit
def mask_shape(x, B: tile.constexpr):
    v = tile.load(x, tile.arange(B), mask=tile.arange(B // 2) < 3)  # <- mask shape


@tile.jit
def mask_broadcast(A, B: tile.constexpr):
    v = tile.load(A, (0, 0), (B, B), mask=(tile.arange(B * 2) < 3)[:, None])  # <- broadcast


@tile.jit
def mask_not_boolean(x, B: tile.constexpr):
    tile.store(x, 0, tile.zeros((B,)), mask=tile.arange(B))  # <- not boolean


@tile.jit
def float_offsets(x, B: tile.constexpr):
    v = tile.load(x, tile.zeros((B,)))  # <- float offsets


@tile.jit
def other_inexact(x, B: tile.constexpr):
    v = tile.load(x, tile.arange(B), mask=tile.arange(B) < 4, other=1.5)  # <- other


@tile.jit
def other_dtype(x, y, B: tile.constexpr):
    v = tile.load(x, tile.arange(B), mask=tile.arange(B) < 4, other=y)  # <- other dtype


@tile.jit
def gather_shape(x, B: tile.constexpr):
    v = tile.load(x, tile.arange(B), (B,))  # <- gather shape


@tile.jit
def gather_bound(x, n, B: tile.constexpr):
    v = tile.load(x, tile.arange(B), bound=n)  # <- gather bound


@tile.jit
def atomic_dtype(x, B: tile.constexpr):
    tile.atomic_max(x, tile.arange(B), tile.load(x, 0, B))  # <- atomic dtype


@tile.jit
def atomic_scope(x, B: tile.constexpr):
    tile.atomic_add(x, tile.arange(B), 1.0, scope="device")  # <- scope


@tile.jit
def atomic_sem(x, B: tile.constexpr):
    tile.atomic_add(x, tile.arange(B), 1.0, sem="seq_cst")  # <- sem


@tile.jit
def atomic_value_dtype(x, B: tile.constexpr):
    tile.atomic_add(x, tile.arange(B), tile.arange(B))  # <- value dtype


@tile.jit
def atomic_value_shape(x, B: tile.constexpr):
    tile.atomic_add(x, tile.arange(B), tile.zeros((B * 2,)))  # <- value shape


@tile.jit
def atomic_value_constant(x, B: tile.constexpr):
    tile.atomic_add(x, tile.arange(B), 0.5)  # <- int array


@tile.jit
def scatter_shape(x, B: tile.constexpr):
    tile.store(x, tile.arange(B), tile.zeros((B * 2,)))  # <- scatter shape


@tile.jit
def load_without_shape(x):
    v = tile.load(x, 0.5)  # <- shape missing


CASES = {
    "mask shape": (mask_shape, "load's mask is tile[64] of int1 but the tile's shape is [128]",
                   (VEC,)),
    "mask broadcast": (mask_broadcast, "load's mask is tile[256, 1] of int1 (a 1-D "
                       "tile[:, None]) but the tile's shape is [128, 128]", (MAT,)),
    "not boolean": (mask_not_boolean, "store's mask must be a boolean tile", (VEC,)),
    "float offsets": (float_offsets, "load's offsets must be an int32 or int64 tile (element "
                      "offsets into the array), got tile[128] of float32", (VEC,)),
    "other": (other_inexact, "load's other 1.5 cannot be int32", (IVEC,)),
    "other dtype": (other_dtype, "load's other is float32 but the array holds int32",
                    (IVEC, "f32")),
    "gather shape": (gather_shape, "a gather takes no shape", (VEC,)),
    "gather bound": (gather_bound, "`bound` is for the 1-D form", (VEC, "i32")),
    "atomic dtype": (atomic_dtype, "atomic max takes i32, i64 or f32 elements, got 'f16'",
                     ("*f16:16",)),
    "scope": (atomic_scope, "atomic_add's scope must be one of 'cta', 'gpu', 'sys', got "
              "'device'", (VEC,)),
    "sem": (atomic_sem, "atomic_add's sem must be one of 'relaxed', 'acquire', 'release', "
            "'acq_rel'", (VEC,)),
    "value dtype": (atomic_value_dtype, "atomic_add's value is tile[128] of int32 but the "
                    "1-D array 'x' of float32 holds float32", (VEC,)),
    "value shape": (atomic_value_shape, "the offsets' shape is (128,)", (VEC,)),
    "int array": (atomic_value_constant, "atomic_add's value 0.5 cannot be int32", (IVEC,)),
    "scatter shape": (scatter_shape, "store's value is tile[256] of float32 but the offsets' "
                      "shape is (128,)", (VEC,)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_misuse_is_an_error_at_the_line(case):
    kernel, message, args = CASES[case]
    marker = "# <- " + {"mask broadcast": "broadcast", "not boolean": "not boolean",
                        "atomic dtype": "atomic dtype"}.get(case, case)
    expect_error(kernel, marker, message, *args, B=128)


def test_load_needs_a_shape():
    expect_error(load_without_shape, "# <- shape missing",
                 "load needs a shape: load(x, start, BLOCK)", VEC)

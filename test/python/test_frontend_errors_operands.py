"""Kernels that apply an operator to something it is not defined on, or call
something that is not a function: a CompilationError at the marked line, never
a Python exception from inside the frontend."""
import pytest

import tile
from expect_error import expect_error

VEC = "*f32:16"
FP8 = "*f8E4M3FN[2]:16"


@tile.jit
def negate_array(x, BLOCK: tile.constexpr):
    y = -x  # <- negate array


@tile.jit
def invert_array(x, BLOCK: tile.constexpr):
    y = ~x  # <- invert array


@tile.jit
def not_array(x, BLOCK: tile.constexpr):
    y = not x  # <- not array


@tile.jit
def compare_arrays(x, y, BLOCK: tile.constexpr):
    same = x == y  # <- compare arrays


@tile.jit
def array_less_than(x, BLOCK: tile.constexpr):
    small = x < BLOCK  # <- array less


@tile.jit
def array_and(x, n, BLOCK: tile.constexpr):
    both = x and n > 0  # <- array and


@tile.jit
def if_array(x, BLOCK: tile.constexpr):
    if x:  # <- if array
        tile.store(x, 0, tile.zeros((BLOCK,), tile.float32))


@pytest.mark.parametrize("kernel,marker,operator,args", [
    (negate_array, "# <- negate array", "'-'", (VEC,)),
    (invert_array, "# <- invert array", "'~'", (VEC,)),
    (not_array, "# <- not array", "'not'", (VEC,)),
    (compare_arrays, "# <- compare arrays", "'=='", (VEC, VEC)),
    (array_less_than, "# <- array less", "'<'", (VEC,)),
    (array_and, "# <- array and", "'and'", (VEC, "i32")),
    (if_array, "# <- if array", "an `if` condition", (VEC,)),
])
def test_operator_on_array_argument(kernel, marker, operator, args):
    expect_error(kernel, marker, f"{operator} on arrays (pointers) is not supported, got the "
                 "1-D array 'x' of float32; load a tile from it with tile.load", *args, BLOCK=64)


@tile.jit
def negate_dtype(x, BLOCK: tile.constexpr):
    d = -tile.float32  # <- negate dtype


def test_negating_a_non_number_constant():
    expect_error(negate_dtype, "# <- negate dtype", "'-' is not defined on tile.float32",
                 VEC, BLOCK=64)


@tile.jit
def call_array(x, BLOCK: tile.constexpr):
    y = x(1)  # <- call array


@tile.jit
def call_tile(x, BLOCK: tile.constexpr):
    t = tile.load(x, 0, BLOCK)
    y = t(1)  # <- call tile


@tile.jit
def call_constexpr(x, BLOCK: tile.constexpr):
    y = BLOCK(1)  # <- call constexpr


@tile.jit
def call_dtype(x, BLOCK: tile.constexpr):
    y = tile.float32(1)  # <- call dtype


@pytest.mark.parametrize("kernel,marker,what", [
    (call_array, "# <- call array", "the 1-D array 'x' of float32"),
    (call_tile, "# <- call tile", "tile[64] of float32"),
    (call_constexpr, "# <- call constexpr", "the constant 64"),
    (call_dtype, "# <- call dtype", "tile.float32"),
])
def test_calling_what_is_not_a_function(kernel, marker, what):
    expect_error(kernel, marker, f"{what} is not callable; only tile.* functions, @tile.jit "
                 "functions and min/max/abs/int/float/bool/len can be called", VEC, BLOCK=64)


# -- float8: stored, converted and multiplied, nothing else ---------------------------
@tile.jit
def fp8_add(A, BM: tile.constexpr):
    a = tile.load(A, (0, 0), (BM, BM))
    b = a + a  # <- fp8 add


@tile.jit
def fp8_scale(A, BM: tile.constexpr):
    a = tile.load(A, (0, 0), (BM, BM))
    b = a * 2.0  # <- fp8 scale


@tile.jit
def fp8_negate(A, BM: tile.constexpr):
    b = -tile.load(A, (0, 0), (BM, BM))  # <- fp8 negate


@tile.jit
def fp8_compare(A, BM: tile.constexpr):
    a = tile.load(A, (0, 0), (BM, BM))
    b = a > 0.0  # <- fp8 compare


@tile.jit
def fp8_exp(A, BM: tile.constexpr):
    b = tile.exp(tile.load(A, (0, 0), (BM, BM)))  # <- fp8 exp


@tile.jit
def fp8_max(A, BM: tile.constexpr):
    b = tile.max(tile.load(A, (0, 0), (BM, BM)), 1)  # <- fp8 max


@tile.jit
def fp8_sum(A, BM: tile.constexpr):
    b = tile.sum(tile.load(A, (0, 0), (BM, BM)), 0)  # <- fp8 sum


@tile.jit
def fp8_maximum(A, BM: tile.constexpr):
    a = tile.load(A, (0, 0), (BM, BM))
    b = tile.maximum(a, a)  # <- fp8 maximum


@tile.jit
def fp8_fdiv(A, BM: tile.constexpr):
    a = tile.load(A, (0, 0), (BM, BM))
    b = tile.fdiv(a, a)  # <- fp8 fdiv


@tile.jit
def fp8_where(A, n, BM: tile.constexpr):
    a = tile.load(A, (0, 0), (BM, BM))
    b = tile.where(a.to(tile.float32) > 0.0, a, a)  # <- fp8 where


@tile.jit
def fp8_zeros(A, n, BM: tile.constexpr):
    tile.store(A, (0, 0), tile.zeros((BM, BM), tile.float8e4m3))  # <- fp8 zeros


@tile.jit
def fp8_carried(A, n, BM: tile.constexpr):
    a = tile.load(A, (0, 0), (BM, BM))
    for i in range(n):  # <- fp8 carried
        a = tile.load(A, (i, 0), (BM, BM))
    tile.store(A, (0, 0), a)


@tile.jit
def fp8_after_if(A, n, BM: tile.constexpr):
    a = tile.load(A, (0, 0), (BM, BM))
    if n > 0:  # <- fp8 if
        a = tile.load(A, (BM, 0), (BM, BM))
    tile.store(A, (0, 0), a)


@pytest.mark.parametrize("kernel,marker,what", [
    (fp8_where, "# <- fp8 where", "tile.where on tile[64, 64] of float8e4m3"),
    (fp8_zeros, "# <- fp8 zeros", "zeros on tile.float8e4m3"),
    (fp8_carried, "# <- fp8 carried", "'a' carried by the loop on tile[64, 64] of float8e4m3"),
    (fp8_after_if, "# <- fp8 if", "'a' after the `if` on tile[64, 64] of float8e4m3"),
])
def test_float8_values_the_lowering_cannot_hold(kernel, marker, what):
    """These aborted in the LLVM lowering (select, scf.if results) or failed its
    translation (constants, loop-carried values)."""
    expect_error(kernel, marker, f"{what}: float8 values are only stored, converted and "
                 "multiplied (tile.mma); convert with .to(tile.float32) first", FP8, "i32", BM=64)


@pytest.mark.parametrize("kernel,marker,what", [
    (fp8_add, "# <- fp8 add", "'+'"), (fp8_scale, "# <- fp8 scale", "'*'"),
    (fp8_negate, "# <- fp8 negate", "'-'"), (fp8_compare, "# <- fp8 compare", "'>'"),
    (fp8_exp, "# <- fp8 exp", "exp"), (fp8_max, "# <- fp8 max", "max"),
    (fp8_sum, "# <- fp8 sum", "sum"), (fp8_maximum, "# <- fp8 maximum", "maximum"),
    (fp8_fdiv, "# <- fp8 fdiv", "fdiv"),
])
def test_float8_arithmetic_is_rejected(kernel, marker, what):
    expect_error(kernel, marker, f"{what} on tile[64, 64] of float8e4m3: float8 values are "
                 "only stored, converted and multiplied (tile.mma); convert with "
                 ".to(tile.float32) first", FP8, BM=64)


@tile.jit
def fp8_converted(A, B, BM: tile.constexpr):
    a = tile.load(A, (0, 0), (BM, BM)).to(tile.float32)
    tile.store(B, (0, 0), (a * 2.0).to(tile.float8e4m3))


def test_float8_converted_first_is_accepted():
    assert "arith.mulf" in fp8_converted.ir(FP8, FP8, BM=64)


@tile.jit
def float_floordiv(X, Y, BLOCK: tile.constexpr):
    x = tile.load(X, 0, BLOCK)
    tile.store(Y, 0, x // 2.0)  # <- float floordiv


def test_floor_division_of_floats_says_what_to_write():
    expect_error(float_floordiv, "# <- float floordiv",
                 "operator '//' is not supported on tile[8] of float32 (it takes integers; "
                 "tile.floor(a / b) on floats)", "*f32", "*f32", BLOCK=8)

"""Corners where the interpreter and the GPU's code used to part ways: boolean
arithmetic (i1 adds wrap, an xor, where numpy's bool adds or), folded NaN
operands of maximum/minimum/clamp, and float8_e5m2 arrays on the interpreter."""
import math

import ml_dtypes
import numpy as np

import tile


@tile.jit
def count_signs(X, Y, N: tile.constexpr):
    x = tile.load(X, 0, N)
    tile.store(Y, 0, (x > 0) + (x > 1) - (x > 2))  # as Python counts: int32


def test_boolean_arithmetic_counts_in_int32():
    x = np.arange(-3, 5, dtype=np.int32)
    y = np.zeros(8, np.int32)
    count_signs[(1,)].interpret(x, y, N=8)
    np.testing.assert_array_equal(y, (x > 0).astype(int) + (x > 1) - (x > 2))
    tile_ir = count_signs.ir("*i32:16", "*i32:16", N=8)
    adds = [line for line in tile_ir.splitlines() if "arith.addi" in line]
    assert adds and not any("xi1>" in line for line in adds)


@tile.jit
def folded(Y):
    nan = math.nan
    tile.store(Y, 0, tile.full((4,), tile.maximum(1.0, nan)))
    tile.store(Y, 4, tile.full((4,), tile.minimum(1.0, nan)))
    tile.store(Y, 8, tile.full((4,), tile.clamp(0.5, nan, 1.0)))


def test_folded_nan_operands_give_nan():
    y = np.zeros(12, np.float32)
    folded[(1,)].interpret(y)
    assert np.isnan(y).all()


@tile.jit
def widen(X, Y, N: tile.constexpr):
    tile.store(Y, 0, tile.load(X, 0, N).to(tile.float32))


def test_float8_e5m2_arrays_on_the_interpreter():
    x = np.array([0.5, -2.0, 57344.0, 0.0], dtype=ml_dtypes.float8_e5m2)
    y = np.zeros(4, np.float32)
    widen[(1,)].interpret(x, y, N=4)
    np.testing.assert_array_equal(y, x.astype(np.float32))


@tile.jit
def powers(X, Y, N: tile.constexpr):
    x = tile.load(X, 0, N)
    tile.store(Y, (0, 0), x ** 0)
    tile.store(Y, (1, 0), x ** 3)


def test_integer_powers_zero_to_four():
    x = np.arange(-3, 5, dtype=np.int32)
    y = np.zeros((2, 8), np.int32)
    powers[(1,)].interpret(x, y, N=8)
    np.testing.assert_array_equal(y, np.stack([x ** 0, x ** 3]))
    assert "mul.lo.s32" in powers.compile("*i32:16", "*i32[2]:16", N=8).ptx

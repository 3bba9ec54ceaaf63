"""Corners where the interpreter and the GPU's code used to part ways: boolean
arithmetic (i1 adds wrap, an xor, where numpy's bool adds or), folded NaN
operands of maximum/minimum/clamp, float8_e5m2 arrays on the interpreter, and
float to int8 (the GPU kept the low byte of a 16-bit conversion)."""
import math

import ml_dtypes
import numpy as np
import pytest

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


@tile.jit
def to_int8(X, Q, N: tile.constexpr):
    tile.store(Q, 0, tile.load(X, 0, N).to(tile.int8))


SATURATING = np.array([300, -300, 1e10, -1e10, 127.9, -128.9, 200, 3.7, np.nan, -0.5, 126.5,
                       np.inf, -np.inf, 1.5, -2.5, 64], np.float32)


def test_float_to_int8_saturates():
    """Truncated, then clamped to [-128, 127], NaN 0 (cvt.rzi's rule for wider
    results): the GPU's conversion went through 16 bits and kept the low byte."""
    q = np.zeros(16, np.int8)
    to_int8[(1,)].interpret(SATURATING, q, N=16)
    want = np.nan_to_num(np.clip(np.trunc(SATURATING), -128, 127), nan=0).astype(np.int8)
    np.testing.assert_array_equal(q, want)
    ptx = to_int8.compile("*f32:16", "*i8:16", N=16).ptx
    assert "max.NaN.f32" in ptx and "min.NaN.f32" in ptx  # the clamp before cvt


@pytest.mark.gpu
def test_gpu_float_to_int8_matches_the_interpreter():
    import torch
    x = torch.tensor(SATURATING, device="cuda")
    q = torch.zeros(16, dtype=torch.int8, device="cuda")
    to_int8[(1,)](x, q, N=16)
    want = np.zeros(16, np.int8)
    to_int8[(1,)].interpret(SATURATING, want, N=16)
    np.testing.assert_array_equal(q.cpu().numpy(), want)


@tile.jit
def truths_and_wide_ints(X, F, B, W, N: tile.constexpr):
    tile.store(B, 0, tile.load(X, 0, N).to(tile.int1).to(tile.int8))
    tile.store(W, 0, tile.load(F, 0, N).to(tile.int64))


def test_int_to_bool_is_nonzero_and_float_to_int64_saturates():
    """`.to(int1)` is x != 0 (not the low bit, which trunci keeps on the GPU);
    float -> int64 saturates at int64's ends (2^63 is not below its largest)."""
    x = np.array([0, 1, 2, -1, 4, 3, -2, 100], np.int32)
    f = np.array([np.inf, -np.inf, 2.0**63, -2.0**63, 3e38, np.nan, -1.5, 7.9], np.float32)
    b, w = np.zeros(8, np.int8), np.zeros(8, np.int64)
    truths_and_wide_ints[(1,)].interpret(x, f, b, w, N=8)
    np.testing.assert_array_equal(b, (x != 0).astype(np.int8))
    big, small = np.iinfo(np.int64).max, np.iinfo(np.int64).min
    np.testing.assert_array_equal(w, [big, small, big, small, big, 0, -1, 7])
    ptx = truths_and_wide_ints.compile("*i32:16", "*f32:16", "*i8:16", "*i64:16", N=8).ptx
    assert "setp.ne.b32" in ptx and "and.b32" not in ptx and "cvt.rzi.s64.f32" in ptx

"""Operands of different dtypes promote as Triton and torch promote (`promote` in
frontend/semantics.py): an integer with a float gives the float, two floats the
wider (float16 with bfloat16: float32), two integers the wider; Python numbers
are weak. Operators, comparisons, `where` and the elementwise functions follow
the one rule. The IR, PTX on the CPU, and the interpreter against numpy."""
import ml_dtypes
import numpy as np
import pytest

import tile
from expect_error import expect_error

NUMPY = {"f32": np.float32, "f16": np.float16, "bf16": ml_dtypes.bfloat16, "i32": np.int32,
         "i16": np.int16, "i8": np.int8}
# (a, b, the dtype they combine in)
PROMOTIONS = [("i32", "f32", "f32"), ("i8", "bf16", "bf16"), ("f16", "i16", "f16"),
              ("bf16", "f32", "f32"), ("f32", "f16", "f32"), ("f16", "bf16", "f32"),
              ("i8", "i32", "i32"), ("i16", "i8", "i16")]


@tile.jit
def combine(A, B, SUM, LESS, PICK, MAX, BLOCK: tile.constexpr):
    a = tile.load(A, 0, BLOCK)
    b = tile.load(B, 0, BLOCK)
    tile.store(SUM, 0, a * 2 + b)
    tile.store(LESS, 0, (a < b).to(tile.int32))
    tile.store(PICK, 0, tile.where(a < b, b, a))
    tile.store(MAX, 0, tile.maximum(a, b))


def values(dtype: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if dtype.startswith("i"):
        return rng.integers(-40, 40, 128).astype(NUMPY[dtype])
    return (rng.integers(-80, 80, 128) / 4).astype(NUMPY[dtype])  # exact in every type


@pytest.mark.parametrize("a,b,result", PROMOTIONS)
def test_operands_promote(a, b, result):
    signature = (f"*{a}:16", f"*{b}:16", f"*{result}:16", "*i32:16", f"*{result}:16",
                 f"*{result}:16")
    text = combine.ir(*signature, BLOCK=128)
    for side in (a, b):
        if side != result:  # each side converted once, before use
            assert f": tensor<128x{side}> to tensor<128x{result}>" in text
    assert f"arith.cmp{'f' if result[0] in 'fb' else 'i'} " in text
    assert ".entry combine(" in combine.compile(*signature, BLOCK=128).ptx
    x, y = values(a, 1), values(b, 2)
    outs = [np.zeros(128, NUMPY[result]), np.zeros(128, np.int32), np.zeros(128, NUMPY[result]),
            np.zeros(128, NUMPY[result])]
    combine[(1,)].interpret(x, y, *outs, BLOCK=128)
    wide_x, wide_y = x.astype(NUMPY[result]), y.astype(NUMPY[result])
    np.testing.assert_array_equal(outs[0], (wide_x * 2 + wide_y).astype(NUMPY[result]))
    np.testing.assert_array_equal(outs[1], (wide_x < wide_y).astype(np.int32))
    np.testing.assert_array_equal(outs[2], np.where(wide_x < wide_y, wide_y, wide_x))
    np.testing.assert_array_equal(outs[3], np.maximum(wide_x, wide_y))


@tile.jit
def weak_constants(I, H, OUT_F, OUT_H, OUT_I, BLOCK: tile.constexpr):
    i = tile.load(I, 0, BLOCK)
    h = tile.load(H, 0, BLOCK)
    tile.store(OUT_F, 0, i + 0.5)   # a float constant with integers: float32
    tile.store(OUT_H, 0, h * 3)     # a constant takes the tile's dtype
    tile.store(OUT_I, 0, i * 3 - 1)


def test_python_numbers_are_weak():
    signature = ("*i8:16", "*bf16:16", "*f32:16", "*bf16:16", "*i8:16")
    text = weak_constants.ir(*signature, BLOCK=64)
    assert "arith.sitofp %0 : tensor<64xi8> to tensor<64xf32>" in text
    assert "arith.mulf %1, %cst_" in text and "tensor<64xbf16>" in text
    assert "arith.muli %0, %cst_" in text and "tensor<64xi8>" in text
    i = np.arange(-32, 32, dtype=np.int8)
    h = (np.arange(64) / 8).astype(ml_dtypes.bfloat16)
    out_f, out_h, out_i = np.zeros(64, np.float32), np.zeros_like(h), np.zeros_like(i)
    weak_constants[(1,)].interpret(i, h, out_f, out_h, out_i, BLOCK=64)
    np.testing.assert_array_equal(out_f, i + np.float32(0.5))
    np.testing.assert_array_equal(out_h, (h.astype(np.float32) * 3).astype(ml_dtypes.bfloat16))
    np.testing.assert_array_equal(out_i, i * np.int8(3) - np.int8(1))


@tile.jit
def scalar_with_tile(X, Y, n, BLOCK: tile.constexpr):
    x = tile.load(X, 0, BLOCK)
    tile.store(Y, 0, tile.fma(x, n, tile.arange(BLOCK)) + (n > x).to(tile.float16))


def test_int_scalar_with_half_tile():
    text = scalar_with_tile.ir("*f16:16", "*f16:16", "i32", BLOCK=64)
    assert "arith.sitofp %arg" in text and "i32 to f16" in text
    x = (np.arange(64) / 4).astype(np.float16)
    y = np.zeros_like(x)
    scalar_with_tile[(1,)].interpret(x, y, 5, BLOCK=64)
    expected = x.astype(np.float32) * 5 + np.arange(64) + (5 > x)
    np.testing.assert_allclose(y.astype(np.float32), expected.astype(np.float16), rtol=1e-3)


@tile.jit
def branches_of_two_dtypes(X, Y, n, BLOCK: tile.constexpr):
    if n > 0:  # <- join
        v = tile.load(X, 0, BLOCK)
    else:
        v = tile.zeros((BLOCK,), tile.float32)
    tile.store(Y, 0, v)


def test_names_joined_by_if_keep_one_type():
    # Promotion applies to operations, not to a name bound to two types.
    expect_error(branches_of_two_dtypes, "# <- join", "'v' is tile[64] of float16 in the `if` "
                 "branch and tile[64] of float32 in the `else` branch", "*f16:16", "*f16:16",
                 "i32", BLOCK=64)


@tile.jit
def fp8_and_ints(X, I, BACK, BLOCK: tile.constexpr):
    x = tile.load(X, 0, BLOCK)
    tile.store(I, 0, x.to(tile.int32))            # truncates, as from float32
    tile.store(BACK, 0, x.to(tile.int8).to(X.dtype))


@pytest.mark.parametrize("dtype, name", [(ml_dtypes.float8_e4m3fn, "f8E4M3FN"),
                                         (ml_dtypes.float8_e5m2, "f8E5M2")])
def test_fp8_converts_to_and_from_integers_through_float32(dtype, name):
    """(The GPU lowering has no fp8 <-> integer conversion of its own.)"""
    x = np.array([-3.5, -1, 0, 1, 2.5, 7, 96, -192], dtype=dtype)
    i, back = np.zeros(8, np.int32), np.zeros(8, dtype)
    fp8_and_ints[(1,)].interpret(x, i, back, BLOCK=8)
    want = np.trunc(x.astype(np.float32))
    assert (i == want).all() and (back.astype(np.float32) == np.clip(want, -128, 127)).all()
    ptx = fp8_and_ints.compile(f"*{name}:16", "*i32:16", f"*{name}:16", BLOCK=8).ptx
    assert ".entry fp8_and_ints(" in ptx

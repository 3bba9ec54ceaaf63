"""Math and reductions on the element types the GPU lowering does not compute
in: the frontend promotes them (OP_DTYPES in frontend/semantics.py), as Triton
does. bf16/f16 math computes in f32 and rounds back; reductions of int8, int16
and int1 compute in int32 (a sum stays int32, max/min convert back); of f16 and
bf16 in f32, converted back. Each compiles to PTX on the CPU and matches numpy
on the interpreter."""
import ml_dtypes
import numpy as np
import pytest

import tile

BF16 = ml_dtypes.bfloat16
NUMPY = {"f32": np.float32, "f16": np.float16, "bf16": BF16, "i32": np.int32,
         "i16": np.int16, "i8": np.int8}
MATH = {"exp": np.exp, "exp2": np.exp2, "log": np.log, "log2": np.log2, "sqrt": np.sqrt}


@tile.jit
def elementwise_math(X, Y, FN: tile.constexpr, BLOCK: tile.constexpr):
    x = tile.load(X, 0, BLOCK)
    if FN == "exp":
        y = tile.exp(x)
    elif FN == "exp2":
        y = tile.exp2(x)
    elif FN == "log":
        y = tile.log(x)
    elif FN == "log2":
        y = tile.log2(x)
    else:
        y = tile.sqrt(x)
    tile.store(Y, 0, y)


@tile.jit
def reduce_rows(X, Y, KIND: tile.constexpr, BM: tile.constexpr, BN: tile.constexpr):
    x = tile.load(X, (0, 0), (BM, BN))
    if KIND == "sum":
        r = tile.sum(x, 1)
    elif KIND == "max":
        r = tile.max(x, 1)
    else:
        r = tile.min(x, 1)
    tile.store(Y, 0, r)


@tile.jit
def reduce_booleans(X, COUNT, ANY, BM: tile.constexpr, BN: tile.constexpr):
    positive = tile.load(X, (0, 0), (BM, BN)) > 0
    tile.store(COUNT, 0, tile.sum(positive, 1))
    tile.store(ANY, 0, tile.max(positive, 1).to(tile.int32))


def test_promotions_in_the_ir():
    text = reduce_rows.ir("*i8[2]:16", "*i32:16", KIND="sum", BM=64, BN=64)
    assert "arith.extsi %1 : tensor<64x64xi8> to tensor<64x64xi32>" in text
    assert "sum %2, dim = 1 : tensor<64x64xi32> -> tensor<64xi32>" in text
    text = elementwise_math.ir("*bf16:16", "*bf16:16", FN="exp", BLOCK=128)
    assert "math.exp %1 : tensor<128xf32>" in text
    assert "arith.truncf %2 : tensor<128xf32> to tensor<128xbf16>" in text


@pytest.mark.parametrize("dtype", ["f16", "bf16"])
@pytest.mark.parametrize("fn", sorted(MATH))
def test_half_precision_math(dtype, fn):
    text = elementwise_math.ir(f"*{dtype}:16", f"*{dtype}:16", FN=fn, BLOCK=256)
    assert f"math.{fn} %1 : tensor<256xf32>" in text  # computed in f32, as Triton
    assert ".entry elementwise_math(" in elementwise_math.compile(
        f"*{dtype}:16", f"*{dtype}:16", FN=fn, BLOCK=256).ptx
    x = np.linspace(0.25, 6.0, 256).astype(NUMPY[dtype])
    y = np.zeros_like(x)
    elementwise_math[(1,)].interpret(x, y, FN=fn, BLOCK=256)
    expected = MATH[fn](x.astype(np.float32)).astype(NUMPY[dtype])
    np.testing.assert_allclose(y.astype(np.float32), expected.astype(np.float32), rtol=1e-2)


# (input, kind, output): sum of small ints is int32, everything else keeps its dtype.
REDUCTIONS = [("i8", "sum", "i32"), ("i16", "sum", "i32"), ("i8", "max", "i8"),
              ("i16", "min", "i16"), ("f16", "sum", "f16"), ("bf16", "sum", "bf16"),
              ("f16", "max", "f16"), ("bf16", "min", "bf16")]


@pytest.mark.parametrize("source,kind,result", REDUCTIONS)
def test_reductions_of_narrow_types(source, kind, result):
    assert ".entry reduce_rows(" in reduce_rows.compile(
        f"*{source}[2]:16", f"*{result}:16", KIND=kind, BM=64, BN=64).ptx
    rng = np.random.default_rng(0)
    if source.startswith("i"):
        x = rng.integers(-128, 128, (64, 64)).astype(NUMPY[source])
    else:
        x = rng.standard_normal((64, 64)).astype(NUMPY[source])
    y = np.zeros(64, NUMPY[result])
    reduce_rows[(1,)].interpret(x, y, KIND=kind, BM=64, BN=64)
    wide = x.astype(np.int64 if source.startswith("i") else np.float32)
    expected = {"sum": wide.sum(1), "max": wide.max(1), "min": wide.min(1)}[kind]
    if result.startswith("i"):
        np.testing.assert_array_equal(y, expected)  # an int8 sum of 64 values overflows int8
    else:
        np.testing.assert_allclose(y.astype(np.float32),
                                   expected.astype(NUMPY[result]).astype(np.float32),
                                   rtol=1e-2, atol=1e-2)


def test_sum_of_booleans_counts_them():
    assert ".entry reduce_booleans(" in reduce_booleans.compile(
        "*f32[2]:16", "*i32:16", "*i32:16", BM=64, BN=64).ptx
    x = np.random.default_rng(1).standard_normal((64, 64)).astype(np.float32)
    x[5] = -1.0  # a row with nothing positive
    count, any_ = np.zeros(64, np.int32), np.zeros(64, np.int32)
    reduce_booleans[(1,)].interpret(x, count, any_, BM=64, BN=64)
    np.testing.assert_array_equal(count, (x > 0).sum(1))
    np.testing.assert_array_equal(any_, (x > 0).any(1).astype(np.int32))

"""The elementwise math builtins (frontend/elementwise.py's table): the IR each
becomes, f16/bf16 computed in f32 and rounded back, integers for the exact ones,
constants folded by Python, PTX on the CPU, the interpreter against numpy, and
the GPU against the interpreter."""
import math

import ml_dtypes
import numpy as np
import pytest

import tile
from expect_error import expect_error

BF16 = ml_dtypes.bfloat16
NUMPY = {"f32": np.float32, "f16": np.float16, "bf16": BF16, "i32": np.int32,
         "i16": np.int16, "i8": np.int8}


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


# function -> (the op its f32 IR holds, numpy reference, inputs' range)
FLOAT_FUNCTIONS = {
    "rsqrt": ("math.rsqrt", lambda x: 1 / np.sqrt(x), (0.1, 50.0)),
    "sigmoid": ("arith.divf", _sigmoid, (-20.0, 20.0)),
    "tanh": ("math.tanh", np.tanh, (-5.0, 5.0)),
    "erf": ("math.erf", np.frompyfunc(math.erf, 1, 1), (-3.0, 3.0)),
    "sin": ("math.sin", np.sin, (-10.0, 10.0)),
    "cos": ("math.cos", np.cos, (-10.0, 10.0)),
    "floor": ("math.floor", np.floor, (-9.5, 9.5)),
    "ceil": ("math.ceil", np.ceil, (-9.5, 9.5)),
    "abs": ("math.absf", np.abs, (-9.5, 9.5)),
    "trunc": ("arith.select", np.trunc, (-9.5, 9.5)),
    "round": ("math.roundeven", np.rint, (-9.5, 9.5)),
    "log1p": ("math.log1p", np.log1p, (-0.9, 20.0)),
    "expm1": ("math.expm1", np.expm1, (-10.0, 10.0)),
    "tan": ("math.tan", np.tan, (-1.5, 1.5)),
}
# Of two operands: IR op, numpy function, ranges of x and y.
BINARY_FUNCTIONS = {
    "atan2": ("math.atan2", np.arctan2, (-5.0, 5.0), (-3.0, 3.0)),
    "pow": ("math.powf", np.power, (0.0, 4.0), (-3.0, 3.0)),
}


@tile.jit
def unary(X, Y, FN: tile.constexpr, BLOCK: tile.constexpr):
    tile.store(Y, 0, FN(tile.load(X, 0, BLOCK)))


@tile.jit
def binary(X, Y, OUT, FN: tile.constexpr, BLOCK: tile.constexpr):
    tile.store(OUT, 0, FN(tile.load(X, 0, BLOCK), tile.load(Y, 0, BLOCK)))


@tile.jit
def ternary(X, Y, Z, OUT, FN: tile.constexpr, BLOCK: tile.constexpr):
    x = tile.load(X, 0, BLOCK)
    tile.store(OUT, 0, FN(x, tile.load(Y, 0, BLOCK), tile.load(Z, 0, BLOCK)))


def inputs(fn: str, dtype: str, n: int = 256) -> np.ndarray:
    low, high = FLOAT_FUNCTIONS[fn][2]
    return np.linspace(low, high, n).astype(NUMPY[dtype])


@pytest.mark.parametrize("fn", sorted(FLOAT_FUNCTIONS))
def test_f32_ir(fn):
    text = unary.ir("*f32:16", "*f32:16", FN=getattr(tile, fn), BLOCK=256)
    assert f"{FLOAT_FUNCTIONS[fn][0]} " in text
    assert "arith.extf" not in text and "arith.truncf" not in text


def test_sigmoid_is_one_over_one_plus_exp():
    text = unary.ir("*f32:16", "*f32:16", FN=tile.sigmoid, BLOCK=256)
    assert "arith.negf %0" in text and "math.exp %1" in text
    assert "arith.addf %cst, %2" in text and "arith.divf %cst, %3 fastmath<afn>" in text


@pytest.mark.parametrize("dtype", ["f16", "bf16"])
@pytest.mark.parametrize("fn", ["rsqrt", "sigmoid", "tanh", "erf", "sin", "floor"])
def test_half_precision_computes_in_f32(fn, dtype):
    text = unary.ir(f"*{dtype}:16", f"*{dtype}:16", FN=getattr(tile, fn), BLOCK=256)
    assert f"arith.extf %0 : tensor<256x{dtype}> to tensor<256xf32>" in text
    assert f"to tensor<256x{dtype}>" in text.split("arith.truncf")[-1]


@pytest.mark.parametrize("dtype", ["f16", "bf16"])
def test_exact_functions_keep_half_precision(dtype):
    text = unary.ir(f"*{dtype}:16", f"*{dtype}:16", FN=tile.abs, BLOCK=256)
    assert f"math.absf %0 : tensor<256x{dtype}>" in text and "arith.extf" not in text


@pytest.mark.parametrize("dtype", ["f32", "f16", "bf16"])
@pytest.mark.parametrize("fn", sorted(FLOAT_FUNCTIONS))
def test_interpreter_matches_numpy(fn, dtype):
    x = inputs(fn, dtype)
    y = np.zeros_like(x)
    unary[(1,)].interpret(x, y, FN=getattr(tile, fn), BLOCK=256)
    expected = np.asarray(FLOAT_FUNCTIONS[fn][1](x.astype(np.float64)), np.float64)
    tolerance = 1e-6 if dtype == "f32" else 1e-2
    np.testing.assert_allclose(y.astype(np.float64), expected.astype(NUMPY[dtype])
                               .astype(np.float64), rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("fn", sorted(FLOAT_FUNCTIONS))
def test_reaches_ptx(fn):
    for dtype in ("f32", "bf16"):
        ptx = unary.compile(f"*{dtype}:16", f"*{dtype}:16", FN=getattr(tile, fn), BLOCK=256).ptx
        assert ".entry unary(" in ptx


def binary_inputs(fn: str, dtype: str, n: int = 256) -> tuple[np.ndarray, np.ndarray]:
    (xl, xh), (yl, yh) = BINARY_FUNCTIONS[fn][2:]
    rng = np.random.default_rng(5)
    return tuple(rng.uniform(lo, hi, n).astype(NUMPY[dtype]) for lo, hi in ((xl, xh), (yl, yh)))


@pytest.mark.parametrize("dtype", ["f32", "bf16"])
@pytest.mark.parametrize("fn", sorted(BINARY_FUNCTIONS))
def test_binary_functions(fn, dtype):
    ir_op, reference = BINARY_FUNCTIONS[fn][:2]
    text = binary.ir(*[f"*{dtype}:16"] * 3, FN=getattr(tile, fn), BLOCK=256)
    assert f"{ir_op} " in text and ("arith.extf" in text) == (dtype != "f32")
    x, y = binary_inputs(fn, dtype)
    out = np.zeros_like(x)
    binary[(1,)].interpret(x, y, out, FN=getattr(tile, fn), BLOCK=256)
    want = reference(x.astype(np.float64), y.astype(np.float64)).astype(NUMPY[dtype])
    tolerance = 1e-6 if dtype == "f32" else 1e-2
    np.testing.assert_allclose(out.astype(np.float64), want.astype(np.float64), rtol=tolerance,
                               atol=tolerance)
    assert ".entry binary(" in binary.compile(*[f"*{dtype}:16"] * 3, FN=getattr(tile, fn),
                                              BLOCK=256).ptx


def test_trunc_and_round_at_halves_signs_and_nan():
    x = np.array([-2.5, -1.5, -0.5, -0.0, 0.5, 1.5, 2.5, 3.7, -3.7, np.inf, -np.inf, np.nan,
                  1e30, -1e30, 0.49999997, 2.0 ** 23 + 1], np.float32)
    x = np.resize(x, 64)
    for fn, reference in ((tile.trunc, np.trunc), (tile.round, np.rint)):
        out = np.zeros_like(x)
        unary[(1,)].interpret(x, out, FN=fn, BLOCK=64)
        np.testing.assert_array_equal(out, reference(x))  # NaN equal to NaN; -0.0 == 0.0
        assert np.array_equal(np.signbit(out), np.signbit(reference(x)))


@pytest.mark.parametrize("dtype", ["i8", "i16", "i32"])
def test_integer_abs_maximum_minimum_clamp(dtype):
    rng = np.random.default_rng(3)
    x, lo, hi = (rng.integers(-100, 100, 256).astype(NUMPY[dtype]) for _ in range(3))
    out = np.zeros_like(x)
    text = ternary.ir(*[f"*{dtype}:16"] * 4, FN=tile.clamp, BLOCK=256)
    assert f"arith.maxsi %0, %1 : tensor<256x{dtype}>" in text and "arith.minsi %3, %2" in text
    ternary[(1,)].interpret(x, lo, hi, out, FN=tile.clamp, BLOCK=256)
    np.testing.assert_array_equal(out, np.minimum(np.maximum(x, lo), hi))
    unary[(1,)].interpret(x, out, FN=tile.abs, BLOCK=256)
    np.testing.assert_array_equal(out, np.abs(x))
    assert "math.absi" in unary.ir(f"*{dtype}:16", f"*{dtype}:16", FN=tile.abs, BLOCK=256)
    assert ".entry ternary(" in ternary.compile(*[f"*{dtype}:16"] * 4, FN=tile.clamp,
                                                BLOCK=256).ptx


def test_fma_rounds_once_and_promotes():
    # b is int32: promoted to float32 as for `*`.
    text = ternary.ir("*f32:16", "*i32:16", "*f32:16", "*f32:16", FN=tile.fma, BLOCK=256)
    assert "arith.sitofp %1 : tensor<256xi32> to tensor<256xf32>" in text
    assert "math.fma %0, %3, %2 : tensor<256xf32>" in text
    a = np.full(256, 1 + 2.0 ** -12, np.float32)
    c = np.full(256, -1.0, np.float32)
    out = np.zeros(256, np.float32)
    ternary[(1,)].interpret(a, np.full(256, 3, np.int32), c, out, FN=tile.fma, BLOCK=256)
    np.testing.assert_array_equal(out, np.float32(2 + 3 * 2.0 ** -12))
    # a * a - 1 is 2^-11 + 2^-24: one rounding keeps the 2^-24 that a*a in f32 loses.
    ternary[(1,)].interpret(a, a, c, out, FN=tile.fma, BLOCK=256)
    np.testing.assert_array_equal(out, np.float32(2.0 ** -11 + 2.0 ** -24))
    assert ".entry ternary(" in ternary.compile("*f32:16", "*i32:16", "*f32:16", "*f32:16",
                                                FN=tile.fma, BLOCK=256).ptx


@pytest.mark.parametrize("dtype", ["f32", "bf16"])
def test_clamp_of_floats_keeps_nan(dtype):
    x = np.array([-5, -0.5, 0.25, 7, np.nan] * 4 + [0] * 44, NUMPY[dtype])
    lo, hi = np.full(64, -1, NUMPY[dtype]), np.full(64, 1, NUMPY[dtype])
    out = np.zeros_like(x)
    ternary[(1,)].interpret(x, lo, hi, out, FN=tile.clamp, BLOCK=64)
    np.testing.assert_array_equal(out.astype(np.float32),
                                  np.clip(x.astype(np.float32), -1, 1))


@tile.jit
def constants(Y, BLOCK: tile.constexpr):
    c = tile.sigmoid(0.0) + tile.rsqrt(4) + tile.abs(-3) + tile.clamp(7, 0, 5) + \
        tile.fma(2, 3, 1) + tile.floor(2.5) + tile.maximum(1, 2) + tile.trunc(-2.5) + \
        tile.round(2.5) + tile.pow(2, 3) + tile.atan2(0.0, 1.0) + tile.log1p(0.0)
    tile.static_assert(c == 0.5 + 0.5 + 3 + 5 + 7 + 2.0 + 2 - 2 + 2 + 8, "folded")
    tile.store(Y, 0, tile.full((BLOCK,), c))


def test_constants_fold_in_python():
    text = constants.ir("*f32:16", BLOCK=16)
    assert "math." not in text and "arith.maxsi" not in text
    assert "dense<2.800000e+01>" in text


@tile.jit
def scalar_math(X, Y, s):
    tile.store(Y, 0, tile.full((16,), tile.tanh(s) + tile.abs(s) + tile.clamp(s, -1.0, 1.0)))


def test_scalars():
    text = scalar_math.ir("*f32:16", "*f32:16", "f32")
    assert "math.tanh %arg" in text and "math.absf %arg" in text
    y = np.zeros(16, np.float32)
    scalar_math[(1,)].interpret(np.zeros(16, np.float32), y, -2.0)
    np.testing.assert_allclose(y, np.tanh(-2.0) + 2 - 1, atol=1e-6)


# -- misuse -----------------------------------------------------------------------
@tile.jit
def tanh_of_int(X, BLOCK: tile.constexpr):
    y = tile.tanh(tile.load(X, 0, BLOCK))  # <- tanh int


@tile.jit
def abs_of_bool(BLOCK: tile.constexpr):
    y = tile.abs(tile.arange(BLOCK) > 3)  # <- abs bool


@tile.jit
def clamp_of_array(X, BLOCK: tile.constexpr):
    y = tile.clamp(X, 0, 1)  # <- clamp array


@tile.jit
def python_min(X, BLOCK: tile.constexpr):
    y = min(tile.load(X, 0, BLOCK))  # <- python min


def test_misuse_names_the_line():
    expect_error(tanh_of_int, "# <- tanh int",
                 "tanh needs a float tile or scalar, got tile[64] of int32", "*i32:16", BLOCK=64)
    expect_error(abs_of_bool, "# <- abs bool",
                 "abs needs a float or integer tile or scalar, got tile[64] of int1", BLOCK=64)
    expect_error(clamp_of_array, "# <- clamp array", "clamp on arrays (pointers) is not "
                 "supported", "*f32:16", BLOCK=64)
    expect_error(python_min, "# <- python min",
                 "min() of runtime values takes two or more numbers, scalars or tiles and "
                 "no keywords (to reduce a tile, use tile.min(x))", "*f32:16", BLOCK=64)


# -- on the GPU ---------------------------------------------------------------------
@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["f32", "f16", "bf16"])
@pytest.mark.parametrize("fn", sorted(FLOAT_FUNCTIONS))
def test_gpu_matches_the_interpreter(fn, dtype):
    import torch
    x = inputs(fn, dtype, 4096)
    expected = np.zeros_like(x)
    unary[(1,)].interpret(x, expected, FN=getattr(tile, fn), BLOCK=4096)
    torch_dtype = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}[dtype]
    gx = torch.from_numpy(x.astype(np.float32)).to(torch_dtype).cuda()
    gy = torch.zeros_like(gx)
    unary[(1,)](gx, gy, FN=getattr(tile, fn), BLOCK=4096)
    torch.cuda.synchronize()
    got = gy.float().cpu().numpy()
    # libdevice and the SFU are within 2 ulps of f32 (docs/passes.md); 16-bit
    # results may then round to a neighbour.
    tolerance = 2e-6 if dtype == "f32" else 8e-3
    np.testing.assert_allclose(got, expected.astype(np.float32), rtol=tolerance,
                               atol=tolerance)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["f32", "bf16"])
@pytest.mark.parametrize("fn", sorted(BINARY_FUNCTIONS))
def test_gpu_binary_matches_the_interpreter(fn, dtype):
    import torch
    x, y = binary_inputs(fn, dtype, 4096)
    expected = np.zeros_like(x)
    binary[(1,)].interpret(x, y, expected, FN=getattr(tile, fn), BLOCK=4096)
    torch_dtype = {"f32": torch.float32, "bf16": torch.bfloat16}[dtype]
    gx, gy = (torch.from_numpy(v.astype(np.float32)).to(torch_dtype).cuda() for v in (x, y))
    out = torch.zeros_like(gx)
    binary[(1,)](gx, gy, out, FN=getattr(tile, fn), BLOCK=4096)
    torch.cuda.synchronize()
    tolerance = 4e-6 if dtype == "f32" else 8e-3  # libdevice: atan2 3 ulps, pow 4
    np.testing.assert_allclose(out.float().cpu().numpy(), expected.astype(np.float32),
                               rtol=tolerance, atol=tolerance)


# -- static_assert ------------------------------------------------------------------
@tile.jit
def checked(X, BLOCK: tile.constexpr):
    tile.static_assert(BLOCK % 16 == 0, f"BLOCK must be a multiple of 16, got {BLOCK}")  # <- sa
    tile.store(X, 0, tile.zeros((BLOCK,)))


@tile.jit
def runtime_static_assert(X, n):
    tile.static_assert(n > 0)  # <- runtime sa


def test_static_assert():
    assert "tile.store" in checked.ir("*f32:16", BLOCK=32)
    expect_error(checked, "# <- sa", "static_assert failed: BLOCK must be a multiple of 16, "
                 "got 8", "*f32:16", BLOCK=8)
    expect_error(runtime_static_assert, "# <- runtime sa", "static_assert needs a constexpr "
                 "condition, got int1", "*f32:16", "i32")

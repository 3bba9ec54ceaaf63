"""What a Triton user writes by habit: tl.arange(start, end), methods on tiles
(x.sum(1), x.exp()), `**`, abs(), zeros_like/full_like, a reshape function,
.to(dtype, bitcast=True), keep_dims, static_range, umulhi, range with a negative
step, `/` of integers and Python's min()/max() on runtime values. Each on the
interpreter against numpy, in the IR it should become, through PTX, and misuse at
the line."""
import ml_dtypes
import numpy as np
import pytest

import tile
from expect_error import expect_error


def run(kernel, x, out_shape, out_dtype=np.float32, **constexprs):
    out = np.zeros(out_shape, out_dtype)
    kernel[(1,)].interpret(x, out, **constexprs)
    return out


@tile.jit
def shifted_arange(Y, START: tile.constexpr, END: tile.constexpr):
    tile.store(Y, 0, tile.arange(START, END))


def test_arange_with_start_and_end():
    y = np.zeros(8, np.int32)
    shifted_arange[(1,)].interpret(y, START=3, END=11)
    np.testing.assert_array_equal(y, np.arange(3, 11))
    assert "tile.iota" in shifted_arange.ir("*i32:16", START=0, END=8)
    assert "arith.addi" not in shifted_arange.ir("*i32:16", START=0, END=8)


@tile.jit
def bad_arange(Y):
    tile.store(Y, 0, tile.arange(2, 8))  # <- length


@tile.jit
def methods(X, Y, BM: tile.constexpr, BN: tile.constexpr):
    x = tile.load(X, (0, 0), (BM, BN))
    rows = x.exp().sum(1) + x.max(1) - x.min(1) + x.argmax(1).to(tile.float32)
    rows = rows + x.abs().cumsum(1).reshape((BM, BN)).max(1) + x.sort(1)[0].sum(1)
    tile.store(Y, 0, rows + x.sum())


@tile.jit
def functions(X, Y, BM: tile.constexpr, BN: tile.constexpr):
    x = tile.load(X, (0, 0), (BM, BN))
    rows = tile.sum(tile.exp(x), 1) + tile.max(x, 1) - tile.min(x, 1) + \
        tile.argmax(x, 1).to(tile.float32)
    rows = rows + tile.max(tile.reshape(tile.cumsum(tile.abs(x), 1), (BM, BN)), 1) + \
        tile.sum(tile.sort(x, 1)[0], 1)
    tile.store(Y, 0, rows + tile.sum(x))


def test_methods_are_the_functions():
    signature = ("*f32[2]:16", "*f32:16")
    assert methods.ir(*signature, BM=8, BN=32).replace("methods", "k") == \
        functions.ir(*signature, BM=8, BN=32).replace("functions", "k")
    x = np.random.default_rng(0).standard_normal((8, 32)).astype(np.float32)
    got = run(methods, x, 8, BM=8, BN=32)
    want = (np.exp(x).sum(1) + x.max(1) - x.min(1) + x.argmax(1)
            + np.abs(x).cumsum(1).max(1) + x.sum(1) + x.sum())
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)


@tile.jit
def powers(X, Y, E, BLOCK: tile.constexpr):
    x = tile.load(X, 0, BLOCK)
    e = tile.load(E, 0, BLOCK)
    tile.store(Y, 0, x ** 2 + x ** 3 - x ** 0.5 + 2.0 ** x + x ** e)


def test_power():
    text = powers.ir("*f32:16", "*f32:16", "*f32:16", BLOCK=64)
    assert text.count("math.powf") == 3  # x ** 0.5, 2 ** x, x ** e; the others multiply
    assert text.count("arith.mulf") >= 3
    x = np.linspace(0.5, 3, 64).astype(np.float32)
    e = np.linspace(-2, 2, 64).astype(np.float32)
    y = np.zeros(64, np.float32)
    powers[(1,)].interpret(x, y, e, BLOCK=64)
    want = x.astype(np.float64)
    want = want ** 2 + want ** 3 - want ** 0.5 + 2.0 ** want + want ** e
    np.testing.assert_allclose(y, want, rtol=1e-5)


@tile.jit
def integer_cube(X, Y, BLOCK: tile.constexpr):
    tile.store(Y, 0, tile.load(X, 0, BLOCK) ** 3)


@tile.jit
def integer_root(X, Y, BLOCK: tile.constexpr):
    tile.store(Y, 0, tile.load(X, 0, BLOCK) ** 0.5)  # an int tile with a float: float32


@tile.jit
def integer_exponents(X, Y, BLOCK: tile.constexpr):
    x = tile.load(X, 0, BLOCK)
    tile.store(Y, 0, x ** x)  # <- int pow


def test_integer_power():
    x = np.arange(-5, 11, dtype=np.int32)
    y = np.zeros_like(x)
    integer_cube[(1,)].interpret(x, y, BLOCK=16)
    np.testing.assert_array_equal(y, x ** 3)
    root = np.zeros(16, np.float32)
    integer_root[(1,)].interpret(np.arange(16, dtype=np.int32), root, BLOCK=16)
    np.testing.assert_allclose(root, np.sqrt(np.arange(16)), rtol=1e-6)
    expect_error(integer_exponents, "# <- int pow", "pow needs a float tile or scalar",
                 "*i32:16", "*i32:16", BLOCK=16)


@tile.jit
def likes(X, Y, Z, BLOCK: tile.constexpr):
    x = tile.load(X, 0, BLOCK)
    tile.store(Y, 0, tile.full_like(x, 3) + abs(x) + tile.zeros_like(x))
    tile.store(Z, 0, tile.full_like(x, tile.sum(x)))


def test_like_and_python_abs():
    text = likes.ir("*bf16:16", "*bf16:16", "*bf16:16", BLOCK=32)
    assert "math.absf" in text and "dense<3.000000e+00> : tensor<32xbf16>" in text
    x = np.linspace(-2, 2, 32).astype(ml_dtypes.bfloat16)
    y, z = np.zeros_like(x), np.zeros_like(x)
    likes[(1,)].interpret(x, y, z, BLOCK=32)
    np.testing.assert_array_equal(y.astype(np.float32),
                                  (3 + np.abs(x.astype(np.float32))).astype(ml_dtypes.bfloat16)
                                  .astype(np.float32))
    np.testing.assert_allclose(z.astype(np.float32), float(x.astype(np.float32).sum()),
                               atol=0.05)


@tile.jit
def bits(X, Y, H, G, BLOCK: tile.constexpr):
    x = tile.load(X, 0, BLOCK)
    tile.store(Y, 0, x.to(tile.int32, bitcast=True) & 0x7FFFFFFF)
    tile.store(G, 0, tile.load(H, 0, BLOCK).to(tile.int16, bitcast=True))


@tile.jit
def bad_bitcast(X, Y, BLOCK: tile.constexpr):
    tile.store(Y, 0, tile.load(X, 0, BLOCK).to(tile.int16, bitcast=True))  # <- width


def test_bitcast():
    signature = ("*f32:16", "*i32:16", "*bf16:16", "*i16:16")
    assert "arith.bitcast %0 : tensor<64xf32> to tensor<64xi32>" in bits.ir(*signature,
                                                                             BLOCK=64)
    x = np.linspace(-3, 3, 64).astype(np.float32)
    h = np.linspace(-1, 1, 64).astype(ml_dtypes.bfloat16)
    y, g = np.zeros(64, np.int32), np.zeros(64, np.int16)
    bits[(1,)].interpret(x, y, h, g, BLOCK=64)
    np.testing.assert_array_equal(y, x.view(np.int32) & 0x7FFFFFFF)
    np.testing.assert_array_equal(g, h.view(np.int16))
    assert ".entry bits(" in bits.compile(*signature, BLOCK=64).ptx
    expect_error(bad_bitcast, "# <- width", "a bitcast keeps the width", "*f32:16", "*i16:16",
                 BLOCK=64)


@tile.jit
def kept(X, Y, M, BM: tile.constexpr, BN: tile.constexpr):
    x = tile.load(X, (0, 0), (BM, BN))
    centered = x - tile.sum(x, 1, keep_dims=True) / BN
    top = tile.argmax(x, 0, keep_dims=True).to(tile.float32)
    tile.store(Y, (0, 0), centered + top + tile.max(x, keep_dims=True))
    tile.store(M, (0, 0), x.min(keep_dims=True) + tile.zeros((1, 1)))


def test_keep_dims():
    text = kept.ir("*f32[2]:16", "*f32[2]:16", "*f32[2]:16", BM=8, BN=16)
    assert "-> tensor<8xf32>" in text and "-> tensor<1x1xf32>" in text
    x = np.random.default_rng(1).standard_normal((8, 16)).astype(np.float32)
    y, m = np.zeros_like(x), np.zeros((1, 1), np.float32)
    kept[(1,)].interpret(x, y, m, BM=8, BN=16)
    want = x - x.sum(1, keepdims=True) / 16 + x.argmax(0)[None, :] + x.max()
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(m, [[x.min()]])


@tile.jit
def unrolled(X, Y, BLOCK: tile.constexpr):
    acc = tile.zeros((BLOCK,))
    for i in tile.static_range(1, 4):
        tile.static_assert(i < 4)
        acc += tile.load(X, i * BLOCK, BLOCK) * i
    tile.store(Y, 0, acc)


@tile.jit
def unrolled_inner_break(X, Y, BLOCK: tile.constexpr):
    acc = tile.zeros((BLOCK,))
    for i in tile.static_range(2):
        for j in range(4):  # an inner loop's own break is allowed
            if j == i + 1:
                break
            acc += tile.load(X, j * BLOCK, BLOCK)
    tile.store(Y, 0, acc)


@tile.jit
def unrolled_break(X, BLOCK: tile.constexpr):
    for i in tile.static_range(4):
        break  # <- break


@tile.jit
def static_range_value(X, BLOCK: tile.constexpr):
    r = tile.static_range(4)  # <- value


def test_static_range():
    text = unrolled.ir("*f32:16", "*f32:16", BLOCK=32)
    assert "scf.for" not in text and text.count("tile.load") == 3
    x = np.random.default_rng(2).standard_normal(128).astype(np.float32)
    y = np.zeros(32, np.float32)
    unrolled[(1,)].interpret(x, y, BLOCK=32)
    np.testing.assert_allclose(y, sum(x[i * 32:(i + 1) * 32] * i for i in range(1, 4)),
                               rtol=1e-6, atol=1e-6)
    y = np.zeros(32, np.float32)
    unrolled_inner_break[(1,)].interpret(x, y, BLOCK=32)
    np.testing.assert_allclose(y, x[:32] + (x[:32] + x[32:64]), rtol=1e-6, atol=1e-6)
    expect_error(unrolled_break, "# <- break", "not supported in a tile.static_range loop",
                 "*f32:16", BLOCK=32)
    expect_error(static_range_value, "# <- value", "only for `for i in tile.static_range",
                 "*f32:16", BLOCK=32)


def test_misuse_names_the_line():
    expect_error(bad_arange, "# <- length", "arange's length (end - start)", "*i32:16")


def test_compiles():
    for kernel, signature, options in [
            (methods, ("*f32[2]:16", "*f32:16"), dict(BM=8, BN=32)),
            (powers, ("*f32:16",) * 3, dict(BLOCK=64)),
            (kept, ("*f32[2]:16",) * 3, dict(BM=8, BN=16)),
            (unrolled, ("*f32:16",) * 2, dict(BLOCK=32))]:
        assert f".entry {kernel.__name__}(" in kernel.compile(*signature, **options).ptx


@tile.jit
def high_products(X, Y, Z, BLOCK: tile.constexpr):
    tile.store(Z, 0, tile.umulhi(tile.load(X, 0, BLOCK), tile.load(Y, 0, BLOCK)))


@tile.jit
def float_umulhi(X, BLOCK: tile.constexpr):
    y = tile.umulhi(tile.load(X, 0, BLOCK), 3)  # <- umulhi


def test_umulhi():
    rng = np.random.default_rng(4)
    x, y = (rng.integers(-2 ** 31, 2 ** 31, 64).astype(np.int32) for _ in range(2))
    x[:3], y[:3] = [-1, 2 ** 31 - 1, 0], [-1, -1, 5]
    z = np.zeros(64, np.int32)
    high_products[(1,)].interpret(x, y, z, BLOCK=64)
    want = [(int(a) % 2 ** 32) * (int(b) % 2 ** 32) >> 32 for a, b in zip(x, y)]
    np.testing.assert_array_equal(z, np.array(want, np.uint32).view(np.int32))
    assert "mul.hi.u32" in high_products.compile("*i32:16", "*i32:16", "*i32:16", BLOCK=64).ptx
    expect_error(float_umulhi, "# <- umulhi", "umulhi needs integers", "*f32:16", BLOCK=64)


# -- range with a negative step, int / int, min() and max() ------------------------------
@tile.jit
def count_down(X, Y, start, stop, STEP: tile.constexpr):
    acc = 0.0
    trips = 0
    for i in range(start, stop, STEP):
        acc = acc * 2.0 + tile.load(X, i)
        trips += 1
    tile.store(Y, 0, acc)
    tile.store(Y, 1, trips.to(tile.float32))


@tile.jit
def count_down_break(X, Y, n):
    acc = 0.0
    for i in range(n - 1, -1, -1):  # a break: an scf.while that counts down
        v = tile.load(X, i)
        if v > 100.0:
            break
        acc = acc * 2.0 + v
    tile.store(Y, 0, acc)


@tile.jit
def count_down_constant(Y):
    acc = 0
    for i in range(7, -1, -3):
        acc = acc * 10 + i
    tile.store(Y, 0, acc)


def python_loop(x, start, stop, step, stop_above=None):
    acc, trips = 0.0, 0
    for i in range(start, stop, step):
        if stop_above is not None and x[i] > stop_above:
            break
        acc, trips = acc * 2 + x[i], trips + 1
    return acc, trips


@pytest.mark.parametrize("start,stop,step", [(15, -1, -1), (15, 3, -2), (15, 0, -3),
                                             (15, -1, -4), (15, -1, -16), (3, 15, -1),
                                             (7, 7, -1), (0, 16, 3)])
def test_range_with_a_negative_constant_step(start, stop, step):
    x = np.random.default_rng(7).integers(0, 3, 16).astype(np.float32)
    y = np.zeros(2, np.float32)
    count_down[(1,)].interpret(x, y, start, stop, STEP=step)
    np.testing.assert_array_equal(y, python_loop(x, start, stop, step))


def test_range_counting_down_with_break_and_constants():
    x = np.array([1, 0, 1, 1, 500, 1, 0, 1], np.float32)
    y = np.zeros(1, np.float32)
    count_down_break[(1,)].interpret(x, y, 8)
    assert y[0] == python_loop(x, 7, -1, -1, stop_above=100)[0]
    z = np.zeros(1, np.int32)
    count_down_constant[(1,)].interpret(z)
    assert z[0] == 741
    ir = count_down.ir("*f32:16", "*f32:16", "i32", "i32", STEP=-2)
    assert "arith.maxsi" in ir and "scf.for" in ir  # max(0, cdiv(start - stop, 2)) trips
    assert "scf.while" in count_down_break.ir("*f32:16", "*f32:16", "i32")


@tile.jit
def runtime_negative_step(X, n, s):
    for i in range(n, 0, -s):  # <- runtime step
        pass


def test_a_runtime_negative_step_is_an_error():
    expect_error(runtime_negative_step, "# <- runtime step", "a negative step must be a "
                 "constant", "*f32:16", "i32", "i32")


@tile.jit
def true_division(Y, n, BLOCK: tile.constexpr):
    a = tile.arange(BLOCK) - 3
    tile.store(Y, 0, a / 2)
    tile.store(Y, BLOCK, a / (a + 4))
    tile.store(Y, 2 * BLOCK, n / 4 + a // 2)   # a runtime int scalar, then floor division


def test_int_true_division_gives_float32():
    y = np.zeros(24, np.float32)
    true_division[(1,)].interpret(y, 7, BLOCK=8)
    a = np.arange(8) - 3
    np.testing.assert_allclose(y, np.concatenate([a / 2, a / (a + 4), 7 / 4 + a // 2]),
                               rtol=1e-6)
    ir = true_division.ir("*f32:16", "i32", BLOCK=8)
    assert "arith.sitofp" in ir and "arith.divf" in ir and "arith.floordivsi" in ir


@tile.jit
def python_min_max(X, Y, n, BLOCK: tile.constexpr):
    e = min(n, 3)                              # runtime scalars: tile.minimum
    x = tile.load(X, 0, BLOCK, bound=max(e, 1, BLOCK // 4))
    tile.store(Y, 0, max(x, 0.5) + min(x, tile.zeros((BLOCK,)), 0.25) + min(BLOCK, 4))


@tile.jit
def python_min_of_one_tile(X, BLOCK: tile.constexpr):
    y = max(tile.load(X, 0, BLOCK))  # <- max of one


def test_python_min_and_max_on_runtime_values():
    x = np.linspace(-1, 1, 8, dtype=np.float32)
    for n, bound in [(5, 3), (1, 2)]:
        y = np.zeros(8, np.float32)
        python_min_max[(1,)].interpret(x, y, n, BLOCK=8)
        xs = np.where(np.arange(8) < bound, x, 0)
        np.testing.assert_allclose(y, np.maximum(xs, 0.5) + np.minimum(np.minimum(xs, 0), 0.25)
                                   + 4)
    ir = python_min_max.ir("*f32:16", "*f32:16", "i32", BLOCK=8)
    assert "arith.minsi" in ir and "arith.maxsi" in ir and "arith.maximumf" in ir
    expect_error(python_min_of_one_tile, "# <- max of one", "(to reduce a tile, use "
                 "tile.max(x))", "*f32:16", BLOCK=8)


@tile.jit
def inverted(X, Y, M, BLOCK: tile.constexpr):
    x = tile.load(X, 0, BLOCK)
    tile.store(Y, 0, ~x)                              # every bit flipped
    tile.store(M, 0, (~(x > 3)).to(tile.int32))       # not, on a mask


def test_invert_flips_bits_and_negates_masks():
    x = np.arange(-4, 12, dtype=np.int32)
    y, m = np.zeros_like(x), np.zeros_like(x)
    inverted[(1,)].interpret(x, y, m, BLOCK=16)
    assert (y == ~x).all() and (m == (x <= 3)).all()
    assert ".entry inverted(" in inverted.compile("*i32:16", "*i32:16", "*i32:16", BLOCK=16).ptx

    @tile.jit
    def on_floats(X, BLOCK: tile.constexpr):
        tile.store(X, 0, ~tile.load(X, 0, BLOCK))
    with pytest.raises(tile.CompilationError, match="'~' needs an integer or boolean"):
        on_floats.compile("*f32:16", BLOCK=16)


def test_new_habits_compile():
    for kernel, signature, options in [
            (count_down, ("*f32:16", "*f32:16", "i32", "i32"), dict(STEP=-1)),
            (count_down_break, ("*f32:16", "*f32:16", "i32"), {}),
            (count_down_constant, ("*i32:16",), {}),
            (true_division, ("*f32:16", "i32"), dict(BLOCK=64)),
            (python_min_max, ("*f32:16", "*f32:16", "i32"), dict(BLOCK=64))]:
        assert f".entry {kernel.__name__}(" in kernel.compile(*signature, **options).ptx


@pytest.mark.gpu
def test_gpu_new_habits_match_the_interpreter():
    import torch
    x = np.random.default_rng(8).integers(0, 3, 16).astype(np.float32)
    x[9] = 500.0
    for kernel, args, size, constexprs in [
            (count_down, (x, None, 15, -1), 2, dict(STEP=-1)),
            (count_down, (x, None, 14, 2), 2, dict(STEP=-3)),
            (count_down_break, (x, None, 16), 1, {}),
            (true_division, (None, 7), 24, dict(BLOCK=8)),
            (python_min_max, (x[:8], None, 5), 8, dict(BLOCK=8))]:
        want = np.zeros(size, np.float32)
        kernel[(1,)].interpret(*(want if a is None else a for a in args), **constexprs)
        out = torch.full((size,), float("nan"), device="cuda")
        kernel[(1,)](*(out if a is None else torch.from_numpy(a).cuda()
                       if isinstance(a, np.ndarray) else a for a in args), **constexprs)
        np.testing.assert_allclose(out.cpu().numpy(), want, rtol=1e-6, err_msg=kernel.__name__)
    z = torch.zeros(1, dtype=torch.int32, device="cuda")
    count_down_constant[(1,)](z)
    assert z.item() == 741

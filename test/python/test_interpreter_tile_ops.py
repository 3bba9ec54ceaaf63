"""The interpreter's handlers for the tile ops on views, tiles and shared memory
(make_view, view load/store, splat, iota, mma, reduce, broadcast, transpose,
convert_layout, shared memory and async copies), on hand-written tile IR."""
import ml_dtypes
import numpy as np
import pytest

import tile
from interpreter_ir import run_ir
from tile.errors import InterpreterError

BF16 = ml_dtypes.bfloat16


def view(name: str, ptr: str, sizes: str, strides: str, element: str = "f32") -> str:
    return (f"  %{name} = tile.make_view {ptr}, [{sizes}], [{strides}] : !tile.ptr<{element}> "
            f"-> !tile.view<{element}, 2>")


PIDS = """
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %pid0 = tile.program_id 0
  %pid1 = tile.program_id 1"""

COPY_2D = """
func.func @copy(%a: !tile.ptr<f32>, %M: i32, %N: i32, %s0: i32, %s1: i32,
                %b: !tile.ptr<f32>, %ldb: i32) attributes {tile.kernel} {""" + PIDS + """
  %c4 = arith.constant 4 : i32
  %i = arith.muli %pid0, %c4 : i32
  %j = arith.muli %pid1, %c4 : i32
""" + view("A", "%a", "%M, %N", "%s0, %s1") + "\n" + view("B", "%b", "%M, %N", "%ldb, %c1") + """
  %t = tile.load %A[%i, %j] : !tile.view<f32, 2> -> tensor<4x4xf32>
  tile.store %t, %B[%i, %j] : tensor<4x4xf32>, !tile.view<f32, 2>
  return
}"""


def copy_2d(a: np.ndarray, grid=(2, 2)) -> np.ndarray:
    b = np.full(a.shape, -1, np.float32)
    s0, s1 = (s // a.itemsize for s in a.strides)
    run_ir(COPY_2D, [a, *a.shape, s0, s1, b, b.shape[1]], grid)
    return b


def test_view_tiles_cover_a_ragged_array():
    a = np.arange(30, dtype=np.float32).reshape(6, 5)
    assert np.array_equal(copy_2d(a), a)


@pytest.mark.parametrize("layout", ["row_padded", "transposed", "reversed"])
def test_views_of_strided_arrays(layout):
    base = np.arange(48, dtype=np.float32).reshape(6, 8)
    a = {"row_padded": base[:, :5], "transposed": base[:5, :6].T,
         "reversed": base[::-1, :5]}[layout]
    assert np.array_equal(copy_2d(a), a)


def test_view_larger_than_its_array_is_an_error():
    a = np.zeros((6, 5), np.float32)
    b = np.zeros((6, 5), np.float32)
    with pytest.raises(InterpreterError, match="outside the array's memory"):
        run_ir(COPY_2D, [a, 8, 5, 5, 1, b, 5], (2, 2))  # claims 8 rows


def test_view_padding_between_rows_is_not_the_array():
    """Reading the gap of a row-padded array is an error: it is not the array's memory."""
    a = np.zeros((6, 8), np.float32)[:, :5]
    b = np.zeros((6, 6), np.float32)
    with pytest.raises(InterpreterError, match="outside the array's memory"):
        run_ir(COPY_2D, [a, 6, 6, 8, 1, b, 6], (2, 2))  # claims 6 columns


SHAPES = """
func.func @shapes(%x: !tile.ptr<f32>, %s: f32, %out: !tile.ptr<f32>) attributes {tile.kernel} {""" \
    + PIDS + """
  %c4 = arith.constant 4 : i32
  %c8 = arith.constant 8 : i32
  %c12 = arith.constant 12 : i32
""" + view("X", "%x", "%c4, %c8", "%c8, %c1") + "\n" + view("O", "%out", "%c12, %c8", "%c8, %c1") \
    + """
  %t = tile.load %X[%c0, %c0] : !tile.view<f32, 2> -> tensor<4x8xf32>
  %mx = tile.reduce max %t, dim = 1 : tensor<4x8xf32> -> tensor<4xf32>
  %mn = tile.reduce min %t, dim = 0 : tensor<4x8xf32> -> tensor<8xf32>
  %sm = tile.reduce sum %t, dim = 1 : tensor<4x8xf32> -> tensor<4xf32>
  %bmx = tile.broadcast %mx, dim = 1 : tensor<4xf32> -> tensor<4x8xf32>
  %bmn = tile.broadcast %mn, dim = 0 : tensor<8xf32> -> tensor<4x8xf32>
  %bsm = tile.broadcast %sm, dim = 1 : tensor<4xf32> -> tensor<4x8xf32>
  %sp = tile.splat %s : f32 -> tensor<4x8xf32>
  %io = tile.iota : tensor<8xi32>
  %iof = arith.sitofp %io : tensor<8xi32> to tensor<8xf32>
  %bio = tile.broadcast %iof, dim = 0 : tensor<8xf32> -> tensor<4x8xf32>
  %tr = tile.transpose %t : tensor<4x8xf32> -> tensor<8x4xf32>
  %cl = tile.convert_layout %tr : tensor<8x4xf32> -> tensor<8x4xf32>
  %r0 = arith.subf %t, %bmx : tensor<4x8xf32>
  %r1 = arith.mulf %bmn, %sp : tensor<4x8xf32>
  %r2 = arith.addf %bsm, %bio : tensor<4x8xf32>
  tile.store %r0, %O[%c0, %c0] : tensor<4x8xf32>, !tile.view<f32, 2>
  tile.store %r1, %O[%c4, %c0] : tensor<4x8xf32>, !tile.view<f32, 2>
  tile.store %cl, %O[%c0, %c4] : tensor<8x4xf32>, !tile.view<f32, 2>
  tile.store %r2, %O[%c8, %c0] : tensor<4x8xf32>, !tile.view<f32, 2>
  return
}"""


def test_reduce_broadcast_splat_iota_transpose():
    x = np.random.default_rng(0).standard_normal((4, 8)).astype(np.float32)
    out = np.zeros((12, 8), np.float32)
    run_ir(SHAPES, [x, 2.5, out])
    assert np.array_equal(out[:4, :4], (x - x.max(axis=1, keepdims=True))[:, :4])
    assert np.array_equal(out[4:8, :4], np.broadcast_to(x.min(axis=0) * np.float32(2.5),
                                                        (4, 8))[:, :4])
    assert np.array_equal(out[:8, 4:], x.T)
    row_sums = x.astype(np.float64).sum(axis=1, keepdims=True).astype(np.float32)
    assert np.array_equal(out[8:], row_sums + np.arange(8, dtype=np.float32))


@tile.jit
def bf16_row_sums(X, Out):
    # tile.reduce takes f32 (its verifier says so): tile.sum of bf16 reduces the
    # promoted f32 tile and rounds the sums back to bf16, as Triton does.
    t = tile.load(X, (0, 0), (2, 64))
    tile.store(Out, 0, tile.sum(t, 1), bound=2)


def test_bf16_sum_accumulates_in_f32_not_bf16():
    # 1 + 63 * 2^-8: each 2^-8 is below half a bf16 ulp of 1 (2^-7 / 2), so adding
    # in bf16 would stay at 1.0; the f32 sum is 1.246..., which rounds to 1.2421875.
    x = np.full((2, 64), 2**-8, BF16)
    x[:, 0] = 1
    out = np.zeros(2, BF16)
    bf16_row_sums[(1,)].interpret(x, out)
    assert out.tolist() == [BF16(1 + 63 * 2**-8)] * 2 and out[0] != 1


def mma_kernel(flags: str, a_shape, b_shape, element: str = "bf16") -> str:
    a_type, b_type = (f"tensor<{m}x{n}x{element}>" for m, n in (a_shape, b_shape))
    return f"""
func.func @mma(%a: !tile.ptr<{element}>, %b: !tile.ptr<{element}>, %c: !tile.ptr<f32>)
    attributes {{tile.kernel}} {{""" + PIDS + f"""
  %am = arith.constant {a_shape[0]} : i32
  %an = arith.constant {a_shape[1]} : i32
  %bm = arith.constant {b_shape[0]} : i32
  %bn = arith.constant {b_shape[1]} : i32
  %c16 = arith.constant 16 : i32
""" + view("A", "%a", "%am, %an", "%an, %c1", element) + "\n" + \
        view("B", "%b", "%bm, %bn", "%bn, %c1", element) + "\n" + \
        view("C", "%c", "%c16, %c16", "%c16, %c1") + f"""
  %x = tile.load %A[%c0, %c0] : !tile.view<{element}, 2> -> {a_type}
  %y = tile.load %B[%c0, %c0] : !tile.view<{element}, 2> -> {b_type}
  %acc = tile.load %C[%c0, %c0] : !tile.view<f32, 2> -> tensor<16x16xf32>
  %r = tile.mma %x, %y, %acc {flags} : {a_type}, {b_type}, tensor<16x16xf32>
      -> tensor<16x16xf32>
  tile.store %r, %C[%c0, %c0] : tensor<16x16xf32>, !tile.view<f32, 2>
  return
}}"""


@pytest.mark.parametrize("flags", ["", "{transpose_a}", "{transpose_b}"])
@pytest.mark.parametrize("element", ["bf16", "f16", "f8E4M3FN"])
def test_mma_accumulates_in_f32(flags, element):
    dtype = {"bf16": BF16, "f16": np.float16, "f8E4M3FN": ml_dtypes.float8_e4m3fn}[element]
    rng = np.random.default_rng(1)
    a = rng.standard_normal((16, 32)).astype(dtype)
    b = rng.standard_normal((32, 16)).astype(dtype)
    c = rng.standard_normal((16, 16)).astype(np.float32)
    a_in = np.ascontiguousarray(a.T) if "transpose_a" in flags else a
    b_in = np.ascontiguousarray(b.T) if "transpose_b" in flags else b
    expected = (c.astype(np.float64) + a.astype(np.float64) @ b.astype(np.float64))
    run_ir(mma_kernel(flags, a_in.shape, b_in.shape, element), [a_in, b_in, c])
    assert np.array_equal(c, expected.astype(np.float32))  # exact sum, rounded once


SHARED = """
func.func @shared(%x: !tile.ptr<bf16>, %out: !tile.ptr<bf16>, %first: i32)
    attributes {tile.kernel} {""" + PIDS + """
  %c8 = arith.constant 8 : i32
  %c6 = arith.constant 6 : i32
  %c2 = arith.constant 2 : i32
""" + view("X", "%x", "%c6, %c6", "%c6, %c1", "bf16") + "\n" + \
    view("O", "%out", "%c8, %c8", "%c8, %c1", "bf16") + """
  %s = tile.alloc_shared : !tile.shared<8x8xbf16, #tile.swizzle<128>>
  %bar = tile.alloc_mbarrier : !tile.mbarrier
  %i = arith.muli %pid0, %c2 : i32
  tile.async_load %X[%i, %first], %s, %bar
      : !tile.view<bf16, 2>, !tile.shared<8x8xbf16, #tile.swizzle<128>>, !tile.mbarrier
  %phase = arith.constant false
  tile.wait %bar, %phase : !tile.mbarrier
  %t = tile.load_shared %s : !tile.shared<8x8xbf16, #tile.swizzle<128>> -> tensor<8x8xbf16>
  %u = arith.addf %t, %t : tensor<8x8xbf16>
  tile.store_shared %u, %s : tensor<8x8xbf16>, !tile.shared<8x8xbf16, #tile.swizzle<128>>
  tile.barrier
  %v = tile.load_shared %s : !tile.shared<8x8xbf16, #tile.swizzle<128>> -> tensor<8x8xbf16>
  %row = arith.muli %pid0, %c8 : i32
  %c16 = arith.constant 16 : i32
""" + view("P", "%out", "%c16, %c8", "%c8, %c1", "bf16") + """
  tile.store %v, %P[%row, %c0] : tensor<8x8xbf16>, !tile.view<bf16, 2>
  return
}"""


def test_shared_memory_per_program_with_async_copy_zero_fill():
    x = np.arange(36, dtype=np.float32).reshape(6, 6).astype(BF16)
    out = np.zeros((16, 8), BF16)
    run_ir(SHARED, [x, out, 1], grid=2)
    for program in range(2):
        box = np.zeros((8, 8), np.float32)
        rows = x[2 * program:, 1:].astype(np.float32)  # origin (2 * pid, 1), zero outside
        box[:rows.shape[0], :rows.shape[1]] = rows
        assert np.array_equal(out[8 * program:8 * program + 8], (2 * box).astype(BF16))


def test_reading_shared_memory_never_written_is_an_error():
    text = """
func.func @k(%out: !tile.ptr<f32>) attributes {tile.kernel} {
  %s = tile.alloc_shared : !tile.shared<16x16xf32>
  %t = tile.load_shared %s : !tile.shared<16x16xf32> -> tensor<16x16xf32> loc("k.py":9:5)
  return
}"""
    with pytest.raises(InterpreterError, match="never written") as info:
        run_ir(text, [np.zeros(1, np.float32)])
    assert info.value.lineno == 9

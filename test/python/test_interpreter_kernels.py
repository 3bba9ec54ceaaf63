"""Whole kernels on the interpreter against numpy references: softmax, a small
ragged GEMM (register tiles, and shared memory through async copies) and a
small attention forward, written in tile IR (docs/dialect.md) until the
frontend prints them from Python."""
import ml_dtypes
import numpy as np
import pytest

from interpreter_ir import run_ir

BF16 = ml_dtypes.bfloat16


def view(name, ptr, sizes, strides, element="bf16"):
    return (f"  %{name} = tile.make_view {ptr}, [{sizes}], [{strides}] : !tile.ptr<{element}> "
            f"-> !tile.view<{element}, 2>\n")


def load(name, view_, i, j, shape, element="bf16"):
    return (f"  %{name} = tile.load %{view_}[{i}, {j}] : !tile.view<{element}, 2> -> "
            f"tensor<{shape}x{element}>\n")


def store(value, view_, i, j, shape, element="bf16"):
    return (f"  tile.store {value}, %{view_}[{i}, {j}] : tensor<{shape}x{element}>, "
            f"!tile.view<{element}, 2>\n")


def reduce(name, kind, x, shape, dim):
    out = shape.split("x")[1 - dim]
    return (f"  %{name} = tile.reduce {kind} {x}, dim = {dim} : tensor<{shape}xf32> -> "
            f"tensor<{out}xf32>\n")


def broadcast(name, x, shape, dim, element="f32"):
    part = shape.split("x")[1 - dim]
    return (f"  %{name} = tile.broadcast {x}, dim = {dim} : tensor<{part}x{element}> -> "
            f"tensor<{shape}x{element}>\n")


HEADER = """
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %pid0 = tile.program_id 0
  %pid1 = tile.program_id 1
"""

# One program per 16 rows; the ragged columns (N <= 64) are masked to -inf.
SOFTMAX = ("""
func.func @softmax(%x: !tile.ptr<bf16>, %M: i32, %N: i32, %ldx: i32, %y: !tile.ptr<bf16>)
    attributes {tile.kernel} {""" + HEADER + """
  %c16 = arith.constant 16 : i32
  %row = arith.muli %pid0, %c16 : i32
""" + view("X", "%x", "%M, %N", "%ldx, %c1") + view("Y", "%y", "%M, %N", "%N, %c1")
    + load("a", "X", "%row", "%c0", "16x64") + """
  %f = arith.extf %a : tensor<16x64xbf16> to tensor<16x64xf32>
  %cols = tile.iota : tensor<64xi32>
  %n = tile.splat %N : i32 -> tensor<64xi32>
  %valid = arith.cmpi slt, %cols, %n : tensor<64xi32>
""" + broadcast("valid2", "%valid", "16x64", 0, "i1") + """
  %ninf = arith.constant dense<0xFF800000> : tensor<16x64xf32>
  %m = arith.select %valid2, %f, %ninf : tensor<16x64xi1>, tensor<16x64xf32>
""" + reduce("mx", "max", "%m", "16x64", 1) + broadcast("mxb", "%mx", "16x64", 1) + """
  %s = arith.subf %m, %mxb : tensor<16x64xf32>
  %e = math.exp %s : tensor<16x64xf32>
""" + reduce("sum", "sum", "%e", "16x64", 1) + broadcast("sumb", "%sum", "16x64", 1) + """
  %p = arith.divf %e, %sumb : tensor<16x64xf32>
  %pb = arith.truncf %p : tensor<16x64xf32> to tensor<16x64xbf16>
""" + store("%pb", "Y", "%row", "%c0", "16x64") + """  return
}""")


@pytest.mark.parametrize("shape", [(16, 64), (37, 50), (5, 1)])
def test_softmax(shape):
    rows, cols = shape
    rng = np.random.default_rng(rows)
    base = (rng.standard_normal((rows, 80)) * 4).astype(BF16)
    x = base[:, :cols]  # row stride 80: a strided view
    y = np.zeros((rows, cols), BF16)
    run_ir(SOFTMAX, [x, rows, cols, 80, y], grid=(rows + 15) // 16)
    f = x.astype(np.float64)
    e = np.exp(f - f.max(axis=1, keepdims=True))
    reference = e / e.sum(axis=1, keepdims=True)
    # bf16 storage: one rounding of the f32 result (2^-8 relative), plus f32 exp.
    np.testing.assert_allclose(y.astype(np.float64), reference, rtol=2**-8, atol=1e-6)
    assert np.abs(y.astype(np.float64).sum(axis=1) - 1).max() < 0.02


def gemm(shared: bool) -> str:
    """C (f32, M x N) = A (M x K) . B, tiles 32 x 32 x 16; B given as K x N, or as
    N x K with transpose_b when A and B go through shared memory."""
    b_view = view("B", "%b", "%N, %K", "%ldb, %c1") if shared else \
        view("B", "%b", "%K, %N", "%ldb, %c1")
    if shared:
        smem = "!tile.shared<32x16xbf16, #tile.swizzle<32>>"
        step = f"""
    %it = arith.divsi %k, %c16 : i32
    %odd = arith.remsi %it, %c2 : i32
    %phase = arith.trunci %odd : i32 to i1
    tile.async_load %A[%i, %k], %sa, %bar : !tile.view<bf16, 2>, {smem}, !tile.mbarrier
    tile.async_load %B[%j, %k], %sb, %bar : !tile.view<bf16, 2>, {smem}, !tile.mbarrier
    tile.wait %bar, %phase : !tile.mbarrier
    %next = tile.mma %sa, %sb, %acc {{transpose_b}} : {smem}, {smem}, tensor<32x32xf32>
        -> tensor<32x32xf32>
    tile.barrier
"""
        setup = f"""
  %c2 = arith.constant 2 : i32
  %sa = tile.alloc_shared : {smem}
  %sb = tile.alloc_shared : {smem}
  %bar = tile.alloc_mbarrier : !tile.mbarrier
"""
    else:
        step = "  " + load("ta", "A", "%i", "%k", "32x16") + "  " + \
            load("tb", "B", "%k", "%j", "16x32") + """
    %next = tile.mma %ta, %tb, %acc : tensor<32x16xbf16>, tensor<16x32xbf16>, tensor<32x32xf32>
        -> tensor<32x32xf32>
"""
        setup = ""
    return ("""
func.func @gemm(%a: !tile.ptr<bf16>, %b: !tile.ptr<bf16>, %c: !tile.ptr<f32>, %M: i32, %N: i32,
                %K: i32, %lda: i32, %ldb: i32, %ldc: i32) attributes {tile.kernel} {""" + HEADER
            + """
  %c16 = arith.constant 16 : i32
  %c32 = arith.constant 32 : i32
  %i = arith.muli %pid0, %c32 : i32
  %j = arith.muli %pid1, %c32 : i32
""" + view("A", "%a", "%M, %K", "%lda, %c1") + b_view
            + view("C", "%c", "%M, %N", "%ldc, %c1", "f32") + setup + """
  %zero = arith.constant dense<0.0> : tensor<32x32xf32>
  %acc_out = scf.for %k = %c0 to %K step %c16 iter_args(%acc = %zero) -> (tensor<32x32xf32>)
      : i32 {""" + step + """    scf.yield %next : tensor<32x32xf32>
  }
""" + store("%acc_out", "C", "%i", "%j", "32x32", "f32") + "  return\n}")


@pytest.mark.parametrize("shared", [False, True], ids=["registers", "shared_async"])
@pytest.mark.parametrize("mnk", [(64, 64, 32), (50, 70, 40), (1, 33, 17)])
def test_gemm_ragged(mnk, shared):
    m, n, k = mnk
    rng = np.random.default_rng(m * n * k)
    a = rng.standard_normal((m, k)).astype(BF16)
    b = rng.standard_normal((k, n)).astype(BF16)
    b_in = np.ascontiguousarray(b.T) if shared else b
    c = np.full((m, n), np.nan, np.float32)
    grid = ((m + 31) // 32, (n + 31) // 32)
    run_ir(gemm(shared), [a, b_in, c, m, n, k, k, b_in.shape[1], n], grid)
    reference = a.astype(np.float64) @ b.astype(np.float64)
    # Each 16-deep step is exact and rounded once to f32: a few f32 ulps in all.
    np.testing.assert_allclose(c, reference, rtol=1e-6, atol=1e-6)


# Attention forward for one head: 16 query rows a program, key/value blocks of 16,
# online softmax in f32, P rounded to bf16 for the second mma (as on the GPU).
ATTENTION = ("""
func.func @attention(%q: !tile.ptr<bf16>, %k: !tile.ptr<bf16>, %v: !tile.ptr<bf16>,
                     %o: !tile.ptr<bf16>, %S: i32, %scale: f32) attributes {tile.kernel} {"""
             + HEADER + """
  %c16 = arith.constant 16 : i32
  %c32 = arith.constant 32 : i32
  %row = arith.muli %pid0, %c16 : i32
""" + view("Q", "%q", "%S, %c32", "%c32, %c1") + view("K", "%k", "%S, %c32", "%c32, %c1")
             + view("V", "%v", "%S, %c32", "%c32, %c1") + view("O", "%o", "%S, %c32", "%c32, %c1")
             + load("tq", "Q", "%row", "%c0", "16x32") + """
  %scales = tile.splat %scale : f32 -> tensor<16x16xf32>
  %ninf = arith.constant dense<0xFF800000> : tensor<16x16xf32>
  %m0 = arith.constant dense<0xFF800000> : tensor<16xf32>
  %l0 = arith.constant dense<0.0> : tensor<16xf32>
  %acc0 = arith.constant dense<0.0> : tensor<16x32xf32>
  %zs = arith.constant dense<0.0> : tensor<16x16xf32>
  %cols = tile.iota : tensor<16xi32>
  %n = tile.splat %S : i32 -> tensor<16xi32>
  %res:3 = scf.for %start = %c0 to %S step %c16 iter_args(%m = %m0, %l = %l0, %acc = %acc0)
      -> (tensor<16xf32>, tensor<16xf32>, tensor<16x32xf32>) : i32 {
""" + load("tk", "K", "%start", "%c0", "16x32") + load("tv", "V", "%start", "%c0", "16x32") + """
    %qk = tile.mma %tq, %tk, %zs {transpose_b} : tensor<16x32xbf16>, tensor<16x32xbf16>,
        tensor<16x16xf32> -> tensor<16x16xf32>
    %s0 = arith.mulf %qk, %scales : tensor<16x16xf32>
    %first = tile.splat %start : i32 -> tensor<16xi32>
    %key = arith.addi %first, %cols : tensor<16xi32>
    %valid = arith.cmpi slt, %key, %n : tensor<16xi32>
""" + broadcast("valid2", "%valid", "16x16", 0, "i1") + """
    %s = arith.select %valid2, %s0, %ninf : tensor<16x16xi1>, tensor<16x16xf32>
""" + reduce("bm", "max", "%s", "16x16", 1) + """
    %mnew = arith.maximumf %m, %bm : tensor<16xf32>
""" + broadcast("mb", "%mnew", "16x16", 1) + """
    %d = arith.subf %s, %mb : tensor<16x16xf32>
    %p = math.exp %d : tensor<16x16xf32>
    %dm = arith.subf %m, %mnew : tensor<16xf32>
    %alpha = math.exp %dm : tensor<16xf32>
""" + reduce("ps", "sum", "%p", "16x16", 1) + """
    %la = arith.mulf %l, %alpha : tensor<16xf32>
    %lnew = arith.addf %la, %ps : tensor<16xf32>
""" + broadcast("ab", "%alpha", "16x32", 1) + """
    %scaled = arith.mulf %acc, %ab : tensor<16x32xf32>
    %pb = arith.truncf %p : tensor<16x16xf32> to tensor<16x16xbf16>
    %accnew = tile.mma %pb, %tv, %scaled : tensor<16x16xbf16>, tensor<16x32xbf16>,
        tensor<16x32xf32> -> tensor<16x32xf32>
    scf.yield %mnew, %lnew, %accnew : tensor<16xf32>, tensor<16xf32>, tensor<16x32xf32>
  }
""" + broadcast("lb", "%res#1", "16x32", 1) + """
  %out = arith.divf %res#2, %lb : tensor<16x32xf32>
  %ob = arith.truncf %out : tensor<16x32xf32> to tensor<16x32xbf16>
""" + store("%ob", "O", "%row", "%c0", "16x32") + "  return\n}")


@pytest.mark.parametrize("seq", [16, 40])
def test_attention_forward(seq):
    rng = np.random.default_rng(seq)
    q, k, v = (rng.standard_normal((seq, 32)).astype(BF16) for _ in range(3))
    o = np.zeros((seq, 32), BF16)
    scale = 1 / np.sqrt(32)
    run_ir(ATTENTION, [q, k, v, o, seq, scale], grid=(seq + 15) // 16)
    s = q.astype(np.float64) @ k.astype(np.float64).T * scale
    p = np.exp(s - s.max(axis=1, keepdims=True))
    reference = (p / p.sum(axis=1, keepdims=True)) @ v.astype(np.float64)
    # P and O are rounded to bf16 (2^-8 relative each), as on the GPU.
    np.testing.assert_allclose(o.astype(np.float64), reference, rtol=2e-2, atol=2e-2)

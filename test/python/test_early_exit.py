"""`break`, `continue` and `return` inside runtime loops and branches
(frontend/early_exit.py): lowered to flags carried by scf.if / scf.while, so the
IR has only structured control flow. The IR, the interpreter against Python,
PTX through the whole pipeline, misuse as CompilationErrors, and the GPU."""
import subprocess

import ml_dtypes
import numpy as np
import pytest

import tile
from expect_error import expect_error
from tile.compiler.driver import find_ptxas


@tile.jit
def search(X, OUT, n, limit, BLOCK: tile.constexpr):
    """Sums blocks of X until the block index squared passes `limit`, skipping
    every third block: a loop with both `break` and `continue`."""
    acc = tile.zeros((BLOCK,), tile.float32)
    for b in range(0, n):
        if b * b > limit:
            break
        if b % 3 == 0:
            continue
        acc = acc + tile.load(X, b * BLOCK, BLOCK)
    tile.store(OUT, 0, acc)


def search_reference(x, n, limit, block):
    acc = np.zeros(block, np.float32)
    for b in range(n):
        if b * b > limit:
            break
        if b % 3 == 0:
            continue
        acc += x[b * block:(b + 1) * block]
    return acc


def test_break_makes_the_loop_a_while():
    text = search.ir("*f32:16", "*f32:16", "i32", "i32", BLOCK=64)
    assert "scf.for" not in text and text.count("scf.while") == 1
    # carried: the accumulator, the break flag, the counter; continue's flag is
    # cleared each iteration, so not carried.
    assert "scf.while (%arg6 = %cst, %arg7 = %false, %arg8 = %c0_i32) : (tensor<64xf32>, " \
           "i1, i32)" in text


@pytest.mark.parametrize("n,limit", [(20, 50), (20, 1000), (0, 5), (5, -1)])
def test_break_and_continue_on_the_interpreter(n, limit):
    x = np.random.default_rng(0).standard_normal(64 * 20).astype(np.float32)
    out = np.zeros(64, np.float32)
    search[(1,)].interpret(x, out, n, limit, BLOCK=64)
    np.testing.assert_allclose(out, search_reference(x, n, limit, 64), rtol=1e-6)


@tile.jit
def skip_rows(X, Y, rows, skip_from, skip_to, BM: tile.constexpr, BN: tile.constexpr):
    """Copies X's rows doubled, except rows skip_from..skip_to: `continue` only, so
    the loop stays an scf.for."""
    for r in range(0, rows):
        if r >= skip_from and r < skip_to:
            continue
        tile.store(Y, (r, 0), tile.load(X, (r, 0), (BM, BN)) * 2)


def test_continue_keeps_the_for():
    text = skip_rows.ir("*f32[2]:16", "*f32[2]:16", "i32", "i32", "i32", BM=1, BN=64)
    assert "scf.for" in text and "scf.while" not in text
    x = np.arange(8 * 64, dtype=np.float32).reshape(8, 64)
    y = np.full_like(x, -1)
    skip_rows[(1,)].interpret(x, y, 8, 2, 5, BM=1, BN=64)
    expected = x * 2
    expected[2:5] = -1
    np.testing.assert_array_equal(y, expected)


@tile.jit
def guarded(X, Y, n_programs, BLOCK: tile.constexpr):
    pid = tile.program_id(0)
    if pid >= n_programs:
        return
    x = tile.load(X, pid * BLOCK, BLOCK)
    tile.store(Y, pid * BLOCK, x + 1)


def test_early_return_of_programs_out_of_range():
    text = guarded.ir("*f32:16", "*f32:16", "i32", BLOCK=64)
    assert text.count("scf.if") == 2 and "tile.store" in text.split("scf.if")[2]
    x = np.arange(4 * 64, dtype=np.float32)
    y = np.zeros_like(x)
    guarded[(4,)].interpret(x, y, 3, BLOCK=64)
    np.testing.assert_array_equal(y[:192], x[:192] + 1)
    np.testing.assert_array_equal(y[192:], 0)


@tile.jit
def first_multiple(start, k):
    """The first i >= start with i % k == 0 and i > 5, returned from inside a loop."""
    for i in range(start, start + 100):
        if i % k == 0 and i > 5:
            return i
    return -1


@tile.jit
def sign(x):
    if x > 0:
        return 1.0, x
    elif x < 0:
        return -1.0, -x
    return 0.0, x


@tile.jit
def helpers(OUT, start, k, v):
    s, magnitude = sign(v)
    tile.store(OUT, 0, tile.full((16,), first_multiple(start, k).to(tile.float32) +
                                 s * 1000 + magnitude * 10000))


@pytest.mark.parametrize("start,k,v", [(0, 4, 2.5), (7, 7, -1.5), (3, 200, 0.0)])
def test_return_from_loops_and_branches_of_helpers(start, k, v):
    text = helpers.ir("*f32:16", "i32", "i32", "f32")
    assert "scf.while" in text
    out = np.zeros(16, np.float32)
    helpers[(1,)].interpret(out, start, k, v)
    first = next((i for i in range(start, start + 100) if i % k == 0 and i > 5), -1)
    s = 1.0 if v > 0 else -1.0 if v < 0 else 0.0
    np.testing.assert_array_equal(out, np.float32(first + s * 1000 + abs(v) * 10000))


@tile.jit
def odd_multiple(n, k):
    """A `while` with `continue`, returning a tuple from inside it."""
    i = 0
    while i < n:
        i += 1
        if i % 2 == 0:
            continue
        if i % k == 0:
            return i, i * 2
    return -1, -2


@tile.jit
def stores_until(OUT, v):
    """A helper that returns nothing, early, from a loop."""
    for i in range(0, 3):
        if v > i:
            tile.store(OUT, 0, tile.full((16,), i, tile.int32))
        else:
            return


@tile.jit
def while_helpers(OUT, OUT2, n, k, v):
    a, b = odd_multiple(n, k)
    stores_until(OUT2, v)
    tile.store(OUT, 0, tile.full((16,), a * 1000 + b, tile.int32))


def odd_multiple_reference(n, k):
    i = 0
    while i < n:
        i += 1
        if i % 2 == 0:
            continue
        if i % k == 0:
            return i, i * 2
    return -1, -2


@pytest.mark.parametrize("n,k,v", [(20, 5, 0), (20, 4, 2), (3, 3, 5), (0, 1, 1)])
def test_while_with_continue_and_tuple_return(n, k, v):
    out, out2 = np.zeros(16, np.int32), np.full(16, -7, np.int32)
    while_helpers[(1,)].interpret(out, out2, n, k, v)
    a, b = odd_multiple_reference(n, k)
    np.testing.assert_array_equal(out, a * 1000 + b)
    np.testing.assert_array_equal(out2, -7 if v <= 0 else min(v, 3) - 1)


@tile.jit
def nested(OUT, n, stop_at, BLOCK: tile.constexpr):
    """An inner loop's break ends only it; a return in it ends the kernel."""
    total = 0
    for i in range(0, n):
        j = 0
        while j < n:
            if j > i:
                break
            if i * 10 + j == stop_at:
                tile.store(OUT, 0, tile.full((BLOCK,), total - 1, tile.int32))
                return
            total = total + 1
            j += 1
    tile.store(OUT, 0, tile.full((BLOCK,), total, tile.int32))


def nested_reference(n, stop_at):
    total = 0
    for i in range(n):
        j = 0
        while j < n:
            if j > i:
                break
            if i * 10 + j == stop_at:
                return total - 1
            total += 1
            j += 1
    return total


@pytest.mark.parametrize("n,stop_at", [(6, -1), (6, 42), (6, 0), (9, 87)])
def test_nested_loops(n, stop_at):
    out = np.zeros(16, np.int32)
    nested[(1,)].interpret(out, n, stop_at, BLOCK=16)
    np.testing.assert_array_equal(out, nested_reference(n, stop_at))


@tile.jit
def constexpr_exits(OUT, n, EARLY: tile.constexpr, BLOCK: tile.constexpr):
    acc = tile.zeros((BLOCK,), tile.int32)
    for i in range(0, n):
        if EARLY:
            break
        acc = acc + 1
    tile.store(OUT, 0, acc)


def test_exits_under_constexpr_ifs():
    # An exit not taken stays a constant: the loop stays an scf.for (pipelined).
    text = constexpr_exits.ir("*i32:16", "i32", EARLY=False, BLOCK=16)
    assert "scf.for" in text and "scf.while" not in text and "scf.if" not in text
    assert "scf.while" in constexpr_exits.ir("*i32:16", "i32", EARLY=True, BLOCK=16)
    out = np.zeros(16, np.int32)
    constexpr_exits[(1,)].interpret(out, 5, EARLY=True, BLOCK=16)
    np.testing.assert_array_equal(out, 0)
    constexpr_exits[(1,)].interpret(out, 5, EARLY=False, BLOCK=16)
    np.testing.assert_array_equal(out, 5)


@tile.jit
def gemm_with_break(A, B, C, k_tiles, BM: tile.constexpr, BN: tile.constexpr,
                    BK: tile.constexpr):
    """A K loop that may stop early: an scf.while, which the tile passes leave alone."""
    acc = tile.zeros((BM, BN), tile.float32)
    for k in range(0, 8):
        if k >= k_tiles:
            break
        a = tile.load(A, (0, k * BK), (BM, BK))
        b = tile.load(B, (k * BK, 0), (BK, BN))
        acc = tile.mma(a, b, acc)
    tile.store(C, (0, 0), acc)


def test_reaches_ptx():
    for kernel, signature, constants in [
            (search, ("*f32:16", "*f32:16", "i32", "i32"), dict(BLOCK=64)),
            (nested, ("*i32:16", "i32", "i32"), dict(BLOCK=16)),
            (guarded, ("*f32:16", "*f32:16", "i32"), dict(BLOCK=64)),
            (helpers, ("*f32:16", "i32", "i32", "f32"), {}),
            (while_helpers, ("*i32:16", "*i32:16", "i32", "i32", "i32"), {}),
            (skip_rows, ("*f32[2]:16", "*f32[2]:16", "i32", "i32", "i32"), dict(BM=1, BN=64))]:
        compiled = kernel.compile(*signature, **constants)
        assert f".entry {kernel.__name__}(" in compiled.ptx
        if find_ptxas() is not None:  # ptxas accepts it
            assert compiled.cubin


@tile.jit
def gemm_with_continue(A, B, C, skip, BM: tile.constexpr, BN: tile.constexpr,
                       BK: tile.constexpr):
    """An scf.for whose loads and mma run under the continue flag's scf.if."""
    acc = tile.zeros((BM, BN), tile.float32)
    for k in range(0, 8):
        if k == skip:
            continue
        a = tile.load(A, (0, k * BK), (BM, BK))
        b = tile.load(B, (k * BK, 0), (BK, BN))
        acc = tile.mma(a, b, acc)
    tile.store(C, (0, 0), acc)


GEMM_SIGNATURE = ("*bf16[2]:16", "*bf16[2]:16", "*f32[2]:16", "i32")


@tile.jit
def gemm_after_early_return(A, B, C, k_tiles, rows, BM: tile.constexpr, BN: tile.constexpr,
                            BK: tile.constexpr):
    """The K loop under the scf.if of an early return stays an scf.for: pipelined."""
    pid = tile.program_id(0)
    if pid * BM >= rows:
        return
    acc = tile.zeros((BM, BN), tile.float32)
    for k in range(0, k_tiles):
        a = tile.load(A, (pid * BM, k * BK), (BM, BK))
        b = tile.load(B, (k * BK, 0), (BK, BN))
        acc = tile.mma(a, b, acc)
    tile.store(C, (pid * BM, 0), acc)


def test_gemm_after_an_early_return():
    signature = GEMM_SIGNATURE + ("i32",)
    compiled = gemm_after_early_return.compile(*signature, BM=64, BN=64, BK=64)
    assert ".entry gemm_after_early_return(" in compiled.ptx
    rng = np.random.default_rng(2)
    a = rng.standard_normal((128, 128)).astype(ml_dtypes.bfloat16)
    b = rng.standard_normal((128, 64)).astype(ml_dtypes.bfloat16)
    c = np.full((192, 64), -1, np.float32)
    # three programs: the third starts at row 128 >= rows and returns at once
    gemm_after_early_return[(3,)].interpret(a, b, c, 2, 128, BM=64, BN=64, BK=64)
    np.testing.assert_allclose(c[:128], a.astype(np.float32) @ b.astype(np.float32),
                               rtol=1e-3, atol=1e-3)
    np.testing.assert_array_equal(c[128:], -1)


@pytest.mark.parametrize("kernel", [gemm_with_break, gemm_with_continue])
def test_tile_passes_leave_loops_with_exits_alone(kernel, tmp_path):
    path = tmp_path / "kernel.mlir"
    path.write_text(kernel.ir(*GEMM_SIGNATURE, BM=64, BN=64, BK=64))
    as_read = subprocess.run(["tile-opt", str(path)], capture_output=True, text=True, check=True)
    for passes in (["--tile-pipeline"], ["--tile-overlap-mma"],
                   ["--tile-pipeline", "--tile-warp-specialize"]):
        run = subprocess.run(["tile-opt", *passes, str(path)], capture_output=True, text=True,
                             check=True)
        assert run.stdout == as_read.stdout, passes
    assert "warp_specialize not applied" in run.stderr
    # Not pipelined, the mma still compiles: A from registers, B written to
    # shared memory right before it (tile-store-mma-operands), fenced for WGMMA.
    compiled = kernel.compile(*GEMM_SIGNATURE, BM=64, BN=64, BK=64)
    ptx = compiled.ptx
    wgmma = ptx.index("wgmma.mma_async")
    assert "cp.async.bulk.tensor.2d.shared::cluster.global" not in ptx  # no TMA loads
    assert "st.shared" in ptx[:wgmma] and "fence.proxy.async.shared::cta;" in ptx[:wgmma]
    if find_ptxas() is not None:
        assert compiled.cubin and compiled.metadata["spill_stores"] == 0


def test_gemm_with_break_on_the_interpreter():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((64, 512)).astype(ml_dtypes.bfloat16)
    b = rng.standard_normal((512, 64)).astype(ml_dtypes.bfloat16)
    c = np.zeros((64, 64), np.float32)
    gemm_with_break[(1,)].interpret(a, b, c, 3, BM=64, BN=64, BK=64)
    expected = a[:, :192].astype(np.float32) @ b[:192].astype(np.float32)
    np.testing.assert_allclose(c, expected, rtol=1e-3, atol=1e-3)


def test_num_stages_on_a_loop_with_break_warns(monkeypatch):
    """The stage count cannot apply to an scf.while: asked for, it is not dropped
    silently (TILE_STRICT=1 makes it an error); left to its default, nothing is said."""
    monkeypatch.delenv("TILE_STRICT", raising=False)
    monkeypatch.setenv("TILE_CACHE", "0")
    with pytest.warns(UserWarning, match="num_stages=3 not applied: this loop may exit early"):
        gemm_with_break.compile(*GEMM_SIGNATURE, BM=64, BN=64, BK=64, num_stages=3)
    monkeypatch.setenv("TILE_STRICT", "1")
    with pytest.raises(tile.CompilationError, match="num_stages=4 not applied"):
        gemm_with_break.compile(*GEMM_SIGNATURE, BM=64, BN=64, BK=64, num_stages=4)


# -- misuse -----------------------------------------------------------------------
@tile.jit
def kernel_returns_value(X, n):
    for i in range(0, n):
        if i > 3:
            return i  # <- kernel value


@tile.jit
def returns_sometimes(x):
    if x > 0:
        return x
    y = x * 2  # <- falls off


@tile.jit
def calls_returns_sometimes(X, v):
    w = returns_sometimes(v)


@tile.jit
def bare_and_valued(x):
    if x > 0:
        return  # <- bare
    return x


@tile.jit
def calls_bare_and_valued(X, v):
    w = bare_and_valued(v)


@tile.jit
def two_types(x):
    if x > 0:
        return x
    return x.to(tile.float16)  # <- two types


@tile.jit
def calls_two_types(X, v):
    w = two_types(v)


def test_misuse_names_the_line():
    expect_error(kernel_returns_value, "# <- kernel value", "a tile kernel cannot return a "
                 "value", "*f32:16", "i32")
    expect_error(calls_returns_sometimes, "# <- falls off", "returns_sometimes returns a value "
                 "on some paths but can reach its end without a `return`", "*f32:16", "f32")
    expect_error(calls_bare_and_valued, "# <- bare", "this `return` gives no value but another "
                 "`return` of bare_and_valued does", "*f32:16", "f32")
    expect_error(calls_two_types, "# <- two types", "this function returns float16 on one path "
                 "and float32 on another", "*f32:16", "f32")


# -- on the GPU ---------------------------------------------------------------------
@pytest.mark.gpu
def test_gpu_matches_the_interpreter():
    import torch
    x = torch.randn(64 * 20, device="cuda")
    for n, limit in [(20, 50), (20, 1000), (0, 5)]:
        out = torch.zeros(64, device="cuda")
        search[(1,)](x, out, n, limit, BLOCK=64)
        torch.cuda.synchronize()
        np.testing.assert_allclose(out.cpu().numpy(), search_reference(x.cpu().numpy(), n,
                                                                       limit, 64), rtol=1e-5)
    for n, stop_at in [(6, -1), (6, 42), (9, 87)]:
        out = torch.zeros(16, dtype=torch.int32, device="cuda")
        nested[(1,)](out, n, stop_at, BLOCK=16)
        torch.cuda.synchronize()
        assert (out.cpu().numpy() == nested_reference(n, stop_at)).all()
    xs = torch.arange(4 * 64, dtype=torch.float32, device="cuda")
    ys = torch.zeros_like(xs)
    guarded[(4,)](xs, ys, 3, BLOCK=64)
    torch.cuda.synchronize()
    assert torch.equal(ys[:192], xs[:192] + 1) and not ys[192:].any()
    out = torch.zeros(16, device="cuda")
    helpers[(1,)](out, 7, 7, -1.5)
    torch.cuda.synchronize()
    assert (out.cpu().numpy() == np.float32(7 - 1000 + 15000)).all()
    rows = torch.arange(8 * 64, dtype=torch.float32, device="cuda").reshape(8, 64)
    y = torch.full_like(rows, -1)
    skip_rows[(1,)](rows, y, 8, 2, 5, BM=1, BN=64)
    torch.cuda.synchronize()
    expected = rows * 2
    expected[2:5] = -1
    assert torch.equal(y, expected)


@pytest.mark.gpu
@pytest.mark.parametrize("kernel", [gemm_with_break, gemm_with_continue])
def test_gemm_with_exits_on_the_gpu(kernel):
    import torch
    a = torch.randn(64, 512, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(512, 64, device="cuda", dtype=torch.bfloat16)
    c = torch.zeros(64, 64, device="cuda")
    kernel[(1,)](a, b, c, 3, BM=64, BN=64, BK=64)
    expected = np.zeros((64, 64), np.float32)
    kernel[(1,)].interpret(a.cpu().float().numpy().astype(ml_dtypes.bfloat16),
                           b.cpu().float().numpy().astype(ml_dtypes.bfloat16), expected, 3,
                           BM=64, BN=64, BK=64)
    torch.cuda.synchronize()
    np.testing.assert_allclose(c.cpu().numpy(), expected, rtol=1e-3, atol=1e-3)


@pytest.mark.gpu
def test_gemm_after_an_early_return_on_the_gpu():
    import torch
    a = torch.randn(128, 128, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(128, 64, device="cuda", dtype=torch.bfloat16)
    c = torch.full((192, 64), -1.0, device="cuda")
    gemm_after_early_return[(3,)](a, b, c, 2, 128, BM=64, BN=64, BK=64)
    torch.cuda.synchronize()
    torch.testing.assert_close(c[:128], a.float() @ b.float(), rtol=1e-2, atol=1e-2)
    assert (c[128:] == -1).all()


@tile.jit
def inner_exits(X, Y, m, BLOCK: tile.constexpr):
    """The outer loop never leaves early; its inner loop breaks and continues."""
    acc = tile.zeros((BLOCK,), tile.float32)
    for i in range(m):
        for j in range(4):
            if j == 1:
                continue
            if j > i:
                break
            acc += tile.load(X, j * BLOCK, BLOCK) * (i + 1)
    tile.store(Y, 0, acc)


def test_exits_of_a_loop_inside_a_loop_that_has_none():
    text = inner_exits.ir("*f32:16", "*f32:16", "i32", BLOCK=32)
    assert "scf.for" in text and "scf.while" in text  # the outer stays a for
    x = np.random.default_rng(3).standard_normal(128).astype(np.float32)
    y = np.zeros(32, np.float32)
    inner_exits[(1,)].interpret(x, y, 4, BLOCK=32)
    want = sum(x[j * 32:(j + 1) * 32] * (i + 1) for i in range(4) for j in range(4)
               if j != 1 and j <= i)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)
    assert ".entry inner_exits(" in inner_exits.compile("*f32:16", "*f32:16", "i32",
                                                        BLOCK=32).ptx

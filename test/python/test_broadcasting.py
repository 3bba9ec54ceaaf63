"""numpy's broadcasting in kernels: rows and columns (`v[:, None]`, `v[None, :]`,
`tile.expand_dims`, `.reshape`, `tile.squeeze`) are tiles of their own, size-1
dims stretch, a 1-D tile with a 2-D one is a row; on the interpreter against
numpy, in the IR (rows and columns of scalars stay 1-D: nothing is reduced),
through ptxas, and on the GPU."""
import numpy as np
import pytest

import tile
from tile.compiler import find_ptxas
from expect_error import expect_error


@tile.jit
def outer(A, B, Y, M: tile.constexpr, N: tile.constexpr):
    a = tile.load(A, 0, M)
    b = tile.load(B, 0, N)
    tile.store(Y, (0, 0), a[:, None] * b[None, :] + 1)


@tile.jit
def stretch(X, R, C, Y, M: tile.constexpr, N: tile.constexpr):
    x = tile.load(X, (0, 0), (M, N))
    row = tile.load(R, (0, 0), (1, N))            # a real (1, N) tile
    col = tile.expand_dims(tile.load(C, 0, M), 1)  # (M, 1)
    scaled = col * 2
    tile.store(Y, (0, 0), x * row - scaled + tile.squeeze(row, 0) * 0.5)


@tile.jit
def alone(A, Col, Row, Sums, M: tile.constexpr):
    a = tile.load(A, 0, M)
    column = a[:, None] * 3            # (M, 1) of a column and a scalar
    tile.store(Col, (0, 0), column)    # stored as it is
    tile.store(Row, (0, 0), a.reshape((1, M)) + 1)
    tile.store(Sums, 0, tile.sum(column, axis=1) + tile.squeeze(a[None, :], 0))


@tile.jit
def one_element(P, X, Y, N: tile.constexpr):
    p = tile.load(P, 0, 1)             # (1,) stretches to (N,)
    x = tile.load(X, 0, N)
    tile.store(Y, 0, x + p + tile.where(x > 0, p, 0.0))


@tile.jit
def row_gather(T, Y, i, N: tile.constexpr):
    cols = tile.arange(N)
    offsets = i * N + cols[None, :]
    row = tile.load(T, offsets)        # a (1, N) row: gathered as its 1-D tile
    y = tile.zeros((4, N)) + row
    tile.store(Y, (0, 0), y)


@tile.jit
def outer_in_a_loop(A, Y, K, M: tile.constexpr):
    a = tile.load(A, 0, M)
    acc = tile.zeros((M, M))
    for k in range(K):
        if tile.sum(a) > 100.0 + k:  # a runtime break: the loop is built twice
            break
        acc = acc + a[:, None] * a[None, :]
    tile.store(Y, (0, 0), acc)


def test_rows_and_columns_in_a_loop_built_twice():
    a = np.arange(4, dtype=np.float32)
    y = np.zeros((4, 4), np.float32)
    outer_in_a_loop[(1,)].interpret(a, y, 3, M=4)
    np.testing.assert_array_equal(y, 3 * np.outer(a, a))
    ir = outer_in_a_loop.ir("*f32:16", "*f32[2]:16", "i32", M=64)
    assert "scf.while" in ir and ir.count("tile.broadcast") == 2


def test_outer_product_on_the_interpreter():
    a, b = np.arange(4, dtype=np.float32), np.arange(8, dtype=np.float32) - 3
    y = np.zeros((4, 8), np.float32)
    outer[(1,)].interpret(a, b, y, M=4, N=8)
    np.testing.assert_array_equal(y, a[:, None] * b[None, :] + 1)


def test_size_one_dims_stretch_and_rows_align_on_the_right():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 16)).astype(np.float32)
    r = rng.standard_normal((1, 16)).astype(np.float32)
    c = rng.standard_normal(8).astype(np.float32)
    y = np.zeros_like(x)
    stretch[(1,)].interpret(x, r, c, y, M=8, N=16)
    np.testing.assert_allclose(y, x * r - c[:, None] * 2 + r[0] * 0.5, rtol=1e-6)


def test_rows_and_columns_are_tiles_of_their_own():
    a = np.arange(8, dtype=np.int32)
    col, row, sums = np.zeros((8, 1), np.int32), np.zeros((1, 8), np.int32), np.zeros(8, np.int32)
    alone[(1,)].interpret(a, col, row, sums, M=8)
    np.testing.assert_array_equal(col, a[:, None] * 3)
    np.testing.assert_array_equal(row, a[None, :] + 1)
    np.testing.assert_array_equal(sums, a * 3 + a)


def test_a_one_element_tile_stretches():
    p, x = np.array([2.5], np.float32), np.linspace(-1, 1, 16, dtype=np.float32)
    y = np.zeros_like(x)
    one_element[(1,)].interpret(p, x, y, N=16)
    np.testing.assert_allclose(y, x + 2.5 + np.where(x > 0, 2.5, 0))


def test_a_gather_through_a_row_gives_a_row():
    t = np.arange(32, dtype=np.float32).reshape(4, 8)
    y = np.zeros((4, 8), np.float32)
    row_gather[(1,)].interpret(t, y, 2, N=8)
    np.testing.assert_array_equal(y, np.broadcast_to(t[2], (4, 8)))


def test_columns_of_scalars_stay_one_dimensional_in_the_ir():
    ir = outer.ir("*f32:16", "*f32:16", "*f32[2]:16", M=64, N=64)
    assert "tile.reduce" not in ir
    # a[:, None] and b[None, :] as (64, 1) and (1, 64) tiles are unused: erased.
    assert ir.count("tile.broadcast") == 2 and "64x1x" not in ir and "1x64x" not in ir
    gathered = row_gather.ir("*f32:16", "*f32[2]:16", "i32", N=64)
    assert "tile.reduce" not in gathered and "tile.gather" in gathered


@pytest.mark.parametrize("kernel,args,constexprs", [
    (outer, ("*f32:16", "*f32:16", "*f32[2]:16"), dict(M=64, N=64)),
    (stretch, ("*f32[2]:16", "*f32[2]:16", "*f32:16", "*f32[2]:16"), dict(M=64, N=64)),
    (alone, ("*i32:16", "*i32[2]:16", "*i32[2]:16", "*i32:16"), dict(M=64)),
    (one_element, ("*f32:16", "*f32:16", "*f32:16"), dict(N=128)),
])
def test_reaches_a_cubin(kernel, args, constexprs):
    compiled = kernel.compile(*args, **constexprs)
    if find_ptxas() is not None:
        assert compiled.cubin


@tile.jit
def mismatched(A, B, Y, N: tile.constexpr):
    a = tile.load(A, 0, N)
    b = tile.load(B, 0, N // 2)
    tile.store(Y, (0, 0), a[:, None] + b[:, None])  # <- shapes


def test_shapes_that_do_not_broadcast_are_an_error():
    expect_error(mismatched, "# <- shapes", "do not broadcast", "*f32:16", "*f32:16",
                 "*f32[2]:16", N=64)


@tile.jit
def bad_reshape(A, Y, N: tile.constexpr):
    a = tile.load(A, 0, N)
    tile.store(Y, (0, 0), a.reshape((N // 2, 2)))  # <- reshape


def test_reshape_only_adds_or_removes_size_one_dims():
    expect_error(bad_reshape, "# <- reshape", "only dims of size 1 are added or removed",
                 "*f32:16", "*f32[2]:16", N=64)


@tile.jit
def batch_rows(X, Y, Z, W):
    t = tile.load(X, (1, 0, 0), (1, 64, 32))  # one batch of a (B, 64, 32) array
    tile.store(Y, (0, 0), tile.reshape(t, (64, 32)))
    column = tile.load(Z, (0, 0), (64, 1))
    tile.store(W, (0, 0), column.reshape((64,)).reshape((1, 64)))


def test_reshape_drops_every_size_one_dim_of_a_3d_tile():
    x = np.arange(2 * 64 * 32, dtype=np.float32).reshape(2, 64, 32)
    z = np.arange(64, dtype=np.float32).reshape(64, 1)
    y, w = np.zeros((64, 32), np.float32), np.zeros((1, 64), np.float32)
    batch_rows[(1,)].interpret(x, y, z, w)
    np.testing.assert_array_equal(y, x[1])
    np.testing.assert_array_equal(w[0], z[:, 0])
    assert "ld.global" in batch_rows.compile("*f32[3]:16", "*f32[2]:16", "*f32[2]:16",
                                              "*f32[2]:16").ptx


@tile.jit
def bad_squeeze(A, Y, N: tile.constexpr):
    a = tile.load(A, 0, N)
    tile.store(Y, 0, tile.squeeze(a[:, None], 0))  # <- squeeze


def test_squeeze_of_a_dim_larger_than_one_is_an_error():
    expect_error(bad_squeeze, "# <- squeeze", "only a dim of size 1 can be removed",
                 "*f32:16", "*f32:16", N=64)


@pytest.mark.gpu
def test_gpu_matches_numpy():
    import torch
    a, b = torch.arange(64, device="cuda", dtype=torch.float32), torch.randn(64, device="cuda")
    y = torch.empty(64, 64, device="cuda")
    outer[(1,)](a, b, y, M=64, N=64)
    torch.testing.assert_close(y, a[:, None] * b[None, :] + 1)
    x, r = torch.randn(64, 64, device="cuda"), torch.randn(1, 64, device="cuda")
    c, y = torch.randn(64, device="cuda"), torch.empty(64, 64, device="cuda")
    stretch[(1,)](x, r, c, y, M=64, N=64)
    torch.testing.assert_close(y, x * r - c[:, None] * 2 + r[0] * 0.5)
    p, v, out = torch.tensor([2.5], device="cuda"), torch.randn(128, device="cuda"), \
        torch.empty(128, device="cuda")
    one_element[(1,)](p, v, out, N=128)
    torch.testing.assert_close(out, v + 2.5 + torch.where(v > 0, 2.5, 0.0))


@tile.jit
def batch_softmax(X, Y, A: tile.constexpr, B: tile.constexpr):
    x = tile.reshape(tile.load(X, (1, 0, 0), (1, A, B)), (A, B))  # one batch, as 2-D
    e = tile.exp(x - tile.max(x, 1)[:, None])
    tile.store(Y, (0, 0), e / e.sum(1)[:, None])


def test_reductions_of_a_reshaped_batch():
    """A (1, A, B) tile reshaped to (A, B) is reduced and broadcast back as any 2-D
    tile (its layout, a slice of a 3-D one, is converted first)."""
    x = np.random.default_rng(0).standard_normal((2, 16, 128)).astype(np.float32)
    y = np.zeros((16, 128), np.float32)
    batch_softmax[(1,)].interpret(x, y, A=16, B=128)
    e = np.exp(x[1] - x[1].max(1, keepdims=True))
    np.testing.assert_allclose(y, e / e.sum(1, keepdims=True), rtol=1e-5, atol=1e-6)
    assert "ld.global" in batch_softmax.compile("*f32[3]:16", "*f32[2]:16", A=16, B=128).ptx


# -- tiles of three and more dims ---------------------------------------------------
# numpy's rules for any ranks: a (2, 4, 8) tile takes (8,), (1, 8), (4, 8), a
# reduction of itself and (2, 1, 8)-style tiles; `None` in an index adds a dim.
@tile.jit
def with_1d(X, V, O):
    x = tile.load(X, (0, 0, 0), (2, 4, 8))
    tile.store(O, (0, 0, 0), x * tile.load(V, 0, 8) + tile.arange(8).to(tile.float32))


@tile.jit
def with_2d(X, O):
    x = tile.load(X, (0, 0, 0), (2, 4, 8))
    row = tile.arange(8).to(tile.float32)[None, :]  # (1, 8)
    tile.store(O, (0, 0, 0), x + tile.load(X, (1, 0, 0), (4, 8)) * row + tile.sum(x, 0))


@tile.jit
def masked(X, n, O):
    x = tile.load(X, (0, 0, 0), (2, 4, 8), mask=tile.arange(8) < n, other=-1.0)
    tile.store(O, (0, 0, 0), tile.where(tile.arange(8) < 5, x, 0.0))


@tile.jit
def outer3(X, O):
    a, b, c = tile.arange(2).to(tile.float32), tile.arange(4), tile.arange(8)
    x = tile.load(X, (0, 0, 0), (2, 4, 8))
    tile.store(O, (0, 0, 0), x + a[:, None, None] * 100 + b[None, :, None] * 10 + c[None, None, :]
               + b[:, None] + a.reshape((2, 1, 1)))


@tile.jit
def gather3(X, s0, s1, O):
    b, m, n = tile.arange(2), tile.arange(4), tile.arange(8)
    offsets = b[:, None, None] * s0 + m[None, :, None] * s1 + n[None, None, :]
    tile.store(O, (0, 0, 0), tile.load(X, offsets, mask=(n < 6)[None, None, :]))


@tile.jit
def with_index_2d(X, O):
    x = tile.load(X, (0, 0, 0), (2, 4, 8))
    index = tile.arange(4)[:, None] * 8 + tile.arange(8)[None, :]  # a 2-D index tile
    s = tile.sum(x, 0)                                              # (4, 8) of a 3-D tile
    tile.store(O, (0, 0, 0), x + index[None, :, :].to(tile.float32)
               + tile.where(tile.arange(8) < 3, s, -s) + (s + tile.arange(8).to(tile.float32)))


@tile.jit
def with_4d(X, O):
    x = tile.load(X, (0, 0, 0, 0), (2, 2, 4, 8))
    tile.store(O, (0, 0, 0, 0), x + tile.sum(x, 1)[:, None] + tile.arange(8).to(tile.float32))


X3 = np.random.default_rng(3).standard_normal((2, 4, 8)).astype(np.float32)
T3 = "*f32[3]:16"


def interpret(kernel, *args, shape=(2, 4, 8), **constexprs):
    out = np.zeros(shape, np.float32)
    kernel[(1,)].interpret(*args, out, **constexprs)
    return out


def test_3d_tiles_broadcast_with_lower_ranks_as_numpy():
    v, n = np.linspace(-1, 1, 8, dtype=np.float32), np.arange(8)
    np.testing.assert_allclose(interpret(with_1d, X3, v), X3 * v + n, rtol=1e-6)
    np.testing.assert_allclose(interpret(with_2d, X3), X3 + X3[1] * n[None, :] + X3.sum(0),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(interpret(masked, X3, 6),
                                  np.where(n < 5, np.where(n < 6, X3, -1), 0))
    a, b, c = np.arange(2.0), np.arange(4.0), np.arange(8.0)
    np.testing.assert_allclose(interpret(outer3, X3), X3 + a[:, None, None] * 100 +
                               b[None, :, None] * 10 + c + b[:, None] + a.reshape(2, 1, 1),
                               rtol=1e-6)
    flat = np.arange(64, dtype=np.float32)
    offsets = np.arange(2)[:, None, None] * 32 + np.arange(4)[None, :, None] * 8 + np.arange(8)
    np.testing.assert_array_equal(interpret(gather3, flat, 32, 8),
                                  np.where(np.arange(8) < 6, flat[offsets], 0))
    s, index = X3.sum(0), np.arange(32).reshape(4, 8)
    np.testing.assert_allclose(interpret(with_index_2d, X3),
                               X3 + index + np.where(n < 3, s, -s) + (s + n), rtol=1e-5,
                               atol=1e-5)
    x4 = np.random.default_rng(4).standard_normal((2, 2, 4, 8)).astype(np.float32)
    np.testing.assert_allclose(interpret(with_4d, x4, shape=x4.shape),
                               x4 + x4.sum(1)[:, None] + n, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kernel,args", [
    (with_1d, (T3, "*f32:16", T3)), (with_2d, (T3, T3)), (masked, (T3, "i32", T3)),
    (outer3, (T3, T3)), (gather3, ("*f32:16", "i32", "i32", T3)), (with_index_2d, (T3, T3)),
    (with_4d, ("*f32[4]:16", "*f32[4]:16")),
])
def test_3d_broadcasts_reach_a_cubin(kernel, args):
    compiled = kernel.compile(*args)
    assert f".entry {kernel.__name__}(" in compiled.ptx
    if find_ptxas() is not None:
        assert compiled.cubin


@tile.jit
def no_index(X, O):
    x = tile.load(X, (0, 0, 0), (2, 4, 8))
    tile.store(O, (0, 0, 0), x[0])  # <- int index


@tile.jit
def bad_3d(X, O):
    x = tile.load(X, (0, 0, 0), (2, 4, 8))
    tile.store(O, (0, 0, 0), x + tile.load(X, (0, 0, 0), (2, 8)))  # <- 3d shapes


def test_3d_misuse_names_the_line():
    expect_error(no_index, "# <- int index", "tile[2, 4, 8] of float32 cannot be indexed",
                 T3, T3)
    expect_error(bad_3d, "# <- 3d shapes", "do not broadcast", T3, T3)


@pytest.mark.gpu
def test_gpu_3d_broadcasts_match_the_interpreter():
    import torch
    x4 = np.random.default_rng(4).standard_normal((2, 2, 4, 8)).astype(np.float32)
    flat = np.arange(64, dtype=np.float32)
    for kernel, args, shape in [
            (with_1d, (X3, np.linspace(-1, 1, 8, dtype=np.float32)), X3.shape),
            (with_2d, (X3,), X3.shape), (masked, (X3, 6), X3.shape), (outer3, (X3,), X3.shape),
            (gather3, (flat, 32, 8), X3.shape), (with_index_2d, (X3,), X3.shape),
            (with_4d, (x4,), x4.shape)]:
        want = interpret(kernel, *args, shape=shape)
        out = torch.full(shape, float("nan"), device="cuda")
        kernel[(1,)](*(torch.from_numpy(a).cuda() if isinstance(a, np.ndarray) else a
                       for a in args), out)
        np.testing.assert_allclose(out.cpu().numpy(), want, rtol=1e-5, atol=1e-5,
                                   err_msg=kernel.__name__)

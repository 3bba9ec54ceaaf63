"""One element at a time, as Triton code does with `tl.load(ptr + i)`: a load with
no shape gives a scalar, a scalar stored at one place writes that element, and an
atomic at a scalar offset returns the old value as a scalar; and `A.stride(d)`, the
strides Triton code passes by hand. The interpreter against numpy, the kernels
compiled (ptxas where present), and on a GPU."""
import numpy as np
import pytest

import tile
from expect_error import expect_error
from tile.compiler import find_ptxas


@tile.jit
def row_stats(X, Mean, Label, Loss, Total, Count, Order, N: tile.constexpr):
    row = tile.program_id(0)
    mean = tile.sum(tile.load(X, (row, 0), (1, N))) / N
    tile.store(Mean, row, mean)                          # a scalar at one place
    label = tile.load(Label, row)                        # one int64 element
    tile.store(Loss, row, tile.load(X, (row, 0)) + label.to(tile.float32))
    tile.atomic_add(Total, 0, mean)                      # scalar offset and value
    tile.atomic_add(Count, 0, 1)
    tile.store(Order, row, tile.atomic_max(Count, 1, row))   # the old value, a scalar


SIGNATURE = ("*f32[2]:16", "*f32:16", "*i64:16", "*f32:16", "*f32:16", "*i32:16", "*i32:16")


def case(R=8, N=64, seed=0):
    x = np.random.default_rng(seed).standard_normal((R, N)).astype(np.float32)
    label = np.arange(R, dtype=np.int64) * 3  # small enough to be exact in float32
    outs = (np.zeros(R, np.float32), np.zeros(R, np.float32), np.zeros(1, np.float32),
            np.zeros(2, np.int32), np.zeros(R, np.int32))
    return x, label, outs


def check(x, label, outs):
    mean, loss, total, count, order = outs
    np.testing.assert_allclose(mean, x.mean(1), atol=1e-6)
    np.testing.assert_allclose(loss, x[:, 0] + label, atol=1e-6)
    np.testing.assert_allclose(total[0], x.mean(1).sum(), atol=1e-5)
    assert count[0] == len(x) and count[1] == len(x) - 1
    # Each program's old value is the largest row applied before it (0 for the
    # first), in whatever order the programs ran: the last row's is at most the
    # row before it, and the first applied saw 0.
    assert min(order) == 0 and order[-1] <= len(x) - 2 and max(order) <= len(x) - 1


def test_interpreter_matches_numpy():
    x, label, outs = case()
    row_stats[(len(x),)].interpret(x, outs[0], label, *outs[1:], N=64)
    check(x, label, outs)


def test_compiles():
    kernel = row_stats.compile(*SIGNATURE, N=64)
    assert "atom." in kernel.ptx
    if find_ptxas() is not None:
        assert kernel.metadata["spill_stores"] == 0


@tile.jit
def store_other_dtype(X, v):
    tile.store(X, 0, v)  # <- dtype


def test_a_scalar_of_another_dtype_is_an_error():
    expect_error(store_other_dtype, "# <- dtype", "element types differ", "*bf16:16", "f32")


@pytest.mark.gpu
def test_gpu_matches_numpy():
    import torch
    x, label, outs = case(seed=1)
    device = [torch.from_numpy(t).cuda() for t in (x, outs[0], label, *outs[1:])]
    row_stats[(len(x),)](*device, N=64)
    torch.cuda.synchronize()
    host = [t.cpu().numpy() for t in device]
    check(host[0], host[2], (host[1], *host[3:]))


@tile.jit
def transpose_by_strides(X, Y, M: tile.constexpr, N: tile.constexpr):
    offsets = tile.arange(M)[:, None] * X.stride(0) + tile.arange(N)[None, :] * X.stride(1)
    tile.store(Y, (0, 0), tile.load(X, offsets))


@tile.jit
def stride_past_rank(X):
    s = X.stride(2)  # <- stride


def test_strides_address_a_transposed_array():
    x = np.arange(64 * 32, dtype=np.float32).reshape(64, 32).T  # strides (1, 32)
    y = np.zeros((32, 64), np.float32)
    transpose_by_strides[(1,)].interpret(x, y, M=32, N=64)
    np.testing.assert_array_equal(y, x)
    assert "ld.global" in transpose_by_strides.compile("*f32[2]:16", "*f32[2]:16", M=32,
                                                       N=64).ptx
    expect_error(stride_past_rank, "# <- stride", "X.stride(d) takes one constexpr dim of its 2",
                 "*f32[2]:16")


@tile.jit
def corner(A, V):
    tile.store(A, (1, 2), tile.load(V, 0))   # one element of a 2-D array, a scalar
    tile.store(A, (0, 0), 7.0)               # and a constant


def test_a_scalar_stored_into_a_2d_array():
    a, v = np.zeros((4, 4), np.float32), np.array([3.5], np.float32)
    corner[(1,)].interpret(a, v)
    want = np.zeros((4, 4), np.float32)
    want[1, 2], want[0, 0] = 3.5, 7.0
    np.testing.assert_array_equal(a, want)
    assert "st.global" in corner.compile("*f32[2]:16", "*f32:16").ptx

"""Tiles of lower rank than their array: a 1-D tile loaded from or stored to a
row of a 2-D array (`tile.load(X, (r, 0), (N,))`), and `Q[b, h]` of a 4-D array
as the 2-D array load and store take; any strides, bounded by the sizes as the
view form is. On the interpreter against numpy, through ptxas, on the GPU, and
the errors for misuse."""
import numpy as np
import pytest

import tile
from tile.compiler import find_ptxas
from expect_error import expect_error


@tile.jit
def shift_rows(X, Y, N: tile.constexpr):
    r = tile.program_id(0)
    v = tile.load(X, (r, 0), (N,))      # row r as a 1-D tile
    tile.store(Y, (r + 1, 0), v * 2)    # written as row r + 1 (the last one falls off)


@tile.jit
def per_head(Q, O, BM: tile.constexpr, D: tile.constexpr):
    b = tile.program_id(0)
    h = tile.program_id(1)
    q = tile.load(Q[b, h], (0, 0), (BM, D))
    tile.store(O[b][h], (0, 0), q * 2 + 1)
    tile.store(O[b, h, 0], 0, tile.load(Q[b, h], (1, 0), (D,)))  # a row of a selection


def test_rows_of_a_strided_array():
    x = np.arange(4 * 8, dtype=np.float32).reshape(4, 8)[:, :6]  # rows 8 apart, 6 long
    y = np.zeros((4, 6), np.float32)
    shift_rows[(4,)].interpret(x, y, N=8)
    want = np.zeros_like(y)
    want[1:] = x[:3] * 2
    np.testing.assert_array_equal(y, want)


def test_batched_heads_with_non_contiguous_strides():
    B, H, N, D = 2, 3, 5, 8
    q = np.arange(B * N * H * D, dtype=np.float32).reshape(B, N, H, D).transpose(0, 2, 1, 3)
    o = np.zeros((B, H, N, D), np.float32)
    per_head[(B, H)].interpret(q, o, BM=8, D=8)
    want = q * 2 + 1
    want[:, :, 0] = q[:, :, 1]
    np.testing.assert_array_equal(o, want)


def test_selections_reach_a_cubin():
    for kernel, args, constexprs in ((shift_rows, ("*f32[2]", "*f32[2]:16"), dict(N=128)),
                                     (per_head, ("*bf16[4]", "*bf16[4]:16"),
                                      dict(BM=64, D=64))):
        compiled = kernel.compile(*args, **constexprs)
        assert "tile.gather" in compiled.asm["tile"]
        if find_ptxas() is not None:
            assert compiled.cubin


@tile.jit
def copy_far_rows(X, Y, N: tile.constexpr):
    r = tile.program_id(0)
    row = tile.load(X, (r, 0), (N,))                            # a selection's gather
    tile.store(Y, (r, 0), row[None, :], mask=(row != 0)[None, :])  # a masked view store


def test_far_rows_move_the_pointer_in_64_bits():
    """Row r of an m x n array starts r · n elements in, past 2^31 on arrays of
    2^31+ elements: the pointer moves by that in 64 bits (tile.addptr), and the
    gather and scatter take 32-bit offsets within the row."""
    x = np.arange(1, 4 * 8 + 1, dtype=np.int8).reshape(4, 8)
    y = np.zeros((4, 8), np.int8)
    copy_far_rows[(4,)].interpret(x, y, N=8)
    np.testing.assert_array_equal(y, x)
    ir = copy_far_rows.compile("*i8[2]", "*i8[2]", N=128).asm["tile"]
    assert ir.count(": !tile.ptr<i8>, i64") == 2
    for op in ("tile.gather", "tile.scatter"):
        line = next(line for line in ir.splitlines() if op in line)
        assert "xi32>" in line.split("[")[1].split("]")[0], line  # 32-bit offsets


@pytest.mark.gpu
def test_gpu_far_rows_of_an_array_past_two_to_the_31():
    import torch
    rows, n = 524800, 4096  # 2^31 + 2^21 int8 elements
    x = torch.zeros(rows, n, dtype=torch.int8, device="cuda")
    x[-3:] = torch.randint(1, 100, (3, n), dtype=torch.int8, device="cuda")
    y = torch.zeros_like(x)
    copy_far_rows[(rows,)](x, y, N=4096)
    torch.testing.assert_close(y[-3:], x[-3:])
    assert int(y[:8].abs().sum()) == 0  # nothing wrapped onto the first rows


@tile.jit
def too_many(Q, D: tile.constexpr):
    q = tile.load(Q[0, 1], 0, D)  # <- too many


@tile.jit
def float_index(Q, x, D: tile.constexpr):
    q = tile.load(Q[x], (0,), (D,))  # <- float


@tile.jit
def gather_from_selection(Q, D: tile.constexpr):
    q = tile.load(Q[0], tile.arange(D))  # <- gather


def test_misuse_is_an_error_at_the_line():
    expect_error(too_many, "# <- too many", "takes at most 1 leading indices", "*f32[2]", D=16)
    expect_error(float_index, "# <- float", "index 0 of the 2-D array 'Q' of float32 must be "
                 "an integer", "*f32[2]", "f32", D=16)
    expect_error(gather_from_selection, "# <- gather", "is loaded and stored in the view form "
                 "only", "*f32[2]", D=16)


@pytest.mark.gpu
def test_gpu_matches_numpy():
    import torch
    B, H, N, D = 2, 4, 64, 64
    q = torch.randn(B, N, H, D, device="cuda").transpose(1, 2)
    o = torch.zeros(B, H, N, D, device="cuda")
    per_head[(B, H)](q, o, BM=64, D=64)
    want = q * 2 + 1
    want[:, :, 0] = q[:, :, 1]
    torch.testing.assert_close(o, want)
    x = torch.randn(16, 200, device="cuda")[:, :100]
    y = torch.zeros(16, 100, device="cuda")
    shift_rows[(16,)](x, y, N=128)
    torch.testing.assert_close(y[1:], x[:-1] * 2)

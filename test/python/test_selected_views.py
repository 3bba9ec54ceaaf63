"""Tiles of lower rank than their array: a 1-D tile loaded from or stored to a
row of a 2-D array (`tile.load(X, (r, 0), (N,))`); any strides, bounded by the
sizes as the view form is. On the interpreter against numpy, through ptxas and
on the GPU."""
import numpy as np
import pytest

import tile
from tile.compiler import find_ptxas


@tile.jit
def shift_rows(X, Y, N: tile.constexpr):
    r = tile.program_id(0)
    v = tile.load(X, (r, 0), (N,))      # row r as a 1-D tile
    tile.store(Y, (r + 1, 0), v * 2)    # written as row r + 1 (the last one falls off)


def test_rows_of_a_strided_array():
    x = np.arange(4 * 8, dtype=np.float32).reshape(4, 8)[:, :6]  # rows 8 apart, 6 long
    y = np.zeros((4, 6), np.float32)
    shift_rows[(4,)].interpret(x, y, N=8)
    want = np.zeros_like(y)
    want[1:] = x[:3] * 2
    np.testing.assert_array_equal(y, want)


def test_selections_reach_a_cubin():
    for kernel, args, constexprs in ((shift_rows, ("*f32[2]", "*f32[2]:16"), dict(N=128)),):
        compiled = kernel.compile(*args, **constexprs)
        assert "tile.gather" in compiled.asm["tile"]
        if find_ptxas() is not None:
            assert compiled.cubin


@pytest.mark.gpu
def test_gpu_matches_numpy():
    import torch
    x = torch.randn(16, 200, device="cuda")[:, :100]
    y = torch.zeros(16, 100, device="cuda")
    shift_rows[(16,)](x, y, N=128)
    torch.testing.assert_close(y[1:], x[:-1] * 2)

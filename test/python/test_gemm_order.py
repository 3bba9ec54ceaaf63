"""The persistent GEMMs' tile order (examples/gemm.py): grouped tiles whose
columns snake from one group to the next, every other round marching K
backwards, and the grid of equal rounds. On the interpreter: every tile of C
written exactly once and right, for shapes with a short last group, a partial
last k-step and several rounds."""
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
from gemm import gemm_persistent, persistent_grid  # noqa: E402


def integer_operands(M, N, K, seed=0):
    """Small integers: f32 holds their sums exactly in any order (the reference
    rounded to bf16 as C is)."""
    import ml_dtypes
    rng = np.random.default_rng(seed)
    a = rng.integers(-3, 4, (M, K)).astype(ml_dtypes.bfloat16)
    b = rng.integers(-3, 4, (K, N)).astype(ml_dtypes.bfloat16)
    ref = (a.astype(np.float32) @ b.astype(np.float32)).astype(ml_dtypes.bfloat16)
    return a, b, ref.astype(np.float32)


@pytest.mark.parametrize("M,N,K,programs,GROUP", [
    (320, 384, 160, 4, 2),  # 5 x 3 tiles: groups of 2, 2, 1 rows; 4 rounds; 2.5 k-steps
    (192, 640, 128, 3, 2),  # 3 x 5 tiles: the odd group's columns run right to left
    (256, 256, 192, 16, 4),  # more programs than tiles: the extra ones walk none
])
def test_persistent_order_covers_every_tile_once(M, N, K, programs, GROUP):
    import ml_dtypes
    a, b, ref = integer_operands(M, N, K)
    c = np.full((M, N), np.nan, ml_dtypes.bfloat16)
    gemm_persistent[(programs,)].interpret(a, b, c, BM=64, BN=128, BK=64, GROUP=GROUP)
    np.testing.assert_array_equal(c.astype(np.float32), ref)


@pytest.mark.parametrize("tiles,programs,expected", [
    (512, 132, 128),  # 4096^3 in 128x256 tiles: 4 rounds either way, none idle in the last
    (2048, 132, 128), (3584, 132, 128), (396, 132, 132), (100, 132, 100), (133, 132, 67)])
def test_persistent_grid_takes_equal_rounds(tiles, programs, expected):
    grid = persistent_grid(tiles * 128, 256, programs)({"BM": 128, "BN": 256})
    assert grid == (expected,)
    rounds = -(-tiles // programs)
    assert -(-tiles // grid[0]) == rounds  # as few rounds as with every program

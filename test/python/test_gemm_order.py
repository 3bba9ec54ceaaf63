"""The persistent GEMMs' tile order (examples/gemm.py): grouped tiles whose
columns snake from one group to the next, every other round marching K
backwards, and the grid of equal rounds. On the interpreter: every tile of C
written exactly once and right, for shapes with a short last group, a partial
last k-step and several rounds. And benchmarks/experiments/l2_model.py: its copy of the
order is the example's, and its DRAM bytes are ncu's where it was calibrated."""
import os
import sys

import numpy as np
import pytest

import tile

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
sys.path.insert(0, os.path.join(ROOT, "examples"))
sys.path.insert(0, ROOT)
from benchmarks.experiments import l2_model  # noqa: E402
from gemm import gemm_persistent, grouped_tile, persistent_grid  # noqa: E402


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


@tile.jit
def tile_order(Out, M, N, BM: tile.constexpr, BN: tile.constexpr, GROUP: tile.constexpr):
    """Row t of Out: tile t's (row, column) in tiles, as row * 65536 + column."""
    t = tile.program_id(0)
    i, j = grouped_tile(t, M, N, BM, BN, GROUP)
    tile.store(Out, (t, 0), tile.full((1, 16), (i // BM) * 65536 + j // BN, tile.int32))


@pytest.mark.parametrize("M,N,GROUP", [(4096, 4096, 16), (320, 768, 2), (1024, 1280, 3)])
def test_l2_model_walks_the_examples_order(M, N, GROUP):
    tiles_m, tiles_n = tile.cdiv(M, 64), tile.cdiv(N, 128)
    out = np.zeros((tiles_m * tiles_n, 16), np.int32)
    tile_order[(tiles_m * tiles_n,)].interpret(out, M, N, BM=64, BN=128, GROUP=GROUP)
    walked = [(int(v) // 65536, int(v) % 65536) for v in out[:, 0]]
    assert walked == [l2_model.grouped_tile(t, tiles_m, tiles_n, GROUP, snake=True)
                      for t in range(tiles_m * tiles_n)]
    assert sorted(walked) == [(i, j) for i in range(tiles_m) for j in range(tiles_n)]


@pytest.mark.parametrize("group,measured_mb", [(4, 180.4), (8, 186.6), (16, 147.8), (32, 174.1)])
def test_l2_model_matches_ncu_for_the_forward_order(group, measured_mb):
    """ncu's dram__bytes_read.sum at 4096^3 (H100, 132 programs, 128x256 tiles,
    K forwards, no snaking; docs/perf-notes.md)."""
    model = l2_model.dram_bytes(4096, 4096, 4096, group, backwards=False, snake=False,
                                l2_bytes=30 * 2**20, programs=132) / 1e6
    assert abs(model - measured_mb) < 0.02 * measured_mb

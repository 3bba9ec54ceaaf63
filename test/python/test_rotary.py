"""examples/rotary.py: rotary position embedding written as a Triton user
would (`(token * H + heads)[:, None] * (2 * D2)`, `position[:, None] * D2 +
cols[None, :]`, a (BH, D2) tile times a (1, D2) row of the tables), on the
interpreter against numpy in both pair layouts, and on the GPU against
float64."""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
import rotary  # noqa: E402


@pytest.mark.parametrize("interleaved", [False, True])
def test_interpreter_matches_numpy(interleaved):
    rng = np.random.default_rng(1)
    tokens, H, HK, D = 3, 3, 1, 8
    cos, sin = (a.astype(np.float32) for a in rotary.tables(16, D, np))
    positions = rng.integers(0, 16, tokens).astype(np.int32)
    q = rng.standard_normal((tokens, H, D)).astype(np.float32)
    k = rng.standard_normal((tokens, HK, D)).astype(np.float32)
    want = [rotary.reference(a, cos, sin, positions, interleaved) for a in (q, k)]
    rotary.apply_rotary(q, k, cos, sin, positions, interleaved, interpret=True)
    for got, expected in zip((q, k), want):
        np.testing.assert_allclose(got, expected, atol=1e-5)


def test_the_tables_row_is_not_reduced():
    ir = rotary.rotate.ir("*bf16:16", "*f32:16", "*f32:16", "*i32:16", "i32", D2=64, BH=32,
                          INTERLEAVED=False)
    # cos and sin are gathered through a (1, D2) row of offsets as 1-D tiles, so
    # multiplying (BH, D2) tiles by them needs no size-1 dim dropped.
    assert "tensor<1x64xf32>" not in ir
    reduces = [line for line in ir.splitlines() if "tile.reduce" in line]
    assert len(reduces) == 1 and "tensor<1xi32> -> i32" in reduces[0]  # the position's


@pytest.mark.gpu
def test_gpu_matches_float64():
    assert rotary.run_on_gpu(tokens=512, H=8, HK=2, D=128)

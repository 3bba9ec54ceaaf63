"""A launch option a pass cannot honour is not dropped silently: a kernel
that tile-warp-specialize cannot split runs unspecialized with a warning that
names the kernel and the reason; TILE_STRICT=1 makes it an error."""
import os
import sys
import warnings

import pytest

import tile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
from gemm import gemm  # noqa: E402


@tile.jit
def scale(x, out, n, BLOCK: tile.constexpr):
    start = tile.program_id(0) * BLOCK
    tile.store(out, start, tile.load(x, start, BLOCK, bound=n) * 2.0, bound=n)


ARGS = ("*f32:16", "*f32:16", "i32")


def test_warp_specialize_that_cannot_apply_warns():
    with pytest.warns(UserWarning, match="scale: warp_specialize not applied: no loop loads "
                                         "tiles for the producer to copy"):
        scale.compile(*ARGS, BLOCK=1024, warp_specialize=True)


def test_strict_makes_it_an_error(monkeypatch):
    monkeypatch.setenv("TILE_STRICT", "1")
    with pytest.raises(tile.CompilationError, match="warp_specialize not applied"):
        scale.compile(*ARGS, BLOCK=512, warp_specialize=True)


def test_warp_specialize_that_applies_is_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kernel = gemm.compile("*bf16[2]:16", "*bf16[2]:16", "*bf16[2]:16", BM=128, BN=128,
                              BK=64, num_warps=4, warp_specialize=True)
    assert kernel.metadata["block"] == [256, 1, 1]  # the producer warpgroup is there

"""The Hopper path on the CPU: a @tile.jit GEMM to PTX with TMA, mbarriers and
WGMMA, accepted by ptxas for sm_90a with no spills and no injected waits."""
import os
import sys

import pytest

from tile.compiler import find_ptxas

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
from gemm import gemm  # noqa: E402

ARGS = ("*bf16[2]:16", "*bf16[2]:16", "*bf16[2]:16")


def test_ptx_has_the_hopper_instructions():
    kernel = gemm.compile(*ARGS, BM=128, BN=128, BK=64)
    ptx = kernel.ptx
    assert "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16" in ptx
    assert "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes" in ptx
    assert "mbarrier.try_wait.parity" in ptx
    assert ptx.count(".param .align 64 .b8") == 2  # A's and B's tensor maps, by value


def test_tma_metadata_names_the_arrays():
    meta = gemm.compile(*ARGS, BM=128, BN=128, BK=64).metadata
    assert [(t["arg"], t["box"], t["swizzle"]) for t in meta["tma"]] == \
        [("A", [128, 64], 128), ("B", [64, 64], 128)]
    # 3 stages of A (16 KiB) and B (16 KiB) tiles, 1024-aligned, then 3 barriers
    assert meta["shared_bytes"] >= 3 * 32768 + 24


@pytest.mark.skipif(find_ptxas() is None, reason="ptxas not on PATH")
def test_ptxas_no_spills_no_injected_waits():
    meta = gemm.compile(*ARGS, BM=128, BN=128, BK=64).metadata
    assert meta["spill_stores"] == 0 and meta["spill_loads"] == 0
    assert "C7519" not in meta["ptxas_log"] and "C7517" not in meta["ptxas_log"]
    assert "injected" not in meta["ptxas_log"]


def test_num_stages_sizes_the_pipeline():
    three = gemm.compile(*ARGS, BM=128, BN=128, BK=64).metadata
    four = gemm.compile(*ARGS, BM=128, BN=128, BK=64, num_stages=4).metadata
    assert four["shared_bytes"] - three["shared_bytes"] == 32768  # one more A and B stage
    with pytest.raises(ValueError, match="stages must be 2..8"):
        gemm.compile(*ARGS, BM=128, BN=128, BK=64, num_stages=1)

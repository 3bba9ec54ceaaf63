"""examples/gemm_small_m.py: C = A @ B for few rows, computed as Cᵀ = Bᵀ·Aᵀ. The
interpreter against numpy at ragged shapes (M = 1, 16, 33); every configuration
compiles with A, B and C through TMA and no spills; on the GPU, against torch."""
import os
import sys

import pytest

from tile.compiler import find_ptxas

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
import gemm_small_m  # noqa: E402


def test_interpreter_matches_numpy():
    assert gemm_small_m.run_on_interpreter() == 0


@pytest.mark.parametrize("config", gemm_small_m.CONFIGS, ids=str)
def test_configurations_take_tma_without_spills(config):
    kernel = gemm_small_m.gemm_swap_ab.compile("*bf16[2]:16", "*bf16[2]:16", "*bf16[2]:16",
                                               **config.launch_kwargs())
    assert [t["arg"] for t in kernel.metadata["tma"]] == ["B", "A", "C"]
    assert "wgmma.mma_async" in kernel.ptx and kernel.metadata["unhonoured"] == []
    if find_ptxas() is not None:
        assert kernel.metadata["spill_stores"] == 0


@pytest.mark.gpu
def test_gpu_matches_torch():
    assert gemm_small_m.main() == 0

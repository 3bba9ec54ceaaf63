"""examples/gemm_small_m.py: C = A @ B for few rows, computed as Cᵀ = Bᵀ·Aᵀ. The
interpreter against numpy at ragged shapes (M = 1, 16, 33, and each configuration
of BM 128 or more at M = 130); every configuration compiles with A, B and C through
TMA and no spills; the pruning by M; on the GPU, each configuration and the tuned
kernel against torch."""
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


@pytest.mark.parametrize("config", [c for c in gemm_small_m.CONFIGS if c.kwargs["BM"] >= 128],
                         ids=str)
def test_interpreter_wide_configurations(config):
    import ml_dtypes
    import numpy as np
    rng = np.random.default_rng(1)
    M, N, K = 130, 72, 128
    a = rng.standard_normal((M, K)).astype(ml_dtypes.bfloat16)
    b = rng.standard_normal((K, N)).astype(ml_dtypes.bfloat16)
    c = np.zeros((M, N), ml_dtypes.bfloat16)
    grid = (-(-N // config.kwargs["BN"]), -(-M // config.kwargs["BM"]))
    gemm_small_m.gemm_swap_ab[grid].interpret(a, b, c, **config.launch_kwargs())
    want = a.astype(np.float64) @ b.astype(np.float64)
    assert np.linalg.norm(c.astype(np.float64) - want) / np.linalg.norm(want) < 1e-2


@pytest.mark.parametrize("M, widest", [(1, 16), (16, 16), (17, 32), (64, 64), (100, 128),
                                       (256, 256)])
def test_pruning_keeps_the_tiles_as_wide_as_m(M, widest):
    class Rows:
        shape = (M, 4096)
    kept = gemm_small_m.rows_fit({"A": Rows()}, gemm_small_m.CONFIGS)
    assert max(c.kwargs["BM"] for c in kept) == widest
    assert all(c.kwargs["BM"] <= widest for c in kept) and kept


@pytest.mark.gpu
def test_gpu_matches_torch():
    assert gemm_small_m.main() == 0


@pytest.mark.gpu
@pytest.mark.parametrize("config", gemm_small_m.CONFIGS, ids=str)
def test_gpu_each_configuration(config):
    import torch
    M, N, K = 200, 4160, 512
    a = torch.randn(M, K, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(K, N, device="cuda", dtype=torch.bfloat16)
    c = torch.full((M, N), float("nan"), device="cuda", dtype=torch.bfloat16)
    grid = (-(-N // config.kwargs["BN"]), -(-M // config.kwargs["BM"]))
    gemm_small_m.gemm_swap_ab[grid](a, b, c, **config.launch_kwargs())
    want = a.double() @ b.double()
    assert float((c.double() - want).norm() / want.norm()) < 1e-2

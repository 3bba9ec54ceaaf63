"""mma with transpose_a: A given as K x M (an M-major operand, e.g. the input
of a weight gradient), read by WGMMA from shared memory with its transpose
bit set; checked on the interpreter against numpy and on the GPU against torch."""
import pytest

import tile

SIGNATURE = ("*bf16[2]:16", "*bf16[2]:16", "*bf16[2]:16")


@tile.jit
def gemm_tn(A, B, C, BM: tile.constexpr, BN: tile.constexpr, BK: tile.constexpr):
    """C = Aᵀ @ B with A stored K x M."""
    i = tile.program_id(0) * BM
    j = tile.program_id(1) * BN
    acc = tile.zeros((BM, BN), tile.float32)
    for k in range(0, A.shape[0], BK):
        a = tile.load(A, (k, i), (BK, BM))
        b = tile.load(B, (k, j), (BK, BN))
        acc = tile.mma(a, b, acc, transpose_a=True)
    tile.store(C, (i, j), acc.to(C.dtype))


@pytest.mark.parametrize("num_warps,BN", [(4, 128), (8, 256)])
def test_compiles_to_wgmma_with_the_transpose_bit(num_warps, BN):
    kernel = gemm_tn.compile(*SIGNATURE, BM=128, BN=BN, BK=64, num_warps=num_warps)
    # scale-d, scale-a, scale-b, transpose-a (M-major A), transpose-b (N-major B)
    assert f"wgmma.mma_async.sync.aligned.m64n{BN}k16.f32.bf16.bf16" in kernel.ptx
    assert "p, 1, 1, 1, 1;" in kernel.ptx
    assert "cp.async.bulk.tensor.2d" in kernel.ptx
    if kernel.cubin is not None:
        assert kernel.metadata["spill_stores"] == 0


def test_interpreter_matches_numpy():
    import ml_dtypes
    import numpy as np
    rng = np.random.default_rng(0)
    M, N, K = 128, 128, 192
    a = rng.standard_normal((K, M)).astype(ml_dtypes.bfloat16)
    b = rng.standard_normal((K, N)).astype(ml_dtypes.bfloat16)
    c = np.zeros((M, N), ml_dtypes.bfloat16)
    gemm_tn[(1, 1)].interpret(a, b, c, BM=128, BN=128, BK=64)
    ref = a.astype(np.float64).T @ b.astype(np.float64)
    error = np.linalg.norm(c.astype(np.float64) - ref) / np.linalg.norm(ref)
    assert error < 1e-2, error


@pytest.mark.gpu
@pytest.mark.parametrize("M,N,K,num_warps,BN", [(1024, 1024, 512, 4, 128),
                                                 (1024, 768, 1024, 8, 256),
                                                 (1000, 1528, 776, 4, 128)])
def test_matches_torch(M, N, K, num_warps, BN):
    import torch
    a = torch.randn(K, M, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(K, N, device="cuda", dtype=torch.bfloat16)
    c = torch.full((M, N), float("nan"), device="cuda", dtype=torch.bfloat16)
    gemm_tn[(tile.cdiv(M, 128), tile.cdiv(N, BN))](a, b, c, BM=128, BN=BN, BK=64,
                                                   num_warps=num_warps)
    torch.cuda.synchronize()
    ref = a.double().T @ b.double()
    assert not c.isnan().any()
    assert float((c.double() - ref).norm() / ref.norm()) < 1e-2

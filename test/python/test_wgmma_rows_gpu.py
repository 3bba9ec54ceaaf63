"""Row reductions and broadcasts on the WGMMA accumulator layout (what an
attention kernel does with Q·Kᵀ), on the GPU against torch."""
import pytest

import tile


@tile.jit
def rows_of_product(A, B, C, rowmax, BM: tile.constexpr, BN: tile.constexpr,
                    BK: tile.constexpr):
    i = tile.program_id(0) * BM
    acc = tile.zeros((BM, BN), tile.float32)
    for k in range(0, A.shape[1], BK):
        acc = tile.mma(tile.load(A, (i, k), (BM, BK)), tile.load(B, (k, 0), (BK, BN)), acc)
    m = tile.max(acc, 1)
    tile.store(rowmax, (i,), m)
    e = tile.exp2(acc - m[:, None])
    tile.store(C, (i, 0), (e / tile.sum(e, 1)[:, None]).to(C.dtype))


ARGS = ("*bf16[2]:16", "*bf16[2]:16", "*bf16[2]:16", "*f32:16")


def test_compiles_without_shared_memory_exchange():
    kernel = rows_of_product.compile(*ARGS, BM=128, BN=128, BK=64)
    ptx = kernel.ptx
    assert "shfl.sync.bfly" in ptx and "wgmma.mma_async" in ptx
    # rows reduce within lane quads: the only shared memory is the pipeline's
    assert kernel.metadata["shared_bytes"] < 3 * 32768 + 1024


@pytest.mark.gpu
@pytest.mark.parametrize("num_warps", [4, 8])
def test_rows_match_torch(num_warps):
    import torch
    M, N, K = 512, 128, 256
    a = torch.randn(M, K, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(K, N, device="cuda", dtype=torch.bfloat16) / 16
    c = torch.full((M, N), float("nan"), device="cuda", dtype=torch.bfloat16)
    m = torch.full((M,), float("nan"), device="cuda")
    rows_of_product[(M // 128,)](a, b, c, m, BM=128, BN=128, BK=64, num_warps=num_warps)
    torch.cuda.synchronize()
    s = a.float() @ b.float()
    assert torch.allclose(m, s.max(dim=1).values, rtol=1e-3, atol=1e-3)
    ref = torch.softmax(s * 0.6931471805599453, dim=1)  # exp2(x) = e^(x ln 2)
    assert torch.allclose(c.float(), ref, rtol=2e-2, atol=2e-3)

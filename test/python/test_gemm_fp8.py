"""fp8 (e4m3, e5m2) GEMM on WGMMA: both operands K-major (B given as N x K, as
nn.Linear stores weights), k32 steps, f32 accumulation; checked on the
interpreter against numpy and on the GPU against torch."""
import os
import sys

import pytest

import tile
from tile.errors import CompilationError

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
from gemm import gemm_nt  # noqa: E402


@tile.jit
def gemm_nn(A, B, C, BM: tile.constexpr, BN: tile.constexpr, BK: tile.constexpr):
    i = tile.program_id(0) * BM
    j = tile.program_id(1) * BN
    acc = tile.zeros((BM, BN), tile.float32)
    for k in range(0, A.shape[1], BK):
        acc = tile.mma(tile.load(A, (i, k), (BM, BK)), tile.load(B, (k, j), (BK, BN)), acc)
    tile.store(C, (i, j), acc.to(C.dtype))


@pytest.mark.parametrize("dtype,ptx_type", [("f8E4M3FN", "e4m3"), ("f8E5M2", "e5m2")])
def test_compiles_to_k32_wgmma(dtype, ptx_type):
    kernel = gemm_nt.compile(f"*{dtype}[2]:16", f"*{dtype}[2]:16", "*bf16[2]:16",
                             BM=128, BN=256, BK=128, num_warps=8)
    assert f"wgmma.mma_async.sync.aligned.m64n256k32.f32.{ptx_type}.{ptx_type}" in kernel.ptx
    assert "p, 1, 1; }" in kernel.ptx  # no transpose immediates for fp8
    if kernel.cubin is not None:
        assert kernel.metadata["spill_stores"] == 0


def test_n_major_b_is_refused_with_the_kernel_line():
    with pytest.raises(CompilationError, match="fp8 mma lowers with both operands K-major"):
        gemm_nn.compile("*f8E4M3FN[2]:16", "*f8E4M3FN[2]:16", "*bf16[2]:16",
                        BM=128, BN=128, BK=128)


def test_interpreter_matches_numpy():
    import ml_dtypes
    import numpy as np
    rng = np.random.default_rng(0)
    M, N, K = 128, 128, 256
    a = rng.standard_normal((M, K)).astype(ml_dtypes.float8_e4m3fn)
    w = rng.standard_normal((N, K)).astype(ml_dtypes.float8_e4m3fn)
    c = np.zeros((M, N), ml_dtypes.bfloat16)
    gemm_nt[(1, 1)].interpret(a, w, c, BM=128, BN=128, BK=128)
    ref = a.astype(np.float64) @ w.astype(np.float64).T
    error = np.linalg.norm(c.astype(np.float64) - ref) / np.linalg.norm(ref)
    assert error < 1e-2, error


@pytest.mark.gpu
@pytest.mark.parametrize("M,N,K,num_warps,BN", [(1024, 1024, 1024, 4, 128),
                                                 (2048, 1536, 2048, 8, 256),
                                                 (1000, 1536, 768, 8, 256)])
def test_matches_torch(M, N, K, num_warps, BN):
    import torch
    a = torch.randn(M, K, device="cuda").to(torch.float8_e4m3fn)
    w = torch.randn(N, K, device="cuda").to(torch.float8_e4m3fn)
    c = torch.full((M, N), float("nan"), device="cuda", dtype=torch.bfloat16)
    gemm_nt[(tile.cdiv(M, 128), tile.cdiv(N, BN))](a, w, c, BM=128, BN=BN, BK=128,
                                                   num_warps=num_warps)
    torch.cuda.synchronize()
    ref = a.double() @ w.double().T
    assert not c.isnan().any()
    assert float((c.double() - ref).norm() / ref.norm()) < 1e-2


# Scaled fp8 (examples/gemm_fp8.py): per tensor, per row x per column, per block.
@pytest.mark.gpu
@pytest.mark.parametrize("mode", ["tensorwise", "rowwise", "blockwise"])
@pytest.mark.parametrize("M,N,K", [(1000, 776, 1024), (256, 4096, 2048)])
def test_scaled_matches_float64(mode, M, N, K):
    import numpy as np
    import torch
    from gemm_fp8 import launch, reference, scale_shapes
    a = torch.randn(M, K, device="cuda").to(torch.float8_e4m3fn)
    w = torch.randn(N, K, device="cuda").to(torch.float8_e4m3fn)
    scale_a, scale_w = (torch.rand(shape, device="cuda") + 0.5
                        for shape in scale_shapes(mode, M, N, K))
    if mode == "blockwise":  # a (M, K/128) tensor's transpose: any strides
        scale_a = torch.rand(M, K // 128, device="cuda").t() + 0.5
    c = torch.full((M, N), float("nan"), device="cuda", dtype=torch.bfloat16)
    launch(mode, a, w, scale_a, scale_w, c)
    torch.cuda.synchronize()
    expect = reference(np, a.float().cpu().numpy(), w.float().cpu().numpy(),
                       scale_a.cpu().numpy(), scale_w.cpu().numpy(), mode)
    got = c.double().cpu().numpy()
    assert not np.isnan(got).any()
    assert np.linalg.norm(got - expect) / np.linalg.norm(expect) < 1e-2


def test_blockwise_compiles_to_fp8_wgmma_without_spills():
    from gemm_fp8 import gemm_fp8_blockwise
    kernel = gemm_fp8_blockwise.compile("*f8E4M3FN[2]:16", "*f8E4M3FN[2]:16", "*bf16[2]:16",
                                        "*f32[2]", "*f32[2]:16", BM=128, BN=128, num_warps=8,
                                        num_stages=4)
    assert "wgmma.mma_async.sync.aligned.m64n128k32.f32.e4m3.e4m3" in kernel.ptx
    if kernel.cubin is not None:
        assert kernel.metadata["spill_stores"] == 0

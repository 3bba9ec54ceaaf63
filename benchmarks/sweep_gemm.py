"""Tries GEMM tile shapes and warp counts against cuBLAS (each checked): how
bench_gemm.py's configuration was chosen.   python3 benchmarks/sweep_gemm.py"""
import sys, os
sys.path.insert(0, 'examples')
import torch, tile
from triton.testing import do_bench
from gemm import gemm
for (M, N, K) in [(4096, 4096, 4096), (8192, 8192, 8192)]:
    a = torch.randn(M, K, device='cuda', dtype=torch.bfloat16)
    b = torch.randn(K, N, device='cuda', dtype=torch.bfloat16)
    c = torch.empty(M, N, device='cuda', dtype=torch.bfloat16)
    ref = a @ b
    tref = do_bench(lambda: torch.matmul(a, b, out=ref), warmup=50, rep=300, return_mode='median')
    for BM, BN, nw in [(128, 128, 4), (128, 128, 8), (128, 256, 8), (256, 128, 8), (128, 256, 4)]:
        try:
            grid = (tile.cdiv(M, BM), tile.cdiv(N, BN))
            gemm[grid](a, b, c, BM=BM, BN=BN, BK=64, num_warps=nw)
            torch.cuda.synchronize()
            err = float((c.float() - ref.float()).norm() / ref.float().norm())
            t = do_bench(lambda: gemm[grid](a, b, c, BM=BM, BN=BN, BK=64, num_warps=nw), warmup=50, rep=300, return_mode='median')
            k = gemm.compile(a, b, c, BM=BM, BN=BN, BK=64, num_warps=nw)
            print(f"{M}x{N}x{K} BM={BM} BN={BN} warps={nw}: {2*M*N*K/t/1e9:.0f} TFLOP/s vs cuBLAS {2*M*N*K/tref/1e9:.0f} ratio {tref/t:.3f} err {err:.1e} regs {k.metadata['registers']} spills {k.metadata['spill_stores']} smem {k.metadata['shared_bytes']}")
        except Exception as e:
            print(f"BM={BM} BN={BN} warps={nw}: {type(e).__name__}: {str(e)[:200]}")

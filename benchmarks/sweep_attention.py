"""Tries attention tile shapes, warps and stages (each checked against SDPA): how
bench_attention.py's configuration was chosen.   python3 benchmarks/sweep_attention.py"""
import sys, math, os
sys.path.insert(0, 'benchmarks'); sys.path.insert(0, 'examples')
import torch
from triton.testing import do_bench
import bench_attention as ba
from attention import attention_fwd
for D in (64, 128):
    B, H, N = 8, 16, 4096
    q, k, v = (torch.randn(B, H, N, D, device="cuda", dtype=torch.bfloat16) for _ in range(3))
    o = torch.empty_like(q)
    ref = torch.nn.functional.scaled_dot_product_attention(q, k, v)
    flat = lambda t: t.view(B * H * N, D)
    for BM, BN, nw, st in [(128, 64, 4, 3), (128, 128, 8, 2), (128, 64, 8, 3), (128, 128, 4, 2), (64, 128, 4, 2)]:
        try:
            run = lambda: attention_fwd[(N // BM, B * H)](flat(q), flat(k), flat(v), flat(o), N, 1 / math.sqrt(D), BM=BM, BN=BN, D=D, CAUSAL=False, num_warps=nw, num_stages=st)
            run(); torch.cuda.synchronize()
            err = float((o.float() - ref.float()).norm() / ref.float().norm())
            t = do_bench(run, warmup=50, rep=200, return_mode="median")
            print(f"d{D} BM={BM} BN={BN} warps={nw} stages={st}: {4*B*H*N*N*D/t/1e9:.0f} TFLOP/s err {err:.1e}")
        except Exception as e:
            print(f"d{D} BM={BM} BN={BN} warps={nw} stages={st}: {type(e).__name__} {str(e)[:150]}")

"""Warp specialization on and off, side by side with cuBLAS / SDPA cuDNN in one
process (each result checked against the reference of the same run).
    python3 benchmarks/sweep_warp_specialize.py [gemm] [attention]"""
import math
import os
import sys

import torch
from triton.testing import do_bench

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
import tile  # noqa: E402
from attention import attention_fwd  # noqa: E402
from gemm import gemm_grouped, gemm_persistent  # noqa: E402


def timed(run, check):
    run()
    torch.cuda.synchronize()
    error = check()
    ms = do_bench(run, warmup=50, rep=300, return_mode="median")
    return ms, error


def sweep_gemm():
    for M, N, K in [(4096, 4096, 4096), (8192, 8192, 8192), (8192, 4096, 4096),
                    (8192, 14336, 4096), (8192, 4096, 14336)]:
        a = torch.randn(M, K, device="cuda", dtype=torch.bfloat16)
        b = torch.randn(K, N, device="cuda", dtype=torch.bfloat16)
        c = torch.empty(M, N, device="cuda", dtype=torch.bfloat16)
        ref = a @ b
        t_ref = do_bench(lambda: torch.matmul(a, b, out=ref), warmup=50, rep=300,
                         return_mode="median")
        tf = lambda ms: 2.0 * M * N * K / (ms * 1e-3) / 1e12
        print(f"GEMM {M}x{N}x{K}: cuBLAS {tf(t_ref):.0f} TFLOP/s")
        tiles = tile.cdiv(M, 128) * tile.cdiv(N, 256)
        sms = torch.cuda.get_device_properties(0).multi_processor_count
        # 3 stages leave room for the TMA-store epilogue beside the warp-specialized
        # ring (the epilogue tile cannot reuse the stages there).
        for kernel, ws, stages in [(gemm_grouped, False, 4), (gemm_grouped, True, 3),
                                   (gemm_persistent, False, 3), (gemm_persistent, True, 3)]:
            c.fill_(float("nan"))
            grid = (min(tiles, sms),) if kernel is gemm_persistent else (tiles,)
            run = lambda: kernel[grid](a, b, c, BM=128, BN=256, BK=64, GROUP=8,
                                       num_warps=8, num_stages=stages, warp_specialize=ws)
            check = lambda: float((c.float() - ref.float()).norm() / ref.float().norm())
            try:
                ms, err = timed(run, check)
                print(f"  {kernel.__name__} ws={ws:d} stages={stages}: {tf(ms):.0f} TFLOP/s "
                      f"{t_ref / ms:.3f}x cuBLAS  rel err {err:.1e}"
                      f"{'' if err < 1e-2 else '  WRONG'}")
            except Exception as e:  # noqa: BLE001 - report and go on
                print(f"  {kernel.__name__} ws={ws:d} stages={stages}: failed: "
                      f"{str(e).splitlines()[0]}")


# (BM, BN, num_warps, num_stages, warp_specialize) per head dimension.
ATTENTION_CONFIGS = {
    64: [(128, 64, 4, 3, False), (128, 64, 4, 3, True), (128, 64, 8, 3, True),
         (128, 128, 8, 3, True)],
    128: [(128, 64, 8, 2, False), (128, 64, 8, 3, True), (128, 64, 8, 4, True),
          (128, 128, 8, 2, True)],
}


def sweep_attention():
    from torch.nn.attention import SDPBackend, sdpa_kernel
    B, H, N = 8, 16, 4096
    for D in (64, 128):
        for causal in (False, True):
            q, k, v = (torch.randn(B, H, N, D, device="cuda", dtype=torch.bfloat16)
                       for _ in range(3))
            o = torch.empty_like(q)
            sdpa = lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v,
                                                                            is_causal=causal)
            with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
                ref = sdpa()
                t_ref = do_bench(sdpa, warmup=50, rep=300, return_mode="median")
            flops = 4.0 * B * H * N * N * D / (2 if causal else 1)
            tf = lambda ms: flops / (ms * 1e-3) / 1e12
            print(f"attention d{D} {'causal' if causal else 'non-causal'}: "
                  f"cuDNN {tf(t_ref):.0f} TFLOP/s")
            flat = lambda t: t.view(B * H * N, D)
            for BM, BN, warps, stages, ws in ATTENTION_CONFIGS[D]:
                o.fill_(float("nan"))
                run = lambda: attention_fwd[(N // BM, B * H)](
                    flat(q), flat(k), flat(v), flat(o), N, 1 / math.sqrt(D), BM=BM, BN=BN,
                    D=D, CAUSAL=causal, num_warps=warps, num_stages=stages, warp_specialize=ws)
                check = lambda: float((o.float() - ref.float()).norm() / ref.float().norm())
                name = f"BM={BM} BN={BN} warps={warps} stages={stages} ws={ws:d}"
                try:
                    ms, err = timed(run, check)
                    print(f"  {name}: {tf(ms):.0f} TFLOP/s {t_ref / ms:.3f}x cuDNN  "
                          f"rel err {err:.1e}{'' if err < 1e-2 else '  WRONG'}")
                except Exception as e:  # noqa: BLE001
                    print(f"  {name}: failed: {str(e).splitlines()[0]}")


if __name__ == "__main__":
    which = sys.argv[1:] or ["gemm", "attention"]
    print(torch.cuda.get_device_name())
    if "gemm" in which:
        sweep_gemm()
    if "attention" in which:
        sweep_attention()

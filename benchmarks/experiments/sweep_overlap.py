"""Warp-specialized attention under tile-overlap-mma's variants, against cuDNN
in the same process (each result checked against SDPA flash). The variant is
chosen by TILE_PIPELINE_OPTIONS, e.g. "overlap-mma=false", "ping-pong=false";
run once per variant:   TILE_CACHE=0 python -m benchmarks.experiments.sweep_overlap"""
import math
import os

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from tile.ops.attention_kernels import attention_fwd, attention_fwd_persistent

from ..rows import interleaved

# (N, D, causal, BM, BN, warps, stages, persistent), all warp-specialized.
CASES = [(N, D, causal, 128, 128, 8, 2, persistent) for causal in (False, True)
         for N in (1024, 4096, 8192) for D in (64, 128) for persistent in (False, True)]


def main() -> None:
    B, H = 8, 16
    variant = os.environ.get("TILE_PIPELINE_OPTIONS", "") or "default"
    programs = torch.cuda.get_device_properties(0).multi_processor_count
    for N, D, causal, BM, BN, warps, stages, persistent in CASES:
        q, k, v = (torch.randn(B, H, N, D, device="cuda", dtype=torch.bfloat16) for _ in range(3))
        o = torch.full_like(q, float("nan"))
        flat = [t.view(B * H * N, D) for t in (q, k, v, o)]
        options = dict(BM=BM, BN=BN, D=D, num_warps=warps, num_stages=stages,
                       warp_specialize=True)
        if persistent:
            grid = (min(programs, N // BM * B * H),)
            run = lambda: attention_fwd_persistent[grid](*flat, flat[3], N, B * H, 1,
                                                         1 / math.sqrt(D), CAUSAL=causal,
                                                         EVEN_SEQ=True, **options)
        else:
            run = lambda: attention_fwd[(N // BM, B * H)](*flat, flat[3], N, 1, 1 / math.sqrt(D),
                                                          CAUSAL=causal, EVEN_SEQ=True,
                                                          **options)
        with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
            ref = F.scaled_dot_product_attention(q, k, v, is_causal=causal)

        def cudnn():
            with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
                return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        run()
        torch.cuda.synchronize()
        err = float((o.float() - ref.float()).norm() / ref.float().norm())
        flops = 4 * B * H * N * N * D / (2 if causal else 1)
        ms, _ = interleaved({"tile": run, "cuDNN": cudnn}, warmup=100, rep=500)
        t_tile, t_cudnn = ms["tile"], ms["cuDNN"]
        print(f"{variant:10s} N{N} d{D} {'causal' if causal else 'full  '} {BM}x{BN} s{stages}"
              f"{' persistent' if persistent else ''}: "
              f"tile {flops / t_tile / 1e9:5.0f} cuDNN {flops / t_cudnn / 1e9:5.0f} TFLOP/s "
              f"ratio {t_cudnn / t_tile:.3f} err {err:.1e}{'  WRONG' if not err < 1e-2 else ''}",
              flush=True)


if __name__ == "__main__":
    main()

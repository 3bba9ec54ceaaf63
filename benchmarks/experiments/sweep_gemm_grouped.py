"""The grouped (one tile a program) GEMM configurations of examples/gemm.py's
autotuner side by side with cuBLAS and the persistent warp-specialized kernel,
in one process: square bf16 shapes, each result checked against torch first,
five interleaved rounds (benchmarks/rows.py). To compare compilers, run it once
per library (TILE_LIB=..., TILE_CACHE=0), in turn.
    python -m benchmarks.experiments.sweep_gemm_grouped [2048,4096,8192]"""
import sys

import torch

import tile

from ..examples import gemm as gemm_example
from ..rows import check_each, interleaved

gemm_grouped, gemm_persistent = gemm_example.gemm_grouped, gemm_example.gemm_persistent


def main():
    sizes = [int(x) for x in (sys.argv[1] if len(sys.argv) > 1 else "2048,4096,8192").split(",")]
    programs = torch.cuda.get_device_properties(0).multi_processor_count
    for n in sizes:
        a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
        b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
        c = torch.empty(n, n, device="cuda", dtype=torch.bfloat16)
        ref = a @ b

        def grouped(BM, BN, warps):
            grid = (tile.cdiv(n, BM) * tile.cdiv(n, BN),)
            return lambda: gemm_grouped[grid](a, b, c, BM=BM, BN=BN, BK=64, GROUP=8,
                                              num_warps=warps, num_stages=4)
        runs = {"cuBLAS": lambda: torch.matmul(a, b, out=ref),
                "G 256x128 w8": grouped(256, 128, 8), "G 128x128 w4": grouped(128, 128, 4),
                "G 128x256 w8": grouped(128, 256, 8),
                "P w4": lambda: gemm_persistent[(programs,)](
                    a, b, c, BM=128, BN=256, BK=64, GROUP=8, num_warps=8, num_stages=4,
                    warp_specialize=True)}
        check_each(runs, c, ref, f"{n}^3")
        ms, _ = interleaved(runs, warmup=40, rep=300, rounds=5)
        flops = 2.0 * n ** 3
        print(f"{n}^3: cuBLAS {flops / ms['cuBLAS'] / 1e9:.0f} TFLOP/s | " + " | ".join(
            f"{name} {flops / t / 1e9:.0f} ({ms['cuBLAS'] / t:.3f})"
            for name, t in ms.items() if name != "cuBLAS"))


if __name__ == "__main__":
    main()

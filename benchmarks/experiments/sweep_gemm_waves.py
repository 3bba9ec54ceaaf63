"""What the last, partly filled round of tiles costs: the persistent
warp-specialized GEMM (128x256 tiles, 132 programs) and cuBLAS at M a little
below, at, and a little above 4096 and 8192 (N = K = M), where M' = 4224
fills the last round (528 tiles = 4 x 132) and 3968 leaves it as short as
4096 does. If a round costs its time however full it is, the three M take
the same time; if time follows work (the power limit gives the busy SMs the
idle ones' share), it grows with M. Results checked against torch first;
three passes, five interleaved rounds each, medians.
    python -m benchmarks.experiments.sweep_gemm_waves"""
import statistics

import torch

import tile

from ..examples import gemm as gemm_example
from ..rows import check_each, interleaved

gemm_persistent = gemm_example.gemm_persistent

SHAPES = [(3968, 4096, 4096), (4096, 4096, 4096), (4224, 4096, 4096),
          (8064, 8192, 8192), (8192, 8192, 8192), (8448, 8192, 8192)]
CONFIG = dict(BM=128, BN=256, BK=64, GROUP=16, num_warps=8, num_stages=4, warp_specialize=True)


def main():
    print(torch.cuda.get_device_name())
    programs = torch.cuda.get_device_properties(0).multi_processor_count
    times = {}
    for _ in range(3):
        for M, N, K in SHAPES:
            a = torch.randn(M, K, device="cuda", dtype=torch.bfloat16)
            b = torch.randn(K, N, device="cuda", dtype=torch.bfloat16)
            c = torch.empty(M, N, device="cuda", dtype=torch.bfloat16)
            ref = a @ b
            runs = {"cuBLAS": lambda: torch.matmul(a, b, out=ref),
                    "P w4": lambda: gemm_persistent[(programs,)](a, b, c, **CONFIG)}
            check_each(runs, c, ref, f"{M}x{N}x{K}")
            ms, _ = interleaved(runs, warmup=100, rep=600, rounds=5)
            times.setdefault((M, N, K), []).append(ms)
    for (M, N, K), passes in times.items():
        tiles = tile.cdiv(M, 128) * tile.cdiv(N, 256)
        us = {name: statistics.median(p[name] for p in passes) * 1e3 for name in passes[0]}
        print(f"{M}x{N}x{K}: {tiles} tiles, {tiles / programs:.2f} rounds of {programs} | " +
              " | ".join(f"{name} {t:.1f} us ({2.0 * M * N * K / t / 1e6:.0f} TFLOP/s)"
                         for name, t in us.items()))


if __name__ == "__main__":
    main()

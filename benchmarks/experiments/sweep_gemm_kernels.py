"""The GEMM kernels side by side with cuBLAS in one process: plain grouped,
persistent, warp-specialized, cluster (pairs multicasting B) and persistent
cluster, at 3 and 4 stages (128x256x64, 8 warps), the warp-specialized
persistent ones at 256x128 too, and stream-K (SK) plain and warp-specialized
(launched on zeroed flags; each launch leaves them zero). Each result is checked against torch first;
timings are taken in four rounds, the kernels in turn, and each is the median
of its rounds (the H100's clocks drift as it warms up).
    python -m benchmarks.experiments.sweep_gemm_kernels"""
import torch

import tile

from ..examples import gemm as gemm_example
from ..rows import check_each, interleaved

gemm_cluster, gemm_grouped = gemm_example.gemm_cluster, gemm_example.gemm_grouped
gemm_persistent, gemm_persistent_cluster = (gemm_example.gemm_persistent,
                                            gemm_example.gemm_persistent_cluster)
gemm_stream_k, persistent_grid = gemm_example.gemm_stream_k, gemm_example.persistent_grid

SHAPES = [(4096, 4096, 4096), (8192, 8192, 8192), (8192, 4096, 4096), (8192, 14336, 4096)]


def kernels(a, b, c, M, N, programs):
    """name -> launch: G grouped, P persistent, C cluster; p plain, w warp
    specialized; the digit is the number of stages."""
    o = dict(BM=128, BN=256, BK=64, GROUP=16, num_warps=8)  # groups of 2048 rows
    tall = dict(o, BM=256, BN=128, GROUP=8)
    ws = dict(warp_specialize=True)
    pair = dict(warp_specialize=True, num_ctas=2)
    o_pair, tall_pair = dict(o, GROUP=8), dict(tall, GROUP=4)  # a pair's block is 2 BM rows
    grid = persistent_grid(M, N, programs)  # equal rounds
    tiles, pairs = tile.cdiv(M, 128) * tile.cdiv(N, 256), tile.cdiv(M, 256) * tile.cdiv(N, 256)
    # Stream-K: its workspace, one partial tile a program, and zeroed flags.
    sk = min(programs, tiles)
    partials = torch.empty(sk * 128, 256, device="cuda", dtype=torch.float32)
    flags = torch.zeros(sk, device="cuda", dtype=torch.int32)
    return {
        "G p4": lambda: gemm_grouped[(tiles,)](a, b, c, num_stages=4, **o),
        "P p4": lambda: gemm_persistent[grid](a, b, c, num_stages=4, **o),
        "P w3": lambda: gemm_persistent[grid](a, b, c, num_stages=3, **ws, **o),
        "P w4": lambda: gemm_persistent[grid](a, b, c, num_stages=4, **ws, **o),
        "C w3": lambda: gemm_cluster[(2 * pairs,)](a, b, c, num_stages=3, **pair, **o_pair),
        "PC w3": lambda: gemm_persistent_cluster[(programs,)](a, b, c, num_stages=3, **pair, **o_pair),
        "PC w4": lambda: gemm_persistent_cluster[(programs,)](a, b, c, num_stages=4, **pair, **o_pair),
        # cuBLAS's shape at these sizes: 256x128 tiles (each warpgroup 128 rows).
        "P w4 256x128": lambda: gemm_persistent[grid](a, b, c, num_stages=4, **ws, **tall),
        "PC w4 256x128": lambda: gemm_persistent_cluster[(programs,)](a, b, c, num_stages=4,
                                                                      **pair, **tall_pair),
        "SK p3": lambda: gemm_stream_k[(sk,)](a, b, c, partials, flags, num_stages=3, **o),
        "SK w4": lambda: gemm_stream_k[(sk,)](a, b, c, partials, flags, num_stages=4, **ws, **o),
    }


def main():
    print(torch.cuda.get_device_name())
    programs = torch.cuda.get_device_properties(0).multi_processor_count // 2 * 2  # pairs
    for M, N, K in SHAPES:
        a = torch.randn(M, K, device="cuda", dtype=torch.bfloat16)
        b = torch.randn(K, N, device="cuda", dtype=torch.bfloat16)
        c = torch.empty(M, N, device="cuda", dtype=torch.bfloat16)
        ref = a @ b
        runs = {"cuBLAS": lambda: torch.matmul(a, b, out=ref), **kernels(a, b, c, M, N, programs)}
        check_each(runs, c, ref, f"{M}x{N}x{K}")
        ms, _ = interleaved(runs, warmup=40, rep=240, rounds=4)
        flops = 2.0 * M * N * K
        print(f"{M}x{N}x{K}: cuBLAS {flops / ms['cuBLAS'] / 1e9:.0f} TFLOP/s | " + " | ".join(
            f"{name} {flops / t / 1e9:.0f} ({ms['cuBLAS'] / t:.3f})"
            for name, t in ms.items() if name != "cuBLAS"))


if __name__ == "__main__":
    main()

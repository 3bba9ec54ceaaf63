"""The Triton kernel bench_moe.py compares tile's grouped GEMM with: the same job
(examples/moe.py's grouped_gemm) written as Triton's tutorials write a GEMM.

Y = Xp @ W[e] for each BM-row tile of Xp, e = tile_experts[tile] (-1: no
expert, the program returns); Xp's rows are in expert order, each expert's
segment padded to BM rows, W is (E*K, N). Tiles in grouped order (GROUP tiles
of rows per sweep of the columns), pointer loads pipelined by num_stages, tl.dot.
Autotuned (`triton.autotune`, key on the shape) over the configurations tile
tunes over. BM is the padding's 128 in every configuration.
Importing this module imports torch and triton: only benchmarks do.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from .triton_ref import tuned_config

BM = 128  # the padding of the segments (examples/moe.py GEMM["BM"])

CONFIGS = [
    triton.Config(dict(BN=256, BK=64, GROUP=8), num_warps=8, num_stages=4),
    triton.Config(dict(BN=256, BK=64, GROUP=8), num_warps=8, num_stages=3),
    triton.Config(dict(BN=128, BK=64, GROUP=8), num_warps=8, num_stages=4),
    triton.Config(dict(BN=128, BK=64, GROUP=8), num_warps=4, num_stages=4),
]


@triton.autotune(configs=CONFIGS, key=["M", "N", "K"])
@triton.jit
def _grouped_gemm_kernel(X, W, Y, tile_experts, M, N, K, stride_xm, stride_wk, stride_ym,
                         BM: tl.constexpr, BN: tl.constexpr, BK: tl.constexpr,
                         GROUP: tl.constexpr):
    pid = tl.program_id(0)
    tiles_m = tl.cdiv(M, BM)
    tiles_n = tl.cdiv(N, BN)
    first = (pid // (GROUP * tiles_n)) * GROUP
    rows = tl.minimum(tiles_m - first, GROUP)
    pm = first + (pid % (GROUP * tiles_n)) % rows
    pn = (pid % (GROUP * tiles_n)) // rows
    e = tl.load(tile_experts + pm)
    if e < 0:
        return
    offs_m = pm * BM + tl.arange(0, BM)
    offs_n = pn * BN + tl.arange(0, BN)
    offs_k = tl.arange(0, BK)
    a_ptrs = X + offs_m[:, None].to(tl.int64) * stride_xm + offs_k[None, :]
    b_ptrs = W + (e.to(tl.int64) * K + offs_k[:, None]) * stride_wk + offs_n[None, :]
    n_mask = offs_n[None, :] < N
    acc = tl.zeros((BM, BN), dtype=tl.float32)
    for _ in range(0, tl.cdiv(K, BK)):  # K a multiple of BK, M of BM: only N is ragged
        a = tl.load(a_ptrs)
        b = tl.load(b_ptrs, mask=n_mask, other=0.0)
        acc = tl.dot(a, b, acc)
        a_ptrs += BK
        b_ptrs += BK * stride_wk
    y_ptrs = Y + offs_m[:, None].to(tl.int64) * stride_ym + offs_n[None, :]
    tl.store(y_ptrs, acc.to(Y.dtype.element_ty), mask=n_mask)


def grouped_gemm(xp: torch.Tensor, w: torch.Tensor, yp: torch.Tensor,
                 tile_experts: torch.Tensor) -> torch.Tensor:
    M, K = xp.shape
    N = w.shape[1]
    assert M % BM == 0 and K % 64 == 0 and xp.stride(1) == w.stride(1) == yp.stride(1) == 1
    grid = lambda meta: (M // BM * triton.cdiv(N, meta["BN"]),)  # noqa: E731
    _grouped_gemm_kernel[grid](xp, w, yp, tile_experts, M, N, K, xp.stride(0), w.stride(0),
                               yp.stride(0), BM=BM)
    return yp


def grouped_gemm_config(M: int, N: int, K: int) -> str:
    """The configuration the autotuner chose for this shape, as "128x256x64 w8 s4"."""
    return tuned_config(_grouped_gemm_kernel, (M, N, K), f"{BM}x{{BN}}x{{BK}}")

"""Triton reference kernels for the benchmarks, written here for the same jobs as
tile's examples, so each benchmark row can set tile beside a Triton kernel:

- `matmul(a, b, bias=None, act="none")`: C = act(A @ B + bias), A (M, K) and B
  (K, N) row-major bf16/f16, f32 accumulate, output in the inputs' dtype. The
  blocked kernel of Triton's matmul tutorial (pointer loads, software-pipelined
  by num_stages, grouped tile order), autotuned over Hopper-sized tiles.
- `attention(q, k, v, causal)`: attention forward over (B, H, N, D) tensors, the
  FlashAttention-2 design of Triton's fused-attention tutorial: one BM-row block
  of queries per program, online softmax in exp2 units; when causal, the key
  blocks left of the diagonal run unmasked and only the diagonal block masked.

Both are Triton's own autotuned kernels (`triton.autotune`, key on the shape).
Importing this module imports torch and triton: only benchmarks do.
"""
from __future__ import annotations

import math

import torch
import triton
import triton.language as tl

LOG2_E = 1.4426950408889634
# Globals a Triton kernel reads must be tl.constexpr.
LOG2_E_K = tl.constexpr(LOG2_E)
GELU_C_K = tl.constexpr(math.sqrt(2 / math.pi))

GEMM_CONFIGS = [
    triton.Config(dict(BM=128, BN=256, BK=64, GROUP=8), num_warps=8, num_stages=3),
    triton.Config(dict(BM=128, BN=256, BK=64, GROUP=8), num_warps=8, num_stages=4),
    triton.Config(dict(BM=256, BN=128, BK=64, GROUP=8), num_warps=8, num_stages=3),
    triton.Config(dict(BM=128, BN=128, BK=64, GROUP=8), num_warps=4, num_stages=4),
]


@triton.autotune(configs=GEMM_CONFIGS, key=["M", "N", "K", "HAS_BIAS", "ACT"])
@triton.jit
def _matmul_kernel(A, B, C, bias, M, N, K, stride_am, stride_ak, stride_bk, stride_bn,
                   stride_cm, stride_cn, HAS_BIAS: tl.constexpr, ACT: tl.constexpr,
                   BM: tl.constexpr, BN: tl.constexpr, BK: tl.constexpr, GROUP: tl.constexpr):
    # Grouped order: GROUP rows of tiles per column sweep share B's tiles in L2.
    pid = tl.program_id(0)
    tiles_m = tl.cdiv(M, BM)
    tiles_n = tl.cdiv(N, BN)
    first_m = (pid // (GROUP * tiles_n)) * GROUP
    rows = min(tiles_m - first_m, GROUP)
    pid_m = first_m + (pid % rows)
    pid_n = (pid % (GROUP * tiles_n)) // rows
    # Rows and columns past the edge wrap around (they are computed, never stored).
    offs_m = (pid_m * BM + tl.arange(0, BM)) % M
    offs_n = (pid_n * BN + tl.arange(0, BN)) % N
    offs_k = tl.arange(0, BK)
    a_ptrs = A + offs_m[:, None] * stride_am + offs_k[None, :] * stride_ak
    b_ptrs = B + offs_k[:, None] * stride_bk + offs_n[None, :] * stride_bn
    acc = tl.zeros((BM, BN), dtype=tl.float32)
    for k in range(0, tl.cdiv(K, BK)):
        a = tl.load(a_ptrs, mask=offs_k[None, :] < K - k * BK, other=0.0)
        b = tl.load(b_ptrs, mask=offs_k[:, None] < K - k * BK, other=0.0)
        acc = tl.dot(a, b, acc)
        a_ptrs += BK * stride_ak
        b_ptrs += BK * stride_bk
    cols = pid_n * BN + tl.arange(0, BN)
    if HAS_BIAS:
        acc += tl.load(bias + cols, mask=cols < N, other=0.0).to(tl.float32)[None, :]
    if ACT == "relu":
        acc = tl.maximum(acc, 0.0)
    elif ACT == "gelu":  # tanh approximation: x · sigmoid(2u)
        u = acc * (GELU_C_K * LOG2_E_K) * (1.0 + 0.044715 * acc * acc)
        acc = acc / (1.0 + tl.math.exp2(-2.0 * u))
    elif ACT == "silu":
        acc = acc / (1.0 + tl.math.exp2(-LOG2_E_K * acc))
    rows_c = pid_m * BM + tl.arange(0, BM)
    c_ptrs = C + rows_c[:, None] * stride_cm + cols[None, :] * stride_cn
    tl.store(c_ptrs, acc.to(C.dtype.element_ty), mask=(rows_c[:, None] < M) & (cols[None, :] < N))


def matmul(a: torch.Tensor, b: torch.Tensor, bias: torch.Tensor | None = None,
           act: str = "none", out: torch.Tensor | None = None) -> torch.Tensor:
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0] or a.dtype != b.dtype:
        raise ValueError(f"matmul: A {tuple(a.shape)} {a.dtype} and B {tuple(b.shape)} "
                         f"{b.dtype} do not multiply")
    if act not in ("none", "relu", "gelu", "silu"):
        raise ValueError(f"matmul: act must be none, relu, gelu or silu, got {act!r}")
    M, K = a.shape
    N = b.shape[1]
    c = torch.empty((M, N), device=a.device, dtype=a.dtype) if out is None else out
    grid = lambda meta: (triton.cdiv(M, meta["BM"]) * triton.cdiv(N, meta["BN"]),)
    _matmul_kernel[grid](a, b, c, c if bias is None else bias, M, N, K, a.stride(0),
                         a.stride(1), b.stride(0), b.stride(1), c.stride(0), c.stride(1),
                         HAS_BIAS=bias is not None, ACT=act)
    return c


def tuned_config(kernel, key: tuple, blocks: str) -> str:
    """The configuration Triton's autotuner chose for `kernel` where its key
    starts with `key` (after a call), as `blocks` (formatted with the config's
    kwargs) and " wW sS"; "?" before any."""
    for tuned_key, config in kernel.cache.items():
        if tuple(tuned_key[:len(key)]) == key:
            return f"{blocks.format(**config.kwargs)} w{config.num_warps} s{config.num_stages}"
    return "?"


def matmul_config(M: int, N: int, K: int, bias: bool = False, act: str = "none") -> str:
    """The configuration Triton's autotuner chose for a shape (after a call)."""
    return tuned_config(_matmul_kernel, (M, N, K, bias, act), "{BM}x{BN}x{BK}")


def vector_add(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):
    """out = x + y: the launch-overhead and compile-time benchmarks' kernel,
    not decorated, so that each `triton.jit`s it afresh."""
    offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offsets < n
    a = tl.load(x_ptr + offsets, mask=mask)
    b = tl.load(y_ptr + offsets, mask=mask)
    tl.store(out_ptr + offsets, a + b, mask=mask)


# -- attention forward ----------------------------------------------------------------------
ATTENTION_CONFIGS = [
    triton.Config(dict(BM=128, BN=64), num_warps=4, num_stages=3),
    triton.Config(dict(BM=128, BN=64), num_warps=8, num_stages=3),
    triton.Config(dict(BM=128, BN=128), num_warps=8, num_stages=3),
    triton.Config(dict(BM=64, BN=64), num_warps=4, num_stages=4),
]


def _attention_keep(configs, named_args, **kwargs):
    """Drops configurations the shape cannot use: BN above the head dimension (as
    the tutorial) and blocks that do not divide the sequence."""
    D, N = named_args["D"] if "D" in named_args else kwargs["D"], named_args["N"]
    kept = [c for c in configs if c.kwargs["BN"] <= D and N % c.kwargs["BM"] == 0
            and c.kwargs["BM"] % c.kwargs["BN"] == 0]
    return kept or configs[:1]


@triton.jit
def _attention_blocks(acc, l_i, m_i, q, k_base, v_base, lo, hi, rows, qk_scale,
                      D: tl.constexpr, BN: tl.constexpr, MASKED: tl.constexpr):
    """Key blocks [lo, hi) of one query block: S = Q Kᵀ, online softmax, acc += P V."""
    offs_n = tl.arange(0, BN)
    offs_d = tl.arange(0, D)
    for start_n in range(lo, hi, BN):
        start_n = tl.multiple_of(start_n, BN)
        cols = start_n + offs_n
        k = tl.load(k_base + cols[:, None] * D + offs_d[None, :])
        s = tl.dot(q, tl.trans(k)) * qk_scale
        if MASKED:  # the diagonal block: key j counts for query i when j <= i
            s = tl.where(rows[:, None] >= cols[None, :], s, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(s, 1))
        alpha = tl.math.exp2(m_i - m_new)
        p = tl.math.exp2(s - m_new[:, None])
        l_i = l_i * alpha + tl.sum(p, 1)
        v = tl.load(v_base + cols[:, None] * D + offs_d[None, :])
        acc = tl.dot(p.to(v.dtype), v, acc * alpha[:, None])
        m_i = m_new
    return acc, l_i, m_i


@triton.autotune(configs=ATTENTION_CONFIGS, key=["N", "D", "CAUSAL"],
                 prune_configs_by={"early_config_prune": _attention_keep})
@triton.jit
def _attention_kernel(Q, K, V, O, N, qk_scale, D: tl.constexpr, CAUSAL: tl.constexpr,
                      BM: tl.constexpr, BN: tl.constexpr):
    start_m = tl.program_id(0) * BM
    base = tl.program_id(1).to(tl.int64) * N * D  # this (batch, head)'s first element
    rows = start_m + tl.arange(0, BM)
    offs_d = tl.arange(0, D)
    q = tl.load(Q + base + rows[:, None] * D + offs_d[None, :])
    m_i = tl.full((BM,), float("-inf"), tl.float32)
    l_i = tl.zeros((BM,), tl.float32)
    acc = tl.zeros((BM, D), tl.float32)
    if CAUSAL:
        acc, l_i, m_i = _attention_blocks(acc, l_i, m_i, q, K + base, V + base, 0, start_m,
                                          rows, qk_scale, D, BN, False)
        acc, l_i, m_i = _attention_blocks(acc, l_i, m_i, q, K + base, V + base, start_m,
                                          start_m + BM, rows, qk_scale, D, BN, True)
    else:
        acc, l_i, m_i = _attention_blocks(acc, l_i, m_i, q, K + base, V + base, 0, N,
                                          rows, qk_scale, D, BN, False)
    out = acc / l_i[:, None]
    tl.store(O + base + rows[:, None] * D + offs_d[None, :], out.to(O.dtype.element_ty))


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool,
              out: torch.Tensor | None = None) -> torch.Tensor:
    """Attention forward of contiguous (B, H, N, D) tensors, scale 1/sqrt(D)."""
    B, H, N, D = q.shape
    if not (q.shape == k.shape == v.shape) or not all(t.is_contiguous() for t in (q, k, v)):
        raise ValueError("attention: q, k, v must be contiguous tensors of one (B, H, N, D) shape")
    if N % 64 or D not in (64, 128):
        raise ValueError(f"attention: N must be a multiple of 64 and D 64 or 128 (N={N}, D={D})")
    o = torch.empty_like(q) if out is None else out
    grid = lambda meta: (N // meta["BM"], B * H)
    _attention_kernel[grid](q, k, v, o, N, LOG2_E / math.sqrt(D), D=D, CAUSAL=causal)
    return o


def attention_config(N: int, D: int, causal: bool) -> str:
    return tuned_config(_attention_kernel, (N, D, causal), "{BM}x{BN}")

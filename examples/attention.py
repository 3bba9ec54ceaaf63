"""Attention forward: O = softmax(Q Kᵀ · scale) V, one BM-row block of queries at
a time, streaming over keys in BN-row blocks with an online softmax (running row
max m, running row sum l, rescaled accumulator), as FlashAttention-2 writes it.
Causal: the key blocks left of the diagonal run unmasked, the diagonal one masked.
attention_fwd runs one program a query block; attention_fwd_persistent one a
multiprocessor, walking the blocks. With warp_specialize=True the compiler adds
FlashAttention-3's schedule (a producer warpgroup, P·V overlapped with the next
softmax; the consumer warpgroups' turns on request): docs/passes.md.

Q, K, V and O are (heads · seq_len, D) bf16 arrays: head h owns rows
[h · seq_len, (h + 1) · seq_len). seq_len is a multiple of BM and BN; BN divides BM.

Compiles to PTX; runs on the GPU against torch, or with no GPU on the CPU
interpreter (a smaller problem) against numpy.
"""
import math
import sys

import tile

LOG2_E = 1.4426950408889634  # exp(x) = exp2(x · log2 e); exp2 is the fast one


@tile.jit
def attend(q, K, V, head, start_m, start_n, qk_scale, m_i, l_i, acc, BM: tile.constexpr,
           BN: tile.constexpr, D: tile.constexpr, MASKED: tile.constexpr):
    """One block of keys: S = Q Kᵀ, then the online softmax update (in log2 units:
    S · qk_scale; qk_scale > 0, so the row max scales with it)."""
    k = tile.load(K, (head + start_n, 0), (BN, D))
    v = tile.load(V, (head + start_n, 0), (BN, D))
    s = tile.mma(q, k, tile.zeros((BM, BN), tile.float32), transpose_b=True)
    if MASKED:  # key j counts for query i when j <= i
        rows = start_m + tile.arange(BM)
        cols = start_n + tile.arange(BN)
        s = tile.where(rows[:, None] >= cols[None, :], s, float("-inf"))
    m_new = tile.maximum(m_i, tile.max(s, 1) * qk_scale)  # the new max rescales the old
    # ... once it exceeds the old by more than 8 (log2 units; FlashAttention-4):
    # p stays below 2^8, and most blocks rescale nothing (alpha = 1 exactly,
    # whose multiply the compiler skips).
    m_new = tile.where(m_new > m_i + 8.0, m_new, m_i)
    alpha = tile.exp2(m_i - m_new)
    p = tile.exp2(s * qk_scale - m_new[:, None])  # one FMA and one exp2 an element
    l_i = l_i * alpha + tile.sum(p, 1)
    acc = tile.mma(p.to(v.dtype), v, acc * alpha[:, None])
    return m_new, l_i, acc


@tile.jit
def attention_block(Q, K, V, O, head, start_m, seq_len, qk_scale, BM: tile.constexpr,
                    BN: tile.constexpr, D: tile.constexpr, CAUSAL: tile.constexpr):
    """Queries start_m .. start_m + BM of the head whose rows start at `head`."""
    q = tile.load(Q, (head + start_m, 0), (BM, D))
    m_i = tile.neg_inf((BM,), tile.float32)   # running max of each query row
    l_i = tile.zeros((BM,), tile.float32)     # running sum of exp2(s - m_i)
    acc = tile.zeros((BM, D), tile.float32)   # running P · V, scaled by exp2(-m_i)
    # Key blocks left of the diagonal (all of them when not causal): no mask.
    for start_n in range(0, start_m if CAUSAL else seq_len, BN):
        m_i, l_i, acc = attend(q, K, V, head, start_m, start_n, qk_scale, m_i, l_i, acc,
                               BM, BN, D, False)
    if CAUSAL:  # the diagonal block, masked; keys past it count for no query here
        assert BM % BN == 0, "causal attention needs BN to divide BM"
        q = tile.load(Q, (head + start_m, 0), (BM, D))  # each loop stages its own Q
        for start_n in range(start_m, start_m + BM, BN):
            m_i, l_i, acc = attend(q, K, V, head, start_m, start_n, qk_scale, m_i, l_i, acc,
                                   BM, BN, D, True)
    out = acc * (1.0 / l_i)[:, None]  # one division a row, not one an element
    tile.store(O, (head + start_m, 0), out.to(O.dtype))


@tile.jit
def attention_fwd(Q, K, V, O, seq_len, sm_scale,
                  BM: tile.constexpr, BN: tile.constexpr, D: tile.constexpr,
                  CAUSAL: tile.constexpr):
    """One program per (query block, head). Causal: the longest programs (the last
    query blocks, which see the most keys) run first; short ones fill the tail."""
    block = tile.num_programs(0) - 1 - tile.program_id(0) if CAUSAL else tile.program_id(0)
    attention_block(Q, K, V, O, tile.program_id(1) * seq_len, block * BM, seq_len,
                    sm_scale * LOG2_E, BM, BN, D, CAUSAL)


@tile.jit
def causal_tile(t, blocks, heads, programs):
    """The (head, query block) of tile t when `programs` programs walk a causal
    attention's tiles t, t + programs, ... Query block b sees b + 1 key blocks, so
    blocks b and blocks-1-b of a head make a pair of even work (blocks + 1), and
    each program takes both tiles of a pair in two rounds running. Past the last
    full pair of rounds, the programs with two tiles left take pairs, the others
    one tile each."""
    tiles = blocks * heads
    r = t // programs
    p = t % programs
    pair_rounds = tiles // (2 * programs)
    first = 2 * programs * tile.minimum(r // 2, pair_rounds)  # this pair of rounds'
    paired = programs if r < 2 * pair_rounds else tile.maximum(tiles - first - programs, 0)
    s = first + (2 * p + r % 2 if p < paired else paired + p)
    i = s % blocks  # a head's blocks go blocks-1, 0, blocks-2, 1, ...
    return s // blocks, (blocks - 1 - i // 2 if i % 2 == 0 else i // 2)


@tile.jit
def attention_fwd_persistent(Q, K, V, O, seq_len, heads, sm_scale, BM: tile.constexpr,
                             BN: tile.constexpr, D: tile.constexpr, CAUSAL: tile.constexpr):
    """Persistent: one program per SM walks the (head, query block) tiles t,
    t + programs, ... (causal: in pairs of even work, causal_tile); with
    warp_specialize=True the producer loads the next tile's Q, K and V while the
    consumers finish this one."""
    blocks = seq_len // BM
    programs = tile.num_programs(0)
    for t in range(tile.program_id(0), blocks * heads, programs):
        head, block = t // blocks, t % blocks
        if CAUSAL:
            head, block = causal_tile(t, blocks, heads, programs)
        attention_block(Q, K, V, O, head * seq_len, block * BM, seq_len,
                        sm_scale * LOG2_E, BM, BN, D, CAUSAL)


def reference(q, k, v, sm_scale, causal):
    """float32 torch reference over (..., seq_len, D) tensors."""
    import torch
    s = (q.float() @ k.float().transpose(-1, -2)) * sm_scale
    if causal:
        n = s.shape[-1]
        s = s.masked_fill(torch.ones(n, n, device=s.device, dtype=torch.bool).triu(1),
                          float("-inf"))
    return torch.softmax(s, dim=-1) @ v.float()


def reference_numpy(q, k, v, sm_scale, causal):
    """float64 numpy reference over (seq_len, D) arrays of one head."""
    import numpy as np
    s = q.astype(np.float64) @ k.astype(np.float64).T * sm_scale
    if causal:
        s = np.where(np.tril(np.ones(s.shape, bool)), s, -np.inf)
    p = np.exp(s - s.max(axis=1, keepdims=True))
    return p / p.sum(axis=1, keepdims=True) @ v.astype(np.float64)


def main() -> int:
    blocks = dict(BM=128, BN=64, D=64, CAUSAL=True)
    attention_fwd.compile(*("*bf16[2]:16",) * 4, "i32:16", "f32", **blocks)
    print("attention: compiled to PTX (BM=128, BN=64, D=64, causal)")
    gpu = tile.gpu_available()
    if gpu:
        import torch as xp
        q, k, v = (xp.randn(8 * 1024, 64, device="cuda", dtype=xp.bfloat16) for _ in range(3))
    else:
        import ml_dtypes
        import numpy as xp
        print("Running the kernel's tile IR on the CPU interpreter (tile.interpreter, numpy "
              "arrays) instead, since there is no CUDA GPU here: 2 heads x 256, d64, causal.")
        rng = xp.random.default_rng(0)
        q, k, v = (rng.standard_normal((2 * 256, 64)).astype(ml_dtypes.bfloat16) for _ in "qkv")
    heads, seq_len, scale = (8, 1024, 0.125) if gpu else (2, 256, 0.125)
    o = xp.zeros_like(q)
    launch = attention_fwd[(seq_len // blocks["BM"], heads)]
    (launch if gpu else launch.interpret)(q, k, v, o, seq_len, scale, **blocks)
    ok = True
    for h in range(heads):
        rows = slice(h * seq_len, (h + 1) * seq_len)
        part = [t[rows].float().cpu().numpy() if gpu else t[rows] for t in (q, k, v, o)]
        want = reference_numpy(*part[:3], scale, True)
        ok &= bool(abs(part[3].astype("float64") - want).max() < 2e-2)
    print(f"{'GPU' if gpu else 'interpreter'} result {'matches' if ok else 'DIFFERS FROM'} "
          f"{'torch' if gpu else 'numpy'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

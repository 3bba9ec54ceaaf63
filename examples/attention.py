"""Attention forward, FlashAttention-2's online softmax and FlashAttention-3's
schedule: the kernels are tile.ops' (python/tile/ops/attention_kernels.py, which
says how they work), launched here by hand on flattened heads. attention_fwd runs
one program a (query block, head); attention_fwd_persistent one a multiprocessor,
walking the blocks. tile.ops.attention(q, k, v, causal=...) runs them on
(B, H, N, D) tensors, tuned.

Q and O are (heads · seq_len, D) bf16 arrays, K and V (kv_heads · seq_len, D);
any seq_len (EVEN_SEQ=True when it is a multiple of BM and BN drops the tail
work), and heads / kv_heads query heads share a kv head (group).

Compiles to PTX; runs on the GPU against torch, or with no GPU on the CPU
interpreter (a smaller problem, seq_len not a multiple of the blocks) against numpy.
"""
import sys

import tile
from tile.ops.attention_kernels import (attention_forward, attention_fwd,  # noqa: F401
                                        attention_fwd_persistent, causal_tile)


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
    attention_fwd.compile(*("*bf16[2]:16",) * 4, "*f32:16", "i32:16", "i32", "f32", **blocks)
    print("attention: compiled to PTX (BM=128, BN=64, D=64, causal)")
    gpu = tile.gpu_available()
    # 8 query heads over 2 kv heads (grouped-query), a sequence not a multiple of BM.
    heads, kv_heads, seq_len, scale = (8, 2, 1000, 0.125) if gpu else (4, 2, 200, 0.125)
    if gpu:
        import torch as xp
        q, k, v = (xp.randn(h * seq_len, 64, device="cuda", dtype=xp.bfloat16)
                   for h in (heads, kv_heads, kv_heads))
    else:
        import ml_dtypes
        import numpy as xp
        print(f"Running the kernel's tile IR on the CPU interpreter (tile.interpreter, numpy "
              f"arrays) instead, since there is no CUDA GPU here: {heads} heads over "
              f"{kv_heads} kv heads x {seq_len}, d64, causal.")
        rng = xp.random.default_rng(0)
        q, k, v = (rng.standard_normal((h * seq_len, 64)).astype(ml_dtypes.bfloat16)
                   for h in (heads, kv_heads, kv_heads))
    o = xp.zeros_like(q)
    group = heads // kv_heads
    launch = attention_fwd[(tile.cdiv(seq_len, blocks["BM"]), heads)]
    (launch if gpu else launch.interpret)(q, k, v, o, o, seq_len, group, scale, **blocks)
    ok = True
    for h in range(heads):
        rows, kv = slice(h * seq_len, (h + 1) * seq_len), h // group
        kv_rows = slice(kv * seq_len, (kv + 1) * seq_len)
        part = [t[r].float().cpu().numpy() if gpu else t[r]
                for t, r in ((q, rows), (k, kv_rows), (v, kv_rows), (o, rows))]
        want = reference_numpy(*part[:3], scale, True)
        ok &= bool(abs(part[3].astype("float64") - want).max() < 2e-2)
    print(f"{'GPU' if gpu else 'interpreter'} result {'matches' if ok else 'DIFFERS FROM'} "
          f"{'torch' if gpu else 'numpy'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

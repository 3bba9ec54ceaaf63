"""Attention forward, FlashAttention-2 style: O = softmax(Q Kᵀ · scale) V, one
BM-row block of queries per program, streaming over keys in BN-row blocks with
an online softmax (running row max m, running row sum l, rescaled accumulator).

Q, K, V and O are (heads · seq_len, D) bf16 arrays: head h owns rows
[h · seq_len, (h + 1) · seq_len). seq_len is a multiple of BM and BN.

Prints the kernel's verified tile IR size, then tries the GPU lowering (where it
does not exist yet this says so). With a GPU and the lowering, it runs there
against torch; otherwise it runs the same specialization's tile IR on the CPU
interpreter, on a smaller problem, against numpy.
"""
import math
import sys

import tile

LOG2_E = 1.4426950408889634  # exp(x) = exp2(x · log2 e); exp2 is the fast one


@tile.jit
def attention_fwd(Q, K, V, O, seq_len, sm_scale,
                  BM: tile.constexpr, BN: tile.constexpr, D: tile.constexpr,
                  CAUSAL: tile.constexpr):
    start_m = tile.program_id(0) * BM   # first query row of this program
    head = tile.program_id(1) * seq_len  # first row of this head
    q = tile.load(Q, (head + start_m, 0), (BM, D))
    qk_scale = sm_scale * LOG2_E

    m_i = tile.neg_inf((BM,), tile.float32)   # running max of each query row
    l_i = tile.zeros((BM,), tile.float32)     # running sum of exp2(s - m_i)
    acc = tile.zeros((BM, D), tile.float32)   # running P · V, scaled by exp2(-m_i)

    # With a causal mask, keys past the block's last query contribute nothing.
    end = start_m + BM if CAUSAL else seq_len
    for start_n in range(0, end, BN):
        k = tile.load(K, (head + start_n, 0), (BN, D))
        v = tile.load(V, (head + start_n, 0), (BN, D))
        # S = Q Kᵀ, in log2 units.
        s = tile.mma(q, k, tile.zeros((BM, BN), tile.float32), transpose_b=True) * qk_scale
        if CAUSAL:
            rows = start_m + tile.arange(BM)
            cols = start_n + tile.arange(BN)
            s = tile.where(rows[:, None] >= cols[None, :], s, float("-inf"))
        # Online softmax: the new max rescales what was accumulated so far.
        m_new = tile.maximum(m_i, tile.max(s, 1))
        alpha = tile.exp2(m_i - m_new)
        p = tile.exp2(s - m_new[:, None])
        l_i = l_i * alpha + tile.sum(p, 1)
        acc = tile.mma(p.to(tile.bfloat16), v, acc * alpha[:, None])
        m_i = m_new

    out = acc / l_i[:, None]
    tile.store(O, (head + start_m, 0), out.to(O.dtype))


def reference(q, k, v, sm_scale, causal):
    import torch
    s = (q.float() @ k.float().transpose(-1, -2)) * sm_scale
    if causal:
        n = s.shape[-1]
        s = s.masked_fill(torch.ones(n, n, device=s.device, dtype=torch.bool).triu(1),
                          float("-inf"))
    return torch.softmax(s, dim=-1) @ v.float()


def main() -> int:
    args = ("*bf16[2]:16",) * 4 + ("i32:16", "f32")
    blocks = dict(BM=128, BN=64, D=64, CAUSAL=True)
    text = attention_fwd.ir(*args, **blocks)
    print(f"attention: verified tile IR, {len(text.splitlines())} lines "
          f"(BM={blocks['BM']}, BN={blocks['BN']}, D={blocks['D']}, causal)")
    try:
        attention_fwd.compile(*args, **blocks)
    except tile.CompilationError as e:
        print("GPU lowering: not available for this kernel yet, so nothing was compiled to PTX:"
              f"\n  {str(e).splitlines()[0]}")
        return run_on_interpreter(blocks, "there is no GPU lowering for it yet")
    if not tile.gpu_available():
        print("Compiled to PTX.")
        return run_on_interpreter(blocks, "there is no CUDA GPU here")
    import torch
    heads, seq_len, D = 8, 1024, blocks["D"]
    q, k, v = (torch.randn(heads, seq_len, D, device="cuda", dtype=torch.bfloat16)
               for _ in range(3))
    o = torch.empty_like(q)
    sm_scale = 1 / math.sqrt(D)
    flat = [t.view(heads * seq_len, D) for t in (q, k, v, o)]
    attention_fwd[(seq_len // blocks["BM"], heads)](*flat, seq_len, sm_scale, **blocks)
    ok = torch.allclose(o.float(), reference(q, k, v, sm_scale, True), rtol=2e-2, atol=2e-2)
    print(f"GPU result {'matches' if ok else 'DIFFERS FROM'} torch")
    return 0 if ok else 1


def run_on_interpreter(blocks, reason) -> int:
    import ml_dtypes
    import numpy as np
    heads, seq_len, D = 2, 256, blocks["D"]
    what = f"{heads} heads, seq_len {seq_len}, D {D}, bf16, causal"
    print(f"Running the kernel's tile IR on the CPU interpreter (tile.interpreter, numpy "
          f"arrays) instead, since {reason}: {what}.")
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((heads * seq_len, D)).astype(ml_dtypes.bfloat16)
               for _ in range(3))
    o = np.zeros_like(q)
    sm_scale = 1 / math.sqrt(D)
    attention_fwd[(seq_len // blocks["BM"], heads)].interpret(q, k, v, o, seq_len, sm_scale,
                                                              **blocks)
    ok = True
    causal = np.tril(np.ones((seq_len, seq_len), bool))
    for h in range(heads):
        rows = slice(h * seq_len, (h + 1) * seq_len)
        s = q[rows].astype(np.float64) @ k[rows].astype(np.float64).T * sm_scale
        s = np.where(causal, s, -np.inf)
        p = np.exp(s - s.max(axis=1, keepdims=True))
        reference = p / p.sum(axis=1, keepdims=True) @ v[rows].astype(np.float64)
        ok &= np.allclose(o[rows].astype(np.float64), reference, rtol=2e-2, atol=2e-2)
    print(f"interpreter result {'matches' if ok else 'DIFFERS FROM'} numpy")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Tiles with size-1 and small dimensions: a flash-decoding kernel (one query
row against a key/value sequence) that the interpreter ran right and the GPU
got wrong, because a sum along a dimension narrower than the threads laid
along it added the threads' copies of each element. Checked on the
interpreter against numpy here, against torch on the GPU, and the generated
PTX is accepted by ptxas."""
import numpy as np
import pytest

import tile
from tile.compiler import find_ptxas


@tile.jit
def decode(Q, K, V, O, L, seq_len, num_heads, scale, BN: tile.constexpr, D: tile.constexpr):
    head = tile.program_id(0)
    q = tile.load(Q, head * D, D)                          # (D,)
    m = tile.neg_inf((1,))
    l = tile.zeros((1,))
    acc = tile.zeros((1, D))
    for start in range(0, seq_len, BN):
        k = tile.load(K, (head * seq_len + start, 0), (BN, D))
        v = tile.load(V, (head * seq_len + start, 0), (BN, D))
        qk = tile.sum(q[None, :] * k, 1) * scale           # (BN,)
        row = tile.zeros((1, BN)) + qk[None, :]
        inside = start + tile.arange(BN) < seq_len
        row = tile.where(inside[None, :], row, float("-inf"))
        m_new = tile.maximum(m, tile.max(row, 1))
        alpha = tile.exp2(m - m_new)
        p = tile.exp2(row - m_new[:, None])                # (1, BN)
        l = l * alpha + tile.sum(p, 1)
        pv = tile.sum(tile.sum(p, 0)[:, None] * v, 0)      # (D,)
        acc = acc * alpha[:, None] + pv[None, :]
        m = m_new
    tile.store(O, (head, 0), acc / l[:, None])
    tile.store(L, head, m + tile.log2(l), bound=num_heads)  # a 1-element store


def reference(q, k, v, seq_len, scale):
    """Per head: softmax over base-2 logits (scale folds in log2 e)."""
    heads, D = q.shape
    k = k.reshape(heads, seq_len, D).astype(np.float64)
    v = v.reshape(heads, seq_len, D).astype(np.float64)
    logits = np.einsum("hd,hnd->hn", q.astype(np.float64), k) * scale
    m = logits.max(axis=1, keepdims=True)
    p = np.exp2(logits - m)
    out = np.einsum("hn,hnd->hd", p, v) / p.sum(axis=1, keepdims=True)
    return out, (m[:, 0] + np.log2(p.sum(axis=1)))


CASES = [dict(BN=64, D=64, seq_len=200), dict(BN=32, D=128, seq_len=77),
         dict(BN=128, D=64, seq_len=512)]


def inputs(case, heads=4, seed=0):
    rng = np.random.default_rng(seed)
    D, n = case["D"], case["seq_len"]
    q = rng.standard_normal((heads, D)).astype(np.float32)
    k = rng.standard_normal((heads * n, D)).astype(np.float32)
    v = rng.standard_normal((heads * n, D)).astype(np.float32)
    return q, k, v


@pytest.mark.parametrize("case", CASES, ids=lambda c: "BN{BN}-D{D}-N{seq_len}".format(**c))
def test_decode_on_interpreter(case):
    heads, scale = 4, 0.125
    q, k, v = inputs(case, heads)
    o = np.full((heads, case["D"]), np.nan, np.float32)
    lse = np.full(heads, np.nan, np.float32)
    decode[(heads,)].interpret(q.reshape(-1), k, v, o, lse, case["seq_len"], heads, scale,
                               BN=case["BN"], D=case["D"])
    want_o, want_lse = reference(q, k, v, case["seq_len"], scale)
    np.testing.assert_allclose(o, want_o, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(lse, want_lse, rtol=1e-5, atol=1e-5)


@pytest.mark.skipif(find_ptxas() is None, reason="ptxas not on PATH")
def test_decode_compiles():
    for case in CASES:
        kernel = decode.compile("*f32[1]:16", "*f32[2]:16", "*f32[2]:16", "*f32[2]:16",
                                "*f32[1]:16", "i32", "i32", "f32", BN=case["BN"], D=case["D"])
        assert kernel.cubin and kernel.metadata["spill_stores"] == 0


@pytest.mark.gpu
@pytest.mark.parametrize("case", CASES, ids=lambda c: "BN{BN}-D{D}-N{seq_len}".format(**c))
def test_decode_on_gpu(case):
    import torch
    heads, scale = 4, 0.125
    q, k, v = (torch.from_numpy(a).cuda() for a in inputs(case, heads, seed=1))
    o = torch.full((heads, case["D"]), float("nan"), device="cuda")
    lse = torch.full((heads,), float("nan"), device="cuda")
    decode[(heads,)](q.reshape(-1), k, v, o, lse, case["seq_len"], heads, scale,
                     BN=case["BN"], D=case["D"])
    want_o, want_lse = reference(q.cpu().numpy(), k.cpu().numpy(), v.cpu().numpy(),
                                 case["seq_len"], scale)
    np.testing.assert_allclose(o.cpu().numpy(), want_o, rtol=2e-3, atol=2e-4)
    np.testing.assert_allclose(lse.cpu().numpy(), want_lse, rtol=1e-4, atol=1e-4)

"""The interpreter and the H100 agree on the same inputs (issue: interpreter
numerics as on the GPU). Runs on the device; skips elsewhere."""
import os
import sys

import numpy as np
import pytest

import tile

pytestmark = pytest.mark.gpu
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
from gemm import gemm  # noqa: E402
from softmax import softmax  # noqa: E402
from vector_add import add  # noqa: E402


def test_vector_add_bitwise():
    import torch
    n = 100_003
    x, y = torch.randn(n, device="cuda"), torch.randn(n, device="cuda")
    out = torch.empty_like(x)
    add[(tile.cdiv(n, 1024),)](x, y, out, n, BLOCK=1024)
    hx, hy = x.cpu().numpy(), y.cpu().numpy()
    hout = np.empty_like(hx)
    add[(tile.cdiv(n, 1024),)].interpret(hx, hy, hout, n, BLOCK=1024)
    torch.cuda.synchronize()
    assert np.array_equal(out.cpu().numpy(), hout)


def test_softmax_f16_within_half_precision():
    import torch
    M, N = 64, 1000
    x = torch.randn(M, N, device="cuda", dtype=torch.float16)
    y = torch.empty_like(x)
    softmax[(M // 4,)](x, y, BM=4, BN=1024)
    hx = x.cpu().numpy()
    hy = np.empty_like(hx)
    softmax[(M // 4,)].interpret(hx, hy, BM=4, BN=1024)
    torch.cuda.synchronize()
    diff = np.abs(y.cpu().numpy().astype(np.float32) - hy.astype(np.float32))
    # ex2.approx on the GPU vs numpy's exp: an f16 ulp at most.
    assert diff.max() <= 2.0 ** -10 * np.abs(hy.astype(np.float32)).max()


def test_gemm_bf16_within_bf16_tolerance():
    import torch
    M, N, K = 256, 200, 192
    a = torch.randn(M, K, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(K, N, device="cuda", dtype=torch.bfloat16)
    c = torch.empty(M, N, device="cuda", dtype=torch.bfloat16)
    grid = (tile.cdiv(M, 128), tile.cdiv(N, 128))
    gemm[grid](a, b, c, BM=128, BN=128, BK=64)
    import ml_dtypes
    ha = a.view(torch.int16).cpu().numpy().view(ml_dtypes.bfloat16)
    hb = b.view(torch.int16).cpu().numpy().view(ml_dtypes.bfloat16)
    hc = np.empty((M, N), dtype=ml_dtypes.bfloat16)
    gemm[grid].interpret(ha, hb, hc, BM=128, BN=128, BK=64)
    torch.cuda.synchronize()
    gpu = c.float().cpu().numpy()
    cpu = hc.astype(np.float32)
    assert np.linalg.norm(gpu - cpu) / np.linalg.norm(cpu) < 4e-3  # bf16 rounding of the outputs


def test_attention_within_bf16_tolerance():
    import math
    import ml_dtypes
    import torch
    from attention import attention_fwd
    heads, seq_len, D = 2, 256, 64
    q, k, v = (torch.randn(heads * seq_len, D, device="cuda", dtype=torch.bfloat16)
               for _ in range(3))
    o = torch.empty_like(q)
    grid = (seq_len // 128, heads)
    args = dict(BM=128, BN=64, D=D, CAUSAL=False, EVEN_SEQ=True)
    attention_fwd[grid](q, k, v, o, o, seq_len, 1, 1 / math.sqrt(D), **args)
    host = [t.view(torch.int16).cpu().numpy().view(ml_dtypes.bfloat16) for t in (q, k, v)]
    ho = np.empty((heads * seq_len, D), dtype=ml_dtypes.bfloat16)
    attention_fwd[grid].interpret(*host, ho, ho, seq_len, 1, 1 / math.sqrt(D), **args)
    torch.cuda.synchronize()
    gpu, cpu = o.float().cpu().numpy(), ho.astype(np.float32)
    assert np.linalg.norm(gpu - cpu) / np.linalg.norm(cpu) < 1e-2  # bf16 P and outputs, ex2.approx

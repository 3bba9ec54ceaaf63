"""Attention forward (causal and not) on the GPU against a float32 reference:
Q·Kᵀ from shared memory, online softmax on the WGMMA accumulator layout,
P·V with P from registers."""
import math
import os
import sys

import pytest

import tile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
from attention import attention_fwd, reference  # noqa: E402

ARGS = ("*bf16[2]:16",) * 4 + ("*f32:16", "i32:16", "i32", "f32")


def test_noncausal_compiles_to_wgmma_with_register_a():
    kernel = attention_fwd.compile(*ARGS, BM=128, BN=64, D=64, CAUSAL=False, EVEN_SEQ=True)
    assert "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16" in kernel.ptx
    assert kernel.metadata["spill_stores"] == 0


@pytest.mark.gpu
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("heads,seq_len", [(1, 128), (4, 512), (3, 1024)])
def test_matches_reference(heads, seq_len, causal):
    import torch
    D, BM, BN = 64, 128, 64
    q, k, v = (torch.randn(heads * seq_len, D, device="cuda", dtype=torch.bfloat16)
               for _ in range(3))
    o = torch.full_like(q, float("nan"))
    scale = 1 / math.sqrt(D)
    attention_fwd[(seq_len // BM, heads)](q, k, v, o, o, seq_len, 1, scale, BM=BM, BN=BN, D=D,
                                           CAUSAL=causal, EVEN_SEQ=True)
    torch.cuda.synchronize()
    ref = reference(q.view(heads, seq_len, D), k.view(heads, seq_len, D),
                    v.view(heads, seq_len, D), scale, causal).reshape(heads * seq_len, D)
    assert not o.isnan().any()
    error = float((o.float() - ref).norm() / ref.norm())
    assert error < 1e-2, error

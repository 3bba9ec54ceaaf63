"""The attention kernels (python/tile/ops/attention_kernels.py) at any seq_len,
with grouped kv heads and the log-sum-exp stored: on the interpreter against
numpy at small ragged sizes (seq_len 1, 7, 100, 1000 with small blocks; every
row of the output starts NaN, and a row stored twice, or into the next head,
is a race the interpreter reports), and on the GPU against torch's SDPA."""
import math

import ml_dtypes
import numpy as np
import pytest

import tile
from tile.ops.attention_kernels import attention_fwd, attention_fwd_persistent

ARGS = ("*bf16[2]:16",) * 4 + ("*f32:16", "i32", "i32", "f32")


def numpy_attention(q, k, v, scale, causal):
    """float64 output and natural log-sum-exp of one head's (seq_len, D) arrays."""
    s = q.astype(np.float64) @ k.astype(np.float64).T * scale
    if causal:
        s = np.where(np.tril(np.ones(s.shape, bool)), s, -np.inf)
    m = s.max(axis=1, keepdims=True)
    p = np.exp(s - m)
    return p / p.sum(axis=1, keepdims=True) @ v.astype(np.float64), \
        (m + np.log(p.sum(axis=1, keepdims=True)))[:, 0]


def interpret(seq_len, heads, kv_heads, causal, BM, BN, D, head_dim=None, programs=None,
              seed=0, dtype=ml_dtypes.bfloat16):
    head_dim = head_dim or D
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((heads * seq_len, head_dim)).astype(dtype)
    k, v = (rng.standard_normal((kv_heads * seq_len, head_dim)).astype(dtype) for _ in "kv")
    o = np.full_like(q, np.nan)
    lse = np.full((heads * seq_len,), np.nan, np.float32)
    scale, group = 1 / math.sqrt(head_dim), heads // kv_heads
    blocks = dict(BM=BM, BN=BN, D=D, CAUSAL=causal, STORE_LSE=True)
    if programs:
        attention_fwd_persistent[(programs,)].interpret(q, k, v, o, lse, seq_len, heads, group,
                                                        scale, **blocks)
    else:
        attention_fwd[(tile.cdiv(seq_len, BM), heads)].interpret(q, k, v, o, lse, seq_len, group,
                                                                 scale, **blocks)
    for h in range(heads):
        rows = slice(h * seq_len, (h + 1) * seq_len)
        kv = slice(h // group * seq_len, (h // group + 1) * seq_len)
        want, want_lse = numpy_attention(q[rows], k[kv], v[kv], scale, causal)
        assert np.abs(o[rows].astype(np.float64) - want).max() < 2e-2, h
        assert np.abs(lse[rows] - want_lse).max() < 1e-4, h


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("seq_len", [1, 7, 100])
def test_interpreter_any_seq_len(seq_len, causal):
    """4 query heads over 2 kv heads; blocks of 32 queries and 16 keys."""
    interpret(seq_len, 4, 2, causal, BM=32, BN=16, D=16)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("seq_len", [7, 100])
def test_interpreter_persistent_any_seq_len(seq_len, causal):
    """Multi-query (one kv head), 3 programs walking the tiles (causal: in pairs)."""
    interpret(seq_len, 3, 1, causal, BM=32, BN=16, D=16, programs=3)


@pytest.mark.parametrize("causal", [False, True])
def test_interpreter_seq_len_1000(causal):
    interpret(1000, 2, 1, causal, BM=128, BN=64, D=16)


@pytest.mark.parametrize("causal", [False, True])
def test_interpreter_narrow_head_padded(causal):
    """A head dim of 24 in 32-wide tiles: the columns past it read as zero and
    are not stored (d96 in 128-wide tiles on the GPU, d192 in 256)."""
    interpret(100, 2, 2, causal, BM=32, BN=32, D=32, head_dim=24)


def test_interpreter_float16():
    interpret(100, 2, 1, True, BM=32, BN=16, D=16, dtype=np.float16)


@pytest.mark.parametrize("BM,BN", [(128, 64), (128, 128)])
@pytest.mark.parametrize("causal", [False, True])
def test_ragged_kernel_lowers(BM, BN, causal):
    """The ragged kernel (no EVEN_SEQ) lowers at d64 within an H100's shared
    memory, storing the log-sum-exp."""
    kernel = attention_fwd.compile(*ARGS, BM=BM, BN=BN, D=64, CAUSAL=causal, STORE_LSE=True,
                                   num_warps=8, num_stages=2)
    assert kernel.metadata["shared_bytes"] <= 227 * 1024


def _sdpa_case(B, H, H_kv, N, D, dtype, causal, persistent, config):
    import torch
    import torch.nn.functional as F
    q = torch.randn(B, H, N, D, device="cuda", dtype=dtype)
    k, v = (torch.randn(B, H_kv, N, D, device="cuda", dtype=dtype) for _ in range(2))
    o = torch.full_like(q, float("nan"))
    lse = torch.full((B, H, N), float("nan"), device="cuda")
    flat = [t.reshape(-1, D) for t in (q, k, v, o)]
    scale, group, heads = 1 / math.sqrt(D), H // H_kv, B * H
    options = dict(D=D, CAUSAL=causal, STORE_LSE=True, **config.launch_kwargs())
    blocks = tile.cdiv(N, config.kwargs["BM"])
    if persistent:
        programs = torch.cuda.get_device_properties(0).multi_processor_count
        attention_fwd_persistent[(min(programs, blocks * heads),)](
            *flat, lse.view(-1), N, heads, group, scale, **options)
    else:
        attention_fwd[(blocks, heads)](*flat, lse.view(-1), N, group, scale, **options)
    torch.cuda.synchronize()
    kv = [t.repeat_interleave(group, dim=1) for t in (k, v)]
    ref = F.scaled_dot_product_attention(q.float(), kv[0].float(), kv[1].float(),
                                         is_causal=causal)
    assert not o.isnan().any()
    assert float((o.float() - ref).norm() / ref.norm()) < 1e-2
    s = (q.float() @ kv[0].float().transpose(-1, -2)) * scale
    if causal:
        s = s.masked_fill(torch.ones(N, N, device="cuda", dtype=torch.bool).triu(1),
                          float("-inf"))
    assert float((lse - s.logsumexp(-1)).abs().max()) < 1e-3


@pytest.mark.gpu
@pytest.mark.parametrize("persistent", [False, True])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("N", [1000, 8000])
def test_gpu_matches_sdpa(N, dtype, causal, persistent):
    """A ragged N at d64 (two query heads a kv head), plain with 128x64 blocks and
    persistent, warp-specialized with 128x128."""
    import torch
    from tile.ops import sdpa
    config = sdpa.PERSISTENT_CONFIGS[0] if persistent else sdpa.DEFAULT_BLOCK_CONFIG
    _sdpa_case(1 if N > 4000 else 2, 4, 2, N, 64, getattr(torch, dtype), causal, persistent,
               config)


@pytest.mark.gpu
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("N", [1, 7, 100, 1000])
def test_gpu_d128_ragged(N, causal):
    import torch
    from tile.ops import sdpa
    _sdpa_case(2, 2, 1, N, 128, torch.bfloat16, causal, False, sdpa.DEFAULT_BLOCK_CONFIG)

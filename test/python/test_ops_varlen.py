"""tile.ops.attention_varlen: packed sequences of different lengths (empty ones
included), against a float64 reference on the interpreter and against SDPA per
sequence on the GPU; bad input refused naming the argument."""
import math

import ml_dtypes
import numpy as np
import pytest

import tile
import tile.ops

BF16 = ml_dtypes.bfloat16


def reference(q, k, v, cu_seqlens, causal, scale):
    """float64: the (total, H, D) output and the (H, total) log-sum-exp."""
    total, H, D = q.shape
    group = H // k.shape[1]
    out, lse = np.zeros((total, H, D)), np.full((H, total), -np.inf)
    for start, end in zip(cu_seqlens[:-1], cu_seqlens[1:]):
        n = end - start
        for h in range(H if n else 0):
            s = (q[start:end, h].astype(np.float64) @ k[start:end, h // group].T.astype(np.float64)
                 * scale)
            if causal:
                s = np.where(np.tril(np.ones((n, n))) > 0, s, -np.inf)
            m = s.max(1, keepdims=True)
            p = np.exp(s - m)
            out[start:end, h] = p / p.sum(1, keepdims=True) @ v[start:end, h // group]
            lse[h, start:end] = m[:, 0] + np.log(p.sum(1))
    return out, lse


def packed(rng, lengths, H, H_kv, D, dtype=BF16):
    cu = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    total = int(cu[-1])
    q = rng.standard_normal((total, H, D)).astype(dtype)
    k, v = (rng.standard_normal((total, H_kv, D)).astype(dtype) for _ in range(2))
    return q, k, v, cu


@pytest.mark.parametrize("lengths, H, H_kv, D, causal", [
    ([5, 0, 130, 64], 4, 2, 64, False),   # an empty sequence; one past a block
    ([5, 0, 130, 64], 4, 2, 64, True),
    ([200, 1], 2, 1, 96, True),           # d96 in 128-wide tiles; a one-token sequence
    ([128, 128], 2, 2, 32, False),        # whole blocks
])
def test_interpreter_matches_reference(monkeypatch, lengths, H, H_kv, D, causal):
    monkeypatch.setenv("TILE_INTERPRET", "1")
    rng = np.random.default_rng(sum(lengths) + D)
    q, k, v, cu = packed(rng, lengths, H, H_kv, D)
    out, lse = tile.ops.attention_varlen(q, k, v, cu, max(lengths), causal=causal,
                                         return_lse=True)
    want, want_lse = reference(q, k, v, cu, causal, 1 / math.sqrt(D))
    assert out.shape == q.shape and out.dtype == q.dtype and lse.shape == (H, q.shape[0])
    assert np.abs(out.astype(np.float64) - want).max() < 2e-2
    assert np.abs(lse - want_lse).max() < 1e-3


def test_max_seqlen_below_a_length_is_reported(monkeypatch):
    """max_seqlen sizes the grid: one below a sequence's length would leave its last
    rows unwritten. Refused on host inputs; the kernel's own check (TILE_DEBUG=1 on
    the GPU) says so too."""
    monkeypatch.setenv("TILE_INTERPRET", "1")
    q, k, v, cu = packed(np.random.default_rng(7), [300, 20], 2, 1, 32)
    with pytest.raises(ValueError, match="max_seqlen is 200, less than the longest"):
        tile.ops.attention_varlen(q, k, v, cu, 200)
    from tile.ops.varlen import _check
    monkeypatch.setattr("tile.ops.varlen._check", lambda *a: _check(*a[:4], 300, *a[5:]))
    with pytest.raises(Exception, match="max_seqlen is less than a sequence's length"):
        tile.ops.attention_varlen(q, k, v, cu, 200)


@pytest.mark.parametrize("change, message", [
    (dict(q=np.zeros((10, 4, 64), np.float32)), "q is float32"),
    (dict(q=np.zeros((1, 10, 4, 64), BF16)), "q must be 3-D"),
    (dict(k=np.zeros((10, 3, 64), BF16), v=np.zeros((10, 3, 64), BF16)), "k has 3 heads and q 4"),
    (dict(k=np.zeros((9, 2, 64), BF16), v=np.zeros((9, 2, 64), BF16)), "share cu_seqlens"),
    (dict(cu_seqlens=np.array([0, 10], np.int64)), "cu_seqlens must be an int32"),
    (dict(max_seqlen=10.0), "max_seqlen must be an int"),
    (dict(cu_seqlens=np.array([0, 6, 12], np.int32)), "cu_seqlens must rise from >= 0 to at "
                                                       "most 10"),
    (dict(cu_seqlens=np.array([0, 6, 4], np.int32)), "cu_seqlens must rise"),
    (dict(causal="yes"), "causal must be a bool"),
    (dict(scale=0), "scale must be a positive finite number"),
    (dict(scale=float("inf")), "scale must be a positive finite number"),
])
def test_bad_input_names_the_argument(monkeypatch, change, message):
    monkeypatch.setenv("TILE_INTERPRET", "1")
    args = dict(q=np.zeros((10, 4, 64), BF16), k=np.zeros((10, 2, 64), BF16),
                v=np.zeros((10, 2, 64), BF16), cu_seqlens=np.array([0, 4, 10], np.int32),
                max_seqlen=6)
    args.update(change)
    with pytest.raises((TypeError, ValueError), match=message):
        tile.ops.attention_varlen(**args)


def test_inputs_that_require_grad_are_refused(monkeypatch):
    """No backward: a gradient would be dropped without a word."""
    torch = pytest.importorskip("torch")
    monkeypatch.setenv("TILE_INTERPRET", "1")
    q = torch.zeros(10, 4, 64, dtype=torch.bfloat16, requires_grad=True)
    k = v = torch.zeros(10, 2, 64, dtype=torch.bfloat16)
    cu = torch.tensor([0, 4, 10], dtype=torch.int32)
    with pytest.raises(ValueError, match="attention_varlen has no backward, and q require"):
        tile.ops.attention_varlen(q, k, v, cu, 6)
    with torch.no_grad():
        assert tile.ops.attention_varlen(q, k, v, cu, 6).shape == (10, 4, 64)


def test_configurations_compile_without_spills():
    """Every configuration the tuner times, causal or not, at d64 and d128."""
    from tile.compiler import find_ptxas
    from tile.ops.attention_kernels import attention_fwd_varlen
    from tile.ops.varlen import _PLAIN
    for D in (64, 128):
        for config in _PLAIN[False]:
            for causal in (False, True):
                kernel = attention_fwd_varlen.compile(
                    *("*bf16[2]:16",) * 4, "*f32:16", "*i32:16", "i32", "i32", "f32", D=D,
                    CAUSAL=causal, STORE_LSE=True, **config.launch_kwargs())
                assert "wgmma.mma_async" in kernel.ptx
                if find_ptxas() is not None:
                    assert kernel.metadata["spill_stores"] == 0, (D, config, causal)


@pytest.mark.gpu
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("D", [64, 128])
def test_gpu_matches_sdpa_per_sequence(D, causal):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F
    lengths = [1000, 0, 1, 4096, 333, 128]
    H, H_kv = 8, 2
    cu = torch.tensor([0] + list(np.cumsum(lengths)), device="cuda", dtype=torch.int32)
    total = int(cu[-1])
    q = torch.randn(total, H, D, device="cuda", dtype=torch.bfloat16)
    k, v = (torch.randn(total, H_kv, D, device="cuda", dtype=torch.bfloat16) for _ in range(2))
    out, lse = tile.ops.attention_varlen(q, k, v, cu, max(lengths), causal=causal,
                                         return_lse=True)
    for start, end in zip(cu[:-1].tolist(), cu[1:].tolist()):
        if start == end:
            continue
        qs, ks, vs = (x[start:end].transpose(0, 1) for x in (q, k, v))
        want = F.scaled_dot_product_attention(qs, ks, vs, is_causal=causal,
                                              enable_gqa=True).transpose(0, 1)
        error = float((out[start:end].float() - want.float()).norm() / want.float().norm())
        assert error < 1e-2, (start, end, error)
        s = qs.float() @ ks.float().repeat_interleave(H // H_kv, 0).transpose(1, 2) / D ** 0.5
        if causal:
            n = end - start
            s = s.masked_fill(torch.ones(n, n, device="cuda", dtype=torch.bool).triu(1),
                              float("-inf"))
        assert float((lse[:, start:end] - s.logsumexp(-1)).abs().max()) < 1e-3

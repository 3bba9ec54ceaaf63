"""tile.ops.attention_decode: new query tokens against a contiguous or paged KV
cache (flash-decoding, GQA), against a float64 reference on the interpreter and
against SDPA on the GPU; bad input refused naming the argument."""
import math

import ml_dtypes
import numpy as np
import pytest

import tile
import tile.ops

BF16 = ml_dtypes.bfloat16


def reference(q, k_cache, v_cache, seqlens, block_table, causal, scale):
    """float64: (B, q_len, H, D)."""
    B, q_len, H, D = q.shape
    group = H // k_cache.shape[2]
    out = np.zeros((B, q_len, H, D))
    for b in range(B):
        L = int(seqlens[b])
        pages = [b] if block_table is None else list(block_table[b])
        keys = np.concatenate([k_cache[p] for p in pages])[:L].astype(np.float64)
        values = np.concatenate([v_cache[p] for p in pages])[:L].astype(np.float64)
        for t in range(q_len):
            visible = L - q_len + t + 1 if causal else L
            for h in range(H if visible > 0 else 0):
                s = keys[:visible, h // group] @ q[b, t, h].astype(np.float64) * scale
                p = np.exp(s - s.max())
                out[b, t, h] = p / p.sum() @ values[:visible, h // group]
    return out


def make_cache(rng, B, H_kv, D, capacity, page, dtype=BF16):
    """(k_cache, v_cache, block_table): paged (pages shuffled, some spare) when
    page is given, else contiguous (B, capacity, H_kv, D)."""
    if page is None:
        shape = (B, capacity, H_kv, D)
        return (rng.standard_normal(shape).astype(dtype),
                rng.standard_normal(shape).astype(dtype), None)
    per_sequence = -(-capacity // page)
    pages = B * per_sequence + 3
    table = rng.permutation(pages)[:B * per_sequence].reshape(B, per_sequence).astype(np.int32)
    shape = (pages, page, H_kv, D)
    return (rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype),
            table)


@pytest.mark.parametrize("B, q_len, H, H_kv, D, page, causal, splits", [
    (3, 1, 8, 2, 64, 16, True, None),     # plain decode, GQA, paged by 16
    (2, 2, 8, 2, 64, 64, True, 3),        # two new tokens, causal among them
    (2, 3, 6, 1, 128, None, False, 2),    # multi-query, contiguous, not causal
    (2, 1, 4, 4, 40, None, True, None),   # d40 padded to 64, multi-head
    (1, 1, 64, 1, 64, 16, True, 4),       # a 64-head group: one full block of rows
    (1, 5, 32, 2, 64, 16, True, 2),       # 80 rows of one kv head: two row blocks
])
@pytest.mark.parametrize("kernel", ["rows", "transposed"])
def test_interpreter_matches_reference(monkeypatch, kernel, B, q_len, H, H_kv, D, page, causal,
                                       splits):
    monkeypatch.setenv("TILE_INTERPRET", "1")
    monkeypatch.setattr(tile.ops.decode, "SPLIT_KERNEL", kernel)
    rng = np.random.default_rng(B * 100 + q_len * 10 + H)
    capacity = 150
    seqlens = rng.integers(q_len, capacity + 1, B).astype(np.int32)
    seqlens[0] = q_len  # the new tokens alone
    q = rng.standard_normal((B, q_len, H, D)).astype(BF16)
    k_cache, v_cache, table = make_cache(rng, B, H_kv, D, capacity, page)
    out = tile.ops.attention_decode(q, k_cache, v_cache, seqlens, table, causal=causal,
                                    num_splits=splits)
    assert out.shape == q.shape and out.dtype == q.dtype
    want = reference(q, k_cache, v_cache, seqlens, table, causal, 1 / math.sqrt(D))
    assert np.abs(out.astype(np.float64) - want).max() < 2e-2


@pytest.mark.parametrize("kernel", ["rows", "transposed"])
def test_interpreter_empty_sequence_gives_zeros(monkeypatch, kernel):
    """No key in the cache (and splits with no key of a short sequence): zeros, no NaN."""
    monkeypatch.setenv("TILE_INTERPRET", "1")
    monkeypatch.setattr(tile.ops.decode, "SPLIT_KERNEL", kernel)
    rng = np.random.default_rng(1)
    q = rng.standard_normal((2, 1, 4, 64)).astype(BF16)
    k_cache, v_cache, table = make_cache(rng, 2, 2, 64, 256, 16)
    seqlens = np.array([0, 3], np.int32)
    out = tile.ops.attention_decode(q, k_cache, v_cache, seqlens, table, num_splits=4)
    assert not np.isnan(out.astype(np.float32)).any() and (out[0] == 0).all()
    want = reference(q, k_cache, v_cache, seqlens, table, True, 1 / 8)
    assert np.abs(out.astype(np.float64) - want).max() < 2e-2


@pytest.mark.parametrize("change, message", [
    (dict(q=np.zeros((2, 1, 4, 64), np.float32)), "q is float32"),
    (dict(q=np.zeros((2, 4, 64), BF16)), "q must be 4-D"),
    (dict(k_cache=np.zeros((2, 32, 3, 64), BF16), v_cache=np.zeros((2, 32, 3, 64), BF16)),
     "k_cache has 3 heads and q 4"),
    (dict(cache_seqlens=np.zeros(2, np.int64)), "cache_seqlens must be an int32"),
    (dict(block_table=np.zeros((3, 2), np.int32)), "block_table must be an int32"),
    (dict(cache_seqlens=np.array([1, 33], np.int32)), "cache_seqlens must be 0 to 32"),
    (dict(k_cache=np.zeros((4, 16, 2, 64), BF16), v_cache=np.zeros((4, 16, 2, 64), BF16),
          block_table=np.array([[0, 1], [2, 4]], np.int32), cache_seqlens=np.array([20, 17],
                                                                                   np.int32)),
     "block_table names pages outside k_cache's 4"),
    (dict(k_cache=np.zeros((5, 32, 2, 64), BF16), v_cache=np.zeros((5, 32, 2, 64), BF16)),
     "a paged cache needs block_table"),
    (dict(v_cache=np.zeros((2, 16, 2, 64), BF16)), "must have one shape"),
    (dict(q=np.zeros((2, 1, 4, 12), BF16), k_cache=np.zeros((2, 32, 2, 12), BF16),
          v_cache=np.zeros((2, 32, 2, 12), BF16)), "head dim is 12"),
    (dict(causal=1), "causal must be a bool"),
    (dict(scale=-1.0), "scale must be a positive finite number"),
    (dict(scale=float("inf")), "scale must be a positive finite number"),
    (dict(num_splits=0), "num_splits must be a positive int"),
])
def test_bad_input_names_the_argument(monkeypatch, change, message):
    monkeypatch.setenv("TILE_INTERPRET", "1")
    args = dict(q=np.zeros((2, 1, 4, 64), BF16), k_cache=np.zeros((2, 32, 2, 64), BF16),
                v_cache=np.zeros((2, 32, 2, 64), BF16), cache_seqlens=np.ones(2, np.int32),
                block_table=None)
    args.update(change)
    with pytest.raises((TypeError, ValueError), match=message):
        tile.ops.attention_decode(**args)


def test_inputs_that_require_grad_are_refused(monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.setenv("TILE_INTERPRET", "1")
    q = torch.zeros(2, 1, 4, 64, dtype=torch.bfloat16)
    cache = torch.zeros(2, 32, 2, 64, dtype=torch.bfloat16, requires_grad=True)
    with pytest.raises(ValueError, match="attention_decode has no backward, and k_cache"):
        tile.ops.attention_decode(q, cache, cache.detach(), torch.ones(2, dtype=torch.int32))


@pytest.mark.parametrize("name", ["rows", "transposed"])
def test_kernels_compile_without_spills_to_d128(name):
    """Each head width's blocks keep the split kernel in registers (ptxas), d256 aside;
    the transposed one in fewer (its accumulator is D x 16 for a group of 8)."""
    from tile.compiler import find_ptxas
    from tile.ops.decode import split_blocks
    for width in (64, 128):
        kernel, rows, keys = split_blocks(name, 8, width)
        # As a launch specializes them: head_dim, page, split_len and the strides
        # multiples of 16; q_len, kv_heads and max_pages not.
        compiled = kernel.compile(
            "*bf16[4]:16", "*bf16[4]:16", "*bf16[4]:16", "*i32[2]:16", "*i32:16", "*f32[2]:16",
            "*f32:16", "f32", "i32", "i32", "i32:16", "i32:16", "i32", "i32:16",
            *["i32:16"] * 9, GROUP=8, BM=rows, BN=keys, D=width, CAUSAL=True)
        assert "wgmma.mma_async" in compiled.ptx
        if find_ptxas() is not None:
            assert compiled.metadata["spill_stores"] == 0, width
            if name == "transposed" and width == 128:
                assert compiled.metadata["registers"] <= 192


@pytest.mark.gpu
@pytest.mark.parametrize("kernel", ["rows", "transposed"])
@pytest.mark.parametrize("B, q_len, H, H_kv, D, N, page", [
    (4, 1, 32, 8, 128, 4096, None), (4, 1, 32, 8, 128, 4096, 16), (2, 4, 16, 2, 64, 1000, 64),
    (1, 1, 8, 1, 256, 3000, 16), (8, 1, 16, 16, 96, 513, None)])
def test_gpu_matches_sdpa(monkeypatch, kernel, B, q_len, H, H_kv, D, N, page):
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(tile.ops.decode, "SPLIT_KERNEL", kernel)
    import torch.nn.functional as F
    g = torch.Generator(device="cuda").manual_seed(0)
    lengths = torch.randint(max(1, N // 2), N + 1, (B,), generator=g, device="cuda",
                            dtype=torch.int32)
    q = torch.randn(B, q_len, H, D, device="cuda", dtype=torch.bfloat16, generator=g)
    if page is None:
        k_cache = torch.randn(B, N, H_kv, D, device="cuda", dtype=torch.bfloat16, generator=g)
        v_cache = torch.randn_like(k_cache)
        table, keys, values = None, k_cache, v_cache
    else:
        per = -(-N // page)
        table = torch.randperm(B * per + 5, device="cuda", generator=g)[:B * per]
        table = table.to(torch.int32).reshape(B, per)
        k_cache = torch.randn(B * per + 5, page, H_kv, D, device="cuda", dtype=torch.bfloat16,
                              generator=g)
        v_cache = torch.randn_like(k_cache)
        keys = k_cache[table.long()].reshape(B, per * page, H_kv, D)
        values = v_cache[table.long()].reshape(B, per * page, H_kv, D)
    out = tile.ops.attention_decode(q, k_cache, v_cache, lengths, table)
    for b in range(B):
        L = int(lengths[b])
        mask = torch.ones(q_len, L, device="cuda", dtype=torch.bool).tril(L - q_len)
        want = F.scaled_dot_product_attention(
            q[b].transpose(0, 1), keys[b, :L].transpose(0, 1), values[b, :L].transpose(0, 1),
            attn_mask=mask, enable_gqa=True).transpose(0, 1)
        error = float((out[b].float() - want.float()).norm() / want.float().norm())
        assert error < 1e-2, (b, error)

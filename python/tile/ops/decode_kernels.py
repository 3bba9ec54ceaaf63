"""Decode attention kernels (flash-decoding): a few new query tokens per sequence
against a long KV cache, read through a block table (vLLM's paged layout; a
contiguous cache is one page per sequence).

decode_split: one program per (sequence, kv head, split of the keys, block of
query rows). Its BM query rows are the (token, head) pairs of the kv head's
group (GROUP query heads share it), so a GQA group fills the mma's rows. It
streams its split's keys in BN-key blocks with the online softmax (as
attention_kernels.attend) and writes its rows' normalized output and log-sum-exp
(log2 units) for the split. decode_combine: each query row's splits, weighted by
exp2(lse - the largest lse).

Key `pos` of sequence b is row `pos % page` of page `block_table[b, pos // page]`,
at element offset page_id · k_page + (pos % page) · k_pos + kv_head · k_head (the
cache's strides: any layout whose head dim has unit stride). Query token t of
q_len sees keys < seq_len - q_len + t + 1 when CAUSAL (the new tokens are the
cache's last ones), else all seq_len keys; a row that sees no key gives zeros.
"""
import tile

LOG2_E = 1.4426950408889634  # exp(x) = exp2(x · log2 e)


@tile.jit
def query_rows(Q, SeqLens, q_len, kv_heads, head_dim, split_len, q_batch, q_token, q_head,
               GROUP: tile.constexpr, BM: tile.constexpr, D: tile.constexpr,
               CAUSAL: tile.constexpr):
    """This program's sequence b, kv head, keys [start, end), and its BM query rows
    (the (token, head) pairs of the kv head's group): their token t, head, validity,
    the last key each sees (CAUSAL: its own position), and q (BM, D)."""
    b = tile.program_id(0) // kv_heads
    kv_head = tile.program_id(0) % kv_heads
    seq_len = tile.max(tile.load(SeqLens, b, 1))
    start = tile.program_id(1) * split_len
    end = tile.minimum(start + split_len, seq_len)
    r = tile.program_id(2) * BM + tile.arange(BM)
    t = r // GROUP
    head = kv_head * GROUP + r % GROUP
    valid = r < q_len * GROUP
    cols = tile.arange(D)
    q = tile.load(Q, (b * q_batch + t * q_token + head * q_head)[:, None] + cols[None, :],
                  mask=valid[:, None] & (cols < head_dim)[None, :])
    last = seq_len - q_len + t if CAUSAL else seq_len - 1 + t * 0
    return b, kv_head, start, end, t, head, valid, last, q


@tile.jit
def key_block(K, V, BlockTable, b, kv_head, n, end, head_dim, page, max_pages, k_page, k_pos,
              k_head, v_page, v_pos, v_head, BN: tile.constexpr, D: tile.constexpr):
    """Keys n .. n + BN - 1 of sequence b (those < end), gathered through the block
    table: their positions, which are inside, and the K and V tiles (BN, D)."""
    # The caller's promise (cache_seqlens within the pages), checked under TILE_DEBUG=1.
    tile.device_assert(end <= page * max_pages, "cache_seqlens is more than the cache holds")
    pos = n + tile.arange(BN)
    inside = pos < end
    page_id = tile.load(BlockTable, b * max_pages + pos // page, mask=inside)
    cols = tile.arange(D)
    keys = inside[:, None] & (cols < head_dim)[None, :]
    k = tile.load(K, (page_id * k_page + pos % page * k_pos + kv_head * k_head)[:, None]
                  + cols[None, :], mask=keys)
    v = tile.load(V, (page_id * v_page + pos % page * v_pos + kv_head * v_head)[:, None]
                  + cols[None, :], mask=keys)
    return pos, inside, k, v


@tile.jit
def decode_split(Q, K, V, BlockTable, SeqLens, Opart, Lpart, sm_scale, q_len, kv_heads,
                 head_dim, page, max_pages, split_len, q_batch, q_token, q_head,
                 k_page, k_pos, k_head, v_page, v_pos, v_head,
                 GROUP: tile.constexpr, BM: tile.constexpr, BN: tile.constexpr,
                 D: tile.constexpr, CAUSAL: tile.constexpr):
    """Grid (batch · kv_heads, splits, cdiv(q_len · GROUP, BM)). Opart (rows ·
    splits, D) and Lpart (rows · splits,), float32, rows = batch · q_len · heads
    in (b, t, h) order; split s takes keys [s · split_len, (s + 1) · split_len).
    The query rows are the mma's rows: S = Q·Kᵀ (BM, BN), O = P·V (BM, D)."""
    b, kv_head, start, end, t, head, valid, last, q = query_rows(
        Q, SeqLens, q_len, kv_heads, head_dim, split_len, q_batch, q_token, q_head, GROUP, BM,
        D, CAUSAL)
    qk_scale = sm_scale * LOG2_E
    m_i = tile.neg_inf((BM,), tile.float32)  # running max (log2 units)
    l_i = tile.zeros((BM,), tile.float32)    # running sum of exp2(s - m_i)
    acc = tile.zeros((BM, D), tile.float32)
    for n in range(start, end, BN):
        pos, inside, k, v = key_block(K, V, BlockTable, b, kv_head, n, end, head_dim, page,
                                      max_pages, k_page, k_pos, k_head, v_page, v_pos, v_head,
                                      BN, D)
        s = tile.mma(q, k, tile.zeros((BM, BN), tile.float32), transpose_b=True) * qk_scale
        s = tile.where(inside[None, :] & (pos[None, :] <= last[:, None]), s, float("-inf"))
        m_new = tile.maximum(m_i, tile.max(s, 1))
        m_base = tile.where(m_new == float("-inf"), 0.0, m_new)  # a row with no key yet
        alpha = tile.exp2(m_i - m_base)
        p = tile.exp2(s - m_base[:, None])
        l_i = l_i * alpha + tile.sum(p, 1)
        acc = tile.mma(p.to(v.dtype), v, acc * alpha[:, None])
        m_i = m_new
    part = ((b * q_len + t) * (kv_heads * GROUP) + head) * tile.num_programs(1) + \
        tile.program_id(1)
    out = acc / tile.where(l_i == 0.0, 1.0, l_i)[:, None]
    cols = tile.arange(D)
    tile.store(Opart, part[:, None] * D + cols[None, :], out, mask=valid[:, None])
    tile.store(Lpart, part, m_i + tile.log2(l_i), mask=valid)  # -inf: no key in this split


@tile.jit
def decode_split_transposed(Q, K, V, BlockTable, SeqLens, Opart, Lpart, sm_scale, q_len,
                            kv_heads, head_dim, page, max_pages, split_len, q_batch, q_token,
                            q_head, k_page, k_pos, k_head, v_page, v_pos, v_head,
                            GROUP: tile.constexpr, BM: tile.constexpr, BN: tile.constexpr,
                            D: tile.constexpr, CAUSAL: tile.constexpr):
    """decode_split with the product transposed: the keys on the mma's rows (BN, 64
    a warpgroup) and the BM query rows (16 and up) on its columns, Sᵀ = K·Qᵀ (BN, BM)
    and Oᵀ = Vᵀ·P (D, BM). A small GQA group then pads 16 columns rather than 64
    rows, and the accumulator is D x BM: fewer registers, more programs an SM."""
    b, kv_head, start, end, t, head, valid, last, q = query_rows(
        Q, SeqLens, q_len, kv_heads, head_dim, split_len, q_batch, q_token, q_head, GROUP, BM,
        D, CAUSAL)
    qk_scale = sm_scale * LOG2_E
    m_i = tile.neg_inf((BM,), tile.float32)
    l_i = tile.zeros((BM,), tile.float32)
    acc = tile.zeros((D, BM), tile.float32)
    for n in range(start, end, BN):
        pos, inside, k, v = key_block(K, V, BlockTable, b, kv_head, n, end, head_dim, page,
                                      max_pages, k_page, k_pos, k_head, v_page, v_pos, v_head,
                                      BN, D)
        s = tile.mma(k, q, tile.zeros((BN, BM), tile.float32), transpose_b=True) * qk_scale
        s = tile.where(inside[:, None] & (pos[:, None] <= last[None, :]), s, float("-inf"))
        m_new = tile.maximum(m_i, tile.max(s, 0))
        m_base = tile.where(m_new == float("-inf"), 0.0, m_new)
        alpha = tile.exp2(m_i - m_base)
        p = tile.exp2(s - m_base[None, :])
        l_i = l_i * alpha + tile.sum(p, 0)
        # Pᵀ as b (N x K, K = BN keys): shared rows of 128 bytes need K, not N, of 64.
        acc = tile.mma(v, p.to(v.dtype).T, acc * alpha[None, :], transpose_a=True,
                       transpose_b=True)
        m_i = m_new
    part = ((b * q_len + t) * (kv_heads * GROUP) + head) * tile.num_programs(1) + \
        tile.program_id(1)
    out = acc / tile.where(l_i == 0.0, 1.0, l_i)[None, :]
    cols = tile.arange(D)
    tile.store(Opart, part[None, :] * D + cols[:, None], out, mask=valid[None, :])
    tile.store(Lpart, part, m_i + tile.log2(l_i), mask=valid)


@tile.jit
def decode_combine(Opart, Lpart, O, rows, splits, heads, head_dim, o_batch, o_token, o_head,
                   q_len, BR: tile.constexpr, D: tile.constexpr):
    """Grid (cdiv(rows, BR),): O[b, t, h] = Σ_s w_s · Opart[row, s] / Σ_s w_s,
    w_s = exp2(Lpart[row, s] - max_s Lpart[row, s])."""
    r = tile.program_id(0) * BR + tile.arange(BR)
    valid = r < rows
    cols = tile.arange(D)
    m = tile.neg_inf((BR,), tile.float32)
    for s in range(0, splits):
        m = tile.maximum(m, tile.load(Lpart, r * splits + s, mask=valid, other=float("-inf")))
    m_base = tile.where(m == float("-inf"), 0.0, m)
    total = tile.zeros((BR,), tile.float32)
    acc = tile.zeros((BR, D), tile.float32)
    for s in range(0, splits):
        w = tile.exp2(tile.load(Lpart, r * splits + s, mask=valid, other=float("-inf")) - m_base)
        total += w
        acc += w[:, None] * tile.load(Opart, (r * splits + s)[:, None] * D + cols[None, :],
                                      mask=valid[:, None])
    out = acc / tile.where(total == 0.0, 1.0, total)[:, None]
    b, t, h = r // (q_len * heads), r // heads % q_len, r % heads
    tile.store(O, (b * o_batch + t * o_token + h * o_head)[:, None] + cols[None, :],
               out.to(O.dtype), mask=valid[:, None] & (cols < head_dim)[None, :])

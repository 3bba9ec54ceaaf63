"""Attention forward kernels: O = softmax(Q Kᵀ · scale) V, one BM-row block of
queries at a time, streaming over keys in BN-row blocks with an online softmax
(running row max m, running row sum l, rescaled accumulator), as
FlashAttention-2 writes it. Causal: the key blocks left of the diagonal run
unmasked, the diagonal ones masked. attention_fwd runs one program a query
block; attention_fwd_persistent one a multiprocessor, walking the blocks. With
warp_specialize=True the compiler adds FlashAttention-3's schedule (a producer
warpgroup, P·V overlapped with the next softmax; the consumer warpgroups' turns
on request): docs/passes.md. tile.ops.attention launches them; examples/attention.py
runs them by hand.

Q and O are (heads · seq_len, Dh) arrays, K and V (kv_heads · seq_len, Dh), bf16 or
f16: head h owns rows [h · seq_len, (h + 1) · seq_len), and query head h reads
kv head h // group (group = heads / kv_heads: 1 is multi-head attention, heads
is multi-query). TOKEN_MAJOR=True: Q, K, V and O are instead (batch · seq_len,
heads_of_a_batch · D) arrays of any row stride (a (B, N, H, D) tensor, or a fused QKV
projection's slice, read in place): head h of batch b owns rows [b · seq_len, (b + 1) ·
seq_len) and columns [h · D, (h + 1) · D), so the head dim must be the tile width D.
L, written when STORE_LSE, is the (heads · seq_len,) float32
log-sum-exp of each query row's scaled scores (natural log), what a backward
pass needs; without STORE_LSE any array may stand for it.

fp8 (e4m3) Q, K and V: fp8 WGMMA takes both operands K-major, so V comes
transposed, Vᵀ of (Dh, kv_heads · seq_len), and P is rounded to e4m3 for P·V;
the output is O's dtype (bf16). Scales are the caller's: sm_scale carries Q's and
K's, V's multiplies the output (tile.ops.attention_fp8).

Any seq_len: keys >= seq_len are masked out in the last key block only (causal:
the diagonal blocks' mask already does it) and query rows >= seq_len, which
belong to the next head, are never stored. EVEN_SEQ=True promises that seq_len is
a multiple of BM and BN: the tail key loop and the masked stores' branch then go
(the promise is a device assert: checked by the interpreter and under
TILE_DEBUG=1). D is the tiles' head width, a power of two at least the arrays'
head dim Dh (and 64, for the mma's 128-byte shared rows): columns past Dh read
as zero and are not stored.
"""
import tile

LOG2_E = 1.4426950408889634  # exp(x) = exp2(x · log2 e); exp2 is the fast one
LN_2 = 0.6931471805599453    # log-sum-exp from log2 units back to natural ones
NO_MASK, DIAGONAL, KEY_TAIL = 0, 1, 2  # what attend masks


@tile.jit
def attend(q, K, V, kv_row, kv_col, start_m, start_n, seq_len, qk_scale, m_i, l_i, acc,
           BM: tile.constexpr, BN: tile.constexpr, D: tile.constexpr, MASK: tile.constexpr):
    """One block of keys: S = Q Kᵀ, then the online softmax update (in log2 units:
    S · qk_scale; qk_scale > 0, so the row max scales with it)."""
    k = tile.load(K, (kv_row + start_n, kv_col), (BN, D))
    v_transposed = V.dtype == tile.float8e4m3  # fp8 WGMMA reads both operands K-major
    if v_transposed:  # Vᵀ, (Dh, rows)
        v = tile.load(V, (kv_col, kv_row + start_n), (D, BN))
    else:
        v = tile.load(V, (kv_row + start_n, kv_col), (BN, D))
    s = tile.mma(q, k, tile.zeros((BM, BN), tile.float32), transpose_b=True)
    if MASK == DIAGONAL:  # key j counts for query i when j <= i (so j < seq_len too)
        rows = start_m + tile.arange(BM)
        cols = start_n + tile.arange(BN)
        s = tile.where(rows[:, None] >= cols[None, :], s, float("-inf"))
    if MASK == KEY_TAIL:  # keys past seq_len are the next head's (or past the array)
        cols = start_n + tile.arange(BN)
        s = tile.where((cols < seq_len)[None, :], s, float("-inf"))
    m_new = tile.maximum(m_i, tile.max(s, 1) * qk_scale)  # the new max rescales the old
    # ... once it exceeds the old by more than 8 (log2 units; FlashAttention-4):
    # p stays below 2^8, and most blocks rescale nothing (alpha = 1 exactly,
    # whose multiply the compiler skips).
    m_new = tile.where(m_new > m_i + 8.0, m_new, m_i)
    alpha = tile.exp2(m_i - m_new)
    p = tile.exp2(s * qk_scale - m_new[:, None])  # one FMA and one exp2 an element
    l_i = l_i * alpha + tile.sum(p, 1)
    # fp8: p < 2^8 (above) fits e4m3's range.
    acc = tile.mma(p.to(v.dtype), v, acc * alpha[:, None], transpose_b=v_transposed)
    return m_new, l_i, acc


@tile.jit
def attention_block(Q, K, V, O, L, q_row, q_col, kv_row, kv_col, l_row, start_m, seq_len,
                    qk_scale,
                    BM: tile.constexpr, BN: tile.constexpr, D: tile.constexpr,
                    CAUSAL: tile.constexpr, EVEN_SEQ: tile.constexpr,
                    STORE_LSE: tile.constexpr):
    """Queries start_m .. start_m + BM of the head whose rows start at q_row (at
    column q_col; in L at l_row), its keys and values at kv_row (column kv_col)."""
    if EVEN_SEQ:  # the caller's promise, checked by the interpreter and under TILE_DEBUG=1
        tile.device_assert(seq_len % BM == 0, "EVEN_SEQ: seq_len must be a multiple of BM")
        tile.device_assert(seq_len % BN == 0, "EVEN_SEQ: seq_len must be a multiple of BN")
    q = tile.load(Q, (q_row + start_m, q_col), (BM, D))
    m_i = tile.neg_inf((BM,), tile.float32)   # running max of each query row
    l_i = tile.zeros((BM,), tile.float32)     # running sum of exp2(s - m_i)
    acc = tile.zeros((BM, D), tile.float32)   # running P · V, scaled by exp2(-m_i)
    # Key blocks left of the diagonal (causal), or all full blocks: no mask.
    full = seq_len if EVEN_SEQ else seq_len - seq_len % BN
    for start_n in range(0, start_m if CAUSAL else full, BN):
        m_i, l_i, acc = attend(q, K, V, kv_row, kv_col, start_m, start_n, seq_len, qk_scale,
                               m_i, l_i, acc, BM, BN, D, NO_MASK)
    if CAUSAL:  # the diagonal blocks, masked; keys past them count for no query here
        assert BM % BN == 0, "causal attention needs BN to divide BM"
        q = tile.load(Q, (q_row + start_m, q_col), (BM, D))  # each loop stages its own Q
        for start_n in range(start_m, start_m + BM if EVEN_SEQ
                             else tile.minimum(start_m + BM, seq_len), BN):
            m_i, l_i, acc = attend(q, K, V, kv_row, kv_col, start_m, start_n, seq_len, qk_scale,
                                   m_i, l_i, acc, BM, BN, D, DIAGONAL)
    elif not EVEN_SEQ:  # the last, partial key block (none when seq_len % BN == 0)
        q = tile.load(Q, (q_row + start_m, q_col), (BM, D))
        for start_n in range(full, seq_len, BN):
            m_i, l_i, acc = attend(q, K, V, kv_row, kv_col, start_m, start_n, seq_len, qk_scale,
                                   m_i, l_i, acc, BM, BN, D, KEY_TAIL)
    out = (acc * (1.0 / l_i)[:, None]).to(O.dtype)  # one division a row, not one an element
    if EVEN_SEQ:
        tile.store(O, (q_row + start_m, q_col), out)
    elif start_m + BM <= seq_len:
        tile.store(O, (q_row + start_m, q_col), out)
    else:  # rows past seq_len are the next head's (batch's): a masked store (a scatter)
        rows = start_m + tile.arange(BM)
        tile.store(O, (q_row + start_m, q_col), out, mask=(rows < seq_len)[:, None])
    if STORE_LSE:
        tile.store(L, l_row + start_m, (m_i + tile.log2(l_i)) * LN_2, bound=l_row + seq_len)


@tile.jit
def head_start(X, head, seq_len, D: tile.constexpr, TOKEN_MAJOR: tile.constexpr):
    """(row, column) of X where head `head` (of all batches' heads) starts: rows
    head · seq_len, or TOKEN_MAJOR, batch head // H's rows at head % H's columns (H
    the heads of a batch: X's columns // D)."""
    if TOKEN_MAJOR:
        heads = X.shape[1] // D
        row = head // heads * seq_len
        col = head % heads * D
    else:
        row = head * seq_len
        col = 0
    return row, col


@tile.jit
def block_of_head(Q, K, V, O, L, head, group, start_m, seq_len, sm_scale,
                  BM: tile.constexpr, BN: tile.constexpr, D: tile.constexpr,
                  CAUSAL: tile.constexpr, EVEN_SEQ: tile.constexpr,
                  STORE_LSE: tile.constexpr, TOKEN_MAJOR: tile.constexpr):
    """attention_block of query head `head` (kv head head // group)."""
    q_row, q_col = head_start(Q, head, seq_len, D, TOKEN_MAJOR)
    kv_row, kv_col = head_start(K, head // group, seq_len, D, TOKEN_MAJOR)
    attention_block(Q, K, V, O, L, q_row, q_col, kv_row, kv_col, head * seq_len, start_m,
                    seq_len, sm_scale * LOG2_E, BM, BN, D, CAUSAL, EVEN_SEQ, STORE_LSE)


@tile.jit
def attention_fwd(Q, K, V, O, L, seq_len, group, sm_scale,
                  BM: tile.constexpr, BN: tile.constexpr, D: tile.constexpr,
                  CAUSAL: tile.constexpr, EVEN_SEQ: tile.constexpr = False,
                  STORE_LSE: tile.constexpr = False, TOKEN_MAJOR: tile.constexpr = False):
    """One program per (query block, head): grid (cdiv(seq_len, BM), heads). Causal:
    the longest programs (the last query blocks, which see the most keys) run
    first; short ones fill the tail."""
    block = tile.num_programs(0) - 1 - tile.program_id(0) if CAUSAL else tile.program_id(0)
    block_of_head(Q, K, V, O, L, tile.program_id(1), group, block * BM, seq_len, sm_scale,
                  BM, BN, D, CAUSAL, EVEN_SEQ, STORE_LSE, TOKEN_MAJOR)


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
def attention_fwd_persistent(Q, K, V, O, L, seq_len, heads, group, sm_scale,
                             BM: tile.constexpr, BN: tile.constexpr, D: tile.constexpr,
                             CAUSAL: tile.constexpr, EVEN_SEQ: tile.constexpr = False,
                             STORE_LSE: tile.constexpr = False,
                             TOKEN_MAJOR: tile.constexpr = False):
    """Persistent: one program per SM walks the (head, query block) tiles t,
    t + programs, ... (causal: in pairs of even work, causal_tile); with
    warp_specialize=True the producer loads the next tile's Q, K and V while the
    consumers finish this one."""
    blocks = tile.cdiv(seq_len, BM)
    programs = tile.num_programs(0)
    for t in range(tile.program_id(0), blocks * heads, programs):
        head, block = t // blocks, t % blocks
        if CAUSAL:
            head, block = causal_tile(t, blocks, heads, programs)
        block_of_head(Q, K, V, O, L, head, group, block * BM, seq_len, sm_scale, BM, BN, D,
                      CAUSAL, EVEN_SEQ, STORE_LSE, TOKEN_MAJOR)


@tile.jit
def attention_forward(Q, K, V, O, L, seq_len, heads, group, sm_scale,
                      BM: tile.constexpr, BN: tile.constexpr, D: tile.constexpr,
                      CAUSAL: tile.constexpr, PERSISTENT: tile.constexpr,
                      EVEN_SEQ: tile.constexpr = False, STORE_LSE: tile.constexpr = False,
                      TOKEN_MAJOR: tile.constexpr = False):
    """attention_fwd (grid (cdiv(seq_len, BM), heads)) or, PERSISTENT,
    attention_fwd_persistent (grid (programs,)): one kernel, so that one
    autotuner chooses among both kernels' configurations."""
    if PERSISTENT:
        attention_fwd_persistent(Q, K, V, O, L, seq_len, heads, group, sm_scale, BM, BN, D,
                                 CAUSAL, EVEN_SEQ, STORE_LSE, TOKEN_MAJOR)
    else:
        attention_fwd(Q, K, V, O, L, seq_len, group, sm_scale, BM, BN, D, CAUSAL, EVEN_SEQ,
                      STORE_LSE, TOKEN_MAJOR)


@tile.jit
def attention_fwd_varlen(Q, K, V, O, L, cu_seqlens, total, group, sm_scale,
                         BM: tile.constexpr, BN: tile.constexpr, D: tile.constexpr,
                         CAUSAL: tile.constexpr, STORE_LSE: tile.constexpr = False):
    """Sequences packed one after another (`flash_attn_varlen_func`'s layout): sequence
    b is tokens cu_seqlens[b] .. cu_seqlens[b + 1] - 1 of `total`, Q and O (heads ·
    total, Dh), K and V (kv_heads · total, Dh), head h's rows from h · total. Grid
    (cdiv(longest sequence, BM), heads, batch): a program past its sequence's end
    does nothing. Keys past the end are the next sequence's: masked (KEY_TAIL, or
    the causal diagonal), as attention_fwd masks the next head's."""
    b = tile.program_id(2)
    start = tile.squeeze(tile.load(cu_seqlens, b, 1))
    seq_len = tile.squeeze(tile.load(cu_seqlens, b + 1, 1)) - start
    blocks = tile.cdiv(seq_len, BM)
    # The caller's promises (cu_seqlens rises within the tokens; max_seqlen sizes
    # the grid), checked under TILE_DEBUG=1.
    tile.device_assert((start >= 0) & (seq_len >= 0) & (start + seq_len <= total),
                       "cu_seqlens must rise from >= 0 to at most q's tokens")
    tile.device_assert(blocks <= tile.num_programs(0),
                       "max_seqlen is less than a sequence's length")
    block = blocks - 1 - tile.program_id(0) if CAUSAL else tile.program_id(0)
    head = tile.program_id(1)
    if tile.program_id(0) < blocks:
        row = head * total + start
        attention_block(Q, K, V, O, L, row, 0, head // group * total + start, 0, row,
                        block * BM, seq_len, sm_scale * LOG2_E, BM, BN, D, CAUSAL, False,
                        STORE_LSE)

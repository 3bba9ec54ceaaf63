"""Attention backward, as FlashAttention-2 computes it: given Q, K, V, the forward's
output O and row log-sum-exp L (of scale·QKᵀ, natural log) and dO,

    P = exp(scale·QKᵀ - L)      (recomputed block by block, never stored)
    Delta = rowsum(dO ∘ O)      (= rowsum(P ∘ dP): `row_dot`, a pass of its own)
    dV = Pᵀ dO,  dP = dO Vᵀ,  dS = P ∘ (dP - Delta),  dK = scale·dSᵀ Q,  dQ = scale·dS K

in three kernels: `row_dot` (Delta), `attention_bwd_dkdv` (one program a key block
and kv head, walking the query blocks of each query head that reads it: it holds dK
and dV) and `attention_bwd_dq` (one
program a query block and head, walking the key blocks: it holds dQ). dQ has its
own pass instead of atomics from the dK/dV programs: the result is the same on every
run, at the price of computing QKᵀ and dO Vᵀ twice.

Arrays are (B·H·N, d) (a (B, H, N, d) tensor flattened; head h's rows start at
h·N), L and Delta (B·H·N,) float32; or, TOKEN_MAJOR (as attention_kernels.py's
forward takes them: a (B, N, H, d) tensor or a fused QKV projection's slice, read in
place), (B·N, H·d) arrays of any row stride, d the tile width, head h of batch b at
rows b·N and columns h·d (L and Delta stay (B·H·N,)). The kernels' D is their tile width, d rounded
up to a power of two of at least 64 (tile_width): the columns past d read as zero
and are not written. N is any length: the rows past N of a head's
last block belong to the next head, so the last (ragged) block masks them, and the
stores leave them alone. Causal: key j counts for query i when j <= i; blocks
wholly above the diagonal are skipped, those on it masked. Blocks without a mask
run a loop of their own, with no select in it (as examples/attention.py does).
"""
from __future__ import annotations

import tile

from .attention_kernels import head_start

LOG2_E = 1.4426950408889634  # exp(x) = exp2(x · log2 e); exp2 is the fast one

ROW_DOT_ROWS = 64
MAX_HEAD_DIM = 128  # dK and dV of 128 keys take 128 registers a thread at d128


def tile_width(D: int) -> int:
    """The kernels' tile width for head dim D: a power of two, at least 64. WGMMA
    reads its operands from 128B-swizzled shared tiles, rows of 64 or more 16-bit
    elements (WgmmaToGPU.cpp rejects narrower ones); the columns past D load as
    zero (adding nothing to QKᵀ, dO·Vᵀ or Delta) and are not stored."""
    return max(64, 1 << (D - 1).bit_length())


def default_blocks(D: int, tma: bool = True) -> tuple[dict, dict]:
    """Block sizes, warps and stages of the dK/dV and the dQ kernel for head dim D.
    dK/dV: BN = 128 keys a program (two warpgroups of 64 rows hold dK and dV), BM
    queries a step: 32 at d128, where dK and dV take 128 registers a thread (BM =
    64 spilled in the causal kernel). dQ: BM = 128 queries a program, BN = 64 keys
    a step. Stages: 3, which fit in 227 KiB of shared memory at d128 now that
    each of Q, dO and K is staged once for both its mmas; none where TMA cannot
    copy the rows (`tma=False`: a row stride that is no multiple of 16 bytes),
    whose tiles go through one shared buffer."""
    if D <= 64:
        blocks = dict(BM=64, BN=128, num_warps=8, num_stages=3), \
            dict(BM=128, BN=64, num_warps=8, num_stages=3)
    else:
        blocks = dict(BM=32, BN=128, num_warps=8, num_stages=3), \
            dict(BM=128, BN=64, num_warps=8, num_stages=3)
    if not tma:
        for b in blocks:
            del b["num_stages"]
    return blocks


@tile.jit
def row_dot(O, dO, Delta, seq_len, BM: tile.constexpr, D: tile.constexpr,
            TOKEN_MAJOR: tile.constexpr = False):
    """Delta[r] = Σ_d O[r, d]·dO[r, d] in float32, BM rows of one head a program
    (grid (cdiv(N, BM), B·H)): O and dO laid out as head_start says, Delta (B·H·N,)."""
    start = tile.program_id(0) * BM
    row, col = head_start(O, tile.program_id(1), seq_len, D, TOKEN_MAJOR)
    o = tile.load(O, (row + start, col), (BM, D)).to(tile.float32)
    do = tile.load(dO, (row + start, col), (BM, D)).to(tile.float32)
    first = tile.program_id(1) * seq_len
    tile.store(Delta, first + start, tile.sum(o * do, 1), bound=first + seq_len)


@tile.jit
def dkdv_step(k, v, Q, dO, LSE, Delta, q_row, q_col, l_row, start_m, start_n,
              seq_len, qk_scale, dk, dv,
              BM: tile.constexpr, BN: tile.constexpr, D: tile.constexpr,
              MASKED: tile.constexpr, CAUSAL: tile.constexpr):
    """Queries start_m .. start_m + BM against the program's keys, transposed
    (keys are rows): Sᵀ = K Qᵀ, Pᵀ, dV += Pᵀ dO, dPᵀ = V dOᵀ, dSᵀ, dK += dSᵀ Q.
    Q and dO are each read by two mmas, as Qᵀ and as Q: one copy in shared
    memory serves both."""
    q = tile.load(Q, (q_row + start_m, q_col), (BM, D))
    do = tile.load(dO, (q_row + start_m, q_col), (BM, D))
    lse = tile.load(LSE, l_row + start_m, BM, bound=l_row + seq_len) * LOG2_E
    delta = tile.load(Delta, l_row + start_m, BM, bound=l_row + seq_len)
    st = tile.mma(k, q, tile.zeros((BN, BM), tile.float32), transpose_b=True)
    pt = tile.exp2(st * qk_scale - lse[None, :])
    if MASKED:  # queries past N are the next head's; causal: key j <= query i
        queries = start_m + tile.arange(BM)
        keep = queries[None, :] < seq_len
        if CAUSAL:
            keys = start_n + tile.arange(BN)
            keep = keep & (keys[:, None] <= queries[None, :])
        pt = tile.where(keep, pt, 0.0)
    dv = tile.mma(pt.to(do.dtype), do, dv)
    dpt = tile.mma(v, do, tile.zeros((BN, BM), tile.float32), transpose_b=True)
    dst = pt * (dpt - delta[None, :])
    dk = tile.mma(dst.to(q.dtype), q, dk)
    return dk, dv


@tile.jit
def attention_bwd_dkdv(Q, K, V, dO, LSE, Delta, dK, dV, seq_len, group, sm_scale,
                       BM: tile.constexpr, BN: tile.constexpr, D: tile.constexpr,
                       CAUSAL: tile.constexpr, TOKEN_MAJOR: tile.constexpr = False):
    """One program a (key block, kv head): dK and dV of keys start_n .. start_n + BN,
    summed over the `group` query heads that read this kv head."""
    start_n = tile.program_id(0) * BN
    kv_row, kv_col = head_start(K, tile.program_id(1), seq_len, D, TOKEN_MAJOR)
    qk_scale = sm_scale * LOG2_E
    dk = tile.zeros((BN, D), tile.float32)
    dv = tile.zeros((BN, D), tile.float32)
    for g in range(group):
        head = tile.program_id(1) * group + g
        q_row, q_col = head_start(Q, head, seq_len, D, TOKEN_MAJOR)
        dk, dv = dkdv_of_head(Q, K, V, dO, LSE, Delta, q_row, q_col, head * seq_len, kv_row,
                              kv_col, start_n, seq_len, qk_scale, dk, dv, BM, BN, D, CAUSAL)
    store_rows(dK, kv_row, kv_col, start_n, seq_len, (dk * sm_scale).to(dK.dtype), BN)
    store_rows(dV, kv_row, kv_col, start_n, seq_len, dv.to(dV.dtype), BN)


@tile.jit
def dkdv_of_head(Q, K, V, dO, LSE, Delta, q_row, q_col, l_row, kv_row, kv_col, start_n,
                 seq_len, qk_scale, dk, dv, BM: tile.constexpr, BN: tile.constexpr,
                 D: tile.constexpr, CAUSAL: tile.constexpr):
    """dK and dV of the program's keys from the queries of one head (rows from
    q_row at column q_col, from l_row in LSE and Delta; the keys' from kv_row at
    kv_col), added to dk and dv."""
    full = seq_len - seq_len % BM  # query blocks below `full` are whole
    # Each loop stages its own K and V (loaded before it, copied to shared once).
    if CAUSAL:  # queries before start_n see none of these keys
        tile.static_assert(BN % BM == 0, "causal attention backward needs BM to divide BN")
        k = tile.load(K, (kv_row + start_n, kv_col), (BN, D))
        v = tile.load(V, (kv_row + start_n, kv_col), (BN, D))
        for start_m in range(start_n, tile.minimum(start_n + BN, seq_len), BM):  # the diagonal
            dk, dv = dkdv_step(k, v, Q, dO, LSE, Delta, q_row, q_col, l_row, start_m, start_n,
                               seq_len, qk_scale, dk, dv, BM, BN, D, True, True)
        k = tile.load(K, (kv_row + start_n, kv_col), (BN, D))
        v = tile.load(V, (kv_row + start_n, kv_col), (BN, D))
        for start_m in range(start_n + BN, full, BM):  # below it: whole and unmasked
            dk, dv = dkdv_step(k, v, Q, dO, LSE, Delta, q_row, q_col, l_row, start_m, start_n,
                               seq_len, qk_scale, dk, dv, BM, BN, D, False, False)
        first_ragged = tile.maximum(full, start_n + BN)
    else:
        k = tile.load(K, (kv_row + start_n, kv_col), (BN, D))
        v = tile.load(V, (kv_row + start_n, kv_col), (BN, D))
        for start_m in range(0, full, BM):
            dk, dv = dkdv_step(k, v, Q, dO, LSE, Delta, q_row, q_col, l_row, start_m, start_n,
                               seq_len, qk_scale, dk, dv, BM, BN, D, False, False)
        first_ragged = full
    k = tile.load(K, (kv_row + start_n, kv_col), (BN, D))
    v = tile.load(V, (kv_row + start_n, kv_col), (BN, D))
    for start_m in range(first_ragged, seq_len, BM):  # the last, ragged query block
        dk, dv = dkdv_step(k, v, Q, dO, LSE, Delta, q_row, q_col, l_row, start_m, start_n,
                           seq_len, qk_scale, dk, dv, BM, BN, D, True, False)
    return dk, dv


@tile.jit
def dq_step(q, do, lse, delta, K, V, kv_row, kv_col, start_m, start_n, seq_len, qk_scale, dq,
            BM: tile.constexpr, BN: tile.constexpr, D: tile.constexpr,
            MASKED: tile.constexpr, CAUSAL: tile.constexpr):
    """Keys start_n .. start_n + BN against the program's queries: S = Q Kᵀ, P,
    dP = dO Vᵀ, dS, dQ += dS K (K read as Kᵀ and as K from one copy)."""
    k = tile.load(K, (kv_row + start_n, kv_col), (BN, D))
    v_t = tile.load(V, (kv_row + start_n, kv_col), (BN, D))
    s = tile.mma(q, k, tile.zeros((BM, BN), tile.float32), transpose_b=True)
    p = tile.exp2(s * qk_scale - lse[:, None])
    if MASKED:  # keys past N are the next head's; causal: key j <= query i
        keys = start_n + tile.arange(BN)
        keep = keys[None, :] < seq_len
        if CAUSAL:
            queries = start_m + tile.arange(BM)
            keep = keep & (keys[None, :] <= queries[:, None])
        p = tile.where(keep, p, 0.0)
    dp = tile.mma(do, v_t, tile.zeros((BM, BN), tile.float32), transpose_b=True)
    ds = p * (dp - delta[:, None])
    return tile.mma(ds.to(k.dtype), k, dq)


@tile.jit
def attention_bwd_dq(Q, K, V, dO, LSE, Delta, dQ, seq_len, group, sm_scale,
                     BM: tile.constexpr, BN: tile.constexpr, D: tile.constexpr,
                     CAUSAL: tile.constexpr, TOKEN_MAJOR: tile.constexpr = False):
    """One program a (query block, head): dQ of queries start_m .. start_m + BM,
    whose keys are those of kv head head // group. Causal: the last query blocks
    (which see the most keys) run first."""
    block = tile.num_programs(0) - 1 - tile.program_id(0) if CAUSAL else tile.program_id(0)
    start_m = block * BM
    q_row, q_col = head_start(Q, tile.program_id(1), seq_len, D, TOKEN_MAJOR)
    kv_row, kv_col = head_start(K, tile.program_id(1) // group, seq_len, D, TOKEN_MAJOR)
    l_row = tile.program_id(1) * seq_len
    qk_scale = sm_scale * LOG2_E
    lse = tile.load(LSE, l_row + start_m, BM, bound=l_row + seq_len) * LOG2_E
    delta = tile.load(Delta, l_row + start_m, BM, bound=l_row + seq_len)
    dq = tile.zeros((BM, D), tile.float32)
    full = seq_len - seq_len % BN  # key blocks below `full` are whole
    q = tile.load(Q, (q_row + start_m, q_col), (BM, D))
    do = tile.load(dO, (q_row + start_m, q_col), (BM, D))
    if CAUSAL:  # keys past the diagonal count for no query here
        tile.static_assert(BM % BN == 0, "causal attention backward needs BN to divide BM")
        for start_n in range(0, start_m, BN):  # left of the diagonal: unmasked
            dq = dq_step(q, do, lse, delta, K, V, kv_row, kv_col, start_m, start_n, seq_len,
                         qk_scale, dq, BM, BN, D, False, False)
        q = tile.load(Q, (q_row + start_m, q_col), (BM, D))
        do = tile.load(dO, (q_row + start_m, q_col), (BM, D))
        for start_n in range(start_m, tile.minimum(start_m + BM, seq_len), BN):  # on it
            dq = dq_step(q, do, lse, delta, K, V, kv_row, kv_col, start_m, start_n, seq_len,
                         qk_scale, dq, BM, BN, D, True, True)
    else:
        for start_n in range(0, full, BN):
            dq = dq_step(q, do, lse, delta, K, V, kv_row, kv_col, start_m, start_n, seq_len,
                         qk_scale, dq, BM, BN, D, False, False)
        q = tile.load(Q, (q_row + start_m, q_col), (BM, D))
        do = tile.load(dO, (q_row + start_m, q_col), (BM, D))
        for start_n in range(full, seq_len, BN):  # the last, ragged key block
            dq = dq_step(q, do, lse, delta, K, V, kv_row, kv_col, start_m, start_n, seq_len,
                         qk_scale, dq, BM, BN, D, True, False)
    store_rows(dQ, q_row, q_col, start_m, seq_len, (dq * sm_scale).to(dQ.dtype), BM)


@tile.jit
def store_rows(X, row, col, start, seq_len, x, ROWS: tile.constexpr):
    """x to rows start .. start + ROWS of the head whose rows start at `row` (at
    column `col`), those before seq_len only: the rows past it are the next head's."""
    if start + ROWS <= seq_len:
        tile.store(X, (row + start, col), x)
    else:
        rows = start + tile.arange(ROWS)
        tile.store(X, (row + start, col), x, mask=(rows < seq_len)[:, None])


def attention_backward(q, k, v, o, lse, do, causal, scale, *, grad_lse=None, out=None,
                       dkdv_blocks=None, dq_blocks=None, interpret=None, launch=None):
    """(dq, dk, dv) of attention O = softmax(scale·QKᵀ [causal]) V.

    q, o, do: (B, H, N, D) tensors of one dtype, bfloat16 or float16 (torch
    tensors, or numpy arrays, which run on the interpreter); k, v: (B, H_kv, N, D),
    H_kv dividing H (query head h reads kv head h // (H / H_kv), as
    tile.ops.attention); lse: (B, H, N) float32, the forward's row log-sum-exp of
    scale·QKᵀ (natural log). D: a multiple of 8 up to 128 (tiles of tile_width(D)
    columns); N any length. grad_lse: the gradient of lse too, if it has one
    ((B, H, N) float32: ∂lse/∂S = P, so dS = P ∘ (dP - (Delta - grad_lse))).
    out: (dq, dk, dv) to write, contiguous arrays of q's
    dtype and q's, k's and v's shapes (new ones by default).
    dkdv_blocks / dq_blocks override default_blocks(width)'s (BM, BN, num_warps,
    num_stages). interpret: run the kernels on the CPU interpreter (default: for
    numpy arrays and CPU tensors). launch(kernel, grid): launches a kernel instead
    (tile.ops.attention's custom op passes tile.library.launch's)."""
    # sdpa's autograd imports this module
    from .sdpa import (_strides, _token_major_rows, check_causal_and_scale, empty_token_major,
                       token_major)
    check_causal_and_scale("attention_backward", causal, scale)
    B, H, H_kv, N, D = _check(q, k, v, o, lse, do)
    if interpret is None:
        interpret = not getattr(q, "is_cuda", False)
    width = tile_width(D)
    # Token-major inputs (the forward's, when it read them so) are read in place and
    # the gradients written alike, as new arrays (out's must be contiguous).
    token_rows = token_major(width, q, k, v, o, do) if out is None and B * H * N else None
    flat_lse = _rows(lse, None)
    rows = B * H * N
    delta = _empty_like(flat_lse, (rows,))
    shapes = ((B, H, N, D), (B, H_kv, N, D), (B, H_kv, N, D))
    if token_rows is not None:
        flat_q, flat_k, flat_v, flat_o, flat_do = token_rows
        dq, dk, dv = (empty_token_major(q, *shape) for shape in shapes)
        flat_dq, flat_dk, flat_dv = (_token_major_rows(t) for t in (dq, dk, dv))
    else:
        flat_q, flat_k, flat_v, flat_o, flat_do = (_rows(t, D) for t in (q, k, v, o, do))
        dq, dk, dv = out if out is not None else (_empty_like(q, shape) for shape in shapes)
        for name, t, shape in zip(("dq", "dk", "dv"), (dq, dk, dv), shapes):
            if tuple(t.shape) != shape or t.dtype != q.dtype or not _contiguous(t):
                raise ValueError(f"attention_backward: out's {name} must be a contiguous "
                                 f"{shape} array of {q.dtype}, got {t.dtype} {tuple(t.shape)}")
        flat_dq, flat_dk, flat_dv = (t.reshape(-1, D) for t in (dq, dk, dv))
    group = H // H_kv
    token = dict(TOKEN_MAJOR=token_rows is not None)
    # TMA copies rows whose stride is a multiple of 16 bytes.
    tma = all(_strides(t)[0] * q.itemsize % 16 == 0
              for t in (flat_q, flat_k, flat_v, flat_do) if t.shape[0] > 1)
    dkdv_default, dq_default = default_blocks(width, tma=tma)
    dkdv_blocks = {**dkdv_default, **(dkdv_blocks or {})}
    dq_blocks = {**dq_default, **(dq_blocks or {})}

    if launch is None:
        def launch(kernel, grid):
            return kernel[grid].interpret if interpret else kernel[grid]
    launch(row_dot, (tile.cdiv(N, ROW_DOT_ROWS), B * H))(
        flat_o, flat_do, delta, N, BM=ROW_DOT_ROWS, D=width, **token)
    if grad_lse is not None:
        if tuple(grad_lse.shape) != (B, H, N):
            raise ValueError(f"attention_backward: grad_lse must be (B, H, N) = {(B, H, N)}, "
                             f"got {tuple(grad_lse.shape)}")
        delta -= grad_lse.reshape(-1)
    launch(attention_bwd_dkdv, (tile.cdiv(N, dkdv_blocks["BN"]), B * H_kv))(
        flat_q, flat_k, flat_v, flat_do, flat_lse, delta, flat_dk, flat_dv, N, group,
        float(scale),
        D=width, CAUSAL=bool(causal), **dkdv_blocks, **token)
    launch(attention_bwd_dq, (tile.cdiv(N, dq_blocks["BM"]), B * H))(
        flat_q, flat_k, flat_v, flat_do, flat_lse, delta, flat_dq, N, group, float(scale),
        D=width, CAUSAL=bool(causal), **dq_blocks, **token)
    return dq, dk, dv


def _check(q, k, v, o, lse, do) -> tuple[int, int, int, int, int]:
    """(B, H, H_kv, N, D), or ValueError naming what does not fit."""
    shape = tuple(q.shape)
    if len(shape) != 4:
        raise ValueError(f"attention_backward: q must be (B, H, N, D), got shape {shape}")
    B, H, N, D = shape
    H_kv = k.shape[1] if len(k.shape) == 4 else 0
    if not (H_kv and H % H_kv == 0):
        raise ValueError(f"attention_backward: k must be (B, H_kv, N, D), H_kv dividing "
                         f"H = {H}; got shape {tuple(k.shape)}")
    for name, t, want in (("k", k, (B, H_kv, N, D)), ("v", v, (B, H_kv, N, D)),
                          ("o", o, shape), ("do", do, shape)):
        if tuple(t.shape) != want:
            raise ValueError(f"attention_backward: {name} has shape {tuple(t.shape)}, "
                             f"{want} expected")
        if t.dtype != q.dtype:
            raise ValueError(f"attention_backward: {name} is {t.dtype}, q {q.dtype}")
    if str(q.dtype).removeprefix("torch.") not in ("bfloat16", "float16"):
        raise ValueError(f"attention_backward: q is {q.dtype}; bfloat16 or float16 expected")
    if tuple(lse.shape) != shape[:3] or str(lse.dtype).removeprefix("torch.") != "float32":
        raise ValueError(f"attention_backward: lse must be float32 {shape[:3]}, got "
                         f"{lse.dtype} {tuple(lse.shape)}")
    if shape[3] % 8 or not 0 < shape[3] <= MAX_HEAD_DIM:
        raise ValueError(f"attention_backward: head dim {shape[3]}; a multiple of 8 up to "
                         f"{MAX_HEAD_DIM} expected (rows of 16-byte multiples, as TMA copies)")
    return B, H, H_kv, N, D


def _rows(t, D):
    """t as contiguous rows: (B·H·N, D), or (B·H·N,) with D None."""
    t = t.contiguous() if hasattr(t, "contiguous") else _numpy().ascontiguousarray(t)
    return t.reshape(-1) if D is None else t.reshape(-1, D)


def _contiguous(t) -> bool:
    return t.is_contiguous() if hasattr(t, "is_contiguous") else t.flags.c_contiguous


def _empty_like(t, shape):
    if hasattr(t, "new_empty"):  # torch
        return t.new_empty(shape)
    return _numpy().empty(shape, t.dtype)


def _numpy():
    import numpy
    return numpy

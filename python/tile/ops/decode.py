"""tile.ops.attention_decode: attention of a few new query tokens against a KV
cache, contiguous or paged, as flash_attn_with_kvcache computes it (without
appending to the cache). Kernels: decode_kernels.py."""
import math

from .decode_kernels import decode_combine, decode_split, decode_split_transposed
from .sdpa import (INT32_MAX, _dtype_name, _empty, _float32, _is_torch, _multiprocessors,
                   _strides, check_causal_and_scale, check_head_array, check_heads, check_no_grad,
                   check_placement, host_values)

BLOCK_ROWS = 64      # query rows a program: one warpgroup's mma rows (a GQA group, tokens)
# Keys an iteration, by the padded head dim: the K and V tiles sit in registers
# beside the accumulator (ptxas: no spills at 64 and 128; d256 spills some).
BLOCK_KEYS = {64: 64, 128: 32, 256: 16}
# The split kernel: "transposed" (decode_split_transposed: keys on the mma's rows,
# 64 a block, the query rows on its 16 to 64 columns; 168 registers at d128) or
# "rows" (decode_split: query rows on the mma's 64 rows, 254 registers). Transposed
# ran 1.2-1.7 x faster on every decode row on the H100 (docs/benchmarks.md, e6efd39).
SPLIT_KERNEL = "transposed"
TRANSPOSED_KEYS = 64  # Pᵀ is the second mma's b with K = the keys: 128-byte rows


def split_blocks(kernel: str, rows: int, width: int) -> tuple:
    """(kernel, BM query rows a program, BN keys an iteration) for `rows` query
    rows a kv head (q_len · group) at a padded head dim `width`."""
    if kernel == "transposed":
        return decode_split_transposed, min(64, max(16, 1 << (rows - 1).bit_length())), \
            TRANSPOSED_KEYS
    return decode_split, BLOCK_ROWS, BLOCK_KEYS[width]
COMBINE_ROWS = 16    # query rows a combine program
MAX_HEAD_DIM = 256


def _name(x) -> str:
    return type(x).__name__


def _check(q, k_cache, v_cache, cache_seqlens, block_table, causal, scale) -> tuple:
    """(B, q_len, H, H_kv, Dh, page, max_pages) of valid inputs; a TypeError or
    ValueError naming the argument otherwise."""
    where = "tile.ops.attention_decode"
    arrays = {"q": q, "k_cache": k_cache, "v_cache": v_cache, "cache_seqlens": cache_seqlens}
    if block_table is not None:
        arrays["block_table"] = block_table
    for name, x in arrays.items():
        if not hasattr(x, "shape") or not hasattr(x, "dtype"):
            raise TypeError(f"{where}: {name} must be a torch tensor, got {_name(x)}")
        if _is_torch(x) != _is_torch(q):
            raise TypeError(f"{where}: {name} is a {_name(x)} and q a {_name(q)}: pass one "
                            "kind of array")
    for name in ("q", "k_cache", "v_cache"):
        layout = "(B, q_len, H, D)" if name == "q" else \
            "(B, N, H_kv, D), or (pages, page_size, H_kv, D) with block_table"
        check_head_array(where, name, arrays[name], q, layout)
    B, q_len, H, Dh = q.shape
    if tuple(k_cache.shape) != tuple(v_cache.shape):
        raise ValueError(f"{where}: k_cache {tuple(k_cache.shape)} and v_cache "
                         f"{tuple(v_cache.shape)} must have one shape")
    pages, page, H_kv, Dk = k_cache.shape
    if Dk != Dh:
        raise ValueError(f"{where}: k_cache's head dim is {Dk}, q's {Dh}")
    check_heads(where, H, H_kv, "k_cache")
    if Dh % 8 or not 8 <= Dh <= MAX_HEAD_DIM:
        raise ValueError(f"{where}: q's head dim is {Dh}; supported: multiples of 8 from 8 "
                         f"to {MAX_HEAD_DIM}")
    if _dtype_name(cache_seqlens) != "int32" or tuple(cache_seqlens.shape) != (B,):
        raise ValueError(f"{where}: cache_seqlens must be an int32 ({B},) array (each "
                         f"sequence's length in the cache), got {_dtype_name(cache_seqlens)} "
                         f"{tuple(cache_seqlens.shape)}")
    if block_table is None:
        if pages != B:
            raise ValueError(f"{where}: k_cache holds {pages} sequences, q {B}; a paged "
                             "cache needs block_table")
        max_pages = 1
    else:
        if _dtype_name(block_table) != "int32" or len(block_table.shape) != 2 or \
                block_table.shape[0] != B:
            raise ValueError(f"{where}: block_table must be an int32 (B, max_pages) = ({B}, "
                             f"...) array, got {_dtype_name(block_table)} "
                             f"{tuple(block_table.shape)}")
        max_pages = block_table.shape[1]
    check_causal_and_scale(where, causal, scale)
    if max(math.prod(x.shape) for x in (q, k_cache)) > INT32_MAX or \
            pages * page * H_kv * Dh > INT32_MAX:
        raise ValueError(f"{where}: the cache has more than {INT32_MAX} elements; the kernels "
                         "index with int32")
    check_placement(where, arrays)
    check_no_grad(where, {n: x for n, x in arrays.items() if n in ("q", "k_cache", "v_cache")})
    lengths = host_values(cache_seqlens)  # on the GPU: read there, checked under TILE_DEBUG=1
    held = max_pages * page
    if lengths is not None and ((lengths < 0) | (lengths > held)).any():
        raise ValueError(f"{where}: cache_seqlens must be 0 to {held} (the keys "
                         f"{'block_table' if block_table is not None else 'k_cache'} holds "
                         f"for a sequence), got {lengths.tolist()}")
    table = host_values(block_table) if block_table is not None else None
    if table is not None and lengths is not None:
        used = [table[b, :-(-int(n) // page)] for b, n in enumerate(lengths)]
        if any(((u < 0) | (u >= pages)).any() for u in used):
            raise ValueError(f"{where}: block_table names pages outside k_cache's {pages} "
                             "in a sequence's first cache_seqlens keys")
    return B, q_len, H, H_kv, Dh, page, max_pages


def _splits(programs: int, capacity: int, keys: int, q) -> int:
    """Enough splits of the keys that about two programs run per multiprocessor,
    none shorter than a key block: decode's grid is otherwise B · H_kv programs."""
    multiprocessors = _multiprocessors(q) if _is_torch(q) and q.device.type == "cuda" else 132
    wanted = -(-2 * multiprocessors // max(1, programs))
    return max(1, min(wanted, -(-capacity // keys)))


def attention_decode(q, k_cache, v_cache, cache_seqlens, block_table=None, causal: bool = True,
                     scale: float | None = None, num_splits: int | None = None):
    """softmax(q kᵀ · scale) v for new query tokens against a KV cache, as
    flash_attn_with_kvcache (FlashAttention's decode entry) computes it.

    q: (B, q_len, H, D), the new tokens' queries (q_len = 1 for plain decode).
    k_cache, v_cache: (B, N, H_kv, D) contiguous caches, or with block_table
    (pages, page_size, H_kv, D) paged ones, vLLM's layout; block_table: int32
    (B, max_pages), page block_table[b, i] holds sequence b's keys
    i · page_size .. (i + 1) · page_size - 1. cache_seqlens: int32 (B,), each
    sequence's number of keys in the cache, the new tokens included. H_kv divides
    H (grouped-query attention); bfloat16 or float16; D a multiple of 8 up to 256;
    any strides with the last one 1. causal: query token t sees the keys up to its
    own position, seq_len - q_len + t; else every key. A sequence of no key gives
    zeros. scale: 1/sqrt(D) by default. num_splits: how many programs share a
    sequence's keys (flash-decoding); by default enough to fill the GPU.

    Returns (B, q_len, H, D) in q's dtype."""
    B, q_len, H, H_kv, Dh, page, max_pages = _check(q, k_cache, v_cache, cache_seqlens,
                                                    block_table, causal, scale)
    out = _empty(q, (B, q_len, H, Dh))
    if B * q_len * H == 0:
        return out
    if block_table is None:  # a contiguous cache: one page a sequence
        page, block_table = k_cache.shape[1], _arange_column(q, B)
    group = H // H_kv
    width = max(64, 1 << (Dh - 1).bit_length())  # the mma reads 128-byte shared rows
    kernel, block_rows, keys = split_blocks(SPLIT_KERNEL, q_len * group, width)
    row_blocks = -(-q_len * group // block_rows)
    if num_splits is None:
        num_splits = _splits(B * H_kv * row_blocks, max_pages * page, keys, q)
    if isinstance(num_splits, bool) or not isinstance(num_splits, int) or num_splits < 1:
        raise ValueError(f"tile.ops.attention_decode: num_splits must be a positive int, got "
                         f"{num_splits!r}")
    split_len = -(-max(1, max_pages * page) // num_splits)
    split_len = -(-split_len // keys) * keys
    rows = B * q_len * H
    partial = _empty(q, (rows * num_splits, width), _float32(q))
    lse = _empty(q, (rows * num_splits,), _float32(q))
    sq, sk, sv = _strides(q), _strides(k_cache), _strides(v_cache)
    sm_scale = float(scale) if scale is not None else 1 / math.sqrt(Dh)
    kernel[(B * H_kv, num_splits, row_blocks)](
        q, k_cache, v_cache, block_table, cache_seqlens, partial, lse, sm_scale, q_len, H_kv,
        Dh, page, max_pages, split_len, sq[0], sq[1], sq[2], sk[0], sk[1], sk[2],
        sv[0], sv[1], sv[2], GROUP=group, BM=block_rows, BN=keys, D=width, CAUSAL=causal)
    so = _strides(out)
    decode_combine[(-(-rows // COMBINE_ROWS),)](
        partial, lse, out, rows, num_splits, H, Dh, so[0], so[1], so[2], q_len,
        BR=COMBINE_ROWS, D=width)
    return out


def _arange_column(like, n: int):
    """The block table of a contiguous cache: sequence b is page b."""
    if _is_torch(like):
        import torch
        return torch.arange(n, dtype=torch.int32, device=like.device).reshape(n, 1)
    import numpy as np
    return np.arange(n, dtype=np.int32).reshape(n, 1)

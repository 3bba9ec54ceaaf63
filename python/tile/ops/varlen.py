"""tile.ops.attention_varlen: attention over a batch of sequences of different
lengths packed one after another, as FlashAttention's `flash_attn_varlen_func`
takes them (with one cu_seqlens for queries and keys). Kernel:
attention_kernels.attention_fwd_varlen, autotuned over sdpa's configurations that
need no warp specialization (its per-sequence guard nests the key loops deeper
than the warp-specialize pass splits)."""
from __future__ import annotations

import math

from ..autotune import autotune
from .attention_kernels import attention_fwd_varlen
from .sdpa import (BLOCK_CONFIGS, INT32_MAX, TILE_WIDTHS, WIDE_CONFIGS, _dtype_name, _empty,
                   _float32, _is_torch, check_causal_and_scale, check_head_array, check_heads,
                   check_no_grad, check_placement, host_values)

_KEY = ["total", "group", "Q.shape[1]"]  # + dtypes and constexprs (D, CAUSAL, STORE_LSE)
_PLAIN = {False: [c for c in BLOCK_CONFIGS if not c.warp_specialize],
          True: [c for c in WIDE_CONFIGS if not c.warp_specialize]}
tuned = {wide: autotune(configs, key=_KEY, default=configs[-1 if wide else 3])(
    attention_fwd_varlen) for wide, configs in _PLAIN.items()}


def _check(q, k, v, cu_seqlens, max_seqlen, causal, scale) -> tuple:
    where = "tile.ops.attention_varlen"
    named = {"q": q, "k": k, "v": v, "cu_seqlens": cu_seqlens}
    for name, x in named.items():
        if not hasattr(x, "shape") or not hasattr(x, "dtype"):
            raise TypeError(f"{where}: {name} must be a torch tensor, got {type(x).__name__}")
        if _is_torch(x) != _is_torch(q):
            raise TypeError(f"{where}: {name} is a {type(x).__name__} and q a "
                            f"{type(q).__name__}: pass one kind of array")
    layouts = {"q": "(total, H, D)", "k": "(total, H_kv, D)", "v": "(total, H_kv, D)"}
    for name, layout in layouts.items():
        check_head_array(where, name, named[name], q, layout, rank=3)
    total, H, Dh = q.shape
    if tuple(k.shape) != tuple(v.shape):
        raise ValueError(f"{where}: k {tuple(k.shape)} and v {tuple(v.shape)} must have one "
                         "shape")
    if k.shape[0] != total:
        raise ValueError(f"{where}: k has {k.shape[0]} tokens, q {total}; queries and keys "
                         "share cu_seqlens")
    H_kv = k.shape[1]
    if k.shape[2] != Dh:
        raise ValueError(f"{where}: k's head dim is {k.shape[2]}, q's {Dh}")
    check_heads(where, H, H_kv)
    if Dh % 8 or not 8 <= Dh <= TILE_WIDTHS[-1]:
        raise ValueError(f"{where}: q's head dim is {Dh}; supported: multiples of 8 from 8 "
                         f"to {TILE_WIDTHS[-1]}")
    if _dtype_name(cu_seqlens) != "int32" or len(cu_seqlens.shape) != 1 or \
            cu_seqlens.shape[0] < 2:
        raise ValueError(f"{where}: cu_seqlens must be an int32 (batch + 1,) array of "
                         f"offsets (0, len0, len0 + len1, ...), got "
                         f"{_dtype_name(cu_seqlens)} {tuple(cu_seqlens.shape)}")
    if isinstance(max_seqlen, bool) or not isinstance(max_seqlen, int) or max_seqlen < 0:
        raise ValueError(f"{where}: max_seqlen must be an int >= 0 (the longest sequence), "
                         f"got {max_seqlen!r}")
    check_causal_and_scale(where, causal, scale)
    if max(H, H_kv) * total * Dh > INT32_MAX:
        raise ValueError(f"{where}: q has {H * total * Dh} elements; the kernels index with "
                         f"int32, at most {INT32_MAX}")
    check_placement(where, named)
    check_no_grad(where, {n: x for n, x in named.items() if n in ("q", "k", "v")})
    cu = host_values(cu_seqlens)  # on the GPU: read there, checked under TILE_DEBUG=1
    if cu is not None and (cu[0] < 0 or (cu[1:] < cu[:-1]).any() or cu[-1] > total):
        raise ValueError(f"{where}: cu_seqlens must rise from >= 0 to at most {total} "
                         f"(q's tokens), got {cu.tolist()}")
    if cu is not None and len(cu) > 1 and (cu[1:] - cu[:-1]).max() > max_seqlen:
        raise ValueError(f"{where}: max_seqlen is {max_seqlen}, less than the longest "
                         f"sequence's {(cu[1:] - cu[:-1]).max()}")
    return total, H, H_kv, Dh


def attention_varlen(q, k, v, cu_seqlens, max_seqlen: int, causal: bool = False,
                     scale: float | None = None, return_lse: bool = False):
    """softmax(q kᵀ · scale) v within each of a batch of packed sequences, as
    `flash_attn_varlen_func(q, k, v, cu_seqlens, cu_seqlens, max_seqlen, max_seqlen,
    causal=causal)` computes it.

    q: (total, H, D); k and v: (total, H_kv, D), H_kv dividing H (grouped-query);
    bfloat16 or float16, D a multiple of 8 up to 256, the last stride 1.
    cu_seqlens: int32 (batch + 1,), sequence b is tokens cu_seqlens[b] ..
    cu_seqlens[b + 1] - 1 (empty sequences allowed; the rows of tokens outside
    every sequence are not written); max_seqlen: the longest
    sequence's length, a Python int that sizes the grid (nothing is read back from
    the GPU; a smaller one leaves rows unwritten). cu_seqlens and max_seqlen
    are checked where they are on the host (the interpreter), and on the GPU by
    the kernel under TILE_DEBUG=1. causal: token i of a sequence sees its tokens j <= i. scale: 1/sqrt(D)
    by default. Queries and keys share cu_seqlens.

    Returns the (total, H, D) output in q's dtype; with return_lse, (output, lse),
    lse the float32 (H, total) natural log-sum-exp of each query row's scores.
    The kernels read heads as rows: q, k and v are first copied to (H, total, D)."""
    total, H, H_kv, Dh = _check(q, k, v, cu_seqlens, max_seqlen, causal, scale)
    sm_scale = float(scale) if scale is not None else 1 / math.sqrt(Dh)
    batch = cu_seqlens.shape[0] - 1
    out = _empty(q, (H, total, Dh))
    lse = _empty(q, (H, total), _float32(q)) if return_lse else out.reshape(-1)
    if total * H and max_seqlen and batch:
        width = next(w for w in TILE_WIDTHS if w >= Dh)
        rows = [_swap_first_dims(x).reshape(-1, Dh) for x in (q, k, v)]

        def grid(meta):
            return (-(-max_seqlen // meta["BM"]), H, batch)

        tuned[width > 128][grid](*rows, out.reshape(-1, Dh), lse.reshape(-1), cu_seqlens,
                                 total, H // H_kv, sm_scale, D=width, CAUSAL=causal,
                                 STORE_LSE=bool(return_lse))
    out = _swap_first_dims(out)
    return (out, lse) if return_lse else out


def _swap_first_dims(x):
    """(total, H, D) <-> (H, total, D), contiguous."""
    if _is_torch(x):
        return x.transpose(0, 1).contiguous()
    import numpy as np
    return np.ascontiguousarray(x.transpose(1, 0, 2))

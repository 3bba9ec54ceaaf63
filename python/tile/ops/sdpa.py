"""tile.ops.attention: scaled dot-product attention forward on (B, H, N, D)
tensors, as torch.nn.functional.scaled_dot_product_attention takes them, through
the kernels of attention_kernels.py tuned over the configurations below."""
from __future__ import annotations

import functools
import math

from .. import interpreter
from ..autotune import Config, autotune
from .attention_kernels import attention_forward

# (BM, BN) query x key blocks, warps, stages. attention_fwd's: the causal kernel's
# two loops (and the non-causal one's tail loop, for a seq_len that is not a
# multiple of 128) each stage their own K/V buffers (and Q), doubling its shared
# memory: d128 causal fits in 227 KiB with 2 stages only, and d64 causal keeps
# two CTAs an SM with 2. A configuration that does not fit is skipped by the
# autotuner. benchmarks/bench_attention.py tunes over these same lists.
BLOCK_CONFIGS = [Config(dict(BM=128, BN=64), num_warps=4, num_stages=3),
                 Config(dict(BM=128, BN=64), num_warps=4, num_stages=2),
                 Config(dict(BM=128, BN=64), num_warps=8, num_stages=3),
                 Config(dict(BM=128, BN=64), num_warps=8, num_stages=2),
                 Config(dict(BM=128, BN=128), num_warps=8, num_stages=2),
                 # A producer warpgroup issues the copies; causal attention's two
                 # loops then share one ring of stages (docs/perf-notes.md).
                 Config(dict(BM=128, BN=64), num_warps=8, num_stages=2, warp_specialize=True),
                 Config(dict(BM=128, BN=64), num_warps=8, num_stages=3, warp_specialize=True),
                 Config(dict(BM=128, BN=128), num_warps=8, num_stages=2, warp_specialize=True)]
DEFAULT_BLOCK_CONFIG = BLOCK_CONFIGS[3]  # fits every head width up to 128, causal or not
# attention_fwd_persistent's (one program an SM; the producer loads the next
# tile's Q, K and V during this one's epilogue).
PERSISTENT_CONFIGS = [Config(dict(BM=128, BN=128), num_warps=8, num_stages=s,
                             warp_specialize=True) for s in (2, 3)]
# Heads of 129 to 256 columns (256-wide tiles): 128-row blocks fit only with the
# sequence a multiple of 128 (one key loop); 64-row blocks always.
WIDE_CONFIGS = [Config(dict(BM=128, BN=64), num_warps=8, num_stages=2),
                Config(dict(BM=128, BN=32), num_warps=8, num_stages=2, warp_specialize=True),
                Config(dict(BM=64, BN=64), num_warps=4, num_stages=2),
                Config(dict(BM=64, BN=32), num_warps=4, num_stages=2)]
EVEN = 128  # every configuration's BM and BN divide it: seq_len % EVEN == 0 is EVEN_SEQ
assert all(EVEN % c.kwargs[b] == 0 for c in BLOCK_CONFIGS + PERSISTENT_CONFIGS + WIDE_CONFIGS
           for b in ("BM", "BN"))
# The kernels' D: a power of two >= the head dim, and at least 64: the mma lowering
# reads shared tiles of 128-byte rows (128B swizzle) only, so narrower heads pad.
TILE_WIDTHS = (64, 128, 256)
DTYPES = ("bfloat16", "float16")
INT32_MAX = 2**31 - 1  # the masked stores' element offsets are int32


def _configs(persistent: bool, configs: list) -> list:
    return [Config({**c.kwargs, "PERSISTENT": persistent}, c.num_warps, c.num_stages,
                   c.warp_specialize) for c in configs]


_KEY = ["seq_len", "heads", "group", "Q.shape[1]"]  # + dtypes and constexprs (D, CAUSAL, ...)
_NARROW = _configs(False, BLOCK_CONFIGS) + _configs(True, PERSISTENT_CONFIGS)
_WIDE = _configs(False, WIDE_CONFIGS)
tuned = {  # by whether the tiles are 256 wide; each launches its default on the interpreter
    False: autotune(_NARROW, key=_KEY, default=_NARROW[BLOCK_CONFIGS.index(DEFAULT_BLOCK_CONFIG)])(
        attention_forward),
    True: autotune(_WIDE, key=_KEY, default=_WIDE[-1])(attention_forward),
}


def _is_torch(x) -> bool:
    return type(x).__module__.split(".")[0] == "torch"


def _dtype_name(x) -> str:
    return str(x.dtype).removeprefix("torch.")


def _strides(x) -> tuple:
    """Strides in elements (torch's; numpy's are in bytes)."""
    return tuple(x.stride()) if _is_torch(x) else tuple(s // x.itemsize for s in x.strides)


def _check(q, k, v, causal, scale) -> tuple:
    """(B, H, H_kv, N, Dh) of valid inputs; a TypeError or ValueError naming the
    argument otherwise."""
    named = {"q": q, "k": k, "v": v}
    for name, x in named.items():
        if not hasattr(x, "shape") or not hasattr(x, "dtype"):
            raise TypeError(f"tile.ops.attention: {name} must be a torch tensor, got "
                            f"{type(x).__name__}")
        if _is_torch(x) != _is_torch(q):
            raise TypeError(f"tile.ops.attention: {name} is a {type(x).__name__} and q a "
                            f"{type(q).__name__}: pass one kind of array")
        check_head_array("tile.ops.attention", name, x, q, "(B, H, N, D)")
    B, H, N, Dh = q.shape
    if tuple(k.shape) != tuple(v.shape):
        raise ValueError(f"tile.ops.attention: k {tuple(k.shape)} and v {tuple(v.shape)} "
                         "must have one shape")
    Bk, H_kv, N_kv, Dk = k.shape
    if Bk != B:
        raise ValueError(f"tile.ops.attention: k's batch is {Bk}, q's {B}")
    if Dk != Dh:
        raise ValueError(f"tile.ops.attention: k's head dim is {Dk}, q's {Dh}; they must "
                         "be equal (v's too)")
    if N_kv != N:
        raise ValueError(f"tile.ops.attention: k has {N_kv} keys, q {N} queries; the "
                         "kernels take one sequence length for both")
    check_heads("tile.ops.attention", H, H_kv)
    if Dh % 8 or not 8 <= Dh <= TILE_WIDTHS[-1]:
        raise ValueError(f"tile.ops.attention: q's head dim is {Dh}; supported: multiples of "
                         f"8 from 8 to {TILE_WIDTHS[-1]} (rows a multiple of 16 bytes, as TMA "
                         "copies them)")
    if max(B * H, B * H_kv) * N * Dh > INT32_MAX:
        raise ValueError(f"tile.ops.attention: q has {B * H * N * Dh} elements; the kernels "
                         f"index with int32, at most {INT32_MAX}")
    check_causal_and_scale("tile.ops.attention", causal, scale)
    check_placement("tile.ops.attention", named)
    return B, H, H_kv, N, Dh


def check_head_array(where: str, name: str, x, q, layout: str, rank: int = 4) -> None:
    """x (argument `name`) of `rank` dims as `layout` says, bf16 or f16 as q, unit
    last stride."""
    if len(x.shape) != rank:
        raise ValueError(f"{where}: {name} must be {rank}-D {layout}, got shape "
                         f"{tuple(x.shape)}")
    if _dtype_name(x) not in DTYPES:
        raise TypeError(f"{where}: {name} is {_dtype_name(x)}; bfloat16 and float16 are "
                        "supported")
    if x.dtype != q.dtype:
        raise TypeError(f"{where}: {name} is {_dtype_name(x)} but q is {_dtype_name(q)}: one "
                        "dtype for all")
    if _strides(x)[-1] != 1 and math.prod(x.shape) > 1:  # an empty array's are any
        raise ValueError(f"{where}: {name}'s last dim has stride {_strides(x)[-1]}; it must "
                         "be 1 (contiguous head rows)")


def check_heads(where: str, H: int, H_kv: int, k: str = "k") -> None:
    """Grouped-query heads: H_kv (k's) at least one and dividing H (q's)."""
    if H_kv == 0 or H % H_kv:
        raise ValueError(f"{where}: {k} has {H_kv} heads and q {H}; {k}'s heads must be at least "
                         "one and divide q's (grouped-query attention: query head h reads kv "
                         "head h // (H // H_kv))")


def check_causal_and_scale(where: str, causal, scale) -> None:
    """causal a bool; scale None or a positive finite number."""
    if not isinstance(causal, bool):
        raise TypeError(f"{where}: causal must be a bool, got {causal!r}")
    if scale is not None and (isinstance(scale, bool) or not isinstance(scale, (int, float))
                              or not 0 < scale < math.inf):
        raise ValueError(f"{where}: scale must be a positive finite number, got {scale!r}")


def check_no_grad(where: str, named: dict) -> None:
    """For ops without a backward: a tensor that needs a gradient would get none."""
    wanting = [name for name, x in named.items() if getattr(x, "requires_grad", False)]
    if wanting and _grad_enabled():
        raise ValueError(f"{where} has no backward, and {', '.join(wanting)} require grad: "
                         "call it under torch.no_grad() or pass detached tensors "
                         "(tile.ops.attention is differentiable)")


def _grad_enabled() -> bool:
    import torch
    return torch.is_grad_enabled()


def check_placement(where: str, named: dict) -> None:
    """The arrays (q first) on one CUDA device, or CPU tensors and host arrays
    with TILE_INTERPRET=1; else a ValueError or TypeError saying so."""
    q = named["q"]
    if _is_torch(q):
        devices = {x.device for x in named.values()}
        if len(devices) > 1:
            raise ValueError(f"{where}: {', '.join(named)} are on {sorted(map(str, devices))}"
                             "; they must be on one device")
        if q.device.type != "cuda" and not interpreter.requested():
            raise ValueError(f"{where}: q is on {q.device}; pass CUDA tensors (or CPU ones with "
                             "TILE_INTERPRET=1, for the CPU interpreter)")
    elif not interpreter.requested():
        raise TypeError(f"{where}: q is a {type(q).__name__}; pass torch CUDA tensors (host "
                        "arrays run only on the interpreter, TILE_INTERPRET=1)")


def host_values(x):
    """x's values as a numpy array where they can be read without a GPU sync (host
    arrays and CPU tensors: the interpreter's inputs), else None."""
    import numpy as np
    if _is_torch(x):
        return x.numpy() if x.device.type == "cpu" else None
    return np.asarray(x)


def _rows(x):
    """x's (B, H, N) flattened into rows: a view when they share one row stride,
    else a contiguous copy (reshape's rule)."""
    return x.reshape(-1, x.shape[-1])


def token_major(width: int, *arrays):
    """The arrays ((B, H, N, D) each, the first q) as the kernels' TOKEN_MAJOR rows,
    (B·N, H·D) views, where q is laid out so ((B, N, H, D) memory of any row stride: a
    transposed (B, N, H, D) tensor, a fused QKV projection's slice) and D is the tile
    width, unless all of them flatten into head-major rows in place; the others are
    copied into that layout where they are not in it. None otherwise: head-major rows
    then, copied where they do not flatten (_rows)."""
    q = arrays[0]
    if not _is_torch(q) or q.shape[-1] != width or _token_major_rows(q) is None:
        return None
    if all(_flattens(x) for x in arrays):
        return None
    rows = [_token_major_rows(x) for x in arrays]
    return [r if r is not None
            else _token_major_rows(x.transpose(1, 2).contiguous().transpose(1, 2))
            for x, r in zip(arrays, rows)]


def _token_major_rows(x):
    """x[b, h, n] as row b·N + n, columns h·D.., of a (B·N, H·D) view; None where x's
    strides do not allow it."""
    B, H, N, D = x.shape
    sB, sH, sN, _ = x.stride()
    row_stride = sN if N > 1 else sB if B > 1 else H * D  # a dim of one has any stride
    if (H > 1 and sH != D) or (B > 1 and sB != N * row_stride) or row_stride < H * D:
        return None
    return x.as_strided((B * N, H * D), (row_stride, 1))


def _flattens(x) -> bool:
    """Whether x's (B, H, N) flatten into rows of one stride without a copy."""
    dims = [(n, s) for n, s in zip(x.shape[:-1], x.stride()[:-1]) if n != 1]
    return all(outer == inner * n for (_, outer), (n, inner) in zip(dims, dims[1:]))


def empty_token_major(like, B: int, H: int, N: int, D: int):
    """A new (B, H, N, D) tensor of like's dtype in (B, N, H, D) memory."""
    return like.new_empty((B, N, H, D)).transpose(1, 2)


def _empty(like, shape, dtype=None):
    if _is_torch(like):
        import torch
        return torch.empty(shape, dtype=dtype or like.dtype, device=like.device)
    import numpy as np
    return np.empty(shape, dtype=dtype or like.dtype)


def attention(q, k, v, causal: bool = False, scale: float | None = None,
              return_lse: bool = False):
    """softmax(q kᵀ · scale) v, as SDPA computes it, with a backward for autograd.

    q: (B, H, N, D); k and v: (B, H_kv, N, D) with H_kv dividing H (grouped-query
    attention: query head h reads kv head h // (H // H_kv); H_kv = 1 is
    multi-query). bfloat16 or float16, D a multiple of 8 up to 256 (the kernels
    run it in tiles of the next power of two, at least 64: d96 costs as d128, d16
    as d64), any N, any strides with the last one 1: (B, H, N) that flatten into
    rows of one stride (contiguous tensors, slices of heads or rows) are read in
    place, and so are torch tensors in (B, N, H, D) memory where D is 64, 128 or
    256 (a transposed (B, N, H, D) tensor, a fused QKV projection's slices: see
    token_major); other layouts are first copied. causal: query i sees keys j <= i.
    scale: of the scores, 1/sqrt(D) by default.

    Returns the (B, H, N, D) output in q's dtype, contiguous, or in (B, N, H, D)
    memory where q was read so; with return_lse,
    (output, lse): lse the float32 (B, H, N) natural log-sum-exp of each query
    row's scaled scores, as a backward pass needs it.

    On torch tensors it is the custom op torch.ops.tile.attention (so
    torch.compile(fullgraph=True) traces it as one node), differentiable in q, k
    and v (D up to 128): the forward then keeps the log-sum-exp and the backward
    is attention_backward.attention_backward's kernels.

    Tuned on the first call of each (N, B·H, H / H_kv, D, dtype, causal,
    return_lse) over BLOCK_CONFIGS and PERSISTENT_CONFIGS (WIDE_CONFIGS above
    d128); tile.autotune's TILE_AUTOTUNE and TILE_AUTOTUNE_PRINT apply. With
    TILE_INTERPRET=1, CPU tensors (or numpy arrays) run on the interpreter."""
    _, _, _, _, Dh = _check(q, k, v, causal, scale)
    sm_scale = float(scale) if scale is not None else 1 / math.sqrt(Dh)
    if _is_torch(q):
        from . import attention_autograd
        return attention_autograd.attention(q, k, v, causal, sm_scale, return_lse)
    out, lse = forward(q, k, v, causal, sm_scale, return_lse, lambda kernel, grid: kernel[grid])
    return (out, lse) if return_lse else out


def forward(q, k, v, causal: bool, sm_scale: float, store_lse: bool, launch):
    """(out, lse) of checked inputs (lse stands in as out's rows without store_lse:
    the kernel never touches it then); launch(kernel, grid) launches. out is
    contiguous, or in (B, N, H, D) memory where q is (token_major)."""
    B, H, N, Dh = q.shape
    H_kv = k.shape[1]
    width = next(w for w in TILE_WIDTHS if w >= Dh)
    token_rows = token_major(width, q, k, v) if B * H * N else None
    if token_rows is None:
        out = _empty(q, (B, H, N, Dh))
        out_rows = out.reshape(-1, Dh)
    else:  # read in place, written alike: the caller's transpose back is then a view
        out = empty_token_major(q, B, H, N, Dh)
        out_rows = _token_major_rows(out)
    lse = _empty(q, (B, H, N), _float32(q)) if store_lse else out_rows.reshape(-1)
    if B * H * N == 0:
        return out, lse
    heads = B * H
    launch(tuned[width > 128], forward_grid(q, N, heads))(
        *(token_rows or [_rows(x) for x in (q, k, v)]), out_rows, lse.reshape(-1), N, heads,
        H // H_kv, sm_scale, D=width, CAUSAL=causal, EVEN_SEQ=N % EVEN == 0,
        STORE_LSE=bool(store_lse), TOKEN_MAJOR=token_rows is not None)
    return out, lse


def forward_grid(q, N: int, heads: int):
    """attention_forward's grid for a configuration: a program a (query block, head),
    or, PERSISTENT, one a multiprocessor (at most one a tile)."""
    def grid(meta):
        blocks = -(-N // meta["BM"])
        if meta["PERSISTENT"]:
            return (min(_multiprocessors(q), blocks * heads),)
        return (blocks, heads)
    return grid


def _float32(like):
    if _is_torch(like):
        import torch
        return torch.float32
    return "float32"


def _multiprocessors(x) -> int:
    return _multiprocessors_of(x.device.index if x.device.index is not None else 0)


@functools.lru_cache(maxsize=None)
def _multiprocessors_of(device: int) -> int:
    import torch
    return torch.cuda.get_device_properties(device).multi_processor_count

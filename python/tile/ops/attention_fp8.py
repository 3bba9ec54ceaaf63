"""tile.ops.attention_fp8: attention forward on e4m3 q, k and v with per-tensor
scales and a bf16 output, through attention_kernels.py's forward kernels (the fp8
path of `attend`: Vᵀ as the K-major operand of P·V, P rounded to e4m3)."""
from __future__ import annotations

import math

from ..autotune import Config, autotune
from .attention_kernels import attention_forward
from .sdpa import (EVEN, INT32_MAX, _configs, _dtype_name, _strides, check_causal_and_scale,
                   check_heads, check_placement, forward_grid)

WHERE = "tile.ops.attention_fp8"
# fp8 tiles of 128-byte rows: K's (BN, D) and Vᵀ's (D, BN) need D and BN >= 128.
# The warp-specialized ones fit only with N a multiple of 128 (one key loop's
# stages) and need N a multiple of 16 (TMA); the autotuner skips a configuration
# that does not compile.
BLOCK_CONFIGS = [Config(dict(BM=128, BN=128), num_warps=8, num_stages=s, warp_specialize=ws)
                 for ws in (False, True) for s in (2, 3)]
PERSISTENT_CONFIGS = [Config(dict(BM=128, BN=128), num_warps=8, num_stages=s,
                             warp_specialize=True) for s in (2, 3)]
_CONFIGS = _configs(False, BLOCK_CONFIGS) + _configs(True, PERSISTENT_CONFIGS)
tuned = autotune(_CONFIGS, key=["seq_len", "heads", "group", "Q.shape[1]"],
                 default=_CONFIGS[0])(attention_forward)
HEAD_DIMS = (128,)  # 256-wide fp8 tiles do not fit beside their stages


def attention_fp8(q, k, v, q_scale: float = 1.0, k_scale: float = 1.0, v_scale: float = 1.0,
                  causal: bool = False, scale: float | None = None):
    """softmax(q kᵀ · scale) v of dequantized inputs (q · q_scale, k · k_scale,
    v · v_scale), as SDPA computes it on them, in bfloat16.

    q: (B, H, N, 128) float8_e4m3fn; k and v: (B, H_kv, N, 128), H_kv dividing H;
    unit last strides; N any length, fastest a multiple of 16 (Vᵀ's tiles start at
    column head · N + 128 j, which TMA copies only at 16-byte columns; other N send the
    key loop's tiles through registers). q_scale, k_scale, v_scale: per-tensor dequantization
    scales (positive numbers); scale: of the scores, 1/sqrt(128) by default.
    Forward only (no autograd). v is transposed into a (128, B·H_kv·N) copy first
    (fp8 WGMMA reads both operands K-major); P is rounded to e4m3 before P·V, as
    FlashAttention-3's fp8 path does. Tuned per shape as tile.ops.attention is."""
    import torch
    named = {"q": q, "k": k, "v": v}
    for name, x in named.items():
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{WHERE}: {name} must be a torch tensor, got {type(x).__name__}")
        if x.dim() != 4:
            raise ValueError(f"{WHERE}: {name} must be 4-D (B, H, N, D), got {tuple(x.shape)}")
        if x.dtype != torch.float8_e4m3fn:
            raise TypeError(f"{WHERE}: {name} is {_dtype_name(x)}; float8_e4m3fn is supported")
        if _strides(x)[-1] != 1 and x.numel() > 1:
            raise ValueError(f"{WHERE}: {name}'s last dim has stride {_strides(x)[-1]}; it "
                             "must be 1")
    B, H, N, Dh = q.shape
    if tuple(k.shape) != tuple(v.shape) or k.shape[0] != B or k.shape[2] != N \
            or k.shape[3] != Dh:
        raise ValueError(f"{WHERE}: k {tuple(k.shape)} and v {tuple(v.shape)} must be "
                         f"(B, H_kv, N, D) of q's B, N and D {tuple(q.shape)}")
    H_kv = k.shape[1]
    check_heads(WHERE, H, H_kv)
    if Dh not in HEAD_DIMS:
        raise ValueError(f"{WHERE}: head dim {Dh}; supported: {', '.join(map(str, HEAD_DIMS))}")
    if B * H * N * Dh > INT32_MAX:
        raise ValueError(f"{WHERE}: q has {B * H * N * Dh} elements; at most {INT32_MAX}")
    for name, value in (("q_scale", q_scale), ("k_scale", k_scale), ("v_scale", v_scale)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                not 0 < value < math.inf:
            raise ValueError(f"{WHERE}: {name} must be a positive finite number, got {value!r}")
    check_causal_and_scale(WHERE, causal, scale)
    check_placement(WHERE, named)
    out = torch.empty((B, H, N, Dh), dtype=torch.bfloat16, device=q.device)
    if out.numel() == 0:
        return out
    sm_scale = (float(scale) if scale is not None else 1 / math.sqrt(Dh)) * q_scale * k_scale
    vt = v.reshape(-1, Dh).t().contiguous()  # (Dh, B·H_kv·N)
    rows = out.view(-1, Dh)  # also stands for the LSE array, which is not written
    tuned[forward_grid(q, N, B * H)](
        q.reshape(-1, Dh), k.reshape(-1, Dh), vt, rows, rows, N, B * H, H // H_kv, sm_scale,
        D=Dh, CAUSAL=causal, EVEN_SEQ=N % EVEN == 0, STORE_LSE=False)
    if v_scale != 1:
        out.mul_(v_scale)  # V's scale, once on the bf16 output
    return out

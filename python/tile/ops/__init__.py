"""Ready-made operations built from tile kernels, called on torch tensors.

    import tile.ops
    out = tile.ops.attention(q, k, v, causal=True)   # (B, H, N, D), as SDPA

attention: scaled dot-product attention (sdpa.py; its forward kernels in
attention_kernels.py, its backward's in attention_backward.py; on torch tensors
the custom ops of attention_autograd.py, differentiable and traced whole by
torch.compile; docs/ops.md).
attention_decode: new query tokens against a KV cache, contiguous or paged
(decode.py; kernels in decode_kernels.py), as flash_attn_with_kvcache.
attention_fp8: the forward on float8_e4m3fn q, k, v with per-tensor scales, bf16
out (attention_fp8.py; the fp8 path of attention_kernels.py).
attention_varlen: a batch of packed sequences of different lengths (varlen.py), as
flash_attn_varlen_func.
"""
from .attention_fp8 import attention_fp8
from .decode import attention_decode
from .sdpa import attention
from .varlen import attention_varlen

__all__ = ["attention", "attention_decode", "attention_fp8", "attention_varlen"]

"""Ready-made operations built from tile kernels, called on torch tensors.

    import tile.ops
    out = tile.ops.attention(q, k, v, causal=True)   # (B, H, N, D), as SDPA

attention: scaled dot-product attention forward (sdpa.py; its kernels in
attention_kernels.py; docs/ops.md). attention_backward.py holds the backward's
kernels, not wired to autograd yet.
"""
from .sdpa import attention

__all__ = ["attention"]

"""tile.ops.attention on torch tensors: the custom ops torch.ops.tile.attention
(forward: output and log-sum-exp) and torch.ops.tile.attention_backward (dq, dk,
dv), registered through tile.library, so that autograd differentiates the forward
and torch.compile(fullgraph=True) traces each as one node. Imported on the first
call with torch tensors (tile.ops itself does not need torch)."""
from __future__ import annotations

import torch

from .. import library
from . import attention_backward as backward_kernels
from .sdpa import forward


def _launch(kernel, grid):
    return library.launch(kernel)[grid]


@library.custom_op("tile::attention", mutates_args=())
def attention_op(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool, scale: float,
                 store_lse: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(out, lse) of checked inputs; lse is empty unless store_lse."""
    out, lse = forward(q, k, v, causal, scale, store_lse, _launch)
    # Without the LSE the kernel was given out's rows for it: an op's outputs may
    # not alias each other.
    return out, lse if store_lse else q.new_empty((0,), dtype=torch.float32)


@library.custom_op("tile::attention_backward", mutates_args=())
def attention_backward_op(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, out: torch.Tensor,
                          lse: torch.Tensor, grad_out: torch.Tensor, causal: bool,
                          scale: float, grad_lse: torch.Tensor | None = None
                          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(dq, dk, dv) from the forward's output and log-sum-exp (and the gradient of
    the log-sum-exp where the caller used it)."""
    # grad_out may come in any layout (an expand of a sum's gradient has strides 0):
    # attention_backward reads the forward's in place and copies others.
    return backward_kernels.attention_backward(
        q, k, v, out, lse, grad_out, causal, scale, launch=_launch,
        grad_lse=None if grad_lse is None else grad_lse.to(torch.float32))


def _setup_context(ctx, inputs, output):
    q, k, v, causal, scale, store_lse = inputs
    out, lse = output
    ctx.save_for_backward(q, k, v, out, lse)
    ctx.causal, ctx.scale, ctx.store_lse = causal, scale, store_lse
    ctx.set_materialize_grads(False)  # an unused output's gradient is None, not zeros


def _backward(ctx, grad_out, grad_lse):
    q, k, v, out, lse = ctx.saved_tensors
    if not ctx.store_lse:  # the op called directly without it (attention() asks for it
        _, lse = attention_op(q, k, v, ctx.causal, ctx.scale, True)  # when a grad is needed)
        grad_lse = None  # of the empty stand-in output
    if grad_out is None:  # only the LSE was used
        grad_out = torch.zeros_like(out)
    dq, dk, dv = attention_backward_op(q, k, v, out, lse, grad_out.to(q.dtype), ctx.causal,
                                       ctx.scale, grad_lse)
    return dq, dk, dv, None, None, None


attention_op.register_autograd(_backward, setup_context=_setup_context)


def attention(q, k, v, causal: bool, scale: float, return_lse: bool):
    """tile.ops.attention of checked torch tensors (sdpa._check)."""
    needs_grad = torch.is_grad_enabled() and (q.requires_grad or k.requires_grad
                                              or v.requires_grad)
    if needs_grad and q.shape[-1] > backward_kernels.MAX_HEAD_DIM:
        raise ValueError(f"tile.ops.attention: q's head dim is {q.shape[-1]}; the backward "
                         f"takes head dims up to {backward_kernels.MAX_HEAD_DIM}: call it "
                         "under torch.no_grad() or on detached tensors for the forward alone")
    out, lse = attention_op(q, k, v, causal, scale, bool(return_lse or needs_grad))
    return (out, lse) if return_lse else out

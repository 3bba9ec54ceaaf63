"""A small torch model made of tile kernels registered as custom ops (tile.library):
a linear layer with bias and GELU fused into the GEMM's epilogue
(examples/gemm_epilogue.py) and a LayerNorm (examples/norms.py), each with a
backward for autograd. test_torch_library.py compiles it with torch.compile."""
import os
import sys

import torch

import tile
import tile.library

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
import norms  # noqa: E402
from gemm_epilogue import gemm_bias_act  # noqa: E402

# Small blocks: the interpreter runs the CPU tests; the GPU takes them as well.
GEMM_BLOCKS = dict(BM=64, BN=64, BK=64, GROUP=4, num_warps=4)
NORM_ROWS = 4


@tile.library.custom_op("tile_test::linear_act", mutates_args=())
def linear_act(a: torch.Tensor, b: torch.Tensor, bias: torch.Tensor, act: str) -> torch.Tensor:
    """act(a @ b + bias), a (M, K), b (K, N), bias (N,)."""
    M, N = a.shape[0], b.shape[1]
    c = a.new_empty((M, N))
    grid = (tile.cdiv(M, GEMM_BLOCKS["BM"]) * tile.cdiv(N, GEMM_BLOCKS["BN"]),)
    tile.library.launch(gemm_bias_act)[grid](a.contiguous(), b.contiguous(), c,
                                             bias.contiguous(), ACT=act, **GEMM_BLOCKS)
    return c


def _linear_act_context(ctx, inputs, output):
    a, b, bias, act = inputs
    ctx.save_for_backward(a, b, bias)
    ctx.act = act


def _linear_act_backward(ctx, grad):
    a, b, bias = ctx.saved_tensors
    if ctx.act == "gelu":  # the pre-activation again, from the same kernel without GELU
        h = linear_act(a, b, bias, "none").float().requires_grad_()
        with torch.enable_grad():
            y = torch.nn.functional.gelu(h, approximate="tanh")
        grad = torch.autograd.grad(y, h, grad.float())[0].to(a.dtype)
    elif ctx.act != "none":
        raise NotImplementedError(f"linear_act's backward of {ctx.act}")
    return grad @ b.t(), a.t() @ grad, grad.float().sum(0).to(bias.dtype), None


linear_act.register_autograd(_linear_act_backward, setup_context=_linear_act_context)


@tile.library.custom_op("tile_test::layer_norm", mutates_args=())
def layer_norm(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor,
               eps: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(y, mean, rstd) of LayerNorm over x's rows (M, N)."""
    M, N = x.shape
    BN = norms.next_power_of_two(N)
    blocks = norms.forward_blocks(BN)
    y = x.new_empty((M, N))
    mean, rstd = x.new_empty((M,), dtype=torch.float32), x.new_empty((M,), dtype=torch.float32)
    tile.library.launch(norms.layer_norm_forward)[(tile.cdiv(M, blocks["BM"]),)](
        x.contiguous(), w, b, y, mean, rstd, eps, BN=BN, **blocks)
    return y, mean, rstd


@tile.library.custom_op("tile_test::layer_norm_backward", mutates_args=())
def layer_norm_backward(x: torch.Tensor, w: torch.Tensor, dy: torch.Tensor, mean: torch.Tensor,
                        rstd: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(dx, dw, db) of layer_norm, from its saved mean and rstd."""
    M, N = x.shape
    BN = norms.next_power_of_two(N)
    programs = tile.cdiv(M, NORM_ROWS)
    dx = x.new_empty((M, N))
    dw_partial = x.new_zeros((programs, N), dtype=torch.float32)
    db_partial = x.new_zeros((programs, N), dtype=torch.float32)
    dw, db = w.new_empty((N,)), w.new_empty((N,))
    tile.library.launch(norms.layer_norm_backward)[(programs,)](
        x.contiguous(), w, dy.contiguous(), mean, rstd, dx, dw_partial, db_partial,
        ROWS=NORM_ROWS, BN=BN, num_warps=norms.warps_for(BN))
    for partial, out in ((dw_partial, dw), (db_partial, db)):
        tile.library.launch(norms.column_sums)[(tile.cdiv(N, 128),)](
            partial, out, BM=min(16, norms.next_power_of_two(programs)), BN=128)
    return dx, dw, db


def _layer_norm_context(ctx, inputs, output):
    x, w, _, _ = inputs
    ctx.save_for_backward(x, w, output[1], output[2])


def _layer_norm_grads(ctx, dy, _dmean, _drstd):
    x, w, mean, rstd = ctx.saved_tensors
    dx, dw, db = layer_norm_backward(x, w, dy, mean, rstd)
    return dx, dw, db, None


layer_norm.register_autograd(_layer_norm_grads, setup_context=_layer_norm_context)


class Block(torch.nn.Module):
    """LayerNorm, then GELU(x W + b): an MLP's first half, in tile kernels."""

    def __init__(self, width: int, hidden: int, dtype=torch.bfloat16, device="cpu"):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.norm_w = torch.nn.Parameter(1 + 0.1 * torch.randn(width, generator=g))
        self.norm_b = torch.nn.Parameter(0.1 * torch.randn(width, generator=g))
        self.weight = torch.nn.Parameter(torch.randn(width, hidden, generator=g) / width ** 0.5)
        self.bias = torch.nn.Parameter(0.1 * torch.randn(hidden, generator=g))
        self.to(device=device)
        self.weight.data = self.weight.data.to(dtype)
        self.bias.data = self.bias.data.to(dtype)

    def forward(self, x):
        y = layer_norm(x, self.norm_w, self.norm_b, 1e-5)[0]
        return linear_act(y.to(self.weight.dtype), self.weight, self.bias, "gelu")


def reference(block: Block, x):
    """The same block in torch ops, in float64."""
    y = torch.nn.functional.layer_norm(x.double(), x.shape[-1:], block.norm_w.double(),
                                       block.norm_b.double(), 1e-5)
    y = y.to(block.weight.dtype).double()  # the model rounds the norm's output to the GEMM's dtype
    return torch.nn.functional.gelu(y @ block.weight.double() + block.bias.double(),
                                    approximate="tanh")

"""GEMM with a fused epilogue: C = act(A @ B + bias[None, :]), f32 accumulate, the
bias added and the activation applied to the accumulator before the one store.
ACT (a constexpr) is "none", "relu", "gelu" (the tanh approximation, as
torch's gelu(approximate="tanh")) or "silu". Tiles are visited in grouped
order (GROUP rows of tiles per column sweep), as gemm.py's gemm_grouped.

Compiles the kernel to PTX. With a GPU, runs it against torch for each
activation, in bf16 and f16; otherwise it runs the same specialization's tile IR
on the CPU interpreter, on a smaller ragged problem, against numpy.
"""
import math
import sys

import tile
from gemm import CONFIGS, KEY, grouped_tile, matmul_tile

LOG2_E = 1.4426950408889634
GELU_C = math.sqrt(2 / math.pi)  # gelu(x) = x · sigmoid(2 · GELU_C · (x + 0.044715 x³))


@tile.jit
def gemm_bias_act(A, B, C, bias, BM: tile.constexpr, BN: tile.constexpr, BK: tile.constexpr,
                  GROUP: tile.constexpr, ACT: tile.constexpr):
    i, j = grouped_tile(tile.program_id(0), A.shape[0], B.shape[1], BM, BN, GROUP)
    acc = matmul_tile(A, B, i, j, BM, BN, BK)
    # Epilogue, on the accumulator: bias (one value per column of C), then act.
    x = acc + tile.load(bias, j, BN, bound=B.shape[1]).to(tile.float32)[None, :]
    if ACT == "relu":
        x = tile.maximum(x, 0.0)
    elif ACT == "gelu":  # 0.5 · (1 + tanh(u)) = sigmoid(2u); exp2 is the fast exp
        u = x * (GELU_C * LOG2_E) * (1.0 + 0.044715 * x * x)
        x = tile.fdiv(x, 1.0 + tile.exp2(-2.0 * u))  # the fast division, as Triton's `/`
    elif ACT == "silu":
        x = tile.fdiv(x, 1.0 + tile.exp2(-LOG2_E * x))
    tile.store(C, (i, j), x.to(C.dtype))


ACTIVATIONS = ("none", "relu", "gelu", "silu")
# Tuned over the plain GEMM's configurations, per shape (see gemm.py).
gemm_bias_act_tuned = tile.autotune(CONFIGS, key=KEY, default=CONFIGS[0])(gemm_bias_act)


def grid(M, N, BM, BN):
    return (tile.cdiv(M, BM) * tile.cdiv(N, BN),)


def reference_numpy(a, b, bias, act):
    import numpy as np
    x = a.astype(np.float64) @ b.astype(np.float64) + bias.astype(np.float64)[None, :]
    if act == "relu":
        return np.maximum(x, 0)
    if act == "gelu":
        return 0.5 * x * (1 + np.tanh(GELU_C * (x + 0.044715 * x ** 3)))
    if act == "silu":
        return x / (1 + np.exp(-x))
    return x


def reference_torch(a, b, bias, act):
    import torch
    x = a.float() @ b.float() + bias.float()
    return {"none": x, "relu": torch.relu(x), "silu": torch.nn.functional.silu(x),
            "gelu": torch.nn.functional.gelu(x, approximate="tanh")}[act]


def main() -> int:
    blocks = dict(BM=128, BN=128, BK=64, GROUP=8)
    for dtype in ("bf16", "f16"):
        for act in ACTIVATIONS:
            kernel = gemm_bias_act.compile(*(f"*{dtype}[2]:16",) * 3, f"*{dtype}:16", **blocks,
                                           ACT=act)
            assert "wgmma.mma_async" in kernel.ptx
    print(f"gemm_bias_act: compiled to PTX for {', '.join(ACTIVATIONS)} in bf16 and f16")
    if not tile.gpu_available():
        return run_on_interpreter(blocks, "there is no CUDA GPU here")
    import torch
    M, N, K = 1024, 1000, 768
    ok = True
    for dtype in (torch.bfloat16, torch.float16):
        a = torch.randn(M, K, device="cuda", dtype=dtype)
        b = torch.randn(K, N, device="cuda", dtype=dtype)
        bias = torch.randn(N, device="cuda", dtype=dtype)
        for act in ACTIVATIONS:
            c = torch.full((M, N), float("nan"), device="cuda", dtype=dtype)
            gemm_bias_act[grid(M, N, blocks["BM"], blocks["BN"])](a, b, c, bias, **blocks,
                                                                 ACT=act)
            ref = reference_torch(a, b, bias, act)
            error = float((c.float() - ref).norm() / ref.norm())
            print(f"  {dtype} {act}: rel. error {error:.1e}")
            ok &= error < 1e-2
    print(f"GPU result {'matches' if ok else 'DIFFERS FROM'} torch")
    return 0 if ok else 1


def run_on_interpreter(blocks, reason) -> int:
    import ml_dtypes
    import numpy as np
    M, N, K = 256, 200, 192  # ragged: the last tiles of C stick out
    print(f"Running the kernel's tile IR on the CPU interpreter (tile.interpreter, numpy "
          f"arrays) instead, since {reason}: {M} x {K} @ {K} x {N} + bias, bf16.")
    rng = np.random.default_rng(0)
    a = rng.standard_normal((M, K)).astype(ml_dtypes.bfloat16)
    b = rng.standard_normal((K, N)).astype(ml_dtypes.bfloat16)
    bias = rng.standard_normal(N).astype(ml_dtypes.bfloat16)
    ok = True
    for act in ("relu", "gelu"):
        c = np.zeros((M, N), ml_dtypes.bfloat16)
        gemm_bias_act[grid(M, N, blocks["BM"], blocks["BN"])].interpret(a, b, c, bias, **blocks,
                                                                       ACT=act)
        ref = reference_numpy(a, b, bias, act)
        ok &= bool(np.linalg.norm(c.astype(np.float64) - ref) / np.linalg.norm(ref) < 1e-2)
    print(f"interpreter result {'matches' if ok else 'DIFFERS FROM'} numpy")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

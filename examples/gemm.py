"""GEMM: C = A @ B, one BM x BN tile of C per program, accumulated in f32 over K.

Prints the kernel's verified tile IR size, then tries the GPU lowering: where
it does not exist yet this says so, and nothing is run.
"""
import sys

import tile


@tile.jit
def gemm(A, B, C, BM: tile.constexpr, BN: tile.constexpr, BK: tile.constexpr):
    # This program's tile of C starts at row i, column j.
    i = tile.program_id(0) * BM
    j = tile.program_id(1) * BN
    acc = tile.zeros((BM, BN), tile.float32)
    # March along K: acc += A[i:i+BM, k:k+BK] @ B[k:k+BK, j:j+BN]. Tiles that
    # stick out of A or B read zeros, which add nothing.
    for k in range(0, A.shape[1], BK):
        a = tile.load(A, (i, k), (BM, BK))
        b = tile.load(B, (k, j), (BK, BN))
        acc = tile.mma(a, b, acc)
    tile.store(C, (i, j), acc.to(C.dtype))


def main() -> int:
    args = ("*bf16[2]:16", "*bf16[2]:16", "*bf16[2]:16")
    blocks = dict(BM=128, BN=128, BK=64)
    text = gemm.ir(*args, **blocks)
    print(f"gemm: verified tile IR, {len(text.splitlines())} lines "
          f"(BM={blocks['BM']}, BN={blocks['BN']}, BK={blocks['BK']}, bf16 in, f32 accumulate)")
    try:
        gemm.compile(*args, **blocks)
    except tile.CompilationError as e:
        print("GPU lowering: not available for this kernel yet, so nothing was compiled to PTX "
              f"or run:\n  {str(e).splitlines()[0]}")
        return 0
    if not tile.gpu_available():
        print("Compiled to PTX. No CUDA GPU here: nothing run.")
        return 0
    import torch
    M, N, K = 1024, 512, 768
    a = torch.randn(M, K, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(K, N, device="cuda", dtype=torch.bfloat16)
    c = torch.empty(M, N, device="cuda", dtype=torch.bfloat16)
    gemm[(tile.cdiv(M, blocks["BM"]), tile.cdiv(N, blocks["BN"]))](a, b, c, **blocks)
    ok = torch.allclose(c.float(), (a.float() @ b.float()), rtol=2e-2, atol=1e-1)
    print(f"GPU result {'matches' if ok else 'DIFFERS FROM'} torch")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

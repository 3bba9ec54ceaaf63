"""Row softmax: Y[r, :] = exp(X[r, :] - max) / sum(exp(X[r, :] - max)), BM rows per
program, each row held whole in one BN-wide tile (N <= BN).

Prints the kernel's verified tile IR size, then tries the GPU lowering (where it
does not exist yet this says so). With a GPU and the lowering, it runs there
against torch; otherwise it runs the same specialization's tile IR on the CPU
interpreter, on a smaller problem, against numpy.
"""
import sys

import tile


@tile.jit
def softmax(X, Y, BM: tile.constexpr, BN: tile.constexpr):
    row = tile.program_id(0) * BM
    x = tile.load(X, (row, 0), (BM, BN)).to(tile.float32)
    # Columns past the row's end read as 0: make them -inf so that they neither
    # win the max nor add to the sum (exp(-inf) = 0).
    inside = tile.arange(BN) < X.shape[1]
    x = tile.where(inside[None, :], x, float("-inf"))
    row_max = tile.max(x, 1)
    e = tile.exp(x - row_max[:, None])
    row_sum = tile.sum(e, 1)
    tile.store(Y, (row, 0), (e / row_sum[:, None]).to(Y.dtype))


def main() -> int:
    args = ("*f16[2]:16", "*f16[2]:16")
    blocks = dict(BM=4, BN=1024)
    text = softmax.ir(*args, **blocks)
    print(f"softmax: verified tile IR, {len(text.splitlines())} lines "
          f"(BM={blocks['BM']}, BN={blocks['BN']}, f16 in and out, f32 math)")
    if not tile.gpu_available():
        softmax.compile(*args, **blocks)  # through ptxas too, where it is installed
        print("Compiled to PTX.")
        return run_on_interpreter(blocks, "there is no CUDA GPU here")
    import torch
    M, N = 4096, 1000
    x = torch.randn(M, N, device="cuda", dtype=torch.float16)
    y = torch.empty_like(x)
    softmax[(tile.cdiv(M, blocks["BM"]),)](x, y, **blocks)
    ok = torch.allclose(y.float(), torch.softmax(x.float(), dim=1), rtol=1e-2, atol=1e-3)
    print(f"GPU result {'matches' if ok else 'DIFFERS FROM'} torch")
    return 0 if ok else 1


def run_on_interpreter(blocks, reason) -> int:
    import numpy as np
    M, N = 64, 1000
    what = f"{M} x {N} f16 rows"
    print(f"Running the kernel's tile IR on the CPU interpreter (tile.interpreter, numpy "
          f"arrays) instead, since {reason}: {what}.")
    x = np.random.default_rng(0).standard_normal((M, N)).astype(np.float16)
    y = np.empty_like(x)
    softmax[(tile.cdiv(M, blocks["BM"]),)].interpret(x, y, **blocks)
    xf = x.astype(np.float64)
    e = np.exp(xf - xf.max(axis=1, keepdims=True))
    ok = np.allclose(y.astype(np.float64), e / e.sum(axis=1, keepdims=True), rtol=1e-2, atol=1e-3)
    print(f"interpreter result {'matches' if ok else 'DIFFERS FROM'} numpy")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

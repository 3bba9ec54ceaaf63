"""Cross-entropy over a large vocabulary, forward and backward, one row a program.

    loss[r] = logsumexp(logits[r, :]) - logits[r, target[r]]   (0 where target[r] == ignore)
    dlogits[r, :] = (softmax(logits[r, :]) - onehot(target[r])) * dloss[r]

The row is read in BV-wide chunks (vocabularies of 256k columns do not fit in
registers), with an online max and sum as flash attention keeps them: each chunk
rescales the running sum by exp(old max - new max). The forward saves the row's
logsumexp, so the backward makes each chunk's softmax in one pass. The target's
logit is picked from the chunk holding it by comparing column indices, so no
scalar leaves a tile. Losses are per row (reduction="none"); a mean over the rows
that are not ignored is the caller's division.

Runs on the GPU against torch when there is one, else on the CPU interpreter
against numpy.
"""
import sys

import tile


@tile.jit
def cross_entropy_forward(Logits, Targets, Loss, Lse, ignore_index, BV: tile.constexpr):
    row = tile.program_id(0)
    V = Logits.shape[1]
    target = tile.load(Targets, row, 1)
    row_max = tile.full((1,), float("-inf"))
    row_sum = tile.zeros((1,))
    picked = tile.zeros((1,))
    for start in range(0, V, BV):
        cols = start + tile.arange(BV)
        x = tile.load(Logits, (row, start), (1, BV)).to(tile.float32)
        x = tile.where((cols < V)[None, :], x, float("-inf"))
        new_max = tile.maximum(row_max, tile.max(x, 1))
        row_sum = row_sum * tile.exp(row_max - new_max) + tile.sum(tile.exp(x - new_max[:, None]), 1)
        row_max = new_max
        picked = picked + tile.sum(tile.where(cols[None, :] == target[:, None], x, 0.0), 1)
    lse = row_max + tile.log(row_sum)
    tile.store(Loss, row, tile.where(target == ignore_index, 0.0, lse - picked), bound=row + 1)
    tile.store(Lse, row, lse, bound=row + 1)


@tile.jit
def cross_entropy_backward(Logits, Targets, Lse, DLoss, DLogits, ignore_index,
                           BV: tile.constexpr):
    row = tile.program_id(0)
    V = Logits.shape[1]
    target = tile.load(Targets, row, 1)
    lse = tile.load(Lse, row, 1)
    scale = tile.where(target == ignore_index, 0.0, tile.load(DLoss, row, 1))
    for start in range(0, V, BV):
        cols = start + tile.arange(BV)
        x = tile.load(Logits, (row, start), (1, BV)).to(tile.float32)
        p = tile.exp(x - lse[:, None])
        onehot = tile.where(cols[None, :] == target[:, None], 1.0, 0.0)
        tile.store(DLogits, (row, start), ((p - onehot) * scale[:, None]).to(DLogits.dtype))


def cross_entropy(logits, targets, dloss, ignore_index, empty, interpret=False, BV=4096):
    """(loss per row, dlogits) through the kernels above; `empty` makes arrays of the
    caller's kind (torch on the GPU, numpy on the CPU)."""
    M, V = logits.shape
    BV = min(BV, 1 << (V - 1).bit_length())
    loss, lse = empty((M,), "float32"), empty((M,), "float32")
    dlogits = empty((M, V), logits.dtype)
    warps = min(16, max(4, BV // 512))
    launch = (lambda k: k[(M,)].interpret) if interpret else (lambda k: k[(M,)])
    launch(cross_entropy_forward)(logits, targets, loss, lse, ignore_index, BV=BV, num_warps=warps)
    launch(cross_entropy_backward)(logits, targets, lse, dloss, dlogits, ignore_index, BV=BV,
                                   num_warps=warps)
    return loss, dlogits


def reference(logits, targets, dloss, ignore_index):
    """numpy float64 losses per row and dlogits."""
    import numpy as np
    x = np.asarray(logits, np.float64)
    m = x.max(1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(x - m).sum(1))
    rows = np.arange(len(x))
    valid = targets != ignore_index
    loss = np.where(valid, lse - x[rows, np.where(valid, targets, 0)], 0.0)
    grad = np.exp(x - lse[:, None])
    grad[rows[valid], targets[valid]] -= 1
    return loss, grad * np.where(valid, dloss, 0.0)[:, None]


def run_on_gpu(M=4096, V=131072, ignore_index=-100) -> bool:
    import torch
    logits = torch.randn(M, V, device="cuda", dtype=torch.bfloat16)
    targets = torch.randint(0, V, (M,), device="cuda", dtype=torch.int32)
    targets[::7] = ignore_index
    dloss = torch.randn(M, device="cuda")
    empty = lambda shape, dtype: torch.empty(
        shape, device="cuda", dtype=getattr(torch, str(dtype).replace("torch.", "")))
    loss, dlogits = cross_entropy(logits, targets, dloss, ignore_index, empty)
    x = logits.float().requires_grad_()
    ref = torch.nn.functional.cross_entropy(x, targets.long(), ignore_index=ignore_index,
                                            reduction="none")
    ref.backward(dloss)
    errors = [float((a.float() - r).norm() / r.norm()) for a, r in ((loss, ref), (dlogits, x.grad))]
    good = all(e < 1e-2 for e in errors)
    print(f"cross-entropy {M}x{V} bf16 on the GPU: relative errors {errors[0]:.1e} (loss), "
          f"{errors[1]:.1e} (dlogits): {'matches' if good else 'DIFFERS FROM'} torch")
    return good


def run_on_interpreter(M=12, V=1000, ignore_index=-100) -> bool:
    import numpy as np
    print(f"Running on the CPU interpreter (no CUDA GPU here): {M} rows of {V} f32 logits, "
          "against numpy.")
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((M, V)).astype(np.float32)
    targets = rng.integers(0, V, M).astype(np.int32)
    targets[::5] = ignore_index
    dloss = rng.standard_normal(M).astype(np.float32)
    empty = lambda shape, dtype: np.full(shape, np.nan, dtype=dtype)
    loss, dlogits = cross_entropy(logits, targets, dloss, ignore_index, empty, interpret=True,
                                  BV=256)
    want_loss, want_grad = reference(logits, targets, dloss, ignore_index)
    good = np.allclose(loss, want_loss, atol=1e-4) and np.allclose(dlogits, want_grad, atol=1e-5)
    print(f"cross-entropy forward and backward: {'matches' if good else 'DIFFERS FROM'} numpy")
    return good


if __name__ == "__main__":
    sys.exit(0 if (run_on_gpu() if tile.gpu_available() else run_on_interpreter()) else 1)

"""Embedding: out[t, :] = weight[ids[t], :] (a gather of rows by token id), and its
backward: grad_weight[ids[t], :] += grad_out[t, :] (a scatter-add; a token id that
appears several times adds each of its rows, so the adds are atomic).

Each program takes BT tokens and BD columns; the ids are int32 or int64 (then the
offsets are int64 too). With a GPU it runs both against
torch; otherwise on the CPU interpreter against numpy.
"""
import sys

import tile


@tile.jit
def token_rows(ids, weight, t0, c0, BT: tile.constexpr, BD: tile.constexpr):
    """The offsets of weight[ids[t0:t0+BT], c0:c0+BD] (weight contiguous) and
    which of them exist (tokens before the end, columns before the width)."""
    tokens = t0 + tile.arange(BT)
    cols = c0 + tile.arange(BD)
    real = tokens < ids.shape[0]
    rows = tile.load(ids, t0, BT, mask=real)  # token ids: the rows of weight
    offsets = (rows * weight.shape[1])[:, None] + cols[None, :]
    return offsets, real[:, None] & (cols < weight.shape[1])[None, :]


@tile.jit
def embedding_forward(ids, weight, out, BT: tile.constexpr, BD: tile.constexpr):
    t0 = tile.program_id(0) * BT
    c0 = tile.program_id(1) * BD
    offsets, inside = token_rows(ids, weight, t0, c0, BT, BD)
    tile.store(out, (t0, c0), tile.load(weight, offsets, mask=inside))


@tile.jit
def embedding_backward(ids, grad_out, grad_weight, BT: tile.constexpr, BD: tile.constexpr):
    t0 = tile.program_id(0) * BT
    c0 = tile.program_id(1) * BD
    offsets, inside = token_rows(ids, grad_weight, t0, c0, BT, BD)
    grad = tile.load(grad_out, (t0, c0), (BT, BD))
    tile.atomic_add(grad_weight, offsets, grad, mask=inside, sem="relaxed")


BLOCKS = dict(BT=32, BD=128)


def grid(n_tokens, dim):
    return (tile.cdiv(n_tokens, BLOCKS["BT"]), tile.cdiv(dim, BLOCKS["BD"]))


def main() -> int:
    if not tile.gpu_available():
        return run_on_interpreter()
    import torch
    vocab, dim, n_tokens = 50_000, 1000, 4096
    weight = torch.randn(vocab, dim, device="cuda")
    ids = torch.randint(0, vocab, (n_tokens,), device="cuda")  # int64, as torch makes them
    ids[::7] = ids[0]  # repeated tokens: their gradients add up in one row
    out = torch.empty(n_tokens, dim, device="cuda")
    embedding_forward[grid(n_tokens, dim)](ids, weight, out, **BLOCKS)
    grad_out = torch.randn(n_tokens, dim, device="cuda")
    grad_weight = torch.zeros_like(weight)
    embedding_backward[grid(n_tokens, dim)](ids, grad_out, grad_weight, **BLOCKS)
    torch.cuda.synchronize()
    want = torch.zeros_like(weight).index_add_(0, ids.long(), grad_out)
    ok = torch.equal(out, weight[ids.long()]) and \
        torch.allclose(grad_weight, want, rtol=1e-5, atol=1e-4)
    print(f"GPU result {'matches' if ok else 'DIFFERS FROM'} torch "
          f"(forward bitwise, backward to f32 rounding)")
    return 0 if ok else 1


def run_on_interpreter() -> int:
    import numpy as np
    vocab, dim, n_tokens = 300, 200, 100  # ragged: the last tiles stick out
    print("No CUDA GPU here: running the kernels' tile IR on the CPU interpreter "
          f"(tile.interpreter, numpy arrays) instead: {n_tokens} tokens of a {vocab} x {dim} "
          "table, float32.")
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((vocab, dim)).astype(np.float32)
    ids = rng.integers(0, vocab, n_tokens).astype(np.int32)
    ids[::7] = ids[0]
    out = np.zeros((n_tokens, dim), np.float32)
    embedding_forward[grid(n_tokens, dim)].interpret(ids, weight, out, **BLOCKS)
    grad_out = rng.standard_normal((n_tokens, dim)).astype(np.float32)
    grad_weight = np.zeros_like(weight)
    embedding_backward[grid(n_tokens, dim)].interpret(ids, grad_out, grad_weight, **BLOCKS)
    want = np.zeros_like(weight)
    np.add.at(want, ids, grad_out)
    ok = np.array_equal(out, weight[ids]) and np.allclose(grad_weight, want, rtol=1e-5,
                                                          atol=1e-5)
    print(f"interpreter result {'matches' if ok else 'DIFFERS FROM'} numpy")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

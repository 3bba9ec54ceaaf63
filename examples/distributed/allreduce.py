"""AllReduce of a vector over the ranks of a world, in two kernels:

- one-shot: every rank puts its input into its copy of a symmetric buffer,
  meets the others (tile.barrier_all), then reads every rank's copy and sums;
  each rank moves (N - 1) x n elements over NVLink, in one step.
- two-shot: reduce-scatter, then all-gather: rank r sums chunk r of every
  rank's input and pushes that sum into chunk r of every rank's output; each
  rank moves 2 (N - 1) / N x n elements, in two steps.

Program p works on block p (of the vector, or of each chunk), and meets
program p of the other ranks; `epoch` (1, 3, 5, ... a launch, since each
kernel meets twice) lets the flags go without a reset.

Run: `python examples/distributed/allreduce.py` interprets both on 2, 4 and 8
ranks against numpy; on a GPU, `--loopback` runs them as 4 ranks on one GPU.
"""
import sys

import numpy as np

import tile


@tile.jit
def allreduce_one_shot(In, X, Out, Flags, epoch, BLOCK: tile.constexpr):
    """Out = the sum over ranks of In. X: symmetric, In's shape; Flags:
    symmetric int32, 2 * num_ranks() slots a program (tile.barrier_all)."""
    start = tile.program_id(0) * BLOCK
    n = In.shape[0]
    tile.store(X, start, tile.load(In, start, BLOCK, bound=n), bound=n)
    tile.barrier_all(Flags, epoch)  # block p of every rank's X is in place
    total = tile.zeros((BLOCK,), tile.float32)
    for k in range(tile.num_ranks()):
        peer = (tile.rank() + k) % tile.num_ranks()  # each rank starts at another peer
        total += tile.load(tile.remote(X, peer), start, BLOCK, bound=n).to(tile.float32)
    tile.store(Out, start, total.to(Out.dtype), bound=n)
    tile.barrier_all(Flags, epoch + 1)  # no rank refills X while a peer reads it


@tile.jit
def allreduce_two_shot(In, X, Out, Flags, epoch, BLOCK: tile.constexpr):
    """Out = the sum over ranks of In, reduce-scatter then all-gather. X and Out:
    symmetric, In's shape, a multiple of num_ranks() elements; program p does
    block p of each rank's chunk."""
    ranks = tile.num_ranks()
    chunk = In.shape[0] // ranks
    mine = tile.rank() * chunk
    start = tile.program_id(0) * BLOCK
    for c in range(ranks):  # block p of every chunk into X, where its owner reads it
        tile.store(X, c * chunk + start, tile.load(In, c * chunk + start, BLOCK,
                                                   bound=(c + 1) * chunk),
                   bound=(c + 1) * chunk)
    tile.barrier_all(Flags, epoch)
    total = tile.zeros((BLOCK,), tile.float32)  # reduce-scatter: my chunk of every rank
    for k in range(ranks):
        peer = (tile.rank() + k) % ranks
        total += tile.load(tile.remote(X, peer), mine + start, BLOCK,
                           bound=mine + chunk).to(tile.float32)
    total = total.to(Out.dtype)
    for k in range(ranks):  # all-gather: my reduced chunk into every rank's Out
        peer = (tile.rank() + k) % ranks
        tile.store(tile.remote(Out, peer), mine + start, total, bound=mine + chunk)
    tile.barrier_all(Flags, epoch + 1)  # every rank's chunk has landed in my Out


def run(world, kernel, inputs, epoch, block, programs, symmetric_out):
    """Launches `kernel` on every rank of `world`; returns each rank's output."""
    n, dtype = inputs[0].shape[0], inputs[0].dtype
    x = world.zeros((n,), dtype)
    int32 = np.int32 if isinstance(world, tile.distributed.HostWorld) else _torch().int32
    flags = world.zeros((2 * programs * world.size,), int32)
    if symmetric_out:
        out = world.zeros((n,), dtype)
        world.launch(kernel, (programs,), lambda r: (inputs[r], x, out, flags, epoch),
                     BLOCK=block)
        return out.arrays
    outs = [_like(a) for a in inputs]
    world.launch(kernel, (programs,), lambda r: (inputs[r], x, outs[r], flags, epoch),
                 BLOCK=block)
    return outs


def _torch():
    import torch
    return torch


def _like(a):
    return np.zeros_like(a) if isinstance(a, np.ndarray) else _torch().zeros_like(a)


def check_on_interpreter(ranks, n=64, block=32):
    world = tile.distributed.HostWorld(ranks)
    rng = np.random.default_rng(ranks)
    inputs = [rng.standard_normal(n * ranks).astype(np.float32) for _ in range(ranks)]
    want = np.sum(inputs, axis=0)
    one = run(world, allreduce_one_shot, inputs, 1, block, -(-n * ranks // block), False)
    two = run(world, allreduce_two_shot, inputs, 1, block, -(-n // block), True)
    for outputs in (one, two):
        for out in outputs:
            np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5)


def check_on_loopback(ranks=4, n=1 << 16, block=1024):
    torch = _torch()
    world = tile.distributed.LoopbackWorld(ranks)
    inputs = [torch.randn(n, device=world.device) for _ in range(ranks)]
    want = torch.stack(inputs).sum(0)
    programs = min(world.programs_per_rank(), n // ranks // block)
    for kernel, symmetric_out, grid_n in ((allreduce_one_shot, False, n),
                                          (allreduce_two_shot, True, n // ranks)):
        outs = run(world, kernel, inputs, 1, grid_n // programs, programs, symmetric_out)
        torch.cuda.synchronize()
        for out in outs:
            torch.testing.assert_close(out, want, rtol=1e-4, atol=1e-4)


if __name__ == "__main__":
    if "--loopback" in sys.argv:
        check_on_loopback()
        print("allreduce one-shot and two-shot: 4 ranks on one GPU match torch")
    else:
        for ranks in (2, 4, 8):
            check_on_interpreter(ranks)
        print("allreduce one-shot and two-shot: 2, 4 and 8 interpreted ranks match numpy")

"""GEMM-ReduceScatter: rank r ends with rows r * Mr .. (r + 1) * Mr of the sum
over ranks of A_q @ B_q (the second GEMM of a tensor-parallel MLP: each rank
holds a column slice of A and a row slice of B, so each has a partial product
of the whole output).

Each program computes tiles of this rank's partial product, the next rank's
rows first and its own last, and stores each tile into its owner's copy of the
symmetric `Partial` (slot `me`), adding 1 to the owner's `Ready[me]` after
each. Then each rank reduces its own rows: once every rank's tiles of them
have landed (`Ready[q] == epoch * tiles`), Out = the sum of the ranks' slots.
The barrier at the end keeps the next launch's tiles out of `Partial` while a
rank still reduces.

Run: `python examples/distributed/gemm_rs.py` interprets it on 2, 4 and 8
ranks against numpy; `--loopback` runs 4 ranks on one GPU against torch.
"""
import sys

import numpy as np

import tile


@tile.jit
def gemm_rs(A, B, Partial, Out, Ready, Done, epoch, BM: tile.constexpr, BN: tile.constexpr,
            BK: tile.constexpr):
    """A: (num_ranks() * Mr, K), Mr a multiple of BM; B: (K, N); Partial:
    symmetric float32 (num_ranks(), Mr, N); Out: (Mr, N); Ready: symmetric int32
    (num_ranks(),); Done: symmetric int32 (tile.barrier_all's flags)."""
    p = tile.program_id(0)
    programs = tile.num_programs(0)
    ranks = tile.num_ranks()
    me = tile.rank()
    rows = Out.shape[0]
    tiles_n = tile.cdiv(B.shape[1], BN)
    tiles = (rows // BM) * tiles_n  # of one rank's rows
    # 1. my partial product, tile by tile, pushed to the rank whose rows it is.
    for s in range(1, ranks + 1):
        owner = (me + s) % ranks
        for t in range(p, tiles, programs):
            i = (t // tiles_n) * BM
            j = (t % tiles_n) * BN
            acc = tile.zeros((BM, BN), tile.float32)
            for k in range(0, A.shape[1], BK):
                acc = tile.mma(tile.load(A, (owner * rows + i, k), (BM, BK)),
                               tile.load(B, (k, j), (BK, BN)), acc)
            tile.store(tile.remote(Partial, owner)[me], (i, j), acc)
            tile.notify(Ready, me, 1, rank=owner, op="add", scope="sys")
    # 2. reduce my rows once every rank's tiles of them are here.
    for q in range(ranks):
        tile.wait(Ready, q, epoch * tiles, scope="sys")
    for t in range(p, tiles, programs):
        i = (t // tiles_n) * BM
        j = (t % tiles_n) * BN
        total = tile.zeros((BM, BN), tile.float32)
        for q in range(ranks):
            total += tile.load(Partial[q], (i, j), (BM, BN))
        tile.store(Out, (i, j), total.to(Out.dtype))
    tile.barrier_all(Done, epoch)


def launch(world, a, b, partial, out, ready, done, epoch, programs, bm=16, bn=16, bk=16,
           num_warps=4):
    if out[0].shape[0] % bm:
        raise ValueError(f"gemm_rs: each rank's rows ({out[0].shape[0]}) must be a multiple "
                         f"of BM ({bm})")
    world.launch(gemm_rs, (programs,),
                 lambda r: (a[r], b[r], partial, out[r], ready, done, epoch),
                 BM=bm, BN=bn, BK=bk, num_warps=num_warps)


def check_on_interpreter(ranks, rows=32, k=32, n=32, programs=2, launches=2):
    world = tile.distributed.HostWorld(ranks)
    rng = np.random.default_rng(ranks)
    partial = world.zeros((ranks, rows, n), np.float32)
    ready = world.zeros((ranks,), np.int32)
    done = world.zeros((2 * ranks * programs,), np.int32)
    for epoch in range(1, launches + 1):
        a = [rng.standard_normal((ranks * rows, k)).astype(np.float16) for _ in range(ranks)]
        b = [rng.standard_normal((k, n)).astype(np.float16) for _ in range(ranks)]
        out = [np.zeros((rows, n), np.float32) for _ in range(ranks)]
        launch(world, a, b, partial, out, ready, done, epoch, programs)
        total = sum(x.astype(np.float32) @ y.astype(np.float32) for x, y in zip(a, b))
        for r in range(ranks):
            np.testing.assert_allclose(out[r], total[r * rows:(r + 1) * rows], rtol=2e-3,
                                       atol=2e-3)


def check_on_loopback(ranks=4, rows=1024, k=1024, n=1024):
    import torch
    world = tile.distributed.LoopbackWorld(ranks)
    programs = world.programs_per_rank()
    partial = world.zeros((ranks, rows, n), torch.float32)
    ready = world.zeros((ranks,), torch.int32)
    done = world.zeros((2 * ranks * programs,), torch.int32)
    for epoch in (1, 2):  # twice: the flags count on without a reset
        a = [torch.randn(ranks * rows, k, device=world.device, dtype=torch.bfloat16)
             for _ in range(ranks)]
        b = [torch.randn(k, n, device=world.device, dtype=torch.bfloat16) for _ in range(ranks)]
        out = [torch.empty(rows, n, device=world.device) for _ in range(ranks)]
        # 8 warps: with 4 the scatter of a 128 x 128 f32 tile to its owner spills.
        launch(world, a, b, partial, out, ready, done, epoch, programs, 128, 128, 64,
               num_warps=8)
        torch.cuda.synchronize()
        total = sum(x.float() @ y.float() for x, y in zip(a, b))
        for r in range(ranks):
            torch.testing.assert_close(out[r], total[r * rows:(r + 1) * rows], rtol=2e-2,
                                       atol=2e-1)


if __name__ == "__main__":
    if "--loopback" in sys.argv:
        check_on_loopback()
        print("gemm_rs: 4 ranks on one GPU match torch")
    else:
        for ranks in (2, 4, 8):
            check_on_interpreter(ranks)
        print("gemm_rs: 2, 4 and 8 interpreted ranks match numpy")
